"""Tests for smearscan.verdict.scores: the published score tables at every boundary (PLASMIC,
Bendapudi 2017; ISTH overt DIC, 2025 update; French TMA score, Coppo 2010)."""

import pytest

from smearscan.labs import Labs, parse_labs
from smearscan.verdict import (
    SmearFindings,
    assess,
    format_text,
    french_score,
    isth_dic_score,
    plasmic_score,
)

PLASMIC_ITEMS = ("platelets", "haemolysis", "no active cancer", "no transplant", "mcv", "inr",
                 "creatinine")


def points(score, index):
    return score.items[index].points


# --- PLASMIC (Bendapudi 2017) -------------------------------------------------------------------

@pytest.mark.parametrize(("key", "value", "item", "expected"), [
    ("platelets", 29, "platelets", 1), ("platelets", 30, "platelets", 0),
    ("platelets", 31, "platelets", 0),
    ("mcv", 89, "mcv", 1), ("mcv", 90, "mcv", 0),
    ("inr", 1.49, "inr", 1), ("inr", 1.5, "inr", 0),
    ("creatinine", 1.99, "creatinine", 1), ("creatinine", 2.0, "creatinine", 0),
    ("creatinine", "176.8 umol/L", "creatinine", 0), ("creatinine", "175 umol/L", "creatinine", 1),
    ("active_cancer", True, "no active cancer", 0), ("active_cancer", False, "no active cancer", 1),
    ("transplant", True, "no transplant", 0), ("transplant", False, "no transplant", 1),
])
def test_plasmic_items_at_their_cut_offs(key, value, item, expected):
    score = plasmic_score(parse_labs({key: value}))
    assert points(score, PLASMIC_ITEMS.index(item)) == expected


@pytest.mark.parametrize(("reticulocytes", "haptoglobin", "bilirubin", "expected"), [
    (2.5, 1.0, 1.0, 0), (2.6, 1.0, 1.0, 1),  # reticulocytes > 2.5%
    (1.0, 1.0, 2.0, 0), (1.0, 1.0, 2.1, 1),  # indirect bilirubin > 2.0 mg/dL
    (1.0, 0.0, 1.0, 1), (1.0, 0.09, 1.0, 1), (1.0, 0.1, 1.0, 0),  # undetectable haptoglobin
    (2.6, None, None, 1),  # one qualifying marker is enough
    (1.0, None, None, None),  # not qualifying yet, the others unknown: missing
])
def test_plasmic_haemolysis_item(reticulocytes, haptoglobin, bilirubin, expected):
    labs = Labs(reticulocytes=reticulocytes, haptoglobin=haptoglobin,
                indirect_bilirubin=bilirubin)
    assert points(plasmic_score(labs), 1) == expected


@pytest.mark.parametrize(("platelets", "mcv", "inr", "total", "risk"), [
    (12, 85, 1.1, 7, "high"), (40, 85, 1.1, 6, "high"), (40, 95, 1.1, 5, "intermediate"),
    (100, 95, 1.6, 4, "low"),
])
def test_plasmic_totals_and_risk(platelets, mcv, inr, total, risk):
    labs = Labs(platelets=platelets, reticulocytes=6.0, active_cancer=False, transplant=False,
                mcv=mcv, inr=inr, creatinine=1.2)
    score = plasmic_score(labs)
    assert (score.total, score.risk) == (total, risk)
    assert "Bendapudi" in score.source


def test_plasmic_with_missing_items_is_a_range():
    score = plasmic_score(Labs(platelets=12, mcv=85))
    assert (score.total, score.minimum, score.maximum) == (None, 2, 7)
    assert score.risk == "low to high"
    assert score.to_dict()["items"][2] == {"item": "no active cancer (treated within the past "
                                           "year)", "value": "missing", "points": None}


# --- ISTH overt DIC, 2025 update ----------------------------------------------------------------

@pytest.mark.parametrize(("platelets", "expected"), [(49, 2), (50, 1), (99, 1), (100, 0)])
def test_isth_platelets(platelets, expected):
    assert points(isth_dic_score(Labs(platelets=platelets)), 0) == expected


@pytest.mark.parametrize(("d_dimer", "uln", "expected"), [
    (1.5, 0.5, 0), (300, 100, 0), (301, 100, 2), (700, 100, 2), (701, 100, 3),
    ("3.5 mg/L", "500 ng/mL", 2), ("3.51 mg/L FEU", "0.5 mg/L FEU", 3),
])
def test_isth_d_dimer_as_multiple_of_uln(d_dimer, uln, expected):
    labs = parse_labs({"d_dimer": d_dimer, "d_dimer_uln": uln})
    assert points(isth_dic_score(labs), 1) == expected


