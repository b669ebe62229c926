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
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from smearscan.cli.common import (
    EXIT_FAILURE,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    Parser,
    output_folder,
    path_argument,
    port,
    positive_float,
    positive_int,
    say,
    shared_folder,
    silence,
    whole_number,
)
from smearscan.cli.verdict import run_verdict
from smearscan.cli.verdict_options import verdict_parser
from smearscan.stops import stop_exit, stops_raised

if TYPE_CHECKING:  # the CLI imports what a command needs inside it
    from smearscan.loading import Slide

__all__ = ["analysis_parser", "main", "train_parser", "verdict_parser"]

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
                  fields out of focus, at a pixel size in doubt, or reaching {REQUIRED_RBC}
                  cells only with fields that overlap (it would reassure no one)
  schistocytes %  the % and 95% interval the call rests on, "corrected" for the
                  classifier's own error when the model gives its rates
  less specific   another poikilocyte at ICSH 2015 grade {grade} or more beyond counting
                  error: the % is then not specific for thrombotic microangiopathy
  focus           median red-cell edge width; soft over {soft:g} um (this tool's rule),
                  and how many single fields are soft (photograph them again)
  report          the slide's report.html: the call, the cells behind it, each field

Exit codes: 0 all done; 2 usage error or bad input, one line says which (checked
before any work), or a single image that cannot be analysed; 3 a folder run finished but
some files failed (listed in DIR/errors.csv); 4 an output could not be written, the
model could not be loaded, a worker process died or the Dask cluster went away; 130
interrupted (Ctrl-C); 143 terminated (SIGTERM). A re-run
with the same --out resumes where a run stopped.
"""


def analysis_parser() -> argparse.ArgumentParser:
    """Parser of the analysis command ``smearscan PATH...``."""
    from smearscan import __version__
    from smearscan.slide_stats import LIMIT_PERCENT

    parser = Parser(
        prog="smearscan", description=_DESCRIPTION, epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"smearscan {__version__}")
    parser.add_argument("paths", nargs="+", type=path_argument, metavar="PATH",
                        help="image files (JPEG, PNG, TIFF, BMP, WebP, GIF) or folders of "
                             "them; an "
                             "input given twice (p1 ./p1, a symlink beside its target) is "
                             "analysed once")
    parser.add_argument("--out", type=output_folder, metavar="DIR",
                        help="write cells.csv, summary.json, errors.csv (and per-slide files) "
                             "here; re-running with the same DIR resumes")
    parser.add_argument("--pixel-size", type=positive_float, metavar="UM",
                        help="pixel size in um/px (0.0125-0.5); default: estimated from the "
                             "median red cell (7.5 um), and the output says it was estimated; "
                             "compared with a slide's first field's own estimate and, when "
                             "that differs by over 1.15x, with the median of 5 spread over it: "
                             "refused over 1.5x off, a warning over 1.15x. Any field whose own "
                             "estimate, from 40 objects or more, is over 1.35x off both it and "
                             "the slide's is left out of the count and named in errors.csv. "
                             "Macrocytes and "
                             "microcytes are reported only with it")
    parser.add_argument("--trust-pixel-size", action="store_true",
                        help="use --pixel-size even where the fields' own estimate disagrees")
    parser.add_argument("--save-masks", action="store_true",
                        help="write 16-bit label images to DIR/masks/<slide>/")
    parser.add_argument("--overlay", action="store_true",
                        help="write fields with outlines coloured by class to DIR/overlays/")
    parser.add_argument("--jobs", type=positive_int, metavar="N",
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
                             "neonates, <=5%% preterm infants (ICSH 2021); children (past the "
                             "neonatal period) 1%% (this tool's rule: ICSH gives them none)")
    parser.add_argument("--labs", type=path_argument, metavar="FILE",
                        help="lab values (JSON, or CSV with a 'slide' column) for a MAHA "
                             "verdict section in each slide's report; see 'smearscan verdict'")
    parser.add_argument("--model", type=path_argument, metavar="FILE",
                        help="classifier file: .onnx, or a .pt training file (needs the train "
                             "extra); default: the shipped models/default.onnx")
    parser.add_argument("--no-classify", action="store_true",
                        help="segment and measure only (no classifier)")
    parser.add_argument("--max-pixels", type=positive_int, default=None, metavar="N",
                        help="refuse images larger than N pixels (default 50000000: 50 Mpx)")
    parser.add_argument("--force", action="store_true",
                        help="write into an existing non-empty --out folder that smearscan did "
                             "not make (by default refused, to protect other files; never over "
                             "a cells.csv, errors.csv, summary.json or slides already there)")
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
                _refused(parser, args, message)
    if args.labs is not None and args.no_classify:  # the lab values would be left unread
        _refused(parser, args, "--labs needs the classifier: the verdict rests on the slide's "
                 "schistocyte count (leave out --no-classify)")
    return args


def _refused(parser: argparse.ArgumentParser, args: argparse.Namespace, message: str) -> NoReturn:
    """The usage error ``message``, after the URGENT lines of the ``--labs`` file's rows, if
    any: a run refused before its slides are found keeps the emergency its lab values show
    (QA 141 M-1: '--labs' with '--no-classify', or without '--out', printed none)."""
    _say_lab_file_lines(args)
    parser.error(message)


def _say_lab_file_lines(args: argparse.Namespace) -> None:
    """The URGENT lines of the ``--labs`` file's rows, with the smear not yet counted, on
    stdout (none without one)."""
    if args.labs is not None:
        from smearscan.batch.run import lab_file_urgent_lines

        for line in lab_file_urgent_lines(args.labs, args.population):
            say(line, sys.stdout)


def _run_analysis(args: argparse.Namespace) -> int:
    """The analysis command; refused before its slides are analysed (an output folder not
    smearscan's, no image, a model or pixel size refused), it first prints the URGENT lines
    of the ``--labs`` file's rows, as :func:`_refused` does (QA 157 M-5: none was said)."""
    from smearscan.errors import SmearscanError

    try:
        return _analysis(args)
    except (SmearscanError, _UsageError, FileNotFoundError) as error:
        if not getattr(error, "urgent", None):
            _say_lab_file_lines(args)
        raise


def _analysis(args: argparse.Namespace) -> int:
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
    from smearscan.report import canvas_notes, field_table, scale_doubt_notes, slide_table

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
        say(printable(f"smearscan: {_repeat_note(repeat.origin, kept.origin)}"))
    if not any(slide.fields for slide in slides):
        raise _UsageError(_nothing_to_analyse(slides))
    slides, copies = without_copies(slides)
    for copy, kept in copies:
        say(printable(f"smearscan: {copy}: the same image as {kept}; counted once"))
    for slide, earlier, count in shared_images(slides):
        say(printable(f"smearscan: {slide.origin}: {count} of its {len(slide.fields)} "
                       f"image(s) are the same bytes as images of {earlier.origin}; both are "
                       "analysed: check that each holds its own patient's fields"))
    for folder, count in _files_given_by_folder(args.paths).items():
        say(printable(f"smearscan: {count} images of {folder} given one by one are {count} "
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
            on_slide=_slide_line(len(slides), done_lines=not args.quiet and not terminal),
            on_folder_problem=folder_problems.append,
            on_note=lambda note: say(f"smearscan: {printable(note)}"))
    say(field_table(outcomes) if args.out is None else slide_table(outcomes), sys.stdout)
    for note in [*scale_doubt_notes(outcomes, unwarned_only=args.out is not None),
                 *canvas_notes(outcomes)]:
        say(f"smearscan: {printable(note)}")
    failed = [error for outcome in outcomes for error in outcome.errors]
    for _, _, message in failed + folder_problems:
        say(f"smearscan: {printable(message)}")
    if (failed or folder_problems) and args.out is not None:
        # A slide's own problems (a folder it could not read, no verdict) are not files.
        fields_failed = sum(1 for _, image, _ in failed if image)
        # QA 148 L-1: a kept slide's images not read now were counted as if it had failed.
        kept = sum(1 for outcome in outcomes if outcome.kept
                   for _, image, _ in outcome.errors if image)
        counts = [f"{fields_failed} field(s) failed"
                  + (f" ({kept} of them in slides kept as they were)" if kept else "")
                  ] if fields_failed else []
        counts += ([f"{len(failed) - fields_failed} slide problem(s)"]
                   if len(failed) > fields_failed else [])
        counts += ([f"{len(folder_problems)} problem(s) in the output folder"]
                   if folder_problems else [])
        say(f"smearscan: {', '.join(counts)}; see {args.out / 'errors.csv'}")
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

    shown: dict[Path, Path] = {}
    images: dict[Path, set[Path]] = {}
    for path in paths:
        if is_image_path(path) and not path.is_dir():
            # An image given twice is one image, one slide (QA 50 F6: counted twice).
            folder = path.resolve().parent
            shown.setdefault(folder, path.parent)
            images.setdefault(folder, set()).add(path.resolve())
    return {shown[folder]: len(given) for folder, given in images.items() if len(given) > 1}


def _repeat_note(repeat: Path, kept: Path) -> str:
    """The note on an input given twice (``p1 ./p1`` are one Path), or under another name."""
    if repeat == kept:
        return f"{repeat}: given twice; analysed once"
    return f"{repeat}: the same input as {kept}; analysed once"


def _checked_pixel_size(slides: list[Slide], args: argparse.Namespace) -> list[Slide]:
    """Refuse (PixelSizeError) a --pixel-size out of range, or one that a slide's fields
    contradict, and warn of one they doubt
    (:func:`~smearscan.pipeline.check_declared_pixel_size`), unless --trust-pixel-size; the
    slides with the estimate each was compared with, which their outputs mark a doubt by. Of
    several slides, one that contradicts it is left out with that reason (its fields not
    analysed, the others are: QA 54 M2, one slide filed with the wrong folder refused the
    whole night's batch)."""
    from dataclasses import replace

    from smearscan.errors import printable
    from smearscan.pipeline import check_declared_pixel_size
    from smearscan.segmentation import PixelSizeError, check_pixel_size

    check_pixel_size(args.pixel_size)  # also when no slide has a field
    checked = []
    for slide in slides:
        try:
            check = check_declared_pixel_size(args.pixel_size, slide.fields,
                                              trust=args.trust_pixel_size,
                                              max_pixels=args.max_pixels)
        except PixelSizeError as error:
            if len(slides) == 1:
                raise
            # Its images counted, so that it does not read as an empty folder (QA 60 F4).
            reason = f"{error} ({len(slide.fields)} image(s) not analysed)"
            checked.append(replace(slide, fields=(), digests=(), left_out=reason,
                                   not_analysed=len(slide.fields), problems=(
                *slide.problems, f"slide {printable(slide.name)} left out: {reason}")))
            continue
        if check is not None and check.warning is not None:
            say(f"smearscan: warning: slide {printable(slide.name)}: "
                f"{printable(check.warning)}")
        checked.append(slide if check is None else replace(
            slide, own_pixel_size_um=check.estimate_um, own_estimate_objects=check.objects))
    return checked


def _slide_line(total: int, *, done_lines: bool):
    """A callback printing, for each finished slide, its URGENT line on stderr at once (QA 154
    H-1: said only once every slide was done, and never by a run stopped before), and with
    ``done_lines`` one line of progress (for a log file)."""
    from smearscan.errors import printable

    done = 0

    def report(outcome) -> None:
        nonlocal done
        done += 1
        summary = outcome.summary
        if done_lines:
            failed = f", {summary.fields_failed} failed" if summary.fields_failed else ""
            resumed = f", {outcome.resumed_note}" if outcome.resumed_note else ""
            say(f"smearscan: slide {done}/{total} done: {outcome.name} ({summary.fields_given} "
                f"field(s), {summary.objects} objects{failed}{resumed})")
        if summary.urgent_line:
            say(printable(f"smearscan: {outcome.name}: {summary.urgent_line}"))

    return report


class _UsageError(Exception):
    """Options that cannot go together (exit 2)."""


_DEFAULT_SHARED = "../shared"


def _shared(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Path:
    """--shared, or ../shared checked only now: as argparse's default it was checked before
    every other argument, so that a missing --out or torch was told as missing datasets
    (QA 55 M-1)."""
    if args.shared is not None:
        return args.shared
    try:
        return shared_folder(_DEFAULT_SHARED)
    except argparse.ArgumentTypeError as error:
        parser.error(f"argument --shared: {error}")


def _data_arguments(parser: argparse.ArgumentParser, limit_help: str) -> None:
    parser.add_argument("--shared", type=shared_folder, metavar="DIR",
                        help="folder holding datasets/ (Chula RBC-12, BCCD, PBC); "
                             "default ../shared, from the current folder")
    parser.add_argument("--cache", type=path_argument, metavar="DIR",
                        help="where extracted crops are cached (default ~/.cache/smearscan)")
    parser.add_argument("--limit", type=positive_int, metavar="N",
                        help="use only the first fields that give about N labelled cells of "
                             f"each class in each split of each dataset (smoke runs); "
                             f"{limit_help}")


def _pt_path(text: str) -> Path:
    if not text.endswith(".pt"):
        raise argparse.ArgumentTypeError(f"{text!r} must end in .pt (the .onnx export is "
                                         "written beside it)")
    return Path(text)


#: The most epochs ``smearscan train`` accepts (the shipped model trained for 40).
MAX_EPOCHS = 10000


def _epochs(text: str) -> int:
    return whole_number(text, 1, MAX_EPOCHS)


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
            if (path.exists() or path.is_symlink()) and not args.force:  # a dangling link too
                refuse("--out", f"{path} is there already; give another file, or --force to "
                                "replace it")
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
    from smearscan.errors import MissingExtraError, train_extra_command

    try:
        from smearscan import training
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in _TRAIN_EXTRA:
            raise
        raise MissingExtraError(f"training and evaluation need {error.name}, which the lean "
                                f"install leaves out: {train_extra_command()}") from None
    return training


#: The exit codes ``train`` and ``evaluate`` give (README "Install"), in their ``--help``.
_TRAINING_EXIT_CODES = (
    "Exit codes: 0 written; 2 usage error, the train extra (torch) not installed, no datasets "
    "under --shared, or an --out or --cache that cannot be written{also} (all checked before "
    "any loading);{model} 130 interrupted (Ctrl-C), 143 terminated (SIGTERM): no {what} written "
    "(the outputs are written together at the end, never in part).")


def train_parser() -> argparse.ArgumentParser:
    """Parser of ``smearscan train``."""
    parser = Parser(
        prog="smearscan train",
        description="Train the cell classifier from scratch on the public datasets (train "
                    "split), choose operating thresholds on the val split, measure the test "
                    "split, and write the model: a .pt training file and its .onnx export "
                    "beside it (what analysis runs), both self-describing.",
        epilog=_TRAINING_EXIT_CODES.format(what="model is", model="", also=(
            ", or an --out model there already without --force")))
    _data_arguments(parser, "training then takes 2 batches per epoch, whatever --epochs, so "
                            "its model is too weak to count with and analysis refuses it")
    parser.add_argument("--out", type=_pt_path, required=True, metavar="FILE.pt",
                        help="model file to write, e.g. my-model.pt (and my-model.onnx "
                             "beside it); give it to analysis with --model my-model.onnx")
    parser.add_argument("--force", action="store_true",
                        help="replace the model files --out names if they are there "
                             "already (models/default.pt is the shipped model)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--epochs", type=_epochs, metavar="N",
                        help=f"training epochs, 1-{MAX_EPOCHS} (default: the documented "
                             "recipe's)")
    parser.add_argument("--version", type=_model_version, metavar="NAME",
                        help="model_version recorded in the model (shown in every report "
                             "it makes); default local-YYYYMMDD-HHMMSS (UTC), with -limitN "
                             "under --limit. Only scripts/train_default.sh gives the shipped "
                             "model's")
    parser.add_argument("--extra-labels", type=path_argument, metavar="CSV",
                        help="reviewed cells from 'smearscan export-corrections', added to "
                             "the training split")
    return parser


def evaluate_parser() -> argparse.ArgumentParser:
    """Parser of ``smearscan evaluate``."""
    parser = Parser(
        prog="smearscan evaluate",
        description="Evaluate a classifier on a held-out split: per-class precision/recall/F1, "
                    "confusion matrix, ROC and precision-recall curves, sensitivity at "
                    "specificity 0.99/0.995/0.998 (metrics.json and PNG figures).",
        epilog=_TRAINING_EXIT_CODES.format(what="metrics are", also="", model=(
            " 4 the model cannot be loaded or scored;")))
    _data_arguments(parser, "the figures then rest on the few crops of those fields")
    parser.add_argument("--model", type=path_argument, metavar="FILE",
                        help="model file, .onnx or .pt (default: the shipped "
                             "models/default.onnx)")
    parser.add_argument("--split", choices=("val", "test", "train"), default="test",
                        help="the fields evaluated, split by overlap group: test (default), "
                             "val or train")
    parser.add_argument("--out", type=path_argument, required=True, metavar="DIR",
                        help="folder for metrics.json and the figures")
    return parser


def _run_train(argv: list[str]) -> int:
    parser = train_parser()
    args = parser.parse_args(argv)
    training = _training_module()  # before anything is written (QA 55 L-3)
    shared = _shared(parser, args)
    _check_outputs(parser, args, model_out=True)
    path = training.train_model(shared=shared, out=args.out, seed=args.seed,
                                epochs=args.epochs or training.EPOCHS, limit=args.limit,
                                # Line by line, also into a log (QA 57 #9: silent for the
                                # hour of a full run under nohup or a scheduler).
                                cache=args.cache, progress=True,
                                extra_labels=args.extra_labels, version=args.version)
    say(f"wrote {path} and {path.with_suffix('.onnx')}", sys.stdout)
    _warn_if_unusable(path)
    return EXIT_OK


def _warn_if_unusable(path: Path) -> None:
    """Say when a model just written cannot count (a --limit smoke model): analysis refuses it
    (QA 57 #6: only the first analysis said so)."""
    from smearscan.classification import ModelLoadError, load_model
    from smearscan.classification.model import check_operating_points

    try:
        check_operating_points(load_model(path.with_suffix(".onnx")), path)
    except ModelLoadError as error:
        say(f"smearscan train: warning: {error}; analysis refuses it, evaluate takes it")


def _run_evaluate(argv: list[str]) -> int:
    import json

    parser = evaluate_parser()
    args = parser.parse_args(argv)
    training = _training_module()  # before anything is written (QA 55 L-3)
    shared = _shared(parser, args)
    model = training.evaluable_model(args.model)  # so too one it cannot score (QA 60 F6)
    _check_outputs(parser, args, model_out=False)
    metrics = training.evaluate_model(
        model=model, shared=shared, split=args.split, out_dir=args.out,
        cache=args.cache, limit=args.limit)
    say(json.dumps(metrics.get("summary", metrics), indent=2), sys.stdout)
    say(f"wrote {args.out / 'metrics.json'}", sys.stdout)
    return EXIT_OK


def review_parser() -> argparse.ArgumentParser:
    """Parser of ``smearscan review``."""
    parser = Parser(
        prog="smearscan review",
        description="Review a results folder in the browser: confirm or reclassify every "
                    "flagged cell (the counts and the call are recomputed as you go), check "
                    "the near misses, and sign each slide off. Corrections are saved in "
                    "DIR/slides/<slide>/review.json; summary.json and cells.csv carry them.",
        epilog="Exit codes: 0 the server stopped (Ctrl+C, or SIGTERM: a server's usual stop); "
               "2 usage error, DIR not a results folder or in use by a run or another review, "
               "or the port taken.")
    parser.add_argument("out", type=path_argument, metavar="DIR", help="a folder written by --out")
    parser.add_argument("--port", type=port, default=8765, help="1-65535, default 8765")
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
    parser = Parser(
        prog="smearscan export-corrections",
        description="Write the reviewed cells of every signed-off slide as labelled training "
                    "data (image path, x, y, class, ...), for 'smearscan train --extra-labels'.",
        epilog="Exit codes: 0 written, or nothing to write (a slide not signed off contributes "
               "no cell, which stderr names with each slide reviewed but not signed off; with no "
               "cell at all, CSV is not written); 2 usage error, DIR not a "
               "results folder, CSV a folder or in a folder that does not exist; "
               "4 CSV cannot be written.")
    parser.add_argument("out", type=path_argument, metavar="DIR", help="a reviewed results folder")
    parser.add_argument("--out", dest="csv", type=path_argument, required=True, metavar="CSV",
                        help="the CSV file to write, e.g. corrections.csv")
    return parser


def _run_export_corrections(argv: list[str]) -> int:
    args = export_corrections_parser().parse_args(argv)
    if args.csv.is_dir():
        raise _UsageError(f"--out {args.csv}: a folder; give the CSV file to write, e.g. "
                          f"{args.csv / 'corrections.csv'}")
    folder = args.csv.parent
    if not folder.is_dir():  # QA 109 L2: a mistyped folder was created, and the file in it
        what = "is not a folder" if folder.exists() or folder.is_symlink() else "does not exist"
        raise _UsageError(f"--out {args.csv}: the folder {folder} {what}; give a CSV file in "
                          "an existing folder")
    from smearscan.review.corrections import export_corrections, slides_cut_short

    rows, left_out = export_corrections(args.out, args.csv)
    # QA 119 L3: "left as it was" was said of a file that never existed.
    kept = "is left as it was" if args.csv.exists() else "is not written"
    say(f"wrote {args.csv}: {rows} reviewed cell(s)" if rows else
        f"wrote nothing: no reviewed cell to export ({args.csv} {kept})", sys.stdout)
    # The reviewed slides left out, and those whose rows are review.json's as it was saved.
    for note in [*left_out, *slides_cut_short(args.out)]:
        say(f"smearscan export-corrections: {note}")
    if not rows:
        say(f"smearscan export-corrections: no slide of {args.out} is signed off: review and "
            f"sign slides off with 'smearscan review {args.out}' first")
    return EXIT_OK


SUBCOMMANDS = {"verdict": run_verdict, "train": _run_train, "evaluate": _run_evaluate,
               "review": _run_review, "export-corrections": _run_export_corrections}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``smearscan`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else argv
    with stops_raised() as stops:
        return _exit_code(argv, stops)


def _command_code(argv: list[str], stops: list[type[KeyboardInterrupt]]) -> int:
    """Run the command of ``argv``. An error raised after a stop (Ctrl-C, SIGTERM) is that stop:
    a C extension turns the interrupt it meets into one of its own (QA of this session: Ctrl-C
    while ONNX Runtime was imported read "not a readable model file", exit 4)."""
    try:
        if argv and argv[0] in SUBCOMMANDS:
            return SUBCOMMANDS[argv[0]](argv[1:])
        return _run_analysis(_analysis_args(argv))
    except Exception:
        if stops:
            raise stops[-1] from None
        raise


def _exit_code(argv: list[str], stops: list[type[KeyboardInterrupt]] | None = None) -> int:
    """Run the command of ``argv``; each failure it may meet as its one line and exit code."""
    from smearscan.errors import LabValueError, SmearscanError, printable

    # A subcommand's errors name it, as its own messages do (QA 63 L9).
    command = f"smearscan {argv[0]}" if argv and argv[0] in SUBCOMMANDS else "smearscan"
    try:
        return _command_code(argv, [] if stops is None else stops)
    except FileNotFoundError as error:
        say(f"{command}: {printable(str(error))}")
        return EXIT_USAGE
    except (LabValueError, _UsageError) as error:
        for line in getattr(error, "urgent", ()):  # a lab file refused whole: its emergencies
            say(line, sys.stdout)
        say(f"{command}: {printable(str(error))}")
        return EXIT_USAGE
    except SmearscanError as error:
        say(f"{command}: {error}")
        return getattr(error, "exit_code", EXIT_FAILURE)
    except MemoryError:
        say(f"{command}: out of memory; lower --max-pixels or --jobs")
        return EXIT_FAILURE
    except BrokenPipeError:
        # A write of a library's own (the review server's address line): its reader left
        # before the command could do its work.
        silence(sys.stdout)
        silence(sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt as error:
        how, code = stop_exit(error)
        say(_stopped_line(argv, how))
        return code


#: What a stopped command left behind, for the commands that do not resume (an analysis with
#: --out resumes; QA 128 L: verdict and review were told to re-run "with the same --out").
_NOT_WRITTEN = {"train": "no model was written (training does not resume)",
                "evaluate": "no metrics were written", "verdict": "nothing was written",
                "export-corrections": "nothing was written",
                "review": "the corrections saved so far are kept"}


def _stopped_line(argv: list[str], how: str) -> str:
    """The one line said on a stop, ``how`` being ``interrupted`` or ``terminated``."""
    command = argv[0] if argv else ""
    if command in _NOT_WRITTEN:
        return f"smearscan {command}: {how}; {_NOT_WRITTEN[command]}"
    out = _out_given(argv)
    if out is None or not out.exists():  # QA 129 F3: stopped before it was made
        return f"smearscan: {how}; nothing was written"
    return f"smearscan: {how}; re-run with the same --out to resume"


def _out_given(argv: list[str]) -> Path | None:
    """The ``--out`` folder of an analysis's ``argv`` (the last given), if any."""
    given = [argv[index + 1] if word == "--out" else word.removeprefix("--out=")
             for index, word in enumerate(argv)
             if word == "--out" and index + 1 < len(argv) or word.startswith("--out=")]
    return Path(given[-1]) if given else None
