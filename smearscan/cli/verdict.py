"""``smearscan verdict``: the MAHA verdict of a schistocyte result and lab values, and the
URGENT line that a refused input keeps (every reading the user may have meant is judged)."""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import sys
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from smearscan.cli.common import EXIT_OK, EXIT_USAGE, Parser, path_argument, positive_int, say

if TYPE_CHECKING:  # imported inside the functions that need them: start-up stays short
    from smearscan.labs import LabRow, Labs


def _percent(text: str) -> Decimal:
    """A percentage as written: its decimals are the precision :func:`_counted_percent` checks."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 100:  # also rejects nan
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage (0-100)")
    return Decimal(text)


#: Decimals of a percentage checked against a count: a million red cells give 4; more are
#: refused, not rounded (1e-7 would read as 0).
_PERCENT_DECIMALS = 6


def _counted_percent(percent: Decimal, rbc_counted: int | None) -> float:
    """``percent``, checked against ``rbc_counted``: a percentage of N counted red cells is
    100 k / N for a whole number k of cells (this tool's rule).

    It is accepted when some whole k gives 100 k / N within half a unit of the last decimal
    written (8.3 of 1200 is 100 cells, 8.33%; at an exact half either rounding is accepted).

    Raises
    ------
    ValueError
        No whole number of cells gives ``percent`` (0.99 of 1000 would be 9.9 cells).
    """
    if rbc_counted is None:
        return float(percent)
    if percent.as_tuple().exponent < -_PERCENT_DECIMALS:  # 1e-30000000 would take minutes
        raise ValueError(f"--schistocytes {percent}: more than {_PERCENT_DECIMALS} decimals, "
                         "which no count of red cells gives")
    cells = Fraction(percent) * rbc_counted / 100
    nearest = round(cells)
    half_unit = Fraction(1, 2) * Fraction(10) ** min(percent.as_tuple().exponent, 0)
    if abs(Fraction(100 * nearest, rbc_counted) - Fraction(percent)) > half_unit:
        raise ValueError(f"--schistocytes {percent} of --rbc-counted {rbc_counted} is "
                         f"{float(cells):g} cells, not a whole number ({nearest} of "
                         f"{rbc_counted} is {100 * nearest / rbc_counted:.4g}%): give the "
                         "percentage of the count (this tool's rule)")
    return float(percent)


_VERDICT_DESCRIPTION = """\
MAHA verdict and ranked differential (decision support: a clinician decides) from a
schistocyte result and lab values. When TTP is possible or worse, the urgent action line of the
ISTH 2020 guidelines is printed first.

Lab values: a number with its unit, e.g. --hemoglobin '75 g/L', --platelets '82000 /uL', is
always read in that unit. A bare number is read in the default unit shown in [brackets], but a
bare number that is also a plausible result in another common unit of that key is refused
(exit code 2) with a one-line error naming the key and the units it could be; give the unit.
A result reported as a bound, e.g. --haptoglobin '<0.1 g/L' or --adamts13 '<5 %%', is read
as such; where the verdict would differ within its range (ADAMTS13 '<20 %%' spans the 10%%
cut-off) it is refused (exit code 2): give the measured value. An option given twice (a lab
value, --schistocytes, --rbc-counted, --labs, ...), or a key given twice in one object of a
JSON lab file, is refused too (exit code 2): keep the one the verdict should use. A value
refused as written, on the command line or in --labs, or an option given twice, still prints
first the URGENT line its possible readings call for, if any (this tool's rule).
Reticulocytes: give a SI fraction with its unit, --reticulocytes '0.021 fraction' (= 2.1%%). A
value over 50%% is refused (this tool's rule: a bare 85 is probably an absolute count), and so
is a count in x10^9/L: it needs the red-cell count to become a %%.
Bare numbers refused:
%s
"""


def _ambiguity_lines() -> str:
    from smearscan.labs import LAB_KEYS

    lines = []
    for key, spec in LAB_KEYS.items():
        if spec.ambiguous:
            ranges = "; ".join(f"{low:g}-{high:g} (could be {unit})"
                               for unit, (low, high) in spec.ambiguous.items())
            lines.append(f"  --{key.replace('_', '-')}: {ranges}")
    return "\n".join(lines) + "\n  (zero is zero in every unit and is never refused)"


class _Copies(argparse.Action):
    """Store an option's value; given more than once, each copy
    (:class:`~smearscan.labs.Repeated`), which ``smearscan verdict`` refuses: two results for
    one lab value (a typo, or two draws), two counts or two files must not be settled silently
    by taking the last. The refusal keeps the URGENT line the copies call for (QA 43 H-3: an
    option given twice beside a TTP picture was refused with no line). The option's default
    must be ``None``."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        from smearscan.labs import Repeated

        earlier = getattr(namespace, self.dest)
        setattr(namespace, self.dest,
                values if earlier is None else Repeated.adding(earlier, values))


def verdict_parser() -> argparse.ArgumentParser:
    """Parser of ``smearscan verdict``; one option per lab key, generated from the key table."""
    from smearscan.labs import LAB_KEYS
    from smearscan.slide_stats import LIMIT_PERCENT

    # No abbreviations: '--ad 5%' was read silently as --adamts13, and '--hapto' refused as
    # ambiguous with no URGENT line (QA 44); unknown, each is read as a misspelt lab key.
    parser = Parser(
        prog="smearscan verdict", description=_VERDICT_DESCRIPTION % _ambiguity_lines(),
        formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--schistocytes", type=_percent, metavar="PCT", action=_Copies,
                        help="schistocytes as %% of red cells (from a manual or other count); "
                             "with --rbc-counted it must be a whole number of cells at the "
                             "decimals written (this tool's rule)")
    source.add_argument("--summary", type=path_argument, metavar="FILE", action=_Copies,
                        help="summary.json of a smearscan run (with --slide when it holds "
                             "several slides)")
    parser.add_argument("--slide", action=_Copies,
                        help="slide name in --summary (and row of a per-slide --labs)")
    parser.add_argument("--rbc-counted", type=positive_int, metavar="N", action=_Copies,
                        help="red cells behind --schistocytes (checks the 1000-cell rule and "
                             "gives the percentage its 95%% interval)")
    parser.add_argument("--nrbc", action="store_true", help="nucleated red cells were seen")
    parser.add_argument("--leukoerythroblastic", choices=("present", "possible", "absent"),
                        action=_Copies,
                        help="leukoerythroblastic picture on the smear (NRBCs and immature "
                             "granulocytes), from a manual review")
    parser.add_argument("--population", choices=tuple(LIMIT_PERCENT), action=_Copies,
                        help="reference limit for --schistocytes: 1%% adults (the default) and "
                             "term neonates, 5%% preterm infants (ICSH 2021)")
    parser.add_argument("--labs", type=path_argument, metavar="FILE", action=_Copies,
                        help="lab values: a JSON object, or CSV with a 'slide' column")
    parser.add_argument("--json", action="store_true", help="print JSON for programs")
    labs = parser.add_argument_group("lab values (override --labs)")
    for key, spec in LAB_KEYS.items():
        unit = f" [{spec.unit}]" if spec.unit else ""
        labs.add_argument(f"--{key.replace('_', '-')}", dest=f"lab_{key}", metavar="VALUE",
                          action=_Copies, help=f"{spec.meaning}{unit}".replace("%", "%%"))
    return parser


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
    args, unknown = parser.parse_known_args(argv)
    args.misspelt, stray = _unknown_options(unknown)
    twice = _options_given_twice(args)
    if twice:
        _refuse_copies(parser, args, twice, stray)
    notes: list[str] = []
    try:
        smear, labs, notes, ldh_origin = _verdict_inputs(args)
        if stray:  # refused keeping the line of the values read (QA 43 H-3)
            raise UnresolvedBoundError(_unrecognized(stray),
                                       urgent_over_readings(smear, [labs], []))
        verdict = assess(smear, labs)
    except UnresolvedBoundError as error:
        # Some value of the bound's range calls for the URGENT line: it is printed all the same,
        # with what the values rest on (QA 40 L-1: a replaced value was not said).
        said = [error.urgent] if error.urgent else []
        if args.json:
            say(json.dumps(error.to_dict() | ({"notes": notes} if notes else {}), indent=2),
                 sys.stdout)
        elif said or notes:
            say("\n".join([*said, *(f"NOTE: {note}" for note in notes)]), sys.stdout)
        origin = f"{ldh_origin}: " if error.key == "ldh" else ""  # QA 30 N5
        say(f"smearscan verdict: {origin}{printable(_and_stray(str(error), stray))}")
        return EXIT_USAGE
    except (LabValueError, SlideNotFoundError, ValueError) as error:
        say(f"smearscan verdict: {printable(_and_stray(str(error), stray))}")
        return EXIT_USAGE
    data = verdict.to_dict() | ({"notes": notes} if notes else {})
    say(json.dumps(data, indent=2) if args.json else format_text(verdict, notes=notes),
         sys.stdout)
    return EXIT_OK


def _options_given_twice(args: argparse.Namespace) -> dict[str, tuple]:
    """The options other than lab values (which the lab values refuse) given more than once,
    each with its copies, by ``args``' name."""
    from smearscan.labs import Repeated

    return {dest: value for dest, value in vars(args).items()
            if isinstance(value, Repeated) and not dest.startswith("lab_")}


def _refuse_copies(parser: argparse.ArgumentParser, args: argparse.Namespace,
                   twice: dict[str, tuple], stray: list[str]) -> NoReturn:
    """Refuse the options given ``twice``, after the URGENT line that reading each copy calls
    for; with ``--summary``, none (each would say its own recorded lab values)."""
    import json

    from smearscan.errors import printable

    dest, copies = next(iter(twice.items()))
    twice_said = (f"--{dest.replace('_', '-')} given twice ({str(copies[0])!r} and "
                  f"{str(copies[1])!r}): keep the one the verdict should use")
    message = printable(_and_stray(twice_said, stray))
    line = None if "summary" in twice else _urgent_over_copies(args, twice)
    if line is not None:
        say(json.dumps({"urgent": line, "unresolved": message}, indent=2) if args.json
             else line, sys.stdout)
    parser.error(message)


def _urgent_over_copies(args: argparse.Namespace, twice: dict[str, tuple]) -> str | None:
    """The URGENT line of ``args`` with each copy of the options given ``twice`` in turn
    (:func:`~smearscan.verdict.urgent_over_lines`)."""
    from smearscan.labs import Labs, LabValueError
    from smearscan.verdict import (
        SlideNotFoundError,
        UnresolvedBoundError,
        urgent_over_lines,
        urgent_over_readings,
    )

    lines, labs = set(), Labs()
    for copies in itertools.product(*twice.values()):
        one = argparse.Namespace(**(vars(args) | dict(zip(twice, copies, strict=True))))
        try:
            # Quiet: the refusal is the one line on stderr (QA 44 L-1: a summary's notice was
            # said once per copy).
            with contextlib.redirect_stderr(io.StringIO()):
                smear, labs, _, _ = _verdict_inputs(one)
            lines.add(urgent_over_readings(smear, [labs], []))
        except UnresolvedBoundError as error:
            lines.add(error.urgent)
        except (LabValueError, SlideNotFoundError, ValueError):
            lines.add(None)  # a copy refused otherwise: it calls for no line
    return urgent_over_lines(lines, labs)


def _unrecognized(stray: list[str]) -> str:
    return f"command line: unrecognized arguments: {' '.join(stray)}"


def _and_stray(message: str, stray: list[str]) -> str:
    """A refusal's ``message``, naming the ``stray`` words of the command line too."""
    unrecognized = _unrecognized(stray)
    if not stray or message == unrecognized:
        return message
    return f"{message} (also {unrecognized.removeprefix('command line: ')})"


def _unknown_options(unknown: list[str]) -> tuple[dict[str, object], list[str]]:
    """The options ``smearscan verdict`` does not know, as lab keys spelt as typed
    (``--adamts-13 5%`` as ``{'--adamts-13': '5%'}``; one with no value, as not given), and the
    other words it does not know. An option is refused as a misspelt key in a lab file is: read
    as each key it is close to and as not given, keeping the URGENT line (QA 43 H-3: an option
    misspelt beside a TTP picture was refused with no line). Spelt as typed, it is a key no
    option sets: ``--ldh_uln`` beside ``--ldh-uln`` must be refused, not replace it."""
    from smearscan.labs import Repeated

    options: dict[str, object] = {}
    stray: list[str] = []
    words = list(unknown)
    while words:
        word = words.pop(0)
        if not word.startswith("-"):
            stray.append(word)
            continue
        name, equals, value = word.partition("=")
        if not equals:
            value = words.pop(0) if words and not words[0].startswith("--") else None
        options[name] = Repeated.adding(options[name], value) if name in options else value
    return options, stray


def _verdict_inputs(args: argparse.Namespace) -> tuple:
    """The smear findings and lab values of ``smearscan verdict``'s arguments, notes on what
    they rest on (a review of the slide in progress or set aside), and where the LDH came from
    (the command line, the lab file or the summary), which its refusal names."""
    from smearscan.labs import Labs, LabValueError, parse_labs, with_overrides
    from smearscan.verdict import UnresolvedBoundError, smear_findings_from_summary
    from smearscan.verdict.values import show

    recorded, notes, count_refused = Labs(), [], None
    if args.summary is not None:
        _refuse_count_options(args)
        summary = _read_json(args.summary)
        args.slide = _slide_name(args, summary)
        smear = smear_findings_from_summary(summary, args.slide)
        review = summary["slides"][args.slide].get("review") or {}
        notes += [review["message"]] if review.get("message") else []
        if args.labs is None:  # the values the run was given, as its verdict used them
            recorded = _recorded_labs(summary, args.slide, args.summary)
    else:
        smears, count_refused = _smears_counted(args)
        smear = smears[0]
    given = {k[4:]: v for k, v in vars(args).items() if k.startswith("lab_") and v is not None}
    given |= args.misspelt  # refused as unknown keys, read as the keys they are close to
    labs, row = (recorded, None) if args.labs is None else _file_labs(args, smear, given)
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
        raise UnresolvedBoundError(str(error), _urgent_despite(smear, ([labs], []), given)
                                   ) from None
    # A value replaced is said, so that a verdict never rests on a pair read apart (QA 39 M-2:
    # a lab file's LDH, not serum against its own limit, read against the command line's).
    notes += [f"--{key.replace('_', '-')} {given[key]} replaces the {key} of {where} "
              f"({show(key, getattr(labs, key))}{_written_in(key, labs, overrides)})"
              for key in given if getattr(labs, key) is not None
              and (getattr(labs, key) != getattr(overrides, key)
                   or _written_in(key, labs, overrides))]
    if count_refused is not None:
        # Refused keeping the line the count read either way calls for (QA 44 H-1).
        from smearscan.verdict import urgent_over_lines, urgent_over_readings

        lines = {urgent_over_readings(each, [merged], []) for each in smears}
        raise UnresolvedBoundError(str(count_refused), urgent_over_lines(lines, merged))
    return smear, merged, notes, _ldh_origin(labs, overrides, where)


def _smears_counted(args: argparse.Namespace) -> tuple[list, ValueError | None]:
    """The smear findings of ``--schistocytes`` (of ``--rbc-counted``), and None; where no whole
    number of cells gives the percentage (:func:`_counted_percent`), those of the percentage
    without the count and of the nearest whole number of cells, with the refusal."""
    from smearscan.verdict import SmearFindings

    def smear(percent: float, rbc_counted: int | None) -> SmearFindings:
        return SmearFindings.from_percentage(
            percent, rbc_counted=rbc_counted, population=args.population or "adult",
            nrbc_present=args.nrbc or None, leukoerythroblastic=args.leukoerythroblastic)

    try:
        return [smear(_counted_percent(args.schistocytes, args.rbc_counted),
                      args.rbc_counted)], None
    except ValueError as error:
        cells = round(float(args.schistocytes) * args.rbc_counted / 100)
        nearest = 100 * min(cells, args.rbc_counted) / args.rbc_counted
        return [smear(float(args.schistocytes), None), smear(nearest, args.rbc_counted)], error


def _written_in(key: str, recorded: Labs, overrides: Labs) -> str:
    """", written in <unit>" where the command line writes ``key``'s value in another unit than
    ``recorded`` did: the same number may read otherwise (QA 40 L-5: an LDH written in ukat/L
    is not read x60 again), and is said."""
    unit = recorded.units.get(key)
    other = overrides.units.get(key)
    return f", written in {unit}" if None not in (unit, other) and unit != other else ""


def _file_labs(args: argparse.Namespace, smear: object, given: dict[str, str]
               ) -> tuple[Labs, str]:
    """The lab values the ``--labs`` file gives ``--slide``, and where they stand in it (the
    file, and the slide or line) for messages. A value of the file refused (of this slide, or
    of another: the file is refused, as a run refuses it) keeps the URGENT line this slide's
    values call for with the command line's, whatever a value refused as written stands for,
    as on the command line; so does a file refused for its structure (QA 43 M-2: refused with
    no line), read as not given where it cannot be read, or has no row for the slide but one
    its name is a slip of ('S1' for 's1'), which is read instead."""
    from smearscan.labs import Labs, LabValueError, labs_for_slide, read_lab_rows, slide_slip
    from smearscan.verdict import UnresolvedBoundError

    def refused(error: LabValueError, row: LabRow | None = None) -> UnresolvedBoundError:
        recorded = ([Labs()], []) if row is None else row.readings()
        problems = 0 if row is None else len(row.refused())
        return UnresolvedBoundError(_naming_the_command_line(str(error), given),
                                    _urgent_despite(smear, recorded, given, problems))

    try:
        rows = read_lab_rows(args.labs)
    except LabValueError as error:
        raise refused(error) from None
    try:
        row = labs_for_slide(rows, args.slide, source=str(args.labs))
    except LabValueError as error:
        slip = slide_slip(args.slide, rows)
        raise refused(error, rows[slip] if slip is not None else None) from None
    try:
        labs = _parsed_row(row, given)
        for other in rows.values():
            other.parsed(complete=False)
    except LabValueError as error:
        # The readings only for a refusal: a row read fine is parsed once.
        raise refused(error, row) from None
    return labs, row.source


def _naming_the_command_line(message: str, given: dict[str, str]) -> str:
    """A lab file's refusal ``message``, naming the command line's problems too (QA 43 L-1: only
    the file's were named, and the user corrected one side to be refused again)."""
    from smearscan.labs import refused_names

    names = refused_names(given, source="command line")
    return f"{message} (also refused on the command line: {', '.join(names)})" if names else message


def _parsed_row(row: LabRow, given: dict[str, str]) -> Labs:
    """The values of a lab file's ``row``; one refused says so even where the command line
    gives the key (QA 41 L-2: the refusal did not say why that did not help)."""
    from smearscan.labs import LabValueError

    try:
        return row.parsed(complete=False)
    except LabValueError as error:
        if error.key not in given:
            raise
        option = f"--{error.key.replace('_', '-')}"
        raise error.saying(f"{error} ({option} replaces it here, but a lab file is read whole: "
                           "correct the file)") from None


def _urgent_despite(smear: object, recorded: tuple[list[Labs], list[Labs]],
                    given: dict[str, str], problems: int = 0) -> str | None:
    """The URGENT line of the command line's lab values over ``recorded`` (the readings and
    those without a refused value, :func:`~smearscan.labs.lab_readings`, of a lab file's
    values with so many ``problems``; a summary's as they are) where either is refused,
    whatever a value refused as written stands for
    (:func:`~smearscan.verdict.urgent_over_readings`); a pair the two contradict each other in
    is read without each of its keys (:func:`~smearscan.labs.merged_readings`)."""
    from smearscan.labs import lab_readings, merged_readings
    from smearscan.verdict import urgent_over_readings

    readings, without = recorded
    given_readings, given_without = lab_readings(given, source="command line",
                                                 problems_read=problems)
    lacking = [*merged_readings(without, [*given_readings, *given_without]),
               *merged_readings(readings, given_without)]
    return urgent_over_readings(smear, merged_readings(readings, given_readings), lacking)


def _ldh_origin(recorded: Labs, overrides: Labs, where: Path | None) -> str:
    """Where an LDH and its limit came from (the command line, a lab file, a summary), which
    their refusal names (QA 30 N5; QA 39 L-3: an LDH from the file, its limit from the command
    line, was said to come from the file)."""
    origins = {key: "command line" if getattr(overrides, key) is not None else str(where)
               for key in ("ldh", "ldh_uln")
               if getattr(overrides, key) is not None or getattr(recorded, key) is not None}
    if len(set(origins.values())) <= 1:
        return next(iter(origins.values()), "command line")
    return ", ".join(f"{key} from {origin}" for key, origin in origins.items())


#: What ``smearscan verdict`` takes from a count it is given, not from a run's summary.
_COUNT_OPTIONS = {"rbc_counted": "--rbc-counted", "nrbc": "--nrbc",
                  "leukoerythroblastic": "--leukoerythroblastic", "population": "--population"}


def _refuse_count_options(args: argparse.Namespace) -> None:
    """With --summary the slide's own count gives the red cells counted, the NRBCs, the
    leukoerythroblastic finding and the population: an option that would be ignored is refused,
    not dropped without a word."""
    given = [option for dest, option in _COUNT_OPTIONS.items() if getattr(args, dest)]
    if given:
        raise ValueError(f"{', '.join(given)}: not used with --summary, whose slide gives them; "
                         "to judge another count, give it with --schistocytes instead")


def _recorded_labs(summary: dict, slide: str, path: Path) -> Labs:
    """The lab values ``summary.json`` recorded for ``slide`` (none: empty), said on stderr."""
    from smearscan.labs import Labs

    data = summary["slides"][slide].get("labs")
    if data is None:
        return Labs()
    try:
        labs = Labs.from_dict(data)
    except (TypeError, KeyError, ValueError) as error:
        raise ValueError(f"{path}: slide {slide!r}: unreadable lab values ({error})") from None
    say(f"smearscan verdict: lab values recorded for slide {slide!r} in {path} (--labs or "
         "options give others)")
    return labs


def _read_json(path: Path) -> dict:
    from smearscan.batch.summary import read_summary_file

    return read_summary_file(path)


def _slide_name(args: argparse.Namespace, summary: dict) -> str:
    """--slide, or the one slide of a summary that holds one."""
    if args.slide is not None:
        return args.slide
    from smearscan.errors import counted_names

    slides = list(summary.get("slides") or {})
    if len(slides) == 1:
        return slides[0]
    raise ValueError(f"{args.summary} holds {counted_names(slides, 'slide', shown=5)}: name one "
                     "with --slide NAME")
