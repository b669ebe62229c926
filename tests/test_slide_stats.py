"""Tests for smearscan.slide_stats against hand-computed values."""

import dataclasses
import json
import math

import numpy as np
import pytest
from scipy.stats import binom, poisson

from smearscan.slide_stats import (
    MIN_WBC,
    OTHER_POIKILOCYTES,
    Proportion,
    SlideResult,
    binomial_quantile,
    poikilocyte_grade,
    poisson_quantile,
    rogan_gladen,
    slide_result,
    wilson_interval,
)
from smearscan.slide_stats.schistocytes import threshold_call

Z = 1.959964
OPERATING = {
    "schistocyte": {"threshold": 0.93, "sensitivity": 0.85, "false_positive_rate": 0.002},
    "nrbc": {"threshold": 0.9, "sensitivity": 0.9, "false_positive_rate": 0.002},
    "immature_granulocyte": {"threshold": 0.9, "sensitivity": 0.8, "false_positive_rate": 0.002},
}


def wilson_by_roots(k, n):
    """Wilson bounds as the roots of (n + z^2) p^2 - (2k + z^2) p + k^2 / n = 0."""
    a, b, c = n + Z * Z, -(2 * k + Z * Z), k * k / n
    root = math.sqrt(b * b - 4 * a * c)
    return (-b - root) / (2 * a), (-b + root) / (2 * a)


def cells(*groups):
    """Columns from ``(label, morphology, count[, border])`` groups."""
    label, morphology, border = [], [], []
    for label_, morphology_, count, *edge in groups:
        label += [label_] * count
        morphology += [morphology_] * count
        border += [bool(edge and edge[0])] * count
    return {"label": np.array(label), "morphology": np.array(morphology),
            "border": np.array(border, dtype=bool)}


def red(normal, schistocytes, *extra):
    """``normal`` rbc cells and ``schistocytes``, plus extra groups."""
    return cells(("rbc", "normal", normal), ("schistocyte", "", schistocytes), *extra)


# Wilson interval ---------------------------------------------------------------------------


def test_wilson_matches_closed_formula_for_10_of_1000():
    low, high = wilson_interval(10, 1000)
    assert (low, high) == pytest.approx(wilson_by_roots(10, 1000), abs=1e-12)
    assert 100 * low == pytest.approx(0.5441, abs=1e-4)
    assert 100 * high == pytest.approx(1.8309, abs=1e-4)


def test_wilson_published_value_for_0_of_10():
    assert wilson_interval(0, 10) == (0.0, pytest.approx(0.2775, abs=1e-4))


def test_wilson_ends_are_exact_and_empty_count_is_uninformative():
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


# Rogan-Gladen ------------------------------------------------------------------------------


def test_rogan_gladen_hand_value():
    expected = (0.05 + 0.99 - 1) / (0.9 + 0.99 - 1)
    assert rogan_gladen(0.05, 0.9, 0.01) == pytest.approx(expected)
    assert expected == pytest.approx(0.04494, abs=1e-5)


def test_rogan_gladen_clips_to_zero_and_one():
    assert rogan_gladen(0.005, 0.9, 0.01) == 0.0
    assert rogan_gladen(0.95, 0.9, 0.01) == 1.0


def test_rogan_gladen_rejects_uninformative_classifier():
    with pytest.raises(ValueError):
        rogan_gladen(0.1, 0.5, 0.5)


def test_corrected_estimate_and_interval_use_the_same_transform():
    s = slide_result(**red(1144, 106), operating=OPERATING).to_dict()["schistocytes"]
    low, high = wilson_interval(106, 1250)
    youden = 0.85 - 0.002
    assert s["corrected_percent"] == pytest.approx(100 * (106 / 1250 - 0.002) / youden, abs=1e-4)
    assert s["corrected_ci95"] == pytest.approx(
        [100 * (low - 0.002) / youden, 100 * (high - 0.002) / youden], abs=1e-4
    )
    assert s["correction"].startswith(
        "Rogan-Gladen with sensitivity 0.85, false-positive rate 0.002 (validation)"
    )


def test_missing_operating_characteristics_say_so():
    s = slide_result(**red(990, 10)).to_dict()["schistocytes"]
    assert s["corrected_percent"] is None and s["corrected_ci95"] is None
    assert s["correction"].startswith("none")


# Count requirement and threshold calls ----------------------------------------------------


def test_999_red_cells_are_insufficient_and_1000_are_enough():
    s = slide_result(**red(979, 20)).schistocytes
    assert (s.sufficient, s.call) == (False, "insufficient")
    assert s.message == "counted 999 of the 1000 red cells required (ICSH 2021); add fields"
    assert "no call" in s.sentence
    assert slide_result(**red(980, 20)).schistocytes.sufficient


def test_above_in_adult_with_report_sentence():
    s = slide_result(**red(1144, 106)).schistocytes
    assert s.call == "above"
    assert s.proportion.percent == pytest.approx(8.48)
    assert s.sentence == (
        "Schistocytes 8.5% (95% CI 7.1-10.2%) of 1,250 red cells: above the 1% ICSH limit for "
        "adults; suggests thrombotic microangiopathy in the right clinical context."
    )


