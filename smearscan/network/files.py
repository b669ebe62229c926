"""Model files: the ``.pt`` training file, its ONNX export, and reading them back.

:func:`save_model` is the one place a model is written; it writes the ``.pt`` file (weights and
metadata, for training and evaluation) and its ``.onnx`` export beside it (the same metadata in
the ONNX file's metadata properties, each key's value as JSON).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from smearscan.classification import (
    REQUIRED_METADATA,
    CellClassifier,
    ModelLoadError,
    checked_metadata,
    model_metadata,
    onnx_session,
)
from smearscan.network.architecture import CellNet, TorchNetwork, build_network

#: ONNX operator set of the export (ONNX Runtime >= 1.14 runs it).
OPSET = 18
#: The export is refused when ONNX Runtime's probabilities differ more than this from torch's.
EXPORT_TOLERANCE = 1e-4


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
        raise ModelLoadError(f"{path}: " + ("a folder, not a model file" if path.is_dir()
                                            else "no such model file"))
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
