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
``--out``. With ``--write`` it also writes a copy of ``--model`` whose schistocyte point keeps
its own rates and carries that point as ``whole_field`` (a slide's corrected interval spans
both readings, :func:`smearscan.slide_stats.slide_result`), weights unchanged
(``smearscan.training.train.with_operating_point``), under ``--version``.
~3 minutes on 2 cores.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from fold_model_args import fold_model_parser, parsed

from smearscan.classification import load_model
from smearscan.training.operating import OutOfFold, point_table
from smearscan.training.train import with_operating_point
from smearscan.training.whole_fields import (
    EXHAUSTIVE_COVERAGE,
    WholeFieldScores,
    fold_models,
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
        sensitivity = f"{called[positive].mean():.3f}" if positive.any() else "-"
        rate = f"{100 * called[negative].mean():.2f}%" if negative.any() else "-"
        print(f"| {low:.0%}-{min(high, 1):.0%} | {len(np.unique(scores.field[band]))} | "
              f"{positive.sum()} | {sensitivity} | {(band & ~scores.missed).sum()} "
              f"| {called[negative].sum()} ({rate}) |")


def print_point(point: dict) -> None:
    print(f"\nwhole-field point at threshold {point['threshold']:.4f}: {point['estimate']}\n")
    print(point_table(point, others="other counted cells"))
    print(f"\nstandard errors of prediction for new fields: sensitivity "
          f"{point['sensitivity_se']:.3f}, false-call rate {point['false_positive_rate_se']:.5f}")


def main() -> None:
    parser = fold_model_parser(__doc__, model_help="the model whose threshold is measured "
                               "(and copied by --write)",
                               limit_help="smoke test: the first few fields")
    parser.add_argument("--out", type=Path, default=Path("results/whole_fields"))
    args = parsed(parser)
    model = load_model(args.model)
    threshold = model.thresholds["schistocyte"]
    whole = whole_field_scores(fold_models(args.fold_models, model), args.shared,
                               limit=args.limit)
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
        labelled = model.metadata["operating_points"]["schistocyte"]
        kept = {key: value for key, value in labelled.items()
                if key not in ("rule", "min_threshold", "whole_field")}
        written = with_operating_point(args.model, kept | {"whole_field": point},
                                       out=args.write, version=args.version)
        print(f"\nmodel: {written}")


if __name__ == "__main__":
    main()
