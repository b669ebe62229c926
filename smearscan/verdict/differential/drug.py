"""Drug-induced TMA: a recorded drug, stopped only when it is one known to cause TMA."""

from __future__ import annotations

from dataclasses import replace

from smearscan.labs import Labs
from smearscan.verdict.differential.cause import (
    Cause,
    adamts13_text,
    severe_deficiency,
)
from smearscan.verdict.drugs import (
    CANCER_TREATMENTS,
    DRUGS_CAUSING_TMA,
    TRANSPLANT_IMMUNOSUPPRESSANTS,
    tma_drugs_named,
    ttp_triggers,
)
from smearscan.verdict.readings import kidney_injury
from smearscan.verdict.values import (
    ADAMTS13_SEVERE,
    DRUG_TMA,
    THIENOPYRIDINE_TTP,
    TRANSPLANT_TMA,
)


def drug_name(labs: Labs) -> str:
    drug = labs.drug_exposure
    return drug if isinstance(drug, str) else "the drug"


def tma_drug_named(labs: Labs, drugs: set[str] | None = None) -> str:
    """The listed ``drugs`` (by default every one a recorded ``drug_exposure`` names), by
    generic name, with the recorded text beside them when it differs: a regimen recorded
    ("GEM/nab-paclitaxel") is not all to be stopped (QA 32 L-4), and "tonic water" is quinine
    (QA 75 F4)."""
    named = tma_drugs_named(labs.drug_exposure) if drugs is None else drugs
    generic = ", ".join(sorted(named))
    drug = drug_name(labs)
    return generic if generic.lower() == drug.lower() else f"{generic} (recorded: {drug})"


def marrow_first(labs: Labs, smear_hints: list[str], *, adult: bool = True,
                 unlooked: bool = False) -> bool:
    """Whether the cancer, not its listed treatment, comes first (this tool's rule): an active
    cancer whose smear hints at marrow infiltration causes such a MAHA itself, and its
    treatment is what helps (QA 64 F3: gemcitabine in seed 000). Not for a drug given for
    something else (QA 66 N1: quinine, tacrolimus, the thienopyridines, which
    :func:`drugs_weighed` leaves to be stopped beside it; QA 74 N4), nor beside a severe
    ADAMTS13 deficiency (an immune TTP), nor with the kidney injury of a drug TMA
    (:func:`~smearscan.verdict.readings.kidney_injury`; QA 66 N2: gemcitabine at 3.2 mg/dL).
    A creatinine just over its limit is not one, nor one not measured (QA 71 F1: seed 000 on
    gemcitabine, at 1.01 mg/dL or without a creatinine, was told to stop it now). A child's,
    without the lab's limit, is judged against a child's (``adult`` False; QA 74 N3: 1.5 mg/dL,
    twice a child's limit, kept gemcitabine). So too for a metastatic cancer whose smear's
    nucleated red cells and leukoerythroblastic picture are not recorded (``unlooked``): the
    marrow has not been looked at (QA 77 M5: seed 000 on gemcitabine without ``--nrbc`` was
    told to stop it now, an unknown finding read as absent)."""
    marrow = smear_hints or (unlooked and labs.metastatic_cancer)
    return bool(marrow and labs.cancer_active
                and tma_drugs_named(labs.drug_exposure) & set(CANCER_TREATMENTS)
                and not severe_deficiency(labs) and not kidney_injury(labs, adult=adult))


def drugs_weighed(labs: Labs, cancer_first: bool) -> set[str]:
    """The listed cancer treatments a recorded drug names whose stopping is weighed with the
    oncologist rather than done now (this tool's rule): beside a cancer that comes first
    (``cancer_first``, :func:`marrow_first`), or beside a severe ADAMTS13 deficiency, an
    immune TTP that none of them is reported to trigger (QA 74 N8; the thienopyridines are,
    :data:`~smearscan.verdict.drugs.DRUGS_TRIGGERING_TTP`), in a patient with a cancer recorded
    (QA 75 F1: interferon beta for multiple sclerosis, bevacizumab in the eye, have no
    oncologist). The other listed drugs are stopped now, whatever else is recorded with them
    (QA 74 N4: quinine beside gemcitabine)."""
    cancer = labs.cancer_active or labs.cancer_history
    if not (cancer_first or (severe_deficiency(labs) and cancer)):
        return set()
    return tma_drugs_named(labs.drug_exposure) & set(CANCER_TREATMENTS)


