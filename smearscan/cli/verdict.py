"""``smearscan verdict``: the MAHA verdict of a schistocyte result and lab values, and the
URGENT line that a refused input keeps (every reading the user may have meant is judged)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, NoReturn

from smearscan.cli.common import EXIT_OK, EXIT_USAGE, say
from smearscan.cli.verdict_options import (
    Refused,
    count_options_with_summary,
    counted_percent,
    misspelt_options,
    option_problems,
    prepared_argv,
    unknown_options,
    verdict_parser,
)

if TYPE_CHECKING:  # imported inside the functions that need them: start-up stays short
    from smearscan.labs import LabRow, Labs
    from smearscan.verdict import OwnLine, SmearFindings, UnresolvedBoundError


def run_verdict(argv: list[str]) -> int:
    import json

    from smearscan.errors import printable
    from smearscan.labs import LabValueError
    from smearscan.verdict import (
        SlideNotFoundError,
        UnresolvedBoundError,
        assess,
        format_text,
        urgent_over_readings,
    )

    parser = verdict_parser()
    words, refused = prepared_argv(argv)
    args, unknown = parser.parse_known_args(words)
    args.misspelt, stray = unknown_options(unknown)
    args.ways_read = 1  # sets of values judged beside these (:func:`_urgent_over_corrections`)
    misspelt = misspelt_options(args)
    refused += option_problems(args) + misspelt
    if refused:
        _refuse_options(parser, args, refused, stray, misspelt)
    notes: list[str] = []
    inputs = None
    try:
        inputs = _verdict_inputs(args)
        smear, labs, notes = inputs.smear, inputs.labs, inputs.notes
        if stray:  # refused keeping the line of the values read (QA 43 H-3)
            line, judged = urgent_over_readings(smear, [labs], [])
            raise UnresolvedBoundError(_unrecognized(stray), line, readings=judged)
        verdict = assess(smear, labs)
    except UnresolvedBoundError as error:
        # Some value of the bound's range calls for the URGENT line: it is printed all the same,
        # with what the values rest on (QA 40 L-1: a replaced value was not said).
        if args.json:
            say(json.dumps(error.to_dict() | ({"notes": notes} if notes else {}), indent=2),
                sys.stdout)
        elif error.said or notes:
            say("\n".join([*error.said, *(f"NOTE: {note}" for note in notes)]), sys.stdout)
        origin = inputs.origin(error.key) if inputs is not None else ""
        say(f"smearscan verdict: {origin}{printable(_and_stray(str(error), stray))}")
        return EXIT_USAGE
    except (LabValueError, SlideNotFoundError, ValueError) as error:
        say(f"smearscan verdict: {printable(_and_stray(str(error), stray))}")
        return EXIT_USAGE
    if inputs.recorded is not None:  # said only with the verdict: a refusal is one line
        say(inputs.recorded)
    data = verdict.to_dict() | ({"notes": notes} if notes else {})
    say(json.dumps(data, indent=2) if args.json else format_text(verdict, notes=notes),
        sys.stdout)
    return EXIT_OK


def _refuse_options(parser: argparse.ArgumentParser, args: argparse.Namespace,
                    refused: list[Refused], stray: list[str], misspelt: list[Refused]
                    ) -> NoReturn:
    """Refuse the options ``refused``, after the URGENT line that reading each correction
    calls for; the ``misspelt`` ones among them are named first (their value's refusal
    follows from them)."""
    import json

    from smearscan.errors import printable

    named = [*misspelt, *(problem for problem in refused if problem not in misspelt)]
    message = printable(_and_stray("; ".join(problem.message for problem in named), stray))
    over = _urgent_over_corrections(args, refused)
    if over.also is not None:  # QA 44 L-2: the lab value refused with it was not named
        message = f"{message} (also refused: {printable(over.also)})"
    said = over.refusal(message)
    if args.json:  # a JSON reader gets JSON, a line or not (QA 152 L-1: nothing on stdout)
        say(json.dumps(said.to_dict(), indent=2), sys.stdout)
    elif said.said:
        say("\n".join(said.said), sys.stdout)
    parser.error(message)


#: How many sets of corrections of refused options :func:`_urgent_over_corrections` judges
#: (this tool's rule): each is a whole verdict input, and five options refused at once give
#: a few hundred.
MOST_CORRECTIONS_JUDGED = 64


class _OverCorrections(NamedTuple):
    """What :func:`_urgent_over_corrections` found."""

    #: The URGENT line over every set of corrections.
    line: str | None
    #: The refusal of the values every set is refused for, if one is.
    also: str | None
    #: The sets of lab values the line was judged over.
    readings: list[Labs]
    #: The line of each lab file row that may be another patient's, over every set of
    #: corrections (:attr:`~smearscan.verdict.UnresolvedBoundError.each`).
    each: tuple[OwnLine, ...]

    def refusal(self, message: str) -> UnresolvedBoundError:
        """The refusal ``message`` with the lines found."""
        from smearscan.verdict import UnresolvedBoundError

        return UnresolvedBoundError(message, self.line, readings=self.readings,
                                    each=self.each)


def _urgent_over_corrections(args: argparse.Namespace, refused: list[Refused],
                             unread: str = "refused") -> _OverCorrections:
    """The URGENT line of ``args`` read with each set of corrections of the ``refused`` options
    in turn (:func:`~smearscan.verdict.urgent_over_lines`), the refusal of the values every
    set is refused for, if one is, the sets of lab values the line was judged over (of a
    set refused as lab values, those its own line was: QA 47 H-1), and each lab file row's
    line over every set (:func:`~smearscan.verdict.own_lines_over`; QA 146 H-3: merged
    without ``--schistocytes``), where each set said the rows' lines apart. Beyond
    :data:`MOST_CORRECTIONS_JUDGED` sets, those not judged count as calling for no line: a
    line that some judged set calls for becomes "TTP possible ... correct it" (or asks for
    what ``unread`` names)."""
    from smearscan.labs import LabValueError
    from smearscan.verdict import (
        SlideNotFoundError,
        UnresolvedBoundError,
        assess,
        own_lines_over,
        urgent_over_lines,
    )

    lines, readings, refusals, apart = set(), [], [], []
    judged = min(math.prod(len(problem.corrections) for problem in refused),
                 MOST_CORRECTIONS_JUDGED)
    choices = itertools.product(*(problem.corrections for problem in refused))
    for choice in itertools.islice(choices, MOST_CORRECTIONS_JUDGED):
        # Each set shares the lab values' budget of readings (QA 45 M-2: each read a lab file
        # of bounds every way, 64 times over, in 11 minutes).
        one = argparse.Namespace(**(vars(args) | {"ways_read": args.ways_read * judged}))
        for correction in choice:
            vars(one).update(correction)
        inputs = None
        try:
            inputs = _verdict_inputs(one)
            # Judged whole, so that a bound refused beside the options is named too (QA 46 L-3).
            line = assess(inputs.smear, inputs.labs).urgent
            lines.add(line)
            readings.append(inputs.labs)
            refusals.append(None)
            # One set of values: no line of its own can stand beside the rows' of the others.
            apart.append(() if line is None else None)
        except UnresolvedBoundError as error:
            lines.add(error.urgent)
            apart.append(error.each or (() if error.urgent is None else None))
            readings += error.readings
            origin = inputs.origin(error.key) if inputs is not None else ""
            refusals.append(f"{origin}{error}")
        except (LabValueError, SlideNotFoundError, ValueError):
            # Refused otherwise (a summary that cannot be read), it is not what the user
            # meant; left out, it cannot weaken the line the others call for.
            continue
    complete = next(choices, None) is None
    if not complete:
        lines.add(None)
    common = refusals[0] if refusals and refusals.count(refusals[0]) == len(refusals) else None
    each = (own_lines_over(apart, unread, complete=complete)
            if None not in apart and any(apart) else ())
    return _OverCorrections(urgent_over_lines(lines, readings, unread), common, readings, each)


def _unrecognized(stray: list[str]) -> str:
    return f"command line: unrecognized arguments: {' '.join(stray)}"


def _and_stray(message: str, stray: list[str]) -> str:
    """A refusal's ``message``, naming the ``stray`` words of the command line too."""
    unrecognized = _unrecognized(stray)
    if not stray or message == unrecognized:
        return message
    return f"{message} (also {unrecognized.removeprefix('command line: ')})"


