"""Misspelt lab keys: the abbreviations reports write (:data:`ABBREVIATIONS`), the keys a
slip is close to (:func:`close_keys`), and the refusal of an unknown key."""

from __future__ import annotations

import difflib
import re

from smearscan.errors import LabValueError
from smearscan.labs.keys import LAB_KEYS
from smearscan.labs.number import _accepted_unit

#: Abbreviations of lab results as reports and notes write them (Hb, PLT, retic...), each read
#: as the key it stands for where it is given as one (refused, as any misspelt key is: QA 44
#: L-2, '--plt 12' was read only as not given; too far from 'platelets' to be offered it).
ABBREVIATIONS = {"hb": "hemoglobin", "hgb": "hemoglobin", "plt": "platelets",
                 "plts": "platelets", "retic": "reticulocytes", "retics": "reticulocytes",
                 "hp": "haptoglobin", "hapto": "haptoglobin", "ibil": "indirect_bilirubin",
                 "cr": "creatinine", "creat": "creatinine", "fib": "fibrinogen",
                 "ddimer": "d_dimer", "dd": "d_dimer", "b12": "vitamin_b12", "adamts": "adamts13",
                 # QA 86 #7: the usual names of systemic sclerosis lost the URGENT line's
                 # caution against high-dose corticosteroids.
                 "scleroderma": "systemic_sclerosis", "sclerodermia": "systemic_sclerosis",
                 "ssc": "systemic_sclerosis"}


def close_keys(key: object) -> list[str]:
    """The lab keys a misspelt ``key`` is close to, closest first: in any case (QA 43 H-4:
    'ADAMTS13' was read only as not given) and spelt as an option ('--adamts-13', H-3); a
    second only as close as the first (L-3: 'haptoglobin_l' is 'haptoglobin_lln' or
    'haptoglobin'; a key read as another that is further off would only make the readings
    differ)."""
    lowered = str(key).strip().lower().lstrip("-").replace("-", "_")
    if lowered in LAB_KEYS:
        return [lowered]
    if lowered in ABBREVIATIONS:
        return [ABBREVIATIONS[lowered]]
    closest = difflib.get_close_matches(lowered, LAB_KEYS, n=1)
    as_close = difflib.get_close_matches(lowered, LAB_KEYS, n=2, cutoff=_AS_CLOSE)
    return closest + [key for key in as_close if key not in closest]


#: How alike (:class:`difflib.SequenceMatcher` ratio) a second lab key must be to a misspelt
#: one to be read as it too (this tool's rule).
_AS_CLOSE = 0.85


def _unknown_key(key: object, source: str) -> LabValueError:
    """The refusal of ``key``; one spelt as an option (``--adamts-13``, from the command line)
    is named and offered as options are."""
    as_option = str(key).startswith("-")
    close = [f"--{name.replace('_', '-')}" if as_option else name for name in close_keys(key)]
    what = "option" if as_option else "lab key"
    hint = (f"did you mean {' or '.join(map(repr, close))}?" if close
            else "--help lists the options" if as_option else f"known keys: {', '.join(LAB_KEYS)}")
    # QA 131 D4: a lab export's names often carry the unit ('hemoglobin (g/dL)').
    unit = re.fullmatch(r"\s*([\w -]+?)\s*[(\[]\s*([^)\]]*?)\s*[)\]]\s*", str(key))
    if unit is not None and not as_option:
        hint = _hint_for_a_unit_in_the_name(unit[1], unit[2])
    return LabValueError(f"{source}: unknown {what} {key!r}; {hint}", key=str(key))


def _hint_for_a_unit_in_the_name(name: str, unit: str) -> str:
    """What to do with a name that carries a unit ('hemoglobin (g/dL)'): a key is named only
    where ``name`` is one, or an abbreviation of one, never a slip of one, and a unit only
    where the key takes it: 'anti-ADAMTS13 (U/mL)', 'direct bilirubin (mg/dL)' or 'RBC
    (x10^12/L)' hold another measurement, which the key named would misread (QA 133 N1, N2;
    QA 132 D3: 'inr (ratio)' was told to write '1.2 ratio')."""
    lowered = re.sub(r"[\s-]+", "_", name.strip().lower())
    key = lowered if lowered in LAB_KEYS else ABBREVIATIONS.get(lowered)
    if key is None:
        return f"known keys: {', '.join(LAB_KEYS)}"
    spec = LAB_KEYS[key]
    if spec.kind != "number" or not any(spec.units):  # a word, or a bare ratio (INR)
        return f"name it {key!r}"
    if _accepted_unit(unit, spec):
        return f"name it {key!r} and write the unit with each value ('<value> {unit}')"
    return f"{key!r} does not take {unit}: check what it holds"
