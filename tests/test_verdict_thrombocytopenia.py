"""A thrombocytopenia without MAHA is named with what to do about it (QA 150 M-3: a platelet count
of 8 with a normal smear and no haemolysis listed only TMAs, each unlikely or not assessed)."""

from __future__ import annotations

import pytest

from smearscan.labs import parse_labs
from smearscan.verdict import SmearFindings, UnresolvedBoundError, assess, format_text
from smearscan.verdict.differential.thrombocytopenia import (
    CONFIRM_THEN_CAUSE,
    HIT_ACTION,
    HIT_BESIDE_TTP,
    IN_PREGNANCY,
    PREGNANCY_SEVERE,
    SEVERE,
)

#: No haemolysis by any marker, no anaemia: MAHA unlikely beside a normal smear.
NO_HAEMOLYSIS = {"hemoglobin": "13 g/dL", "sex": "female", "ldh": "200 U/L",
                 "ldh_uln": "250 U/L", "haptoglobin": "1.2 g/L", "reticulocytes": "1 %"}
NAME = "thrombocytopenia-without-maha"


def _verdict(platelets, population="adult", percent=0.2, **more):
    smear = SmearFindings.from_percentage(percent, rbc_counted=1000, population=population)
    return assess(smear, parse_labs({**NO_HAEMOLYSIS, "platelets": platelets, **more}))


@pytest.mark.parametrize(("platelets", "urgency", "action"), [
    # Under 30 urgent (ASH 2019: a newly diagnosed adult ITP treated under 30).
    (8, "urgent", f"{SEVERE[True]}; {CONFIRM_THEN_CAUSE}"),
    (29.9, "urgent", f"{SEVERE[True]}; {CONFIRM_THEN_CAUSE}"),
    (30, "routine", CONFIRM_THEN_CAUSE),
    (149.9, "routine", CONFIRM_THEN_CAUSE),
])
def test_a_thrombocytopenia_without_maha_is_named_first_with_its_count_to_confirm(
        platelets, urgency, action):
    verdict = _verdict(platelets)
    assert (verdict.maha, verdict.cause("ttp").assessment) == ("unlikely", "unlikely")
    cause = verdict.differential[0]
    assert (cause.cause, cause.assessment, cause.urgency, cause.action) == (
        NAME, "possible", urgency, action)
    assert cause.reasons == (f"thrombocytopenia without MAHA: platelets {platelets:g} x10^9/L "
                             "< 150 x10^9/L, MAHA unlikely",)
    assert cause.rule.startswith("this tool's rule: Provan D, et al. Blood Adv 2019")
    lines = format_text(verdict).splitlines()
    first = lines[lines.index("Differential (in play first, by urgency then likelihood):") + 1]
    assert first.startswith(f"  1. {NAME}: possible ({urgency}) [this tool's rule: Provan D")


def test_platelets_at_the_limit_name_no_thrombocytopenia():
    assert NAME not in [cause.cause for cause in _verdict(150).differential]


def test_a_childs_count_under_30_is_urgent_with_a_childs_advice():
    # QA 156 M-6: a child's count of 5 was routine.
    cause = _verdict(5, population="child").cause(NAME)
    assert (cause.assessment, cause.urgency, cause.action) == (
        "possible", "urgent", f"{SEVERE[False]}; {CONFIRM_THEN_CAUSE}")


HIT = "heparin-induced-thrombocytopenia"


@pytest.mark.parametrize(("drug", "hit"), [
    # QA 156 M-3: a recorded heparin beside platelets of 60 was routine, HIT not named; QA 157
    # M-2: ward spellings were not read.
    ("enoxaparin 40 mg daily", True), ("Heparin infusion", True), ("LMWH prophylaxis", True),
    ("UFH", True), ("Hep-lock flush", True), ("reviparin", True), ("fondaparinux", False),
    ("amoxicillin", False), ("ufhx", False)])
