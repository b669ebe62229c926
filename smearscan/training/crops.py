"""Crops of the labelled segmented objects of the three datasets, extracted once and cached.

Crops are cut around the *segmented* objects (as the pipeline sees them), with a margin for the
training augmentations, and cached in ``~/.cache/smearscan`` under a key that changes with the
segmentation, the crop code and the platelet rule.
"""

from __future__ import annotations

import hashlib
import inspect
import math
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from smearscan import annotation, illumination, noise, segmentation
from smearscan.classification import CLASSES, CROP_SCALE_UM, CROP_SIZE, cell_crops, field_density
from smearscan.classification import crops as inference_crops
from smearscan.datasets import LabeledField, bccd_fields, chula_fields, pbc_fields, split_fields
from smearscan.executor import LocalPool, in_task_order
from smearscan.features import cell_table
from smearscan.loading import read_field
from smearscan.metrics import labels_at_points
from smearscan.outputs import user_cache
from smearscan.pipeline import conditioned
from smearscan.segmentation import NORMAL_RBC_DIAMETER_UM, segment_field
from smearscan.training.labels import MINED_PLATELET, REVIEWED, class_of, morphology_of

#: Extra crop pixels on each side kept for rotations and scale jitter during training.
MARGIN = 8
CACHE_VERSION = 3
#: Morphometric columns of the baseline.
FEATURES = ("area_um2", "diameter_um", "circularity", "eccentricity", "solidity", "mean_r",
            "mean_g", "mean_b")
_READERS = {"chula": (chula_fields, "chula-rbc-12"), "bccd": (bccd_fields, "bccd"),
            "pbc": (pbc_fields, "pbc")}

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
    group : (N,) str ndarray
        Overlap group of the object's field (:attr:`~smearscan.datasets.LabeledField.group`):
        cross-validation folds keep whole groups on one side.
    """

    crops: np.ndarray
    label: np.ndarray
    morphology: np.ndarray
    source: np.ndarray
    dataset: np.ndarray
    split: np.ndarray
    features: np.ndarray
    group: np.ndarray

    def subset(self, keep: np.ndarray) -> CropSet:
        """The rows where ``keep`` is True (or at the given indices)."""
        return CropSet(*(getattr(self, name)[keep] for name in self.__dataclass_fields__))

    def centre(self, size: int) -> np.ndarray:
        """The central ``size`` x ``size`` crops as float32 (what inference sees)."""
        start = (self.crops.shape[-1] - size) // 2
        return self.crops[:, :, start:start + size, start:start + size].astype(np.float32)


@dataclass(frozen=True)
class PointSet:
    """Every labelled Chula point with the segmented object under it, for end-to-end scores.

    Unlike :class:`CropSet` (the objects a label was matched to, for training), a point here
    takes only the object whose pixels it lies on: a point in no object is a segmentation miss,
    which a slide never counts.

    Attributes
    ----------
    crops : (M, 4, S, S) float16 ndarray
        Inference crops (:func:`~smearscan.classification.cell_crops`, no margin) of the
        objects under at least one point.
    object : (P,) int64 ndarray
        Row of ``crops`` of the point's object; -1 for a segmentation miss.
    border : (P,) bool ndarray
        The point's object is cut by the field edge (never counted on a slide).
    name : (P,) str ndarray
        The Chula label of the point.
    field : (P,) str ndarray
        Image file name of the point's field.
    group : (P,) str ndarray
        Overlap group of the field.
    """

    crops: np.ndarray
    object: np.ndarray
    border: np.ndarray
    name: np.ndarray
    field: np.ndarray
    group: np.ndarray

    def subset(self, keep: np.ndarray) -> PointSet:
        """The points where ``keep`` is True, with the crops of their objects only."""
        objects = self.object[keep]
        used, local = np.unique(objects[objects >= 0], return_inverse=True)
        renumbered = np.full(len(objects), -1, dtype=np.int64)
        renumbered[objects >= 0] = local
        return PointSet(self.crops[used], renumbered, self.border[keep], self.name[keep],
                        self.field[keep], self.group[keep])


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
    rgb = conditioned(read_field(field.image)).rgb  # as analysis sees it
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
        "group": np.array([field.group] * len(names), dtype=str).reshape(-1),
        **(_point_samples(field, rgb, labels, table) if dataset == "chula" else {}),
    }


def _point_samples(field: LabeledField, rgb: np.ndarray, labels: np.ndarray,
                   table: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The :class:`PointSet` columns of one field, keys prefixed ``points_``."""
    xy = np.array([(x, y) for x, y, _ in field.points], dtype=float).reshape(-1, 2)
    under = labels_at_points(labels, xy)
    ids, local = np.unique(under[under > 0], return_inverse=True)
    row_of = np.full(int(labels.max(initial=0)) + 1, -1, dtype=np.int64)
    row_of[table["cell_id"]] = np.arange(len(table["cell_id"]))
    rows = row_of[ids]
    cells = {key: table[key][rows] for key in ("cell_id", "x", "y")}
    crops = cell_crops(rgb, labels, cells, pixel_size_um=field.pixel_size_um, size=CROP_SIZE,
                       scale_um=CROP_SCALE_UM)
    objects = np.full(len(xy), -1, dtype=np.int64)
    objects[under > 0] = local
    border = np.zeros(len(xy), dtype=bool)
    border[under > 0] = table["border"][rows][local]
    return {"points_crops": crops.astype(np.float16), "points_object": objects,
            "points_border": border,
            "points_name": np.array([name for *_, name in field.points], dtype=str).reshape(-1),
            "points_field": np.full(len(xy), field.image.name),
            "points_group": np.full(len(xy), field.group)}


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
    """Changes whenever the light, noise or segmentation stage, the crop code, the crop
    geometry or the platelet rule changes."""
    digest = hashlib.sha1(Path(segmentation.__file__).read_bytes())
    for module in (annotation, illumination, noise, inference_crops):
        digest.update(Path(module.__file__).read_bytes())
    digest.update(inspect.getsource(conditioned).encode())
    for function in (field_samples, _point_samples, mined_platelets, purple_fraction,
                     blue_green_ratio):
        digest.update(inspect.getsource(function).encode())
    digest.update(f"{CACHE_VERSION}-{CROP_SIZE}-{CROP_SCALE_UM}-{MARGIN}-{limit}-"
                  f"{_PLATELET_MAX_DIAMETER_UM}-{_PLATELET_MIN_PURPLE}-"
                  f"{_PLATELET_MAX_BLUE_GREEN}".encode())
    return digest.hexdigest()[:12]


