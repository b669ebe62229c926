"""Command line: parse arguments, call the library, map outcomes to exit codes.

Exit codes: 0 all done; 2 usage error, bad option value, an --out folder that cannot be
created or written, or a single input that cannot be read; 3 a folder run finished but some
files failed, or the --out folder had a problem (a slide left out of the merged outputs, a
review that could not be read; listed in errors.csv);
4 an output could not be written during the run or the model could not be loaded; 130
interrupted (SIGINT, Ctrl-C); 143 terminated (SIGTERM).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import os
import signal
import sys
import threading
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

if TYPE_CHECKING:  # the CLI imports what a command needs inside it
    from smearscan.labs import LabRow, Labs
    from smearscan.loading import Slide

EXIT_OK, EXIT_USAGE, EXIT_PARTIAL, EXIT_FAILURE = 0, 2, 3, 4
#: 128 + the signal's number, as a shell reports a process that the signal ended.
EXIT_INTERRUPTED, EXIT_TERMINATED = 128 + signal.SIGINT, 128 + signal.SIGTERM

_DESCRIPTION = """\
Count schistocytes and other cells on Wright/Giemsa blood smear fields.

  smearscan image.png                 analyse one field, print a summary
  smearscan slide/ --out results/     one folder of fields = one slide
  smearscan slides/ --out results/    a folder of slide folders = one slide each

Other commands (each has its own --help):
  smearscan verdict    MAHA verdict from a schistocyte % and lab values
  smearscan train      train the cell classifier on the public datasets (train extra)
  smearscan evaluate   evaluate a classifier on a held-out split (train extra)
  smearscan review     confirm or reclassify cells of a results folder in the browser
  smearscan export-corrections   reviewed cells as training labels
"""


def _epilog() -> str:
    """How to read the slide table, and the exit codes; the limits come from their owners."""
    from smearscan.slide_stats import (
        LESS_SPECIFIC_GRADE,
        LIMIT_PERCENT,
        REQUIRED_RBC,
        SOFT_EDGE_WIDTH_UM,
    )

    limit, grade, soft = LIMIT_PERCENT["adult"], LESS_SPECIFIC_GRADE, SOFT_EDGE_WIDTH_UM
    return f"""\
Reading the slide table (printed with --out; README "Outputs"):
  call            the 95% interval against the ICSH 2021 limit (over {limit:g}% of red
                  cells is significant in adults): above (all of it over), below (all
                  of it within), borderline (it spans the limit); or insufficient:
                  fewer than {REQUIRED_RBC} red cells, or a count within the limit from
                  fields out of focus (it would reassure no one)
  schistocytes %  the % and 95% interval the call rests on, "corrected" for the
                  classifier's own error when the model gives its rates
  less specific   another poikilocyte at ICSH 2015 grade {grade} or more beyond counting
                  error: the % is then not specific for thrombotic microangiopathy
  focus           median red-cell edge width; soft over {soft:g} um (this tool's rule),
                  and how many single fields are soft (photograph them again)
  report          the slide's report.html: the call, the cells behind it, each field

Exit codes: 0 all done; 2 usage error or bad input, one line says which (checked
before any work); 3 a folder run finished but some files failed (listed in DIR/errors.csv);
4 an output could not be written or the model could not be loaded; 130 interrupted
(Ctrl-C); 143 terminated (SIGTERM). A re-run with the same --out resumes where a run stopped.
"""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (the README's promise), not the usage."""

    def error(self, message: str) -> None:
        """Print ``<prog>: error: <message> (see <prog> --help)`` and exit 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def _path(text: str) -> Path:
    """A path argument; an empty one (an unset shell variable) is refused: as a Path it
    would be the current folder."""
    if not text:
        raise argparse.ArgumentTypeError("'': empty path")
    return Path(text)


def _output_folder(text: str) -> Path:
    """An --out folder: an existing folder, or nothing yet (created by the run)."""
    from smearscan.loading import not_a_folder_reason

    path = _path(text)
    reason = not_a_folder_reason(path)
    if reason is not None:
        raise argparse.ArgumentTypeError(f"{text!r} is {reason}")
    return path


def _whole_number(text: str, low: int, high: int | None = None) -> int:
    """``text`` as an integer from ``low`` (to ``high``), or an argparse type error saying so."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if high is None and value < low:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least {low}")
    if high is not None and not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text!r} must be {low}-{high}")
    return value


