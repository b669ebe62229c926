"""Tests of the classification stage without torch: crops, the ONNX model, inference."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from skimage.draw import disk

import smearscan
from smearscan import default_model_path
from smearscan.classification import (
    CLASSES,
    MORPHOLOGY_CLASSES,
    CellClassifier,
    ModelLoadError,
    Normalisation,
    call_labels,
    cell_crops,
    classify,
    load_model,
    predict_probabilities,
    symmetric_views,
)
from smearscan.classification.inference import (
    MIN_NUCLEATED_AREA_UM2,
    calls_without_nucleus,
    too_small_to_be_nucleated,
)

DATASETS = Path(__file__).parents[1] / ".." / "shared" / "datasets"


def _disc_field(diameter_um: float, pixel_size_um: float) -> tuple[np.ndarray, np.ndarray]:
    """A pink disc on a white field, and its label image."""
    shape = (200, 240)
    labels = np.zeros(shape, np.int32)
    labels[disk((100, 120), diameter_um / pixel_size_um / 2, shape=shape)] = 1
    rgb = np.full(shape + (3,), 235, np.uint8)
    rgb[labels == 1] = (200, 120, 150)
    return rgb, labels


@pytest.mark.parametrize("pixel_size_um", [0.1, 0.2])
def test_crop_mask_has_the_physical_size_of_the_object(pixel_size_um):
    rgb, labels = _disc_field(7.5, pixel_size_um)
    cells = {"cell_id": np.array([1]), "x": np.array([120.0]), "y": np.array([100.0])}
    crops = cell_crops(rgb, labels, cells, pixel_size_um=pixel_size_um)
    assert crops.shape == (1, 4, 64, 64) and crops.dtype == np.float32
    area_um2 = crops[0, 3].sum() * 0.25**2
    assert area_um2 == pytest.approx(np.pi * 7.5**2 / 4, rel=0.05)
    # Centred: the mask's centroid is the crop centre.
    rows, cols = np.nonzero(crops[0, 3] > 0.5)
    assert rows.mean() == pytest.approx(31.5, abs=0.5) and cols.mean() == pytest.approx(31.5,
                                                                                        abs=0.5)
    # Background has zero optical density, the stained disc a positive one.
    assert crops[0, :3, 0, 0].max() == pytest.approx(0.0, abs=1e-6)
    assert crops[0, 1, 32, 32] > 0.5


def test_crop_near_the_border_is_padded_with_background():
    rgb, labels = _disc_field(7.5, 0.2)
    cells = {"cell_id": np.array([1]), "x": np.array([2.0]), "y": np.array([2.0])}
    crops = cell_crops(rgb, labels, cells, pixel_size_um=0.2)
    assert np.isfinite(crops).all() and crops[0, :, :5, :5].max() == 0


@pytest.mark.parametrize(("x", "y"), [(-0.6, 50.0), (50.0, -0.6), (239.5, 50.0),
                                    (50.0, 199.6)])
def test_a_centroid_outside_the_field_is_refused(x, y):
    rgb, labels = _disc_field(7.5, 0.2)
    cells = {"cell_id": np.array([1, 1]), "x": np.array([0.0, x]), "y": np.array([0.0, y])}
    with pytest.raises(ValueError, match="inside the 240x200 field"):
        cell_crops(rgb, labels, cells, pixel_size_um=0.2)


def test_centroids_on_the_field_edges_are_cropped():
    rgb, labels = _disc_field(7.5, 0.2)
    cells = {"cell_id": np.array([1, 1]), "x": np.array([-0.5, 239.4]),
             "y": np.array([199.4, -0.5])}
    crops = cell_crops(rgb, labels, cells, pixel_size_um=0.2)
    assert crops.shape == (2, 4, 64, 64) and crops[:, 3].max() == 0


def test_no_cells_gives_no_crops():
    rgb, labels = _disc_field(7.5, 0.2)
    empty = {"cell_id": np.zeros(0, int), "x": np.zeros(0), "y": np.zeros(0)}
    assert cell_crops(rgb, labels, empty, pixel_size_um=0.2).shape == (0, 4, 64, 64)


def test_symmetric_views_are_the_seven_other_symmetries_of_the_square():
    crop = np.random.default_rng(2).random((1, 4, 8, 8), dtype=np.float32)
    views = symmetric_views(crop)
    assert views.shape == (7, 4, 8, 8)
    group = [crop[0].tobytes()] + [v.tobytes() for v in views]
    assert len(set(group)) == 8
    # Closed under a quarter turn: turning the crop permutes its 8 views.
    turned = np.rot90(crop, 1, axes=(2, 3)).copy()
    assert set(group) == {turned[0].tobytes()} | {v.tobytes() for v in symmetric_views(turned)}


def _with_band(model, band):
    return dataclasses.replace(model, symmetry_band=band)


def test_objects_in_the_symmetry_band_are_scored_the_same_in_any_orientation():
    model = _with_band(load_model(), None)  # as a file without "inference": single views
    crops = np.random.default_rng(3).random((6, 4, 64, 64), dtype=np.float32)
    turned = np.rot90(crops, 1, axes=(2, 3)).copy()
    everything = _with_band(model, (0.0, 1.1))
    averaged, shapes = predict_probabilities(everything, crops)
    assert np.allclose(averaged, predict_probabilities(everything, turned)[0], atol=1e-5)
    assert np.allclose(shapes, predict_probabilities(everything, turned)[1], atol=1e-5)
    single = predict_probabilities(model, crops)[0]
    assert not np.allclose(single, predict_probabilities(model, turned)[0], atol=1e-5)
    # Outside the band nothing changes.
    nothing = _with_band(model, (2.0, 3.0))
    assert np.array_equal(predict_probabilities(nothing, crops)[0], single)


def test_call_rule_thresholds_targets_then_argmax_of_the_rest():
    classes = ("rbc", "schistocyte", "nrbc", "wbc")
    probabilities = np.array([
        [0.70, 0.30, 0.00, 0.00],  # schistocyte over its threshold 0.2 beats a likelier rbc
        [0.85, 0.10, 0.05, 0.00],  # no target reaches its threshold: argmax of the rest
        [0.10, 0.40, 0.50, 0.00],  # both targets reach theirs: the more probable wins
        [0.00, 0.00, 0.45, 0.55],  # nrbc under its threshold 0.6 -> wbc
    ])
    thresholds = {"schistocyte": 0.2, "nrbc": 0.6}
    thresholds_low = {"schistocyte": 0.2, "nrbc": 0.4}
    assert list(call_labels(probabilities, classes, thresholds)) == [
        "schistocyte", "rbc", "schistocyte", "wbc"]
    assert call_labels(probabilities, classes, thresholds_low)[2] == "nrbc"


def test_an_object_without_a_nucleus_is_called_as_no_nucleated_class():
    classes = ("rbc", "schistocyte", "nrbc", "wbc", "immature_granulocyte", "platelet")
    probabilities = np.array([
        [0.10, 0.05, 0.60, 0.20, 0.00, 0.05],  # nrbc, then wbc: both ruled out -> rbc
        [0.05, 0.30, 0.50, 0.15, 0.00, 0.00],  # schistocyte reaches its threshold 0.2
        [0.05, 0.00, 0.55, 0.10, 0.20, 0.10],  # immature granulocyte ruled out too -> platelet
    ])
    thresholds = {"schistocyte": 0.2, "nrbc": 0.5, "immature_granulocyte": 0.1}
    assert list(call_labels(probabilities, classes, thresholds)) == [
        "nrbc", "nrbc", "nrbc"]
    assert list(calls_without_nucleus(probabilities, classes, thresholds)) == [
        "rbc", "schistocyte", "platelet"]


def test_an_object_smaller_than_any_nucleated_cell_is_called_no_nucleated_class():
    # A platelet-sized object called a white cell raised the white-cell count of PBC crops.
    label = np.array(["wbc", "wbc", "nrbc", "immature_granulocyte", "platelet", "rbc", "wbc"])
    area = np.array([9.99, 10.0, 4.0, 2.5, 3.0, 5.0, 52.0])
    assert MIN_NUCLEATED_AREA_UM2 == 10.0
    assert too_small_to_be_nucleated(label, area).tolist() == [0, 2, 3]
    assert too_small_to_be_nucleated(label[:0], area[:0]).tolist() == []


def test_nuclear_fractions_count_the_nucleus_stained_pixels_of_each_object():
    from smearscan.segmentation import nuclear_fractions

    rgb = np.full((60, 120, 3), (235, 225, 215), np.uint8)  # pale background
    labels = np.zeros((60, 120), np.int32)
    rows, cols = disk((30, 30), 15)
    labels[rows, cols] = 1
    rgb[rows, cols] = (200, 120, 140)  # haemoglobin: blue absorbed about as much as green
    rows, cols = disk((30, 90), 15)
    labels[rows, cols] = 2
    rgb[rows, cols] = (200, 120, 140)
    nucleus = disk((30, 90), 7)
    rgb[nucleus] = (90, 50, 160)  # chromatin: absorbs green, lets blue through
    fractions = nuclear_fractions(rgb, labels, np.array([1, 2]))
    assert fractions[0] == 0
    assert fractions[1] == len(nucleus[0]) / np.count_nonzero(labels == 2)
    with pytest.raises(ValueError, match="^object 3 is not in the label image$"):
        nuclear_fractions(rgb, labels, np.array([3]))


def _real_crops(fields, name: str) -> np.ndarray:
    """Crops of the objects labelled ``name`` in ``fields`` (segmented at the declared scale)."""
    from smearscan.features import cell_table
    from smearscan.loading import read_field
    from smearscan.segmentation import segment_field
    pytest.importorskip("torch")  # the point matching lives in the training module
    from smearscan.training import objects_at_points

    crops = []
    for field in fields:
        xy = np.array([(x, y) for x, y, label in field.points if label == name]).reshape(-1, 2)
        if not len(xy):
            continue
        rgb = read_field(field.image)
        labels = segment_field(rgb, pixel_size_um=field.pixel_size_um).labels
        table = cell_table(labels, rgb, pixel_size_um=field.pixel_size_um)
        rows = objects_at_points(labels, table, xy, max_distance_px=np.inf)
        cells = {k: table[k][rows] for k in ("cell_id", "x", "y")}
        crops.append(cell_crops(rgb, labels, cells, pixel_size_um=field.pixel_size_um))
    return np.concatenate(crops)


@pytest.mark.slow
def test_shipped_model_calls_real_schistocytes_and_erythroblasts():
    if not DATASETS.is_dir():
        pytest.skip("shared datasets not available")
    from smearscan.datasets import chula_fields, pbc_fields, split_fields

    model = load_model()
    assert model.version.startswith("cnn-")
    chula = split_fields(chula_fields(DATASETS / "chula-rbc-12"))["test"]
    with_fragments = [f for f in chula if any(p[2] == "schistocyte" for p in f.points)][:6]
    schistocytes = classify(model, _real_crops(with_fragments, "schistocyte"))
    normal = classify(model, _real_crops(with_fragments, "normal"))
    # Pinned on the shipped model: it calls 11 of these 25 schistocytes (test sensitivity at
    # the operating threshold is 0.67) and none of the 106 normal cells of the same fields.
    assert np.mean(schistocytes.label == "schistocyte") >= 0.3
    assert schistocytes.probabilities[:, 1].mean() > 10 * normal.probabilities[:, 1].mean()
    assert np.mean(normal.label == "schistocyte") <= 0.02
    erythroblasts = [f for f in split_fields(pbc_fields(DATASETS / "pbc"))["test"]
                     if f.points[0][2] == "erythroblast"][:10]
    assert np.mean(classify(model, _real_crops(erythroblasts, "erythroblast")).label
                   == "nrbc") >= 0.9


def test_shipped_model_is_small_and_self_describing():
    path = default_model_path()
    assert path.name == "default.onnx" and path.stat().st_size < 1024**2
    model = load_model()
    assert model.metadata["format_version"] == 1
    assert set(model.thresholds) == {"schistocyte", "nrbc", "immature_granulocyte"}
    assert "test_metrics" in model.metadata and "val_metrics" in model.metadata
    assert (model.crop_size, model.crop_scale_um) == (64, 0.25)
    assert model.normalisation == Normalisation(95.0, 3.0)
    assert model.operating["schistocyte"]["threshold"] == model.thresholds["schistocyte"]


def test_a_checkout_run_with_pythonpath_finds_its_own_model(tmp_path):
    # QA 83 #2: a second checkout run with PYTHONPATH beside an editable install of another
    # read that install's models/default.onnx, which changed under it.
    tree = tmp_path / "checkout"
    shutil.copytree(Path(smearscan.__file__).parent, tree / "smearscan",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tree / "pyproject.toml").write_text("[project]\nname = 'smearscan'\n")
    (tree / "models").mkdir()
    (tree / "models" / "default.onnx").write_bytes(default_model_path().read_bytes())
    found = subprocess.run(
        [sys.executable, "-c", "import smearscan; print(smearscan.default_model_path())"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True,
        text=True, check=True).stdout.strip()
    assert found == str(tree / "models" / "default.onnx")


def test_missing_model_file_is_a_one_line_error(tmp_path):
    with pytest.raises(ModelLoadError, match="no such model file") as error:
        load_model(tmp_path / "absent.onnx")
    assert "\n" not in str(error.value) and "absent.onnx" in str(error.value)
    with pytest.raises(ModelLoadError, match=rf"^{tmp_path}: a folder, not a model file$"):
        load_model(tmp_path)  # QA 50 F8: "no such model file"


@pytest.mark.parametrize("content", [b"not an onnx file at all", None])
def test_corrupt_or_truncated_onnx_file_is_a_one_line_error(tmp_path, content):
    path = tmp_path / "bad.onnx"
    shipped = default_model_path().read_bytes()
    path.write_bytes(content if content is not None else shipped[:len(shipped) // 2])
    with pytest.raises(ModelLoadError, match="bad.onnx: not a readable model file") as error:
        load_model(path)
    assert "\n" not in str(error.value)


def test_pt_file_without_torch_is_a_one_line_error(tmp_path, monkeypatch):
    path = tmp_path / "m.pt"
    path.write_bytes(b"weights")
    monkeypatch.setitem(sys.modules, "smearscan.network", None)  # as when torch is missing
    with pytest.raises(ModelLoadError, match=r"m.pt: a torch model file needs torch .*\.onnx"):
        load_model(path)


def _metadata() -> dict:
    return dict(load_model().metadata)


@pytest.mark.parametrize(("change", "message"), [
    ({"format_version": 99}, "unknown model format version 99"),
    ({"normalisation": {"kind": "z-score"}}, "unknown crop normalisation 'z-score'"),
    ({"classes": None}, "model file lacks classes"),
])
def test_incompatible_metadata_is_refused(change, message):
    from smearscan.classification import checked_metadata

    metadata = {k: v for k, v in (_metadata() | change).items() if v is not None}
    with pytest.raises(ModelLoadError, match=f"m.onnx: {message}"):
        checked_metadata(Path("m.onnx"), json.loads(json.dumps(metadata)))


def test_crops_follow_the_models_geometry_and_normalisation():
    """The model's crop size, scale and normalisation come from its file, not from constants."""
    rgb, labels = _disc_field(7.5, 0.2)
    cells = {"cell_id": np.array([1]), "x": np.array([120.0]), "y": np.array([100.0])}
    metadata = _metadata() | {"crop_size": 32, "crop_scale_um": 0.5,
                              "normalisation": {"kind": "optical_density",
                                                "background_percentile": 95.0,
                                                "max_density": 0.25}}
    model = CellClassifier.from_metadata(load_model().network, metadata)
    crops = model.crops(rgb, labels, cells, pixel_size_um=0.2)
    assert crops.shape == (1, 4, 32, 32)
    assert crops[0, :3].max() == pytest.approx(0.25)  # clipped at the file's max_density
    # The mask covers the disc at 0.5 um/px: pi * 3.75^2 um^2 / 0.25 um^2 per pixel.
    assert crops[0, 3].sum() * 0.5**2 == pytest.approx(np.pi * 7.5**2 / 4, rel=0.06)