class _Inputs(NamedTuple):
    """What ``smearscan verdict`` judges."""

    smear: SmearFindings
    labs: Labs
    #: Notes on what they rest on (a review of the slide in progress or set aside, a value
    #: replaced).
    notes: list[str]
    #: Where each lab value came from (the command line, the lab file or the summary), by
    #: key, which a refusal of it names.
    origins: dict[str, str]
    #: That the lab values a summary recorded are used, said on stderr beside the verdict.
    recorded: str | None = None

    def origin(self, key: str | None) -> str:
        """Where the value ``key`` came from, which its refusal names (QA 30 N5); an LDH's
        with its limit's (QA 39 L-3: an LDH from the file, its limit from the command line,
        was said to come from the file); empty for none (QA 44 L-1: a bound of the file was
        refused without naming it)."""
        keys = ("ldh", "ldh_uln") if key == "ldh" else (key,)
        origins = {each: self.origins[each] for each in keys if each in self.origins}
        if len(set(origins.values())) > 1:
            return ", ".join(f"{each} from {origin}" for each, origin in origins.items()) + ": "
        return next((f"{origin}: " for origin in origins.values()), "")


def _verdict_inputs(args: argparse.Namespace) -> _Inputs:
    """The smear findings and lab values of ``smearscan verdict``'s arguments."""
    from smearscan.labs import Labs, LabValueError, parse_labs, with_overrides
    from smearscan.verdict import (
        SlideNotFoundError,
        UnresolvedBoundError,
        smear_findings_from_summary,
    )
    from smearscan.verdict.readings import show

    recorded, notes, notice, refused_row = Labs(), [], None, None
    if args.summary is not None:
        if (unused := count_options_with_summary(args)) is not None:
            raise ValueError(unused)
        summary = None
        try:
            summary = _read_json(args.summary)
            args.slide = _slide_name(args, summary)
            smear = smear_findings_from_summary(summary, args.slide)
        except (SlideNotFoundError, ValueError) as error:
            # QA 151 H-1: a refusal whose slides' own lines are said keeps them.
            if isinstance(error, UnresolvedBoundError) and error.said:
                raise
            raise _refused_without_summary(args, str(error),
                                           _run_urgent(summary, args)) from None
        review = summary["slides"][args.slide].get("review") or {}
        notes += [review["message"]] if review.get("message") else []
        notes += _cut_short(args.summary, args.slide)
        if args.labs is None:  # the values the run was given, as its verdict used them
            recorded, notice = _recorded_labs(summary, args.slide, args.summary)
            refused_row = _recorded_refused_row(summary, args.slide, args.summary)
        else:  # read where --labs cannot be (QA 44 H-3: as no values)
            with contextlib.suppress(ValueError):
                recorded, _ = _recorded_labs(summary, args.slide, args.summary)
    else:
        smear = _smear_counted(args)
    given = {k[4:]: v for k, v in vars(args).items() if k.startswith("lab_") and v is not None}
    given |= args.misspelt  # refused as unknown keys, read as the keys they are close to
    if refused_row is not None:
        recorded = _recorded_row_labs(args, smear, given, refused_row)
    labs, row = (recorded, None) if args.labs is None else _file_labs(args, smear, given,
                                                                       recorded)
    try:
        overrides = parse_labs(given, source="command line", complete=False)
        # An option given as unknown ('' or 'unknown') would leave the file's value standing.
        kept = [key for key in given if getattr(overrides, key) is None
                and getattr(labs, key) is not None]
        if kept:
            key = kept[0]
            raise LabValueError(
                f"--{key.replace('_', '-')} {given[key]!r} does not replace the {key} the lab "
                f"values give ({show(key, getattr(labs, key))}): give the value the verdict "
                "should use, or remove it from the lab file")
        where = args.labs if args.labs is not None else args.summary
        # A contradiction names the file's row (QA 42 M-2: a CSV's without its row).
        source = "command line" if where is None else f"{row or where} and the command line"
        merged = with_overrides(labs, overrides, source=source)
    except LabValueError as error:
        # Every refusal keeps the line the values' readings call for (QA 41 H-1: a lab file's
        # D-dimer against the command line's ULN 1000x off lost it).
        line, judged = _urgent_despite(smear, (), labs, given, args.ways_read)
        raise UnresolvedBoundError(str(error), line, readings=judged) from None
    # A value replaced is said, so that a verdict never rests on a pair read apart (QA 39 M-2:
    # a lab file's LDH, not serum against its own limit, read against the command line's).
    notes += [f"--{key.replace('_', '-')} {given[key]} replaces the {key} of {where} "
              f"({show(key, getattr(labs, key))}{_written_in(key, labs, overrides)})"
              for key in given if getattr(labs, key) is not None
              and (getattr(labs, key) != getattr(overrides, key)
                   or _written_in(key, labs, overrides))]
    origins = {spec.name: "command line" if getattr(overrides, spec.name) is not None
               else str(where) for spec in dataclasses.fields(merged)
               if getattr(merged, spec.name) is not None}
    return _Inputs(smear, merged, notes, origins, notice)


