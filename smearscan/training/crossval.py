"""K-fold cross-validation over the Chula overlap groups, scored end to end.

Every labelled Chula field falls in one of ``k`` folds, whole overlap groups
(``duplicate_fields.txt`` and ``overlapping_fields.txt``) on one side, stratified so that each
fold holds about as many labelled schistocytes. The model of fold ``f`` trains on the Chula
crops of the other folds plus the BCCD and PBC train splits, and scores the labelled points of
fold ``f`` as a slide would: the point takes the schistocyte probability of the segmented object
under it (:class:`~smearscan.training.crops.PointSet`), a point in no object (a segmentation
miss) scores 0, and a point on an object cut by the field edge is left out (never counted).
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from smearscan.batch.naming import field_stems
from smearscan.classification import (
    CLASSES,
    CROP_SCALE_UM,
    CROP_SIZE,
    MORPHOLOGY_CLASSES,
    SYMMETRY_BAND,
    CellClassifier,
    predict_probabilities,
)
from smearscan.datasets import chula_fields, split_fields
from smearscan.metrics import labels_at_points
from smearscan.network import TorchNetwork
from smearscan.outputs import read_csv_rows
from smearscan.training.crops import CropSet, PointSet, labelled_crops, labelled_points
from smearscan.training.fit import DEFAULT_RECIPE, LEARNING_RATE, Recipe, fit_network
from smearscan.training.operating import OutOfFold, rank_in_field

FOLDS = 5


def group_folds(points: PointSet, k: int = FOLDS, *, seed: int = 0) -> dict[str, int]:
    """Fold of each overlap group, stratified by labelled schistocytes
    (``sklearn.model_selection.StratifiedGroupKFold``)."""
    from sklearn.model_selection import StratifiedGroupKFold

    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    folds = {}
    positive = points.name == "schistocyte"
    for fold, (_, held) in enumerate(splitter.split(positive, positive, points.group)):
        folds.update({str(g): fold for g in np.unique(points.group[held])})
    return folds


def training_rows(data: CropSet, folds: dict[str, int], held_out: int | None) -> np.ndarray:
    """Rows a fold's model trains on: Chula crops outside fold ``held_out`` (all Chula for
    None) and the BCCD and PBC train splits."""
    chula = data.dataset == "chula"
    # A field without labelled points has no fold: it is never scored, so it always trains.
    fold = np.array([folds.get(str(g), -1) for g in data.group], dtype=int)
    held = fold == held_out if held_out is not None else np.zeros(len(fold), dtype=bool)
    return (chula & ~held) | (~chula & (data.split == "train"))


def network_model(network: torch.nn.Module) -> CellClassifier:
    """An in-memory classifier of a freshly fitted network (thresholds unset)."""
    return CellClassifier(TorchNetwork(network), CLASSES, MORPHOLOGY_CLASSES, CROP_SIZE,
                          CROP_SCALE_UM, {}, SYMMETRY_BAND, {})


def end_to_end_scores(model: CellClassifier, points: PointSet) -> np.ndarray:
    """Schistocyte probability of each point's object as the pipeline computes it; 0 when the
    point lies in no object."""
    probabilities, _ = predict_probabilities(model, points.crops.astype(np.float32),
                                             batch_size=256)
    objects = probabilities[:, CLASSES.index("schistocyte")]
    return np.where(points.object >= 0, objects[np.maximum(points.object, 0)], 0.0)


def cross_validate(*, shared: Path, k: int = FOLDS, epochs: int, seed: int = 0,
                   final_seed: int | None = None, recipe: Recipe = DEFAULT_RECIPE,
                   cache: Path | None = None,
                   limit: int | None = None, progress: bool = True, workers: int = 1,
                   final: bool = False, device: str = "cpu",
                   start: dict[int | None, torch.nn.Module] | None = None,
                   learning_rate: float = LEARNING_RATE
                   ) -> tuple[OutOfFold, torch.nn.Module | None, dict[int, torch.nn.Module]]:
    """Out-of-fold end-to-end schistocyte scores of ``k`` models trained with ``recipe``.

    Parameters
    ----------
    shared : Path
        Folder holding ``datasets/``.
    k : int, keyword-only
        Folds.
    epochs, seed, recipe : keyword-only
        As for :func:`~smearscan.training.fit.fit_network` (every fold uses ``seed``, which also
        draws the folds).
    final_seed : int or None, keyword-only
        The final network's seed (default ``seed``): another draw of the same recipe, the folds
        and their operating point unchanged.
    cache, limit, progress : keyword-only
        As for :func:`~smearscan.training.crops.labelled_crops`; with ``limit`` 2 batches per
        epoch (smoke test).
    workers : int, keyword-only
        Folds trained at once, one thread each, in forked processes that share the crops.
    final : bool, keyword-only
        Also train, alongside the folds, the network of the model to ship: the same recipe
        on every Chula field and the BCCD and PBC train splits.
    device : str, keyword-only
        Where the networks train (``"cuda"``: every worker shares the one GPU); they score on
        the CPU.
    start : dict or None, keyword-only
        The network each fold (and None: the final network) starts from, fine-tuned at the
        peak ``learning_rate`` (:func:`~smearscan.training.fit.fit_network`); the folds must
        be those the networks were trained for (``scripts/cross_validate.py --fine-tune``
        checks their held-out fields).

    Returns
    -------
    OutOfFold, the final network (None unless ``final``), and each fold's network by fold
    (0-based): the models that scored the out-of-fold points, for analyses that need a model
    that never saw a field (invariance, other inference settings).
    """
    global _FOLD_JOB
    data = labelled_crops(shared, cache=cache, limit=limit, progress=progress)
    points = labelled_points(shared, cache=cache, limit=limit, progress=progress)
    folds = group_folds(points, k, seed=seed)
    points = points.subset(~points.border)
    point_fold = np.array([folds[str(g)] for g in points.group])
    _FOLD_JOB = _FoldJob(data, points, folds, point_fold, epochs, seed,
                         seed if final_seed is None else final_seed, recipe,
                         2 if limit else None, device, start or {}, learning_rate)
    began = time.monotonic()
    jobs = list(range(k)) + ([None] if final else [])
    if workers > 1:
        context = multiprocessing.get_context("fork")
        with context.Pool(min(workers, len(jobs))) as pool:
            results = pool.imap_unordered(_fold_scores, jobs)
            score, network, fold_networks = _gathered(results, point_fold, progress, began)
    else:
        torch.set_num_threads(min(torch.get_num_threads(), 2))
        score, network, fold_networks = _gathered(map(_fold_scores, jobs), point_fold,
                                                  progress, began)
    _FOLD_JOB = None
    return OutOfFold(score, points.name == "schistocyte", points.object < 0, point_fold,
                     points.group, points.field), network, fold_networks


@dataclass(frozen=True)
class _FoldJob:
    """What every fold's :func:`_fold_scores` works on (the arguments of
    :func:`cross_validate`, ``steps`` per epoch None for all)."""

    data: CropSet
    points: PointSet
    folds: dict[str, int]
    point_fold: np.ndarray
    epochs: int
    seed: int
    final_seed: int
    recipe: Recipe
    steps: int | None
    device: str
    start: dict[int | None, torch.nn.Module]
    learning_rate: float


#: What :func:`_fold_scores` works on, set by :func:`cross_validate` before forking so that the
#: workers share the crops instead of receiving copies.
_FOLD_JOB: _FoldJob | None = None


def _fold_scores(fold: int | None
                 ) -> tuple[int | None, tuple[np.ndarray | None, torch.nn.Module]]:
    """Train fold ``fold``'s model and score its held-out points; for None the final network
    (worker). Returns the fold and (its scores, its network)."""
    job = _FOLD_JOB
    if multiprocessing.parent_process() is not None:
        torch.set_num_threads(1)
    seed = job.final_seed if fold is None else job.seed
    network = fit_network(job.data, epochs=job.epochs, seed=seed, progress=False,
                          recipe=job.recipe, steps_per_epoch=job.steps, device=job.device,
                          start=job.start.get(fold), learning_rate=job.learning_rate,
                          rows=np.flatnonzero(training_rows(job.data, job.folds, fold)))
    if fold is None:
        return None, (None, network)
    held = job.points.subset(job.point_fold == fold)
    return fold, (end_to_end_scores(network_model(network), held), network)


def _gathered(results, point_fold: np.ndarray, progress: bool, start: float
              ) -> tuple[np.ndarray, torch.nn.Module | None, dict[int, torch.nn.Module]]:
    """The scores of all folds, the final network and the fold networks from
    ``(fold, (scores, network))`` pairs."""
    score, final, networks = np.zeros(len(point_fold)), None, {}
    for fold, (scores, network) in results:
        if fold is None:
            final = network
        else:
            score[point_fold == fold] = scores
            networks[fold] = network
        if progress:
            done = "final network" if fold is None else f"fold {fold + 1}: {len(scores)} points"
            print(f"{done}, {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
    return score, final, networks


def fold_model_scores(models: list[CellClassifier], *, shared: Path,
                      cache: Path | None = None, limit: int | None = None) -> OutOfFold:
    """Out-of-fold end-to-end scores measured again with the saved fold models of a
    cross-validation (``--save-folds``), under today's segmentation and inference.

    Each counted labelled point is scored by the model whose held-out fields
    (``training.held_out_fields`` in its file) hold it, so a change of segmentation or inference
    gets its out-of-fold figures without retraining.

    Raises
    ------
    ValueError
        A field with counted points that no model held out (models of another run or data).
    """
    points = labelled_points(shared, cache=cache, limit=limit, progress=False)
    points = points.subset(~points.border)
    fold = np.full(len(points.field), -1)
    for model in models:
        training = model.metadata["training"]
        fold[np.isin(points.field, training["held_out_fields"])] = training["fold"] - 1
    if (fold < 0).any():
        unheld = np.unique(points.field[fold < 0])
        raise ValueError(f"{len(unheld)} labelled fields (e.g. {unheld[0]}) are held out by no "
                         "fold model")
    score = np.zeros(len(fold))
    for model in models:
        rows = fold == model.metadata["training"]["fold"] - 1
        score[rows] = end_to_end_scores(model, points.subset(rows))
    return OutOfFold(score, points.name == "schistocyte", points.object < 0, fold, points.group,
                     points.field)


def held_out_points(shared: Path, *, cache: Path | None = None, limit: int | None = None
                    ) -> tuple[PointSet, np.ndarray, np.ndarray]:
    """The counted labelled points of the Chula val and test fields (the points of
    :func:`held_out_scores`), their fold (val 0, test 1) and their line in their field's label
    file."""
    points = labelled_points(shared, cache=cache, limit=limit, progress=False)
    line = rank_in_field(points.field)
    split_of = {field.group: split for split, fields in split_fields(
        chula_fields(Path(shared) / "datasets" / "chula-rbc-12")).items() for field in fields}
    split = np.array([split_of[str(g)] for g in points.group])
    keep = ~points.border & (split != "train")
    return points.subset(keep), (split[keep] == "test").astype(int), line[keep]


def held_out_scores(model: CellClassifier, *, shared: Path, cache: Path | None = None,
                    limit: int | None = None) -> OutOfFold:
    """End-to-end scores of a model trained on the Chula train split (``smearscan train``) on
    the labelled points of the val (fold 0) and test (fold 1) fields it never saw."""
    points, fold, _ = held_out_points(shared, cache=cache, limit=limit)
    score = end_to_end_scores(model, points)
    return OutOfFold(score, points.name == "schistocyte", points.object < 0, fold, points.group,
                     points.field)


def run_scores(run: Path, *, shared: Path, cache: Path | None = None,
               limit: int | None = None) -> OutOfFold:
    """End-to-end scores that a ``smearscan --save-masks --out RUN`` analysis of the Chula val
    and test fields gave the points of :func:`held_out_scores`.

    Each point takes the ``p_schistocyte`` of the run's object under it (``RUN/cells.csv``,
    ``RUN/masks``), 0 when it lies in none. The run may come from any version of smearscan
    (another segmentation, another model), so that whole pipelines are compared on the same
    points.

    Raises
    ------
    ValueError
        A val or test field is not in the run.
    """
    points, fold, line = held_out_points(shared, cache=cache, limit=limit)
    fields = {f.image.name: f for f in chula_fields(Path(shared) / "datasets" / "chula-rbc-12")}
    analysed = _run_fields(Path(run))
    score = np.zeros(len(line))
    missed = np.zeros(len(line), dtype=bool)
    for name in np.unique(points.field):
        if name not in analysed:
            raise ValueError(f"{run}: field {name} was not analysed (or has no mask)")
        mask, probability = analysed[name]
        rows = points.field == name
        xy = np.array([(x, y) for x, y, _ in fields[name].points], dtype=float)[line[rows]]
        labels = cv2.imread(str(mask), cv2.IMREAD_UNCHANGED)
        if labels is None:
            raise ValueError(f"{mask}: missing or unreadable mask")
        under = labels_at_points(labels, xy)
        score[rows] = probability[under]
        missed[rows] = under == 0
    return OutOfFold(score, points.name == "schistocyte", missed, fold, points.group,
                     points.field)


def _run_fields(run: Path) -> dict[str, tuple[Path, np.ndarray]]:
    """Image name -> (its mask in ``run``, ``p_schistocyte`` by cell id, 0 for background)."""
    by_slide: dict[str, dict[str, dict[int, float]]] = {}
    for row in read_csv_rows(run / "cells.csv"):
        cells = by_slide.setdefault(row["slide"], {}).setdefault(row["image"], {})
        cells[int(row["cell_id"])] = float(row["p_schistocyte"])
    fields = {}
    for slide, images in by_slide.items():
        for image, stem in zip(images, field_stems(list(images)), strict=True):
            probability = np.zeros(max(images[image]) + 1)
            probability[list(images[image])] = list(images[image].values())
            fields[Path(image).name] = (run / "masks" / slide / f"{stem}.png", probability)
    return fields