def test_a_recorded_heparin_names_hit_urgent_first(drug, hit):
    verdict = _verdict(60, drug_exposure=drug)
    names = [cause.cause for cause in verdict.differential]
    assert (HIT in names) is hit
    plain = verdict.cause(NAME)
    assert (plain.urgency, plain.action) == ("routine", CONFIRM_THEN_CAUSE)
    if hit:
        cause = verdict.differential[0]
        assert (cause.cause, cause.assessment, cause.urgency, cause.action) == (
            HIT, "possible", "urgent", HIT_ACTION)
        assert str(verdict.next_step) == f"Next ({HIT}, possible): {HIT_ACTION}"
        # A heparin alone is HIT's to weigh, not a drug TMA to check before stopping it.
        assert "drug-induced" not in names


def test_hit_is_named_beside_a_ttp_in_play_and_defers_to_its_line():
    # QA 157 M-1: beside "TTP possible" the heparin was a drug TMA to check "before stopping
    # it", and HIT was never named.
    # QA 159 M-1: its "no platelets unless there is bleeding" stood beside the URGENT line's
    # "unless there is life-threatening bleeding".
    verdict = _verdict(8, adamts13=15, drug_exposure="enoxaparin")
    assert verdict.urgent.startswith("URGENT - TTP possible")
    assert verdict.cause(HIT).action == (
        f"{HIT_BESIDE_TTP}; TTP not excluded: treat as the URGENT line says")
    assert "transfuse" not in HIT_BESIDE_TTP


def test_hit_is_named_beside_a_likely_dic():
    verdict = _verdict(40, sepsis=True, d_dimer="10 mg/L", d_dimer_uln="0.5 mg/L",
                       pt_prolongation_s=7, fibrinogen="0.8 g/L", drug_exposure="heparin")
    assert [(cause.cause, cause.assessment) for cause in verdict.differential[:2]] == [
        ("dic", "likely"), (HIT, "possible")]


def test_an_urgent_thrombocytopenia_gives_the_next_line():
    # QA 157 M-3: platelets of 8 stood only as the differential's first item.
    assert str(_verdict(8).next_step) == (
        f"Next ({NAME}, possible): {SEVERE[True]}; {CONFIRM_THEN_CAUSE}")
    assert _verdict(60).next_step is None


@pytest.mark.parametrize(("platelets", "urgency", "action"), [
    # QA 156 M-4: gestational thrombocytopenia and pre-eclampsia or HELLP were never named;
    # QA 157 M-4: a recorded pre-eclampsia at 90 was routine.
    (120, "routine", f"{CONFIRM_THEN_CAUSE}; {IN_PREGNANCY}"),
    (100, "routine", f"{CONFIRM_THEN_CAUSE}; {IN_PREGNANCY}"),
    (99.9, "urgent", f"{PREGNANCY_SEVERE}; {CONFIRM_THEN_CAUSE}"),
    (25, "urgent", f"{SEVERE[True]}; {PREGNANCY_SEVERE}; {CONFIRM_THEN_CAUSE}")])
def test_in_pregnancy_its_own_thrombocytopenias_are_named(platelets, urgency, action):
    for pregnant in ({"pregnancy": True}, {"obstetric_complication": "pre-eclampsia"}):
        cause = _verdict(platelets, **pregnant).cause(NAME)
        assert (cause.urgency, cause.action) == (urgency, action)


@pytest.mark.parametrize("population", ["neonate", "preterm"])
def test_a_newborns_low_platelets_are_left_to_their_own_causes(population):
    assert NAME not in [cause.cause for cause in _verdict(8, population=population).differential]


def test_a_positive_dat_names_evans_syndrome_instead():
    names = [cause.cause for cause in _verdict(8, dat="positive").differential]
    assert "immune-haemolysis" in names and NAME not in names


@pytest.mark.parametrize(("dat", "maha"), [("negative", "likely"), (None, "possible")])
def test_a_maha_that_is_not_unlikely_lists_no_thrombocytopenia_without_it(dat, maha):
    # Schistocytes over the limit, haemolysis present: a TMA's thrombocytopenia.
    verdict = _verdict(8, percent=3.0, ldh="900 U/L", haptoglobin="<0.1 g/L",
                       reticulocytes="6 %", hemoglobin="8 g/dL", dat=dat)
    assert verdict.maha == maha
    assert NAME not in [cause.cause for cause in verdict.differential]