def _refused_without_summary(args: argparse.Namespace, message: str,
                             run_line: str | None = None) -> Exception:
    """The refusal of a summary (or its slide) that cannot be read, keeping the URGENT line the
    lab values call for with the smear read as not known, as a missing ``--schistocytes`` does
    (QA 81 #2: a textbook TTP lost its line to a mistyped path, and ``--json`` said
    ``"urgent": null``); without lab values of its own, the line the run gave the slide
    (``run_line``: QA 145 H-1, a slide of which no field was analysed lost it)."""
    alone = argparse.Namespace(**(vars(args) | {"summary": None, "schistocytes": None,
                                                "rbc_counted": None}))
    over = _urgent_over_corrections(alone, [])
    if over.line is None:
        over = over._replace(line=run_line)
    return over.refusal(message)


def _run_urgent(summary: dict | None, args: argparse.Namespace) -> str | None:
    """The URGENT line the run recorded for ``--slide`` in ``summary`` (a slide of which no
    field was analysed keeps the one its lab row called for), where no other lab file is
    given (options complete the run's values, as they do a slide's recorded ones); else
    None."""
    slides = (summary or {}).get("slides") if isinstance(summary, dict) else None
    entry = slides.get(args.slide) if isinstance(slides, dict) else None
    verdict = entry.get("verdict") if isinstance(entry, dict) else None
    line = verdict.get("urgent") if isinstance(verdict, dict) else None
    return line if isinstance(line, str) and args.labs is None else None


