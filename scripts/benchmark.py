"""Benchmark smearscan against the speed and memory targets of issue 7; prints a markdown report.

Usage: PYTHONPATH=. python scripts/benchmark.py [--quick] [--out FILE.md] [--model FILE]
       [--data DIR] [--jobs-fields N] [--memory-fields N N] [--slide-lengths N N]
       [--before DIR] [--only PART...]

``--only bounds`` alone measures the memory bounds of issue 17 (~15 minutes on 2 cores).

The full run takes ~12 minutes on 2 cores; ``--quick`` ~1.5 minutes. It also reports how much
CPU other processes took meanwhile (from /proc/stat): on a busy machine the times mean little.

Measures, on real Chula RBC-12 fields (640x480 JPEG, ``../shared/datasets``):

* time per stage of one field (decode, segment, features, focus, crop, classify, review images,
  aggregate, writing), in this process;
* classifier throughput alone at batch sizes 1, 32, 256, 1024 (1 thread and all cores);
* end-to-end seconds per field at 640x480, 1280x960 (2x2 tiles of four fields: same
  magnification, 4x the cells) and 2560x1920 (the same tiles upscaled 2x: 4x the cells at twice
  the resolution, ~74 px red cells), with and without the classifier;
* CLI start-up (``smearscan --help``, ``import smearscan.cli``; median of 5 subprocesses);
* peak memory (``ru_maxrss`` of the CLI child, ``--jobs 1``) of folder runs of 250 and 1000
  fields (Chula fields repeated through symlinks, slides of 50 fields), with and without the
  classifier, and of the classifier alone over 256 batches of one size vs of 256 sizes;
* the wall time of a 200-field run with ``--jobs 1`` and ``--jobs 2`` (and of a 1-field run, the
  start-up of a real run: imports and model);
* memory bounds (``bounds``): the peak RSS of one 47 Mpx field (tiled Chula fields) and of a
  blank 7070x7070 PNG, per pixel over a 640x480 field's peak; and the main process's peak RSS
  and the report's size for one slide of 250 and of 2,000 fields.
* ``runtimes``: the network alone under ONNX Runtime (graph optimisation all/basic/disable) and
  torch (when installed), 1 and 2 threads, batch sizes 1, 32, 256; what the symmetry views cost
  and how many calls they change;
* ``before``: with ``--before DIR`` (a checkout of older code, e.g. ``git worktree add
  /tmp/before main``), the classified per-field end-to-end time and the one-field CLI wall time
  (start-up included) of that code and of this one, alternated in rounds in the same run.
* with the ``distributed`` extra, the same 200 fields on ``--scheduler local:2`` against
  ``--jobs 2`` and ``local:1``, the CLI process's own peak memory over 200 and 50 fields, and what
  a 1,000-slide archive would take.

Threads: every measurement is per core unless it says otherwise. This process runs the network
(ONNX Runtime) and OpenCV with one thread, and the CLI runs get ``OMP_NUM_THREADS=MKL_NUM_THREADS=
OPENBLAS_NUM_THREADS=OPENCV_FOR_THREADS_NUM=1``, so that ``--jobs 1`` is one core and ``--jobs N``
is N cores (smearscan's workers set one thread each themselves). The classifier is also timed
with all cores. The classifier parts are skipped, with a note, when
``smearscan.classification`` or the model cannot be loaded.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CHULA = ROOT.parent / "shared" / "datasets" / "chula-rbc-12" / "Dataset"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "OPENCV_FOR_THREADS_NUM")
STAGES = ("decode", "light and noise", "segment", "features", "focus", "crop", "classify",
          "review images", "aggregate", "writing")
BATCH_SIZES = (1, 32, 256, 1024)
GIB = 1024**3


@dataclass(frozen=True)
class Counts:
    """How much of everything to measure."""

    stage_fields: int
    e2e_fields: tuple[int, int, int]
    classifier_seconds: float
    startup_repeats: int
    memory_fields: tuple[int, int]
    jobs_fields: int
    slide_fields: int
    batch_shapes: int
    slide_lengths: tuple[int, int]


FULL = Counts(40, (20, 8, 4), 2.0, 5, (250, 1000), 200, 50, 256, (250, 2000))
QUICK = Counts(5, (3, 2, 1), 0.3, 3, (20, 40), 20, 10, 16, (20, 60))


@dataclass
class Report:
    """Rows of the summary table and the detail sections, filled as measurements finish."""

    summary: list[tuple[str, str, str, str]] = field(default_factory=list)
    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def target(self, what: str, measured: str, target: str, met: bool | None) -> None:
        verdict = "n/a" if met is None else ("yes" if met else "**no**")
        self.summary.append((what, measured, target, verdict))

    def section(self, title: str, header: tuple[str, ...], rows: list[tuple]) -> None:
        lines = ["| " + " | ".join(header) + " |",
                 "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
        self.sections.append((title, lines))


def log(message: str) -> None:
    print(f"[benchmark {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- machine


def machine() -> list[tuple[str, str]]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    rows = [("CPU", cpu), ("cores (usable / logical)", f"{usable} / {os.cpu_count()}"),
            ("Python", platform.python_version()), ("NumPy", np.__version__)]
    for module in ("torch", "cv2", "skimage"):
        try:
            rows.append((module, __import__(module).__version__))
        except ImportError:
            rows.append((module, "not installed"))
    try:
        memory = next(line for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
        rows.append(("memory", f"{int(memory.split()[1]) / 1024**2:.1f} GiB"))
    except (OSError, StopIteration):
        pass
    from smearscan import __version__

    rows.append(("smearscan", __version__))
    rows.append(("load average at start (1/5/15 min)", load_average()))
    return rows


def cpu_seconds() -> tuple[float, float]:
    """(CPU seconds all processes have used since boot, CPU seconds of this benchmark).

    The first is from /proc/stat (user, nice, system, irq, softirq; not idle, iowait or steal;
    ``nan`` elsewhere), the second this process and its waited-for children.
    """
    import resource

    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        machine = (sum(values[:3]) + values[5] + values[6]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        machine = float("nan")
    own = sum(getattr(resource.getrusage(who), kind) for who in
              (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for kind in ("ru_utime", "ru_stime"))
    return machine, own


def load_average() -> str:
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def single_threaded() -> None:
    """One thread in this process (torch only if it is already imported)."""
    import cv2

    cv2.setNumThreads(1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def load_classifier(model_path: Path | None):
    """(model, None) or (None, reason it cannot be used)."""
    try:
        from smearscan.classification import load_model
    except ImportError as error:
        return None, f"smearscan.classification cannot be imported ({error})"
    try:
        return load_model(model_path), None
    except Exception as error:  # noqa: BLE001 - any failure means: skip the classifier parts
        return None, f"model cannot be loaded: {str(error).splitlines()[0][:200]}"


# ----------------------------------------------------------------------------- fields


def chula_fields(data: Path, count: int) -> list[Path]:
    paths = sorted(data.glob("*.jpg"), key=lambda p: (len(p.stem), p.stem))
    if not paths:
        sys.exit(f"benchmark: no Chula fields (*.jpg) in {data}; give --data")
    return [paths[i % len(paths)] for i in range(count)]


def larger_fields(sources: list[Path], folder: Path, count: int, *, upscale: int) -> list[Path]:
    """``count`` fields of 2x2 Chula tiles (upscaled ``upscale`` x), saved as JPEG quality 95."""
    import cv2

    from smearscan.loading import read_field

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        four = [read_field(sources[(4 * i + k) % len(sources)]) for k in range(4)]
        tiled = np.vstack([np.hstack(four[:2]), np.hstack(four[2:])])
        if upscale > 1:
            tiled = cv2.resize(tiled, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
        path = folder / f"tile{i}.jpg"
        Image.fromarray(tiled).save(path, quality=95)
        out.append(path)
    return out


def slides_folder(root: Path, sources: list[Path], fields: int, per_slide: int) -> Path:
    """``fields`` symlinks to the Chula fields in slide folders of ``per_slide`` fields."""
    for i in range(fields):
        slide = root / f"slide{i // per_slide:03d}"
        slide.mkdir(parents=True, exist_ok=True)
        (slide / f"f{i:05d}.jpg").symlink_to(sources[i % len(sources)].resolve())
    return root


# ----------------------------------------------------------------------------- in process


def _rate(work: Callable[[], object], items: int, seconds: float) -> float:
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
        t, (rgb, _) = _timed(lambda rgb=rgb: conditioned(rgb))
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
            rates[(batch, threads)] = _rate(lambda x=x, b=batch, m=model: classify(
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


# ----------------------------------------------------------------------------- subprocesses


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    return env


#: Runs a command and prints its exit code and the peak RSS of its process tree. A child forked
#: from this (large) benchmark process would count this process's pages in its own ru_maxrss
#: until it execs, so memory is measured from a small launcher instead.
_LAUNCHER = ("import resource, subprocess, sys; "
             "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode; "
             "print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def run_child(command: list[str], cwd: Path, *, memory: bool = False
              ) -> tuple[float, int, int, str]:
    """(wall seconds, exit code, peak RSS in bytes or 0, last line of stderr) of one command.

    With ``memory``, the peak RSS is ``ru_maxrss`` of the largest process of the command's tree
    (the CLI process and any waited-for workers), measured through :data:`_LAUNCHER`.
    """
    if memory:
        command = [sys.executable, "-c", _LAUNCHER, *command]
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        result = subprocess.run(command, cwd=cwd, env=child_env(), stderr=err,
                                stdout=subprocess.PIPE if memory else subprocess.DEVNULL)
        wall = time.perf_counter() - start
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
    code, rss = result.returncode, 0
    if memory and result.returncode == 0:
        code, rss = (int(v) for v in result.stdout.split())
        rss *= 1 if sys.platform == "darwin" else 1024  # KiB on Linux, bytes on macOS
    return wall, code, rss, lines[-1] if lines else ""


def startup(repeats: int, cwd: Path, report: Report) -> float:
    commands = {"`python -m smearscan.cli --help`": [sys.executable, "-m", "smearscan.cli",
                                                     "--help"],
                "`python -c 'import smearscan.cli'`": [sys.executable, "-c",
                                                       "import smearscan.cli"]}
    if shutil.which("smearscan"):
        commands["`smearscan --help` (console script)"] = [shutil.which("smearscan"), "--help"]
    commands["`python -c 'import torch'` (for comparison)"] = [sys.executable, "-c",
                                                              "import torch"]
    rows, worst = [], 0.0
    for name, command in commands.items():
        walls = [run_child(command, cwd)[0] for _ in range(repeats)]
        median = statistics.median(walls)
        if "torch" not in name:
            worst = max(worst, median)
        rows.append((name, f"{median:.3f}", f"{min(walls):.3f}", f"{max(walls):.3f}"))
    report.section(f"Start-up, seconds (median of {repeats} subprocesses)",
                   ("command", "median", "min", "max"), rows)
    return worst


#: Classifies random crops in batches of the sizes given after the model path ("-": shipped).
_BATCHES = """
import sys
import numpy as np
from smearscan.classification import classify, load_model
model = load_model(None if sys.argv[1] == "-" else sys.argv[1], threads=1)
sizes = [int(v) for v in sys.argv[2:]]
side = model.crop_size
crops = np.random.default_rng(0).random((max(sizes), 4, side, side), dtype=np.float32)
for n in sizes:
    classify(model, crops[:n])
