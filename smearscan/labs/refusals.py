"""How a refused lab value is named: its value as written, cut to a readable length, in a
:class:`LabValueError` naming its source and key."""

from __future__ import annotations

from collections.abc import Sequence

from smearscan.errors import LabValueError

# Longer raw values are cut in messages: a 400-digit number in full is no longer readable.
_SHOWN_CHARACTERS = 60


def _shown(raw: object) -> str:
    """``raw`` as a message names it: its repr, cut to :data:`_SHOWN_CHARACTERS`."""
    text = repr(raw)
    return text if len(text) <= _SHOWN_CHARACTERS else f"{text[:_SHOWN_CHARACTERS - 3]}..."


def _fail(source: str, key: str, raw: object, problem: str, readings: Sequence[float] = (),
          between: Sequence[str] = ()) -> LabValueError:
    return LabValueError(f"{source}: {key} = {_shown(raw)}: {problem}", key=key,
                         readings=readings, between=between)
