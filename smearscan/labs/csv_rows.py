"""The rows of a lab CSV by slide: a file refused for its structure (no slide column, a
';'-separated header, a row twice, a row whose cells do not fit) read where it can be, each
row with the refusal as its problem."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from itertools import takewhile
from pathlib import Path

from smearscan.errors import LabValueError
from smearscan.labs.csv_cells import _fitted_rows, _row_values, decimal_joints
from smearscan.labs.keys import LAB_KEYS, lab_key_named
from smearscan.labs.rows import LabRow, is_record_column, rows_with_unnamed
from smearscan.labs.slides import _slip_key
from smearscan.naming import slide_name


def _rows_from_csv(text: str, path: Path) -> dict[str, LabRow]:
    """The rows of a lab CSV by slide. A file refused for its structure is read where it can
    be, each row with the refusal as its :attr:`~LabRow.problem` (QA 43 M-2, QA 44 H-2: read
    as no values): a ';'-separated file by ';', one without a slide column as values of every
    slide (each row), another row with no slide name left out, a row whose cells do not fit
    its column names as each way of fitting them (:func:`_fitted_rows`)."""
    try:
        names: list[str | None] = next(_rows_after_separator_line(text, ","), [])
        header = None
        if names.count("slide") != 1:
            header = f"{path}: a lab CSV needs one 'slide' column{_header_hint(names)}"
        lines = _rows_after_separator_line(text, _delimiter(names))
        written = next(lines, [])
        blank = _blank_columns(written)
        names = [None if is_record_column(name) else lab_key_named(name)
                 for name in written[:len(written) - blank]]
        if names.count("slide") != 1:
            # Read by the column that is a slip of 'slide' ('Slide', a second 'slide'), or as
            # values of every slide without one (QA 44 H-4, M-1).
            names = _slide_column(names)
            if "slide" not in names:
                return _rows_of_no_slide(names, lines, blank, path, header)
        result: dict[str, LabRow] = {}
        where_given: dict[str, str] = {}
        unnamed: list[LabRow] = []
        for cells in lines:
            # A blank line, as csv.DictReader skips it, and a row of empty cells: a
            # spreadsheet's export ends with such rows where cells below the values were ever
            # touched (QA 131 D3: ',,,' read as a row with no slide name, refusing the file).
            if not any(cell.strip() for cell in cells):
                continue
            where = _row_lines(cells, lines.line_num)
            cells = _named_cells(cells, names, blank)
            source = f"{path} {where}"
            row, others, problem = _row_values(names, cells), [], header
            if len(cells) != len(names):  # a cell split in two or left out: which is whose?
                # No way fits: the row's slide with no values, as its cells stand nowhere.
                row, *others = (_fitted_rows(names, cells, source)
                                or [{"slide": row.get("slide")}])
                problem = f"{source}: {_cells_problem(cells, len(names))}"
            elif (at := _answer_split_at(names, written, cells)) is not None:
                # Read as written and as joined, for the URGENT line of the refusal.
                joined = [*cells[:at], f"{cells[at]},{cells[at + 1]}", *cells[at + 2:], ""]
                others = [_row_values(names, joined)]
                problem = (f"{source}: {names[at]} = {cells[at]!r} followed by "
                           f"{cells[at + 1]!r}: a comma inside the value? quote it")
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
    if not result and not unnamed:
        raise LabValueError(f"{path}: no data rows")
    return rows_with_unnamed(result, unnamed)


#: The first line Excel writes to name a CSV's separator (``sep=,``, ``sep=;``).
_SEPARATOR_LINE = re.compile(r'"?sep=.?"?[,;\t]*', re.IGNORECASE)


def _rows_after_separator_line(text: str, delimiter: str) -> Iterator[list[str]]:
    """The rows of a CSV's ``text`` split by ``delimiter``, after Excel's ``sep=`` line where it
    has one (QA 131 D1: read as the header, the file was refused as having no slide column,
    and the URGENT lines of its rows were lost); the rows keep their line numbers
    (:attr:`csv.reader.line_num`). The separator is the header's own (:func:`_delimiter`)."""
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    first = text.split("\n", 1)[0].strip()
    if _SEPARATOR_LINE.fullmatch(first):
        next(rows, None)
    return rows


#: The separators a lab CSV is read by where its header is one column holding one of them
#: (refused: a lab CSV is comma-separated): a ';' or a tab of a spreadsheet's export.
_OTHER_DELIMITERS = {";": "';'", "\t": "tabs"}


def _delimiter(names: Sequence[str]) -> str:
    """',' or, for a header that is one column with ';' or a tab in it, that."""
    if len(names) == 1:
        return next((other for other in _OTHER_DELIMITERS if other in names[0]), ",")
    return ","