def test_below_and_borderline_in_adult():
    assert slide_result(**red(998, 2)).schistocytes.call == "below"  # upper 0.73%
    assert slide_result(**red(990, 10)).schistocytes.call == "borderline"  # 0.54-1.83%


def test_preterm_limit_is_5_percent():
    three_percent = red(970, 30)  # 95% CI 2.11-4.26%
    assert slide_result(**three_percent).schistocytes.call == "above"
    preterm = slide_result(**three_percent, population="preterm").schistocytes
    assert (preterm.call, preterm.limit_percent) == ("below", 5.0)
    assert "within the 5% ICSH limit for preterm infants" in preterm.sentence
    assert slide_result(**red(950, 50), population="preterm").schistocytes.call == "borderline"
    assert slide_result(**red(900, 100), population="preterm").schistocytes.call == "above"
    assert slide_result(**red(970, 30), population="neonate").schistocytes.limit_percent == 1.0


def test_call_boundaries_where_at_the_limit_is_normal():
    assert threshold_call((0.5, 1.0), 1.0) == "below"
    assert threshold_call((1.0, 2.0), 1.0) == "borderline"
    assert threshold_call((1.0001, 2.0), 1.0) == "above"


def test_unknown_population_and_label_raise():
    with pytest.raises(ValueError, match="population"):
        slide_result(**red(10, 0), population="children")
    with pytest.raises(ValueError, match="unknown labels"):
        slide_result(**cells(("RBC", "normal", 3)))


# Counting ----------------------------------------------------------------------------------


def test_border_cells_and_non_red_objects_are_not_counted():
    data = red(
        990, 10,
        ("schistocyte", "", 50, True), ("rbc", "normal", 40, True),
        ("nrbc", "", 5), ("wbc", "", 7), ("platelet", "", 30), ("other", "", 4),
    )
    result = slide_result(**data).to_dict()
    assert result["schistocytes"]["count"] == 10
    assert result["schistocytes"]["rbc_counted"] == 1000
    assert result["counts"] == {"rbc": 990, "schistocyte": 10, "nrbc": 5, "wbc": 7,
                                "immature_granulocyte": 0, "platelet": 30, "border": 90}


def test_morphology_profile_and_teardrops():
    data = cells(("rbc", "normal", 900), ("rbc", "teardrop", 80), ("schistocyte", "", 20))
    morphology = slide_result(**data).to_dict()["morphology"]

    def interval(k):
        return [round(100 * b, 4) for b in wilson_interval(k, 1000)]

    assert morphology["profile"] == {
        "normal": {"count": 900, "percent": 90.0, "ci95": interval(900), "grade": None},
        "schistocyte": {"count": 20, "percent": 2.0, "ci95": interval(20), "grade": None},
        "teardrop": {"count": 80, "percent": 8.0, "ci95": interval(80), "grade": "1+"}}
    assert morphology["teardrop_percent"] == 8.0
    assert morphology["teardrop_ci95"] == pytest.approx(
        [100 * b for b in wilson_by_roots(80, 1000)], abs=1e-4
    )


def test_schistocytes_are_not_counted_inside_other_shapes():
    """The morphology head gives a schistocyte a shape too (often teardrop): 148 "teardrops" of
    which 27 are schistocytes are 121 teardrops and 27 schistocytes."""
    data = cells(("rbc", "normal", 852), ("rbc", "teardrop", 121),
                 ("schistocyte", "teardrop", 27))
    result = slide_result(**data).to_dict()
    profile = result["morphology"]["profile"]
    assert (profile["teardrop"]["count"], profile["teardrop"]["percent"]) == (121, 12.1)
    assert (profile["schistocyte"]["count"], profile["schistocyte"]["percent"]) == (27, 2.7)
    assert result["morphology"]["teardrop_percent"] == 12.1
    assert sum(v["count"] for v in profile.values()) == result["schistocytes"]["rbc_counted"]


# Less-specific rule (ICSH 2021 with the ICSH 2015 grades) ---------------------------------


@pytest.mark.parametrize(
    ("count", "grade"),
    [(0, None), (4, None), (5, "1+"), (20, "1+"), (21, "2+"), (50, "2+"), (51, "3+"),
     (100, "3+")],
)
def test_icsh_2015_grade_bands_of_100_red_cells(count, grade):
    assert poikilocyte_grade(Proportion.of(count, 100)) == grade


def test_icsh_2015_grade_edges_are_exact_between_whole_percents():
    """200 of 1000 is 20% (1+); 201 of 1000 is above the 1+ band (2+); 501 is above 50%."""
    assert [poikilocyte_grade(Proportion.of(k, 1000)) for k in (49, 50, 200, 201, 500, 501)] == [
        None, "1+", "1+", "2+", "2+", "3+"]
    assert poikilocyte_grade(Proportion.of(0, 0)) is None


