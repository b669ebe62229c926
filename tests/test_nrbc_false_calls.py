"""NRBC false calls by source (smearscan.training.nrbc_false_calls, scripts/nrbc_false_calls.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")  # the train extra (smearscan.training)

from model_files import fold_models  # noqa: E402

from smearscan.classification import load_model  # noqa: E402
from smearscan.datasets import chula_fields, pbc_fields, split_fields  # noqa: E402
from smearscan.slide_stats import false_call_bound, nrbc_false_call_bound, slide_result  # noqa: E402
from smearscan.training.nrbc_false_calls import (  # noqa: E402
    FalseCalls,
    false_calls_point,
    image_nrbc_calls,
    red_cell_false_calls,
    white_cell_false_calls,
)
from smearscan.training.operating import OutOfFold  # noqa: E402
from smearscan.training.whole_fields import WholeFieldScores, whole_field_scores  # noqa: E402

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
CHULA = SHARED / "datasets" / "chula-rbc-12"
PBC = SHARED / "datasets" / "pbc"
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "nrbc_false_calls.py"

needs_data = pytest.mark.skipif(not (CHULA.is_dir() and PBC.is_dir()),
                                reason="shared datasets not available")


def _held_out_image(name: str):
    return next(field for split in ("val", "test") for field in split_fields(pbc_fields(PBC))[split]
                if field.image.name == name)


@needs_data
@pytest.mark.parametrize(("name", "calls"), [
    ("SNE_223132.jpg", 1), ("MO_486293.jpg", 1), ("LY_131763.jpg", 0)])
def test_a_white_cell_images_calls_are_its_whole_objects_called_nrbc(name, calls):
    field = _held_out_image(name)
    assert image_nrbc_calls(field.image, field.pixel_size_um, load_model(None)) == calls


@needs_data
def test_white_cell_false_calls_are_counted_over_held_out_leukocyte_images():
    model = load_model(None)
    measured = white_cell_false_calls(model, SHARED, limit=6)
    fields = [field for split in ("val", "test") for field in split_fields(pbc_fields(PBC))[split]
              if field.points[0][2] not in ("erythroblast", "platelet")][:6]
    assert measured.cells == 6
    assert measured.calls == sum(image_nrbc_calls(f.image, f.pixel_size_um, model)
                                 for f in fields)
    assert measured.measured_on.startswith("6 PBC leukocyte and immature granulocyte images of "
                                           "the val and test splits")


def test_red_cell_false_calls_are_the_whole_fields_calls_over_their_counted_red_cells():
    # 3 counted red cells and 1 labelled schistocyte outside them (a miss) in two fields.
    rows = OutOfFold(score=np.zeros(4), positive=np.array([1, 0, 0, 1], bool),
                     missed=np.array([0, 0, 0, 1], bool), fold=np.zeros(4, int),
                     group=np.array(list("aabb")), field=np.array(list("aabb")))
    red = red_cell_false_calls(WholeFieldScores(rows, {"a": 1.0, "b": 0.5}, nrbc_calls=2,
                                                nrbc_candidates=5))
    assert (red.calls, red.cells) == (2, 3)
    assert red.measured_on.startswith("2 Chula RBC-12 fields, each analysed by the fold model")
    point = false_calls_point(red, FalseCalls(1, 10, "white"))
    assert point == {"red_cell": {"calls": 2, "cells": 3, "measured_on": red.measured_on},
                     "white_cell": {"calls": 1, "cells": 10, "measured_on": "white"}}


@needs_data
def test_the_script_writes_the_false_calls_into_a_copy_of_the_model(tmp_path, run_script):
    names = [f.image.name for f in chula_fields(CHULA) if f.points][:2]
    folds = fold_models(tmp_path, names, "smoke-2026.12-n")
    code, out, err = run_script(
        SCRIPT, "--shared", SHARED, "--limit", "2", "--fold-models", *folds, "--write",
        tmp_path / "new.pt", "--version", "smoke-2026.12-y")
    assert code == 0, err
    shipped = load_model(None)
    new = load_model(tmp_path / "new.onnx")
    whole = whole_field_scores([load_model(path) for path in folds], SHARED, limit=2)
    expected = false_calls_point(red_cell_false_calls(whole),
                                 white_cell_false_calls(shipped, SHARED, limit=2))
    assert new.version == "smoke-2026.12-y"
    assert new.thresholds == shipped.thresholds
    assert new.operating["nrbc"] == {**shipped.operating["nrbc"], "false_calls": expected}
    assert new.metadata["operating_points"]["schistocyte"] == (
        shipped.metadata["operating_points"]["schistocyte"])
    bound, _ = nrbc_false_call_bound(5000, 50, expected)
    one, _ = false_call_bound(5050, shipped.operating["nrbc"])
    assert f"\n| 5,000 | 50 | {one} | {bound} |\n" in out
    # A slide read with the new model weighs its NRBCs by source.
    labels = np.array(["rbc"] * 5000 + ["wbc"] * 50 + ["nrbc"] * (bound + 1))
    result = slide_result(label=labels, morphology=np.full(labels.size, ""),
                          border=np.zeros(labels.size, bool), operating=new.operating)
    assert result.nrbc.present is True
    assert "among 5000 red and 50 white cells; false calls per red cell" in result.nrbc.sentence
