"""Bone-marrow section: infiltration by cancer (and what else to name beside it).

Rules (this tool's, from seeds 002 and 003; CLINICAL.md):

* a leukoerythroblastic picture (smear ``present``, or nucleated red cells with a cytopenia)
  with cancer or an unexplained cytopenia -> ``suspected`` (a likely MAHA explains anaemia and
  thrombocytopenia, not leukopenia);
* the picture alone, the smear saying ``possible``, any cytopenia in a patient with metastatic
  cancer (seed 002: no need to wait for the smear), two or more cytopenias that a likely MAHA
  does not explain in a patient with cancer, active or past (seed 002: pancytopenia six years
  after a mastectomy), or a cytopenia with vitamin B12 above its ULN in a patient with cancer,
  active or past (seed 003) -> ``possible``;
* otherwise ``not assessed`` when an input the rules need is missing (the smear's
  leukoerythroblastic assessment, the B12 ULN, the blood counts), listing what was not
  assessed; ``not suggested`` only when everything needed was given.

With cytopenias that a likely MAHA does not explain, in a patient with cancer (active or past,
so treated), myelodysplastic syndrome and a therapy-related myeloid neoplasm are named beside
infiltration, with the seed 003 work-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smearscan.labs import Labs
from smearscan.verdict.readings import anaemia_limit, show
from smearscan.verdict.values import FOLATE_DEFICIENT, MARROW_RULE, PLATELETS_LOW, WBC_LOW

__all__ = ["MarrowAssessment", "marrow_assessment"]

INFILTRATION = "bone-marrow infiltration by cancer"
MYELOID = ("myelodysplastic syndrome", "therapy-related myeloid neoplasm")
WORKUP = (
    "peripheral smear review for dysplasia and blasts",
    "bone-marrow aspirate and biopsy with cytogenetics and flow cytometry",
    "iron studies (iron, ferritin, transferrin saturation)",
    "folate",
    "reticulocyte count",
)
"""The seed 003 work-up, before any treatment decision."""
#: The lab value that answers a step of :data:`WORKUP`: a step already answered is not asked
#: for again (QA 81 #8: "work-up: reticulocyte count" beside reticulocytes of 1%).
ANSWERED_BY = {"folate": "folate", "reticulocyte count": "reticulocytes"}
BIOPSY = ("bone-marrow aspirate and trephine biopsy",)


@dataclass(frozen=True)
class MarrowAssessment:
    """The marrow section.

    Attributes
    ----------
    marrow_infiltration : str
        ``suspected``, ``possible``, ``not suggested`` or ``not assessed``.
    considered : tuple of str
        The diagnoses to consider (infiltration, and MDS / therapy-related myeloid neoplasm
        when cytopenias come with a cancer); empty when nothing is suggested.
    reasons : tuple of str
        The findings behind the assessment.
    not_assessed : tuple of str
        What could not be assessed, and what to give to assess it.
    workup : tuple of str
        What to do next; empty when nothing is suggested.
    """

    marrow_infiltration: str
    considered: tuple[str, ...]
    reasons: tuple[str, ...]
    not_assessed: tuple[str, ...]
    workup: tuple[str, ...]

    @property
    def rule(self) -> str:
        """The rule behind the section, labelled as this tool's own (:data:`MARROW_RULE`)."""
        return MARROW_RULE.label

    def to_dict(self) -> dict[str, Any]:
        """``{"marrow_infiltration", "considered", "reasons", "not_assessed", "workup",
        "rule"}``."""
        return {"marrow_infiltration": self.marrow_infiltration,
                "considered": list(self.considered), "reasons": list(self.reasons),
                "not_assessed": list(self.not_assessed), "workup": list(self.workup),
                "rule": self.rule}


def _cytopenias(labs: Labs) -> dict[str, str]:
    """Cytopenias found, by name: Hb below the WHO limit, WBC < 4.0, platelets < 150."""
    limit, whom = anaemia_limit(labs)
    checks = (("anaemia", "hemoglobin", labs.hemoglobin, limit, f"g/dL ({whom})"),
              ("leukopenia", "wbc", labs.wbc, WBC_LOW, "x10^9/L"),
              ("thrombocytopenia", "platelets", labs.platelets, PLATELETS_LOW, "x10^9/L"))
    return {name: f"{name}: {show(key, value)} < {cut:g} {unit}"
            for name, key, value, cut, unit in checks if value is not None and value < cut}


def _b12_high(labs: Labs) -> bool | None:
    if labs.vitamin_b12 is None or labs.vitamin_b12_uln is None:
        return None
    return labs.vitamin_b12 > labs.vitamin_b12_uln


