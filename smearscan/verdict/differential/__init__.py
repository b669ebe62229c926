"""The differential: each cause with its assessment, urgency, action and reasons, ranked.

Ranking (:func:`ranked`): causes that are ``likely``, ``suspected`` or ``possible`` come first,
by urgency (``emergency``, ``urgent``, ``routine``) and then likelihood; then the causes that
could not be assessed; then the unlikely ones. Suspected TTP is an emergency whatever its
likelihood: :func:`urgent_ttp` is the action line every output prints first when TTP is
possible or worse (ISTH 2020). Rules and sources are in :mod:`smearscan.verdict.values`.
"""

from __future__ import annotations

from dataclasses import replace

from smearscan.labs import NEWBORNS, Labs
from smearscan.verdict.differential.cancer import cancer_cause, hints_from_smear
from smearscan.verdict.differential.cause import ACTIVE, LIKELIHOOD, Cause, ranked, ttp_deferred
from smearscan.verdict.differential.dic import consumptive_dic, dic_cause
from smearscan.verdict.differential.drug import drug_cause, marrow_first, tma_drug_named
from smearscan.verdict.differential.hus import hus_action, hus_cause
from smearscan.verdict.differential.immune import immune_cause
from smearscan.verdict.differential.megaloblastic import megaloblastic_cause
from smearscan.verdict.differential.recorded import recorded_causes, recorded_tma
from smearscan.verdict.differential.thrombocytopenia import heparin_cause, thrombocytopenia_cause
from smearscan.verdict.differential.ttp import (
    ADAMTS13_TIMING,
    URGENT_TTP_ADVICE,
    adamts13_known,
    ttp_cause,
    urgent_ttp,
)
from smearscan.verdict.drugs import tma_drugs_named
from smearscan.verdict.findings import LabPicture
from smearscan.verdict.scores import Score
from smearscan.verdict.values import ADAMTS13_NEGATIVE

__all__ = ["ACTIVE", "LIKELIHOOD", "Cause", "URGENT_TTP_ADVICE", "adamts13_known", "dic_cause",
           "differential", "ranked", "ttp_of", "urgent_ttp"]


def differential(maha: str, labs: Labs, picture: LabPicture, plasmic: Score, isth: Score,
                 french: Score, *, nrbc_present: bool | None, leukoerythroblastic: str | None,
                 population: str = "adult") -> tuple[Cause, ...]:
    """Every cause, assessed and :func:`ranked`; ``population``: ``adult`` (whose creatinine
    limits HUS is judged by), ``child``, ``neonate`` or ``preterm``."""
    adult = population == "adult"
    dic = dic_cause(labs, isth)
    hints = hints_from_smear(nrbc_present, leukoerythroblastic)
    cancer_first = marrow_first(labs, hints, adult=adult,
                                unlooked=nrbc_present is None and leukoerythroblastic is None)
    ttp = ttp_of(maha, labs, picture, plasmic, french, dic, population=population)
    heparin = _deferring(heparin_cause(labs, picture, ttp, adult=adult,
                                       newborn=population in NEWBORNS), ttp, labs, adult)
    # A heparin recorded alone is HIT's to weigh, not a drug TMA to check before stopping it
    # (QA 157 M-1: "check whether enoxaparin is a reported cause of TMA ... before stopping it").
    drug = None if heparin and not tma_drugs_named(labs.drug_exposure) else _deferring(
        drug_cause(maha, labs, hints, cancer_first), ttp, labs, adult)
    # Cancer before the drug: on a tie (both possible and urgent) a known cancer ranks above a
    # listed drug; a drug not known to cause TMA, its chemotherapy in seed 000, is routine and
    # ranks below it (QA 21 N14). Cancer before DIC too: a DIC possible only because its
    # incomplete score could reach 5 ranked above seed 000's cancer once a normal PT was given
    # (QA 64 F10), while a measured overt DIC is likely and ranks first anyway. A cause the
    # labs record (HELLP, a valve) before the causes judged from the picture alone: a recorded
    # HELLP ranked below a HUS only possible, whose action is a stool culture (QA 66 N8).
    # HUS with diarrhoea recorded before malignant hypertension: a STEC-HUS's care (no
    # antibiotics, no platelets) must not give way to blood-pressure control (QA 89 #4); not
    # before a scleroderma crisis or a transplant, whose diarrhoea is mostly their own (QA 90
    # #2, #3).
    hus = hus_cause(maha, labs, picture, ttp, adult, _secondary(labs, drug))
    recorded = recorded_causes(maha, labs, ttp, adult)
    at = next((index for index, cause in enumerate(recorded)
               if cause.cause == "malignant-hypertension"), len(recorded))
    in_order = ([*recorded[:at], hus, *recorded[at:]] if labs.diarrhoea else [*recorded, hus])
    causes = [ttp, *in_order, cancer_cause(maha, labs, picture, dic, drug, hints,
                                               cancer_first), _deferring(dic, ttp, labs, adult),
              *([drug] if drug else []),
              *([m] if (m := megaloblastic_cause(
                  maha, labs, picture, newborn=population in NEWBORNS,
                  deferred=ttp_deferred(ttp, labs, adult))) else []),
              *([i] if (i := immune_cause(labs, picture,
                                          newborn=population in NEWBORNS)) else []),
              # HIT before a thrombocytopenia without MAHA: on a tie, its step leads.
              *([heparin] if heparin else []),
              *([t] if (t := thrombocytopenia_cause(
                  maha, labs, picture, ttp, dic, adult=adult,
                  newborn=population in NEWBORNS)) else [])]
    return ranked([_kept_open(cause, maha, labs, causes) for cause in causes])


