"""scripts/evaluate_segmentation.py: the factors of the calls that differ under resampling."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from evaluate_segmentation import near_threshold, shifted_calls  # noqa: E402


def test_near_threshold_counts_red_cells_close_to_it_and_their_change():
    """Threshold 0.7: offsets 0, 0.04, 0.06, 0.15 for red cells, 0 for a white cell. Within
    0.05: the first two; within 0.1: the first three, whose probabilities move by 0.02, 0.04
    and 0.04."""
    p_a = np.array([0.70, 0.74, 0.76, 0.85, 0.70])
    p_b = np.array([0.72, 0.70, 0.80, 0.50, 0.10])
    red = np.array([True, True, True, True, False])
    close, change, counted = near_threshold(p_a, p_b, red, 0.7)
    assert (close, counted) == (2, 3)
    assert np.isclose(change, 0.10, atol=1e-12)


def test_near_threshold_of_no_red_cell_is_zero():
    assert near_threshold(np.array([0.7]), np.array([0.1]), np.array([False]), 0.7).tolist() == \
        [0, 0, 0]


def test_a_crop_that_does_not_move_changes_nothing_and_the_cells_counted_stay():
    from smearscan.loading import read_field
    from smearscan.pipeline import cached_model, conditioned

    rgb = conditioned(read_field(Path(__file__).resolve().parents[1] / "datasets" / "samples"
                                 / "chula-1.jpg")).rgb
    model = cached_model(None)
    # 97 whole red cells; none within 0.1 of the threshold on this field.
    assert shifted_calls(rgb, 0.2, model, 0.0).tolist() == [97, 0, 0, 0, 0, 0, 0]
    assert shifted_calls(rgb, 0.2, model, 0.5)[0] == 97
