"""``smearscan train``: fit the classifier, choose thresholds, write the model file."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from smearscan.classification import (
    CLASSES,
    CROP_SIZE,
    SYMMETRY_BAND,
    predict_probabilities,
)
from smearscan.classification.model import version_problem
from smearscan.network import DEFAULT_ARCHITECTURE, load_network
from smearscan.training.atomic import save_model_atomic
from smearscan.training.crops import CropSet, joined, labelled_crops, reviewed_crops
from smearscan.training.crossval import network_model
from smearscan.training.evaluation import _summary, classification_metrics
from smearscan.training.fit import (
    BATCH_SIZE,
    DEFAULT_RECIPE,
    EPOCHS,
    LEARNING_RATE,
    SAMPLING_POWER,
    WEIGHT_DECAY,
    Recipe,
    fit_network,
)
from smearscan.training.labels import ALL_CHULA
from smearscan.training.operating import operating_points, with_rule

#: The shipped model's version (``models/default.pt``). Only ``scripts/train_default.sh``, which
#: reproduces that model, writes it (``--version``); any other training gets its own
#: (:func:`local_version`), so that its results cannot pass for the shipped classifier's.
MODEL_VERSION = "cnn-2026.12-8"


def local_version(limit: int | None = None) -> str:
    """The version of a model trained here without one given: ``local-YYYYMMDD-HHMMSS`` (UTC,
    now), with ``-limitN`` for a smoke training on a few fields."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"local-{stamp}" + (f"-limit{limit}" if limit else "")


def train_model(*, shared: Path, out: Path, seed: int = 0, epochs: int = EPOCHS,
                limit: int | None = None, cache: Path | None = None,
                progress: bool = True, recipe: Recipe = DEFAULT_RECIPE,
                out_of_fold: dict[str, Any] | None = None,
                extra_labels: Path | None = None, version: str | None = None) -> Path:
    """Train the classifier, choose thresholds on val, measure test, write the model file.

    Without ``out_of_fold`` the network trains on the train split of every dataset and every
    threshold is chosen on val. With it (the schistocyte point of
    :func:`~smearscan.training.operating.out_of_fold_point`, from
    :func:`~smearscan.training.crossval.cross_validate` with the same recipe and epochs) the
    network trains on all of Chula, the schistocyte threshold and rates are the out-of-fold
    ones, and the other classes' thresholds and metrics come from the BCCD and PBC val and test
    splits only (Chula val and test are then training data).

    Parameters
    ----------
    shared : Path
        Folder holding ``datasets/`` (see :func:`labelled_crops`).
    out : Path
        Model file to write.
    seed : int, keyword-only
        Seeds sampling, augmentation and initial weights (splits are fixed, seed 0).
    epochs : int, keyword-only
        Passes of ``len(train) // BATCH_SIZE`` batches.
    limit : int or None, keyword-only
        Only about this many objects per label and split, and 2 batches per epoch (smoke test).
    cache : Path or None, keyword-only
        Crop cache folder (default ``~/.cache/smearscan``).
    progress : bool, keyword-only
        Report progress on stderr.
    recipe : Recipe, keyword-only
        Size jitter and loss (:class:`~smearscan.training.fit.Recipe`).
    out_of_fold : dict or None, keyword-only
        See above.
    extra_labels : Path or None, keyword-only
        A ``corrections.csv`` (``smearscan export-corrections``): its reviewed cells join the
        training split only, so that validation and test stay the public datasets' held-out
        fields.
    version : str or None, keyword-only
        ``model_version`` recorded in the file (default :func:`local_version`); the shipped
        model's, :data:`MODEL_VERSION`, only to reproduce it.

    Returns
    -------
    Path
        ``out``.
    """
    _check_version(version)
    torch.set_num_threads(min(torch.get_num_threads(), 2))
    start = time.monotonic()
    # A bad corrections file fails before the minutes of crop extraction.
    extra = reviewed_crops(extra_labels) if extra_labels is not None else None
    data = labelled_crops(shared, cache=cache, limit=limit, progress=progress)
    if extra is not None:
        data = joined(data, extra)
    if out_of_fold is not None:
        data = all_chula_trains(data)
    network = fit_network(data, epochs=epochs, seed=seed, progress=progress,
                          steps_per_epoch=2 if limit else None, recipe=recipe,
                          rows=np.flatnonzero(data.split == "train"))
    return write_model(network, data, out=out, seed=seed, epochs=epochs, limit=limit,
                       recipe=recipe, out_of_fold=out_of_fold, extra_labels=extra_labels,
                       wall_time_s=time.monotonic() - start, version=version)


def all_chula_trains(data: CropSet) -> CropSet:
    """``data`` with every Chula crop in the train split (the final model of a
    cross-validation; BCCD and PBC keep their splits)."""
    return CropSet(**{**vars(data), "split": np.where(data.dataset == "chula", "train",
                                                      data.split)})


