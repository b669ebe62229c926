"""Laboratory values for the verdict: parse, convert to one unit per key, reject the implausible.

A lab value is a number in the key's default unit (see :data:`LAB_KEYS`) or a string
``"<number> <unit>"`` in one of the key's accepted units, converted on input (CLINICAL.md,
"Units"). Unicode micro signs (``µ``, ``μ``) read as ``u``; ``×`` as ``x``; ``⁹``/``³`` as digits;
case and spaces in the unit do not matter. A value of ``None``, ``""``, ``"NA"``, ``"n/a"``,
``"-"``, ``"unknown"`` or ``"not known"`` is missing (not recorded); for a yes/no or named key
(``drug_exposure``, ``obstetric_complication``) ``"none"`` and ``"nil"`` mean no, as ``"no"`` does.

Nothing is guessed: an unknown key (with the closest known key suggested), a negative or
non-numeric value, an unknown unit, a decimal comma, a dot that may group thousands
(``1.200``), or a value outside
the key's plausible range (usually a unit mix-up, such as haemoglobin 70 "g/dL" that was g/L)
raises :class:`LabValueError` with a one-line message naming the key, the value and the problem.

A bare number (no unit) is read in the default unit, except where it is also a plausible result
in another common unit of the key (:attr:`LabKey.ambiguous`, e.g. ADAMTS13 0.6: 0.6% or
0.6 IU/mL = 60%; haptoglobin 8: 8 g/L or 8 mg/dL): then it is refused, naming the key and the
units it could be, and the unit must be given. A value with a unit is always read in that unit.
Zero is never ambiguous (it is zero in every unit).

A result the lab reports only as a bound, ``"<0.1 g/L"`` (under the assay's range: an
undetectable haptoglobin, ADAMTS13 "<5%") or ``">20 mg/L"`` (over it), is a :class:`Bound`. It
is read just inside the bound, so that a cut-off at the bound itself is judged right (ADAMTS13
"<10%" is a severe deficiency), and :func:`smearscan.verdict.assess` refuses it where the verdict
would differ somewhere in the range it stands for (ADAMTS13 "<20%" spans the 10% cut-off).

Plausible ranges and ambiguous ranges are this tool's rules (not published cut-offs); their job is
to catch unit mix-ups, so the plausible ranges stop short of values that are only a unit away
(platelets and WBC stop at 2000 and 500 x10^9/L so that a count per uL is not read as x10^9/L).
"""

from __future__ import annotations

import csv
import datetime
import difflib
import functools
import io
import itertools
import json
import math
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from smearscan.errors import LabValueError
from smearscan.naming import slide_name

__all__ = ["LAB_KEYS", "MOST_PROBLEMS_READ", "MOST_WAYS_READ", "Bound", "LabKey", "LabRow",
           "LabValueError", "Labs", "Repeated", "ambiguous_units", "check_lab_slides", "check_ldh",
           "close_keys", "lab_readings", "labs_for_slide", "ldh_limit_implausible",
           "ldh_maybe_in_ukat", "ldh_not_serum", "ldh_under_serum_level", "ldh_without_limit",
           "merged_readings", "parse_labs", "read_lab_rows", "read_labs_file", "reading_rank",
           "refused_names", "slide_slips", "slips_hint", "with_overrides"]


@dataclass(frozen=True)
class LabKey:
    """How one lab key is read.

    Attributes
    ----------
    kind : str
        ``"number"``, ``"posneg"`` (``"positive"``/``"negative"``), ``"bool"``, ``"choice"``
        (one of :attr:`choices`) or ``"named"`` (a name, such as a drug's, or a yes/no answer).
    unit : str
        Default unit of a number: bare numbers are read in it and values are stored in it.
    units : Mapping[str, float]
        Accepted units and the factor that converts each to ``unit``.
    plausible : tuple of float, optional
        Inclusive range, in ``unit``, outside which a number is rejected as impossible.
    meaning : str
        What the key is, for help texts.
    ambiguous : Mapping[str, tuple of float]
        For another common unit of the key, the inclusive range of bare numbers that are a
        plausible result in that unit too; such a bare number is refused (this tool's rule).
    choices : tuple of str
        The accepted words of a ``"choice"`` key.
    refused_units : Mapping[str, str]
        Units of another quantity reported under the key's name, which cannot be converted to
        ``unit`` (a reticulocyte count in x10^9/L), each with why and what to give instead.
    """

    kind: str
    unit: str = ""
    units: Mapping[str, float] = field(default_factory=dict)
    plausible: tuple[float, float] | None = None
    meaning: str = ""
    ambiguous: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    choices: tuple[str, ...] = ()
    refused_units: Mapping[str, str] = field(default_factory=dict)


def _number(unit: str, units: Mapping[str, float], plausible: tuple[float, float],
            meaning: str, ambiguous: Mapping[str, tuple[float, float]] | None = None, *,
            refused_units: Mapping[str, str] | None = None) -> LabKey:
    return LabKey("number", unit, {unit: 1.0, **units}, plausible, meaning, ambiguous or {},
                  refused_units=refused_units or {})


# Counts: x10^9/L = x10^3/uL = G/L; per uL (= per mm3) / 1000 (CLINICAL.md, "Units").
_PER_UL = 0.001  # a count per uL (or mm3) in x10^9/L
_COUNT_UNITS = {"10^9/L": 1.0, "G/L": 1.0, "x10^3/uL": 1.0, "10^3/uL": 1.0, "K/uL": 1.0,
                "/uL": _PER_UL, "/mm3": _PER_UL}
# D-dimer: only its ratio to the ULN is used; units with an optional FEU/DDU basis.
_D_DIMER_UNITS = {f"{unit}{basis}": factor
                  for unit, factor in {"ug/L": 1.0, "mg/L": 1000.0, "ug/mL": 1000.0}.items()
                  for basis in ("", " FEU", " DDU")}
_D_DIMER_UNITS.update({"ng/mL FEU": 1.0, "ng/mL DDU": 1.0})
# Vitamin B12: 1 pg/mL = 0.738 pmol/L. Folate: 1 ng/mL = 2.266 nmol/L.
_B12_UNITS = {"ng/L": 1.0, "pmol/L": 1 / 0.738}
_FOLATE_UNITS = {"ug/L": 1.0, "nmol/L": 1 / 2.266}
# Reticulocytes: % of red cells; SI reports give them as a number fraction of red cells
# (0.015 = 1.5%), and analysers also as an absolute count in x10^9/L. A count becomes a % only
# with the red-cell count, which no lab key holds, so it is refused. The plausible range stops
# at 50% (this tool's rule): even brisk haemolysis rarely passes 30%, while absolute counts
# (x10^9/L) are mostly over 50, so a larger bare number is refused as probably a count. A count
# under 50 cannot be told from a % by the number alone and is read as a %.
_RETICULOCYTE_UNITS = {"fraction": 100.0}
_RETICULOCYTE_COUNT = ("an absolute count, which needs the red-cell count to become a %: give "
                       "the % of red cells, e.g. '2.1 %', or the fraction, e.g. '0.021 fraction'")
_RETICULOCYTE_COUNT_UNITS = {unit: _RETICULOCYTE_COUNT for unit in ("x10^9/L", *_COUNT_UNITS)}

# Bare numbers refused because they are plausible results in a second common unit (this tool's
# rule; the ranges are the bare numbers, inclusive, whose reading in that unit is plausible too):
# - haemoglobin: 0-15.5 mmol/L is 0-25 g/dL and 10-25 g/L is 1-2.5 g/dL, so every bare number
#   of the plausible range 1-25 g/dL has a second reading;
_HB_AMBIGUOUS = {"mmol/L": (0.0, 15.5), "g/L": (10.0, 25.0)}
# - platelets: 1000-2000 is a severe thrombocytopenia per uL (1-2 x10^9/L, the lowest counts
#   analysers report) or an extreme thrombocytosis in x10^9/L;
# - WBC: 100-500 is an aplastic count per uL (0.1-0.5 x10^9/L) or hyperleukocytosis in x10^9/L;
# - LDH: 0-400 ukat/L is 0-24,000 U/L, all seen in haemolysis, and 0-400 U/L spans the normal
#   range;
# - haptoglobin: g/L results (0-10) and mg/dL results below 10 (undetectable) overlap;
# - indirect bilirubin: 0-50 umol/L is 0-2.9 mg/dL, inside the plausible mg/dL range;
# - creatinine: 10-25 umol/L (0.11-0.28 mg/dL, very low muscle mass) or 10-25 mg/dL (kidney
#   failure); below 10 a bare number is not a umol/L result;
# - fibrinogen: 10-15 mg/dL (0.10-0.15 g/L, severe consumption) or 10-15 g/L;
# - ADAMTS13: 0-2 IU/mL (or a fraction of normal) is 0-200%, and 0-2% is severe deficiency;
# - reticulocytes: a fraction of 0-0.5 is 0-50% (the plausible range), and 0-0.5% is a
#   reticulocytopenia (aplasia), so 0.06 could be 0.06% or 6%; 10-50 is a marked
#   reticulocytosis in % or a low-to-normal absolute count in x10^9/L (reference interval about
#   25-100 x10^9/L), which cannot become a % (read as one, a normal count would pass for
#   haemolysis and raise PLASMIC);
# - vitamin B12 and folate: pg/mL and pmol/L (ng/mL and nmol/L) results overlap everywhere.
_LDH_AMBIGUOUS = {"ukat/L": (0.0, 400.0)}
_HAPTOGLOBIN_AMBIGUOUS = {"mg/dL": (0.0, 10.0)}
_B12_AMBIGUOUS = {"pmol/L": (0.0, 50000.0)}
_FOLATE_AMBIGUOUS = {"nmol/L": (0.0, 100.0)}
_RETICULOCYTE_AMBIGUOUS = {"fraction": (0.0, 0.5), "x10^9/L": (10.0, 50.0)}

