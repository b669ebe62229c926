"""Which slide a lab file's values are for: a file checked against a run's slides
(:func:`check_lab_slides`), the values of one slide, and the slips of a slide's name."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from smearscan.errors import LabValueError
from smearscan.labs.record import Labs


def check_lab_slides(by_slide: Mapping[str, Labs], slides: Sequence[str], *, source: str) -> None:
    """Refuse a lab file read by :func:`read_labs_file` that does not fit a run's ``slides``:
    one set of values with no slide name for several slides (slides are usually different
    patients); rows none of which names a slide of the run; a row that names none but is a
    slip of the name of a slide left without values (``S1`` or ``s_1`` for ``s1``), which
    would leave that slide without its verdict; or such a slip beside the slide's own row (two
    rows, one patient: which is right?). Other rows may be for slides of another run;
    names are compared in Unicode NFC (:func:`smearscan.naming.slide_name`).

    Raises
    ------
    LabValueError
        One line naming ``source`` and the problem.
    """
    if "" in by_slide:
        if len(by_slide) > 1:  # QA 141 L-2: told it was one set for several slides
            raise LabValueError(f"{source}: a set of lab values with an empty slide name beside "
                                "named ones: name its slide")
        if len(slides) > 1:
            raise LabValueError(
                f"{source}: one set of lab values, with no slide name, for {len(slides)} slides "
                "(usually different patients): give a CSV with a 'slide' column, or a JSON "
                "object keyed by slide name")
        return
    without = [slide for slide in slides if slide not in by_slide]
    typos = {name: close for name in by_slide if name not in slides
             and (close := _close_name(name, without)) is not None}
    if typos:
        named = ", ".join(f"{name!r} (did you mean {close!r}?)" for name, close in typos.items())
        raise LabValueError(f"{source}: lab values for slides not in this run: {named}")
    with_row = [slide for slide in slides if slide in by_slide]
    twins = {name: close for name in by_slide if name not in slides
             and (close := _close_name(name, with_row)) is not None}
    if twins:  # qacli6 LOW-3: 'S1' beside 's1' was ignored without a word
        named = ", ".join(f"{close!r} and {name!r}" for name, close in twins.items())
        raise LabValueError(f"{source}: two rows for one slide of this run, {named} (their names "
                            "differ only in case, spaces, underscores or hyphens): keep the "
                            "right one")
    if len(without) == len(slides):
        raise LabValueError(f"{source}: no lab values for any slide of this run "
                            f"({', '.join(slides)}); it has {', '.join(sorted(by_slide))}")


def _close_name(name: str, names: Sequence[str]) -> str | None:
    """The first of :func:`_slips`, if any."""
    return next(iter(_slips(name, names)), None)


def _slips(name: str, names: Iterable[str]) -> list[str]:
    """The ``names`` that ``name`` is a slip of: the same but for case, spaces, underscores,
    hyphens or compatibility characters. Not merely similar: 'patientA' is not a slip of
    'patientC', another patient."""
    key = _slip_key(name)
    return [candidate for candidate in names if _slip_key(candidate) == key]


def _slip_key(name: str) -> str:
    return re.sub(r"[\s_-]+", "", unicodedata.normalize("NFKC", name).casefold())


def labs_for_slide(by_slide: Mapping[str, Labs], slide: str | None, *, source: str) -> Labs:
    """The lab values that apply to ``slide`` in a file read by :func:`read_labs_file`.

    A file that is not per slide applies to every slide; a per-slide file must name it.
    """
    if "" in by_slide:
        return by_slide[""]
    if slide is None:
        raise LabValueError(f"{source}: the lab file is per slide; name the slide with --slide")
    if slide not in by_slide:
        names = ", ".join(sorted(by_slide))
        raise LabValueError(f"{source}: no lab values for slide {slide!r} (has: {names})"
                            f"{slips_hint(slide_slips(slide, by_slide))}")
    return by_slide[slide]


def slide_slips(slide: str | None, by_slide: Mapping[str, object]) -> list[str]:
    """The slides of ``by_slide`` that ``slide`` is a slip of (:func:`_slips`): each is read
    where the slide is refused (QA 44 M-2: of 's_1' and 's1' for 'S1' only the first was)."""
    return [] if slide is None else _slips(slide, by_slide)


def slips_hint(slips: Sequence[str]) -> str:
    """``"; did you mean 's1'?"`` (or ``'s_1' or 's1'``) for a refusal; empty without slips."""
    return f"; did you mean {' or '.join(map(repr, slips))}?" if slips else ""
