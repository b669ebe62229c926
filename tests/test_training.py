"""Tests of the training module: label mapping, matching, thresholds, a smoke train + evaluate."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from cli_support import exit_code, one_line
from conftest import OTHER_FAMILY_CACHE, STALE_SMOKE_CACHE

from smearscan.classification import CLASSES, load_model
from smearscan.features import cell_table
from smearscan.metrics import sensitivity_at_specificity, threshold_at_false_positive_rate

torch = pytest.importorskip("torch")  # the train extra

from smearscan.training import (  # noqa: E402
    MIN_THRESHOLD,
    CropSet,
    augmented,
    class_of,
    evaluate_model,
    labelled_crops,
    mined_platelets,
    morphology_of,
    objects_at_points,
    operating_points,
    train_model,
)

SHARED = Path(__file__).parents[1] / ".." / "shared"


def test_label_mapping():
    assert class_of("chula", "schistocyte") == "schistocyte"
    assert class_of("chula", "uncategorised") == "rbc"
    assert class_of("chula", "teardrop") == "rbc"
    assert class_of("bccd", "Platelets") == "platelet"
    assert class_of("pbc", "erythroblast") == "nrbc"
    assert class_of("pbc", "ig") == "immature_granulocyte"
    assert class_of("pbc", "lymphocyte") == "wbc"
    assert morphology_of("chula", "teardrop") >= 0
    assert morphology_of("chula", "schistocyte") == -1
    assert morphology_of("chula", "uncategorised") == -1
    assert morphology_of("bccd", "RBC") == -1


def test_points_take_the_object_under_them_else_the_nearest_close_one():
    labels = np.zeros((20, 40), np.int32)
    labels[2:8, 2:8] = 1
    labels[2:8, 30:36] = 2
    table = {"cell_id": np.array([1, 2]), "x": np.array([4.5, 32.5]), "y": np.array([4.5, 4.5])}
    xy = np.array([[5.0, 5.0], [10.0, 5.0], [20.0, 15.0]])
    assert list(objects_at_points(labels, table, xy, max_distance_px=6)) == [0, 0, -1]
    assert list(objects_at_points(labels, table, xy, max_distance_px=np.inf)) == [0, 0, 1]


def test_threshold_keeps_the_false_positive_rate():
    negatives = np.linspace(0, 1, 1000)
    threshold = threshold_at_false_positive_rate(negatives, 0.002)
    assert np.sum(negatives >= threshold) <= 2
    assert np.sum(negatives >= np.nextafter(negatives[-3], -np.inf)) == 3
    scores = np.concatenate([negatives, [0.5, 0.9995, 1.5]])
    positive = np.arange(len(scores)) >= 1000
    reached = sensitivity_at_specificity(scores, positive, 0.998)
    assert reached["specificity"] >= 0.998
    assert reached["sensitivity"] == pytest.approx(2 / 3)


def _crop_set(sources: list[tuple[str, str]]) -> CropSet:
    n = len(sources)
    return CropSet(crops=np.zeros((n, 4, 2, 2), np.float16), label=np.zeros(n, np.int64),
                   morphology=np.full(n, -1), source=np.array([s for _, s in sources]),
                   dataset=np.array([d for d, _ in sources]), split=np.full(n, "val"),
                   features=np.zeros((n, 1), np.float32), group=np.full(n, "g"))


def test_operating_threshold_follows_the_rule_but_never_drops_below_even_odds():
    sources = ([("chula", "normal")] * 1000 + [("chula", "schistocyte")] * 20
               + [("pbc", "erythroblast")] * 20 + [("pbc", "lymphocyte")] * 100)
    data = _crop_set(sources)
    probabilities = np.zeros((len(sources), len(CLASSES)))
    rng = np.random.default_rng(0)
    chula_normal = np.arange(1000)
    # Schistocyte scores of normal cells spread to 0.9: the 0.002 rule sets the threshold.
    probabilities[chula_normal, 1] = np.linspace(0, 0.9, 1000)
    probabilities[1000:1020, 1] = 0.95
    # NRBC scores of every negative are tiny: the rule alone would pick a threshold near 0.
    probabilities[:, 2] = rng.uniform(0, 0.01, len(sources))
    probabilities[1020:1040, 2] = rng.uniform(0.3, 1.0, 20)
    points = operating_points(probabilities, data)
    assert np.sum(probabilities[chula_normal, 1] >= points["schistocyte"]["threshold"]) == 2
    assert points["schistocyte"]["threshold"] > MIN_THRESHOLD
    assert points["nrbc"]["threshold"] == MIN_THRESHOLD
    called = probabilities[1020:1040, 2] >= MIN_THRESHOLD
    assert points["nrbc"]["val_sensitivity"] == pytest.approx(called.mean())
    # No BCCD white cell in this set: its rate is unknown, not NaN (which JSON cannot hold).
    assert points["nrbc"]["val_false_positive_rate"]["bccd_wbc"] is None
    assert points["nrbc"]["val_false_positive_rate"]["pbc_leukocytes"] == 0.0


@pytest.mark.parametrize(("gain", "spread"), [((1.0, 1.0), False), ((0.5, 2.0), True)])
def test_augmentation_varies_the_stain_hue_by_the_channel_gain(gain, spread):
    """Equal densities in all three channels stay equal without a per-channel gain; with a
    x0.5-2 gain some channel pairs differ by more than a x0.85-1.15 gain allows."""
    batch = torch.zeros(32, 4, 80, 80)
    batch[:, :, 30:50, 30:50] = 1
    out = augmented(batch, 64, torch.Generator().manual_seed(0), channel_gain=gain)
    centre = out[:, :3, 28:36, 28:36].mean(dim=(2, 3))
    ratio = centre[:, 0] / centre[:, 2]
    if spread:
        assert float(ratio.max()) > 1.15 / 0.85 and float(ratio.min()) < 0.85 / 1.15
    else:
        assert torch.allclose(ratio, torch.ones_like(ratio), atol=1e-6)


def test_augmentation_gives_the_chosen_crops_their_own_channel_gain():
    """The crops of ``other_gain`` keep equal densities under a gain of x1 while the others,
    under x0.5-2, spread: the Chula-only hue jitter of ``Recipe.chula_channel_gain``."""
    batch = torch.zeros(32, 4, 80, 80)
    batch[:, :, 30:50, 30:50] = 1
    chosen = torch.arange(32) % 2 == 0
    out = augmented(batch, 64, torch.Generator().manual_seed(0), channel_gain=(0.5, 2.0),
                    other_gain=(chosen, (1.0, 1.0)))
    centre = out[:, :3, 28:36, 28:36].mean(dim=(2, 3))
    ratio = centre[:, 0] / centre[:, 2]
    assert torch.allclose(ratio[chosen], torch.ones(16), atol=1e-6)
    assert float(ratio[~chosen].max()) > 1.15 / 0.85 and float(ratio[~chosen].min()) < 0.85 / 1.15


@pytest.mark.parametrize(("move", "side"), [(1.0, 12), (-1.0, 8), (0.0, 10)])
def test_mask_edge_moves_by_whole_pixels(move, side):
    """A 10 x 10 mask grows or shrinks by one pixel all round at a move of +-1."""
    from smearscan.training.fit import _edge_moved

    mask = torch.zeros(1, 1, 20, 20)
    mask[..., 5:15, 5:15] = 1
    moved = _edge_moved(mask, torch.full((1, 1, 1, 1), move))
    expected = torch.zeros(1, 1, 20, 20)
    start = 10 - side // 2
    expected[..., start:start + side, start:start + side] = 1
    assert torch.equal(moved, expected)


def test_mask_edge_moves_by_a_fraction_of_a_pixel():
    """Half a pixel out: the 44 pixels of the new ring at 0.5, the 100 inside at 1."""
    from smearscan.training.fit import _edge_moved

    mask = torch.zeros(1, 1, 20, 20)
    mask[..., 5:15, 5:15] = 1
    moved = _edge_moved(mask, torch.full((1, 1, 1, 1), 0.5))
    assert float(moved.sum()) == 122.0 and int((moved == 0.5).sum()) == 44


def test_augmentation_jitters_the_mask_edge_and_nothing_else():
    """With ``mask_edge_jitter`` the densities are those of the same seed without it (the
    extra draws come last); the masks grow in some crops and shrink in others, by at most one
    pixel ring."""
    batch = torch.zeros(32, 4, 80, 80)
    batch[:, :, 30:50, 30:50] = 1
    plain = augmented(batch, 64, torch.Generator().manual_seed(0))
    jittered = augmented(batch, 64, torch.Generator().manual_seed(0), mask_edge_jitter=1.0)
    assert torch.equal(plain[:, :3], jittered[:, :3])
    change = jittered[:, 3].sum(dim=(1, 2)) - plain[:, 3].sum(dim=(1, 2))
    # One 3 x 3 filter step round a rotated, at most 10% larger 20 x 20 square: sqrt(2) px
    # across an edge at 45 degrees, plus the corners.
    ring = 4 * 22.1 * 2**0.5 + 4 * 2
    assert float(change.max()) > 0 > float(change.min())
    assert float(change.abs().max()) < ring


@pytest.mark.parametrize("jitter", [-0.1, 1.5])
def test_recipe_refuses_a_mask_edge_jitter_outside_one_pixel(jitter):
    from smearscan.training.fit import Recipe

    with pytest.raises(ValueError, match="mask_edge_jitter must lie in 0-1"):
        Recipe(mask_edge_jitter=jitter)


@pytest.mark.parametrize(("weight", "shift"), [(-1.0, 2.0), (1.0, 0.0), (1.0, 9.0)])
def test_recipe_refuses_a_negative_consistency_or_a_move_outside_eight_pixels(weight, shift):
    from smearscan.training.fit import Recipe

    with pytest.raises(ValueError, match="shift_consistency must be >= 0"):
        Recipe(shift_consistency=weight, consistency_shift=shift)


def test_the_consistency_view_moves_each_crop_by_at_most_the_shift():
    """A centred square keeps its area (bilinear weights sum to one) and its centre moves by
    at most ``shift`` pixels along each axis, by different amounts in different crops."""
    from smearscan.training.fit import _translated

    batch = torch.zeros(64, 4, 64, 64)
    batch[:, :, 24:40, 24:40] = 1
    moved = _translated(batch, 2.0, torch.Generator().manual_seed(0))
    mass = moved[:, 3].sum(dim=(1, 2))
    assert torch.allclose(mass, torch.full((64,), 256.0), atol=1e-3)
    grid = torch.arange(64.0)
    centre_x = (moved[:, 3].sum(dim=1) * grid).sum(dim=1) / mass - 31.5
    centre_y = (moved[:, 3].sum(dim=2) * grid).sum(dim=1) / mass - 31.5
    assert float(torch.maximum(centre_x.abs(), centre_y.abs()).max()) <= 2.0
    assert float(centre_x.std()) > 0.5 and float(centre_y.std()) > 0.5


class _Summed(torch.nn.Module):
    """A network that reads its crops' channel sums over ``window`` (rows and columns)."""

    def __init__(self, window: slice) -> None:
        super().__init__()
        self.window = window
        self.classes = torch.nn.Linear(4, 6)
        self.morphology = torch.nn.Linear(4, 3)

    def forward(self, crops):
        summed = crops[:, :, self.window, self.window].sum(dim=(2, 3)) / 100
        return self.classes(summed), self.morphology(summed)


