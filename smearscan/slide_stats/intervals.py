"""Counts as proportions with their intervals: the Wilson interval, the Rogan-Gladen
correction for a classifier's error and its interval, and the binomial and Poisson quantiles
that bound false calls."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.special import bdtr, bdtrik, pdtr, pdtrik

Z95 = 1.959964
"""Standard normal 97.5th percentile, for two-sided 95% intervals."""


@dataclass(frozen=True)
class Proportion:
    """A count over a denominator with its Wilson 95% interval.

    Attributes
    ----------
    count : int
        Cells with the finding.
    denominator : int
        Cells counted.
    percent : float or None
        ``100 * count / denominator``; None when nothing was counted.
    ci95 : tuple of float
        Wilson 95% interval, in percent (0-100).
    """

    count: int
    denominator: int
    percent: float | None
    ci95: tuple[float, float]

    @classmethod
    def of(cls, count: int, denominator: int) -> Proportion:
        """Build the proportion ``count / denominator`` with its Wilson interval."""
        low, high = wilson_interval(count, denominator)
        percent = 100 * count / denominator if denominator else None
        return cls(count, denominator, percent, (100 * low, 100 * high))

    @classmethod
    def from_dict(cls, count: int, denominator: int) -> Proportion:
        """The proportion a summary records as ``count`` over ``denominator`` (its percent and
        interval are recomputed, not re-read rounded)."""
        return cls.of(int(count), int(denominator))


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion.

    Parameters
    ----------
    k : int
        Successes, ``0 <= k <= n``.
    n : int
        Trials; ``n == 0`` gives ``(0.0, 1.0)``.
    z : float, optional
        Standard normal quantile; the default gives a two-sided 95% interval.

    Returns
    -------
    tuple of float
        ``(low, high)`` as fractions in [0, 1]; exactly 0 when ``k == 0`` and 1 when ``k == n``.

    Examples
    --------
    >>> [round(b, 4) for b in wilson_interval(0, 10)]
    [0.0, 0.2775]
    """
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 0.0, 1.0
    p = k / n
    shrink = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / shrink
    half = z / shrink * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


def rogan_gladen(p: float, sensitivity: float, false_positive_rate: float) -> float:
    """True prevalence from an observed one, corrected for the classifier's error.

    ``(p + spec - 1) / (sens + spec - 1)`` with ``spec = 1 - false_positive_rate``, clipped to
    [0, 1] (Rogan WJ, Gladen B. Am J Epidemiol 1978;107(1):71-76).

    Parameters
    ----------
    p : float
        Observed proportion, 0-1.
    sensitivity : float
        Classifier sensitivity, in (0, 1].
    false_positive_rate : float
        Classifier false-positive rate (1 - specificity), in [0, 1).

    Returns
    -------
    float
        Corrected proportion, 0-1.

    Examples
    --------
    >>> round(rogan_gladen(0.05, 0.9, 0.01), 5)
    0.04494
    """
    if not 0 <= false_positive_rate < sensitivity <= 1:
        raise ValueError(
            f"need 0 <= false-positive rate < sensitivity <= 1, "
            f"got {false_positive_rate} and {sensitivity}"
        )
    youden = sensitivity - false_positive_rate
    return min(1.0, max(0.0, (p - false_positive_rate) / youden))


