"""Operating thresholds of the target classes and the rates they reach."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from smearscan.classification import CLASSES
from smearscan.metrics import rates_at_threshold
from smearscan.metrics import threshold_at_false_positive_rate as _threshold_at
from smearscan.training.crops import CropSet
from smearscan.training.labels import MINED_PLATELET, PBC_LEUKOCYTES


def _groups(data: CropSet) -> dict[str, np.ndarray]:
    """Boolean masks of the labelled groups used as positives and negatives."""
    source, dataset = data.source, data.dataset
    pbc = dataset == "pbc"
    return {
        "chula": (dataset == "chula") & (source != MINED_PLATELET),
        "chula_platelets": source == MINED_PLATELET,
        "schistocyte": (dataset == "chula") & (source == "schistocyte"),
        "nrbc": pbc & (source == "erythroblast"),
        "immature_granulocyte": pbc & (source == "ig"),
        "pbc_leukocytes": pbc & np.isin(source, PBC_LEUKOCYTES),
        "pbc_mature_leukocytes": pbc & np.isin(source, PBC_LEUKOCYTES[:-1]),
        "pbc_neutrophils": pbc & (source == "neutrophil"),
        "pbc_lymphocytes_monocytes": pbc & np.isin(source, ("lymphocyte", "monocyte")),
        "bccd_wbc": (dataset == "bccd") & (source == "WBC"),
        "all": np.ones(len(source), dtype=bool),
    }


#: Per target class: the positives' group, and (negative group, largest false-call rate) pairs;
#: the operating threshold is the lowest that meets every pair on the val split, and never below
#: MIN_THRESHOLD.
OPERATING_RULES: dict[str, tuple[str, tuple[tuple[str, float], ...]]] = {
    "schistocyte": ("schistocyte", (("chula", 0.002),)),
    "nrbc": ("nrbc", (("all", 0.002), ("pbc_leukocytes", 0.02), ("bccd_wbc", 0.02))),
    "immature_granulocyte": ("immature_granulocyte", (
        ("all", 0.002), ("pbc_neutrophils", 0.05), ("pbc_lymphocytes_monocytes", 0.02))),
}


#: A target class is never called while the network rates it below even odds. Lower thresholds
#: are set by the last few val negatives and do not transfer: NRBC at the val-chosen 0.036
#: called 6 of 226 test leukocytes NRBC (cnn-2026.11-2), none at 0.5, with sensitivity 0.985
#: -> 0.970.
MIN_THRESHOLD = 0.5


def _scores(probabilities: np.ndarray, name: str) -> np.ndarray:
    return probabilities[:, CLASSES.index(name)]


def operating_points(probabilities: np.ndarray, data: CropSet) -> dict[str, dict[str, Any]]:
    """Threshold of each target class from :data:`OPERATING_RULES`, with its rates on ``data``.

    Negatives of a pair are the group's objects that are not positives.
    """
    groups = _groups(data)
    points = {}
    for name, (positive_group, pairs) in OPERATING_RULES.items():
        scores = _scores(probabilities, name)
        positive = groups[positive_group]
        threshold = max(_threshold_at(scores[groups[group] & ~positive], rate)
                        for group, rate in pairs)
        threshold = min(max(threshold, MIN_THRESHOLD), 1.0)
        reached = rates_at_threshold(scores[groups["all"]], positive, threshold)
        points[name] = {
            **with_rule({"threshold": threshold}, name),
            "val_sensitivity": reached["sensitivity"],
            "val_false_positive_rate": {
                group: _share(scores >= threshold, groups[group] & ~positive)
                for group, _ in pairs},
        }
    return points


def with_rule(point: dict[str, Any], name: str) -> dict[str, Any]:
    """``point`` with the rule that chose class ``name``'s threshold (:data:`OPERATING_RULES`)
    and the :data:`MIN_THRESHOLD` floor, as a model file records them."""
    return {**point, "rule": dict(OPERATING_RULES[name][1]), "min_threshold": MIN_THRESHOLD}


def _share(hit: np.ndarray, mask: np.ndarray) -> float | None:
    """Fraction of ``hit`` among the ``mask`` rows; None (JSON-safe, unlike NaN) if none."""
    return float(np.mean(hit[mask])) if mask.any() else None


@dataclass(frozen=True)
class OutOfFold:
    """Out-of-fold schistocyte scores of the counted labelled Chula points.

    Attributes
    ----------
    score : (P,) float ndarray
        Schistocyte probability of the point's object from the model that never saw its fold;
        0 for a segmentation miss.
    positive : (P,) bool ndarray
        Labelled schistocyte.
    missed : (P,) bool ndarray
        The point lies in no segmented object.
    fold : (P,) int ndarray
    group, field : (P,) str ndarray
        Overlap group and image name of the point's field.
    """

    score: np.ndarray
    positive: np.ndarray
    missed: np.ndarray
    fold: np.ndarray
    group: np.ndarray
    field: np.ndarray

    def save(self, path: Path) -> Path:
        """Write the columns to an ``.npz`` file (atomically)."""
        path = Path(path)
        partial = path.with_name(path.stem + ".partial.npz")
        np.savez(partial, **{name: getattr(self, name) for name in self.__dataclass_fields__})
        partial.replace(path)
        return path

    @classmethod
    def load(cls, path: Path) -> OutOfFold:
        """Read a file written by :meth:`save`."""
        with np.load(path) as stored:
            return cls(**{name: stored[name] for name in cls.__dataclass_fields__})


#: Largest share of labelled non-schistocyte Chula cells the schistocyte threshold may call
#: schistocyte end to end (the rule of OPERATING_RULES, applied to out-of-fold predictions).
SCHISTOCYTE_FALSE_CALL_RATE = dict(OPERATING_RULES["schistocyte"][1])["chula"]
#: Bootstrap resamples of the overlap groups for the intervals of the out-of-fold rates.
BOOTSTRAP_SAMPLES = 2000


def out_of_fold_point(score: np.ndarray, positive: np.ndarray, group: np.ndarray,
                      fold: np.ndarray, *, threshold: float | None = None,
                      seed: int = 0) -> dict[str, Any]:
    """The schistocyte operating point chosen on out-of-fold, end-to-end predictions.

    The threshold is the lowest that calls at most :data:`SCHISTOCYTE_FALSE_CALL_RATE` of the
    negatives, never below :data:`MIN_THRESHOLD`. Its sensitivity and false-call rate get 95%
    percentile intervals and standard errors from :data:`BOOTSTRAP_SAMPLES` resamples of whole
    overlap groups (cells of one field are not independent; Efron B, Tibshirani R. An
    Introduction to the Bootstrap, 1993, ch. 13), with the threshold held fixed: the shipped
    model uses that threshold, so what is uncertain is the rates it reaches. Each fold's own
    rates and ROC AUC show the spread between groups of fields.

    A new slide is read with these rates, but its own rates differ from them by more than the
    pooled estimate's error: folds of other fields differ beyond their binomial noise (5-fold,
    40 epochs: sensitivity 0.56-0.71 with ~150 schistocytes per fold). So ``*_se`` is the
    standard error of *prediction* for a new group of fields, ``sqrt(se_pooled^2 + tau^2)``,
    where ``se_pooled`` is the bootstrap standard error and ``tau^2`` the DerSimonian-Laird
    between-fold variance (DerSimonian R, Laird N. Control Clin Trials 1986;7:177-188; the
    prediction interval of a random-effects meta-analysis: Higgins JPT, Thompson SG,
    Spiegelhalter DJ. J R Stat Soc A 2009;172:137-159); the slide correction carries it.

    Parameters
    ----------
    score : (P,) float ndarray
        Out-of-fold schistocyte probability per labelled point; 0 for a segmentation miss.
    positive : (P,) bool ndarray
        Labelled schistocyte.
    group : (P,) str ndarray
        Overlap group of the point's field.
    fold : (P,) int ndarray
        Fold that held the point out.
    threshold : float or None, keyword-only
        Measure at this threshold instead of choosing one (a model's own, for comparison).
    seed : int, keyword-only
        Seeds the bootstrap.

    Returns
    -------
    dict
        ``threshold``, ``sensitivity``, ``false_positive_rate``, their ``*_ci95`` (pooled),
        ``*_se`` (prediction), ``*_se_pooled`` and ``between_fold_sd``, ``roc_auc``,
        ``positives``, ``negatives``, ``folds`` (per fold: ``sensitivity``,
        ``false_positive_rate``, ``roc_auc``, ``positives``, ``negatives``) and ``fold_range``.
    """
    from sklearn.metrics import roc_auc_score

    score = np.asarray(score, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    if threshold is None:
        threshold = min(max(_threshold_at(score[~positive], SCHISTOCYTE_FALSE_CALL_RATE),
                            MIN_THRESHOLD), 1.0)
    called = score >= threshold
    sensitivity, false_positive_rate = _rates(called, positive, np.ones(len(score)))
    boot = _group_bootstrap(called, positive, group, seed)
    folds = []
    for k in np.unique(fold):
        mine = fold == k
        sens, fpr = _rates(called, positive, mine.astype(float))
        folds.append({"fold": int(k), "sensitivity": sens, "false_positive_rate": fpr,
                      "roc_auc": float(roc_auc_score(positive[mine], score[mine]))
                      if 0 < positive[mine].sum() < mine.sum() else None,
                      "positives": int(positive[mine].sum()),
                      "negatives": int((~positive[mine]).sum())})
    pooled_se = boot.std(axis=0, ddof=1)
    tau = [math.sqrt(between_fold_variance([f[key] for f in folds],
                                           [f[count] for f in folds]))
           for key, count in (("sensitivity", "positives"), ("false_positive_rate", "negatives"))]
    return {
        "threshold": threshold,
        "estimate": "out-of-fold, end to end (segmentation misses score 0)",
        "sensitivity": sensitivity,
        "false_positive_rate": false_positive_rate,
        "sensitivity_ci95": [float(b) for b in np.percentile(boot[:, 0], (2.5, 97.5))],
        "false_positive_rate_ci95": [float(b) for b in np.percentile(boot[:, 1], (2.5, 97.5))],
        "sensitivity_se": math.hypot(pooled_se[0], tau[0]),
        "false_positive_rate_se": math.hypot(pooled_se[1], tau[1]),
        "sensitivity_se_pooled": float(pooled_se[0]),
        "false_positive_rate_se_pooled": float(pooled_se[1]),
        "between_fold_sd": {"sensitivity": tau[0], "false_positive_rate": tau[1]},
        "interval_method": f"percentile bootstrap over overlap groups, {BOOTSTRAP_SAMPLES} "
                           "resamples, threshold fixed; *_se: prediction for new fields "
                           "(bootstrap and DerSimonian-Laird between-fold variance)",
        "roc_auc": float(roc_auc_score(positive, score)),
        "positives": int(positive.sum()),
        "negatives": int((~positive).sum()),
        "folds": folds,
        "fold_range": {key: [min(f[key] for f in folds), max(f[key] for f in folds)]
                       for key in ("sensitivity", "false_positive_rate")},
    }


def point_table(point: dict[str, Any], *, others: str = "others") -> str:
    """An :func:`out_of_fold_point` as a markdown table: one row per fold and a pooled row with
    its 95% intervals; ``others`` heads the negatives' column."""
    rows = [f"| fold | schistocytes | {others} | sensitivity | false-call rate | ROC AUC |",
            "|---|---:|---:|---:|---:|---:|"]
    for fold in point["folds"]:
        auc = f"{fold['roc_auc']:.4f}" if fold["roc_auc"] is not None else "-"
        rows.append(f"| {fold['fold'] + 1} | {fold['positives']} | {fold['negatives']} | "
                    f"{fold['sensitivity']:.3f} | {100 * fold['false_positive_rate']:.3f}% | "
                    f"{auc} |")
    s_lo, s_hi = point["sensitivity_ci95"]
    f_lo, f_hi = point["false_positive_rate_ci95"]
    rows.append(f"| pooled | {point['positives']} | {point['negatives']} | "
                f"{point['sensitivity']:.3f} ({s_lo:.3f}-{s_hi:.3f}) | "
                f"{100 * point['false_positive_rate']:.3f}% "
                f"({100 * f_lo:.3f}-{100 * f_hi:.3f}%) | {point['roc_auc']:.4f} |")
    return "\n".join(rows)


def between_fold_variance(rates: list[float], counts: list[int]) -> float:
    """DerSimonian-Laird estimate of the variance of per-fold proportions beyond their
    binomial noise (0 when the folds agree within it; 0 for a single fold, or a single fold
    with cells: a fold of none carries no weight).

    Each fold's binomial variance uses ``(x + 0.5) / (n + 1)`` so that a rate of 0 (no false
    call in a fold) keeps a finite weight.
    """
    rate, count = np.asarray(rates, dtype=float), np.asarray(counts, dtype=float)
    if len(rate) < 2:
        return 0.0
    smoothed = (rate * count + 0.5) / (count + 1)
    weight = count / (smoothed * (1 - smoothed))
    mean = np.sum(weight * rate) / weight.sum()
    q = np.sum(weight * (rate - mean) ** 2)
    scale = weight.sum() - np.sum(weight ** 2) / weight.sum()
    if scale <= 0:  # one weighted fold: nothing to tell apart (a division by zero in CI's log)
        return 0.0
    return float(max(0.0, (q - (len(rate) - 1)) / scale))


def _rates(called: np.ndarray, positive: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """Weighted sensitivity and false-call rate of ``called``."""
    hits = np.bincount(2 * positive + called, weights=weight, minlength=4)
    return (float(hits[3] / max(hits[2] + hits[3], 1e-12)),
            float(hits[1] / max(hits[0] + hits[1], 1e-12)))


def _group_bootstrap(called: np.ndarray, positive: np.ndarray, group: np.ndarray,
                     seed: int) -> np.ndarray:
    """(BOOTSTRAP_SAMPLES, 2) sensitivities and false-call rates over resampled groups."""
    out = np.empty((BOOTSTRAP_SAMPLES, 2))
    for b, weight in enumerate(_group_resamples(group, seed)):
        out[b] = _rates(called, positive, weight.astype(float))
    return out


def _group_resamples(group: np.ndarray, seed: int) -> Iterator[np.ndarray]:
    """:data:`BOOTSTRAP_SAMPLES` bootstrap resamples of whole groups, each as the number of
    times every row is drawn (the rows of a group are drawn together)."""
    names, member = np.unique(group, return_inverse=True)
    rng = np.random.default_rng(seed)
    for _ in range(BOOTSTRAP_SAMPLES):
        times = np.bincount(rng.integers(0, len(names), len(names)), minlength=len(names))
        yield times[member]


def paired_auc(new: OutOfFold, old: OutOfFold, *, seed: int = 0) -> dict[str, Any]:
    """End-to-end schistocyte ROC AUC of two models' scores on the labelled points both scored.

    Points are matched by field and by their order within the field (both files come from the
    same point extraction); the difference gets a 95% percentile interval from
    :data:`BOOTSTRAP_SAMPLES` resamples of whole overlap groups, both models resampled together.

    Raises
    ------
    ValueError
        When the matched points disagree on a label (the files come from different extractions).
    """
    from sklearn.metrics import roc_auc_score

    new_at, old_at = _point_index(new), _point_index(old)
    common = sorted(new_at.keys() & old_at.keys())
    i = np.array([new_at[key] for key in common], dtype=np.intp)
    j = np.array([old_at[key] for key in common], dtype=np.intp)
    positive = new.positive[i]
    if not np.array_equal(positive, old.positive[j]):
        raise ValueError("the two files label the same points differently")
    scores = (new.score[i], old.score[j])
    differences = []
    for weight in _group_resamples(new.group[i], seed):
        if 0 < (weight * positive).sum() < weight.sum():
            differences.append(roc_auc_score(positive, scores[0], sample_weight=weight)
                               - roc_auc_score(positive, scores[1], sample_weight=weight))
    auc = [float(roc_auc_score(positive, s)) for s in scores]
    return {"points": len(common), "positives": int(positive.sum()),
            "fields": len(np.unique(new.field[i])), "roc_auc_new": auc[0], "roc_auc_old": auc[1],
            "difference": auc[0] - auc[1],
            "difference_ci95": [float(b) for b in np.percentile(differences, (2.5, 97.5))]}


def _point_index(scores: OutOfFold) -> dict[tuple[str, int], int]:
    """(field, rank of the point within its field) -> row."""
    return {(str(field), int(rank)): row for row, (field, rank)
            in enumerate(zip(scores.field, rank_in_field(scores.field), strict=True))}


def rank_in_field(field: np.ndarray) -> np.ndarray:
    """Each row's rank among the rows of the same field, in row order (0, 1, ... per field)."""
    order = np.argsort(field, kind="stable")
    ordered = field[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    rank = np.empty(len(field), dtype=np.int64)
    rank[order] = np.arange(len(field)) - np.repeat(starts, np.diff(np.r_[starts, len(field)]))
    return rank
