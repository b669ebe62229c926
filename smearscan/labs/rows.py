"""One set of lab values in a lab file as written (:class:`LabRow`), and the record
columns a laboratory export carries beside them (:data:`RECORD_COLUMNS`)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from smearscan.errors import LabValueError
from smearscan.labs.coagulation import inr_without_pt, pt_without_inr
from smearscan.labs.ldh import check_ldh
from smearscan.labs.parse import parse_labs
from smearscan.labs.readings import lab_readings, refused_names
from smearscan.labs.record import Labs, newborn_pregnancy, zero_counts


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

    def judged(self, population: str) -> Labs:
        """The values as a run judges them (:meth:`parsed`, complete), with the LDH checked
        against the ``population``'s limits (:func:`check_ldh`) and the values that
        :func:`smearscan.verdict.assess` refuses whatever the smear refused here, naming the
        row (:func:`unjudgeable`; QA 120 M-1: a folder run's count of 0 or INR without a PT
        prolongation named neither file nor line, and its row was not kept as written).

        Raises
        ------
        LabValueError
            A value of the row is refused (message names the row and the value).
        """
        labs = self.parsed(complete=False)
        # Its LDH's limit checked for the population: an LDH over every limit for it is read
        # without its own (QA 130 #3).
        check_ldh(labs, self.source, population=population)
        check_judgeable(labs, self.source, population)
        return labs

    def to_dict(self) -> dict[str, Any]:
        """The row as a slide's summary records it where its values were refused: the values
        as written and where they stand (a structure problem never reaches a slide)."""
        return {"values": dict(self.values), "source": self.source}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LabRow:
        """The row :meth:`to_dict` recorded."""
        return cls(values=dict(data["values"]), source=str(data["source"]))

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


def rows_with_unnamed(named: dict[str, LabRow], unnamed: Sequence[LabRow]
                      ) -> dict[str, LabRow]:
    """A lab file's ``named`` rows by slide, with its ``unnamed`` rows, those that name no
    slide (the file is refused for them). Beside named rows each named row keeps them all
    (:attr:`LabRow.unnamed`: any slide's, read where a slide has no row), its problem the
    first's; alone, the first is every slide's values (``""``) read as each of them, and
    several are kept as :attr:`LabRow.unnamed` too, so that a refusal says the URGENT line of
    each (QA 141 H-4: read together, one patient's "TTP likely" beside another's normal
    values was said "TTP possible")."""
    if not unnamed:
        return named
    if not named:
        first, *rest = unnamed
        return {"": replace(first, others=tuple(row.values for row in rest),
                            unnamed=tuple(unnamed) if rest else ())}
    return {slide: replace(row, problem=row.problem or unnamed[0].problem,
                           unnamed=tuple(unnamed)) for slide, row in named.items()}


def unnamed_rows(rows: Mapping[str, LabRow]) -> tuple[LabRow, ...]:
    """The rows with no slide name of a lab file read by
    :func:`~smearscan.labs.read_lab_rows`, which :func:`rows_with_unnamed` keeps on each row."""
    return next(iter(rows.values())).unnamed if rows else ()


#: What the URGENT line of a lab file's values with no slide name is said of, where which
#: slide's they are is not known (a run of several slides, ``smearscan verdict``).
UNNAMED_ROW = "lab values with no slide name"


def unnamed_row_source(row: LabRow) -> str:
    """Where a lab file's ``row`` with no slide name stands, said so
    (``"labs.csv line 3 (lab values with no slide name)"``)."""
    return f"{row.source} ({UNNAMED_ROW})"


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
    """Whether a lab file's column or key ``name`` is one of :data:`RECORD_COLUMNS`, with or
    without a format or unit after it in brackets (QA 132 D3: 'date (dd/mm/yyyy)')."""
    if not isinstance(name, str):
        return False
    bare = re.sub(r"\s*[(\[][^)\]]*[)\]]\s*$", "", name.strip())
    return re.sub(r"[\s-]+", "_", bare.casefold()) in RECORD_COLUMNS


def unjudgeable(labs: Labs, population: str) -> list[tuple[str, str]]:
    """The values of ``labs`` that :func:`smearscan.verdict.assess` refuses whatever the smear,
    each as (its key, why): a count of exactly 0 (:func:`zero_counts`), a PT prolongation or
    an INR as long as a control PT without its partner (:func:`pt_without_inr`,
    :func:`inr_without_pt`), a pregnancy recorded for a newborn ``population``
    (:func:`newborn_pregnancy`; QA 126 M-2)."""
    found = [("pt_prolongation_s", pt_without_inr(labs)), ("inr", inr_without_pt(labs))]
    if (zeros := zero_counts(labs)) is not None:
        found.insert(0, (zeros[0][0], zeros[1]))
    if (mothers := newborn_pregnancy(labs, population)) is not None:
        found.append((mothers[0][0], mothers[1]))
    return [(key, why) for key, why in found if why is not None]


def check_judgeable(labs: Labs, source: str, population: str) -> None:
    """Refuse the values :func:`unjudgeable` finds, naming ``source`` (a lab file's row).

    Raises
    ------
    LabValueError
        Naming ``source``, each value and why; its key is the first value's.
    """
    if refused := unjudgeable(labs, population):
        raise LabValueError(f"{source}: {'; '.join(why for _, why in refused)}",
                            key=refused[0][0])
