"""Tests for smearscan.verdict: published score tables at every boundary, the MAHA rule, the
differential and the marrow section on the seed cases (CLINICAL.md, /work/shared/seeds)."""

import json

import pytest

from smearscan.labs import Labs, parse_labs
from smearscan.verdict import (
    SlideNotFoundError,
    SmearFindings,
    assess,
    format_text,
    french_score,
    isth_dic_score,
    plasmic_score,
    smear_findings_from_summary,
)

HAEMOLYSIS = {"ldh": 2477, "ldh_uln": 225, "haptoglobin": 0, "reticulocytes": 18.81,
              "indirect_bilirubin": 4.21, "dat": "negative"}
NORMAL_LABS = {"hemoglobin": 14.0, "wbc": 7.0, "platelets": 250, "ldh": 180, "ldh_uln": 225,
               "haptoglobin": 1.2, "reticulocytes": 1.0, "indirect_bilirubin": 0.5,
               "dat": "negative"}
# Seed 000 (breast cancer, cancer-associated MAHA), values from its Table 1 (CLINICAL.md).
SEED_000 = {**HAEMOLYSIS, "hemoglobin": 7.55, "mcv": 104, "platelets": 82, "wbc": 10.81,
            "adamts13": 60, "creatinine": 0.64, "inr": 1.17, "active_cancer": True}
PLASMIC_ITEMS = ("platelets", "haemolysis", "no active cancer", "no transplant", "mcv", "inr",
                 "creatinine")


def smear(percent=8.5, ci95=(7.0, 10.2), rbc_counted=1200, **more):
    return SmearFindings(percent, ci95, rbc_counted, **more)


def cause(verdict, name):
    return next(c for c in verdict.differential if c.cause == name)


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


@pytest.mark.parametrize(("seconds", "expected"), [(2.9, 0), (3, 1), (5.9, 1), (6, 2)])
def test_isth_pt_prolongation(seconds, expected):
    assert points(isth_dic_score(Labs(pt_prolongation_s=seconds)), 2) == expected


@pytest.mark.parametrize(("fibrinogen", "expected"), [(0.99, 1), (1.0, 0), ("99 mg/dL", 1)])
def test_isth_fibrinogen(fibrinogen, expected):
    assert points(isth_dic_score(parse_labs({"fibrinogen": fibrinogen})), 3) == expected


def test_isth_total_and_notes():
    score = isth_dic_score(Labs(platelets=40, d_dimer=10, d_dimer_uln=1, pt_prolongation_s=7,
                                fibrinogen=0.8, active_cancer=True))
    assert score.total == 8 and score.risk.startswith("compatible with overt DIC")
    assert "2025" in score.source and "active cancer" in score.notes[0]
    low = isth_dic_score(Labs(platelets=150, d_dimer=1, d_dimer_uln=1, pt_prolongation_s=0,
                              fibrinogen=3))
    assert low.total == 0 and low.risk.startswith("not compatible")


def test_isth_with_only_inr_asks_for_pt_seconds_and_does_not_convert():
    score = isth_dic_score(Labs(platelets=82, inr=1.17))
    assert points(score, 2) is None
    assert any("PT prolongation in seconds" in note for note in score.notes)
    assert (score.minimum, score.maximum, score.risk) == (1, 7, "indeterminate (items missing)")


# --- French TMA score (Coppo 2010) ----------------------------------------------------------------

def test_french_score_only_with_ana():
    assert french_score(Labs(platelets=12, creatinine=1.0)) is None


@pytest.mark.parametrize(("mapping", "index", "expected"), [
    ({"platelets": 30}, 0, 1), ({"platelets": 31}, 0, 0),
    ({"creatinine": "200 umol/L"}, 1, 1), ({"creatinine": "201 umol/L"}, 1, 0),
    ({"creatinine": 2.26}, 1, 1), ({"creatinine": 2.27}, 1, 0),
    ({"ana": "positive"}, 2, 1), ({"ana": "negative"}, 2, 0),
])
def test_french_score_criteria(mapping, index, expected):
    score = french_score(parse_labs({"ana": "negative", **mapping}))
    assert points(score, index) == expected


