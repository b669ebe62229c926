"""A slide's ``report.html`` issued again once its review is signed off or re-opened, and when a
run analyses a reviewed slide again.

The run wrote the report on the classifier's calls, before any review. After sign-off it must
show what the technologist signed: the reviewed count, call and verdict
(:attr:`~smearscan.results.SlideSummary.reported_statistics`), its galleries and field pictures
in the reviewed classes. Crops and pictures are drawn again from the fields
(:mod:`smearscan.review.images`), as the review app shows them. ``slide.json`` then records the
new files' digests, so that a later run still resumes the slide.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from smearscan.batch.naming import field_stems
from smearscan.batch.resume import reseal_outputs
from smearscan.batch.summary import (
    GALLERY_LIMIT,
    THUMBNAIL_LIMIT,
    ReportParts,
    field_picture,
    gallery_group,
    report_field,
)
from smearscan.outputs import write_bytes_atomic, write_text_atomic
from smearscan.render import REVIEW_CLASSES
from smearscan.report import slide_report_html
from smearscan.results import ReviewCell, SlideSummary
from smearscan.review.images import crop_jpeg, field_picture_jpeg
from smearscan.review.records import SlideRecord, read_slide_record
from smearscan.review.reviews import Review, now, reviewed_labels

__all__ = ["SlideReport", "reissue_report", "slide_report", "write_slide_report"]


@dataclass(frozen=True)
class SlideReport:
    """What a report issued again is made of: its galleries and field entries (``parts``), and
    the field pictures drawn again in the same classes (path -> JPEG bytes)."""

    parts: ReportParts
    pictures: dict[Path, bytes]


def _gallery_members(record: SlideRecord, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Per class, the rows of its whole cells (in ``labels``), most probable first."""
    cells = record.cells
    members = {}
    for label in REVIEW_CLASSES:
        rows = np.flatnonzero(~cells.border & (labels == label))
        members[label] = rows[np.argsort(-cells.probability[label][rows], kind="stable")]
    return members


def _written_pictures(folder: Path, summary: SlideSummary) -> dict[str, tuple[Path, str]]:
    """Image -> (path, link) of the field pictures the run wrote for the fields the report
    shows."""
    stems = dict(zip((f.image for f in summary.fields),
                     field_stems([f.image for f in summary.fields]), strict=True))
    pictures = {f.image: field_picture(folder, stems[f.image])
                for f in summary.fields[:THUMBNAIL_LIMIT]}
    return {image: place for image, place in pictures.items() if place[0].is_file()}


def _drawn(record: SlideRecord, labels: np.ndarray, rows: dict[str, list[int]],
           pictures: dict[str, tuple[Path, str]]) -> tuple[dict[int, bytes], dict[Path, bytes]]:
    """The gallery tiles of ``rows`` (by image) and the ``pictures``, in ``labels``' classes.
    Field by field: each is segmented again for its tiles and its picture together."""
    cells, tiles, drawn = record.cells, {}, {}
    for image in sorted(set(rows) | (set(pictures) & set(record.fields))):
        source = record.fields[image]
        tiles |= {row: crop_jpeg(image, source, cells, row, labels) for row in rows.get(image, ())}
        if image in pictures:
            drawn[pictures[image][0]] = field_picture_jpeg(image, source, cells, labels)
    return tiles, drawn


def slide_report(folder: Path, record: SlideRecord, labels: np.ndarray) -> SlideReport:
    """The galleries and field pictures of the slide in ``folder`` with each cell in its class
    of ``labels``.

    Raises
    ------
    ConflictError
        A field cannot be read now or segments differently.
    """
    cells, summary = record.cells, record.summary
    members = _gallery_members(record, labels)
    rows_of: dict[str, list[int]] = {}
    for rows in members.values():
        for row in rows[:GALLERY_LIMIT]:
            rows_of.setdefault(str(cells.image[row]), []).append(int(row))
    pictures = _written_pictures(folder, summary)
    tiles, drawn = _drawn(record, labels, rows_of, pictures)
    gallery = [gallery_group(label, int(rows.size), [
        ReviewCell(str(cells.image[r]), int(cells.cell_id[r]), label,
                   float(cells.probability[label][r]), tiles[int(r)])
        for r in rows[:GALLERY_LIMIT]]) for label, rows in members.items() if rows.size]
    shown = summary.fields[:THUMBNAIL_LIMIT]
    fields = [report_field(f, pictures[f.image][1] if f.image in pictures else None)
              for f in shown]
    return SlideReport(ReportParts(gallery, fields, len(summary.fields) - len(shown)), drawn)


def write_slide_report(out: Path, record: SlideRecord, summary: SlideSummary,
                       report: SlideReport) -> None:
    """Write the slide's field pictures and ``report.html`` on ``summary`` (with its review
    block), saying when it was issued again, and record their digests in ``slide.json``."""
    for path, data in report.pictures.items():
        write_bytes_atomic(path, data)
    path = out / "slides" / record.name / "report.html"
    version = (record.model or {}).get("version")
    write_text_atomic(path, slide_report_html(record.name, summary, report.parts,
                                              model_version=version, reissued=now()))
    reseal_outputs(out, record.name, [*report.pictures, path])


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
    write_slide_report(out, record, summary, slide_report(out / "slides" / name, record, labels))
