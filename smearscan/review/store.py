"""The review of a results folder: what the batch recorded, the corrections, the sign-off.

``DIR/slides/<slide>/review.json`` holds one slide's review: every correction (image, cell_id,
old and new class, time), the sign-off (reviewer, time, counts before and after) and the
history of sign-offs and re-openings. It records the slide's resume fingerprint
(:mod:`smearscan.batch`) when it began: the review applies while ``slide.json`` has that same
fingerprint, and is flagged ("inputs changed") once a re-run analysed changed inputs.

The merged outputs carry the review: ``summary.json`` gains a ``review`` block per slide
(:func:`review_block`) beside the unchanged model result, and ``cells.csv`` a
``reviewed_class`` column, filled once the slide is signed off. Both are derived here, by the
batch run and by the review app alike, so that they never disagree.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from smearscan.errors import LabValueError, SmearscanError
from smearscan.outputs import write_json_atomic
from smearscan.render import REVIEW_CLASSES
from smearscan.results import SlideSummary, slide_statistics
from smearscan.slide_stats import LABELS, SOFT_FIELD_NOTE

if TYPE_CHECKING:
    from smearscan.batch import SlideOutcome
    from smearscan.batch.summary import ReportParts

REVIEW_FILE = "review.json"
#: Cells in the near-miss gallery: the most schistocyte-like of those not called schistocyte
#: (this tool's choice: two screens of tiles, enough to check a negative slide's best
#: candidates without paging through every red cell).
NEAR_MISSES = 24
#: The most tiles an on-demand gallery shows (most schistocyte-like first).
MAX_GALLERY = 1000
REVIEWED_CLASS = "reviewed_class"
_MAX_NAME = 100


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


def now() -> str:
    """The current UTC time as ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


# ----------------------------------------------------------------------------- batch records


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
    """Where a field's image is and how the run segmented it."""

    path: Path | None
    pixel_size_um: float | None
    objects: int


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


def _fields(record: dict, summary: SlideSummary) -> dict[str, FieldSource]:
    root = Path(record["root"]) if record.get("root") else None
    return {f.image: FieldSource(root / f.image if root else None,
                                 None if f.pixel_size_estimated else f.pixel_size_um, f.objects)
            for f in summary.fields if f.error is None}


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
    return SlideRecord(folder.name, record.get("fingerprint"), summary, record.get("model"),
                       record.get("errors", []), cells_csv, read_slide_cells(cells_csv),
                       _fields(record, summary))


def read_slide_cells(cells_csv: str) -> Cells | None:
    """The cells of a slide's ``cells.csv`` text; None when the run did not classify them."""
    reader = csv.DictReader(io.StringIO(cells_csv))
    return Cells.from_rows(list(reader)) if "class" in (reader.fieldnames or ()) else None


# ----------------------------------------------------------------------------- review.json


@dataclass(frozen=True)
class Correction:
    """One change of a cell's class; ``undoes`` is the index of the correction it takes back."""

    image: str
    cell_id: int
    old: str
    new: str
    time: str
    undoes: int | None = None


@dataclass(frozen=True)
class SignOff:
    """The reviewer's release of a slide, with what the review changed."""

    reviewer: str
    time: str
    counts_before: dict[str, int]
    counts_after: dict[str, int]
    schistocyte_percent_before: float | None
    schistocyte_percent_after: float | None
    corrections: int


