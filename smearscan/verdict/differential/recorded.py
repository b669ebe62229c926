"""Causes the lab values record: malignant hypertension, pregnancy, a mechanical valve."""

from __future__ import annotations

from smearscan.labs import Labs
from smearscan.verdict.differential.cause import (
    Cause,
)

#: The pregnancy cause's request for ADAMTS13, left out once it is given (QA 77 L1).
_SEND_ADAMTS13 = "; send ADAMTS13 for pregnancy-triggered TTP"

_RECORDED_CAUSES = (
    ("malignant-hypertension", ("malignant_hypertension",), "urgent",
     "malignant hypertension recorded: hypertensive TMA",
     "control blood pressure; re-assess the TMA once it is controlled"),
    ("pregnancy", ("pregnancy", "obstetric_complication"), "urgent",
     "pregnancy or an obstetric complication recorded: pre-eclampsia/HELLP, and pregnancy-"
     "triggered TTP or complement-mediated TMA", "urgent obstetric review (delivery for HELLP "
     f"or pre-eclampsia){_SEND_ADAMTS13}"),
    ("mechanical", ("mechanical_valve",), "routine",
     "mechanical heart valve recorded: valve haemolysis", "echocardiography for valve "
     "function"),
)


def recorded_causes(maha: str, labs: Labs) -> list[Cause]:
    """A line for each cause the labs record: ``possible``, or ``unlikely`` without MAHA."""
    causes = []
    for name, keys, urgency, reason, action in _RECORDED_CAUSES:
        if labs.adamts13 is not None:
            action = action.removesuffix(_SEND_ADAMTS13)
        if any(getattr(labs, key) for key in keys):
            unlikely = maha == "unlikely"
            causes.append(Cause.of(name, "unlikely" if unlikely else "possible", urgency, action,
                                 (reason, *(["MAHA unlikely"] if unlikely else []))))
    return causes