#: Every lab key, in the order of :class:`Labs`: kind, default unit, accepted units
#: (factor to the default unit), plausible range and meaning.
LAB_KEYS: dict[str, LabKey] = {
    "sex": LabKey("choice", meaning="sex, for the WHO anaemia limit", choices=("female", "male")),
    "hemoglobin": _number("g/dL", {"g/L": 0.1, "mmol/L": 1.611}, (1.0, 25.0), "haemoglobin",
                          _HB_AMBIGUOUS),
    "platelets": _number("x10^9/L", _COUNT_UNITS, (0.0, 2000.0), "platelet count",
                         {"/uL": (1000.0, 2000.0)}),
    "wbc": _number("x10^9/L", _COUNT_UNITS, (0.0, 500.0), "white-cell count",
                   {"/uL": (100.0, 500.0)}),
    "mcv": _number("fL", {}, (40.0, 160.0), "mean corpuscular volume"),
    "reticulocytes": _number("%", _RETICULOCYTE_UNITS, (0.0, 50.0),
                             "reticulocytes, % of red cells (or '0.021 fraction'; an absolute "
                             "count is refused)", _RETICULOCYTE_AMBIGUOUS,
                             refused_units=_RETICULOCYTE_COUNT_UNITS),
    # Floor: no human serum reads under 20 U/L (the hereditary LDH deficiencies ~20-60 U/L):
    # '1.2 U/L' is 1200 with a dot for thousands, or ukat/L (this tool's rule).
    "ldh": _number("U/L", {"IU/L": 1.0, "ukat/L": 60.0}, (20.0, 100000.0),
                   "lactate dehydrogenase, judged only beside ldh_uln", _LDH_AMBIGUOUS),
    "ldh_uln": _number("U/L", {"IU/L": 1.0, "ukat/L": 60.0}, (50.0, 2000.0),
                       "upper limit of normal of the lab's LDH assay"),
    "haptoglobin": _number("g/L", {"mg/dL": 0.01}, (0.0, 10.0), "haptoglobin",
                           _HAPTOGLOBIN_AMBIGUOUS),
    "haptoglobin_lln": _number("g/L", {"mg/dL": 0.01}, (0.05, 10.0),
                               "lower limit of normal of the lab's haptoglobin assay",
                               _HAPTOGLOBIN_AMBIGUOUS),
    "indirect_bilirubin": _number("mg/dL", {"umol/L": 1 / 17.1}, (0.0, 50.0),
                                  "indirect (unconjugated) bilirubin", {"umol/L": (0.0, 50.0)}),
    "dat": LabKey("posneg", meaning="direct antiglobulin (Coombs) test"),
    "creatinine": _number("mg/dL", {"umol/L": 1 / 88.4}, (0.1, 25.0), "serum creatinine",
                          {"umol/L": (10.0, 25.0)}),
    # Up to 1.6 mg/dL (141 umol/L): no reference limit is higher, and one of 2 mg/dL or more
    # (raised at any age) would hide a kidney injury; a patient's usual creatinine is no limit.
    "creatinine_uln": _number("mg/dL", {"umol/L": 1 / 88.4}, (0.1, 1.6),
                              "the lab's upper reference limit of creatinine for this patient "
                              "(a child's is lower than an adult's)"),
    "pt_prolongation_s": _number("s", {"sec": 1.0, "seconds": 1.0}, (-5.0, 120.0),
                                 "prothrombin time minus the local control, seconds "
                                 "(may be slightly negative)"),
    "inr": _number("", {}, (0.5, 20.0), "international normalised ratio"),
    "fibrinogen": _number("g/L", {"mg/dL": 0.01}, (0.0, 15.0), "fibrinogen",
                          {"mg/dL": (10.0, 15.0)}),
    "d_dimer": _number("ng/mL", _D_DIMER_UNITS, (0.0, 1e6),
                       "D-dimer; bare numbers must be in the same unit as d_dimer_uln"),
    "d_dimer_uln": _number("ng/mL", _D_DIMER_UNITS, (0.01, 1e5),
                           "upper limit of normal of the lab's D-dimer assay"),
    "adamts13": _number("%", {"IU/dL": 1.0, "IU/mL": 100.0}, (0.0, 200.0),
                        "ADAMTS13 activity (IU/mL is also a fraction of normal)",
                        {"IU/mL": (0.0, 2.0)}),
    "ana": LabKey("posneg", meaning="antinuclear antibodies"),
    "vitamin_b12": _number("pg/mL", _B12_UNITS, (10.0, 50000.0), "serum vitamin B12",
                           _B12_AMBIGUOUS),
    "vitamin_b12_uln": _number("pg/mL", _B12_UNITS, (100.0, 5000.0),
                               "upper limit of normal of the lab's vitamin B12 assay",
                               _B12_AMBIGUOUS),
    "folate": _number("ng/mL", _FOLATE_UNITS, (0.1, 100.0), "serum folate", _FOLATE_AMBIGUOUS),
    "active_cancer": LabKey("bool", meaning="active cancer (treated within the past year)"),
    "metastatic_cancer": LabKey("bool", meaning="cancer with distant metastases (bone, liver, "
                                                "...); counts as active cancer"),
    "cancer_history": LabKey("bool", meaning="cancer in the history (survivor); not active"),
    "transplant": LabKey("bool", meaning="solid-organ or stem-cell transplant"),
    "sepsis": LabKey("bool", meaning="sepsis (an underlying disorder for DIC)"),
    "trauma": LabKey("bool", meaning="major trauma (an underlying disorder for DIC)"),
    "pregnancy": LabKey("bool", meaning="pregnant or post partum"),
    "obstetric_complication": LabKey("named", meaning="obstetric complication (HELLP, placental "
                                                      "abruption, amniotic-fluid embolism; name "
                                                      "it), or yes/no (none/nil: no; unknown: "
                                                      "not recorded)"),
    "mechanical_valve": LabKey("bool", meaning="mechanical heart valve"),
    "diarrhoea": LabKey("bool", meaning="diarrhoea (often bloody) in the days before: Shiga "
                                        "toxin-producing E. coli HUS"),
    "malignant_hypertension": LabKey("bool", meaning="malignant (hypertensive emergency) "
                                                     "hypertension"),
    "drug_exposure": LabKey("named", meaning="a drug suspected of causing TMA, by name (a "
                                             "bare yes is checked, not stopped), or no "
                                             "(none/nil: no; unknown: not recorded)"),
}


#: D-dimer over its ULN that is plausible: over 1000x is not seen clinically, and under 0.05x
#: lies below every assay's detection limit (about 0.1-0.3 of the ULN); either means mg read as
#: ng or the reverse (x1000), or a ULN in another unit (this tool's rule).
D_DIMER_RATIO_RANGE = (0.05, 1000.0)


@dataclass(frozen=True)
class Labs:
    """Lab values in the default units of :data:`LAB_KEYS`; ``None`` is missing.

    Raises
    ------
    LabValueError
        ``metastatic_cancer`` is true while ``active_cancer`` is false (a metastatic cancer is
        an active one), or ``pregnancy`` or ``obstetric_complication`` is given while ``sex`` is
        male.
    """

    sex: str | None = None
    hemoglobin: float | None = None
    platelets: float | None = None
    wbc: float | None = None
    mcv: float | None = None
    reticulocytes: float | None = None
    ldh: float | None = None
    ldh_uln: float | None = None
    haptoglobin: float | None = None
    haptoglobin_lln: float | None = None
    indirect_bilirubin: float | None = None
    dat: str | None = None
    creatinine: float | None = None
    creatinine_uln: float | None = None
    pt_prolongation_s: float | None = None
    inr: float | None = None
    fibrinogen: float | None = None
    d_dimer: float | None = None
    d_dimer_uln: float | None = None
    adamts13: float | None = None
    ana: str | None = None
    vitamin_b12: float | None = None
    vitamin_b12_uln: float | None = None
    folate: float | None = None
    active_cancer: bool | None = None
    metastatic_cancer: bool | None = None
    cancer_history: bool | None = None
    transplant: bool | None = None
    sepsis: bool | None = None
    trauma: bool | None = None
    pregnancy: bool | None = None
    obstetric_complication: bool | str | None = None
    mechanical_valve: bool | None = None
    diarrhoea: bool | None = None
    malignant_hypertension: bool | None = None
    drug_exposure: bool | str | None = None
    #: The accepted unit each number was written in, by key (a bare number, read in the default
    #: unit, has none). Not a lab value, so not compared; recorded by :meth:`to_dict` as
    #: ``units``, so that a verdict read back from a summary reads them as the run did (QA 40
    #: M-1). An LDH written in ukat/L cannot be one in ukat/L written as U/L
    #: (:func:`ldh_maybe_in_ukat`; QA 39 M-1).
    units: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        _check_consistent(lambda key: getattr(self, key), "labs")

    @property
    def cancer_active(self) -> bool | None:
        """Active cancer, counting a metastatic one; ``None`` when neither is recorded."""
        return True if self.metastatic_cancer else self.active_cancer

    def to_dict(self) -> dict[str, Any]:
        """The values given, in their default units, as JSON-ready data (a bound as
        ``{"bound": "<", "limit": 20.0}``), and the units they were written in (``units``,
        where any was); read back by :meth:`from_dict`."""
        given = {key: getattr(self, key) for key in LAB_KEYS if getattr(self, key) is not None}
        data = {key: {"bound": value.sign, "limit": value.limit} if isinstance(value, Bound)
                else value for key, value in given.items()}
        return data | ({"units": dict(self.units)} if self.units else {})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Labs:
        """The lab values :meth:`to_dict` recorded (already checked and converted once).

        Raises
        ------
        ValueError
            ``data`` is not such a record; the message names the key.
        """
        values = {}
        units = data.get("units", {})
        if not isinstance(units, Mapping) or any(key not in LAB_KEYS for key in units):
            raise ValueError(f"not the units of lab values: {units!r:.80}")
        for key, value in data.items():
            if key == "units":
                continue
            if key not in LAB_KEYS:
                raise ValueError(f"not a lab value: {key!r}")
            if isinstance(value, Mapping):
                value = Bound(value["bound"], value["limit"], LAB_KEYS[key].plausible)
            values[key] = value
        return cls(**values, units=dict(units))


# "unknown" is not recorded, not "no": a drug or complication nobody asked about is not absent.
_MISSING_TEXT = frozenset({"", "na", "n/a", "-", "unknown", "not known"})
_TRUE_TEXT = frozenset({"true", "yes", "y", "1"})
# "none"/"nil" answer a named key (which drug? none): read as no, never as a drug's name.
_FALSE_TEXT = frozenset({"false", "no", "n", "0", "none", "nil"})
_POSNEG_TEXT = {"positive": "positive", "pos": "positive", "negative": "negative",
                "neg": "negative"}
_NUMBER_TEXT = re.compile(
    r"\s*([<>]?)\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*?)\s*")
_UNIT_SPELLING = str.maketrans({"µ": "u", "μ": "u", "×": "x", "⁹": "9", "³": "3", "^": None,
                                " ": None})


# Longer raw values are cut in messages: a 400-digit number in full is no longer readable.
_SHOWN_CHARACTERS = 60


def _check_consistent(value: Callable[[str], object], source: str) -> None:
    """Refuse two values of one patient (``value(key)``, as read) that contradict each other,
    naming both (:attr:`LabValueError.between`)."""
    if value("metastatic_cancer") and value("active_cancer") is False:
        raise LabValueError(f"{source}: metastatic_cancer = True but active_cancer = False: a "
                            "metastatic cancer is an active one; correct one of them",
                            between=("metastatic_cancer", "active_cancer"))
    for key in ("pregnancy", "obstetric_complication"):
        if value(key) and value("sex") == "male":
            raise LabValueError(f"{source}: {key} = {value(key)!r} but sex = 'male': the "
                                "anaemia limit and the pregnancy causes depend on both; correct "
                                "one of them", between=(key, "sex"))


def _unit_key(unit: str) -> str:
    return unit.translate(_UNIT_SPELLING).lower()


def _shown(raw: object) -> str:
    """``raw`` as a message names it: its repr, cut to :data:`_SHOWN_CHARACTERS`."""
    text = repr(raw)
    return text if len(text) <= _SHOWN_CHARACTERS else f"{text[:_SHOWN_CHARACTERS - 3]}..."


def _fail(source: str, key: str, raw: object, problem: str, readings: Sequence[float] = (),
          between: Sequence[str] = ()) -> LabValueError:
    return LabValueError(f"{source}: {key} = {_shown(raw)}: {problem}", key=key,
                         readings=readings, between=between)


def _readings(value: float, spec: LabKey) -> list[float]:
    """The number ``value`` read in each accepted unit of ``spec`` where that is plausible, in
    its default unit: what a bare number two units could mean, or one written a unit away from
    plausible ('19 U/L' of LDH: 19 ukat/L), may stand for."""
    low, high = spec.plausible
    read = {round(value * factor, 6) for factor in spec.units.values()}
    return sorted(reading for reading in read if low <= reading <= high)


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


