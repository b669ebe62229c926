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
is N cores (smearscan's workers set one thread each themselves). Child processes start with
the package's bytecode compiled and cached (first, for this tree and ``--before``'s), as every
run after the first does on a lab PC, even where ``PYTHONDONTWRITEBYTECODE`` is set here. The
classifier is also timed with all cores. The classifier parts are skipped, with a note, when
``smearscan.classification`` or the model cannot be loaded.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarking.children import compiled
from benchmarking.common import (
    CHULA,
    FULL,
    QUICK,
    ROOT,
    THREAD_VARIABLES,
    Context,
    Counts,
    Report,
    log,
)
from benchmarking.fields import chula_fields
from benchmarking.machine import (
    cpu_seconds,
    load_average,
    load_classifier,
    machine,
    single_threaded,
)
from benchmarking.parts import PARTS


def benchmark(args: argparse.Namespace) -> Report:
    counts = QUICK if args.quick else FULL
    if args.memory_fields:
        counts = Counts(**{**counts.__dict__, "memory_fields": tuple(args.memory_fields)})
    if args.jobs_fields:
        counts = Counts(**{**counts.__dict__, "jobs_fields": args.jobs_fields})
    if args.slide_lengths:
        counts = Counts(**{**counts.__dict__, "slide_lengths": tuple(args.slide_lengths)})
    report = Report()
    for tree in (ROOT, *([args.before] if args.before else [])):
        compiled(tree)
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
