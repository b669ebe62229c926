"""Orchestration of a slide run: claim the output folder, resume what can be, stream the rest
through the executor, write each slide when its last field is back, merge the folder."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from smearscan import default_model_path
from smearscan.batch.merged import write_merged_outputs
from smearscan.batch.naming import (
    field_stems,
    moved_note,
    named_slides,
    renamed_notes,
    source_of,
)
from smearscan.batch.outcome import RunOptions, SlideOutcome
from smearscan.batch.resume import (
    PLANNED_NAME,
    RECORD_NAME,
    changed_outputs,
    clear_superseded,
    earlier_outputs,
    fingerprint,
    fingerprint_digests,
    fingerprint_files,
    outcome_of,
    outputs_digests,
    plan_outputs,
    read_record,
    recorded_fields,
    recorded_fingerprints,
    recorded_sources,
    resumed_outcome,
    same_settings,
    sealed,
    slide_labs_digest,
    stale_verdict,
    unreadable_records,
    verdict_rules,
    verdict_rules_changed,
)
from smearscan.batch.summary import SlideBuilder, field_picture, write_slide_cells
from smearscan.errors import LabFileRefusedError, LabValueError, SmearscanError, counted_names
from smearscan.executor import Executor, LocalPool
from smearscan.loading import (
    Slide,
    field_pixels,
    is_output_folder,
    missing_path_problem,
    special_file_reason,
    tells_an_image,
)
from smearscan.outputs import (
    OutputFolderError,
    claim_output_folder,
    kept_files,
    remove_superseded,
    write_bytes_atomic,
    write_json_atomic,
    write_text_atomic,
)
from smearscan.pipeline import analyse_field, cached_model
from smearscan.report import slide_report_html
from smearscan.results import FieldResult, FieldTask, SlideSummary

if TYPE_CHECKING:
    from smearscan.labs import LabRow
    from smearscan.review.reviews import SignOff


class ModelFileError(SmearscanError):
    """The model path is not a file that can be read (a pipe, a device): exit 4, as for any
    model that cannot be loaded, but found before anything is read from it."""

    exit_code = 4


def _image_name(slide: Slide, path: Path) -> str:
    return path.relative_to(slide.root).as_posix()


def _sent(path: Path | None) -> Path | None:
    """``path`` as a task carries it: absolute, for a worker that runs in another folder (a
    ``dask worker`` started elsewhere, on a machine that mounts the inputs at the same place).
    Not resolved: a symbolic link stays as given."""
    return None if path is None else path.absolute()


def field_tasks(slide: Slide, out: Path | None, options: RunOptions) -> list[FieldTask]:
    """The tasks of a slide's fields, with absolute paths (:func:`_sent`; the image names stay
    relative to the slide); with ``out``, they ask for the images the run writes."""
    digests = dict(zip(slide.fields, slide.digests, strict=True)) \
        if len(slide.digests) == len(slide.fields) else {}
    return [FieldTask(slide=slide.name, path=_sent(path), image=_image_name(slide, path),
                      pixel_size_um=options.pixel_size_um, max_pixels=options.max_pixels,
                      model_path=_sent(options.model_path), classify=options.classify,
                      mask=out is not None and options.save_masks,
                      overlay=out is not None and options.overlay, review=out is not None,
                      trust_pixel_size=options.trust_pixel_size,
                      slide_pixel_size_um=slide.own_pixel_size_um,
                      slide_estimate_objects=slide.own_estimate_objects,
                      digest=digests.get(path))
            for path in slide.fields]


def _as_given(result: FieldResult, path: Path) -> FieldResult:
    """A field's result as if it had been read through ``path``, the path as given: its error
    names the file as the user did, whatever path the task carried (:func:`_sent`)."""
    if result.path == path:
        return result
    error = result.error
    if error is not None:
        error = error.replace(str(result.path), str(path))
    return replace(result, path=path, error=error)


@contextmanager
def _model_named_as_given(model_path: Path | None) -> Iterator[None]:
    """An error raised inside (a model a worker could not load) names the model file as the
    user did, not as the tasks carry it (:func:`_sent`)."""
    try:
        yield
    except SmearscanError as error:
        sent = _sent(model_path)
        if sent is not None and sent != model_path and error.args and isinstance(
                error.args[0], str):
            error.args = (error.args[0].replace(str(sent), str(model_path)), *error.args[1:])
        raise


def _slide_folders(name: str) -> tuple[str, str, str]:
    """The folders (relative to DIR) that hold one slide's files only."""
    return f"masks/{name}/", f"overlays/{name}/", f"slides/{name}/"


def _image_paths(slide: Slide, out: Path, stem: str) -> tuple[Path, Path]:
    """Where a field's mask and overlay go."""
    return (out / "masks" / slide.name / f"{stem}.png",
            out / "overlays" / slide.name / f"{stem}.png")