# The flag needs the Wilson lower bound above 20%: with 1000 red cells that is 225 cells
# (lower bound 20.02%) and not 224 (19.92%), although both are graded 2+.
@pytest.mark.parametrize(("shape", "count", "flagged"),
                         [(s, k, k == 225) for s in OTHER_POIKILOCYTES for k in (224, 225)])
def test_less_specific_at_2_plus_beyond_counting_error(shape, count, flagged):
    s = slide_result(**red(1000 - count, 0, (("rbc", shape, count)))).schistocytes
    assert s.less_specific is flagged
    assert [f.shape for f in s.less_specific_forms] == ([shape] if flagged else [])


def test_less_specific_bound_with_a_small_count():
    """28 of 100 (2+, lower bound 20.1%) flags; 27 of 100 (2+, lower bound 19.3%) does not."""
    assert slide_result(**red(72, 0, ("rbc", "target", 28))).schistocytes.less_specific
    assert not slide_result(**red(73, 0, ("rbc", "target", 27))).schistocytes.less_specific


def test_a_normal_smear_with_every_other_shape_at_1_plus_is_not_flagged():
    """Seven shapes at 10% each (1+) and 30% normal: poikilocytosis, but none graded 2+."""
    data = red(300, 0, *(("rbc", shape, 100) for shape in OTHER_POIKILOCYTES))
    s = slide_result(**data).schistocytes
    assert (s.less_specific, s.less_specific_reason, s.less_specific_forms) == (False, None, ())


def test_size_and_colour_classes_are_not_poikilocytes():
    """Macrocytes, microcytes and hypochromic cells are graded apart in ICSH 2015: 500 of 1000
    macrocytes do not make the schistocyte % less specific."""
    for shape in ("macrocyte", "microcyte", "hypochromia"):
        assert not slide_result(**red(490, 10, ("rbc", shape, 500))).schistocytes.less_specific


def test_schistocytes_never_make_their_own_count_less_specific():
    """300 schistocytes that the shape head reads as teardrops are not teardrops."""
    s = slide_result(**red(700, 0, ("schistocyte", "teardrop", 300))).schistocytes
    assert s.call == "above" and not s.less_specific
    assert "suggests thrombotic microangiopathy" in s.sentence


def test_synthetic_elliptocytosis_slide_is_flagged_with_count_interval_and_grade():
    """A hereditary elliptocytosis slide: 620 elliptocytes, 40 ovalocytes, 330 normal and
    10 schistocytes of 1000 red cells."""
    data = red(330, 10, ("rbc", "elliptocyte", 620), ("rbc", "ovalocyte", 40))
    result = slide_result(**data).to_dict()["schistocytes"]
    low, high = (100 * b for b in wilson_by_roots(620, 1000))
    assert result["less_specific"] is True
    assert result["less_specific_forms"] == [{
        "shape": "elliptocyte", "grade": "3+", "count": 620, "graded_on": 1000, "percent": 62.0,
        "ci95": [round(low, 4), round(high, 4)]}]
    assert result["less_specific_reason"] == (
        f"elliptocyte 3+: 620 of 1,000 red cells clear of others, 62.0% (95% CI {low:.1f}-"
        f"{high:.1f}%) "
        "(graded as ICSH 2015; flagged at 2+ or more with the whole 95% interval above 20%, "
        "the interval being this tool's rule). ICSH 2021: the schistocyte % is specific for "
        "TMA only when schistocytes are the main abnormality")
    assert result["call"] == "borderline"  # 1.0% (0.54-1.83%) of 1000


def test_less_specific_lists_every_flagged_form_most_frequent_first_and_drops_tma():
    s = slide_result(**red(380, 20, ("rbc", "target", 250), ("rbc", "spherocyte", 350))
                     ).schistocytes
    assert s.call == "above" and s.less_specific
    assert [(f.shape, f.grade, f.proportion.count) for f in s.less_specific_forms] == [
        ("spherocyte", "2+", 350), ("target", "2+", 250)]
    assert s.less_specific_reason.startswith("spherocyte 2+: 350 of 1,000 red cells clear of "
                                             "others, 35.0% ")
    assert "; target 2+: 250 of 1,000 red cells clear of others, 25.0% " in s.less_specific_reason
    assert "suggests thrombotic microangiopathy" not in s.sentence
    assert ("above the 1% ICSH limit for adults; thrombotic microangiopathy is still possible, "
            "but the % is less specific for it (below). Less specific: spherocyte 2+") in (
        s.sentence)
    assert s.sentence.endswith(f" Less specific: {s.less_specific_reason}.")


# NRBC and immature granulocytes ---------------------------------------------------------


def test_nrbc_per_100_wbc_when_white_cells_were_seen():
    nrbc = slide_result(**red(990, 10, ("nrbc", "", 12), ("wbc", "", 40))).nrbc
    assert (nrbc.basis, nrbc.denominator, nrbc.present) == ("per 100 WBC", 40, True)
    assert nrbc.per_100_wbc == pytest.approx(30.0)
    assert nrbc.per_1000_rbc == pytest.approx(12.0)
    low, high = wilson_by_roots(12, 52)
    assert nrbc.ci95 == pytest.approx((100 * low / (1 - low), 100 * high / (1 - high)))


