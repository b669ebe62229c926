"""PLASMIC score (Bendapudi PK, et al. Lancet Haematol 2017;4(4):e157-e164); cut-offs and the
source in :mod:`smearscan.verdict.values`."""

from __future__ import annotations

from smearscan.labs import Bound, Labs
from smearscan.verdict.drugs import cancer_treatment, tma_drugs_named
from smearscan.verdict.readings import creatinine_over_limit, show
from smearscan.verdict.scores.score import Score, ScoreItem, below, range_risk, scored_item
from smearscan.verdict.values import (
    HAPTOGLOBIN_UNDETECTABLE,
    PLASMIC,
    PLASMIC_CREATININE,
    PLASMIC_HIGH,
    PLASMIC_INDIRECT_BILIRUBIN,
    PLASMIC_INR,
    PLASMIC_INTERMEDIATE,
    PLASMIC_MCV,
    PLASMIC_NOT_VALIDATED,
    PLASMIC_PLATELETS,
    PLASMIC_RETICULOCYTES,
)


def undetectable_haptoglobin(value: float) -> bool:
    """PLASMIC's undetectable haptoglobin: a result reported under the assay's range ("<0.3
    g/L": the lab's assay detected none; QA 53 M2: refused for a measured value it cannot
    give), or a measured one under 0.1 g/L, the usual detection limit (this tool's rule). A
    bound that includes its limit ("<=0.1 g/L") reaches a value the assay detected, so it is
    read as its values are (QA 82 #2: scored undetectable, PLASMIC 6 where 0.1 g/L gives 5)."""
    under_range = isinstance(value, Bound) and value.sign == "<" and not value.inclusive
    return under_range or value < HAPTOGLOBIN_UNDETECTABLE


def _plasmic_haemolysis(labs: Labs) -> ScoreItem:
    """One point for reticulocytes > 2.5%, undetectable haptoglobin or indirect bilirubin > 2.0
    mg/dL; 0 only when all three are measured and none qualifies."""
    tests = [
        ("reticulocytes", labs.reticulocytes, lambda v: v > PLASMIC_RETICULOCYTES),
        ("haptoglobin", labs.haptoglobin, undetectable_haptoglobin),
        ("indirect_bilirubin", labs.indirect_bilirubin,
         lambda v: v > PLASMIC_INDIRECT_BILIRUBIN),
    ]
    value = ", ".join(f"{key.replace('_', ' ')} {show(key, v)}" for key, v, _ in tests)
    measured = [met(v) for _, v, met in tests if v is not None]
    points = 1 if any(measured) else (0 if len(measured) == len(tests) else None)
    item = (f"haemolysis (reticulocytes > {PLASMIC_RETICULOCYTES:g}%, undetectable haptoglobin "
            f"[under the lab's assay range, or < {HAPTOGLOBIN_UNDETECTABLE:g} g/L: this tool's "
            f"detection limit], or indirect bilirubin > {PLASMIC_INDIRECT_BILIRUBIN:g} mg/dL)")
    return ScoreItem(item, value, points, 1)


def _absent_item(item: str, key: str, present: bool | None) -> ScoreItem:
    """A point for a finding's absence, its value shown as the finding ("active cancer: yes"),
    not as an answer to the item's negative wording ("no active cancer: yes" reads as none)."""
    value = "missing" if present is None else f"{key.replace('_', ' ')}: {show(key, present)}"
    return ScoreItem(item, value, None if present is None else int(not present), 1)


def _plasmic_risk(points: int) -> str:
    if points >= PLASMIC_HIGH:
        return "high"
    return "intermediate" if points == PLASMIC_INTERMEDIATE else "low"


def plasmic_score(labs: Labs, *, adult: bool = True) -> Score:
    """PLASMIC score (Bendapudi 2017): seven items of one point; 0-4 low, 5 intermediate,
    6-7 high risk of severe ADAMTS13 deficiency. A metastatic cancer is an active one.
    ``adult``: the patient is an adult, the population it was derived and validated in; for
    another its notes say so, and where the creatinine is twice the lab's (a child's) limit but
    under the adult 2 mg/dL item, that the score counts no kidney injury (QA 56 #3: said of
    adults, it cast doubt on a validated item in its own population)."""
    items = (
        scored_item(f"platelets < {PLASMIC_PLATELETS:g} x10^9/L", "platelets", labs.platelets,
                    below(PLASMIC_PLATELETS)),
        _plasmic_haemolysis(labs),
        _absent_item("no active cancer (treated within the past year)", "active_cancer",
                     labs.cancer_active),
        _absent_item("no solid-organ or stem-cell transplant", "transplant", labs.transplant),
        scored_item(f"MCV < {PLASMIC_MCV:g} fL", "mcv", labs.mcv, below(PLASMIC_MCV)),
        scored_item(f"INR < {PLASMIC_INR:g}", "inr", labs.inr, below(PLASMIC_INR)),
        scored_item(f"creatinine < {PLASMIC_CREATININE:g} mg/dL", "creatinine", labs.creatinine,
                    below(PLASMIC_CREATININE)),
    )
    notes = ["validated for patients with thrombocytopenia and schistocytes"]
    if labs.cancer_active is False and labs.drug_exposure and cancer_treatment(labs.drug_exposure):
        # QA 71 F6: gemcitabine beside "no active cancer" took the item's point unremarked.
        drugs = ", ".join(sorted(tma_drugs_named(labs.drug_exposure)))
        notes.append(f"active cancer recorded as no, yet {drugs} is recorded, a cancer "
                     "treatment: a cancer it treated within the past year is an active one for "
                     "PLASMIC, and this item then scores 0 (this tool's note)")
    if not adult:
        notes.append(PLASMIC_NOT_VALIDATED)
        over_limit = creatinine_over_limit(labs)
        if over_limit is not None and labs.creatinine < PLASMIC_CREATININE:
            notes.append(f"creatinine {show('creatinine', labs.creatinine)} is under PLASMIC's "
                         f"{PLASMIC_CREATININE:g} mg/dL but {over_limit:.1f}x the lab's upper "
                         "limit: a kidney injury that PLASMIC's adult cut-off scores as none "
                         "(this tool's note)")
    return Score(PLASMIC, items, range_risk(items, _plasmic_risk), tuple(notes))
