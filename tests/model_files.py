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


def fold_models(out: Path, fields: list[str], version: str) -> list[Path]:
    """Fold models of the shipped weights, the k-th holding out ``fields[k]`` alone, as
    ``scripts/cross_validate.py --save-folds`` writes them (needs the train extra)."""
    from smearscan.network import load_network
    from smearscan.training.fit import DEFAULT_RECIPE
    from smearscan.training.train import write_fold_model

    network, metadata = load_network(default_model_path().with_suffix(".pt"))
    point = metadata["operating_points"]["schistocyte"]  # a fold model carries the pooled one
    return [write_fold_model(network, out=out / f"fold-{k + 1}.pt", fold=k, fields=[name],
                             point=point, seed=0, epochs=1, recipe=DEFAULT_RECIPE,
                             version=version)
            for k, name in enumerate(fields)]