def test_nrbc_per_1000_rbc_without_white_cells():
    nrbc = slide_result(**red(990, 10, ("nrbc", "", 5))).to_dict()["nrbc"]
    assert (nrbc["basis"], nrbc["denominator"], nrbc["per_100_wbc"]) == ("per 1000 RBC", 1000, None)
    assert nrbc["per_1000_rbc"] == 5.0
    assert not slide_result(**red(990, 10)).nrbc.present


@pytest.mark.parametrize(("wbc", "reliable"), [(MIN_WBC - 1, False), (MIN_WBC, True)])
def test_nrbc_rate_over_fewer_than_20_white_cells_is_unreliable(wbc, reliable):
    nrbc = slide_result(**red(990, 10, ("nrbc", "", 4), ("wbc", "", wbc))).nrbc
    assert (nrbc.basis, nrbc.denominator, nrbc.reliable) == ("per 100 WBC", wbc, reliable)
    assert ("unreliable, fewer than 20 white cells (this tool's rule)" in nrbc.sentence) is (
        not reliable)


@pytest.mark.parametrize(("rbc", "reliable"), [(999, False), (1000, True)])
def test_nrbc_rate_per_1000_red_cells_needs_1000_red_cells(rbc, reliable):
    nrbc = slide_result(**red(rbc, 0, ("nrbc", "", 3))).nrbc
    assert (nrbc.basis, nrbc.denominator, nrbc.reliable) == ("per 1000 RBC", rbc, reliable)


def test_nrbc_sentence_never_shows_a_rate_without_what_it_means():
    """2 NRBCs over 7 white cells read "28.6 per 100 WBC" beside "present: false": the sentence
    says the rate is unreliable and within the classifier's false calls."""
    data = red(1200, 0, ("nrbc", "", 2), ("wbc", "", 7))
    nrbc = slide_result(**data, operating=OPERATING).nrbc
    low, high = wilson_by_roots(2, 9)
    assert (nrbc.present, nrbc.reliable) == (False, False)
    assert nrbc.per_100_wbc == pytest.approx(200 / 7)
    bound = binomial_quantile(0.99, 1209, 0.002)
    assert nrbc.sentence == (
        f"NRBCs 2, 28.6 per 100 WBC (95% CI {100 * low / (1 - low):.1f}-"
        f"{100 * high / (1 - high):.1f}) over 7 white cells: unreliable, fewer than 20 white "
        "cells (this tool's rule); not present: no more than the classifier's false calls "
        f"explain (NRBC: 2 seen among 1209 cells; false-positive rate 0.002 explains up to "
        f"{bound} (99% bound): not seen).")
    present = slide_result(**red(990, 10, ("nrbc", "", 12), ("wbc", "", 40)),
                           operating=OPERATING).nrbc
    assert present.present and present.reliable
    assert present.sentence.startswith("NRBCs 12, 30.0 per 100 WBC (95% CI ")
    assert "over 40 white cells; present beyond the classifier's false calls (" in (
        present.sentence)
    # Wilson upper bound of 0 of 40: z^2 / (40 + z^2) = 0.0876, i.e. 9.6 per 100 WBC.
    assert slide_result(**red(990, 10, ("wbc", "", 40))).nrbc.sentence == (
        "NRBCs 0, 0.0 per 100 WBC (95% CI 0.0-9.6) over 40 white cells; none seen.")


def test_immature_granulocytes_over_all_white_cells():
    data = red(990, 10, ("wbc", "", 90), ("immature_granulocyte", "", 10))
    ig = slide_result(**data).to_dict()["immature_granulocytes"]
    assert (ig["count"], ig["wbc_counted"], ig["percent"]) == (10, 100, 10.0)
    assert ig["ci95"] == pytest.approx([100 * b for b in wilson_by_roots(10, 100)], abs=1e-4)


# Leukoerythroblastic picture ---------------------------------------------------------------
# With 1000 red cells, 100 white cells and k NRBCs, the NRBC denominator is 1100 + k; at a
# false-positive rate of 0.002, binom.ppf(0.99, 1106, 0.002) = 6 and
# binom.ppf(0.99, 100, 0.002) = 2.


@pytest.mark.parametrize(
    ("nrbc", "ig", "finding"),
    [(7, 3, "present"), (6, 3, "possible"), (7, 2, "possible"), (6, 2, "absent")],
)
def test_leukoerythroblastic_against_classifier_false_positives(nrbc, ig, finding):
    data = red(990, 10, ("nrbc", "", nrbc), ("wbc", "", 100 - ig), ("immature_granulocyte", "", ig))
    result = slide_result(**data, operating=OPERATING).leukoerythroblastic
    assert result.finding == finding
    assert len(result.reasons) == 2


