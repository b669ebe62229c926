"""A thrombocytopenia without MAHA: the count to confirm first (an EDTA pseudo-thrombocytopenia),
then the causes of a low platelet count that are not a TMA, immune thrombocytopenia (ITP) last
as a diagnosis of exclusion (QA 150 M-3: a platelet count of 8 with a normal smear and no
haemolysis named only the TMAs, each unlikely)."""

from __future__ import annotations

from smearscan.labs import Labs
from smearscan.verdict.differential.cause import Cause
from smearscan.verdict.drugs import heparin_named
from smearscan.verdict.findings import LabPicture
from smearscan.verdict.values import ITP_TREATMENT_PLATELETS, PLATELETS_LOW

#: What the action asks first and then (Provan D, et al. Blood Adv 2019;3:3780-3817).
CONFIRM_THEN_CAUSE = (
    "confirm the count first: platelet clumps or satellitism on the film, or a count repeated "
    "in a citrate tube, show an EDTA pseudo-thrombocytopenia; then look for its cause (drugs; "
    "infection; liver disease or hypersplenism; marrow disease): immune thrombocytopenia (ITP) "
    "is a diagnosis of exclusion")
#: Named beside them in pregnancy (QA 156 M-4).
IN_PREGNANCY = ("in pregnancy, gestational thrombocytopenia and pre-eclampsia or HELLP, with the "
                "obstetric team")
#: A heparin recorded: HIT first, a thrombotic emergency (Cuker A, et al. Blood Adv
#: 2018;2:3360-3392; QA 156 M-3).
HIT_FIRST = ("heparin recorded: exclude a heparin-induced thrombocytopenia (HIT) first, by its "
             "4Ts score; unless it is low, stop all heparin and give a non-heparin "
             "anticoagulant (ASH 2018)")
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


def thrombocytopenia_cause(maha: str, labs: Labs, picture: LabPicture, ttp: Cause, dic: Cause,
                           *, adult: bool, newborn: bool) -> Cause | None:
    """Listed, ``possible``, where the platelets are low and MAHA and ``ttp`` are unlikely;
    ``urgent`` under :data:`~smearscan.verdict.values.ITP_TREATMENT_PLATELETS` or with a
    heparin recorded, else ``routine``
    (:data:`~smearscan.verdict.values.THROMBOCYTOPENIA_RULE`, this tool's rule). Not listed
    while TTP is in play or not assessed (the low count is then the TTP's to explain, and this
    cause would rank above one that only ADAMTS13 can exclude), with a positive DAT (the immune
    cause names Evans syndrome), beside a likely or suspected ``dic``, whose consumption it is,
    nor for a newborn, whose low platelets have causes of their own (an alloimmune one
    first)."""
    if (maha != "unlikely" or not picture.thrombocytopenia or ttp.assessment != "unlikely"
            or labs.dat == "positive" or dic.assessment in ("likely", "suspected") or newborn):
        return None
    severe = labs.platelets < ITP_TREATMENT_PLATELETS
    heparin = heparin_named(labs.drug_exposure)
    steps = [*([HIT_FIRST] if heparin else []), *([SEVERE[adult]] if severe else []),
             CONFIRM_THEN_CAUSE,
             *([IN_PREGNANCY] if labs.pregnancy or labs.obstetric_complication else [])]
    reasons = (f"thrombocytopenia without MAHA: platelets {labs.platelets:g} x10^9/L < "
               f"{PLATELETS_LOW:g} x10^9/L, MAHA unlikely",
               *([f"heparin recorded: {labs.drug_exposure}"] if heparin else []))
    return Cause.of("thrombocytopenia-without-maha", "possible",
                    "urgent" if severe or heparin else "routine", "; ".join(steps), reasons)