@dataclass(frozen=True)
class Review:
    """The content of ``review.json``.

    Attributes
    ----------
    fingerprint
        The slide's resume fingerprint when the review began.
    corrections : tuple of Correction
        In the order they were made; an undo is a correction too.
    signoff : SignOff or None
    history : tuple of dict
        ``{"event": "signed off" | "reopened", "reviewer", "time"}``, in order.
    confirmed : tuple of (str, int)
        The cells of the flagged and near-miss galleries at the last sign-off: checked by the
        reviewer whether changed or not.
    previous : tuple of dict
        Earlier reviews of this slide whose inputs have since changed, verbatim.
    """

    fingerprint: Any
    corrections: tuple[Correction, ...] = ()
    signoff: SignOff | None = None
    history: tuple[dict, ...] = ()
    confirmed: tuple[tuple[str, int], ...] = ()
    previous: tuple[dict, ...] = ()

    def to_json(self) -> dict:
        """The content of ``review.json`` (without the slide name)."""
        return {"fingerprint": self.fingerprint,
                "corrections": [asdict(c) for c in self.corrections],
                "signoff": asdict(self.signoff) if self.signoff else None,
                "history": list(self.history),
                "confirmed": [list(c) for c in self.confirmed],
                "previous": list(self.previous)}

    @classmethod
    def from_json(cls, data: dict) -> Review:
        """The review read back from :meth:`to_json`'s form.

        Raises
        ------
        ValueError, TypeError, KeyError
            Not that form (a correction to a class smearscan does not know included).
        """
        if not isinstance(data, dict):
            raise TypeError(f"a JSON {type(data).__name__}, not an object")
        signoff = data.get("signoff")
        corrections = tuple(Correction(**c) for c in data.get("corrections", []))
        unknown = sorted({c.new for c in corrections} - set(LABELS))
        if unknown:
            raise ValueError(f"a correction to an unknown class: {', '.join(map(repr, unknown))}")
        return cls(data["fingerprint"], corrections,
                   SignOff(**signoff) if signoff else None,
                   tuple(data.get("history", [])),
                   tuple((str(i), int(c)) for i, c in data.get("confirmed", [])),
                   tuple(data.get("previous", [])))

    def applies_to(self, fingerprint: Any) -> bool:
        """Whether this review was made on the same cells: inputs with this fingerprint, the
        lab values aside (an ADAMTS13 result that comes back changes the verdict, not one
        cell's class)."""
        return _cell_inputs(self.fingerprint) == _cell_inputs(json.loads(json.dumps(fingerprint)))


#: Settings of a run's fingerprint that change no cell's class.
_NOT_CELL_SETTINGS = ("labs_path", "labs_file")


def _cell_inputs(fingerprint: Any) -> Any:
    """A fingerprint without :data:`_NOT_CELL_SETTINGS`."""
    if not isinstance(fingerprint, dict) or not isinstance(fingerprint.get("settings"), dict):
        return fingerprint
    settings = {k: v for k, v in fingerprint["settings"].items() if k not in _NOT_CELL_SETTINGS}
    return fingerprint | {"settings": settings}


def read_review(folder: Path) -> Review | None:
    """The review in ``folder/review.json``, None when there is none.

    Raises
    ------
    ReviewError
        The file exists but is not a review, named.
    """
    path = folder / REVIEW_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ReviewError(f"{path}: cannot read ({error.strerror or error})") from None
    try:
        return Review.from_json(json.loads(text))
    except (ValueError, TypeError, KeyError) as error:
        raise ReviewError(f"{path}: not a smearscan review file ({error})") from None


def reviewed_labels(cells: Cells, review: Review | None) -> np.ndarray:
    """Each cell's class after the review's corrections (the model's call where none)."""
    labels = cells.label.copy()
    for c in review.corrections if review else ():
        row = cells.row_of.get((c.image, c.cell_id))
        if row is not None:
            labels[row] = c.new
    return labels


def recomputed(record: SlideRecord, labels: np.ndarray) -> dict:
    """The slide statistics of ``labels``, made as the batch run makes them
    (:func:`~smearscan.results.slide_statistics`)."""
    cells = record.cells
    return slide_statistics(record.summary.fields, label=labels, morphology=cells.morphology,
                            border=cells.border, operating=record.operating,
                            population=record.population).to_dict()


def review_status(record: SlideRecord, review: Review | None) -> str | None:
    """``"signed off"``, ``"in progress"``, ``"inputs changed"`` or None (never reviewed)."""
    if review is None:
        return None
    if not review.applies_to(record.fingerprint):
        return "inputs changed"
    return "signed off" if review.signoff else "in progress"


def review_block(record: SlideRecord, review: Review | None) -> dict | None:
    """The ``review`` block of the slide in ``summary.json``; None when never reviewed."""
    status = review_status(record, review)
    if status is None or record.cells is None:
        return None
    signoff = review.signoff
    block = {"status": status, "reviewer": signoff.reviewer if signoff else None,
             "time": signoff.time if signoff else None,
             "reopened": sum(e["event"] == "reopened" for e in review.history)}
    if status == "inputs changed":
        return block | {"message": "the fields or settings changed after this review: it no "
                                   "longer applies; review the slide again"}
    labels = reviewed_labels(record.cells, review)
    block |= {"changed_cells": int(np.count_nonzero(labels != record.cells.label))
              } | recomputed(record, labels)
    if status == "signed off" and record.summary.labs is not None:
        block["verdict"] = _reviewed_verdict(record.summary, block)
    return block


