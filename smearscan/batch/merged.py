"""The folder's merged outputs: every slide's cells in one ``cells.csv``, ``summary.json`` and
``errors.csv``, rewritten (atomically) whenever a slide finishes or a review signs one off."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from smearscan import __version__
from smearscan.batch.outcome import SlideOutcome
from smearscan.batch.resume import recorded_fingerprints, recorded_sources
from smearscan.batch.summary import EMPTY_CELLS_CSV
from smearscan.loading import natural_key
from smearscan.outputs import (
    ESCAPED,
    atomic_text_file,
    csv_text,
    write_json_atomic,
    write_text_atomic,
)
from smearscan.review.reviews import REVIEWED_CLASS

#: Columns of the folder's errors.csv.
ERROR_HEADER = ("slide", "image", "error")


def write_merged_outputs(out: Path, outcomes: list[SlideOutcome],
                         problems: Sequence[tuple[str, str, str]] = ()) -> None:
    """Write ``cells.csv``, ``summary.json`` and ``errors.csv`` over ``outcomes`` (every slide
    the folder holds, in name order), plus ``problems`` about the folder itself.

    An outcome's cells are its ``cells_csv`` text when it has one, else its slide's
    ``cells.csv``, streamed from disk.
    """
    outcomes = sorted(outcomes, key=lambda o: natural_key(o.name))
    _write_merged_cells(out, outcomes)
    errors = [e for o in outcomes for e in o.errors] + list(problems)
    write_text_atomic(out / "errors.csv", csv_text(ERROR_HEADER, errors), undecodable=ESCAPED)
    recorded = (recorded_sources(recorded_fingerprints(out)) if any(not o.source for o in outcomes)
                else {})
    write_json_atomic(out / "summary.json", {
        "smearscan_version": __version__,
        "model": _shared_model(outcomes),
        "models": {o.name: o.model for o in outcomes},
        "sources": {o.name: o.source or recorded.get(o.name) for o in outcomes},
        "slides": {o.name: o.summary.to_dict() for o in outcomes},
    })


def _shared_model(outcomes: list[SlideOutcome]) -> dict | None:
    """The model block of the folder's classified slides when they share one, else None: a
    slide analysed again with another ``--model`` must not be said to be the first's (QA 50
    F3); each slide's own is under ``models``."""
    models = [o.model for o in outcomes if o.model is not None]
    return models[0] if models and all(m == models[0] for m in models) else None


def _write_merged_cells(out: Path, outcomes: list[SlideOutcome]) -> None:
    """The slides' cells one after another. Slides written with other columns (an earlier run
    without the classifier) are aligned to the widest header; classified cells always have
    the ``reviewed_class`` column (empty until ``smearscan review`` signs the slide off)."""
    headers = [_header(_cells_text(out, o)) for o in outcomes]
    columns: list[str] = []
    for header in headers:
        columns += [c for c in header if c not in columns]
    if "class" in columns and REVIEWED_CLASS not in columns:
        columns.append(REVIEWED_CLASS)
    columns = columns or ["slide", "image", "cell_id"]
    with atomic_text_file(out / "cells.csv", undecodable=ESCAPED) as merged:
        merged.write(",".join(columns) + "\n")
        for outcome, header in zip(outcomes, headers, strict=True):
            if header:
                with _cells_text(out, outcome) as handle:
                    _copy_rows(handle, header, columns, merged)


def _cells_text(out: Path, outcome: SlideOutcome) -> TextIO:
    if outcome.cells_csv is not None:
        return io.StringIO(outcome.cells_csv, newline="")
    return open(out / "slides" / outcome.name / "cells.csv", newline="", encoding="utf-8",
                errors="surrogateescape")


def _header(handle: TextIO) -> list[str]:
    with handle:
        header = next(csv.reader(handle), [])
    return header if header != EMPTY_CELLS_CSV.strip().split(",") else []


def _copy_rows(handle: TextIO, header: list[str], columns: list[str], merged: TextIO) -> None:
    handle.readline()
    if header == columns:
        for block in iter(lambda: handle.read(1 << 20), ""):
            merged.write(block)
        return
    writer = csv.writer(merged, lineterminator="\n")
    for row in csv.DictReader(handle, fieldnames=header):
        writer.writerow([row.get(c, "") for c in columns])
