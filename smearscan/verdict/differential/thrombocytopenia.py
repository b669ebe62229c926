"""Thrombocytopenias that are not a TMA's: one without MAHA, whose count is confirmed first (an
EDTA pseudo-thrombocytopenia) before its causes, immune thrombocytopenia (ITP) last as a
diagnosis of exclusion (QA 150 M-3: a platelet count of 8 with a normal smear and no haemolysis
named only the TMAs, each unlikely); and a heparin-induced one beside a recorded heparin,
whatever else is in play (QA 157 M-1)."""

from __future__ import annotations

from smearscan.labs import Labs
from smearscan.verdict.differential.cause import ACTIVE, Cause
from smearscan.verdict.differential.recorded import URGENT_OBSTETRIC_REVIEW
from smearscan.verdict.differential.ttp import ADAMTS13_SEND
from smearscan.verdict.drugs import heparin_named
from smearscan.verdict.findings import LabPicture
from smearscan.verdict.values import (
    ITP_TREATMENT_PLATELETS,
    OBSTETRIC_SEVERE_PLATELETS,
    PLATELETS_LOW,
)

#: What the action asks first and then (Provan D, et al. Blood Adv 2019;3:3780-3817).
CONFIRM_THEN_CAUSE = (
    "confirm the count first: platelet clumps or satellitism on the film, or a count repeated "
    "in a citrate tube, show an EDTA pseudo-thrombocytopenia; then look for its cause (drugs; "
    "infection; liver disease or hypersplenism; marrow disease): immune thrombocytopenia (ITP) "
    "is a diagnosis of exclusion")
#: Named beside them in pregnancy (QA 156 M-4), gestational thrombocytopenia only from
#: :data:`~smearscan.verdict.values.OBSTETRIC_SEVERE_PLATELETS` (QA 157: it seldom falls under
#: 70-80).
IN_PREGNANCY = ("in pregnancy or after delivery, gestational thrombocytopenia and pre-eclampsia "
                "or HELLP, with the obstetric team")
#: Under :data:`~smearscan.verdict.values.OBSTETRIC_SEVERE_PLATELETS` in pregnancy (QA 157 M-4:
#: a recorded pre-eclampsia at 90 was routine).
PREGNANCY_SEVERE = (f"in pregnancy or after delivery, platelets under "
                    f"{OBSTETRIC_SEVERE_PLATELETS:g} x10^9/L are a severe feature of "
                    f"pre-eclampsia and HELLP's count: {URGENT_OBSTETRIC_REVIEW} (ACOG 2020)")
#: A count under :data:`~smearscan.verdict.values.ITP_TREATMENT_PLATELETS`, by age (ASH 2019,
#: Neunert C, et al.; QA 156 M-5, M-6: a child's count of 5 was routine, bleeding not named).
SEVERE = {
    True: (f"platelets under {ITP_TREATMENT_PLATELETS:g} x10^9/L: haematology review today, at "
           "once with bleeding (ASH 2019 suggests treating a newly diagnosed adult ITP under "
           f"{ITP_TREATMENT_PLATELETS:g} and admitting it under 20)"),
    False: (f"platelets under {ITP_TREATMENT_PLATELETS:g} x10^9/L: haematology review today, at "
            "once with bleeding (ASH 2019: a child's treatment rests on the bleeding more than "
            "on the count)"),
}
#: A heparin recorded: HIT, a thrombotic emergency (Cuker A, et al. Blood Adv 2018;2:3360-3392;
#: QA 156 M-3), its alternative anticoagulant weighed against the bleeding risk (QA 159 M-3:
#: advised beside platelets under 20, a likely DIC or clopidogrel).
HIT_STEPS = ("its 4Ts score now; unless it is low, stop all heparin (flushes included) and weigh "
             "a non-heparin anticoagulant against the bleeding risk with haematology")
#: Its action where TTP is not in play; beside a TTP in play the URGENT line says when platelets
#: are transfused (QA 159 M-1: "unless there is bleeding" beside its "life-threatening").
HIT_ACTION = f"{HIT_STEPS}, and do not transfuse platelets unless there is bleeding (ASH 2018)"
HIT_BESIDE_TTP = f"{HIT_STEPS} (ASH 2018)"