@pytest.mark.parametrize(("platelets", "creatinine", "ana", "total", "predicted"), [
    (12, 1.0, "positive", 3, True), (12, 5.0, "negative", 1, True),
    (80, 5.0, "positive", 1, True), (80, 5.0, "negative", 0, False),
])
def test_french_score_totals(platelets, creatinine, ana, total, predicted):
    score = french_score(Labs(platelets=platelets, creatinine=creatinine, ana=ana))
    assert score.total == total
    assert score.risk.startswith("severe ADAMTS13 deficiency predicted") is predicted
    assert "Coppo" in score.source


def test_french_score_incomplete_is_indeterminate():
    score = french_score(Labs(ana="negative"))
    assert (score.minimum, score.maximum, score.risk) == (0, 2, "indeterminate (items missing)")


# --- verdict cases ----------------------------------------------------------------------------

def test_case_1_seed_000_cancer_associated_maha():
    smear_000 = smear(8.5, (7.0, 10.0), 1200, nrbc_present=True, leukoerythroblastic="present")
    verdict = assess(smear_000, parse_labs(SEED_000))
    assert verdict.maha == "likely"
    found = " ".join(f.finding for f in verdict.findings_for)
    for word in ("schistocytes", "LDH", "haptoglobin", "reticulocytes", "DAT negative",
                 "thrombocytopenia"):
        assert word in found
    assert verdict.findings_against == ()
    ttp, hus, dic = (cause(verdict, name) for name in ("ttp", "hus", "dic"))
    assert ttp.assessment == "unlikely" and "ADAMTS13 60%" in ttp.reasons[0]
    assert hus.assessment == "unlikely" and "creatinine 0.64 mg/dL" in hus.reasons[0]
    assert dic.assessment == "unlikely" and "INR 1.17" in " ".join(dic.reasons)
    cancer = cause(verdict, "cancer-associated")
    assert cancer.assessment == "suspected"
    reasons = " ".join(cancer.reasons)
    for words in ("known active cancer", "DAT-negative", "ADAMTS13 60%", "leukoerythroblastic",
                  "bone-marrow examination", "plasma exchange is usually ineffective"):
        assert words in reasons
    assert verdict.marrow.marrow_infiltration == "suspected"
    assert verdict.marrow.advice == "bone-marrow examination"
    assert verdict.plasmic.items[2].points == 0  # active cancer


def test_case_2_classic_ttp():
    labs = parse_labs({**HAEMOLYSIS, "platelets": 12, "adamts13": 3, "active_cancer": False,
                       "transplant": False, "mcv": 85, "inr": 1.1, "creatinine": 1.2,
                       "ana": "positive"})
    verdict = assess(smear(5.0, (4.0, 6.1), 1500), labs)
    assert verdict.maha == "likely"
    assert (verdict.plasmic.total, verdict.plasmic.risk) == (7, "high")
    assert verdict.french.total == 3
    ttp = cause(verdict, "ttp")
    assert ttp.assessment == "likely" and "ADAMTS13 3% < 10%" in ttp.reasons[0]
    assert cause(verdict, "hus").assessment == "unlikely"
    assert cause(verdict, "cancer-associated").assessment == "unlikely"


@pytest.mark.parametrize(("underlying", "expected"), [
    ({"active_cancer": True}, "likely"), ({"sepsis": True}, "likely"), ({}, "suspected"),
])
def test_case_3_overt_dic(underlying, expected):
    labs = parse_labs({**HAEMOLYSIS, "platelets": 40, "d_dimer": 10, "d_dimer_uln": 1,
                       "pt_prolongation_s": 7, "fibrinogen": 0.8, **underlying})
    verdict = assess(smear(2.0, (1.5, 2.6), 1200), labs)
    assert verdict.isth_dic.total == 8
    dic = cause(verdict, "dic")
    assert dic.assessment == expected and "ISTH 8" in dic.reasons[0]
    if underlying.get("active_cancer"):
        cancer = cause(verdict, "cancer-associated")
        assert cancer.assessment == "possible" and "overt DIC" in " ".join(cancer.reasons)


