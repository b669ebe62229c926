"""The model file: a loaded :class:`CellClassifier`, its metadata checked, its ONNX network.

Weights, class lists, crop geometry, normalisation and the operating thresholds chosen on
validation data travel together in one model file; analysis reads its crop geometry and
normalisation from the file, not from :mod:`.crops`' constants (which are what a newly trained
model is given).

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

import numpy as np

from smearscan import default_model_path
from smearscan.classes import CLASSES, MORPHOLOGY_CLASSES, TARGET_CLASSES
from smearscan.classification.crops import (
    CROP_SCALE_UM,
    CROP_SIZE,
    DEFAULT_NORMALISATION,
    Normalisation,
    cell_crops,
)
from smearscan.errors import SmearscanError, train_extra_command

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
        ``scripts/cross_validate.py``) gives its own rates and their standard errors. NRBC
        false calls measured by source on whole images (``false_calls``, from
        ``scripts/nrbc_false_calls.py``) are passed on as they are.
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
            if "false_calls" in point:
                points[name]["false_calls"] = point["false_calls"]
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
    """The :attr:`CellClassifier.operating` entry of an end-to-end operating point, with its
    whole-field rates (``whole_field``, from ``scripts/whole_field_point.py``) where it has
    them."""
    entry = {"threshold": point["threshold"], "sensitivity": point["sensitivity"],
             "false_positive_rate": point["false_positive_rate"],
             "sensitivity_se": point["sensitivity_se"],
             "false_positive_rate_se": point["false_positive_rate_se"],
             "estimate": point["estimate"], "validation_negatives": point["negatives"]}
    if "whole_field" in point:
        entry["whole_field"] = {key: point["whole_field"][key]
                                for key in (*WHOLE_FIELD_RATES, "estimate")}
    return entry


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


def version_problem(version: str) -> str | None:
    """Why ``version`` cannot be a model version (it is shown in every report and file), or
    None: it must be 1-100 printable characters without whitespace."""
    if not version:
        return "is empty"
    if len(version) > 100:
        return "is longer than 100 characters"
    if not version.isprintable() or any(c.isspace() for c in version):
        return "must be printable characters without spaces"
    return None


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


#: The rates a point's ``whole_field`` gives (``scripts/whole_field_point.py``).
WHOLE_FIELD_RATES = ("sensitivity", "false_positive_rate", "sensitivity_se",
                     "false_positive_rate_se")


def _whole_field_problem(rates: object) -> str | None:
    """What is wrong with a point's ``whole_field`` rates, in a few words; None when usable."""
    if not isinstance(rates, dict) or not isinstance(rates.get("estimate"), str):
        return f"{rates!r:.60} is not a mapping of rates with their estimate"
    wrong = [key for key in WHOLE_FIELD_RATES if not _probability(rates.get(key))]
    return f"{', '.join(wrong)} not a probability (0-1)" if wrong else None


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
        if "whole_field" in point and _whole_field_problem(point["whole_field"]):
            return f"{name} whole_field {_whole_field_problem(point['whole_field'])}"
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


def load_model(path: str | os.PathLike | None = None, *,
               threads: int | None = None) -> CellClassifier:
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
    TypeError
        ``path`` is neither None, a str nor path-like.
    ValueError
        ``threads`` is not a whole number of 1 or more.
    """
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or threads < 1):
        # QA 57 #13: '2' and 2.5 were told as a corrupt model file; 0 and True were taken.
        raise ValueError(f"threads = {threads!r}: expected a whole number of 1 or more")
    if path is not None and not isinstance(path, str | os.PathLike):
        raise TypeError(f"path: expected a file path (str or os.PathLike), got "
                        f"{type(path).__name__}")  # qacli3 LOW-7: os.fspath's named neither
    if path is not None and not os.fspath(path):
        raise ModelLoadError("the model path is empty")
    path = Path(path) if path is not None else default_model_path()
    threads = threads or default_threads()
    if not path.is_file():
        raise ModelLoadError(f"{path}: " + ("a folder, not a model file" if path.is_dir()
                                            else "no such model file"))
    if path.suffix == ".pt":
        try:
            from smearscan.network import load_torch_model
        except ImportError as error:
            raise ModelLoadError(f"{path}: a torch model file needs torch ({error}); use its "
                                 f".onnx export or add the train extra: {train_extra_command()}"
                                 ) from None
        return load_torch_model(path, threads=threads)
    return _onnx_model(path, threads)


def check_operating_points(model: CellClassifier, source: object) -> None:
    """Refuse, for counting, a model whose operating point has a sensitivity not above its
    false-positive rate: no count can be corrected for its error (Rogan-Gladen), and analysis
    would fail at the first slide. A model trained on a few fields (``smearscan train
    --limit``) can have one; it can still be evaluated.

    Raises
    ------
    ModelLoadError
        One line naming ``source`` (the model file) and the point.
    """
    for name, point in model.operating.items():
        for which, rates in (("", point), (" whole-field", point.get("whole_field", {}))):
            sensitivity, rate = rates.get("sensitivity"), rates.get("false_positive_rate")
            if sensitivity is not None and rate is not None and not 0 <= rate < sensitivity <= 1:
                raise ModelLoadError(
                    f"{source}: its {name}{which} operating point has sensitivity "
                    f"{sensitivity:g} and false-positive rate {rate:g}; a count cannot be "
                    "corrected unless the sensitivity is above the rate (train it on more data)")


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
