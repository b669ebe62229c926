"""Causes the lab values record: malignant hypertension, systemic sclerosis, a transplant,
pregnancy, a mechanical valve."""

from __future__ import annotations

import re

from smearscan.labs import Labs, as_read, without_other_findings
from smearscan.verdict.differential.cause import Cause, ttp_deferred
from smearscan.verdict.readings import kidney_injury, show
from smearscan.verdict.values import HELLP, HYPERTENSIVE_TMA, SCLERODERMA_CRISIS, TRANSPLANT_TMA

#: The pregnancy cause's request for ADAMTS13, left out once it is given (QA 77 L1).
_SEND_ADAMTS13 = "; send ADAMTS13 for pregnancy-triggered TTP"
#: The recorded causes whose TMA is a kidney one: with a likely MAHA and a kidney injury they
#: are suspected, the HUS that the kidney injury would otherwise point to only possible (QA 86
#: #4: every cause read "possible", no next step, for a textbook scleroderma renal crisis).
RENAL_CAUSES = ("malignant-hypertension", "scleroderma-renal-crisis", "transplant-associated")

#: What a scleroderma renal crisis's action says of corticosteroids: no high-dose ones, which
#: can precipitate it; while TTP is in play, whose URGENT line says they are usually started,
#: weighed with rheumatology, as that line's caution says (QA 89 #3: "no" stood under "usually
#: started").
_NO_STEROIDS = "no high-dose corticosteroids, which can precipitate the crisis"
_WEIGH_STEROIDS = ("weigh corticosteroids with rheumatology: high-dose ones can precipitate the "
                   "crisis")
#: What malignant hypertension's action adds while TTP is not in play (QA 89 #1: under "TTP
#: suspected" it read as waiting to treat the TMA).
_REASSESS = "; re-assess the TMA once it is controlled"
#: The fetal toxicity of an ACE inhibitor, said where pregnancy or an obstetric complication
#: is recorded (QA 89 #2, QA 90 #1), here and in the URGENT line's caution of a systemic
#: sclerosis (QA 92 #5).
ACE_IN_PREGNANCY = ("pregnancy recorded: before delivery an ACE inhibitor can injure the fetus "
                    "(captopril's boxed warning): decide it with obstetrics")
#: What malignant hypertension's action adds where pregnancy is recorded: a hypertensive crisis
#: with MAHA in pregnancy is pre-eclampsia or HELLP until shown otherwise (QA 90 #4: "control
#: blood pressure" led without the obstetric review).
URGENT_OBSTETRIC_REVIEW = "urgent obstetric review"
OBSTETRIC_REVIEW = f"pregnancy recorded: {URGENT_OBSTETRIC_REVIEW} (pre-eclampsia, HELLP)"