def _rows_of_no_slide(names: list[str | None], lines: Iterator[list[str]], blank: int,
                      path: Path, header: str | None) -> dict[str, LabRow]:
    """A lab CSV without a slide column, refused (``header``) and read as values of every
    slide: each row, a row whose cells do not fit as :func:`_fitted_rows` (QA 44 H-2: a one-row
    file was read as none; QA 45 H-5: with a decimal comma too); several rows kept apart too,
    as rows with no slide name (:attr:`LabRow.unnamed`; QA 152 H-1: one patient's "TTP likely"
    beside another's normal values was said "TTP possible")."""
    rows = []
    for cells in lines:
        if not any(cell.strip() for cell in cells):
            continue
        where = f"{path} {_row_lines(cells, lines.line_num)}"
        cells = _named_cells(cells, names, blank)
        read = (_fitted_rows(names, cells, str(path)) if len(cells) != len(names)
                else [_row_values(names, cells)])
        if read:
            rows.append(LabRow(read[0], where, header, tuple(read[1:])))
    if not rows:
        raise LabValueError(header or f"{path}: no data rows")
    readings = [values for row in rows for values in (row.values, *row.others)]
    return {"": LabRow(readings[0], str(path), header, tuple(readings[1:]),
                       tuple(rows) if len(rows) > 1 else ())}


def _blank_columns(written: Sequence[str]) -> int:
    """How many columns at the end of a CSV header have no name: a spreadsheet's export ends
    every line with a comma where a column beyond the values was ever touched (QA 104 L3: read
    as a lab key '' and every row refused)."""
    return sum(1 for _ in takewhile(lambda name: not name.strip(), reversed(written[1:])))


def _named_cells(cells: list[str], names: Sequence[str | None], blank: int) -> list[str]:
    """A row's ``cells`` under the header's named columns: the cells under its ``blank``
    unnamed last columns left off where they are all empty, as the header's are. A row with a
    value there, or with more or fewer cells, is kept whole, to be refused as not fitting (a
    comma at its end may also be an unquoted comma inside a value: QA 104 H1)."""
    named = len(names)
    if blank and len(cells) == named + blank and not any(c.strip() for c in cells[named:]):
        return cells[:named]
    return cells


def _answer_split_at(names: Sequence[str | None], written: Sequence[str], cells: Sequence[str]
                     ) -> int | None:
    """The index of a named answer (``drug_exposure``, ``obstetric_complication``) that an
    unquoted comma may have split, the row's last column empty so that its cells still fit: the
    next cell starts with a space under a column name that does not (``HELLP, ruled out`` under
    ``obstetric_complication,comment``: QA 105 H2, read as a HELLP); None where none is."""
    for index, (name, cell) in enumerate(zip(names[:-1], cells[:-1], strict=True)):
        after = cells[index + 1]
        if (name in LAB_KEYS and LAB_KEYS[name].kind == "named" and cell.strip()
                and after[:1].isspace() and after.strip()
                and not written[index + 1][:1].isspace()):
            return index
    return None


def _cells_problem(cells: Sequence[str], names: int) -> str:
    """Why a CSV row of ``cells`` under ``names`` column names is refused, naming the values a
    decimal comma may have split (QA 73 L3: '12,5 g/dL' unquoted read only "more cells than
    column names")."""
    if len(cells) > names:
        # Named where a whole number meets one with its unit ('12' and '5 g/dL').
        split = [f"{cells[index].strip()},{cells[index + 1].strip()}"
                 for index in decimal_joints(cells)
                 if re.fullmatch(r"\d+", cells[index].strip())
                 and re.fullmatch(r"\d+\s*[^\d\s,.].*", cells[index + 1].strip())]
        # Or a comma at its end (QA 103 M1: it was named a decimal comma alone); never read
        # as no value, as an unquoted comma in a text cell ends a row the same way ('HELLP,
        # ruled out,': QA 104 H1).
        stray = not any(cell.strip() for cell in cells[names:])
        return "more cells than column names" + (
            f" ({'a comma at its end, or ' * stray}a decimal comma? "
            f"{' or '.join(repr(value) for value in split)} may be one value: write it with a "
            "decimal point, or quote it)" if split
            else " (a comma at its end, or a comma inside a value: quote it)" if stray else "")
    return (f"{len(cells)} cell{'s' * (len(cells) != 1)} for {names} column names: write an "
            "empty cell for each value not given (a comma each), so that every value stands "
            "under its name")


def _slide_column(names: list[str | None]) -> list[str | None]:
    """``names`` with the first column that is a slip of ``slide`` as it, and the others such
    (None) left out; without one, as they are."""
    slips = [index for index, name in enumerate(names)
             if name is not None and _slip_key(name) == "slide"]
    if not slips:
        return names
    return ["slide" if index == slips[0] else None if index in slips else name
            for index, name in enumerate(names)]


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
