"""Slide runs: group fields into slides, analyse them, write and resume the output folder.

Output layout (``DIR`` is ``--out``)::

    DIR/cells.csv, DIR/summary.json, DIR/errors.csv      merged over all slides
    DIR/slides/<slide>/cells.csv, slide.json              one slide, written when it completes
    DIR/masks/<slide>/<image stem>.png                    with --save-masks
    DIR/overlays/<slide>/<image stem>.png                 with --overlay
    DIR/slides/<slide>/review.json                        written by ``smearscan review``

``slide.json`` is written last and records a fingerprint of the inputs (path, size, mtime of
every field) and of the settings: a re-run with the same ``--out`` skips a slide whose
``slide.json`` matches, and redoes it otherwise. Every file is written atomically.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from smearscan import __version__, default_model_path
from smearscan.labs import read_labs_file
from smearscan.loading import DEFAULT_MAX_PIXELS, Slide
from smearscan.outputs import (
    check_writable_folder,
    columns_csv_text,
    csv_text,
    remove_stale_temporaries,
    write_json_atomic,
    write_text_atomic,
)
from smearscan.pipeline import (
    FieldResult,
    FieldTask,
    ModelInfo,
    analyse_field,
    cached_model,
    map_fields,
)
from smearscan.report import slide_report_html
from smearscan.review.store import reviewed_outcome

ERROR_HEADER = ("slide", "image", "error")


@dataclass(frozen=True)
class RunOptions:
    """Settings of a run that change its results (they enter the resume fingerprint)."""

    pixel_size_um: float | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS
    model_path: Path | None = None
    classify: bool = True
    save_masks: bool = False
    overlay: bool = False
    population: str = "adult"
    labs_path: Path | None = None


@dataclass
class SlideOutcome:
    """One analysed (or resumed) slide."""

    name: str
    summary: dict
    cells_csv: str
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    resumed: bool = False
    model: dict | None = None
    report: Path | None = None


def unique_slide_names(slides: list[Slide]) -> list[Slide]:
    """Rename slides whose names repeat (two folders ``a/s1`` and ``b/s1``) to ``s1-2``...

    A new name never takes one that another slide already has.
    """
    taken = {slide.name for slide in slides}
    used: set[str] = set()
    renamed = []
    for slide in slides:
        name, suffix = slide.name, 1
        while name in used or (name != slide.name and name in taken):
            suffix += 1
            name = f"{slide.name}-{suffix}"
        used.add(name)
        renamed.append(replace(slide, name=name))
    return renamed


def _image_name(slide: Slide, path: Path) -> str:
    return path.relative_to(slide.root).as_posix()


def _fingerprint(slide: Slide, options: RunOptions) -> dict:
    files = [[_image_name(slide, path), *(_file_stamp(path) or [-1, -1])]
             for path in slide.fields]
    settings = {k: str(v) for k, v in asdict(options).items()}
    # Results depend on the model and lab values themselves, not only on their paths: a new
    # shipped model or an edited labs file must redo the slide.
    settings["model"] = _file_digest(options.model_path or default_model_path()
                                     ) if options.classify else None
    settings["labs_file"] = _file_stamp(options.labs_path)
    # A folder that was unreadable and is now readable but empty must not resume the old error.
    return {"version": __version__, "settings": settings, "files": files,
            "problems": list(slide.problems)}


def _file_stamp(path: Path | None) -> list[int] | None:
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def _file_digest(path: Path) -> str | None:
    """SHA-256 of a file's content (a few ms for a model file; no torch needed)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _output_stems(slide: Slide) -> list[str]:
    """Per field, the name of its mask/overlay PNG: the image's path without suffix, or with it
    when two fields of the slide share a stem (``a.jpg`` and ``a.png``)."""
    images = [_image_name(slide, path) for path in slide.fields]
    stems = [Path(image).with_suffix("").as_posix() for image in images]
    return [image if stems.count(stem) > 1 else stem for image, stem in zip(images, stems,
                                                                             strict=True)]


def _field_tasks(slide: Slide, out: Path | None, options: RunOptions) -> list[FieldTask]:
    tasks = []
    for path, stem in zip(slide.fields, _output_stems(slide), strict=True):
        tasks.append(FieldTask(
            slide=slide.name, path=path, image=_image_name(slide, path),
            pixel_size_um=options.pixel_size_um, max_pixels=options.max_pixels,
            model_path=options.model_path, classify=options.classify,
            mask_path=out / "masks" / slide.name / f"{stem}.png"
            if out and options.save_masks else None,
            overlay_path=out / "overlays" / slide.name / f"{stem}.png"
            if out and options.overlay else None,
            review=out is not None,
        ))
    return tasks


