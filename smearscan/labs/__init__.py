"""Laboratory values for the verdict: parse, convert to one unit per key, reject the implausible.

A lab value is a number in the key's default unit (see :data:`LAB_KEYS`) or a string
``"<number> <unit>"`` in one of the key's accepted units, converted on input (CLINICAL.md,
"Units"). Unicode micro signs (``µ``, ``μ``) read as ``u``; ``×`` as ``x``; ``⁹``/``³`` as digits;
case and spaces in the unit do not matter. A value of ``None``, ``""``, ``"NA"``, ``"n/a"``,
``"-"``, ``"unknown"``, ``"not known"``, ``"pending"``, ``"sent"`` or ``"awaited"`` is missing
(not recorded); for a yes/no or named key (``drug_exposure``, ``obstetric_complication``)
``"none"`` and ``"nil"`` mean no, as ``"no"`` does. A name that negates itself, dates itself to
the past or doubts itself (``"no HELLP"``, ``"stopped quinine in 2010"``, ``"HELLP ruled
out"``, ``"?HELLP"``, ``"HELLP risk"``) is refused: the name is given only when it is present.

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

from smearscan.errors import LabValueError
from smearscan.labs.coagulation import (
    D_DIMER_RATIO_RANGE,
    PT_CONTROL_S,
    PT_INR_MARGIN,
    PT_ISI,
    greatest_inr,
    inr_without_pt,
    least_inr,
    pt_without_inr,
)
from smearscan.labs.csv_cells import MOST_JOINS
from smearscan.labs.doubts import as_read, without_other_findings
from smearscan.labs.files import read_lab_rows, read_labs_file
from smearscan.labs.forms import Bound, Repeated
from smearscan.labs.keys import (
    ADAMTS13_UNDETECTABLE,
    B12_PMOL_PER_PG,
    FOLATE_NMOL_PER_NG,
    HAPTOGLOBIN_UNDETECTABLE,
    LAB_KEYS,
    UNDETECTABLE,
    LabKey,
)
from smearscan.labs.ldh import (
    LDH_LEAST_FRACTION_OF_ULN,
    LDH_UKAT,
    LDH_ULN_MAX,
    check_ldh,
    ldh_limit_implausible,
    ldh_maybe_in_ukat,
    ldh_not_serum,
    ldh_over_every_limit,
    ldh_top_limit,
    ldh_under_serum_level,
    ldh_without_limit,
)
from smearscan.labs.misspelt import ABBREVIATIONS, close_keys
from smearscan.labs.number import ambiguous_units
from smearscan.labs.overrides import with_overrides
from smearscan.labs.parse import parse_labs
from smearscan.labs.readings import (
    EITHER_ANSWER,
    MOST_PROBLEMS_READ,
    MOST_WAYS_READ,
    lab_readings,
    merged_readings,
    reading_rank,
    refused_names,
)
from smearscan.labs.record import (
    NEWBORNS,
    ZERO_COUNT_READING,
    Labs,
    newborn_pregnancy,
    zero_counts,
)
from smearscan.labs.rows import (
    RECORD_COLUMNS,
    UNNAMED_ROW,
    LabRow,
    check_judgeable,
    is_record_column,
    unnamed_row_source,
    unnamed_rows,
)
from smearscan.labs.slides import check_lab_slides, labs_for_slide, slide_slips, slips_hint

__all__ = ["ABBREVIATIONS", "ADAMTS13_UNDETECTABLE", "B12_PMOL_PER_PG", "D_DIMER_RATIO_RANGE",
           "EITHER_ANSWER",
           "FOLATE_NMOL_PER_NG", "HAPTOGLOBIN_UNDETECTABLE", "LAB_KEYS",
           "LDH_LEAST_FRACTION_OF_ULN", "LDH_UKAT", "LDH_ULN_MAX", "MOST_JOINS", "NEWBORNS",
           "MOST_PROBLEMS_READ", "MOST_WAYS_READ", "PT_CONTROL_S", "PT_INR_MARGIN", "PT_ISI",
           "RECORD_COLUMNS", "UNDETECTABLE", "UNNAMED_ROW", "ZERO_COUNT_READING", "Bound",
           "LabKey", "LabRow",
           "LabValueError", "Labs",
           "Repeated", "ambiguous_units", "as_read", "check_judgeable", "check_lab_slides",
           "check_ldh", "close_keys",
           "greatest_inr", "inr_without_pt", "is_record_column", "lab_readings",
           "labs_for_slide",
           "ldh_limit_implausible", "ldh_maybe_in_ukat", "ldh_not_serum", "ldh_over_every_limit",
           "ldh_top_limit", "ldh_under_serum_level",
           "ldh_without_limit", "least_inr", "merged_readings", "newborn_pregnancy", "parse_labs",
           "pt_without_inr",
           "read_lab_rows", "read_labs_file", "reading_rank", "refused_names", "slide_slips",
           "slips_hint", "unnamed_row_source", "unnamed_rows", "with_overrides",
           "without_other_findings", "zero_counts"]
