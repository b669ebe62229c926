"""The parts of the benchmark that ``--only`` names (:data:`PARTS`): each measures, adds its
sections to the report and sets its rows of the targets table.
"""

from __future__ import annotations

import shutil
import statistics
import sys

import numpy as np
from PIL import Image

from benchmarking.children import classifier_memory, cli_run, field_peak, main_process_run, startup
from benchmarking.common import GIB, Context, log
from benchmarking.fields import chula_fields, large_field, larger_fields, slides_folder
from benchmarking.in_process import classifier_throughput, end_to_end, real_crops, stage_times
from benchmarking.runtimes import before_after, int8_comparison, runtime_throughput, symmetry_cost


def _label(classify: bool) -> str:
    return "classified" if classify else "--no-classify"


def part_stages(ctx: Context) -> None:
    stages = stage_times(ctx.fields[:ctx.counts.stage_fields], ctx.model, ctx.args.model,
                         ctx.tmp, ctx.report)
    ctx.report.target("segmentation alone, 640x480 field, 1 core", f"{stages['segment']:.3f} s",
                      "<= 0.1 s", stages["segment"] <= 0.1)


def part_classifier(ctx: Context) -> None:
    if ctx.model is None:
        ctx.report.target("classifier, batch 256", "skipped", ">= 2,000 crops/s", None)
        return
    rates = classifier_throughput(ctx.args.model, real_crops(ctx.fields, ctx.model),
                                  ctx.counts.classifier_seconds, ctx.report)
    rate = rates[(256, 1)]
    ctx.report.target("classifier, batch 256, 1 core", f"{rate:,.0f} crops/s",
                      ">= 2,000 crops/s", rate >= 2000)
    best = max(v for (b, _), v in rates.items() if b == 256)
    ctx.report.target("classifier, batch 256, all cores", f"{best:,.0f} crops/s",
                      ">= 2,000 crops/s", best >= 2000)
    log("classifier memory by batch shape")
    classifier_memory(ctx.args.model, ctx.counts.batch_shapes, ctx.tmp, ctx.report)


def part_e2e(ctx: Context) -> None:
    n640, n1280, n2560 = ctx.counts.e2e_fields
    sets = {
        "640x480": (ctx.fields[:n640], "Chula fields"),
        "1280x960": (larger_fields(ctx.fields, ctx.tmp / "x2", n1280, upscale=1),
                     "2x2 tiles of Chula fields"),
        "2560x1920": (larger_fields(ctx.fields, ctx.tmp / "x4", n2560, upscale=2),
                      "2x2 tiles upscaled 2x"),
    }
    rows: list[tuple] = []
    e2e = {mode: end_to_end(sets, ctx.args.model, mode, rows) for mode in ctx.modes}
    ctx.report.section("End to end in process (`analyse_field`, no output folder), one thread",
                       ("field", "made from", "classifier", "fields", "s/field (median)"), rows)
    for mode, per_size in e2e.items():
        ctx.report.target(f"end to end in process, 640x480 field, 1 core, {_label(mode)}",
                          f"{per_size['640x480']:.3f} s/field", "<= 0.1 s/field",
                          per_size["640x480"] <= 0.1)


def part_startup(ctx: Context) -> None:
    worst = startup(ctx.counts.startup_repeats, ctx.tmp, ctx.report)
    ctx.report.target("CLI start-up (`--help`, `import smearscan.cli`)", f"{worst:.2f} s",
                      "<= 2 s", worst <= 2.0)


