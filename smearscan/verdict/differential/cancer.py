"""Cancer-associated MAHA (seed 000): a known active cancer, or marrow hints of one."""

from __future__ import annotations

from smearscan.labs import Labs
from smearscan.verdict.differential.cause import (
    ACTIVE,
    Cause,
    adamts13_beyond,
    adamts13_text,
    capped_without_maha,
    severe_deficiency,
)
from smearscan.verdict.differential.drug import drugs_weighed, tma_drug_named
from smearscan.verdict.drugs import tma_drugs_named
from smearscan.verdict.findings import LabPicture
from smearscan.verdict.values import ADAMTS13_NEGATIVE, ADAMTS13_SEVERE, SEED_000

MARROW_ADVICE = "bone-marrow examination (aspirate and trephine biopsy)"
#: Cancer-associated MAHA is treated at once: "treatment should be initiated immediately because
#: the prognosis is extremely unfavorable" (seed 000); it was "routine" beside an urgent DIC
#: (QA 53 M1).
URGENCY = "urgent"


def _cancer_hints(smear_hints: list[str], labs: Labs) -> Cause:
    """Without a known active cancer: marrow hints or a past cancer make one possible."""
    # QA 64 F9: not "send ADAMTS13" beside an ADAMTS13 given.
    action = (f"look for an occult or relapsed cancer; {MARROW_ADVICE}"
              + ("; send ADAMTS13 to exclude TTP" if labs.adamts13 is None else ""))
    hints = [*smear_hints, *(["history of cancer: relapse"] if labs.cancer_history else [])]
    if hints:
        return Cause.of("cancer-associated", "possible", URGENCY, action,
                      (*hints, "no known active cancer"))
    if labs.cancer_active is None:
        return Cause.of("cancer-associated", "not assessed", URGENCY, action,
                      ("active_cancer not recorded",))
    return Cause.of("cancer-associated", "unlikely", URGENCY, action, ("no known active cancer",))


def cancer_cause(maha: str, labs: Labs, picture: LabPicture, dic: Cause, drug: Cause | None,
                 smear_hints: list[str], cancer_first: bool) -> Cause:
    """Known active cancer, DAT-negative MAHA (haemolysis present), ADAMTS13 not severely low
    and no overt DIC -> suspected, else possible; 'plasma exchange is usually ineffective' only
    once ADAMTS13 is above 20% and no drug is suspected instead (CLINICAL.md, seed 000)."""
    adamts13 = labs.adamts13
    if maha == "unlikely":
        return Cause.of("cancer-associated", "unlikely", URGENCY, "",
                      ("MAHA unlikely (see the marrow section for infiltration)",))
    if severe_deficiency(labs):
        return Cause.of("cancer-associated", "unlikely", URGENCY, "", (
            f"{adamts13_beyond(adamts13, '<', ADAMTS13_SEVERE)} points to TTP",))
    if not labs.cancer_active:
        return _cancer_hints(smear_hints, labs)
    reasons, against = ["known active cancer"], []
    if labs.dat == "positive":
        against.append("DAT positive: immune haemolysis instead")
    elif picture.haemolysis != "present":
        # QA 130 #2: "DAT-negative haemolysis" was a reason beside a normal LDH and
        # haptoglobin, or none measured.
        against.append("haemolysis not shown by its markers "
                       f"({_markers_said(picture)}): the cause is a haemolytic anaemia")
    elif labs.dat == "negative":
        reasons.append("DAT-negative haemolysis")
    if adamts13 is None:
        # Not "TTP must be excluded first" beside a TTP the scores read unlikely (QA 56 #6).
        against.append("ADAMTS13 not measured: send it; TTP is not excluded until it is back")
    elif adamts13 <= ADAMTS13_NEGATIVE:
        against.append(f"{adamts13_text(adamts13)}: TTP grey zone, not excluded")
    else:
        reasons.append(f"{adamts13_beyond(adamts13, '>', ADAMTS13_NEGATIVE)}: TTP unlikely")
    if dic.assessment == "likely":
        against.append("overt DIC: may itself explain the picture")
    else:
        reasons.append(f"no overt DIC shown (DIC {dic.assessment})")
    named = tma_drugs_named(labs.drug_exposure)
    drug_in_play = drug is not None and drug.assessment in ACTIVE and bool(named)
    if drug_in_play:
        weighed = drugs_weighed(labs, cancer_first)
        against.extend(f"{tma_drug_named(labs, drugs)} can itself cause TMA: {advice}"
                       for drugs, advice in ((named - weighed, "stop it first"),
                                             (weighed, "weigh it with the oncologist"))
                       if drugs)
    assessment, capped = capped_without_maha("possible" if against else "suspected", maha)
    action = f"{MARROW_ADVICE}; oncology review"
    if adamts13 is not None and adamts13 > ADAMTS13_NEGATIVE and not drug_in_play:
        action += ("; plasma exchange is usually ineffective here: treating the cancer is what "
                   f"helps ({SEED_000})")
    return Cause.of("cancer-associated", assessment, URGENCY, action,
                  (*reasons, *smear_hints, *against, *capped))


def _markers_said(picture: LabPicture) -> str:
    """The haemolysis markers as far as they go: none measured, or each abnormal (showing
    haemolysis) or normal."""
    if not picture.markers:
        return "none measured"
    return ", ".join(f"{marker.name} {'abnormal' if marker.raised else 'normal'}"
                     for marker in picture.markers)


def hints_from_smear(nrbc_present: bool | None, leukoerythroblastic: str | None) -> list[str]:
    hints = []
    if nrbc_present:
        hints.append("nucleated red cells on the smear")
    if leukoerythroblastic in ("present", "possible"):
        hints.append(f"leukoerythroblastic picture on the smear: {leukoerythroblastic}")
    return hints