@pytest.mark.parametrize(("window", "penalised"), [(slice(None), False), (slice(0, 32), True)])
def test_the_consistency_term_penalises_only_a_network_that_reads_position(window, penalised):
    """Crops whose object stays inside the image whatever the move: a network of whole-crop
    sums gives both views the same output (no extra loss); one that reads a corner window
    does not."""
    from dataclasses import replace

    from smearscan.training.fit import DEFAULT_RECIPE, _loss

    torch.manual_seed(0)
    crops = torch.zeros(16, 4, 64, 64)
    crops[:, :, 20:44, 20:44] = torch.rand(16, 4, 24, 24)
    label, morphology = torch.randint(0, 6, (16,)), torch.randint(-1, 3, (16,))
    network = _Summed(window)
    with torch.no_grad():
        plain = _loss(network, crops, label, morphology, DEFAULT_RECIPE,
                      torch.Generator().manual_seed(1))
        both = _loss(network, crops, label, morphology,
                     replace(DEFAULT_RECIPE, shift_consistency=10.0),
                     torch.Generator().manual_seed(1))
    extra = float(both - plain)
    assert extra > 1e-3 if penalised else abs(extra) < 1e-5


def test_augmentation_shapes_and_mask_range():
    generator = torch.Generator().manual_seed(0)
    batch = torch.zeros(6, 4, 80, 80)
    batch[:, :, 30:50, 30:50] = 1
    out = augmented(batch, 64, generator)
    assert out.shape == (6, 4, 64, 64)
    assert float(out[:, 3].min()) >= 0 and float(out[:, 3].max()) <= 1
    # The object stays centred and keeps about its size (scale jitter is at most 10%).
    area = out[:, 3].sum(dim=(1, 2))
    assert torch.all((area > 400 * 0.75) & (area < 400 * 1.3))