def part_memory(ctx: Context) -> None:
    rows, peaks = [], {}
    per_slide = ctx.counts.slide_fields
    for n in ctx.counts.memory_fields:
        slides = slides_folder(ctx.tmp / f"mem{n}" / "slides", chula_fields(ctx.args.data, n),
                               n, per_slide)
        for mode in ctx.modes:
            log(f"folder run: {n} fields, {_label(mode)}, --jobs 1")
            out = ctx.tmp / f"mem{n}" / f"out-{mode}"
            wall, code, rss, last = cli_run(slides, out, classify=mode, jobs=1,
                                            model=ctx.args.model)
            peaks[(n, mode)] = rss if code == 0 else None
            rows.append((n, _label(mode), code, f"{rss / 2**20:,.0f}", f"{wall:.1f}",
                         f"{wall / n:.3f}", last[:120] if code else ""))
            shutil.rmtree(out, ignore_errors=True)
    ctx.report.section(
        f"Folder runs (`--jobs 1`, one core; slides of {per_slide} fields; peak RSS = "
        "`ru_maxrss` of the CLI process)",
        ("fields", "mode", "exit", "peak RSS, MiB", "wall, s", "s/field", "error"), rows)
    small, large = ctx.counts.memory_fields
    for mode in ctx.modes:
        a, b = peaks.get((small, mode)), peaks.get((large, mode))
        what = f"peak memory, {large}-field run, {_label(mode)}"
        if a is None or b is None:
            ctx.report.target(what, "run failed", "<= 1.5 GiB, flat", False)
            continue
        flat = b <= a * 1.15 + 50 * 2**20
        ctx.report.target(what, f"{b / GIB:.2f} GiB ({small} fields: {a / GIB:.2f} GiB)",
                          "<= 1.5 GiB, flat", b <= 1.5 * GIB and flat)


def part_jobs(ctx: Context) -> None:
    n = ctx.counts.jobs_fields
    slides = slides_folder(ctx.tmp / "jobs" / "slides", chula_fields(ctx.args.data, n), n,
                           ctx.counts.slide_fields)
    one = slides_folder(ctx.tmp / "jobs" / "one", chula_fields(ctx.args.data, 1), 1, 1)
    rows = []
    for mode in ctx.modes:
        walls = {}
        for jobs, folder, count in ((1, one, 1), (1, slides, n), (2, slides, n)):
            log(f"folder run: {count} field(s), {_label(mode)}, --jobs {jobs}")
            out = ctx.tmp / "jobs" / f"out-{mode}-{jobs}-{count}"
            wall, code, _, last = cli_run(folder, out, classify=mode, jobs=jobs,
                                          model=ctx.args.model)
            walls[(jobs, count)] = wall if code == 0 else None
            rows.append((count, _label(mode), jobs, code, f"{wall:.1f}", f"{wall / count:.3f}",
                         last[:120] if code else ""))
        single, serial, parallel = walls[(1, 1)], walls[(1, n)], walls[(2, n)]
        if serial and parallel:
            ctx.report.target(f"`--jobs 2` vs `--jobs 1`, {n} fields, {_label(mode)}",
                              f"{serial / parallel:.2f}x", ">= 1.6x", serial / parallel >= 1.6)
        else:
            ctx.report.target(f"`--jobs 2` vs `--jobs 1`, {_label(mode)}", "run failed",
                              ">= 1.6x", False)
        if serial and single:
            marginal = (serial - single) / (n - 1)
            ctx.report.target(f"end to end via the CLI after start-up, 1 core, {_label(mode)}",
                              f"{marginal:.3f} s/field", "<= 0.1 s/field", marginal <= 0.1)
    ctx.report.section(
        f"Workers (wall time of whole CLI runs with `--out`, slides of "
        f"{ctx.counts.slide_fields} fields; the 1-field run is the start-up)",
        ("fields", "mode", "--jobs", "exit", "wall, s", "s/field", "error"), rows)



#: Pixels of the large field of the memory bounds (issue 17: 47 Mpx).
LARGE_FIELD = (5940, 7920)
#: Peak memory per pixel of one field that the README promises (issue 17: aim <= 150).
BYTES_PER_PIXEL_TARGET = 150
#: A report's size whatever the slide's length: 3 classes x 100 embedded 96 px crops (~6 KB
#: each in base64) and 48 linked pictures.
REPORT_BYTES_TARGET = 3 * 2**20


