"""A slide's ``report.html`` issued again once its review is signed off or re-opened, and when a
run analyses a reviewed slide again.

The run wrote the report on the classifier's calls, before any review. After sign-off it must
show what the technologist signed: the reviewed count, call and verdict
(:attr:`~smearscan.results.SlideSummary.reported_statistics`), its galleries in the reviewed
classes. Its crops are cut again from the fields
(:mod:`smearscan.review.images`), as the review app shows them; the field pictures the run
wrote are linked as they are. ``slide.json`` then records the new report's digest, so that a
later run still resumes the slide.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from smearscan.batch.naming import field_stems
from smearscan.batch.resume import reseal_output
from smearscan.batch.summary import (
    GALLERY_LIMIT,
    THUMBNAIL_LIMIT,
    ReportParts,
    field_picture,
    gallery_group,
    report_field,
)
from smearscan.outputs import write_text_atomic
from smearscan.render import REVIEW_CLASSES
from smearscan.report import slide_report_html
from smearscan.results import ReviewCell, SlideSummary
from smearscan.review.images import crop_jpeg
from smearscan.review.records import SlideRecord, read_slide_record
from smearscan.review.reviews import Review, now, reviewed_labels

__all__ = ["reissue_report", "report_parts", "write_slide_report"]


def _gallery(record: SlideRecord, labels: np.ndarray) -> list[dict]:
    """Per class, the most probable whole cells of that (reviewed) class, as tiles."""
    cells = record.cells
    members = {}
    for label in REVIEW_CLASSES:
        rows = np.flatnonzero(~cells.border & (labels == label))
        members[label] = rows[np.argsort(-cells.probability[label][rows], kind="stable")]
    # Cut field by field: a field is segmented again for its crops, and only a few are kept.
    shown = sorted({int(r) for rows in members.values() for r in rows[:GALLERY_LIMIT]},
                   key=lambda r: (str(cells.image[r]), r))
    tiles = {r: crop_jpeg(str(cells.image[r]), record.fields[str(cells.image[r])], cells, r,
                          labels) for r in shown}
    return [gallery_group(label, int(rows.size), [
        ReviewCell(str(cells.image[r]), int(cells.cell_id[r]), label,
                   float(cells.probability[label][r]), tiles[int(r)])
        for r in rows[:GALLERY_LIMIT]]) for label, rows in members.items() if rows.size]


def _fields(folder: Path, summary: SlideSummary) -> tuple[list[dict], int]:
    """The report's fields with the pictures the run wrote, and how many are not shown."""
    shown = summary.fields[:THUMBNAIL_LIMIT]
    entries = []
    for field, stem in zip(shown, field_stems([f.image for f in summary.fields]), strict=False):
        path, link = field_picture(folder, stem)
        entries.append(report_field(field, link if path.is_file() else None))
    return entries, len(summary.fields) - len(shown)


def report_parts(folder: Path, record: SlideRecord, labels: np.ndarray) -> ReportParts:
    """The galleries of ``labels`` (each cell's class) and the field pictures of the slide
    in ``folder``.

    Raises
    ------
    ConflictError
        A field cannot be read now or segments differently (its crops cannot be cut).
    """
    fields, hidden = _fields(folder, record.summary)
    return ReportParts(gallery=_gallery(record, labels), fields=fields, fields_hidden=hidden)


def write_slide_report(out: Path, record: SlideRecord, summary: SlideSummary,
                       parts: ReportParts) -> None:
    """Write the slide's ``report.html`` on ``summary`` (with its review block), saying when it
    was issued again, and record its digest in the slide's ``slide.json``."""
    path = out / "slides" / record.name / "report.html"
    version = (record.model or {}).get("version")
    write_text_atomic(path, slide_report_html(record.name, summary, parts,
                                              model_version=version, reissued=now()))
    reseal_output(out, record.name, path)


def reissue_report(out: Path, name: str, summary: SlideSummary, review: Review) -> None:
    """The report of a reviewed slide that a run analysed again (new lab values, ``--force``,
    changed fields), with its review: on the reviewed cells when it is signed off, else on the
    classifier's calls with the review's state.

    Raises
    ------
    ReviewError
        The slide's record cannot be read, or a field's crops cannot be cut again.
    """
    record = read_slide_record(out / "slides" / name)
    if record.cells is None:  # analysed again without the classifier: no review to show
        return
    labels = (reviewed_labels(record.cells, review) if summary.signed_off is not None
              else record.cells.label)
    write_slide_report(out, record, summary, report_parts(out / "slides" / name, record, labels))