def _deferring(cause: Cause | None, ttp: Cause, labs: Labs, adult: bool) -> Cause | None:
    """``cause`` (a drug TMA, a DIC) with the clause deferring to the URGENT line after its
    action while ``ttp`` is in play (:func:`~.cause.ttp_deferred`): stopping the drug may stand
    beside the line as the next step (QA 93: "stop gemcitabine" stood 40 lines down under "TTP
    suspected"); a DIC's "blood products for bleeding or procedures" stood beside "draw
    ADAMTS13 before any blood product" (QA 136 M1); like every action there it leaves TTP to
    the line (this tool's rule)."""
    if cause is None or not cause.action or (deferred := ttp_deferred(ttp, labs, adult)) is None:
        return cause
    return replace(cause, action=f"{cause.action}; {deferred}")


def _secondary(labs: Labs, drug: Cause | None) -> str | None:
    """A secondary cause of TMA in play whose kidney injury HUS must not take for its own: a
    drug known to cause TMA, suspected or likely, or malignant hypertension, systemic sclerosis
    or a transplant recorded (QA 84 #4, #5; this tool's rule)."""
    if drug is not None and drug.assessment in ("likely", "suspected"):
        return tma_drug_named(labs)
    return " and ".join(recorded_tma(labs)) or None


def _kept_open(cause: Cause, maha: str, labs: Labs, causes: list[Cause]) -> Cause:
    """HUS kept possible where MAHA is likely or possible, ADAMTS13 makes TTP unlikely and no
    cause is in play: a complement-mediated TMA (atypical HUS) can begin with little renal
    involvement, and a MAHA is never left without a lead (QA 53 M3: with ADAMTS13 35% and a normal
    creatinine every cause read unlikely or not assessed; QA 56 #4: so again while the DAT was
    not back or the count borderline; this tool's rule)."""
    if (cause.cause != "hus" or maha not in ("likely", "possible")
            or cause.assessment != "unlikely"):
        return cause
    if labs.adamts13 is None or labs.adamts13 <= ADAMTS13_NEGATIVE:
        return cause
    if any(other.assessment in ACTIVE for other in causes):
        return cause
    # Its own action: an unlikely cause carries none (QA 117 M-5: kept open, it had no Next
    # line).
    return Cause.of("hus", "possible", cause.urgency, hus_action(labs), (
        f"MAHA {maha} with TTP unlikely (ADAMTS13 over {ADAMTS13_NEGATIVE:g}%) and no other "
        "cause in play: a complement-mediated TMA (atypical HUS) can begin with little renal "
        f"involvement (this tool's rule); {ADAMTS13_TIMING}", *cause.reasons))


def ttp_of(maha: str, labs: Labs, picture: LabPicture, plasmic: Score, french: Score,
           dic: Cause, *, population: str = "adult") -> Cause:
    """TTP assessed, as :func:`differential` assesses it beside the ``dic`` cause: all the
    URGENT line rests on, without the other causes."""
    return ttp_cause(maha, labs, picture, plasmic, french, overt_dic=consumptive_dic(dic, labs),
                     population=population)
