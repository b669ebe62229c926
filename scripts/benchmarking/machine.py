"""The machine the benchmark runs on and the CPU it used, and this process's set-up: one
thread, the classifier loaded.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import numpy as np


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