def write_model(network: torch.nn.Module, data: CropSet, *, out: Path, seed: int, epochs: int,
                limit: int | None, recipe: Recipe, out_of_fold: dict[str, Any] | None,
                wall_time_s: float, extra_labels: Path | None = None,
                version: str | None = None, fine_tune: dict[str, Any] | None = None) -> Path:
    """Choose the thresholds on ``data``'s val split (the schistocyte one from ``out_of_fold``
    when given), measure val and test, and write the model file of a fitted network.

    ``data`` is what the network trained on (its ``train`` split) and was measured on; the
    other arguments are recorded in the file (see :func:`train_model`; ``version`` defaults to
    :func:`local_version`; ``fine_tune``: for a fine-tuned network, the ``training`` entries
    ``fine_tuned_from`` (the start's version) and ``learning_rate`` (its peak, which replaces
    a fresh training's).
    """
    version = _check_version(version) or local_version(limit)
    model = network_model(network)
    results = {}
    for split in ("val", "test"):
        part = data.subset(data.split == split)
        results[split] = (part, *predict_probabilities(model, part.centre(CROP_SIZE)))
    points = operating_points(results["val"][1], results["val"][0])
    if out_of_fold is not None:
        points["schistocyte"] = with_rule(out_of_fold, "schistocyte")
    thresholds = {name: point["threshold"] for name, point in points.items()}
    summaries = {split: _summary(classification_metrics(probs, shapes, part, thresholds))
                 for split, (part, probs, shapes) in results.items()}
    counts = {split: {f"{d}/{CLASSES[c]}": int(n) for (d, c), n in Counter(
        zip(data.dataset[data.split == split], data.label[data.split == split],
            strict=True)).items()} for split in ("train", "val", "test")}
    metadata = {
        "model_version": version,
        "architecture": _architecture(),
        "operating_points": points,
        "inference": {"symmetry_band": list(SYMMETRY_BAND)},
        "training": {"seed": seed, "epochs": epochs, "batch_size": BATCH_SIZE,
                     "learning_rate": LEARNING_RATE, "weight_decay": WEIGHT_DECAY,
                     "sampling_power": SAMPLING_POWER, "limit": limit,
                     **recipe.as_metadata(), **(fine_tune or {}),
                     "data": "chula-rbc-12, bccd, pbc; split_fields seed 0 (0.7/0.15/0.15)"
                     if out_of_fold is None else f"{ALL_CHULA}; bccd and pbc train split "
                     "(split_fields seed 0, 0.7/0.15/0.15)",
                     "extra_labels": str(extra_labels) if extra_labels else None,
                     "objects": counts, "wall_time_s": round(wall_time_s, 1)},
        "val_metrics": summaries["val"],
        "test_metrics": summaries["test"],
    }
    return save_model_atomic(out, network, metadata)


def write_fold_model(network: torch.nn.Module, *, out: Path, fold: int, fields: list[str],
                     point: dict[str, Any], seed: int, epochs: int, recipe: Recipe,
                     version: str | None = None, fine_tune: dict[str, Any] | None = None
                     ) -> Path:
    """Write one fold's network of a cross-validation, for analyses on the fields it never saw.

    It carries the pooled out-of-fold schistocyte point (the threshold the shipped model uses)
    and, under ``training``, the fold and its held-out Chula fields; it has no NRBC or
    immature-granulocyte threshold (none was chosen for it), so it is not a model to ship.
    Its version is ``{version}-fold-{K}`` (``version`` defaults to :func:`local_version`);
    ``fine_tune`` as for :func:`write_model`.
    """
    version = _check_version(version) or local_version()
    metadata = {
        "model_version": f"{version}-fold-{fold + 1}",
        "architecture": _architecture(),
        "operating_points": {"schistocyte": with_rule(point, "schistocyte")},
        "inference": {"symmetry_band": list(SYMMETRY_BAND)},
        "training": {"seed": seed, "epochs": epochs, "fold": fold + 1,
                     "held_out_fields": sorted(fields), **recipe.as_metadata(),
                     **(fine_tune or {})},
    }
    return save_model_atomic(out, network, metadata)


def _architecture() -> dict[str, Any]:
    """:data:`DEFAULT_ARCHITECTURE` as plain data (lists, not tuples) for a model file."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in DEFAULT_ARCHITECTURE.items()}


def with_operating_point(model: Path, point: dict[str, Any], *, out: Path, version: str,
                         target: str = "schistocyte") -> Path:
    """Copy a ``.pt`` model file (and its ONNX export) with a new operating point of class
    ``target`` and a new version, weights unchanged; the point keeps its rule, and
    ``weights_of`` names the version whose weights it was measured with.

    For a model trained on the Chula train split whose end-to-end point was measured on the val
    and test fields it never saw (:func:`~smearscan.training.crossval.held_out_scores`), for
    the point of whole fields (``scripts/whole_field_point.py``) and for the NRBC false calls
    by source (``scripts/nrbc_false_calls.py``).
    """
    network, metadata = load_network(Path(model))
    rule = metadata["operating_points"][target]
    metadata["operating_points"][target] = {
        **point, "rule": rule["rule"], "min_threshold": rule["min_threshold"],
        "weights_of": rule.get("weights_of", metadata["model_version"])}
    metadata["model_version"] = version
    return save_model_atomic(out, network, metadata)


def _check_version(version: str | None) -> str | None:
    """``version`` unchanged; a ValueError naming it when it cannot be a model version."""
    problem = None if version is None else version_problem(version)
    if problem is not None:
        raise ValueError(f"model version {version!r} {problem}")
    return version
