"""The rows of a JSON lab file: a key given twice kept as :class:`Repeated`, per-slide
objects, and a broken file read as the JSON it was probably meant as (refused)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from smearscan.errors import LabValueError
from smearscan.labs.forms import Repeated
from smearscan.labs.keys import LAB_KEYS, lab_key_named
from smearscan.labs.rows import LabRow, is_record_column, rows_with_unnamed
from smearscan.naming import slide_name


def _object_with_repeats(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A ``json`` object hook keeping each copy of a key given more than once in one object, as
    :class:`Repeated`: ``json`` would keep the last silently, and a pasted line would flip the
    verdict. Record keys (:data:`RECORD_COLUMNS`) are left out, and a lab key in another case is
    read as it (:func:`~smearscan.labs.keys.lab_key_named`)."""
    data: dict[str, object] = {}
    for key, value in pairs:
        if is_record_column(key):
            continue
        # A lab key in capitals is that key; a slide's name (its object) is kept as written.
        key = key if isinstance(value, dict) else lab_key_named(key)
        data[key] = Repeated.adding(data[key], value) if key in data else value
    return data


#: What a JSON lab file holds (QA 154 L-1: a list was refused without saying what is read).
_EXPECTED = ("expected a JSON object of lab values, or for several slides one keyed by slide "
             "name ({\"s1\": {...}, \"s2\": {...}})")


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
        return _rows_of_records(data, path)
    if not isinstance(data, dict):
        raise LabValueError(f"{path}: {_EXPECTED}")
    return _rows_of_object(data, path)


def _rows_of_records(records: list[dict], path: Path) -> dict[str, LabRow]:
    """The rows of a JSON list of objects, refused: each object read as a lab file of its own
    would be (QA 44 H-2, QA 45 H-5: read as no values), a slide in several as each; an object
    with a ``"slide"`` name (a table exported as records) as that slide's values, one without
    as a row with no slide name (:func:`~smearscan.labs.rows.rows_with_unnamed`; QA 141 H-4:
    every record was read as one set of values)."""
    listed = f"{path}: {_EXPECTED}, not a list"
    rows: dict[str, LabRow] = {}
    unnamed: list[LabRow] = []
    for number, record in enumerate(records, 1):
        named = _record_slide(record)
        if named:
            record = {named: _record_values(record)}
        for slide, row in _rows_of_object(record, path).items():
            row = replace(row, problem=listed)
            if not slide:
                unnamed.append(replace(row, source=f"{path} record {number}"))
            elif slide in rows:
                rows[slide] = replace(rows[slide], others=(*rows[slide].others, row.values,
                                                           *row.others))
            else:
                rows[slide] = row
    return rows_with_unnamed(rows, unnamed)


def _record_slide(record: dict) -> str:
    """The slide a JSON list's object names with a ``"slide"`` key (in any case); "" for one
    that names none."""
    names = [value for key, value in record.items() if key.casefold() == "slide"]
    if len(names) != 1 or not isinstance(names[0], str):
        return ""
    return slide_name(names[0].strip())


def _record_values(record: dict) -> dict:
    """The lab values of a JSON list's object that names its slide: the object without its
    ``"slide"`` key, or the one object it holds beside it under a key that is no lab key
    (``{"slide": "s1", "labs": {...}}``; QA 146 H-1, QA 147 H-1, H-2: read as a slide 'labs',
    or as no values beside another object such as ``"meta"``)."""
    rest = {key: value for key, value in record.items() if key.casefold() != "slide"}
    if len(rest) == 1:
        ((key, value),) = rest.items()
        if isinstance(value, dict) and key not in LAB_KEYS:
            return value
    return rest


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