def _port(text: str) -> int:
    return _whole_number(text, 1, 65535)


def _positive_int(text: str) -> int:
    return _whole_number(text, 1)


def analysis_parser() -> argparse.ArgumentParser:
    """Parser of the analysis command ``smearscan PATH...``."""
    from smearscan import __version__
    from smearscan.slide_stats import LIMIT_PERCENT

    parser = _Parser(
        prog="smearscan", description=_DESCRIPTION, epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"smearscan {__version__}")
    parser.add_argument("paths", nargs="+", type=_path, metavar="PATH",
                        help="image files (JPEG, PNG, TIFF, BMP) or folders of them; an "
                             "input given twice (p1 ./p1, a symlink beside its target) is "
                             "analysed once")
    parser.add_argument("--out", type=_output_folder, metavar="DIR",
                        help="write cells.csv, summary.json, errors.csv (and per-slide files) "
                             "here; re-running with the same DIR resumes")
    parser.add_argument("--pixel-size", type=_positive_float, metavar="UM",
                        help="pixel size in um/px (0.03-0.5); default: estimated from the "
                             "median red cell (7.5 um), and the output says it was estimated; "
                             "compared with a slide's first field's own estimate and, when "
                             "that differs by over 1.15x, with the median of its first 5: "
                             "refused over 1.5x off, a warning over 1.15x. Macrocytes and "
                             "microcytes are reported only with it")
    parser.add_argument("--trust-pixel-size", action="store_true",
                        help="use --pixel-size even where the fields' own estimate disagrees")
    parser.add_argument("--save-masks", action="store_true",
                        help="write 16-bit label images to DIR/masks/<slide>/")
    parser.add_argument("--overlay", action="store_true",
                        help="write fields with outlines coloured by class to DIR/overlays/")
    parser.add_argument("--jobs", type=_positive_int, metavar="N",
                        help="worker processes, at most one per core (default: one per core, "
                             "at most 4, for runs of 20 fields or more, and only as many as "
                             "the largest field fits in the free memory; otherwise 1)")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run the fields on a Dask cluster: tcp://HOST:PORT (a running "
                             "scheduler; every worker must see the input paths) or local:N "
                             "(N local worker processes, at most one per core); needs "
                             "smearscan[distributed]. "
                             "Outputs are written by this process only")
    parser.add_argument("--population", choices=tuple(LIMIT_PERCENT), default="adult",
                        help="sets the schistocyte reference limit: <=1%% adults and term "
                             "neonates, <=5%% preterm infants (ICSH 2021)")
    parser.add_argument("--labs", type=_path, metavar="FILE",
                        help="lab values (JSON, or CSV with a 'slide' column) for a MAHA "
                             "verdict section in each slide's report; see 'smearscan verdict'")
    parser.add_argument("--model", type=_path, metavar="FILE",
                        help="classifier file: .onnx, or a .pt training file (needs the train "
                             "extra); default: the shipped models/default.onnx")
    parser.add_argument("--no-classify", action="store_true",
                        help="segment and measure only (no classifier)")
    parser.add_argument("--max-pixels", type=_positive_int, default=None, metavar="N",
                        help="refuse images larger than N pixels (default 50000000: 50 Mpx)")
    parser.add_argument("--force", action="store_true",
                        help="write into an existing non-empty --out folder that smearscan did "
                             "not make (by default refused, to protect other files)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress (a bar on a terminal, else one line per finished "
                             "slide on stderr)")
    return parser


