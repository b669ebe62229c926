"""Out-of-fold, end-to-end schistocyte operating point; optionally train the shipped model.

Usage: python scripts/cross_validate.py [--shared ../shared] [--folds 5] [--epochs 12]
           [--seed 0]
           [--size-jitter 0.905 1.105] [--label-smoothing 0] [--channel-gain 0.852 1.15]
           [--chula-channel-gain LOW HIGH] [--mask-edge-jitter PX]
           [--shift-consistency WEIGHT] [--consistency-shift PX] [--device cpu|cuda]
           [--fine-tune FOLD_DIR [--fine-tune-final MODEL]] [--learning-rate LR]
           [--out DIR] [--final MODEL [--final-seed SEED]] [--version NAME]
           [--compare OOF.npz ...] [--paired NEW.npz OLD.npz] [--run-scores RUN]
           [--rescore FOLD_MODEL ...]

Runs :func:`smearscan.training.crossval.cross_validate` (k models, whole Chula overlap groups
held out, labelled points scored on the segmented object under them, segmentation misses at 0),
writes ``oof.npz`` and ``operating_point.json`` to ``--out``, and prints the operating point
(threshold chosen on the out-of-fold scores, sensitivity and false-call rate with 95% bootstrap
intervals over overlap groups, per-fold spread, ROC AUC). With ``--final`` it also trains, alongside
the folds, one model on all of Chula with the same recipe and epochs, and writes it with that
operating point; ``--final-seed`` draws that model with another seed (the folds, drawn with
``--seed``, and their point unchanged). Its ``model_version`` (and ``NAME-fold-K`` of the
``--save-folds`` models) is ``--version NAME``, by default ``local-YYYYMMDD-HHMMSS``;
``scripts/train_default.sh`` gives the shipped model's.
``--compare`` prints the same table for earlier runs' ``oof.npz`` files; ``--paired`` compares two
score files (e.g. out-of-fold against ``--held-out-model``'s) on the points both scored.
``--fine-tune DIR`` starts each fold's network from ``DIR/fold-K.pt`` of an earlier
``--save-folds`` run (its held-out fields must be fold K's) and ``--fine-tune-final MODEL`` the
final one from MODEL, each trained further for ``--epochs`` at the peak ``--learning-rate``.
``--run-scores RUN`` reads the scores that a ``smearscan --save-masks --out RUN`` analysis of the
Chula val and test fields gave those points, so that a whole pipeline of any version (its own
segmentation and model) can be paired with today's. ``--rescore DIR/fold-*.onnx`` scores the
out-of-fold points again with the fold models of ``--save-folds`` under today's segmentation and
inference, and writes and prints that operating point, without retraining. The
crop cache (``~/.cache/smearscan``) is reused; a full run on 2 cores: see models/README.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from smearscan.classification import ModelLoadError, load_model
from smearscan.classification.model import version_problem
from smearscan.cli.common import shared_folder
from smearscan.network import load_network
from smearscan.training.crops import labelled_crops, labelled_points
from smearscan.training.crossval import (
    FOLDS,
    cross_validate,
    fold_model_scores,
    group_folds,
    held_out_scores,
    run_scores,
)
from smearscan.training.fit import DEFAULT_RECIPE, LEARNING_RATE, Recipe
from smearscan.training.operating import OutOfFold, out_of_fold_point, paired_auc, point_table
from smearscan.training.train import (
    all_chula_trains,
    local_version,
    with_operating_point,
    write_fold_model,
    write_model,
)


def point_of(oof: OutOfFold) -> dict:
    """The operating point of out-of-fold scores."""
    return out_of_fold_point(oof.score, oof.positive, oof.group, oof.fold)


def print_point(name: str, oof: OutOfFold, point: dict) -> None:
    """One markdown row per fold and a pooled row."""
    print(f"\n{name}: threshold {point['threshold']:.4f}, {point['positives']} schistocytes "
          f"({int(oof.missed[oof.positive].sum())} missed by segmentation), "
          f"{point['negatives']} other labelled cells\n")
    print(point_table(point))


def print_paired(new: Path, old: Path) -> None:
    """One markdown row: both models' end-to-end ROC AUC on the points both scored."""
    result = paired_auc(OutOfFold.load(new), OutOfFold.load(old))
    low, high = result["difference_ci95"]
    print(f"{result['points']} labelled points ({result['positives']} schistocytes) of "
          f"{result['fields']} fields scored in both\n")
    print(f"| ROC AUC {new} | ROC AUC {old} | difference (95% CI) |\n|---:|---:|---|")
    print(f"| {result['roc_auc_new']:.4f} | {result['roc_auc_old']:.4f} | "
          f"{result['difference']:+.4f} ({low:+.4f} to {high:+.4f}) |")


