"""HUS: by the creatinine, with MAHA and ADAMTS13 not severely low."""

from __future__ import annotations

from smearscan.labs import Labs
from smearscan.verdict.differential.cause import (
    ACTIVE,
    Cause,
    adamts13_beyond,
    adamts13_text,
    capped_without_maha,
    severe_deficiency,
    ttp_deferred,
)
from smearscan.verdict.findings import LabPicture, ldh_raised
from smearscan.verdict.readings import (
    creatinine_limit,
    creatinine_over_limit,
    kidney_injury,
    show,
)
from smearscan.verdict.values import (
    ADAMTS13_SEVERE,
    CHILD_CREATININE_ULN,
    CHILD_INJURY_CREATININE,
    HUS_CREATININE,
    KDIGO_AKI,
    PLATELETS_LOW,
)


def hus_cause(maha: str, labs: Labs, picture: LabPicture, ttp: Cause,
              adult: bool = True, secondary: str | None = None) -> Cause:
    """With MAHA and ADAMTS13 not severely low: creatinine >= 2.0 mg/dL -> suspected (possible
    while ADAMTS13 is unknown, unless diarrhoea is recorded, or MAHA is not likely); raised but
    under 2.0 -> possible; not
    raised (:func:`~smearscan.verdict.readings.creatinine_limit`) -> unlikely, possible with
    diarrhoea recorded (STEC-HUS: the kidney injury can come days later)
    (:data:`~smearscan.verdict.values.HUS_RULE`, this tool's rule). The limit is the lab's own
    (``creatinine_uln``) when given. Not an adult, without it: possible with a child's kidney
    injury (:func:`~smearscan.verdict.readings.kidney_injury`: at or over
    :data:`~smearscan.verdict.values.CHILD_INJURY_CREATININE`, twice a child's limit, as the
    drug rule reads it), else not assessed (the limits are adults'; what to judge instead is in
    what to measure next). For another population than adults TTP is not managed as such on
    PLASMIC (QA 56 #1). A kidney injury beside a ``secondary`` cause in play (a drug known to
    cause TMA, malignant hypertension) and without diarrhoea is that cause's: HUS is at most
    possible (atypical HUS is diagnosed once secondary causes are excluded; QA 84 #4: HUS
    outranked a recorded gemcitabine with a stool culture first; this tool's rule)."""
    action = hus_action(labs)
    # QA 77 M2: "manage as TTP" beside an URGENT line that left plasma exchange to haematology
    # (TTP possible) or to clinical judgement (a grey-zone ADAMTS13); the line is the one owner
    # of what to do about TTP.
    if (deferred := ttp_deferred(ttp, labs, adult)) is not None:
        action += f"; {deferred}"
    elif labs.adamts13 is None:
        action += "; send ADAMTS13"
    creatinine, adamts13 = labs.creatinine, labs.adamts13
    if maha == "unlikely":
        # An incomplete HUS: a kidney injury or diarrhoea with platelets low or not given keeps
        # it open while a haemolysis marker is raised, or LDH is not measured (the reticulocytes
        # lag and the haptoglobin can stay normal early; 200 cells say little; QA 18, QA 20);
        # not with every marker normal, LDH among them (QA 19), or ADAMTS13 under 10% (renal
        # involvement of TTP) (this tool's rule).
        signs = _kidney_or_gut(labs, adult)
        low = labs.platelets is None or labs.platelets < PLATELETS_LOW
        excluded = picture.haemolysis == "absent" and ldh_raised(labs) is False
        if signs and low and not excluded and not severe_deficiency(labs):
            return Cause.of("hus", "possible", "urgent", action, (
                f"MAHA unlikely, but {' and '.join(signs)} with platelets "
                f"{'not given' if labs.platelets is None else 'low'}: an incomplete HUS is not "
                "excluded (this tool's rule)",))
        return Cause.of("hus", "unlikely", "urgent", action, ("MAHA unlikely",))
    diarrhoea = ("diarrhoea recorded: Shiga toxin-producing E. coli HUS, whose kidney injury "
                 "can follow the haemolysis by days (this tool's rule)",) if labs.diarrhoea \
        else ()
    if creatinine is None:
        # Diarrhoea keeps the STEC work-up whatever the creatinine (QA 23 N8: it dropped when a
        # weak count made MAHA insufficient rather than unlikely).
        open_by_diarrhoea = bool(diarrhoea) and not severe_deficiency(labs)
        return Cause.of("hus", "possible" if open_by_diarrhoea else "not assessed", "urgent",
                        action, (*(diarrhoea if open_by_diarrhoea else ()),
                                 "creatinine not given"))
    shown = show("creatinine", creatinine)
    if severe_deficiency(labs):
        return Cause.of("hus", "unlikely", "urgent", action, (
            f"{adamts13_beyond(adamts13, '<', ADAMTS13_SEVERE)}: renal involvement of TTP",))
    if not adult and labs.creatinine_uln is None:
        # Twice a child's limit is a kidney injury: HUS stays possible, suspected with diarrhoea
        # as an adult's; under it the age's range decides, and diarrhoea keeps HUS possible
        # (QA 59 #2: a child's diarrhoea with 2.5 mg/dL read "possible", with 1.4 "not
        # assessed").
        raised = kidney_injury(labs, adult=False)
        assessment, capped = (capped_without_maha("suspected", maha) if raised and diarrhoea
                              else ("possible" if raised or diarrhoea else "not assessed", ()))
        return Cause.of("hus", assessment, "urgent", action, (
            f"creatinine {shown}: this tool's limits are adults'; judge it against the age's "
            "reference" + (f" (at or over {CHILD_INJURY_CREATININE:g} mg/dL, twice a child's "
                           f"{CHILD_CREATININE_ULN:g} mg/dL, it is a kidney injury)"
                           if raised else "") + " (this tool's rule)", *diarrhoea, *capped))
    limit, whom = creatinine_limit(labs)
    if creatinine <= limit:
        patient = "a child" if labs.sex == "male" else "a child or in pregnancy"
        adult_limit = (f"; adult limits: for {patient} give creatinine_uln, the patient's upper "
                       "limit" if labs.creatinine_uln is None else "")
        return Cause.of("hus", "possible" if diarrhoea else "unlikely", "urgent", action, (
            f"creatinine {shown} not over {limit:.3g} mg/dL ({whom}): no renal involvement "
            f"shown (this tool's rule{adult_limit})", *diarrhoea))
    over_limit = creatinine_over_limit(labs)
    if creatinine < HUS_CREATININE and over_limit is None:
        return Cause.of("hus", "possible", "urgent", action, (
            f"creatinine {shown} raised (over {limit:.3g} mg/dL, {whom}), under "
            f"{HUS_CREATININE:g}: renal involvement not excluded; a rise of >= 0.3 mg/dL in "
            f"48 h or to >= 1.5x the baseline is acute kidney injury ({KDIGO_AKI}; this "
            "tool's rule)", *diarrhoea))
    level = (f">= {HUS_CREATININE:g} mg/dL" if creatinine >= HUS_CREATININE else
             f"is {over_limit:.1f}x the lab's upper limit ({limit:.3g} mg/dL)")
    reasons = [f"creatinine {shown} {level}: acute kidney injury pattern (this tool's rule)",
               *diarrhoea]
    recorded = (() if secondary is None or diarrhoea else (
        f"{secondary} recorded: the kidney injury of its TMA; atypical HUS only once it is "
        "excluded (this tool's rule)",))
    if adamts13 is None and not diarrhoea:
        ttp_open = ": TTP not excluded" if ttp.assessment in ACTIVE else ""
        return Cause.of("hus", "possible", "urgent", action,
                        (*reasons, f"ADAMTS13 not measured{ttp_open}", *recorded))
    if adamts13 is None:
        # Diarrhoea with a kidney injury is the picture of STEC-HUS whatever ADAMTS13 shows
        # later (QA 56 #1: a child's read "possible" under TTP suspected; this tool's rule).
        assessment, capped = capped_without_maha("suspected", maha)
        ttp_open = "TTP not excluded until it is back" if ttp.assessment in ACTIVE else "send it"
        return Cause.of("hus", assessment, "urgent", action,
                        (*reasons, f"ADAMTS13 not measured: {ttp_open}", *capped))
    if recorded:
        return Cause.of("hus", "possible", "urgent", action,
                        (*reasons, f"{adamts13_text(adamts13)} not severely low", *recorded))
    assessment, capped = capped_without_maha("suspected", maha)
    return Cause.of("hus", assessment, "urgent", action,
                  (*reasons, f"{adamts13_text(adamts13)} not severely low", *capped))


