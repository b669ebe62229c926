"""The verdict of one slide: the MAHA call, findings, scores, ranked differential, marrow."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from smearscan.labs import (
    LDH_UKAT,
    LDH_ULN_MAX,
    NEWBORNS,
    ZERO_COUNT_READING,
    Bound,
    LabRow,
    Labs,
    LabValueError,
    inr_without_pt,
    ldh_limit_implausible,
    ldh_maybe_in_ukat,
    ldh_not_serum,
    ldh_under_serum_level,
    ldh_without_limit,
    newborn_pregnancy,
    pt_without_inr,
    zero_counts,
)
from smearscan.slide_stats import LIMIT_PERCENT
from smearscan.verdict.differential import (
    ACTIVE,
    LIKELIHOOD,
    Cause,
    dic_cause,
    differential,
    ttp_of,
    urgent_ttp,
)
from smearscan.verdict.differential.cause import with_step_added
from smearscan.verdict.differential.drug import without_kept
from smearscan.verdict.differential.hus import hus_by_adult_limit
from smearscan.verdict.differential.megaloblastic import pseudo_tma
from smearscan.verdict.differential.recorded import (
    OBSTETRIC_REVIEW,
    RENAL_CAUSES,
    URGENT_OBSTETRIC_REVIEW,
)
from smearscan.verdict.differential.ttp import (
    ADAMTS13_SEND,
    adamts13_over_readings,
    newborn_line,
    strongest_urgent_line,
    weakest_urgent_assessment,
    with_caution,
    without_caution,
    young_line,
)
from smearscan.verdict.drugs import ttp_triggers
from smearscan.verdict.findings import (
    INSUFFICIENT,
    Finding,
    LabPicture,
    SmearFindings,
    haptoglobin_low_limit,
    immune_haemolysis_open,
    lab_findings,
    lab_picture,
    maha_call,
    smear_finding,
    smear_missing,
)
from smearscan.verdict.marrow import MarrowAssessment, marrow_assessment
from smearscan.verdict.readings import anaemia_limit, listed, show
from smearscan.verdict.scores import Score, french_score, isth_dic_score, plasmic_score
from smearscan.verdict.values import (
    B12_DEFICIENT,
    CHILD_CREATININE_ULN,
    HEMOGLOBIN_LOW,
    INFANT_HAPTOGLOBIN,
    LESS_SPECIFIC_RULE,
    MEGALOBLASTIC_RULE,
    NEWBORN_MARKERS,
    NEWBORN_MCV,
    NEWBORN_PHYSIOLOGICAL_TOPS,
    NEWBORN_RULE,
    UNEXPLAINED_MAHA,
)

if TYPE_CHECKING:
    from smearscan.results import SlideSummary

__all__ = ["DISCLAIMER", "NextStep", "Verdict", "assess"]

DISCLAIMER = "Decision support only: a clinician decides."

#: Assessments whose next step stands under the headline (:attr:`Verdict.next_step`).
_LEADING = ("likely", "suspected")
#: The causes whose action may stand beside an URGENT line, each ending with the clause that
#: defers to it while TTP is in play (:func:`~smearscan.verdict.differential.cause.ttp_deferred`):
#: HUS, pregnancy (delivery for HELLP), a recorded kidney TMA (blood pressure, an ACE
#: inhibitor, the transplant team) and a suspected drug TMA (stopping the drug) (this tool's
#: rule; QA 87 #3: a suspected scleroderma renal crisis under "TTP possible" had no next step;
#: QA 89 #1: nor any deferring clause; QA 93: "stop gemcitabine" stood 40 lines down).
_BESIDE_URGENT = ("hus", "pregnancy", *RENAL_CAUSES, "drug-induced")
#: Causes whose first urgent one in play gives the Next line without an URGENT line or a likely
#: MAHA (:meth:`Verdict._first_in_play`): thrombocytopenias that are not a TMA's.
_HIT = "heparin-induced-thrombocytopenia"
_URGENT_OWN_LINE = ("thrombocytopenia-without-maha", _HIT)
#: What introduces a HIT's step where another cause leads (:meth:`Verdict._heparin_weighed`).
_HEPARIN_RECORDED = ("a heparin recorded: its 4Ts score for a heparin-induced thrombocytopenia "
                     "before any platelet transfusion; unless it is low, stop all heparin and "
                     "weigh a non-heparin anticoagulant (heparin-induced-thrombocytopenia, "
                     "below)")
#: The step a Next line without an URGENT line adds while no ADAMTS13 result closes TTP
#: (:meth:`Verdict._adamts13_asked`).
_ADAMTS13_ASKED = ("send ADAMTS13 now, before plasma exchange or transfusion: only its result "
                   "excludes TTP")
#: What introduces a suspected drug TMA's action after the leading cause's on the Next line
#: (:meth:`Verdict._drug_stopped`).
_DRUG_SUSPECTED = "suspected drug TMA"
#: How the stop step of a thienopyridine beside a likely TTP (:meth:`Verdict._ttp_trigger`)
#: begins, after its name, where another cause leads the Next line: the drug is no TMA of its
#: own there, and another drug stopped with it no trigger (QA 103 L4: "a drug that can
#: trigger this TTP: stop clopidogrel, quinine").
_TTP_TRIGGER = "can trigger this TTP"


@dataclass(frozen=True)
class NextStep:
    """The step printed under the MAHA headline: what to do about the leading cause.

    Attributes
    ----------
    about : str
        The cause of the differential (``hus``, ``cancer-associated``, ...) or ``marrow
        infiltration``.
    assessment : str
        Its assessment, ``likely`` or ``suspected``.
    action : str
        What to do.
    """

    about: str
    assessment: str
    action: str

    def __str__(self) -> str:
        return f"Next ({self.about}, {self.assessment}): {self.action}"

    def to_dict(self) -> dict[str, str]:
        """``{"about", "assessment", "action"}``."""
        return {"about": self.about, "assessment": self.assessment, "action": self.action}


@dataclass(frozen=True)
class Verdict:
    """The reasoned verdict for one slide; :meth:`to_dict` is the JSON contract.

    ``urgent`` is the line of :func:`~smearscan.verdict.differential.urgent_ttp` whenever TTP is
    possible, suspected or likely, else ``None``; every output prints it first.
    """

    urgent: str | None
    maha: str
    findings_for: tuple[Finding, ...]
    findings_against: tuple[Finding, ...]
    missing: tuple[str, ...]
    plasmic: Score
    isth_dic: Score
    french: Score
    differential: tuple[Cause, ...]
    marrow: MarrowAssessment
    disclaimer: str = DISCLAIMER

    def cause(self, name: str) -> Cause:
        """The differential entry of ``name`` (``ttp``, ``hus``, ...)."""
        return next(cause for cause in self.differential if cause.cause == name)

    @property
    def unexplained(self) -> str | None:
        """What to do where MAHA is likely and no cause of the differential is in play (QA 71
        F2: a septic patient read every cause "unlikely" with no action), else None."""
        if self.maha != "likely" or any(c.assessment in ACTIVE for c in self.differential):
            return None
        return UNEXPLAINED_MAHA

    @property
    def next_step(self) -> NextStep | None:
        """The action of the first cause of the differential that is likely or suspected, else
        the work-up of a marrow infiltration that is (QA 84 #6: seed 000's bone-marrow
        examination came some 40 lines down, under "MAHA: likely"; QA 85 #5: seeds 002/003's,
        some 50), else, beside an URGENT line or a likely MAHA, a recorded pregnancy's obstetric
        review (QA 100 H1). Beside an URGENT
        line only a cause of :data:`_BESIDE_URGENT` at least as likely
        as TTP, possible too beside "TTP possible" where every other cause in play is possible
        and none a drug TMA (QA 122 M2: a child's possible STEC-HUS with bloody diarrhoea had no
        next step beside "TTP possible")
        (QA 84 #2: a child's suspected STEC-HUS stood under "TTP possible" alone; QA 86
        #3: a named HELLP's delivery under "TTP suspected"): another's must not stand beside
        TTP's action (QA 85 #1: DIC's "blood products for procedures" under "do not transfuse
        platelets"; QA 87 #1: a megaloblastic anaemia's "plasma exchange does not" treat it
        under "plasma exchange ... usually started"); failing all of them, the thienopyridine
        that triggered a likely TTP (:meth:`_ttp_trigger`), whose stop step otherwise follows
        the action that leads (QA 102 L2: it took the line from a named HELLP's delivery). This
        tool's rule."""
        leading = [cause for cause in self.differential
                   if cause.action and cause.assessment in _LEADING]
        if self.urgent:
            ttp = LIKELIHOOD.index(self.cause("ttp").assessment)
            # A possible one only where every other cause in play is possible too and none is a
            # drug TMA (QA 123: a possible HUS led over a likely septic DIC, a suspected immune
            # haemolysis and a recorded gemcitabine).
            weak = all(cause.assessment == "possible" and cause.cause != "drug-induced"
                       for cause in self.differential
                       if cause.cause != "ttp" and cause.assessment in ACTIVE)
            leading = [cause for cause in self.differential if cause.action
                       and cause.cause in _BESIDE_URGENT
                       and LIKELIHOOD.index(cause.assessment) <= ttp
                       and (cause.assessment in _LEADING or weak)]
        if leading:
            first = leading[0]
            return NextStep(first.cause, first.assessment, self._with_steps_added(first))
        marrow = self.marrow
        if not self.urgent and marrow.marrow_infiltration in _LEADING and marrow.workup:
            workup = "; ".join(marrow.workup)
            # QA 117 M-6: a cancer's marrow work-up stood alone while TTP was not excluded.
            asked = self._adamts13_asked(workup)
            return NextStep("marrow infiltration", marrow.marrow_infiltration,
                            workup if asked is None else with_step_added(workup, asked))
        if (self.urgent or self.maha == "likely") and (
                pregnancy := self._pregnancy_in_play()) is not None:
            # QA 100 H1: with no cause leading (beside "TTP suspected" until ADAMTS13 is
            # back, as a rule), a pregnancy's urgent obstetric review stood 40 lines down; not
            # without a TMA in view (QA 101 H1: "delivery" beside "MAHA: insufficient data").
            return NextStep(pregnancy.cause, pregnancy.assessment,
                            self._with_steps_added(pregnancy))
        if (trigger := self._ttp_trigger()) is not None:
            return NextStep(trigger.cause, trigger.assessment, self._with_steps_added(trigger))
        return self._first_in_play()

    def _first_in_play(self) -> NextStep | None:
        """Where MAHA is likely with no URGENT line and no cause leading, the action of the
        first cause in play (possible): a likely MAHA with platelets of 15 and PLASMIC 4
        printed no next step at all (QA 116 M-2); without a likely MAHA, that of the first
        urgent thrombocytopenia of :data:`_URGENT_OWN_LINE` in play (QA 157 M-3: a suspected
        HIT, or platelets of 8, stood only in the differential). This tool's rule."""
        if self.urgent:
            return None
        in_play = [cause for cause in self.differential
                   if cause.assessment in ACTIVE and cause.action]
        if self.maha != "likely":
            # QA 158 M-3: a DIC possible on an incomplete score ranked over a HIT's step.
            in_play = [cause for cause in in_play
                       if cause.cause in _URGENT_OWN_LINE and cause.urgency == "urgent"]
        if not in_play:
            return None
        first = in_play[0]
        return NextStep(first.cause, first.assessment, self._with_steps_added(first))

    def _with_steps_added(self, first: Cause) -> str:
        """The action of the ``first`` cause, the one the Next line leads with, followed (before
        the clause deferring to the URGENT line) by the steps no other cause's may hide
        (:meth:`_drug_stopped`, :meth:`_obstetric_review`, :meth:`_adamts13_asked`). This
        tool's rule."""
        action = first.action
        for step in (self._drug_stopped(first), self._obstetric_review(first),
                     self._heparin_weighed(first), self._adamts13_asked(action)):
            if step is not None:
                action = with_step_added(action, step)
        return action

    def _heparin_weighed(self, first: Cause) -> str | None:
        """A heparin-induced thrombocytopenia's first step where another cause leads the Next
        line without an URGENT line (QA 158 M-4: a likely DIC's "blood products for bleeding or
        procedures" stood alone beside a recorded heparin; QA 159 M-1: beside an URGENT line
        its platelet advice was looser than the line's). This tool's rule."""
        hit = next((cause for cause in self.differential if cause.cause == _HIT), None)
        if self.urgent or hit is None or hit is first:
            return None
        return _HEPARIN_RECORDED

    def _adamts13_asked(self, action: str) -> str | None:
        """ADAMTS13, where no URGENT line asks for its sample, MAHA is likely, no result
        closes TTP and ``action`` does not ask for it: only its result excludes TTP, which
        stood "unlikely" by PLASMIC with the request 40 lines down (QA 116 M-2)."""
        if (self.urgent or self.maha != "likely" or "ADAMTS13" in action
                or ADAMTS13_SEND not in self.cause("ttp").reasons):
            return None
        return _ADAMTS13_ASKED

    def _drug_stopped(self, first: Cause) -> str | None:
        """The suspected drug TMA's own action where another cause leads: stopping the drug
        conflicts with none of theirs and is the only step that treats a drug TMA, or the
        thienopyridine of a likely TTP (:meth:`_ttp_trigger`) (QA 92 #3,
        QA 90 #6: a HELLP's delivery or malignant hypertension's blood pressure hid "stop
        gemcitabine"); not a transplant's own immunosuppressant beside the transplant's step,
        which asks for its level and dose (QA 93 #4, QA 95 LOW 3: the others are still
        stopped)."""
        trigger = self._ttp_trigger()
        drug = trigger or next(
            (cause for cause in self.differential if cause.cause == "drug-induced"
             and cause.assessment == "suspected" and cause.action), None)
        if drug is None or drug is first:
            return None
        named = (f"{', '.join(ttp_triggers(drug.stops))} {_TTP_TRIGGER}" if drug is trigger
                 else _DRUG_SUSPECTED)
        if first.cause != "transplant-associated":
            return f"{named}: {drug.action}"
        return f"{named}: {without_kept(drug.action)}" if drug.stops else None

    def _ttp_trigger(self) -> Cause | None:
        """The drug-induced cause that stops a thienopyridine while TTP is likely, else None:
        ADAMTS13 under 10% makes the drug only possible as a cause of its own (an immune TTP),
        but clopidogrel and ticlopidine trigger that TTP (Bennett CL, et al. Ann Intern Med
        1998;128:541-544; N Engl J Med 2000;342:1773-1777), and removing the trigger is part of
        its care, so its stop step stands on the Next line beside the URGENT line (QA 96 LOW 3:
        it stood only in the differential, 40 lines down). This tool's rule."""
        if self.cause("ttp").assessment != "likely":
            return None
        return next((cause for cause in self.differential if cause.cause == "drug-induced"
                     and cause.assessment in ACTIVE and cause.action
                     and ttp_triggers(cause.stops)), None)

    def _obstetric_review(self, first: Cause) -> str | None:
        """The urgent obstetric review where a pregnancy is recorded (its cause in play) and
        another cause leads whose action does not ask for it already: whether a HELLP named in
        free text leads is read from its words, which no list reads right every time (QA 97-99:
        "HELLP, 32 weeks" sent to complement studies first, "HELLP never confirmed" led with
        delivery), and a pregnant woman with a TMA needs the review either way."""
        pregnancy = self._pregnancy_in_play()
        # QA 160 L-4: a thrombocytopenia's own obstetric step was followed by this one.
        if pregnancy is None or pregnancy is first or URGENT_OBSTETRIC_REVIEW in first.action:
            return None
        return OBSTETRIC_REVIEW

    def _pregnancy_in_play(self) -> Cause | None:
        """The pregnancy cause where a pregnancy or an obstetric complication is recorded and
        it is in play (possible or more), else None."""
        return next((cause for cause in self.differential if cause.cause == "pregnancy"
                     and cause.assessment in ACTIVE and cause.action), None)

    def to_dict(self) -> dict[str, Any]:
        """The verdict as JSON-ready data; ``urgent`` is the first key, ``next`` the
        :attr:`next_step` (None where there is none)."""
        step = self.next_step
        return {
            "urgent": self.urgent,
            "maha": self.maha,
            "next": None if step is None else step.to_dict(),
            "findings": {"for": [f.to_dict() for f in self.findings_for],
                         "against": [f.to_dict() for f in self.findings_against]},
            "missing": list(self.missing),
            "scores": {"plasmic": self.plasmic.to_dict(), "isth_dic": self.isth_dic.to_dict(),
                       "french": self.french.to_dict()},
            "differential": [cause.to_dict() for cause in self.differential],
            "unexplained": self.unexplained,
            "marrow": self.marrow.to_dict(),
            "disclaimer": self.disclaimer,
        }


# What each missing lab is needed for; the work-up keys only while MAHA is not unlikely.
_BASIC_PURPOSES: Mapping[str, str] = {
    "hemoglobin": "anaemia", "platelets": "thrombocytopenia; PLASMIC and ISTH items",
    "ldh": "haemolysis (with ldh_uln)", "haptoglobin": "haemolysis; PLASMIC item",
    "reticulocytes": "haemolysis; PLASMIC item", "indirect_bilirubin": "haemolysis; PLASMIC item",
    "dat": "immune vs non-immune haemolysis", "wbc": "cytopenias (marrow)",
}
_WORKUP_PURPOSES: Mapping[str, str] = {
    "mcv": "PLASMIC item", "inr": "PLASMIC item",
    "creatinine": "PLASMIC item; kidney injury (HUS)", "active_cancer": "PLASMIC item",
    "transplant": "PLASMIC item", "pt_prolongation_s": "ISTH item (seconds over control)",
    "fibrinogen": "ISTH item", "d_dimer": "ISTH item (with d_dimer_uln)",
}


def _basic_purposes(population: str) -> Mapping[str, str]:
    """:data:`_BASIC_PURPOSES`, with what another population's haemoglobin is for: this tool
    does not judge it (QA 124 M5: asked for "anaemia", then said not judged)."""
    if population == "adult":
        return _BASIC_PURPOSES
    return {**_BASIC_PURPOSES,
            "hemoglobin": "anaemia, against the age's reference range (not judged by this tool)"}


def _missing(labs: Labs, purposes: Mapping[str, str]) -> list[str]:
    return [f"{key}: {purpose}" for key, purpose in purposes.items()
            if getattr(labs, "cancer_active" if key == "active_cancer" else key) is None]


def _missing_all(maha: str, smear: SmearFindings, labs: Labs, picture: LabPicture,
                 causes: tuple[Cause, ...]) -> tuple[str, ...]:
    ttp, hus = (next(cause for cause in causes if cause.cause == name) for name in ("ttp", "hus"))
    missing = [*smear_missing(smear), *_missing(labs, _basic_purposes(smear.population))]
    # TTP undecided with the platelets low: ADAMTS13 first (QA 32 M-1).
    low_platelets_undecided = ((maha == INSUFFICIENT or ttp.assessment == "not assessed")
                               and picture.thrombocytopenia)
    # A positive DAT with haemolysis not excluded: only ADAMTS13 excludes TTP (the TTP reasons
    # say "send it now"; QA 32 L-3), first with the platelets low.
    immune = immune_haemolysis_open(labs, picture)
    adamts13 = ("adamts13: ADAMTS13 activity, drawn before plasma exchange or any blood product "
                "(TTP when < 10%)")
    if labs.adamts13 is None and (ttp.assessment in ACTIVE or maha in ("likely", "possible")
                                  or low_platelets_undecided
                                  or (immune and picture.thrombocytopenia)):
        missing.insert(0, adamts13)
    elif labs.adamts13 is None and ADAMTS13_SEND in ttp.reasons:
        # TTP not closed (not assessed, an open immune haemolysis with the platelets not
        # counted, a low PLASMIC that only ADAMTS13 confirms): ADAMTS13 too, after what would
        # assess it; wherever a TTP reason asks for it (QA 31 L-A, L-B; QA 33 L-1, L-4).
        missing.append(adamts13)
    if maha != "unlikely" or ttp.assessment in ACTIVE:  # TTP in play: PLASMIC's items too
        missing += _missing(labs, _WORKUP_PURPOSES)
    if labs.haptoglobin is not None and labs.haptoglobin_lln is None:
        missing.append("haptoglobin_lln: the lab's lower limit (this tool's default 0.3 g/L "
                       "is used without it)")
    if labs.d_dimer is not None and labs.d_dimer_uln is None:
        missing.append("d_dimer_uln: the ISTH item is D-dimer as a multiple of its ULN")
    if hus_by_adult_limit(maha, labs, hus, smear.population == "adult"):
        # QA 130 #7: a pregnant woman's limit is named only where a pregnancy is not excluded.
        pregnancy_open = labs.sex != "male" and labs.pregnancy is not False
        whose = "a child's and a pregnant woman's are" if pregnancy_open else "a child's is"
        missing.append(f"creatinine_uln: judged against adult limits; {whose} lower: give the "
                       "lab's upper limit")
    if (smear.population == "adult" and not labs.pregnancy and labs.creatinine_uln is not None
            and labs.creatinine_uln < CHILD_CREATININE_ULN):
        limit = show("creatinine", labs.creatinine_uln)
        missing.append(f"population: the lab's creatinine limit {limit} is a child's (under "
                       f"{CHILD_CREATININE_ULN:g} mg/dL); for a child give --population child: "
                       "PLASMIC, derived in adults, then makes TTP at most possible (this "
                       "tool's rule)")
    # A deficient B12 is under every lab's upper limit: its limit changes nothing (QA 150 L-3).
    if (labs.vitamin_b12 is not None and labs.vitamin_b12 >= B12_DEFICIENT
            and labs.vitamin_b12_uln is None):
        missing.append("vitamin_b12_uln: B12 is judged against the lab's upper limit of normal")
    hemoglobin = labs.hemoglobin if smear.population == "adult" else None
    if (hemoglobin is not None and labs.sex is None and not labs.pregnancy
            and anaemia_limit(labs)[0] <= hemoglobin < HEMOGLOBIN_LOW["male"]):
        missing.append(f"sex: Hb {hemoglobin:g} g/dL is anaemia in a man (WHO: < "
                       f"{HEMOGLOBIN_LOW['male']:g} g/dL) but not in a woman (< "
                       f"{HEMOGLOBIN_LOW['female']:g} g/dL)")
    return tuple(missing)


def _not_judged(smear: SmearFindings, labs: Labs) -> tuple[str, ...]:
    """The adult cut-offs not applied to another population, with what to do instead."""
    if smear.population == "adult":
        return ()
    why = {"hemoglobin": "the WHO 2011 anaemia limits are for ages 15 and over",
           "creatinine": "this tool's HUS creatinine limits are adults'; or give creatinine_uln",
           **({"mcv": NEWBORN_MCV} if smear.population in NEWBORNS else {})}
    return tuple(
        f"{key}: {show(key, getattr(labs, key))} not judged against adult limits ({reason}); "
        f"judge it against a {smear.population}'s reference range (this tool's rule)"
        for key, reason in why.items()
        if getattr(labs, key) is not None and not (key == "creatinine" and labs.creatinine_uln))


def assess(smear: SmearFindings, labs: Labs) -> Verdict:
    """Give the MAHA verdict, scores, ranked differential and marrow section for one slide.

    Parameters
    ----------
    smear : SmearFindings
        What the smear showed, with the schistocyte call of :mod:`smearscan.slide_stats`.
    labs : Labs
        Lab values (see :func:`smearscan.labs.parse_labs`).

    Returns
    -------
    Verdict
        Every statement carries the findings behind it and the rule (standard or this tool's)
        that judged it; the rules are listed in :data:`smearscan.verdict.values.RULES`.

    Raises
    ------
    UnresolvedBoundError
        A value reported as a bound (:class:`~smearscan.labs.Bound`, e.g. ADAMTS13 "<20%")
        over whose range a decision of the verdict changes (TTP's assessment, a score, a
        finding...): the measured value is needed; the error keeps the URGENT line when the
        whole range calls for it. Each bound is varied alone.
        An LDH without its lab's upper limit (:func:`~smearscan.labs.ldh_without_limit`), or
        with one no assay gives outside the neonatal period
        (:func:`~smearscan.labs.ldh_limit_implausible`), likewise: the error keeps the URGENT
        line that any of :data:`LDH_LIMITS_TRIED`, or no LDH at all, calls for. An LDH under
        serum level against its limit (:func:`~smearscan.labs.ldh_not_serum`) keeps the line
        that it read in ukat/L (unless written in ukat/L, QA 39 M-1), or against any of those
        limits, calls for (QA 38 H-1). A PT prolongation as long as a control PT without an INR
        (:func:`~smearscan.labs.pt_without_inr`), or such an INR without a PT prolongation
        (:func:`~smearscan.labs.inr_without_pt`), keeps the line the values call for without it.
        A platelet or white-cell count of 0 (:func:`~smearscan.labs.zero_counts`) keeps the
        line the counts read as under 1 x10^9/L call for, else the one they call for not given.
    """
    problems = _problems_refused(smear, labs)
    if problems:
        raise problems[0][1](", ".join(names for names, _ in problems[1:]))
    verdict = _assessed(smear, labs)
    for key, bound in _bounds(labs):
        if not _read_whole(labs, key, bound):
            _check_bound(smear, labs, key, bound, verdict)
    return verdict


def _problems_refused(smear: SmearFindings, labs: Labs
                      ) -> list[tuple[str, Callable[[str], UnresolvedBoundError]]]:
    """What :func:`assess` refuses ``labs`` for before judging them: each problem's keys, named,
    and its refusal, which names the others it is given (QA 87 #5: a zero count was left out
    beside a PT without its INR). Each refusal keeps the URGENT line that :func:`assess`
    describes."""
    problems = []
    missing = ldh_without_limit(labs, "--ldh-uln", smear.population) or ldh_limit_implausible(
        labs, smear.population, "--ldh-uln")
    if missing is not None:
        problems.append(("ldh_uln", lambda also: UnresolvedBoundError(
            _also(missing, also),
            _urgent_over_ldh_readings(smear, labs, _ldh_limits_tried(labs), "limit"),
            "ldh", [labs])))
    if (zeros := zero_counts(labs)) is not None:
        problems.append((", ".join(zeros[0]), lambda also: _zero_refused(smear, labs, zeros, also)))
    for key, alone in (("pt_prolongation_s", pt_without_inr(labs)),
                       ("inr", inr_without_pt(labs))):
        if alone is not None:
            without = replace(labs, **{key: None})
            problems.append((key, lambda also, why=alone, key=key, without=without:
                             UnresolvedBoundError(_also(why, also), _urgent_line(smear, without),
                                                  key, [without])))
    if (newborn := newborn_pregnancy(labs, smear.population)) is not None:
        mothers = replace(labs, **dict.fromkeys(newborn[0]))
        problems.append((", ".join(newborn[0]), lambda also: UnresolvedBoundError(
            _also(newborn[1], also), _urgent_line(smear, mothers), newborn[0][0], [mothers])))
    if (unread := ldh_not_serum(labs)) is not None:
        in_ukat = [replace(labs, ldh=_in_ukat(labs.ldh))] if ldh_maybe_in_ukat(labs) else []
        readings = [*in_ukat, *_ldh_limits_tried(labs)]
        problems.append(("ldh", lambda also: UnresolvedBoundError(
            _also(unread, also), _urgent_over_ldh_readings(smear, labs, readings, "ldh"),
            "ldh", [labs])))
    return problems


def _zero_refused(smear: SmearFindings, labs: Labs, zeros: tuple[tuple[str, ...], str],
                  also: str) -> UnresolvedBoundError:
    """The refusal of the counts given as 0: its line read as counts under 1 x10^9/L, and as
    not given only where that calls for no line."""
    keys, why = zeros
    readings = [replace(labs, **dict.fromkeys(keys, ZERO_COUNT_READING))]
    without = [replace(labs, **dict.fromkeys(keys))]
    urgent, judged = urgent_over_readings(smear, readings, without)
    return UnresolvedBoundError(_also(why, also), urgent, keys[0], judged)


def _also(message: str, also: str) -> str:
    """A refusal's ``message`` naming the other values refused with it, if any."""
    return f"{message} (also refused: {also})" if also else message


def _read_whole(labs: Labs, key: str, bound: Bound) -> bool:
    """Whether every rule reads the bound the same wherever in its range the value lies: a
    haptoglobin under the lab's assay range at or under its low limit is undetectable
    (:func:`~smearscan.verdict.scores.plasmic.undetectable_haptoglobin`) and low (QA 53 M2)."""
    return (key == "haptoglobin" and not bound.inclusive
            and bound.all_under(haptoglobin_low_limit(labs)))


def urgent_over_readings(smear: SmearFindings, readings: Sequence[Labs],
                         without: Sequence[Labs], *, unread: str = "refused"
                         ) -> tuple[str | None, list[Labs]]:
    """The URGENT line that lab values with one refused as written (a bare number two units
    could mean, one a unit away from plausible: :func:`~smearscan.labs.lab_readings`) call for,
    whatever it stands for: over its ``readings``, and ``without`` it only where none of them
    calls for a line, which it must not weaken (QA 37 H-1's rule). Where they differ, a line
    that asks for the value corrected (:func:`_urgent_over_range`), or for what ``unread``
    names (a key of :data:`~smearscan.verdict.differential.ttp._UNREAD`); where some reading
    calls for no line, never a weaker line than the values with every refused one left out
    (:func:`_line_left_out`). This tool's rule (qacli8 H-1, H-2: '19 U/L' of LDH, 19 ukat/L, or
    a haemoglobin of '8' beside a TTP picture was refused with no line). Returns the line and
    the sets of values it was judged over."""
    judged = list(readings)
    lines = {_urgent_line(smear, labs) for labs in judged}
    if not lines - {None}:
        dropped = _fewest_dropped(without)
        judged += dropped
        lines |= {_urgent_line(smear, labs) for labs in dropped}
    elif None in lines and (floor := _line_left_out(smear, without)) is not None:
        # A reading that calls for no line never weakens the line below that of the values
        # with every refused one left out, as a bound's range never does (QA 142 H-2: ADAMTS13
        # '1', 1% or 1 IU/mL, said "TTP possible" where leaving it out says "suspected"; QA 143
        # H-1: beside a second value refused). The line still asks for the value corrected
        # (QA 143 M-1: where the lines left agreed, it was printed without).
        lines = lines - {None} | {floor}
        return urgent_over_lines(lines, judged, unread, settled=False), judged
    return urgent_over_lines(lines, judged, unread), judged


def _line_left_out(smear: SmearFindings, without: Sequence[Labs]) -> str | None:
    """The URGENT line of the values with every refused value left out (of ``without``, the
    sets with the fewest values given), where each such set calls for one stronger than "TTP
    possible"; else None."""
    given = [_values_given(labs) for labs in without]
    if not given:
        return None
    least = [labs for labs, count in zip(without, given, strict=True) if count == min(given)]
    lines = {_urgent_line(smear, labs) for labs in least[:MOST_WITHOUT_JUDGED]}
    if None in lines:
        return None
    weakest = weakest_urgent_assessment(without_caution(line) for line in lines)
    return None if weakest == "possible" else next(
        line for line in sorted(lines)
        if weakest_urgent_assessment([without_caution(line)]) == weakest)


def urgent_over_lines(lines: set[str | None], readings: Sequence[Labs],
                      unread: str = "refused", *, settled: bool = True) -> str | None:
    """The URGENT line over the ``lines`` that the ``readings`` of a refused input call for:
    None where none calls for one, the line where all agree, else one that asks for the input
    corrected, or for what ``unread`` names (:func:`_urgent_over_range`; this tool's rule); not
    ``settled``, that too where the lines agree (readings that differ, one of them taken at the
    line of the values without it)."""
    return _urgent_over_range(lines, readings, unread, settled=settled)


#: How many sets of lab values with refused values read as not given
#: :func:`urgent_over_readings` judges, where no reading calls for a line: those with the most
#: values given. This tool's rule: six bare numbers give 665 such sets, each judged over the
#: range of any bound, which took 13 s (QA 43 M-1); a line they would add could only say
#: "TTP possible" where no reading the user may mean calls for one.
MOST_WITHOUT_JUDGED = 64


def _fewest_dropped(without: Sequence[Labs]) -> list[Labs]:
    """The first :data:`MOST_WITHOUT_JUDGED` of ``without``, most values given first."""
    return sorted(without, key=lambda labs: -_values_given(labs))[:MOST_WITHOUT_JUDGED]


def _values_given(labs: Labs) -> int:
    """How many values ``labs`` holds."""
    return sum(getattr(labs, spec.name) is not None for spec in fields(labs))


def _urgent_line(smear: SmearFindings, labs: Labs) -> str | None:
    """The URGENT line of ``labs``, also where :func:`assess` refuses them."""
    try:
        return assess(smear, labs).urgent
    except UnresolvedBoundError as error:
        return error.urgent


def _bounds(labs: Labs) -> list[tuple[str, Bound]]:
    """The values of ``labs`` given as bounds, by key."""
    return [(spec.name, value) for spec in fields(labs)
            if isinstance(value := getattr(labs, spec.name), Bound)]


def slide_verdict(summary: SlideSummary) -> Verdict | None:
    """The verdict of a slide smearscan analysed: its lab values against the count it reports
    (:attr:`~smearscan.results.SlideSummary.reported_statistics`: a signed-off review's, naming
    the reviewer, else the classifier's). None without lab values or classified cells.

    Raises
    ------
    UnresolvedBoundError
        A value given as a bound that the verdict cannot use (see :func:`assess`), or a value
        of the lab file's row the run refused
        (:attr:`~smearscan.results.SlideSummary.refused_labs`), with the URGENT line.
    """
    statistics = summary.reported_statistics
    labs = summary.labs
    if statistics is None or not summary.labs_given:
        return None
    signed = summary.signed_off
    smear = SmearFindings.from_slide_result(
        statistics, reviewed_by=signed.get("reviewer") if signed is not None else None)
    smear = replace(smear, scale_trusted=summary.pixel_size_trusted and summary.scale_in_doubt)
    return assess(smear, labs if labs is not None else _row_judged(smear, summary.refused_labs))


def urgent_before_counting(row: LabRow, population: str) -> str | None:
    """The URGENT line a lab file's ``row`` calls for with the smear not yet counted, over every
    way it may be read (:meth:`~smearscan.labs.LabRow.readings`; :func:`urgent_over_readings`):
    a run refusing the file before any work still shows the emergency its values show."""
    smear = SmearFindings(population=population, limit_percent=LIMIT_PERCENT[population])
    return urgent_over_readings(smear, *row.readings())[0]


def _row_judged(smear: SmearFindings, row: LabRow) -> Labs:
    """The values of a lab file's ``row`` that a run refused (:meth:`LabRow.judged`), judged
    again (a later version may read them); where they are still refused, the refusal keeps the
    URGENT line they call for with this count, however the refused value is read
    (:func:`urgent_over_readings`)."""
    try:
        return row.judged(smear.population)
    except LabValueError as error:
        line, judged = urgent_over_readings(smear, *row.readings())
        raise UnresolvedBoundError(str(error), line, error.key, judged) from None


class UnresolvedBoundError(LabValueError):
    """A value given as a bound over whose range the verdict changes (the measured value is
    needed), or an LDH given without the limit that judges it. ``urgent`` is a line of
    :func:`~smearscan.verdict.differential.urgent_ttp` when any value of that range (any limit
    tried) calls for it: the emergency is not lost with the rest of the verdict."""

    def __init__(self, message: str, urgent: str | None, key: str | None = None,
                 readings: Sequence[Labs] = (), each: Sequence[OwnLine] = ()) -> None:
        super().__init__(message)
        self.urgent = urgent
        self.key = key  # the lab key the refusal is about, where one is (an LDH's "ldh")
        # The sets of lab values ``urgent`` was judged over: a line over several refusals says
        # what all of them show of ADAMTS13 (QA 47 H-1).
        self.readings = tuple(readings)
        # Where the refusal is which of several sets of values that may be different patients'
        # (a lab file's rows, a summary's slides), the line each calls for: said instead of
        # ``urgent``, which merges them (QA 146 H-3: one patient's "TTP likely" was said "TTP
        # possible" beside another's normal values).
        self.each = tuple(each)

    @property
    def said(self) -> list[str]:
        """The URGENT lines said before the refusal: each set's, where the values are sets that
        may be different patients' (:attr:`each`), else the one line (none without)."""
        return self._each_said or ([self.urgent] if self.urgent is not None else [])

    @property
    def _each_said(self) -> list[str]:
        """``"where: line"`` of each set of :attr:`each` that calls for a line."""
        return [str(own) for own in self.each if own.line is not None]

    def to_dict(self) -> dict[str, Any]:
        """The ``verdict`` block of a slide whose verdict the bound leaves open; with each set's
        line (``urgent_each``) where there are several, and as ``urgent`` the strongest of
        them where one is stronger than the line over them all (QA 153 M-1: a program reading
        ``urgent`` alone was told "TTP possible" where a row of the file says "TTP likely")."""
        each = {"urgent_each": self._each_said} if self._each_said else {}
        lines = [line for line in (self.urgent, *(own.line for own in self.each))
                 if line is not None]
        return {"urgent": strongest_urgent_line(lines) if lines else None, **each,
                "unresolved": str(self)}


@dataclass(frozen=True)
class OwnLine:
    """The URGENT line one of several sets of values that may be different patients' (a lab
    file's row, a summary's slide) calls for alone (None: none), where it stands, and the
    values it was judged over; said ``"where: line"``."""

    where: str
    line: str | None
    readings: tuple[Labs, ...] = ()

    def __str__(self) -> str:
        return f"{self.where}: {self.line}"


def own_lines_over(choices: Sequence[Sequence[OwnLine]], unread: str = "refused", *,
                   complete: bool = True) -> tuple[OwnLine, ...]:
    """The line of each set of values over the ``choices`` (each reading of a refused input
    gives each set's own line, or None): the line where every choice that holds the set gives
    the same, else one over its lines (:func:`urgent_over_lines`, asking for what ``unread``
    names), the choices not judged counting as none (not ``complete``). A choice without the
    set (another lab file) says nothing of it (QA 151 H-2: read as none, a row's "TTP likely"
    was said "possible"). QA 149 H-1: where the choices' lines differed for one set, every
    set's was merged into one "TTP possible"."""
    merged = []
    for where in dict.fromkeys(own.where for lines in choices for own in lines):
        found = [own for lines in choices for own in lines if own.where == where]
        readings = tuple(labs for own in found for labs in own.readings)
        line = urgent_over_lines({own.line for own in found} | ({None} if not complete else set()),
                                 readings, unread)
        merged.append(OwnLine(where, line, readings))
    return tuple(merged)


def _check_bound(smear: SmearFindings, labs: Labs, key: str, bound: Bound,
                 verdict: Verdict) -> None:
    decisions, differing, urgent_lines = _decisions(verdict), None, {verdict.urgent}
    for value in bound.stand_ins():
        other = _assessed(smear, replace(labs, **{key: value}))
        if differing is None and _decisions(other) != decisions:
            differing = value
        urgent_lines.add(other.urgent)
    if differing is not None:
        inside = "at" if bound.inclusive else "just under" if bound.sign == "<" else "just over"
        if not urgent_lines - {None}:
            # Over the other bounds' ranges too, where this one's calls for no line (QA 40:
            # platelets '<200' beside ADAMTS13 '<30%' read each other just inside their bounds,
            # and lost the line platelets of 10 or an ADAMTS13 of 5% gives); not where it does,
            # which they must not weaken (QA 37 H-1's rule).
            urgent_lines |= _urgent_lines(smear, labs)[1]
        # An undetectable result has no measured value: its assay's limit decides (QA 85 #7).
        wanted = ("the bound the lab reports ('<N', N the assay's detection limit)"
                  if bound.word else "the measured value")
        raise UnresolvedBoundError(
            f"{key} = {show(key, bound)!r}: the verdict differs within that range (at "
            f"{show(key, differing)} and {inside} {show(key, bound.limit)}); give {wanted}",
            _urgent_over_range(urgent_lines, [labs]), key, [labs])


#: Upper limits of normal (U/L) an LDH given without its own is tried against, with no LDH at
#: all, for the URGENT line its refusal keeps: adult IFCC assays (~190-250), older methods
#: (~480-620) and a child's (up to ~1000). This tool's choice: the refusal must not hide an
#: emergency that any of them would show (QA 29 H1: LDH 2477 U/L without its limit in a
#: textbook TTP was refused without the URGENT line every limit gives).
LDH_LIMITS_TRIED = (190.0, 250.0, 480.0, 620.0, LDH_ULN_MAX)


def _ldh_limits_tried(labs: Labs) -> list[Labs]:
    """``labs`` with each of :data:`LDH_LIMITS_TRIED` the LDH is not under serum level against
    (:func:`~smearscan.labs.ldh_under_serum_level`) as its limit."""
    return [replace(labs, ldh_uln=limit) for limit in LDH_LIMITS_TRIED
            if not ldh_under_serum_level(labs.ldh, limit)]


def _in_ukat(ldh: float) -> float:
    """An LDH written in U/L read as the ukat/L it may have been measured in."""
    if isinstance(ldh, Bound):
        return Bound(ldh.sign, ldh.limit * LDH_UKAT, ldh.plausible, ldh.inclusive)
    return ldh * LDH_UKAT


def _urgent_over_ldh_readings(smear: SmearFindings, labs: Labs, readings: list[Labs],
                              unread: str) -> str | None:
    """The URGENT line of an LDH the verdict cannot read as given (the value ``unread``, a key
    of :data:`~smearscan.verdict.differential.URGENT_TTP_ADVICE`: its ``limit``, or the
    ``ldh`` itself): :func:`_urgent_over_range` over its ``readings``, and over no LDH where
    none of them calls for a line; each across the range of any other value given as a bound
    (QA 34 H-1: platelets '<200' beside it lost the line that their range, read with any limit,
    calls for)."""
    lines_read = [_urgent_lines(smear, reading) for reading in readings]
    lines = set().union(*(across for _, across in lines_read))
    if not lines - {None}:
        # Read without the LDH only where no reading calls for a line: it must not hide one (QA
        # 29 H1), nor weaken the one every reading agrees on (QA 37 H-1: LDH 2477 over every
        # limit read "TTP possible" for the "likely" each gives).
        lines_read.append(_urgent_lines(smear, replace(labs, ldh=None)))
        lines |= lines_read[-1][1]
    # The unread value decides where the values as given read differently with each reading;
    # else a bound's range does, and the line asks for its value (QA 35 L-1).
    decides = unread if len({given for given, _ in lines_read}) > 1 else "bound"
    return _urgent_over_range(lines, [labs], decides)


def _urgent_lines(smear: SmearFindings, labs: Labs) -> tuple[str | None, set[str | None]]:
    """The URGENT line of ``labs`` read as they stand, and the lines across the range of each
    value given as a bound besides (each varied alone, as :func:`assess` checks them)."""
    given = _urgent_of(smear, labs)
    return given, {given} | {_urgent_of(smear, replace(labs, **{key: value}))
                             for key, bound in _bounds(labs) for value in bound.stand_ins()}


def _urgent_over_range(lines: set[str | None], readings: Sequence[Labs],
                       missing: str = "bound", *, settled: bool = True) -> str | None:
    """The URGENT line over the ``lines`` of lab values the verdict cannot settle (the
    ``readings`` they come from: a bound's range, the corrections of a refused value): None
    only when none calls for one; the line itself when it is the same throughout; else one
    that asks for the value ``missing`` and claims TTP possible, or, where every reading calls
    for a line, no more than the weakest of them (TTP suspected where they say suspected and
    likely), with what they show of ADAMTS13 (a key of
    :data:`~smearscan.verdict.differential.URGENT_TTP_ADVICE`, by
    :func:`~smearscan.verdict.differential.ttp.adamts13_over_readings`). A range must never say
    less than the value left out would (this tool's rule): platelets '<200' span a severe
    thrombocytopenia. With a severe ADAMTS13 deficiency measured (every value of the range
    calls for a line) the line keeps its advice to start plasma exchange once the picture shows
    TTP (QA 30 N4: an LDH without its limit dropped it)."""
    # The caution of a systemic sclerosis is said where any reading records it, and decides
    # nothing else (QA 87 #4).
    lines = {None if line is None else without_caution(line) for line in lines}
    urgent = lines - {None}
    if not urgent:
        return None
    if len(lines) == 1 and settled:
        return with_caution(urgent.pop(), readings)
    # Where every value calls for a line, it says no less than the weakest of them (QA 41 H-4,
    # QA 44: readings that each called for "TTP suspected" or "likely" said "possible").
    assessment = "possible" if None in lines else weakest_urgent_assessment(urgent)
    adamts13 = adamts13_over_readings(
        [value for labs in readings for value in _adamts13_values(labs)], None not in lines)
    # The lines are one patient's: a child's say so (young_line), and so does this one; a
    # newborn's platelet clause only where every line is a newborn's (QA 125 M3: a population
    # refused as 'adult' or 'neonate' took it).
    merged = urgent_ttp(assessment, f"{adamts13}, {missing}" if adamts13 else missing,
                        adult=not any(young_line(line) for line in urgent),
                        newborn=all(newborn_line(line) for line in urgent))
    return with_caution(merged, readings)


def _adamts13_values(labs: Labs) -> list[float | None]:
    """The ADAMTS13 of ``labs``: the values across its range where it is given as a bound."""
    value = labs.adamts13
    return value.stand_ins() if isinstance(value, Bound) else [value]


def _decisions(verdict: Verdict) -> tuple:
    """What a verdict decides, without the values it shows."""
    scores = (verdict.plasmic, verdict.isth_dic, verdict.french)
    return (verdict.urgent, verdict.maha,
            tuple(finding.finding for finding in verdict.findings_for),
            # The newborn's caveat, said or not across a bound's range, decides nothing (QA 128
            # M1: '>5%' of reticulocytes was refused for it).
            tuple(finding.finding for finding in verdict.findings_against
                  if finding.rule != NEWBORN_RULE.label),
            # Nor does asking for a B12's limit, which a B12 under the deficiency cut-off does
            # without (QA 156 M-7: '<250 pg/mL' was refused for it).
            tuple(key for line in verdict.missing
                  if (key := line.split(":")[0]) != "vitamin_b12_uln"),
            tuple((s.minimum, s.maximum, s.risk) for s in scores),
            tuple((c.cause, c.assessment, c.urgency, c.action) for c in verdict.differential),
            verdict.marrow.marrow_infiltration, verdict.marrow.considered, verdict.marrow.workup)


@dataclass(frozen=True)
class _Basis:
    """What a verdict rests on: the lab values judged, their picture, the scores and the MAHA
    call. For a population other than adults the haemoglobin is not judged against the WHO
    adult limits (this tool's rule; said in what to measure next)."""

    population: str
    judged: Labs
    picture: LabPicture
    plasmic: Score
    isth: Score
    french: Score
    maha: str

    @classmethod
    def of(cls, smear: SmearFindings, labs: Labs) -> _Basis:
        adult = smear.population == "adult"
        judged = labs if adult else replace(labs, hemoglobin=None)
        picture = lab_picture(judged)
        plasmic = plasmic_score(labs, adult=adult)
        maha = maha_call(smear, labs, picture, plasmic)
        # A megaloblastic anaemia makes the count less specific, as another poikilocytosis
        # does (ICSH 2021; QA 64 F6): MAHA possible, not likely.
        if maha == "likely" and pseudo_tma(labs, picture,
                                           newborn=smear.population in NEWBORNS):
            maha = "possible"
        return cls(smear.population, judged, picture, plasmic, isth_dic_score(labs),
                   french_score(labs), maha)

    @property
    def adult(self) -> bool:
        return self.population == "adult"


def _urgent_of(smear: SmearFindings, labs: Labs) -> str | None:
    """``_assessed(smear, labs).urgent``, without the rest of the verdict: a refusal judges
    thousands of sets of values for their line alone (QA 44 M-2: twelve bounds took 14 s)."""
    basis = _Basis.of(smear, labs)
    return _action_line(ttp_of(basis.maha, labs, basis.picture, basis.plasmic, basis.french,
                               dic_cause(labs, basis.isth), population=basis.population))


def _megaloblastic_caveat(smear: SmearFindings, labs: Labs, picture: LabPicture,
                          causes: tuple[Cause, ...]) -> list[Finding]:
    """A megaloblastic pseudo-TMA (:func:`pseudo_tma`) makes a schistocyte count less specific
    for TMA, as another poikilocytosis does (QA 64 F6: MAHA "likely" beside it, with no word of
    it; ICSH 2021). None where the differential lists no megaloblastic cause: MAHA unlikely
    and no haemolysis present (QA 77 H1: its absence was a traceback that lost the URGENT
    line)."""
    if smear.schistocyte_percent is None or not pseudo_tma(
            labs, picture, newborn=smear.population in NEWBORNS):
        return []
    megaloblastic = next((cause for cause in causes if cause.cause == "megaloblastic"), None)
    if megaloblastic is None:
        return []
    return [Finding("megaloblastic anaemia suspected: its poikilocytosis makes the schistocyte "
                    "% less specific for TMA", "; ".join(megaloblastic.reasons),
                    MEGALOBLASTIC_RULE.label)]


def _newborn_caveat(smear: SmearFindings, labs: Labs, picture: LabPicture) -> list[Finding]:
    """Where a newborn's haptoglobin, reticulocytes or bilirubin (an infant's haptoglobin, which
    stays low for months, for a child) show haemolysis by the adult cut-offs within a newborn's
    physiological range (:data:`NEWBORN_PHYSIOLOGICAL_TOPS`), that they may be physiological
    (:data:`NEWBORN_RULE`; QA 122 H1: a well newborn's read as haemolysis without a word; QA 124
    M6; QA 127 M2: said of reticulocytes of 15%; this tool's rule)."""
    if smear.population not in (*NEWBORNS, "child"):
        return []
    keys = NEWBORN_MARKERS if smear.population in NEWBORNS else ("haptoglobin",)
    raised = [f"{marker.name} {marker.finding.value}" for key in keys
              for marker in picture.markers
              if marker.raised and marker.key == key and _physiological(labs, key)]
    if not raised:
        return []
    if smear.population == "child":
        return [Finding(f"if the child is an infant, its low haptoglobin may be physiological: "
                        f"{INFANT_HAPTOGLOBIN}", raised[0], NEWBORN_RULE.label)]
    return [Finding("a newborn's haemolysis markers within its physiological ranges may not "
                    "show haemolysis: judge them by its age", listed(raised),
                    NEWBORN_RULE.label)]


def _physiological(labs: Labs, key: str) -> bool:
    """Whether ``labs``' value of ``key`` lies in a newborn's physiological range, wholly where
    it is a bound (QA 128 M2: '>15 mg/dL' of bilirubin, which reaches 50): under its top
    (:data:`NEWBORN_PHYSIOLOGICAL_TOPS`); a haptoglobin judged by this tool's limit, not the
    lab's own (QA 127 M3)."""
    value = getattr(labs, key)
    if key == "haptoglobin":
        return labs.haptoglobin_lln is None
    top = NEWBORN_PHYSIOLOGICAL_TOPS[key]
    if isinstance(value, Bound):
        return value.sign == "<" and value.limit <= top
    return value <= top


def _outside_tma(maha: str, picture: LabPicture) -> str | None:
    """Why the patient lies outside the population PLASMIC and the French TMA score were made
    for, thrombocytopenia with MAHA (CLINICAL.md: PLASMIC "for a patient with thrombocytopenia
    and schistocytes", the French score "in TMA"): MAHA unlikely, or no thrombocytopenia; None
    where neither is shown."""
    if maha == "unlikely":
        return "MAHA unlikely; the score is for thrombocytopenia with MAHA"
    if picture.thrombocytopenia is False:
        return "no thrombocytopenia; the score is for thrombocytopenia with MAHA"
    return None


def _action_line(ttp: Cause) -> str | None:
    """The URGENT line of TTP assessed ``ttp``: its action while TTP is possible or worse."""
    return ttp.action if ttp.assessment in ACTIVE else None


def _assessed(smear: SmearFindings, labs: Labs) -> Verdict:
    """The verdict of :func:`assess`, with every value read as it stands."""
    basis = _Basis.of(smear, labs)
    judged, picture, maha = basis.judged, basis.picture, basis.maha
    plasmic, isth, french = basis.plasmic, basis.isth, basis.french
    found, against = lab_findings(judged, picture)
    smear_line = smear_finding(smear, maha)
    if smear_line is not None:
        (found if smear_line[0] else against).insert(0, smear_line[1])
    if smear.other_poikilocytes_abundant:
        against.append(Finding("other poikilocytes abundant: the schistocyte % is less "
                               "specific for TMA", smear.less_specific_reason or "yes",
                               LESS_SPECIFIC_RULE.label))
    causes = differential(maha, labs, picture, plasmic, isth, french,
                          nrbc_present=smear.nrbc_present,
                          leukoerythroblastic=smear.leukoerythroblastic,
                          population=basis.population)
    against.extend(_megaloblastic_caveat(smear, labs, picture, causes))
    against.extend(_newborn_caveat(smear, labs, picture))
    outside = _outside_tma(maha, picture)
    return Verdict(
        urgent=_action_line(next(cause for cause in causes if cause.cause == "ttp")),
        maha=maha, findings_for=tuple(found), findings_against=tuple(against),
        missing=_missing_all(maha, smear, labs, picture, causes) + _not_judged(smear, labs),
        plasmic=replace(plasmic, outside=outside), isth_dic=isth,
        french=replace(french, outside=outside), differential=causes,
        marrow=marrow_assessment(maha, judged, nrbc_present=smear.nrbc_present,
                                 leukoerythroblastic=smear.leukoerythroblastic,
                                 teardrop_percent=smear.teardrop_percent))
