"""Reading a ``summary.json`` back (for ``smearscan verdict --summary``): the parts a verdict
reads, checked, with one line naming the file and key where one is wrong."""

from __future__ import annotations

import json
import math
from pathlib import Path

from smearscan.slide_stats import LIMIT_PERCENT


class SummaryFileError(ValueError):
    """A ``summary.json`` that is not one smearscan wrote; one line naming the file and key."""


#: Per slide, the sections the verdict reads and the type of each value in them.
_SLIDE_SECTIONS = {
    "schistocytes": {"percent": "number", "ci95": "interval", "rbc_counted": "count",
                     "less_specific": "bool", "limit_percent": "number",
                     "population": "population"},
    "nrbc": {"present": "bool"},
    "leukoerythroblastic": {"finding": "text"},
    "morphology": {"teardrop_percent": "number"},
    # Read whole where present (QA 82 #6: one of them not an object was a traceback).
    "review": {},
    "labs": {},
}


def read_summary_file(path: Path) -> dict:
    """Read a ``summary.json`` and check the parts a MAHA verdict reads.

    Raises
    ------
    SummaryFileError
        One line naming the file and the first key whose value is missing or of the wrong
        type (a ``ValueError``: the CLI's usage error, exit 2).
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise SummaryFileError(f"{path}: not a readable summary.json ({reason})") from None
    if not isinstance(data, dict) or not isinstance(data.get("slides"), dict):
        raise SummaryFileError(f"{path}: not a smearscan summary.json (no \"slides\" object)")
    for name, slide in data["slides"].items():
        _check_slide(path, name, slide)
    return data


def _check_slide(path: Path, name: str, slide: object) -> None:
    where = f"{path}: slide {name!r}"
    if not isinstance(slide, dict):
        raise SummaryFileError(f"{where} is not an object")
    for section, keys in _SLIDE_SECTIONS.items():
        values = slide.get(section)
        if values is None:
            continue
        if not isinstance(values, dict):
            raise SummaryFileError(f"{where}: {section} is not an object")
        for key, kind in keys.items():
            if values.get(key) is not None and not _is_kind(values[key], kind):
                raise SummaryFileError(f"{where}: {section}.{key} is not {_KIND_TEXT[kind]} "
                                       f"({values[key]!r:.40})")


_KIND_TEXT = {"number": "a finite number", "interval": "a pair of numbers [low, high]",
              "count": "a whole number >= 0", "bool": "true or false", "text": "text",
              "population": f"one of {', '.join(LIMIT_PERCENT)}"}


def _is_kind(value: object, kind: str) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "number":
        return number and math.isfinite(value)
    if kind == "interval":
        return (isinstance(value, list) and len(value) == 2
                and all(_is_kind(v, "number") for v in value) and value[0] <= value[1])
    if kind == "count":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "population":
        # Any other word read a summary's adult as a child (QA 82 #8).
        return value in LIMIT_PERCENT
    return isinstance(value, str)