def _slide_columns(slide: str, results: list[FieldResult]) -> dict[str, np.ndarray]:
    good = [r for r in results if r.error is None and r.count]
    if not good:
        return {"slide": np.array([], dtype=object), "image": np.array([], dtype=object)}
    names = list(good[0].cells)
    columns = {
        "slide": np.concatenate([np.full(r.count, slide, dtype=object) for r in good]),
        "image": np.concatenate([np.full(r.count, r.image, dtype=object) for r in good]),
    }
    for name in names:
        columns[name] = np.concatenate([r.cells[name] for r in good])
    return columns


def _class_counts(cells: dict[str, np.ndarray]) -> dict[str, int]:
    if "class" not in cells:
        return {}
    whole = ~cells["border"].astype(bool)
    names, counts = np.unique(cells["class"][whole], return_counts=True)
    return {str(n): int(c) for n, c in zip(names, counts, strict=True)}


def _field_summary(result: FieldResult) -> dict:
    if result.error is not None:
        return {"image": result.image, "error": result.error}
    border = result.cells["border"].astype(bool) if result.count else np.zeros(0, bool)
    return {
        "image": result.image, "width": result.width, "height": result.height,
        "objects": result.count, "border_objects": int(border.sum()),
        "pixel_size_um": result.pixel_size_um,
        "pixel_size_estimated": result.pixel_size_estimated,
        "counts": _class_counts(result.cells) if result.count else {},
    }


def _slide_summary(slide: Slide, results: list[FieldResult], columns: dict[str, np.ndarray],
                   options: RunOptions, model: ModelInfo | None) -> dict:
    good = [r for r in results if r.error is None]
    sizes = [r.pixel_size_um for r in good if np.isfinite(r.pixel_size_um)]
    summary = {
        "fields": len(results), "fields_failed": len(results) - len(good),
        "objects": int(sum(r.count for r in good)),
        "pixel_size_um": float(np.median(sizes)) if sizes else None,
        "pixel_size_estimated": any(r.pixel_size_estimated for r in good),
        "counts": _class_counts(columns) if "class" in columns else {},
        "per_field": [_field_summary(r) for r in results],
    }
    if "class" in columns:
        summary |= _slide_statistics(columns, options, model)
    return summary


def _slide_statistics(columns: dict[str, np.ndarray], options: RunOptions,
                      model: ModelInfo | None) -> dict:
    from smearscan.slide_stats import slide_result

    return slide_result(label=columns["class"], morphology=columns["morphology"],
                        border=columns["border"].astype(bool),
                        operating=model.operating if model is not None else None,
                        population=options.population).to_dict()


def _model_of(results: list[FieldResult]) -> ModelInfo | None:
    """The classifier that made a slide's calls (every classified field carries it)."""
    return next((r.model for r in results if r.model is not None), None)


def _verdict(name: str, summary: dict, labs: dict | None) -> tuple[dict, str] | None:
    """The MAHA verdict of a slide when lab values were given for it."""
    if labs is None or ("" not in labs and name not in labs) or "schistocytes" not in summary:
        return None
    from smearscan.verdict import assess, format_text, smear_findings_from_summary

    verdict = assess(smear_findings_from_summary({"slides": {name: summary}}, name),
                     labs.get(name, labs.get("")))
    return verdict.to_dict(), format_text(verdict)


def _finish_slide(slide: Slide, results: list[FieldResult], out: Path | None,
                  options: RunOptions, labs: dict | None, fingerprint: dict | None
                  ) -> SlideOutcome:
    """Statistics, verdict and outputs of an analysed slide; with ``out``, ``slide.json``
    records ``fingerprint``, the state of the inputs when the run began."""
    columns = _slide_columns(slide.name, results)
    model = _model_of(results)
    summary = _slide_summary(slide, results, columns, options, model)
    verdict = _verdict(slide.name, summary, labs)
    if verdict is not None:
        summary["verdict"] = verdict[0]
    errors = [(slide.name, r.image, r.error) for r in results if r.error is not None]
    errors += [(slide.name, "", problem) for problem in slide.problems]
    model_summary = ({"version": model.version, "operating_points": model.operating}
                     if model is not None else None)
    outcome = SlideOutcome(slide.name, summary, columns_csv_text(columns), errors,
                           model=model_summary)
    if out is not None:
        folder = out / "slides" / slide.name
        write_text_atomic(folder / "cells.csv", outcome.cells_csv)
        outcome.report = folder / "report.html"
        write_text_atomic(outcome.report, slide_report_html(
            slide.name, summary, results, model_version=model.version if model else None,
            verdict_text=verdict[1] if verdict else None))
        write_json_atomic(folder / "slide.json", {
            # Where the fields are, for the review app's field views (not in the fingerprint:
            # the same fields read through another path are the same inputs).
            "root": str(slide.root.absolute()),
            "fingerprint": fingerprint, "summary": summary,
            "errors": [list(e) for e in errors], "model": model_summary,
        })
    return outcome


