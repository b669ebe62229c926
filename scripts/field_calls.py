"""Schistocyte calls on whole held-out Chula fields, by what each object is known to be.

Usage: python scripts/field_calls.py [--shared ../shared] [--split test] [--model FILE]

`smearscan evaluate` scores the labelled cells only. A slide's count also holds every object
nobody labelled: platelets above all (Chula labels red cells only), which a classifier that has
not learnt them calls fragments. This runs the pipeline's segmentation and classifier on every
field of a split and prints, per kind of object, how many were called schistocyte:

- labelled schistocytes and other labelled cells (the evaluate figures, on whole fields);
- unlabelled objects under 4 um (mostly platelets, some unlabelled fragments) and larger ones;
- objects cut by the field edge (never counted on a slide).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from smearscan.classification import load_model
from smearscan.cli.common import shared_folder
from smearscan.datasets import chula_fields, split_fields
from smearscan.features import cell_table
from smearscan.loading import read_field
from smearscan.pipeline import classified_columns
from smearscan.segmentation import NORMAL_RBC_DIAMETER_UM, segment_field
from smearscan.training.crops import objects_at_points

_SMALL_UM = 4.0
KINDS = ("labelled schistocyte", "labelled other", f"unlabelled < {_SMALL_UM:g} um",
         f"unlabelled >= {_SMALL_UM:g} um", "cut by the edge")


def object_kinds(field, labels: np.ndarray, table: dict[str, np.ndarray]) -> np.ndarray:
    """One of KINDS per object of the field's segmentation."""
    kind = np.where(table["diameter_um"] < _SMALL_UM, KINDS[2], KINDS[3]).astype("U32")
    xy = np.array([(x, y) for x, y, _ in field.points], dtype=float).reshape(-1, 2)
    rows = objects_at_points(labels, table, xy, max_distance_px=0.5 * NORMAL_RBC_DIAMETER_UM
                             / field.pixel_size_um)
    for row, (*_, name) in zip(rows, field.points, strict=True):
        if row >= 0:
            kind[row] = KINDS[0] if name == "schistocyte" else KINDS[1]
    kind[table["border"]] = KINDS[4]
    return kind


def schistocyte_calls(fields: list, model) -> tuple[Counter, Counter]:
    """Objects called schistocyte and all objects, per kind."""
    called, total = Counter(), Counter()
    for field in fields:
        rgb = read_field(field.image)
        labels = segment_field(rgb, pixel_size_um=field.pixel_size_um).labels
        table = cell_table(labels, rgb, pixel_size_um=field.pixel_size_um)
        calls = classified_columns(rgb, labels, table, pixel_size_um=field.pixel_size_um,
                                   model=model)["class"]
        for kind, call in zip(object_kinds(field, labels, table), calls, strict=True):
            total[kind] += 1
            called[kind] += call == "schistocyte"
    return called, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=shared_folder, default="../shared")
    parser.add_argument("--split", choices=("train", "val", "test"), default="test")
    parser.add_argument("--model", type=Path, help="default: the shipped models/default.pt")
    args = parser.parse_args()
    model = load_model(args.model)
    fields = split_fields(chula_fields(args.shared / "datasets" / "chula-rbc-12"))[args.split]
    called, total = schistocyte_calls(fields, model)
    print(f"{model.version}, Chula {args.split} split, {len(fields)} fields\n")
    print("| object | objects | called schistocyte | share |")
    print("|---|---:|---:|---:|")
    for kind in KINDS:
        share = called[kind] / total[kind] if total[kind] else float("nan")
        print(f"| {kind} | {total[kind]} | {called[kind]} | {share:.3f} |")


if __name__ == "__main__":
    main()