def drug_cause(maha: str, labs: Labs, smear_hints: list[str], cancer_first: bool
               ) -> Cause | None:
    """A recorded drug of :data:`DRUGS_CAUSING_TMA`: MAHA likely -> suspected; possible or not
    established -> possible; unlikely -> unlikely (Al-Nouri 2015). Another drug name is at
    most possible, with advice to check it rather than to stop it: stopping a drug that is not
    the cause (a cancer treatment, seed 000) does harm. So is a listed cancer treatment
    :func:`drugs_weighed` with the oncologist, unless another listed drug is recorded beside
    it, which is stopped."""
    if not labs.drug_exposure:
        return None
    named = tma_drugs_named(labs.drug_exposure)
    weighed = drugs_weighed(labs, cancer_first)
    kept = drugs_kept(labs) - weighed
    stopped = named - weighed - kept
    if named:
        action = "; ".join(part for part in (
            _stop_action(labs, stopped), _weigh_action(labs, weighed, cancer_first, smear_hints),
            kept_action(labs, kept)) if part)
        reasons = [f"drug exposure recorded: {drug_name(labs)} (on this tool's list of drugs "
                   f"reported to cause TMA: {', '.join(DRUGS_CAUSING_TMA)})",
                   *_weighed_reasons(labs, weighed, smear_hints, cancer_first)]
    else:
        action, reasons = _check_action(labs), [_unlisted_reason(labs)]
    # Stopping a listed drug is urgent; checking another one is a routine review.
    urgency = "urgent" if named else "routine"
    if maha == "unlikely":
        return Cause.of("drug-induced", "unlikely", urgency, action, (*reasons, "MAHA unlikely"))
    assessment = "suspected" if maha == "likely" and (stopped or kept) else "possible"
    if severe_deficiency(labs):
        assessment = "possible"
        reasons.append(_immune_ttp_reason(labs, named))
    return replace(Cause.of("drug-induced", assessment, urgency, action,
                            (*reasons, f"MAHA {maha}")), stops=tuple(sorted(stopped)))


def drugs_kept(labs: Labs) -> set[str]:
    """The calcineurin inhibitors a recorded drug names whose dose is reviewed with a team
    rather than stopped for good, unless ``transplant`` is recorded as no (this tool's rule):
    they keep a transplant, and its own TMA step asks for their level and dose (QA 93 #4; QA
    95 LOW 3: "stop quinine, tacrolimus ... do not re-expose" beside it); named without the
    transplant recorded they almost always mean one (QA 96 LOW 4)."""
    if labs.transplant is False:
        return set()
    return tma_drugs_named(labs.drug_exposure) & set(TRANSPLANT_IMMUNOSUPPRESSANTS)


#: How :func:`kept_action` begins where a transplant is recorded.
_WITH_TRANSPLANT_TEAM = "with the transplant team: "


def without_kept(action: str) -> str:
    """A drug cause's ``action`` without the step :func:`kept_action` gives beside a recorded
    transplant, for the Next line a transplant cause leads, whose own step asks for the
    inhibitor's level and dose already (QA 95 LOW 3)."""
    return "; ".join(part for part in action.split("; ")
                     if not part.startswith(_WITH_TRANSPLANT_TEAM))


def kept_action(labs: Labs, kept: set[str]) -> str:
    """What is done about the calcineurin inhibitors :func:`drugs_kept` keeps: their dose
    reviewed with the transplant team (reduced or switched: Jodele S, et al. Blood
    2014;124:645-653), never "do not re-expose", which would stop a graft's immunosuppression
    for good; with the transplant not recorded, with the transplant or prescribing team, who
    may also stop it (Al-Nouri ZL, et al. Blood 2015;125:616-618)."""
    if not kept:
        return ""
    drugs = tma_drug_named(labs, kept)
    if labs.transplant:
        return (f"{_WITH_TRANSPLANT_TEAM}the level and dose of {drugs}: reduce it or switch "
                "to another immunosuppressant, not stop it alone (rejection, graft-versus-host "
                f"disease) ({TRANSPLANT_TMA})")
    return (f"with the transplant or prescribing team: reduce, switch or stop {drugs} (a "
            f"transplant's immunosuppression is not stopped alone: record whether there is a "
            f"transplant) ({DRUG_TMA})")