#: What STEC-HUS's care avoids and needs: fluids (early volume expansion: Ardissino G, et al.
#: Pediatrics 2016;137:e20152153) and dialysis as needed; no antibiotics (which raised the risk
#: of HUS in E. coli O157:H7 infection: Wong CS, et al. N Engl J Med 2000;342:1930-1936) or
#: antimotility drugs; no platelet transfusion unless bleeding (NHS Greater Glasgow and Clyde
#: paediatric guideline, Management and investigation of bloody diarrhoea and haemolytic
#: uraemic syndrome). QA 84 #2: the action named no supportive care.
STEC_CARE = ("supportive care with nephrology: fluids, dialysis as needed; no antibiotics or "
             "antimotility drugs, no platelet transfusion unless bleeding (Wong 2000; Ardissino "
             "2016)")


#: HUS's work-up with diarrhoea recorded: the STEC stool culture and its supportive care first.
STEC_WORKUP = ("stool culture/PCR for Shiga toxin-producing E. coli; "
               f"{STEC_CARE}; complement studies for atypical HUS")
#: STEC-HUS's care beside a recorded sepsis or transplant: the advice against antibiotics is
#: for uncomplicated STEC diarrhoea (Wong 2000, children with E. coli O157:H7), and delaying
#: them in sepsis harms (Evans L, et al. Surviving Sepsis Campaign 2021. Crit Care Med
#: 2021;49:e1063-e1143: within one hour) (QA 136 H1: "no antibiotics" beside a recorded sepsis).
STEC_CARE_INFECTED = ("supportive care with nephrology: fluids, dialysis as needed; antibiotics "
                      "as the recorded {why} needs them (the advice against them is for "
                      "uncomplicated STEC diarrhoea: Wong 2000), no antimotility drugs, no "
                      "platelet transfusion unless bleeding (Ardissino 2016)")
