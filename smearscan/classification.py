"""Classification stage: one small CNN calls every segmented object and, for red cells, its shape.

Each object becomes a crop at one physical scale (by default 64 x 64 px at 0.25 um/px, a
16 um window that holds a white cell), so that a cell looks the same whichever microscope took
it. A crop has 4 channels: the optical density of R, G and B relative to the field's own
background (``ln(I0 / I)``, which removes the illumination and most of the camera's white
balance) and a mask of the target object, so that the network knows which of touching cells is
meant.

The network has two heads: :data:`CLASSES` for every object and :data:`MORPHOLOGY_CLASSES` (the
Chula RBC-12 shapes) for red cells. Weights, class lists, crop geometry, normalisation and the
operating thresholds chosen on validation data travel together in one model file; analysis
reads its crop geometry and normalisation from the file, not from this module's constants
(which are what a newly trained model is given).

This module never imports torch: the shipped model is an ONNX file (``models/default.onnx``)
run with ONNX Runtime, its metadata in the file's metadata properties (each a JSON value).
The torch network, its ``.pt`` training file and the ONNX export live in
:mod:`smearscan.network` (``pip install "smearscan[train]"``); :func:`load_model` hands a
``.pt`` file to it.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from smearscan import default_model_path
from smearscan.classes import CLASSES, MORPHOLOGY_CLASSES, TARGET_CLASSES
from smearscan.errors import ColourlessFieldError, SmearscanError
from smearscan.segmentation import uint8_percentile

#: Crop side (px) and scale (um/px) of the shipped model.
CROP_SIZE = 64
CROP_SCALE_UM = 0.25
#: Percentile of each channel taken as the field's background (bright slide) level.
BACKGROUND_PERCENTILE = 95.0
#: Optical densities are clipped to this (ln units): darker pixels carry no more information.
MAX_DENSITY = 3.0

#: A field whose colour spread (:func:`colour_spread`) is under this many levels carries no
#: stain colour and is not classified (this tool's rule). Grey images stored as RGB have 0;
#: the palest of 557 Chula fields has 13, BCCD fields 79 and more, PBC crops 57 and more. On
#: grey copies of 12 PBC erythroblast and 8 BCCD fields, the 20 NRBC and 5 white-cell calls of
#: the colour fields all became red cells or platelets: a confident wrong count.
MIN_COLOUR_SPREAD = 6.0

FORMAT_VERSION = 1
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


@dataclass(frozen=True)
class Normalisation:
    """How a crop's pixel values are made: optical density against the field's background.

    Attributes
    ----------
    background_percentile : float
        Percentile of each channel taken as the background level ``I0``.
    max_density : float
        Densities are clipped to this, ln units.
    """

    background_percentile: float = BACKGROUND_PERCENTILE
    max_density: float = MAX_DENSITY

    def to_dict(self) -> dict[str, Any]:
        """The ``normalisation`` entry of a model file."""
        return {"kind": "optical_density", "background_percentile": self.background_percentile,
                "max_density": self.max_density}


DEFAULT_NORMALISATION = Normalisation()


def field_density(rgb: np.ndarray,
                  normalisation: Normalisation = DEFAULT_NORMALISATION) -> np.ndarray:
    """Optical density of each channel relative to the field's background.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray
    normalisation : Normalisation
        The model's (by default that of a newly trained model).

    Returns
    -------
    (H, W, 3) float32 ndarray
        ``ln(I0 / I)`` clipped to ``[0, max_density]``, where ``I0`` is the channel's
        ``background_percentile`` percentile (0 on the slide background).
    """
    tables = np.stack([density_table(rgb[:, :, channel], normalisation)
                       for channel in range(3)], axis=-1)
    return cv2.LUT(np.ascontiguousarray(rgb), tables[np.newaxis])


def density_table(channel: np.ndarray,
                  normalisation: Normalisation = DEFAULT_NORMALISATION) -> np.ndarray:
    """The optical density of each level 0-255 of one channel (:func:`field_density`).

    Parameters
    ----------
    channel : (H, W) uint8 ndarray
        One channel of a field, for its background level.
    normalisation : Normalisation

    Returns
    -------
    (256,) float32 ndarray
    """
    background = max(uint8_percentile(channel, normalisation.background_percentile), 1.0)
    levels = np.arange(256, dtype=np.float32)
    return np.clip(np.log(background / np.maximum(levels, 0.5)), 0, normalisation.max_density)


def colour_spread(rgb: np.ndarray) -> float:
    """99th percentile over the field of each pixel's largest minus smallest channel (0-255):
    0 for a grey image, tens of levels for a Wright/Giemsa stain."""
    # OpenCV per channel and the histogram percentile: ~0.2 ms on a 640x480 field, where
    # numpy's reductions over the colour axis and np.percentile took ~11 ms.
    red, green, blue = cv2.split(np.ascontiguousarray(rgb))
    spread = cv2.subtract(cv2.max(cv2.max(red, green), blue), cv2.min(cv2.min(red, green), blue))
    return uint8_percentile(spread, 99)


def require_stain_colour(rgb: np.ndarray) -> None:
    """Raise :class:`~smearscan.errors.ColourlessFieldError` for a field without stain colour
    (:data:`MIN_COLOUR_SPREAD`)."""
    spread = colour_spread(rgb)
    if spread < MIN_COLOUR_SPREAD:
        raise ColourlessFieldError(
            f"a grayscale image (colour spread {spread:g} of 255 levels, under "
            f"{MIN_COLOUR_SPREAD:g}, this tool's rule): the classifier needs the stain's colour "
            "to tell white cells, NRBCs and platelets from red cells; --no-classify segments "
            "and measures only")


def cell_crops(
    rgb: np.ndarray, labels: np.ndarray, cells: dict[str, np.ndarray], *, pixel_size_um: float,
    size: int = CROP_SIZE, scale_um: float = CROP_SCALE_UM,
    normalisation: Normalisation = DEFAULT_NORMALISATION,
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
        :func:`smearscan.features.cell_table`), inside the field.
    pixel_size_um : float, keyword-only
        The field's pixel size, um/px.
    size : int, keyword-only
        Crop side, px.
    scale_um : float, keyword-only
        Crop pixel size, um/px; the crop covers ``size * scale_um`` um.
    normalisation : Normalisation, keyword-only
        How densities are made (:func:`field_density`).

    Returns
    -------
    (M, 4, size, size) float32 ndarray
        Channels 0-2 the optical density (:func:`field_density`), channel 3 the object's mask
        (0..1, soft at the edge). Outside the field the crop is 0 (background).

    Raises
    ------
    ValueError
        A centroid outside the field.
    """
    height, width = labels.shape
    column, row = np.round(cells["x"]), np.round(cells["y"])
    if np.any((column < 0) | (column >= width) | (row < 0) | (row >= height)):
        raise ValueError(f"cell centroids must lie inside the {width}x{height} field")
    step = scale_um / pixel_size_um  # field pixels per crop pixel
    half = int(math.ceil((size / 2 + 2) * step)) + 1
    sigma = 0.4 * step if step > 1.2 else 0.0  # anti-aliasing before a downsampling
    # Zero density (slide background) all round, blurred once for the whole field rather than
    # once per cell window: windows overlap, and the field is ~4x smaller than their sum. The
    # labels get the same zero border, so that every cell's window is a view of them.
    density = _bordered(field_density(rgb, normalisation), half)
    if sigma:
        density = cv2.GaussianBlur(density, (0, 0), sigma)
    labels = _bordered(labels.astype(np.int32, copy=False), half)
    out = np.empty((len(cells["cell_id"]), 4, size, size), dtype=np.float32)
    # The warps write into these arrays in place; the densities are moved to channels 0-2 in
    # one copy at the end.
    densities = np.empty((len(out), size, size, 3), dtype=np.float32)
    centre = (size - 1) / 2
    side = 2 * half + 1
    # Crop pixel (u, v) samples field point (x + (u - centre) * step, y + (v - centre) * step),
    # i.e. bordered field point (that + half) and window point (that - (round(x) - half)).
    matrix = np.array([[step, 0.0, 0.0], [0.0, step, 0.0]])
    for i, (cell_id, x, y) in enumerate(zip(cells["cell_id"].tolist(), cells["x"].tolist(),
                                            cells["y"].tolist(), strict=True)):
        left, top = round(x), round(y)  # the window's corner in the bordered labels
        mask = (labels[top:top + side, left:left + side] == cell_id).astype(np.float32)
        if sigma:
            mask = cv2.GaussianBlur(mask, (0, 0), sigma)
        origin_x, origin_y = x - centre * step, y - centre * step
        matrix[:, 2] = origin_x - (left - half), origin_y - (top - half)
        _resample(mask, matrix, out[i, 3])
        matrix[:, 2] = origin_x + half, origin_y + half
        _resample(density, matrix, densities[i])
    out[:, :3] = densities.transpose(0, 3, 1, 2)
    return out