def _reviewed_verdict(summary: SlideSummary, block: dict) -> dict | None:
    """The verdict on the signed-off count (``block``) with the slide's lab values; None when
    a value given as a bound leaves it open (the report says why)."""
    from smearscan.verdict import slide_verdict

    try:
        return slide_verdict(replace(summary, review=block)).to_dict()
    except LabValueError:
        return None


def _with_reviewed_class(cells_csv: str, reviewed: np.ndarray | None) -> str:
    """``cells_csv`` with a ``reviewed_class`` column: the signed-off classes, else empty."""
    rows = list(csv.reader(io.StringIO(cells_csv)))
    header, body = rows[0], rows[1:]
    if "class" not in header:
        return cells_csv
    keep = [i for i, name in enumerate(header) if name != REVIEWED_CLASS]
    values = reviewed if reviewed is not None else [""] * len(body)
    # The cells are text already: written back as csv_text writes them, without re-formatting.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([header[i] for i in keep] + [REVIEWED_CLASS])
    writer.writerows([row[i] for i in keep] + [v] for row, v in zip(body, values, strict=True))
    return buffer.getvalue()


def reviewed_outcome(outcome: SlideOutcome, out: Path, fingerprint: Any, *,
                     cells: Cells | None = None) -> SlideOutcome:
    """A batch outcome with its review: the ``review`` block and the ``reviewed_class`` column.

    The review in ``out/slides/<slide>/review.json`` applies when it was made on inputs with
    ``fingerprint``; otherwise the block flags it and the column stays empty. ``cells`` are the
    outcome's cells when the caller has them already (else read from its CSV text).
    """
    folder = out / "slides" / outcome.name
    review = read_review(folder)
    if cells is None and review is not None:
        cells = read_slide_cells(outcome.cells_csv)
    record = SlideRecord(outcome.name, fingerprint, outcome.summary, outcome.model,
                         outcome.errors, outcome.cells_csv, cells, {})
    block = review_block(record, review)
    signed = review_status(record, review) == "signed off"
    reviewed = reviewed_labels(record.cells, review) if signed else None
    return replace(outcome, summary=replace(outcome.summary, review=block),
                   cells_csv=_with_reviewed_class(outcome.cells_csv, reviewed))


# ----------------------------------------------------------------------------- galleries


