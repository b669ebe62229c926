"""Variants of the shipped model for tests: its ONNX graph with changed metadata properties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnx

from smearscan import default_model_path


def shipped_metadata() -> dict[str, Any]:
    """The shipped model's metadata properties, each decoded from JSON."""
    return {p.key: json.loads(p.value) for p in onnx.load(default_model_path()).metadata_props}


def model_with(path: Path, **changes: Any) -> Path:
    """The shipped model written to ``path`` with metadata keys replaced by ``changes``."""
    model = onnx.load(default_model_path())
    onnx.helper.set_model_props(model, {key: json.dumps(value) for key, value in
                                        (shipped_metadata() | changes).items()})
    onnx.save(model, path)
    return path