def _bordered(image: np.ndarray, width: int) -> np.ndarray:
    """``image`` with ``width`` zero pixels added on every side."""
    return cv2.copyMakeBorder(image, width, width, width, width, cv2.BORDER_CONSTANT, value=0)


def _resample(image: np.ndarray, matrix: np.ndarray, out: np.ndarray) -> None:
    """Fill ``out`` (a C-contiguous S x S array) with bilinear samples of ``image`` at
    ``matrix @ (u, v, 1)``, 0 outside."""
    cv2.warpAffine(image, matrix, out.shape[1::-1], out, cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                   cv2.BORDER_CONSTANT, 0)


# ----------------------------------------------------------------------------- model file


class Network(Protocol):
    """The network of a loaded model: softmax outputs of both heads for a batch of crops.

    ``network(crops)`` with (N, 4, S, S) float32 crops returns the (N, classes) and
    (N, morphology classes) float32 probabilities.
    """

    def __call__(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass(frozen=True)
class CellClassifier:
    """A loaded model: its network and everything needed to use it.

    Attributes
    ----------
    network : Network
        ONNX Runtime (:class:`OnnxNetwork`) for analysis, torch while training.
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
    normalisation : Normalisation
        How crops are made from the field.
    """

    network: Network
    classes: tuple[str, ...]
    morphology_classes: tuple[str, ...]
    crop_size: int
    crop_scale_um: float
    thresholds: dict[str, float]
    symmetry_band: tuple[float, float] | None
    metadata: dict[str, Any] = field(repr=False)
    normalisation: Normalisation = DEFAULT_NORMALISATION

    @classmethod
    def from_metadata(cls, network: Network, metadata: dict[str, Any]) -> CellClassifier:
        """The model of a file's checked metadata (:func:`checked_metadata`) and its network."""
        band = metadata.get("inference", {}).get("symmetry_band")
        normalisation = metadata["normalisation"]
        return cls(network, tuple(metadata["classes"]), tuple(metadata["morphology_classes"]),
                   int(metadata["crop_size"]), float(metadata["crop_scale_um"]),
                   {name: float(point["threshold"])
                    for name, point in metadata["operating_points"].items()},
                   tuple(band) if band is not None else None, metadata,
                   Normalisation(float(normalisation["background_percentile"]),
                                 float(normalisation["max_density"])))

    def crops(self, rgb: np.ndarray, labels: np.ndarray, cells: dict[str, np.ndarray], *,
              pixel_size_um: float) -> np.ndarray:
        """:func:`cell_crops` with this model's crop geometry and normalisation.

        Returns
        -------
        (M, 4, crop_size, crop_size) float32 ndarray
        """
        return cell_crops(rgb, labels, cells, pixel_size_um=pixel_size_um, size=self.crop_size,
                          scale_um=self.crop_scale_um, normalisation=self.normalisation)

    @property
    def operating(self) -> dict[str, dict[str, Any]]:
        """Each target class's threshold with its validation sensitivity and false-positive rate.

        The false-positive rate is the one over all validation negatives of the class
        (labelled Chula cells for schistocytes, all labelled objects for the others): the rate
        at which a slide's other objects turn into false calls; ``validation_negatives`` says
        how many cells it rests on. ``false_positive_rates`` keeps the rate of every negative
        group of the class's rule. A point estimated out of fold (``estimate`` in the file, from
        ``scripts/cross_validate.py``) gives its own rates and their standard errors.
        """
        points = {}
        for name, point in self.metadata["operating_points"].items():
            if "estimate" in point:
                points[name] = _estimated_point(point)
                continue
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


def _estimated_point(point: dict[str, Any]) -> dict[str, Any]:
    """The :attr:`CellClassifier.operating` entry of an end-to-end operating point."""
    return {"threshold": point["threshold"], "sensitivity": point["sensitivity"],
            "false_positive_rate": point["false_positive_rate"],
            "sensitivity_se": point["sensitivity_se"],
            "false_positive_rate_se": point["false_positive_rate_se"],
            "estimate": point["estimate"], "validation_negatives": point["negatives"]}


#: Metadata every model file carries (a ``.pt`` file also its ``state_dict``).
REQUIRED_METADATA = ("format_version", "model_version", "classes", "morphology_classes",
                     "crop_size", "crop_scale_um", "normalisation", "architecture",
                     "operating_points")


def model_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """A new model file's metadata: ``metadata`` (at least ``model_version``, ``architecture``
    and ``operating_points``) with this version's class lists, crop geometry, normalisation and
    format version added."""
    return {"format_version": FORMAT_VERSION, "classes": list(CLASSES),
            "morphology_classes": list(MORPHOLOGY_CLASSES), "crop_size": CROP_SIZE,
            "crop_scale_um": CROP_SCALE_UM, "normalisation": DEFAULT_NORMALISATION.to_dict(),
            **metadata}


def checked_metadata(path: Path, content: object, required: tuple[str, ...] = REQUIRED_METADATA
                     ) -> dict[str, Any]:
    """``content`` if it is the metadata of a model file this version can use.

    Raises
    ------
    ModelLoadError
        Not a dict, another format version, a missing key, an unknown normalisation or a
        value this version cannot use (:func:`metadata_problem`).
    """
    if not isinstance(content, dict):
        raise ModelLoadError(f"{path}: not a smearscan model file (no metadata)")
    if content.get("format_version") != FORMAT_VERSION:
        raise ModelLoadError(f"{path}: unknown model format version "
                             f"{content.get('format_version')!r} (expected {FORMAT_VERSION})")
    missing = [key for key in required if key not in content]
    if missing:
        raise ModelLoadError(f"{path}: model file lacks {', '.join(missing)}")
    kind = content["normalisation"].get("kind") if isinstance(content["normalisation"],
                                                              dict) else None
    if kind != "optical_density":
        raise ModelLoadError(f"{path}: unknown crop normalisation {kind!r} "
                             "(expected 'optical_density')")
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
    :func:`smearscan.network.build_network` reads; each operating threshold a probability.
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


def default_threads() -> int:
    """Threads of the network: ``OMP_NUM_THREADS`` when set, else 1.

    A field's few hundred crops are classified faster by one thread than by two fighting a
    busy machine; worker processes are the way to use more cores.
    """
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "1")))
    except ValueError:
        return 1