@pytest.mark.slow
def test_smoke_training_and_evaluation(tmp_path, smoke_cache):
    if not (SHARED / "datasets").is_dir():
        pytest.skip("shared datasets not available")
    model_path = train_model(shared=SHARED, out=tmp_path / "tiny.pt", epochs=1, limit=3,
                             cache=smoke_cache, progress=False)
    model = load_model(model_path)
    assert model.classes == CLASSES
    assert set(model.thresholds) == {"schistocyte", "nrbc", "immature_granulocyte"}
    assert model.metadata["training"]["limit"] == 3
    # Its own version, never the shipped model's: a local training on 3 fields.
    assert re.fullmatch(r"local-\d{8}-\d{6}-limit3", model.version), model.version
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.onnx", "tiny.pt"]
    metrics = evaluate_model(model=model_path, shared=SHARED, split="test",
                             out_dir=tmp_path / "eval", cache=smoke_cache, limit=3)
    written = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert written["split"] == "test" and written["objects"] == metrics["objects"] > 0
    for key in ("per_class", "confusion", "schistocyte", "nrbc", "immature_granulocyte",
                "morphology", "baseline"):
        assert key in written
    assert "at_specificity" in written["schistocyte"]
    assert "lymphocyte" in written["nrbc"]["called_fraction_by_source"]
    assert "neutrophils_called_ig" in written["immature_granulocyte"]
    assert (tmp_path / "eval" / "confusion.png").is_file()
    assert (tmp_path / "eval" / "roc_schistocyte.png").is_file()


