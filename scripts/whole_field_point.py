"""The schistocyte rates a slide's count is corrected with, measured on whole Chula fields.

Usage: python scripts/whole_field_point.py --fold-models DIR/fold-*.onnx [--shared ../shared]
           [--model models/default.pt] [--out DIR] [--write MODEL.pt --version NAME]

Each labelled Chula field is analysed end to end (``smearscan.pipeline.field_cells`` at the declared
0.2 um/px) by the fold model of ``scripts/cross_validate.py --save-folds`` that never saw it
(:mod:`smearscan.training.whole_fields`). Prints, by the share of a field's counted red cells
its labels cover, the schistocyte sensitivity and false-call rate (over every counted red cell)
at ``--model``'s threshold, then the whole-field operating point of the fields labelled >= 85%,
per fold and pooled (95% intervals over overlap groups), and the NRBC calls among every whole
red and white cell (Chula labels no NRBC). Writes ``whole_fields.npz`` (every field) and
``exhaustive.npz`` (those fields: the input of ``scripts/synthetic_slides.py --oof``) to
``--out``. With ``--write`` it also writes a copy of ``--model`` carrying that point (and, as
``labelled_points``, the point it had), weights unchanged
(``smearscan.training.train.with_operating_point``), under ``--version``.
~3 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from smearscan import default_model_path
from smearscan.classification import load_model
from smearscan.cli.common import shared_folder
from smearscan.training.operating import OutOfFold
from smearscan.training.train import with_operating_point
from smearscan.training.whole_fields import (
    EXHAUSTIVE_COVERAGE,
    WholeFieldScores,
    whole_field_point,
    whole_field_scores,
)

#: Bands of label coverage for the table (the last one is the exhaustive fields').
BANDS = ((0.0, 0.3), (0.3, 0.6), (0.6, EXHAUSTIVE_COVERAGE), (EXHAUSTIVE_COVERAGE, 1.01))


def coverage_table(whole: WholeFieldScores, threshold: float) -> None:
    """Sensitivity and false-call rate per band of label coverage."""
    scores = whole.scores
    coverage = np.array([whole.coverage[str(f)] for f in scores.field])
    called = scores.score >= threshold
    print("| labels cover | fields | labelled schistocytes | sensitivity | counted red cells "
          "| false calls (any other counted cell) |\n|---|---:|---:|---:|---:|---:|")
    for low, high in BANDS:
        band = (coverage >= low) & (coverage < high)
        positive = band & scores.positive
        negative = band & ~scores.positive
        print(f"| {low:.0%}-{min(high, 1):.0%} | {len(np.unique(scores.field[band]))} | "
              f"{positive.sum()} | {called[positive].mean():.3f} | {(band & ~scores.missed).sum()} "
              f"| {called[negative].sum()} ({100 * called[negative].mean():.2f}%) |")


def print_point(point: dict) -> None:
    print(f"\nwhole-field point at threshold {point['threshold']:.4f}: {point['estimate']}\n")
    print("| fold | schistocytes | other counted cells | sensitivity | false-call rate "
          "| ROC AUC |\n|---|---:|---:|---:|---:|---:|")
    for fold in point["folds"]:
        auc = f"{fold['roc_auc']:.4f}" if fold["roc_auc"] is not None else "-"
        print(f"| {fold['fold'] + 1} | {fold['positives']} | {fold['negatives']} | "
              f"{fold['sensitivity']:.3f} | {100 * fold['false_positive_rate']:.3f}% | {auc} |")
    s_lo, s_hi = point["sensitivity_ci95"]
    f_lo, f_hi = point["false_positive_rate_ci95"]
    print(f"| pooled | {point['positives']} | {point['negatives']} | "
          f"{point['sensitivity']:.3f} ({s_lo:.3f}-{s_hi:.3f}) | "
          f"{100 * point['false_positive_rate']:.3f}% ({100 * f_lo:.3f}-{100 * f_hi:.3f}%) | "
          f"{point['roc_auc']:.4f} |")
    print(f"\nstandard errors of prediction for new fields: sensitivity "
          f"{point['sensitivity_se']:.3f}, false-call rate {point['false_positive_rate_se']:.5f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fold-models", type=Path, nargs="+", required=True)
    parser.add_argument("--shared", type=shared_folder, default="../shared")
    parser.add_argument("--model", type=Path, default=default_model_path().with_suffix(".pt"),
                        help="the model whose threshold is measured (and copied by --write)")
    parser.add_argument("--out", type=Path, default=Path("results/whole_fields"))
    parser.add_argument("--write", type=Path, metavar="MODEL.pt")
    parser.add_argument("--version", metavar="NAME", help="model_version of the --write copy")
    parser.add_argument("--limit", type=int, help="smoke test: the first few fields")
    args = parser.parse_args()
    if args.write and not args.version:
        parser.error("--write needs --version")
    model = load_model(args.model)
    threshold = model.thresholds["schistocyte"]
    # A fold model has no NRBC or immature-granulocyte threshold of its own: read at the model's.
    folds = [replace(load_model(path), thresholds=model.thresholds) for path in args.fold_models]
    whole = whole_field_scores(folds, args.shared, limit=args.limit)
    args.out.mkdir(parents=True, exist_ok=True)
    whole.scores.save(args.out / "whole_fields.npz")
    (args.out / "coverage.json").write_text(json.dumps(whole.coverage, indent=1) + "\n")
    exhaustive: OutOfFold = whole.exhaustive()
    exhaustive.save(args.out / "exhaustive.npz")
    coverage_table(whole, threshold)
    point = whole_field_point(exhaustive, threshold=threshold)
    (args.out / "operating_point.json").write_text(json.dumps(point, indent=2) + "\n")
    print_point(point)
    print(f"\nNRBC calls at threshold {model.thresholds['nrbc']:.4f}: {whole.nrbc_calls} in "
          f"{whole.nrbc_candidates:,} whole red and white cells of {len(whole.coverage)} fields "
          "(Chula labels no NRBC)")
    if args.write:
        before = model.metadata["operating_points"]["schistocyte"]
        point["labelled_points"] = {key: value for key, value in before.items()
                                    if key not in ("rule", "min_threshold", "labelled_points")}
        written = with_operating_point(args.model, point, out=args.write, version=args.version)
        print(f"\nmodel: {written}")


if __name__ == "__main__":
    main()
