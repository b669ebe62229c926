"""Classification stage: one small CNN calls every segmented object and, for red cells, its shape.

Each object becomes a crop at one physical scale (by default 64 x 64 px at 0.25 um/px, a
16 um window that holds a white cell), so that a cell looks the same whichever microscope took
it. A crop has 4 channels: the optical density of R, G and B relative to the field's own
background (``ln(I0 / I)``, which removes the illumination and most of the camera's white
balance) and a mask of the target object, so that the network knows which of touching cells is
meant.

The network has two heads: :data:`CLASSES` for every object and :data:`MORPHOLOGY_CLASSES` (the
Chula RBC-12 shapes) for red cells. Weights, class lists, crop geometry, normalisation and the
operating thresholds chosen on validation data travel together in one model file
(:func:`save_model`, :func:`load_model`).

torch is imported by this module; the CLI imports it only for the commands that classify.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from smearscan import default_model_path
from smearscan.errors import SmearscanError
from smearscan.segmentation import uint8_percentile

#: Object classes of the main head.
CLASSES = ("rbc", "schistocyte", "nrbc", "wbc", "immature_granulocyte", "platelet")
#: Red-cell shapes of the morphology head (Chula RBC-12 without schistocyte, uncategorised).
MORPHOLOGY_CLASSES = (
    "normal", "macrocyte", "microcyte", "spherocyte", "target", "stomatocyte", "ovalocyte",
    "teardrop", "burr", "hypochromia", "elliptocyte",
)
#: Classes called by their own operating threshold, in this order of precedence for ties.
TARGET_CLASSES = ("schistocyte", "nrbc", "immature_granulocyte")

#: Crop side (px) and scale (um/px) of the shipped model.
CROP_SIZE = 64
CROP_SCALE_UM = 0.25
#: Percentile of each channel taken as the field's background (bright slide) level.
BACKGROUND_PERCENTILE = 95.0
#: Optical densities are clipped to this (ln units): darker pixels carry no more information.
MAX_DENSITY = 3.0

FORMAT_VERSION = 1
#: Narrower at full resolution and two convolutions at the two coarser scales. In a comparison
#: of variants trained on the same crops (models/README.md, "Why this network"), this lifted
#: schistocyte sensitivity at specificity 0.998 from 0.56 to 0.69 (val) and 0.64 to 0.68 (test)
#: over one convolution per scale at 16/32/64/96 (cnn-2026.11-5), at about the same network
#: time per crop; two convolutions at every scale did as well at 2.3x the time.
DEFAULT_ARCHITECTURE = {"widths": (16, 24, 48, 96), "dropout": 0.2, "depth": (1, 2, 2)}
#: Objects whose most probable target class has a probability in [low, high) are re-scored as
#: the mean over the 8 rotations and flips of their crop. A cell has no preferred orientation,
#: so the average is a better estimate where the call is in doubt; on the val split this lifted
#: schistocyte sensitivity at specificity 0.998 and immature-granulocyte sensitivity, while only
#: ~3.5% of objects fall in the band (objects outside it keep their call whatever the average).
SYMMETRY_BAND = (0.2, 0.9)


class ModelLoadError(SmearscanError):
    """A model file could not be used; ``str(error)`` is one line naming the file and problem."""

    exit_code = 4


# ----------------------------------------------------------------------------- crops


def field_density(rgb: np.ndarray) -> np.ndarray:
    """Optical density of each channel relative to the field's background.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray

    Returns
    -------
    (H, W, 3) float32 ndarray
        ``ln(I0 / I)`` clipped to ``[0, MAX_DENSITY]``, where ``I0`` is the channel's
        :data:`BACKGROUND_PERCENTILE` percentile (0 on the slide background).
    """
    levels = np.arange(256, dtype=np.float32)
    tables = np.empty((1, 256, 3), dtype=np.float32)
    for channel in range(3):
        background = max(uint8_percentile(rgb[:, :, channel], BACKGROUND_PERCENTILE), 1.0)
        tables[0, :, channel] = np.clip(np.log(background / np.maximum(levels, 0.5)), 0,
                                        MAX_DENSITY)
    return cv2.LUT(np.ascontiguousarray(rgb), tables)


def _window(image: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """``image[y0:y1, x0:x1]`` padded with zeros where the window leaves the image."""
    height, width = image.shape[:2]
    out = np.zeros((y1 - y0, x1 - x0) + image.shape[2:], dtype=image.dtype)
    sy0, sx0, sy1, sx1 = max(y0, 0), max(x0, 0), min(y1, height), min(x1, width)
    if sy1 > sy0 and sx1 > sx0:
        out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    return out


def cell_crops(
    rgb: np.ndarray, labels: np.ndarray, cells: dict[str, np.ndarray], *, pixel_size_um: float,
    size: int = CROP_SIZE, scale_um: float = CROP_SCALE_UM,
) -> np.ndarray:
    """Crops of objects centred on their centroids, resampled to one physical scale.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray
        The field.
    labels : (H, W) int ndarray
        Objects 1..N, 0 background.
    cells : dict with ``cell_id``, ``x``, ``y`` : (M,) ndarrays
        The objects to crop and their centroids in pixels (e.g. from
        :func:`smearscan.features.cell_table`).
    pixel_size_um : float, keyword-only
        The field's pixel size, um/px.
    size : int, keyword-only
        Crop side, px.
    scale_um : float, keyword-only
        Crop pixel size, um/px; the crop covers ``size * scale_um`` um.

    Returns
    -------
    (M, 4, size, size) float32 ndarray
        Channels 0-2 the optical density (:func:`field_density`), channel 3 the object's mask
        (0..1, soft at the edge). Outside the field the crop is 0 (background).
    """
    step = scale_um / pixel_size_um  # field pixels per crop pixel
    half = int(math.ceil((size / 2 + 2) * step)) + 1
    sigma = 0.4 * step if step > 1.2 else 0.0  # anti-aliasing before a downsampling
    # Zero density (slide background) all round, blurred once for the whole field rather than
    # once per cell window: windows overlap, and the field is ~4x smaller than their sum.
    density = cv2.copyMakeBorder(field_density(rgb), half, half, half, half,
                                 cv2.BORDER_CONSTANT, value=0)
    if sigma:
        density = cv2.GaussianBlur(density, (0, 0), sigma)
    out = np.empty((len(cells["cell_id"]), 4, size, size), dtype=np.float32)
    centre = (size - 1) / 2
    for i, (cell_id, x, y) in enumerate(zip(cells["cell_id"], cells["x"], cells["y"],
                                            strict=True)):
        x0, y0 = int(round(x)) - half, int(round(y)) - half
        mask = (_window(labels, x0, y0, x0 + 2 * half + 1, y0 + 2 * half + 1) == cell_id
                ).astype(np.float32)
        if sigma:
            mask = cv2.GaussianBlur(mask, (0, 0), sigma)
        # Crop pixel (u, v) samples field point (x + (u - centre) * step, y + (v - centre) * step).
        matrix = np.array([[step, 0, x - centre * step], [0, step, y - centre * step]])
        out[i, 3] = _resampled(mask, matrix - [[0, 0, x0], [0, 0, y0]], size)
        # The padded field's origin lies `half` pixels before the image's.
        out[i, :3] = _resampled(density, matrix + [[0, 0, half], [0, 0, half]], size
                                ).transpose(2, 0, 1)
    return out


def _resampled(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """``size`` x ``size`` bilinear samples of ``image`` at ``matrix @ (u, v, 1)``, 0 outside."""
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR |
                          cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


# ----------------------------------------------------------------------------- network


def _block(inputs: int, outputs: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1, bias=False),
                         nn.BatchNorm2d(outputs), nn.ReLU(inplace=True))


class CellNet(nn.Module):
    """Small CNN with a class head and a red-cell morphology head.

    A strided first convolution, then ``depth`` convolutions at each further scale with 2x2
    max pooling after each scale, global average pooling and two linear heads.

    Parameters
    ----------
    widths : sequence of int
        Channels at each scale.
    dropout : float
        Dropout before the heads.
    classes, morphology_classes : int
        Outputs of each head.
    depth : sequence of int
        Convolutions at each scale after the first (``len(widths) - 1`` values).
    """

    def __init__(self, *, widths: tuple[int, ...], dropout: float, classes: int,
                 morphology_classes: int, depth: tuple[int, ...] | None = None) -> None:
        super().__init__()
        layers: list[nn.Module] = [_block(4, widths[0], stride=2)]
        depth = depth or (1,) * (len(widths) - 1)
        for inputs, outputs, count in zip(widths[:-1], widths[1:], depth, strict=True):
            layers += [_block(inputs, outputs)]
            layers += [_block(outputs, outputs) for _ in range(count - 1)]
            layers += [nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                      nn.Dropout(dropout))
        self.classes = nn.Linear(widths[-1], classes)
        self.morphology = nn.Linear(widths[-1], morphology_classes)

    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class and morphology logits, each (N, classes), of (N, 4, S, S) crops."""
        embedding = self.features(crops)
        return self.classes(embedding), self.morphology(embedding)