def _written_images(result: FieldResult, paths: tuple[Path, Path]
                    ) -> tuple[FieldResult, list[Path]]:
    """``result`` without its mask and overlay, once this process wrote them to ``paths``
    (workers never write), and the paths written."""
    written = []
    for data, path in zip((result.mask_png, result.overlay_png), paths, strict=True):
        if data is not None:
            write_bytes_atomic(path, data)
            written.append(path)
    return replace(result, mask_png=None, overlay_png=None), written


def _lab_values(path: Path | None, slides: list[Slide], population: str
                ) -> dict[str, LabRow] | None:
    """The lab file's values by slide (:func:`_lab_rows`), checked against the run's slides
    (:func:`~smearscan.labs.check_lab_slides`) before any work; a row's values are judged only
    with its slide (:func:`_with_verdict`), so that a value refused withholds that slide's
    verdict alone and no other run's row is judged (qacli7); None without a lab file.

    Raises
    ------
    LabFileRefusedError
        The file does not fit the run's slides, with the URGENT lines of :func:`_urgent_lines`.
    """
    if path is None:
        return None
    from smearscan.labs import check_lab_slides  # only runs with lab values

    names = [slide.name for slide in slides]
    rows = _lab_rows(path, names, population)
    try:
        check_lab_slides(rows, names, source=str(path))
    except LabValueError as error:
        raise LabFileRefusedError(str(error), _urgent_lines(rows, names, population)) from None
    return rows


def _lab_rows(path: Path, slides: list[str], population: str) -> dict[str, LabRow]:
    """The rows of the lab file at ``path`` (:func:`~smearscan.labs.read_lab_rows`).

    Raises
    ------
    LabFileRefusedError
        The file's structure leaves a row unreadable (which row is whose?): refused whole,
        with the URGENT lines of :func:`_urgent_lines`.
    """
    from smearscan.labs import read_lab_rows

    rows = read_lab_rows(path)
    problem = next((row.problem for row in rows.values() if row.problem is not None), None)
    if problem is not None:
        raise LabFileRefusedError(problem, _urgent_lines(rows, slides, population))
    return rows


def _urgent_lines(rows: Mapping[str, LabRow], slides: list[str], population: str,
                  unnamed: str | None = None) -> list[str]:
    """``"name: URGENT ..."`` for each row of a refused lab file that names one of the run's
    ``slides`` or a slip of one's name ('S1' for 's1'), or names none (a file without slide
    names: ``unnamed``'s, by default the one slide's of a one-slide run, else
    :data:`~smearscan.labs.UNNAMED_ROW`'s), whose values call
    for the line with the smear not yet counted
    (:func:`~smearscan.verdict.urgent_before_counting`, with the ``population``): the
    emergency is not lost with the run (QA 89 #6, QA 102 L5, QA 103 L3; QA 139 H-3: a file
    without slide names for several slides lost it)."""
    from smearscan.labs import UNNAMED_ROW, slide_slips, unnamed_row_source, unnamed_rows
    from smearscan.verdict import urgent_before_counting

    slips = {name for slide in slides for name in slide_slips(slide, rows)}
    # Rows whose slide name is empty beside named ones (QA 140 H-3: refused with no line), or
    # several without any slide name (QA 141 H-4: read together), each said of its row.
    rows_unnamed = unnamed_rows(rows)
    meant = [name for name in rows
             if name in slides or name in slips or (name == "" and not rows_unnamed)]
    unnamed = unnamed or (slides[0] if len(slides) == 1 else UNNAMED_ROW)
    lines = {name or unnamed: urgent_before_counting(rows[name], population) for name in meant}
    lines |= {unnamed_row_source(row): urgent_before_counting(row, population)
              for row in rows_unnamed}
    return [f"{name}: {line}" for name, line in lines.items() if line is not None]


def lab_file_urgent_lines(path: Path, population: str) -> list[str]:
    """The ``"name: URGENT ..."`` lines a lab file's rows call for with the smear not yet
    counted, each named by the slide its row names (:func:`_urgent_lines`): what a run refused
    before its slides are found still says (QA 141 M-1: ``--labs`` with ``--no-classify``);
    values with no slide name said of :data:`~smearscan.labs.UNNAMED_ROW`, as the run's slides
    are not known. No line where the file cannot be read at all (its refusal says why in the
    run)."""
    from smearscan.labs import UNNAMED_ROW, read_lab_rows

    try:
        rows = read_lab_rows(path)
    except LabValueError:
        return []
    return _urgent_lines(rows, [name for name in rows if name], population, UNNAMED_ROW)