def test_case_4_hus_pattern():
    labs = parse_labs({**HAEMOLYSIS, "creatinine": 4.5, "platelets": 60, "adamts13": 55,
                       "active_cancer": False})
    verdict = assess(smear(3.0, (2.2, 4.0), 1500), labs)
    assert verdict.maha == "likely"
    hus = cause(verdict, "hus")
    assert hus.assessment in ("suspected", "likely")
    assert "creatinine 4.5 mg/dL" in hus.reasons[0]
    assert cause(verdict, "ttp").assessment == "unlikely"


def test_hus_without_adamts13_is_possible():
    labs = parse_labs({**HAEMOLYSIS, "creatinine": 4.5, "platelets": 60})
    assert cause(assess(smear(3.0, (2.2, 4.0), 1500), labs), "hus").assessment == "possible"


def test_case_5_normal_smear_and_labs():
    verdict = assess(smear(0.2, (0.05, 0.5), 2000, leukoerythroblastic="absent"),
                     parse_labs(NORMAL_LABS))
    assert verdict.maha == "unlikely"
    assert verdict.findings_for == ()
    assert "schistocytes not above" in verdict.findings_against[0].finding
    assert verdict.marrow.marrow_infiltration == "not suggested"
    assert verdict.marrow.advice is None
    assert [c.assessment for c in verdict.differential] == [
        "unlikely", "unlikely", "not assessable", "unlikely"]
    assert "no coagulation tests" in cause(verdict, "dic").reasons[1]


def test_case_6_low_schistocytes_with_haemolysis_points_to_other_causes():
    labs = parse_labs({"ldh": 900, "ldh_uln": 225, "haptoglobin": 0.05, "reticulocytes": 8})
    verdict = assess(smear(0.4, None, 1500), labs)
    assert verdict.maha == "unlikely"
    smear_line = verdict.findings_against[0]
    assert "other causes of haemolysis" in smear_line.finding
    assert smear_line.value.startswith("0.4%")


def test_case_7_too_few_red_cells_is_insufficient_data():
    verdict = assess(smear(5.0, (3.0, 7.0), 600), parse_labs(SEED_000))
    assert verdict.maha == "insufficient data"
    assert any("600" in m and "1000" in m for m in verdict.missing)


def test_case_8_seed_002_marrow_infiltration_without_maha():
    labs = parse_labs({"hemoglobin": 6.8, "wbc": 4.1, "platelets": 92, "ldh": 254,
                       "ldh_uln": 225, "active_cancer": True})
    verdict = assess(smear(0.5, None, 1500, leukoerythroblastic="present"), labs)
    assert verdict.maha == "unlikely"
    assert verdict.marrow.marrow_infiltration == "suspected"
    assert verdict.marrow.advice == "bone-marrow examination"
    reasons = " ".join(verdict.marrow.reasons)
    assert "leukoerythroblastic" in reasons and "6.8 g/dL" in reasons
    assert cause(verdict, "cancer-associated").assessment == "unlikely"


@pytest.mark.parametrize("cancer", [{"cancer_history": True}, {"active_cancer": True}])
def test_seed_003_cytopenia_with_high_b12_in_cancer_survivor(cancer):
    labs = parse_labs({"hemoglobin": "125 g/L", "wbc": 3.0, "vitamin_b12": 1500,
                       "vitamin_b12_uln": 900, **cancer})
    verdict = assess(smear(0.2, None, 2000, leukoerythroblastic="absent"), labs)
    assert verdict.marrow.marrow_infiltration == "possible"
    assert verdict.marrow.advice == "bone-marrow examination"
    reasons = " ".join(verdict.marrow.reasons)
    assert "leukopenia" in reasons and "vitamin B12 1500 pg/mL" in reasons


