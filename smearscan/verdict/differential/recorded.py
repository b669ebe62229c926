"""Causes the lab values record: malignant hypertension, systemic sclerosis, a transplant,
pregnancy, a mechanical valve."""

from __future__ import annotations

from smearscan.labs import Labs
from smearscan.verdict.differential.cause import (
    Cause,
)
from smearscan.verdict.readings import kidney_injury, show
from smearscan.verdict.values import HELLP, HYPERTENSIVE_TMA, SCLERODERMA_CRISIS, TRANSPLANT_TMA

#: The pregnancy cause's request for ADAMTS13, left out once it is given (QA 77 L1).
_SEND_ADAMTS13 = "; send ADAMTS13 for pregnancy-triggered TTP"
#: The recorded causes whose TMA is a kidney one: with a likely MAHA and a kidney injury they
#: are suspected, the HUS that the kidney injury would otherwise point to only possible (QA 86
#: #4: every cause read "possible", no next step, for a textbook scleroderma renal crisis).
RENAL_CAUSES = ("malignant-hypertension", "scleroderma-renal-crisis", "transplant-associated")

# In this order where two rank alike: a scleroderma renal crisis before the malignant
# hypertension it brings (QA 87 #3: both recorded, "control blood pressure" led, without the ACE
# inhibitor the crisis needs or its caution against corticosteroids).
_RECORDED_CAUSES = (
    # QA 84 #5: neither was a cause; a scleroderma crisis entered as malignant hypertension
    # read "plasma exchange and corticosteroids are usually started".
    ("scleroderma-renal-crisis", ("systemic_sclerosis",), "urgent",
     "systemic sclerosis recorded: scleroderma renal crisis (hypertension, kidney injury, MAHA)",
     "an ACE inhibitor (captopril) for the blood pressure, with nephrology and rheumatology; "
     f"no high-dose corticosteroids, which can precipitate the crisis ({SCLERODERMA_CRISIS})"),
    ("malignant-hypertension", ("malignant_hypertension",), "urgent",
     "malignant hypertension recorded: hypertensive TMA",
     f"control blood pressure; re-assess the TMA once it is controlled ({HYPERTENSIVE_TMA})"),
    ("transplant-associated", ("transplant",), "urgent",
     "transplant recorded: transplant-associated TMA (calcineurin or mTOR inhibitor, infection, "
     "graft-versus-host disease, complement)", "with the transplant team: the calcineurin or "
     "mTOR inhibitor's level and dose, blood pressure, proteinuria, soluble C5b-9 "
     f"({TRANSPLANT_TMA})"),
    ("pregnancy", ("pregnancy", "obstetric_complication"), "urgent",
     "pregnancy or an obstetric complication recorded: pre-eclampsia/HELLP, and pregnancy-"
     "triggered TTP or complement-mediated TMA", "urgent obstetric review (delivery for HELLP "
     f"or pre-eclampsia: {HELLP}){_SEND_ADAMTS13}"),
    ("mechanical", ("mechanical_valve",), "routine",
     "mechanical heart valve recorded: valve haemolysis", "echocardiography for valve "
     "function"),
)


def recorded_tma(labs: Labs) -> list[str]:
    """The causes of a TMA other than TTP or HUS that ``labs`` record, named: malignant
    hypertension, systemic sclerosis, a transplant (each a kidney TMA of its own, for which HUS
    or a child's TTP must not be taken; QA 84 #4, #5, QA 86 #5; this tool's rule)."""
    return [name for name, given in (
        ("malignant hypertension", labs.malignant_hypertension),
        ("systemic sclerosis", labs.systemic_sclerosis), ("a transplant", labs.transplant))
        if given]


def recorded_causes(maha: str, labs: Labs, adult: bool = True) -> list[Cause]:
    """A line for each cause the labs record: ``possible``, or ``unlikely`` without MAHA; with
    MAHA likely, ``suspected`` for a HELLP named as the obstetric complication
    (:func:`_hellp_named`) and for one of :data:`RENAL_CAUSES` with a kidney injury
    (:func:`~smearscan.verdict.readings.kidney_injury`; this tool's rule)."""
    causes = []
    for name, keys, urgency, reason, action in _RECORDED_CAUSES:
        if labs.adamts13 is not None:
            action = action.removesuffix(_SEND_ADAMTS13)
        if not any(getattr(labs, key) for key in keys):
            continue
        if maha == "unlikely":
            causes.append(Cause.of(name, "unlikely", urgency, action, (reason, "MAHA unlikely")))
        elif name == "pregnancy" and (hellp := _hellp_named(labs)) is not None:
            causes.append(Cause.of(name, "suspected" if maha == "likely" else "possible",
                                   urgency, action, (hellp, reason)))
        elif name in RENAL_CAUSES and maha == "likely" and kidney_injury(labs, adult=adult):
            causes.append(Cause.of(name, "suspected", urgency, action, (
                reason, f"with a kidney injury (creatinine {show('creatinine', labs.creatinine)}"
                        ") and MAHA likely (this tool's rule)")))
        else:
            causes.append(Cause.of(name, "possible", urgency, action, (reason,)))
    return causes


def _hellp_named(labs: Labs) -> str | None:
    """Why a HELLP syndrome named as the obstetric complication leads the pregnancy cause, or
    None: its haemolysis and low platelets are the MAHA picture, and its raised liver enzymes,
    which this tool does not read, are the clinician's to confirm (QA 84 #5: a HELLP named
    read only "possible"; this tool's rule)."""
    named = labs.obstetric_complication
    if not isinstance(named, str) or "hellp" not in named.lower():
        return None
    return (f"obstetric complication recorded: {named}: its haemolysis and low platelets are "
            "this picture; confirm its raised liver enzymes (AST, ALT), which this tool does "
            "not read")
