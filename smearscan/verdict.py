"""Verdict stage: schistocyte percentage + lab values -> a reasoned, cited MAHA verdict.

Decision support only: every statement names the findings (with the values used) that led to
it, and the output says that a clinician decides. Nothing missing is guessed: missing inputs
are listed under ``missing`` and scores with missing items are given as a range.

MAHA rule (``Verdict.maha``)
----------------------------
The smear is the defining criterion (ICSH 2021: more than 1% schistocytes in at least 1000 red
cells suggests TMA in an adult):

* no schistocyte percentage, or fewer than 1000 red cells counted -> ``insufficient data``;
* percentage and its 95% interval at or below 1% -> ``unlikely``; if haemolysis markers are
  raised, the findings say that MAHA is unlikely by smear and to look for other causes of
  haemolysis;
* percentage or interval on both sides of 1% -> ``possible`` (``unlikely`` when haemolysis
  markers are measured and normal);
* percentage and interval above 1%, haemolysis present (at least two raised markers: LDH above
  its ULN, haptoglobin low, reticulocytes raised, indirect bilirubin raised) and DAT negative
  -> ``likely``; otherwise ``possible`` (also when abundant other poikilocytes make the
  percentage less specific, ICSH 2021). Thrombocytopenia is listed for or against.

With no count of red cells (a bare percentage) the 1000-cell rule cannot be checked; the
verdict says so under ``missing``.

Scores: PLASMIC (Bendapudi 2017), ISTH overt DIC (2025 update), French TMA score (Coppo 2010,
only when ANA is given). Differential: TTP, HUS, DIC, cancer-associated MAHA, and drug-induced,
malignant-hypertension, pregnancy and mechanical causes when the labs record them. Marrow
section: bone-marrow infiltration (seeds 002/003). The rules of each are in their functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from smearscan.labs import LAB_KEYS, Labs

__all__ = [
    "Cause",
    "Finding",
    "MarrowAssessment",
    "Score",
    "ScoreItem",
    "SlideNotFoundError",
    "SmearFindings",
    "Verdict",
    "assess",
    "format_text",
    "french_score",
    "isth_dic_score",
    "plasmic_score",
    "smear_findings_from_summary",
]

DISCLAIMER = "Decision support only: a clinician decides."
INSUFFICIENT = "insufficient data"
INDETERMINATE = "indeterminate (items missing)"
MARROW_ADVICE = "bone-marrow examination"
LEUKOERYTHROBLASTIC_VALUES = ("present", "possible", "absent", "insufficient")

# ICSH 2021: Zini G, et al. Int J Lab Hematol 2021;43(6):1264-1271.
ICSH = "ICSH 2021 (Zini G, et al. Int J Lab Hematol 2021;43:1264-1271)"
SCHISTOCYTE_LIMIT = 1.0  # % of red cells; above it suggests TMA in an adult
MIN_RBC_COUNTED = 1000  # red cells to count before a percentage is reported

# PLASMIC: Bendapudi PK, et al. Lancet Haematol 2017;4(4):e157-e164.
PLASMIC = "PLASMIC score (Bendapudi PK, et al. Lancet Haematol 2017;4(4):e157-e164)"
PLASMIC_PLATELETS = 30.0  # x10^9/L, point when below
PLASMIC_RETICULOCYTES = 2.5  # %, haemolysis when above
PLASMIC_INDIRECT_BILIRUBIN = 2.0  # mg/dL, haemolysis when above
PLASMIC_MCV = 90.0  # fL, point when below
PLASMIC_INR = 1.5  # point when below
PLASMIC_CREATININE = 2.0  # mg/dL, point when below
# Judgement call (not in PLASMIC): "undetectable" haptoglobin is below 0.1 g/L, the usual lower
# detection limit of immunoturbidimetric assays.
HAPTOGLOBIN_UNDETECTABLE = 0.1  # g/L

# ISTH overt DIC, 2025 update: Iba T, Levy JH, Maier CL, et al. J Thromb Haemost
# 2025;23(7):2356-2362 (updates Taylor FB Jr, et al. Thromb Haemost 2001;86:1327-1330).
ISTH = ("ISTH overt DIC score, 2025 update (Iba T, et al. J Thromb Haemost "
        "2025;23(7):2356-2362)")
ISTH_OVERT_DIC = 5  # total at or above: compatible with overt DIC

# French TMA score: Coppo P, et al. PLoS One 2010;5(4):e10208.
FRENCH = "French TMA score (Coppo P, et al. PLoS One 2010;5(4):e10208)"
FRENCH_PLATELETS = 30.0  # x10^9/L, criterion when at or below (CLINICAL.md)
FRENCH_CREATININE_UMOL = 200.0  # umol/L (2.26 mg/dL), criterion when at or below
UMOL_PER_MG_DL_CREATININE = 88.4  # CLINICAL.md, "Units"

# ADAMTS13: activity < 10 IU/dL (%) confirms TTP (ISTH TTP guideline, Zheng XL, et al.
# J Thromb Haemost 2020;18(10):2486-2495). "Well above 10%" (CLINICAL.md, cancer-associated
# MAHA) is taken as >= 20%, the top of the guideline's 10-20% grey zone.
ADAMTS13_SEVERE = 10.0  # %
ADAMTS13_WELL_ABOVE = 20.0  # %

# Judgement calls for "raised/low" haemolysis markers and cytopenias (reference limits):
HAPTOGLOBIN_LOW = 0.3  # g/L, lower reference limit (Mayo Clinic Laboratories: 30-200 mg/dL)
INDIRECT_BILIRUBIN_ULN = 1.0  # mg/dL, upper reference limit (seed 000 lab table: 0.2-1)
RETICULOCYTES_RAISED = PLASMIC_RETICULOCYTES  # % (Bendapudi 2017 definition of haemolysis)
PLATELETS_LOW = 150.0  # x10^9/L, lower reference limit (seed 000 lab table: 150-450)
# WHO 2011 haemoglobin thresholds for anaemia: < 12 g/dL non-pregnant women, < 13 g/dL men;
# sex is not recorded, so 12 g/dL (the lower, more specific cut-off) is used.
HEMOGLOBIN_LOW = 12.0  # g/dL
WBC_LOW = 4.0  # x10^9/L, lower reference limit (seed 000 lab table: 4-11)
# Judgement call: HUS needs an acute-kidney-injury pattern; creatinine >= 2.0 mg/dL is the
# level at which PLASMIC (Bendapudi 2017) stops scoring the "renal" point for TTP.
HUS_CREATININE = PLASMIC_CREATININE  # mg/dL


class SlideNotFoundError(KeyError):
    """The slide is not in the summary; the message lists the slides that are."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class SmearFindings:
    """What the smear showed, as used by the verdict (``None`` is not known).

    Attributes
    ----------
    schistocyte_percent : float, optional
        Schistocytes as % of red cells counted.
    ci95 : tuple of float, optional
        95% interval of the percentage, (low, high) in %.
    rbc_counted : int, optional
        Red cells counted; ``None`` when the percentage was given bare.
    nrbc_present : bool, optional
        Nucleated red cells seen.
    leukoerythroblastic : str, optional
        ``'present'``, ``'possible'``, ``'absent'`` or ``'insufficient'``.
    teardrop_percent : float, optional
        Teardrop cells (dacrocytes) as % of red cells.
    other_poikilocytes_abundant : bool, optional
        Other severe poikilocytosis, which makes the schistocyte % less specific (ICSH 2021).
    limit_percent : float
        Reference limit for the patient: 1% adults and term neonates, 5% preterm infants
        (ICSH 2021).
    """

    schistocyte_percent: float | None = None
    ci95: tuple[float, float] | None = None
    rbc_counted: int | None = None
    nrbc_present: bool | None = None
    leukoerythroblastic: str | None = None
    teardrop_percent: float | None = None
    other_poikilocytes_abundant: bool | None = None
    limit_percent: float = SCHISTOCYTE_LIMIT

    def __post_init__(self) -> None:
        for name in ("schistocyte_percent", "teardrop_percent"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 100:
                raise ValueError(f"{name} = {value!r}: not a percentage (0-100)")
        if self.ci95 is not None and not (len(self.ci95) == 2 and self.ci95[0] <= self.ci95[1]):
            raise ValueError(f"ci95 = {self.ci95!r}: expected (low, high) with low <= high")
        if self.rbc_counted is not None and self.rbc_counted < 0:
            raise ValueError(f"rbc_counted = {self.rbc_counted!r}: negative")
        if self.leukoerythroblastic not in (None, *LEUKOERYTHROBLASTIC_VALUES):
            raise ValueError(f"leukoerythroblastic = {self.leukoerythroblastic!r}: expected one "
                             f"of {', '.join(LEUKOERYTHROBLASTIC_VALUES)}")


def _section(entry: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    return entry.get(name) or {}


def smear_findings_from_summary(summary: Mapping[str, Any], slide: str) -> SmearFindings:
    """Read one slide's :class:`SmearFindings` from a ``summary.json`` mapping.

    Uses ``schistocytes.percent``, ``.ci95``, ``.rbc_counted`` and ``.less_specific`` (as
    ``other_poikilocytes_abundant``), ``nrbc.present``, ``leukoerythroblastic.finding`` and
    ``morphology.teardrop_percent``; any of them may be absent (``None``).

    Raises
    ------
    SlideNotFoundError
        ``slide`` is not in ``summary["slides"]`` (a :class:`KeyError`; lists the slides).
    """
    slides = summary.get("slides") or {}
    if slide not in slides:
        names = ", ".join(repr(name) for name in slides) or "none"
        raise SlideNotFoundError(f"slide {slide!r} is not in the summary; slides: {names}")
    entry = slides[slide]
    schistocytes = _section(entry, "schistocytes")
    ci95 = schistocytes.get("ci95")
    return SmearFindings(
        schistocyte_percent=schistocytes.get("percent"),
        ci95=tuple(ci95) if ci95 is not None else None,
        rbc_counted=schistocytes.get("rbc_counted"),
        nrbc_present=_section(entry, "nrbc").get("present"),
        leukoerythroblastic=_section(entry, "leukoerythroblastic").get("finding"),
        teardrop_percent=_section(entry, "morphology").get("teardrop_percent"),
        other_poikilocytes_abundant=schistocytes.get("less_specific"),
        limit_percent=schistocytes.get("limit_percent", SCHISTOCYTE_LIMIT),
    )


@dataclass(frozen=True)
class Finding:
    """One finding for or against MAHA and the value it rests on."""

    finding: str
    value: str

    def to_dict(self) -> dict[str, str]:
        """``{"finding", "value"}``."""
        return {"finding": self.finding, "value": self.value}


@dataclass(frozen=True)
class ScoreItem:
    """One score item: its criterion, the value used, points (``None`` if missing), maximum."""

    item: str
    value: str
    points: int | None
    max_points: int

    def to_dict(self) -> dict[str, Any]:
        """``{"item", "value", "points"}``."""
        return {"item": self.item, "value": self.value, "points": self.points}


def _bounds(items: tuple[ScoreItem, ...]) -> tuple[int, int]:
    """(total if every missing item scores 0, total if every missing item scores its maximum)."""
    low = sum(item.points or 0 for item in items)
    return low, low + sum(item.max_points for item in items if item.points is None)


@dataclass(frozen=True)
class Score:
    """A published score with item-by-item points; missing items make it a range."""

    source: str
    items: tuple[ScoreItem, ...]
    risk: str
    notes: tuple[str, ...] = ()

    @property
    def minimum(self) -> int:
        """Total when every missing item scores 0."""
        return _bounds(self.items)[0]

    @property
    def maximum(self) -> int:
        """Total when every missing item scores its maximum."""
        return _bounds(self.items)[1]

    @property
    def total(self) -> int | None:
        """Total, or ``None`` when an item is missing."""
        return self.minimum if self.minimum == self.maximum else None

    def to_dict(self) -> dict[str, Any]:
        """``{"items", "total", "min", "max", "risk", "source", "notes"}``."""
        return {"items": [item.to_dict() for item in self.items], "total": self.total,
                "min": self.minimum, "max": self.maximum, "risk": self.risk,
                "source": self.source, "notes": list(self.notes)}

    def total_text(self) -> str:
        """``"5"``, or ``"3-7 (incomplete)"``."""
        if self.total is not None:
            return str(self.total)
        return f"{self.minimum}-{self.maximum} (incomplete)"


@dataclass(frozen=True)
class Cause:
    """One cause in the differential: ``likely``, ``suspected``, ``possible``, ``unlikely`` or
    ``not assessable``, with the reasons (findings and next steps) behind it."""

    cause: str
    assessment: str
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """``{"cause", "assessment", "reasons"}``."""
        return {"cause": self.cause, "assessment": self.assessment,
                "reasons": list(self.reasons)}


@dataclass(frozen=True)
class MarrowAssessment:
    """Bone-marrow infiltration: ``suspected``, ``possible``, ``not suggested`` or
    ``not assessable``; ``advice`` is ``"bone-marrow examination"`` when suspected/possible."""

    marrow_infiltration: str
    reasons: tuple[str, ...]
    advice: str | None

    def to_dict(self) -> dict[str, Any]:
        """``{"marrow_infiltration", "reasons", "advice"}``."""
        return {"marrow_infiltration": self.marrow_infiltration,
                "reasons": list(self.reasons), "advice": self.advice}


@dataclass(frozen=True)
class Verdict:
    """The reasoned verdict for one slide; :meth:`to_dict` is the JSON contract."""

    maha: str
    findings_for: tuple[Finding, ...]
    findings_against: tuple[Finding, ...]
    missing: tuple[str, ...]
    plasmic: Score
    isth_dic: Score
    french: Score | None
    differential: tuple[Cause, ...]
    marrow: MarrowAssessment
    disclaimer: str = DISCLAIMER

    def to_dict(self) -> dict[str, Any]:
        """The verdict as JSON-ready data (see the module docstring for the rules)."""
        return {
            "maha": self.maha,
            "findings": {"for": [f.to_dict() for f in self.findings_for],
                         "against": [f.to_dict() for f in self.findings_against]},
            "missing": list(self.missing),
            "scores": {"plasmic": self.plasmic.to_dict(), "isth_dic": self.isth_dic.to_dict(),
                       "french": self.french.to_dict() if self.french else None},
            "differential": [cause.to_dict() for cause in self.differential],
            "marrow": self.marrow.to_dict(),
            "disclaimer": self.disclaimer,
        }


# --- values as text ---------------------------------------------------------------------------

def _show(key: str, value: object) -> str:
    """A lab value with its unit, e.g. ``"82 x10^9/L"``; ``"missing"`` for ``None``."""
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    unit = LAB_KEYS[key].unit
    return f"{value:g}{unit}" if unit in ("", "%") else f"{value:g} {unit}"


def _smear_text(smear: SmearFindings) -> str:
    text = f"{smear.schistocyte_percent:g}%"
    if smear.ci95 is not None:
        text += f" (95% CI {smear.ci95[0]:g}-{smear.ci95[1]:g}%)"
    counted = "unknown" if smear.rbc_counted is None else str(smear.rbc_counted)
    return f"{text}; red cells counted: {counted}"


def _d_dimer_ratio(labs: Labs) -> float | None:
    if labs.d_dimer is None or labs.d_dimer_uln is None:
        return None
    return round(labs.d_dimer / labs.d_dimer_uln, 6)


def _creatinine_umol(labs: Labs) -> float | None:
    if labs.creatinine is None:
        return None
    return round(labs.creatinine * UMOL_PER_MG_DL_CREATININE, 1)


def _missing(labs: Labs, purposes: Mapping[str, str]) -> list[str]:
    return [f"{key}: {purpose}" for key, purpose in purposes.items()
            if getattr(labs, key) is None]


# --- smear and haemolysis ---------------------------------------------------------------------

def _smear_call(smear: SmearFindings) -> str:
    """``missing``, ``insufficient`` (< 1000 cells), ``raised``, ``borderline`` or ``normal``."""
    percent = smear.schistocyte_percent
    if percent is None:
        return "missing"
    if smear.rbc_counted is not None and smear.rbc_counted < MIN_RBC_COUNTED:
        return "insufficient"
    low, high = smear.ci95 if smear.ci95 is not None else (percent, percent)
    if percent > smear.limit_percent and low > smear.limit_percent:
        return "raised"
    if percent <= smear.limit_percent and high <= smear.limit_percent:
        return "normal"
    return "borderline"


def _haemolysis_markers(labs: Labs) -> list[tuple[bool, Finding]]:
    """Measured haemolysis markers as (raised?, finding with the value used)."""
    markers = []
    if labs.ldh is not None and labs.ldh_uln is not None:
        raised = labs.ldh > labs.ldh_uln
        markers.append((raised, Finding(
            f"LDH {'above' if raised else 'within'} its upper limit of normal",
            f"{_show('ldh', labs.ldh)} (ULN {_show('ldh_uln', labs.ldh_uln)})")))
    cut_offs = (("haptoglobin", labs.haptoglobin, "low", HAPTOGLOBIN_LOW, " g/L"),
                ("reticulocytes", labs.reticulocytes, "raised", RETICULOCYTES_RAISED, "%"),
                ("indirect_bilirubin", labs.indirect_bilirubin, "raised",
                 INDIRECT_BILIRUBIN_ULN, " mg/dL"))
    for key, value, direction, cut, unit in cut_offs:
        if value is not None:
            raised = value < cut if direction == "low" else value > cut
            sign = "<" if direction == "low" else ">"
            state = direction if raised else "not " + direction
            markers.append((raised, Finding(
                f"{key.replace('_', ' ')} {state} ({sign} {cut:g}{unit})", _show(key, value))))
    return markers


def _haemolysis_call(markers: list[tuple[bool, Finding]]) -> str:
    """``present`` (>= 2 raised), ``equivocal`` (1), ``absent`` (0 of >= 2), else ``unknown``.

    Two markers are required because LDH alone is raised by any tissue damage (for example
    marrow or liver metastases, seed 002); a judgement call.
    """
    raised = sum(flag for flag, _ in markers)
    if raised >= 2:
        return "present"
    if raised == 1:
        return "equivocal"
    return "absent" if len(markers) >= 2 else "unknown"


def _maha_call(smear_call: str, haemolysis: str, smear: SmearFindings, labs: Labs) -> str:
    """The MAHA rule of the module docstring."""
    if smear_call in ("missing", "insufficient"):
        return INSUFFICIENT
    if smear_call == "normal":
        return "unlikely"
    if smear_call == "borderline":
        return "unlikely" if haemolysis == "absent" else "possible"
    if haemolysis == "present" and labs.dat == "negative" and not smear.other_poikilocytes_abundant:
        return "likely"
    return "possible"


def _smear_finding(smear_call: str, haemolysis: str, smear: SmearFindings) -> tuple[bool, Finding]:
    """(for MAHA?, finding) for a smear that was counted."""
    value = _smear_text(smear)
    if smear_call == "raised":
        return True, Finding(f"schistocytes and their 95% interval above the {ICSH} limit of "
                             f"{smear.limit_percent:g}%", value)
    if smear_call == "borderline":
        above = smear.schistocyte_percent > smear.limit_percent
        return above, Finding(f"schistocyte 95% interval spans the {smear.limit_percent:g}% limit "
                              f"({ICSH}): borderline", value)
    if haemolysis in ("present", "equivocal"):
        return False, Finding(f"schistocytes not above {smear.limit_percent:g}% although "
                              "haemolysis markers are raised: MAHA unlikely by smear; look for "
                              "other causes of haemolysis (DAT for immune haemolysis, G6PD and "
                              "membrane disorders, infection, drugs)", value)
    return False, Finding(f"schistocytes not above the {ICSH} limit of {smear.limit_percent:g}%",
                          value)


def _lab_findings(labs: Labs, markers: list[tuple[bool, Finding]], haemolysis: str,
                  ) -> tuple[list[Finding], list[Finding]]:
    """Findings for and against MAHA from haemolysis markers, DAT (a negative DAT only counts
    when haemolysis is not ruled out), platelets and haemoglobin."""
    found: list[Finding] = []
    against: list[Finding] = []
    for raised, finding in markers:
        (found if raised else against).append(finding)
    if labs.dat == "positive" or (labs.dat == "negative" and haemolysis != "absent"):
        negative = labs.dat == "negative"
        (found if negative else against).append(Finding(
            "DAT negative: non-immune haemolysis" if negative
            else "DAT positive: immune haemolysis to consider", labs.dat))
    if labs.platelets is not None:
        low = labs.platelets < PLATELETS_LOW
        (found if low else against).append(Finding(
            f"thrombocytopenia (< {PLATELETS_LOW:g} x10^9/L)" if low else "no thrombocytopenia",
            _show("platelets", labs.platelets)))
    if labs.hemoglobin is not None:
        low = labs.hemoglobin < HEMOGLOBIN_LOW
        (found if low else against).append(Finding(
            f"anaemia (Hb < {HEMOGLOBIN_LOW:g} g/dL)" if low else "no anaemia",
            _show("hemoglobin", labs.hemoglobin)))
    return found, against


def _smear_missing(smear_call: str, smear: SmearFindings) -> list[str]:
    if smear_call == "missing":
        return ["schistocyte_percent: the smear is the defining criterion of MAHA"]
    if smear_call == "insufficient":
        return [f"rbc_counted: only {smear.rbc_counted} red cells counted; count at least "
                f"{MIN_RBC_COUNTED} ({ICSH}) before the smear can be interpreted"]
    if smear.rbc_counted is None:
        return [f"rbc_counted: not given, so the {ICSH} minimum of {MIN_RBC_COUNTED} counted "
                "red cells cannot be checked"]
    return []


# --- scores ------------------------------------------------------------------------------------

def _item(item: str, key: str, value: float | None, rule: Callable[[float], int],
          max_points: int = 1) -> ScoreItem:
    return ScoreItem(item, _show(key, value), None if value is None else rule(value), max_points)


def _below(cut: float) -> Callable[[float], int]:
    return lambda value: int(value < cut)


def _plasmic_haemolysis(labs: Labs) -> ScoreItem:
    """One point for reticulocytes > 2.5%, undetectable haptoglobin or indirect bilirubin > 2.0
    mg/dL; 0 only when all three are measured and none qualifies."""
    tests = [
        ("reticulocytes", labs.reticulocytes, lambda v: v > PLASMIC_RETICULOCYTES),
        ("haptoglobin", labs.haptoglobin, lambda v: v < HAPTOGLOBIN_UNDETECTABLE),
        ("indirect_bilirubin", labs.indirect_bilirubin,
         lambda v: v > PLASMIC_INDIRECT_BILIRUBIN),
    ]
    value = ", ".join(f"{key.replace('_', ' ')} {_show(key, v)}" for key, v, _ in tests)
    measured = [met(v) for _, v, met in tests if v is not None]
    points = 1 if any(measured) else (0 if len(measured) == len(tests) else None)
    item = (f"haemolysis (reticulocytes > {PLASMIC_RETICULOCYTES:g}%, undetectable haptoglobin "
            f"< {HAPTOGLOBIN_UNDETECTABLE:g} g/L, or indirect bilirubin > "
            f"{PLASMIC_INDIRECT_BILIRUBIN:g} mg/dL)")
    return ScoreItem(item, value, points, 1)


def _absent_item(item: str, key: str, present: bool | None) -> ScoreItem:
    return ScoreItem(item, _show(key, present), None if present is None else int(not present), 1)


def _plasmic_risk(points: int) -> str:
    return "low" if points <= 4 else "intermediate" if points == 5 else "high"


def _range_risk(items: tuple[ScoreItem, ...], classify: Callable[[int], str],
                spanning: str | None = None) -> str:
    """The class of the total; for an incomplete score whose range spans classes, ``spanning``
    or "<low class> to <high class>"."""
    low, high = (classify(points) for points in _bounds(items))
    return low if low == high else spanning or f"{low} to {high}"


def plasmic_score(labs: Labs) -> Score:
    """PLASMIC score (Bendapudi 2017): seven items of one point; 0-4 low, 5 intermediate,
    6-7 high risk of severe ADAMTS13 deficiency."""
    items = (
        _item(f"platelets < {PLASMIC_PLATELETS:g} x10^9/L", "platelets", labs.platelets,
              _below(PLASMIC_PLATELETS)),
        _plasmic_haemolysis(labs),
        _absent_item("no active cancer (treated within the past year)", "active_cancer",
                     labs.active_cancer),
        _absent_item("no solid-organ or stem-cell transplant", "transplant", labs.transplant),
        _item(f"MCV < {PLASMIC_MCV:g} fL", "mcv", labs.mcv, _below(PLASMIC_MCV)),
        _item(f"INR < {PLASMIC_INR:g}", "inr", labs.inr, _below(PLASMIC_INR)),
        _item(f"creatinine < {PLASMIC_CREATININE:g} mg/dL", "creatinine", labs.creatinine,
              _below(PLASMIC_CREATININE)),
    )
    return Score(PLASMIC, items, _range_risk(items, _plasmic_risk),
                 ("validated for patients with thrombocytopenia and schistocytes",))


def _isth_platelets(platelets: float) -> int:
    return 0 if platelets >= 100 else 1 if platelets >= 50 else 2


def _isth_d_dimer(ratio: float) -> int:
    return 0 if ratio <= 3 else 2 if ratio <= 7 else 3


def _isth_pt(seconds: float) -> int:
    return 0 if seconds < 3 else 1 if seconds < 6 else 2


def _isth_risk(points: int) -> str:
    if points >= ISTH_OVERT_DIC:
        return f"compatible with overt DIC (>= {ISTH_OVERT_DIC})"
    return f"not compatible with overt DIC (< {ISTH_OVERT_DIC})"


def _dic_underlying(labs: Labs) -> list[str]:
    """Recorded disorders known to cause DIC (ISTH 2025): active cancer, sepsis."""
    return [name for name, flag in (("active cancer", labs.active_cancer),
                                    ("sepsis", labs.sepsis)) if flag]


def isth_dic_score(labs: Labs) -> Score:
    """ISTH overt DIC score, 2025 update: platelets >= 100/50-<100/<50 -> 0/1/2; D-dimer x ULN
    <= 3/>3-<=7/>7 -> 0/2/3; PT prolongation < 3/3-<6/>=6 s -> 0/1/2; fibrinogen >= 1.0/<1.0 g/L
    -> 0/1. A total >= 5 is compatible with overt DIC, only with an underlying disorder."""
    ratio = _d_dimer_ratio(labs)
    items = (
        _item("platelets (>= 100 / 50 to < 100 / < 50 x10^9/L -> 0/1/2)", "platelets",
              labs.platelets, _isth_platelets, 2),
        ScoreItem("D-dimer x ULN (<= 3 / > 3 to <= 7 / > 7 -> 0/2/3)",
                  "missing" if ratio is None else f"{ratio:g}x ULN",
                  None if ratio is None else _isth_d_dimer(ratio), 3),
        _item("PT prolongation (< 3 / 3 to < 6 / >= 6 s -> 0/1/2)", "pt_prolongation_s",
              labs.pt_prolongation_s, _isth_pt, 2),
        _item("fibrinogen (>= 1.0 / < 1.0 g/L -> 0/1)", "fibrinogen", labs.fibrinogen,
              _below(1.0)),
    )
    underlying = ", ".join(_dic_underlying(labs)) or "none recorded"
    notes = ["only meaningful with an underlying disorder known to cause DIC (sepsis, "
             f"malignancy, trauma, obstetric complication); recorded: {underlying}"]
    if labs.pt_prolongation_s is None and labs.inr is not None:
        notes.append(f"PT prolongation in seconds over the local control is needed; the INR "
                     f"({_show('inr', labs.inr)}) is not converted to it")
    return Score(ISTH, items, _range_risk(items, _isth_risk, INDETERMINATE), tuple(notes))


def _french_risk(points: int) -> str:
    if points >= 1:
        return "severe ADAMTS13 deficiency predicted (>= 1 criterion)"
    return "severe ADAMTS13 deficiency not predicted (no criterion)"


def french_score(labs: Labs) -> Score | None:
    """French TMA score (Coppo 2010), only when ANA is given: one point each for platelets
    <= 30 x10^9/L, creatinine <= 200 umol/L and positive ANA. In the paper, at least one
    criterion identified severe acquired ADAMTS13 deficiency (sensitivity 98.1%, specificity
    48.1%, PPV 85%, NPV 93.3%); both platelet and creatinine criteria predict it best."""
    if labs.ana is None:
        return None
    umol = _creatinine_umol(labs)
    items = (
        _item(f"platelets <= {FRENCH_PLATELETS:g} x10^9/L", "platelets", labs.platelets,
              lambda value: int(value <= FRENCH_PLATELETS)),
        ScoreItem(f"creatinine <= {FRENCH_CREATININE_UMOL:g} umol/L (2.26 mg/dL)",
                  "missing" if umol is None else f"{umol:g} umol/L",
                  None if umol is None else int(umol <= FRENCH_CREATININE_UMOL), 1),
        ScoreItem("antinuclear antibodies positive", labs.ana, int(labs.ana == "positive"), 1),
    )
    notes = ("derivation cohort, >= 1 criterion: sensitivity 98.1%, specificity 48.1%, PPV 85%, "
             "NPV 93.3%; both platelet and creatinine criteria give the highest probability, "
             "positive ANA adds to it",)
    return Score(FRENCH, items, _range_risk(items, _french_risk, INDETERMINATE), notes)


# --- differential ------------------------------------------------------------------------------

def _cap(assessment: str, maha: str) -> tuple[str, tuple[str, ...]]:
    """Without a ``likely`` MAHA, a cause that needs MAHA is at most ``possible``."""
    if maha != "likely" and assessment in ("likely", "suspected"):
        return "possible", (f"MAHA not established (MAHA: {maha})",)
    return assessment, ()


def _ttp(maha: str, labs: Labs, plasmic: Score) -> Cause:
    """ADAMTS13 < 10% -> likely (possible when MAHA is unlikely); >= 10% -> unlikely; without
    it, no MAHA -> unlikely, else PLASMIC decides (high -> suspected, low -> unlikely, otherwise
    possible) and ADAMTS13 is to be sent."""
    adamts13 = labs.adamts13
    if adamts13 is not None and adamts13 < ADAMTS13_SEVERE:
        reason = f"ADAMTS13 {adamts13:g}% < {ADAMTS13_SEVERE:g}%: severe deficiency"
        if maha == "unlikely":
            return Cause("ttp", "possible", (reason, "but MAHA is unlikely on this smear"))
        return Cause("ttp", "likely", (reason,))
    if adamts13 is not None:
        return Cause("ttp", "unlikely",
                     (f"ADAMTS13 {adamts13:g}% >= {ADAMTS13_SEVERE:g}%: no severe deficiency",))
    if maha == "unlikely":
        return Cause("ttp", "unlikely", ("MAHA unlikely on this smear",))
    reasons = (f"PLASMIC {plasmic.total_text()}: {plasmic.risk} risk", "ADAMTS13 not measured: "
               "send ADAMTS13 activity (before plasma exchange or transfusion)")
    if all(item.points is None for item in plasmic.items):
        return Cause("ttp", "not assessable", reasons)
    if plasmic.minimum >= 6:
        return Cause("ttp", "suspected", reasons)
    return Cause("ttp", "unlikely" if plasmic.maximum <= 4 else "possible", reasons)


def _hus(maha: str, labs: Labs) -> Cause:
    """Acute-kidney-injury pattern (creatinine >= 2.0 mg/dL, a judgement call) with MAHA and
    ADAMTS13 not severely low -> suspected (possible while ADAMTS13 is unknown)."""
    creatinine, adamts13 = labs.creatinine, labs.adamts13
    if maha == "unlikely":
        return Cause("hus", "unlikely", ("MAHA unlikely on this smear",))
    if creatinine is None:
        return Cause("hus", "not assessable", ("creatinine not given",))
    shown = _show("creatinine", creatinine)
    if creatinine < HUS_CREATININE:
        return Cause("hus", "unlikely", (f"creatinine {shown} < {HUS_CREATININE:g} mg/dL: no "
                                         "acute kidney injury pattern",))
    if adamts13 is not None and adamts13 < ADAMTS13_SEVERE:
        return Cause("hus", "unlikely", (f"ADAMTS13 {adamts13:g}% < {ADAMTS13_SEVERE:g}%: "
                                         "renal involvement of TTP instead",))
    reasons = (f"creatinine {shown} >= {HUS_CREATININE:g} mg/dL: acute kidney injury pattern",)
    if adamts13 is None:
        return Cause("hus", "possible", (*reasons, "ADAMTS13 not measured: TTP not excluded"))
    assessment, capped = _cap("suspected", maha)
    return Cause("hus", assessment, (*reasons, f"ADAMTS13 {adamts13:g}% not severely low",
                                     *capped, "next: stool test for Shiga toxin-producing "
                                     "E. coli; complement studies for atypical HUS"))


def _coagulation_spared(labs: Labs) -> str | None:
    """Why an ISTH total of 5 is out of reach in practice, or ``None``.

    Judgement call: with platelets >= 50 x10^9/L and PT not prolonged (PT < 3 s over control,
    or, when only the INR is known, INR < 1.5, the PLASMIC cut-off), a total of 5 needs both
    fibrinogen < 1.0 g/L and D-dimer > 7x ULN, which does not occur with a normal PT.
    """
    if labs.platelets is None or labs.platelets < 50:
        return None
    if labs.pt_prolongation_s is not None:
        spared = labs.pt_prolongation_s < 3
        value = f"PT prolongation {labs.pt_prolongation_s:g} s"
    elif labs.inr is not None:
        spared = labs.inr < PLASMIC_INR
        value = f"INR {_show('inr', labs.inr)} < {PLASMIC_INR:g} (not converted to PT seconds)"
    else:
        return None
    if not spared:
        return None
    return (f"platelets {_show('platelets', labs.platelets)} >= 50 and {value}: an ISTH total "
            "of 5 would need both fibrinogen < 1.0 g/L and D-dimer > 7x ULN, not expected with "
            "a normal PT; measure them to confirm")


def _dic(labs: Labs, isth: Score) -> Cause:
    """ISTH >= 5 -> likely with a recorded underlying disorder (suspected without one); < 5 ->
    unlikely; incomplete -> unlikely when coagulation is spared, not assessable without any
    coagulation test, else possible."""
    score = f"ISTH {isth.total_text()}: {isth.risk}"
    underlying = _dic_underlying(labs)
    if isth.minimum >= ISTH_OVERT_DIC and underlying:
        return Cause("dic", "likely", (score, f"underlying disorder: {', '.join(underlying)}"))
    if isth.minimum >= ISTH_OVERT_DIC:
        return Cause("dic", "suspected", (score, "no underlying disorder recorded; the score is "
                                                 "valid only with one"))
    if isth.maximum < ISTH_OVERT_DIC:
        return Cause("dic", "unlikely", (score,))
    spared = _coagulation_spared(labs)
    if spared:
        return Cause("dic", "unlikely", (score, spared))
    if all(item.points is None for item in isth.items[1:]) and labs.inr is None:
        return Cause("dic", "not assessable", (score, "no coagulation tests given"))
    return Cause("dic", "possible", (score, "measure the missing ISTH items"))


def _leukoerythroblastic_reasons(smear: SmearFindings) -> list[str]:
    reasons = []
    if smear.nrbc_present:
        reasons.append("nucleated red cells on the smear")
    if smear.leukoerythroblastic in ("present", "possible"):
        reasons.append(f"leukoerythroblastic picture on the smear: {smear.leukoerythroblastic}")
    return reasons


def _cancer_associated(maha: str, smear: SmearFindings, labs: Labs, dic: Cause) -> Cause:
    """Known active cancer, DAT-negative MAHA, ADAMTS13 >= 20% or unknown and no overt DIC ->
    suspected; nucleated red cells / a leukoerythroblastic picture strengthen it, and without
    known cancer make an occult one possible (CLINICAL.md, seeds 000/001)."""
    if maha == "unlikely":
        return Cause("cancer-associated", "unlikely", ("MAHA unlikely on this smear (see the "
                                                       "marrow section for infiltration)",))
    marrow = _leukoerythroblastic_reasons(smear)
    adamts13 = labs.adamts13
    if adamts13 is not None and adamts13 < ADAMTS13_SEVERE:
        return Cause("cancer-associated", "unlikely", (f"ADAMTS13 {adamts13:g}% < "
                                                       f"{ADAMTS13_SEVERE:g}% points to TTP",))
    if not labs.active_cancer:
        hints = [*marrow, *(["history of cancer: relapse"] if labs.cancer_history else [])]
        if hints:
            return Cause("cancer-associated", "possible", (*hints, "no known active cancer: "
                         "look for an occult or relapsed one", f"next: {MARROW_ADVICE}"))
        if labs.active_cancer is None:
            return Cause("cancer-associated", "not assessable", ("active_cancer not recorded",))
        return Cause("cancer-associated", "unlikely", ("no known active cancer",))
    reasons = ["known active cancer"]
    against = []
    if labs.dat == "positive":
        against.append("DAT positive: immune haemolysis instead")
    elif labs.dat == "negative":
        reasons.append("DAT-negative haemolysis")
    if adamts13 is None:
        reasons.append("ADAMTS13 not measured: send it to exclude TTP")
    elif adamts13 < ADAMTS13_WELL_ABOVE:
        against.append(f"ADAMTS13 {adamts13:g}% only in the 10-20% grey zone")
    else:
        reasons.append(f"ADAMTS13 {adamts13:g}% well above {ADAMTS13_SEVERE:g}%")
    if dic.assessment == "likely":
        against.append("overt DIC: may itself explain the picture")
    else:
        reasons.append(f"no overt DIC shown (DIC {dic.assessment})")
    assessment, capped = _cap("possible" if against else "suspected", maha)
    return Cause("cancer-associated", assessment, (
        *reasons, *marrow, *against, *capped, f"next: {MARROW_ADVICE}",
        "plasma exchange is usually ineffective; treating the cancer is what helps"))


_OTHER_CAUSES = (
    ("drug-induced", "drug_exposure", "drug exposure recorded{name}: drug-induced TMA (e.g. "
     "gemcitabine, mitomycin C, calcineurin inhibitors, quinine, VEGF inhibitors)"),
    ("malignant-hypertension", "malignant_hypertension", "malignant hypertension recorded: "
     "hypertensive TMA; re-assess after blood-pressure control"),
    ("pregnancy", "pregnancy", "pregnancy recorded: pre-eclampsia/HELLP, and pregnancy-"
     "triggered TTP or complement-mediated TMA"),
    ("mechanical", "mechanical_valve", "mechanical heart valve recorded: valve haemolysis; "
     "check valve function (echocardiography)"),
)


def _other_causes(maha: str, labs: Labs) -> list[Cause]:
    """A line for each cause the labs record: ``possible``, or ``unlikely`` without MAHA."""
    causes = []
    for cause, key, reason in _OTHER_CAUSES:
        value = getattr(labs, key)
        if value:
            name = f" ({value})" if isinstance(value, str) else ""
            reasons = (reason.format(name=name),)
            if maha == "unlikely":
                reasons += ("MAHA unlikely on this smear",)
            causes.append(Cause(cause, "unlikely" if maha == "unlikely" else "possible", reasons))
    return causes


# --- marrow ------------------------------------------------------------------------------------

def _cytopenias(labs: Labs) -> dict[str, str]:
    """Cytopenias found, by name: Hb < 12 g/dL (WHO), WBC < 4.0, platelets < 150 x10^9/L."""
    checks = (("anaemia", "hemoglobin", labs.hemoglobin, HEMOGLOBIN_LOW, "g/dL"),
              ("leukopenia", "wbc", labs.wbc, WBC_LOW, "x10^9/L"),
              ("thrombocytopenia", "platelets", labs.platelets, PLATELETS_LOW, "x10^9/L"))
    return {name: f"{name}: {_show(key, value)} < {cut:g} {unit}"
            for name, key, value, cut, unit in checks if value is not None and value < cut}


def _marrow(maha: str, smear: SmearFindings, labs: Labs) -> MarrowAssessment:
    """Bone-marrow infiltration (CLINICAL.md, seeds 002/003).

    A leukoerythroblastic picture (smear ``present``, or nucleated red cells with a cytopenia)
    with cancer or an unexplained cytopenia -> suspected (a likely MAHA explains anaemia and
    thrombocytopenia, not leukopenia); the picture alone, or the smear saying ``possible``, or
    a cytopenia with vitamin B12 above its ULN in a patient with cancer or a history of it ->
    possible; no smear information and no blood counts -> not assessable; else not suggested.
    """
    cytopenias = _cytopenias(labs)
    unexplained = {name: text for name, text in cytopenias.items()
                   if maha != "likely" or name == "leukopenia"}
    cancer = [name for name, flag in (("active cancer", labs.active_cancer),
                                      ("history of cancer", labs.cancer_history)) if flag]
    picture = smear.leukoerythroblastic == "present" or bool(smear.nrbc_present and cytopenias)
    b12_high = (labs.vitamin_b12 is not None and labs.vitamin_b12_uln is not None
                and labs.vitamin_b12 > labs.vitamin_b12_uln)
    reasons = [*_leukoerythroblastic_reasons(smear), *cytopenias.values(), *cancer]
    if b12_high:
        reasons.append(f"vitamin B12 {_show('vitamin_b12', labs.vitamin_b12)} above its ULN "
                       f"{_show('vitamin_b12_uln', labs.vitamin_b12_uln)} (unexplained)")
    if smear.teardrop_percent:
        reasons.append(f"teardrop cells {smear.teardrop_percent:g}% (for review; no validated "
                       "cut-off)")
    if picture and (cancer or unexplained):
        return MarrowAssessment("suspected", tuple(reasons), MARROW_ADVICE)
    if picture or smear.leukoerythroblastic == "possible" or (cytopenias and b12_high and cancer):
        return MarrowAssessment("possible", tuple(reasons), MARROW_ADVICE)
    no_smear = smear.leukoerythroblastic in (None, "insufficient") and smear.nrbc_present is None
    if no_smear and all(v is None for v in (labs.hemoglobin, labs.wbc, labs.platelets)):
        return MarrowAssessment("not assessable", ("no leukoerythroblastic assessment and no "
                                                   "blood counts",), None)
    reasons.append("no leukoerythroblastic picture, and no cytopenia with raised B12 in a "
                   "patient with cancer")
    return MarrowAssessment("not suggested", tuple(reasons), None)


# --- the verdict -------------------------------------------------------------------------------

# What each missing lab is needed for; the work-up keys only while MAHA is not unlikely.
_BASIC_PURPOSES = {
    "hemoglobin": "anaemia", "platelets": "thrombocytopenia; PLASMIC and ISTH items",
    "ldh": "haemolysis (with ldh_uln)", "haptoglobin": "haemolysis; PLASMIC item",
    "reticulocytes": "haemolysis; PLASMIC item", "indirect_bilirubin": "haemolysis; PLASMIC item",
    "dat": "immune vs non-immune haemolysis", "wbc": "cytopenias (marrow)",
}
_WORKUP_PURPOSES = {
    "mcv": "PLASMIC item", "inr": "PLASMIC item",
    "creatinine": "PLASMIC item; kidney injury (HUS)", "active_cancer": "PLASMIC item",
    "transplant": "PLASMIC item", "pt_prolongation_s": "ISTH item (seconds over control)",
    "fibrinogen": "ISTH item", "d_dimer": "ISTH item (with d_dimer_uln)",
}


def _missing_all(maha: str, smear_call: str, smear: SmearFindings, labs: Labs) -> tuple[str, ...]:
    missing = [*_smear_missing(smear_call, smear), *_missing(labs, _BASIC_PURPOSES)]
    if maha != "unlikely":
        missing += _missing(labs, _WORKUP_PURPOSES)
    if labs.ldh is not None and labs.ldh_uln is None:
        missing.append("ldh_uln: LDH is judged against the lab's upper limit of normal")
    if labs.d_dimer is not None and labs.d_dimer_uln is None:
        missing.append("d_dimer_uln: the ISTH item is D-dimer as a multiple of its ULN")
    if labs.vitamin_b12 is not None and labs.vitamin_b12_uln is None:
        missing.append("vitamin_b12_uln: B12 is judged against the lab's upper limit of normal")
    if maha != "unlikely" and labs.adamts13 is None:
        missing.append("adamts13: ADAMTS13 activity, drawn before plasma exchange or "
                       "transfusion (TTP when < 10%)")
    return tuple(missing)


def assess(smear: SmearFindings, labs: Labs) -> Verdict:
    """Give the MAHA verdict, scores, differential and marrow assessment for one slide.

    Parameters
    ----------
    smear : SmearFindings
        What the smear showed.
    labs : Labs
        Lab values (see :func:`smearscan.labs.parse_labs`).

    Returns
    -------
    Verdict
        ``maha`` is ``likely``, ``possible``, ``unlikely`` or ``insufficient data`` by the rule
        in the module docstring; every statement carries the findings behind it.
    """
    smear_call = _smear_call(smear)
    markers = _haemolysis_markers(labs)
    haemolysis = _haemolysis_call(markers)
    maha = _maha_call(smear_call, haemolysis, smear, labs)
    found, against = _lab_findings(labs, markers, haemolysis)
    if smear_call not in ("missing", "insufficient"):
        is_for, finding = _smear_finding(smear_call, haemolysis, smear)
        (found if is_for else against).insert(0, finding)
    if smear.other_poikilocytes_abundant:
        against.append(Finding(f"other poikilocytes abundant: the schistocyte % is less "
                               f"specific for TMA ({ICSH})", "yes"))
    plasmic, isth = plasmic_score(labs), isth_dic_score(labs)
    dic = _dic(labs, isth)
    differential = (_ttp(maha, labs, plasmic), _hus(maha, labs), dic,
                    _cancer_associated(maha, smear, labs, dic), *_other_causes(maha, labs))
    return Verdict(maha, tuple(found), tuple(against),
                   _missing_all(maha, smear_call, smear, labs), plasmic, isth,
                   french_score(labs), differential, _marrow(maha, smear, labs))


# --- text for people ---------------------------------------------------------------------------

def _score_lines(name: str, score: Score) -> list[str]:
    lines = [f"  {name}: {score.total_text()} -> {score.risk}", f"    source: {score.source}"]
    for item in score.items:
        points = "missing" if item.points is None else str(item.points)
        lines.append(f"    {item.item}: {item.value} -> {points}")
    lines.extend(f"    note: {note}" for note in score.notes)
    return lines


def format_text(verdict: Verdict) -> str:
    """The verdict as plain text for people: headline, findings, scores with item points,
    differential, marrow, missing, disclaimer."""
    lines = [f"MAHA: {verdict.maha}", "Findings for:"]
    lines += [f"  + {f.finding}: {f.value}" for f in verdict.findings_for] or ["  (none)"]
    lines.append("Findings against:")
    lines += [f"  - {f.finding}: {f.value}" for f in verdict.findings_against] or ["  (none)"]
    lines.append("Scores:")
    lines += _score_lines("PLASMIC", verdict.plasmic)
    lines += _score_lines("ISTH overt DIC", verdict.isth_dic)
    lines += _score_lines("French TMA", verdict.french) if verdict.french else [
        "  French TMA: not computed (ANA not given)"]
    lines.append("Differential:")
    for cause in verdict.differential:
        lines.append(f"  {cause.cause}: {cause.assessment}")
        lines += [f"    - {reason}" for reason in cause.reasons]
    marrow = verdict.marrow
    lines.append(f"Marrow infiltration: {marrow.marrow_infiltration}")
    lines += [f"    - {reason}" for reason in marrow.reasons]
    if marrow.advice:
        lines.append(f"    advice: {marrow.advice}")
    lines.append("Missing / measure next:")
    lines += [f"  - {item}" for item in verdict.missing] or ["  (nothing)"]
    lines.append(verdict.disclaimer)
    return "\n".join(lines)
