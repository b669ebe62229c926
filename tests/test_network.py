"""Tests of the torch network, its .pt model files and the ONNX export (need the train extra)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

from smearscan import default_model_path  # noqa: E402
from smearscan.classification import (  # noqa: E402
    CLASSES,
    MORPHOLOGY_CLASSES,
    ModelLoadError,
    OnnxNetwork,
    load_model,
)
from smearscan.network import (  # noqa: E402
    DEFAULT_ARCHITECTURE,
    TorchNetwork,
    build_network,
    inference_network,
    save_model,
)
from smearscan.pipeline import field_cells  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "datasets" / "samples"
_POINTS = {"schistocyte": {"threshold": 0.5}, "nrbc": {"threshold": 0.5},
           "immature_granulocyte": {"threshold": 0.5}}
#: The acceptance bound of issue 19 on torch vs ONNX Runtime probabilities.
TOLERANCE = 1e-4


def _trained_like(network):
    """``network`` with non-trivial batch-norm statistics, as after training."""
    for module in network.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2)
    return network


def _tiny_model_file(path: Path, architecture: dict = DEFAULT_ARCHITECTURE) -> Path:
    torch.manual_seed(0)
    network = _trained_like(build_network(architecture))
    return save_model(path, network, {"model_version": "test-1", "architecture": {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in architecture.items()}, "operating_points": _POINTS})


def test_saving_writes_the_pt_file_and_its_onnx_export_with_the_same_metadata(tmp_path):
    path = _tiny_model_file(tmp_path / "m.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m.pt"]
    torch_model, onnx_model = load_model(path), load_model(tmp_path / "m.onnx")
    assert isinstance(torch_model.network, TorchNetwork)
    assert isinstance(onnx_model.network, OnnxNetwork)
    assert onnx_model.metadata == json.loads(json.dumps(torch_model.metadata))
    for model in (torch_model, onnx_model):
        assert model.classes == CLASSES and model.morphology_classes == MORPHOLOGY_CLASSES
        assert model.version == "test-1" and model.crop_size == 64
        assert model.thresholds == {"schistocyte": 0.5, "nrbc": 0.5, "immature_granulocyte": 0.5}
    # Each metadata key is one ONNX metadata property holding JSON.
    props = {p.key: json.loads(p.value) for p in onnx.load(tmp_path / "m.onnx").metadata_props}
    assert props["classes"] == list(CLASSES) and props["format_version"] == 1
    assert props["normalisation"] == {"kind": "optical_density", "background_percentile": 95.0,
                                      "max_density": 3.0}
    crops = np.random.default_rng(0).random((37, 4, 64, 64), dtype=np.float32) * 2
    expected, got = torch_model.network(crops), onnx_model.network(crops)
    for a, b in zip(expected, got, strict=True):
        assert a.shape == b.shape and np.abs(a - b).max() <= TOLERANCE


def test_model_files_without_a_depth_hold_the_one_convolution_network(tmp_path):
    # cnn-2026.11-5 and earlier files record only widths and dropout.
    old = _tiny_model_file(tmp_path / "old.pt", {"widths": (16, 32, 64, 96), "dropout": 0.2})
    convolutions = sum(isinstance(m, torch.nn.Conv2d)
                       for m in load_model(old).network.module.modules())
    assert convolutions == 4
    deeper = sum(isinstance(m, torch.nn.Conv2d) for m in
                 load_model(_tiny_model_file(tmp_path / "new.pt")).network.module.modules())
    assert deeper == 1 + sum(DEFAULT_ARCHITECTURE["depth"])


def test_folding_batch_norm_keeps_the_network_function():
    torch.manual_seed(1)
    network = _trained_like(build_network(DEFAULT_ARCHITECTURE)).eval()
    crops = torch.rand(8, 4, 64, 64)
    fused = inference_network(network)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fused.modules())
    with torch.inference_mode():
        for expected, got in zip(network(crops), fused(crops), strict=True):
            assert torch.allclose(expected, got, atol=1e-5)


def test_torch_network_pads_batches_without_changing_a_probability():
    torch.manual_seed(2)
    network = TorchNetwork(build_network(DEFAULT_ARCHITECTURE))
    crops = np.random.default_rng(4).random((5, 4, 64, 64), dtype=np.float32)
    padded, unpadded = network(crops)[0], TorchNetwork(network.module, pad_rows=1)(crops)[0]
    assert padded.shape == (5, len(CLASSES)) and np.allclose(padded, unpadded, atol=1e-6)


def test_corrupt_pt_file_is_a_one_line_error(tmp_path):
    path = tmp_path / "bad.pt"
    path.write_bytes(b"not a torch file at all")
    with pytest.raises(ModelLoadError, match="bad.pt: not a readable model file") as error:
        load_model(path)
    assert "\n" not in str(error.value)


def test_truncated_pt_file_is_an_error(tmp_path):
    path = _tiny_model_file(tmp_path / "m.pt")
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(ModelLoadError, match="m.pt"):
        load_model(path)


def test_unknown_format_version_is_refused_in_either_file(tmp_path):
    path = _tiny_model_file(tmp_path / "m.pt")
    content = torch.load(path, weights_only=True)
    content["format_version"] = 99
    torch.save(content, path)
    with pytest.raises(ModelLoadError, match="m.pt: unknown model format version 99"):
        load_model(path)
    exported = onnx.load(tmp_path / "m.onnx")
    onnx.helper.set_model_props(exported, {p.key: p.value for p in exported.metadata_props}
                                | {"format_version": "99"})
    onnx.save(exported, tmp_path / "m.onnx")
    with pytest.raises(ModelLoadError, match="m.onnx: unknown model format version 99"):
        load_model(tmp_path / "m.onnx")


def test_onnx_file_without_metadata_is_refused(tmp_path):
    _tiny_model_file(tmp_path / "m.pt")
    bare = onnx.load(tmp_path / "m.onnx")
    del bare.metadata_props[:]
    onnx.save(bare, tmp_path / "bare.onnx")
    with pytest.raises(ModelLoadError, match="bare.onnx: not a smearscan model file"):
        load_model(tmp_path / "bare.onnx")


def test_bare_state_dict_is_refused(tmp_path):
    path = tmp_path / "bare.pt"
    torch.save(build_network(DEFAULT_ARCHITECTURE).state_dict(), path)
    with pytest.raises(ModelLoadError, match="bare.pt"):
        load_model(path)


def test_shipped_onnx_export_is_the_shipped_pt_model():
    """default.onnx holds default.pt's metadata, and gives the same probabilities."""
    pt = load_model(default_model_path().with_suffix(".pt"))
    exported = load_model()
    assert exported.metadata == json.loads(json.dumps(pt.metadata))
    crops = np.random.default_rng(5).random((64, 4, 64, 64), dtype=np.float32) * 3
    for a, b in zip(pt.network(crops), exported.network(crops), strict=True):
        assert np.abs(a - b).max() <= TOLERANCE


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.jpg")))
def test_torch_and_onnx_runtime_make_the_same_calls_on_the_sample_fields(sample):
    from smearscan.loading import read_field

    rgb = read_field(SAMPLES / sample)
    pt = load_model(default_model_path().with_suffix(".pt"))
    by_torch = field_cells(rgb, pixel_size_um=None, model=pt).cells
    by_onnx = field_cells(rgb, pixel_size_um=None, model=load_model()).cells
    assert len(by_onnx["cell_id"]) >= 15  # 133 objects on chula-1, 15 on bccd-00000
    assert list(by_onnx["class"]) == list(by_torch["class"])
    assert list(by_onnx["morphology"]) == list(by_torch["morphology"])
    probabilities = [f"p_{name}" for name in CLASSES]
    difference = max(np.abs(by_onnx[c] - by_torch[c]).max() for c in probabilities)
    assert difference <= TOLERANCE