def test_leukoerythroblastic_insufficient_below_20_white_cells():
    data = red(990, 10, ("nrbc", "", 50), ("wbc", "", 14), ("immature_granulocyte", "", 5))
    result = slide_result(**data, operating=OPERATING).leukoerythroblastic
    assert result.finding == "insufficient"
    assert result.reasons[0] == "saw 19 white cells; at least 20 needed"
    enough = red(990, 10, ("nrbc", "", 50), ("wbc", "", 15), ("immature_granulocyte", "", 5))
    assert slide_result(**enough, operating=OPERATING).leukoerythroblastic.finding == "present"


def test_leukoerythroblastic_without_rates_counts_any_cell():
    data = red(990, 10, ("nrbc", "", 1), ("wbc", "", 99), ("immature_granulocyte", "", 1))
    result = slide_result(**data).leukoerythroblastic
    assert result.finding == "present"
    assert all("no false-positive rate known" in reason for reason in result.reasons)


# Output shape ------------------------------------------------------------------------------


def test_to_dict_has_the_shape_the_verdict_reads_and_is_json():
    data = red(990, 10, ("nrbc", "", 3), ("wbc", "", 50), ("rbc", "teardrop", 5))
    result = slide_result(**data, operating=OPERATING).to_dict()
    json.dumps(result, allow_nan=False)
    assert list(result) == ["schistocytes", "nrbc", "immature_granulocytes",
                            "leukoerythroblastic", "morphology", "counts"]
    assert list(result["schistocytes"]) == [
        "count", "rbc_counted", "percent", "ci95", "corrected_percent", "corrected_ci95",
        "correction", "sufficient", "required", "message", "limit_percent", "population",
        "call", "sentence", "less_specific", "less_specific_reason", "less_specific_forms",
        "graded_rbc", "not_flagged_note", "edge_width_um", "soft_focus", "focus_note",
        "scale_note", "overlap_note", "whole_field_percent", "call_basis", "call_percent",
        "call_ci95",
    ]
    assert list(result["nrbc"]) == ["count", "present", "per_100_wbc", "per_1000_rbc", "ci95",
                                    "denominator", "basis", "reliable", "sentence"]
    assert list(result["immature_granulocytes"]) == ["count", "wbc_counted", "percent", "ci95"]
    assert list(result["leukoerythroblastic"]) == ["finding", "rule", "reasons"]
    assert list(result["morphology"]) == ["teardrop_percent", "teardrop_ci95", "profile",
                                          "sizes_note"]


def test_call_uses_the_corrected_interval_when_the_model_gives_its_error_rates():
    label = np.array(["schistocyte"] * 4 + ["rbc"] * 1996)
    morphology = np.array(["normal"] * len(label))
    border = np.zeros(len(label), bool)
    raw = slide_result(label=label, morphology=morphology, border=border).to_dict()
    assert raw["schistocytes"]["call"] == "below"  # raw upper bound 0.51% <= 1%
    operating = {"schistocyte": {"threshold": 0.5, "sensitivity": 0.3,
                                 "false_positive_rate": 0.002}}
    corrected = slide_result(label=label, morphology=morphology, border=border,
                             operating=operating).to_dict()["schistocytes"]
    low, high = wilson_interval(4, 2000)
    expected_high = 100 * rogan_gladen(high, 0.3, 0.002)
    assert corrected["corrected_ci95"][1] == pytest.approx(expected_high, abs=1e-3)
    assert expected_high > 1.0  # so the corrected interval spans the limit
    assert corrected["call"] == "borderline"
    assert "corrected for the classifier's missed and false calls" in corrected["sentence"]
    # QA 61 F7: a count without false calls (signed off) is corrected for missed calls only.
    operating["schistocyte"]["false_positive_rate"] = 0.0
    signed = slide_result(label=label, morphology=morphology, border=border,
                          operating=operating).to_dict()["schistocytes"]
    assert "corrected for the classifier's missed calls (its sensitivity)" in signed["sentence"]


def test_nrbc_present_only_beyond_the_classifiers_false_positives():
    label = np.array(["nrbc"] * 2 + ["rbc"] * 2000)
    args = {"label": label, "morphology": np.array([""] * 2 + ["normal"] * 2000),
            "border": np.zeros(len(label), bool)}
    assert slide_result(**args).nrbc.present  # no rate known: any NRBC counts
    operating = {"nrbc": {"threshold": 0.1, "sensitivity": 0.99, "false_positive_rate": 0.002}}
    # 2002 candidates x 0.002 -> the 99% binomial bound is above 2: not present.
    assert not slide_result(**args, operating=operating).nrbc.present
    many = np.array(["nrbc"] * 20 + ["rbc"] * 2000)
    assert slide_result(label=many, morphology=np.array([""] * 20 + ["normal"] * 2000),
                        border=np.zeros(len(many), bool), operating=operating).nrbc.present