def thrombocytopenia_cause(maha: str, labs: Labs, picture: LabPicture, ttp: Cause, dic: Cause,
                           *, adult: bool, newborn: bool) -> Cause | None:
    """Listed, ``possible``, where the platelets are low and MAHA and ``ttp`` are unlikely;
    ``urgent`` under :data:`~smearscan.verdict.values.ITP_TREATMENT_PLATELETS`, or under
    :data:`~smearscan.verdict.values.OBSTETRIC_SEVERE_PLATELETS` in pregnancy, else
    ``routine`` (:data:`~smearscan.verdict.values.THROMBOCYTOPENIA_RULE`, this tool's rule).
    Not listed while TTP is in play or not assessed (the low count is then the TTP's to
    explain, and this cause would rank above one that only ADAMTS13 can exclude), with a
    positive DAT (the immune cause names Evans syndrome), beside a likely or suspected ``dic``,
    whose consumption it is, nor for a newborn, whose low platelets have causes of their own (an
    alloimmune one first)."""
    if (maha != "unlikely" or not picture.thrombocytopenia or ttp.assessment != "unlikely"
            or labs.dat == "positive" or dic.assessment in ("likely", "suspected") or newborn):
        return None
    urgent = _urgent_steps(labs, adult)
    steps = [*urgent, CONFIRM_THEN_CAUSE, *(
        [IN_PREGNANCY] if labs.pregnancy_recorded and PREGNANCY_SEVERE not in urgent else [])]
    reasons = (f"thrombocytopenia without MAHA: platelets {labs.platelets:g} x10^9/L < "
               f"{PLATELETS_LOW:g} x10^9/L, MAHA unlikely",)
    return Cause.of("thrombocytopenia-without-maha", "possible",
                    "urgent" if urgent else "routine", "; ".join(steps), reasons)


def _urgent_steps(labs: Labs, adult: bool) -> list[str]:
    """What a low count calls for today: under
    :data:`~smearscan.verdict.values.ITP_TREATMENT_PLATELETS` (:data:`SEVERE`), and in pregnancy
    under :data:`~smearscan.verdict.values.OBSTETRIC_SEVERE_PLATELETS`
    (:data:`PREGNANCY_SEVERE`)."""
    return [*([SEVERE[adult]] if labs.platelets < ITP_TREATMENT_PLATELETS else []),
            *([PREGNANCY_SEVERE] if labs.pregnancy_recorded
              and labs.platelets < OBSTETRIC_SEVERE_PLATELETS else [])]


def heparin_cause(labs: Labs, picture: LabPicture, ttp: Cause, *, adult: bool,
                  newborn: bool) -> Cause | None:
    """A heparin-induced thrombocytopenia, ``possible`` and ``urgent``, wherever the platelets
    are low and a heparin is recorded (:func:`~smearscan.verdict.drugs.heparin_named`), whatever
    else is in play: a TTP or a DIC beside it does not exclude it, and a DIC's blood products
    would harm it (:data:`~smearscan.verdict.values.HIT_RULE`, this tool's rule; QA 157 M-1:
    beside "TTP possible" or a likely DIC it was never named). With ``ttp`` not in play its
    action starts with what the low count calls for today (QA 158 M-1, M-2: a count of 8, or
    under 100 in pregnancy, lost its step to HIT's; beside a TTP in play, its URGENT line refers
    to haematology now and says when platelets are transfused), and beside a TTP not assessed
    it asks for ADAMTS13. Not for a newborn, in whom HIT is exceptional and the 4Ts score not
    validated (QA 158 H-1)."""
    if newborn or not picture.thrombocytopenia or not heparin_named(labs.drug_exposure):
        return None
    in_play = ttp.assessment in ACTIVE
    # Beside a TTP not assessed, in play itself, it ranks above that TTP: ADAMTS13 is asked.
    steps = [*([] if in_play else _urgent_steps(labs, adult)),
             HIT_BESIDE_TTP if in_play else HIT_ACTION,
             *([f"TTP not excluded: {ADAMTS13_SEND}"] if ttp.assessment == "not assessed"
               else [])]
    return Cause.of("heparin-induced-thrombocytopenia", "possible", "urgent", "; ".join(steps),
                    (f"thrombocytopenia {labs.platelets:g} x10^9/L with a heparin recorded: "
                     f"{labs.drug_exposure}",))
