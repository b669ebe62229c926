"""Evaluation metrics for segmentation (against point labels) and classification."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PointMatch:
    """How labelled points fall on a label image.

    Attributes
    ----------
    points : int
        Labelled points inside the image.
    matched : int
        Points that fall inside an object.
    merged : int
        Matched points whose object holds another labelled point too.
    """

    points: int
    matched: int
    merged: int


def match_points(labels: np.ndarray, xy: np.ndarray) -> PointMatch:
    """Count labelled points inside objects and those sharing an object.

    Parameters
    ----------
    labels : (H, W) int ndarray
        Label image.
    xy : (N, 2) float ndarray
        Point coordinates (x, y) in pixels.
    """
    under = labels_under_points(labels, xy)
    hit = under[under > 0]
    _, counts = np.unique(hit, return_counts=True)
    return PointMatch(int(under.size), int(hit.size), int(counts[counts > 1].sum()))


def matched_objects(a: np.ndarray, b: np.ndarray, *, min_iou: float = 0.5
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The object of ``b`` that is the same as each object of ``a``, and vice versa.

    Two objects are the same when their intersection over union reaches ``min_iou``; above
    0.5 an object can match at most one other.

    Parameters
    ----------
    a, b : (H, W) int ndarray
        Label images of one field, 0 background, objects 1..N.
    min_iou : float, keyword-only
        Least intersection over union of the same object.

    Returns
    -------
    a_to_b : (max(a) + 1,) int ndarray
        For each label of ``a`` (index 0 the background) its label in ``b``, 0 for none.
    b_to_a : (max(b) + 1,) int ndarray
        The same from ``b`` to ``a``.
    """
    na, nb = int(a.max(initial=0)), int(b.max(initial=0))
    pair = a.astype(np.int64) * (nb + 1) + b
    joint = np.bincount(pair.ravel(), minlength=(na + 1) * (nb + 1)).reshape(na + 1, nb + 1)
    union = joint.sum(1)[:, None] + joint.sum(0)[None, :] - joint
    iou = joint / np.maximum(union, 1)
    iou[0, :] = 0
    iou[:, 0] = 0
    a_to_b = np.where(iou.max(1) >= min_iou, iou.argmax(1), 0)
    b_to_a = np.where(iou.max(0) >= min_iou, iou.argmax(0), 0)
    return a_to_b, b_to_a


def labels_under_points(labels: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Label value (0 for background) under each point (x, y) that lies inside the image.

    Points are rounded to the nearest pixel; points outside the image are left out.
    """
    row, col, inside = _pixels(labels, xy)
    return labels[row[inside], col[inside]]


def labels_at_points(labels: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Label value under each point (x, y), one per point: 0 for background or outside."""
    row, col, inside = _pixels(labels, xy)
    out = np.zeros(len(row), dtype=labels.dtype)
    out[inside] = labels[row[inside], col[inside]]
    return out


def _pixels(labels: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest pixel (row, col) of each point (x, y), and whether it lies inside ``labels``."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    col = np.rint(xy[:, 0]).astype(int)
    row = np.rint(xy[:, 1]).astype(int)
    inside = (row >= 0) & (row < labels.shape[0]) & (col >= 0) & (col < labels.shape[1])
    return row, col, inside


def threshold_at_false_positive_rate(negative_scores: np.ndarray, rate: float) -> float:
    """Lowest score threshold that calls at most ``rate`` of the negatives positive.

    An object is called positive when its score is ``>= threshold``. With ``n`` negatives at
    most ``floor(rate * n)`` of them reach the returned threshold (ties can only lower that).

    Parameters
    ----------
    negative_scores : (N,) float ndarray
        Scores of the negatives (higher = more positive).
    rate : float
        Allowed false-positive rate, ``1 - specificity``.

    Returns
    -------
    float
        ``-inf`` when there are no negatives.
    """
    scores = np.sort(np.asarray(negative_scores))[::-1]
    if scores.size == 0:
        return float("-inf")
    allowed = int(np.floor(rate * scores.size + 1e-9))
    if allowed >= scores.size:
        return float("-inf")
    # The next value up in the scores' own precision, so that comparing float32 scores with
    # the (float) threshold cannot round it back onto the score.
    return float(np.nextafter(scores[allowed], np.inf))


def sensitivity_at_specificity(
    scores: np.ndarray, positive: np.ndarray, specificity: float
) -> dict[str, float]:
    """Sensitivity reached at a specificity, with the threshold found on the same scores.

    Parameters
    ----------
    scores : (N,) float ndarray
    positive : (N,) bool ndarray
        True for positives; the rest are negatives.
    specificity : float
        Required specificity (e.g. 0.998).

    Returns
    -------
    dict
        ``threshold``, ``sensitivity``, ``specificity`` (reached), ``positives``, ``negatives``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    threshold = threshold_at_false_positive_rate(scores[~positive], 1.0 - specificity)
    return rates_at_threshold(scores, positive, threshold)


def rates_at_threshold(scores: np.ndarray, positive: np.ndarray,
                       threshold: float) -> dict[str, float]:
    """Sensitivity and specificity of calling ``scores >= threshold`` positive.

    Returns
    -------
    dict
        ``threshold``, ``sensitivity``, ``specificity``, ``positives``, ``negatives``
        (rates are ``nan`` when their denominator is 0).
    """
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, dtype=bool)
    called = scores >= threshold
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    return {
        "threshold": float(threshold),
        "sensitivity": float(called[positive].mean()) if n_pos else float("nan"),
        "specificity": float(1 - called[~positive].mean()) if n_neg else float("nan"),
        "positives": n_pos,
        "negatives": n_neg,
    }