def test_a_validation_rate_of_zero_is_taken_at_its_upper_bound():
    """0 false calls among 4,000 validation negatives is not a rate of 0: NRBC calls among 2,001
    cells are a finding only beyond what the rate's Wilson 95% upper bound (~0.00096) explains
    at the 99% binomial bound (6 calls)."""
    zero = {"nrbc": {"threshold": 0.5, "sensitivity": 0.95, "false_positive_rate": 0.0,
                     "validation_negatives": 4000}}
    upper = wilson_interval(0, 4000)[1]
    assert upper == pytest.approx(0.00096, abs=1e-5)
    explained = int(binom.ppf(0.99, 2001, upper))
    assert explained == 6

    def present(k: int, operating: dict) -> bool:
        label = np.array(["nrbc"] * k + ["rbc"] * (2001 - k))
        return slide_result(label=label, morphology=np.array(["normal"] * len(label)),
                            border=np.zeros(len(label), bool), operating=operating).nrbc.present

    assert not present(1, zero) and not present(explained, zero) and present(explained + 1, zero)
    # Without the count of negatives the rate is taken as it is: one call is a finding.
    bare = {"nrbc": {"threshold": 0.5, "sensitivity": 0.95, "false_positive_rate": 0.0}}
    assert present(1, bare)


@pytest.mark.parametrize("n", [0, 1, 7, 150, 2001, 40_000])
@pytest.mark.parametrize("p", [0.0, 1e-5, 0.00096, 0.002, 0.05, 0.5, 1.0])
def test_binomial_quantile_equals_scipy_stats(n, p):
    # Upper quantiles, as used; at q = 0.5 with p = 0.5 the cdf ties q to the last bit and the
    # two libraries round differently.
    for q in (0.9, 0.99, 0.999):
        assert binomial_quantile(q, n, p) == int(binom.ppf(q, n, p))


# Size-based morphology ---------------------------------------------------------------------


def test_size_morphologies_are_left_out_when_sizes_are_relative():
    columns = red(900, 10, ("rbc", "macrocyte", 70), ("rbc", "microcyte", 15),
                  ("rbc", "teardrop", 5))
    declared = slide_result(**columns)
    assert declared.profile["macrocyte"].count == 70
    assert declared.profile["microcyte"].count == 15
    assert declared.sizes_note is None
    relative = slide_result(**columns, sizes_relative=True)
    assert set(relative.profile) == {"normal", "schistocyte", "teardrop"}
    assert relative.profile["teardrop"].count == 5
    assert relative.schistocytes.proportion.denominator == 1000
    assert relative.to_dict()["morphology"]["sizes_note"].startswith("macrocytes and microcytes")


def test_a_signed_off_review_has_no_false_calls_left_in_any_gallery_class():
    # qacli2 LOW-6: an NRBC the reviewer confirmed read "not present: no more than the
    # classifier's false calls explain". The review shows every schistocyte, NRBC and immature
    # granulocyte call, so a signed-off count has none left to subtract.
    from smearscan.review.reviews import reviewed_operating

    operating = {name: {**point, "validation_negatives": 4067}
                 for name, point in OPERATING.items()}
    data = red(1199, 1, ("nrbc", "", 1), ("wbc", "", 20), ("immature_granulocyte", "", 1))
    model = slide_result(**data, operating=operating)
    assert (model.nrbc.present, model.leukoerythroblastic.finding) == (False, "absent")
    reviewed = reviewed_operating(operating)
    assert {name: (point["false_positive_rate"], "validation_negatives" in point)
            for name, point in reviewed.items()} == {
        name: (0.0, False) for name in ("schistocyte", "nrbc", "immature_granulocyte")}
    assert operating["nrbc"]["validation_negatives"] == 4067  # the run's own left as it was
    signed = slide_result(**data, operating=reviewed)
    assert (signed.nrbc.present, signed.leukoerythroblastic.finding) == (True, "present")
    assert signed.nrbc.sentence.endswith(
        "present beyond the classifier's false calls (NRBC: 1 seen among 1222 cells; "
        "false-positive rate 0 explains up to 0 (99% bound): seen).")
    assert reviewed_operating(None) is None


def test_a_signed_off_review_has_no_false_calls_left_at_the_whole_field_rates_either():
    from smearscan.review.reviews import reviewed_operating

    whole = {"sensitivity": 0.22, "false_positive_rate": 0.002, "sensitivity_se": 0.1,
             "false_positive_rate_se": 0.0005, "estimate": "whole fields"}
    reviewed = reviewed_operating({"schistocyte": OPERATING["schistocyte"] | {
        "whole_field": whole}})
    assert reviewed["schistocyte"]["whole_field"] == whole | {
        "false_positive_rate": 0.0, "false_positive_rate_se": 0.0}


