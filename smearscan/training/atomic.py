"""A trained model's ``.pt`` and ``.onnx`` written as one step: a run stopped on the way (Ctrl-C,
SIGTERM, an error) leaves the earlier pair or none, never one half of it or part of a file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from smearscan.executor.processes import stops_held
from smearscan.network import save_model
from smearscan.outputs import TEMPORARY_SUFFIX


def save_model_atomic(out: Path, network: torch.nn.Module, metadata: dict[str, Any]) -> Path:
    """:func:`~smearscan.network.save_model` as one step: the ``.pt`` file and its ``.onnx``
    export are written under temporary names beside ``out`` and renamed into place together
    at the end, so that a run stopped (Ctrl-C, SIGTERM) or failing on the way leaves the
    earlier pair, or nothing, never one half or a part of a file.

    Temporaries are named like :mod:`smearscan.outputs`'s (``.NAME.XXXXXXXX.smearscan-part``
    and the export's ``...-part.onnx``) and removed on any failure.
    """
    out = Path(out)
    onnx = out.with_suffix(".onnx")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.",
                                suffix=f"{TEMPORARY_SUFFIX}.pt")
    os.close(fd)
    temporary = Path(name)
    written = [temporary, temporary.with_suffix(".onnx")]
    try:
        save_model(temporary, network, metadata)
        with stops_held():  # the two renames: never one without the other
            os.replace(written[1], onnx)
            os.replace(written[0], out)
    finally:
        for path in (*written, *(p.with_name(p.name + ".partial") for p in written)):
            path.unlink(missing_ok=True)
    return out