#: HUS's work-up without diarrhoea recorded: the complement studies first, the stool culture
#: only if there is or was diarrhoea (QA 84 #4: an STEC culture first for an adult with none).
COMPLEMENT_WORKUP = ("complement studies for atypical HUS; nephrology; stool culture/PCR for "
                     "Shiga toxin-producing E. coli if there is or was diarrhoea")


def hus_action(labs: Labs) -> str:
    """HUS's work-up: :data:`STEC_WORKUP` with diarrhoea recorded (its care
    :data:`STEC_CARE_INFECTED` beside a recorded sepsis or transplant), else
    :data:`COMPLEMENT_WORKUP`."""
    if not labs.diarrhoea:
        return COMPLEMENT_WORKUP
    infected = [name for name, given in (("sepsis", labs.sepsis),
                                          ("transplant", labs.transplant)) if given]
    if not infected:
        return STEC_WORKUP
    return STEC_WORKUP.replace(STEC_CARE,
                               STEC_CARE_INFECTED.format(why=" or ".join(infected)))


def _kidney_or_gut(labs: Labs, adult: bool) -> list[str]:
    """What points to HUS beyond the MAHA picture: a raised creatinine (over this patient's
    limit, :func:`~smearscan.verdict.readings.creatinine_limit`; not an adult without the lab's
    limit: a :func:`~smearscan.verdict.readings.kidney_injury`) and diarrhoea recorded."""
    creatinine, signs = labs.creatinine, []
    if creatinine is not None:
        judged = adult or labs.creatinine_uln is not None
        if (judged and creatinine > creatinine_limit(labs)[0]) or kidney_injury(labs, adult=adult):
            signs.append(f"creatinine {show('creatinine', creatinine)} raised")
    if labs.diarrhoea:
        signs.append("diarrhoea recorded")
    return signs


def hus_by_adult_limit(maha: str, labs: Labs, hus: Cause, adult: bool) -> bool:
    """HUS judged with the creatinine within this tool's adult limits (MAHA not unlikely,
    ADAMTS13 not severely low, no lab limit given), which a child's and a pregnant woman's are
    under: the lab's own limit is then to be asked for. Not where HUS is suspected or likely
    whatever the limit."""
    return (labs.creatinine is not None and labs.creatinine_uln is None and adult
            and not severe_deficiency(labs) and maha != "unlikely"
            and hus.assessment in ("unlikely", "possible")
            and labs.creatinine <= creatinine_limit(labs)[0])
