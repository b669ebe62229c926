"""Reading a mapping of lab values (:func:`parse_labs`): each value read, the values
checked against each other, and a refusal naming the problems found after the
first."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TypeVar

from smearscan.errors import LabValueError
from smearscan.labs.coagulation import _check_d_dimer, _check_pt_against_inr
from smearscan.labs.forms import Bound
from smearscan.labs.keys import LAB_KEYS
from smearscan.labs.ldh import check_ldh
from smearscan.labs.misspelt import _unknown_key, offered_keys
from smearscan.labs.number import _accepted_unit, _split_number
from smearscan.labs.record import Labs, _check_consistent, zero_counts
from smearscan.labs.value import _parse_value


def _problem_name(error: LabValueError) -> str:
    return " against ".join(error.between) or str(error.key)


def _without_keys(mapping: dict[str, object], error: LabValueError,
                  key: str | None = None) -> dict[str, object]:
    """``mapping`` without ``key``, or else without every key ``error`` refuses."""
    dropped = {key} if key is not None else {error.key, *error.between}
    return {k: value for k, value in mapping.items() if k not in dropped}


def _written_units(mapping: Mapping[str, object], values: Mapping[str, object],
                   source: str) -> dict[str, str]:
    """The accepted unit each number of ``mapping`` (read as ``values``) was written in."""
    units = {}
    for key, value in values.items():
        spec = LAB_KEYS[key]
        if spec.kind != "number" or value is None or isinstance(value, Bound) and value.word:
            continue
        written = _split_number(key, mapping[key], spec, source)[2]
        if written is not None:
            units[key] = _accepted_unit(written, spec)
    return units


def parse_labs(mapping: Mapping[str, object], *, source: str = "labs",
               complete: bool = True) -> Labs:
    """Read lab values given as a mapping of key to value.

    Parameters
    ----------
    mapping : Mapping[str, object]
        Keys from :data:`LAB_KEYS`. Numbers are in the key's default unit or strings
        ``"<number> <unit>"``; ``dat``/``ana`` are ``"positive"``/``"negative"``; booleans are
        ``True``/``False`` or ``true/false/yes/no/1/0`` strings; ``drug_exposure`` and
        ``obstetric_complication`` are a name or a boolean (``"none"``/``"nil"``: false).
        ``None``, ``""``, ``"NA"``, ``"-"``, ``"unknown"``, ``"not known"``, ``"pending"``,
        ``"sent"`` and ``"awaited"`` are missing.
    source : str, optional
        Where the values came from, used as the start of error messages.
    complete : bool, optional
        False for values that others may complete (a lab file and the command line given
        together): an LDH may then come without its limit, which
        :func:`smearscan.verdict.assess` refuses on the whole, with the URGENT line any limit
        would give.

    Returns
    -------
    Labs
        The values converted to the default units.

    Raises
    ------
    LabValueError
        An unknown key, a value that is not readable or not plausible, or an LDH without its
        upper limit (:func:`check_ldh`).

    Examples
    --------
    >>> parse_labs({"hemoglobin": "75.5 g/L", "platelets": "82000 /uL"}).hemoglobin
    7.55
    """
    try:
        return _first_problem_refused(mapping, source, complete)
    except LabValueError as error:
        later = [*_later_problems(mapping, error, source), *_zero_counts_given(mapping, source)]
        raise _with_the_rest(error, later) from None


def _zero_counts_given(mapping: Mapping[str, object], source: str) -> Iterator[LabValueError]:
    """The blood-cell counts of ``mapping`` that :func:`~smearscan.labs.zero_counts` finds given
    as 0, which :func:`smearscan.verdict.assess` refuses: named beside the refusals of the lab
    reader (QA 87 #5: a bare haemoglobin was named alone beside platelets 0). A count the reader
    refuses is named among its own refusals."""
    counts = {}
    for key, raw in mapping.items():
        spec = LAB_KEYS.get(key)
        if spec is not None and spec.counted:
            with contextlib.suppress(LabValueError):
                counts[key] = _parse_value(key, raw, spec, source)
    zeros = zero_counts(Labs(**counts))
    for key in zeros[0] if zeros else ():
        yield LabValueError(f"{source}: {key} = 0", key=key)


def _later_problems(mapping: Mapping[str, object], error: LabValueError, source: str
                    ) -> Iterator[LabValueError]:
    """The problems of ``mapping`` after ``error``, each found with the keys refused before it
    read as not given."""

    def rest(values: dict[str, object], error: LabValueError) -> dict[str, object] | None:
        refused = error.key in values or error.between
        return _without_keys(values, error) if refused else None

    return _later_refusals(dict(mapping), error, rest,
                           lambda values: _first_problem_refused(values, source, complete=False))


T = TypeVar("T")


def _later_refusals(values: T, error: LabValueError,
                    rest: Callable[[T, LabValueError], T | None], refuse: Callable[[T], object]
                    ) -> Iterator[LabValueError]:
    """The refusals of ``refuse`` after ``error``: each of the ``rest`` of ``values`` without
    what those before it refused (None: nothing left to refuse)."""
    while (values := rest(values, error)) is not None:
        try:
            refuse(values)
            return
        except LabValueError as later:
            yield later
            error = later


def _named_with_offer(problem: LabValueError) -> str:
    """A later problem's name, an unknown key's with the keys it is offered as (QA 154 L-2:
    'Hb' was offered as 'hemoglobin', 'PLT' beside it as nothing)."""
    name = _problem_name(problem)
    unknown = problem.key not in LAB_KEYS and not problem.between
    offered = offered_keys(problem.key) if unknown else []
    return f"{name} (did you mean {' or '.join(map(repr, offered))}?)" if offered else name


def _with_the_rest(error: LabValueError, later: Iterable[LabValueError]) -> LabValueError:
    """``error``, naming the keys of the ``later`` problems it was refused with (QA 42 L-1: only
    the first was named, and the values corrected were refused again)."""
    names = list(dict.fromkeys(_named_with_offer(problem) for problem in later))
    if not names:
        return error
    return error.saying(f"{error} (also refused: {', '.join(names)})")


def _first_problem_refused(mapping: Mapping[str, object], source: str, complete: bool
                           ) -> Labs:
    """:func:`parse_labs`, refusing at the first problem."""
    values = {}
    for key, raw in mapping.items():
        if key not in LAB_KEYS:
            raise _unknown_key(key, source)
        values[key] = _parse_value(key, raw, LAB_KEYS[key], source)
    _check_consistent(values.get, source)  # QA 41 M-1: named "labs", not the file and row
    labs = Labs(**values, units=_written_units(mapping, values, source))
    _check_d_dimer(mapping, labs, source)
    _check_pt_against_inr(labs, source)
    check_ldh(labs, source, complete=complete)
    return labs
