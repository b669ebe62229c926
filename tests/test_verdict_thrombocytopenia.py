"""A thrombocytopenia without MAHA is named with what to do about it (QA 150 M-3: a platelet count
of 8 with a normal smear and no haemolysis listed only TMAs, each unlikely or not assessed)."""

from __future__ import annotations

import pytest

from smearscan.labs import parse_labs
from smearscan.verdict import SmearFindings, UnresolvedBoundError, assess, format_text
from smearscan.verdict.differential.cause import TTP_LIKELY
from smearscan.verdict.differential.thrombocytopenia import CONFIRM_THEN_CAUSE, SEVERE

#: No haemolysis by any marker, no anaemia: MAHA unlikely beside a normal smear.
NO_HAEMOLYSIS = {"hemoglobin": "13 g/dL", "sex": "female", "ldh": "200 U/L",
                 "ldh_uln": "250 U/L", "haptoglobin": "1.2 g/L", "reticulocytes": "1 %"}
NAME = "thrombocytopenia-without-maha"


def _verdict(platelets, population="adult", percent=0.2, **more):
    smear = SmearFindings.from_percentage(percent, rbc_counted=1000, population=population)
    return assess(smear, parse_labs({**NO_HAEMOLYSIS, "platelets": platelets, **more}))


@pytest.mark.parametrize(("platelets", "urgency", "action"), [
    # Under 20, an adult's is urgent (ASH 2019: admission for a newly diagnosed ITP).
    (8, "urgent", f"{SEVERE}; {CONFIRM_THEN_CAUSE}"),
    (19.9, "urgent", f"{SEVERE}; {CONFIRM_THEN_CAUSE}"),
    (20, "routine", CONFIRM_THEN_CAUSE),
    (149.9, "routine", CONFIRM_THEN_CAUSE),
])
def test_a_thrombocytopenia_without_maha_is_named_first_with_its_count_to_confirm(
        platelets, urgency, action):
    verdict = _verdict(platelets)
    assert verdict.maha == "unlikely"
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


def test_a_childs_count_under_20_is_not_made_urgent_by_an_adults_rule():
    cause = _verdict(8, population="child").cause(NAME)
    assert (cause.assessment, cause.urgency, cause.action) == (
        "possible", "routine", CONFIRM_THEN_CAUSE)


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


def test_beside_an_urgent_line_its_action_defers_to_it():
    # ADAMTS13 under 10%: TTP likely whatever the smear shows, and first.
    verdict = _verdict(8, adamts13=5)
    assert verdict.urgent.startswith("URGENT - TTP likely")
    assert [cause.cause for cause in verdict.differential[:2]] == ["ttp", NAME]
    assert verdict.cause(NAME).action == f"{SEVERE}; {CONFIRM_THEN_CAUSE}; {TTP_LIKELY}"


def test_a_platelet_bound_across_20_is_refused_as_the_verdict_differs_within_it():
    with pytest.raises(UnresolvedBoundError, match="platelets"):
        _verdict("<25")


def test_a_ttp_that_only_adamts13_can_exclude_is_not_ranked_below_it():
    # A low haptoglobin outvoted by a normal LDH and reticulocytes beside PLASMIC 7: TTP is not
    # assessed (ADAMTS13 decides); the thrombocytopenia, in play, would have ranked first.
    verdict = _verdict(15, haptoglobin="<0.1 g/L", mcv=85, inr=1.0, creatinine="0.8 mg/dL",
                       active_cancer=False, transplant=False)
    assert verdict.maha == "unlikely"
    assert verdict.differential[0].cause == "ttp"
    assert verdict.differential[0].assessment == "not assessed"
    assert NAME not in [cause.cause for cause in verdict.differential]
