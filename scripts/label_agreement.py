"""How often Chula RBC-12 labels the same red cell the same way twice.

Usage: python scripts/label_agreement.py [--shared ../shared]

Chula lists fields that show the same field of view (``duplicate_fields.txt``) or share part of
it (``overlapping_fields.txt``); they were labelled separately. Each pair is registered by phase
correlation (accepted when the overlapping pixels correlate >= 0.9), labelled points of one copy
are moved into the other, and mutual nearest points within ``--radius-px`` are the same cell.

This measures how far the labels themselves reproduce. Taking one copy's labels as the truth
and the other's as a call (both ways round), the script prints per split, and for all splits,
the cells labelled twice, the share with the same label, and the sensitivity and false-call
rate of the schistocyte label against itself, with Wilson 95% intervals. A classifier is scored
against one copy of such labels, so a target above the labels' own repeatability cannot be
shown on them (issue 4: schistocyte sensitivity >= 0.90 at specificity >= 0.998).
"""

from __future__ import annotations

import argparse
import itertools
from collections import Counter

import cv2
import numpy as np

from smearscan.cli.common import shared_folder
from smearscan.datasets import LabeledField, chula_fields, split_fields
from smearscan.loading import read_field
from smearscan.metrics import labels_at_points
from smearscan.segmentation import segment_field
from smearscan.slide_stats import wilson_interval

_MIN_CORRELATION = 0.9


def registered_shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float] | None:
    """Shift (dx, dy) that moves ``b``'s pixels onto ``a``'s, or None when they do not match."""
    ga, gb = (cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) for image in (a, b))
    window = cv2.createHanningWindow(ga.shape[::-1], cv2.CV_32F)
    (dx, dy), _ = cv2.phaseCorrelate(gb, ga, window)
    moved = cv2.warpAffine(gb, np.float32([[1, 0, dx], [0, 1, dy]]), ga.shape[::-1],
                           borderValue=-1)
    overlap = moved >= 0
    if overlap.mean() < 0.1:
        return None
    correlation = np.corrcoef(ga[overlap], moved[overlap])[0, 1]
    return (dx, dy) if correlation >= _MIN_CORRELATION else None


def same_cells(a: LabeledField, rgb_a: np.ndarray, b: LabeledField,
               shift: tuple[float, float]) -> list[tuple[str, str]]:
    """Label pairs of the cells labelled once in ``a`` (image ``rgb_a``) and once in ``b``
    (points shifted onto ``a``)."""
    labels = segment_field(rgb_a, pixel_size_um=a.pixel_size_um).labels
    under_a = labels_at_points(labels, [(x, y) for x, y, _ in a.points])
    under_b = labels_at_points(labels, [(x + shift[0], y + shift[1]) for x, y, _ in b.points])
    once_a, once_b = _labelled_once(under_a), _labelled_once(under_b)
    return [(a.points[once_a[obj]][2], b.points[once_b[obj]][2])
            for obj in once_a.keys() & once_b.keys()]


def _labelled_once(objects: np.ndarray) -> dict[int, int]:
    """Object -> index of its point, for the objects that hold exactly one point."""
    ids, counts = np.unique(objects[objects > 0], return_counts=True)
    once = set(ids[counts == 1].tolist())
    return {int(obj): i for i, obj in enumerate(objects) if obj in once}


def labelled_twice(fields: list[LabeledField]) -> tuple[list[tuple[str, str]], int, int]:
    """Label pairs of cells labelled in two fields of one overlap group; pairs tried, registered."""
    by_group: dict[str, list] = {}
    for field in fields:
        by_group.setdefault(field.group, []).append(field)
    pairs, tried, registered = [], 0, 0
    for members in by_group.values():
        for a, b in itertools.combinations(members, 2):
            tried += 1
            rgb_a = read_field(a.image)
            shift = registered_shift(rgb_a, read_field(b.image))
            if shift is not None:
                registered += 1
                pairs += same_cells(a, rgb_a, b, shift)
    return pairs, tried, registered


def repeatability(pairs: list[tuple[str, str]]) -> dict[str, int]:
    """Counts of the schistocyte label against itself over cells labelled twice.

    Each copy is taken in turn as the truth and the other as the call, so a conflict is one
    miss and one false call.
    """
    both = sum(a == b == "schistocyte" for a, b in pairs)
    conflicts = sum(a != b and "schistocyte" in (a, b) for a, b in pairs)
    neither = len(pairs) - both - conflicts
    return {"cells": len(pairs), "same_label": sum(a == b for a, b in pairs), "both": both,
            "conflicts": conflicts, "hits": 2 * both, "positives": 2 * both + conflicts,
            "false_calls": conflicts, "negatives": 2 * neither + conflicts}


def report(split: str, pairs: list[tuple[str, str]]) -> None:
    """One table row: agreement and the schistocyte label's sensitivity against itself."""
    n = repeatability(pairs)
    others = Counter(b if a == "schistocyte" else a for a, b in pairs
                     if a != b and "schistocyte" in (a, b))
    print(f"| {split} | {n['cells']} | {n['same_label'] / max(n['cells'], 1):.3f} | {n['both']} "
          f"| {n['conflicts']} | {_rate(n['hits'], n['positives'])} "
          f"| {_rate(n['false_calls'], n['negatives'])} "
          f"| {', '.join(f'{k} {v}' for k, v in others.most_common())} |")


def _rate(k: int, n: int) -> str:
    low, high = wilson_interval(k, n)
    return f"{k / n:.3f} ({low:.3f}-{high:.3f}), {k}/{n}" if n else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=shared_folder, default="../shared")
    args = parser.parse_args()
    splits = split_fields(chula_fields(args.shared / "datasets" / "chula-rbc-12"))
    print("| split | cells labelled twice | same label | schistocyte in both copies "
          "| schistocyte vs other | schistocyte label vs itself: sensitivity "
          "| false-call rate | the other labels |")
    print("|---|---:|---:|---:|---:|---|---|---|")
    every = []
    for split, fields in splits.items():
        pairs, tried, registered = labelled_twice(fields)
        print(f"<!-- {split}: {registered} of {tried} field pairs registered -->")
        report(split, pairs)
        every += pairs
    report("all", every)

if __name__ == "__main__":
    main()
