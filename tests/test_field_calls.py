"""scripts/field_calls.py: each segmented object gets the kind its labels say it is."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

# The script matches labels to objects with smearscan.training (the train extra).
pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from field_calls import KINDS, object_kinds  # noqa: E402

from smearscan.datasets import LabeledField  # noqa: E402
from smearscan.features import cell_table  # noqa: E402


def test_objects_are_sorted_by_their_labels_size_and_the_field_edge():
    rgb = np.full((100, 200, 3), 200, np.uint8)
    labels = np.zeros(rgb.shape[:2], np.int32)
    rows, cols = np.mgrid[:100, :200]
    # 0.2 um/px: radius 18 px is a 7.2 um cell, radius 6 px a 2.4 um dot.
    for value, ((y, x), radius) in enumerate(
            [((50, 30), 18), ((50, 75), 18), ((50, 115), 6), ((50, 150), 18), ((50, 195), 18)],
            1):
        labels[np.hypot(rows - y, cols - x) <= radius] = value
    rgb[labels > 0] = (190, 120, 140)
    table = cell_table(labels, rgb, pixel_size_um=0.2)
    # Points slightly off centre, as hand-placed labels are; the last one sits on the cell
    # cut by the right edge.
    field = LabeledField(Path("f.jpg"), 0.2, ((33, 48, "schistocyte"), (73, 52, "target"),
                                              (193, 50, "normal")), group="f")
    kinds = object_kinds(field, labels, table)
    assert list(kinds) == [KINDS[0], KINDS[1], KINDS[2], KINDS[3], KINDS[4]]