def test_classify_shapes_and_probabilities():
    model = load_model()
    crops = np.random.default_rng(1).random((300, 4, 64, 64), dtype=np.float32)
    calls = classify(model, crops, batch_size=128)
    assert calls.probabilities.shape == (300, len(CLASSES))
    assert calls.morphology_probabilities.shape == (300, len(MORPHOLOGY_CLASSES))
    assert np.allclose(calls.probabilities.sum(1), 1, atol=1e-5)
    assert np.allclose(calls.morphology_probabilities.sum(1), 1, atol=1e-5)
    assert set(calls.label) <= set(CLASSES) and set(calls.morphology) <= set(MORPHOLOGY_CLASSES)
    # Batching does not change a probability.
    assert np.allclose(classify(model, crops, batch_size=7).probabilities, calls.probabilities,
                       atol=1e-6)
    assert classify(model, crops[:0]).label.shape == (0,)
    with pytest.raises(ValueError, match="crops must be"):
        classify(model, crops[:, :3])


def test_a_dim_field_without_colour_spread_may_be_underexposed_not_grayscale():
    # QA 50 F4: a colour field shot with too little light was called "a grayscale image".
    from PIL import Image

    from smearscan.classification.crops import require_stain_colour
    from smearscan.errors import ColourlessFieldError

    field = np.asarray(Image.open(Path(__file__).resolve().parents[1] / "datasets" / "samples"
                                  / "chula-1.jpg"))
    with pytest.raises(ColourlessFieldError) as refused:
        require_stain_colour((field / 10).round().astype(np.uint8))
    assert str(refused.value) == (
        "a grayscale or underexposed image (its brightest levels reach 15 of 255: if it is a "
        "colour field, give it more light or rescale its levels; colour spread 5 of 255 levels, "
        "under 6, this tool's rule): the classifier needs the stain's colour to tell white "
        "cells, NRBCs and platelets from red cells; on the command line, 'smearscan "
        "--no-classify' segments and measures only")
