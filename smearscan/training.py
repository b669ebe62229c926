"""Training and evaluation of the cell classifier on the public datasets.

Crops of the labelled objects of Chula RBC-12, BCCD and PBC are cut around the *segmented*
objects (as the pipeline sees them) and cached; a :class:`~smearscan.network.CellNet`
is trained on the train split with augmentations; the operating threshold of each target class
is chosen on the val split; test metrics are reported and never used for a choice.

Label mapping (the dataset's own label -> :data:`~smearscan.classification.CLASSES`):

- Chula: ``schistocyte`` -> schistocyte; every other shape (incl. ``uncategorised``) -> rbc.
  The shapes other than schistocyte and uncategorised also train the morphology head.
  Unlabelled cells are unknown, not negatives, and are not used.
- BCCD: ``RBC`` -> rbc, ``WBC`` -> wbc, ``Platelets`` -> platelet.
- PBC: ``erythroblast`` -> nrbc, ``ig`` -> immature_granulocyte, the mature leukocytes -> wbc,
  ``platelet`` -> platelet. The sub-class is kept (``source``) for per-subclass error rates.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.transforms.functional import gaussian_blur

from smearscan import classification, segmentation
from smearscan.classification import (
    CLASSES,
    CROP_SCALE_UM,
    CROP_SIZE,
    MORPHOLOGY_CLASSES,
    SYMMETRY_BAND,
    call_labels,
    cell_crops,
    field_density,
    load_model,
    predict_probabilities,
)
from smearscan.datasets import (
    LabeledField,
    bccd_fields,
    chula_fields,
    pbc_fields,
    split_fields,
)
from smearscan.executor import LocalPool, in_task_order
from smearscan.features import cell_table
from smearscan.loading import read_field
from smearscan.metrics import rates_at_threshold, sensitivity_at_specificity
from smearscan.metrics import threshold_at_false_positive_rate as _threshold_at
from smearscan.network import DEFAULT_ARCHITECTURE, TorchNetwork, build_network, save_model
from smearscan.segmentation import NORMAL_RBC_DIAMETER_UM, segment_field

MODEL_VERSION = "cnn-2026.11-7"
#: Extra crop pixels on each side kept for rotations and scale jitter during training.
MARGIN = 8
CACHE_VERSION = 2
EPOCHS = 40
BATCH_SIZE = 128
LEARNING_RATE = 3e-3
WEIGHT_DECAY = 1e-4
MORPHOLOGY_LOSS_WEIGHT = 0.5
#: Sampling weight of a label group is count**-SAMPLING_POWER (0 natural, 1 balanced).
SAMPLING_POWER = 0.5
SPECIFICITIES = (0.99, 0.995, 0.998)
#: The schistocyte target (specificity, sensitivity) of issue 4, marked on its ROC plot: at 1%
#: prevalence a false-call rate above ~0.2% of red cells would swamp the true count.
SCHISTOCYTE_TARGET = (0.998, 0.90)
#: Morphometric columns of the baseline.
FEATURES = ("area_um2", "diameter_um", "circularity", "eccentricity", "solidity", "mean_r",
            "mean_g", "mean_b")

PBC_LEUKOCYTES = ("lymphocyte", "neutrophil", "monocyte", "eosinophil", "basophil", "ig")
_CLASS_OF = {
    "bccd": {"RBC": "rbc", "WBC": "wbc", "Platelets": "platelet"},
    "pbc": {"erythroblast": "nrbc", "ig": "immature_granulocyte", "lymphocyte": "wbc",
            "neutrophil": "wbc", "monocyte": "wbc", "eosinophil": "wbc", "basophil": "wbc",
            "platelet": "platelet"},
}
_READERS = {"chula": (chula_fields, "chula-rbc-12"), "bccd": (bccd_fields, "bccd"),
            "pbc": (pbc_fields, "pbc")}


#: Source name of the Chula platelets found by :func:`mined_platelets` (weak labels).
MINED_PLATELET = "mined_platelet"
#: An unlabelled, whole Chula object is a platelet when it is smaller than this (um; platelets
#: are 2-3 um, intact red cells ~7.5 um) and its stain is the granules' azure, not haemoglobin:
#: either at least _PLATELET_MIN_PURPLE of its pixels absorb more red than green light, or its
#: mean blue optical density is under _PLATELET_MAX_BLUE_GREEN of its green (haemoglobin also
#: absorbs blue). Measured on 150 Chula train fields: labelled schistocytes have blue/green
#: >= 0.52 (5th percentile; 0 of 221 under 0.45, none purple), other labelled red cells 0.1%
#: under 0.45; of the small unlabelled objects 40% are under 0.45 and 10% purple. The purple
#: rule alone (cnn-2026.11-2 to -6) left most platelets to be called fragments on whole fields.
_PLATELET_MAX_DIAMETER_UM = 4.0
_PLATELET_MIN_PURPLE = 0.3
_PLATELET_MAX_BLUE_GREEN = 0.45


#: Dataset name of the cells a technologist reviewed (``smearscan train --extra-labels``):
#: their label is already one of CLASSES.
REVIEWED = "review"


def class_of(dataset: str, name: str) -> str:
    """Main class of a dataset label (see the module docstring)."""
    if name == MINED_PLATELET:
        return "platelet"
    if dataset == REVIEWED:
        return name
    if dataset == "chula":
        return "schistocyte" if name == "schistocyte" else "rbc"
    return _CLASS_OF[dataset][name]


def morphology_of(dataset: str, name: str) -> int:
    """Index in MORPHOLOGY_CLASSES of a Chula shape, -1 when it does not train that head."""
    return MORPHOLOGY_CLASSES.index(name) if dataset == "chula" and name in MORPHOLOGY_CLASSES \
        else -1


# ----------------------------------------------------------------------------- crops


@dataclass(frozen=True)
class CropSet:
    """Labelled crops, one row per labelled segmented object.

    Attributes
    ----------
    crops : (N, 4, S + 2 MARGIN, S + 2 MARGIN) float16 ndarray
        :func:`~smearscan.classification.cell_crops` with a margin for augmentation.
    label : (N,) int64 ndarray
        Index in CLASSES.
    morphology : (N,) int64 ndarray
        Index in MORPHOLOGY_CLASSES, -1 when not a morphology training example.
    source : (N,) str ndarray
        The dataset's own label (``schistocyte``, ``WBC``, ``neutrophil``...).
    dataset : (N,) str ndarray
        ``chula``, ``bccd`` or ``pbc``.
    split : (N,) str ndarray
        ``train``, ``val`` or ``test``.
    features : (N, len(FEATURES)) float32 ndarray
        Morphometrics of the object (:func:`smearscan.features.cell_table`).
    """

    crops: np.ndarray
    label: np.ndarray
    morphology: np.ndarray
    source: np.ndarray
    dataset: np.ndarray
    split: np.ndarray
    features: np.ndarray

    def subset(self, keep: np.ndarray) -> CropSet:
        """The rows where ``keep`` is True (or at the given indices)."""
        return CropSet(*(getattr(self, name)[keep] for name in self.__dataclass_fields__))

    def centre(self, size: int) -> np.ndarray:
        """The central ``size`` x ``size`` crops as float32 (what inference sees)."""
        start = (self.crops.shape[-1] - size) // 2
        return self.crops[:, :, start:start + size, start:start + size].astype(np.float32)


def objects_at_points(labels: np.ndarray, table: dict[str, np.ndarray], xy: np.ndarray, *,
                      max_distance_px: float) -> np.ndarray:
    """Row in ``table`` of the object holding each point, else of the nearest centroid.

    Parameters
    ----------
    labels : (H, W) int ndarray
    table : dict with ``cell_id``, ``x``, ``y`` columns
    xy : (P, 2) float ndarray
        Points (x, y) in pixels.
    max_distance_px : float
        A point outside every object takes the nearest centroid within this distance.

    Returns
    -------
    (P,) int ndarray
        Row index, -1 when no object is close enough.
    """
    rows = np.full(len(xy), -1, dtype=np.int64)
    if len(table["cell_id"]) == 0:
        return rows
    row_of = np.full(int(labels.max()) + 1, -1, dtype=np.int64)
    row_of[table["cell_id"]] = np.arange(len(table["cell_id"]))
    col = np.clip(np.rint(xy[:, 0]).astype(int), 0, labels.shape[1] - 1)
    row = np.clip(np.rint(xy[:, 1]).astype(int), 0, labels.shape[0] - 1)
    rows[:] = row_of[labels[row, col]]
    distance = np.hypot(xy[:, None, 0] - table["x"][None], xy[:, None, 1] - table["y"][None])
    nearest = np.argmin(distance, axis=1)
    close = distance[np.arange(len(xy)), nearest] <= max_distance_px
    outside = rows < 0
    rows[outside & close] = nearest[outside & close]
    return rows


def _labelled_objects(field: LabeledField, dataset: str, labels: np.ndarray,
                      table: dict[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """Rows of the labelled objects and their labels; objects with conflicting classes drop."""
    xy = np.array([(x, y) for x, y, _ in field.points], dtype=float).reshape(-1, 2)
    names = [name for _, _, name in field.points]
    # PBC: the centred cell is the object nearest the crop centre, however large it is.
    max_distance = math.inf if dataset == "pbc" else \
        0.5 * NORMAL_RBC_DIAMETER_UM / field.pixel_size_um
    rows = objects_at_points(labels, table, xy, max_distance_px=max_distance)
    named: dict[int, str] = {}
    conflicting = set()
    for row, name in zip(rows, names, strict=True):
        if row < 0:
            continue
        if row in named and class_of(dataset, named[row]) != class_of(dataset, name):
            conflicting.add(row)
        named.setdefault(int(row), name)
    kept = [row for row in named if row not in conflicting]
    return np.array(kept, dtype=np.int64), [named[row] for row in kept]


def purple_fraction(density: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per object, the fraction of its pixels whose red optical density exceeds the green.

    ``density`` is the field's :func:`~smearscan.classification.field_density`.
    """
    return _object_means(labels, (density[..., 0] > density[..., 1]).astype(np.float64))


