"""Variants of the shipped model for tests: its ONNX graph with changed metadata properties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnx

from smearscan import default_model_path

#: ``cnn-2026.12-6`` as it shipped: the classifier of tests that follow particular calls (the
#: review's galleries, a report's sentence about them), kept so that a retrained shipped model
#: does not move them.
FROZEN_MODEL = Path(__file__).resolve().parent / "data" / "cnn-2026.12-6.onnx"


def shipped_metadata(source: Path | None = None) -> dict[str, Any]:
    """The metadata properties of the shipped model (or of the model file ``source``), each
    decoded from JSON."""
    model = onnx.load(source or default_model_path())
    return {p.key: json.loads(p.value) for p in model.metadata_props}


def model_with(path: Path, source: Path | None = None, **changes: Any) -> Path:
    """The shipped model (or the model file ``source``) written to ``path`` with metadata keys
    replaced by ``changes``."""
    model = onnx.load(source or default_model_path())
    onnx.helper.set_model_props(model, {key: json.dumps(value) for key, value in
                                        (shipped_metadata(source) | changes).items()})
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
