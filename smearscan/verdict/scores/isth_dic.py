"""ISTH overt DIC score, 2025 update; the source and cut-offs in
:mod:`smearscan.verdict.values`."""

from __future__ import annotations

from smearscan.labs import Bound, Labs
from smearscan.verdict.readings import d_dimer_ratio, show
from smearscan.verdict.scores.score import (
    INDETERMINATE,
    Score,
    ScoreItem,
    below,
    range_risk,
    scored_item,
)
from smearscan.verdict.values import (
    ISTH_D_DIMER_ULN,
    ISTH_DIC,
    ISTH_FIBRINOGEN,
    ISTH_OVERT_DIC,
    ISTH_PLATELETS,
    ISTH_PT_S,
)


def _isth_platelets(platelets: float) -> int:
    return 0 if platelets >= ISTH_PLATELETS[0] else 1 if platelets >= ISTH_PLATELETS[1] else 2


def _isth_d_dimer(ratio: float) -> int:
    return 0 if ratio <= ISTH_D_DIMER_ULN[0] else 2 if ratio <= ISTH_D_DIMER_ULN[1] else 3


def _isth_pt(seconds: float) -> int:
    return 0 if seconds < ISTH_PT_S[0] else 1 if seconds < ISTH_PT_S[1] else 2


def _isth_risk(points: int) -> str:
    if points >= ISTH_OVERT_DIC:
        return f"compatible with overt DIC (>= {ISTH_OVERT_DIC})"
    return f"not compatible with overt DIC (< {ISTH_OVERT_DIC})"


def dic_underlying(labs: Labs) -> list[str]:
    """Recorded disorders known to cause DIC (ISTH): cancer, sepsis, trauma, obstetric
    complication (HELLP, abruption, amniotic-fluid embolism)."""
    obstetric = labs.obstetric_complication
    named = f"obstetric complication ({obstetric})" if isinstance(obstetric, str) else \
        "obstetric complication"
    return [name for name, flag in (("active cancer", labs.cancer_active),
                                    ("sepsis", labs.sepsis), ("trauma", labs.trauma),
                                    (named, obstetric)) if flag]


def _ratio_text(labs: Labs, ratio: float) -> str:
    """``"40x ULN"``; of a D-dimer given as a bound, with its sign (``">40x ULN"``; QA 150 L-2:
    a '>20 mg/L' read "40x ULN")."""
    value = labs.d_dimer
    if not isinstance(value, Bound):
        return f"{ratio:g}x ULN"
    return f"{value.written_sign}{round(value.limit / labs.d_dimer_uln, 6):g}x ULN"


def isth_dic_score(labs: Labs) -> Score:
    """ISTH overt DIC score, 2025 update: platelets >= 100/50-<100/<50 -> 0/1/2; D-dimer x ULN
    <= 3/>3-<=7/>7 -> 0/2/3; PT prolongation < 3/3-<6/>=6 s -> 0/1/2; fibrinogen >= 1.0/<1.0 g/L
    -> 0/1. A total >= 5 is compatible with overt DIC, only with an underlying disorder."""
    ratio = d_dimer_ratio(labs)
    (high, low), (near, far), (short, long) = ISTH_PLATELETS, ISTH_D_DIMER_ULN, ISTH_PT_S
    items = (
        scored_item(f"platelets (>= {high:g} / {low:g} to < {high:g} / < {low:g} x10^9/L -> 0/1/2)",
                    "platelets", labs.platelets, _isth_platelets, 2),
        ScoreItem(f"D-dimer x ULN (<= {near:g} / > {near:g} to <= {far:g} / > {far:g} -> 0/2/3)",
                  "missing" if ratio is None else _ratio_text(labs, ratio),
                  None if ratio is None else _isth_d_dimer(ratio), 3),
        scored_item(f"PT prolongation (< {short:g} / {short:g} to < {long:g} / >= {long:g} s "
                    "-> 0/1/2)", "pt_prolongation_s", labs.pt_prolongation_s, _isth_pt, 2),
        scored_item(f"fibrinogen (>= {ISTH_FIBRINOGEN:g} / < {ISTH_FIBRINOGEN:g} g/L -> 0/1)",
                    "fibrinogen", labs.fibrinogen, below(ISTH_FIBRINOGEN)),
    )
    disorders = dic_underlying(labs)
    notes = ["only meaningful with an underlying disorder known to cause DIC (sepsis, "
             "malignancy, trauma, obstetric complication); recorded: "
             f"{', '.join(disorders) or 'none recorded'}"]
    risk = range_risk(items, _isth_risk, INDETERMINATE)
    if not disorders and risk.startswith("compatible"):
        # QA 8 #15: the score applies only with such a disorder (ISTH 2025).
        risk += ", but no underlying disorder is recorded: the score does not apply"
    if labs.pt_prolongation_s is None and labs.inr is not None:
        notes.append(f"PT prolongation in seconds over the local control is needed; the INR "
                     f"({show('inr', labs.inr)}) is not converted: an INR of 1.3-1.49 can be "
                     "3-6 s over control (1 point), a higher one more")
    return Score(ISTH_DIC, items, risk, tuple(notes))
