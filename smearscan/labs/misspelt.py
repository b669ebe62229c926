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
    if (suffix := _unit_suffix(key)) is not None:  # 'creatinine_umol_l', not the limit's key
        return [suffix[0]]
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
    close = [f"--{name.replace('_', '-')}" if as_option else name for name in offered_keys(key)]
    what = "option" if as_option else "lab key"
    hint = (f"did you mean {' or '.join(map(repr, close))}?" if close
            else "--help lists the options" if as_option else f"known keys: {', '.join(LAB_KEYS)}")
    # QA 131 D4: a lab export's names often carry the unit ('hemoglobin (g/dL)').
    unit = re.fullmatch(r"\s*([\w -]+?)\s*[(\[]\s*([^)\]]*?)\s*[)\]]\s*", str(key))
    if unit is not None and not as_option:
        hint = _hint_for_a_unit_in_the_name(unit[1], unit[2])
    elif (suffix := _unit_suffix(key, squashed=True)) is not None and not as_option:
        hint = _hint_for_a_unit_in_the_name(*suffix)
    return LabValueError(f"{source}: unknown {what} {key!r}; {hint}", key=str(key))


#: Words that make a name another measurement than the key it is spelt like: an antibody
#: or antigen of ADAMTS13 is not its activity, a direct or total bilirubin not the indirect, a
#: reticulocyte count not their % (QA 133 N1, N2; QA 135 E1: offered as that key, its value
#: would be misread, an anti-ADAMTS13 of 60 as 60% activity, and the URGENT line lost).
_OTHER_MEASUREMENT = frozenset({"anti", "antibody", "antibodies", "inhibitor", "antigen", "ag",
                                "direct", "total", "conjugated", "count", "absolute", "urine",
                                "urinary"})
#: How alike (:class:`difflib.SequenceMatcher` ratio) a refused name must be to a key to be
#: offered as it: 'rbc' is 0.67 of 'wbc', 'mch' of 'mcv' (QA 135 E1); 'hemoglobn' 0.95 (this
#: tool's rule). A file's URGENT line still reads a slip as every key it is close to
#: (:func:`close_keys`): that can only add a line.
_OFFERED_CLOSE = 0.8


def offered_keys(name: object) -> list[str]:
    """The keys a refused ``name`` is offered as ("did you mean"): itself in another case or
    spelt as an option, its abbreviation, or a slip of a key (:func:`close_keys`) at least
    :data:`_OFFERED_CLOSE` alike with no word of :data:`_OTHER_MEASUREMENT` the key lacks."""
    lowered = str(name).strip().lower().lstrip("-").replace("-", "_")
    if lowered in LAB_KEYS or lowered in ABBREVIATIONS:
        return close_keys(name)
    if (suffix := _unit_suffix(name, squashed=True)) is not None:  # 'LDH_U': not 'ldh_uln'
        return [suffix[0]]
    words = set(re.findall(r"[a-z]+", lowered))
    return [key for key in close_keys(name)
            if difflib.SequenceMatcher(None, lowered, key).ratio() >= _OFFERED_CLOSE
            and not (words & _OTHER_MEASUREMENT) - set(re.findall(r"[a-z]+", key))]


def _hint_for_a_unit_in_the_name(name: str, unit: str) -> str:
    """What to do with a name that carries a unit ('hemoglobin (g/dL)'): a key is named only
    where ``name`` is offered as one (:func:`offered_keys`), and a unit only where the key takes
    it: 'anti-ADAMTS13 (U/mL)', 'direct bilirubin (mg/dL)' or 'RBC (x10^12/L)' hold another
    measurement, which the key named would misread (QA 133 N1, N2; QA 132 D3: 'inr (ratio)'
    was told to write '1.2 ratio'; QA 135 E2: 'Haemoglobin (g/dL)' was named no key)."""
    key = next(iter(offered_keys(re.sub(r"[\s-]+", "_", name.strip()))), None)
    if key is None:
        return f"known keys: {', '.join(LAB_KEYS)}"
    spec = LAB_KEYS[key]
    if spec.kind != "number" or not any(spec.units):  # a word, or a bare ratio (INR)
        return f"name it {key!r}"
    if _accepted_unit(unit, spec):
        return f"name it {key!r} and write the unit with each value ('<value> {unit}')"
    return (f"{key!r} does not take {unit}: check what it holds; it takes "
            f"{', '.join(accepted for accepted in spec.units if accepted)}")


def _unit_suffix(name: object, *, squashed: bool = False) -> tuple[str, str] | None:
    """A lab key and the unit ``name`` writes after it with underscores ('creatinine_umol_l',
    'Hb_g_dL'), where the key takes that unit, else None (QA 139 L-2: 'creatinine_umol_l' was
    offered as 'creatinine_uln', which would have read the result as its limit); with
    ``squashed``, also one written without its separators or cut short ('LDH_UL', 'LDH_U'):
    only for what a refusal offers, a refused file's URGENT line still reading such a name as
    every key it is close to."""
    lowered = str(name).strip().lower()
    for key, spec in LAB_KEYS.items():
        rest = lowered.removeprefix(f"{key}_")
        if rest != lowered and spec.kind == "number":
            unit = _accepted_unit(re.sub(r"_+", "/", rest), spec) or (
                _squashed_unit(rest, spec) if squashed else None)
            if unit:  # not the empty unit of a bare ratio
                return key, unit
    return None


def _squashed_unit(rest: str, spec) -> str | None:
    """The first accepted unit of ``spec`` that ``rest`` spells without its separators, or
    begins ('LDH_UL', 'LDH_U' for U/L; QA 157 L: offered as 'ldh_uln', which would have read
    the result as its limit)."""
    written = re.sub(r"[^a-z0-9]", "", rest)
    return next((unit for unit in spec.units
                 if written and re.sub(r"[^a-z0-9]", "", unit.lower()).startswith(written)),
                None)
