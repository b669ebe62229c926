"""The options of ``smearscan verdict`` and what each may stand for where it is refused.

argparse refuses a bad value, a missing one or a missing ``--schistocytes`` before anything is
read, so that its refusal could print no URGENT line (QA 44 H-1: ``--population adults``,
``--rbc-counted 1,000``, ``--transplant`` with no value beside a TTP picture, no line). Here the
parser takes every option but the flags as text and never refuses one; :func:`option_problems`
then checks them, and each refused option comes back as a :class:`Refused`: why, and each set
of options the user may have meant, which ``smearscan verdict`` judges for the line it keeps.
"""

from __future__ import annotations

import argparse
import difflib
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

from smearscan.cli.common import Parser, positive_int

if TYPE_CHECKING:
    from smearscan.labs import LabKey

#: What a value option holds when it is given with no value ('--labs' last, '--sepsis --inr
#: 1.1'); no word of a command line can hold a NUL.
NO_VALUE = "\0"
#: The options that are not lab values, by ``argparse`` name.
_OPTIONS = {"--schistocytes": "schistocytes", "--summary": "summary", "--slide": "slide",
            "--rbc-counted": "rbc_counted", "--nrbc": "nrbc",
            "--leukoerythroblastic": "leukoerythroblastic", "--population": "population",
            "--labs": "labs", "--json": "json"}
#: The flags, which take no value: ``--nrbc=yes`` is refused, read with the flag and without.
_FLAGS = ("--nrbc", "--json")
_LEUKOERYTHROBLASTIC = ("present", "possible", "absent")

_VERDICT_DESCRIPTION = """\
MAHA verdict and ranked differential (decision support: a clinician decides) from a
schistocyte result and lab values. When TTP is possible or worse, the urgent action line of the
ISTH 2020 guidelines is printed first.

Lab values: a number with its unit, e.g. --hemoglobin '75 g/L', --platelets '82000 /uL', is
always read in that unit. A bare number is read in the default unit shown in [brackets], but a
bare number that is also a plausible result in another common unit of that key is refused (exit
code 2) with a one-line error naming the key and the units it could be; give the unit. A result
reported as a bound, e.g. --haptoglobin '<0.1 g/L' or --adamts13 '<5 %%' (or '<=5 %%', '≤5 %%':
the limit included), is read as such; where the verdict would differ within its range (ADAMTS13
'<20 %%' spans the 10%% cut-off) it is refused (exit code 2): give the measured value. An
option given twice (a lab value, --schistocytes, --rbc-counted, --labs, ...), or a key given
twice in one object of a JSON lab file, is refused too (exit code 2): keep the one the verdict
should use. A value refused as written, on the command line or in --labs, an option given
twice, with no value or with one it does not take (--population adults), and a missing
--schistocytes still print first the URGENT line their possible readings call for, if any (this
tool's rule; a missing or unreadable percentage is read as not known: the line of the lab
values alone, and so is a --summary that cannot be read or lacks the slide).
Reticulocytes: give a SI fraction with its unit, --reticulocytes '0.021 fraction' (= 2.1%%). A
value over 50%% is refused (this tool's rule: a bare 85 is probably an absolute count), and so
is a count in x10^9/L: it needs the red-cell count to become a %%.
Bare numbers refused:
%s
"""