def part_bounds(ctx: Context) -> None:
    """Issue 17: peak memory of one large field (per pixel, over a small field's baseline) and
    of the main process over one long slide, with the size of its report."""
    tmp = ctx.tmp / "bounds"
    tmp.mkdir()
    small = ctx.fields[0]
    big = large_field(ctx.fields * 16, tmp / "large.jpg", LARGE_FIELD)
    blank = tmp / "blank.png"
    Image.fromarray(np.full((7070, 7070, 3), 255, np.uint8)).save(blank)
    rows = []
    for mode in ctx.modes:
        log(f"field peaks, {_label(mode)}")
        base_code, base, _ = field_peak(small, mode, ctx.args.model, tmp)
        for path, pixels, what in ((big, LARGE_FIELD[0] * LARGE_FIELD[1], "Chula tiles, JPEG"),
                                   (blank, 7070 * 7070, "blank, PNG")):
            code, rss, last = field_peak(path, mode, ctx.args.model, tmp)
            per_pixel = (rss - base) / pixels if code == 0 and base_code == 0 else None
            rows.append((f"{pixels / 1e6:.1f} Mpx", what, _label(mode), code,
                         f"{rss / 2**20:,.0f}", f"{base / 2**20:,.0f}",
                         f"{per_pixel:.0f}" if per_pixel is not None else "-",
                         last[:100] if code else ""))
            if path is big:
                ctx.report.target(f"peak memory per pixel, {pixels / 1e6:.0f} Mpx field, "
                                  f"{_label(mode)}", f"{per_pixel or 0:.0f} B/px "
                                  f"({rss / GIB:.2f} GiB)",
                                  f"<= {BYTES_PER_PIXEL_TARGET} B/px",
                                  per_pixel is not None and per_pixel <= BYTES_PER_PIXEL_TARGET)
    ctx.report.section(
        "Peak memory of one field (`smearscan FIELD --jobs 1`; per pixel = (peak - peak of "
        "one 640x480 field) / pixels)",
        ("field", "content", "mode", "exit", "peak RSS, MiB", "640x480 peak, MiB", "B/px",
         "error"), rows)
    slide_rows = []
    for mode in ctx.modes:
        peaks = {}
        for n in ctx.counts.slide_lengths:
            log(f"one slide of {n} fields, {_label(mode)}")
            slides = slides_folder(tmp / f"slide{n}-{mode}" / "slides",
                                   chula_fields(ctx.args.data, n), n, n)
            out = tmp / f"slide{n}-{mode}" / "out"
            wall, code, rss, last = cli_run(slides, out, classify=mode, jobs=1,
                                            model=ctx.args.model)
            report = next(out.glob("slides/*/report.html"), None)
            size = report.stat().st_size if report else 0
            peaks[n] = (rss, size) if code == 0 else None
            slide_rows.append((n, _label(mode), code, f"{rss / 2**20:,.0f}",
                               f"{size / 1024:,.0f}", f"{wall:.0f}", last[:100] if code else ""))
            shutil.rmtree(tmp / f"slide{n}-{mode}", ignore_errors=True)
        short, long = ctx.counts.slide_lengths
        if peaks.get(short) and peaks.get(long):
            (a, ra), (b, rb) = peaks[short], peaks[long]
            ctx.report.target(f"main process, one {long}-field slide, {_label(mode)}",
                              f"{b / GIB:.2f} GiB ({short} fields: {a / GIB:.2f} GiB), report "
                              f"{rb / 1024:,.0f} KiB ({ra / 1024:,.0f} KiB)",
                              f"flat; report <= {REPORT_BYTES_TARGET / 2**20:.0f} MiB",
                              b <= a * 1.15 + 50 * 2**20 and max(ra, rb) <= REPORT_BYTES_TARGET)
    ctx.report.section(
        "One long slide (`--out`, `--jobs 1`; peak RSS = `ru_maxrss` of the CLI process)",
        ("fields", "mode", "exit", "peak RSS, MiB", "report.html, KiB", "wall, s", "error"),
        slide_rows)