def blue_green_ratio(density: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per object, its mean blue optical density over its mean green optical density."""
    green = _object_means(labels, density[..., 1])
    return _object_means(labels, density[..., 2]) / np.maximum(green, 1e-6)


def _object_means(labels: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mean of ``values`` over each object 1..N."""
    count = int(labels.max(initial=0))
    size = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    total = np.bincount(labels.ravel(), values.ravel().astype(np.float64), minlength=count + 1)
    return total[1:] / np.maximum(size, 1)


def mined_platelets(rgb: np.ndarray, labels: np.ndarray, table: dict[str, np.ndarray],
                    labelled_rows: np.ndarray) -> np.ndarray:
    """Rows of unlabelled, whole, small, azure-stained objects: the platelets Chula never labels.

    Chula labels red cells only, so without these the classifier never sees a platelet stained
    and photographed as in Chula and calls them fragments.
    """
    objects = table["cell_id"] - 1
    density = field_density(rgb)
    azure = (purple_fraction(density, labels)[objects] >= _PLATELET_MIN_PURPLE) | \
        (blue_green_ratio(density, labels)[objects] < _PLATELET_MAX_BLUE_GREEN)
    candidate = (table["diameter_um"] < _PLATELET_MAX_DIAMETER_UM) & ~table["border"] & azure
    candidate[labelled_rows] = False
    return np.flatnonzero(candidate)


def field_samples(job: tuple[LabeledField, str, str]) -> dict[str, np.ndarray]:
    """Segment one field and cut the crops of its labelled objects (worker of a pool)."""
    field, dataset, split = job
    rgb = read_field(field.image)
    labels = segment_field(rgb, pixel_size_um=field.pixel_size_um).labels
    table = cell_table(labels, rgb, pixel_size_um=field.pixel_size_um)
    rows, names = _labelled_objects(field, dataset, labels, table)
    if dataset == "chula":
        mined = mined_platelets(rgb, labels, table, rows)
        rows = np.concatenate([rows, mined])
        names = names + [MINED_PLATELET] * len(mined)
    cells = {key: table[key][rows] for key in ("cell_id", "x", "y")}
    crops = cell_crops(rgb, labels, cells, pixel_size_um=field.pixel_size_um,
                       size=CROP_SIZE + 2 * MARGIN, scale_um=CROP_SCALE_UM)
    return {
        "crops": crops.astype(np.float16),
        "label": np.array([CLASSES.index(class_of(dataset, n)) for n in names], np.int64),
        "morphology": np.array([morphology_of(dataset, n) for n in names], np.int64),
        "source": np.array(names, dtype="U16"),
        "dataset": np.full(len(names), dataset, dtype="U8"),
        "split": np.full(len(names), split, dtype="U8"),
        "features": np.stack([table[c][rows] for c in FEATURES], axis=1).astype(np.float32)
        if len(rows) else np.zeros((0, len(FEATURES)), np.float32),
    }


def _limited(fields: list[LabeledField], dataset: str, limit: int) -> list[LabeledField]:
    """The first fields that bring each label of a split up to ``limit`` points."""
    counts: Counter[str] = Counter()
    kept = []
    for field in fields:
        names = [name for _, _, name in field.points]
        if any(counts[name] < limit for name in names):
            kept.append(field)
            counts.update(names)
    return kept


def field_jobs(datasets: Path, *, limit: int | None = None) -> list[tuple[LabeledField, str, str]]:
    """(field, dataset, split) for every field of the three datasets, splits by overlap group.

    Each dataset is split with :func:`~smearscan.datasets.split_fields` (seed 0); with
    ``limit`` only enough fields for about ``limit`` labelled objects per label and split.
    """
    jobs = []
    for dataset, (reader, folder) in _READERS.items():
        for split, fields in split_fields(reader(datasets / folder)).items():
            chosen = _limited(fields, dataset, limit) if limit else fields
            jobs.extend((field, dataset, split) for field in chosen)
    return jobs


def _cache_key(limit: int | None) -> str:
    """Changes whenever the segmentation, the crop code, the crop geometry or the platelet rule
    changes."""
    digest = hashlib.sha1(Path(segmentation.__file__).read_bytes())
    for function in (classification.field_density, classification._window,
                     classification.cell_crops, field_samples, mined_platelets,
                     purple_fraction, blue_green_ratio):
        digest.update(inspect.getsource(function).encode())
    digest.update(f"{CACHE_VERSION}-{CROP_SIZE}-{CROP_SCALE_UM}-{MARGIN}-{limit}-"
                  f"{_PLATELET_MAX_DIAMETER_UM}-{_PLATELET_MIN_PURPLE}-"
                  f"{_PLATELET_MAX_BLUE_GREEN}".encode())
    return digest.hexdigest()[:12]


def default_cache() -> Path:
    """``~/.cache/smearscan``: extracted crops, outside the repository."""
    return Path.home() / ".cache" / "smearscan"


def labelled_crops(shared: Path, *, cache: Path | None = None, limit: int | None = None,
                   progress: bool = True, workers: int = 2) -> CropSet:
    """Crops of all labelled objects of the three datasets, from the cache when present.

    Parameters
    ----------
    shared : Path
        The shared folder holding ``datasets/{chula-rbc-12,bccd,pbc}``.
    cache : Path or None, keyword-only
        Cache folder (default :func:`default_cache`); the file name carries a hash of the
        segmentation and crop code, so a change re-extracts.
    limit : int or None, keyword-only
        Only about this many objects per label and split (smoke tests).
    progress : bool, keyword-only
        Report progress on stderr.
    workers : int, keyword-only
        Processes segmenting fields.
    """
    cache = Path(cache) if cache is not None else default_cache()
    path = cache / f"crops-{_cache_key(limit)}.npz"
    if path.exists():
        with np.load(path) as stored:
            return CropSet(**{name: stored[name] for name in CropSet.__dataclass_fields__})
    jobs = field_jobs(Path(shared) / "datasets", limit=limit)
    parts = []
    start = time.monotonic()
    samples = in_task_order(LocalPool(workers), field_samples, jobs,
                            preload=("smearscan.training",))
    for done, part in enumerate(samples, 1):
        parts.append(part)
        if progress and (done % 250 == 0 or done == len(jobs)):
            print(f"crops: {done}/{len(jobs)} fields, {time.monotonic() - start:.0f} s",
                  file=sys.stderr, flush=True)
    data = CropSet(**{name: np.concatenate([p[name] for p in parts])
                      for name in CropSet.__dataclass_fields__})
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + ".partial.npz")
    np.savez(partial, **{name: getattr(data, name) for name in CropSet.__dataclass_fields__})
    partial.replace(path)
    return data