def _smear_counted(args: argparse.Namespace) -> SmearFindings:
    """The smear findings of ``--schistocytes`` (of ``--rbc-counted``); of a percentage not
    known, where a refusal reads it so (:func:`option_problems`).

    Raises
    ------
    ValueError
        No whole number of the cells counted gives the percentage (:func:`counted_percent`).
    """
    from smearscan.slide_stats import LIMIT_PERCENT
    from smearscan.verdict import SmearFindings

    population = args.population or "adult"
    seen = {"nrbc_present": args.nrbc or None, "leukoerythroblastic": args.leukoerythroblastic}
    if args.schistocytes is None:
        return SmearFindings(population=population, limit_percent=LIMIT_PERCENT[population],
                             **seen)
    return SmearFindings.from_percentage(
        counted_percent(args.schistocytes, args.rbc_counted), rbc_counted=args.rbc_counted,
        population=population, **seen)


def _written_in(key: str, recorded: Labs, overrides: Labs) -> str:
    """", written in <unit>" where the command line writes ``key``'s value in another unit than
    ``recorded`` did: the same number may read otherwise (QA 40 L-5: an LDH written in ukat/L
    is not read x60 again), and is said."""
    unit = recorded.units.get(key)
    other = overrides.units.get(key)
    return f", written in {unit}" if None not in (unit, other) and unit != other else ""


