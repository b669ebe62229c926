"""A CSV row's cells under its column names (:func:`_row_values`), and those of a row
whose cells do not fit them: joined where a decimal comma split a cell, padded where cells
are missing, the ways that leave the fewest values unreadable."""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Iterator, Mapping, Sequence

from smearscan.errors import LabValueError
from smearscan.labs.forms import Repeated
from smearscan.labs.keys import LAB_KEYS
from smearscan.labs.misspelt import close_keys
from smearscan.labs.parse import parse_labs

#: How many ways of joining the cells of a CSV row with too many :func:`_fitted_rows` tries
#: (this tool's rule: four decimal commas among ten numbers give 210).
MOST_JOINS = 512


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
    # The surplus cells left off the end as well: a stray cell after the last value (QA 103
    # M1: read only as decimal commas, shifting every value, and losing the URGENT line); and
    # empty cells left out wherever they stand, alone or beside decimal commas: a comma typed
    # twice (QA 104 L2, QA 108 M4: the same).
    extra = len(cells) - len(names)
    ways = itertools.chain([cells[:len(names)]], *(
        itertools.islice(_dropped_and_joined(cells, dropped, extra - dropped), MOST_JOINS)
        for dropped in range(extra + 1)))
    rows = [row for fitted in ways if (row := _row_values(names, fitted)).get("slide") == slide]
    if not rows:
        return []
    unread = [_unreadable({key: value for key, value in row.items() if key != "slide"}, source)
              for row in rows]
    return [row for row, count in zip(rows, unread, strict=True) if count == min(unread)]


def decimal_joints(cells: Sequence[str]) -> list[int]:
    """The indices of the cells that a decimal comma may have split from the next one: where a
    digit meets a digit ('7' and '5 g/dL' of '7,5 g/dL')."""
    return [index for index in range(len(cells) - 1)
            if re.search(r"\d$", cells[index].strip()) and re.match(r"\s*\d", cells[index + 1])]


def _joined_cells(cells: list[str], extra: int) -> Iterator[list[str]]:
    """``cells`` with ``extra`` pairs of neighbours joined by a comma where a digit meets a
    digit (:func:`decimal_joints`), each way."""
    for chosen in itertools.combinations(decimal_joints(cells), extra):
        joined = list(cells)
        for index in reversed(chosen):  # right to left: the indices before stay right
            joined[index:index + 2] = [f"{joined[index]},{joined[index + 1]}"]
        yield joined


def _without_empty_cells(cells: list[str], extra: int) -> Iterator[list[str]]:
    """``cells`` with ``extra`` of their empty cells, never the first (the slide's), left out,
    each way."""
    empty = [index for index in range(1, len(cells)) if not cells[index].strip()]
    for chosen in itertools.combinations(empty, extra):
        yield [cell for index, cell in enumerate(cells) if index not in chosen]


def _dropped_and_joined(cells: list[str], dropped: int, joined: int) -> Iterator[list[str]]:
    """``cells`` with ``dropped`` empty cells left out and ``joined`` decimal commas joined,
    each way (:func:`_without_empty_cells`, :func:`_joined_cells`)."""
    for fewer in _without_empty_cells(cells, dropped):
        yield from _joined_cells(fewer, joined)


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


def _row_values(names: Sequence[str | None], cells: Sequence[object]) -> dict[str, object]:
    """A CSV row's cells by column name, a cell missing at the end as ``None`` (as
    :class:`csv.DictReader` reads it), and the cells of a column repeated as :class:`Repeated`
    (read as each); a column named None left out."""
    row: dict[str, object] = {}
    for name, cell in itertools.zip_longest(names, cells[:len(names)]):
        if name is not None:
            row[name] = Repeated.adding(row[name], cell) if name in row else cell
    return row
