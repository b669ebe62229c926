"""A patient's lab values as the verdict reads them: as text with their units, derived values
(D-dimer x ULN, creatinine in umol/L), and the limits that apply to this patient."""

from __future__ import annotations

from collections.abc import Sequence

from smearscan.labs import LAB_KEYS, Bound, Labs
from smearscan.verdict.values import (
    AKI_ULN_MULTIPLE,
    CHILD_INJURY_CREATININE,
    CREATININE_RAISED,
    HEMOGLOBIN_LOW,
    HEMOGLOBIN_LOW_UNKNOWN_SEX,
    HUS_CREATININE,
    UMOL_PER_MG_DL_CREATININE,
)


def show(key: str, value: object) -> str:
    """A lab value with its unit, e.g. ``"82 x10^9/L"``; ``"missing"`` for ``None``."""
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    unit = LAB_KEYS[key].unit
    # A value converted from another unit to 3 decimals: 123.8 umol/L is 1.4 mg/dL, not
    # 1.40045 (QA 56 #8); a bound keeps its side, and its limit is rounded so too (QA 82 #11:
    # '<=176 umol/L' was shown '<=1.99095 mg/dL').
    if isinstance(value, Bound):
        shown = f"{value.written_sign}{round(value.limit, 3):g}"
    else:
        shown = f"{round(value, 3):g}"
    shown = f"{shown}{unit}" if unit in ("", "%") else f"{shown} {unit}"
    # A result written as a word shows the bound it was read as (QA 84 #1).
    return f"{value.word} ({shown})" if isinstance(value, Bound) and value.word else shown


def d_dimer_ratio(labs: Labs) -> float | None:
    """D-dimer as a multiple of its ULN, or ``None``."""
    if labs.d_dimer is None or labs.d_dimer_uln is None:
        return None
    return round(labs.d_dimer / labs.d_dimer_uln, 6)


def beside(value: float, limit: float, digits: int = 4) -> str:
    """``value`` to ``digits`` significant digits, or more where those read as the ``limit``
    it is not (QA 64 F8: 2.5003% shown "2.5% > 2.5%"; QA 77 L5: 200.04 umol/L as "200")."""
    for shown in (digits, 6, 8):
        text = f"{value:.{shown}g}"
        if float(text) != limit or value == limit:
            return text
    return repr(value)


def creatinine_umol(labs: Labs) -> float | None:
    """Creatinine in umol/L, or ``None``. Rounded to 0.001 umol/L, under the noise of the round
    trip through mg/dL (200 umol/L back as 199.99996; QA 79 N6): to 0.1 it read 200.04 umol/L
    as 200, at the French score's cut-off (QA 77 L5)."""
    if labs.creatinine is None:
        return None
    return round(labs.creatinine * UMOL_PER_MG_DL_CREATININE, 3)


def creatinine_over_limit(labs: Labs) -> float | None:
    """The creatinine as a multiple of the lab's own upper limit where it is at least
    :data:`~smearscan.verdict.values.AKI_ULN_MULTIPLE` (a kidney injury pattern whatever the
    adult cut-offs say), else None."""
    if labs.creatinine is None or labs.creatinine_uln is None:
        return None
    ratio = labs.creatinine / labs.creatinine_uln
    return ratio if ratio >= AKI_ULN_MULTIPLE else None


def creatinine_limit(labs: Labs) -> tuple[float, str]:
    """The creatinine (mg/dL) above which it is raised in this patient, and whose limit it is:
    the lab's own (``creatinine_uln``, for a child its age's) when given, else the adult one of
    :data:`CREATININE_RAISED`."""
    if labs.creatinine_uln is not None:
        return labs.creatinine_uln, "the lab's upper limit"
    if labs.sex == "male":
        return CREATININE_RAISED["male"], "men"
    return CREATININE_RAISED["female"], "women" if labs.sex else "women; sex not given"


def anaemia_limit(labs: Labs) -> tuple[float, str]:
    """The WHO 2011 haemoglobin limit (g/dL) for this patient and whom it is for."""
    if labs.pregnancy:
        return HEMOGLOBIN_LOW["pregnancy"], "pregnancy"
    if labs.sex is not None:
        return HEMOGLOBIN_LOW[labs.sex], "men" if labs.sex == "male" else "women"
    return HEMOGLOBIN_LOW_UNKNOWN_SEX, "women; sex not given"


def kidney_injury(labs: Labs, *, adult: bool = True) -> bool:
    """A kidney injury pattern: a creatinine of
    :data:`~smearscan.verdict.values.HUS_CREATININE` (2 mg/dL) or more, or
    :data:`~smearscan.verdict.values.AKI_ULN_MULTIPLE` times the lab's own limit or more, or
    for a child (not ``adult``) without the lab's limit,
    :data:`~smearscan.verdict.values.CHILD_INJURY_CREATININE` (this tool's rule); False where no
    creatinine is given."""
    if labs.creatinine is None:
        return False
    child = (not adult and labs.creatinine_uln is None
             and labs.creatinine >= CHILD_INJURY_CREATININE)
    return child or creatinine_over_limit(labs) is not None or labs.creatinine >= HUS_CREATININE


def kidney_injury_or_diarrhoea(labs: Labs) -> bool:
    """Diarrhoea recorded, or a :func:`kidney_injury` pattern (a HUS whose platelets may not
    have fallen yet; this tool's rule)."""
    return bool(labs.diarrhoea) or kidney_injury(labs)


def listed(items: Sequence[str]) -> str:
    """``items`` as a sentence lists them: "a", "a and b", "a, b and c"."""
    return " and ".join(filter(None, (", ".join(items[:-1]), items[-1])))