def inference_network(network: CellNet) -> CellNet:
    """A copy of ``network`` in eval mode with each batch norm folded into its convolution.

    The same function up to float rounding, ~15% faster on the CPU.
    """
    fused = copy.deepcopy(network).eval()
    for block in fused.features:
        if isinstance(block, nn.Sequential) and isinstance(block[1], nn.BatchNorm2d):
            block[0] = fuse_conv_bn_eval(block[0], block[1])
            block[1] = nn.Identity()
    return fused.to(memory_format=torch.channels_last)


def build_network(architecture: dict[str, Any], *, classes: int = len(CLASSES),
                  morphology_classes: int = len(MORPHOLOGY_CLASSES)) -> CellNet:
    """A fresh :class:`CellNet` from an architecture dict (``widths``, ``dropout`` and
    optionally ``depth``: files without it hold one convolution per scale)."""
    depth = architecture.get("depth")
    return CellNet(widths=tuple(architecture["widths"]), dropout=float(architecture["dropout"]),
                   classes=classes, morphology_classes=morphology_classes,
                   depth=tuple(int(d) for d in depth) if depth else None)


# ----------------------------------------------------------------------------- model file


@dataclass(frozen=True)
class CellClassifier:
    """A loaded model: the network in eval mode and everything needed to use it.

    Attributes
    ----------
    network : CellNet
    classes, morphology_classes : tuple of str
    crop_size : int
        Crop side, px.
    crop_scale_um : float
        Crop pixel size, um/px.
    thresholds : dict of str to float
        Operating threshold on the probability of each of :data:`TARGET_CLASSES`.
    symmetry_band : (float, float) or None
        See :data:`SYMMETRY_BAND`; None for model files made before it (their thresholds were
        chosen on single-view probabilities).
    metadata : dict
        The whole model file except the weights (versions, metrics, training config).
    """

    network: CellNet
    classes: tuple[str, ...]
    morphology_classes: tuple[str, ...]
    crop_size: int
    crop_scale_um: float
    thresholds: dict[str, float]
    symmetry_band: tuple[float, float] | None
    metadata: dict[str, Any] = field(repr=False)

    @property
    def operating(self) -> dict[str, dict[str, Any]]:
        """Each target class's threshold with its validation sensitivity and false-positive rate.

        The false-positive rate is the one over all validation negatives of the class
        (labelled Chula cells for schistocytes, all labelled objects for the others): the rate
        at which a slide's other objects turn into false calls; ``validation_negatives`` says
        how many cells it rests on. ``false_positive_rates`` keeps the rate of every negative
        group of the class's rule.
        """
        points = {}
        for name, point in self.metadata["operating_points"].items():
            rates = point["val_false_positive_rate"]
            points[name] = {"threshold": point["threshold"],
                            "sensitivity": point["val_sensitivity"],
                            "false_positive_rate": rates.get("chula", rates.get("all")),
                            "false_positive_rates": rates}
            negatives = self._validation_negatives(name)
            if negatives:
                points[name]["validation_negatives"] = negatives
        return points

    def _validation_negatives(self, name: str) -> int | None:
        """How many validation negatives the class's ``false_positive_rate`` was measured on."""
        curve = self.metadata.get("val_metrics", {}).get(name, {}).get("at_specificity", {})
        return next((int(point["negatives"]) for point in curve.values()), None)

    @property
    def version(self) -> str:
        """The ``model_version`` string, e.g. ``"cnn-2026.11-2"``."""
        return str(self.metadata["model_version"])