"""


def classifier_memory(model_path: Path | None, distinct: int, cwd: Path, report: Report
                      ) -> None:
    """Peak RSS of classifying ``distinct`` batches of one size, and of ``distinct`` sizes.

    A field's objects are classified in one batch of their own number, so a long run meets
    every batch size up to 256.
    """
    model = str(model_path) if model_path else "-"
    rows, peaks = [], {}
    for name, sizes in (("one size (256), repeated", [256] * distinct),
                        ("distinct sizes 1, 2, ..., 256" if distinct == 256 else
                         f"{distinct} distinct sizes up to 256",
                         list(np.linspace(1, 256, distinct).round().astype(int)))):
        wall, code, rss, last = run_child(
            [sys.executable, "-c", _BATCHES, model, *map(str, sizes)], cwd, memory=True)
        peaks[name] = rss if code == 0 else None
        rows.append((name, len(sizes), code, f"{rss / 2**20:,.0f}", f"{wall:.1f}", last[:120]))
    report.section("Classifier memory by batch shape (child process, 1 thread)",
                   ("batches", "count", "exit", "peak RSS, MiB", "wall, s", "error"), rows)
    one, many = peaks.values()
    if one is None or many is None:
        report.target("classifier memory, varied batch sizes", "run failed",
                      "<= 1.5 GiB, flat", False)
        return
    report.target(f"classifier memory, {distinct} batch sizes vs one",
                  f"{many / GIB:.2f} GiB vs {one / GIB:.2f} GiB", "<= 1.5 GiB, flat",
                  many <= 1.5 * GIB and many <= one * 1.15 + 50 * 2**20)


def cli_run(slides: Path, out: Path, *, classify: bool, jobs: int, model: Path | None
            ) -> tuple[float, int, int, str]:
    command = [sys.executable, "-m", "smearscan.cli", str(slides), "--out", str(out), "--quiet",
               "--jobs", str(jobs)]
    if not classify:
        command.append("--no-classify")
    if model is not None and classify:
        command += ["--model", str(model)]
    return run_child(command, slides.parent, memory=True)


# ----------------------------------------------------------------------------- runtimes (issue 19)

#: Batch sizes of the runtime comparison: one crop, the per-field batch, a large batch.
RUNTIME_BATCHES = (1, 32, 256)


def network_runners(model_path: Path | None) -> dict[str, Callable[[int], object]]:
    """By name, a maker of the network at a thread count: ONNX Runtime at three graph
    optimisation levels, and torch (the folded network analysis ran before issue 19, unpadded)
    when torch is installed."""
    from smearscan import default_model_path
    from smearscan.classification import OnnxNetwork, onnx_session

    onnx = model_path or default_model_path()
    runners: dict[str, Callable[[int], object]] = {
        f"ONNX Runtime, optimisation {level}":
            lambda threads, level=level: OnnxNetwork(onnx_session(onnx, threads=threads,
                                                                  optimisation=level))
        for level in ("all", "basic", "disable")}
    try:
        import torch

        from smearscan.network import TorchNetwork, load_network
    except ImportError:
        return runners

    def torch_network(threads: int) -> object:
        torch.set_num_threads(threads)
        return TorchNetwork(load_network(onnx.with_suffix(".pt"))[0], pad_rows=1)

    runners["torch 2 (oneDNN, batch norm folded, channels-last)"] = torch_network
    return runners


def runtime_throughput(model_path: Path | None, crops: np.ndarray, seconds: float,
                       report: Report) -> dict[tuple[str, int, int], float]:
    """Crops per second of the network alone (one view, softmax outputs), by (runner, batch,
    threads)."""
    rates = {}
    for name, make in network_runners(model_path).items():
        batches = RUNTIME_BATCHES if "optimisation all" in name or "torch" in name else (32,)
        for threads in (1, 2):
            network = make(threads)
            for batch in batches:
                x = np.ascontiguousarray(np.resize(crops, (batch, *crops.shape[1:])))
                rates[(name, batch, threads)] = _rate(lambda n=network, x=x: n(x), batch,
                                                      seconds)
    single_threaded()
    report.section("Network alone by runtime (one view per crop, softmax outputs), crops/s",
                   ("runtime", "batch", "1 thread", "2 threads"),
                   [(name, batch, f"{rates[(name, batch, 1)]:,.0f}",
                     f"{rates[(name, batch, 2)]:,.0f}")
                    for name, batch in dict.fromkeys((n, b) for n, b, _ in rates)])
    return rates


def symmetry_cost(model, crops: np.ndarray, seconds: float, report: Report) -> None:
    """What the symmetry views cost and change on real crops (calls with and without them)."""
    import dataclasses

    from smearscan.classification import classify, predict_probabilities

    single = dataclasses.replace(model, symmetry_band=None)
    probabilities = predict_probabilities(single, crops)[0]
    targets = [model.classes.index(c) for c in model.thresholds]
    top = probabilities[:, targets].max(axis=1)
    low, high = model.symmetry_band
    in_band = int(((top >= low) & (top < high)).sum())
    changed = int((classify(model, crops).label != classify(single, crops).label).sum())
    with_views = _rate(lambda: classify(model, crops), len(crops), seconds)
    without = _rate(lambda: classify(single, crops), len(crops), seconds)
    report.section(
        f"Symmetry views ({len(crops)} real crops of Chula fields, 1 thread)",
        ("measure", "value"),
        [("objects in the band [low, high) re-scored over 8 views",
          f"{in_band} ({100 * in_band / len(crops):.1f}%)"),
         ("calls the views change", f"{changed} ({100 * changed / len(crops):.2f}%)"),
         ("classify with views, crops/s", f"{with_views:,.0f}"),
         ("classify without views, crops/s", f"{without:,.0f}")])


def int8_network(model_path: Path | None, calibration: np.ndarray, folder: Path):
    """ONNX Runtime's static int8 quantisation of the model (QDQ, weights per channel),
    calibrated on ``calibration`` crops; one thread."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from smearscan import default_model_path
    from smearscan.classification import OnnxNetwork, onnx_session

    class Crops(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"crops": calibration[i:i + 32]}
                                 for i in range(0, len(calibration), 32)])

        def get_next(self) -> dict | None:
            return next(self.batches, None)

    prepared, quantised = folder / "prepared.onnx", folder / "int8.onnx"
    quant_pre_process(str(model_path or default_model_path()), str(prepared))
    quantize_static(str(prepared), str(quantised), Crops(), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    per_channel=True)
    return OnnxNetwork(onnx_session(quantised, threads=1))


