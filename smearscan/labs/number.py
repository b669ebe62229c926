"""Reading one number: a value with or without its unit, a bound, converted to the key's
default unit; refusing a decimal comma, a dot that may group thousands, an unknown unit,
a bare number two units could mean (:func:`ambiguous_units`) and an implausible value,
each with the readings it may stand for."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from smearscan.errors import LabValueError
from smearscan.labs.forms import Bound
from smearscan.labs.keys import _PER_UL, LAB_KEYS, UNDETECTABLE, LabKey
from smearscan.labs.refusals import _fail

_NUMBER_TEXT = re.compile(
    r"\s*(<=|>=|[<>≤≥]?)\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*")
_UNIT_SPELLING = str.maketrans({"µ": "u", "μ": "u", "×": "x", "⁹": "9", "³": "3", "^": None,
                                " ": None})


def _unit_key(unit: str) -> str:
    """``unit`` as compared: micro signs, case and spaces aside, 'micro' as 'u', and mm3 as the
    uL it is (QA 130 #4: 'x10^3/mm3' and 'micromol/L' were refused)."""
    # Every space, a tab or a no-break one too (QA 142 H-1: '1 %\u00a0L' was no flag).
    key = "".join(unit.translate(_UNIT_SPELLING).split()).lower()
    key = re.sub(r"^(?:percent|pct)", "%", key)  # QA 139 H-1: '4 percent' was refused
    return key.replace("micro", "u").replace("mm3", "ul")


def _readings(value: float, spec: LabKey, units: Sequence[str] | None = None) -> list[float]:
    """The number ``value`` read in each accepted unit of ``spec`` (or of ``units``) where that
    is plausible, in its default unit: what a bare number two units could mean, or one written
    a unit away from plausible ('19 U/L' of LDH: 19 ukat/L), may stand for."""
    low, high = spec.plausible
    return [reading for reading in _in_units(value, spec, units) if low <= reading <= high]


def _in_units(value: float, spec: LabKey, units: Sequence[str] | None) -> list[float]:
    """``value`` read in each of ``units`` (every accepted unit of ``spec`` for None), in the
    default unit, each once, ascending."""
    return sorted({round(value * spec.units[unit], 6) for unit in units or spec.units})


#: The words and letters of a lab's flag after a result, as :func:`_unit_key` writes them
#: (spaces out, lower case): high, low, critical, panic or abnormal, HL7's letters (H, L, A, C,
#: D, U, N and their doubles), and what a report writes after an activity ('of normal'); with
#: any marks, arrows and punctuation round them ('(L)', '*', '!', '↓', '- L', '{L}'; QA 141 H-2,
#: QA 142 H-3).
_FLAG_WORDS = ("critical", "crit", "panic", "abnormal", "abn", "high", "hi", "low", "lo",
               "flagged", "flag", "activity", "of", "normal", "h", "l", "a", "c", "d", "u", "n")
#: ... and the marks round them: only these (QA 144 M-1: any sign was one, and '20 ‰' of
#: reticulocytes, 2%, was read as 20%).
_FLAG_MARKS = "*!()[]{}<>,.;:'\"-–↑↓▲▼⬆⬇⇑⇓"
_FLAG = re.compile(rf"(?:[{re.escape(_FLAG_MARKS)}]|{'|'.join(_FLAG_WORDS)})*")


def _flagged_unit(unit: str, spec: LabKey) -> list[str] | None:
    """The units a result written with ``unit``, unknown to ``spec``, may be in where it is a
    lab's flag: after an accepted unit ('% L', '%*', '1 percent L'), that unit; alone ('*',
    '(L)'), each accepted unit, as a bare number; None where it is no flag (another quantity's
    unit). Units are compared as :func:`_unit_key` writes them (QA 141 H-1: 'IU / dL L' and
    'K/µL L' were compared as written, and read as not given)."""
    written = _unit_key(unit).lstrip("*!")  # a mark before the unit too ('1* %')
    keys = {accepted: _unit_key(accepted) for accepted in spec.units if accepted}
    starts = [accepted for accepted, key in keys.items()
              if written.startswith(key) and _FLAG.fullmatch(written[len(key):])]
    if starts:
        return [max(starts, key=lambda accepted: len(keys[accepted]))]
    return list(spec.units) if _FLAG.fullmatch(written) else None


def _bounds(sign: str, value: float, inclusive: bool, spec: LabKey,
            units: Sequence[str] | None = None) -> list[Bound]:
    """The bound ``sign value`` read in each accepted unit of ``spec`` (or of ``units``) where
    its limit is plausible, in its default unit."""
    low, high = spec.plausible
    return [Bound(sign, limit, (low, high), inclusive)
            for limit in _in_units(value, spec, units) if low < limit < high]


def _comma_readings(key: str, raw: str, spec: LabKey, source: str) -> list[float]:
    """What a number written with a comma may be, in the key's default unit: the comma a
    decimal point ('7,5 g/dL'), or commas grouping thousands ('1,500'), each where it is read
    as a plausible value (QA 44 H-5: a decimal comma was read only as not given)."""
    written = [raw.replace(",", ".")]
    if re.fullmatch(r"\D*\d{1,3}(,\d{3})+(\D.*)?", raw.strip()):
        written.append(raw.replace(",", ""))
    readings: list[float] = []
    for text in written:
        try:
            value = _parse_number(key, text, spec, source)
        except LabValueError as error:
            readings += error.readings
            continue
        if not isinstance(value, Bound):  # a reading is a measured value
            readings.append(value)
    return sorted(set(readings))


def _split_number(key: str, raw: object, spec: LabKey, source: str
                  ) -> tuple[str, float, str | None]:
    """The bound's sign (``"<"``, ``">"`` or ``""`` for a measured value), the number and its
    unit (``None`` for a bare number)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise _fail(source, key, raw, f"expected a number in {spec.unit or 'no unit'}")
    if not isinstance(raw, str):
        try:
            return "", float(raw), None
        except OverflowError:  # a JSON integer beyond float's range (a string gives inf)
            raise _fail(source, key, raw, "not a finite number (too large)") from None
    if "," in raw:
        raise _fail(source, key, raw, "use a decimal point and no thousands separator",
                    _comma_readings(key, raw, spec, source))
    match = _NUMBER_TEXT.fullmatch(raw)
    if match is None:
        unit = f" {spec.unit}" if spec.unit else ""
        if _undetectable(raw):
            raise _fail(source, key, raw, "read as under a detection limit only for adamts13 "
                        f"and haptoglobin: give the bound the lab reports ('<N{unit}', N the "
                        "assay's detection limit)")
        # QA 85 #8: 'ND' or 'nil' was refused without a word of what is read.
        words = ", 'undetectable', 'not detected' or '<LOD'" if spec.undetectable else ""
        # QA 139 L-1: 'TBC' was refused without a word of how to give a result not back.
        raise _fail(source, key, raw, f"not a number (expected '<number>{unit}', a bound such "
                                      f"as '<0.1{unit}' or '<=0.1{unit}'{words}; a result not "
                                      "back yet: 'pending', or leave it empty)")
    if _THOUSANDS.fullmatch(match[2]):
        raise _fail(source, key, raw, f"a dot before three digits may group thousands "
                    f"({match[2].replace('.', '')}) or be a decimal point "
                    f"({float(match[2]):g}): write the number without it, or as a decimal "
                    "without trailing zeros")
    return match[1], float(match[2]), match[3] or None


#: A number whose dots each stand before three digits ('1.200', '250.000'): where a dot groups
#: thousands it is 1200, elsewhere 1.2. Read as a decimal, LDH 1.200 U/L (1200) passed as
#: normal and lost an URGENT line, and platelets 250.000 /uL (250,000) read 0.25 x10^9/L.
_THOUSANDS = re.compile(r"[+-]?[1-9]\d{0,2}(\.\d{3})+")


def _unit_hint(value: float, spec: LabKey, given: str) -> str:
    """Where ``value``, out of range in the unit ``given``, is plausible in another accepted
    unit, the default among them (QA 116 L-2: '1.5 umol/L' of creatinine got no hint of
    mg/dL)."""
    low, high = spec.plausible
    for unit, factor in {spec.unit: 1.0, **spec.units}.items():
        if unit and _unit_key(unit) != _unit_key(given) and low <= value * factor <= high:
            return f" (was it in {unit}?)"
    if value > high and spec.refused_units:  # a count is larger than a % of it
        unit, reason = next(iter(spec.refused_units.items()))
        return f" (was it in {unit}? that is {reason})"
    return ""


def ambiguous_units(key: str, value: float) -> list[str]:
    """The other common units in which the bare number ``value`` of ``key`` is a plausible
    result too (empty when a bare number is unambiguous; zero is zero in every unit)."""
    spec = LAB_KEYS[key]
    return [unit for unit, (low, high) in spec.ambiguous.items()
            if value != 0 and low <= value <= high]


def plain(value: float, digits: int = 4) -> str:
    """``value`` to ``digits`` significant digits, never in scientific notation (QA 63 L5: a lab
    user read "2.4e+04 U/L" and "1e+03x")."""
    rounded = float(f"{value:.{digits}g}")
    if rounded == 0 or not math.isfinite(rounded):
        return f"{rounded:g}"
    decimals = max(digits - 1 - math.floor(math.log10(abs(rounded))), 0)
    text = f"{rounded:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _with_unit(value: float, unit: str) -> str:
    return f"{plain(value)}{unit}" if unit in ("", "%") else f"{plain(value)} {unit}"


def _refuse_ambiguous(key: str, raw: object, value: float, spec: LabKey, source: str) -> None:
    others = ambiguous_units(key, value)
    if not others:
        return
    readings = [_with_unit(value, spec.unit), *(
        f"{_with_unit(value, unit)} (an absolute count)" if unit in spec.refused_units else
        f"{_with_unit(value, unit)} (= {_with_unit(value * spec.units[unit], spec.unit)})"
        for unit in others)]
    examples = " or ".join(f"'{value:g} {unit}'" for unit in (spec.unit, *others)
                           if unit not in spec.refused_units)
    raise _fail(source, key, raw, f"a bare number could be {' or '.join(readings)}; give the "
                f"unit, e.g. {examples}", _readings(value, spec))


def _unit_factor(key: str, raw: object, unit: str, spec: LabKey, source: str,
                 readings: Sequence[float] = (), flagged: Sequence[str] | None = None) -> float:
    """The factor from ``unit`` to the key's default unit; a refused or unknown unit raises,
    the unknown one with the ``readings`` the number may stand for, saying where it is a
    lab's flag after the unit ``flagged`` (:func:`_flagged_unit`)."""
    refused = {_unit_key(name): reason for name, reason in spec.refused_units.items()}
    if _unit_key(unit) in refused:
        raise _fail(source, key, raw, f"{unit} is {refused[_unit_key(unit)]}")
    name = _accepted_unit(unit, spec)
    if name is None and (interval := re.match(r"\s*[-\u2013]\s*(\d.*)", unit)):
        # QA 121 L-1: a reference interval copied whole ('0.0-0.5 mg/L FEU') was told of an
        # unknown unit '-0.5 mg/L FEU'.
        limit = ("; a lower limit of normal is its start" if key.endswith("_lln") else
                 f"; an upper limit of normal is its end, here {interval[1].strip()!r}"
                 if key.endswith("_uln") else "")
        raise _fail(source, key, raw, f"a range: give one value{limit}")
    if name is None:
        accepted = ", ".join(name or "(no unit)" for name in spec.units)
        # QA 144 L-1: '2 L' was told of an unknown unit 'L', a flag.
        flag = ("" if flagged is None else " (a lab's flag? write the value alone with its unit)"
                if len(flagged) > 1 else f" (a lab's flag after {flagged[0]}? write the value "
                "alone with its unit)")
        raise _fail(source, key, raw, f"unknown unit {unit!r}{flag}; accepted: {accepted}",
                    readings)
    return spec.units[name]


def _accepted_unit(unit: str, spec: LabKey) -> str | None:
    """The accepted unit of ``spec`` that ``unit`` is written as (case, spaces and micro signs
    aside), or None."""
    return next((name for name in spec.units if _unit_key(name) == _unit_key(unit)), None)


def _undetectable(raw: object) -> bool:
    """``raw`` is a result reported under the assay's detection limit (:data:`UNDETECTABLE`)."""
    return isinstance(raw, str) and " ".join(raw.lower().split()) in UNDETECTABLE


def _parse_number(key: str, raw: object, spec: LabKey, source: str) -> float:
    if spec.undetectable is not None and _undetectable(raw):
        return Bound("<", spec.undetectable, spec.plausible, word=" ".join(raw.split()))
    sign, value, unit = _split_number(key, raw, spec, source)
    inclusive = sign in ("<=", ">=", "≤", "≥")
    sign = "<" if sign in ("<", "<=", "≤") else ">" if sign else ""
    if not math.isfinite(value):
        raise _fail(source, key, raw, "not a finite number")
    if unit is None:
        _refuse_ambiguous(key, raw, value, spec, source)
        unit = spec.unit
    # An unknown unit is read as the accepted one it starts with, a lab's flag after it ('4 % L';
    # QA 140 H-1: read in IU/mL too, '1 % L' weakened "TTP suspected" to "possible"), else as
    # each accepted one (QA 139 H-1: read only as not given, a severe ADAMTS13 deficiency lost
    # its line).
    read = _flagged_unit(unit, spec)
    factor = _unit_factor(key, raw, unit, spec, source, () if read is None else
                          _bounds(sign, value, inclusive, spec, read) if sign
                          else _readings(value, spec, read), read)
    if factor == _PER_UL and _thousands_per_ul(key, raw, value):
        raise _fail(source, key, raw, f"{value:g} per uL is {value * _PER_UL:g} x10^9/L: was it "
                    f"in x10^3/uL ({value:g} x10^9/L)?")
    low, high = spec.plausible
    if value < 0 and low >= 0:
        # Read as the number without its dash too (QA 44 H-1: '--adamts13 -5%' beside a TTP
        # picture lost the line that 5% calls for).
        unsigned = round(-value * factor, 6)
        # A bound read without its dash stays a bound (QA 82 #3: '>=-1 %' of ADAMTS13 was
        # read as 1%, a severe deficiency).
        reading = Bound(sign, unsigned, (low, high), inclusive) if sign else unsigned
        raise _fail(source, key, raw, "negative", [reading] if low <= unsigned <= high else [])
    converted = round(value * factor, 6)
    if not low <= converted <= high:
        shown = f" {spec.unit}" if spec.unit else ""  # INR has none
        raise _fail(source, key, raw,
                    f"{converted:g}{shown} is outside the plausible range "
                    f"{low:g}-{high:g}{shown}{_unit_hint(value, spec, unit)}",
                    () if sign else _readings(value, spec))
    if not sign:
        return converted
    if converted == (low if sign == "<" else high) and not inclusive:
        raise _fail(source, key, raw, f"no plausible value is {sign}{converted:g} {spec.unit}")
    return Bound(sign, converted, (low, high), inclusive)


def _thousands_per_ul(key: str, raw: object, value: float) -> bool:
    """A count given per uL that is one in thousands per uL: not a whole number, a platelet
    count under 1000 but 0, or one under 1000 written with a decimal point ('8.0 /uL'; but
    '2.5e5 /uL' is read, QA 23 N9). QA 22 D7: platelets '30.0 /uL' read 0.03 x10^9/L and raised
    a false URGENT line."""
    if not float(value).is_integer():
        return True
    under = 0 < value < 1 / _PER_UL
    return under and (key == "platelets" or isinstance(raw, str) and "." in raw)
