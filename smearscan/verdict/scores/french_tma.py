"""French TMA score (Coppo P, et al. PLoS One 2010;5(4):e10208), and where it and PLASMIC
apply; the source and cut-offs in :mod:`smearscan.verdict.values`."""

from __future__ import annotations

from smearscan.labs import Labs
from smearscan.verdict.drugs import known_tma_drug
from smearscan.verdict.readings import beside, creatinine_umol
from smearscan.verdict.scores.isth_dic import dic_underlying
from smearscan.verdict.scores.score import INDETERMINATE, Score, ScoreItem, range_risk, scored_item
from smearscan.verdict.values import FRENCH, FRENCH_CREATININE_UMOL, FRENCH_PLATELETS


def _french_risk(points: int) -> str:
    return {0: "severe ADAMTS13 deficiency unlikely (0 of 2 criteria)",
            1: "severe ADAMTS13 deficiency possible (1 of 2 criteria)",
            2: "severe ADAMTS13 deficiency predicted (2 of 2 criteria)"}[points]


def french_unvalidated_context(labs: Labs) -> str | None:
    """The recorded context in which the French score is not validated (it was derived in
    idiopathic TMA: Coppo 2010; the score's own note), or None where it applies. A drug counts
    only when it is one known to cause TMA (:func:`~smearscan.verdict.drugs.known_tma_drug`):
    another drug does not make a TMA drug-associated."""
    contexts = [*dic_underlying(labs), *(["transplant"] if labs.transplant else []),
                *(["a drug"] if labs.drug_exposure and known_tma_drug(labs.drug_exposure)
                  else []),
                *(["pregnancy"] if labs.pregnancy else [])]
    return ", ".join(contexts) or None


def french_score(labs: Labs) -> Score:
    """French TMA score (Coppo 2010): platelets <= 30 x10^9/L and creatinine <= 200 umol/L,
    one point each, graded 0, 1 or 2 criteria; a positive ANA adds to the prediction but is
    not a point. Derived in idiopathic TMA."""
    umol = creatinine_umol(labs)
    items = (
        scored_item(f"platelets <= {FRENCH_PLATELETS:g} x10^9/L", "platelets", labs.platelets,
                    lambda value: int(value <= FRENCH_PLATELETS)),
        ScoreItem(f"creatinine <= {FRENCH_CREATININE_UMOL:g} umol/L (2.26 mg/dL)",
                  "missing" if umol is None else
                  f"{beside(umol, FRENCH_CREATININE_UMOL, digits=3)} umol/L",
                  None if umol is None else int(umol <= FRENCH_CREATININE_UMOL), 1),
    )
    ana = {"positive": "positive ANA: adds to the prediction of severe deficiency",
           "negative": "ANA negative", None: "ANA not given (an adjunct, not a point)"}[labs.ana]
    notes = ("derived in idiopathic (acquired) TMA: not validated in cancer-, drug-, "
             "transplant- or pregnancy-associated TMA",
             "derivation cohort, >= 1 criterion: sensitivity 98.1%, specificity 48.1%; both "
             "criteria give the highest probability", ana)
    return Score(FRENCH, items, range_risk(items, _french_risk, INDETERMINATE), notes)