_REQUIRED_KEYS = ("format_version", "model_version", "classes", "morphology_classes",
                  "crop_size", "crop_scale_um", "normalisation", "architecture",
                  "operating_points", "state_dict")


def save_model(path: Path, network: CellNet, metadata: dict[str, Any]) -> Path:
    """Write one self-describing model file.

    Parameters
    ----------
    path : Path
        Destination (parent folders are created); written atomically.
    network : CellNet
    metadata : dict
        Plain data (str, numbers, lists, dicts): at least ``model_version``,
        ``architecture`` and ``operating_points`` (``{class: {"threshold": float, ...}}``);
        the class lists, crop geometry, normalisation and format version are added here.

    Returns
    -------
    Path
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {
        "format_version": FORMAT_VERSION,
        "classes": list(CLASSES),
        "morphology_classes": list(MORPHOLOGY_CLASSES),
        "crop_size": CROP_SIZE,
        "crop_scale_um": CROP_SCALE_UM,
        "normalisation": {"kind": "optical_density", "background_percentile":
                          BACKGROUND_PERCENTILE, "max_density": MAX_DENSITY},
        **metadata,
        "state_dict": {k: v.detach().cpu().clone() for k, v in network.state_dict().items()},
    }
    partial = path.with_name(path.name + ".partial")
    torch.save(content, partial)
    partial.replace(path)
    return path


def _read_model_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file")
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - any unpickling failure means a bad file
        # torch's own message is several sentences about pickling; the user needs the file.
        raise ModelLoadError(f"{path}: not a readable model file (corrupt, truncated or not a "
                             "smearscan model)") from None
    if not isinstance(content, dict):
        raise ModelLoadError(f"{path}: not a smearscan model file (no metadata)")
    if content.get("format_version") != FORMAT_VERSION:
        raise ModelLoadError(f"{path}: unknown model format version "
                             f"{content.get('format_version')!r} (expected {FORMAT_VERSION})")
    missing = [key for key in _REQUIRED_KEYS if key not in content]
    if missing:
        raise ModelLoadError(f"{path}: model file lacks {', '.join(missing)}")
    problem = metadata_problem(content)
    if problem:
        raise ModelLoadError(f"{path}: invalid model metadata: {problem}")
    return content


def _positive_number(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def _probability(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value) and 0 <= value <= 1)


def metadata_problem(content: dict[str, Any]) -> str | None:
    """What is wrong with a model file's metadata, in a few words; None when it is usable.

    The class lists must be this code's (a renamed or reordered class would silently count
    nothing, or the wrong cells); crop geometry positive; the architecture the dict that
    :func:`build_network` reads; each operating threshold a probability.
    """
    classes = content["classes"]
    if not isinstance(classes, (list, tuple)) or list(classes) != list(CLASSES):
        return f"classes {classes!r:.80} are not {list(CLASSES)}"
    if not isinstance(content["morphology_classes"], (list, tuple)) or list(
            content["morphology_classes"]) != list(MORPHOLOGY_CLASSES):
        return f"morphology_classes {content['morphology_classes']!r:.80} are not this version's"
    size = content["crop_size"]
    if isinstance(size, bool) or not isinstance(size, int) or not 8 <= size <= 1024:
        return f"crop_size {size!r:.40} is not a whole number of pixels (8-1024)"
    if not _positive_number(content["crop_scale_um"]):
        return f"crop_scale_um {content['crop_scale_um']!r:.40} is not a positive number"
    architecture = content["architecture"]
    if not isinstance(architecture, dict) or not isinstance(architecture.get("widths"),
                                                            (list, tuple)):
        return f"architecture {architecture!r:.80} is not {{'widths': [...], 'dropout': ...}}"
    widths, depth = architecture["widths"], architecture.get("depth")
    if len(widths) < 2 or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0
                                  for w in widths):
        return f"architecture widths {widths!r:.60} are not positive whole numbers"
    if not _probability(architecture.get("dropout")):
        return f"architecture dropout {architecture.get('dropout')!r:.40} is not in 0-1"
    if depth is not None and (not isinstance(depth, (list, tuple)) or len(depth) != len(
            widths) - 1 or not all(isinstance(d, int) and d >= 1 for d in depth)):
        return f"architecture depth {depth!r:.60} does not fit widths {widths!r:.60}"
    points = content["operating_points"]
    if not isinstance(points, dict):
        return "operating_points is not a mapping of class to threshold"
    for name, point in points.items():
        if name not in TARGET_CLASSES:
            return f"operating point for {name!r:.40}, not one of {list(TARGET_CLASSES)}"
        if not isinstance(point, dict) or not _probability(point.get("threshold")):
            threshold = point.get("threshold") if isinstance(point, dict) else point
            return f"{name} threshold {threshold!r:.40} is not a probability (0-1)"
    band = content.get("inference", {}).get("symmetry_band") if isinstance(
        content.get("inference", {}), dict) else "?"
    if band is not None and not (isinstance(band, (list, tuple)) and len(band) == 2
                                 and all(_probability(b) for b in band) and band[0] <= band[1]):
        return f"symmetry_band {band!r:.40} is not a pair of probabilities"
    return None


def load_model(path: Path | None = None) -> CellClassifier:
    """Load a model file (``weights_only``), by default the shipped one.

    Raises
    ------
    ModelLoadError
        Missing, corrupt or incompatible file: one line naming the file and the problem.
    """
    path = Path(path) if path is not None else default_model_path()
    content = _read_model_file(path)
    network = build_network(content["architecture"], classes=len(content["classes"]),
                            morphology_classes=len(content["morphology_classes"]))
    try:
        network.load_state_dict(content["state_dict"])
    except RuntimeError as error:
        reason = str(error).splitlines()[0]
        raise ModelLoadError(f"{path}: weights do not fit the architecture ({reason})") from None
    network = inference_network(network)
    metadata = {k: v for k, v in content.items() if k != "state_dict"}
    thresholds = {name: float(point["threshold"])
                  for name, point in content["operating_points"].items()}
    band = content.get("inference", {}).get("symmetry_band")
    return CellClassifier(network, tuple(content["classes"]), tuple(content["morphology_classes"]),
                          int(content["crop_size"]), float(content["crop_scale_um"]), thresholds,
                          tuple(band) if band is not None else None, metadata)


# ----------------------------------------------------------------------------- inference


@dataclass(frozen=True)
class ClassCalls:
    """Calls for N objects.

    Attributes
    ----------
    probabilities : (N, len(classes)) float32 ndarray
        Softmax over the model's ``classes``; rows sum to 1.
    morphology_probabilities : (N, len(morphology_classes)) float32 ndarray
        Softmax over the red-cell shapes (meaningful for ``rbc`` and ``schistocyte`` only).
    label : (N,) str ndarray
        The call, see :func:`call_labels`.
    morphology : (N,) str ndarray
        Most probable red-cell shape.
    """

    probabilities: np.ndarray
    morphology_probabilities: np.ndarray
    label: np.ndarray
    morphology: np.ndarray


def call_labels(probabilities: np.ndarray, classes: tuple[str, ...],
                thresholds: dict[str, float]) -> np.ndarray:
    """The call of each object from its class probabilities.

    A target class (``schistocyte``, ``nrbc``, ``immature_granulocyte``) is called when its
    probability reaches its operating threshold; when several do, the one with the highest
    probability wins. Otherwise the call is the most probable of the other classes.

    Parameters
    ----------
    probabilities : (N, len(classes)) float ndarray
    classes : tuple of str
    thresholds : dict of str to float
        Operating threshold of each target class (a class without one is an ordinary class).

    Returns
    -------
    (N,) str ndarray
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    targets = np.array([c in thresholds for c in classes])
    limit = np.array([thresholds.get(c, np.inf) for c in classes])
    rest = np.where(targets, -np.inf, probabilities)
    label = np.argmax(rest, axis=1)
    reached = np.where(targets & (probabilities >= limit), probabilities, -np.inf)
    any_reached = np.isfinite(reached).any(axis=1)
    label[any_reached] = np.argmax(reached[any_reached], axis=1)
    return np.asarray(classes, dtype=object)[label].astype(str)