@pytest.mark.slow
def test_stale_crop_caches_are_removed(smoke_cache):
    """Each code change writes a new ~2 GB cache file; the one it replaces is deleted, a cache
    of another limit is kept."""
    if not (SHARED / "datasets").is_dir():
        pytest.skip("shared datasets not available")
    labelled_crops(SHARED, cache=smoke_cache, limit=3, progress=False)
    names = {p.name for p in smoke_cache.iterdir()}
    assert OTHER_FAMILY_CACHE in names and STALE_SMOKE_CACHE not in names
    (current,) = names - {OTHER_FAMILY_CACHE}
    assert re.fullmatch(r"crops-limit3-[0-9a-f]{12}\.npz", current)


def test_mined_platelets_are_small_azure_objects_whatever_their_red():
    background, haemoglobin = (200, 215, 210), (190, 120, 140)
    violet, purple = (150, 120, 190), (120, 150, 170)  # blue/green density 0.17; red above green
    rgb = np.empty((120, 200, 3), np.uint8)
    rgb[:] = background
    labels = np.zeros(rgb.shape[:2], np.int32)
    rows, cols = np.mgrid[:120, :200]
    discs = [((30, 30), 6, haemoglobin), ((30, 70), 6, violet), ((30, 110), 6, purple),
             ((80, 60), 18, violet), ((80, 150), 6, violet)]
    for value, ((y, x), radius, colour) in enumerate(discs, 1):
        inside = np.hypot(rows - y, cols - x) <= radius
        rgb[inside], labels[inside] = colour, value
    table = cell_table(labels, rgb, pixel_size_um=0.2)
    # The small pink fragment and the large violet cell are not platelets; the last small
    # violet object is labelled (a labelled cell is never mined).
    mined = mined_platelets(rgb, labels, table, labelled_rows=np.array([4]))
    assert sorted(table["cell_id"][mined]) == [2, 3]


