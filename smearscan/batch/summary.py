"""A slide's summary and files, built as its fields stream in (the folder's merged outputs:
:mod:`smearscan.batch.merged`).

Memory stays flat over a long slide: each field's cells go to the slide's ``cells.csv`` as they
arrive and only three small columns (class, shape, border; one byte per cell) are kept for the
slide statistics; the report keeps at most :data:`GALLERY_LIMIT` review cells per class and
:data:`THUMBNAIL_LIMIT` field pictures, saying how many more there are.
"""

from __future__ import annotations

import heapq
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

import numpy as np

from smearscan.outputs import (
    atomic_text_file,
    columns_csv_text,
    write_bytes_atomic,
)
from smearscan.overlap import FieldCentres, field_centres, overlapping_fields
from smearscan.render import REVIEW_CLASSES
from smearscan.results import (
    FieldResult,
    FieldSummary,
    ModelInfo,
    ReviewCell,
    SlideSummary,
    median_diameter,
    slide_statistics,
    whole_rbc_diameters,
)

#: Review cells shown per class in a slide's report (most probable first); the rest are counted
#: ("N more") and are all in cells.csv. A rule of this tool, to keep the report openable.
GALLERY_LIMIT = 100
#: Field pictures shown in a slide's report, each a JPEG file beside it; the rest are counted.
THUMBNAIL_LIMIT = 48
EMPTY_CELLS_CSV = "slide,image\n"
#: The folder beside a slide's report holding its field pictures.
FIELD_PICTURES = "fields"


class _Codes:
    """A str column kept as one byte per value (few distinct values: classes, shapes)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.parts: list[np.ndarray] = []

    def add(self, values: np.ndarray) -> None:
        names, inverse = np.unique(np.asarray(values).astype(str), return_inverse=True)
        lookup = np.array([self._code(str(name)) for name in names], dtype=np.uint8)
        self.parts.append(lookup[inverse.ravel()])

    def _code(self, name: str) -> int:
        if name not in self.names:
            self.names.append(name)
        return self.names.index(name)

    def values(self) -> np.ndarray:
        codes = np.concatenate(self.parts) if self.parts else np.zeros(0, np.uint8)
        return np.asarray(self.names or [""])[codes]


def class_counts(labels: np.ndarray, border: np.ndarray) -> dict[str, int]:
    """Whole (not border) objects per class, classes in sorted order."""
    names, counts = np.unique(labels[~border], return_counts=True)
    return {str(n): int(c) for n, c in zip(names, counts, strict=True)}


def field_summary(result: FieldResult) -> FieldSummary:
    """One field's entry in ``per_field``."""
    if result.error is not None:
        return FieldSummary(result.image, error=result.error)
    border = result.cells["border"].astype(bool) if result.count else np.zeros(0, bool)
    return FieldSummary(
        image=result.image, width=result.width, height=result.height, objects=result.count,
        border_objects=int(border.sum()), pixel_size_um=result.pixel_size_um,
        pixel_size_estimated=result.pixel_size_estimated,
        counts=class_counts(result.cells["class"], border)
        if result.count and "class" in result.cells else {},
        edge_width_um=_rounded(result.edge_width_um),
        light_falloff=_rounded(result.condition.light_falloff), evened=result.condition.evened,
        noise_levels=_rounded(result.condition.noise_levels),
        smoothed_px=round(result.condition.smoothed_px, 4),
        picture_box=result.condition.picture_box,
        taken_off=result.condition.taken_off, canvas_uncut=result.condition.canvas_uncut,
        painted_px=result.condition.painted_px, jpeg_quality=result.condition.jpeg_quality,
        own_pixel_size_um=None if result.own_pixel_size_um is None
        else _rounded(result.own_pixel_size_um))


def _rounded(value: float) -> float | None:
    """A measure as ``summary.json`` records it: 4 decimals, None when not measured (nan)."""
    return round(value, 4) if math.isfinite(value) else None


@dataclass
class ReportParts:
    """What the HTML report shows beyond the summary: bounded gallery and field pictures."""

    gallery: list[dict] = field(default_factory=list)
    fields: list[dict] = field(default_factory=list)
    fields_hidden: int = 0


