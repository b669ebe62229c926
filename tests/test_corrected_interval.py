"""The Rogan-Gladen interval that carries the uncertainty of the classifier's error rates."""

from __future__ import annotations

import numpy as np
import pytest

from smearscan.slide_stats import (
    SchistocyteCount,
    rogan_gladen,
    rogan_gladen_interval,
    slide_result,
    wilson_interval,
    within,
)


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


def test_the_whole_field_reading_is_recorded_and_read_back():
    s = _schistocytes(9, 2000, LABELLED | {"whole_field": WHOLE})
    assert s["whole_field_percent"] == round(100 * rogan_gladen(0.0045, 0.2213, 0.00201), 4)
    assert SchistocyteCount.from_dict(s).whole_field_percent == s["whole_field_percent"]
    assert _schistocytes(9, 2000, LABELLED)["whole_field_percent"] is None


@pytest.mark.parametrize(("percent", "whole", "inside"), [
    (1.0, None, True), (1.0, 1.0, True), (0.4, 1.0001, False), (1.0001, 0.5, False),
    (None, None, False)])
def test_a_count_is_within_the_limit_only_when_both_readings_are(percent, whole, inside):
    assert within(percent, whole, 1.0) is inside


@pytest.mark.parametrize(("operating", "finding", "side"), [
    # 9 of 2,000 (0.45%): 0.41% at the labelled-point rates, 1.14% at the whole-field ones.
    (LABELLED, "schistocytes not above 1%, but haemolysis with thrombocytopenia", "against"),
    (LABELLED | {"whole_field": WHOLE},
     "schistocytes at or under the 1% limit, but over it as read at the classifier's "
     "whole-field rates, their interval spanning it (borderline", "for"),
])
def test_the_verdict_reads_a_borderline_count_within_the_limit_only_at_both_readings(
        operating, finding, side):
    from smearscan.labs import parse_labs
    from smearscan.verdict import SmearFindings, assess

    label = np.array(["schistocyte"] * 9 + ["rbc"] * 1991)
    result = slide_result(label=label, morphology=np.full(2000, "normal"),
                          border=np.zeros(2000, bool), operating={"schistocyte": operating})
    assert result.schistocytes.call == "borderline"
    smear = SmearFindings.from_slide_result(result)
    labs = parse_labs({"platelets": 60, "ldh": "600 U/L", "ldh_uln": 250,
                       "haptoglobin": "<0.1 g/L"})
    verdict = assess(smear, labs)
    assert verdict.maha == "possible"
    filed = {"for": verdict.findings_for, "against": verdict.findings_against}[side]
    assert [f.finding for f in filed if f.finding.startswith("schistocytes")] == [
        next(f.finding for f in filed if f.finding.startswith(finding))]