@pytest.mark.parametrize(("d_dimer", "shown", "expected"), [
    # QA 150 L-2: a D-dimer over the assay's range, '>20 mg/L', read "40x ULN".
    (">20 mg/L", ">40x ULN", 3), (">=20 mg/L", ">=40x ULN", 3), ("<0.2 mg/L", "<0.4x ULN", 0),
    ("20 mg/L", "40x ULN", 3)])
def test_isth_d_dimer_given_as_a_bound_is_shown_as_one(d_dimer, shown, expected):
    item = isth_dic_score(parse_labs({"d_dimer": d_dimer, "d_dimer_uln": "0.5 mg/L"})).items[1]
    assert (item.value, item.points) == (shown, expected)


@pytest.mark.parametrize(("seconds", "expected"), [(2.9, 0), (3, 1), (5.9, 1), (6, 2)])
def test_isth_pt_prolongation(seconds, expected):
    assert points(isth_dic_score(Labs(pt_prolongation_s=seconds)), 2) == expected


@pytest.mark.parametrize(("fibrinogen", "expected"), [(0.99, 1), (1.0, 0), ("99 mg/dL", 1)])
def test_isth_fibrinogen(fibrinogen, expected):
    assert points(isth_dic_score(parse_labs({"fibrinogen": fibrinogen})), 3) == expected


def test_isth_total_and_notes():
    score = isth_dic_score(Labs(platelets=40, d_dimer=10, d_dimer_uln=1, pt_prolongation_s=7,
                                fibrinogen=0.8, active_cancer=True))
    assert score.total == 8 and score.risk == "compatible with overt DIC (>= 5)"
    # QA 8 #15: without an underlying disorder the score does not apply, and says so.
    alone = isth_dic_score(Labs(platelets=40, d_dimer=10, d_dimer_uln=1, pt_prolongation_s=7,
                                fibrinogen=0.8))
    assert alone.risk == ("compatible with overt DIC (>= 5), but no underlying disorder is "
                          "recorded: the score does not apply")
    assert "2025" in score.source and "active cancer" in score.notes[0]
    low = isth_dic_score(Labs(platelets=150, d_dimer=1, d_dimer_uln=1, pt_prolongation_s=0,
                              fibrinogen=3))
    assert low.total == 0 and low.risk.startswith("not compatible")


def test_isth_with_only_inr_asks_for_pt_seconds_and_does_not_convert():
    score = isth_dic_score(Labs(platelets=82, inr=1.17))
    assert points(score, 2) is None
    assert any("PT prolongation in seconds" in note and "1.3-1.49 can be 3-6 s" in note
               for note in score.notes)
    assert (score.minimum, score.maximum, score.risk) == (1, 7, "indeterminate (items missing)")


# --- French TMA score (Coppo 2010) ----------------------------------------------------------------

def test_french_score_is_computed_without_ana():
    # Issue 15 point 6: ANA is an adjunct of Coppo 2010, not a condition of the score.
    score = french_score(Labs(platelets=12, creatinine=1.0))
    assert (score.total, score.risk) == (2, "severe ADAMTS13 deficiency predicted (2 of 2 "
                                            "criteria)")
    assert "ANA not given (an adjunct, not a point)" in score.notes


@pytest.mark.parametrize(("mapping", "index", "expected"), [
    ({"platelets": 30}, 0, 1), ({"platelets": 31}, 0, 0), ({"platelets": 30.1}, 0, 0),
    ({"creatinine": "200 umol/L"}, 1, 1), ({"creatinine": "201 umol/L"}, 1, 0),
    ({"creatinine": 2.26}, 1, 1), ({"creatinine": 2.27}, 1, 0),
    # QA 77 L5: rounded to 0.1 umol/L, 200.04 scored the point.
    ({"creatinine": "200.04 umol/L"}, 1, 0), ({"creatinine": "199.99 umol/L"}, 1, 1),
])
def test_french_score_criteria(mapping, index, expected):
    assert points(french_score(parse_labs(mapping)), index) == expected


@pytest.mark.parametrize(("platelets", "creatinine", "ana", "total", "risk"), [
    (12, 1.0, "positive", 2, "severe ADAMTS13 deficiency predicted (2 of 2 criteria)"),
    (12, 5.0, "negative", 1, "severe ADAMTS13 deficiency possible (1 of 2 criteria)"),
    (80, 1.0, None, 1, "severe ADAMTS13 deficiency possible (1 of 2 criteria)"),
    (80, 5.0, "positive", 0, "severe ADAMTS13 deficiency unlikely (0 of 2 criteria)"),
])
def test_french_score_grades_zero_one_or_two_criteria(platelets, creatinine, ana, total, risk):
    score = french_score(Labs(platelets=platelets, creatinine=creatinine, ana=ana))
    assert (score.total, score.risk) == (total, risk)
    assert len(score.items) == 2 and "Coppo" in score.source
    assert "derived in idiopathic (acquired) TMA" in score.notes[0]
    if ana == "positive":
        assert "positive ANA: adds to the prediction of severe deficiency" in score.notes


