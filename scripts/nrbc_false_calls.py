"""NRBC false calls per red cell and per white cell, measured end to end on held-out images.

Usage: python scripts/nrbc_false_calls.py --fold-models DIR/fold-*.onnx [--shared ../shared]
           [--model models/default.pt] [--write MODEL.pt --version NAME] [--limit N]

Red cells: every labelled Chula field analysed by the fold model of
``scripts/cross_validate.py --save-folds`` that never saw it. White cells: the PBC leukocyte and
immature granulocyte images of the val and test splits, analysed by ``--model``
(:mod:`smearscan.training.nrbc_false_calls`). Prints both, and the most NRBC calls a few slides
would have explained, with the one rate over all cells and with the two. ``--write`` writes a
copy of ``--model`` whose NRBC point carries them (``false_calls``; weights and thresholds
unchanged) under ``--version``. ~5 minutes on 2 cores.
"""

from __future__ import annotations

from fold_model_args import fold_model_parser, parsed

from smearscan.classification import load_model
from smearscan.slide_stats import false_call_bound, nrbc_false_call_bound
from smearscan.training.nrbc_false_calls import (
    false_calls_point,
    red_cell_false_calls,
    white_cell_false_calls,
)
from smearscan.training.train import with_operating_point
from smearscan.training.whole_fields import fold_models, whole_field_scores

#: (red cells, white cells) of the slides the bounds are shown for.
SLIDES = ((1000, 20), (2000, 50), (5000, 50), (5000, 200), (20000, 100))


def bounds_table(model_point: dict, false_calls: dict) -> str:
    """The most NRBC calls each of :data:`SLIDES` explains, one rate against two."""
    rows = ["| red cells | white cells | one rate over all cells | by source |",
            "|---:|---:|---:|---:|"]
    for n_rbc, n_wbc in SLIDES:
        one, _ = false_call_bound(n_rbc + n_wbc, model_point)
        two, _ = nrbc_false_call_bound(n_rbc, n_wbc, false_calls)
        rows.append(f"| {n_rbc:,} | {n_wbc} | {one} | {two} |")
    return "\n".join(rows)


def main() -> None:
    args = parsed(fold_model_parser(__doc__, model_help="the model measured on PBC (and "
                                    "copied by --write)",
                                    limit_help="smoke test: the first few images of each"))
    model = load_model(args.model)
    whole = whole_field_scores(fold_models(args.fold_models, model), args.shared,
                               limit=args.limit)
    sources = (red_cell_false_calls(whole),
               white_cell_false_calls(model, args.shared, limit=args.limit))
    for name, source in zip(("red", "white"), sources, strict=True):
        print(f"{name} cells: {source.calls} NRBC calls over {source.cells:,} "
              f"({source.measured_on})")
    false_calls = false_calls_point(*sources)
    print(f"\nNRBC calls explained at the 99% bound ({model.version}, threshold "
          f"{model.thresholds['nrbc']:.4f})\n")
    print(bounds_table(model.operating["nrbc"], false_calls))
    if args.write:
        point = {key: value for key, value in model.metadata["operating_points"]["nrbc"].items()
                 if key not in ("rule", "min_threshold", "weights_of")}
        written = with_operating_point(args.model, {**point, "false_calls": false_calls},
                                       out=args.write, version=args.version, target="nrbc")
        print(f"\nmodel: {written}")


if __name__ == "__main__":
    main()