def rogan_gladen_interval(
    k: int, n: int, sensitivity: float, false_positive_rate: float,
    sensitivity_se: float = 0.0, false_positive_rate_se: float = 0.0, z: float = Z95,
) -> tuple[float, float]:
    """95% interval of the Rogan-Gladen prevalence from a count and uncertain error rates.

    Two independent sources of error are combined by the method of variance estimates
    recovery (MOVER; Zou GY, Donner A. Stat Methods Med Res 2008;17(5):461-482):

    - the count: the Wilson bounds of ``k / n`` put through :func:`rogan_gladen` (monotone, so
      they bound the corrected value when the rates are known);
    - the rates: by the delta method the corrected prevalence ``pi = (p - f) / (s - f)`` has
      ``d pi / d s = -pi / J`` and ``d pi / d f = -(1 - pi) / J`` with ``J = s - f``, so its
      standard error from the rates is ``sqrt(pi^2 se_s^2 + (1 - pi)^2 se_f^2) / J``
      (Greiner M, Gardner IA. Prev Vet Med 2000;45:43-59; Lang Z, Reiczigel J. Prev Vet Med
      2014;113:13-22), evaluated at the bound on each side.

    Each bound is ``pi - sqrt((pi - count bound)^2 + (z se_rates)^2)`` (upper: plus), clipped
    to [0, 1]. With both standard errors 0 this is the count-only interval.

    Parameters
    ----------
    k, n : int
        Cells called positive and cells counted, ``0 <= k <= n``, ``n > 0``.
    sensitivity, false_positive_rate : float
        As for :func:`rogan_gladen`.
    sensitivity_se, false_positive_rate_se : float, optional
        Standard errors of the two rates (e.g. bootstrap over fields of out-of-fold
        predictions), >= 0.
    z : float, optional
        Standard normal quantile.

    Returns
    -------
    tuple of float
        ``(low, high)`` as fractions in [0, 1].

    Examples
    --------
    >>> [round(b, 4) for b in rogan_gladen_interval(50, 1000, 0.7, 0.002)]
    [0.0518, 0.0907]
    >>> [round(b, 4) for b in rogan_gladen_interval(50, 1000, 0.7, 0.002, 0.05, 0.001)]
    [0.0501, 0.0943]
    """
    if n <= 0:
        raise ValueError(f"need cells counted, got n={n}")
    if sensitivity_se < 0 or false_positive_rate_se < 0:
        raise ValueError(f"standard errors must be >= 0, got {sensitivity_se} and "
                         f"{false_positive_rate_se}")
    estimate = rogan_gladen(k / n, sensitivity, false_positive_rate)
    youden = sensitivity - false_positive_rate

    def rates_se(prevalence: float) -> float:
        return math.hypot(prevalence * sensitivity_se,
                          (1 - prevalence) * false_positive_rate_se) / youden

    low_count, high_count = (rogan_gladen(b, sensitivity, false_positive_rate)
                             for b in wilson_interval(k, n, z))
    low = estimate - math.hypot(estimate - low_count, z * rates_se(low_count))
    high = estimate + math.hypot(high_count - estimate, z * rates_se(high_count))
    return max(0.0, low), min(1.0, high)


def poisson_quantile(q: float, mean: float) -> int:
    """Smallest ``k`` with ``P(K <= k) >= q`` for ``K ~ Poisson(mean)`` (``scipy.stats.poisson
    .ppf``, from ``scipy.special``, as :func:`binomial_quantile`)."""
    if mean <= 0:
        return 0
    k = math.ceil(pdtrik(q, mean))
    below = max(k - 1, 0)
    return int(below if pdtr(below, mean) >= q else k)


def binomial_quantile(q: float, n: int, p: float) -> int:
    """Smallest ``k`` with ``P(K <= k) >= q`` for ``K ~ Binomial(n, p)``.

    The value of ``scipy.stats.binom.ppf``, from ``scipy.special.bdtr``: importing scipy.stats
    takes ~0.5 s, which every run would pay in its main process.
    """
    if n <= 0 or p <= 0:
        return 0
    if p >= 1:
        return n
    # As scipy.stats does it: invert the cdf, then step back one where the cdf already reaches q.
    k = math.ceil(bdtrik(q, n, p))
    below = max(k - 1, 0)
    return int(below if bdtr(below, n, p) >= q else min(k, n))


def rounded(x: float | None) -> float | None:
    """``x`` rounded to 4 decimals, None kept."""
    return None if x is None else round(x, 4)


def pair_from_json(values: list[float] | None) -> tuple[float, float] | None:
    """A JSON ``[low, high]`` back as a tuple, None kept."""
    return None if values is None else (float(values[0]), float(values[1]))


def rounded_pair(pair: tuple[float, float] | None) -> list[float] | None:
    """A (low, high) pair as a JSON list rounded to 4 decimals, None kept."""
    return None if pair is None else [round(pair[0], 4), round(pair[1], 4)]