def _resumed(slide: Slide, out: Path, fingerprint: dict) -> SlideOutcome | None:
    folder = out / "slides" / slide.name
    try:
        record = json.loads((folder / "slide.json").read_text(encoding="utf-8"))
        cells_csv = (folder / "cells.csv").read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
    if record.get("fingerprint") != json.loads(json.dumps(fingerprint)):
        return None
    errors = [tuple(e) for e in record.get("errors", [])]
    report = folder / "report.html"
    return SlideOutcome(slide.name, record["summary"], cells_csv, errors, resumed=True,
                        model=record.get("model"), report=report if report.exists() else None)


def analyse_slides(slides: list[Slide], *, out: Path | None, options: RunOptions,
                   jobs: int = 1, progress: bool = True) -> list[SlideOutcome]:
    """Analyse every slide (resuming finished ones from ``out``) and write the merged outputs.

    Fields of all slides stream through :func:`~smearscan.pipeline.map_fields` in one pass, so
    ``jobs`` workers stay busy across slide boundaries; a slide is written as soon as its last
    field is back.
    """
    slides = unique_slide_names(slides)
    if out is not None:
        # An unwritable --out must fail now, not after hours of analysis.
        check_writable_folder(out)
        remove_stale_temporaries(out)
    if options.classify and jobs <= 1:
        # This process classifies: fail on a bad model before any work. Workers load it
        # themselves (and fail on their first field), so that with --jobs N this process never
        # spends the seconds torch takes to import.
        cached_model(options.model_path)
    # Taken once, before any field is read: a file changed during the run redoes its slide.
    fingerprints = {s.name: _fingerprint(s, options) for s in slides} if out is not None else {}
    outcomes: dict[str, SlideOutcome] = {}
    pending = []
    for slide in slides:
        resumed = _resumed(slide, out, fingerprints[slide.name]) if out is not None else None
        if resumed is None:
            pending.append(slide)
        else:
            outcomes[slide.name] = resumed
    labs = read_labs_file(options.labs_path) if options.labs_path else None
    for slide, results in _grouped(pending, out, options, jobs, progress):
        outcomes[slide.name] = _finish_slide(slide, results, out, options, labs,
                                             fingerprints.get(slide.name))
    ordered = [outcomes[s.name] for s in slides]
    if out is not None:
        # A technologist's review (smearscan review) is kept while the slide's inputs are
        # unchanged and flagged when they changed.
        ordered = [reviewed_outcome(o, out, fingerprints[o.name]) for o in ordered]
        write_merged_outputs(out, ordered)
    return ordered


def _grouped(slides: list[Slide], out: Path | None, options: RunOptions, jobs: int,
             progress: bool) -> Iterator[tuple[Slide, list[FieldResult]]]:
    tasks = [task for slide in slides for task in _field_tasks(slide, out, options)]
    bar = tqdm(total=len(tasks), unit="field", disable=not progress, file=sys.stderr,
               desc=f"{len(slides)} slide(s)")
    # The classifier's modules (torch) are what a worker takes longest to import.
    preload = ("smearscan.pipeline", "smearscan.classification") if options.classify else (
        "smearscan.pipeline",)
    results = map_fields(analyse_field, tasks, jobs=jobs, preload=preload)
    with bar:
        for done, slide in enumerate(slides, start=1):
            slide_results = []
            for _ in slide.fields:
                slide_results.append(next(results))
                bar.update()
            bar.set_postfix_str(f"slides done {done}/{len(slides)}")
            yield slide, slide_results


def write_merged_outputs(out: Path, outcomes: list[SlideOutcome]) -> None:
    """Write ``cells.csv``, ``summary.json`` and ``errors.csv`` over all slides."""
    header, bodies = None, []
    for outcome in outcomes:
        first, _, body = outcome.cells_csv.partition("\n")
        if body:
            header = header or first
            bodies.append(body)
    write_text_atomic(out / "cells.csv", (header or "slide,image,cell_id") + "\n" + "".join(bodies))
    errors = [e for o in outcomes for e in o.errors]
    write_text_atomic(out / "errors.csv", csv_text(ERROR_HEADER, errors))
    write_json_atomic(out / "summary.json", {
        "smearscan_version": __version__,
        "model": next((o.model for o in outcomes if o.model is not None), None),
        "slides": {o.name: o.summary for o in outcomes},
    })