def part_runtimes(ctx: Context) -> None:
    if ctx.model is None:
        ctx.report.notes.append("Runtime comparison skipped: no model.")
        return
    crops = real_crops(ctx.fields, ctx.model)
    rates = runtime_throughput(ctx.args.model, crops, ctx.counts.classifier_seconds,
                               ctx.report)
    torch_rates = {k: v for k, v in rates.items() if k[0].startswith("torch") and k[2] == 1}
    ort = rates[("ONNX Runtime, optimisation all", 32, 1)]
    if torch_rates:
        before = next(v for (_, b, _), v in torch_rates.items() if b == 32)
        ctx.report.target("network, batch 32, 1 core: ONNX Runtime vs torch",
                          f"{ort:,.0f} vs {before:,.0f} crops/s ({ort / before:.2f}x)",
                          "faster", ort > before)
    log("symmetry views")
    symmetry_cost(ctx.model, crops, ctx.counts.classifier_seconds, ctx.report)
    log("int8 quantisation")
    int8_comparison(ctx, crops)


def part_before(ctx: Context) -> None:
    if ctx.args.before is None:
        ctx.report.notes.append("Before/after skipped: give `--before DIR`, a checkout of the "
                                "old code (e.g. `git worktree add /tmp/before main`).")
        return
    fields = ctx.fields[:ctx.counts.e2e_fields[0] + 1]
    rounds = 2 if ctx.args.quick else 3
    medians = before_after(ctx.args.before, fields, rounds, ctx.counts.startup_repeats,
                           ctx.report)
    for kind in ("wall", "cpu"):
        before, after = medians[f"e2e {kind}"]["before"], medians[f"e2e {kind}"]["after"]
        ctx.report.target(f"end to end, classified 640x480 field, 1 core, {kind}: after / "
                          "before", f"{after:.3f} / {before:.3f} s = {after / before:.2f}x",
                          "<= 0.5x", after / before <= 0.5)
    for kind in ("wall", "cpu"):
        cli = medians[f"cli {kind}"]
        ctx.report.target(f"one-field CLI, start-up included, {kind}",
                          f"{cli['after']:.2f} s (before {cli['before']:.2f} s)", "<= 0.8 s",
                          cli["after"] <= 0.8)



#: Fields per slide assumed by the archive extrapolation (the benchmark's slides of 50 fields).
ARCHIVE_SLIDES = 1000