#: Options that only act on the --out folder, and why: without --out they would be ignored
#: silently.
_NEED_OUT = {"save_masks": "--save-masks needs --out DIR, where the masks are written",
             "overlay": "--overlay needs --out DIR, where the overlays are written",
             "labs": "--labs needs --out DIR, where each slide's report gives the verdict",
             "force": "--force needs --out DIR: it lets a run write into a folder that "
                      "smearscan did not make"}


def _analysis_args(argv: list[str]) -> argparse.Namespace:
    """The arguments of ``smearscan PATH...``; an option that needs --out is a usage error
    without it."""
    parser = analysis_parser()
    args = parser.parse_args(argv)
    if args.out is None:
        for dest, message in _NEED_OUT.items():
            if getattr(args, dest):
                parser.error(message)
    return args


def _run_analysis(args: argparse.Namespace) -> int:
    from smearscan.batch import RunOptions, analyse_slides
    from smearscan.batch.run import jobs_within_memory
    from smearscan.errors import printable
    from smearscan.executor import (
        check_worker_count,
        default_jobs,
        executor_for,
        parse_scheduler,
    )
    from smearscan.loading import (
        DEFAULT_MAX_PIXELS,
        find_slides,
        shared_images,
        without_copies,
        without_repeats,
    )
    from smearscan.outputs import check_output_folder
    from smearscan.report import field_table, slide_table

    if args.trust_pixel_size and args.pixel_size is None:
        raise _UsageError("--trust-pixel-size trusts a --pixel-size; give the pixel size")
    if args.scheduler is not None:
        if args.jobs is not None:
            raise _UsageError("--jobs and --scheduler exclude each other: the cluster's "
                              "workers do the work")
        parse_scheduler(args.scheduler)  # a bad value fails before any input is read
    elif args.jobs is not None:
        check_worker_count(args.jobs, "--jobs")

    if args.out is not None:
        check_output_folder(args.out, force=args.force)  # before the inputs are read
    # Results written inside an input folder must not become fields of the next run.
    slides, repeats = without_repeats(
        find_slides(args.paths, exclude=[args.out] if args.out else []))
    for repeat, kept in repeats:
        _say(printable(f"smearscan: {_repeat_note(repeat.origin, kept.origin)}"))
    if not any(slide.fields for slide in slides):
        raise _UsageError(_nothing_to_analyse(slides))
    slides, copies = without_copies(slides)
    for copy, kept in copies:
        _say(printable(f"smearscan: {copy}: the same image as {kept}; counted once"))
    for slide, earlier, count in shared_images(slides):
        _say(printable(f"smearscan: {slide.origin}: {count} of its {len(slide.fields)} "
                       f"image(s) are the same bytes as images of {earlier.origin}; both are "
                       "analysed: check that each holds its own patient's fields"))
    for folder, count in _files_given_by_folder(args.paths).items():
        _say(printable(f"smearscan: {count} images of {folder} given one by one are {count} "
                       f"slides of one field each; give the folder ({folder}) for one slide"))
    if args.pixel_size is not None:
        slides = _checked_pixel_size(slides, args)
    options = RunOptions(
        pixel_size_um=args.pixel_size, max_pixels=args.max_pixels or DEFAULT_MAX_PIXELS,
        model_path=args.model, classify=not args.no_classify, save_masks=args.save_masks,
        overlay=args.overlay, population=args.population, labs_path=args.labs,
        trust_pixel_size=args.trust_pixel_size)
    jobs = args.jobs or jobs_within_memory(default_jobs(sum(len(s.fields) for s in slides)),
                                           slides, classify=options.classify)
    terminal = sys.stderr.isatty()
    folder_problems: list[tuple[str, str, str]] = []  # slides left out, reviews unreadable
    with executor_for(jobs=jobs, scheduler=args.scheduler) as executor:
        outcomes = analyse_slides(
            slides, out=args.out, options=options, executor=executor, force=args.force,
            progress=not args.quiet and terminal,
            on_slide=_slide_line(len(slides)) if not args.quiet and not terminal else None,
            on_folder_problem=folder_problems.append,
            on_note=lambda note: _say(f"smearscan: {printable(note)}"))
    _say(field_table(outcomes) if args.out is None else slide_table(outcomes), sys.stdout)
    failed = [error for outcome in outcomes for error in outcome.errors]
    for _, _, message in failed + folder_problems:
        _say(f"smearscan: {printable(message)}")
    if (failed or folder_problems) and args.out is not None:
        # A slide's own problems (a folder it could not read, no verdict) are not files.
        fields_failed = sum(1 for _, image, _ in failed if image)
        counts = [f"{fields_failed} field(s) failed"] if fields_failed else []
        counts += ([f"{len(failed) - fields_failed} slide problem(s)"]
                   if len(failed) > fields_failed else [])
        counts += ([f"{len(folder_problems)} problem(s) in the output folder"]
                   if folder_problems else [])
        _say(f"smearscan: {', '.join(counts)}; see {args.out / 'errors.csv'}")
    # Not is_file(): a pipe or device given as the one input is a single image too.
    single_image = len(args.paths) == 1 and not args.paths[0].is_dir()
    if failed and single_image:
        return EXIT_USAGE  # the one input could not be read
    return EXIT_PARTIAL if failed or folder_problems else EXIT_OK


