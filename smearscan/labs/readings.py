"""Refused lab values read every way they may stand for (:func:`lab_readings`), for the
URGENT line their refusal keeps: the problems named (:func:`refused_names`), read in a
fixed order and within a budget (:data:`MOST_PROBLEMS_READ`, :data:`MOST_WAYS_READ`), and
the readings of two sources merged (:func:`merged_readings`)."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from smearscan.errors import LabValueError
from smearscan.labs.doubts import doubted_name
from smearscan.labs.forms import Repeated
from smearscan.labs.keys import LAB_KEYS
from smearscan.labs.misspelt import close_keys
from smearscan.labs.overrides import _merged_first_refused, _without
from smearscan.labs.parse import (
    _first_problem_refused,
    _later_problems,
    _problem_name,
    _without_keys,
)
from smearscan.labs.record import Labs


def lab_readings(mapping: Mapping[str, object], *, source: str = "labs", problems_read: int = 0,
                 ways_read: int = 1) -> tuple[list[Labs], list[Labs]]:
    """The lab values of ``mapping`` (as :func:`parse_labs`, ``complete=False``) read every way
    that the values refused as written may stand for, for the URGENT line their refusal keeps.

    Each refused value is read every way in turn, whatever else is refused with it (QA 42 H-1:
    a second contradiction lost the line): up to :data:`MOST_PROBLEMS_READ` of them, counting
    ``problems_read`` of other values judged with these (a lab file's, for the command line's;
    QA 43 M-1: six in each multiplied to thousands of readings, over 13 minutes); any further
    one only as not given (this tool's rule: each multiplies the readings). Likewise, a
    problem is read every way only while the readings stay within :data:`MOST_WAYS_READ`,
    counting the ``ways_read`` of other values judged with these (QA 44 M-1: six keys given
    four times each, 4,096 readings each judged over two bounds' ranges, took 82 s).

    Returns
    -------
    readings : list of Labs
        With each refused value read as each plausible value it may stand for
        (:attr:`LabValueError.readings`: a bare number two units could mean, one a unit away
        from plausible), each pair that contradicts itself with one of its keys
        (:attr:`LabValueError.between`) not given, in turn, and a misspelt key as the one it
        is close to; the values themselves where none is refused.
    without : list of Labs
        With a refused value (or a misspelt key) read as not given, where it has no such
        reading or besides them (this tool's rule).
    """
    found: dict[str, tuple[list[Labs], list[Labs]]] = {}
    readings, without = _readings_of(_in_key_order(mapping), source,
                                     _Read(problems_read, ways_read), found)
    return _distinct(readings), _distinct(without)


def refused_names(mapping: Mapping[str, object], *, source: str = "labs") -> list[str]:
    """The problems :func:`parse_labs` (``complete=False``) refuses ``mapping`` for, named as
    its refusal names them: a key, or a pair that contradicts itself (``'pregnancy against
    sex'``)."""
    try:
        _first_problem_refused(mapping, source, complete=False)
    except LabValueError as error:
        return [_problem_name(problem)
                for problem in [error, *_later_problems(mapping, error, source)]]
    return []


#: What a yes/no value that cannot be read (``maybe``, or an option given with no value) may
#: stand for: either answer (QA 87 #4; this tool's rule).
EITHER_ANSWER = ("yes", "no")
#: How many problems of one set of lab values :func:`lab_readings` reads every way they may
#: stand for; a further one is read as not given (this tool's rule: a file with more is not a
#: set of results that a reading can rescue, and each problem multiplies the readings).
MOST_PROBLEMS_READ = 6
#: How many sets of lab values :func:`lab_readings` reads a problem every way within; beyond,
#: it is read as not given (this tool's rule: six bare numbers, two readings each, give 64;
#: each set is a whole verdict, judged again over the range of every bound).
MOST_WAYS_READ = 64


@dataclass(frozen=True)
class _Read:
    """How much reading :func:`_readings_of` has done: problems read every way, and the sets
    of values they make."""

    problems: int
    ways: int

    def every_way(self, readings: int, without: int) -> bool:
        """Whether a further problem of so many ``readings`` (and sets ``without`` it) is read
        every way: one read a single way (a key given twice alike) always is, as it multiplies
        nothing (QA 45 H-6: two pasted draws of seven keys lost "TTP likely")."""
        return readings + without <= 1 or (self.problems < MOST_PROBLEMS_READ
                                           and self.ways * max(readings, 1) <= MOST_WAYS_READ)

    def after(self, readings: int, without: int) -> _Read:
        return _Read(self.problems + (readings + without > 1), self.ways * max(readings, 1))


#: The lab keys whose problems :func:`lab_readings` reads every way first, those the URGENT
#: line rests on most (ADAMTS13 tells TTP likely from unlikely; the platelets and haemolysis
#: show the picture): beyond :data:`MOST_WAYS_READ` a problem is read only as not given, which
#: for ADAMTS13 turned no line into "TTP possible" (this tool's rule).
_READ_FIRST = ("adamts13", "platelets", "hemoglobin", "ldh", "ldh_uln", "haptoglobin",
               "reticulocytes", "indirect_bilirubin", "creatinine")


def reading_rank(names: Sequence[str]) -> float:
    """Where the first of the problems ``names`` (:func:`refused_names`) stands in the order
    problems are read every way in (:func:`_rank`): of two sources, the one with the lower
    rank is read first. No problems rank last."""
    return min((_rank(name) for name in names), default=len(_reading_order()) + 1)


def _rank(key: object) -> float:
    """Where ``key`` stands in the order problems are read every way in: :data:`_READ_FIRST`,
    then LAB_KEYS; a misspelt key just after the key it is closest to (QA 139 H-2: an ADAMTS13
    beside six other names the reader did not know was read last, as not given), another
    last."""
    order = _reading_order()
    if key in order:
        return order[key]
    close = close_keys(key)
    return order[close[0]] + 0.5 if close else len(order)


@functools.cache
def _reading_order() -> dict[str, int]:
    return {key: index for index, key in enumerate(
        [*_READ_FIRST, *(key for key in LAB_KEYS if key not in _READ_FIRST)])}


def _in_key_order(mapping: Mapping[str, object]) -> dict[str, object]:
    """``mapping`` in a fixed order, that of :func:`_rank`: a lab file's order of keys must not
    change the line's wording (QA 41 L-1)."""
    return dict(sorted(mapping.items(), key=lambda item: _rank(item[0])))


def _readings_of(mapping: dict[str, object], source: str, read: _Read,
                 found: dict[str, tuple[list[Labs], list[Labs]]]
                 ) -> tuple[list[Labs], list[Labs]]:
    """:func:`lab_readings` of ``mapping`` with so much ``read`` already; ``found`` holds
    those of the mappings read so far (two problems read in either order meet again)."""
    seen = repr(list(mapping.items()))
    if seen in found:
        return found[seen]
    try:
        result = [_first_problem_refused(mapping, source, complete=False)], []
    except LabValueError as error:
        corrected, omitted = _alternatives(mapping, error)
        if not read.every_way(len(corrected), len(omitted)):
            # Beyond, a key given several times is read as its first copy: a value the user
            # gave, where not given is none (QA 46 H-1: two pasted draws of eight keys, each
            # "TTP suspected", said "possible").
            corrected, omitted = ((corrected[:1], []) if error.written
                                  else ([], [_without_keys(mapping, error)]))
        if not corrected:
            # Read only as not given, that is the problem's reading: beside another problem's
            # readings it sent them all to the values without (QA 43 H-1, H-2: 'transplant:
            # maybe' beside a bare ADAMTS13 of 0.05 weakened "TTP likely" to "possible").
            corrected, omitted = omitted, []
        readings, without = [], []
        further = read.after(len(corrected), len(omitted))
        for alternative in corrected:
            more, lacking = _readings_of(alternative, source, further, found)
            readings += more
            without += lacking
        for alternative in omitted:
            without += itertools.chain(*_readings_of(alternative, source, further, found))
        result = readings, without
    found[seen] = result
    return result


def _alternatives(mapping: dict[str, object], error: LabValueError
                  ) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """``mapping`` with the problem ``error`` refuses read each way it may stand for
    (:func:`lab_readings`'s readings) and as not given (its values without)."""
    if error.between:
        return [_without_keys(mapping, error, key) for key in error.between
                if key in mapping], []
    refused = error.key
    if error.written:  # a key given more than once: as each copy, one of which it is
        # Compared, not hashed: a JSON copy may be a list (QA 48: a traceback, no line).
        copies = [value for index, value in enumerate(error.written)
                  if value not in error.written[:index]]
        return [{**mapping, refused: value} for value in copies], []
    if refused not in LAB_KEYS:  # a misspelt key: as each one it is close to
        return ([renamed for close in close_keys(refused)
                 for renamed in _renamed(mapping, refused, close)],
                [_without_keys(mapping, error)])
    spec = LAB_KEYS[refused]
    raw = mapping[refused]
    if spec.kind == "named" and isinstance(raw, str) and (
            named := doubted_name(refused, raw)) is not None:
        # 'HELLP ruled out', '?clopidogrel': as present and as absent (QA 92 #1; a named
        # complication or a drug that triggers TTP can change the line beside a DIC).
        return [{**mapping, refused: named}, {**mapping, refused: "no"}], []
    if spec.kind == "bool":  # 'maybe': either answer (QA 87 #4: 'systemic sclerosis: maybe'
        # lost the URGENT line's caution against corticosteroids)
        return [{**mapping, refused: answer} for answer in EITHER_ANSWER], []
    # Six decimals: '12.888' would read as a thousands dot.
    corrected = [{**mapping, refused: f"{value:.6f} {spec.unit}".strip()}
                 for value in error.readings]
    return corrected, [_without_keys(mapping, error)]


def _renamed(mapping: dict[str, object], misspelt: str, close: str) -> list[dict[str, object]]:
    """``mapping`` with the ``misspelt`` key read as ``close``; where ``close`` is given too, as
    it given twice, read as each value (QA 44 M-2: '--adamts-13 5%' beside '--adamts13 50%' was
    read only as not given). A yes/no key given with no value, an option written as a flag, is
    read as either answer (QA 87 #4: '--scleroderma' alone lost the caution it calls for)."""
    value = mapping[misspelt]
    rest = {key: each for key, each in mapping.items() if key != misspelt}
    if value is None and LAB_KEYS[close].kind == "bool" and close not in mapping:
        return [_in_key_order(rest | {close: answer}) for answer in EITHER_ANSWER]
    if close in mapping:
        value = Repeated.adding(mapping[close], value)
    return [_in_key_order(rest | {close: value})]


def _distinct(labs: Sequence[Labs]) -> list[Labs]:
    """``labs`` without repeats (read in another order), in order."""
    return list({repr(each): each for each in labs}.values())


def merged_readings(bases: Sequence[Labs], overrides: Sequence[Labs]) -> list[Labs]:
    """Each of ``bases`` with each of ``overrides`` (:func:`with_overrides`), for the URGENT
    line of values refused; of a pair refused between a base's key and an override's (a
    D-dimer against a ULN 1000x off, a metastatic cancer said not active), the pair read with
    each key that alone resolves it not given, in turn, as often as they conflict (QA 41 H-1,
    H-2; QA 42 H-2: a second contradiction lost the line)."""
    return _distinct([labs for base, override in itertools.product(bases, overrides)
                      for labs in _merged(base, override)])


def _merged(base: Labs, override: Labs) -> list[Labs]:
    try:
        return [_merged_first_refused(base, override, "labs")]
    except LabValueError as error:
        given = [key for key in error.between
                 if getattr(base, key) is not None or getattr(override, key) is not None]
        return [labs for key in given
                for labs in _merged(_without(base, key), _without(override, key))]
