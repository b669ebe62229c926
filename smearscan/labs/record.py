"""One patient's lab values as read: the :class:`Labs` dataclass (recorded and read back
as JSON-ready data) and the check that two of its values do not contradict each other."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from smearscan.errors import LabValueError
from smearscan.labs.forms import Bound
from smearscan.labs.keys import LAB_KEYS


@dataclass(frozen=True)
class Labs:
    """Lab values in the default units of :data:`LAB_KEYS`; ``None`` is missing.

    Raises
    ------
    LabValueError
        ``metastatic_cancer`` is true while ``active_cancer`` is false (a metastatic cancer is
        an active one), ``obstetric_complication`` is given while ``pregnancy`` is false, or
        ``pregnancy`` or ``obstetric_complication`` is given while ``sex`` is male.
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
    systemic_sclerosis: bool | None = None
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
    def pregnancy_recorded(self) -> bool:
        """Pregnancy (or the weeks after delivery) or an obstetric complication recorded."""
        return bool(self.pregnancy or self.obstetric_complication)

    @property
    def cancer_active(self) -> bool | None:
        """Active cancer, counting a metastatic one; ``None`` when neither is recorded."""
        return True if self.metastatic_cancer else self.active_cancer

    def to_dict(self) -> dict[str, Any]:
        """The values given, in their default units, as JSON-ready data (a bound as
        ``{"bound": "<", "limit": 20.0}``, with ``"word"`` where it was written as one), and
        the units they were written in (``units``, where any was); read back by
        :meth:`from_dict`."""
        given = {key: getattr(self, key) for key in LAB_KEYS if getattr(self, key) is not None}
        data = {key: _bound_dict(value) if isinstance(value, Bound) else value
                for key, value in given.items()}
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
                value = Bound(value["bound"][0], value["limit"], LAB_KEYS[key].plausible,
                              inclusive=value["bound"].endswith("="), word=value.get("word"))
            values[key] = value
        return cls(**values, units=dict(units))


def _bound_dict(value: Bound) -> dict[str, Any]:
    """A bound as :meth:`Labs.to_dict` records it."""
    return {"bound": value.written_sign, "limit": value.limit} | (
        {"word": value.word} if value.word else {})


def _check_consistent(value: Callable[[str], object], source: str) -> None:
    """Refuse two values of one patient (``value(key)``, as read) that contradict each other,
    naming both (:attr:`LabValueError.between`)."""
    if value("metastatic_cancer") and value("active_cancer") is False:
        raise LabValueError(f"{source}: metastatic_cancer = True but active_cancer = False: a "
                            "metastatic cancer is an active one; correct one of them",
                            between=("metastatic_cancer", "active_cancer"))
    for key in ("pregnancy", "obstetric_complication"):  # first: QA 93 #5
        if value(key) and value("sex") == "male":
            raise LabValueError(f"{source}: {key} = {value(key)!r} but sex = 'male': the "
                                "anaemia limit and the pregnancy causes depend on both; correct "
                                "one of them", between=(key, "sex"))
    if value("obstetric_complication") and value("pregnancy") is False:
        # QA 92 #6: read as recorded, the complication made pregnancy "suspected" beside "no".
        raise LabValueError(f"{source}: obstetric_complication = "
                            f"{value('obstetric_complication')!r} but pregnancy = False: an "
                            "obstetric complication is a pregnancy's, and pregnancy covers post "
                            "partum (give pregnancy = yes for a woman post partum); correct one "
                            "of them", between=("pregnancy", "obstetric_complication"))


#: What a count read at zero stands for where the URGENT line is judged over its readings:
#: under 1 x10^9/L (x10^9/L; :func:`zero_counts`).
ZERO_COUNT_READING = 0.5


def zero_counts(labs: Labs) -> tuple[tuple[str, ...], str] | None:
    """The blood-cell counts (:attr:`~smearscan.labs.LabKey.counted`) given as exactly 0 (or as
    a bound at 0, '<=0'), their keys and why the verdict refuses them, or None: an analyser
    gives 0 for clumped cells or a count under its limit, and a blank cell reads 0 (QA 84 #7:
    platelets 0 read as "thrombocytopenia: 0 x10^9/L"; QA 87 #5: of two, only the first was
    named). Refused by :func:`smearscan.verdict.assess` and a run's row
    (:meth:`~smearscan.labs.LabRow.judged`), not by the lab reader, so that one row of a
    batch's lab file costs that slide its verdict and keeps every URGENT line (QA 86 #1).
    This tool's rule."""
    zeros = [(key, value, spec.unit) for key, spec in LAB_KEYS.items()
             if spec.counted and (value := getattr(labs, key)) is not None and value == 0]
    if not zeros:
        return None
    keys = tuple(key for key, _, _ in zeros)
    given = ", ".join(f"{key} = {value:g}" for key, value, _ in zeros)
    bounds = " or ".join(f"'<1 {unit}'" for unit in dict.fromkeys(unit for *_, unit in zeros))
    return keys, (f"{given}: a count of exactly 0 is an analyser's flag (clumped cells, a count "
                  f"under its limit) or a blank cell, not a result: give the count, or its bound "
                  f"such as {bounds} (this tool's rule)")


#: The populations that are newborns: a pregnancy or an obstetric complication recorded for
#: one is the mother's (:func:`newborn_pregnancy`), and the verdict's newborn rules apply.
NEWBORNS = ("neonate", "preterm")


def newborn_pregnancy(labs: Labs, population: str) -> tuple[tuple[str, ...], str] | None:
    """The pregnancy values (``pregnancy`` true, any ``obstetric_complication``) recorded for a
    newborn ``population``, their keys and why the verdict refuses them, or None: the mother's
    pregnancy is not the newborn's, and read as its own it led with "urgent obstetric review
    (delivery ...)" (QA 92 #2). Either given as no stays: it is true of a newborn. This tool's
    rule."""
    given = [(key, value) for key in ("pregnancy", "obstetric_complication")
             if (value := getattr(labs, key))]
    if population not in NEWBORNS or not given:
        return None
    named = " and ".join(f"{key} = {value!r}" for key, value in given)
    return (tuple(key for key, _ in given),
            f"{named} with population = {population!r}: the mother's pregnancy is not the "
            "newborn's: leave it out (note it elsewhere) (this tool's rule)")
