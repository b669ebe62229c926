"""A thrombocytopenia without MAHA: the count to confirm first (an EDTA pseudo-thrombocytopenia),
then the causes of a low platelet count that are not a TMA, immune thrombocytopenia (ITP) last
as a diagnosis of exclusion (QA 150 M-3: a platelet count of 8 with a normal smear and no
haemolysis named only the TMAs, each unlikely)."""

from __future__ import annotations

from smearscan.labs import Labs
from smearscan.verdict.differential.cause import Cause
from smearscan.verdict.findings import LabPicture
from smearscan.verdict.values import ITP_ADMISSION_PLATELETS, PLATELETS_LOW

#: What the action asks first and then (Provan D, et al. Blood Adv 2019;3:3780-3817).
CONFIRM_THEN_CAUSE = (
    "confirm the count first: platelet clumps or satellitism on the film, or a count repeated "
    "in a citrate tube, show an EDTA pseudo-thrombocytopenia; then look for its cause (drugs, "
    "heparin among them; infection; liver disease or hypersplenism; marrow disease): immune "
    "thrombocytopenia (ITP) is a diagnosis of exclusion")
#: An adult's count under :data:`ITP_ADMISSION_PLATELETS` (ASH 2019, Neunert C, et al.).
SEVERE = (f"platelets under {ITP_ADMISSION_PLATELETS:g} x10^9/L: haematology review today (ASH "
          "2019 suggests admission for a newly diagnosed adult ITP under "
          f"{ITP_ADMISSION_PLATELETS:g})")


def thrombocytopenia_cause(maha: str, labs: Labs, picture: LabPicture, ttp: Cause, *,
                           adult: bool, newborn: bool) -> Cause | None:
    """Listed, ``possible``, where the platelets are low and MAHA is unlikely; ``urgent`` for
    an adult under :data:`~smearscan.verdict.values.ITP_ADMISSION_PLATELETS`, else
    ``routine`` (:data:`~smearscan.verdict.values.THROMBOCYTOPENIA_RULE`, this tool's rule).
    Not listed with a positive DAT (the immune cause names Evans syndrome), for a newborn,
    whose low platelets have causes of their own (an alloimmune one first), nor while ``ttp``
    is not assessed: in play, it would rank above a TTP that only ADAMTS13 can exclude (a low
    haptoglobin outvoted beside a high PLASMIC)."""
    if (maha != "unlikely" or not picture.thrombocytopenia or labs.dat == "positive" or newborn
            or ttp.assessment == "not assessed"):
        return None
    severe = adult and labs.platelets < ITP_ADMISSION_PLATELETS
    reasons = (f"thrombocytopenia without MAHA: platelets {labs.platelets:g} x10^9/L < "
               f"{PLATELETS_LOW:g} x10^9/L, MAHA unlikely",)
    return Cause.of("thrombocytopenia-without-maha", "possible",
                    "urgent" if severe else "routine",
                    f"{SEVERE}; {CONFIRM_THEN_CAUSE}" if severe else CONFIRM_THEN_CAUSE, reasons)