def _with_verdict(name: str, summary: SlideSummary, labs: Mapping[str, LabRow] | None,
                  source: Path | None, population: str, unused_rows: tuple[str, ...] = ()
                  ) -> tuple[SlideSummary, str | None]:
    """The summary with the MAHA verdict and the lab values it was given (its row of the lab
    file, ``labs``), when lab values were given for the slide; and why there is no verdict when
    the lab file has no values for it (naming the file's ``unused_rows``, those for no slide of
    the run: a mistyped name is one; qacli3 LOW-4), when a value of its row is refused (the
    row is kept as written, :attr:`~smearscan.results.SlideSummary.refused_labs`), or when a
    value given as a bound leaves it open (the verdict block then holds the URGENT line if the
    values call for it however read). A slide of which no field was analysed keeps the URGENT
    line its row calls for with the smear not counted (QA 140 H-2: a share not mounted, or
    every field unreadable, lost it), with the ``population``."""
    if labs is None:
        return summary, None
    if summary.statistics is None:
        if summary.fields_failed != summary.fields_given:  # not classified (--no-classify)
            return summary, None
        reason = f"no field of slide {name!r} was analysed"
        row = labs.get(name, labs.get(""))
        if row is None:
            return summary, f"no verdict: {reason}"
        from smearscan.verdict import urgent_before_counting

        verdict = {"urgent": urgent_before_counting(row, population), "unresolved": reason}
        try:
            row.judged(population)
        except LabValueError as error:  # QA 145 M-2: said only once the fields were mended
            reason += f"; and its lab values are refused: {error}"
        return replace(summary, verdict=verdict), f"no verdict: {reason}"
    if "" not in labs and name not in labs:
        unused = (f" (its rows for no slide of this run: {', '.join(map(repr, unused_rows))})"
                  if unused_rows else "")
        reason = f"{source} has no lab values for slide {name!r}{unused}"
        return replace(summary, no_verdict=reason), f"no verdict: {reason}"
    from smearscan.verdict import UnresolvedBoundError, slide_verdict

    row = labs.get(name, labs.get(""))
    try:
        summary = replace(summary, labs=row.judged(
            summary.statistics.schistocytes.population))
    except LabValueError:  # the slide keeps its count, and the URGENT line its values call for
        summary = replace(summary, refused_labs=row)
    try:
        return replace(summary, verdict=slide_verdict(summary).to_dict()), None
    except UnresolvedBoundError as error:  # the count still stands
        return replace(summary, verdict=error.to_dict()), f"no verdict for slide {name!r}: {error}"


def finish_slide(slide: Slide, results: Iterator[FieldResult], out: Path | None,
                 options: RunOptions, labs: dict | None, expected: dict | None, *,
                 unused_rows: tuple[str, ...] = ()) -> SlideOutcome:
    """Take a slide's results as they come, then its statistics, verdict and outputs; with
    ``out``, ``slide.json`` (written last) records ``expected``, the fingerprint of the inputs
    when the run began, the digest of every file the slide wrote, and the files an earlier
    analysis of it wrote that this one did not (``superseded``, removed once it is written)."""
    earlier = earlier_outputs(out, slide.name) if out is not None else frozenset()
    stems = _stems(slide)
    folder = out / "slides" / slide.name if out is not None else None
    if folder is not None:
        plan_outputs(out, slide.name, _planned(slide, out, stems, options))
        # QA 76 F1: a run stopped from here on would leave the earlier report, the document a
        # clinician opens, beside this analysis's pictures.
        (folder / "report.html").unlink(missing_ok=True)
    images: list[Path] = []  # masks and overlays written, in field order
    with write_slide_cells(folder) or nullcontext() as cells:
        builder = SlideBuilder(slide.name, cells, folder)
        for stem, result in zip(stems, results, strict=True):
            if out is not None:
                result, saved = _written_images(result, _image_paths(slide, out, stem))
                images += saved
            builder.add(result, stem)
        builder.finish_cells()
    summary = replace(builder.summary(options.population,
                                      own_pixel_size_um=slide.own_pixel_size_um,
                                      pixel_size_trusted=options.trust_pixel_size),
                      copies=slide.copies, left_out=slide.left_out,
                      not_analysed=slide.not_analysed)
    problems = list(slide.problems)
    summary, unresolved = _with_verdict(slide.name, summary, labs, options.labs_path,
                                        options.population, unused_rows)
    problems += [unresolved] if unresolved else []
    errors = builder.errors + [(slide.name, "", problem) for problem in problems]
    model = builder.model
    model_summary = model.to_dict() if model is not None else None
    outcome = SlideOutcome(slide.name, summary, errors=errors, model=model_summary,
                           source=source_of(slide, out))
    if folder is not None:
        outcome.report = folder / "report.html"
        write_text_atomic(outcome.report, slide_report_html(
            slide.name, summary, builder.report_parts(),
            model_version=model.version if model else None))
        # Only what this analysis wrote: a file an earlier one left is stale, not an output.
        outputs = outputs_digests(out, [folder / "cells.csv", folder / "report.html",
                                        *builder.written, *images])
        # Recorded before removal, so that a run killed in between leaves them to the next.
        outcome.superseded = tuple(sorted(
            name for name in earlier - set(outputs) if name.startswith(_slide_folders(
                slide.name)) and name != f"slides/{slide.name}/{RECORD_NAME}"))
        write_json_atomic(folder / RECORD_NAME, sealed({
            # Where the fields are, for the review app's field views (not in the fingerprint:
            # the same fields read through another path are the same inputs).
            "root": str(slide.root.absolute()),
            "fingerprint": expected, "summary": summary.to_dict(),
            "errors": [list(e) for e in errors], "unread": builder.unread,
            "model": model_summary, "outputs": outputs,
            "superseded": list(outcome.superseded),
            "verdict_rules": verdict_rules(labs_given=labs is not None)}))
        (folder / PLANNED_NAME).unlink(missing_ok=True)
    return outcome