def test_the_default_recipe_is_the_shipped_models():
    """``smearscan train`` and ``scripts/train_default.sh`` train with the recipe recorded in
    the shipped model file (a file from before ``mask_edge_jitter`` or ``shift_consistency``
    trained without it), for as many epochs; the final network's seed is the one
    ``scripts/train_default.sh`` gives it."""
    from smearscan.training.fit import DEFAULT_RECIPE, EPOCHS

    training = load_model(None).metadata["training"]
    recorded = {**training, "mask_edge_jitter": training.get("mask_edge_jitter") or 0.0,
                "shift_consistency": training.get("shift_consistency", 0.0)}
    assert {key: recorded[key] for key in DEFAULT_RECIPE.as_metadata()} == \
        DEFAULT_RECIPE.as_metadata()
    script = (Path(__file__).resolve().parents[1] / "scripts" / "train_default.sh").read_text()
    final_seed = re.search(r"--final-seed (\d+)", script)
    assert (training["epochs"], training["seed"]) == (EPOCHS, int(final_seed.group(1)))


# ------------------------------------------------------------------ smearscan train/evaluate
# Arguments are checked before any loading: a --shared whose datasets/ is empty is enough.

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_data(tmp_path) -> Path:
    (tmp_path / "shared" / "datasets").mkdir(parents=True)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "afolder.pt").mkdir()
    (tmp_path / "old.pt").write_text("a model")
    (tmp_path / "old2.onnx").write_text("a model")
    return tmp_path


@pytest.mark.parametrize(("command", "args", "option", "problem"), [
    ("train", ["--out", "{t}/afile/m.pt"], "--out", "{t}/afile is a file, not a folder"),
    ("train", ["--out", "{t}/afile/sub/m.pt"], "--out", "{t}/afile is a file, not a folder"),
    ("train", ["--out", "{t}/afolder.pt"], "--out", "{t}/afolder.pt is a folder, not a model file"),
    # QA 134 D1: a smoke run replaced the shipped model without a word.
    ("train", ["--out", "{t}/old.pt"], "--out",
     "{t}/old.pt is there already; give another file, or --force to replace it"),
    ("train", ["--out", "{t}/old2.pt"], "--out",
     "{t}/old2.onnx is there already; give another file, or --force to replace it"),
    ("train", ["--out", "{t}/m.pt", "--cache", "{t}/afile"], "--cache",
     "{t}/afile is a file, not a folder"),
    ("train", ["--out", "{t}/m.pt", "--cache", "{t}/afile/c"], "--cache",
     "{t}/afile is a file, not a folder"),
    ("evaluate", ["--out", "{t}/afile"], "--out", "{t}/afile is a file, not a folder"),
    ("evaluate", ["--out", "{t}/afile/ev"], "--out", "{t}/afile is a file, not a folder"),
    ("evaluate", ["--out", "{t}/ev", "--cache", "{t}/afile"], "--cache",
     "{t}/afile is a file, not a folder"),
])
def test_an_out_or_cache_path_under_a_file_is_refused_inone_line(
        no_data, capsys, command, args, option, problem):
    """Checked before any loading (it was a FileExistsError traceback after the loading)."""
    t = no_data
    args = [a.format(t=t) for a in args]
    assert exit_code(command, "--shared", t / "shared", *args, "--limit", "1") == 2
    assert one_line(capsys) == (f"smearscan {command}: error: argument {option}: "
                                 f"{problem.format(t=t)} (see smearscan {command} --help)")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc (Linux)")
@pytest.mark.parametrize(("command", "args", "option", "problem"), [
    ("train", ["--out", "/proc/smearscan-test/m.pt"], "--out",
     "/proc/smearscan-test: cannot write to this output folder (No such file or directory)"),
    ("train", ["--out", "{t}/m.pt", "--cache", "/proc/smearscan-test"], "--cache",
     "/proc/smearscan-test: cannot create this folder (No such file or directory)"),
    ("evaluate", ["--out", "/proc/smearscan-test"], "--out",
     "/proc/smearscan-test: cannot write to this output folder (No such file or directory)"),
])
def test_an_out_or_cache_folder_that_cannot_be_created_is_refused_inone_line(
        no_data, capsys, command, args, option, problem):
    args = [a.format(t=no_data) for a in args]
    assert exit_code(command, "--shared", no_data / "shared", *args) == 2
    assert one_line(capsys) == (f"smearscan {command}: error: argument {option}: {problem} "
                                 f"(see smearscan {command} --help)")