@pytest.mark.parametrize(("adamts13", "ttp"), [(5, "likely"), (15, "possible")])
def test_a_ttp_in_play_keeps_the_low_count_its_own(adamts13, ttp):
    # QA 156 M-1: beside "TTP likely" it asked to confirm the count and weigh ITP.
    verdict = _verdict(8, adamts13=adamts13)
    assert verdict.cause("ttp").assessment == ttp and verdict.urgent.startswith("URGENT")
    assert NAME not in [cause.cause for cause in verdict.differential]


def test_a_ttp_that_only_adamts13_can_exclude_is_not_ranked_below_it():
    # A low haptoglobin outvoted by a normal LDH and reticulocytes beside PLASMIC 7: TTP is not
    # assessed (ADAMTS13 decides); the thrombocytopenia, in play, would have ranked first.
    verdict = _verdict(15, haptoglobin="<0.1 g/L", mcv=85, inr=1.0, creatinine="0.8 mg/dL",
                       active_cancer=False, transplant=False)
    assert verdict.maha == "unlikely"
    assert (verdict.differential[0].cause, verdict.differential[0].assessment) == (
        "ttp", "not assessed")
    assert NAME not in [cause.cause for cause in verdict.differential]


def test_an_overt_dic_keeps_the_low_count_its_own():
    verdict = _verdict(40, sepsis=True, d_dimer="10 mg/L", d_dimer_uln="0.5 mg/L",
                       pt_prolongation_s=7, fibrinogen="0.8 g/L")
    assert verdict.cause("dic").assessment == "likely"
    assert NAME not in [cause.cause for cause in verdict.differential]


@pytest.mark.parametrize("bound", ["<30", "<=20", "<10"])
def test_a_platelet_bound_under_30_reads_one_way(bound):
    # QA 156 M-2: with a cut at 20, '<30' and '<=20' were refused as the verdict differed.
    cause = _verdict(bound).cause(NAME)
    assert (cause.urgency, cause.action) == ("urgent", f"{SEVERE[True]}; {CONFIRM_THEN_CAUSE}")


def test_a_platelet_bound_across_30_is_refused_as_plasmic_already_refuses_it():
    with pytest.raises(UnresolvedBoundError, match="platelets"):
        _verdict("<40")


@pytest.mark.parametrize(("platelets", "population", "more", "action"), [
    # QA 158 M-1, M-2: the count's own step, or pregnancy's, was lost to HIT's on the Next line.
    (8, "adult", {}, f"{SEVERE[True]}; {HIT_ACTION}"),
    (20, "child", {}, f"{SEVERE[False]}; {HIT_ACTION}"),
    (90, "adult", {"pregnancy": True}, f"{PREGNANCY_SEVERE}; {HIT_ACTION}")])
def test_hit_leads_with_what_the_low_count_calls_for_today(platelets, population, more, action):
    verdict = _verdict(platelets, population=population, drug_exposure="enoxaparin", **more)
    assert str(verdict.next_step) == f"Next ({HIT}, possible): {action}"


def test_a_newborn_on_heparin_is_not_given_hits_advice():
    # QA 158 H-1: a neonate's heparin-flushed line was told to stop heparin for an anticoagulant.
    for population in ("neonate", "preterm"):
        assert HIT not in [cause.cause for cause in _verdict(
            60, population=population, drug_exposure="heparin flushes").differential]


def test_hit_gives_the_next_line_over_a_dic_possible_on_an_incomplete_score():
    # QA 158 M-3: a DIC possible only on an incomplete score ranked first, and no Next line.
    verdict = _verdict(40, sepsis=True, pt_prolongation_s=4, fibrinogen="2 g/L",
                       drug_exposure="heparin")
    assert verdict.differential[0].cause == "dic"
    assert str(verdict.next_step) == f"Next ({HIT}, possible): {HIT_ACTION}"


