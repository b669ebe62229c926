"""What the modules of the benchmark share: paths, counts, the report, the context of a part,
and the log."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
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