def int8_comparison(ctx: Context, crops: np.ndarray) -> None:
    """Speed and calls of the int8 network against the float one, on crops it was not
    calibrated on (calibration on the first half)."""
    from smearscan.classification import call_labels

    half = len(crops) // 2
    quantised = int8_network(ctx.args.model, crops[:half], ctx.tmp)
    held_out = crops[half:]
    float_probabilities = ctx.model.network(held_out)[0]
    int8_probabilities = quantised(held_out)[0]
    calls = [call_labels(p, ctx.model.classes, ctx.model.thresholds)
             for p in (float_probabilities, int8_probabilities)]
    changed = int((calls[0] != calls[1]).sum())
    seconds = ctx.counts.classifier_seconds
    batch = np.ascontiguousarray(np.resize(crops, (32, *crops.shape[1:])))
    rates = [_rate(lambda n=n: n(batch), 32, seconds) for n in (ctx.model.network, quantised)]
    ctx.report.section(
        f"int8 static quantisation (ONNX Runtime, calibrated on {half} real crops, compared on "
        f"{len(held_out)} others; batch 32, 1 thread)", ("measure", "float32", "int8"),
        [("crops/s", f"{rates[0]:,.0f}", f"{rates[1]:,.0f}"),
         ("calls that differ from float32", "",
          f"{changed} ({100 * changed / len(held_out):.1f}%)"),
         ("max abs probability difference", "",
          f"{np.abs(float_probabilities - int8_probabilities).max():.3f}")])


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