def test_a_likely_dics_next_line_carries_hits_step():
    # QA 158 M-4: "blood products for bleeding or procedures" stood alone beside a heparin.
    verdict = _verdict(40, sepsis=True, d_dimer="10 mg/L", d_dimer_uln="0.5 mg/L",
                       pt_prolongation_s=7, fibrinogen="0.8 g/L", drug_exposure="heparin")
    assert str(verdict.next_step).endswith(
        "blood products for bleeding or procedures; a heparin recorded: its 4Ts score for a "
        "heparin-induced thrombocytopenia before any platelet transfusion; unless it is low, stop "
        "all heparin and weigh a non-heparin anticoagulant (heparin-induced-thrombocytopenia, "
        "below)")


def test_hits_step_is_not_added_to_a_next_line_beside_an_urgent_line():
    # QA 159 M-1: beside "TTP likely" the added step advised platelets and an anticoagulant.
    verdict = _verdict(8, percent=3.0, ldh="900 U/L", haptoglobin="<0.1 g/L",
                       reticulocytes="6 %", hemoglobin="8 g/dL", dat="negative", adamts13=5,
                       drug_exposure="LMWH", obstetric_complication="pre-eclampsia")
    assert verdict.urgent.startswith("URGENT - TTP likely")
    assert "4Ts" not in str(verdict.next_step)
    assert verdict.cause(HIT).action.endswith("TTP likely: treat as the URGENT line says")


def test_hit_beside_a_ttp_not_assessed_asks_for_adamts13():
    # In play, it ranks above a TTP that only ADAMTS13 can exclude.
    verdict = _verdict(15, haptoglobin="<0.1 g/L", mcv=85, inr=1.0, creatinine="0.8 mg/dL",
                       active_cancer=False, transplant=False, drug_exposure="heparin")
    assert verdict.cause("ttp").assessment == "not assessed"
    assert verdict.cause(HIT).action == (
        f"{SEVERE[True]}; {HIT_ACTION}; TTP not excluded: ADAMTS13 not measured: send it now "
        "(before plasma exchange or transfusion); if it is pending, chase the result")


@pytest.mark.parametrize("drug", ["heparin-free dialysis", "citrate lock instead of heparin",
                                  "heparinoid", "danaparoid"])
def test_what_names_no_heparin_given_is_not_read_as_one(drug):
    # QA 158 M-6.
    assert HIT not in [cause.cause for cause in _verdict(60, drug_exposure=drug).differential]


def test_a_heparin_leaves_a_childs_possible_hus_its_next_line_beside_ttp():
    # QA 159 M-2: with UFH recorded, the child's possible HUS beside "TTP possible" lost its
    # Next line (the stool test for Shiga toxin among it).
    labs = {"hemoglobin": "7.5 g/dL", "platelets": 45, "reticulocytes": "5 %",
            "haptoglobin": "<0.1 g/L", "ldh": "1800 U/L", "ldh_uln": "300 U/L",
            "dat": "negative", "diarrhoea": True, "creatinine": "0.65 mg/dL",
            "creatinine_uln": "0.6 mg/dL"}
    smear = SmearFindings.from_percentage(4.0, rbc_counted=1000, population="child")
    steps = [assess(smear, parse_labs({**labs, **more})).next_step
             for more in ({}, {"drug_exposure": "UFH"})]
    assert steps[0].about == "hus" and steps[1] == steps[0]


def test_a_thrombocytopenias_obstetric_step_is_said_once_on_the_next_line():
    # QA 160 L-4 (its case 1533): "urgent obstetric review" twice on one Next line.
    smear = SmearFindings.from_percentage(0.14, rbc_counted=1030)
    verdict = assess(smear, parse_labs({
        "platelets": 13, "hemoglobin": "4.8 g/dL", "haptoglobin": "1.67 g/L", "dat": "negative",
        "creatinine": "1.15 mg/dL", "mcv": "93 fL", "pregnancy": True,
        "obstetric_complication": "HELLP", "drug_exposure": "LMWH", "fibrinogen": "1.36 g/L"}))
    assert verdict.next_step.about == HIT
    assert str(verdict.next_step).count("urgent obstetric review") == 1
