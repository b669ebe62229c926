"""Synthetic slides from held-out Chula fields: does the reported schistocyte % hold the truth?

Usage: python scripts/synthetic_slides.py [--shared ../shared] [--split test] [--slides 12]
                                          [--out results/synthetic_slides]
       python scripts/synthetic_slides.py --oof results/cross_validation/oof.npz
                                          [--slides-per-fold 2] [--threshold T]

Chula labels are not exhaustive, so the truth is known only for labelled cells: each synthetic
slide is a set of held-out fields, and both the truth and smearscan's count are taken over the
labelled, whole (non-border) objects of those fields. Fields are drawn so that the slides span
low to high schistocyte prevalence, each with at least 1000 labelled red cells. The script prints
a markdown table (truth, reported % with its Wilson interval, corrected % with its interval,
whether each interval holds the truth) and writes a figure.

With ``--oof`` (the out-of-fold scores of ``scripts/cross_validate.py``) the slides are built
from each fold's fields, scored by the model that never saw that fold; each fold is read with
the operating point (threshold, sensitivity, false-call rate and their standard errors) chosen
on the *other* folds only, as a new lab's slides are read with a point measured elsewhere. The
truth then also holds the labelled cells the segmentation missed (a real schistocyte that is
never counted), and the table names each slide's fold and that fold's own sensitivity.
``--oof exhaustive.npz`` of ``scripts/whole_field_point.py`` builds them from the Chula fields
labelled (nearly) exhaustively, counting every red cell of each field as a slide does; give it
``--threshold`` (the shipped model's), which that point keeps. ``--whole-field`` reads those
slides as a slide is read: with ``--model``'s labelled-point rates, the other folds' whole-field
rates beside them (the corrected interval spans both readings).
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np

from smearscan.classification.model import WHOLE_FIELD_RATES
from smearscan.cli.common import shared_folder
from smearscan.datasets import chula_fields, split_fields
from smearscan.features import cell_table
from smearscan.loading import read_field
from smearscan.pipeline import cached_model, classified_columns
from smearscan.segmentation import segment_field
from smearscan.slide_stats import slide_result
from smearscan.training.operating import OutOfFold, out_of_fold_point


def labelled_calls(field, *, model_path: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """(truth is schistocyte, predicted class) for the labelled whole objects of a field."""
    rgb = read_field(field.image)
    seg = segment_field(rgb, pixel_size_um=field.pixel_size_um)
    cells = cell_table(seg.labels, rgb, pixel_size_um=seg.pixel_size_um)
    calls = classified_columns(rgb, seg.labels, cells, pixel_size_um=seg.pixel_size_um,
                               model=cached_model(model_path))["class"]
    truth, predicted, seen = [], [], set()
    for x, y, name in field.points:
        r, c = int(round(y)), int(round(x))
        if not (0 <= r < seg.labels.shape[0] and 0 <= c < seg.labels.shape[1]):
            continue
        i = int(seg.labels[r, c]) - 1
        if i < 0 or cells["border"][i] or i in seen:
            continue
        seen.add(i)
        truth.append(name == "schistocyte")
        predicted.append(calls[i])
    return np.array(truth, bool), np.array(predicted, dtype=str)


def synthetic_slides(per_field: list[tuple[np.ndarray, np.ndarray]], *, slides: int,
                     seed: int) -> list[list[int]]:
    """Field index sets with >= 1000 labelled cells, from low to high prevalence."""
    order = sorted(range(len(per_field)), key=lambda i: per_field[i][0].mean()
                   if len(per_field[i][0]) else 0)
    rng = random.Random(seed)
    groups = []
    for k in range(slides):
        # Each slide draws mostly from one prevalence band, so the slides span the range.
        centre = int(k / max(slides - 1, 1) * (len(order) - 1))
        band = order[max(0, centre - len(order) // 4): centre + len(order) // 4 + 1]
        rng.shuffle(band)
        chosen, cells = [], 0
        for i in band + [j for j in order if j not in band]:
            if cells >= 1000:
                break
            chosen.append(i)
            cells += int(np.isin(per_field[i][1], ("rbc", "schistocyte")).sum())
        groups.append(chosen)
    return groups


def fold_slides(oof: OutOfFold, *, per_fold: int, seed: int,
                threshold: float | None = None, labelled: dict | None = None) -> list[dict]:
    """Rows of slides built from each fold's fields, read with the other folds' operating point
    (at ``threshold`` when given, else at the one the other folds choose); with ``labelled``
    (a model's labelled-point rates, :attr:`~smearscan.classification.CellClassifier.operating`)
    read with those, the other folds' point as their ``whole_field`` rates."""
    rows = []
    for fold in np.unique(oof.fold):
        others = oof.fold != fold
        point = out_of_fold_point(oof.score[others], oof.positive[others], oof.group[others],
                                  oof.fold[others], threshold=threshold, seed=seed)
        mine = oof.fold == fold
        called = oof.score >= point["threshold"]
        own = (called & mine & oof.positive).sum() / max((mine & oof.positive).sum(), 1)
        rates = {key: point[key] for key in (*WHOLE_FIELD_RATES, "estimate")}
        operating = {"schistocyte": rates if labelled is None
                     else {**labelled, "whole_field": rates}}
        per_field = []
        for field in np.unique(oof.field[mine]):
            at = mine & (oof.field == field)
            found = at & ~oof.missed
            per_field.append((oof.positive[at], np.where(called[found], "schistocyte", "rbc")))
        for group in synthetic_slides(per_field, slides=per_fold, seed=seed + int(fold)):
            rows.append({"fold": int(fold) + 1, "fold_sensitivity": float(own),
                         "sensitivity_used": point["sensitivity"],
                         **_slide_row(per_field, group, operating)})
    return rows


def _slide_row(per_field: list[tuple[np.ndarray, np.ndarray]], group: list[int],
               operating: dict | None) -> dict:
    """Truth, counts and the schistocyte block of one synthetic slide."""
    truth = np.concatenate([per_field[i][0] for i in group])
    predicted = np.concatenate([per_field[i][1] for i in group])
    counted = np.isin(predicted, ("rbc", "schistocyte"))
    result = slide_result(label=predicted, morphology=np.full(len(predicted), "normal"),
                          border=np.zeros(len(predicted), bool), operating=operating)
    return {"fields": len(group), "cells": int(counted.sum()), "truth": 100 * truth.mean(),
            **result.to_dict()["schistocytes"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=shared_folder,
                        default=str(Path(__file__).parents[1] / "../shared"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--slides", type=int, default=12)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("results/synthetic_slides"))
    parser.add_argument("--oof", type=Path, help="out-of-fold scores (scripts/cross_validate.py)")
    parser.add_argument("--slides-per-fold", type=int, default=2)
    parser.add_argument("--threshold", type=float,
                        help="with --oof: read every fold at this threshold (the shipped "
                             "model's) instead of the one the other folds choose")
    parser.add_argument("--whole-field", action="store_true",
                        help="with --oof exhaustive.npz: read every fold as a slide is, with "
                             "--model's labelled-point rates at its threshold and the other "
                             "folds' rates as its whole-field ones")
    args = parser.parse_args()
    if args.oof:
        labelled = None
        if args.whole_field:
            labelled = cached_model(args.model).operating["schistocyte"]
            labelled.pop("whole_field", None)
            args.threshold = labelled["threshold"]
        rows = fold_slides(OutOfFold.load(args.oof), per_fold=args.slides_per_fold,
                           seed=args.seed, threshold=args.threshold, labelled=labelled)
    else:
        fields = split_fields(chula_fields(args.shared / "datasets" / "chula-rbc-12"))[args.split]
        per_field = [labelled_calls(f, model_path=args.model) for f in fields]
        operating = cached_model(args.model).operating
        rows = [_slide_row(per_field, group, operating)
                for group in synthetic_slides(per_field, slides=args.slides, seed=args.seed)]
    print_table(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    plot(rows, args.out / "synthetic_slides.png")
    print(f"\nfigure: {args.out / 'synthetic_slides.png'}")


def _holds(low: float, high: float, value: float) -> str:
    return "yes" if low <= value <= high else "no"


def print_table(rows: list[dict]) -> None:
    folds = "fold" in rows[0]
    print(("| slide | fold (its sensitivity / used) " if folds else "| slide ")
          + "| fields | RBCs | truth % | reported % (95% CI) | holds | corrected % (95% CI)"
          " | holds | call |")
    print("|---:" + ("|---" if folds else "") + "|---:|---:|---:|---|---|---|---|---|")
    for k, r in enumerate(rows, 1):
        lo, hi = r["ci95"]
        clo, chi = r["corrected_ci95"] or (float("nan"), float("nan"))
        fold = (f" {r['fold']} ({r['fold_sensitivity']:.3f} / {r['sensitivity_used']:.3f}) |"
                if folds else "")
        print(f"| {k} |{fold} {r['fields']} | {r['cells']} | {r['truth']:.2f} | {r['percent']:.2f} "
              f"({lo:.2f}-{hi:.2f}) | {_holds(lo, hi, r['truth'])} | "
              f"{r['corrected_percent']:.2f} ({clo:.2f}-{chi:.2f}) | "
              f"{_holds(clo, chi, r['truth'])} | {r['call']} |")
    held = sum(r["ci95"][0] <= r["truth"] <= r["ci95"][1] for r in rows)
    corrected = sum(r["corrected_ci95"][0] <= r["truth"] <= r["corrected_ci95"][1] for r in rows)
    print(f"\nreported interval holds the truth in {held}/{len(rows)} slides; "
          f"corrected interval in {corrected}/{len(rows)}")


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    truth = np.array([r["truth"] for r in rows])
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for key, colour, shift, name in (("percent", "tab:blue", -0.03, "reported (Wilson 95%)"),
                                     ("corrected_percent", "tab:red", 0.03,
                                      "corrected (Rogan-Gladen)")):
        ci = "ci95" if key == "percent" else "corrected_ci95"
        value = np.array([r[key] for r in rows])
        low = value - np.array([r[ci][0] for r in rows])
        high = np.array([r[ci][1] for r in rows]) - value
        ax.errorbar(truth * (1 + shift), value, yerr=[low, high], fmt="o", color=colour,
                    capsize=3, label=name)
    top = max(truth.max(), max(r["ci95"][1] for r in rows)) * 1.1
    ax.plot([0, top], [0, top], "k--", lw=1, label="identity")
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("labelled truth: schistocytes % of labelled RBCs")
    ax.set_ylabel("smearscan: schistocytes %")
    ax.set_title("Synthetic slides from held-out Chula fields")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