def _is_missing(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip().lower() in _MISSING_TEXT)


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
        expected = f"<number> {spec.unit}".strip()
        raise _fail(source, key, raw, f"not a number (expected '{expected}', or a bound such as "
                                      f"'<0.1 {spec.unit}')".replace(" )", ")"))
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


def _unit_hint(value: float, spec: LabKey) -> str:
    low, high = spec.plausible
    for unit, factor in spec.units.items():
        if factor != 1.0 and low <= value * factor <= high:
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


def _with_unit(value: float, unit: str) -> str:
    return f"{value:.4g}{unit}" if unit in ("", "%") else f"{value:.4g} {unit}"


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


class Repeated(tuple):
    """The values one lab key was given, as written, where it was given more than once (an
    option twice, a key twice in one JSON object, a column twice in a CSV): refused, since two
    results for one value (a typo, or two draws) must not be settled silently by taking the
    last, and read as each copy for the URGENT line its refusal keeps (QA 43 H-3: refused with
    no line)."""

    @classmethod
    def adding(cls, earlier: object, value: object) -> Repeated:
        """``earlier`` (a value, or the copies so far) with ``value`` given again."""
        return cls((*earlier, value) if isinstance(earlier, Repeated) else (earlier, value))

    def refused(self, key: str, source: str) -> LabValueError:
        """The refusal of ``key`` given as these copies, read as each of them."""
        shown = [_shown(value) for value in self]
        times = "twice" if len(self) == 2 else f"{len(self)} times"
        return LabValueError(f"{source}: {key} given {times} ({', '.join(shown[:-1])} and "
                             f"{shown[-1]}): keep the one the verdict should use", key=key,
                             written=self)


class Bound(float):
    """A result reported only as a bound: ``<limit`` (under the assay's range) or ``>limit``.

    As a number it lies just inside the bound (``limit * (1 -/+ 1e-9)``), so that a rule with a
    cut-off at ``limit`` reads it on the right side; it formats as ``"<limit"`` (or
    ``">limit"``) wherever a value is shown. :meth:`stand_ins` are values across the range it
    stands for, on which :func:`smearscan.verdict.assess` checks that the verdict is the same.

    Parameters
    ----------
    sign : {"<", ">"}
    limit : float
        The bound, in the key's default unit.
    plausible : (float, float)
        The key's plausible range: the far end of the range a bound stands for.
    """

    sign: str
    limit: float
    plausible: tuple[float, float]

    def __new__(cls, sign: str, limit: float, plausible: tuple[float, float]) -> Bound:
        bound = super().__new__(cls, limit * (1 - 1e-9 if sign == "<" else 1 + 1e-9))
        bound.sign, bound.limit, bound.plausible = sign, limit, plausible
        return bound

    def __reduce__(self) -> tuple:
        return Bound, (self.sign, self.limit, self.plausible)

    def __format__(self, spec: str) -> str:
        return self.sign + format(self.limit, spec)

    def __repr__(self) -> str:
        return f"{self.sign}{self.limit!r}"

    __str__ = __repr__

    def stand_ins(self, count: int = 40) -> list[float]:
        """Values spread over the range the bound stands for, evenly and geometrically (a
        cut-off in a band narrower than 1/``count`` of the range on both scales is missed)."""
        low, high = (self.plausible[0], self.limit) if self.sign == "<" else (
            self.limit, self.plausible[1])
        values = [low + (high - low) * i / count for i in range(count + 1)]
        if low > 0 or high > 0:
            start = low if low > 0 else high * 1e-3
            values += [start * (high / start) ** (i / count) for i in range(count + 1)]
        # Three significant digits: a refusal names a value one can read.
        values = {float(f"{v:.3g}") for v in values}
        return sorted({v for v in values if low <= v <= high and v != self.limit} | {float(self)})


def _unit_factor(key: str, raw: object, unit: str, spec: LabKey, source: str) -> float:
    """The factor from ``unit`` to the key's default unit; a refused or unknown unit raises."""
    refused = {_unit_key(name): reason for name, reason in spec.refused_units.items()}
    if _unit_key(unit) in refused:
        raise _fail(source, key, raw, f"{unit} is {refused[_unit_key(unit)]}")
    name = _accepted_unit(unit, spec)
    if name is None:
        accepted = ", ".join(name or "(no unit)" for name in spec.units)
        raise _fail(source, key, raw, f"unknown unit {unit!r}; accepted: {accepted}")
    return spec.units[name]


def _accepted_unit(unit: str, spec: LabKey) -> str | None:
    """The accepted unit of ``spec`` that ``unit`` is written as (case, spaces and micro signs
    aside), or None."""
    return next((name for name in spec.units if _unit_key(name) == _unit_key(unit)), None)


def _parse_number(key: str, raw: object, spec: LabKey, source: str) -> float:
    sign, value, unit = _split_number(key, raw, spec, source)
    if not math.isfinite(value):
        raise _fail(source, key, raw, "not a finite number")
    if unit is None:
        _refuse_ambiguous(key, raw, value, spec, source)
        unit = spec.unit
    factor = _unit_factor(key, raw, unit, spec, source)
    if factor == _PER_UL and _thousands_per_ul(key, raw, value):
        raise _fail(source, key, raw, f"{value:g} per uL is {value * _PER_UL:g} x10^9/L: was it "
                    f"in x10^3/uL ({value:g} x10^9/L)?")
    low, high = spec.plausible
    if value < 0 and low >= 0:
        # Read as the number without its dash too (QA 44 H-1: '--adamts13 -5%' beside a TTP
        # picture lost the line that 5% calls for).
        unsigned = round(-value * factor, 6)
        raise _fail(source, key, raw, "negative", [unsigned] if low <= unsigned <= high else [])
    converted = round(value * factor, 6)
    if not low <= converted <= high:
        unit = f" {spec.unit}" if spec.unit else ""  # INR has none
        raise _fail(source, key, raw,
                    f"{converted:g}{unit} is outside the plausible range "
                    f"{low:g}-{high:g}{unit}{_unit_hint(value, spec)}",
                    () if sign else _readings(value, spec))
    if not sign:
        return converted
    if converted == (low if sign == "<" else high):
        raise _fail(source, key, raw, f"no plausible value is {sign}{converted:g} {spec.unit}")
    return Bound(sign, converted, (low, high))


def _thousands_per_ul(key: str, raw: object, value: float) -> bool:
    """A count given per uL that is one in thousands per uL: not a whole number, a platelet
    count under 1000 but 0, or one under 1000 written with a decimal point ('8.0 /uL'; but
    '2.5e5 /uL' is read, QA 23 N9). QA 22 D7: platelets '30.0 /uL' read 0.03 x10^9/L and raised
    a false URGENT line."""
    if not float(value).is_integer():
        return True
    under = 0 < value < 1 / _PER_UL
    return under and (key == "platelets" or isinstance(raw, str) and "." in raw)


def _parse_bool(key: str, raw: object, source: str) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower() if isinstance(raw, str | int) else None
    if text in _TRUE_TEXT:
        return True
    if text in _FALSE_TEXT:
        return False
    raise _fail(source, key, raw, "expected true/false (or yes/no, 1/0)")


def _parse_value(key: str, raw: object, spec: LabKey, source: str) -> object:
    if isinstance(raw, Repeated):
        raise raw.refused(key, source)
    if _is_missing(raw):
        return None
    if spec.kind == "number":
        return _parse_number(key, raw, spec, source)
    if spec.kind == "bool":
        return _parse_bool(key, raw, source)
    if spec.kind == "posneg":
        text = raw.strip().lower() if isinstance(raw, str) else None
        if text not in _POSNEG_TEXT:
            raise _fail(source, key, raw, "expected 'positive' or 'negative'")
        return _POSNEG_TEXT[text]
    if spec.kind == "choice":
        text = raw.strip().lower() if isinstance(raw, str) else None
        if text not in spec.choices:
            raise _fail(source, key, raw, f"expected one of {', '.join(spec.choices)}")
        return text
    # named: a yes/no answer, or the name (of the drug, of the complication).
    if isinstance(raw, bool) or (isinstance(raw, str) and
                                 raw.strip().lower() in _TRUE_TEXT | _FALSE_TEXT):
        return _parse_bool(key, raw, source)
    if not isinstance(raw, str):
        raise _fail(source, key, raw, "expected a name or true/false")
    if any(unicodedata.category(char) in _UNPRINTABLE for char in raw):
        # A line break in a name would print as a line of the verdict of its own.
        raise _fail(source, key, raw, "a name with a line break or control character")
    if _NEGATION.match(raw.strip()) or _past_exposure(raw):
        # "no gemcitabine" read as a name would be called the cause: ask which answer it is.
        raise _fail(source, key, raw, "a negation or a past exposure: give the name alone if "
                    "it is taken now or was until recently, else false (none)")
    return raw.strip()


#: A named answer that starts by denying itself ("no gemcitabine", "not known to", "never").
_NEGATION = re.compile(r"(no|not|never|without|denies|nil|past|ex)\b", re.IGNORECASE)
#: ... or that names a past exposure anywhere ("stopped quinine in 2010", "quinine, stopped in
#: 2010", "previously on ...", "was on ...", "off ...", "10 years ago", "quinine in 2015",
#: "quinine, none since 2019", "held since 2020", "no longer"; not "started 2 weeks ago" or
#: "since 2015"): a drug stopped long ago would be called the cause, and "stop stopped
#: quinine" advised.
_ENDED = (r"stopped|discontinued|ceased|withdrawn|completed|ended|finished|resolved|until|till|"
          r"previous|previously|formerly|former|prior(?! to admission)|history|hx|h/o|was on|"
          r"off(?!-label)|held|withheld|on hold|paused|none|nil|no longer|not now|"
          r"not currently|not taken|not since|abstinent")
_PAST = re.compile(rf"\b({_ENDED}|last year|(\d+\s*)?(years?|yrs?|months?)\s+ago)(\b|$)",
                   re.IGNORECASE)
#: A year an exposure is dated to ("quinine 2015", "in Dec 2025"; not a dose, "2000 mg"): past
#: unless it is this year; a range of years ("2010-2012") by its end.
_DATED = re.compile(r"\b((?:19|20)\d\d)\b(?!\s*(?:-|–|to)?\s*(?:mg|g|mcg|ug|µg|units?|iu|u|ml|"
                    r"mmol|%)\b)", re.IGNORECASE)
_RANGE = re.compile(r"\b(?:19|20)\d\d\s*(?:-|–|to|->|→)\s*((?:19|20)\d\d)\b")
#: When a current drug was started ("started 2 years ago", "started in 2015", "since 2015",
#: "since transplant in 2015"), up to a word that ends it or a bracket ("started 2010, stopped
#: 2012", "since 2015 until 2016", "since 2019 (previous pregnancy)"): not a past exposure;
#: removed before :data:`_PAST` and :data:`_DATED` are looked for.
_STARTED = re.compile(rf"\b(started|began|begun|(?<!not )since)\b((?!\b({_ENDED}|and)\b)[^,;()])*",
                      re.IGNORECASE)
