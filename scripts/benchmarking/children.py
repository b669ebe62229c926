"""Measurements in child processes: start-up, and the wall time, exit code, peak memory and CPU
of CLI runs and of the classifier alone.
"""

from __future__ import annotations

import compileall
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarking.common import GIB, ROOT, THREAD_VARIABLES, Report


def child_env() -> dict[str, str]:
    """The environment of a CLI child: one core, and Python's bytecode cache in use.

    A lab PC runs smearscan with its compiled modules cached after the first run (a wheel's are
    compiled at install), so a child that recompiled every module on each start
    (``PYTHONDONTWRITEBYTECODE`` set here, as on the development machines) would time a start-up
    no user meets: ~0.1 s more than with the cache (:func:`compiled` fills it first)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compiled(tree: Path) -> None:
    """Compile the ``smearscan`` package of a code tree into its bytecode cache, as the first
    run on a lab PC would, so that every timed child starts as the later runs do."""
    compileall.compile_dir(tree / "smearscan", quiet=1)


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


def main_process_run(command: list[str], cwd: Path) -> tuple[float, int, int, float, str]:
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
