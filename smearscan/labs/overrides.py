"""The command line's lab values over a lab file's (:func:`with_overrides`), the two
checked against each other as values of one patient."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import replace

from smearscan.errors import LabValueError
from smearscan.labs.coagulation import (
    _check_d_dimer_ratio,
    _check_pt_against_inr,
    check_d_dimer_units,
)
from smearscan.labs.keys import LAB_KEYS
from smearscan.labs.parse import _later_refusals, _with_the_rest
from smearscan.labs.record import Labs, _check_consistent


def _without(labs: Labs, key: str) -> Labs:
    """``labs`` with ``key`` not given."""
    units = {k: unit for k, unit in labs.units.items() if k != key}
    return replace(labs, **{key: None}, units=units)


def with_overrides(labs: Labs, overrides: Labs, *,
                   source: str = "the lab file and the command line") -> Labs:
    """``labs`` with every value that ``overrides`` gives replaced (command line over file); a
    D-dimer and its ULN, and a PT prolongation and the INR, from the two are compared as from
    one (:data:`D_DIMER_RATIO_RANGE`, :func:`least_inr`); an LDH and its ULN are judged
    together by :func:`smearscan.verdict.assess`, whose refusal keeps any URGENT line."""
    try:
        return _merged_first_refused(labs, overrides, source)
    except LabValueError as error:
        raise _with_the_rest(error, _later_conflicts(labs, overrides, error, source)) from None


def _later_conflicts(labs: Labs, overrides: Labs, error: LabValueError, source: str
                     ) -> Iterator[LabValueError]:
    """The contradictions between ``labs`` and ``overrides`` after ``error``, each found with
    the keys of those before it not given."""

    def rest(pair: tuple[Labs, Labs], error: LabValueError) -> tuple[Labs, Labs] | None:
        if not error.between:
            return None
        return tuple(functools.reduce(_without, error.between, each) for each in pair)

    return _later_refusals((labs, overrides), error, rest,
                           lambda pair: _merged_first_refused(*pair, source))


def _merged_first_refused(labs: Labs, overrides: Labs, source: str) -> Labs:
    """:func:`with_overrides`, refusing at the first contradiction."""
    given = {key: getattr(overrides, key) for key in LAB_KEYS
             if getattr(overrides, key) is not None}
    _check_consistent(lambda key: given[key] if key in given else getattr(labs, key), source)
    units = {key: unit for key, unit in labs.units.items() if key not in given}
    merged = replace(labs, **given, units=units | dict(overrides.units))
    check_d_dimer_units(merged, source)
    _check_d_dimer_ratio(merged, source)
    _check_pt_against_inr(merged, source)
    return merged