#: Unicode categories a name must not hold: controls (C0, C1), format characters (bidi
#: overrides), lone surrogates (which cannot be printed) and line or paragraph separators,
#: which could print as a line of their own.
_UNPRINTABLE = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def _past_exposure(name: str) -> bool:
    """The name dates the exposure to the past (:data:`_PAST`, a year before this one, or a
    range of years ending before it)."""
    this_year = datetime.date.today().year
    if any(int(end) < this_year for end in _RANGE.findall(name)):
        return True
    current = _STARTED.sub("", name)
    return bool(_PAST.search(current)) or any(int(year) < this_year
                                              for year in _DATED.findall(current))


def lab_readings(mapping: Mapping[str, object], *, source: str = "labs", problems_read: int = 0,
                 ways_read: int = 1) -> tuple[list[Labs], list[Labs]]:
    """The lab values of ``mapping`` (as :func:`parse_labs`, ``complete=False``) read every way
    that the values refused as written may stand for, for the URGENT line their refusal keeps.

    Each refused value is read every way in turn, whatever else is refused with it (QA 42 H-1:
    a second contradiction lost the line): up to :data:`MOST_PROBLEMS_READ` of them, counting
    ``problems_read`` of other values judged with these (a lab file's, for the command line's;
    QA 43 M-1: six in each multiplied to thousands of readings, over 13 minutes); any further
    one only as not given (this tool's rule: each multiplies the readings). Likewise, a
    problem is read every way only while the readings stay within :data:`MOST_WAYS_READ`,
    counting the ``ways_read`` of other values judged with these (QA 44 M-1: six keys given
    four times each, 4,096 readings each judged over two bounds' ranges, took 82 s).

    Returns
    -------
    readings : list of Labs
        With each refused value read as each plausible value it may stand for
        (:attr:`LabValueError.readings`: a bare number two units could mean, one a unit away
        from plausible), each pair that contradicts itself with one of its keys
        (:attr:`LabValueError.between`) not given, in turn, and a misspelt key as the one it
        is close to; the values themselves where none is refused.
    without : list of Labs
        With a refused value (or a misspelt key) read as not given, where it has no such
        reading or besides them (this tool's rule).
    """
    found: dict[str, tuple[list[Labs], list[Labs]]] = {}
    readings, without = _readings_of(_in_key_order(mapping), source,
                                     _Read(problems_read, ways_read), found)
    return _distinct(readings), _distinct(without)


def refused_names(mapping: Mapping[str, object], *, source: str = "labs") -> list[str]:
    """The problems :func:`parse_labs` (``complete=False``) refuses ``mapping`` for, named as
    its refusal names them: a key, or a pair that contradicts itself (``'pregnancy against
    sex'``)."""
    try:
        _first_problem_refused(mapping, source, complete=False)
    except LabValueError as error:
        return [_problem_name(problem)
                for problem in [error, *_later_problems(mapping, error, source)]]
    return []


def _problem_name(error: LabValueError) -> str:
    return " against ".join(error.between) or str(error.key)


#: How many problems of one set of lab values :func:`lab_readings` reads every way they may
#: stand for; a further one is read as not given (this tool's rule: a file with more is not a
#: set of results that a reading can rescue, and each problem multiplies the readings).
MOST_PROBLEMS_READ = 6
#: How many sets of lab values :func:`lab_readings` reads a problem every way within; beyond,
#: it is read as not given (this tool's rule: six bare numbers, two readings each, give 64;
#: each set is a whole verdict, judged again over the range of every bound).
MOST_WAYS_READ = 64


@dataclass(frozen=True)
class _Read:
    """How much reading :func:`_readings_of` has done: problems read every way, and the sets
    of values they make."""

    problems: int
    ways: int

    def every_way(self, readings: int, without: int) -> bool:
        """Whether a further problem of so many ``readings`` (and sets ``without`` it) is read
        every way: one read a single way (a key given twice alike) always is, as it multiplies
        nothing (QA 45 H-6: two pasted draws of seven keys lost "TTP likely")."""
        return readings + without <= 1 or (self.problems < MOST_PROBLEMS_READ
                                           and self.ways * max(readings, 1) <= MOST_WAYS_READ)

    def after(self, readings: int, without: int) -> _Read:
        return _Read(self.problems + (readings + without > 1), self.ways * max(readings, 1))


#: The lab keys whose problems :func:`lab_readings` reads every way first, those the URGENT
#: line rests on most (ADAMTS13 tells TTP likely from unlikely; the platelets and haemolysis
#: show the picture): beyond :data:`MOST_WAYS_READ` a problem is read only as not given, which
#: for ADAMTS13 turned no line into "TTP possible" (this tool's rule).
_READ_FIRST = ("adamts13", "platelets", "hemoglobin", "ldh", "ldh_uln", "haptoglobin",
               "reticulocytes", "indirect_bilirubin", "creatinine")


def reading_rank(names: Sequence[str]) -> int:
    """Where the first of the problems ``names`` (:func:`refused_names`) stands in the order
    problems are read every way in (:data:`_READ_FIRST`, then LAB_KEYS): of two sources, the
    one with the lower rank is read first. No problems rank last."""
    order = _reading_order()
    return min((order.get(name, len(order)) for name in names), default=len(order) + 1)


@functools.cache
def _reading_order() -> dict[str, int]:
    return {key: index for index, key in enumerate(
        [*_READ_FIRST, *(key for key in LAB_KEYS if key not in _READ_FIRST)])}


def _in_key_order(mapping: Mapping[str, object]) -> dict[str, object]:
    """``mapping`` in a fixed order, :data:`_READ_FIRST` then the order of LAB_KEYS, unknown
    keys last: a lab file's order of keys must not change the line's wording (QA 41 L-1)."""
    order = _reading_order()
    return dict(sorted(mapping.items(), key=lambda item: order.get(item[0], len(order))))


def _readings_of(mapping: dict[str, object], source: str, read: _Read,
                 found: dict[str, tuple[list[Labs], list[Labs]]]
                 ) -> tuple[list[Labs], list[Labs]]:
    """:func:`lab_readings` of ``mapping`` with so much ``read`` already; ``found`` holds
    those of the mappings read so far (two problems read in either order meet again)."""
    seen = repr(list(mapping.items()))
    if seen in found:
        return found[seen]
    try:
        result = [_first_problem_refused(mapping, source, complete=False)], []
    except LabValueError as error:
        corrected, omitted = _alternatives(mapping, error)
        if not read.every_way(len(corrected), len(omitted)):
            # Beyond, a key given several times is read as its first copy: a value the user
            # gave, where not given is none (QA 46 H-1: two pasted draws of eight keys, each
            # "TTP suspected", said "possible").
            corrected, omitted = ((corrected[:1], []) if error.written
                                  else ([], [_without_keys(mapping, error)]))
        if not corrected:
            # Read only as not given, that is the problem's reading: beside another problem's
            # readings it sent them all to the values without (QA 43 H-1, H-2: 'transplant:
            # maybe' beside a bare ADAMTS13 of 0.05 weakened "TTP likely" to "possible").
            corrected, omitted = omitted, []
        readings, without = [], []
        further = read.after(len(corrected), len(omitted))
        for alternative in corrected:
            more, lacking = _readings_of(alternative, source, further, found)
            readings += more
            without += lacking
        for alternative in omitted:
            without += itertools.chain(*_readings_of(alternative, source, further, found))
        result = readings, without
    found[seen] = result
    return result


def _alternatives(mapping: dict[str, object], error: LabValueError
                  ) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """``mapping`` with the problem ``error`` refuses read each way it may stand for
    (:func:`lab_readings`'s readings) and as not given (its values without)."""
    if error.between:
        return [_without_keys(mapping, error, key) for key in error.between
                if key in mapping], []
    refused = error.key
    if error.written:  # a key given more than once: as each copy, one of which it is
        # Compared, not hashed: a JSON copy may be a list (QA 48: a traceback, no line).
        copies = [value for index, value in enumerate(error.written)
                  if value not in error.written[:index]]
        return [{**mapping, refused: value} for value in copies], []
    if refused not in LAB_KEYS:  # a misspelt key: as each one it is close to
        return ([_renamed(mapping, refused, close) for close in close_keys(refused)],
                [_without_keys(mapping, error)])
    spec = LAB_KEYS[refused]
    # Six decimals: '12.888' would read as a thousands dot.
    corrected = [{**mapping, refused: f"{value:.6f} {spec.unit}".strip()}
                 for value in error.readings]
    return corrected, [_without_keys(mapping, error)]


def _renamed(mapping: dict[str, object], misspelt: str, close: str) -> dict[str, object]:
    """``mapping`` with the ``misspelt`` key read as ``close``; where ``close`` is given too, as
    it given twice, read as each value (QA 44 M-2: '--adamts-13 5%' beside '--adamts13 50%' was
    read only as not given)."""
    value = mapping[misspelt]
    if close in mapping:
        value = Repeated.adding(mapping[close], value)
    rest = {key: each for key, each in mapping.items() if key != misspelt}
    return _in_key_order(rest | {close: value})


def _without_keys(mapping: dict[str, object], error: LabValueError,
                  key: str | None = None) -> dict[str, object]:
    """``mapping`` without ``key``, or else without every key ``error`` refuses."""
    dropped = {key} if key is not None else {error.key, *error.between}
    return {k: value for k, value in mapping.items() if k not in dropped}


def _distinct(labs: Sequence[Labs]) -> list[Labs]:
    """``labs`` without repeats (read in another order), in order."""
    return list({repr(each): each for each in labs}.values())


def merged_readings(bases: Sequence[Labs], overrides: Sequence[Labs]) -> list[Labs]:
    """Each of ``bases`` with each of ``overrides`` (:func:`with_overrides`), for the URGENT
    line of values refused; of a pair refused between a base's key and an override's (a
    D-dimer against a ULN 1000x off, a metastatic cancer said not active), the pair read with
    each key that alone resolves it not given, in turn, as often as they conflict (QA 41 H-1,
    H-2; QA 42 H-2: a second contradiction lost the line)."""
    return _distinct([labs for base, override in itertools.product(bases, overrides)
                      for labs in _merged(base, override)])


def _merged(base: Labs, override: Labs) -> list[Labs]:
    try:
        return [_merged_first_refused(base, override, "labs")]
    except LabValueError as error:
        given = [key for key in error.between
                 if getattr(base, key) is not None or getattr(override, key) is not None]
        return [labs for key in given
                for labs in _merged(_without(base, key), _without(override, key))]


def _without(labs: Labs, key: str) -> Labs:
    """``labs`` with ``key`` not given."""
    units = {k: unit for k, unit in labs.units.items() if k != key}
    return replace(labs, **{key: None}, units=units)


def _written_units(mapping: Mapping[str, object], values: Mapping[str, object],
                   source: str) -> dict[str, str]:
    """The accepted unit each number of ``mapping`` (read as ``values``) was written in."""
    units = {}
    for key, value in values.items():
        spec = LAB_KEYS[key]
        if spec.kind != "number" or value is None:
            continue
        written = _split_number(key, mapping[key], spec, source)[2]
        if written is not None:
            units[key] = _accepted_unit(written, spec)
    return units


#: Abbreviations of lab results as reports and notes write them (Hb, PLT, retic...), each read
#: as the key it stands for where it is given as one (refused, as any misspelt key is: QA 44
#: L-2, '--plt 12' was read only as not given; too far from 'platelets' to be offered it).
ABBREVIATIONS = {"hb": "hemoglobin", "hgb": "hemoglobin", "plt": "platelets",
                 "plts": "platelets", "retic": "reticulocytes", "retics": "reticulocytes",
                 "hp": "haptoglobin", "hapto": "haptoglobin", "ibil": "indirect_bilirubin",
                 "cr": "creatinine", "creat": "creatinine", "fib": "fibrinogen",
                 "ddimer": "d_dimer", "dd": "d_dimer", "b12": "vitamin_b12", "adamts": "adamts13"}


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
    return LabValueError(f"{source}: unknown {what} {key!r}; {hint}", key=str(key))


