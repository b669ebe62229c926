"""Issue 9 acceptance: synthetic slides of PBC validation crops, classified by the shipped model."""

import random

import numpy as np
import pytest

from smearscan.datasets import pbc_fields, split_fields
from smearscan.pipeline import analyse_field, cached_model
from smearscan.results import FieldTask
from smearscan.slide_stats import slide_result

MATURE = ("neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil")


def _slide(fields) -> dict:
    """Slide statistics over every object of the crops (centre cells and the RBCs around)."""
    labels, morphology, border = [], [], []
    for field in fields:
        cells = analyse_field(FieldTask("pbc", field.image, field.image.name,
                                        pixel_size_um=field.pixel_size_um)).cells
        labels.append(cells["class"])
        morphology.append(cells["morphology"])
        border.append(cells["border"])
    return slide_result(label=np.concatenate(labels), morphology=np.concatenate(morphology),
                        border=np.concatenate(border),
                        operating=cached_model(None).operating).to_dict()


@pytest.fixture
def val_crops(shared_datasets):
    by_class: dict[str, list] = {}
    for field in split_fields(pbc_fields(shared_datasets / "pbc"))["val"]:
        by_class.setdefault(field.points[0][2], []).append(field)
    return by_class


@pytest.mark.slow
def test_erythroblasts_and_immature_granulocytes_among_leukocytes_are_present(val_crops):
    # 10 erythroblasts and 10 immature granulocytes among 40 mature leukocytes. With 5 and 5 the
    # picture sits at the false-call bounds (4 of 5 immature granulocytes must be seen): over 100
    # such draws it read "present" in 51 with cnn-2026.12-6 and 57 with cnn-2026.12-8, so one
    # draw told one model's luck on a few cells, not the picture (closing note, 2026-12-07).
    rng = random.Random(0)
    mature = [f for name in MATURE for f in rng.sample(val_crops[name], 8)]
    picked = mature + rng.sample(val_crops["erythroblast"], 10) + rng.sample(val_crops["ig"], 10)
    result = _slide(picked)
    assert result["leukoerythroblastic"]["finding"] == "present", result["leukoerythroblastic"]


@pytest.mark.slow
def test_mature_leukocytes_only_are_not_present(val_crops):
    rng = random.Random(1)
    result = _slide([f for name in MATURE for f in rng.sample(val_crops[name], 10)])
    # Before the nucleus rule, red cells beside the white cells made 6 NRBC calls, "present",
    # and the picture "possible"; 1 is left (cnn-2026.12-6: 3), within the classifier's false
    # calls.
    assert result["nrbc"]["count"] == 1 and result["nrbc"]["present"] is False
    assert result["leukoerythroblastic"]["finding"] == "absent", result["leukoerythroblastic"]


@pytest.mark.parametrize(("image", "cell_id", "p_nrbc"), [("LY_75762.jpg", 6, 0.924)])
def test_a_red_cell_beside_a_white_cell_is_no_nrbc_without_a_nucleus_of_its_own(
        val_crops, image, cell_id, p_nrbc):
    """Held-out PBC lymphocyte crops: the network calls a red cell touching the lymphocyte an
    NRBC (the white cell's nucleus lies in its crop); under 5% of its own pixels are stained
    like a nucleus, so it is called a red cell (this tool's rule)."""
    field = next(f for f in val_crops["lymphocyte"] if f.image.name == image)
    cells = analyse_field(FieldTask("pbc", field.image, image,
                                    pixel_size_um=field.pixel_size_um)).cells
    row = int(np.flatnonzero(cells["cell_id"] == cell_id)[0])
    assert round(float(cells["p_nrbc"][row]), 3) == p_nrbc
    assert cells["class"][row] == "rbc"