def part_dask(ctx: Context) -> None:
    """``--scheduler local:N`` against ``--jobs N`` on the same fields (issue 20)."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        ctx.report.notes.append("Dask part skipped: `pip install -e '.[distributed]'`.")
        return
    n, per_slide = ctx.counts.jobs_fields, ctx.counts.slide_fields
    small = max(1, n // 4)
    folders = {count: slides_folder(ctx.tmp / "dask" / f"slides{count}",
                                    chula_fields(ctx.args.data, count), count, per_slide)
               for count in (1, small, n)}
    executors = ("--jobs 2", "--scheduler local:2", "--scheduler local:1")
    runs = [(name, count) for count in (1, n) for name in executors]
    runs.append(("--scheduler local:2", small))
    repeats = ctx.args.dask_repeats
    walls: dict[tuple[str, int], list[float]] = {run: [] for run in runs}
    peaks: dict[tuple[str, int], int] = dict.fromkeys(runs, 0)
    cpus: dict[tuple[str, int], list[float]] = {run: [] for run in runs}
    failures = []
    # Round-robin, so that a burst of load from other processes hits every executor alike.
    for repeat in range(repeats):
        for name, count in runs:
            log(f"folder run {repeat + 1}/{repeats}: {count} field(s), classified, {name}")
            out = ctx.tmp / "dask" / "out"
            command = [sys.executable, "-m", "smearscan.cli", str(folders[count]), "--out",
                       str(out), "--quiet", *name.split()]
            if ctx.args.model is not None:
                command += ["--model", str(ctx.args.model)]
            wall, code, rss, cpu, last = main_process_run(command, ctx.tmp)
            shutil.rmtree(out, ignore_errors=True)
            if code != 0:
                failures.append(f"{name}, {count} fields: exit {code}: {last[:120]}")
                continue
            walls[(name, count)].append(wall)
            cpus[(name, count)].append(cpu)
            peaks[(name, count)] = max(peaks[(name, count)], rss)
    rows = [(count, name, len(walls[(name, count)]),
             " / ".join(f"{w:.1f}" for w in walls[(name, count)]) or "failed",
             f"{min(walls[(name, count)]):.1f}" if walls[(name, count)] else "",
             f"{statistics.median(cpus[(name, count)]):.1f}" if cpus[(name, count)] else "",
             f"{peaks[(name, count)] / 2**20:,.0f}") for name, count in runs]
    ctx.report.section(
        f"Dask (wall time of whole CLI runs with `--out`, classified, slides of {per_slide} "
        f"fields, {repeats} round(s) taken in turn; the 1-field runs are the start-up; RSS = the "
        "CLI process alone, sampled every 0.1 s)",
        ("fields", "executor", "runs", "wall, s (each run)", "best wall, s",
         "CPU s, process tree (median)", "main-process peak RSS, MiB"), rows)
    ctx.report.notes += [f"Dask run failed: {f}" for f in failures]
    walls = {run: min(values) if values else None for run, values in walls.items()}
    cpu = {run: statistics.median(values) if values else None for run, values in cpus.items()}
    marginal = [f"{name} {(cpu[(name, n)] - cpu[(name, 1)]) / (n - 1):.3f}"
                for name in executors if cpu[(name, n)] and cpu[(name, 1)]]
    ctx.report.notes.append(
        "CPU seconds per field after start-up, whole process tree ((CPU of the "
        f"{n}-field run - CPU of the 1-field run) / {n - 1}; load-independent, unlike the "
        f"walls): {', '.join(marginal)}.")
    local2, jobs2, local1 = (walls[(k, n)] for k in ("--scheduler local:2", "--jobs 2",
                                                     "--scheduler local:1"))
    if local2 and jobs2:
        ctx.report.target(f"`--scheduler local:2` vs `--jobs 2`, {n} fields",
                          f"{100 * (local2 / jobs2 - 1):+.0f}% wall", "<= +10%",
                          local2 <= 1.10 * jobs2)
    if local2 and local1:
        ctx.report.target(f"`--scheduler local:2` vs `local:1`, {n} fields",
                          f"{local1 / local2:.2f}x", ">= 1.7x", local1 / local2 >= 1.7)
    a, b = peaks[("--scheduler local:2", small)], peaks[("--scheduler local:2", n)]  # 0: failed
    if a and b:
        ctx.report.target(f"main-process memory, `local:2`, {n} vs {small} fields",
                          f"{b / 2**20:,.0f} MiB vs {a / 2**20:,.0f} MiB", "flat",
                          b <= a * 1.15 + 50 * 2**20)
    one, many = cpu[("--scheduler local:2", 1)], cpu[("--scheduler local:2", n)]
    if one and many:
        # CPU, not wall: the machine's other load inflates walls, not the work a field takes.
        worker_seconds = (many - one) / (n - 1)
        fields = ARCHIVE_SLIDES * per_slide
        hours = fields * worker_seconds / 3600
        ctx.report.notes.append(
            f"Archive extrapolation: {ARCHIVE_SLIDES:,} slides x {per_slide} fields = "
            f"{fields:,} fields at the measured {worker_seconds:.3f} CPU seconds per field of a "
            f"`local:2` run (workers, scheduler and the writing client together) is {hours:.1f} "
            f"core-hours: {hours / 16:.2f} h on 16 single-threaded workers, {hours / 64:.2f} h "
            "on 64, plus each worker's start-up (the 1-field runs), if the shared file system "
            "keeps up.")


PARTS = {"stages": part_stages, "classifier": part_classifier, "e2e": part_e2e,
         "startup": part_startup, "memory": part_memory, "jobs": part_jobs,
         "bounds": part_bounds, "runtimes": part_runtimes, "before": part_before,
         "dask": part_dask}

