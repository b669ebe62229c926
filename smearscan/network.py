"""The classifier's torch network: architecture, ``.pt`` training files and the ONNX export.

Needed only to train and evaluate (``pip install "smearscan[train]"``): analysis runs the ONNX
export with ONNX Runtime (:mod:`smearscan.classification`). :func:`save_model` is the one
place a model is written; it writes the ``.pt`` file (weights and metadata, for training and
evaluation) and its ``.onnx`` export beside it (the same metadata in the ONNX file's metadata
properties, each key's value as JSON).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from smearscan.classification import (
    CLASSES,
    MORPHOLOGY_CLASSES,
    REQUIRED_METADATA,
    CellClassifier,
    ModelLoadError,
    checked_metadata,
    model_metadata,
    onnx_session,
)

#: Narrower at full resolution and two convolutions at the two coarser scales. In a comparison
#: of variants trained on the same crops (models/README.md, "Why this network"), this lifted
#: schistocyte sensitivity at specificity 0.998 from 0.56 to 0.69 (val) and 0.64 to 0.68 (test)
#: over one convolution per scale at 16/32/64/96 (cnn-2026.11-5), at about the same network
#: time per crop; two convolutions at every scale did as well at 2.3x the time.
DEFAULT_ARCHITECTURE = {"widths": (16, 24, 48, 96), "dropout": 0.2, "depth": (1, 2, 2)}
#: ONNX operator set of the export (ONNX Runtime >= 1.14 runs it).
OPSET = 18
#: The export is refused when ONNX Runtime's probabilities differ more than this from torch's.
EXPORT_TOLERANCE = 1e-4


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


class TorchNetwork:
    """A torch network as a :class:`~smearscan.classification.Network` (softmax outputs).

    Parameters
    ----------
    network : CellNet
        Folded for inference here (:func:`inference_network`).
    pad_rows : int
        Batches are padded with zero crops to a multiple of this many rows. oneDNN caches
        kernels per input shape: one field after another with 117, 131, 140... objects would
        grow the process by ~20 MB per new shape (4.8 GiB over the sizes 1..256,
        scripts/benchmark.py); padding to 32 rows keeps memory flat.
    """

    def __init__(self, network: CellNet, *, pad_rows: int = 32) -> None:
        self.module = inference_network(network)
        self.pad_rows = pad_rows

    def __call__(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = -(-len(crops) // self.pad_rows) * self.pad_rows
        padded = np.zeros((rows, *crops.shape[1:]), np.float32)
        padded[:len(crops)] = crops
        with torch.inference_mode():
            batch = torch.from_numpy(padded).contiguous(memory_format=torch.channels_last)
            logits, morphology = self.module(batch)
            return (torch.softmax(logits[:len(crops)], 1).numpy(),
                    torch.softmax(morphology[:len(crops)], 1).numpy())


# ----------------------------------------------------------------------------- model files


def save_model(path: Path, network: CellNet, metadata: dict[str, Any]) -> Path:
    """Write a model: the ``.pt`` training file at ``path`` and its ONNX export beside it.

    Parameters
    ----------
    path : Path
        Destination of the ``.pt`` file (parent folders are created); the export goes to
        ``path.with_suffix(".onnx")``. Both are written atomically.
    network : CellNet
    metadata : dict
        Plain data (str, numbers, lists, dicts): at least ``model_version``,
        ``architecture`` and ``operating_points`` (``{class: {"threshold": float, ...}}``);
        the class lists, crop geometry, normalisation and format version are added here.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    content = model_metadata(metadata)
    partial = path.with_name(path.name + ".partial")
    torch.save({**content, "state_dict": {k: v.detach().cpu().clone()
                                          for k, v in network.state_dict().items()}}, partial)
    partial.replace(path)
    export_onnx(network, content, path.with_suffix(".onnx"))
    return path


class _Probabilities(nn.Module):
    """The network with a softmax on each head: what the ONNX graph computes."""

    def __init__(self, network: CellNet) -> None:
        super().__init__()
        self.network = network

    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, morphology = self.network(crops)
        return torch.softmax(logits, 1), torch.softmax(morphology, 1)