def _d_dimer_basis(raw: object) -> str | None:
    text = raw.upper() if isinstance(raw, str) else ""
    return next((basis for basis in ("FEU", "DDU") if basis in text), None)


def _has_unit(raw: object) -> bool:
    return isinstance(raw, str) and re.search(r"[^\d\s.eE+-]", raw.lstrip(" <>")) is not None


def _check_d_dimer(mapping: Mapping[str, object], labs: Labs, source: str) -> None:
    if labs.d_dimer is None or labs.d_dimer_uln is None:
        return
    raw, raw_uln = mapping["d_dimer"], mapping["d_dimer_uln"]
    if _has_unit(raw) != _has_unit(raw_uln):
        raise _fail(source, "d_dimer", raw,
                    f"give d_dimer and d_dimer_uln ({raw_uln!r}) both with units or both bare",
                    between=_D_DIMER)
    bases = {_d_dimer_basis(raw), _d_dimer_basis(raw_uln)} - {None}
    if len(bases) > 1:
        raise _fail(source, "d_dimer", raw,
                    f"FEU and DDU differ about 2x; d_dimer_uln is {raw_uln!r}", between=_D_DIMER)
    _check_d_dimer_ratio(labs, source)


def _check_d_dimer_ratio(labs: Labs, source: str) -> None:
    """Refuse a D-dimer that its ULN puts out of :data:`D_DIMER_RATIO_RANGE`."""
    if labs.d_dimer is None or not labs.d_dimer_uln:
        return
    ratio, (low, high) = labs.d_dimer / labs.d_dimer_uln, D_DIMER_RATIO_RANGE
    if low <= ratio <= high:
        return
    side = (f"under {low:g}x, below any assay's detection limit" if ratio < low
            else f"over {high:g}x, never seen clinically")
    raise LabValueError(
        f"{source}: d_dimer = {labs.d_dimer:g} ng/mL is {ratio:.3g}x d_dimer_uln = "
        f"{labs.d_dimer_uln:g} ng/mL ({side}): are both in the same unit (mg/L vs ng/mL is "
        "1000x)? An undetectable D-dimer is given as a bound, e.g. '<0.2 mg/L'",
        between=_D_DIMER)


_D_DIMER = ("d_dimer", "d_dimer_uln")


#: An LDH under this fraction of its upper limit is not a serum result: one in ukat/L written as
#: U/L (21 'U/L' against a ULN of 4.1 ukat/L, 246 U/L, is 1260 U/L; QA 22 D4; 60 against 225,
#: QA 23 N5). This tool's rule; adult reference intervals run about 120-250 U/L, their lower
#: limit about half the upper.
LDH_LEAST_FRACTION_OF_ULN = 0.4


def ldh_without_limit(labs: Labs, option: str | None = None) -> str | None:
    """Why an LDH given without its lab's upper limit of normal (``ldh_uln``; ``option``, the
    command line's name for it, where there is one) is refused, or None when it has one (or no
    LDH is given).

    An LDH is judged only against the limit of the assay that measured it: limits differ about
    2.5x between methods and ages (adult IFCC assays ~225-250 U/L, older methods and children
    higher), and every default this tool tried misread some LDH, either a raised one as normal
    (a TTP picture closed) or a normal one as raised (QA 24 to QA 28; this tool's rule).
    """
    if labs.ldh is None or labs.ldh_uln is not None:
        return None
    named = f"ldh_uln ({option})" if option else "ldh_uln"
    return (f"ldh = {_ldh_text(labs)} given without {named}: give the upper limit of normal "
            "printed beside it on the lab report; LDH limits differ between methods and ages, "
            "so an LDH is judged only against its own lab's")


#: The highest upper limit of normal of an LDH assay after the neonatal period: adult IFCC
#: methods ~190-250 U/L, older (pyruvate-to-lactate) methods ~480-620, a child's up to ~1000.
#: A higher limit for any other population than neonates is a slip (a typo, a neonate's range)
#: that reads a raised LDH as normal (900 U/L against 1500). This tool's rule.
LDH_ULN_MAX = 1000.0


def ldh_limit_implausible(labs: Labs, population: str, option: str | None = None) -> str | None:
    """Why an LDH's limit (``ldh_uln``; ``option``, its command-line name) over
    :data:`LDH_ULN_MAX` cannot judge it outside the neonatal populations; None when it can (or
    no LDH is given)."""
    if labs.ldh is None or labs.ldh_uln is None or population in ("neonate", "preterm") or (
            labs.ldh_uln <= LDH_ULN_MAX):
        return None
    named = f"ldh_uln ({option})" if option else "ldh_uln"
    return (f"{named} = {labs.ldh_uln:g} U/L is over {LDH_ULN_MAX:g} U/L, above any LDH assay's "
            "upper limit of normal after the neonatal period (adults ~190-620 U/L by method, a "
            "child's up to ~1000; this tool's rule): check the limit printed beside the LDH")


def ldh_under_serum_level(ldh: float, uln: float) -> bool:
    """An LDH under :data:`LDH_LEAST_FRACTION_OF_ULN` of the upper limit ``uln``: not a serum
    result (this tool's rule)."""
    # Rounded as values are read (to 6 decimals): 85.6 against 214 is 0.4x, not under (QA 39
    # L-1: 0.4 * 214 is 85.60000000000001 in floating point).
    return ldh < round(LDH_LEAST_FRACTION_OF_ULN * uln, 6)


def _ldh_text(labs: Labs) -> str:
    """The LDH as written, where that was ukat/L, and in U/L (qacli8 L-10: '25 ukat/L' was named
    only as the 1500 U/L it was read as)."""
    if ldh_maybe_in_ukat(labs):
        return f"{labs.ldh:g} U/L"
    return f"{labs.ldh / LDH_UKAT:g} ukat/L (= {labs.ldh:g} U/L)"


def ldh_maybe_in_ukat(labs: Labs) -> bool:
    """An LDH that may be a result in ukat/L written as U/L: one not written in ukat/L."""
    return labs.units.get("ldh") != "ukat/L"


#: U/L in one ukat/L of LDH (1 ukat = 60 U).
LDH_UKAT = LAB_KEYS["ldh"].units["ukat/L"]


def ldh_not_serum(labs: Labs) -> str | None:
    """Why an LDH under :data:`LDH_LEAST_FRACTION_OF_ULN` of its limit cannot be read (one in
    ukat/L written as U/L, or a mistyped limit), or None when it can (or is not given)."""
    if labs.ldh is None or labs.ldh_uln is None or not ldh_under_serum_level(labs.ldh,
                                                                             labs.ldh_uln):
        return None
    check = (f"was it in ukat/L (x{LDH_UKAT:g} U/L)?" if ldh_maybe_in_ukat(labs) else
             "check the value and the limit")
    return (f"ldh = {_ldh_text(labs)} is under {LDH_LEAST_FRACTION_OF_ULN:g}x ldh_uln = "
            f"{labs.ldh_uln:g} U/L, not a serum result (this tool's rule): {check}")


def check_ldh(labs: Labs, source: str, *, complete: bool = True,
              population: str | None = None) -> None:
    """Refuse, ``complete``, an LDH without its ULN (:func:`ldh_without_limit`) and, once the
    ``population`` is known (a folder run's lab file, before any work), an LDH its limits
    cannot judge: a limit over :data:`LDH_ULN_MAX` (:func:`ldh_limit_implausible`) or an LDH
    under serum level (:func:`ldh_not_serum`). Without the population these are left to
    :func:`smearscan.verdict.assess`, whose refusal keeps the URGENT line (QA 37 H-2, QA 38
    H-1: an LDH of 399 against 1000 U/L was refused without the line every reading gives).

    Raises
    ------
    LabValueError
        Naming ``source``, the value and what to give.
    """
    missing = ldh_without_limit(labs)
    if missing is not None and complete:
        raise LabValueError(f"{source}: {missing}")
    if population is None:
        return
    unread = ldh_limit_implausible(labs, population) or ldh_not_serum(labs)
    if unread is not None:
        raise LabValueError(f"{source}: {unread}")


def parse_labs(mapping: Mapping[str, object], *, source: str = "labs",
               complete: bool = True) -> Labs:
    """Read lab values given as a mapping of key to value.

    Parameters
    ----------
    mapping : Mapping[str, object]
        Keys from :data:`LAB_KEYS`. Numbers are in the key's default unit or strings
        ``"<number> <unit>"``; ``dat``/``ana`` are ``"positive"``/``"negative"``; booleans are
        ``True``/``False`` or ``true/false/yes/no/1/0`` strings; ``drug_exposure`` and
        ``obstetric_complication`` are a name or a boolean (``"none"``/``"nil"``: false).
        ``None``, ``""``, ``"NA"``, ``"-"``, ``"unknown"`` and ``"not known"`` are missing.
    source : str, optional
        Where the values came from, used as the start of error messages.
    complete : bool, optional
        False for values that others may complete (a lab file and the command line given
        together): an LDH may then come without its limit, which
        :func:`smearscan.verdict.assess` refuses on the whole, with the URGENT line any limit
        would give.

    Returns
    -------
    Labs
        The values converted to the default units.

    Raises
    ------
    LabValueError
        An unknown key, a value that is not readable or not plausible, or an LDH without its
        upper limit (:func:`check_ldh`).

    Examples
    --------
    >>> parse_labs({"hemoglobin": "75.5 g/L", "platelets": "82000 /uL"}).hemoglobin
    7.55
    """
    try:
        return _first_problem_refused(mapping, source, complete)
    except LabValueError as error:
        raise _with_the_rest(error, _later_problems(mapping, error, source)) from None


def _later_problems(mapping: Mapping[str, object], error: LabValueError, source: str
                    ) -> Iterator[LabValueError]:
    """The problems of ``mapping`` after ``error``, each found with the keys refused before it
    read as not given."""

    def rest(values: dict[str, object], error: LabValueError) -> dict[str, object] | None:
        refused = error.key in values or error.between
        return _without_keys(values, error) if refused else None

    return _later_refusals(dict(mapping), error, rest,
                           lambda values: _first_problem_refused(values, source, complete=False))


T = TypeVar("T")


def _later_refusals(values: T, error: LabValueError,
                    rest: Callable[[T, LabValueError], T | None], refuse: Callable[[T], object]
                    ) -> Iterator[LabValueError]:
    """The refusals of ``refuse`` after ``error``: each of the ``rest`` of ``values`` without
    what those before it refused (None: nothing left to refuse)."""
    while (values := rest(values, error)) is not None:
        try:
            refuse(values)
            return
        except LabValueError as later:
            yield later
            error = later


def _with_the_rest(error: LabValueError, later: Iterable[LabValueError]) -> LabValueError:
    """``error``, naming the keys of the ``later`` problems it was refused with (QA 42 L-1: only
    the first was named, and the values corrected were refused again)."""
    names = [_problem_name(problem) for problem in later]
    if not names:
        return error
    return error.saying(f"{error} (also refused: {', '.join(names)})")


