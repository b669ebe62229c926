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
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    col = np.rint(xy[:, 0]).astype(int)
    row = np.rint(xy[:, 1]).astype(int)
    inside = (row >= 0) & (row < labels.shape[0]) & (col >= 0) & (col < labels.shape[1])
    hit = labels[row[inside], col[inside]]
    hit = hit[hit > 0]
    _, counts = np.unique(hit, return_counts=True)
    return PointMatch(int(inside.sum()), int(hit.size), int(counts[counts > 1].sum()))