def held_out(args: argparse.Namespace) -> None:
    """Score a split-trained model end to end on its val and test fields at its own threshold,
    and optionally write a copy of it with that operating point."""
    model = load_model(args.held_out_model)
    oof = held_out_scores(model, shared=args.shared, cache=args.cache, limit=args.limit)
    args.out.mkdir(parents=True, exist_ok=True)
    oof.save(args.out / "held_out.npz")
    point = out_of_fold_point(oof.score, oof.positive, oof.group, oof.fold,
                              threshold=model.thresholds["schistocyte"])
    point["estimate"] = ("held out (Chula val and test fields, never trained on), end to end "
                         "(segmentation misses score 0)")
    (args.out / "operating_point.json").write_text(json.dumps(point, indent=2) + "\n")
    print_point(f"{model.version} on its val (1) and test (2) fields", oof, point)
    if args.write:
        with_operating_point(args.held_out_model, point, out=args.write,
                             version=args.version or model.version)
        print(f"\nmodel: {args.write}")


def scores_of_run(args: argparse.Namespace) -> None:
    """Write the end-to-end scores of another run's outputs on the val and test points."""
    try:
        oof = run_scores(args.run_scores, shared=args.shared, cache=args.cache, limit=args.limit)
    except (OSError, ValueError) as error:
        raise SystemExit(f"cross_validate.py: {error}") from None
    args.out.mkdir(parents=True, exist_ok=True)
    path = oof.save(args.out / "held_out.npz")
    positive = oof.positive
    print(f"{args.run_scores}: {len(positive)} labelled points ({positive.sum()} schistocytes, "
          f"{int(oof.missed[positive].sum())} in no object of the run): {path}")


def rescored(args: argparse.Namespace) -> None:
    """Write and print the out-of-fold point of the saved fold models under today's code."""
    try:
        models = [load_model(path) for path in args.rescore]
        oof = fold_model_scores(models, shared=args.shared, cache=args.cache, limit=args.limit)
    except (OSError, ValueError) as error:
        raise SystemExit(f"cross_validate.py: {error}") from None
    args.out.mkdir(parents=True, exist_ok=True)
    oof.save(args.out / "oof.npz")
    point = point_of(oof)
    (args.out / "operating_point.json").write_text(json.dumps(point, indent=2) + "\n")
    print_point(f"{len(models)} fold models, scored again", oof, point)


def save_folds(networks: dict, oof: OutOfFold, point: dict, args: argparse.Namespace,
               recipe: Recipe, fine_tunes: dict) -> None:
    """Write each fold's model to ``--save-folds`` with the fields it never saw."""
    for fold, network in sorted(networks.items()):
        fields = [str(f) for f in np.unique(oof.field[oof.fold == fold])]
        path = write_fold_model(network, out=args.save_folds / f"fold-{fold + 1}.pt", fold=fold,
                                fields=fields, point=point, seed=args.seed, epochs=args.epochs,
                                recipe=recipe, version=args.version,
                                fine_tune=fine_tunes.get(fold))
        print(f"fold model: {path}")


def _loaded(path: Path, option: str, parser: argparse.ArgumentParser) -> tuple:
    """:func:`~smearscan.network.load_network`, refused in one line naming the option."""
    try:
        return load_network(path)
    except ModelLoadError as error:
        parser.error(f"{option}: {error}")


def _fine_tuned(start: dict, args: argparse.Namespace) -> dict:
    """What a model file fine-tuned from a start with ``start``'s metadata records of it under
    ``training`` (its ``learning_rate`` replaces that of a fresh training)."""
    return {"fine_tuned_from": start["model_version"], "learning_rate": args.learning_rate}


def device_problem(name: str) -> str | None:
    """Why ``--device name`` cannot train here, or None."""
    try:
        device = torch.device(name)
    except RuntimeError:
        return "is not a torch device (cpu, cuda, cuda:1...)"
    if device.type == "cuda" and not torch.cuda.is_available():
        return "is not available on this machine (no CUDA device)"
    return None


