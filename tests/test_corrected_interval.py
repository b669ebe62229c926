"""The Rogan-Gladen interval that carries the uncertainty of the classifier's error rates."""

from __future__ import annotations

import numpy as np
import pytest

from smearscan.slide_stats import rogan_gladen, rogan_gladen_interval, slide_result, wilson_interval


def test_rogan_gladen_interval_without_rate_errors_is_the_count_interval():
    low, high = wilson_interval(50, 1000)
    assert rogan_gladen_interval(50, 1000, 0.7, 0.002) == pytest.approx(
        (rogan_gladen(low, 0.7, 0.002), rogan_gladen(high, 0.7, 0.002)))


def test_rogan_gladen_interval_hand_value_with_rate_errors():
    # Hand computation: estimate (0.05 - 0.002) / 0.698 = 0.068768; count bounds 0.051763 and
    # 0.090707; rate standard errors at those bounds sqrt((0.051763 * 0.05)^2 +
    # (0.948237 * 0.001)^2) / 0.698 = 0.0039487 and sqrt((0.090707 * 0.05)^2 +
    # (0.909293 * 0.001)^2) / 0.698 = 0.0066281; bounds 0.068768 -+ hypot(count part, 1.96 se).
    low, high = rogan_gladen_interval(50, 1000, 0.7, 0.002, 0.05, 0.001)
    assert low == pytest.approx(0.068768 - np.hypot(0.017005, 1.959964 * 0.0039487), abs=2e-6)
    assert high == pytest.approx(0.068768 + np.hypot(0.021939, 1.959964 * 0.0066281), abs=2e-6)


def test_rogan_gladen_interval_widens_with_the_rate_errors_and_stays_in_range():
    base = rogan_gladen_interval(30, 1000, 0.6, 0.002)
    wider = rogan_gladen_interval(30, 1000, 0.6, 0.002, 0.08, 0.001)
    assert wider[0] < base[0] and wider[1] > base[1]
    assert rogan_gladen_interval(0, 1000, 0.6, 0.002, 0.08, 0.001)[0] == 0.0
    assert rogan_gladen_interval(1000, 1000, 0.6, 0.002, 0.08, 0.001)[1] == 1.0
    with pytest.raises(ValueError, match="standard errors"):
        rogan_gladen_interval(30, 1000, 0.6, 0.002, -0.1, 0.0)
    with pytest.raises(ValueError, match="n=0"):
        rogan_gladen_interval(0, 0, 0.6, 0.002)


def test_slide_correction_uses_the_out_of_fold_errors():
    label = np.array(["schistocyte"] * 50 + ["rbc"] * 950)
    operating = {"schistocyte": {"sensitivity": 0.7, "false_positive_rate": 0.002,
                                 "sensitivity_se": 0.05, "false_positive_rate_se": 0.001,
                                 "estimate": "out-of-fold, end to end"}}
    s = slide_result(label=label, morphology=np.full(1000, "normal"),
                     border=np.zeros(1000, bool), operating=operating).to_dict()["schistocytes"]
    low, high = rogan_gladen_interval(50, 1000, 0.7, 0.002, 0.05, 0.001)
    assert s["corrected_ci95"] == [round(100 * low, 4), round(100 * high, 4)]
    assert "(out-of-fold, end to end)" in s["correction"]
    assert "standard errors 0.05 and 0.001" in s["correction"]