# In this order where two rank alike: a named HELLP first, whose hypertension is its own
# (QA 89 #2: "control blood pressure" hid the delivery), then a scleroderma renal crisis and a
# transplant before the malignant hypertension they bring (QA 87 #3: both recorded, "control
# blood pressure" led, without the ACE inhibitor the crisis needs or its caution against
# corticosteroids); a HUS with diarrhoea recorded ranks just before malignant hypertension
# (:func:`~smearscan.verdict.differential.differential`).
_RECORDED_CAUSES = (
    ("pregnancy", ("pregnancy", "obstetric_complication"), "urgent",
     "pregnancy or an obstetric complication recorded: pre-eclampsia/HELLP, and pregnancy-"
     "triggered TTP or complement-mediated TMA", f"{URGENT_OBSTETRIC_REVIEW} (delivery for "
     f"HELLP or pre-eclampsia: {HELLP}){_SEND_ADAMTS13}"),
    # QA 84 #5: neither was a cause; a scleroderma crisis entered as malignant hypertension
    # read "plasma exchange and corticosteroids are usually started".
    ("scleroderma-renal-crisis", ("systemic_sclerosis",), "urgent",
     "systemic sclerosis recorded: scleroderma renal crisis (hypertension, kidney injury, MAHA)",
     "an ACE inhibitor (captopril) for the blood pressure, with nephrology and rheumatology; "
     f"{_NO_STEROIDS} ({SCLERODERMA_CRISIS})"),
    ("transplant-associated", ("transplant",), "urgent",
     "transplant recorded: transplant-associated TMA (calcineurin or mTOR inhibitor, infection, "
     "graft-versus-host disease, complement)", "with the transplant team: the calcineurin or "
     "mTOR inhibitor's level and dose, blood pressure, proteinuria, soluble C5b-9 "
     f"({TRANSPLANT_TMA})"),
    ("malignant-hypertension", ("malignant_hypertension",), "urgent",
     "malignant hypertension recorded: hypertensive TMA",
     f"control blood pressure{_REASSESS} ({HYPERTENSIVE_TMA})"),
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


def recorded_causes(maha: str, labs: Labs, ttp: Cause, adult: bool = True) -> list[Cause]:
    """A line for each cause the labs record: ``possible``, or ``unlikely`` without MAHA; with
    MAHA likely, ``suspected`` for a HELLP named as the obstetric complication
    (:func:`_hellp_named`) and for one of :data:`RENAL_CAUSES` with a kidney injury
    (:func:`~smearscan.verdict.readings.kidney_injury`; this tool's rule). While ``ttp`` is in
    play each action defers to the URGENT line (:func:`~.cause.ttp_deferred`)."""
    causes = []
    deferred = ttp_deferred(ttp, labs, adult)
    for name, keys, urgency, reason, action in _RECORDED_CAUSES:
        if not any(getattr(labs, key) for key in keys):
            continue
        # A routine cause (a valve) never stands beside the URGENT line: nothing to defer.
        action = _action(name, action, labs, deferred if urgency == "urgent" else None)
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


def _action(name: str, action: str, labs: Labs, deferred: str | None) -> str:
    """The recorded cause ``name``'s ``action`` for these ``labs``, ending with the clause that
    defers to the URGENT line where there is one (``deferred``)."""
    if labs.adamts13 is not None or deferred is not None:  # the URGENT line asks for it
        action = action.removesuffix(_SEND_ADAMTS13)
    pregnant = labs.pregnancy_recorded
    if name == "scleroderma-renal-crisis" and pregnant:
        action += f"; {ACE_IN_PREGNANCY}"
    # First: nothing waits for it (QA 92 #4), and in pregnancy a pre-eclampsia or HELLP is the
    # main alternative to a scleroderma crisis as to malignant hypertension (QA 100 LOW: the
    # crisis's came last).
    if name in ("malignant-hypertension", "scleroderma-renal-crisis") and pregnant:
        action = f"{OBSTETRIC_REVIEW}; {action}"
    if deferred is None:
        return action
    action = action.replace(_NO_STEROIDS, _WEIGH_STEROIDS).replace(_REASSESS, "")
    return f"{action}; {deferred}"


#: The words a HELLP named as present stands among, for it to lead with delivery (this tool's
#: list): the syndrome's own words and classes, how sure, when (gestation, postpartum day),
#: what came with it and its care, the laboratory findings that make it, their units and
#: numbers. Any other word ("HELLP \u2717", "HELLP (prev preg)", "maternal HELLP", "HELLP - no
#: evidence", "TTP rather than HELLP", "HELLP nein": QA 110 H1-H4) leaves the pregnancy cause
#: possible: each of QA 96-110 found more ways of doubting a HELLP than a list of doubts held,
#: and a present HELLP in other words loses only its lead, never its care: whichever cause
#: leads, the Next line of a recorded pregnancy asks for the urgent obstetric review
#: (:meth:`~smearscan.verdict.Verdict.next_step`). Other findings' negative results beside it
#: are left out first, as the lab reader takes them ("HELLP, Coombs-negative, TTP excluded").
_HELLP_WORDS = frozenset({
    # The syndrome, its classes, severity and record (a problem list's, an ICD code's "O14.2").
    "hellp", "syndrome", "synd", "sindrome", "s\u00edndrome", "syndrom", "sydrome", "partial",
    "complete", "incomplete", "full", "class", "grade", "mississippi", "tennessee", "criteria",
    "met", "atypical", "severe", "mild", "moderate", "early", "late", "onset", "new", "evolving",
    "developing", "worsening", "improving", "resolving", "recovering", "i", "ii", "iii",
    "disorder", "problem", "active", "diagnosis", "dx", "status", "obstetric", "complication",
    "complicated", "complicating", "known", "o", "yes", "y", "ve", "sx", "syndroom", "de", "del",
    "icd", "assessment", "impression", "working", "principal", "primary", "discharge",
    "handover", "ongoing", "the", "a", "an", "patient", "has", "requiring", "needs",
    "urgent",
    # How sure: the verdict's own words for a cause in play.
    "suspected", "possible", "probable", "likely", "confirmed", "diagnosed", "clinical",
    "clinically", "presumed", "presumptive",
    # When, and which pregnancy.
    "postpartum", "post", "partum", "postnatal", "pp", "pn", "antepartum", "antenatal",
    "intrapartum", "day", "days", "d", "pod", "week", "weeks", "wk", "wks", "w", "gestation",
    "gestational", "ga", "hours", "hrs", "hr", "h", "hourly", "today", "now", "current",
    "currently", "this", "admission", "at", "of", "in", "on", "since", "from", "after",
    "following", "pregnancy", "trimester", "third", "rd", "second", "nd", "g", "p", "primip",
    "multip", "primigravida", "multigravida", "year", "years", "old", "twin", "twins", "dcda",
    "mcda", "puerperium", "puerperal", "childbirth", "overnight", "tonight",
    # What came with it.
    "with", "and", "plus", "superimposed", "pre", "eclampsia", "preeclampsia", "pet", "pih",
    "hypertension", "hypertensive", "htn", "chronic", "normotensive", "dic", "aki", "renal",
    "liver", "hepatic", "subcapsular", "haematoma", "hematoma", "abruption", "placental",
    "oliguric", "pph", "ebl", "iugr", "fgr", "iud", "iufd", "fetus", "fetal", "baby", "well",
    "nausea", "vomiting", "tenderness", "visual", "disturbance", "acute", "kidney", "injury",
    "seizure", "seizures", "eclamptic", "pulmonary", "oedema", "edema", "dropping",
    # Its care, and who knows.
    "delivered", "delivery", "cs", "lscs", "emcs", "elcs", "caesarean", "cesarean", "section",
    "svd", "nvd", "c", "induction", "iol", "labour", "labor", "theatre", "op", "cat", "category",
    "mgso", "magnesium", "mag", "sulfate", "sulphate", "loading", "infusion", "labetalol",
    "nifedipine", "hydralazine", "iv",
    "dexamethasone", "dex", "betamethasone", "bmz", "steroids", "dose", "given", "started",
    "done", "due", "for", "by", "plan", "planned", "transfusion", "transfused", "pool", "fluid",
    "fluids", "restricted", "balance", "chart", "output", "icu", "itu", "hdu", "nnu", "nicu",
    "scbu", "ward", "bed", "admitted", "transferred", "obs", "reg", "consultant", "aware",
    "informed", "pt", "cm",
    # The findings that make it, and their units.
    "plt", "plts", "platelets", "platelet", "ast", "alt", "ldh", "hb", "hgb", "bilirubin",
    "bili", "haptoglobin", "haemolysis", "hemolysis", "haemolytic", "hemolytic", "film",
    "schistocytes", "lfts", "lft", "enzymes", "low", "raised", "elevated", "high", "rising",
    "falling", "deranged", "abnormal", "proteinuria", "protein", "pcr", "upcr", "urine", "bp",
    "mmhg", "epigastric", "ruq", "pain", "headache", "fibrinogen", "clotting", "sflt", "plgf",
    "ratio", "adamts", "activity", "bloods", "x", "uln", "l", "dl", "u", "iu", "ul", "mmol",
    "umol", "mg", "ml",
})
#: The characters a HELLP that leads is written in: letters, digits, spaces and a lab note's
#: punctuation; a mark of another ("HELLP \u2298", "HELLP: \U0001f6ab": QA 110) says no as
#: often as yes.
_PLAIN = re.compile(r"[\w\s.,;:()\[\]/+\-%<>=@\u2264\u2265^&'\"#*]*")
#: The other TMAs a HELLP is told apart from: "HELLP/TTP" names the question, not the answer.
_HELLP_ALTERNATIVES = frozenset({"ttp", "hus", "ahus", "aflp", "tma", "itp"})


def _plain_hellp(named: str) -> bool:
    """Whether the complication ``named`` names a HELLP in :data:`_HELLP_WORDS` alone, other
    findings' negative results left out, and not as another TMA's alternative ("HELLP/TTP")."""
    text = without_other_findings("obstetric_complication", as_read(named))
    # "H.E.L.L.P." is a HELLP; a result hyphened to another word qualifies that word
    # ("Coombs-negative HELLP").
    text = re.sub(r"h\.?e\.?l\.?l\.?p\b\.?", "hellp", text.lower())
    # Its misspellings that name nothing else: "HELLPs", "HELP syndrome" (QA 100 M1).
    text = re.sub(r"\bhellps\b|\bhelp(?=\s+syndrome\b)", "hellp", text)
    text = re.sub(r"\b(?!hellp\b)[a-z0-9]+-(?:negative|neg|positive)\b", " ", text)
    # A value's name beside its number ("Na 131", "Cr 140"), and nausea and vomiting.
    text = re.sub(r"\b(?:na|k|cr|creat|urea|inr|aptt|fib)(?=\s*[:=]?\s*[<>\u2264\u2265~]?\s*\d)"
                  r"|\bn\s*/\s*v\b", " ", text)
    words = re.findall(r"[^\W\d_]+", text)
    alternatives = {word for pair in re.findall(r"(\w+)\s*/\s*(\w+)", text) for word in pair}
    return ("hellp" in words and set(words) <= _HELLP_WORDS and _PLAIN.fullmatch(text) is not None
            and not ("hellp" in alternatives and _HELLP_ALTERNATIVES & alternatives))


def _hellp_named(labs: Labs) -> str | None:
    """Why a HELLP syndrome named as the obstetric complication leads the pregnancy cause, or
    None: its haemolysis and low platelets are the MAHA picture, and its raised liver enzymes,
    which this tool does not read, are the clinician's to confirm (QA 84 #5: a HELLP named
    read only "possible"; this tool's rule). Not a pre-eclampsia: free text names it ruled out,
    as a risk or as a newborn's maternal history as often as present (QA 92 #1, #2: "pre-eclampsia
    ruled out" led with delivery); malignant hypertension's action asks for the obstetric review
    instead (:data:`OBSTETRIC_REVIEW`)."""
    named = labs.obstetric_complication
    if not isinstance(named, str) or not _plain_hellp(named):
        return None
    return (f"obstetric complication recorded: {named}: its haemolysis and low platelets are "
            "this picture; confirm its raised liver enzymes (AST, ALT), which this tool does "
            "not read")