class SlideBuilder:
    """Takes a slide's field results one at a time and keeps only what its outputs need.

    Parameters
    ----------
    name : str
        The slide's output name.
    cells : text file or None
        Where the slide's ``cells.csv`` is written as fields arrive (None: not written).
    folder : Path or None
        The slide's output folder, for the field pictures the report links to (None: no
        pictures are written).
    """

    def __init__(self, name: str, cells: TextIO | None, folder: Path | None) -> None:
        self.name, self.cells, self.folder = name, cells, folder
        self.header: str | None = None
        self.per_field: list[FieldSummary] = []
        self.errors: list[tuple[str, str, str]] = []
        self.unread: list[str] = []  # fields whose file could not be read: tried again
        self.labels, self.shapes = _Codes(), _Codes()
        self.border: list[np.ndarray] = []
        self.touching: list[np.ndarray] = []
        self.objects, self.sizes, self.estimated = 0, [], False
        self.centres: list[FieldCentres] = []  # whole cells, for fields that overlap
        self.rbc_diameters: list[np.ndarray] = []  # whole red cells, um
        self.model: ModelInfo | None = None
        self.gallery: dict[str, list[tuple[float, int, ReviewCell]]] = {}
        self.called: dict[str, int] = {}
        self.report = ReportParts()
        self.written: list[Path] = []

    def add(self, result: FieldResult, stem: str) -> None:
        """Take one field's result (``stem``: its output name, for its picture)."""
        summary = field_summary(result)
        self.per_field.append(summary)
        self._picture(result, stem, summary)
        if result.error is not None:
            self.errors.append((self.name, result.image, result.error))
            if result.unread:
                self.unread.append(result.image)
            return
        self.model = self.model or result.model
        if math.isfinite(result.pixel_size_um):
            self.sizes.append(result.pixel_size_um)
        self.estimated |= result.pixel_size_estimated
        for cell in result.review_cells:
            self._review(cell)
        if not result.count:
            return
        self.objects += result.count
        self.centres.append(field_centres(result.image, result.cells, result.width,
                                          result.height, result.pixel_size_um))
        self._write_cells(result)
        if "class" in result.cells:
            self.rbc_diameters.append(whole_rbc_diameters(result.cells))
            self.labels.add(result.cells["class"])
            self.shapes.add(result.cells["morphology"])
            self.border.append(result.cells["border"].astype(bool))
            self.touching.append(result.cells["touching"].astype(bool))

    def _write_cells(self, result: FieldResult) -> None:
        if self.cells is None:
            return
        text = columns_csv_text({
            "slide": np.full(result.count, self.name, dtype=object),
            "image": np.full(result.count, result.image, dtype=object), **result.cells})
        header, _, body = text.partition("\n")
        if self.header is None:
            self.header = header
            self.cells.write(header + "\n")
        self.cells.write(body)

    def _review(self, cell: ReviewCell) -> None:
        heap = self.gallery.setdefault(cell.label, [])
        self.called[cell.label] = self.called.get(cell.label, 0) + 1
        # Ties keep arrival order: the earlier cell is the "larger" one (-order).
        entry = (cell.probability, -self.called[cell.label], cell)
        if len(heap) < GALLERY_LIMIT:
            heapq.heappush(heap, entry)
        elif entry[:2] > heap[0][:2]:
            heapq.heapreplace(heap, entry)

    def _picture(self, result: FieldResult, stem: str, summary: FieldSummary) -> None:
        if len(self.report.fields) >= THUMBNAIL_LIMIT:
            self.report.fields_hidden += 1
            return
        picture = None
        if result.thumbnail and self.folder is not None:
            path, picture = field_picture(self.folder, stem)
            write_bytes_atomic(path, result.thumbnail)
            self.written.append(path)
        self.report.fields.append(report_field(summary, picture))

    def finish_cells(self) -> None:
        """Close ``cells.csv``: a slide without cells gets the header only."""
        if self.cells is not None and self.header is None:
            self.cells.write(EMPTY_CELLS_CSV)

    def report_parts(self) -> ReportParts:
        """The bounded gallery (most probable first) and field pictures."""
        self.report.gallery = [
            gallery_group(label, self.called[label],
                          [entry[2] for entry in sorted(self.gallery[label], reverse=True)])
            for label in REVIEW_CLASSES if self.gallery.get(label)]
        return self.report

    def summary(self, population: str, *, own_pixel_size_um: float | None = None,
                pixel_size_trusted: bool = False) -> SlideSummary:
        """The slide's summary (statistics when the cells were classified), with the slide's
        own estimate its declared pixel size was compared with and whether it was trusted
        (they decide :attr:`SlideSummary.scale_note`)."""
        summary = SlideSummary(
            fields=tuple(self.per_field), objects=self.objects,
            pixel_size_um=float(np.median(self.sizes)) if self.sizes else None,
            pixel_size_estimated=self.estimated,
            overlapping_fields=overlapping_fields(self.centres),
            median_rbc_diameter_um=median_diameter(self.rbc_diameters),
            own_pixel_size_um=own_pixel_size_um, pixel_size_trusted=pixel_size_trusted)
        if not self.labels.parts:
            return summary
        return replace(summary, statistics=slide_statistics(
            self.per_field, label=self.labels.values(), morphology=self.shapes.values(),
            border=np.concatenate(self.border), touching=np.concatenate(self.touching),
            operating=self.model.operating if self.model is not None else None,
            population=population, scale_note=summary.scale_note,
            overlaps=summary.overlapping_fields))


def field_picture(folder: Path, stem: str) -> tuple[Path, str]:
    """Where the report's picture of the field ``stem`` is, and the report's link to it."""
    path = folder / FIELD_PICTURES / f"{stem}.jpg"
    # A link: '#', '?' or '%' in a file name must not end or change the URL.
    return path, quote(os.fsencode(path.relative_to(folder).as_posix()))


def report_field(summary: FieldSummary, picture: str | None) -> dict:
    """A field of the report: its ``summary.json`` entry, so that the caption shows what the
    summary records, the link to its picture (None: no picture), and what framing did and left
    in, in words (:attr:`FieldSummary.picture_said`, :attr:`FieldSummary.canvas_note`), and
    whether it is a low-quality JPEG (:attr:`FieldSummary.compressed`)."""
    return {**summary.to_dict(), "picture": picture, "picture_said": summary.picture_said,
            "canvas_note": summary.canvas_note, "compressed": summary.compressed}


def gallery_group(label: str, total: int, shown: list[ReviewCell]) -> dict:
    """A gallery of the report: the ``shown`` cells (most probable first) of ``total`` called
    ``label``."""
    return {"label": label, "total": total, "hidden": total - len(shown), "cells": shown}


def write_slide_cells(folder: Path | None):
    """The slide's ``cells.csv`` as an atomically written file, or None without an output."""
    return atomic_text_file(folder / "cells.csv") if folder is not None else None
