"""Nucleated red cells and the leukoerythroblastic picture, each seen only beyond the
classifier's own false calls."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from smearscan.slide_stats.intervals import (
    binomial_quantile,
    pair_from_json,
    poisson_quantile,
    rounded,
    rounded_pair,
    wilson_interval,
)
from smearscan.slide_stats.schistocytes import REQUIRED_RBC

MIN_WBC = 20
"""White cells needed for a leukoerythroblastic call (this tool's rule). A differential is
normally 100 cells; below 20 one cell is >= 5% and a count of zero immature granulocytes still
allows about 16% (Wilson upper bound for 0 of 20)."""


FALSE_POSITIVE_QUANTILE = 0.99
"""A class is seen only when its count exceeds this quantile of the binomial number of false
positives expected from the classifier's false-positive rate (this tool's rule)."""


@dataclass(frozen=True)
class NrbcCount:
    """Nucleated red cells, as a rate per 100 white cells or per 1000 red cells.

    NRBCs are in neither denominator, so a rate is a ratio of two counts: its interval is the
    Wilson interval of the NRBC share ``k / (k + n)`` turned into ``scale * share / (1 - share)``.

    Attributes
    ----------
    count : int
        NRBCs counted.
    per_100_wbc : float or None
        NRBCs per 100 white cells (``wbc`` + ``immature_granulocyte``); None without white cells.
    per_1000_rbc : float or None
        NRBCs per 1000 whole red cells; None without red cells.
    ci95 : tuple of float or None
        95% interval of the rate named by ``basis``.
    denominator : int
        White cells for ``"per 100 WBC"``, red cells for ``"per 1000 RBC"``.
    basis : str
        ``"per 100 WBC"`` when white cells were seen, else ``"per 1000 RBC"``.
    present : bool
        More NRBCs than the classifier's own false-positive rate explains (the 99% binomial
        bound, as for the leukoerythroblastic finding); any NRBC when the rate is unknown. One
        false call among thousands of cells must not flag a slide.
    reliable : bool
        The rate rests on at least :data:`MIN_WBC` white cells (or, without white cells, on at
        least :data:`REQUIRED_RBC` red cells); this tool's rule, no published minimum found.
    sentence : str
        The line a report prints: the count, the rate, whether it is reliable and whether the
        NRBCs are present beyond the classifier's false calls, so that a rate is never shown
        without what it means.
    """

    count: int
    per_100_wbc: float | None
    per_1000_rbc: float | None
    ci95: tuple[float, float] | None
    denominator: int
    basis: str
    present: bool
    reliable: bool
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        """The ``"nrbc"`` block of :meth:`SlideResult.to_dict`."""
        return {"count": self.count, "present": self.present,
                "per_100_wbc": rounded(self.per_100_wbc),
                "per_1000_rbc": rounded(self.per_1000_rbc),
                "ci95": rounded_pair(self.ci95), "denominator": self.denominator,
                "basis": self.basis, "reliable": self.reliable, "sentence": self.sentence}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NrbcCount:
        """Rebuild the count from its :meth:`to_dict` block."""
        return cls(**{f.name: pair_from_json(data[f.name]) if f.name == "ci95" else data[f.name]
                      for f in fields(cls)})


@dataclass(frozen=True)
class Leukoerythroblastic:
    """Whether NRBCs and immature granulocytes are both seen beyond classifier error.

    Attributes
    ----------
    finding : str
        ``"present"`` (both), ``"possible"`` (one), ``"absent"`` (neither) or ``"insufficient"``
        (fewer than :data:`MIN_WBC` white cells).
    rule : str
        The rule, in words.
    reasons : tuple of str
        One line per class (and the shortfall of white cells, if any).
    """

    finding: str
    rule: str
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The ``"leukoerythroblastic"`` block of :meth:`SlideResult.to_dict`."""
        return {"finding": self.finding, "rule": self.rule, "reasons": list(self.reasons)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Leukoerythroblastic:
        """Rebuild the finding from its :meth:`to_dict` block."""
        return cls(data["finding"], data["rule"], tuple(data["reasons"]))


def nrbc_count(k: int, n_wbc: int, n_rbc: int, seen: tuple[bool, str]) -> NrbcCount:
    """NRBC rates per 100 white cells and per 1000 red cells; the basis is white cells if any.

    ``seen`` is :func:`nrbc_seen`'s answer.
    """
    per_wbc, wbc_ci = _rate(k, n_wbc, 100)
    per_rbc, rbc_ci = _rate(k, n_rbc, 1000)
    if n_wbc:
        rate, ci, n, basis, cells, needed = per_wbc, wbc_ci, n_wbc, "per 100 WBC", "white", MIN_WBC
    else:
        rate, ci, n, basis, cells, needed = (per_rbc, rbc_ci, n_rbc, "per 1000 RBC", "red",
                                             REQUIRED_RBC)
    present, reason = seen
    reliable = n >= needed
    if rate is None or ci is None:
        rate_text = "no white or red cells to give a rate"
    else:
        rate_text = (f"{rate:.1f} {basis} (95% CI {ci[0]:.1f}-{ci[1]:.1f}) over {n:,} {cells} "
                     "cells")
        if not reliable:
            rate_text += (f": unreliable, fewer than {needed:,} {cells} cells "
                          "(this tool's rule)")
    if k == 0:
        finding = "none seen"
    elif present:
        finding = f"present beyond the classifier's false calls ({reason})"
    else:
        finding = f"not present: no more than the classifier's false calls explain ({reason})"
    sentence = f"NRBCs {k}, {rate_text}; {finding}."
    return NrbcCount(k, per_wbc, per_rbc, ci, n, basis, present, reliable, sentence)


def _rate(k: int, n: int, scale: int) -> tuple[float | None, tuple[float, float] | None]:
    """``scale * k / n`` and its 95% interval from the Wilson interval of ``k / (k + n)``."""
    if n == 0:
        return None, None
    low, high = wilson_interval(k, k + n)
    return scale * k / n, (scale * low / (1 - low), scale * high / (1 - high))


def leukoerythroblastic_finding(
    nrbc: tuple[bool, str],
    k_ig: int,
    n_wbc: int,
    operating: Mapping[str, Mapping[str, Any]],
) -> Leukoerythroblastic:
    """NRBCs (``nrbc``: :func:`nrbc_seen`'s answer) and immature granulocytes each tested
    against the classifier's false positives; immature granulocyte false positives come from
    white cells, so their denominator is the white-cell count.
    """
    nrbc_seen, nrbc_reason = nrbc
    ig_seen, ig_reason = _seen_beyond_error(
        "immature granulocyte", k_ig, n_wbc, operating.get("immature_granulocyte")
    )
    reasons = (nrbc_reason, ig_reason)
    if n_wbc < MIN_WBC:
        finding = "insufficient"
        reasons = (f"saw {n_wbc} white cells; at least {MIN_WBC} needed", *reasons)
    else:
        finding = {2: "present", 1: "possible", 0: "absent"}[nrbc_seen + ig_seen]
    rule = (
        "present when both NRBCs and immature granulocytes are seen, possible when one is, "
        "absent when neither; a class is seen when its count exceeds the "
        f"{FALSE_POSITIVE_QUANTILE:.0%} binomial bound of false positives expected from the "
        f"classifier's false-positive rate (any count when the rate is unknown); insufficient "
        f"below {MIN_WBC} white cells (this tool's rule)"
    )
    return Leukoerythroblastic(finding, rule, reasons)


def nrbc_seen(k: int, n_rbc: int, n_wbc: int,
               operating: Mapping[str, Any] | None) -> tuple[bool, str]:
    """Whether ``k`` NRBC calls exceed the classifier's false calls, with a one-line reason.

    With false calls by source in the model (``false_calls``), the bound is
    :func:`nrbc_false_call_bound`'s. Else one false-positive rate covers every object an NRBC
    call can come from: the whole red and white cells and the calls themselves.
    """
    if operating is None or "false_calls" not in operating:
        return _seen_beyond_error("NRBC", k, n_rbc + n_wbc + k, operating)
    bound, rates = nrbc_false_call_bound(n_rbc, n_wbc, operating["false_calls"])
    seen = k > bound
    return seen, (
        f"NRBC: {k} seen among {n_rbc} red and {n_wbc} white cells; false calls per red cell "
        f"{rates['red_cell']:.2g} and per white cell {rates['white_cell']:.2g} (95% upper "
        f"bounds, measured end to end on whole images the model never saw) explain up to "
        f"{bound} ({FALSE_POSITIVE_QUANTILE:.0%} bound): {'seen' if seen else 'not seen'}"
    )


def nrbc_false_call_bound(n_rbc: int, n_wbc: int, false_calls: Mapping[str, Mapping[str, Any]]
                          ) -> tuple[int, dict[str, float]]:
    """The most NRBC false calls a slide of ``n_rbc`` red and ``n_wbc`` white cells is expected
    to hold, and the two rates it rests on.

    ``false_calls`` gives, for ``red_cell`` and ``white_cell``, the ``calls`` a model made over
    ``cells`` of that source on whole images it never saw (a white cell's count takes in the
    calls on the cells beside it). Each rate is taken at its Wilson 95% upper bound (0 of
    43,367 is no rate of 0), and the bound is the :data:`FALSE_POSITIVE_QUANTILE` quantile of a
    Poisson count of mean ``n_rbc * red + n_wbc * white`` (this tool's rule: the sum of two
    binomial counts of rare calls).
    """
    rates = {source: wilson_interval(int(false_calls[source]["calls"]),
                                     int(false_calls[source]["cells"]))[1]
             for source in ("red_cell", "white_cell")}
    mean = n_rbc * rates["red_cell"] + n_wbc * rates["white_cell"]
    return poisson_quantile(FALSE_POSITIVE_QUANTILE, mean), rates


def _seen_beyond_error(
    name: str, k: int, n: int, operating: Mapping[str, float] | None
) -> tuple[bool, str]:
    """Whether ``k`` exceeds :func:`false_call_bound` among ``n`` cells, with a one-line
    reason; any ``k`` when the model gives no rate."""
    if operating is None:
        return k > 0, f"{name}: {k} seen; no false-positive rate known, so no correction"
    bound, rate_text = false_call_bound(n, operating)
    seen = k > bound
    return seen, (
        f"{name}: {k} seen among {n} cells; {rate_text} explains up to {bound} "
        f"({FALSE_POSITIVE_QUANTILE:.0%} bound): {'seen' if seen else 'not seen'}"
    )


def false_call_bound(n: int, operating: Mapping[str, float]) -> tuple[int, str]:
    """The :data:`FALSE_POSITIVE_QUANTILE` binomial bound of a class's false positives among
    ``n`` cells at the model's ``false_positive_rate``, and the rate as the reason gives it."""
    fpr = operating["false_positive_rate"]
    negatives = operating.get("validation_negatives")
    rate_text = f"false-positive rate {fpr:.2g}"
    if negatives:
        # A validation rate of 0 of 4,067 is not a rate of 0: take its Wilson 95% upper bound,
        # so that a single call is not a finding merely because validation saw no false one.
        fpr = wilson_interval(round(fpr * negatives), negatives)[1]
        rate_text += f" ({fpr:.2g} at the 95% upper bound over {negatives} validation negatives)"
    return binomial_quantile(FALSE_POSITIVE_QUANTILE, n, fpr), rate_text
