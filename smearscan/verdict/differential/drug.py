"""Drug-induced TMA: a recorded drug, stopped only when it is one known to cause TMA."""

from __future__ import annotations

from smearscan.labs import Labs
from smearscan.verdict.differential.cause import (
    Cause,
    adamts13_text,
    severe_deficiency,
)
from smearscan.verdict.drugs import (
    DRUGS_CAUSING_TMA,
    cancer_treatment,
    known_tma_drug,
    tma_drugs_named,
)
from smearscan.verdict.readings import kidney_injury
from smearscan.verdict.values import DRUG_TMA


def drug_name(labs: Labs) -> str:
    drug = labs.drug_exposure
    return drug if isinstance(drug, str) else "the drug"


def tma_drug_named(labs: Labs) -> str:
    """The listed drugs a recorded ``drug_exposure`` names, by generic name, with the recorded
    text beside them when it differs: a regimen recorded ("GEM/nab-paclitaxel") is not all to be
    stopped (QA 32 L-4)."""
    drug = drug_name(labs)
    generic = ", ".join(sorted(tma_drugs_named(labs.drug_exposure)))
    return generic if generic.lower() == drug.lower() else f"{generic} (recorded: {drug})"


def marrow_first(labs: Labs, smear_hints: list[str], *, adult: bool = True) -> bool:
    """Whether the cancer, not its listed treatment, comes first (this tool's rule): an active
    cancer whose smear hints at marrow infiltration causes such a MAHA itself, and its
    treatment is what helps (QA 64 F3: gemcitabine in seed 000). Not for a drug given for
    something else (QA 66 N1: quinine, tacrolimus, the thienopyridines), nor beside a severe
    ADAMTS13 deficiency (an immune TTP), nor with the kidney injury of a drug TMA
    (:func:`~smearscan.verdict.readings.kidney_injury`; QA 66 N2: gemcitabine at 3.2 mg/dL).
    A creatinine just over its limit is not one, nor one not measured (QA 71 F1: seed 000 on
    gemcitabine, at 1.01 mg/dL or without a creatinine, was told to stop it now). A child's,
    without the lab's limit, is judged against a child's (``adult`` False; QA 74 N3: 1.5 mg/dL,
    twice a child's limit, kept gemcitabine)."""
    return bool(smear_hints and labs.cancer_active and labs.drug_exposure
                and cancer_treatment(labs.drug_exposure)
                and not severe_deficiency(labs) and not kidney_injury(labs, adult=adult))


def drug_cause(maha: str, labs: Labs, smear_hints: list[str], cancer_first: bool
               ) -> Cause | None:
    """A recorded drug of :data:`DRUGS_CAUSING_TMA`: MAHA likely -> suspected; possible or not
    established -> possible; unlikely -> unlikely (Al-Nouri 2015). Another drug name is at
    most possible, with advice to check it rather than to stop it: stopping a drug that is not
    the cause (a cancer treatment, seed 000) does harm. So is a listed cancer treatment beside
    an active cancer whose smear hints at marrow infiltration (``smear_hints``: nucleated red
    cells, a leukoerythroblastic picture) and with no kidney injury (``cancer_first``:
    :func:`marrow_first`)."""
    if not labs.drug_exposure:
        return None
    drug = drug_name(labs)
    known = known_tma_drug(labs.drug_exposure)
    cancer = labs.cancer_active or labs.cancer_history
    if cancer_first:
        action = (f"decide with the oncologist whether to stop {tma_drug_named(labs)}: the "
                  "smear hints at marrow infiltration, and a cancer in the marrow causes such a "
                  "MAHA itself, which its treatment helps (seed 000); if it is stopped, do not "
                  f"re-expose ({DRUG_TMA})"
                  + ("; measure the creatinine: a kidney injury points to the drug"
                     if labs.creatinine is None else ""))
        reasons = [f"drug exposure recorded: {drug} (on this tool's list of drugs reported to "
                   f"cause TMA), but the smear hints at marrow infiltration by the cancer "
                   f"({'; '.join(smear_hints)}): at most possible (this tool's rule)"]
    elif known:
        # QA 64 F1: "stop now" alone, for tacrolimus after a transplant or clopidogrel after a
        # stent, risks rejection or stent thrombosis: the team that prescribed it decides how.
        action = (f"stop {tma_drug_named(labs)} now with its prescribing team (who replace it "
                  "where stopping alone does harm: a transplant's immunosuppression, a stent's "
                  f"antiplatelet) and do not re-expose ({DRUG_TMA}); report it as an adverse "
                  "drug reaction")
        reasons = [f"drug exposure recorded: {drug} (on this tool's list of drugs reported to "
                   f"cause TMA: {', '.join(DRUGS_CAUSING_TMA)})"]
    else:
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
        return Cause.of("drug-induced", "unlikely", urgency, action, (*reasons, "MAHA unlikely"))
    if severe_deficiency(labs):
        reasons.append(f"{adamts13_text(labs.adamts13)}: an immune TTP, which some drugs "
                       "trigger (e.g. ticlopidine)")
        return Cause.of("drug-induced", "possible", urgency, action, reasons)
    assessment = "suspected" if maha == "likely" and known and not cancer_first else "possible"
    return Cause.of("drug-induced", assessment, urgency, action, (*reasons, f"MAHA {maha}"))