def _stop_action(labs: Labs, stopped: set[str]) -> str:
    # QA 64 F1: "stop now" alone, for tacrolimus after a transplant or clopidogrel after a
    # stent, risks rejection or stent thrombosis: the team that prescribed it decides how.
    if not stopped:
        return ""
    return (f"stop {tma_drug_named(labs, stopped)} now with its prescribing team (who replace "
            "it where stopping alone does harm: a transplant's immunosuppression, a stent's "
            f"antiplatelet) and do not re-expose ({DRUG_TMA}); report it as an adverse drug "
            "reaction")


#: Why a listed cancer treatment is weighed where the smear's marrow signs are not recorded.
_UNLOOKED = ("the smear's nucleated red cells are not recorded, and a metastatic cancer in the "
             "marrow causes such a MAHA itself, which its treatment helps (seed 000): look for "
             "them and a leukoerythroblastic picture, and examine the marrow")


def _weigh_action(labs: Labs, weighed: set[str], cancer_first: bool,
                  smear_hints: list[str]) -> str:
    if not weighed:
        return ""
    # No measured value in an action: over a bound's range ('<5%') it must read the same.
    if not cancer_first:
        why = (f"ADAMTS13 under {ADAMTS13_SEVERE:g}% points to an immune TTP, which of the drugs "
               "this tool lists only the thienopyridines are reported to trigger "
               f"({THIENOPYRIDINE_TTP})")
    else:
        why = ("the smear hints at marrow infiltration, and a cancer in the marrow causes such "
               "a MAHA itself, which its treatment helps (seed 000)" if smear_hints
               else _UNLOOKED)
    return (f"decide with the oncologist whether to stop {tma_drug_named(labs, weighed)}: {why}; "
            f"if it is stopped, do not re-expose ({DRUG_TMA})"
            + ("; measure the creatinine: a kidney injury points to the drug"
               if cancer_first and labs.creatinine is None else ""))


def _weighed_reasons(labs: Labs, weighed: set[str], smear_hints: list[str],
                     cancer_first: bool) -> list[str]:
    if not (weighed and cancer_first):
        return []
    marrow = (f"the smear hints at marrow infiltration by the cancer ({'; '.join(smear_hints)})"
              if smear_hints else "the cancer is metastatic and the smear's nucleated red "
              "cells are not recorded")
    return [f"{tma_drug_named(labs, weighed)}: a cancer treatment, and {marrow}: weighed with "
            "the oncologist, at most possible on its own account (this tool's rule)"]


def _immune_ttp_reason(labs: Labs, named: set[str]) -> str:
    triggers = ttp_triggers(named)
    if triggers:
        return (f"{adamts13_text(labs.adamts13)}: an immune TTP, which {', '.join(triggers)} "
                f"can trigger ({THIENOPYRIDINE_TTP})")
    return (f"{adamts13_text(labs.adamts13)}: an immune TTP, which of the drugs this tool lists "
            f"only the thienopyridines are reported to trigger ({THIENOPYRIDINE_TTP})")


def _check_action(labs: Labs) -> str:
    cancer = labs.cancer_active or labs.cancer_history
    drug = drug_name(labs)
    return (f"{'name it and ' if labs.drug_exposure is True else ''}check whether {drug} is a "
            f"reported cause of TMA ({DRUG_TMA}) before stopping it"
            + (" (a cancer treatment only with the oncologist)" if cancer else ""))


def _unlisted_reason(labs: Labs) -> str:
    if labs.drug_exposure is True:
        return ("drug exposure recorded without a name: whether it is a reported cause of TMA "
                "cannot be told")
    return (f"drug exposure recorded: {drug_name(labs)}, which is not among the drugs this tool "
            "lists as causing TMA (the list is not exhaustive)")
