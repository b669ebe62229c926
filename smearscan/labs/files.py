"""Reading a lab file, JSON or CSV: its rows as written (:func:`read_lab_rows`) and its
values by slide (:func:`read_labs_file`)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from smearscan.errors import LabValueError
from smearscan.labs.csv_rows import _rows_from_csv
from smearscan.labs.json_rows import _rows_from_json
from smearscan.labs.record import Labs
from smearscan.labs.rows import LabRow


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