#: Median wall and CPU seconds per field of ``analyse_field`` (classified, no output folder) over
#: the fields given after the model path, after one warm-up field; run in a child per code tree.
_FIELD_TIMES = """
import statistics, sys, time
from pathlib import Path
import cv2
cv2.setNumThreads(1)
# pipeline names FieldTask in both trees (defined there before issue 20, imported after); a
# try of smearscan.results would find this tree's module through its editable install.
from smearscan.pipeline import FieldTask, analyse_field
model = Path(sys.argv[1])
tasks = [FieldTask(slide="b", path=Path(p), image=Path(p).name, model_path=model)
         for p in sys.argv[2:]]
analyse_field(tasks[0])
walls, cpus = [], []
for task in tasks:
    wall, cpu = time.perf_counter(), time.process_time()
    analyse_field(task)
    walls.append(time.perf_counter() - wall)
    cpus.append(time.process_time() - cpu)
print(statistics.median(walls), statistics.median(cpus))
"""


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def tree_env(tree: Path) -> dict[str, str]:
    """The environment of a child that runs the smearscan of ``tree``, on one core."""
    env = child_env()
    env["PYTHONPATH"] = os.pathsep.join([str(tree), os.environ.get("PYTHONPATH", "")])
    return env


def tree_model(tree: Path) -> Path:
    """The shipped model of a code tree: default.onnx where there is one, else default.pt."""
    onnx = tree / "models" / "default.onnx"
    return onnx if onnx.is_file() else tree / "models" / "default.pt"