def _remove_superseded(out: Path, name: str, superseded: tuple[str, ...],
                       on_note: Callable[[str], None]) -> None:
    """Remove the files an earlier analysis of the slide wrote and this one did not, then
    clear them from its ``slide.json``, which listed them first so that a run killed in between
    leaves them to the next; ``on_note`` says which (QA 91 F5b: a run without ``--save-masks``
    removed the masks of one with it without a word)."""
    if superseded:
        remove_superseded(out, superseded)
        clear_superseded(out, name)
        on_note(f"slide {name!r}: removed {counted_names(list(superseded), 'file')} an earlier "
                "analysis wrote and this one did not (no longer asked for, or of a field since "
                "removed): they would not match its results")


def _refuse_replacing(slides: list[Slide], out: Path, options: RunOptions) -> None:
    """Refuse (:class:`~smearscan.outputs.OutputFolderError`, before any work) a run that
    would write over a file smearscan did not write: in a folder it did not make (``--force``),
    any file there (QA 86 #6: a user's overlays/ and masks/ pictures were replaced), checked
    before the folder is claimed, which checks the top-level outputs; in one it marked so, the
    files its marker lists as there before (:func:`~smearscan.outputs.kept_files`; QA 87 #8: a
    later run with --save-masks replaced them)."""
    marked = is_output_folder(out)
    kept = kept_files(out) if marked else frozenset()
    # Of the kept files, those a slide's analysis wrote since are its own.
    theirs = {slide.name: kept - earlier_outputs(out, slide.name) if marked else None
              for slide in slides}
    existing = sorted(name for slide in slides
                      for name in (path.relative_to(out).as_posix()
                                   for path in _planned(slide, out, _stems(slide), options))
                      if os.path.lexists(out / name)
                      and (theirs[slide.name] is None or name in theirs[slide.name]))
    if not existing:
        return
    more = f" and {len(existing) - 3} more" if len(existing) > 3 else ""
    whose = ("which were there before smearscan first wrote into it (--force)" if marked
             else "and it is not made by smearscan")
    raise OutputFolderError(
        f"{out}: this run would write over {', '.join(existing[:3])}{more}, {whose}: smearscan "
        "writes beside other files but never replaces them; move them, or choose another --out")


def _stems(slide: Slide) -> list[str]:
    """The slide's field stems, as its outputs name them."""
    return field_stems([_image_name(slide, path) for path in slide.fields])


def _planned(slide: Slide, out: Path, stems: list[str], options: RunOptions) -> list[Path]:
    """Every file the slide's analysis may write into ``out`` (QA 62 F6: overlays asked for
    without masks were left out, and a killed run's were never removed)."""
    folder = out / "slides" / slide.name
    asked = (options.save_masks, options.overlay)
    images = [path for stem in stems
              for path, wanted in zip(_image_paths(slide, out, stem), asked, strict=True)
              if wanted]
    return [folder / "cells.csv", folder / "report.html",
            *(field_picture(folder, stem)[0] for stem in stems), *images]


#: Peak memory of one field beyond a worker's own, per pixel: ``scripts/benchmark.py --only
#: bounds`` measured 47-49 bytes/pixel for a 47 Mpx field of cells (25-28 for a blank one);
#: rounded up for a margin. A rule of this tool's own.
FIELD_BYTES_PER_PIXEL = 60
#: A worker's memory before any field: with the classifier (torch, model) and without.
_WORKER_BYTES = {True: 800 * 2**20, False: 150 * 2**20}


