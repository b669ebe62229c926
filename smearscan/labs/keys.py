"""The lab keys and how each is read: :class:`LabKey`, the unit tables and the ambiguous
ranges of bare numbers with their sources, and :data:`LAB_KEYS`, with each key's default
unit, accepted units, plausible range and meaning."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


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
    codes : Mapping[str, str]
        Codes a ``"choice"`` key also takes (lower case), each with the word it stands for.
    refused_units : Mapping[str, str]
        Units of another quantity reported under the key's name, which cannot be converted to
        ``unit`` (a reticulocyte count in x10^9/L), each with why and what to give instead.
    undetectable : float, optional
        The limit, in ``unit``, that a result reported as undetectable (:data:`UNDETECTABLE`)
        is read under; None: such a result is refused.
    counted : bool
        A blood-cell count, whose exact 0 the verdict refuses: an analyser's flag (clumped
        cells, a count under its limit) or a blank cell, not a result
        (:func:`smearscan.labs.zero_counts`; QA 84 #7; this tool's rule).
    """

    kind: str
    unit: str = ""
    units: Mapping[str, float] = field(default_factory=dict)
    plausible: tuple[float, float] | None = None
    meaning: str = ""
    ambiguous: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    choices: tuple[str, ...] = ()
    codes: Mapping[str, str] = field(default_factory=dict)
    refused_units: Mapping[str, str] = field(default_factory=dict)
    undetectable: float | None = None
    counted: bool = False

    @property
    def choices_said(self) -> str:
        """The choices of a ``"choice"`` key and its codes, as help and errors list them."""
        codes = f" (or {', '.join(code.upper() for code in self.codes)})" if self.codes else ""
        return ", ".join(self.choices) + codes


def _number(unit: str, units: Mapping[str, float], plausible: tuple[float, float],
            meaning: str, ambiguous: Mapping[str, tuple[float, float]] | None = None, *,
            refused_units: Mapping[str, str] | None = None,
            undetectable: float | None = None, counted: bool = False) -> LabKey:
    return LabKey("number", unit, {unit: 1.0, **units}, plausible, meaning, ambiguous or {},
                  refused_units=refused_units or {}, undetectable=undetectable,
                  counted=counted)


#: How labs write a result under their assay's detection limit (case and spaces aside).
UNDETECTABLE = ("undetectable", "not detectable", "not detected", "below detection limit",
                "below the detection limit", "under the detection limit", "<lod", "< lod",
                "below lod")

#: g/L: a haptoglobin reported undetectable is under it, the usual detection limit of
#: immunoturbidimetric assays; a measured value under it is PLASMIC's undetectable haptoglobin
#: too (:func:`smearscan.verdict.scores.plasmic.undetectable_haptoglobin`; this tool's rule).
HAPTOGLOBIN_UNDETECTABLE = 0.1

#: %: an ADAMTS13 activity reported undetectable is under it, the ISTH 2020 cut-off of a severe
#: deficiency (Zheng XL, et al. J Thromb Haemost 2020;18:2486-2495), under which the activity
#: assays in use (FRETS-VWF73, ELISA, chemiluminescence) all detect: an undetectable activity
#: is a severe deficiency whatever the assay (this tool's rule; QA 84 #1: refused as not a
#: number, then read as not measured, "draw a sample").
ADAMTS13_UNDETECTABLE = 10.0


# Counts: x10^9/L = x10^3/uL = G/L; per uL (= per mm3) / 1000 (CLINICAL.md, "Units").
_PER_UL = 0.001  # a count per uL (or mm3) in x10^9/L
_COUNT_UNITS = {"10^9/L": 1.0, "G/L": 1.0, "x10^3/uL": 1.0, "10^3/uL": 1.0, "K/uL": 1.0,
                "/uL": _PER_UL, "/mm3": _PER_UL, "/nL": 1.0}
# Creatinine: 88.4 umol/L per mg/dL (molar mass 113.12 g/mol).
_CREATININE_UNITS = {"umol/L": 1 / 88.4, "mmol/L": 1000 / 88.4}
# D-dimer: only its ratio to the ULN is used; units with an optional FEU/DDU basis.
_D_DIMER_UNITS = {f"{unit}{basis}": factor
                  for unit, factor in {"ug/L": 1.0, "mg/L": 1000.0, "ug/mL": 1000.0}.items()
                  for basis in ("", " FEU", " DDU")}