@pytest.mark.parametrize(("touching", "flagged"), [(0, True), (300, False)])
def test_shapes_are_graded_on_the_red_cells_clear_of_others(touching, flagged):
    # QA 65 F6: the pieces the segmentation cuts from a clump read as burr cells. Of 1,000 red
    # cells 300 read burr: 2+ (30%, CI 27-33%); where those 300 touch others, the 700 clear of
    # them show none.
    labels = np.array(["rbc"] * 1000)
    morphology = np.array(["burr"] * 300 + ["normal"] * 700)
    near = np.zeros(1000, bool)
    near[:touching] = True
    s = slide_result(label=labels, morphology=morphology, border=np.zeros(1000, bool),
                     touching=near).schistocytes
    assert s.less_specific is flagged
    assert [(f.shape, f.proportion.count, f.proportion.denominator)
            for f in s.less_specific_forms] == ([("burr", 300, 1000)] if flagged else [])
    # QA 73 M1: beside a morphology table of all 1,000 (burr 30%, 2+), the report said only "no
    # other poikilocyte is graded 2+".
    assert s.graded_rbc == 1000 - touching
    assert s.not_flagged_note == (None if flagged else (
        "Not flagged as less specific: no other poikilocyte is graded 2+ or more beyond "
        "counting error on the 700 whole red cells clear of others (ICSH 2015 grades; ICSH "
        "2021; graded on cells clear of others, this tool's rule: the morphology table counts "
        "all 1000 red cells, and its grades may differ)"))


@pytest.mark.parametrize(("graded", "note"), [
    (99, "Other shapes not graded: 99 red cells lie clear of others, under the 100 this tool "
         "grades on (a crowded area, or too few cells: photograph more fields, where the cells "
         "lie apart)"),
    (None, "Not flagged as less specific: no other poikilocyte is graded 2+ or more beyond "
           "counting error (ICSH 2015 grades; ICSH 2021)"),  # a summary before 0.3.21
])
def test_the_note_without_a_flag_says_when_shapes_were_not_graded(graded, note):
    s = slide_result(**red(1000, 0)).schistocytes
    assert dataclasses.replace(s, graded_rbc=graded).not_flagged_note == note


# NRBC false calls by source ------------------------------------------------------------------
# Rates measured end to end (scripts/nrbc_false_calls.py): per red cell 0 of 40,000, per white
# cell 10 of 400. Their Wilson 95% upper bounds are 9.60e-5 and 0.0453.
FALSE_CALLS = {"red_cell": {"calls": 0, "cells": 40000, "measured_on": "red"},
               "white_cell": {"calls": 10, "cells": 400, "measured_on": "white"}}
BY_SOURCE = {**OPERATING, "nrbc": {**OPERATING["nrbc"], "false_calls": FALSE_CALLS}}


def by_source_bound(n_rbc, n_wbc):
    """The 99% Poisson quantile of the calls the two upper rates expect (scipy.stats)."""
    red_rate, white_rate = wilson_by_roots(0, 40000)[1], wilson_by_roots(10, 400)[1]
    return int(poisson.ppf(0.99, n_rbc * red_rate + n_wbc * white_rate))


@pytest.mark.parametrize(("n_rbc", "n_wbc", "bound"), [
    (5000, 20, 5), (5000, 200, 17), (1000, 100, 10), (20000, 0, 6)])
def test_nrbc_calls_are_weighed_against_the_false_calls_of_the_slides_own_red_and_white_cells(
        n_rbc, n_wbc, bound):
    # QA 78 M2: one rate over all cells (0.0041, 0 of 934 validation crops) explained up to 32
    # NRBC calls among 5,000 red cells; false NRBC calls come with white cells.
    assert by_source_bound(n_rbc, n_wbc) == bound
    for k, present in ((bound, False), (bound + 1, True)):
        data = red(n_rbc - 10, 10, ("nrbc", "", k), ("wbc", "", n_wbc))
        nrbc = slide_result(**data, operating=BY_SOURCE).nrbc
        assert nrbc.present is present
        assert f"explain up to {bound} (99% bound)" in nrbc.sentence
    assert nrbc.sentence.endswith(
        f"(NRBC: {bound + 1} seen among {n_rbc} red and {n_wbc} white cells; false calls per "
        f"red cell 9.6e-05 and per white cell 0.045 (95% upper bounds, measured end to end on "
        f"whole images the model never saw) explain up to {bound} (99% bound): seen).")


def test_the_leukoerythroblastic_picture_reads_the_nrbcs_by_source_too():
    # 5 NRBCs among 2,000 red and 30 white cells: the white cells explain up to 5
    # (by_source_bound(2000, 30) == 5), one rate of 0.002 over all 2,036 cells up to 9.
    data = red(1990, 10, ("nrbc", "", 6), ("wbc", "", 27), ("immature_granulocyte", "", 3))
    assert by_source_bound(2000, 30) == 5
    assert slide_result(**data, operating=BY_SOURCE).leukoerythroblastic.finding == "present"
    assert slide_result(**data, operating=OPERATING).leukoerythroblastic.finding == "possible"


@pytest.mark.parametrize("mean", [0.0, 1e-6, 0.3, 2.2, 5.766573612161672, 17.0, 250.5])
def test_poisson_quantile_is_scipys(mean):
    assert poisson_quantile(0.99, mean) == int(poisson.ppf(0.99, mean))