def _nothing_to_analyse(slides: list[Slide]) -> str:
    """Why a run given no image at all is refused before any work (qacli8 L-5: an empty folder,
    most often a typo or an unfinished export, was a slide "done" with an empty report)."""
    problems = [problem for slide in slides for problem in slide.problems]
    more = f" (and {len(problems) - 1} more like it)" if len(problems) > 1 else ""
    return f"{problems[0]}{more}: nothing to analyse" if problems else "no image files given"


def _files_given_by_folder(paths: list[Path]) -> dict[Path, int]:
    """Folders two or more of whose images were given as paths of their own (a shell glob,
    ``s1/*.jpg``): each is a slide of one field, seldom what was meant."""
    from smearscan.loading import is_image_path

    counts: dict[Path, int] = {}
    for path in paths:
        if is_image_path(path) and not path.is_dir():
            counts[path.parent] = counts.get(path.parent, 0) + 1
    return {folder: count for folder, count in counts.items() if count > 1}


def _repeat_note(repeat: Path, kept: Path) -> str:
    """The note on an input given twice (``p1 ./p1`` are one Path), or under another name."""
    if repeat == kept:
        return f"{repeat}: given twice; analysed once"
    return f"{repeat}: the same input as {kept}; analysed once"


def _checked_pixel_size(slides: list[Slide], args: argparse.Namespace) -> list[Slide]:
    """Refuse (PixelSizeError) a --pixel-size out of range, or one that a slide's fields
    contradict, and warn of one they doubt
    (:func:`~smearscan.pipeline.check_declared_pixel_size`), unless --trust-pixel-size; the
    slides with the estimate each was compared with, which their outputs mark a doubt by."""
    from dataclasses import replace

    from smearscan.errors import printable
    from smearscan.pipeline import check_declared_pixel_size
    from smearscan.segmentation import check_pixel_size

    check_pixel_size(args.pixel_size)  # also when no slide has a field
    checked = []
    for slide in slides:
        check = check_declared_pixel_size(args.pixel_size, slide.fields,
                                          trust=args.trust_pixel_size,
                                          max_pixels=args.max_pixels)
        if check is not None and check.warning is not None:
            _say(f"smearscan: warning: slide {printable(slide.name)}: "
                 f"{printable(check.warning)}")
        checked.append(slide if check is None else replace(
            slide, own_pixel_size_um=check.estimate_um))
    return checked


def _slide_line(total: int):
    """A callback printing one line per finished slide on stderr (progress in a log file)."""
    done = 0

    def report(outcome) -> None:
        nonlocal done
        done += 1
        summary = outcome.summary
        failed = f", {summary.fields_failed} failed" if summary.fields_failed else ""
        resumed = ", resumed" if outcome.resumed else ""
        _say(f"smearscan: slide {done}/{total} done: {outcome.name} ({len(summary.fields)} "
             f"field(s), {summary.objects} objects{failed}{resumed})")

    return report