def before_after(before: Path, fields: list[Path], rounds: int, repeats: int, report: Report
                 ) -> dict[str, dict[str, float]]:
    """Per-field seconds and one-field CLI seconds of ``before`` and of this tree, alternated in
    ``rounds`` so that both meet the same machine load. CPU seconds (the process's, or the
    CLI child's user + system) are reported beside wall seconds: on a shared machine they
    are the steadier measure of the work. Returns medians by measure, then by tree."""
    trees = {"before": before.resolve(), "after": ROOT}
    samples: dict[str, dict[str, list[float]]] = {
        measure: {name: [] for name in trees}
        for measure in ("e2e wall", "e2e cpu", "cli wall", "cli cpu")}
    for _ in range(rounds):
        for name, tree in trees.items():
            done = subprocess.run(
                [sys.executable, "-c", _FIELD_TIMES, str(tree_model(tree)), *map(str, fields)],
                cwd=tree, env=tree_env(tree), capture_output=True, text=True, check=True)
            wall, cpu = map(float, done.stdout.split()[-2:])
            samples["e2e wall"][name].append(wall)
            samples["e2e cpu"][name].append(cpu)
            for _ in range(repeats):
                start, cpu = time.perf_counter(), _children_cpu()
                subprocess.run([sys.executable, "-m", "smearscan.cli", str(fields[0]),
                                "--quiet", "--model", str(tree_model(tree))], cwd=tree,
                               env=tree_env(tree), capture_output=True, check=True)
                samples["cli wall"][name].append(time.perf_counter() - start)
                samples["cli cpu"][name].append(_children_cpu() - cpu)
    medians = {measure: {name: statistics.median(values) for name, values in by_tree.items()}
               for measure, by_tree in samples.items()}
    labels = {
        "e2e wall": f"end to end in process, wall s/field (median of {len(fields) - 1} fields "
                    "per round, median over rounds)",
        "e2e cpu": "end to end in process, CPU s/field (same runs)",
        "cli wall": f"one-field CLI, start-up included, wall s (median of {rounds * repeats})",
        "cli cpu": "one-field CLI, start-up included, CPU s (same runs)"}
    rows = [(labels[m], f"{v['before']:.3f}", f"{v['after']:.3f}",
             f"{v['after'] / v['before']:.2f}") for m, v in medians.items()]
    rows.append(("per-round e2e wall, s/field",
                 " ".join(f"{v:.3f}" for v in samples["e2e wall"]["before"]),
                 " ".join(f"{v:.3f}" for v in samples["e2e wall"]["after"]), ""))
    report.section(
        f"Before/after (`--before {before}`): classified 640x480 Chula fields, one core, "
        f"{rounds} alternated rounds", ("measure", "before", "after", "after / before"), rows)
    return medians


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