def reviewed_crops(path: Path) -> CropSet:
    """Training crops of the reviewed cells in a ``corrections.csv``; cells reviewed as
    ``other`` (debris, not a class of the network) are left out."""
    from smearscan.review.corrections import read_corrections
    from smearscan.review.store import ReviewError

    fields = [replace(f, points=tuple(p for p in f.points if p[2] in CLASSES))
              for f in read_corrections(path)]
    parts = [field_samples((f, REVIEWED, "train")) for f in fields if f.points]
    if not parts:
        raise ReviewError(f"{path}: no reviewed cell of a trainable class ({', '.join(CLASSES)})")
    return CropSet(**{name: np.concatenate([p[name] for p in parts])
                      for name in CropSet.__dataclass_fields__})


def joined(first: CropSet, second: CropSet) -> CropSet:
    """The rows of both crop sets."""
    return CropSet(**{name: np.concatenate([getattr(first, name), getattr(second, name)])
                      for name in CropSet.__dataclass_fields__})


# ----------------------------------------------------------------------------- training


def augmented(batch: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """Randomly rotated, flipped, scaled, stain-jittered and blurred central crops.

    Parameters
    ----------
    batch : (B, 4, S + 2 MARGIN, S + 2 MARGIN) float tensor
    size : int
        Output side S.
    generator : torch.Generator

    Returns
    -------
    (B, 4, S, S) float tensor
        Any rotation angle, a random flip, scale x0.9-1.1, shift up to 1 px; optical densities
        multiplied by a global (x0.75-1.3) and per-channel (x0.85-1.15) gain; half the batch
        blurred (sigma 0.3-1.2 px, focus).
    """
    n = batch.shape[0]

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return low + (high - low) * torch.rand(*shape, generator=generator)

    angle = uniform(0, 2 * math.pi, n)
    scale = torch.exp(uniform(-0.1, 0.1, n)) * size / batch.shape[-1]
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = torch.cos(angle) * scale * flip
    theta[:, 0, 1] = -torch.sin(angle) * scale
    theta[:, 1, 0] = torch.sin(angle) * scale * flip
    theta[:, 1, 1] = torch.cos(angle) * scale
    theta[:, :, 2] = uniform(-1, 1, n, 2) * 2 / batch.shape[-1]
    grid = F.affine_grid(theta, [n, 4, size, size], align_corners=False)
    out = F.grid_sample(batch, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    gain = torch.exp(uniform(-0.29, 0.26, n, 1, 1, 1) + uniform(-0.16, 0.14, n, 3, 1, 1))
    density = out[:, :3] * gain
    blurred = torch.rand(n, generator=generator) < 0.5
    if blurred.any():
        sigma = float(uniform(0.3, 1.2, 1))
        density[blurred] = gaussian_blur(density[blurred], [5, 5], [sigma, sigma])
    return torch.cat([density, out[:, 3:]], dim=1).contiguous(memory_format=torch.channels_last)


def _sample_weights(data: CropSet) -> torch.Tensor:
    """Weight ``count ** -SAMPLING_POWER`` of each object's (dataset, own label) group.

    Rebalancing by the datasets' own labels rather than by class also lifts the rare red-cell
    shapes that look most like fragments (teardrops, microcytes) against normal cells.
    """
    _, group, counts = np.unique(np.char.add(data.dataset, data.source), return_inverse=True,
                                 return_counts=True)
    return torch.from_numpy(counts[group].astype(float) ** -SAMPLING_POWER)


def _loss(network: torch.nn.Module, crops: torch.Tensor, label: torch.Tensor,
          morphology: torch.Tensor) -> torch.Tensor:
    logits, shape_logits = network(crops)
    loss = F.cross_entropy(logits, label)
    shaped = morphology >= 0
    if shaped.any():
        loss = loss + MORPHOLOGY_LOSS_WEIGHT * F.cross_entropy(shape_logits[shaped],
                                                               morphology[shaped])
    return loss


def fit_network(train: CropSet, *, epochs: int, seed: int, progress: bool = True,
                steps_per_epoch: int | None = None) -> torch.nn.Module:
    """Train a fresh :class:`~smearscan.network.CellNet` on crops.

    Rebalanced sampling (:func:`_sample_weights`), AdamW with a one-cycle
    learning rate, cross-entropy on the class head plus ``MORPHOLOGY_LOSS_WEIGHT`` times the
    morphology cross-entropy on the Chula shapes; every batch through :func:`augmented`.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    network = build_network(DEFAULT_ARCHITECTURE).to(memory_format=torch.channels_last)
    crops = torch.from_numpy(train.crops)
    label = torch.from_numpy(train.label)
    morphology = torch.from_numpy(train.morphology)
    weights = _sample_weights(train)
    steps = steps_per_epoch or max(1, len(label) // BATCH_SIZE)
    optimiser = torch.optim.AdamW(network.parameters(), lr=LEARNING_RATE,
                                  weight_decay=WEIGHT_DECAY)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, LEARNING_RATE,
                                                   total_steps=epochs * steps)
    start = time.monotonic()
    for epoch in range(epochs):
        network.train()
        total = 0.0
        for _ in range(steps):
            index = torch.multinomial(weights, BATCH_SIZE, replacement=True, generator=generator)
            batch = augmented(crops[index].float(), CROP_SIZE, generator)
            loss = _loss(network, batch, label[index], morphology[index])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item()
        if progress:
            print(f"epoch {epoch + 1}/{epochs}: loss {total / steps:.4f}, "
                  f"{time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
    return network.eval()


# ----------------------------------------------------------------------------- evaluation


def _groups(data: CropSet) -> dict[str, np.ndarray]:
    """Boolean masks of the labelled groups used as positives and negatives."""
    source, dataset = data.source, data.dataset
    pbc = dataset == "pbc"
    return {
        "chula": (dataset == "chula") & (source != MINED_PLATELET),
        "chula_platelets": source == MINED_PLATELET,
        "schistocyte": (dataset == "chula") & (source == "schistocyte"),
        "nrbc": pbc & (source == "erythroblast"),
        "immature_granulocyte": pbc & (source == "ig"),
        "pbc_leukocytes": pbc & np.isin(source, PBC_LEUKOCYTES),
        "pbc_mature_leukocytes": pbc & np.isin(source, PBC_LEUKOCYTES[:-1]),
        "pbc_neutrophils": pbc & (source == "neutrophil"),
        "pbc_lymphocytes_monocytes": pbc & np.isin(source, ("lymphocyte", "monocyte")),
        "bccd_wbc": (dataset == "bccd") & (source == "WBC"),
        "all": np.ones(len(source), dtype=bool),
    }


#: Per target class: the positives' group, and (negative group, largest false-call rate) pairs;
#: the operating threshold is the lowest that meets every pair on the val split, and never below
#: MIN_THRESHOLD.
OPERATING_RULES: dict[str, tuple[str, tuple[tuple[str, float], ...]]] = {
    "schistocyte": ("schistocyte", (("chula", 0.002),)),
    "nrbc": ("nrbc", (("all", 0.002), ("pbc_leukocytes", 0.02), ("bccd_wbc", 0.02))),
    "immature_granulocyte": ("immature_granulocyte", (
        ("all", 0.002), ("pbc_neutrophils", 0.05), ("pbc_lymphocytes_monocytes", 0.02))),
}


#: A target class is never called while the network rates it below even odds. Lower thresholds
#: are set by the last few val negatives and do not transfer: NRBC at the val-chosen 0.036
#: called 6 of 226 test leukocytes NRBC (cnn-2026.11-2), none at 0.5, with sensitivity 0.985
#: -> 0.970.
MIN_THRESHOLD = 0.5


def _scores(probabilities: np.ndarray, name: str) -> np.ndarray:
    return probabilities[:, CLASSES.index(name)]


def operating_points(probabilities: np.ndarray, data: CropSet) -> dict[str, dict[str, Any]]:
    """Threshold of each target class from :data:`OPERATING_RULES`, with its rates on ``data``.

    Negatives of a pair are the group's objects that are not positives.
    """
    groups = _groups(data)
    points = {}
    for name, (positive_group, pairs) in OPERATING_RULES.items():
        scores = _scores(probabilities, name)
        positive = groups[positive_group]
        threshold = max(_threshold_at(scores[groups[group] & ~positive], rate)
                        for group, rate in pairs)
        threshold = min(max(threshold, MIN_THRESHOLD), 1.0)
        reached = rates_at_threshold(scores[groups["all"]], positive, threshold)
        points[name] = {
            "threshold": threshold,
            "rule": {group: rate for group, rate in pairs},
            "min_threshold": MIN_THRESHOLD,
            "val_sensitivity": reached["sensitivity"],
            "val_false_positive_rate": {
                group: _share(scores >= threshold, groups[group] & ~positive)
                for group, _ in pairs},
        }
    return points


def _binary_metrics(scores: np.ndarray, positive: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    if positive.all() or not positive.any():
        return {"positives": int(positive.sum()), "negatives": int((~positive).sum())}
    return {
        "positives": int(positive.sum()),
        "negatives": int((~positive).sum()),
        "roc_auc": float(roc_auc_score(positive, scores)),
        "average_precision": float(average_precision_score(positive, scores)),
        "at_specificity": {str(s): sensitivity_at_specificity(scores, positive, s)
                           for s in SPECIFICITIES},
    }


def _share(hit: np.ndarray, mask: np.ndarray) -> float | None:
    """Fraction of ``hit`` among the ``mask`` rows; None (JSON-safe, unlike NaN) if none."""
    return float(np.mean(hit[mask])) if mask.any() else None


def _called_fraction(called: np.ndarray, name: str, mask: np.ndarray) -> float | None:
    return _share(called == name, mask)


def _per_class(called: np.ndarray, truth: np.ndarray) -> dict[str, dict[str, float]]:
    out = {}
    for name in CLASSES:
        tp = int(np.sum((called == name) & (truth == name)))
        precision = tp / max(int(np.sum(called == name)), 1)
        recall = tp / max(int(np.sum(truth == name)), 1)
        out[name] = {"precision": precision, "recall": recall,
                     "f1": 2 * precision * recall / max(precision + recall, 1e-12),
                     "support": int(np.sum(truth == name))}
    return out


def classification_metrics(probabilities: np.ndarray, morphology: np.ndarray, data: CropSet,
                           thresholds: dict[str, float]) -> dict[str, Any]:
    """Metrics of class probabilities against the labels of ``data``.

    Returns
    -------
    dict
        ``per_class`` precision/recall/F1 of the calls, ``confusion`` (rows true, columns
        called, order CLASSES), per target ``schistocyte`` / ``nrbc`` / ``immature_granulocyte``
        ROC AUC, AP, sensitivity at SPECIFICITIES and the rates at the operating threshold,
        per-subclass false-call rates, and morphology accuracy on Chula shapes.
    """
    groups = _groups(data)
    called = call_labels(probabilities, CLASSES, thresholds)
    truth = np.asarray(CLASSES)[data.label]
    confusion = [[int(np.sum((truth == t) & (called == c))) for c in CLASSES] for t in CLASSES]
    pbc_sources = sorted(set(data.source[data.dataset == "pbc"]))
    out: dict[str, Any] = {"objects": int(len(truth)), "classes": list(CLASSES),
                           "per_class": _per_class(called, truth), "confusion": confusion}
    scopes = {"schistocyte": groups["chula"], "nrbc": groups["all"],
              "immature_granulocyte": groups["pbc_leukocytes"] | groups["bccd_wbc"]}
    for name, scope in scopes.items():
        scores = _scores(probabilities, name)
        positive = groups[name][scope]
        entry = _binary_metrics(scores[scope], positive)
        entry["scope"] = {"schistocyte": "labelled Chula cells", "nrbc": "all labelled objects",
                          "immature_granulocyte": "PBC leukocytes and BCCD WBCs"}[name]
        entry["at_operating_threshold"] = {
            "threshold": thresholds[name],
            "sensitivity": _called_fraction(called, name, groups[name]),
            "false_call_rate": _called_fraction(called, name, scope & ~groups[name]),
        }
        entry["called_fraction_by_source"] = {
            src: _called_fraction(called, name, (data.dataset == "pbc") & (data.source == src))
            for src in pbc_sources}
        entry["called_fraction_bccd_wbc"] = _called_fraction(called, name, groups["bccd_wbc"])
        entry["called_fraction_chula"] = _called_fraction(called, name,
                                                          groups["chula"] & ~groups[name])
        out[name] = entry
    out["immature_granulocyte"]["neutrophils_called_ig"] = _called_fraction(
        called, "immature_granulocyte", groups["pbc_neutrophils"])
    out["immature_granulocyte"]["lymphocytes_monocytes_called_ig"] = _called_fraction(
        called, "immature_granulocyte", groups["pbc_lymphocytes_monocytes"])
    out["nrbc"]["pbc_leukocytes_called_nrbc"] = _called_fraction(called, "nrbc",
                                                                 groups["pbc_leukocytes"])
    out["schistocyte"]["chula_mined_platelets_called_schistocyte"] = _called_fraction(
        called, "schistocyte", groups["chula_platelets"])
    shaped = data.morphology >= 0
    out["morphology"] = {"objects": int(shaped.sum()), "accuracy": float(np.mean(
        np.argmax(morphology[shaped], 1) == data.morphology[shaped])) if shaped.any() else None}
    return out


def morphometric_baseline(data: CropSet, split: str) -> dict[str, Any]:
    """Logistic regression on morphometrics (FEATURES), schistocyte vs other Chula cells.

    Trained on the Chula train split (standardised features, balanced class weights), scored on
    ``split``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    chula = (data.dataset == "chula") & (data.source != MINED_PLATELET)
    train = chula & (data.split == "train")
    scored = chula & (data.split == split)
    positive = data.source == "schistocyte"
    if len(set(positive[train])) < 2 or not scored.any():
        return {"model": "logistic regression", "features": list(FEATURES)}
    fitted = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced",
                                                                max_iter=2000))
    fitted.fit(data.features[train], positive[train])
    scores = fitted.predict_proba(data.features[scored])[:, 1]
    return {"model": "logistic regression", "features": list(FEATURES),
            **_binary_metrics(scores, positive[scored]), "scores": scores}


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers stored in the model file."""
    keys = ("roc_auc", "average_precision", "at_specificity", "at_operating_threshold")
    out = {name: {k: metrics[name][k] for k in keys if k in metrics[name]}
           for name in ("schistocyte", "nrbc", "immature_granulocyte")}
    out["nrbc"]["pbc_leukocytes_called_nrbc"] = metrics["nrbc"]["pbc_leukocytes_called_nrbc"]
    out["nrbc"]["bccd_wbc_called_nrbc"] = metrics["nrbc"]["called_fraction_bccd_wbc"]
    for key in ("neutrophils_called_ig", "lymphocytes_monocytes_called_ig"):
        out["immature_granulocyte"][key] = metrics["immature_granulocyte"][key]
    out["morphology_accuracy"] = metrics["morphology"]["accuracy"]
    return out


def train_model(*, shared: Path, out: Path, seed: int = 0, epochs: int = EPOCHS,
                limit: int | None = None, cache: Path | None = None,
                progress: bool = True, extra_labels: Path | None = None) -> Path:
    """Train the classifier, choose thresholds on val, measure test, write the model file.

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
    extra_labels : Path or None, keyword-only
        A ``corrections.csv`` (``smearscan export-corrections``): its reviewed cells join the
        training split only, so that validation and test stay the public datasets' held-out
        fields.

    Returns
    -------
    Path
        ``out``.
    """
    torch.set_num_threads(min(torch.get_num_threads(), 2))
    start = time.monotonic()
    # A bad corrections file fails before the minutes of crop extraction.
    extra = reviewed_crops(extra_labels) if extra_labels is not None else None
    data = labelled_crops(shared, cache=cache, limit=limit, progress=progress)
    if extra is not None:
        data = joined(data, extra)
    train = data.subset(data.split == "train")
    network = fit_network(train, epochs=epochs, seed=seed, progress=progress,
                          steps_per_epoch=2 if limit else None)
    model = classification.CellClassifier(TorchNetwork(network), CLASSES,
                                          MORPHOLOGY_CLASSES, CROP_SIZE, CROP_SCALE_UM, {},
                                          SYMMETRY_BAND, {})
    results = {}
    for split in ("val", "test"):
        part = data.subset(data.split == split)
        results[split] = (part, *predict_probabilities(model, part.centre(CROP_SIZE)))
    points = operating_points(results["val"][1], results["val"][0])
    thresholds = {name: point["threshold"] for name, point in points.items()}
    summaries = {split: _summary(classification_metrics(probs, shapes, part, thresholds))
                 for split, (part, probs, shapes) in results.items()}
    counts = {split: {f"{d}/{CLASSES[c]}": int(n) for (d, c), n in Counter(
        zip(data.dataset[data.split == split], data.label[data.split == split],
            strict=True)).items()} for split in ("train", "val", "test")}
    metadata = {
        "model_version": MODEL_VERSION,
        "architecture": {k: list(v) if isinstance(v, tuple) else v
                         for k, v in DEFAULT_ARCHITECTURE.items()},
        "operating_points": points,
        "inference": {"symmetry_band": list(SYMMETRY_BAND)},
        "training": {"seed": seed, "epochs": epochs, "batch_size": BATCH_SIZE,
                     "learning_rate": LEARNING_RATE, "weight_decay": WEIGHT_DECAY,
                     "sampling_power": SAMPLING_POWER, "limit": limit,
                     "data": "chula-rbc-12, bccd, pbc; split_fields seed 0 (0.7/0.15/0.15)",
                     "extra_labels": str(extra_labels) if extra_labels else None,
                     "objects": counts, "wall_time_s": round(time.monotonic() - start, 1)},
        "val_metrics": summaries["val"],
        "test_metrics": summaries["test"],
    }
    return save_model(out, network, metadata)


def _plot_curves(name: str, scores: np.ndarray, positive: np.ndarray,
                 baseline: np.ndarray | None, out_dir: Path,
                 target: tuple[float, float] | None = None) -> None:
    """ROC and precision-recall PNGs; ``target`` (specificity, sensitivity) is marked on the ROC."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    if positive.all() or not positive.any():
        return
    runs = [("CNN", scores)] + ([("morphometric baseline", baseline)]
                                if baseline is not None else [])
    for kind in ("roc", "pr"):
        figure, axis = plt.subplots(figsize=(4.5, 4.5))
        for label, values in runs:
            if kind == "roc":
                fpr, tpr, _ = roc_curve(positive, values)
                axis.plot(fpr, tpr, label=label)
            else:
                precision, recall, _ = precision_recall_curve(positive, values)
                axis.plot(recall, precision, label=label)
        if kind == "roc" and target is not None:
            specificity, sensitivity = target
            axis.axvline(1 - specificity, color="grey", linestyle=":", linewidth=1)
            axis.plot([1 - specificity], [sensitivity], "k*", markersize=9,
                      label=f"target: {sensitivity:.2f} at specificity {specificity}")
        if kind == "roc":
            axis.set(xscale="log", xlim=(1e-4, 1), xlabel="false-positive rate (log)",
                     ylabel="sensitivity", title=f"{name}: ROC")
        else:
            axis.set(xlabel="recall", ylabel="precision", title=f"{name}: precision-recall")
        axis.legend(loc="lower right")
        figure.tight_layout()
        figure.savefig(out_dir / f"{kind}_{name}.png", dpi=110)
        plt.close(figure)