@pytest.mark.parametrize("epochs", ["0", "10001", "10000000000"])
def test_epochs_are_bounded(no_data, capsys, epochs):
    assert exit_code("train", "--shared", no_data / "shared", "--out", no_data / "m.pt",
                "--epochs", epochs) == 2
    assert one_line(capsys) == (f"smearscan train: error: argument --epochs: '{epochs}' must "
                                 "be 1-10000 (see smearscan train --help)")


@pytest.mark.parametrize(("version", "problem"), [
    ("", "'' is empty"),
    ("my model", "'my model' must be printable characters without spaces"),
    ("v\t1", "'v\\t1' must be printable characters without spaces"),
    ("x" * 101, f"'{'x' * 40}' is longer than 100 characters"),
])
def test_a_model_version_must_be_printable_without_spaces(no_data, capsys, version, problem):
    assert exit_code("train", "--shared", no_data / "shared", "--out", no_data / "m.pt",
                "--version", version) == 2
    assert one_line(capsys) == (f"smearscan train: error: argument --version: {problem} "
                                 "(see smearscan train --help)")


def test_a_trained_model_is_versioned_as_a_local_training_unless_told():
    from smearscan.training.train import local_version

    assert re.fullmatch(r"local-\d{8}-\d{6}", local_version())
    assert re.fullmatch(r"local-\d{8}-\d{6}-limit3", local_version(3))
    with pytest.raises(ValueError, match="model version 'a b' must be printable characters"):
        train_model(shared=Path("nowhere"), out=Path("m.pt"), version="a b")


def test_only_the_script_that_reproduces_the_shipped_model_gives_its_version():
    from smearscan.training import MODEL_VERSION

    script = (ROOT / "scripts" / "train_default.sh").read_text()
    assert f"\nVERSION={MODEL_VERSION}\n" in script and '--version "$VERSION"' in script
    assert load_model(None).version == MODEL_VERSION


def _tiny_network():
    from smearscan.network import DEFAULT_ARCHITECTURE, build_network

    torch.manual_seed(0)
    return build_network(DEFAULT_ARCHITECTURE)


def _metadata(version: str) -> dict:
    from smearscan.network import DEFAULT_ARCHITECTURE

    return {"model_version": version, "architecture": {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in DEFAULT_ARCHITECTURE.items()},
        "operating_points": {name: {"threshold": 0.5} for name in
                             ("schistocyte", "nrbc", "immature_granulocyte")}}


