"""Measurements in this process: time per stage, the classifier's throughput, end to end."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarking.common import BATCH_SIZES, STAGES, Report


def items_per_second(work: Callable[[], object], items: int, seconds: float) -> float:
    """Items per second of ``work`` (``items`` per call), after one warm-up call, over at least
    ``seconds`` and two calls."""
    work()
    done, start = 0, time.perf_counter()
    while True:
        work()
        done += items
        elapsed = time.perf_counter() - start
        if elapsed >= seconds and done >= 2 * items:
            return done / elapsed


def _timed(work: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = work()
    return time.perf_counter() - start, value


def stage_times(paths: list[Path], model, model_path: Path | None, tmp: Path,
                report: Report) -> dict[str, float]:
    """Median seconds per field of each stage; returns them by stage name."""
    from smearscan.features import cell_table
    from smearscan.focus import edge_width_um
    from smearscan.loading import read_field
    from smearscan.outputs import jpeg_bytes
    from smearscan.pipeline import conditioned
    from smearscan.render import overlay_image, review_cells, thumbnail
    from smearscan.segmentation import segment_field

    times: dict[str, list[float]] = {stage: [] for stage in STAGES}
    objects = []
    for path in paths:
        t, rgb = _timed(lambda p=path: read_field(p))
        times["decode"].append(t)
        t, rgb = _timed(lambda rgb=rgb: conditioned(rgb).rgb)
        times["light and noise"].append(t)
        t, seg = _timed(lambda rgb=rgb: segment_field(rgb))
        times["segment"].append(t)
        t, cells = _timed(lambda rgb=rgb, seg=seg: cell_table(
            seg.labels, rgb, pixel_size_um=seg.pixel_size_um))
        times["features"].append(t)
        times["focus"].append(_timed(lambda rgb=rgb, seg=seg: edge_width_um(
            rgb, seg.labels, pixel_size_um=seg.pixel_size_um))[0])
        objects.append(len(cells["cell_id"]))
        if model is not None and len(cells["cell_id"]):
            from smearscan.classification import cell_crops, classify

            t, crops = _timed(lambda rgb=rgb, seg=seg, cells=cells: cell_crops(
                rgb, seg.labels, cells, pixel_size_um=seg.pixel_size_um,
                size=model.crop_size, scale_um=model.crop_scale_um))
            times["crop"].append(t)
            t, calls = _timed(lambda crops=crops: classify(model, crops))
            times["classify"].append(t)
            cells = cells | {"class": calls.label, "morphology": calls.morphology} | {
                f"p_{name}": calls.probabilities[:, i] for i, name in enumerate(model.classes)}

        def review(rgb=rgb, seg=seg, cells=cells, name=path.name):
            overlay = overlay_image(rgb, seg.labels, cells.get("class"))
            return jpeg_bytes(thumbnail(overlay)), review_cells(name, overlay, cells)

        times["review images"].append(_timed(review)[0])
    aggregate, writing, note = slide_stage_times(paths, model is not None, model_path, tmp)
    if aggregate is not None:
        times["aggregate"] = [aggregate]
        times["writing"] = [writing]
    medians = {s: statistics.median(v) for s, v in times.items() if v}
    total = sum(medians.values())
    rows = []
    for stage in STAGES:
        if stage in medians:
            rows.append((stage, f"{1000 * medians[stage]:.1f}",
                         f"{100 * medians[stage] / total:.0f}%"))
        else:
            rows.append((stage, "skipped", ""))
    rows.append(("**total**", f"**{1000 * total:.1f}**", ""))
    report.section(
        f"Time per stage, one 640x480 Chula field, one thread (median of {len(paths)} fields, "
        f"{statistics.median(objects):.0f} objects per field)", ("stage", "ms/field", "share"),
        rows)
    report.notes.append(
        "Stages: *review images* (outlined field thumbnail and gallery crops for the HTML "
        "report) runs only with `--out`; *aggregate* (slide table, statistics, CSV text) and "
        "*writing* (slide cells.csv, report.html, slide.json, merged outputs, fsync'ed) are "
        "per slide and shown divided by its fields." + (f" {note}" if note else ""))
    return medians


def slide_stage_times(paths: list[Path], classify: bool, model_path: Path | None, tmp: Path
                      ) -> tuple[float | None, float | None, str]:
    """Per-field seconds of aggregating and of writing one slide made of ``paths``, and a note.

    Uses the batch module's slide functions; when they fail with the classifier, measures them
    without it and says so.
    """
    from smearscan.batch import RunOptions, resume, write_merged_outputs
    from smearscan.batch import run as batch
    from smearscan.loading import Slide
    from smearscan.pipeline import analyse_field

    folder = tmp / "stage-slide"
    folder.mkdir()
    for i, path in enumerate(paths):
        (folder / f"f{i:03d}{path.suffix}").symlink_to(path.resolve())
    slide = Slide("stage-slide", folder, tuple(sorted(folder.iterdir())))
    note = ""
    for mode in dict.fromkeys([classify, False]):
        out = tmp / f"stage-out-{mode}"
        try:
            options = RunOptions(model_path=model_path, classify=mode)
            results = [analyse_field(task) for task in batch.field_tasks(slide, out, options)]
            batch.finish_slide(slide, iter(results), None, options, None, None)  # warm-up
            aggregate, _ = _timed(lambda o=options, r=results: batch.finish_slide(
                slide, iter(r), None, o, None, None))
            both, outcome = _timed(lambda o=options, r=results, out=out: batch.finish_slide(
                slide, iter(r), out, o, None, resume.fingerprint(slide, o)))
            merged, _ = _timed(lambda out=out, c=outcome: write_merged_outputs(
                out, [c], []))
        except Exception as error:  # noqa: BLE001 - report it and carry on
            reason = str(error).splitlines()[0][:160] if str(error) else ""
            note += (f" Aggregate and writing {'with' if mode else 'without'} the classifier "
                     f"failed: `{type(error).__name__}: {reason}`"
                     + ("; measured without it." if mode else "."))
            continue
        n = len(paths)
        return aggregate / n, max(both - aggregate + merged, 0.0) / n, note.strip()
    return None, None, note.strip()


def classifier_throughput(model_path: Path | None, crops: np.ndarray, seconds: float,
                          report: Report) -> dict[tuple[int, int], float]:
    """Crops per second of ``classify`` alone, by (batch size, threads)."""
    from smearscan.classification import classify, load_model

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    rates = {}
    for threads in sorted({1, cores}):
        model = load_model(model_path, threads=threads)
        for batch in BATCH_SIZES:
            x = np.ascontiguousarray(np.resize(crops, (batch, *crops.shape[1:])))
            rates[(batch, threads)] = items_per_second(lambda x=x, b=batch, m=model: classify(
                m, x, batch_size=b), batch, seconds)
    threads_list = sorted({t for _, t in rates})
    report.section(
        "Classifier alone (`classify`: network and calls, crops made beforehand), crops/s",
        ("batch size", *[f"{t} thread{'s' if t > 1 else ''}" for t in threads_list]),
        [(b, *[f"{rates[(b, t)]:,.0f}" for t in threads_list]) for b in BATCH_SIZES])
    return rates


def real_crops(paths: list[Path], model, limit: int = 1024) -> np.ndarray:
    from smearscan.classification import cell_crops
    from smearscan.features import cell_table
    from smearscan.loading import read_field
    from smearscan.segmentation import segment_field

    crops = []
    for path in paths:
        rgb = read_field(path)
        seg = segment_field(rgb)
        cells = cell_table(seg.labels, rgb, pixel_size_um=seg.pixel_size_um)
        if len(cells["cell_id"]):
            crops.append(cell_crops(rgb, seg.labels, cells, pixel_size_um=seg.pixel_size_um,
                                    size=model.crop_size, scale_um=model.crop_scale_um))
        if sum(len(c) for c in crops) >= limit:
            break
    return np.concatenate(crops)[:limit]


def end_to_end(sets: dict[str, tuple[list[Path], str]], model_path: Path | None,
               classify: bool, report_rows: list[tuple]) -> dict[str, float]:
    """Seconds per field of ``analyse_field`` (no output folder) for each size."""
    from smearscan.pipeline import analyse_field
    from smearscan.results import FieldTask

    result = {}
    for size, (paths, how) in sets.items():
        tasks = [FieldTask(slide="b", path=p, image=p.name, model_path=model_path,
                           classify=classify) for p in paths]
        analyse_field(tasks[0])  # warm-up: model load, first-call overheads
        times = [_timed(lambda t=t: analyse_field(t))[0] for t in tasks]
        result[size] = statistics.median(times)
        report_rows.append((size, how, "yes" if classify else "no", len(tasks),
                            f"{result[size]:.3f}"))
    return result