def _file_labs(args: argparse.Namespace, smear: object, given: dict[str, str],
               recorded: Labs) -> tuple[Labs, str]:
    """The lab values the ``--labs`` file gives ``--slide``, and where they stand in it (the
    file, and the slide or line) for messages. A value of the slide's row refused keeps the
    URGENT line its values call for with the command line's, whatever a value refused as
    written stands for, as on the command line; another slide's values are not judged, as a
    run judges each row only with its slide (QA 93 #6); so does a file refused for its structure
    (QA 43 M-2: refused with no line), read as the values a summary ``recorded`` (or none)
    where it cannot be read;
    one with no row for the slide is read as each row its name is a slip of ('S1' for 's1')
    and each row with no slide name, and without ``--slide`` as each of its rows (QA 44 H-2:
    read as not given), up to :data:`MOST_CORRECTIONS_JUDGED` rows; one whose row for the slide
    calls for no line, as that row and each row with no slide name (QA 146 H-2). Rows that may
    be different patients' each keep their own line too
    (:attr:`~smearscan.verdict.UnresolvedBoundError.each`; QA 146 H-3)."""
    from smearscan.labs import (
        LabValueError,
        labs_for_slide,
        read_lab_rows,
        slide_slips,
        unnamed_row_source,
        unnamed_rows,
    )
    from smearscan.verdict import OwnLine, UnresolvedBoundError

    def refused(error: LabValueError, read: Sequence[LabRow] = (), unread: str = "refused",
                apart: Sequence[LabRow] = ()) -> UnresolvedBoundError:
        line, judged = _urgent_despite(smear, read, recorded, given, args.ways_read, unread)
        return UnresolvedBoundError(_naming_the_command_line(str(error), given), line,
                                    readings=judged, each=own_lines(apart))

    def own_lines(apart: Sequence[LabRow]) -> list[OwnLine]:
        """The line each of several rows that may be different patients' calls for alone."""
        if len(apart) < 2:
            return []
        # Rows that call for no line too: another reading's lines are merged with theirs.
        lines = [(where(row), *_urgent_despite(smear, [row], recorded, given, args.ways_read))
                 for row in apart]
        return [OwnLine(source, line, tuple(judged)) for source, line, judged in lines]

    def where(row: LabRow) -> str:
        """Where ``row`` stands; read several ways (a second row for its slide, cells that
        fit its columns several ways), said so (QA 152 M-1: named by its first line alone;
        QA 153 L-1: not pointed at the refusal, which may name no reading)."""
        source = unnamed_row_source(row) if row in unnamed else row.source
        others = len(row.others)
        return (f"{source}, with {others} other reading{'s' if others > 1 else ''} of it"
                if others else source)

    try:
        rows = read_lab_rows(args.labs)
    except LabValueError as error:
        raise refused(error) from None
    unnamed = unnamed_rows(rows)
    try:
        row = labs_for_slide(rows, args.slide, source=str(args.labs))
    except LabValueError as error:
        meant = list(rows) if args.slide is None else slide_slips(args.slide, rows)
        # Each row's own line is said however many there are (QA 147 L-3: beyond 64, none),
        # the line over them only up to the most judged together.
        apart = [*(rows[name] for name in meant), *unnamed]
        read = apart if len(apart) <= MOST_CORRECTIONS_JUDGED else []
        # A file cut short may have lost the slide's row: its structure is named first (QA 47
        # M-3: "no lab values for slide 's2'" alone did not say the file was cut).
        broken = next((other.problem for other in rows.values() if other.problem), None)
        if broken is not None:
            error = error.saying(f"{broken}; {str(error).removeprefix(f'{args.labs}: ')}")
        # Without --slide the rows are other slides, maybe other patients: the line asks for
        # the slide, not a correction (QA 81 #6).
        raise refused(error, read, "slide" if args.slide is None and broken is None
                      else "refused", apart=apart) from None
    try:
        labs = _parsed_row(row, given, smear.population)
        for other in rows.values():  # a row the file's structure leaves unreadable: whose?
            if other.problem is not None:
                raise LabValueError(other.problem)
    except LabValueError as error:
        # The readings only for a refusal: a row read fine is parsed once. Where the slide's row
        # calls for no line, the file's rows with no slide name may be its values too (QA 146
        # H-2: beside its own row, not read); they never weaken its own row's line.
        # Rows with no slide name alone are read together as one (``""``), each apart here.
        apart = row.unnamed if "" in rows else [row, *row.unnamed]
        own = refused(error, [row], apart=apart)
        read = [row, *row.unnamed]
        if own.urgent is not None or not row.unnamed or len(read) > MOST_CORRECTIONS_JUDGED:
            raise own from None
        raise refused(error, read, apart=apart) from None
    return labs, row.source


