"""The errors smearscan reports to a user: each message is one line naming the file or value."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from pathlib import Path

#: Characters a terminal acts on or that break a line: C0/C1 controls (ESC starts a terminal
#: sequence that can overwrite the result line), line/paragraph separators, lone surrogates
#: (undecodable bytes of a file name) and the bidirectional overrides that reorder text.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """``text`` with every control character written as a Python escape (``\\x1b``, ``\\n``).

    For anything shown on a terminal or recorded as a one-line message: a file name may hold
    any character but a newline or an escape sequence.
    """
    return "".join(
        c.encode("unicode_escape", errors="backslashreplace").decode("ascii")
        if c in _BIDI_CONTROLS or unicodedata.category(c) in _ESCAPED_CATEGORIES else c
        for c in text)


def counted_names(names: list[str], noun: str, shown: int = 3) -> str:
    """``3 sub-folders (s1, s2, s3)``: how many, and the first ``shown`` names, for a message."""
    listed = ", ".join(names[:shown]) + (
        f" and {len(names) - shown} more" if len(names) > shown else "")
    return f"{len(names)} {noun}{'s' if len(names) != 1 else ''} ({listed})"


class SmearscanError(Exception):
    """Base of the errors the CLI prints as ``smearscan: <message>`` without a traceback.

    ``str(error)`` is always one printable line (:func:`printable`), whatever file name it
    quotes.
    """

    def __str__(self) -> str:
        return printable(super().__str__())


class LabValueError(ValueError):
    """An unusable lab value or file; ``str(error)`` is one line naming key, value and problem.
    ``key`` is the lab key refused, where one is; ``readings`` the values (in its default unit)
    it may stand for: a bare number two units could mean, or one a unit away from plausible.
    ``between`` names the keys of values that contradict each other, any one of which read as
    not given resolves the refusal. ``written`` holds the values as written that a key given
    more than once may stand for (each copy).

    Here rather than in :mod:`smearscan.labs`, which re-exports it, so that an analysis without
    lab values does not import the lab tables to catch it."""

    def __init__(self, message: str, *, key: str | None = None,
                 readings: Sequence[float] = (), between: Sequence[str] = (),
                 written: Sequence[object] = ()) -> None:
        super().__init__(message)
        self.key = key
        self.readings = tuple(readings)
        self.between = tuple(between)
        self.written = tuple(written)

    def saying(self, message: str) -> LabValueError:
        """The same refusal (key, readings, contradiction, copies) in other words."""
        return LabValueError(message, key=self.key, readings=self.readings,
                             between=self.between, written=self.written)


class LabFileRefusedError(LabValueError):
    """A lab file a run refuses before any work, its structure leaving a row unreadable (which
    row is whose?) or its rows not fitting the run's slides ('S1' for 's1'), with the URGENT
    lines its rows of the run's slides call for with the smear not yet counted, each
    ``"slide: line"`` (``urgent``): printed before the refusal, so that the emergency its
    values show is not lost with the run (QA 89 #6, QA 102 L5, QA 103 L3)."""

    def __init__(self, message: str, urgent: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.urgent = tuple(urgent)


class UnusableFieldError(SmearscanError):
    """A field that cannot be counted as it is: a batch records it as failed and goes on."""


class ColourlessFieldError(UnusableFieldError):
    """A field without stain colour (a grayscale image) given to the classifier, which tells
    white cells, NRBCs and platelets from red cells by the stain's colour."""


class OverexposedFieldError(UnusableFieldError):
    """A field whose background is clipped white in the stain's channels
    (:func:`smearscan.illumination.require_exposure`): pale cell edges and pale fragments are
    lost with it."""


class BlankFieldError(UnusableFieldError):
    """A field with nothing to analyse: too dark (lamp off, lens cap) or without contrast (a
    uniform image) (:func:`smearscan.illumination.require_exposure`)."""


class CellessFieldError(UnusableFieldError):
    """A field in which no object was found, or whose blobs are far outside a red cell's size at
    any scale the segmentation works with (:func:`smearscan.segmentation.require_cells`)."""


class MaskedFieldError(UnusableFieldError):
    """A field with a black area (a field stop, vignetted corners, a mask)
    (:func:`smearscan.illumination.require_exposure`): the segmentation's threshold would
    separate black from the rest and lose the cells, and the stop's edge would cut cells into
    fragments."""


class OffScaleFieldError(UnusableFieldError):
    """A field that a declared pixel size does not fit: its own estimate disagrees by more than
    :data:`~smearscan.segmentation.MAX_SCALE_DISAGREEMENT` (another objective or camera
    setting); at the declared size its cells would be cut up or merged
    (:func:`smearscan.pipeline.require_declared_scale`)."""


class MissingExtraError(SmearscanError):
    """A command needs an optional extra (``train``) that is not installed."""

    exit_code = 2


def train_extra_command() -> str:
    """The pip command that adds the ``train`` extra to this copy of smearscan.

    A copy run from its project folder (the README's editable install) is told that folder; one
    installed from a wheel or archive that file, since it has no project folder to run
    ``-e .`` in (QA 55 L-4); one from a package index the package name.
    """
    project = Path(__file__).resolve().parents[1]
    if (project / "pyproject.toml").is_file():
        return f'pip install -e "{project}[train]"'
    from importlib import metadata  # here: ~10 ms every command would pay for a rare message

    url = json.loads(metadata.distribution("smearscan").read_text("direct_url.json")
                     or "{}").get("url")
    return f'pip install "smearscan[train] @ {url}"' if url else 'pip install "smearscan[train]"'