def test_high_b12_with_cytopenia_but_no_cancer_is_not_suggested():
    labs = Labs(wbc=3.0, vitamin_b12=1500, vitamin_b12_uln=900, active_cancer=False)
    marrow = assess(smear(0.2, None, 2000, leukoerythroblastic="absent"), labs).marrow
    assert marrow.marrow_infiltration == "not suggested"


def test_nrbcs_with_leukopenia_and_no_cancer_are_suspected_infiltration():
    labs = Labs(wbc=2.5, active_cancer=False)
    marrow = assess(smear(0.2, None, 2000, nrbc_present=True), labs).marrow
    assert marrow.marrow_infiltration == "suspected"


def test_nothing_known_is_insufficient_and_not_assessable():
    verdict = assess(SmearFindings(), Labs())
    assert verdict.maha == "insufficient data"
    assert verdict.marrow.marrow_infiltration == "not assessable"
    assert cause(verdict, "dic").assessment == "not assessable"
    assert verdict.missing[0].startswith("schistocyte_percent")


def test_bare_percentage_says_the_1000_cell_rule_cannot_be_checked():
    verdict = assess(SmearFindings(schistocyte_percent=5.0), parse_labs(SEED_000))
    assert verdict.maha == "likely"
    assert any(m.startswith("rbc_counted") and "cannot be checked" in m for m in verdict.missing)


def test_interval_spanning_one_percent_is_possible():
    verdict = assess(smear(1.2, (0.8, 1.7), 1100), parse_labs(HAEMOLYSIS))
    assert verdict.maha == "possible"
    assert "borderline" in verdict.findings_for[0].finding


@pytest.mark.parametrize(("more_labs", "more_smear"), [
    ({"dat": "positive"}, {}), ({"dat": None}, {}), ({}, {"other_poikilocytes_abundant": True}),
    ({"haptoglobin": 1.0, "reticulocytes": 1.0, "indirect_bilirubin": 0.5}, {}),
])
def test_raised_schistocytes_without_the_full_picture_are_possible(more_labs, more_smear):
    verdict = assess(smear(**more_smear), parse_labs({**HAEMOLYSIS, **more_labs}))
    assert verdict.maha == "possible"


def test_ttp_without_adamts13_follows_plasmic_and_asks_for_adamts13():
    high = parse_labs({**HAEMOLYSIS, "platelets": 12, "active_cancer": False,
                       "transplant": False, "mcv": 85, "inr": 1.1, "creatinine": 1.2})
    ttp = cause(assess(smear(), high), "ttp")
    assert ttp.assessment == "suspected" and "send ADAMTS13" in ttp.reasons[1]
    low = parse_labs({**HAEMOLYSIS, "platelets": 82, "active_cancer": True, "transplant": True,
                      "mcv": 104, "inr": 1.1, "creatinine": 3.0})
    assert cause(assess(smear(), low), "ttp").assessment == "unlikely"
    assert any(m.startswith("adamts13") for m in assess(smear(), low).missing)


def test_dic_incomplete_with_severe_thrombocytopenia_is_possible():
    dic = cause(assess(smear(), Labs(platelets=40, inr=1.1)), "dic")
    assert dic.assessment == "possible"


def test_other_causes_appear_only_when_recorded():
    labs = parse_labs({**HAEMOLYSIS, "drug_exposure": "gemcitabine", "mechanical_valve": False,
                       "pregnancy": True})
    verdict = assess(smear(), labs)
    names = [c.cause for c in verdict.differential]
    assert names == ["ttp", "hus", "dic", "cancer-associated", "drug-induced", "pregnancy"]
    drug = cause(verdict, "drug-induced")
    assert drug.assessment == "possible" and "gemcitabine" in drug.reasons[0]


def test_leukoerythroblastic_maha_without_known_cancer_suggests_an_occult_one():
    labs = parse_labs({**HAEMOLYSIS, "active_cancer": False, "adamts13": 50})
    verdict = assess(smear(leukoerythroblastic="present"), labs)
    assert cause(verdict, "cancer-associated").assessment == "possible"