# ----------------------------------------------------------------------------- main


@dataclass
class Context:
    """What the parts of the benchmark share."""

    args: argparse.Namespace
    counts: Counts
    report: Report
    tmp: Path
    model: object | None
    modes: list[bool]
    fields: list[Path]


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


def large_field(sources: list[Path], path: Path, shape: tuple[int, int]) -> Path:
    """A field of ``shape`` pixels tiled from Chula fields (real cells at the real scale)."""
    from smearscan.loading import read_field

    tiles = [read_field(p) for p in sources[:16]]
    tile = np.vstack([np.hstack(tiles[r * 4:(r + 1) * 4]) for r in range(4)])
    reps = (-(-shape[0] // tile.shape[0]), -(-shape[1] // tile.shape[1]), 1)
    Image.fromarray(np.tile(tile, reps)[:shape[0], :shape[1]]).save(path, quality=95)
    return path


def field_peak(path: Path, classify: bool, model: Path | None, cwd: Path
               ) -> tuple[int, int, str]:
    """(exit code, peak RSS bytes, last error line) of ``smearscan FIELD`` (no --out, 1 job)."""
    command = [sys.executable, "-m", "smearscan.cli", str(path), "--quiet", "--jobs", "1",
               "--max-pixels", "60000000"]
    if not classify:
        command.append("--no-classify")
    elif model is not None:
        command += ["--model", str(model)]
    _, code, rss, last = run_child(command, cwd, memory=True)
    return code, rss, last


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


def _main_process_run(command: list[str], cwd: Path) -> tuple[float, int, int, float, str]:
    """(wall seconds, exit code, peak RSS of the command's own process in bytes or 0, CPU
    seconds of its process tree, last line of stderr).

    Sampled every 0.1 s: the RSS from /proc, so that a Dask run's workers (its children) are not
    counted, unlike ``ru_maxrss``; the CPU time with psutil (Dask's dependency) as the last
    user + system seconds seen of every process of the tree, workers included (a process that
    ends between samples loses at most its last 0.1 s).
    """
    import psutil

    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=cwd, env=child_env(), stderr=err,
                                 stdout=subprocess.DEVNULL)
        peak, cpu = 0, {}
        while child.poll() is None:
            peak = max(peak, _rss(child.pid))
            cpu |= _tree_cpu(psutil, child.pid)
            time.sleep(0.1)
        wall = time.perf_counter() - start
        err.seek(0)
        lines = err.read().decode(errors="replace").strip().splitlines()
    return wall, child.returncode, peak, sum(cpu.values()), lines[-1] if lines else ""


def _tree_cpu(psutil, pid: int) -> dict[int, float]:
    """CPU seconds (user + system) so far of ``pid`` and its descendants, by process id."""
    seen = {}
    try:
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                seen[process.pid] = times.user + times.system
    except psutil.Error:
        pass
    return seen


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


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
            wall, code, rss, cpu, last = _main_process_run(command, ctx.tmp)
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


def benchmark(args: argparse.Namespace) -> Report:
    counts = QUICK if args.quick else FULL
    if args.memory_fields:
        counts = Counts(**{**counts.__dict__, "memory_fields": tuple(args.memory_fields)})
    if args.jobs_fields:
        counts = Counts(**{**counts.__dict__, "jobs_fields": args.jobs_fields})
    if args.slide_lengths:
        counts = Counts(**{**counts.__dict__, "slide_lengths": tuple(args.slide_lengths)})
    report = Report()
    single_threaded()
    model, why = load_classifier(args.model)
    single_threaded()
    if model is None:
        report.notes.append(f"Classifier parts skipped: {why}.")
    else:
        report.notes.append(f"Model: `{args.model or 'shipped default'}`, version "
                            f"`{model.version}`.")
    tmp = Path(tempfile.mkdtemp(prefix="smearscan-bench-"))
    try:
        fields = chula_fields(args.data, max(counts.stage_fields, 4 * counts.e2e_fields[2],
                                             counts.e2e_fields[0]))
        ctx = Context(args, counts, report, tmp, model,
                      [False, True] if model is not None else [False], fields)
        for name in args.only or PARTS:
            log(name)
            PARTS[name](ctx)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return report


def markdown(report: Report, machine_rows: list[tuple[str, str]], args: argparse.Namespace,
             seconds: float) -> str:
    lines = ["# smearscan benchmark", "",
             f"`{' '.join([Path(sys.executable).name, *sys.argv])}`, "
             f"{time.strftime('%Y-%m-%d %H:%M')}, {seconds / 60:.1f} min"
             + (" (**--quick**: small counts, a smoke run)" if args.quick else ""), "",
             "| machine | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in machine_rows]
    lines += [f"| load average at end | {load_average()} |"]
    lines += ["", "## Targets", "", "| measure | measured | target | met |", "|---|---:|---:|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in report.summary]
    for title, body in report.sections:
        lines += ["", f"## {title}", "", *body]
    notes = [*report.notes,
             "Threads: this process runs the network and OpenCV with 1 thread; CLI runs get "
             + ", ".join(f"`{v}=1`" for v in THREAD_VARIABLES)
             + " so that `--jobs 1` is one core (the workers of `--jobs N` set 1 thread "
             "themselves).",
             "End to end via the CLI after start-up = (wall of the N-field `--jobs 1` run - wall "
             "of a 1-field run) / (N - 1): it includes the review images, aggregation and "
             "writing of a run with `--out`; the in-process figure has none of them."]
    lines += ["", "## Notes", "", *[f"- {n}" for n in notes], ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument("--out", type=Path, metavar="FILE.md", help="also write the report here")
    parser.add_argument("--model", type=Path, metavar="FILE",
                        help="classifier file (default: the shipped model)")
    parser.add_argument("--data", type=Path, default=CHULA, metavar="DIR",
                        help=f"folder of 640x480 Chula fields (default {CHULA})")
    parser.add_argument("--memory-fields", type=int, nargs=2, metavar=("SMALL", "LARGE"),
                        help="fields of the two memory runs (default 250 1000)")
    parser.add_argument("--jobs-fields", type=int, metavar="N",
                        help="fields of the --jobs 1 / --jobs 2 runs (default 200)")
    parser.add_argument("--slide-lengths", type=int, nargs=2, metavar=("SHORT", "LONG"),
                        help="fields of the two one-slide runs of --only bounds "
                             "(default 250 2000)")
    parser.add_argument("--before", type=Path, metavar="DIR",
                        help="a checkout of the old code to time beside this one (part "
                             "'before'), e.g. from `git worktree add /tmp/before main`")
    parser.add_argument("--dask-repeats", type=int, default=3, metavar="N",
                        help="rounds of the Dask part's runs, best wall taken (default 3)")
    parser.add_argument("--only", nargs="+", choices=list(PARTS), metavar="PART",
                        help=f"run only these parts: {', '.join(PARTS)}")
    args = parser.parse_args()
    start = time.perf_counter()
    rows = machine()
    machine_before, own_before = cpu_seconds()
    report = benchmark(args)
    machine_after, own_after = cpu_seconds()
    wall = time.perf_counter() - start
    others = ((machine_after - machine_before) - (own_after - own_before)) / wall
    rows.append(("CPU used by other processes during the run", f"{others:.2f} cores (mean)"))
    if others > 0.1:
        report.notes.insert(0, f"**Other processes used {others:.2f} cores on average during "
                               "the run**: times are pessimistic, worker speed-ups understated.")
    text = markdown(report, rows, args, wall)
    print(text)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