def _naming_the_command_line(message: str, given: dict[str, str]) -> str:
    """A lab file's refusal ``message``, naming the command line's problems too (QA 43 L-1: only
    the file's were named, and the user corrected one side to be refused again)."""
    from smearscan.labs import refused_names

    names = refused_names(given, source="command line")
    return f"{message} (also refused on the command line: {', '.join(names)})" if names else message


def _parsed_row(row: LabRow, given: dict[str, str], population: str) -> Labs:
    """The values of a lab file's ``row``, refused as a run refuses them for the ``population``
    (:func:`~smearscan.labs.check_judgeable`: QA 126 M-3, a count of 0 named no line and a
    command-line value lifted it); one refused says so even where the command line gives the
    key (QA 41 L-2: the refusal did not say why that did not help)."""
    from smearscan.labs import LabValueError, check_judgeable

    try:
        labs = row.parsed(complete=False)
        check_judgeable(labs, row.source, population)
        return labs
    except LabValueError as error:
        # The key refused, or one of a pair refused together (QA 121 M-5: a D-dimer with a
        # unit beside a bare ULN, the ULN given again on the command line).
        replaced = [key for key in (error.key, *error.between) if key in given]
        if not replaced:
            raise
        option = f"--{replaced[0].replace('_', '-')}"
        raise error.saying(f"{error} ({option} replaces it here, but a lab file is read whole: "
                           "correct the file)") from None


