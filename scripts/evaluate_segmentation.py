"""Segmentation against the point labels of Chula RBC-12 and the box centres of BCCD.

Usage: python scripts/evaluate_segmentation.py [--shared ../shared] [--split val] [--known-scale]

Prints, per dataset and label class, the fraction of labelled points inside a detected object
(recall), the fraction of matched points whose object holds another labelled point (merges) and,
as a check on over-splitting, the fraction of matched points whose object is smaller than
0.6 of a normal red cell at the declared pixel size (cut). Cut is meaningful for whole-cell
classes (normal, target, ovalocyte...); fragments, microcytes and platelets are small anyway.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from smearscan.datasets import bccd_fields, chula_fields, split_fields
from smearscan.loading import read_field
from smearscan.metrics import labels_under_points, match_points
from smearscan.segmentation import NORMAL_RBC_DIAMETER_UM, segment_field

#: An object under this fraction of a normal red cell's area holds part of a cell at most.
_CUT_AREA = 0.6


def evaluate(fields, *, known_scale: bool) -> dict[str, list[int]]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    diameters = []
    for field in fields:
        seg = segment_field(read_field(field.image),
                            pixel_size_um=field.pixel_size_um if known_scale else None)
        diameters.append(seg.rbc_diameter_px)
        by_class = defaultdict(list)
        for x, y, label in field.points:
            by_class[label].append((x, y))
            by_class["all"].append((x, y))
        cell_area = np.pi * (NORMAL_RBC_DIAMETER_UM / field.pixel_size_um / 2) ** 2
        area = np.bincount(seg.labels.ravel())
        for label, xy in by_class.items():
            m = match_points(seg.labels, np.array(xy))
            for i, v in enumerate((m.points, m.matched, m.merged, _cut(seg.labels, xy, area,
                                                                      cell_area))):
                totals[label][i] += v
    totals["_diameter_px_median"] = [float(np.median(diameters))]
    return totals


def _cut(labels: np.ndarray, xy: list, area: np.ndarray, cell_area: float) -> int:
    """Points inside an object smaller than ``_CUT_AREA`` of a normal cell's area."""
    hit = labels_under_points(labels, xy)
    hit = hit[hit > 0]
    return int(np.sum(area[hit] < _CUT_AREA * cell_area))


def print_table(name: str, totals: dict[str, list[int]]) -> None:
    print(f"\n### {name} (median estimated RBC diameter "
          f"{totals.pop('_diameter_px_median')[0]:.1f} px)\n")
    print("| class | points | recall | merged | cut |")
    print("|---|---:|---:|---:|---:|")
    for label in sorted(totals, key=lambda k: (k != "all", k)):
        n, matched, merged, cut = totals[label]
        print(f"| {label} | {n} | {matched / max(n, 1):.4f} | {merged / max(matched, 1):.4f} "
              f"| {cut / max(matched, 1):.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path(__file__).parents[1] / "../shared")
    parser.add_argument("--split", default="val", help="train, val, test or all (Chula)")
    parser.add_argument("--known-scale", action="store_true",
                        help="give the declared pixel size instead of estimating it")
    args = parser.parse_args()
    data = args.shared / "datasets"
    chula = chula_fields(data / "chula-rbc-12")
    if args.split != "all":
        chula = split_fields(chula)[args.split]
    print_table(f"Chula RBC-12, {args.split} split, {len(chula)} fields",
                evaluate(chula, known_scale=args.known_scale))
    bccd = bccd_fields(data / "bccd")
    print_table(f"BCCD, {len(bccd)} fields", evaluate(bccd, known_scale=args.known_scale))


if __name__ == "__main__":
    main()
