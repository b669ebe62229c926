"""Whole-field schistocyte rates (smearscan.training.whole_fields, scripts/whole_field_point.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")  # the train extra (smearscan.training)

from model_files import fold_models  # noqa: E402

from smearscan import analyse_image  # noqa: E402
from smearscan.classification import load_model  # noqa: E402
from smearscan.datasets import LabeledField, chula_fields  # noqa: E402
from smearscan.training.operating import OutOfFold  # noqa: E402
from smearscan.training.whole_fields import (  # noqa: E402
    EXHAUSTIVE_COVERAGE,
    field_rows,
    whole_field_point,
    whole_field_scores,
)

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
CHULA = SHARED / "datasets" / "chula-rbc-12"
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "whole_field_point.py"

needs_chula = pytest.mark.skipif(not CHULA.is_dir(), reason="shared datasets not available")


def _inside(labels: np.ndarray, cell_id: int, k: int = 0) -> tuple[float, float]:
    """The k-th pixel (x, y) of an object, in row order."""
    row, col = np.argwhere(labels == cell_id)[k]
    return float(col), float(row)


@needs_chula
def test_a_fields_rows_are_its_counted_red_cells_and_the_schistocytes_it_misses():
    model = load_model(None)
    image = CHULA / "Dataset" / "1.jpg"
    analysis = analyse_image(image, pixel_size_um=0.2, model=model, trust_pixel_size=True)
    cells, labels = analysis.cells, analysis.labels
    counted = ~cells["border"] & np.isin(cells["class"], ("rbc", "schistocyte"))
    a, b, c = cells["cell_id"][counted][:3]
    edge = cells["cell_id"][cells["border"]][0]
    background = np.argwhere(labels == 0)[0]
    points = (
        (*_inside(labels, a), "schistocyte"),
        (*_inside(labels, b), "schistocyte"),
        (*_inside(labels, b, 1), "schistocyte"),  # the same object again: one miss
        (*_inside(labels, c), "normal"),
        (*_inside(labels, edge), "schistocyte"),  # cut by the edge: left out
        (float(background[1]), float(background[0]), "schistocyte"),  # in no object: a miss
    )
    rows = field_rows(LabeledField(image, 0.2, points, "g"), model)
    n = int(counted.sum())
    assert len(rows.score) == n + 2
    assert rows.positive.sum() == 4 and rows.missed.sum() == 2
    assert np.array_equal(np.flatnonzero(rows.positive[:n]),
                          np.flatnonzero(np.isin(cells["cell_id"][counted], (a, b))))
    assert np.all(rows.positive[n:] & rows.missed[n:])
    assert rows.coverage == 3 / n
    p = cells["p_schistocyte"][counted]
    assert np.array_equal(rows.score[:n], p)  # no other target class outvotes one here
    assert np.array_equal(rows.score[:n] >= model.thresholds["schistocyte"],
                          cells["class"][counted] == "schistocyte")
    assert np.all(rows.score[n:] == 0)
    # The NRBC candidates are the slide's: whole red and white cells and NRBC calls.
    whole = ~cells["border"]
    assert rows.nrbc_candidates == int((whole & np.isin(cells["class"], (
        "rbc", "schistocyte", "wbc", "immature_granulocyte", "nrbc"))).sum())
    assert rows.nrbc_calls == int((whole & (cells["class"] == "nrbc")).sum())


def _held_out(model, names: list[str], fold: int):
    metadata = {**model.metadata, "training": {"held_out_fields": names, "fold": fold}}
    return dataclasses.replace(model, metadata=metadata)


@needs_chula
def test_every_field_is_scored_by_the_model_that_held_it_out():
    model = load_model(None)
    first, second = (f.image.name for f in chula_fields(CHULA)[:2])
    models = [_held_out(model, [first], 1), _held_out(model, [second], 2)]
    whole = whole_field_scores(models, SHARED, limit=2)
    scores = whole.scores
    assert sorted(whole.coverage) == sorted([first, second])
    assert set(scores.fold[scores.field == first]) == {0}
    assert set(scores.fold[scores.field == second]) == {1}
    rows = [field_rows(field, model) for field in chula_fields(CHULA)[:2]]
    assert rows[0].coverage == whole.coverage[first]
    assert np.array_equal(scores.score[scores.field == first], rows[0].score)
    assert whole.nrbc_calls == rows[0].nrbc_calls + rows[1].nrbc_calls
    assert whole.nrbc_candidates == rows[0].nrbc_candidates + rows[1].nrbc_candidates
    # Only the fields labelled at least as fully as asked are kept, all their rows.
    cut = (whole.coverage[first] + whole.coverage[second]) / 2
    kept = max((first, second), key=whole.coverage.get)
    assert set(whole.exhaustive(cut).field) == {kept}
    assert len(whole.exhaustive(cut).score) == int((scores.field == kept).sum())
    with pytest.raises(ValueError, match=f"1 labelled fields \\(e.g. {second}\\) are held out"):
        whole_field_scores(models[:1], SHARED, limit=2)


def test_the_whole_field_point_is_measured_at_the_given_threshold():
    # 4 labelled schistocytes (2 called, 1 a miss), 6 other counted cells (1 called).
    score = np.array([0.9, 0.8, 0.3, 0.0, 0.75, 0.2, 0.1, 0.0, 0.0, 0.6])
    positive = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0], bool)
    missed = np.array([0, 0, 0, 1, 0, 0, 0, 0, 0, 0], bool)
    fold = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    group = np.array(list("abababcdcd"))
    point = whole_field_point(OutOfFold(score, positive, missed, fold, group, group),
                              threshold=0.7)
    assert point["threshold"] == 0.7
    assert point["sensitivity"] == 0.5 and point["false_positive_rate"] == 1 / 6
    assert point["estimate"] == ("out-of-fold, whole fields (every counted red cell of the Chula "
                                 f"fields labelled >= {EXHAUSTIVE_COVERAGE:.0%}, misses "
                                 "included)")


@needs_chula
def test_the_script_writes_the_point_into_a_copy_of_the_model(tmp_path, run_script):
    folds = fold_models(tmp_path, [f.image.name for f in chula_fields(CHULA)[:2]],
                        "smoke-2026.12-w")
    code, out, err = run_script(
        SCRIPT, "--shared", SHARED, "--limit", "2", "--fold-models", *folds, "--out",
        tmp_path / "out", "--write", tmp_path / "new.pt", "--version", "smoke-2026.12-x")
    assert code == 0, err
    shipped = load_model(None)
    new = load_model(tmp_path / "new.onnx")
    scores = OutOfFold.load(tmp_path / "out" / "exhaustive.npz")
    point = whole_field_point(scores, threshold=shipped.thresholds["schistocyte"])
    assert new.version == "smoke-2026.12-x"
    assert new.thresholds == shipped.thresholds
    # The labelled-point rates stay; the whole-field ones come beside them.
    assert new.operating["schistocyte"]["sensitivity"] == (
        shipped.operating["schistocyte"]["sensitivity"])
    assert new.operating["schistocyte"]["whole_field"] == {
        key: point[key] for key in ("sensitivity", "false_positive_rate", "sensitivity_se",
                                    "false_positive_rate_se", "estimate")}
    stored = new.metadata["operating_points"]["schistocyte"]
    assert stored["weights_of"] == (
        shipped.metadata["operating_points"]["schistocyte"].get("weights_of", shipped.version))
    assert stored["whole_field"]["roc_auc"] == point["roc_auc"]
    assert f"whole-field point at threshold {shipped.thresholds['schistocyte']:.4f}" in out
    # The other classes' points are the model's own.
    assert new.operating["nrbc"] == shipped.operating["nrbc"]
    assert new.metadata["operating_points"]["nrbc"] == (
        shipped.metadata["operating_points"]["nrbc"])