def test_french_score_incomplete_is_indeterminate():
    score = french_score(Labs())
    assert (score.minimum, score.maximum, score.risk) == (0, 2, "indeterminate (items missing)")


@pytest.mark.parametrize(("underlying", "names"), [
    ({"active_cancer": True}, "active cancer"), ({"metastatic_cancer": True}, "active cancer"),
    ({"sepsis": True}, "sepsis"), ({"trauma": True}, "trauma"),
    ({"obstetric_complication": "placental abruption"},
     "obstetric complication (placental abruption)"),
    ({"obstetric_complication": True}, "obstetric complication"),
    ({"pregnancy": True}, "none recorded"),
])
def test_isth_underlying_disorders_include_obstetric_complications(underlying, names):
    score = isth_dic_score(parse_labs(underlying))
    assert score.notes[0].endswith(f"recorded: {names}")


def test_plasmic_counts_a_metastatic_cancer_as_active():
    assert points(plasmic_score(Labs(metastatic_cancer=True)), 2) == 0


@pytest.mark.parametrize(("labs", "noted"), [
    ({"active_cancer": False, "drug_exposure": "gemcitabine"}, True),
    ({"active_cancer": False, "drug_exposure": "GEM/nab-paclitaxel"}, True),
    ({"active_cancer": None, "drug_exposure": "gemcitabine"}, False),  # the item is missing
    ({"active_cancer": True, "drug_exposure": "gemcitabine"}, False),
    ({"active_cancer": False, "drug_exposure": "quinine"}, False),  # not a cancer treatment
])
def test_a_cancer_treatment_beside_no_active_cancer_is_noted(labs, noted):
    # QA 71 F6: PLASMIC's "no active cancer (treated within the past year)" point was given
    # beside gemcitabine without a word; the score stays as entered, the note says what it
    # would be.
    score = plasmic_score(parse_labs(labs))
    note = [n for n in score.notes if n.startswith("active cancer recorded as no, yet ")]
    assert note == ([
        "active cancer recorded as no, yet gemcitabine is recorded, a cancer treatment: a cancer "
        "it treated within the past year is an active one for PLASMIC, and this item then "
        "scores 0 (this tool's note)"] if noted else [])


# --- Who the TMA scores are for -------------------------------------------------------------------

@pytest.mark.parametrize(("schistocytes", "platelets", "outside"), [
    # QA 150 M-1: an immune thrombocytopenia (normal smear, no haemolysis) read PLASMIC "high"
    # and the French score "severe ADAMTS13 deficiency predicted", unqualified.
    (0.2, 8, "MAHA unlikely; the score is for thrombocytopenia with MAHA"),
    # The thrombocytopenia limit (platelets < 150 x10^9/L) at its boundary, MAHA likely.
    (5.0, 149.9, None),
    (5.0, 150, "no thrombocytopenia; the score is for thrombocytopenia with MAHA"),
    (5.0, 8, None),
])
def test_plasmic_and_the_french_score_say_when_they_do_not_apply(schistocytes, platelets,
                                                                  outside):
    labs = parse_labs({"platelets": platelets, "hemoglobin": "8 g/dL", "mcv": 88,
                       "reticulocytes": "1.2 %" if schistocytes < 1 else "6 %",
                       "ldh": "180 U/L" if schistocytes < 1 else "900 U/L", "ldh_uln": "250 U/L",
                       "haptoglobin": "1.1 g/L" if schistocytes < 1 else "0.05 g/L",
                       "dat": "negative", "creatinine": "0.8 mg/dL", "inr": 1.0,
                       "active_cancer": "no", "transplant": "no"})
    verdict = assess(SmearFindings.from_percentage(schistocytes, rbc_counted=2000), labs)
    assert verdict.maha == ("unlikely" if schistocytes < 1 else "likely")
    assert (verdict.plasmic.outside, verdict.french.outside) == (outside, outside)
    assert verdict.isth_dic.outside is None
    assert verdict.to_dict()["scores"]["plasmic"]["outside"] == outside
    headline = next(line for line in format_text(verdict).splitlines()
                    if line.startswith("  PLASMIC: "))
    assert headline == f"  PLASMIC: {verdict.plasmic.total_text()} -> {verdict.plasmic.risk}" + (
        f" (not applicable: {outside})" if outside else "")