_PAD_ROWS = 32


def _padded(batch: np.ndarray, batch_size: int) -> np.ndarray:
    """``batch`` padded with zero crops to a multiple of 32 rows (at most ``batch_size``).

    oneDNN caches kernels per input shape: one field after another with 117, 131, 140...
    objects would grow the process by ~20 MB per new shape (4.8 GiB over the sizes 1..256,
    scripts/benchmark.py). With the default batch of 32 every batch has one shape, which keeps
    memory flat for ~1.2x the compute of a typical 640x480 field (136 objects -> 160 rows);
    on this CPU batches of 32 run as fast per crop as larger ones.
    """
    rows = min(batch_size, -(-len(batch) // _PAD_ROWS) * _PAD_ROWS)
    if rows <= len(batch):
        return batch
    return np.concatenate([batch, np.zeros((rows - len(batch), *batch.shape[1:]), batch.dtype)])


def _network_outputs(model: CellClassifier, crops: np.ndarray,
                     batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Softmax outputs of both heads for one view of each crop."""
    classes, shapes = [], []
    with torch.inference_mode():
        for start in range(0, len(crops), batch_size):
            chunk = np.ascontiguousarray(crops[start:start + batch_size], dtype=np.float32)
            batch = torch.from_numpy(_padded(chunk, batch_size))
            batch = batch.contiguous(memory_format=torch.channels_last)
            logits, morphology = model.network(batch)
            classes.append(torch.softmax(logits[:len(chunk)], 1).numpy())
            shapes.append(torch.softmax(morphology[:len(chunk)], 1).numpy())
    if not classes:
        return (np.zeros((0, len(model.classes)), np.float32),
                np.zeros((0, len(model.morphology_classes)), np.float32))
    return np.concatenate(classes), np.concatenate(shapes)


def symmetric_views(crops: np.ndarray) -> np.ndarray:
    """The 7 other rotations and flips of (N, C, S, S) crops, stacked view by view (7N rows)."""
    views = []
    for quarter_turns in range(4):
        turned = np.rot90(crops, quarter_turns, axes=(2, 3))
        views += [turned[..., ::-1]] if quarter_turns == 0 else [turned, turned[..., ::-1]]
    return np.concatenate(views)


def _in_symmetry_band(model: CellClassifier, probabilities: np.ndarray) -> np.ndarray:
    targets = [model.classes.index(c) for c in TARGET_CLASSES if c in model.classes]
    top = probabilities[:, targets].max(axis=1)
    low, high = model.symmetry_band
    return np.flatnonzero((top >= low) & (top < high))


def _mean_over_views(single: np.ndarray, views: np.ndarray) -> np.ndarray:
    """Row-wise mean of ``single`` and its other views (stacked view after view)."""
    stacked = views.reshape(-1, *single.shape)
    return (single + stacked.sum(axis=0)) / (len(stacked) + 1)


def predict_probabilities(model: CellClassifier, crops: np.ndarray, *,
                          batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Softmax outputs of both heads for (N, 4, S, S) crops, as float32 arrays.

    Objects in the model's ``symmetry_band`` get the mean over the 8 symmetric views of their
    crop (:data:`SYMMETRY_BAND`).
    """
    classes, shapes = _network_outputs(model, crops, batch_size)
    if model.symmetry_band is None or not len(crops):
        return classes, shapes
    unsure = _in_symmetry_band(model, classes)
    if len(unsure):
        view_classes, view_shapes = _network_outputs(model, symmetric_views(crops[unsure]),
                                                     batch_size)
        classes[unsure] = _mean_over_views(classes[unsure], view_classes)
        shapes[unsure] = _mean_over_views(shapes[unsure], view_shapes)
    return classes, shapes


def classify(model: CellClassifier, crops: np.ndarray, *, batch_size: int = 32) -> ClassCalls:
    """Classify objects from their crops.

    Parameters
    ----------
    model : CellClassifier
        From :func:`load_model`.
    crops : (N, 4, S, S) float32 ndarray
        From :func:`cell_crops` with the model's ``crop_size`` and ``crop_scale_um``.
    batch_size : int, keyword-only

    Returns
    -------
    ClassCalls
        Labels follow :func:`call_labels` with the model's operating thresholds.
    """
    expected = (4, model.crop_size, model.crop_size)
    if crops.ndim != 4 or crops.shape[1:] != expected:
        raise ValueError(f"crops must be (N, {expected[0]}, {expected[1]}, {expected[2]}), "
                         f"got {crops.shape}")
    probabilities, morphology = predict_probabilities(model, crops, batch_size=batch_size)
    label = call_labels(probabilities, model.classes, model.thresholds)
    shape = np.asarray(model.morphology_classes, dtype=object)[
        np.argmax(morphology, axis=1)].astype(str) if len(crops) else np.zeros(0, dtype=str)
    return ClassCalls(probabilities, morphology, label, shape)