def labelled_crops(shared: Path, *, cache: Path | None = None, limit: int | None = None,
                   progress: bool = True, workers: int = 2) -> CropSet:
    """Crops of all labelled objects of the three datasets, from the cache when present.

    Parameters
    ----------
    shared : Path
        The shared folder holding ``datasets/{chula-rbc-12,bccd,pbc}``.
    cache : Path or None, keyword-only
        Cache folder (default :func:`~smearscan.outputs.user_cache`); the file name carries a
        hash of the segmentation and crop code, so a change re-extracts.
    limit : int or None, keyword-only
        Only about this many objects per label and split (smoke tests).
    progress : bool, keyword-only
        Report progress on stderr.
    workers : int, keyword-only
        Processes segmenting fields.
    """
    with np.load(_extracted(shared, cache, limit, progress, workers)) as stored:
        return CropSet(**{name: stored[name] for name in CropSet.__dataclass_fields__})


def reviewed_crops(path: Path) -> CropSet:
    """Training crops of the reviewed cells in a ``corrections.csv``; cells reviewed as
    ``other`` (debris, not a class of the network) are left out."""
    from smearscan.review.corrections import read_corrections
    from smearscan.review.records import ReviewError

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


def labelled_points(shared: Path, *, cache: Path | None = None, limit: int | None = None,
                    progress: bool = True, workers: int = 2) -> PointSet:
    """Every labelled Chula point with its object's inference crop (same cache and arguments
    as :func:`labelled_crops`)."""
    with np.load(_extracted(shared, cache, limit, progress, workers)) as stored:
        return PointSet(**{name: stored[f"points_{name}"]
                           for name in PointSet.__dataclass_fields__})


def _extracted(shared: Path, cache: Path | None, limit: int | None, progress: bool,
               workers: int) -> Path:
    """The cache file of crops and points, extracted first when absent."""
    cache = Path(cache) if cache is not None else user_cache()
    family = "crops" if limit is None else f"crops-limit{limit}"
    path = cache / f"{family}-{_cache_key(limit)}.npz"
    if path.exists():
        return path
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
    columns = {name: np.concatenate([p[name] for p in parts])
               for name in CropSet.__dataclass_fields__}
    points = [p for p in parts if "points_object" in p]
    offsets = np.cumsum([0] + [len(p["points_crops"]) for p in points])[:-1]
    for name in PointSet.__dataclass_fields__:
        key = f"points_{name}"
        if name == "object":
            columns[key] = np.concatenate([np.where(p[key] >= 0, p[key] + offset, -1)
                                           for p, offset in zip(points, offsets, strict=True)])
        else:
            columns[key] = np.concatenate([p[key] for p in points])
    cache.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.stem + ".partial.npz")
    np.savez(partial, **columns)
    partial.replace(path)
    _remove_stale(cache, family, keep=path)
    return path


def _remove_stale(cache: Path, family: str, *, keep: Path) -> None:
    """Delete the cache files of ``family`` other than ``keep``: each code change writes a new
    file of ~2 GB (the full datasets), and the old ones are read only by the code that wrote
    them."""
    stale = re.compile(rf"{re.escape(family)}-[0-9a-f]{{12}}(\.partial)?\.npz")
    for old in cache.iterdir():
        if old != keep and stale.fullmatch(old.name):
            old.unlink(missing_ok=True)