def _plot_confusion(confusion: list[list[int]], out_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.array(confusion, dtype=float)
    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure, axis = plt.subplots(figsize=(6.5, 5.5))
    axis.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(matrix):
        axis.text(j, i, f"{int(count)}", ha="center", va="center",
                  color="white" if rates[i, j] > 0.5 else "black", fontsize=8)
    axis.set_xticks(range(len(CLASSES)), CLASSES, rotation=45, ha="right")
    axis.set_yticks(range(len(CLASSES)), CLASSES)
    axis.set(xlabel="called", ylabel="true", title="confusion (counts; colour = row rate)")
    figure.tight_layout()
    figure.savefig(out_dir / "confusion.png", dpi=110)
    plt.close(figure)


def evaluate_model(*, model: Path | None, shared: Path, split: str = "test", out_dir: Path,
                   cache: Path | None = None, limit: int | None = None) -> dict[str, Any]:
    """Evaluate a model file on one split and write ``metrics.json`` and plots.

    Parameters
    ----------
    model : Path or None
        Model file; None for the shipped default.
    shared : Path
        Folder holding ``datasets/``.
    split : str, keyword-only
        ``val`` or ``test`` (``train`` works but measures memorisation).
    out_dir : Path
        Receives ``metrics.json``, ``roc_schistocyte.png``, ``pr_schistocyte.png``,
        ``roc_nrbc.png``, ``pr_nrbc.png`` and ``confusion.png``.
    cache, limit : keyword-only
        As for :func:`labelled_crops`.

    Returns
    -------
    dict
        The content of ``metrics.json``: :func:`classification_metrics` plus ``baseline``
        (:func:`morphometric_baseline`), ``model_version`` and ``split``.
    """
    torch.set_num_threads(min(torch.get_num_threads(), 2))
    loaded = load_model(model, threads=torch.get_num_threads())
    if (loaded.crop_size, loaded.crop_scale_um) != (CROP_SIZE, CROP_SCALE_UM):
        raise ValueError(f"model crops {loaded.crop_size} px at {loaded.crop_scale_um} um/px; "
                         f"this version extracts {CROP_SIZE} px at {CROP_SCALE_UM} um/px")
    data = labelled_crops(shared, cache=cache, limit=limit, progress=False)
    part = data.subset(data.split == split)
    probabilities, morphology = predict_probabilities(loaded, part.centre(CROP_SIZE))
    metrics = classification_metrics(probabilities, morphology, part, loaded.thresholds)
    baseline = morphometric_baseline(data, split)
    baseline_scores = baseline.pop("scores", None)
    metrics = {"model_version": loaded.version, "split": split, **metrics,
               "baseline": baseline}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    groups = _groups(part)
    chula = groups["chula"]
    _plot_curves("schistocyte", _scores(probabilities, "schistocyte")[chula],
                 groups["schistocyte"][chula], baseline_scores, out_dir, SCHISTOCYTE_TARGET)
    _plot_curves("nrbc", _scores(probabilities, "nrbc"), groups["nrbc"], None, out_dir)
    _plot_confusion(metrics["confusion"], out_dir)
    return metrics
