"""What the batch run recorded of a slide (``slide.json`` and its ``cells.csv``), as the review
reads it, and the errors a review request meets."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from smearscan.errors import SmearscanError
from smearscan.loading import content_digest
from smearscan.render import REVIEW_CLASSES
from smearscan.results import SlideSummary


class ReviewError(SmearscanError):
    """A review request that cannot be met; ``status`` is the HTTP status the app answers."""

    status = 400
    exit_code = 2


class NotFoundError(ReviewError):
    """An unknown slide, image or cell."""

    status = 404


class ConflictError(ReviewError):
    """A request the slide's state forbids (signed off, not classified, field changed)."""

    status = 409


@dataclass(frozen=True)
class Cells:
    """The classified cells of one slide, in the row order of its ``cells.csv``."""

    image: np.ndarray
    cell_id: np.ndarray
    x: np.ndarray
    y: np.ndarray
    diameter_um: np.ndarray
    area_um2: np.ndarray
    area_px: np.ndarray
    border: np.ndarray
    touching: np.ndarray | None
    label: np.ndarray
    morphology: np.ndarray
    probability: Mapping[str, np.ndarray]
    row_of: Mapping[tuple[str, int], int] = field(repr=False)

    @classmethod
    def from_rows(cls, rows: list[dict[str, str]]) -> Cells:
        """Typed columns of ``cells.csv`` rows (as :func:`~smearscan.outputs.read_csv_rows`)."""
        def column(name: str, kind: type) -> np.ndarray:
            return np.array([kind(r[name]) if r[name] != "" else np.nan for r in rows]
                            if kind is float else [kind(r[name]) for r in rows])

        image = np.array([r["image"] for r in rows], dtype=object)
        cell_id = column("cell_id", int).astype(np.int64)
        return cls(
            image=image, cell_id=cell_id, x=column("x", float), y=column("y", float),
            diameter_um=column("diameter_um", float), area_um2=column("area_um2", float),
            area_px=column("area_px", float),
            border=np.array([r["border"] == "true" for r in rows], dtype=bool),
            # No column before 0.3.13: None, every cell graded as before.
            touching=(np.array([r["touching"] == "true" for r in rows], dtype=bool)
                      if rows and "touching" in rows[0] else None),
            label=np.array([r["class"] for r in rows], dtype=object),
            morphology=np.array([r["morphology"] for r in rows], dtype=object),
            probability={name: column(f"p_{name}", float) for name in REVIEW_CLASSES},
            row_of={(str(i), int(c)): n for n, (i, c) in enumerate(zip(image, cell_id,
                                                                        strict=True))},
        )

    def field_columns(self, image: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Rows of one field and the columns a review crop needs
        (:func:`smearscan.pipeline.review_window`)."""
        rows = np.flatnonzero(self.image == image)
        return rows, {"x": self.x[rows], "y": self.y[rows], "diameter_um": self.diameter_um[rows],
                      "area_um2": self.area_um2[rows], "area_px": self.area_px[rows]}


@dataclass(frozen=True)
class FieldSource:
    """Where a field's image is and how the run segmented it; ``digest``: the SHA-256 of the
    file the run analysed (None: not recorded)."""

    path: Path | None
    pixel_size_um: float | None
    objects: int
    digest: str | None = None


@dataclass(frozen=True)
class SlideRecord:
    """What the batch run recorded of one slide (``slide.json`` and its ``cells.csv``)."""

    name: str
    fingerprint: Any
    summary: SlideSummary
    model: dict | None
    errors: list
    cells_csv: str
    cells: Cells | None
    fields: Mapping[str, FieldSource]

    @property
    def population(self) -> str:
        """The population whose reference limit the run used."""
        statistics = self.summary.statistics
        return statistics.schistocytes.population if statistics is not None else "adult"

    @property
    def operating(self) -> dict | None:
        """The classifier's operating characteristics the run used (None unclassified)."""
        return (self.model or {}).get("operating_points")


def _field_root(record: dict, folder: Path) -> Path | None:
    """Where the slide's fields are read from: its input path as the run recorded it relative
    to the results folder, where it is (inputs moved or copied together with their results,
    then re-run: a resumed slide keeps the record that named the old place), else the absolute
    folder the run wrote (results moved away from their inputs)."""
    fingerprint = record.get("fingerprint")
    source = fingerprint.get("source") if isinstance(fingerprint, dict) else None
    if isinstance(source, str) and source:
        # Lexically, as the run made it relative (os.path.relpath), keeping a link's name.
        given = Path(os.path.normpath(folder.parent.parent / source))
        if given.exists():
            return given if given.is_dir() else given.parent
    return Path(record["root"]) if record.get("root") else None


def _fields(record: dict, summary: SlideSummary, folder: Path) -> dict[str, FieldSource]:
    root = _field_root(record, folder)
    digests = _recorded_digests(record.get("fingerprint"))
    return {f.image: FieldSource(root / f.image if root else None,
                                 None if f.pixel_size_estimated else f.pixel_size_um, f.objects,
                                 digests.get(f.image))
            for f in summary.fields if f.error is None}


def _recorded_digests(fingerprint: object) -> dict[str, str]:
    """Image name -> the SHA-256 of its file as the run's fingerprint records it (none of a
    malformed one)."""
    try:
        return {name: digest for name, digest in fingerprint["files"]
                if isinstance(name, str) and isinstance(digest, str)}
    except (KeyError, TypeError, ValueError):
        return {}


#: What to do with a slide the review cannot take as its run left it.
ANALYSE_AGAIN = ("analyse the slide again into this folder (the same command with --out) to "
                 "review it")


def read_slide_record(folder: Path) -> SlideRecord:
    """The batch run's record of the slide in ``folder`` (``DIR/slides/<slide>``).

    Raises
    ------
    ReviewError
        A missing or unreadable ``slide.json`` or ``cells.csv``, named.
    """
    try:
        record = json.loads((folder / "slide.json").read_text(encoding="utf-8"))
        cells_csv = (folder / "cells.csv").read_text(encoding="utf-8",
                                                     errors="surrogateescape")
        summary = SlideSummary.from_dict(record["summary"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ReviewError(f"{folder}: not a finished slide of a smearscan run "
                          f"({getattr(error, 'strerror', None) or error})") from None
    try:
        cells = read_slide_cells(cells_csv)
    except (ValueError, KeyError, TypeError):
        # QA 51 F6: a traceback; QA 52 F9: then Python's words.
        raise ReviewError(f"{folder / 'cells.csv'}: damaged (a row cut short, or a value of the "
                          f"wrong kind); {ANALYSE_AGAIN}") from None
    _require_as_written(folder, record)
    fields = _fields(record, summary, folder)
    _require_fields_as_analysed(folder, fields)
    return SlideRecord(folder.name, record.get("fingerprint"), summary, record.get("model"),
                       record.get("errors", []), cells_csv, cells, fields)


def _require_as_written(folder: Path, record: Mapping[str, Any]) -> None:
    """Refuse a slide whose ``cells.csv`` is not the one its run recorded in ``slide.json``:
    the review would count what a hand edit made of it (QA 51 F4: re-saved by a spreadsheet,
    its ``TRUE`` read as no border, 352 red cells were counted for the run's 281). A batch run
    analyses such a slide again."""
    outputs = record.get("outputs")
    recorded = outputs.get(f"slides/{folder.name}/cells.csv") if isinstance(outputs, dict) \
        else None
    if recorded is not None and content_digest(folder / "cells.csv") != recorded:
        raise ReviewError(f"{folder / 'cells.csv'}: changed since smearscan wrote it; "
                          f"{ANALYSE_AGAIN}")


def _require_fields_as_analysed(folder: Path, fields: Mapping[str, FieldSource]) -> None:
    """Refuse a slide whose input fields are not the files its run analysed: its cells could
    not be shown, and the review said only to scroll through the galleries (QA 76 F2). A
    field that cannot be read now is left to the field view, which says so."""
    changed = [image for image, source in fields.items()
               if source.path is not None and source.digest is not None
               and content_digest(source.path) not in (None, source.digest)]
    if changed:
        raise ReviewError(f"{folder}: {len(changed)} of its fields changed since the run "
                          f"({', '.join(changed[:3])}{', ...' if len(changed) > 3 else ''}); "
                          f"{ANALYSE_AGAIN}")


def read_slide_cells(cells_csv: str) -> Cells | None:
    """The cells of a slide's ``cells.csv`` text; None when the run did not classify them."""
    reader = csv.DictReader(io.StringIO(cells_csv))
    return Cells.from_rows(list(reader)) if "class" in (reader.fieldnames or ()) else None
