"""Which cause leads, and what the verdict says to do next (QA 84 #2, #4, #7; QA 85 #9, #10)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from smearscan.labs import parse_labs
from smearscan.slide_stats import slide_result
from smearscan.verdict import (
    SmearFindings,
    UnresolvedBoundError,
    assess,
    format_text,
    urgent_ttp,
)
from smearscan.verdict.differential.hus import COMPLEMENT_WORKUP, STEC_WORKUP
from smearscan.verdict.differential.ttp import with_caution
from smearscan.verdict.findings import WHOLE_FIELD_UNREAD, smear_findings_from_summary

#: QA 84 #2 (b): an adolescent's immune TTP, PLASMIC 7, nothing pointing to HUS.
CHILD_TTP = {"platelets": 8, "hemoglobin": "8 g/dL", "mcv": 84, "reticulocytes": "6 %",
             "haptoglobin": "<0.1 g/L", "ldh": 1500, "ldh_uln": 300, "creatinine": "0.5 mg/dL",
             "creatinine_uln": "0.7 mg/dL", "inr": 1.0, "active_cancer": False,
             "transplant": False, "dat": "negative"}
#: QA 84 #2 (a): a child's STEC-HUS: diarrhoea, creatinine 4x the lab's limit, platelets 45.
CHILD_STEC = {"hemoglobin": "7.5 g/dL", "platelets": 45, "reticulocytes": "5 %",
              "haptoglobin": "<0.1 g/L", "ldh": 1800, "ldh_uln": 300, "dat": "negative",
              "diarrhoea": True, "creatinine": "2.5 mg/dL", "creatinine_uln": "0.6 mg/dL"}
#: QA 84 #4: an adult's MAHA with a kidney injury, ADAMTS13 normal.
KIDNEY_TMA = {"hemoglobin": "8.2 g/dL", "sex": "female", "platelets": 60, "mcv": 92,
              "reticulocytes": "4 %", "haptoglobin": "<0.1 g/L", "ldh": 900, "ldh_uln": 250,
              "dat": "negative", "inr": 1.1, "transplant": False, "adamts13": 55,
              "creatinine": "3.2 mg/dL"}


def _count(population: str = "adult", percent: float = 4.0) -> SmearFindings:
    return SmearFindings.from_percentage(percent, rbc_counted=1000, population=population)


@pytest.mark.parametrize(("change", "population", "assessment"), [
    ({}, "child", "suspected"),
    # The creatinine at the lab's limit is within it; just over it, HUS is not excluded.
    ({"creatinine": "0.7 mg/dL"}, "child", "suspected"),
    ({"creatinine": "0.71 mg/dL"}, "child", "possible"),
    # Without the lab's limit, a child's 0.7 mg/dL.
    ({"creatinine": "0.7 mg/dL", "creatinine_uln": None}, "child", "suspected"),
    ({"creatinine": "0.71 mg/dL", "creatinine_uln": None}, "child", "possible"),
    ({"creatinine": None, "creatinine_uln": None}, "child", "possible"),
    ({"diarrhoea": True}, "child", "possible"),
    ({"diarrhoea": False}, "child", "suspected"),
    # A neonate's TMA is not judged on PLASMIC: haematology's call.
    ({}, "neonate", "possible"),
    ({}, "adult", "suspected"),
])
def test_a_childs_high_plasmic_with_nothing_pointing_to_hus_makes_ttp_suspected(
        change, population, assessment):
    given = {key: value for key, value in {**CHILD_TTP, **change}.items() if value is not None}
    verdict = assess(_count(population), parse_labs(given))
    assert verdict.plasmic.minimum >= 6
    assert verdict.cause("ttp").assessment == assessment
    assert verdict.urgent == urgent_ttp(assessment, "unknown", adult=population == "adult",
                                        newborn=population in ("neonate", "preterm"))


def test_a_suspected_ttp_in_a_child_says_haematology_starts_plasma_on_suspicion():
    verdict = assess(_count("child"), parse_labs(CHILD_TTP))
    assert verdict.urgent == (
        "URGENT - TTP suspected: a medical emergency. Refer to haematology now; draw a sample "
        "for ADAMTS13 activity before any plasma or blood product; haematology starts plasma "
        "(infusion for a congenital TTP, a hereditary deficiency, which a neonate's or child's "
        "can be; exchange with corticosteroids for an immune one; the ADAMTS13 inhibitor test "
        "tells them apart) on clinical suspicion, before the ADAMTS13 result, as for an adult "
        "at a high pre-test probability (PLASMIC 6-7 with nothing pointing to HUS or another "
        "TMA: this tool's rule); consider caplacizumab where the ADAMTS13 result is expected "
        "within 72 hours; caplacizumab and rituximab are for an immune TTP only, not a "
        "congenital one; caplacizumab from 12 years and 40 kg; do "
        "not transfuse platelets unless there is life-threatening bleeding (ISTH 2020 TTP "
        "guidelines (Zheng XL, et al. J Thromb Haemost 2020;18:2486-2495 and 2496-2502)).")
    assert verdict.cause("ttp").reasons[1] == (
        "PLASMIC derived in adults; nothing points to HUS, the commonest TMA of childhood: "
        "creatinine 0.5 mg/dL within the lab's upper limit (0.7 mg/dL), diarrhoea not recorded "
        "(ask: a STEC-HUS's kidney injury can follow it by days): TTP suspected as in an adult "
        "(this tool's rule)")


def test_a_childs_suspected_stec_hus_is_the_next_step_beside_a_possible_ttp():
    verdict = assess(_count("child", 3.0), parse_labs(CHILD_STEC))
    assert (verdict.cause("ttp").assessment, verdict.cause("hus").assessment) == \
        ("possible", "suspected")
    hus = verdict.cause("hus")
    assert hus.action == (
        f"{STEC_WORKUP}; ADAMTS13 sample before any plasma: whether to treat as TTP until it is "
        "back is haematology's call (PLASMIC was derived in adults)")
    assert "no antibiotics or antimotility drugs, no platelet transfusion unless bleeding" \
        in hus.action
    lines = format_text(verdict).splitlines()
    assert lines[0] == verdict.urgent
    assert lines[1:3] == ["MAHA: likely", f"Next (hus, suspected): {hus.action}"]
    assert json.loads(json.dumps(verdict.to_dict()))["next"] == {
        "about": "hus", "assessment": "suspected", "action": hus.action}


def test_no_other_causes_action_stands_beside_the_urgent_line():
    # QA 85 #1: septic overt DIC (ISTH 8) with PLASMIC 7: TTP suspected, DIC likely; DIC's
    # "blood products for bleeding or procedures" must not stand under "do not transfuse
    # platelets".
    labs = parse_labs({"ldh": "1500 U/L", "ldh_uln": "250 U/L", "haptoglobin": "undetectable",
                       "reticulocytes": "8 %", "dat": "negative", "hemoglobin": "75 g/L",
                       "platelets": 12, "sepsis": True, "pt_prolongation_s": 6, "inr": 1.45,
                       "fibrinogen": "0.8 g/L", "d_dimer": "20 mg/L", "d_dimer_uln": "0.5 mg/L",
                       "mcv": 85, "creatinine": "1 mg/dL", "active_cancer": False,
                       "transplant": False})
    verdict = assess(SmearFindings.from_percentage(6, rbc_counted=2000), labs)
    assert (verdict.cause("ttp").assessment, verdict.cause("dic").assessment) == \
        ("suspected", "likely")
    assert verdict.next_step is None and verdict.to_dict()["next"] is None
    assert not any(line.startswith("Next") for line in format_text(verdict).splitlines())


def test_the_next_step_without_an_urgent_line_is_the_leading_causes_action():
    # Seed 000's picture with ADAMTS13 60%: cancer-associated MAHA suspected, its work-up next.
    labs = parse_labs({**KIDNEY_TMA, "creatinine": "0.64 mg/dL", "active_cancer": True,
                       "metastatic_cancer": True, "adamts13": 60})
    verdict = assess(_count(), labs)
    cancer = verdict.cause("cancer-associated")
    assert verdict.urgent is None and cancer.assessment == "suspected"
    assert verdict.to_dict()["next"] == {"about": "cancer-associated",
                                         "assessment": "suspected", "action": cancer.action}


@pytest.mark.parametrize(("recorded", "leading"), [
    ({"drug_exposure": "gemcitabine", "active_cancer": True}, "drug-induced"),
    ({"malignant_hypertension": True, "active_cancer": False}, "malignant-hypertension"),
])
def test_a_kidney_injury_beside_a_recorded_cause_is_that_causes_not_hus(recorded, leading):
    # QA 84 #4: "HUS suspected", with a stool culture first, outranked a recorded gemcitabine
    # or malignant hypertension in an adult without diarrhoea.
    verdict = assess(_count(percent=3.0), parse_labs({**KIDNEY_TMA, **recorded}))
    hus = verdict.cause("hus")
    assert verdict.differential[0].cause == leading
    assert hus.assessment == "possible" and hus.action == COMPLEMENT_WORKUP
    named = "gemcitabine" if "drug_exposure" in recorded else "malignant hypertension"
    assert hus.reasons[-1] == (f"{named} recorded: the kidney injury of its TMA; atypical HUS "
                               "only once it is excluded (this tool's rule)")
    # With diarrhoea recorded the STEC-HUS picture stands beside it.
    wet = assess(_count(percent=3.0), parse_labs({**KIDNEY_TMA, **recorded, "diarrhoea": True}))
    assert wet.cause("hus").assessment == "suspected"
    assert wet.cause("hus").action == STEC_WORKUP
    # Without the recorded cause HUS is suspected, as before.
    alone = assess(_count(percent=3.0), parse_labs({**KIDNEY_TMA, "active_cancer": False}))
    assert alone.cause("hus").assessment == "suspected"


@pytest.mark.parametrize("key", ["platelets", "wbc"])
@pytest.mark.parametrize(("written", "shown"), [
    ("0", "0"), ("0.0", "0"), ("0 x10^9/L", "0"), ("0 /uL", "0"), ("<=0", "<=0"),
    ("<1", None), ("0.5", None), ("1", None)])
def test_a_count_of_exactly_zero_is_refused_as_an_analyser_flag(key, written, shown):
    # QA 84 #7: platelets 0 read as "thrombocytopenia: 0 x10^9/L".
    count = _count(percent=5.0)
    labs = parse_labs({**CHILD_TTP, "creatinine_uln": None, key: written})
    if shown is None:
        assess(count, labs)
        return
    with pytest.raises(UnresolvedBoundError) as error:
        assess(count, labs)
    assert str(error.value) == (
        f"{key} = {shown}: a count of exactly 0 is an analyser's flag (clumped cells, a count "
        "under its limit) or a blank cell, not a result: give the count, or its bound such as "
        "'<1 x10^9/L' (this tool's rule)")
    # The URGENT line is kept (QA 86 #1: the lab reader refused it, and a batch run lost every
    # slide's line): platelets read as under 1 x10^9/L.
    assert error.value.urgent == assess(count, parse_labs(
        {**CHILD_TTP, "creatinine_uln": None, key: "0.5"})).urgent
    assert error.value.urgent.startswith("URGENT - TTP suspected")


def test_every_count_of_exactly_zero_is_named():
    # QA 87 #5: platelets and white cells both 0 named only the platelets; a zero beside a PT
    # without its INR, or beside a value the lab reader refused, was not named at all.
    count = _count(percent=5.0)
    both = parse_labs({**CHILD_TTP, "platelets": 0, "wbc": "0 /uL"})
    with pytest.raises(UnresolvedBoundError) as error:
        assess(count, both)
    assert str(error.value).startswith("platelets = 0, wbc = 0: a count of exactly 0 is")
    assert error.value.urgent == assess(count, parse_labs(
        {**CHILD_TTP, "platelets": 0.5, "wbc": 0.5})).urgent
    pt = parse_labs({**CHILD_TTP, "inr": None, "platelets": 0, "pt_prolongation_s": 13.5})
    with pytest.raises(UnresolvedBoundError) as error:
        assess(count, pt)
    assert str(error.value).endswith("(this tool's rule) (also refused: pt_prolongation_s)")
    from smearscan.labs import LabValueError

    with pytest.raises(LabValueError) as error:
        parse_labs({**CHILD_TTP, "hemoglobin": "8", "platelets": "0 /uL", "wbc": 0})
    assert str(error.value).endswith("(also refused: platelets, wbc)")


def test_a_zero_count_in_a_batch_lab_file_costs_that_slide_its_verdict_only(tmp_path, capsys):
    # QA 86 #1: one row's platelets 0 refused the whole run, with no URGENT line printed.
    from smearscan.cli import main

    sample = Path(__file__).resolve().parents[1] / "datasets" / "samples" / "chula-1.jpg"
    for name in ("zero", "good"):
        (tmp_path / "in" / name).mkdir(parents=True)
        (tmp_path / "in" / name / "f.jpg").write_bytes(sample.read_bytes())
    row = ",".join(["1500 U/L", "250 U/L", "<0.1 g/L", "8 %", "85", "1.1", "no", "no",
                    "negative", "0.8 mg/dL"])
    (tmp_path / "labs.csv").write_text(
        "slide,platelets,ldh,ldh_uln,haptoglobin,reticulocytes,mcv,inr,active_cancer,"
        f"transplant,dat,creatinine\nzero,0,{row}\ngood,10,{row}\n")
    assert main([str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--pixel-size", "0.2",
                 "--labs", str(tmp_path / "labs.csv"), "--quiet", "--jobs", "1"]) == 3
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":", 1)[0] for line in lines[:2]] == ["good", "zero"]
    assert all(" URGENT - TTP suspected:" in line for line in lines[:2])
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())["slides"]
    assert "verdict" in summary["good"]
    # Naming its row (QA 120 M-1).
    assert summary["zero"]["verdict"]["unresolved"].startswith(
        f"{tmp_path / 'labs.csv'} line 2 (slide 'zero'): platelets = 0: a count of exactly 0")


def _summary(schistocytes: dict) -> dict:
    label = np.array(["schistocyte"] * 9 + ["rbc"] * 1991)
    whole = {"sensitivity": 0.2213, "false_positive_rate": 0.00201}
    result = slide_result(label=label, morphology=np.full(2000, "normal"),
                          border=np.zeros(2000, bool),
                          operating={"schistocyte": {"sensitivity": 0.6166,
                                                     "false_positive_rate": 0.00196,
                                                     "whole_field": whole}})
    entry = result.to_dict()
    entry["schistocytes"] = schistocytes(entry["schistocytes"])
    return {"slides": {"S": entry}}


def test_a_summary_that_predates_the_whole_field_reading_says_so():
    # QA 85 #10: without whole_field_percent the count was read at the labelled-point rates
    # alone, silently.
    old = smear_findings_from_summary(_summary(
        lambda s: {k: v for k, v in s.items() if k != "whole_field_percent"}), "S")
    assert old.whole_field_unread == WHOLE_FIELD_UNREAD
    verdict = assess(old, parse_labs({"platelets": 200}, complete=False))
    assert f"schistocyte_percent: {WHOLE_FIELD_UNREAD}" in verdict.missing
    assert WHOLE_FIELD_UNREAD in old.text()
    current = smear_findings_from_summary(_summary(lambda s: s), "S")
    assert current.whole_field_unread is None and current.whole_field_percent == 1.1355


#: QA 84 #5: MAHA with platelets 28 and a kidney injury, ADAMTS13 not measured: TTP possible.
SCLERODERMA = {"hemoglobin": "8 g/dL", "sex": "female", "platelets": 28, "ldh": 900,
               "ldh_uln": 250, "haptoglobin": "<0.1 g/L", "reticulocytes": "5 %",
               "dat": "negative", "creatinine": "3 mg/dL", "systemic_sclerosis": True}


def test_a_recorded_systemic_sclerosis_is_a_cause_and_cautions_the_urgent_line():
    verdict = assess(_count(percent=3.0), parse_labs(SCLERODERMA))
    assert verdict.urgent == (
        f"{urgent_ttp('possible', 'unknown')} Systemic sclerosis recorded: high-dose "
        "corticosteroids can precipitate a scleroderma renal crisis, which an ACE inhibitor "
        "treats: weigh them with rheumatology (Steen VD, Medsger TA Jr. Arthritis Rheum "
        "1998;41:1613-1619 (corticosteroids); Steen VD, et al. Ann Intern Med "
        "1990;113:352-357 (ACE inhibitors)).")
    crisis = verdict.cause("scleroderma-renal-crisis")
    # With a kidney injury and MAHA likely, suspected (QA 86 #4).
    assert (crisis.assessment, crisis.urgency) == ("suspected", "urgent")
    assert crisis.action.startswith("an ACE inhibitor (captopril) for the blood pressure")
    assert verdict.cause("hus").reasons[-1] == (
        "systemic sclerosis recorded: the kidney injury of its TMA; atypical HUS only once it "
        "is excluded (this tool's rule)")
    # The caution stays on the line over a bound's range, which the line is rebuilt from.
    with pytest.raises(UnresolvedBoundError) as error:
        assess(_count(percent=3.0), parse_labs({**SCLERODERMA, "platelets": "<200"}))
    assert error.value.urgent.endswith("(ACE inhibitors)).")
    assert error.value.urgent.startswith("URGENT - TTP possible")
    # Without it, neither.
    plain = assess(_count(percent=3.0), parse_labs({**SCLERODERMA, "systemic_sclerosis": False}))
    assert plain.urgent == urgent_ttp("possible", "unknown")
    assert "scleroderma-renal-crisis" not in [cause.cause for cause in plain.differential]


def test_a_recorded_transplant_is_a_transplant_associated_tma():
    # QA 84 #5: a transplant on tacrolimus gave drug-induced, HUS, DIC and TTP, no TA-TMA.
    labs = parse_labs({**SCLERODERMA, "systemic_sclerosis": False, "transplant": True,
                       "drug_exposure": "tacrolimus", "creatinine": "2.4 mg/dL",
                       "platelets": 25})
    verdict = assess(_count(percent=3.0), labs)
    transplant = verdict.cause("transplant-associated")
    assert transplant.assessment == "suspected"  # a kidney injury, MAHA likely
    assert verdict.urgent.startswith("URGENT - TTP possible")
    assert transplant.action == (
        "with the transplant team: the calcineurin or mTOR inhibitor's level and dose, blood "
        "pressure, proteinuria, soluble C5b-9 (Jodele S, et al. Blood 2014;124:645-653); TTP not "
        "excluded: treat as the URGENT line says until ADAMTS13 is back")
    assert verdict.cause("drug-induced").assessment == "suspected"
    assert verdict.cause("hus").assessment == "possible"
    unlikely = assess(SmearFindings.from_percentage(0.1, rbc_counted=3000),
                      parse_labs({"platelets": 250, "transplant": True, "ldh": "180 U/L",
                                  "ldh_uln": 225, "haptoglobin": "1.2 g/L",
                                  "reticulocytes": 1.0}))
    assert unlikely.cause("transplant-associated").assessment == "unlikely"


@pytest.mark.parametrize(("complication", "maha_percent", "assessment"), [
    ("HELLP", 3.0, "suspected"), ("HELLP syndrome", 3.0, "suspected"),
    ("placental abruption", 3.0, "possible"), (True, 3.0, "possible")])
def test_a_hellp_named_with_a_likely_maha_leads_the_pregnancy_cause(
        complication, maha_percent, assessment):
    # QA 84 #5: naming HELLP still read "pregnancy: possible".
    labs = parse_labs({"sex": "female", "pregnancy": True,
                       "obstetric_complication": complication, "platelets": 60, "ldh": 900,
                       "ldh_uln": 250, "haptoglobin": "<0.1 g/L", "reticulocytes": "5 %",
                       "dat": "negative", "adamts13": 50})
    verdict = assess(_count(percent=maha_percent), labs)
    assert verdict.maha == "likely"
    pregnancy = verdict.cause("pregnancy")
    assert pregnancy.assessment == assessment
    if assessment == "suspected":
        assert pregnancy.reasons[0] == (
            f"obstetric complication recorded: {complication}: its haemolysis and low platelets "
            "are this picture; confirm its raised liver enzymes (AST, ALT), which this tool "
            "does not read")
        assert str(verdict.next_step) == f"Next (pregnancy, suspected): {pregnancy.action}"


@pytest.mark.parametrize(("recorded", "cause"), [
    ({"systemic_sclerosis": True}, "scleroderma-renal-crisis"),
    ({"malignant_hypertension": True}, "malignant-hypertension"),
    ({"transplant": True}, "transplant-associated")])
def test_a_recorded_kidney_tma_with_a_kidney_injury_is_suspected_and_next(recorded, cause):
    # QA 86 #4: HUS demoted beside it, every cause read "possible", with no next step, for a
    # textbook scleroderma renal crisis.
    base = {"hemoglobin": "7 g/dL", "sex": "female", "platelets": 60, "ldh": 1500,
            "ldh_uln": 250, "haptoglobin": "<0.1 g/L", "reticulocytes": "8 %", "mcv": 85,
            "inr": 1.1, "active_cancer": False, "dat": "negative", "adamts13": "60 %",
            "creatinine": "3.5 mg/dL", **recorded}
    verdict = assess(_count(percent=5.0), parse_labs(base))
    leading = verdict.cause(cause)
    assert (verdict.urgent, leading.assessment) == (None, "suspected")
    assert leading.reasons[-1] == ("with a kidney injury (creatinine 3.5 mg/dL) and MAHA likely "
                                   "(this tool's rule)")
    assert verdict.next_step.about == cause and verdict.cause("hus").assessment == "possible"
    # Without the kidney injury it stays possible.
    kidneys = assess(_count(percent=5.0), parse_labs({**base, "creatinine": "0.8 mg/dL"}))
    assert kidneys.cause(cause).assessment == "possible"
    # QA 87 #3: without ADAMTS13, as at presentation, its action stands beside the URGENT line
    # (it had no next step).
    unknown = assess(_count(percent=5.0), parse_labs({**base, "adamts13": None}))
    # It defers to the URGENT line, as HUS's does (QA 89 #1, #3: "re-assess the TMA once it is
    # controlled" and "no high-dose corticosteroids" stood under "TTP suspected").
    beside = unknown.cause(cause).action
    # QA 116 M-2: with no URGENT line (a transplant's), the Next line asks for ADAMTS13.
    asked = ("" if unknown.urgent else "; send ADAMTS13 now, before plasma exchange or "
             "transfusion: only its result excludes TTP")
    assert str(unknown.next_step) == f"Next ({cause}, suspected): {beside}{asked}"
    assert bool(asked) is (cause == "transplant-associated")
    deferring = (leading.action.replace("; re-assess the TMA once it is controlled", "")
                 .replace("no high-dose corticosteroids, which can precipitate the crisis",
                          "weigh corticosteroids with rheumatology: high-dose ones can "
                          "precipitate the crisis")
                 + "; TTP not excluded: treat as the URGENT line says until ADAMTS13 is back")
    assert beside == (leading.action if unknown.urgent is None else deferring)
    if cause == "transplant-associated":  # PLASMIC's point is for no transplant: no line
        assert unknown.urgent is None
        headline = []
    else:
        assert unknown.urgent.startswith("URGENT - TTP possible")
        headline = [unknown.urgent]
    assert format_text(unknown).splitlines()[:len(headline) + 2] == [
        *headline, "MAHA: likely", str(unknown.next_step)]


@pytest.mark.parametrize("adamts13", [None, "60 %"])
def test_a_scleroderma_renal_crisis_leads_the_malignant_hypertension_it_brings(adamts13):
    # QA 87 #3: both recorded, "control blood pressure" led, without the ACE inhibitor.
    labs = parse_labs({"hemoglobin": "7 g/dL", "sex": "female", "platelets": 60, "ldh": 1500,
                       "ldh_uln": 250, "haptoglobin": "<0.1 g/L", "reticulocytes": "8 %",
                       "mcv": 85, "inr": 1.1, "active_cancer": False, "dat": "negative",
                       "transplant": False, "adamts13": adamts13, "creatinine": "3.5 mg/dL",
                       "systemic_sclerosis": True, "malignant_hypertension": True})
    verdict = assess(_count(percent=5.0), labs)
    assert verdict.next_step.about == "scleroderma-renal-crisis"
    assert verdict.next_step.action.startswith("an ACE inhibitor (captopril)")
    assert [cause.cause for cause in verdict.differential][:3] == (
        ["ttp", "scleroderma-renal-crisis", "malignant-hypertension"] if adamts13 is None
        else ["scleroderma-renal-crisis", "malignant-hypertension", "hus"])


#: QA 89's adult: PLASMIC 6, a kidney injury, "TTP suspected".
ADULT6 = {"hemoglobin": "7 g/dL", "sex": "female", "platelets": 10, "ldh": 1500, "ldh_uln": 250,
          "haptoglobin": "<0.1 g/L", "reticulocytes": "8 %", "mcv": 85, "inr": 1.1,
          "active_cancer": False, "dat": "negative", "transplant": False,
          "creatinine": "3.5 mg/dL"}


@pytest.mark.parametrize(("recorded", "leading"), [
    # QA 89 #2: a HELLP's own hypertension hid its delivery.
    ({"pregnancy": True, "obstetric_complication": "HELLP", "malignant_hypertension": True},
     "pregnancy"),
    ({"pregnancy": True, "obstetric_complication": "HELLP", "systemic_sclerosis": True},
     "pregnancy"),
    # QA 92 #1: a named pre-eclampsia is not read as a HELLP (one ruled out is refused);
    # malignant hypertension's action starts with the obstetric review instead.
    ({"obstetric_complication": "pre-eclampsia", "malignant_hypertension": True},
     "malignant-hypertension"),
    # QA 89 #4: blood-pressure control hid a STEC-HUS's care; QA 90 #2, #3: not a scleroderma
    # crisis's ACE inhibitor or a transplant's work-up, whose diarrhoea is mostly their own.
    ({"diarrhoea": True, "malignant_hypertension": True}, "hus"),
    ({"diarrhoea": True, "systemic_sclerosis": True}, "scleroderma-renal-crisis"),
    ({"diarrhoea": True, "transplant": True, "malignant_hypertension": True},
     "transplant-associated"),
    ({"malignant_hypertension": True}, "malignant-hypertension"),
])
def test_the_next_step_beside_the_urgent_line_is_the_right_causes(recorded, leading):
    verdict = assess(_count(percent=5.0), parse_labs({**ADULT6, **recorded}))
    # PLASMIC scores a point for no transplant: with one, 5 of 7.
    ttp = "possible" if recorded.get("transplant") else "suspected"
    assert verdict.urgent.startswith(f"URGENT - TTP {ttp}")
    assert verdict.next_step.about == leading
    assert verdict.next_step.action.endswith(
        "TTP not excluded: treat as the URGENT line says until ADAMTS13 is back")
    if leading == "hus":
        assert verdict.next_step.action.startswith(STEC_WORKUP)


@pytest.mark.parametrize("pregnant", [{"pregnancy": True},
                                      {"obstetric_complication": "placental abruption"}])
def test_an_ace_inhibitor_in_pregnancy_is_weighed_with_obstetrics(pregnant):
    # QA 89 #2, QA 90 #1: captopril was offered to a pregnant woman without a word.
    labs = parse_labs({**ADULT6, **pregnant, "systemic_sclerosis": True})
    crisis = assess(_count(percent=5.0), labs).cause("scleroderma-renal-crisis")
    assert ("; pregnancy recorded: before delivery an ACE inhibitor can injure the fetus "
            "(captopril's boxed warning): decide it with obstetrics; TTP not excluded"
            ) in crisis.action
    alone = assess(_count(percent=5.0), parse_labs({**ADULT6, "systemic_sclerosis": True}))
    assert "fetus" not in alone.cause("scleroderma-renal-crisis").action


def test_malignant_hypertension_in_pregnancy_asks_for_the_obstetric_review():
    # QA 90 #4: "control blood pressure; re-assess" led without the obstetric review.
    labs = parse_labs({**ADULT6, "pregnancy": True, "malignant_hypertension": True,
                       "adamts13": "60 %"})
    verdict = assess(_count(percent=5.0), labs)
    assert verdict.urgent is None
    assert str(verdict.next_step) == (
        "Next (malignant-hypertension, suspected): pregnancy recorded: urgent obstetric review "
        "(pre-eclampsia, HELLP); control blood pressure; re-assess the TMA once it is controlled "
        "(van den Born BJ, et al. Hypertension 2005;45:246-251)")


def test_the_recorded_causes_cite_their_own_sources():
    # QA 86 #11, QA 87 #7: HELLP and malignant hypertension cited only CLINICAL.md, which says
    # nothing of either.
    from smearscan.verdict.values import CAUSE_RULES

    assert CAUSE_RULES["pregnancy"].source == "Sibai BM. Obstet Gynecol 2004;103:981-991"
    assert CAUSE_RULES["malignant-hypertension"].source == (
        "van den Born BJ, et al. Hypertension 2005;45:246-251")
    recorded = ["pregnancy", "malignant-hypertension", "scleroderma-renal-crisis",
                "transplant-associated", "mechanical"]
    assert ["CLINICAL.md" in CAUSE_RULES[cause].source for cause in recorded] == [False] * 5


@pytest.mark.parametrize("recorded", [
    {"transplant": True}, {"malignant_hypertension": True}, {"systemic_sclerosis": True},
    {"drug_exposure": "tacrolimus"}])
def test_a_child_with_another_tmas_cause_recorded_keeps_ttp_possible(recorded):
    # QA 86 #5: a child after a transplant read "TTP suspected, haematology starts plasma".
    labs = parse_labs({**CHILD_TTP, "transplant": False, **recorded})
    verdict = assess(_count("child"), labs)
    assert verdict.cause("ttp").assessment == "possible"
    assert verdict.urgent == with_caution(urgent_ttp("possible", "unknown", adult=False), [labs])
    # A thienopyridine triggers an immune TTP: suspected, as without it.
    clopidogrel = assess(_count("child"), parse_labs({**CHILD_TTP, "drug_exposure": "clopidogrel"}))
    assert clopidogrel.cause("ttp").assessment == "suspected"


def test_a_named_hellp_is_the_next_step_beside_a_suspected_ttp():
    # QA 86 #3: a named HELLP scoring PLASMIC 6 read "TTP suspected" with the delivery step
    # only in the differential, next null.
    labs = parse_labs({"hemoglobin": "7 g/dL", "sex": "female", "pregnancy": True,
                       "obstetric_complication": "HELLP", "platelets": 80, "ldh": 1500,
                       "ldh_uln": 250, "haptoglobin": "<0.1 g/L", "reticulocytes": "8 %",
                       "mcv": 85, "inr": 1.1, "active_cancer": False, "transplant": False,
                       "dat": "negative", "creatinine": "0.8 mg/dL"})
    verdict = assess(_count(percent=5.0), labs)
    assert (verdict.cause("ttp").assessment, verdict.cause("pregnancy").assessment) == \
        ("suspected", "suspected")
    assert verdict.next_step.to_dict() == {
        "about": "pregnancy", "assessment": "suspected",
        "action": "urgent obstetric review (delivery for HELLP or pre-eclampsia: Sibai BM. "
                  "Obstet Gynecol 2004;103:981-991); TTP not excluded: treat as the URGENT line "
                  "says until ADAMTS13 is back"}
    assert format_text(verdict).splitlines()[:3] == [
        verdict.urgent, "MAHA: likely", f"Next (pregnancy, suspected): "
        f"{verdict.cause('pregnancy').action}"]


@pytest.mark.parametrize("option", ["--scleroderma", "--ssc"])
def test_systemic_sclerosis_under_its_usual_names_keeps_the_caution(option, capsys):
    # QA 86 #7: '--scleroderma yes' was refused as unknown, and the URGENT line lost its
    # caution against high-dose corticosteroids.
    from smearscan.cli import main

    args = ["verdict", "--schistocytes", "5", "--rbc-counted", "1000", "--platelets", "10",
            "--ldh", "1500 U/L", "--ldh-uln", "250 U/L", "--haptoglobin", "<0.1 g/L",
            "--reticulocytes", "8 %", "--mcv", "85", "--inr", "1.1", "--active-cancer", "no",
            "--transplant", "no", "--creatinine", "0.8 mg/dL", "--dat", "negative"]
    assert main([*args, option, "yes"]) == 2
    printed = capsys.readouterr()
    assert printed.out.splitlines()[0].endswith(
        "Systemic sclerosis recorded: high-dose corticosteroids can precipitate a scleroderma "
        "renal crisis, which an ACE inhibitor treats: weigh them with rheumatology (Steen VD, "
        "Medsger TA Jr. Arthritis Rheum 1998;41:1613-1619 (corticosteroids); Steen VD, et al. "
        "Ann Intern Med 1990;113:352-357 (ACE inhibitors)).")
    assert printed.err.endswith(f"unknown option '{option}'; did you mean "
                                "'--systemic-sclerosis'?\n")


#: The end of the URGENT line where systemic sclerosis is recorded (QA 84 #5).
CAUTION = ("Systemic sclerosis recorded: high-dose corticosteroids can precipitate a scleroderma "
           "renal crisis, which an ACE inhibitor treats: weigh them with rheumatology (Steen VD, "
           "Medsger TA Jr. Arthritis Rheum 1998;41:1613-1619 (corticosteroids); Steen VD, et al. "
           "Ann Intern Med 1990;113:352-357 (ACE inhibitors)).")


@pytest.mark.parametrize(("given", "refusal"), [
    (["--systemic-sclerosis", "maybe"],
     "command line: systemic_sclerosis = 'maybe': expected true/false (or yes/no, 1/0)"),
    (["--systemic-sclerosis"], "error: argument --systemic-sclerosis: expected one argument "
                               "(see smearscan verdict --help)"),
    (["--scleroderma"], "command line: unknown option '--scleroderma'; did you mean "
                        "'--systemic-sclerosis'?"),
    (["--sclerodermia", "yes"], "command line: unknown option '--sclerodermia'; did you mean "
                                "'--systemic-sclerosis'?"),
])
def test_a_systemic_sclerosis_the_verdict_cannot_read_keeps_the_caution(given, refusal, capsys):
    # QA 87 #4: each of these printed the URGENT line without the caution.
    from smearscan.cli import main

    args = ["verdict", "--schistocytes", "5", "--rbc-counted", "1000", "--platelets", "10",
            "--ldh", "1500 U/L", "--ldh-uln", "250 U/L", "--haptoglobin", "<0.1 g/L",
            "--reticulocytes", "8 %", "--mcv", "85", "--inr", "1.1", "--active-cancer", "no",
            "--transplant", "no", "--creatinine", "0.8 mg/dL", "--dat", "negative",
            "--hemoglobin", "7 g/dL"]
    try:
        code = main([*args, *given])
    except SystemExit as exit:  # argparse's own refusal of an option with no value
        code = exit.code
    assert code == 2
    printed = capsys.readouterr()
    labs = parse_labs({"platelets": 10, "ldh": 1500, "ldh_uln": 250, "haptoglobin": "<0.1 g/L",
                       "reticulocytes": "8 %", "mcv": 85, "inr": 1.1, "active_cancer": False,
                       "transplant": False, "creatinine": "0.8 mg/dL", "dat": "negative",
                       "hemoglobin": "7 g/dL", "systemic_sclerosis": True})
    assert printed.out == f"{assess(_count(percent=5.0), labs).urgent}\n"
    assert printed.out.rstrip("\n").endswith(CAUTION)
    assert printed.err == f"smearscan verdict: {refusal}\n"


def test_a_yes_no_value_refused_is_read_as_either_answer():
    # A transplant 'maybe' in a child: no PLASMIC point either way, and a transplant-associated
    # TMA on one reading; the line is the weaker of the two, asking for the value.
    from smearscan.labs import lab_readings

    readings, without = lab_readings({"transplant": "maybe", "platelets": 10})
    assert [labs.transplant for labs in readings] == [True, False] and without == []


def test_a_megaloblastic_anaemias_action_never_stands_beside_the_urgent_line():
    # QA 87 #1: "Next (megaloblastic, suspected): ... plasma exchange does not [treat it]"
    # stood under "URGENT - TTP suspected ... plasma exchange ... usually started".
    labs = parse_labs({"hemoglobin": "7 g/dL", "sex": "female", "platelets": 20, "ldh": 3000,
                       "ldh_uln": 250, "haptoglobin": "<0.1 g/L", "reticulocytes": "1 %",
                       "mcv": 105, "inr": 1.1, "active_cancer": False, "transplant": False,
                       "dat": "negative", "creatinine": "0.8 mg/dL",
                       "vitamin_b12": "80 pg/mL"})
    verdict = assess(_count(percent=5.0), labs)
    assert (verdict.cause("ttp").assessment, verdict.cause("megaloblastic").assessment) == \
        ("suspected", "suspected")
    assert verdict.next_step is None and verdict.to_dict()["next"] is None


@pytest.mark.parametrize("pregnant", [{"pregnancy": True},
                                      {"obstetric_complication": "placental abruption"}])
def test_the_urgent_lines_ace_inhibitor_is_weighed_with_obstetrics_in_pregnancy(pregnant):
    # QA 92 #5: the URGENT line's caution named the ACE inhibitor to a pregnant woman without
    # the fetal caution that the crisis's own action gives.
    from smearscan.verdict.differential.recorded import ACE_IN_PREGNANCY
    from smearscan.verdict.differential.ttp import SCLERODERMA_CAUTION

    line = urgent_ttp("suspected", "unknown")
    verdict = assess(_count(percent=5.0),
                     parse_labs({**ADULT6, **pregnant, "systemic_sclerosis": True}))
    assert verdict.urgent == (f"{line} {SCLERODERMA_CAUTION.removesuffix('.')}; "
                              f"{ACE_IN_PREGNANCY}.")
    assert verdict.urgent.endswith(
        "(ACE inhibitors)); pregnancy recorded: before delivery an ACE inhibitor can injure the "
        "fetus (captopril's boxed warning): decide it with obstetrics.")
    alone = assess(_count(percent=5.0), parse_labs({**ADULT6, "systemic_sclerosis": True}))
    assert alone.urgent == f"{line} {SCLERODERMA_CAUTION}"


def test_a_megaloblastic_action_beside_an_urgent_line_defers_to_it():
    # QA 130 #6: "plasma exchange does not [correct it]; keep TTP in mind" beside "URGENT - TTP
    # suspected" read as against the line's plasma exchange.
    labs = parse_labs({"sex": "male", "hemoglobin": "6 g/dL", "mcv": 112, "reticulocytes": "1 %",
                       "platelets": 20, "ldh": "3000 U/L", "ldh_uln": "250 U/L",
                       "haptoglobin": "<0.1 g/L", "dat": "negative", "vitamin_b12": "90 pg/mL",
                       "folate": "8 ng/mL", "active_cancer": False, "transplant": False,
                       "inr": 1.1, "creatinine": "0.9 mg/dL"})
    verdict = assess(SmearFindings.from_percentage(3.0, rbc_counted=1000), labs)
    assert verdict.cause("ttp").assessment == "suspected"
    assert verdict.cause("megaloblastic").action == (
        "replacing B12 corrects it; TTP not excluded: treat as the URGENT line says "
        "until ADAMTS13 is back")
    # TTP out of play (ADAMTS13 60%): the pseudo-TMA's own words.
    away = assess(SmearFindings.from_percentage(3.0, rbc_counted=1000),
                  dataclasses.replace(labs, adamts13=60.0))
    assert away.cause("megaloblastic").action == (
        "replacing B12 corrects it and plasma exchange does not; judge TTP by the "
        "ADAMTS13 result")


STEC_PICTURE = {"platelets": 40, "ldh": "900 U/L", "ldh_uln": "250 U/L", "haptoglobin": "<0.1 g/L",
                "dat": "negative", "creatinine": "3 mg/dL", "adamts13": "60 %", "diarrhoea": True}


@pytest.mark.parametrize(("recorded", "care"), [
    ({}, "no antibiotics or antimotility drugs"),
    # QA 136 H1: "no antibiotics" beside a recorded sepsis (Surviving Sepsis 2021: within one
    # hour), and beside a transplant.
    ({"sepsis": True}, "antibiotics as the recorded sepsis needs them (the advice against them "
                       "is for uncomplicated STEC diarrhoea: Wong 2000), no antimotility drugs"),
    ({"transplant": True, "sepsis": True},
     "antibiotics as the recorded sepsis or transplant needs them")])
def test_stec_hus_care_does_not_withhold_antibiotics_from_a_recorded_sepsis(recorded, care):
    verdict = assess(SmearFindings.from_percentage(3.0, rbc_counted=1000),
                     parse_labs({**STEC_PICTURE, **recorded}))
    hus = verdict.cause("hus")
    assert care in hus.action
    assert ("no antibiotics" in hus.action) == (not recorded)


def test_a_dic_action_beside_an_urgent_line_defers_to_it():
    # QA 136 M1: "blood products for bleeding or procedures" beside "draw ADAMTS13 before any
    # plasma or blood product" and "no platelets unless life-threatening bleeding".
    labs = parse_labs({"platelets": 40, "ldh": "900 U/L", "ldh_uln": "250 U/L",
                       "haptoglobin": "<0.1 g/L", "dat": "negative", "sepsis": True,
                       "fibrinogen": "0.8 g/L", "d_dimer": "8 mg/L", "d_dimer_uln": "0.5 mg/L",
                       "pt_prolongation_s": 7, "inr": 1.8})
    verdict = assess(SmearFindings.from_percentage(3.0, rbc_counted=1000), labs)
    assert verdict.urgent is not None and verdict.cause("dic").assessment == "likely"
    assert verdict.cause("dic").action == (
        "treat the underlying disorder; repeat the ISTH score; blood products for bleeding or "
        "procedures; TTP not excluded: treat as the URGENT line says until ADAMTS13 is back")


def test_a_childs_suspected_ttp_is_deferred_to_as_the_urgent_line_treats_it():
    # QA 136 M2: beside a child's "TTP suspected", whose URGENT line starts plasma on
    # suspicion, another cause's action said "whether to treat as TTP ... is haematology's call".
    labs = parse_labs({"platelets": 15, "ldh": "900 U/L", "ldh_uln": "250 U/L",
                       "haptoglobin": "<0.1 g/L", "dat": "negative", "mcv": 85, "inr": 1.1,
                       "creatinine": "0.5 mg/dL", "creatinine_uln": "0.7 mg/dL",
                       "active_cancer": False, "transplant": False,
                       "drug_exposure": "clopidogrel"})
    verdict = assess(SmearFindings.from_percentage(3.0, rbc_counted=1000, population="child"),
                     labs)
    assert verdict.cause("ttp").assessment == "suspected"
    assert verdict.cause("drug-induced").action.endswith(
        "; TTP not excluded: treat as the URGENT line says until ADAMTS13 is back")


@pytest.mark.parametrize(("vitamins", "replacing"), [
    ({"folate": "2 ng/mL"}, "replacing folate, with B12 until a B12 deficiency is excluded "
                            "(folate alone can worsen its neurological damage: BSH 2014 "
                            "(Devalia V, et al. Br J Haematol 2014;166:496-513)) corrects it"),
    ({"folate": "2 ng/mL", "vitamin_b12": "400 pg/mL"}, "replacing folate corrects it"),
    ({"folate": "2 ng/mL", "vitamin_b12": "90 pg/mL"}, "replacing B12 and folate corrects it"),
    ({"vitamin_b12": "90 pg/mL"}, "replacing B12 corrects it")])
def test_the_megaloblastic_action_names_the_vitamin_measured_deficient(vitamins, replacing):
    # QA 136 L2: a measured folate deficiency was "the vitamin"; folate alone is not given
    # before a B12 deficiency is excluded.
    labs = parse_labs({"hemoglobin": "7 g/dL", "mcv": 112, "reticulocytes": "1 %",
                       "platelets": 90, "ldh": "3000 U/L", "ldh_uln": "250 U/L",
                       "haptoglobin": "<0.1 g/L", "dat": "negative", "adamts13": "60 %",
                       **vitamins})
    action = assess(SmearFindings.from_percentage(3.0, rbc_counted=1000),
                    labs).cause("megaloblastic").action
    assert replacing in action


@pytest.mark.parametrize("written", ["FK506", "FK-506 1 mg bd", "fk 506"])
def test_fk506_is_read_as_tacrolimus(written):
    # QA 136 L3: tacrolimus's code name was not read as it.
    from smearscan.verdict.drugs import tma_drugs_named

    assert tma_drugs_named(written) == {"tacrolimus"}