def fine_tune_starts(args: argparse.Namespace, parser: argparse.ArgumentParser
                     ) -> tuple[dict, dict]:
    """The networks of ``--fine-tune`` (by fold) and ``--fine-tune-final`` (None), and what
    each model file records of its start; refused in one line when a fold's file is missing
    or held out other fields than that fold."""
    starts, fine_tunes = {}, {}
    if args.fine_tune:
        points = labelled_points(args.shared, cache=args.cache, limit=args.limit,
                                 progress=False)
        folds = group_folds(points, args.folds, seed=args.seed)
        fold_of = np.array([folds[str(g)] for g in points.group])
        for fold in range(args.folds):
            path = args.fine_tune / f"fold-{fold + 1}.pt"
            if not path.is_file():
                parser.error(f"--fine-tune: {path} is missing")
            network, metadata = _loaded(path, "--fine-tune", parser)
            held = set(metadata.get("training", {}).get("held_out_fields", []))
            if held != {str(f) for f in points.field[(fold_of == fold) & ~points.border]}:
                parser.error(f"--fine-tune: {path} held out other fields than fold {fold + 1} "
                             f"of this cross-validation (--folds {args.folds}, --seed "
                             f"{args.seed})")
            starts[fold], fine_tunes[fold] = network, _fine_tuned(metadata, args)
    if args.fine_tune_final:
        network, metadata = _loaded(args.fine_tune_final, "--fine-tune-final", parser)
        starts[None], fine_tunes[None] = network, _fine_tuned(metadata, args)
    return starts, fine_tunes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=shared_folder, default="../shared")
    parser.add_argument("--folds", type=int, default=FOLDS)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--final-seed", type=int,
                        help="with --final: the final network's seed (default --seed; the folds "
                        "and their operating point do not change)")
    parser.add_argument("--size-jitter", type=float, nargs=2, default=DEFAULT_RECIPE.size_jitter)
    parser.add_argument("--label-smoothing", type=float, default=DEFAULT_RECIPE.label_smoothing)
    parser.add_argument("--channel-gain", type=float, nargs=2,
                        default=DEFAULT_RECIPE.channel_gain, metavar=("LOW", "HIGH"),
                        help="range of the factor on each colour channel's density (stain hue)")
    parser.add_argument("--chula-channel-gain", type=float, nargs=2,
                        default=DEFAULT_RECIPE.chula_channel_gain, metavar=("LOW", "HIGH"),
                        help="the same range for Chula crops only (default: --channel-gain)")
    parser.add_argument("--mask-edge-jitter", type=float,
                        default=DEFAULT_RECIPE.mask_edge_jitter, metavar="PX",
                        help="move the object mask's edge in or out by up to PX crop pixels "
                             "(0-1)")
    parser.add_argument("--shift-consistency", type=float,
                        default=DEFAULT_RECIPE.shift_consistency, metavar="WEIGHT",
                        help="weight of the agreement asked between a crop's output and that "
                             "of the crop moved by up to --consistency-shift pixels (0: none)")
    parser.add_argument("--consistency-shift", type=float,
                        default=DEFAULT_RECIPE.consistency_shift, metavar="PX",
                        help="largest move of that second view, in crop pixels")
    parser.add_argument("--fine-tune", type=Path, metavar="FOLD_DIR",
                        help="start each fold's network from FOLD_DIR/fold-K.pt of an earlier "
                             "--save-folds run and train it further")
    parser.add_argument("--fine-tune-final", type=Path, metavar="MODEL",
                        help="with --final: start the final network from this model file")
    parser.add_argument("--learning-rate", type=float, default=LEARNING_RATE, metavar="LR",
                        help=f"peak learning rate (default {LEARNING_RATE:g}; lower to "
                             "fine-tune)")
    parser.add_argument("--device", default="cpu",
                        help="where the networks train, e.g. cuda (default cpu)")
    parser.add_argument("--workers", type=int, default=1,
                        help="folds trained at once (one thread each, shared crops)")
    parser.add_argument("--limit", type=int, help="smoke test: few fields, 2 batches per epoch")
    parser.add_argument("--cache", type=Path, help="crop cache (default ~/.cache/smearscan)")
    parser.add_argument("--out", type=Path, default=Path("results/cross_validation"))
    parser.add_argument("--final", type=Path, help="then train this model file on all folds")
    parser.add_argument("--save-folds", type=Path, metavar="DIR",
                        help="also write each fold's model (fold-K.pt/.onnx) for analyses on "
                             "the fields it never saw")
    parser.add_argument("--compare", type=Path, nargs="*", default=[])
    parser.add_argument("--paired", type=Path, nargs=2, metavar=("NEW.npz", "OLD.npz"),
                        help="ROC AUC of two score files on the points both scored, with a "
                             "group-bootstrap interval of the difference, then stop")
    parser.add_argument("--held-out-model", type=Path,
                        help="score this model (trained on the Chula train split) on the val "
                             "and test fields at its own threshold, then stop")
    parser.add_argument("--write", type=Path, metavar="MODEL",
                        help="with --held-out-model: write a copy of it carrying that point")
    parser.add_argument("--version", metavar="NAME",
                        help="model_version of the --final model (and NAME-fold-K of the "
                             "--save-folds models; default local-YYYYMMDD-HHMMSS, UTC) or of "
                             "the --write copy (default the --held-out-model's)")
    parser.add_argument("--rescore", type=Path, nargs="+", metavar="FOLD_MODEL",
                        help="score the out-of-fold points again with these --save-folds "
                             "models under today's segmentation and inference, then stop")
    parser.add_argument("--run-scores", type=Path, metavar="RUN",
                        help="write to --out the scores that a smearscan --save-masks --out RUN "
                             "analysis of the val and test fields gave their labelled points, "
                             "then stop")
    args = parser.parse_args()
    # Before the modes that stop early, which would leave them unused without a word (QA 148
    # L-5).
    if args.fine_tune_final and not args.final:
        parser.error("--fine-tune-final needs --final")
    if args.final_seed is not None and not args.final:
        parser.error("--final-seed needs --final")
    if missing := [str(path) for path in args.compare if not path.is_file()]:
        parser.error(f"--compare: no such file: {', '.join(missing)}")
    if args.version is not None and (problem := version_problem(args.version)):
        parser.error(f"--version {args.version!r} {problem}")
    if args.version is None and (args.final or args.save_folds):
        args.version = local_version(args.limit)  # one for the final model and its folds
    if args.held_out_model:
        held_out(args)
        return
    if args.run_scores:
        scores_of_run(args)
        return
    if args.rescore:
        rescored(args)
        return
    if args.paired:
        print_paired(*args.paired)
        return
    for path in args.compare:
        oof = OutOfFold.load(path)
        print_point(str(path), oof, point_of(oof))
    if args.compare:
        return
    try:
        recipe = Recipe(size_jitter=tuple(args.size_jitter),
                        label_smoothing=args.label_smoothing,
                        channel_gain=tuple(args.channel_gain),
                        chula_channel_gain=(tuple(args.chula_channel_gain)
                                            if args.chula_channel_gain else None),
                        mask_edge_jitter=args.mask_edge_jitter,
                        shift_consistency=args.shift_consistency,
                        consistency_shift=args.consistency_shift)
    except ValueError as error:
        parser.error(str(error))
    if problem := device_problem(args.device):
        parser.error(f"--device {args.device} {problem}")
    final_seed = args.seed if args.final_seed is None else args.final_seed
    if not 0 < args.learning_rate <= 1:
        parser.error(f"--learning-rate must lie in (0, 1], not {args.learning_rate:g}")
    starts, fine_tunes = fine_tune_starts(args, parser)
    start = time.monotonic()
    oof, network, fold_networks = cross_validate(shared=args.shared, k=args.folds,
                                                 epochs=args.epochs, seed=args.seed,
                                                 final_seed=final_seed, recipe=recipe,
                                                 cache=args.cache,
                                                 limit=args.limit, workers=args.workers,
                                                 final=args.final is not None,
                                                 device=args.device, start=starts,
                                                 learning_rate=args.learning_rate)
    args.out.mkdir(parents=True, exist_ok=True)
    oof.save(args.out / "oof.npz")
    point = point_of(oof)
    point["recipe"] = {"folds": args.folds, "epochs": args.epochs, "seed": args.seed,
                       **recipe.as_metadata(),
                       **({"fine_tuned_from": str(args.fine_tune),
                           "learning_rate": args.learning_rate} if args.fine_tune else {}),
                       "wall_time_s": round(time.monotonic() - start, 1)}
    (args.out / "operating_point.json").write_text(json.dumps(point, indent=2) + "\n")
    print_point(f"{args.folds}-fold, {args.epochs} epochs, size x{recipe.size_jitter[0]:g}-"
                f"{recipe.size_jitter[1]:g}, label smoothing {recipe.label_smoothing:g}, channel "
                f"x{recipe.channel_gain[0]:.3g}-{recipe.channel_gain[1]:.3g}"
                + (f" (Chula x{recipe.chula_channel_gain[0]:.3g}-"
                   f"{recipe.chula_channel_gain[1]:.3g})" if recipe.chula_channel_gain else "")
                + (f", mask edge +-{recipe.mask_edge_jitter:g} px" if recipe.mask_edge_jitter
                   else "")
                + (f", shift consistency {recipe.shift_consistency:g} over +-"
                   f"{recipe.consistency_shift:g} px" if recipe.shift_consistency else "")
                + (f", fine-tuned from {args.fine_tune} at learning rate {args.learning_rate:g}"
                   if args.fine_tune else ""),
                oof, point)
    if args.save_folds:
        save_folds(fold_networks, oof, point, args, recipe, fine_tunes)
    if args.final:
        data = all_chula_trains(labelled_crops(args.shared, cache=args.cache, limit=args.limit))
        write_model(network, data, out=args.final, seed=final_seed, epochs=args.epochs,
                    limit=args.limit, recipe=recipe, out_of_fold=point,
                    wall_time_s=time.monotonic() - start, version=args.version,
                    fine_tune=fine_tunes.get(None))
        print(f"\nmodel: {args.final}")


if __name__ == "__main__":
    main()