def _available_memory() -> int | None:
    """Bytes the system can give without swapping (Linux ``MemAvailable``), else None."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def jobs_within_memory(jobs: int, slides: list[Slide], *, classify: bool) -> int:
    """``jobs``, lowered so that as many workers each holding the largest field fit in the
    available memory (at least 1). For the default ``--jobs``: a chosen number is kept."""
    available = _available_memory()
    if jobs <= 1 or available is None:
        return jobs
    largest = max((field_pixels(path) or 0 for slide in slides for path in slide.fields),
                  default=0)
    per_worker = _WORKER_BYTES[classify] + largest * FIELD_BYTES_PER_PIXEL
    return max(1, min(jobs, available // per_worker))


def _check_option_files(options: RunOptions, slides: list[Slide]) -> None:
    """Refuse a model or lab file that is a pipe or device before anything reads it, and a lab
    file that cannot be read, or whose structure leaves a row unreadable (:func:`_lab_rows`,
    for the ``slides`` given), before the output folder is made (QA 29 L2: a refused run left
    an empty one); its slide names are checked once the slides are named, a row's values only
    with its slide (:func:`_with_verdict`)."""
    if options.classify:
        model = options.model_path or default_model_path()
        reason = special_file_reason(model)
        if reason:
            raise ModelFileError(f"{model}: {reason}; cannot be a model file")
    if options.labs_path is not None:
        reason = special_file_reason(options.labs_path)
        if reason:
            raise LabValueError(f"{options.labs_path}: {reason}; cannot be a lab file")
        _lab_rows(options.labs_path, [slide.name for slide in slides], options.population)


def analyse_slides(slides: list[Slide], *, out: Path | None, options: RunOptions,
                   executor: Executor | None = None, progress: bool = True,
                   force: bool = False, on_slide: Callable[[SlideOutcome], None] | None = None,
                   on_folder_problem: Callable[[tuple[str, str, str]], None] | None = None,
                   on_note: Callable[[str], None] | None = None) -> list[SlideOutcome]:
    """Analyse every slide (resuming finished ones from ``out``) and write the merged outputs.

    Fields of all slides stream through ``executor`` (default: this process alone,
    :class:`~smearscan.executor.LocalPool`; Dask: :class:`~smearscan.executor.DaskExecutor`)
    in one pass, so its workers stay busy across slide boundaries. Results are matched to their
    field by key, ``(slide, image)``, whatever order they come back in; a slide is written as
    soon as its last field is back, by this process only. With ``out`` the folder is claimed
    for the run (:func:`~smearscan.outputs.claim_output_folder`; ``force`` writes into a
    non-empty folder that smearscan did not make) and the merged outputs cover every slide it
    holds. ``progress`` shows a bar on stderr; ``on_slide`` is called with each slide of the run
    as it is finished (resumed slides first), ``on_folder_problem`` with ``(slide, "", reason)`` for
    each problem of ``out`` found when merging: a slide left out of the merged outputs (its
    files changed by hand), a review that could not be read (also in ``errors.csv``);
    ``on_note`` with a line on a finished slide analysed again because files it wrote were
    changed since, and, before any field is read, with the URGENT line each slide's lab values
    call for alone (:func:`~smearscan.verdict.urgent_before_counting`).

    Returns
    -------
    list of SlideOutcome
        This run's slides, in the order given.
    """
    _check_option_files(options, slides)
    if out is not None and force and Path(out).is_dir() and not is_output_folder(out):
        # Another's folder written into: refused before it is marked as smearscan's.
        _refuse_replacing(named_slides(slides, {}, out), out, options)
    elif out is not None and kept_files(out):
        recorded = recorded_fingerprints(out)
        _refuse_replacing(named_slides(slides, recorded_sources(recorded), out,
                                       recorded_fields=recorded_fields(recorded)), out, options)
    with claim_output_folder(out, force=force) if out is not None else nullcontext():
        return _analyse(slides, out, options, executor or LocalPool(1), progress,
                        on_slide or _ignored, on_folder_problem or _ignored, on_note or _ignored)


def _ignored(item: object) -> None:
    """No callback."""


def _analyse(slides: list[Slide], out: Path | None, options: RunOptions, executor: Executor,
             progress: bool, on_slide: Callable[[SlideOutcome], None],
             on_folder_problem: Callable[[tuple[str, str, str]], None],
             on_note: Callable[[str], None]) -> list[SlideOutcome]:
    recorded = recorded_fingerprints(out) if out is not None else {}
    sources, fields = recorded_sources(recorded), recorded_fields(recorded)
    given, slides = slides, named_slides(slides, sources, out, recorded_fields=fields)
    for note in renamed_notes(given, slides, sources, out):
        on_note(note)
    for slide in slides:
        if (note := moved_note(slide, sources, fields, out)) is not None:
            on_note(note)
    if options.classify and executor.in_process:
        # This process classifies: fail on a bad model before any work. Workers load it
        # themselves (and fail on their first field), so that with workers this process never
        # loads a model it does not use. The tasks' path: one model in memory, not two.
        with _model_named_as_given(options.model_path):
            cached_model(_sent(options.model_path))
    # By the names the slides are written under.
    labs = _lab_values(options.labs_path, slides, options.population)
    # QA 154 H-1: the line a slide's lab values call for alone was said only once every slide
    # was done, and never by a run stopped before.
    for line in _urgent_lines(labs or {}, [slide.name for slide in slides], options.population):
        on_note(f"before counting, from the lab values alone: {line}")
    unused_rows = tuple(sorted(set(labs or {}) - {slide.name for slide in slides} - {""}))
    if unused_rows:
        # QA 119 M1: once every slide had its row, another's (a name typed unlike any slide's,
        # another batch's patient) was dropped without a word.
        on_note(f"{options.labs_path}: lab values for no slide of this run, not used: "
                f"{', '.join(map(repr, unused_rows))}")
        # QA 157 M-5: another batch's patient's emergency was not said.
        for line in _urgent_lines({name: labs[name] for name in unused_rows}, list(unused_rows),
                                  options.population):
            on_note(f"{options.labs_path}, for no slide of this run: {line}")
    # Taken once, before any field is read: a file changed during the run redoes its slide.
    expected = {s.name: fingerprint(s, options, out, labs=slide_labs_digest(
        s.name, labs, options.labs_path, unused_rows, options.population))
        for s in slides} if out is not None else {}
    outcomes: dict[str, SlideOutcome] = {}
    pending = []
    for slide in slides:
        resumed = resumed_outcome(slide, out, expected[slide.name]) if out else None
        if resumed is None and out and (kept := _kept_while_unreadable(
                slide, out, expected[slide.name], on_note)) is not None:
            outcomes[slide.name] = kept
            on_slide(kept)
            continue
        if resumed is None:
            if out and verdict_rules_changed(out, slide.name, expected[slide.name]):
                on_note(f"slide {slide.name!r}: its MAHA verdict was made under rules since "
                        "changed; the slide is analysed again")
            changed = changed_outputs(out, slide.name, expected[slide.name]) if out else []
            if changed:  # a technologist's edit is replaced: not without a word
                from smearscan.review.reviews import change_cut_short

                # QA 52 F8: a review change cut short was blamed on a hand edit.
                why = ("a review change was cut short while writing them"
                       if change_cut_short(out, slide.name)
                       else "changed since smearscan wrote them")
                on_note(f"slide {slide.name!r}: {why}: {counted_names(changed, 'file')}; the "
                        "slide is analysed again and its files written anew")
            pending.append(slide)
        else:
            _remove_superseded(out, slide.name, resumed.superseded, on_note)  # killed before it
            outcomes[slide.name] = resumed
            on_slide(resumed)
    for slide, results in _grouped(pending, out, options, executor, progress):
        outcomes[slide.name] = finish_slide(slide, results, out, options, labs,
                                            expected.get(slide.name), unused_rows=unused_rows)
        if out is not None:
            _remove_superseded(out, slide.name, outcomes[slide.name].superseded, on_note)
        on_slide(outcomes[slide.name])
    if out is not None:
        problems, earlier = _merge_folder(out, outcomes, expected)
        for problem in problems:
            on_folder_problem(problem)
        if earlier:
            # QA 154 M-3: a slide whose folder was deleted stayed in them without a word.
            on_note(f"{out}: its merged outputs (summary.json, cells.csv) also hold "
                    f"{counted_names(earlier, 'slide')} of earlier runs, not given in this one "
                    f"(remove {out / 'slides'}/NAME to drop one)")
    return [outcomes[s.name] for s in slides]


def _kept_while_unreadable(slide: Slide, out: Path, expected: dict,
                           on_note: Callable[[str], None]) -> SlideOutcome | None:
    """The earlier analysis in ``out`` of a slide of which no image can be read now (a link to
    a share not mounted, or images that are; a folder that cannot be listed or holds no image),
    or only some, kept as it was, with why among its errors, where it was made with the
    ``expected`` settings and lab values (:func:`~smearscan.batch.resume.same_settings`) under
    today's verdict rules (else its verdict may not be today's); of only some, where it was
    made from the slide's images of today (:func:`_rest_as_recorded`: QA 147 M-1, the count was
    made again without those not read); of none, said to count images no longer in the slide
    or not those added since (:func:`_images_since`; QA 149 M-2: not said; QA 151 M-3: not
    kept, an empty slide replaced it). ``on_note`` is told why one is not kept (QA 147 M-2, QA
    149 L-2: nothing said why). None where there is none to keep (QA 141 M-2: a share not
    mounted for a moment replaced a finished count and its field pictures by an empty
    slide)."""
    gone = [field for field in slide.fields if not field.exists()]
    if slide.left_out is not None or not (gone or slide.problems):
        return None
    record = read_record(out, slide.name)
    if record is None:
        return None
    every = len(gone) == len(slide.fields)  # or a folder that cannot be listed: none known
    # QA 149 L-1: "no image of it can be read" was said of a slide with one read.
    unread = ("its images cannot be read now" if every
              else f"{len(gone)} of its {len(slide.fields)} images cannot be read now")
    recorded = dict(fingerprint_files(record.get("fingerprint")) or ())
    now = dict(expected["files"])
    since = _images_since(recorded, now) if every and slide.fields else ""
    if since:
        unread += f", and it {since}"
    elif not every and not _rest_as_recorded(slide, gone, recorded, now):
        on_note(f"slide {slide.name!r}: {unread}, and its images are not those its earlier "
                "analysis read (one added, removed or changed): not kept")
        return None
    # QA 146 H-4: a verdict made under rules since changed is not kept (its line may be gone).
    if not same_settings(record.get("fingerprint"), expected) or stale_verdict(record):
        on_note(f"slide {slide.name!r}: {unread}, and its earlier analysis was made with other "
                "options, lab values or verdict rules: not kept")
        return None
    try:
        kept = outcome_of(out, slide.name, record, resumed=True)
    except ValueError:  # a summary this version cannot read: nothing to keep
        return None
    # QA 146 M-1: fields that are links to a share not mounted are each a link to nothing;
    # each named in the image column (QA 147 L-1).
    problems = [("", problem) for problem in slide.problems] + [
        (_image_name(slide, field), f"{field}: {missing_path_problem(field)}") for field in gone]
    why = [(slide.name, image, f"{problem}; the slide's earlier analysis is kept as it was")
           for image, problem in problems]
    why += [(slide.name, "", f"the slide's earlier analysis, kept while none of its images can "
             f"be read, {since}")] if since else []
    # An image that analysis could not read either is said once, as it stands now.
    said = {image for _, image, _ in why}
    earlier = [error for error in kept.errors if not error[1] or error[1] not in said]
    return replace(kept, errors=[*earlier, *why], kept=unread)


def _images_since(recorded: dict[str, str | None], now: dict[str, str | None]) -> str:
    """What an earlier analysis of a slide none of whose images can be read now counts of
    images no longer in it, and not of images added since (its ``recorded`` fields, and those
    of ``now``, each by name), in words (``"counts 1 image (a3.jpg) no longer in the
    slide"``); empty where they are the same."""
    then = recorded.keys()
    said = [f"counts {counted_names(sorted(then - now), 'image')} no longer in the slide"
            ] if then - now else []
    said += [f"does not count {counted_names(sorted(now - then), 'image')} added since"
             ] if now - then else []
    return " and ".join(said)


def _rest_as_recorded(slide: Slide, gone: list[Path], recorded: dict[str, str | None],
                      now: dict[str, str | None]) -> bool:
    """Whether the fields of ``slide`` not ``gone`` are the images its earlier analysis read
    (``recorded``: by name and content, as ``now`` reads them), and the ``gone`` ones images it
    read or could not read either (QA 162 M1: such a slide was analysed again on every run,
    said to hold other images): the slide's earlier analysis is of the same images (none
    recorded: not)."""
    names = {path.relative_to(slide.root).as_posix() for path in gone}
    return now.keys() == recorded.keys() and all(
        (recorded[name] is None or tells_an_image(recorded[name])) if name in names
        else tells_an_image(recorded[name]) and digest == recorded[name]
        for name, digest in now.items())


def _unsealed_why(out: Path, name: str) -> str:
    """Why a slide folder's files no longer match its sealed record: an analysis of it that
    was stopped while it wrote them (its plan is still there, QA 76 F1: this read as a hand
    edit), or a change made after smearscan wrote them."""
    if (out / "slides" / name / PLANNED_NAME).is_file():
        return ("its analysis was stopped while it wrote the slide's files, so they mix two "
                "analyses")
    return "its files changed after smearscan wrote them"


def _merge_folder(out: Path, outcomes: dict[str, SlideOutcome], expected: dict[str, dict]
                  ) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Merged outputs over this run's slides and every other intact slide in ``out``, each
    with its technologist's review where there is one (also given to ``outcomes``, whose
    slides the run reports); returns the problems found
    (``(slide, "", reason)``: a slide left out, a review that could not be read; also in
    ``errors.csv``) and the names of the earlier runs' slides the merged outputs hold, sorted."""
    everything = {name: (outcome, expected[name]) for name, outcome in outcomes.items()}
    held = {digest: name for name in outcomes for digest in fingerprint_digests(expected[name])}
    problems = []
    recorded = recorded_fingerprints(out)
    # QA 62 F4: such a slide was left out of the merged outputs without a word.
    problems += [(name, "", f"{out / 'slides' / name}: its {RECORD_NAME} cannot be read (cut "
                  "short or edited by hand); left out of the merged outputs (run its input again "
                  "to redo it)") for name in unreadable_records(out, recorded)
                 if name not in everything]
    for name in _newest_first(out, recorded_sources(recorded)):
        if name in everything:
            continue
        record = read_record(out, name)
        if record is None:
            problems.append((name, "", f"{out / 'slides' / name}: {_unsealed_why(out, name)}; "
                             "left out of the merged outputs (run its input again to redo it)"))
            continue
        digests = fingerprint_digests(record.get("fingerprint"))
        if digests and all(digest in held for digest in digests):
            # A slide folder renamed or moved since: its cells would count twice. A sign-off is
            # a person's work and is never dropped unseen (qacli5 MEDIUM-2).
            signoff = _signoff(out / "slides" / name)
            holders = sorted({held[digest] for digest in digests})  # qacli7: a slide split
            problems.append((name, "", f"{out / 'slides' / name}: every image of it is in "
                             f"{_slides_named(holders)}, analysed later (renamed or moved?); "
                             + ("left out of the merged outputs (remove the folder to drop it "
                                "for good)" if signoff is None else
                                f"kept in the merged outputs, as it was signed off by "
                                f"{signoff.reviewer} on {signoff.time}: remove the folder you do "
                                "not want")))
            if signoff is None:
                continue
        held |= {digest: name for digest in digests if digest not in held}
        try:
            everything[name] = (outcome_of(out, name, record, resumed=True),
                                record["fingerprint"])
        except ValueError as error:
            problems.append((name, "", f"{out / 'slides' / name}: {error}; left out of the "
                             "merged outputs (run its input again to redo it)"))
    merged = [_reviewed(out, outcome, fingerprint, problems)
              for outcome, fingerprint in everything.values()]
    write_merged_outputs(out, merged, problems)
    for outcome in merged:  # the run's own slides are reported with their reviews too
        if outcome.name in outcomes:
            outcomes[outcome.name].summary = outcome.summary
    return problems, sorted(name for name in everything if name not in outcomes)