def _urgent_despite(smear: object, rows: Sequence[LabRow], recorded: Labs,
                    given: dict[str, str], ways_read: int = 1, unread: str = "refused"
                    ) -> tuple[str | None, list[Labs]]:
    """The URGENT line of the command line's lab values over a lab file's ``rows`` (none: the
    ``recorded`` values as they are) where either is refused, whatever a value refused as
    written stands for (:func:`~smearscan.verdict.urgent_over_readings`); a pair the two
    contradict each other in is read without each of its keys
    (:func:`~smearscan.labs.merged_readings`). Problems are read every way up to the most
    (:func:`~smearscan.labs.lab_readings`) in both together, those of the source whose
    problems the line rests on more first (:func:`~smearscan.labs.reading_rank`: an ADAMTS13
    on the command line beside six bare numbers in the file was read only as not given), beside
    ``ways_read`` sets judged elsewhere (each correction of a refused option); a line over
    readings that differ asks for what ``unread`` names. Returns the line and the sets of
    values it was judged over."""
    from smearscan.labs import lab_readings, merged_readings, reading_rank, refused_names
    from smearscan.verdict import urgent_over_readings

    typed = refused_names(given, source="command line")
    filed = [row.refused() for row in rows]  # each row's problems, parsed once
    if reading_rank(typed) < reading_rank([name for names in filed for name in names]):
        given_readings, given_without = lab_readings(given, source="command line",
                                                     ways_read=ways_read)
        readings, without = _rows_read(rows, recorded, len(typed),
                                       ways_read * len(given_readings))
    else:
        readings, without = _rows_read(rows, recorded, ways_read=ways_read)
        given_readings, given_without = lab_readings(
            given, source="command line", ways_read=ways_read * max(len(readings), 1),
            problems_read=max(map(len, filed), default=0))
    lacking = [*merged_readings(without, [*given_readings, *given_without]),
               *merged_readings(readings, given_without)]
    return urgent_over_readings(smear, merged_readings(readings, given_readings), lacking,
                                unread=unread)


def _rows_read(rows: Sequence[LabRow], recorded: Labs, problems_read: int = 0,
               ways_read: int = 1) -> tuple[list[Labs], list[Labs]]:
    """The readings of the lab file's ``rows`` (:meth:`~smearscan.labs.LabRow.readings`), each
    beside so much read elsewhere; without rows, the ``recorded`` values."""
    each = [row.readings(problems_read=problems_read, ways_read=max(ways_read, 1))
            for row in rows] or [([recorded], [])]
    return ([labs for readings, _ in each for labs in readings],
            [labs for _, without in each for labs in without])


def _recorded_labs(summary: dict, slide: str, path: Path) -> tuple[Labs, str | None]:
    """The lab values ``summary.json`` recorded for ``slide`` (none: empty), and the line that
    says they are used (QA 44 L-1: said before a refusal, it made two lines)."""
    from smearscan.labs import Labs

    data = summary["slides"][slide].get("labs")
    if data is None:
        return Labs(), None
    try:
        labs = Labs.from_dict(data)
    except (TypeError, KeyError, ValueError) as error:
        raise ValueError(f"{path}: slide {slide!r}: unreadable lab values ({error})") from None
    return labs, (f"smearscan verdict: lab values recorded for slide {slide!r} in {path} "
                  "(--labs or options give others)")


def _recorded_refused_row(summary: dict, slide: str, path: Path) -> LabRow | None:
    """The row of the run's lab file that ``summary.json`` recorded for ``slide`` as refused
    (:attr:`~smearscan.results.SlideSummary.refused_labs`), if it did."""
    from smearscan.labs import LabRow

    data = summary["slides"][slide].get("refused_labs")
    if data is None:
        return None
    try:
        return LabRow.from_dict(data)
    except (TypeError, KeyError, ValueError) as error:
        raise ValueError(f"{path}: slide {slide!r}: unreadable lab values ({error})") from None


def _recorded_row_labs(args: argparse.Namespace, smear: SmearFindings, given: dict[str, str],
                       row: LabRow) -> Labs:
    """The values of the lab file's ``row`` that the run refused for the slide, as this version
    reads them (:meth:`~smearscan.labs.LabRow.judged`); still refused, refused again with the
    URGENT line they call for beside the command line's, however the refused value is read:
    never judged as if the run had been given no values for the slide."""
    from smearscan.labs import Labs, LabValueError
    from smearscan.verdict import UnresolvedBoundError

    try:
        return row.judged(smear.population)
    except LabValueError as error:
        line, judged = _urgent_despite(smear, [row], Labs(), given, args.ways_read)
        message = (f"{error} (refused when {args.summary} was written: correct the lab file and "
                   "give it with --labs)")
        raise UnresolvedBoundError(_naming_the_command_line(message, given), line,
                                   readings=judged) from None