def _say(line: str, stream: TextIO | None = None) -> None:
    """Print ``line`` on ``stream`` (default stderr) at once. Once its reader has gone (a closed
    pipe: ``| head -1``), stop writing to it and carry on: a run's outputs matter more than
    its progress lines, and its exit code still tells how it went."""
    stream = sys.stderr if stream is None else stream
    try:
        print(line, file=stream, flush=True)
    except BrokenPipeError:
        _silence(stream)


def _silence(stream: TextIO) -> None:
    """Point ``stream``'s file descriptor at the null device (the Python docs' recipe for a
    closed pipe): what is still buffered, and every later write, goes nowhere instead of
    raising again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, stream.fileno())
    os.close(devnull)


class _UsageError(Exception):
    """Options that cannot go together (exit 2)."""


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
    parser = _Parser(
        prog="smearscan verdict", description=_VERDICT_DESCRIPTION % _ambiguity_lines(),
        formatter_class=argparse.RawDescriptionHelpFormatter, allow_abbrev=False)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--schistocytes", type=_percent, metavar="PCT", action=_Copies,
                        help="schistocytes as %% of red cells (from a manual or other count); "
                             "with --rbc-counted it must be a whole number of cells at the "
                             "decimals written (this tool's rule)")
    source.add_argument("--summary", type=_path, metavar="FILE", action=_Copies,
                        help="summary.json of a smearscan run (with --slide when it holds "
                             "several slides)")
    parser.add_argument("--slide", action=_Copies,
                        help="slide name in --summary (and row of a per-slide --labs)")
    parser.add_argument("--rbc-counted", type=_positive_int, metavar="N", action=_Copies,
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
    parser.add_argument("--labs", type=_path, metavar="FILE", action=_Copies,
                        help="lab values: a JSON object, or CSV with a 'slide' column")
    parser.add_argument("--json", action="store_true", help="print JSON for programs")
    labs = parser.add_argument_group("lab values (override --labs)")
    for key, spec in LAB_KEYS.items():
        unit = f" [{spec.unit}]" if spec.unit else ""
        labs.add_argument(f"--{key.replace('_', '-')}", dest=f"lab_{key}", metavar="VALUE",
                          action=_Copies, help=f"{spec.meaning}{unit}".replace("%", "%%"))
    return parser


def _run_verdict(argv: list[str]) -> int:
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
            _say(json.dumps(error.to_dict() | ({"notes": notes} if notes else {}), indent=2),
                 sys.stdout)
        elif said or notes:
            _say("\n".join([*said, *(f"NOTE: {note}" for note in notes)]), sys.stdout)
        origin = f"{ldh_origin}: " if error.key == "ldh" else ""  # QA 30 N5
        _say(f"smearscan verdict: {origin}{printable(_and_stray(str(error), stray))}")
        return EXIT_USAGE
    except (LabValueError, SlideNotFoundError, ValueError) as error:
        _say(f"smearscan verdict: {printable(_and_stray(str(error), stray))}")
        return EXIT_USAGE
    data = verdict.to_dict() | ({"notes": notes} if notes else {})
    _say(json.dumps(data, indent=2) if args.json else format_text(verdict, notes=notes),
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
        _say(json.dumps({"urgent": line, "unresolved": message}, indent=2) if args.json
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
    _say(f"smearscan verdict: lab values recorded for slide {slide!r} in {path} (--labs or "
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


_DEFAULT_SHARED = "../shared"  # a string, so that argparse checks it as a given one


def _shared_folder(text: str) -> Path:
    """A --shared folder: one holding datasets/ (a crop cache would otherwise let a wrong
    folder train on data it does not hold)."""
    path = _path(text)
    if not (path / "datasets").is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} holds no datasets/ folder (Chula RBC-12, "
                                         "BCCD, PBC)")
    return path


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--shared", type=_shared_folder, default=_DEFAULT_SHARED, metavar="DIR",
                        help="folder holding datasets/ (Chula RBC-12, BCCD, PBC); "
                             "default ../shared")
    parser.add_argument("--cache", type=_path, metavar="DIR",
                        help="where extracted crops are cached (default ~/.cache/smearscan)")
    parser.add_argument("--limit", type=_positive_int, metavar="N",
                        help="use only a few fields per dataset (smoke runs)")


def _pt_path(text: str) -> Path:
    if not text.endswith(".pt"):
        raise argparse.ArgumentTypeError(f"{text!r} must end in .pt (the .onnx export is "
                                         "written beside it)")
    return Path(text)


#: The most epochs ``smearscan train`` accepts (the shipped model trained for 40).
MAX_EPOCHS = 10000


def _epochs(text: str) -> int:
    return _whole_number(text, 1, MAX_EPOCHS)


def _model_version(text: str) -> str:
    """A --version for a trained model (:func:`~smearscan.classification.model.version_problem`)."""
    from smearscan.classification.model import version_problem
    from smearscan.errors import printable

    problem = version_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{printable(repr(text[:40]))} {problem}")
    return text


def _folder_problem(folder: Path, *, probe: bool) -> str | None:
    """Why ``folder`` cannot be written into (it is created here when missing), or None.

    A file at the folder or at any folder above it is named as such (``mkdir`` would say only
    "File exists"); with ``probe`` a file must also be creatable in it.
    """
    from smearscan.loading import not_a_folder_reason
    from smearscan.outputs import OutputFolderError, check_writable_folder

    for above in (folder, *folder.parents):
        if above.is_dir():
            break
        reason = not_a_folder_reason(above)
        if reason is not None:
            return f"{above} is {reason}"
    try:
        if probe:
            check_writable_folder(folder)
        else:
            folder.mkdir(parents=True, exist_ok=True)
    except OutputFolderError as error:
        return str(error)
    except OSError as error:
        return f"{folder}: cannot create this folder ({error.strerror or error})"
    return None


def _check_outputs(parser: argparse.ArgumentParser, args: argparse.Namespace,
                   model_out: bool) -> None:
    """--out and --cache: one line naming the option and the problem, exit 2, before any
    loading (they would otherwise fail after minutes of work, in a traceback)."""
    from smearscan.errors import printable

    def refuse(option: str, problem: str) -> None:
        parser.error(f"argument {option}: {printable(problem)}")

    if model_out:
        for path in (args.out, args.out.with_suffix(".onnx")):
            if path.is_dir():
                refuse("--out", f"{path} is a folder, not a model file")
        problem = _folder_problem(args.out.parent, probe=True)
    else:
        problem = _folder_problem(args.out, probe=True)
    if problem is not None:
        refuse("--out", problem)
    if args.cache is not None:
        problem = _folder_problem(args.cache, probe=False)
        if problem is not None:
            refuse("--cache", problem)


#: Top-level modules of the ``train`` extra (pyproject.toml).
_TRAIN_EXTRA = ("torch", "torchvision", "onnx", "onnxscript", "sklearn", "matplotlib")


def _training_module():
    """:mod:`smearscan.training`; a usage error (exit 2) when the train extra is missing."""
    from smearscan.errors import MissingExtraError

    try:
        from smearscan import training
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in _TRAIN_EXTRA:
            raise
        raise MissingExtraError(f"training and evaluation need {error.name}, which the lean "
                                'install leaves out: pip install -e ".[train]"') from None
    return training


def train_parser() -> argparse.ArgumentParser:
    """Parser of ``smearscan train``."""
    parser = _Parser(
        prog="smearscan train",
        description="Train the cell classifier from scratch on the public datasets (train "
                    "split), choose operating thresholds on the val split, measure the test "
                    "split, and write the model: a .pt training file and its .onnx export "
                    "beside it (what analysis runs), both self-describing.")
    _data_arguments(parser)
    parser.add_argument("--out", type=_pt_path, required=True, metavar="FILE.pt",
                        help="model file to write, e.g. models/default.pt (and "
                             "models/default.onnx)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--epochs", type=_epochs, metavar="N",
                        help=f"training epochs, 1-{MAX_EPOCHS} (default: the documented "
                             "recipe's)")
    parser.add_argument("--version", type=_model_version, metavar="NAME",
                        help="model_version recorded in the model (shown in every report "
                             "it makes); default local-YYYYMMDD-HHMMSS (UTC), with -limitN "
                             "under --limit. Only scripts/train_default.sh gives the shipped "
                             "model's")
    parser.add_argument("--extra-labels", type=_path, metavar="CSV",
                        help="reviewed cells from 'smearscan export-corrections', added to "
                             "the training split")
    return parser


def evaluate_parser() -> argparse.ArgumentParser:
    """Parser of ``smearscan evaluate``."""
    parser = _Parser(
        prog="smearscan evaluate",
        description="Evaluate a classifier on a held-out split: per-class precision/recall/F1, "
                    "confusion matrix, ROC and precision-recall curves, sensitivity at "
                    "specificity 0.99/0.995/0.998 (metrics.json and PNG figures).")
    _data_arguments(parser)
    parser.add_argument("--model", type=_path, metavar="FILE",
                        help="model file, .onnx or .pt (default: the shipped "
                             "models/default.onnx)")
    parser.add_argument("--split", choices=("val", "test", "train"), default="test")
    parser.add_argument("--out", type=_path, required=True, metavar="DIR",
                        help="folder for metrics.json and the figures")
    return parser


def _run_train(argv: list[str]) -> int:
    parser = train_parser()
    args = parser.parse_args(argv)
    _check_outputs(parser, args, model_out=True)
    training = _training_module()
    path = training.train_model(shared=args.shared, out=args.out, seed=args.seed,
                                epochs=args.epochs or training.EPOCHS, limit=args.limit,
                                cache=args.cache, progress=sys.stderr.isatty(),
                                extra_labels=args.extra_labels, version=args.version)
    _say(f"wrote {path} and {path.with_suffix('.onnx')}", sys.stdout)
    return EXIT_OK


def _run_evaluate(argv: list[str]) -> int:
    import json

    parser = evaluate_parser()
    args = parser.parse_args(argv)
    _check_outputs(parser, args, model_out=False)
    metrics = _training_module().evaluate_model(
        model=args.model, shared=args.shared, split=args.split, out_dir=args.out,
        cache=args.cache, limit=args.limit)
    _say(json.dumps(metrics.get("summary", metrics), indent=2)[:4000], sys.stdout)
    _say(f"wrote {args.out / 'metrics.json'}", sys.stdout)
    return EXIT_OK


def review_parser() -> argparse.ArgumentParser:
    """Parser of ``smearscan review``."""
    parser = _Parser(
        prog="smearscan review",
        description="Review a results folder in the browser: confirm or reclassify every "
                    "flagged cell (the counts and the call are recomputed as you go), check "
                    "the near misses, and sign each slide off. Corrections are saved in "
                    "DIR/slides/<slide>/review.json; summary.json and cells.csv carry them.",
        epilog="Exit codes: 0 the server stopped (Ctrl+C); 2 usage error, DIR not a results "
               "folder or in use by a run or another review, or the port taken.")
    parser.add_argument("out", type=_path, metavar="DIR", help="a folder written by --out")
    parser.add_argument("--port", type=_port, default=8765, help="1-65535, default 8765")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this computer only)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    return parser


def _run_review(argv: list[str]) -> int:
    args = review_parser().parse_args(argv)
    from smearscan.review.app import serve

    serve(args.out, host=args.host, port=args.port, open_browser=not args.no_browser)
    return EXIT_OK


def export_corrections_parser() -> argparse.ArgumentParser:
    """Parser of ``smearscan export-corrections``."""
    parser = _Parser(
        prog="smearscan export-corrections",
        description="Write the reviewed cells of every signed-off slide as labelled training "
                    "data (image path, x, y, class, ...), for 'smearscan train --extra-labels'.",
        epilog="Exit codes: 0 written (a slide not signed off contributes no cell, which stderr "
               "says when none is); 2 usage error, DIR not a results folder, or CSV a folder; "
               "4 CSV cannot be written.")
    parser.add_argument("out", type=_path, metavar="DIR", help="a reviewed results folder")
    parser.add_argument("--out", dest="csv", type=_path, required=True, metavar="CSV",
                        help="the CSV file to write, e.g. corrections.csv")
    return parser


def _run_export_corrections(argv: list[str]) -> int:
    args = export_corrections_parser().parse_args(argv)
    if args.csv.is_dir():
        raise _UsageError(f"--out {args.csv}: a folder; give the CSV file to write, e.g. "
                          f"{args.csv / 'corrections.csv'}")
    from smearscan.review.corrections import export_corrections

    rows = export_corrections(args.out, args.csv)
    _say(f"wrote {args.csv}: {rows} reviewed cell(s)", sys.stdout)
    if not rows:
        _say(f"smearscan export-corrections: no slide of {args.out} is signed off: review and "
             f"sign slides off with 'smearscan review {args.out}' first")
    return EXIT_OK


SUBCOMMANDS = {"verdict": _run_verdict, "train": _run_train, "evaluate": _run_evaluate,
               "review": _run_review, "export-corrections": _run_export_corrections}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``smearscan`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    with _sigterm_as_interrupt():
        return _exit_code(argv)


def _exit_code(argv: list[str]) -> int:
    """Run the command of ``argv``; each failure it may meet as its one line and exit code."""
    from smearscan.errors import LabValueError, SmearscanError, printable

    try:
        if argv and argv[0] in SUBCOMMANDS:
            return SUBCOMMANDS[argv[0]](argv[1:])
        return _run_analysis(_analysis_args(argv))
    except FileNotFoundError as error:
        _say(f"smearscan: {printable(str(error))}")
        return EXIT_USAGE
    except (LabValueError, _UsageError) as error:
        _say(f"smearscan: {printable(str(error))}")
        return EXIT_USAGE
    except SmearscanError as error:
        _say(f"smearscan: {error}")
        return getattr(error, "exit_code", EXIT_FAILURE)
    except MemoryError:
        _say("smearscan: out of memory; lower --max-pixels or --jobs")
        return EXIT_FAILURE
    except BrokenPipeError:
        # A write of a library's own (the review server's address line): its reader left
        # before the command could do its work.
        _silence(sys.stdout)
        _silence(sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt as error:
        _say(_stopped_line(argv, terminated=isinstance(error, _Terminated)))
        return EXIT_TERMINATED if isinstance(error, _Terminated) else EXIT_INTERRUPTED


#: What a stopped command left behind, for the commands that do not resume (an analysis with
#: --out resumes).
_NOT_WRITTEN = {"train": "no model was written (training does not resume)",
                "evaluate": "no metrics were written"}


def _stopped_line(argv: list[str], *, terminated: bool) -> str:
    """The one line said on SIGTERM (``terminated``) or Ctrl-C."""
    how = "terminated" if terminated else "interrupted"
    command = argv[0] if argv else ""
    if command in _NOT_WRITTEN:
        return f"smearscan {command}: {how}; {_NOT_WRITTEN[command]}"
    return f"smearscan: {how}; re-run with the same --out to resume"


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that the run unwinds the same way:
    workers shut down, temporaries and semaphores removed, one line said."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (``kill``, ``timeout``, a job scheduler) raises :class:`_Terminated` meanwhile.

    By default it ends the process on the spot: no message, and the resource tracker warns
    about the worker pool's semaphores. Only the main thread may set signal handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