def _first_problem_refused(mapping: Mapping[str, object], source: str, complete: bool
                           ) -> Labs:
    """:func:`parse_labs`, refusing at the first problem."""
    values = {}
    for key, raw in mapping.items():
        if key not in LAB_KEYS:
            raise _unknown_key(key, source)
        values[key] = _parse_value(key, raw, LAB_KEYS[key], source)
    _check_consistent(values.get, source)  # QA 41 M-1: named "labs", not the file and row
    labs = Labs(**values, units=_written_units(mapping, values, source))
    _check_d_dimer(mapping, labs, source)
    _check_pt_against_inr(labs, source)
    check_ldh(labs, source, complete=complete)
    return labs


@dataclass(frozen=True)
class LabRow:
    """One set of lab values in a lab file, as written: a JSON object or a CSV row."""

    #: The values by lab key, as written.
    values: Mapping[str, object]
    #: Where they stand (the file, and the slide or line), the start of their messages.
    source: str
    #: Why the file's structure leaves the row unreadable (a CSV row whose cells do not fit
    #: its column names, read as each way they may fit) or in doubt (a second row for its
    #: slide), the other readings in :attr:`others`: the file is refused, keeping the URGENT
    #: line of the slide's values read every way they may be (QA 43 M-2: refused with no
    #: line).
    problem: str | None = None
    #: The values of the other rows given for the same slide, as written.
    others: tuple[Mapping[str, object], ...] = ()
    #: The file's rows with no slide name (the file is refused): any slide's, read where a
    #: slide has no row (QA 44 H-2: this slide's row with its name left out was read as none).
    unnamed: tuple[LabRow, ...] = ()

    def parsed(self, *, complete: bool = True) -> Labs:
        """The values read by :func:`parse_labs`."""
        if self.problem is not None:
            raise LabValueError(self.problem)
        return parse_labs(self.values, source=self.source, complete=complete)

    def readings(self, *, problems_read: int = 0, ways_read: int = 1
                 ) -> tuple[list[Labs], list[Labs]]:
        """:func:`lab_readings` of each set of values the row may be, beside so much read
        elsewhere."""
        each = [lab_readings(values, source=self.source, problems_read=problems_read,
                             ways_read=ways_read) for values in (self.values, *self.others)]
        return ([labs for readings, _ in each for labs in readings],
                [labs for _, without in each for labs in without])

    def refused(self) -> list[str]:
        """:func:`refused_names` of the row's values."""
        return refused_names(self.values, source=self.source)


#: Columns (CSV) and keys (JSON) of a lab file that name the record, not a lab value: a
#: laboratory export carries them beside the results. They are left out where the file is
#: read (this tool's rule; QA 49: a `date` column was read as a slip of `dat`, the DAT, and
#: refused the file). Matched in any case, with spaces and '-' read as '_'. A name that is not
#: one of these and no lab key is refused, as it may be a misspelt result.
RECORD_COLUMNS = frozenset({
    "date", "time", "datetime", "collected", "collection_date", "collection_time",
    "mrn", "patient", "patient_id", "patient_name", "name", "comment", "comments", "note",
    "notes"})


def is_record_column(name: object) -> bool:
    """Whether a lab file's column or key ``name`` is one of :data:`RECORD_COLUMNS`."""
    return isinstance(name, str) and re.sub(r"[\s-]+", "_", name.strip().casefold()) in \
        RECORD_COLUMNS