def _not_assessed(labs: Labs, leukoerythroblastic: str | None, nrbc_present: bool | None,
                  cytopenias: dict[str, str], cancer: list[str]) -> list[str]:
    missing = []
    if leukoerythroblastic in (None, "insufficient") and nrbc_present is None:
        missing.append("leukoerythroblastic picture: no NRBC / immature-granulocyte assessment "
                       "of the smear (run smearscan on the slide, or give --leukoerythroblastic)")
    if all(value is None for value in (labs.hemoglobin, labs.wbc, labs.platelets)):
        missing.append("cytopenias: no blood counts given (hemoglobin, wbc, platelets)")
    if cytopenias and cancer and _b12_high(labs) is None:
        missing.append("vitamin B12 against its ULN: give vitamin_b12 and vitamin_b12_uln "
                       "(unexplained high B12 with cytopenias points to the marrow)")
    if cytopenias and labs.cancer_active is None and labs.cancer_history is None:
        missing.append("cancer: give active_cancer, metastatic_cancer or cancer_history")
    return missing


def _reasons(labs: Labs, smear_hints: list[str], cytopenias: dict[str, str],
             cancer: list[str], teardrop_percent: float | None) -> list[str]:
    reasons = [*smear_hints, *cytopenias.values(), *cancer]
    if _b12_high(labs):
        reasons.append(f"vitamin B12 {show('vitamin_b12', labs.vitamin_b12)} above its ULN "
                       f"{show('vitamin_b12_uln', labs.vitamin_b12_uln)} (unexplained)")
    if teardrop_percent:
        reasons.append(f"teardrop cells {teardrop_percent:.2g}% (for review; no validated "
                       "cut-off)")
    return reasons


def _workup(labs: Labs) -> tuple[str, ...]:
    """:data:`WORKUP` without the steps a given value answers; a folate given under
    :data:`~smearscan.verdict.values.FOLATE_DEFICIENT` stays, with its value (QA 82 #7: a
    deficient folate vanished from the output)."""
    steps = []
    for step in WORKUP:
        value = getattr(labs, ANSWERED_BY[step]) if step in ANSWERED_BY else None
        if step == "folate" and value is not None and value < FOLATE_DEFICIENT:
            steps.append(f"folate {show('folate', value)}, under {FOLATE_DEFICIENT:g} ng/mL: "
                         "deficient, a cause of cytopenias of its own")
        elif value is None:
            steps.append(step)
    return tuple(steps)


def marrow_assessment(maha: str, labs: Labs, *, nrbc_present: bool | None,
                      leukoerythroblastic: str | None,
                      teardrop_percent: float | None) -> MarrowAssessment:
    """The marrow section by the rules of the module docstring."""
    cytopenias = _cytopenias(labs)
    unexplained = {name for name in cytopenias if maha != "likely" or name == "leukopenia"}
    cancer = [name for name, flag in (("metastatic cancer", labs.metastatic_cancer),
                                      ("active cancer", labs.active_cancer and
                                       not labs.metastatic_cancer),
                                      ("history of cancer", labs.cancer_history)) if flag]
    hints = []
    if nrbc_present:
        hints.append("nucleated red cells on the smear")
    if leukoerythroblastic in ("present", "possible"):
        hints.append(f"leukoerythroblastic picture on the smear: {leukoerythroblastic}")
    picture = leukoerythroblastic == "present" or bool(nrbc_present and cytopenias)
    reasons = _reasons(labs, hints, cytopenias, cancer, teardrop_percent)
    myeloid = MYELOID if unexplained and cancer else ()
    considered = (INFILTRATION, *myeloid)
    workup = _workup(labs) if myeloid else BIOPSY
    if picture and (cancer or unexplained):
        return MarrowAssessment("suspected", considered, tuple(reasons), (), workup)
    metastatic_cytopenia = bool(cytopenias and labs.metastatic_cancer)
    lineages = len(unexplained) >= 2 and bool(cancer)
    if picture or leukoerythroblastic == "possible" or metastatic_cytopenia or lineages or (
            cytopenias and cancer and _b12_high(labs)):
        missing = _not_assessed(labs, leukoerythroblastic, nrbc_present, cytopenias, cancer)
        return MarrowAssessment("possible", considered, tuple(reasons), tuple(missing), workup)
    missing = _not_assessed(labs, leukoerythroblastic, nrbc_present, cytopenias, cancer)
    if missing:
        return MarrowAssessment("not assessed", (), tuple(reasons), tuple(missing), ())
    reasons.append("no leukoerythroblastic picture, no cytopenia with metastatic cancer, no two "
                   "unexplained cytopenias and no cytopenia with raised B12 in a patient with "
                   "cancer")
    return MarrowAssessment("not suggested", (), tuple(reasons), (), ())