def galleries(cells: Cells, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Rows of the galleries every review shows: each of :data:`REVIEW_CLASSES` (called by the
    model or by the reviewer, most probable first) and ``near_miss``."""
    whole = ~cells.border
    shown = {}
    for name in REVIEW_CLASSES:
        rows = np.flatnonzero(whole & ((cells.label == name) | (labels == name)))
        shown[name] = rows[np.argsort(-cells.probability[name][rows], kind="stable")]
    return shown | {"near_miss": near_misses(cells)}


def near_misses(cells: Cells, count: int = NEAR_MISSES) -> np.ndarray:
    """Rows of the ``count`` whole cells most likely schistocytes that the model did not call."""
    rows = np.flatnonzero(~cells.border & (cells.label != "schistocyte"))
    return rows[np.argsort(-cells.probability["schistocyte"][rows], kind="stable")[:count]]


def gallery_on_demand(cells: Cells, labels: np.ndarray, *, label: str | None = None,
                      morphology: str | None = None) -> np.ndarray:
    """Rows of whole cells of one class (after review) or one red-cell shape, most
    schistocyte-like first, at most :data:`MAX_GALLERY`."""
    keep = ~cells.border
    if label is not None:
        keep &= labels == _known_class(label)
    if morphology is not None:
        keep &= np.isin(labels, ("rbc", "schistocyte")) & (cells.morphology == morphology)
    rows = np.flatnonzero(keep)
    return rows[np.argsort(-cells.probability["schistocyte"][rows], kind="stable")[:MAX_GALLERY]]


def _known_class(name: object) -> str:
    if name not in LABELS:
        raise ReviewError(f"unknown class {name!r}; expected one of {', '.join(LABELS)}")
    return str(name)


def _reviewer(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ReviewError("a reviewer name is required")
    name = name.strip()
    if len(name) > _MAX_NAME or re.search(r"[\x00-\x1f\x7f]", name):
        raise ReviewError(f"reviewer name must be at most {_MAX_NAME} printable characters")
    return name


# ----------------------------------------------------------------------------- the folder


class ResultsFolder:
    """A results folder open for review: every slide's record and review, and the writes.

    Every change writes ``review.json`` and then the merged outputs, each atomically; a lock
    keeps concurrent requests from interleaving.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        try:
            merged = json.loads((self.out / "summary.json").read_text(encoding="utf-8"))
            names = list(merged["slides"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ReviewError(f"{self.out}: not a smearscan results folder (no readable "
                              f"summary.json: {getattr(error, 'strerror', None) or error})"
                              ) from None
        self.records = {name: read_slide_record(self.out / "slides" / name) for name in names}
        self.reviews = {name: read_review(self.out / "slides" / name) for name in names}
        self._outcomes = {name: self._outcome(name) for name in names}
        self._lock = threading.Lock()

    def record(self, slide: str) -> SlideRecord:
        """The record of a slide named in the results (never a path built from ``slide``)."""
        if slide not in self.records:
            raise NotFoundError(f"no slide {slide!r} in {self.out}")
        return self.records[slide]

    def classified(self, slide: str) -> tuple[SlideRecord, Cells]:
        """The record and cells of a slide that can be reviewed (409 when not classified)."""
        record = self.record(slide)
        if record.cells is None:
            raise ConflictError(f"slide {slide!r} was not classified: nothing to review")
        return record, record.cells

    def current_review(self, slide: str) -> Review | None:
        """The slide's review when it applies to the recorded inputs, else None."""
        review = self.reviews[self.record(slide).name]
        return review if review and review.applies_to(self.records[slide].fingerprint) else None

    def labels(self, slide: str) -> np.ndarray:
        """Each cell's class after the slide's current review."""
        _, cells = self.classified(slide)
        return reviewed_labels(cells, self.current_review(slide))

    def row(self, slide: str, image: str, cell_id: int) -> int:
        """Row of a cell named in a request, looked up among the slide's cells."""
        _, cells = self.classified(slide)
        row = cells.row_of.get((image, cell_id))
        if row is None:
            raise NotFoundError(f"no cell {cell_id} in image {image!r} of slide {slide!r}")
        return row

    def slide_state(self, slide: str) -> dict:
        """The model result, the review block and the review's state, for the API, with the
        fields out of focus on their own (``soft_fields``) and what to say about them."""
        record = self.record(slide)
        review = self.reviews[slide]
        current = self.current_review(slide)
        state = {"slide": slide, "summary": {k: v for k, v in record.summary.to_dict().items()
                                             if k != "per_field"},
                 "review": review_block(record, review),
                 "status": review_status(record, review) or "not reviewed",
                 "signoff": asdict(current.signoff) if current and current.signoff else None,
                 "history": list(current.history) if current else [],
                 "corrections": [asdict(c) for c in current.corrections] if current else [],
                 "undoable": _undoable(current) is not None if current else False,
                 "soft_fields": list(record.summary.soft_fields),
                 "soft_field_note": SOFT_FIELD_NOTE}
        if state["review"] is None and record.cells is not None:
            # Never reviewed: the reviewed figures are the model's until a correction.
            state["review"] = {"status": "not reviewed", "changed_cells": 0,
                               **recomputed(record, record.cells.label)}
        return state

    def set_class(self, slide: str, image: str, cell_id: int, new: object) -> dict:
        """Give one cell a class; returns :meth:`slide_state`."""
        new = _known_class(new)
        with self._lock:
            row = self.row(slide, image, cell_id)
            review = self._writable(slide)
            old = str(self.labels(slide)[row])
            if old != new:
                self._save(slide, replace(review, corrections=(
                    *review.corrections, Correction(image, cell_id, old, new, now()))))
            return self.slide_state(slide)

    def undo(self, slide: str) -> dict:
        """Take back the last correction not yet taken back; returns :meth:`slide_state`."""
        with self._lock:
            review = self._writable(slide)
            index = _undoable(review)
            if index is None:
                raise ConflictError(f"nothing to undo on slide {slide!r}")
            last = review.corrections[index]
            self._save(slide, replace(review, corrections=(*review.corrections, Correction(
                last.image, last.cell_id, last.new, last.old, now(), undoes=index))))
            return self.slide_state(slide)

    def sign_off(self, slide: str, reviewer: object) -> dict:
        """Sign the slide off: it becomes read-only until re-opened."""
        reviewer = _reviewer(reviewer)
        with self._lock:
            record, cells = self.classified(slide)
            review = self._writable(slide)
            labels = reviewed_labels(cells, review)
            parts = self._report_parts(record, labels)
            before, after = recomputed(record, cells.label), recomputed(record, labels)
            shown = np.unique(np.concatenate(list(galleries(cells, labels).values())))
            signoff = SignOff(reviewer, now(), before["counts"], after["counts"],
                              before["schistocytes"]["percent"],
                              after["schistocytes"]["percent"],
                              int(np.count_nonzero(labels != cells.label)))
            self._save(slide, replace(
                review, signoff=signoff,
                history=(*review.history, {"event": "signed off", "reviewer": reviewer,
                                           "time": signoff.time}),
                confirmed=tuple((str(cells.image[r]), int(cells.cell_id[r])) for r in shown)))
            self._reissue(record, parts)
            return self.slide_state(slide)

    def reopen(self, slide: str, reviewer: object) -> dict:
        """Re-open a signed-off slide for changes; recorded in the history."""
        reviewer = _reviewer(reviewer)
        with self._lock:
            review = self.current_review(slide)
            if review is None or review.signoff is None:
                raise ConflictError(f"slide {slide!r} is not signed off")
            record, cells = self.classified(slide)
            parts = self._report_parts(record, cells.label)
            self._save(slide, replace(review, signoff=None, history=(
                *review.history, {"event": "reopened", "reviewer": reviewer, "time": now()})))
            self._reissue(record, parts)
            return self.slide_state(slide)

    def _writable(self, slide: str) -> Review:
        """The review to change: the current one, or a new one (keeping a stale one's record)."""
        record, _ = self.classified(slide)
        current = self.current_review(slide)
        if current is not None:
            if current.signoff is not None:
                raise ConflictError(f"slide {slide!r} is signed off by "
                                    f"{current.signoff.reviewer}; re-open it to change it")
            return current
        stale = self.reviews[slide]
        return Review(json.loads(json.dumps(record.fingerprint)),
                      previous=((stale.to_json(), *stale.previous) if stale else ()))

    def _save(self, slide: str, review: Review) -> None:
        write_json_atomic(self.out / "slides" / slide / REVIEW_FILE,
                          {"slide": slide} | review.to_json())
        self.reviews[slide] = review
        self._outcomes[slide] = self._outcome(slide)
        from smearscan.batch import write_merged_outputs

        write_merged_outputs(self.out, list(self._outcomes.values()))

    def _report_parts(self, record: SlideRecord, labels: np.ndarray) -> ReportParts:
        """The galleries (in ``labels``) and pictures of the slide's report; cut before the
        review changes, so that a field that cannot be read leaves the review as it was."""
        from smearscan.batch.reissue import report_parts

        return report_parts(self.out / "slides" / record.name, record, labels)

    def _reissue(self, record: SlideRecord, parts: ReportParts) -> None:
        """The slide's ``report.html`` on its review as it now stands (signed off or not)."""
        from smearscan.batch.reissue import write_slide_report

        write_slide_report(self.out, record, self._outcomes[record.name].summary, parts)

    def _outcome(self, slide: str) -> SlideOutcome:
        """The slide as the batch run's merged outputs take it, with its review."""
        from smearscan.batch import SlideOutcome

        record = self.records[slide]
        outcome = SlideOutcome(slide, record.summary, record.cells_csv,
                               [tuple(e) for e in record.errors], model=record.model)
        return reviewed_outcome(outcome, self.out, record.fingerprint, cells=record.cells)


def _undoable(review: Review) -> int | None:
    """Index of the last correction that neither takes back another nor was taken back."""
    undone = {c.undoes for c in review.corrections if c.undoes is not None}
    for index in range(len(review.corrections) - 1, -1, -1):
        if review.corrections[index].undoes is None and index not in undone:
            return index
    return None