def _object_with_repeats(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A ``json`` object hook keeping each copy of a key given more than once in one object, as
    :class:`Repeated`: ``json`` would keep the last silently, and a pasted line would flip the
    verdict. Record keys (:data:`RECORD_COLUMNS`) are left out."""
    data: dict[str, object] = {}
    for key, value in pairs:
        if not is_record_column(key):
            data[key] = Repeated.adding(data[key], value) if key in data else value
    return data


def _rows_from_json(text: str, path: Path) -> dict[str, LabRow]:
    try:
        data = json.loads(text, object_pairs_hook=_object_with_repeats)
    except json.JSONDecodeError as exc:
        invalid = f"{path}: not valid JSON: {exc}"
        repaired = _repaired_json(text)
        if repaired is None:
            raise LabValueError(invalid) from exc
        # Refused, but read as the repaired text (QA 44 H-2: read as no values).
        return {slide: replace(row, problem=invalid)
                for slide, row in _rows_from_json(repaired, path).items()}
    except ValueError:  # int() refuses over 4300 digits (Python's guard against slow parsing)
        raise LabValueError(f"{path}: a number too long to be a lab value") from None
    except RecursionError:
        raise LabValueError(f"{path}: not a lab file (JSON nested too deeply)") from None
    if isinstance(data, list) and data and all(isinstance(each, dict) for each in data):
        # Refused, but each object read as a lab file of its own would be (QA 44 H-2, QA 45
        # H-5: read as no values), a slide in several as each.
        listed = f"{path}: expected a JSON object of lab values"
        rows: dict[str, LabRow] = {}
        for each in data:
            for slide, row in _rows_of_object(each, path).items():
                rows[slide] = replace(rows[slide], others=(*rows[slide].others, row.values,
                                                           *row.others)) if slide in rows else row
        return {slide: replace(row, problem=listed) for slide, row in rows.items()}
    if not isinstance(data, dict):
        raise LabValueError(f"{path}: expected a JSON object of lab values")
    return _rows_of_object(data, path)


def _rows_of_object(data: dict, path: Path) -> dict[str, LabRow]:
    """The rows of a JSON lab file's object: lab values, or per-slide objects of them."""
    nested = {slide: isinstance(value, dict) or _slide_repeated(value)
              for slide, value in data.items()}
    if not any(nested.values()):
        return {"": LabRow(data, str(path))}
    slides = [slide_name(slide) for slide in data if nested[slide]]
    if len(set(slides)) < len(slides):
        raise LabValueError(f"{path}: a slide named twice (the same letters, composed "
                            "differently)")
    rows = {slide_name(slide): _json_row(slide, values, path)
            for slide, values in data.items() if nested[slide]}
    plain = {key: value for key, value in data.items() if not nested[key]}
    if not plain:
        return rows
    # Refused, each slide read as its own object, alone and completed by the values beside
    # them (QA 44 H-2: read as no values).
    mixed = f"{path}: mixes lab values and per-slide objects at the top level"
    return {slide: replace(row, problem=row.problem or mixed,
                           others=(*row.others, {**plain, **row.values}))
            for slide, row in rows.items()}


def _repaired_json(text: str) -> str | None:
    """The JSON a broken lab file was probably meant as, if repairing it takes no guess at a
    value: commas before a closing bracket dropped, the brackets left open closed where the
    text stops (a file cut short, or its last '}' typed as ','), and the value of a member the
    text stops inside read as not given ('1' of '150' is no reading; its key kept, so that a
    key given twice stays so: QA 47 H-4), or the member left out where it stops inside its
    key; None where that is not valid JSON either, or holds no value."""
    kept: list[str] = []
    open_brackets: list[str] = []
    whole: tuple[int, int] = (0, 0)  # kept and open brackets after the last whole member
    # The same after the last whole key, and what it lacks to take a value (':' or nothing).
    keyed: tuple[int, int, str] = (0, 0, "")
    in_string = escaped = a_key = False
    mark = ""  # the last of ',{[:' outside strings: a string after ',' or '{' is a key
    key = opened = ""  # the last whole key, and where its string opened in ``kept``
    for char in text.rstrip():
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
            if not in_string and a_key:
                keyed, key = (len(kept) + 1, len(open_brackets), ":"), "".join(kept[opened:])
        elif char == '"':
            in_string, a_key, opened = True, mark in ",{", len(kept) + 1
        elif char in "{[":
            open_brackets.append("}" if char == "{" else "]")
        elif char in "}]":
            _drop_trailing_comma(kept)
            if open_brackets:
                open_brackets.pop()
        kept.append(char)
        if not in_string and char in ",{[:":
            mark = char
            if char == ":":
                keyed = (len(kept), len(open_brackets), "")
            else:
                whole = (len(kept), len(open_brackets))
    stops_inside = in_string or (kept and kept[-1] not in ',"}]')
    # A text cut short (not ending on a bracket) may stop inside a member: after its whole key
    # the value is read as not given (a key given twice stays so), inside its key the member
    # is left out, where the text as it stands cannot be closed.
    cut = kept and kept[-1] not in "}]"
    # A lab value is never a list or an object: one opened and cut is that value cut (QA 48
    # N-M1: '"adamts13": {' made a flat file per slide).
    value_opened = key in LAB_KEYS and "".join(kept[keyed[0]:]).strip(" \t\r\n{[") == ""
    tries = ([] if stops_inside else [(kept, len(open_brackets))]) + (
        [(kept[:keyed[0]] + [f'{keyed[2]}""'], keyed[1])]
        if cut and (keyed[:2] > whole or value_opened) else []) + (
        [(kept[:whole[0]], whole[1])] if cut else [])
    for members, depth in tries:
        _drop_trailing_comma(members)
        repaired = "".join(members) + "".join(reversed(open_brackets[:depth]))
        try:  # every copy of a key given twice counts
            read = json.loads(repaired, object_pairs_hook=lambda pairs: [v for _, v in pairs])
        except ValueError:
            continue
        return repaired if _holds_a_value(read) else None  # nothing to read: as unreadable
    return None


def _holds_a_value(read: object) -> bool:
    """Whether JSON ``read`` (objects as lists of their values) holds a value that is not an
    empty string, at any depth."""
    if isinstance(read, list):
        return any(map(_holds_a_value, read))
    return not (isinstance(read, str) and not read.strip())


def _drop_trailing_comma(kept: list[str]) -> None:
    """Drop a comma (and the white space after it) that ends ``kept``."""
    end = len(kept)
    while end and kept[end - 1].isspace():
        end -= 1
    if end and kept[end - 1] == ",":
        del kept[end - 1:]


def _slide_repeated(value: object) -> bool:
    return isinstance(value, Repeated) and any(isinstance(each, dict) for each in value)


def _json_row(slide: str, values: dict | Repeated, path: Path) -> LabRow:
    """The row of ``slide`` in a per-slide JSON lab file; a slide given twice, as each of its
    objects."""
    source = f"{path} slide {slide!r}"
    if not isinstance(values, Repeated):
        return LabRow(values, source)
    objects = [each for each in values if isinstance(each, dict)]
    return LabRow(objects[0], source, problem=str(values.refused(repr(slide), str(path))),
                  others=tuple(objects[1:]))


def _rows_from_csv(text: str, path: Path) -> dict[str, LabRow]:
    """The rows of a lab CSV by slide. A file refused for its structure is read where it can
    be, each row with the refusal as its :attr:`~LabRow.problem` (QA 43 M-2, QA 44 H-2: read
    as no values): a ';'-separated file by ';', one without a slide column as values of every
    slide (each row), another row with no slide name left out, a row whose cells do not fit
    its column names as each way of fitting them (:func:`_fitted_rows`)."""
    try:
        names: list[str | None] = next(csv.reader(io.StringIO(text)), [])
        header = None
        if names.count("slide") != 1:
            header = f"{path}: a lab CSV needs one 'slide' column{_header_hint(names)}"
        lines = csv.reader(io.StringIO(text), delimiter=_delimiter(names))
        names = [None if is_record_column(name) else name for name in next(lines, [])]
        if names.count("slide") != 1:
            # Read by the column that is a slip of 'slide' ('Slide', a second 'slide'), or as
            # values of every slide without one (QA 44 H-4, M-1).
            names = _slide_column(names)
            if "slide" not in names:
                return _rows_of_no_slide(names, lines, path, header)
        result: dict[str, LabRow] = {}
        where_given: dict[str, str] = {}
        unnamed: list[LabRow] = []
        for cells in lines:
            if not cells:  # a blank line, as csv.DictReader skips it
                continue
            where = _row_lines(cells, lines.line_num)
            source = f"{path} {where}"
            row, others, problem = _row_values(names, cells), [], header
            if len(cells) != len(names):  # a cell split in two or left out: which is whose?
                # No way fits: the row's slide with no values, as its cells stand nowhere.
                row, *others = (_fitted_rows(names, cells, source)
                                or [{"slide": row.get("slide")}])
                problem = f"{source}: {_cells_problem(len(cells), len(names))}"
            slide = slide_name((row.pop("slide") or "").strip())
            for other in others:
                other.pop("slide")
            if not slide:
                unnamed.append(LabRow(row, source, f"{source}: the slide name is empty"))
                continue
            if slide in result:
                first = result[slide]
                problem = first.problem or (f"{source}: slide {slide!r} has a row already, "
                                            f"{where_given[slide]}: one row per slide")
                result[slide] = replace(first, problem=problem,
                                        others=(*first.others, row, *others))
                continue
            where_given[slide] = where
            result[slide] = LabRow(row, f"{source} (slide {slide!r})", problem, tuple(others))
    except csv.Error as exc:
        raise LabValueError(f"{path}: not a readable CSV: {exc}") from exc
    if not unnamed:
        if not result:
            raise LabValueError(f"{path}: no data rows")
        return result
    if not result:  # values of every slide, as a file without a slide column
        return {"": replace(unnamed[0], others=tuple(row.values for row in unnamed[1:]))}
    return {slide: replace(row, problem=row.problem or unnamed[0].problem,
                           unnamed=tuple(unnamed)) for slide, row in result.items()}


#: The separators a lab CSV is read by where its header is one column holding one of them
#: (refused: a lab CSV is comma-separated): a ';' or a tab of a spreadsheet's export.
_OTHER_DELIMITERS = {";": "';'", "\t": "tabs"}


def _delimiter(names: Sequence[str]) -> str:
    """',' or, for a header that is one column with ';' or a tab in it, that."""
    if len(names) == 1:
        return next((other for other in _OTHER_DELIMITERS if other in names[0]), ",")
    return ","


def _rows_of_no_slide(names: list[str | None], lines: Iterator[list[str]], path: Path,
                      header: str | None) -> dict[str, LabRow]:
    """A lab CSV without a slide column, refused (``header``) and read as values of every
    slide: each row, a row whose cells do not fit as :func:`_fitted_rows` (QA 44 H-2: a one-row
    file was read as none; QA 45 H-5: with a decimal comma too)."""
    rows = [values for cells in lines if cells
            for values in (_fitted_rows(names, cells, str(path)) if len(cells) != len(names)
                           else [_row_values(names, cells)])]
    if not rows:
        raise LabValueError(header or f"{path}: no data rows")
    return {"": LabRow(rows[0], str(path), header, tuple(rows[1:]))}


#: How many ways of joining the cells of a CSV row with too many :func:`_fitted_rows` tries
#: (this tool's rule: four decimal commas among ten numbers give 210).
MOST_JOINS = 512


def _cells_problem(cells: int, names: int) -> str:
    """Why a CSV row of ``cells`` cells under ``names`` column names is refused."""
    if cells > names:
        return "more cells than column names"
    return (f"{cells} cell{'s' * (cells != 1)} for {names} column names: write an empty cell "
            "for each value not given (a comma each), so that every value stands under its name")


def _fitted_rows(names: Sequence[str | None], cells: list[str], source: str
                 ) -> list[dict[str, object]]:
    """The likeliest values of a CSV row whose cells do not fit its ``names``, each with its
    ``slide`` where the file has that column: of each way of joining neighbouring cells with a
    comma until they fit where a digit meets a digit (a decimal comma splits '7,5 g/dL' in two;
    QA 44 H-5, QA 45 H-2: read as no values), those that keep the row's slide and have the
    fewest values refused; a row with cells missing as :func:`_padded_row` (QA 45 L-2: read
    silently as if the missing were the last). None where no such way fits."""
    if len(cells) < len(names):
        row = _padded_row(names, cells)
        return [] if row is None else [row]
    slide = _row_values(names, cells).get("slide")
    rows = [row for fitted in itertools.islice(_joined_cells(cells, len(cells) - len(names)),
                                               MOST_JOINS)
            if (row := _row_values(names, fitted)).get("slide") == slide]
    if not rows:
        return []
    unread = [_unreadable({key: value for key, value in row.items() if key != "slide"}, source)
              for row in rows]
    return [row for row, count in zip(rows, unread, strict=True) if count == min(unread)]


def _joined_cells(cells: list[str], extra: int) -> Iterator[list[str]]:
    """``cells`` with ``extra`` pairs of neighbours joined by a comma where a digit meets a
    digit, each way."""
    joints = [index for index in range(len(cells) - 1)
              if re.search(r"\d$", cells[index].strip()) and re.match(r"\s*\d", cells[index + 1])]
    for chosen in itertools.combinations(joints, extra):
        joined = list(cells)
        for index in reversed(chosen):  # right to left: the indices before stay right
            joined[index:index + 2] = [f"{joined[index]},{joined[index + 1]}"]
        yield joined


def _padded_row(names: Sequence[str | None], cells: list[str]) -> dict[str, object] | None:
    """The values of a CSV row with cells missing, over every way of placing empty cells
    among its ``cells`` that leaves the fewest values unreadable (:func:`_cell_cost`), never
    under ``slide``: under each name the cell every such way gives it, or, where they differ,
    :class:`Repeated` of the cells they give (read as each, as a key given twice is; where
    the slide differs, that of the way with the empty cells nearest the end). None where no
    way fits.

    The ways are counted by dynamic programming over the cells in order, so that none is
    missed however many there are (QA 48: the first 32 of them missed two cells left out
    early, and read a reticulocyte 3% as ADAMTS13; QA 49: a '%' that fits ADAMTS13 and the
    reticulocytes alike was read under one of them in every way read)."""
    cost = [[_cell_cost(name, cell) for name in names] for cell in cells]
    rows, columns = len(cells), len(names)
    # before[i][j]: the fewest unreadable values with the first i cells under the first j
    # names; after[i][j]: with the cells from i on under the names from j on.
    before = [[math.inf] * (columns + 1) for _ in range(rows + 1)]
    after = [[math.inf] * (columns + 2) for _ in range(rows + 2)]
    before[0][0] = after[rows][columns] = 0
    for j in range(1, columns + 1):
        for i in range(min(j, rows) + 1):
            before[i][j] = min(before[i][j - 1] if names[j - 1] != "slide" else math.inf,
                               before[i - 1][j - 1] + cost[i - 1][j - 1] if i else math.inf)
    for j in reversed(range(columns)):
        for i in reversed(range(rows + 1)):
            after[i][j] = min(after[i][j + 1] if names[j] != "slide" else math.inf,
                              cost[i][j] + after[i + 1][j + 1] if i < rows else math.inf)
    fewest = before[rows][columns]
    if fewest == math.inf:
        return None
    given: list[list[str]] = [[] for _ in names]
    for j in range(columns):
        for i in range(rows):  # cell i under name j in a way with the fewest
            if before[i][j] + cost[i][j] + after[i + 1][j + 1] == fewest:
                given[j].append(cells[i])
        if names[j] != "slide" and any(before[i][j] + after[i][j + 1] == fewest
                                       for i in range(rows + 1)):
            given[j].append("")
    values = []
    for name, candidates in zip(names, given, strict=True):
        copies = list(dict.fromkeys(candidates))
        values.append(copies[-1] if name == "slide" else copies[0] if len(copies) == 1
                      else Repeated(copies))
    return _row_values(names, values)


#: A cell that reads as a measurement (a number with its unit or '%'): not a slide name.
_MEASURED = re.compile(r"\d\s*(%|[a-zA-Z\u00b5]+\s*/|[a-zA-Z\u00b5]+$)")


@functools.lru_cache(maxsize=4096)
def _cell_cost(name: str | None, cell: str) -> int:
    """1 where ``cell`` cannot stand under ``name`` (:func:`_unreadable`): a name that is a
    slip of a lab key ('ADAMTS13') as that key, one that is no key ('mrn') taking any cell,
    and ``slide`` any cell but a measurement ('900 U/L'), else 0. Cached: the rows of a file
    repeat their values."""
    if name == "slide":
        return int(bool(_MEASURED.search(cell)))
    key = name if name in LAB_KEYS else next(iter(close_keys(name)), None) if name else None
    return 0 if key is None else _unreadable({key: cell}, "")


def _unreadable(row: Mapping[str, object], source: str) -> int:
    """How many values of ``row`` are refused with nothing they may stand for: a unit the key
    never takes ('900 U/L' of haemoglobin), a comma no decimal reading makes sense of. A
    decimal comma joined back is read (as 7.5), so it does not count."""
    count = 0
    for key, value in row.items():
        try:
            parse_labs({key: value}, source=source, complete=False)
        except LabValueError as error:
            count += not error.readings
    return count


def _slide_column(names: list[str | None]) -> list[str | None]:
    """``names`` with the first column that is a slip of ``slide`` as it, and the others such
    (None) left out; without one, as they are."""
    slips = [index for index, name in enumerate(names)
             if name is not None and _slip_key(name) == "slide"]
    if not slips:
        return names
    return ["slide" if index == slips[0] else None if index in slips else name
            for index, name in enumerate(names)]


def _row_values(names: Sequence[str | None], cells: Sequence[object]) -> dict[str, object]:
    """A CSV row's cells by column name, a cell missing at the end as ``None`` (as
    :class:`csv.DictReader` reads it), and the cells of a column repeated as :class:`Repeated`
    (read as each); a column named None left out."""
    row: dict[str, object] = {}
    for name, cell in itertools.zip_longest(names, cells[:len(names)]):
        if name is not None:
            row[name] = Repeated.adding(row[name], cell) if name in row else cell
    return row


def _header_hint(names: Sequence[str]) -> str:
    """What a CSV header without a ``slide`` column probably got wrong (qacli8 L-11)."""
    other = _delimiter(names)
    if other != ",":
        return (f" (its header is one column with {_OTHER_DELIMITERS[other]} in it: write it "
                "comma-separated)")
    near = [name for name in names if name.strip().lower() == "slide" and name != "slide"]
    return f" (it has {near[0]!r}: name the column 'slide', in lower case)" if near else ""


def _row_lines(cells: Sequence[str], last: int) -> str:
    """Where a CSV row that ends on line ``last`` stands: a quoted line break in a cell makes
    it span lines, which are all named (qacli6 LOW-5b: named by its last line alone)."""
    breaks = sum(cell.count("\n") for cell in cells)
    return f"line {last}" if breaks == 0 else f"lines {last - breaks}-{last}"


def read_lab_rows(path: str | os.PathLike[str]) -> dict[str, LabRow]:
    """The sets of lab values of a lab file, as written: JSON (``.json``) or CSV (``.csv``).

    A JSON object of lab values gives ``{"": LabRow}``; a JSON object of such objects keyed by
    slide name gives one :class:`LabRow` per slide. A CSV has a ``slide`` column and one column
    per lab key, one row per slide; empty cells are missing.

    Parameters
    ----------
    path : str or os.PathLike
        The lab file.

    Returns
    -------
    dict[str, LabRow]
        Lab values as written, by slide name (``""`` for a file that is not per slide).

    Raises
    ------
    LabValueError
        The file cannot be read, or is not a lab file (message names the file).
    """
    path = Path(path)
    if path.exists() and not path.is_file():  # a pipe would block, a device never end
        raise LabValueError(f"{path}: not a regular file; cannot be a lab file")
    if path.suffix.lower() not in {".json", ".csv"}:
        return _rows_of_another_type(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise LabValueError(f"{path}: cannot read lab file ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise LabValueError(f"{path}: cannot read lab file: not UTF-8 text ({exc.reason} at "
                            f"byte {exc.start})") from exc
    if path.suffix.lower() == ".json":
        return _rows_from_json(text, path)
    return _rows_from_csv(text, path)


def _rows_of_another_type(path: Path) -> dict[str, LabRow]:
    """A lab file neither .json nor .csv, refused; read as the JSON or CSV text it holds, if
    it holds one (QA 44 H-2: a JSON object in a .txt was read as no values)."""
    problem = f"{path}: a lab file must be .json or .csv"
    try:
        text = path.read_text(encoding="utf-8-sig")
        json_like = text.lstrip().startswith(("{", "["))
        rows = _rows_from_json(text, path) if json_like else _rows_from_csv(text, path)
    except (OSError, UnicodeDecodeError, LabValueError):
        raise LabValueError(problem) from None
    return {slide: replace(row, problem=row.problem or problem) for slide, row in rows.items()}


def read_labs_file(path: str | os.PathLike[str], *, complete: bool = True) -> dict[str, Labs]:
    """Read a lab file (:func:`read_lab_rows`): lab values by slide name.

    Parameters
    ----------
    path : str or os.PathLike
        The lab file.
    complete : bool, optional
        False when the command line may complete its values (:func:`parse_labs`).

    Returns
    -------
    dict[str, Labs]
        Lab values by slide name (``""`` for a file that is not per slide).

    Raises
    ------
    LabValueError
        The file cannot be read or parsed, or holds an invalid value (message names the file).
    """
    rows = read_lab_rows(path)
    for row in rows.values():  # the file's structure before its values
        if row.problem is not None:
            raise LabValueError(row.problem)
    return {slide: row.parsed(complete=complete) for slide, row in rows.items()}


def check_lab_slides(by_slide: Mapping[str, Labs], slides: Sequence[str], *, source: str) -> None:
    """Refuse a lab file read by :func:`read_labs_file` that does not fit a run's ``slides``:
    one set of values with no slide name for several slides (slides are usually different
    patients); rows none of which names a slide of the run; a row that names none but is a
    slip of the name of a slide left without values (``S1`` or ``s_1`` for ``s1``), which
    would leave that slide without its verdict; or such a slip beside the slide's own row (two
    rows, one patient: which is right?). Other rows may be for slides of another run;
    names are compared in Unicode NFC (:func:`smearscan.naming.slide_name`).

    Raises
    ------
    LabValueError
        One line naming ``source`` and the problem.
    """
    if "" in by_slide:
        if len(slides) > 1:
            raise LabValueError(
                f"{source}: one set of lab values, with no slide name, for {len(slides)} slides "
                "(usually different patients): give a CSV with a 'slide' column, or a JSON "
                "object keyed by slide name")
        return
    without = [slide for slide in slides if slide not in by_slide]
    typos = {name: close for name in by_slide if name not in slides
             and (close := _close_name(name, without)) is not None}
    if typos:
        named = ", ".join(f"{name!r} (did you mean {close!r}?)" for name, close in typos.items())
        raise LabValueError(f"{source}: lab values for slides not in this run: {named}")
    with_row = [slide for slide in slides if slide in by_slide]
    twins = {name: close for name in by_slide if name not in slides
             and (close := _close_name(name, with_row)) is not None}
    if twins:  # qacli6 LOW-3: 'S1' beside 's1' was ignored without a word
        named = ", ".join(f"{close!r} and {name!r}" for name, close in twins.items())
        raise LabValueError(f"{source}: two rows for one slide of this run, {named} (their names "
                            "differ only in case, spaces, underscores or hyphens): keep the "
                            "right one")
    if len(without) == len(slides):
        raise LabValueError(f"{source}: no lab values for any slide of this run "
                            f"({', '.join(slides)}); it has {', '.join(sorted(by_slide))}")


def _close_name(name: str, names: Sequence[str]) -> str | None:
    """The first of :func:`_slips`, if any."""
    return next(iter(_slips(name, names)), None)


def _slips(name: str, names: Iterable[str]) -> list[str]:
    """The ``names`` that ``name`` is a slip of: the same but for case, spaces, underscores,
    hyphens or compatibility characters. Not merely similar: 'patientA' is not a slip of
    'patientC', another patient."""
    key = _slip_key(name)
    return [candidate for candidate in names if _slip_key(candidate) == key]


def _slip_key(name: str) -> str:
    return re.sub(r"[\s_-]+", "", unicodedata.normalize("NFKC", name).casefold())


def labs_for_slide(by_slide: Mapping[str, Labs], slide: str | None, *, source: str) -> Labs:
    """The lab values that apply to ``slide`` in a file read by :func:`read_labs_file`.

    A file that is not per slide applies to every slide; a per-slide file must name it.
    """
    if "" in by_slide:
        return by_slide[""]
    if slide is None:
        raise LabValueError(f"{source}: the lab file is per slide; name the slide with --slide")
    if slide not in by_slide:
        names = ", ".join(sorted(by_slide))
        raise LabValueError(f"{source}: no lab values for slide {slide!r} (has: {names})"
                            f"{slips_hint(slide_slips(slide, by_slide))}")
    return by_slide[slide]


def slide_slips(slide: str | None, by_slide: Mapping[str, object]) -> list[str]:
    """The slides of ``by_slide`` that ``slide`` is a slip of (:func:`_slips`): each is read
    where the slide is refused (QA 44 M-2: of 's_1' and 's1' for 'S1' only the first was)."""
    return [] if slide is None else _slips(slide, by_slide)


def slips_hint(slips: Sequence[str]) -> str:
    """``"; did you mean 's1'?"`` (or ``'s_1' or 's1'``) for a refusal; empty without slips."""
    return f"; did you mean {' or '.join(map(repr, slips))}?" if slips else ""


#: Control PTs (s) and ISIs of thromboplastins in use, and a margin for rounding and local
#: variation: INR = (PT / control) ** ISI (WHO 2013 guidelines for thromboplastins and plasma,
#: ISI about 0.9-2.5; control PT about 10-14 s). A PT prolongation of p seconds bounds the INR
#: between :func:`least_inr` and :func:`greatest_inr`; an INR outside means the prothrombin
#: time itself was given as its prolongation (seed 000: PT 13.5 s, INR 1.17), or a sign lost
#: (this tool's rule).
PT_CONTROL_S, PT_ISI, PT_INR_MARGIN = (10.0, 14.0), (0.9, 2.5), (0.1, 0.3)


def least_inr(prolongation_s: float) -> float:
    """The lowest INR compatible with a PT prolongation of ``prolongation_s`` seconds."""
    control = PT_CONTROL_S[1] if prolongation_s >= 0 else PT_CONTROL_S[0]
    isi = PT_ISI[0] if prolongation_s >= 0 else PT_ISI[1]
    return ((control + prolongation_s) / control) ** isi - PT_INR_MARGIN[0]


def greatest_inr(prolongation_s: float) -> float:
    """The highest INR compatible with a PT prolongation of ``prolongation_s`` seconds."""
    control = PT_CONTROL_S[0] if prolongation_s >= 0 else PT_CONTROL_S[1]
    isi = PT_ISI[1] if prolongation_s >= 0 else PT_ISI[0]
    return ((control + prolongation_s) / control) ** isi + PT_INR_MARGIN[1]


def _check_pt_against_inr(labs: Labs, source: str) -> None:
    """Refuse a PT prolongation that the INR given beside it contradicts (:func:`least_inr`,
    :func:`greatest_inr`). A bound (of either) is checked at the end of its range that could
    agree."""
    prolongation, inr = labs.pt_prolongation_s, labs.inr
    if prolongation is None or inr is None:
        return
    low, high = _range_of(prolongation)
    inr_low, inr_high = _range_of(inr)
    least, greatest = least_inr(low), greatest_inr(high)
    if inr_high < least:
        raise LabValueError(
            f"{source}: pt_prolongation_s = {prolongation:g} s needs an INR of at "
            f"least {least:.3f}, but inr = {inr:g}: is it the prothrombin time itself? Give "
            "the PT minus the local control (this tool's rule)", between=_PT_INR)
    if inr_low > greatest:
        raise LabValueError(
            f"{source}: pt_prolongation_s = {prolongation:g} s allows an INR of at "
            f"most {greatest:.3f}, but inr = {inr:g}: give the PT minus the local control, "
            "positive when the PT is longer (this tool's rule)", between=_PT_INR)


_PT_INR = ("pt_prolongation_s", "inr")


def _range_of(value: float) -> tuple[float, float]:
    """The values a lab value stands for: itself, or the range of a :class:`Bound`."""
    if not isinstance(value, Bound):
        return float(value), float(value)
    return ((value.plausible[0], value.limit) if value.sign == "<"
            else (value.limit, value.plausible[1]))


def with_overrides(labs: Labs, overrides: Labs, *,
                   source: str = "the lab file and the command line") -> Labs:
    """``labs`` with every value that ``overrides`` gives replaced (command line over file); a
    D-dimer and its ULN, and a PT prolongation and the INR, from the two are compared as from
    one (:data:`D_DIMER_RATIO_RANGE`, :func:`least_inr`); an LDH and its ULN are judged
    together by :func:`smearscan.verdict.assess`, whose refusal keeps any URGENT line."""
    try:
        return _merged_first_refused(labs, overrides, source)
    except LabValueError as error:
        raise _with_the_rest(error, _later_conflicts(labs, overrides, error, source)) from None


def _later_conflicts(labs: Labs, overrides: Labs, error: LabValueError, source: str
                     ) -> Iterator[LabValueError]:
    """The contradictions between ``labs`` and ``overrides`` after ``error``, each found with
    the keys of those before it not given."""

    def rest(pair: tuple[Labs, Labs], error: LabValueError) -> tuple[Labs, Labs] | None:
        if not error.between:
            return None
        return tuple(functools.reduce(_without, error.between, each) for each in pair)

    return _later_refusals((labs, overrides), error, rest,
                           lambda pair: _merged_first_refused(*pair, source))


def _merged_first_refused(labs: Labs, overrides: Labs, source: str) -> Labs:
    """:func:`with_overrides`, refusing at the first contradiction."""
    given = {key: getattr(overrides, key) for key in LAB_KEYS
             if getattr(overrides, key) is not None}
    _check_consistent(lambda key: given[key] if key in given else getattr(labs, key), source)
    units = {key: unit for key, unit in labs.units.items() if key not in given}
    merged = replace(labs, **given, units=units | dict(overrides.units))
    _check_d_dimer_ratio(merged, source)
    _check_pt_against_inr(merged, source)
    return merged