@pytest.mark.parametrize(("normal", "schistocytes", "repeated", "call"), [
    # 1,228 red cells with no call, 560 of them seen again: 668 distinct (QA 83 #1).
    (1228, 0, 560, "insufficient"),
    # 1,000 distinct after the cells seen again: the count stands.
    (1228, 0, 228, "below"),
    # Above the limit: a count of copies of fragment-rich fields stands.
    (1178, 50, 560, "above"),
    # Short of 1,000 before anything is taken off: insufficient as always.
    (900, 0, 0, "insufficient"),
])
def test_a_count_reaching_1000_only_with_cells_seen_again_gets_no_call_within_the_limit(
        normal, schistocytes, repeated, call):
    result = slide_result(**red(normal, schistocytes), operating=OPERATING, repeated=repeated)
    count = result.schistocytes
    assert count.call == call
    note = (f"the red cells reach the 1000 required only with {repeated} seen again where "
            f"fields overlap ({normal + schistocytes - repeated} distinct): add fields that do "
            "not overlap")
    if call == "insufficient" and repeated:
        assert count.sentence.split(": no call: ")[1] == f"{note}."
    else:
        assert note not in count.sentence
    if call == "above":
        assert count.sentence.endswith(f" {note[0].upper()}{note[1:]}.")


def test_cells_seen_again_count_each_field_once_against_the_fields_before_it():
    from smearscan.overlap import FieldOverlap
    from smearscan.results import cells_seen_again

    def pair(first, second, coinciding):
        return FieldOverlap(first, second, (0.0, 0.0), coinciding, coinciding)

    # Three copies of one field of 100 cells: 200 seen again, not 300 (three pairs).
    assert cells_seen_again([pair("a", "b", 100), pair("a", "c", 100),
                             pair("b", "c", 100)]) == 200
    # A field overlapping two before it: the larger share.
    assert cells_seen_again([pair("a", "c", 30), pair("b", "c", 45)]) == 45
    assert cells_seen_again([]) == 0


def test_the_verdict_gives_the_overlap_as_why_a_count_of_1000_has_no_call():
    # QA 85 #3: it said "only 1269 red cells counted; count at least 1000".
    from smearscan.verdict.findings import SmearFindings, smear_missing

    result = slide_result(**red(1228, 0), operating=OPERATING, repeated=560)
    smear = SmearFindings.from_slide_result(result)
    assert smear_missing(smear) == [
        "schistocyte_percent: the red cells reach the 1000 required only with 560 seen again "
        "where fields overlap (668 distinct): add fields that do not overlap"]
    read_back = SmearFindings.from_slide_result(SlideResult.from_dict(result.to_dict()))
    assert read_back.overlap_note == smear.overlap_note is not None


def _corrected(schistocytes: int, red_cells: int):
    """The schistocyte count of ``schistocytes`` calls in ``red_cells``, corrected at a
    sensitivity of 0.3 and a false-call rate of 0.2%."""
    label = np.array(["schistocyte"] * schistocytes + ["rbc"] * (red_cells - schistocytes))
    operating = {"schistocyte": {"threshold": 0.5, "sensitivity": 0.3,
                                 "false_positive_rate": 0.002}}
    return slide_result(label=label, morphology=np.array(["normal"] * len(label)),
                        border=np.zeros(len(label), bool), operating=operating).schistocytes


def test_the_report_line_leads_with_the_figures_the_call_rests_on():
    # QA 155 M-1: the raw % and its interval led, wholly under 1%, then "the interval includes
    # the 1% ICSH limit" meant the corrected one after it.
    s = _corrected(4, 2000)
    assert s.sentence == (
        "Schistocytes 0.00% (95% CI 0.00-1.05%) corrected for the classifier's missed and false "
        "calls, of 2,000 red cells (as counted 0.20%, 95% CI 0.08-0.51%): the interval includes "
        "the 1% ICSH limit for adults; count more cells to decide.")


@pytest.mark.parametrize(("rbc", "schistocytes", "where"), [
    (200, 40, "lies wholly above"), (200, 1, "includes"), (999, 0, "lies within")])
def test_too_few_red_cells_say_where_their_interval_lies(rbc, schistocytes, where):
    # QA 155 M-2: 231 red cells at 24.5% (lower bound 16.9%) read only "no call; add fields";
    # QA 156 M-8: said only of an interval wholly above the limit.
    s = slide_result(**red(rbc - schistocytes, schistocytes)).schistocytes
    assert s.call == "insufficient"
    assert s.sentence.endswith(
        f"no call; counted {rbc} of the 1000 red cells required (ICSH 2021); add fields; its "
        f"interval so far {where} the 1% ICSH limit for adults.")


def test_an_interval_that_reaches_every_red_cell_says_so():
    # QA 154 M-1: "26.96 (17.77-100.00)" went unexplained.
    s = _corrected(40, 152)
    assert s.corrected_ci95[1] == 100.0
    assert s.sentence.endswith(
        "its interval so far lies wholly above the 1% ICSH limit for adults. The interval "
        "reaches 100%: at this count, what the classifier misses leaves it unbounded above; "
        "count more cells.")
    below = _corrected(10, 122)
    assert below.corrected_ci95[1] < 100 and "reaches 100%" not in below.sentence
