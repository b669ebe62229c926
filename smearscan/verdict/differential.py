"""The differential: each cause with its assessment, urgency, action and reasons, ranked.

Ranking (:func:`ranked`): causes that are ``likely``, ``suspected`` or ``possible`` come first,
by urgency (``emergency``, ``urgent``, ``routine``) and then likelihood; then the causes that
could not be assessed; then the unlikely ones. Suspected TTP is an emergency whatever its
likelihood: :func:`urgent_ttp` is the action line every output prints first when TTP is
possible or worse (ISTH 2020). Rules and sources are in :mod:`smearscan.verdict.values`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from smearscan.labs import Labs
from smearscan.verdict.findings import INSUFFICIENT, LabPicture
from smearscan.verdict.scores import Score, dic_underlying, french_unvalidated_context
from smearscan.verdict.values import (
    ADAMTS13_NEGATIVE,
    ADAMTS13_SEVERE,
    B12_DEFICIENT,
    BSH_COBALAMIN,
    CAUSE_RULES,
    CREATININE_RAISED,
    DRUG_TMA,
    DRUGS_CAUSING_TMA,
    FOLATE_DEFICIENT,
    FRENCH,
    FRENCH_BOTH,
    HUS_CREATININE,
    ISTH_OVERT_DIC,
    ISTH_TTP,
    KDIGO_AKI,
    MACROCYTOSIS_MCV,
    NORMAL_HAEMATOCRIT,
    PLASMIC,
    PLASMIC_HIGH,
    PLASMIC_INTERMEDIATE,
    PLASMIC_PLATELETS,
    PLATELETS_LOW,
    RETICULOCYTES_RAISED,
    SEED_000,
    known_tma_drug,
    show,
)

__all__ = ["ACTIVE", "Cause", "URGENT_TTP_ADVICE", "adamts13_known", "differential",
           "ranked", "urgent_ttp"]

ACTIVE = ("likely", "suspected", "possible")
"""Assessments that keep a cause in play; ``not assessed`` and ``unlikely`` rank after them."""

LIKELIHOOD = (*ACTIVE, "not assessed", "unlikely")
URGENCY = ("emergency", "urgent", "routine")

URGENT_TTP_ADVICE = {
    "unknown": "draw a sample for ADAMTS13 activity before any plasma or blood product; plasma "
               "exchange and corticosteroids are usually started on clinical suspicion, before "
               "the ADAMTS13 result",
    "severe": f"ADAMTS13 under {ADAMTS13_SEVERE:g}% is a severe deficiency: start plasma exchange "
              "and corticosteroids now if not already started",
    "severe, no picture": f"ADAMTS13 under {ADAMTS13_SEVERE:g}% is a severe deficiency, but no "
                          "thrombocytopenia or haemolysis is shown: measure the platelets, LDH, "
                          "haptoglobin and reticulocytes now (again, if given); plasma exchange "
                          "and corticosteroids if they show TTP",
    "grey zone": f"ADAMTS13 {ADAMTS13_SEVERE:g}-{ADAMTS13_NEGATIVE:g}% is a grey zone: plasma "
                 "exchange and corticosteroids on clinical judgement (the picture, PLASMIC)",
    "bound": "a value reported only as a bound spans a cut-off of the verdict: give the measured "
             "value; plasma exchange and corticosteroids are usually started on clinical "
             "suspicion",
}
"""What the URGENT line says of ADAMTS13, by what is known of it (ISTH 2020: severe deficiency
under 10%, 10-20% a grey zone; treatment is started on clinical suspicion, before the result)."""


def adamts13_known(adamts13: float | None, picture_seen: bool) -> str:
    """What is known of ADAMTS13 for the URGENT line (a key of :data:`URGENT_TTP_ADVICE`):
    ``unknown``, a ``severe`` deficiency (``severe, no picture`` without thrombocytopenia or
    haemolysis shown) or the ``grey zone`` (ISTH 2020). Over 20% TTP is unlikely: no line."""
    if adamts13 is None:
        return "unknown"
    if adamts13 < ADAMTS13_SEVERE:
        return "severe" if picture_seen else "severe, no picture"
    if adamts13 <= ADAMTS13_NEGATIVE:
        return "grey zone"
    raise ValueError(f"ADAMTS13 {adamts13:g}% > {ADAMTS13_NEGATIVE:g}%: TTP is unlikely, no "
                     "URGENT line")


def urgent_ttp(assessment: str, adamts13: str) -> str:
    """The action line every output prints first when TTP is possible or worse.

    Parameters
    ----------
    assessment : str
        TTP's assessment: ``possible``, ``suspected`` or ``likely``; the line names it.
    adamts13 : str
        What is known of ADAMTS13, a key of :data:`URGENT_TTP_ADVICE`.
    """
    return (f"URGENT - TTP {assessment}: a medical emergency. Refer to haematology now; "
            f"{URGENT_TTP_ADVICE[adamts13]}; consider caplacizumab; do not transfuse platelets "
            f"unless there is life-threatening bleeding ({ISTH_TTP}).")


MARROW_ADVICE = "bone-marrow examination (aspirate and trephine biopsy)"


@dataclass(frozen=True)
class Cause:
    """One cause in the differential.

    Attributes
    ----------
    cause : str
        ``ttp``, ``hus``, ``dic``, ``drug-induced``, ``cancer-associated``, ...
    assessment : str
        ``likely``, ``suspected``, ``possible``, ``not assessed`` or ``unlikely``.
    urgency : str
        ``emergency``, ``urgent`` or ``routine``: how fast the action is needed if the cause
        is in play.
    action : str
        What to do about it (``""`` when unlikely).
    reasons : tuple of str
        The findings behind the assessment.
    rule : str
        The rule that judged it, labelled as a standard or this tool's own
        (:data:`~smearscan.verdict.values.CAUSE_RULES`).
    """

    cause: str
    assessment: str
    urgency: str
    action: str
    reasons: tuple[str, ...]
    rule: str = ""

    def to_dict(self) -> dict[str, Any]:
        """``{"cause", "assessment", "urgency", "action", "reasons", "rule"}``."""
        return {"cause": self.cause, "assessment": self.assessment, "urgency": self.urgency,
                "action": self.action, "reasons": list(self.reasons), "rule": self.rule}


def _cause(name: str, assessment: str, urgency: str, action: str,
           reasons: Iterable[str]) -> Cause:
    return Cause(name, assessment, urgency, action if assessment in ACTIVE else "",
                 tuple(reasons), CAUSE_RULES[name].label)


def ranked(causes: Iterable[Cause]) -> tuple[Cause, ...]:
    """Causes in play first, then not assessed, then unlikely; within each, by urgency, then
    likelihood; the order given breaks ties."""
    def key(cause: Cause) -> tuple[int, int, int]:
        group = 0 if cause.assessment in ACTIVE else LIKELIHOOD.index(cause.assessment)
        return group, URGENCY.index(cause.urgency), LIKELIHOOD.index(cause.assessment)
    return tuple(sorted(causes, key=key))


def _cap(assessment: str, maha: str) -> tuple[str, tuple[str, ...]]:
    """Without a ``likely`` MAHA, a cause that needs MAHA is at most ``possible``."""
    if maha != "likely" and assessment in ("likely", "suspected"):
        return "possible", (f"MAHA not established (MAHA: {maha})",)
    return assessment, ()


def _adamts13_text(adamts13: float) -> str:
    return f"ADAMTS13 {adamts13:g}%"


# --- TTP ---------------------------------------------------------------------------------------

#: Why TTP stays possible when a positive DAT made MAHA unlikely but PLASMIC is 6-7.
DAT_POSITIVE_HIGH_PLASMIC = (
    "DAT positive: an immune haemolysis (autoimmune haemolytic anaemia; with thrombocytopenia, "
    f"Evans syndrome) is likelier, but a positive DAT does not exclude TTP with PLASMIC "
    f"{PLASMIC_HIGH}-7 ({ISTH_TTP}; this tool's rule)")

def _ttp_by_plasmic(maha: str, labs: Labs, picture: LabPicture, plasmic: Score,
                    french: Score) -> tuple[str, list[str]]:
    score = f"PLASMIC {plasmic.total_text()}: {plasmic.risk} risk"
    send = "ADAMTS13 not measured: send it now (before plasma exchange or transfusion)"
    if picture.thrombocytopenia is False:
        return "unlikely", [f"platelets {show('platelets', labs.platelets)} not below "
                            f"{PLATELETS_LOW:g} x10^9/L: TTP needs thrombocytopenia"]
    if maha == "unlikely" and labs.dat == "positive" and plasmic.minimum >= PLASMIC_HIGH:
        # Haemolysis with PLASMIC 6-7: a positive DAT points to an immune haemolysis, but does
        # not exclude TTP (ISTH 2020 acts on a high pre-test probability).
        return "possible", [score, DAT_POSITIVE_HIGH_PLASMIC, send]
    if maha == "unlikely":
        # Not a low count alone (that never makes MAHA unlikely with haemolysis and low
        # platelets): no haemolysis, or an immune one with PLASMIC under 6. PLASMIC is for
        # thrombocytopenia with MAHA; an isolated ITP scores 6 on it.
        return "unlikely", [score, f"MAHA unlikely: PLASMIC applies to thrombocytopenia with "
                                   f"MAHA ({PLASMIC})", send]
    if not plasmic.measured:
        return "not assessed", ["no PLASMIC item given", send]
    if plasmic.minimum >= PLASMIC_HIGH:
        return "suspected", [score, send]
    picture_reasons = _ttp_picture(maha, labs, picture)
    if plasmic.maximum < PLASMIC_INTERMEDIATE:
        return _ttp_low_plasmic(maha, labs, french, picture_reasons is not None, score, send)
    if picture_reasons is not None:
        return "possible", [score, *picture_reasons, send]
    if maha == INSUFFICIENT:
        # PLASMIC could still reach 5-7: with the picture incomplete TTP is not excluded.
        return "not assessed", [score, "haemolysis not shown or excluded: measure LDH, "
                                "haptoglobin and reticulocytes now", send]
    return "unlikely", [score, "no MAHA picture (haemolysis with thrombocytopenia)"]


def _ttp_picture(maha: str, labs: Labs, picture: LabPicture) -> list[str] | None:
    """The reasons the picture suggests TTP without ADAMTS13, or None: MAHA likely or possible;
    haemolysis with platelets low or unknown (DAT not positive); or, before the rest of the
    picture, one raised haemolysis marker with platelets under 30 (early TTP can show an
    undetectable haptoglobin before the reticulocytes or schistocytes rise; this tool's rule)."""
    if maha in ("likely", "possible"):
        return []
    if (picture.haemolysis == "present" and picture.thrombocytopenia is not False
            and labs.dat != "positive"):
        return ["haemolysis present; platelets " + ("low" if picture.thrombocytopenia
                                                    else "not given: count them now")]
    platelets = labs.platelets
    if picture.haemolysis == "equivocal" and platelets is not None and \
            platelets < PLASMIC_PLATELETS:
        return [f"platelets {show('platelets', platelets)} < {PLASMIC_PLATELETS:g} x10^9/L with "
                "a raised haemolysis marker: TTP cannot wait for the rest of the picture "
                "(this tool's rule)"]
    return None


def _ttp_low_plasmic(maha: str, labs: Labs, french: Score, picture_seen: bool, score: str,
                     send: str) -> tuple[str, list[str]]:
    """PLASMIC 0-4: unlikely, unless the French score can reach 2 of 2 (the safer of two
    published scores stands until ADAMTS13 is back; this tool's rule). Where the French score
    is not validated PLASMIC stands, which scores an active cancer and a transplant itself and
    leaves a DIC disorder or a drug known to cause TMA to explain the picture; but not in
    pregnancy, a trigger of TTP that neither score weighs: there the French score may still
    raise suspicion, never lower it (this tool's rule)."""
    if french.maximum < FRENCH_BOTH:
        return "unlikely", [score, send]
    french_text = f"French TMA score {french.total_text()}: {french.risk} ({FRENCH})"
    context = french_unvalidated_context(labs)
    if context is not None and not labs.pregnancy:
        return "unlikely", [score, f"{french_text}, but it is not validated with {context}: "
                                   "PLASMIC stands", send]
    if context is not None:
        french_text += (f", although it is not validated with {context}: in pregnancy, a "
                        "trigger of TTP, it may raise suspicion, never lower it")
    if picture_seen:
        return "possible", [score, f"{french_text}: TTP not excluded (this tool's rule: the "
                                   "safer score stands)", send]
    if maha == INSUFFICIENT:
        return "not assessed", [score, f"{french_text}: measure the MAHA picture now", send]
    return "unlikely", [score, send]


def _ttp(maha: str, labs: Labs, picture: LabPicture, plasmic: Score, french: Score) -> Cause:
    """ADAMTS13 < 10% -> likely with thrombocytopenia or haemolysis (else possible); 10-20% ->
    possible (ISTH 2020 grey zone), unlikely with platelets measured and not low; > 20% ->
    unlikely; unknown -> by PLASMIC (and the French
    score where PLASMIC is low) and the picture, never by the schistocyte count alone."""
    adamts13 = labs.adamts13
    picture_seen = picture.thrombocytopenia or picture.haemolysis in ("present", "equivocal")
    if adamts13 is None:
        assessment, reasons = _ttp_by_plasmic(maha, labs, picture, plasmic, french)
    elif adamts13 < ADAMTS13_SEVERE:
        assessment = "likely" if picture_seen else "possible"
        reasons = [f"{_adamts13_text(adamts13)} < {ADAMTS13_SEVERE:g}%: severe deficiency "
                   f"({ISTH_TTP})", "next: ADAMTS13 inhibitor or anti-ADAMTS13 IgG"]
        if not picture_seen:
            reasons.append("no thrombocytopenia or haemolysis shown: remission or a relapse "
                           "to come; repeat the counts")
    elif adamts13 <= ADAMTS13_NEGATIVE:
        reasons = [f"{_adamts13_text(adamts13)}: {ADAMTS13_SEVERE:g}-{ADAMTS13_NEGATIVE:g}% "
                   f"grey zone, clinical judgement ({ISTH_TTP})"]
        # Not a severe deficiency: without thrombocytopenia (platelets measured and not low)
        # nothing in the picture calls for TTP, as while ADAMTS13 is unknown.
        assessment = "unlikely" if picture.thrombocytopenia is False else "possible"
        if assessment == "unlikely":
            reasons.append(f"platelets {show('platelets', labs.platelets)} not below "
                           f"{PLATELETS_LOW:g} x10^9/L: TTP needs thrombocytopenia")
    else:
        assessment = "unlikely"
        reasons = [f"{_adamts13_text(adamts13)} > {ADAMTS13_NEGATIVE:g}%: a negative result, "
                   f"consider other diagnoses ({ISTH_TTP})"]
    urgent = (urgent_ttp(assessment, adamts13_known(adamts13, bool(picture_seen)))
              if assessment in ACTIVE else "")
    return _cause("ttp", assessment, "emergency", urgent, reasons)


# --- HUS ---------------------------------------------------------------------------------------

def _hus(maha: str, labs: Labs, ttp: Cause, adult: bool = True) -> Cause:
    """With MAHA and ADAMTS13 not severely low: creatinine >= 2.0 mg/dL -> suspected (possible
    while ADAMTS13 is unknown or MAHA is not likely); raised but under 2.0 -> possible; not
    raised -> unlikely (:data:`~smearscan.verdict.values.HUS_RULE`, this tool's rule). Not an
    adult: any creatinine given leaves HUS possible (the limits are adults')."""
    action = ("stool culture/PCR for Shiga toxin-producing E. coli; complement studies for "
              "atypical HUS; nephrology")
    if ttp.assessment in ACTIVE:
        action += "; manage as TTP until ADAMTS13 is back"
    elif labs.adamts13 is None:
        action += "; send ADAMTS13"
    creatinine, adamts13 = labs.creatinine, labs.adamts13
    if maha == "unlikely":
        return _cause("hus", "unlikely", "urgent", action, ("MAHA unlikely",))
    if creatinine is None:
        return _cause("hus", "not assessed", "urgent", action, ("creatinine not given",))
    shown = show("creatinine", creatinine)
    if not adult and not (adamts13 is not None and adamts13 < ADAMTS13_SEVERE):
        return _cause("hus", "possible", "urgent", action, (
            f"creatinine {shown}: this tool's limits are adults'; judge it against the age's "
            "reference (this tool's rule)",))
    if creatinine <= CREATININE_RAISED:
        return _cause("hus", "unlikely", "urgent", action, (
            f"creatinine {shown} not over {CREATININE_RAISED:g} mg/dL: no renal involvement "
            "shown (this tool's rule)",))
    if adamts13 is not None and adamts13 < ADAMTS13_SEVERE:
        return _cause("hus", "unlikely", "urgent", action, (
            f"{_adamts13_text(adamts13)} < {ADAMTS13_SEVERE:g}%: renal involvement of TTP",))
    if creatinine < HUS_CREATININE:
        return _cause("hus", "possible", "urgent", action, (
            f"creatinine {shown} raised (over {CREATININE_RAISED:g} mg/dL), under "
            f"{HUS_CREATININE:g}: renal involvement not excluded; a rise of >= 0.3 mg/dL in "
            f"48 h or to >= 1.5x the baseline is acute kidney injury ({KDIGO_AKI}; this "
            "tool's rule)",))
    reasons = [f"creatinine {shown} >= {HUS_CREATININE:g} mg/dL: acute kidney injury pattern "
               "(this tool's rule)"]
    if adamts13 is None:
        ttp_open = ": TTP not excluded" if ttp.assessment in ACTIVE else ""
        return _cause("hus", "possible", "urgent", action,
                      (*reasons, f"ADAMTS13 not measured{ttp_open}"))
    assessment, capped = _cap("suspected", maha)
    return _cause("hus", assessment, "urgent", action,
                  (*reasons, f"{_adamts13_text(adamts13)} not severely low", *capped))


# --- DIC ---------------------------------------------------------------------------------------

def _dic(labs: Labs, isth: Score) -> Cause:
    """ISTH >= 5 -> likely with a recorded underlying disorder (suspected without one); < 5
    whatever the missing items -> unlikely; no PT seconds, D-dimer or fibrinogen -> not
    assessed (an INR is not converted); otherwise possible."""
    action = ("treat the underlying disorder; repeat the ISTH score; blood products for "
              "bleeding or procedures")
    score = f"ISTH {isth.total_text()}: {isth.risk}"
    underlying = dic_underlying(labs)
    if isth.minimum >= ISTH_OVERT_DIC:
        if underlying:
            return _cause("dic", "likely", "urgent", action,
                          (score, f"underlying disorder: {', '.join(underlying)}"))
        return _cause("dic", "suspected", "urgent", action,
                      (score, "no underlying disorder recorded; the score is valid only with one"))
    if isth.maximum < ISTH_OVERT_DIC:
        return _cause("dic", "unlikely", "urgent", action, (score,))
    if all(item.points is None for item in isth.items[1:]):
        inr = (f"; INR {show('inr', labs.inr)} is not converted to PT seconds (1.3-1.49 can be "
               "3-6 s, one point)" if labs.inr is not None else "")
        return _cause("dic", "not assessed", "urgent", action, (
            score, f"no PT prolongation in seconds, D-dimer or fibrinogen given{inr}"))
    return _cause("dic", "possible", "urgent", action, (score, "measure the missing ISTH items"))


# --- drug-induced, cancer-associated, megaloblastic, others ------------------------------------

def _drug_name(labs: Labs) -> str:
    drug = labs.drug_exposure
    return drug if isinstance(drug, str) else "the drug"


def _drug_induced(maha: str, labs: Labs) -> Cause | None:
    """A recorded drug of :data:`DRUGS_CAUSING_TMA`: MAHA likely -> suspected; possible or not
    established -> possible; unlikely -> unlikely (Al-Nouri 2015). Another drug name is at
    most possible, with advice to check it rather than to stop it: stopping a drug that is not
    the cause (a cancer treatment, seed 000) does harm."""
    if not labs.drug_exposure:
        return None
    drug = _drug_name(labs)
    known = known_tma_drug(labs.drug_exposure)
    if known:
        action = (f"stop {drug} now and do not re-expose ({DRUG_TMA}); report it as an "
                  "adverse drug reaction")
        reasons = [f"drug exposure recorded: {drug} (on this tool's list of drugs reported to "
                   f"cause TMA: {', '.join(DRUGS_CAUSING_TMA)})"]
    else:
        cancer = labs.cancer_active or labs.cancer_history
        action = (f"{'name it and ' if labs.drug_exposure is True else ''}check whether {drug} "
                  f"is a reported cause of TMA ({DRUG_TMA}) before stopping it"
                  + (" (a cancer treatment only with the oncologist)" if cancer else ""))
        reasons = [f"drug exposure recorded: {drug}, which is not among the drugs this tool "
                   "lists as causing TMA (the list is not exhaustive)"
                   if labs.drug_exposure is not True else "drug exposure recorded without a "
                   "name: whether it is a reported cause of TMA cannot be told"]
    # Stopping a listed drug is urgent; checking another one is a routine review.
    urgency = "urgent" if known else "routine"
    if maha == "unlikely":
        return _cause("drug-induced", "unlikely", urgency, action, (*reasons, "MAHA unlikely"))
    if labs.adamts13 is not None and labs.adamts13 < ADAMTS13_SEVERE:
        reasons.append(f"{_adamts13_text(labs.adamts13)}: an immune TTP, which some drugs "
                       "trigger (e.g. ticlopidine)")
        return _cause("drug-induced", "possible", urgency, action, reasons)
    assessment = "suspected" if maha == "likely" and known else "possible"
    return _cause("drug-induced", assessment, urgency, action, (*reasons, f"MAHA {maha}"))


def _cancer_hints(smear_hints: list[str], labs: Labs) -> Cause:
    """Without a known active cancer: marrow hints or a past cancer make one possible."""
    action = (f"look for an occult or relapsed cancer; {MARROW_ADVICE}; send ADAMTS13 to "
              "exclude TTP")
    hints = [*smear_hints, *(["history of cancer: relapse"] if labs.cancer_history else [])]
    if hints:
        return _cause("cancer-associated", "possible", "routine", action,
                      (*hints, "no known active cancer"))
    if labs.cancer_active is None:
        return _cause("cancer-associated", "not assessed", "routine", action,
                      ("active_cancer not recorded",))
    return _cause("cancer-associated", "unlikely", "routine", action, ("no known active cancer",))


def _cancer_associated(maha: str, labs: Labs, dic: Cause, drug: Cause | None,
                       smear_hints: list[str]) -> Cause:
    """Known active cancer, DAT-negative MAHA, ADAMTS13 not severely low and no overt DIC ->
    suspected, else possible; 'plasma exchange is usually ineffective' only once ADAMTS13 is
    above 20% and no drug is suspected instead (CLINICAL.md, seed 000)."""
    adamts13 = labs.adamts13
    if maha == "unlikely":
        return _cause("cancer-associated", "unlikely", "routine", "",
                      ("MAHA unlikely (see the marrow section for infiltration)",))
    if adamts13 is not None and adamts13 < ADAMTS13_SEVERE:
        return _cause("cancer-associated", "unlikely", "routine", "", (
            f"{_adamts13_text(adamts13)} < {ADAMTS13_SEVERE:g}% points to TTP",))
    if not labs.cancer_active:
        return _cancer_hints(smear_hints, labs)
    reasons, against = ["known active cancer"], []
    if labs.dat == "positive":
        against.append("DAT positive: immune haemolysis instead")
    elif labs.dat == "negative":
        reasons.append("DAT-negative haemolysis")
    if adamts13 is None:
        against.append("ADAMTS13 not measured: TTP must be excluded first (see TTP)")
    elif adamts13 <= ADAMTS13_NEGATIVE:
        against.append(f"{_adamts13_text(adamts13)}: TTP grey zone, not excluded")
    else:
        reasons.append(f"{_adamts13_text(adamts13)} > {ADAMTS13_NEGATIVE:g}%: TTP excluded")
    if dic.assessment == "likely":
        against.append("overt DIC: may itself explain the picture")
    else:
        reasons.append(f"no overt DIC shown (DIC {dic.assessment})")
    drug_in_play = (drug is not None and drug.assessment in ACTIVE
                    and known_tma_drug(labs.drug_exposure))
    if drug_in_play:
        against.append(f"{_drug_name(labs)} can itself cause TMA: stop it first")
    assessment, capped = _cap("possible" if against else "suspected", maha)
    action = f"{MARROW_ADVICE}; oncology review"
    if adamts13 is not None and adamts13 > ADAMTS13_NEGATIVE and not drug_in_play:
        action += ("; plasma exchange is usually ineffective here: treating the cancer is what "
                   f"helps ({SEED_000})")
    return _cause("cancer-associated", assessment, "routine", action,
                  (*reasons, *smear_hints, *against, *capped))


def _deficiency(labs: Labs) -> tuple[bool | None, list[str]]:
    """(B12 or folate deficient?, their values); ``None`` when neither is measured."""
    tests = [(key, value, cut) for key, value, cut in (
        ("vitamin_b12", labs.vitamin_b12, B12_DEFICIENT),
        ("folate", labs.folate, FOLATE_DEFICIENT)) if value is not None]
    if not tests:
        return None, []
    low = [f"{key.replace('_', ' ')} {show(key, value)} < {cut:g} ({BSH_COBALAMIN})"
           for key, value, cut in tests if value < cut]
    normal = [f"{key.replace('_', ' ')} {show(key, value)} not deficient"
              for key, value, cut in tests if value >= cut]
    if low:
        return True, low
    return (False if len(tests) == 2 else None), normal


def _corrected_reticulocytes(labs: Labs) -> float | None:
    """The reticulocyte % corrected for the anaemia, ``% x Hct / 45`` with the haematocrit taken
    as 3 x Hb (g/dL) (the corrected reticulocyte count; the conversion is this tool's rule); the
    % itself without an Hb. At Hb 6 g/dL a count of 3% is 1.2%: no raised production."""
    if labs.reticulocytes is None or labs.hemoglobin is None:
        return labs.reticulocytes
    return labs.reticulocytes * min(1.0, 3 * labs.hemoglobin / NORMAL_HAEMATOCRIT)


def _megaloblastic(maha: str, labs: Labs, picture: LabPicture) -> Cause | None:
    """Megaloblastic pseudo-TMA (severe B12/folate deficiency mimics TTP): listed in a
    haemolytic picture with macrocytosis or a measured deficiency. Reticulocytes (corrected
    for the anaemia) raised -> unlikely, unless a deficiency is measured (possible);
    macrocytosis with reticulocytes not raised and a deficiency -> suspected; a deficiency or
    the pattern alone -> possible; B12 and folate both normal -> unlikely."""
    in_play = maha in ("likely", "possible") or picture.haemolysis == "present"
    macrocytic = labs.mcv is not None and labs.mcv > MACROCYTOSIS_MCV
    deficient, values = _deficiency(labs)
    if not in_play or not (macrocytic or deficient):
        return None
    action = ("send B12 and folate (before any transfusion); replacing the vitamin corrects "
              "it and plasma exchange does not; keep TTP in mind until ADAMTS13 is back")
    reasons = [f"MCV {show('mcv', labs.mcv)}" + (f" > {MACROCYTOSIS_MCV:g} fL" if macrocytic
                                                 else ""), *values]
    reticulocytes = _corrected_reticulocytes(labs)
    if reticulocytes is not None:
        shown = show("reticulocytes", labs.reticulocytes) + (
            f" (corrected for Hb {show('hemoglobin', labs.hemoglobin)}: {reticulocytes:.2g}%)"
            if reticulocytes != labs.reticulocytes else "")
        raised = reticulocytes > RETICULOCYTES_RAISED
        reasons.append(f"reticulocytes {shown} " + (
            "raised: the marrow is responding" if raised else "not raised despite haemolysis")
            + " (this tool's rule)")
        if raised and not deficient:
            return _cause("megaloblastic", "unlikely", "urgent", action, reasons)
        if raised:  # a measured deficiency stays in play: both can be present
            return _cause("megaloblastic", "possible", "urgent", action, reasons)
    if deficient is False:
        return _cause("megaloblastic", "unlikely", "urgent", action, reasons)
    if deficient and macrocytic and reticulocytes is not None:
        return _cause("megaloblastic", "suspected", "urgent", action, reasons)
    if deficient is None:
        reasons.append("B12 and folate not both measured")
    return _cause("megaloblastic", "possible", "urgent", action, reasons)


_RECORDED_CAUSES = (
    ("malignant-hypertension", ("malignant_hypertension",), "urgent",
     "malignant hypertension recorded: hypertensive TMA",
     "control blood pressure; re-assess the TMA once it is controlled"),
    ("pregnancy", ("pregnancy", "obstetric_complication"), "urgent",
     "pregnancy or an obstetric complication recorded: pre-eclampsia/HELLP, and pregnancy-"
     "triggered TTP or complement-mediated TMA", "urgent obstetric review (delivery for HELLP "
     "or pre-eclampsia); send ADAMTS13 for pregnancy-triggered TTP"),
    ("mechanical", ("mechanical_valve",), "routine",
     "mechanical heart valve recorded: valve haemolysis", "echocardiography for valve "
     "function"),
)


def _recorded_causes(maha: str, labs: Labs) -> list[Cause]:
    """A line for each cause the labs record: ``possible``, or ``unlikely`` without MAHA."""
    causes = []
    for name, keys, urgency, reason, action in _RECORDED_CAUSES:
        if any(getattr(labs, key) for key in keys):
            unlikely = maha == "unlikely"
            causes.append(_cause(name, "unlikely" if unlikely else "possible", urgency, action,
                                 (reason, *(["MAHA unlikely"] if unlikely else []))))
    return causes


def _smear_hints(nrbc_present: bool | None, leukoerythroblastic: str | None) -> list[str]:
    hints = []
    if nrbc_present:
        hints.append("nucleated red cells on the smear")
    if leukoerythroblastic in ("present", "possible"):
        hints.append(f"leukoerythroblastic picture on the smear: {leukoerythroblastic}")
    return hints


def differential(maha: str, labs: Labs, picture: LabPicture, plasmic: Score, isth: Score,
                 french: Score, *, nrbc_present: bool | None, leukoerythroblastic: str | None,
                 adult: bool = True) -> tuple[Cause, ...]:
    """Every cause, assessed and :func:`ranked`; ``adult``: the patient is an adult, whose
    creatinine limits HUS is judged by."""
    dic = _dic(labs, isth)
    drug = _drug_induced(maha, labs)
    hints = _smear_hints(nrbc_present, leukoerythroblastic)
    ttp = _ttp(maha, labs, picture, plasmic, french)
    causes = [ttp, _hus(maha, labs, ttp, adult), dic,
              *([drug] if drug else []),
              _cancer_associated(maha, labs, dic, drug, hints),
              *([m] if (m := _megaloblastic(maha, labs, picture)) else []),
              *_recorded_causes(maha, labs)]
    return ranked(causes)