def _slides_named(names: list[str]) -> str:
    """``slide 'a'``, or ``slides 'a' and 'b'``."""
    quoted = [repr(name) for name in names]
    if len(quoted) == 1:
        return f"slide {quoted[0]}"
    return f"slides {', '.join(quoted[:-1])} and {quoted[-1]}"


def _signoff(folder: Path) -> SignOff | None:
    """The sign-off of the slide in ``folder``, None without one (or with an unreadable review,
    which :func:`_reviewed` reports)."""
    from smearscan.review.records import ReviewError
    from smearscan.review.reviews import read_review

    try:
        review = read_review(folder)
    except ReviewError:
        return None
    return review.signoff if review is not None else None


def _newest_first(out: Path, names: Iterable[str]) -> list[str]:
    """Slide folders of ``out`` by when their record was written, the newest first."""
    def written(name: str) -> float:
        try:
            return (out / "slides" / name / RECORD_NAME).stat().st_mtime
        except OSError:
            return 0.0
    return sorted(names, key=written, reverse=True)


def _reviewed(out: Path, outcome: SlideOutcome, fingerprint: dict,
              problems: list[tuple[str, str, str]]) -> SlideOutcome:
    """The outcome with its review (``smearscan review``): kept while the slide's inputs are
    unchanged, flagged when they changed; a reviewed slide analysed again gets its report
    issued again with its review (on the reviewed cells once signed off). Only a reviewed
    slide's cells are read into memory. An unreadable ``review.json`` is added to ``problems``
    and the slide merged without it: one damaged file must not stop every other slide's
    outputs."""
    from smearscan.review.records import ReviewError
    from smearscan.review.reviews import (
        PENDING_FILE,
        change_cut_short,
        read_review,
        reviewed_outcome,
    )

    folder = out / "slides" / outcome.name
    try:
        review = read_review(folder)
    except ReviewError as error:
        problems.append((outcome.name, "", f"{error}; merged without its review"))
        return outcome
    if review is None:
        return outcome
    cells = (folder / "cells.csv").read_text(encoding="utf-8", errors="surrogateescape")
    reviewed = reviewed_outcome(replace(outcome, cells_csv=cells), out, fingerprint)
    interrupted = change_cut_short(out, outcome.name)
    if not outcome.resumed or interrupted:
        # Analysed again (new lab values, changed fields), or a review change was interrupted:
        # its report was written without the review as it stands, which it must show (signed
        # off) or say is in progress or set aside.
        from smearscan.batch.reissue import reissue_report

        try:
            reissue_report(out, outcome.name, reviewed.summary, review)
        except ReviewError as error:
            problems.append((outcome.name, "", f"{error}; its report.html does not show the "
                             f"slide's review ({reviewed.summary.review['status']})"))
        else:
            (folder / PENDING_FILE).unlink(missing_ok=True)
    return reviewed