@dataclass(frozen=True)
class Refused:
    """An option ``smearscan verdict`` refuses as written.

    Attributes
    ----------
    message : str
        Why, in one line.
    corrections : tuple of dict
        Each set of options (by ``argparse`` name) the user may have meant, set over the
        arguments as given: the URGENT line is judged over all of them.
    """

    message: str
    corrections: tuple[dict[str, object], ...]


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


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows ``--labs FILE``, not ``--labs [FILE]``: every value is required, and is parsed as
    optional only so that a missing one is refused here, keeping the URGENT line."""

    def _format_args(self, action: argparse.Action, default_metavar: str) -> str:
        if action.nargs == argparse.OPTIONAL:
            return self._metavar_formatter(action, default_metavar)(1)[0]
        return super()._format_args(action, default_metavar)


def verdict_parser() -> argparse.ArgumentParser:
    """Parser of ``smearscan verdict``; one option per lab key, generated from the key table.

    It refuses nothing but a flag's value: check what it gives with :func:`option_problems`
    (and parse ``argv`` as :func:`prepared_argv` gives it)."""
    from smearscan.labs import LAB_KEYS
    from smearscan.slide_stats import LIMIT_PERCENT

    # No abbreviations: '--ad 5%' was read silently as --adamts13, and '--hapto' refused as
    # ambiguous with no URGENT line (QA 44); unknown, each is read as a misspelt lab key. No
    # '-h' of argparse's either: '-hemoglobin' was read as '-h emoglobin' and refused with no
    # line; prepared_argv gives '-h' as '--help'.
    parser = Parser(
        prog="smearscan verdict", description=_VERDICT_DESCRIPTION % _ambiguity_lines(),
        formatter_class=_HelpFormatter, allow_abbrev=False, add_help=False)
    parser.add_argument("--help", action="help", help="show this help message and exit (-h)")

    def value_option(*names: str, **kwargs: object) -> None:
        parser.add_argument(*names, nargs="?", const=NO_VALUE, action=_Copies, **kwargs)

    value_option("--schistocytes", metavar="PCT",
                 help="schistocytes as %% of red cells (from a manual or other count); with "
                      "--rbc-counted it must be a whole number of cells at the decimals "
                      "written (this tool's rule). Give it or --summary")
    value_option("--summary", metavar="FILE",
                 help="summary.json of a smearscan run (with --slide when it holds several "
                      "slides)")
    value_option("--slide", metavar="NAME",
                 help="slide name in --summary (and row of a per-slide --labs)")
    value_option("--rbc-counted", metavar="N",
                 help="red cells behind --schistocytes (checks the 1000-cell rule and gives "
                      "the percentage its 95%% interval; without it the percentage is read "
                      "as of 1000 cells, the fewest ICSH reads: this tool's rule)")
    parser.add_argument("--nrbc", action="store_true", help="nucleated red cells were seen")
    value_option("--leukoerythroblastic", metavar="{" + ",".join(_LEUKOERYTHROBLASTIC) + "}",
                 help="leukoerythroblastic picture on the smear (NRBCs and immature "
                      "granulocytes), from a manual review")
    value_option("--population", metavar="{" + ",".join(LIMIT_PERCENT) + "}",
                 help="whose reference limits apply: for --schistocytes 1%% adults (the "
                      "default) and term neonates, 5%% preterm infants (ICSH 2021), children "
                      "1%% (this tool's rule); for another population than adults the adult "
                      "lab limits are not applied, and PLASMIC and the French score, derived "
                      "in adults, do not make TTP the leading cause")
    value_option("--labs", metavar="FILE",
                 help="lab values: a JSON object, or CSV with a 'slide' column (columns "
                      "naming the record, such as date, mrn, patient or comment, are left out)")
    parser.add_argument("--json", action="store_true", help="print JSON for programs")
    labs = parser.add_argument_group("lab values (override --labs)")
    for key, spec in LAB_KEYS.items():
        labs.add_argument(f"--{key.replace('_', '-')}", dest=f"lab_{key}", metavar="VALUE",
                          nargs="?", const=NO_VALUE, action=_Copies,
                          help=f"{spec.meaning} [{_taken(spec)}]".replace("%", "%%"))
    return parser


def _taken(spec: LabKey) -> str:
    """What a lab option takes, for its help: its default unit, or its words (QA 63 L4: --sex
    and --dat named none)."""
    return {"number": spec.unit or "a number", "posneg": "positive or negative",
            "bool": "yes or no", "choice": spec.choices_said,
            "named": "a name, or yes or no"}[spec.kind]


def _ambiguity_lines() -> str:
    from smearscan.labs import LAB_KEYS

    lines = []
    for key, spec in LAB_KEYS.items():
        if spec.ambiguous:
            ranges = "; ".join(f"{low:g}-{high:g} (could be {unit})"
                               for unit, (low, high) in spec.ambiguous.items())
            lines.append(f"  --{key.replace('_', '-')}: {ranges}")
    return "\n".join(lines) + ("\n  (zero is zero in every unit, never refused as ambiguous; "
                                "a platelet or white-cell count of 0 is refused as an "
                                "analyser's flag)")


def prepared_argv(argv: list[str]) -> tuple[list[str], list[Refused]]:
    """``argv`` as :func:`verdict_parser` reads it, and the flags refused for a value.

    ``-h`` (and ``--help=x``) is ``--help``; a value that starts with a dash and a digit or
    point is joined to the option before it (``--adamts13 -5%`` was refused as an option with
    no value: now the value itself is refused); a flag given a value (``--json=1``, ``--nrbc
    -5``) is refused."""
    words: list[str] = []
    refused: list[Refused] = []
    for word in argv:
        name, equals, value = word.partition("=")
        if word == "-h" or name == "--help":
            word = "--help"
        elif name in _FLAGS and equals:
            refused.append(_flag_value(name, value))
            word = name
        elif (words and words[-1].startswith("--") and "=" not in words[-1]
              and re.match(r"-[\d.]", word)):
            if words[-1] in _FLAGS:  # QA 45 H-1: argparse refused it with no line
                refused.append(_flag_value(words[-1], word))
            else:
                words[-1] = f"{words[-1]}={word}"
            continue
        words.append(word)
    return words, refused


def _flag_value(flag: str, value: str) -> Refused:
    """``--nrbc=yes``: read with the flag and without it; ``--json=1``: as ``--json``."""
    dest = _OPTIONS[flag]
    readings = (True, False) if dest == "nrbc" else (True,)
    return Refused(f"argument {flag}: ignored explicit argument {value!r}",
                   tuple({dest: each} for each in readings))


def option_problems(args: argparse.Namespace) -> list[Refused]:
    """Check the options of ``args`` that are not lab values (the lab values check those),
    setting each read as written to its value; return those refused, with their readings.

    ``--schistocytes`` and ``--summary`` are one source: neither, or both, is refused (read
    as a percentage not known; as each of the two alone)."""
    problems = _each_option_read(args)
    source = _source_problem(args, problems)
    if source is None:
        problems |= _options_together(args)
    if args.slide is not None and args.summary is None and args.labs is None and "slide" \
            not in problems:  # QA 45 L-3: ignored without a word
        problems["slide"] = Refused("argument --slide: names a slide of --summary or of a "
                                    "per-slide --labs, and neither is given", ({"slide": None},))
    return [*([source] if source else []), *problems.values(), *_lab_options_without_value(args)]


def _each_option_read(args: argparse.Namespace) -> dict[str, Refused]:
    """Each option of :func:`_readers` read: set in ``args`` where it reads as written, else
    refused with its readings, by ``argparse`` name."""
    from smearscan.labs import Repeated

    problems: dict[str, Refused] = {}
    for dest, read in _readers().items():
        value = getattr(args, dest)
        if value is None:
            continue
        copies = tuple(value) if isinstance(value, Repeated) else (value,)
        said = [read(copy) for copy in copies]
        messages = [message for message, _ in said if message is not None]
        if len(copies) > 1:
            messages.insert(0, _given_twice(dest, copies))
        readings = tuple(dict.fromkeys(each for _, values in said for each in values))
        if dest in ("labs", "summary"):
            readings = _files_named(readings)
        if messages:
            problems[dest] = Refused("; ".join(messages),
                                     tuple({dest: each} for each in readings))
        else:
            setattr(args, dest, readings[0])
    return problems


def _options_together(args: argparse.Namespace) -> dict[str, Refused]:
    """The refusal of options each read as written that do not go together: the options of a
    count beside ``--summary``; a percentage no whole number of the cells counted gives."""
    unused = count_options_with_summary(args)
    if unused is not None:
        return {"count": Refused(unused, ({_OPTIONS[option]: None
                                           for option in _COUNT_OPTIONS},))}
    counted = _count_problem(args)
    return {} if counted is None else {"counted": counted}


def _count_problem(args: argparse.Namespace) -> Refused | None:
    """The refusal of a ``--schistocytes`` that no whole number of the ``--rbc-counted`` cells
    gives (:func:`counted_percent`), read without the count and as the nearest whole number of
    cells (QA 44 H-1); None where it is one, or either is refused already."""
    percent, cells = args.schistocytes, args.rbc_counted
    if not isinstance(percent, Decimal) or not isinstance(cells, int):
        return None
    try:
        counted_percent(percent, cells)
    except ValueError as error:
        nearest = min(round(float(percent) * cells / 100), cells)
        return Refused(str(error), ({"rbc_counted": None},
                                    {"schistocytes": Decimal(f"{100 * nearest / cells:.6f}")}))
    return None


#: What ``smearscan verdict`` takes from a count it is given, not from a run's summary.
_COUNT_OPTIONS = ("--rbc-counted", "--nrbc", "--leukoerythroblastic", "--population")


def count_options_with_summary(args: argparse.Namespace) -> str | None:
    """Why the options of a count given beside ``--summary`` are refused, or None: the slide's
    own count gives the red cells counted, the NRBCs, the leukoerythroblastic finding and the
    population, and an option that would be ignored must not be dropped without a word. Read
    without them."""
    given = [option for option in _COUNT_OPTIONS if getattr(args, _OPTIONS[option])]
    if args.summary is None or not given:
        return None
    return (f"{', '.join(given)}: not used with --summary, whose slide gives them; to judge "
            "another count, give it with --schistocytes instead")


def _source_problem(args: argparse.Namespace, problems: dict[str, Refused]) -> Refused | None:
    """The refusal of ``--schistocytes`` and ``--summary`` given together or neither given
    (or one refused), taking in (out of ``problems``) the refusal of either; None where one is
    given and read as written. Neither is read as a percentage not known (the verdict of the
    lab values alone)."""
    given = [dest for dest in ("schistocytes", "summary") if getattr(args, dest) is not None]
    if len(given) == 1 and given[0] not in problems:
        return None
    unknown = {"schistocytes": None, "summary": None}
    if not given:
        return Refused("one of the arguments --schistocytes --summary is required", (unknown,))
    own = [problems.pop(dest) for dest in given if dest in problems]
    messages = [problem.message for problem in own]
    if len(given) == 2:
        messages.insert(0, "argument --summary: not allowed with argument --schistocytes")
    corrections: list[dict[str, object]] = []
    for dest in given:
        other = "summary" if dest == "schistocytes" else "schistocytes"
        for each in _corrections_of(args, own, dest):
            reading = unknown if each[dest] is None else {**each, other: None}
            corrections += [reading] if reading not in corrections else []
    return Refused("; ".join(messages), tuple(corrections))


def _corrections_of(args: argparse.Namespace, refused: list[Refused], dest: str
                    ) -> tuple[dict[str, object], ...]:
    """The readings of option ``dest``: those of its refusal among ``refused``, else its
    value."""
    for problem in refused:
        if dest in problem.corrections[0]:
            return problem.corrections
    return ({dest: getattr(args, dest)},)


def _lab_options_without_value(args: argparse.Namespace) -> list[Refused]:
    """Lab options given with no value, refused and read as not given, a yes/no one (written as
    a flag: '--transplant') as either answer, as a misspelt option with no value is; their
    copies that have a value stay."""
    from smearscan.labs import EITHER_ANSWER, LAB_KEYS, Repeated

    refused = []
    for dest, value in vars(args).items():
        copies = tuple(value) if isinstance(value, Repeated) else (value,)
        if not dest.startswith("lab_") or NO_VALUE not in copies:
            continue
        kept = [copy for copy in copies if copy != NO_VALUE]
        setattr(args, dest, None if not kept else kept[0] if len(kept) == 1 else Repeated(kept))
        answers = tuple({dest: answer} for answer in EITHER_ANSWER) if not kept and \
            LAB_KEYS[dest[4:]].kind == "bool" else ({},)
        refused.append(Refused(f"argument --{dest[4:].replace('_', '-')}: expected one argument",
                               answers))
    return refused


def _files_named(paths: tuple[Path | None, ...]) -> tuple[Path | None, ...]:
    """Of the readings of a file option given twice, the files that exist, if any: a copy that
    names none is not the one the user meant (QA 44: '--labs missing.json --labs good.json'
    read the missing one as no lab values, and weakened the line)."""
    return tuple(path for path in paths if path is not None and path.is_file()) or paths


def _given_twice(dest: str, copies: tuple) -> str:
    shown = ["no value" if copy == NO_VALUE else repr(str(copy)) for copy in copies]
    times = "twice" if len(copies) == 2 else f"{len(copies)} times"
    return (f"--{dest.replace('_', '-')} given {times} ({', '.join(shown[:-1])} and "
            f"{shown[-1]}): keep the one the verdict should use")


#: Decimals of a percentage checked against a count: a million red cells give 4; more are
#: refused, not rounded (1e-7 would read as 0).
_PERCENT_DECIMALS = 6


def counted_percent(percent: Decimal, rbc_counted: int | None) -> float:
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


def _percent(text: str) -> Decimal:
    """A percentage as written ('3' or '3%'): its decimals are the precision a count of red
    cells is checked at.

    Raises
    ------
    argparse.ArgumentTypeError
        Not a number, or not 0-100.
    """
    number = text.strip().removesuffix("%").strip()
    try:
        value = Decimal(number)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value.is_finite() or not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage (0-100)")
    return value


def _percent_readings(text: str) -> tuple[str | None, tuple]:
    """A percentage with a decimal comma ('3,5') is read as its decimal point's; one over 100
    as itself with its decimal point one or two places left (150 as 15 and 1.5), one under 0
    without its dash; one missing or not a number as not known: the verdict of the lab values
    alone, which a count of the user's could only add to (this tool's rule; read as every
    percentage, an empty command line would call for "TTP possible")."""
    if text == NO_VALUE:
        return "argument --schistocytes: expected one argument", (None,)
    try:
        return None, (_percent(text),)
    except argparse.ArgumentTypeError as error:
        message = f"argument --schistocytes: {error}"
    number = text.strip().removesuffix("%").strip().replace(",", ".")
    try:
        value = abs(Decimal(number))
    except InvalidOperation:
        return message, (None,)
    shifted = (value, value / 10, value / 100) if value.is_finite() else ()
    readings = tuple(each for each in shifted if each <= 100)
    return message, readings[:1] if readings and readings[0] == value else readings or (None,)


def _count_readings(text: str) -> tuple[str | None, tuple]:
    """A count with digits grouped ('1,000', '1.000') or a whole number written with decimals
    ('1000.0') is read as that number, and as not given; any other, as not given."""
    if text == NO_VALUE:
        return "argument --rbc-counted: expected one argument", (None,)
    try:
        return None, (positive_int(text),)
    except argparse.ArgumentTypeError as error:
        message = f"argument --rbc-counted: {error}"
    readings: list[int | None] = [None]
    written = text.strip()
    if re.fullmatch(r"\d{1,3}([,. ']\d{3})+", written):
        readings.append(int(re.sub(r"\D", "", written)))
    if re.fullmatch(r"\d+\.\d*", written) and float(written).is_integer() and float(written) >= 1:
        readings.append(int(float(written)))
    return message, tuple(readings)


def _choice_reader(option: str, choices: tuple[str, ...]):
    """The reader of an option that takes one of ``choices``: one not among them is read as
    the choices it is a slip of ('adults'), else as each choice and as not given."""

    def read(text: str) -> tuple[str | None, tuple]:
        if text in choices:
            return None, (text,)
        said = ("expected one argument" if text == NO_VALUE else
                f"invalid choice: {text!r} (choose from {', '.join(map(repr, choices))})")
        close = difflib.get_close_matches(text.strip().lower(), choices, cutoff=0.75)
        return f"argument {option}: {said}", tuple(close) or (*choices, None)

    return read


def _text_reader(option: str, *, path: bool = False):
    """The reader of an option that takes a name (a path with ``path``): one missing or empty
    is read as not given."""

    def read(text: str) -> tuple[str | None, tuple]:
        if text == NO_VALUE:
            return f"argument {option}: expected one argument", (None,)
        if not text:
            return f"argument {option}: '' is empty", (None,)
        return None, (Path(text) if path else text,)

    return read


def _readers() -> dict:
    """How each option that is not a lab value is read: its text to (why it is refused or None,
    the values it may stand for)."""
    from smearscan.slide_stats import LIMIT_PERCENT

    return {"schistocytes": _percent_readings, "summary": _text_reader("--summary", path=True),
            "slide": _text_reader("--slide"), "rbc_counted": _count_readings,
            "leukoerythroblastic": _choice_reader("--leukoerythroblastic",
                                                  _LEUKOERYTHROBLASTIC),
            "population": _choice_reader("--population", tuple(LIMIT_PERCENT)),
            "labs": _text_reader("--labs", path=True)}


#: How alike (:class:`difflib.SequenceMatcher` ratio) an unknown option must be to one of
#: :data:`_OPTIONS` to be read as it (this tool's rule): closer to one of them than to any lab
#: key (``--jsno``, ``--slid s1``).
_OPTION_CLOSE = 0.75


def misspelt_options(args: argparse.Namespace) -> list[Refused]:
    """The unknown options of ``args.misspelt`` that are slips of an option other than a lab
    value (``--jsno`` for ``--json``), taken out of it and refused (QA 44 L-2: '--jsno' was
    offered no option): each is given to that option (beside it, as it given twice) and read
    as given and as not given. Check ``args`` with :func:`option_problems` after, and judge
    these refusals' corrections after its own."""
    from smearscan.labs import Repeated, close_keys

    refused = []
    for name, value in list(args.misspelt.items()):
        option = _closest_option(name, close_keys(name))
        if option is None or isinstance(value, Repeated):
            continue
        del args.misspelt[name]
        dest = _OPTIONS[option]
        said = f"unknown option {name!r}; did you mean {option!r}?"
        if option in _FLAGS:  # read with the flag and without it
            refused.append(Refused(said, ({dest: True}, {dest: False})))
            continue
        given = getattr(args, dest)
        text = NO_VALUE if value is None else str(value)
        setattr(args, dest, text if given is None else Repeated.adding(given, text))
        # Without a percentage or summary there is nothing to judge: read only as given.
        unread = () if given is not None or dest in ("schistocytes", "summary") else (
            {dest: None},)
        refused.append(Refused(said, ({}, *unread)))
    return refused


def _closest_option(name: str, keys: list[str]) -> str | None:
    """The option of :data:`_OPTIONS` that ``name`` is a slip of, if it is closer to it than to
    the lab ``keys`` it is close to."""
    spelt = "--" + name.lstrip("-").lower().replace("_", "-")

    def likeness(other: str) -> float:
        return difflib.SequenceMatcher(None, spelt, other).ratio()

    option = max(_OPTIONS, key=likeness)
    nearest_key = max((likeness(f"--{key.replace('_', '-')}") for key in keys), default=0.0)
    return option if likeness(option) >= _OPTION_CLOSE and likeness(option) > nearest_key \
        else None


def unknown_options(unknown: list[str]) -> tuple[dict[str, object], list[str]]:
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