_D_DIMER_UNITS.update({"ng/mL FEU": 1.0, "ng/mL DDU": 1.0})
# Vitamin B12: 1 pg/mL = 0.738 pmol/L. Folate: 1 ng/mL = 2.266 nmol/L.
B12_PMOL_PER_PG = 0.738
FOLATE_NMOL_PER_NG = 2.266
_B12_UNITS = {"ng/L": 1.0, "pmol/L": 1 / B12_PMOL_PER_PG}
_FOLATE_UNITS = {"ug/L": 1.0, "nmol/L": 1 / FOLATE_NMOL_PER_NG}
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
    # F and M: the administrative sex codes of HL7 v2 (table 0001), as lab systems export them.
    "sex": LabKey("choice", meaning="sex, for the WHO anaemia limit", choices=("female", "male"),
                  codes={"f": "female", "m": "male"}),
    "hemoglobin": _number("g/dL", {"g/L": 0.1, "mmol/L": 1.611}, (1.0, 25.0), "haemoglobin",
                          _HB_AMBIGUOUS),
    "platelets": _number("x10^9/L", _COUNT_UNITS, (0.0, 2000.0), "platelet count",
                         {"/uL": (1000.0, 2000.0)}, counted=True),
    "wbc": _number("x10^9/L", _COUNT_UNITS, (0.0, 500.0), "white-cell count",
                   {"/uL": (100.0, 500.0)}, counted=True),
    "mcv": _number("fL", {}, (40.0, 160.0), "mean corpuscular volume"),
    "reticulocytes": _number("%", _RETICULOCYTE_UNITS, (0.0, 50.0),
                             "reticulocytes, % of red cells (or '0.021 fraction'; an absolute "
                             "count is refused)", _RETICULOCYTE_AMBIGUOUS,
                             refused_units=_RETICULOCYTE_COUNT_UNITS),
    # Floor: no human serum reads under 20 U/L (the hereditary LDH deficiencies ~20-60 U/L):
    # '1.2 U/L' is 1200 with a dot for thousands, or ukat/L (this tool's rule).
    "ldh": _number("U/L", {"IU/L": 1.0, "ukat/L": 60.0}, (20.0, 100000.0),
                   "lactate dehydrogenase, judged only beside ldh_uln", _LDH_AMBIGUOUS),
    # From 100 U/L: no assay's upper limit is under ~190 U/L (adult IFCC methods), and one of
    # 60 (a slip for 600) read a normal LDH of 200 as raised (QA 130 #5; this tool's rule).
    "ldh_uln": _number("U/L", {"IU/L": 1.0, "ukat/L": 60.0}, (100.0, 2000.0),
                       "upper limit of normal of the lab's LDH assay"),
    "haptoglobin": _number("g/L", {"mg/dL": 0.01}, (0.0, 10.0), "haptoglobin",
                           _HAPTOGLOBIN_AMBIGUOUS, undetectable=HAPTOGLOBIN_UNDETECTABLE),
    # Up to 1.0 g/L: lower limits run ~0.1-0.5 g/L by assay (Mayo 0.3); 2-3 g/L is an upper
    # limit in the wrong field, which would read normal results as low and bounds under it as
    # undetectable (QA 56 #7; this tool's rule).
    "haptoglobin_lln": _number("g/L", {"mg/dL": 0.01}, (0.05, 1.0),
                               "lower limit of normal of the lab's haptoglobin assay",
                               _HAPTOGLOBIN_AMBIGUOUS),
    "indirect_bilirubin": _number("mg/dL", {"umol/L": 1 / 17.1}, (0.0, 50.0),
                                  "indirect (unconjugated) bilirubin", {"umol/L": (0.0, 50.0)}),
    "dat": LabKey("posneg", meaning="direct antiglobulin (Coombs) test"),
    "creatinine": _number("mg/dL", _CREATININE_UNITS, (0.1, 25.0), "serum creatinine",
                          {"umol/L": (10.0, 25.0)}),
    # Up to 1.6 mg/dL (141 umol/L): no reference limit is higher, and one of 2 mg/dL or more
    # (raised at any age) would hide a kidney injury; a patient's usual creatinine is no limit.
    "creatinine_uln": _number("mg/dL", _CREATININE_UNITS, (0.1, 1.6),
                              "the lab's upper reference limit of creatinine for this patient "
                              "(a child's is lower than an adult's)"),
    "pt_prolongation_s": _number("s", {"sec": 1.0, "seconds": 1.0}, (-5.0, 120.0),
                                 "prothrombin time minus the local control, seconds "
                                 "(may be slightly negative)"),
    "inr": _number("", {}, (0.5, 20.0), "international normalised ratio"),
    # Floor: no fibrinogen assay reports a result under ~0.1 g/L (Clauss methods' lowest
    # reportable results run ~0.1-0.5 g/L; under them a lab reports a bound, '<0.1 g/L', read
    # down to 0.05), while a g/L result typed as mg/dL reads a hundredth of itself: '2.5 mg/dL'
    # read 0.025 g/L, gave an overt DIC its fibrinogen point and took the URGENT TTP line away
    # (QA 116 H-1). At 0.1 the floor refused '<0.1 g/L' itself (QA 121 M-1). This tool's rule.
    "fibrinogen": _number("g/L", {"mg/dL": 0.01}, (0.05, 15.0), "fibrinogen",
                          {"mg/dL": (10.0, 15.0)}),
    "d_dimer": _number("ng/mL", _D_DIMER_UNITS, (0.0, 1e6),
                       "D-dimer; bare numbers must be in the same unit as d_dimer_uln"),
    "d_dimer_uln": _number("ng/mL", _D_DIMER_UNITS, (0.01, 1e5),
                           "upper limit of normal of the lab's D-dimer assay"),
    # U/dL and U/mL: the activity's units without the "I" (QA 139 H-1: refused).
    "adamts13": _number("%", {"IU/dL": 1.0, "IU/mL": 100.0, "U/dL": 1.0, "U/mL": 100.0},
                        (0.0, 200.0),
                        "ADAMTS13 activity (IU/mL is also a fraction of normal)",
                        {"IU/mL": (0.0, 2.0)}, undetectable=ADAMTS13_UNDETECTABLE),
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
    "systemic_sclerosis": LabKey("bool", meaning="systemic sclerosis (scleroderma): a "
                                                 "scleroderma renal crisis"),
    "drug_exposure": LabKey("named", meaning="a drug suspected of causing TMA, by name (a "
                                             "bare yes is checked, not stopped), or no "
                                             "(none/nil: no; unknown: not recorded)"),
}


def lab_key_named(name: object) -> object:
    """The lab key that a lab file's column or key ``name`` is in another case or with spaces
    around it ('Hemoglobin', 'LDH_ULN': laboratory exports capitalise; QA 139 H-2: refused, and
    past the problems read every way an ADAMTS13 of 3% was read as not given), else ``name``
    as it is."""
    if not isinstance(name, str):
        return name
    folded = name.strip().lower()
    return folded if folded in LAB_KEYS else name