def export_onnx(network: CellNet, metadata: dict[str, Any], path: Path) -> Path:
    """Write the network as one self-contained ONNX file with ``metadata`` in its properties.

    The graph takes ``crops`` (N, 4, S, S) float32 and gives ``probabilities`` and
    ``morphology_probabilities`` (softmax of each head). Before writing, ONNX Runtime must
    reproduce torch's probabilities on random crops within :data:`EXPORT_TOLERANCE`.

    Parameters
    ----------
    network : CellNet
    metadata : dict
        The model file's metadata (:func:`~smearscan.classification.model_metadata`), no
        weights; each key becomes a metadata property holding its value as JSON.
    path : Path
        Written atomically.

    Returns
    -------
    Path
    """
    import onnx

    wrapped = _Probabilities(copy.deepcopy(network).cpu()).eval()
    size = int(metadata["crop_size"])
    example = torch.from_numpy(np.random.default_rng(0).random((8, 4, size, size),
                                                               dtype=np.float32) * 2)
    program = torch.onnx.export(
        wrapped, (example,), input_names=["crops"],
        output_names=["probabilities", "morphology_probabilities"],
        dynamic_shapes=({0: torch.export.Dim("batch")},), opset_version=OPSET, dynamo=True,
        external_data=False, verbose=False)
    proto = program.model_proto
    onnx.helper.set_model_props(proto, {key: json.dumps(value) for key, value in
                                        metadata.items() if key != "state_dict"})
    data = proto.SerializeToString()
    _check_export(wrapped, data, example, path)
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)
    return path


def _check_export(wrapped: _Probabilities, data: bytes, example: torch.Tensor, path: Path
                  ) -> None:
    with torch.inference_mode():
        expected = [t.numpy() for t in wrapped(example)]
    got = onnx_session(data).run(None, {"crops": example.numpy()})
    worst = max(float(np.abs(a - b).max()) for a, b in zip(expected, got, strict=True))
    if worst > EXPORT_TOLERANCE:
        raise RuntimeError(f"{path}: ONNX export differs from torch by {worst:.2g} "
                           f"(> {EXPORT_TOLERANCE})")


def read_model_file(path: Path) -> dict[str, Any]:
    """The content of a ``.pt`` model file (``weights_only``): checked metadata and
    ``state_dict``.

    Raises
    ------
    ModelLoadError
    """
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such model file")
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - any unpickling failure means a bad file
        # torch's own message is several sentences about pickling; the user needs the file.
        raise ModelLoadError(f"{path}: not a readable model file (corrupt, truncated or not a "
                             "smearscan model)") from None
    return checked_metadata(path, content, (*REQUIRED_METADATA, "state_dict"))


def load_network(path: Path) -> tuple[CellNet, dict[str, Any]]:
    """The network (eval mode, not folded) and metadata of a ``.pt`` model file.

    Raises
    ------
    ModelLoadError
        Missing, corrupt or incompatible file, or weights that do not fit the architecture.
    """
    content = read_model_file(path)
    network = build_network(content["architecture"], classes=len(content["classes"]),
                            morphology_classes=len(content["morphology_classes"]))
    try:
        network.load_state_dict(content["state_dict"])
    except RuntimeError as error:
        reason = str(error).splitlines()[0]
        raise ModelLoadError(f"{path}: weights do not fit the architecture ({reason})") from None
    return network.eval(), {k: v for k, v in content.items() if k != "state_dict"}


def load_torch_model(path: Path, *, threads: int | None = None) -> CellClassifier:
    """A ``.pt`` model file run with torch (see :func:`smearscan.classification.load_model`).

    ``threads`` sets torch's (process-wide) thread count when given.
    """
    network, metadata = load_network(Path(path))
    if threads:
        torch.set_num_threads(threads)
    return CellClassifier.from_metadata(TorchNetwork(network), metadata)


def export_model_file(path: Path, out: Path | None = None) -> Path:
    """Export a ``.pt`` model file to ONNX (by default beside it, same stem)."""
    network, metadata = load_network(Path(path))
    return export_onnx(network, metadata, out or Path(path).with_suffix(".onnx"))