# --- summary.json, contract and text -------------------------------------------------------------

SUMMARY = {"smearscan_version": "0.1.0", "slides": {
    "S1": {"schistocytes": {"percent": 8.5, "ci95": [7.0, 10.2], "rbc_counted": 1250,
                            "sufficient": True, "call": "above", "corrected_percent": 8.1,
                            "less_specific": False},
           "nrbc": {"count": 12, "present": True},
           "leukoerythroblastic": {"finding": "present"},
           "morphology": {"teardrop_percent": 2.0}},
    "S2": {"schistocytes": {"percent": 0.3}},
}}


def test_smear_findings_from_summary():
    assert smear_findings_from_summary(SUMMARY, "S1") == SmearFindings(
        8.5, (7.0, 10.2), 1250, True, "present", 2.0, False)
    assert smear_findings_from_summary(SUMMARY, "S2") == SmearFindings(schistocyte_percent=0.3)


def test_unknown_slide_lists_the_slides():
    with pytest.raises(KeyError) as caught:
        smear_findings_from_summary(SUMMARY, "S3")
    assert isinstance(caught.value, SlideNotFoundError)
    assert str(caught.value) == "slide 'S3' is not in the summary; slides: 'S1', 'S2'"


@pytest.mark.parametrize("kwargs", [
    {"schistocyte_percent": 120}, {"ci95": (3.0, 2.0)}, {"rbc_counted": -1},
    {"leukoerythroblastic": "maybe"}, {"teardrop_percent": -1},
])
def test_impossible_smear_findings_are_rejected(kwargs):
    with pytest.raises(ValueError):
        SmearFindings(**kwargs)


def test_to_dict_is_the_json_contract():
    verdict = assess(smear_findings_from_summary(SUMMARY, "S1"), parse_labs(SEED_000))
    data = json.loads(json.dumps(verdict.to_dict()))
    assert set(data) == {"maha", "findings", "missing", "scores", "differential", "marrow",
                         "disclaimer"}
    assert set(data["findings"]) == {"for", "against"}
    assert set(data["findings"]["for"][0]) == {"finding", "value"}
    assert set(data["scores"]) == {"plasmic", "isth_dic", "french"}
    assert data["scores"]["french"] is None
    assert {"items", "total", "risk", "source"} <= set(data["scores"]["plasmic"])
    assert set(data["differential"][0]) == {"cause", "assessment", "reasons"}
    assert set(data["marrow"]) == {"marrow_infiltration", "reasons", "advice"}
    assert data["disclaimer"] == "Decision support only: a clinician decides."
    assert "teardrop cells 2%" in " ".join(data["marrow"]["reasons"])


def test_format_text_for_people():
    text = format_text(assess(smear(nrbc_present=True, leukoerythroblastic="present"),
                              parse_labs(SEED_000)))
    lines = text.splitlines()
    assert lines[0] == "MAHA: likely"
    assert lines[-1] == "Decision support only: a clinician decides."
    for words in ("PLASMIC: 3-4 (incomplete) -> low", "Bendapudi", "INR < 1.5: 1.17 -> 1",
                  "ISTH overt DIC", "French TMA: not computed", "cancer-associated: suspected",
                  "Marrow infiltration: suspected", "advice: bone-marrow examination",
                  "transplant: PLASMIC item"):
        assert words in text


def test_preterm_limit_is_used_for_the_smear_call():
    from smearscan.labs import Labs
    from smearscan.verdict import SmearFindings, assess

    adult = assess(SmearFindings(schistocyte_percent=3.0, ci95=(2.2, 4.0), rbc_counted=2000),
                   Labs())
    preterm = assess(SmearFindings(schistocyte_percent=3.0, ci95=(2.2, 4.0), rbc_counted=2000,
                                   limit_percent=5.0), Labs())
    assert adult.to_dict()["findings"]["for"]
    assert not preterm.to_dict()["findings"]["for"]
    assert any("5%" in f["finding"] for f in preterm.to_dict()["findings"]["against"])
