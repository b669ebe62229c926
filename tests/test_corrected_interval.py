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


#: The shipped model's two readings (cnn-2026.12-6): its labelled-point rates and, beside them,
#: those of the Chula fields labelled cell by cell.
LABELLED = {"sensitivity": 0.6166, "false_positive_rate": 0.00196, "sensitivity_se": 0.0907,
            "false_positive_rate_se": 0.000408, "estimate": "out-of-fold, end to end"}
WHOLE = {"sensitivity": 0.2213, "false_positive_rate": 0.00201, "sensitivity_se": 0.1084,
         "false_positive_rate_se": 0.000523, "estimate": "out-of-fold, whole fields"}


def _schistocytes(k: int, n: int, operating: dict) -> dict:
    label = np.array(["schistocyte"] * k + ["rbc"] * (n - k))
    return slide_result(label=label, morphology=np.full(n, "normal"), border=np.zeros(n, bool),
                        operating={"schistocyte": operating}).to_dict()["schistocytes"]


def test_the_corrected_interval_spans_the_whole_field_reading():
    s = _schistocytes(10, 1000, LABELLED | {"whole_field": WHOLE})
    labelled = rogan_gladen_interval(10, 1000, *(LABELLED[key] for key in (
        "sensitivity", "false_positive_rate", "sensitivity_se", "false_positive_rate_se")))
    whole = rogan_gladen_interval(10, 1000, *(WHOLE[key] for key in (
        "sensitivity", "false_positive_rate", "sensitivity_se", "false_positive_rate_se")))
    # Read at the labelled rates: 0.54-2.87%; at the whole-field rates: 1.03-11.79%.
    assert labelled[0] < whole[0] and labelled[1] < whole[1]
    assert s["corrected_ci95"] == [round(100 * labelled[0], 4), round(100 * whole[1], 4)]
    # The estimate is the labelled points' reading.
    assert s["corrected_percent"] == round(100 * rogan_gladen(0.01, 0.6166, 0.00196), 4)
    assert ("also spans the count read at the whole-field rates (sensitivity 0.221, "
            "false-positive rate 0.002") in s["correction"]
    assert s["correction"].endswith("(this tool's rule)")


@pytest.mark.parametrize(("k", "n", "alone", "spanned"), [
    # 0.2% of 1,000: within the limit read at the labelled rates (0-0.91%), but up to 3.37%
    # at the whole-field ones: no longer called within it.
    (2, 1000, "below", "borderline"),
    # 0.2% of 10,000: within the limit either way (0-0.23%, 0-0.83%).
    (20, 10000, "below", "below"),
    # 1.5% of 1,000: above it either way (1.10-4.02%, 1.78-16.83%).
    (15, 1000, "above", "above"),
    # 1% of 1,000: the interval includes the limit either way.
    (10, 1000, "borderline", "borderline"),
])
def test_a_slide_is_called_within_the_limit_only_when_the_whole_field_reading_is(
        k, n, alone, spanned):
    assert _schistocytes(k, n, LABELLED)["call"] == alone
    assert _schistocytes(k, n, LABELLED | {"whole_field": WHOLE})["call"] == spanned