class OnnxNetwork:
    """An ONNX Runtime session of the exported network (CPU); see :class:`Network`.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
        Input ``crops`` (N, 4, S, S); outputs ``probabilities`` and
        ``morphology_probabilities``.
    """

    def __init__(self, session: Any) -> None:
        self.session = session

    def __call__(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        classes, shapes = self.session.run(
            ["probabilities", "morphology_probabilities"],
            {"crops": np.ascontiguousarray(crops, dtype=np.float32)})
        return classes, shapes


def onnx_session(source: Path | bytes, *, threads: int = 1, optimisation: str = "all") -> Any:
    """An ONNX Runtime CPU session of a model file or its bytes.

    ``optimisation`` is ONNX Runtime's graph optimisation level (``disable``, ``basic``,
    ``extended``, ``all``); ``all`` folds each batch norm into its convolution and fuses the
    activations.
    """
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    levels = onnxruntime.GraphOptimizationLevel
    options.graph_optimization_level = {
        "disable": levels.ORT_DISABLE_ALL, "basic": levels.ORT_ENABLE_BASIC,
        "extended": levels.ORT_ENABLE_EXTENDED, "all": levels.ORT_ENABLE_ALL}[optimisation]
    # Idle threads would spin between the small per-field batches, taking a core from the
    # other workers.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source = str(source) if isinstance(source, Path) else source
    return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def load_model(path: Path | None = None, *, threads: int | None = None) -> CellClassifier:
    """Load a model file, by default the shipped ``models/default.onnx``.

    Parameters
    ----------
    path : Path or None
        An ``.onnx`` file (run with ONNX Runtime) or a ``.pt`` training file (run with torch:
        needs the ``train`` extra).
    threads : int or None, keyword-only
        Threads of the network; default :func:`default_threads`.

    Returns
    -------
    CellClassifier

    Raises
    ------
    ModelLoadError
        Missing, corrupt or incompatible file: one line naming the file and the problem.
    """
    path = Path(path) if path is not None else default_model_path()
    threads = threads or default_threads()
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file")
    if path.suffix == ".pt":
        try:
            from smearscan.network import load_torch_model
        except ImportError as error:
            raise ModelLoadError(f"{path}: a torch model file needs torch ({error}); use its "
                                 ".onnx export or install the train extra") from None
        return load_torch_model(path, threads=threads)
    return _onnx_model(path, threads)


def _onnx_model(path: Path, threads: int) -> CellClassifier:
    try:
        session = onnx_session(path, threads=threads)
    except Exception:  # noqa: BLE001 - ONNX Runtime raises several types, all multi-line
        raise ModelLoadError(f"{path}: not a readable model file (corrupt, truncated or not an "
                             "ONNX model)") from None
    try:
        metadata = {key: json.loads(value) for key, value in
                    session.get_modelmeta().custom_metadata_map.items()}
    except ValueError:
        raise ModelLoadError(f"{path}: model metadata is not JSON") from None
    metadata = checked_metadata(path, metadata or None)
    model = CellClassifier.from_metadata(OnnxNetwork(session), metadata)
    _check_signature(path, session, model)
    return model


def _check_signature(path: Path, session: Any, model: CellClassifier) -> None:
    """The graph's input and outputs fit the metadata's crop size and class lists."""
    inputs = {i.name: i.shape for i in session.get_inputs()}
    outputs = {o.name: o.shape for o in session.get_outputs()}
    expected = {"probabilities": len(model.classes),
                "morphology_probabilities": len(model.morphology_classes)}
    crop = inputs.get("crops")
    if crop is None or list(crop[1:]) != [4, model.crop_size, model.crop_size]:
        raise ModelLoadError(f"{path}: the network's input {crop} does not take the "
                             f"(N, 4, {model.crop_size}, {model.crop_size}) crops of its metadata")
    for name, count in expected.items():
        if name not in outputs or outputs[name][-1] != count:
            raise ModelLoadError(f"{path}: the network's output {name!r} does not have the "
                                 f"{count} classes of its metadata")


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


def _network_outputs(model: CellClassifier, crops: np.ndarray,
                     batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Softmax outputs of both heads for one view of each crop."""
    classes, shapes = [], []
    for start in range(0, len(crops), batch_size):
        chunk = np.ascontiguousarray(crops[start:start + batch_size], dtype=np.float32)
        probabilities, morphology = model.network(chunk)
        classes.append(probabilities)
        shapes.append(morphology)
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
        From :meth:`CellClassifier.crops` (:func:`cell_crops` with the model's geometry and
        normalisation).
    batch_size : int, keyword-only
        Crops per network call.

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