def _cut_short(summary: Path, slide: str) -> list[str]:
    """The note on a review change of the slide cut short, when the summary is in its results
    folder (QA 52 F7: the summary read as if no change were waiting)."""
    from smearscan.review.reviews import cut_short_note

    note = cut_short_note(summary.parent, slide)
    return [note] if note is not None else []


def _read_json(path: Path) -> dict:
    from smearscan.batch.summary_file import read_summary_file

    return read_summary_file(path)


def _slide_name(args: argparse.Namespace, summary: dict) -> str:
    """--slide, or the one slide of a summary that holds one.

    Raises
    ------
    UnresolvedBoundError
        No such slide, or several and no --slide: refused keeping the URGENT line of each
        slide ``--slide`` is a slip of ('s1' for 'S1'), or without it of each slide (QA 44 H-3:
        no line).
    """
    from smearscan.errors import counted_names
    from smearscan.labs import slide_slips, slips_hint
    from smearscan.verdict import UnresolvedBoundError, urgent_over_lines

    slides = list(summary.get("slides") or {})
    if args.slide in slides or (args.slide is None and len(slides) == 1):
        return args.slide or slides[0]
    if args.slide is None and not slides:  # QA 81 #7: "holds 0 slides (): name one"
        meant = []
        message = (f"{args.summary} holds no slide: its run analysed none, or it is another "
                   "run's file")
    elif args.slide is None:
        meant = slides
        message = (f"{args.summary} holds {counted_names(slides, 'slide', shown=5)}: name one "
                   "with --slide NAME")
    else:
        meant = slide_slips(args.slide, slides)
        names = ", ".join(repr(name) for name in slides) or "none"
        message = (f"slide {args.slide!r} is not in the summary; slides: {names}"
                   f"{slips_hint(meant)}")
    # The slides may be other patients: the line asks for the slide (QA 82 #9), and each
    # slide's own line is said (QA 146 H-3's rule: one patient's "TTP likely" beside another's
    # normal values read "TTP possible"), the line over them all over every slide, not the first
    # MOST_CORRECTIONS_JUDGED (QA 151 H-1: a 65th slide's "TTP likely" was lost).
    if len(meant) > 1:
        each = _lines_by_slide(args, meant)
        readings = [labs for own in each for labs in own.readings]
        raise UnresolvedBoundError(message, urgent_over_lines(
            {own.line for own in each}, readings, "slide"), readings=readings, each=each)
    raise _urgent_over_corrections(args, [Refused(message, tuple(
        {"slide": name} for name in meant))], unread="slide").refusal(message)


def _lines_by_slide(args: argparse.Namespace, slides: Sequence[str]) -> list[OwnLine]:
    """The URGENT line each of the summary's ``slides`` calls for, as ``--slide`` naming it
    would print it, each said of its slide (every one, however many)."""
    from smearscan.labs import LabValueError
    from smearscan.verdict import OwnLine, SlideNotFoundError, UnresolvedBoundError, assess

    said = []
    for name in slides:
        where = f"{args.summary} slide {name!r}"
        try:
            inputs = _verdict_inputs(argparse.Namespace(**(vars(args) | {"slide": name})))
            own = [OwnLine(where, assess(inputs.smear, inputs.labs).urgent, (inputs.labs,))]
        except UnresolvedBoundError as error:
            own = ([OwnLine(f"{where}, {each.where}", each.line, each.readings)
                    for each in error.each]
                   or [OwnLine(where, error.urgent, error.readings)])
        except (LabValueError, SlideNotFoundError, ValueError):
            continue  # as the line over them all: refused otherwise, not what was meant
        said += own
    return said
