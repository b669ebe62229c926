"""Signed-off reviews as labelled training data: ``corrections.csv`` written and read.

One row per reviewed cell of every signed-off slide: the cells whose class the reviewer changed
(``source`` = ``corrected``) and the cells of the flagged and near-miss galleries the reviewer
saw and left (``confirmed``), each field by its absolute path. Slides in progress or whose
inputs changed give no rows.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path

from smearscan.datasets import LabeledField
from smearscan.outputs import csv_text, write_text_atomic
from smearscan.review.folder import ResultsFolder
from smearscan.review.records import ReviewError
from smearscan.review.reviews import cut_short_note, review_status, reviewed_labels
from smearscan.slide_stats import LABELS

HEADER = ("image_path", "x", "y", "class", "pixel_size_um", "slide", "image", "cell_id",
          "model_class", "source", "reviewer", "signed_at")


def correction_rows(folder: ResultsFolder) -> list[tuple]:
    """The rows of ``corrections.csv`` for the signed-off slides of ``folder``."""
    rows = []
    for slide, record in folder.records.items():
        review = folder.current_review(slide)
        if record.cells is None or review is None or review.signoff is None:
            continue
        cells = record.cells
        labels = reviewed_labels(cells, review)
        confirmed = {cells.row_of[c] for c in review.confirmed if c in cells.row_of}
        changed = {int(r) for r in (labels != cells.label).nonzero()[0]}
        sizes = {f.image: f.pixel_size_um for f in record.summary.fields}
        for row in sorted(changed | confirmed):
            image = str(cells.image[row])
            source = record.fields[image].path
            if source is None:
                raise ReviewError(f"slide {slide!r}: the run did not record where its fields "
                                  "are; re-run the batch analysis with this version")
            # Absolute: the file is read from wherever training runs (QA 109 L3).
            rows.append((str(source.resolve()), cells.x[row], cells.y[row], labels[row],
                         sizes[image], slide, image, int(cells.cell_id[row]), cells.label[row],
                         "corrected" if row in changed else "confirmed",
                         review.signoff.reviewer, review.signoff.time))
    return rows


def slides_cut_short(out: Path) -> list[str]:
    """A note for each slide of results folder ``out`` with a review change cut short: its rows
    come from ``review.json`` as saved, which the slide's other files may not show yet."""
    slides = sorted(p.name for p in (out / "slides").iterdir() if p.is_dir())
    return [note for slide in slides if (note := cut_short_note(out, slide)) is not None]


def not_exported(folder: ResultsFolder) -> list[str]:
    """A note for each slide of ``folder`` with a review that gives no rows, and what to do: a
    slide re-opened after an export loses its rows from the next (QA 109 L1)."""
    notes = []
    for slide, record in folder.records.items():
        review = folder.reviews[slide]
        status = review_status(record, review)
        if record.cells is None or status in (None, "signed off"):
            continue
        if status == "inputs changed":
            notes.append(f"slide {slide!r}: its review no longer applies (inputs changed), not "
                         "exported: review it again and sign it off")
        elif any(event["event"] == "reopened" for event in review.history):
            notes.append(f"slide {slide!r}: review in progress (re-opened), not exported: sign "
                         "it off again")
        else:
            notes.append(f"slide {slide!r}: review in progress, not exported: sign it off")
    return notes


def export_corrections(out: Path, path: Path) -> tuple[int, list[str]]:
    """Write ``corrections.csv`` of results folder ``out`` to ``path``, unless no slide gives a
    row (a file there is left as it is: QA 112 L-a, an earlier export's labels were replaced by a
    header); returns the row count and :func:`not_exported`'s notes."""
    folder = ResultsFolder(out)
    rows = correction_rows(folder)
    if rows:
        write_text_atomic(path, csv_text(HEADER, rows))
    return len(rows), not_exported(folder)


def _number(text: str, path: Path, line: int, name: str, *, positive: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        kind = "a positive" if positive else "a non-negative"
        raise ReviewError(f"{path}, line {line}: {name} {text!r} is not {kind} number")
    return value


def read_corrections(path: Path) -> list[LabeledField]:
    """The fields of a ``corrections.csv`` with their reviewed cells as labelled points.

    Raises
    ------
    ReviewError
        An unreadable file, a missing column, a bad number or an unknown class, with its line.
    """
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in ("image_path", "x", "y", "class", "pixel_size_um")
                       if c not in (reader.fieldnames or ())]
            if missing:
                raise ReviewError(f"{path}: not a corrections file (no column "
                                  f"{', '.join(missing)})")
            points: dict[str, list] = defaultdict(list)
            sizes: dict[str, float] = {}
            for line, row in enumerate(reader, start=2):
                if row["class"] not in LABELS:
                    raise ReviewError(f"{path}, line {line}: unknown class {row['class']!r}")
                x, y = (_number(row[k], path, line, k) for k in ("x", "y"))
                sizes[row["image_path"]] = _number(row["pixel_size_um"], path, line,
                                                   "pixel_size_um", positive=True)
                points[row["image_path"]].append((x, y, row["class"]))
    except OSError as error:
        raise ReviewError(f"{path}: cannot read ({error.strerror or error})") from None
    return [LabeledField(Path(image), sizes[image], tuple(found), f"review:{image}")
            for image, found in points.items()]