def test_a_model_pair_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    """A run stopped while writing (Ctrl-C, SIGTERM, during the minutes of the ONNX export)
    leaves the earlier .pt/.onnx pair as it was and no part file."""
    import smearscan.network.files
    from smearscan.network import read_model_file
    from smearscan.training.atomic import save_model_atomic

    out = tmp_path / "m.pt"
    assert save_model_atomic(out, _tiny_network(), _metadata("old-1")) == out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m.pt"]
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def stopped(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(smearscan.network.files, "export_onnx", stopped)
    with pytest.raises(KeyboardInterrupt):
        save_model_atomic(out, _tiny_network(), _metadata("new-1"))
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert read_model_file(out)["model_version"] == "old-1"


@pytest.mark.slow
@pytest.mark.parametrize(("command", "args", "stop", "code", "line"), [
    ("train", ["--out", "{out}/m.pt", "--epochs", "10000"], signal.SIGTERM, 143,
     "smearscan train: terminated; no model was written (training does not resume)"),
    ("evaluate", ["--out", "{out}"], signal.SIGINT, 130,
     "smearscan evaluate: interrupted; no metrics were written"),
])
def test_a_stopped_training_or_evaluation_says_nothing_was_written(
        tmp_path, command, args, stop, code, line):
    """They do not resume: the analysis's "re-run with the same --out to resume" misled."""
    if not (SHARED / "datasets").is_dir():
        pytest.skip("shared datasets not available")
    out = tmp_path / "out"
    # The console script, as a lab user runs it. 'python -m smearscan' interrupted while torch
    # is being imported exits by SIGINT (-2, which a shell reports as 130 too) although the
    # line is said and 130 returned: CPython's Py_RunMain re-raises an interrupt that a C
    # extension's import met; the script's exit path does not (measured: Ctrl-C at 2-3.5 s).
    script = Path(sys.executable).with_name("smearscan")
    process = subprocess.Popen(
        [script, command, "--shared", SHARED, "--limit", "1",
         "--cache", tmp_path / "cache", *[a.format(out=out) for a in args]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    time.sleep(5)  # past the start-up, into the loading of the crops
    assert process.poll() is None, process.communicate()
    process.send_signal(stop)
    stdout, stderr = process.communicate(timeout=60)
    assert (process.returncode, stdout, stderr) == (code, "", line + "\n")
    assert list(out.glob("*")) == []


@pytest.mark.slow
def test_smearscan_train_records_the_version_it_is_given(tmp_path, smoke_cache, capsys):
    if not (SHARED / "datasets").is_dir():
        pytest.skip("shared datasets not available")
    import onnx

    from smearscan.network import read_model_file

    out = tmp_path / "m.pt"
    assert exit_code("train", "--shared", SHARED, "--out", out, "--limit", "3", "--epochs", "1",
                "--cache", smoke_cache, "--version", "smoke-2026.12-a") == 0
    # QA 57 #6: a model that analysis refuses (a smoke model's operating point) is said to be
    # one when it is written, in the words analysis would refuse it with.
    from smearscan.classification import ModelLoadError
    from smearscan.classification.model import check_operating_points

    try:
        check_operating_points(load_model(out.with_suffix(".onnx")), out)
        refusal = ""
    except ModelLoadError as error:
        refusal = f"smearscan train: warning: {error}; analysis refuses it, evaluate takes it\n"
    said = capsys.readouterr().err.splitlines(keepends=True)
    assert [line for line in said if not line.startswith(("crops: ", "epoch "))] == (
        [refusal] if refusal else [])
    assert said[-2 if refusal else -1].startswith("epoch 1/1: loss ")  # QA 57 #9, in a log too
    assert read_model_file(out)["model_version"] == "smoke-2026.12-a"
    props = {p.key: p.value for p in onnx.load(out.with_suffix(".onnx")).metadata_props}
    assert json.loads(props["model_version"]) == "smoke-2026.12-a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m.pt"]


def test_evaluate_refuses_a_fold_model_before_reading_any_data(tmp_path):
    # QA 57 #3: a fold model crashed on its missing thresholds (KeyError), and under the crash
    # it scored test fields it had trained on.
    from model_files import model_with, shipped_metadata

    from smearscan.classification import ModelLoadError

    training = shipped_metadata()["training"] | {"fold": 2, "held_out_fields": ["1.jpg"]}
    fold = model_with(tmp_path / "fold-2.onnx", training=training)
    with pytest.raises(ModelLoadError, match=r"fold-2\.onnx: a cross-validation fold model "
                                             r"\(fold 2\), trained on the Chula fields outside "
                                             r"its fold: score fold models with "):
        evaluate_model(model=fold, shared=tmp_path / "no-datasets", split="test",
                       out_dir=tmp_path / "metrics")
    assert not (tmp_path / "metrics").exists()


def test_smearscan_evaluate_refuses_a_fold_model_before_making_any_folder(tmp_path, capsys):
    # QA 60 F6: the refusal left empty --out and --cache folders.
    if not (SHARED / "datasets").is_dir():
        pytest.skip("shared datasets not available")
    from model_files import model_with, shipped_metadata

    training = shipped_metadata()["training"] | {"fold": 3, "held_out_fields": ["1.jpg"]}
    fold = model_with(tmp_path / "fold-3.onnx", training=training)
    out, cache = tmp_path / "metrics", tmp_path / "cache"
    assert exit_code("evaluate", "--shared", SHARED, "--model", fold, "--out", out,
                     "--cache", cache) == 4
    assert one_line(capsys) == (
        f"smearscan evaluate: {fold}: a cross-validation fold model (fold 3), trained on the Chula "
        "fields outside its fold: score fold models with scripts/cross_validate.py --rescore "
        "or scripts/evaluate_segmentation.py --fold-models")
    assert not out.exists() and not cache.exists()
