"""A scale bar burned into a field in green is painted out before segmentation (QA 83 #4)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import smearscan
from smearscan.annotation import ANNOTATION_MARGIN, annotation_mask, painted_out

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "samples" / "chula-1.jpg"
#: Chula's scale bar colour, as its fields show it.
GREEN = (40, 220, 40)


def _barred(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` with a camera's scale bars and their label drawn across its cells."""
    barred = rgb.copy()
    for row in (120, 260, 400):
        cv2.line(barred, (60, row), (500, row), GREEN, 2)
        cv2.putText(barred, "20.00um", (260, row - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.6, GREEN, 1)
    return barred


def _whole(field) -> Counter:
    """The classes of the field's whole (not border) objects."""
    cells = field.cells
    whole = ~np.asarray(cells["border"], bool)
    return Counter(np.asarray(cells["class"])[whole].tolist())


def test_a_green_scale_bar_across_cells_leaves_the_same_objects():
    rgb = np.asarray(Image.open(SAMPLE).convert("RGB"))
    clean = smearscan.analyse_image(rgb, pixel_size_um=0.2)
    barred = smearscan.analyse_image(_barred(rgb), pixel_size_um=0.2)
    assert _whole(barred) == _whole(clean) == Counter({"rbc": 97, "platelet": 6})
    assert barred.summary.painted_px > 0 and clean.summary.painted_px == 0


def test_only_green_over_red_and_blue_is_an_annotation():
    rgb = np.full((4, 4, 3), 200, np.uint8)
    rgb[0, 0] = (100, 100 + ANNOTATION_MARGIN + 1, 100)  # a stroke
    rgb[1, 1] = (100, 100 + ANNOTATION_MARGIN, 100)  # not green enough
    rgb[2, 2] = (255, 255, 40)  # yellow: red as high as green
    assert annotation_mask(rgb).nonzero() == (np.array([0]), np.array([0]))
    untouched = painted_out(np.asarray(Image.open(SAMPLE).convert("RGB")))
    assert untouched.pixels == 0


@pytest.mark.parametrize("name", ["70.jpg", "165.jpg"])
def test_chulas_own_bar_is_found_on_its_fields(name):
    field = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "chula-rbc-12" / \
        "Dataset" / name
    if not field.is_file():
        pytest.skip("the Chula dataset is not beside the project")
    rgb = np.asarray(Image.open(field).convert("RGB"))
    painted = painted_out(rgb)
    assert painted.pixels > 300
    assert not annotation_mask(painted.rgb).any()