def _grouped(slides: list[Slide], out: Path | None, options: RunOptions, executor: Executor,
             progress: bool) -> Iterator[tuple[Slide, Iterator[FieldResult]]]:
    """Each slide with an iterator over its fields' results in field order, to be used up before
    the next. Results that come back early wait, matched by their key, until their turn: an
    engine's order is never taken for the fields' order."""
    tasks = {slide.name: field_tasks(slide, out, options) for slide in slides}
    bar = tqdm(total=sum(map(len, tasks.values())), unit="field", disable=not progress,
               file=sys.stderr, desc=f"{len(slides)} slide(s)")
    # The classifier's modules (ONNX Runtime) are what a worker takes longest to import.
    preload = ("smearscan.pipeline", "smearscan.classification") if options.classify else (
        "smearscan.pipeline",)
    results = executor.map_unordered(
        analyse_field, (task for slide in slides for task in tasks[slide.name]), preload=preload)
    early: dict[tuple[str, str], FieldResult] = {}

    def fields_of(slide: Slide) -> Iterator[FieldResult]:
        for task, path in zip(tasks[slide.name], slide.fields, strict=True):
            while task.key not in early:
                with _model_named_as_given(options.model_path):
                    result = next(results)
                early[result.key] = result
                bar.update()
            yield _as_given(early.pop(task.key), path)

    with bar:
        for done, slide in enumerate(slides, start=1):
            yield slide, fields_of(slide)
            bar.set_postfix_str(f"slides done {done}/{len(slides)}")
