"""``DIR/slides/<slide>/review.json``: a slide's corrections, sign-off and history, and what they
change in the merged outputs (the ``review`` block of ``summary.json``, with the verdict on a
signed-off count, and the ``reviewed_class`` column of ``cells.csv``)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from smearscan.render import REVIEW_CLASSES
from smearscan.results import SlideSummary, slide_statistics
from smearscan.review.records import Cells, ReviewError, SlideRecord, read_slide_cells
from smearscan.slide_stats import LABELS

if TYPE_CHECKING:
    from smearscan.batch import SlideOutcome

REVIEW_FILE = "review.json"
#: Left in a slide folder while a review change is written (``review.json``, the merged outputs,
#: the report): a process killed in between leaves it, and the next review server or run issues
#: the slide's outputs again from ``review.json`` (QA 51 F1: a sign-off killed after
#: ``review.json`` left a report "in progress" with the classifier's count for good).
PENDING_FILE = "review.pending"
REVIEWED_CLASS = "reviewed_class"


def change_cut_short(out: Path, slide: str) -> bool:
    """Whether a review change of slide ``slide`` of results folder ``out`` was cut short: its
    :data:`PENDING_FILE` left behind by a process killed while writing the change."""
    return (out / "slides" / slide / PENDING_FILE).is_file()


def cut_short_note(out: Path, slide: str) -> str | None:
    """What a reader of the slide's files is told while :func:`change_cut_short` (else None):
    its summary, ``cells.csv`` and report may not show the change that ``review.json`` holds
    until the next review server or run finishes it (QA 52 F7)."""
    if not change_cut_short(out, slide):
        return None
    return (f"a review change of slide {slide!r} was cut short while its files were written: "
            "its summary, cells.csv and report may not show it yet; 'smearscan review "
            f"{out}' or an analysis run into {out} finishes it")


def now() -> str:
    """The current UTC time as ISO 8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


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
    #: The released call and whether its verdict carried the URGENT TTP line (None: no verdict,
    #: or a review signed before they were recorded): said again if the review is set aside.
    call_after: str | None = None
    urgent_after: bool | None = None


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
        ValueError
            Not an object, or a correction to a class smearscan does not know.
        TypeError, KeyError
            An entry with fields missing, unknown or of the wrong kind; no such entry.
        """
        if not isinstance(data, dict):
            raise ValueError(f"a JSON {type(data).__name__}, not an object")
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
        settings that change no cell's class aside (:data:`_NOT_CELL_SETTINGS`: an ADAMTS13
        result that comes back changes the verdict, not one cell), and where the inputs are (the
        same fields, by name and content, read from another path: a results folder moved to an
        archive away from its inputs)."""
        return _cell_inputs(self.fingerprint) == _cell_inputs(json.loads(json.dumps(fingerprint)))


#: Settings of a run's fingerprint that change no cell's class: the lab values, the reference
#: limit's population, the pictures asked for, and where the model file is (its content,
#: ``model``, stays: the same file copied elsewhere or named from another folder is the same
#: model). Whether a declared pixel size was trusted is not one of them: trusted, the fields it
#: does not fit are counted (QA 50).
_NOT_CELL_SETTINGS = ("labs_path", "labs_file", "population", "save_masks", "overlay",
                      "model_path")


def _cell_inputs(fingerprint: Any) -> Any:
    """A fingerprint without :data:`_NOT_CELL_SETTINGS` and the input's path (``source``)."""
    if not isinstance(fingerprint, dict) or not isinstance(fingerprint.get("settings"), dict):
        return fingerprint
    settings = {k: v for k, v in fingerprint["settings"].items() if k not in _NOT_CELL_SETTINGS}
    return {k: v for k, v in fingerprint.items() if k != "source"} | {"settings": settings}


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
    except ValueError as error:
        why = str(error)
    except KeyError as error:
        why = f"no {error} entry"
    except TypeError:
        # QA 51 F13: the message was Python's ("Correction.__init__() missing 4 required...").
        why = "an entry with fields missing, unknown or of the wrong kind"
    # QA 61 F3: the message said nothing of what to do.
    raise ReviewError(f"{path}: not a smearscan review file ({why}); restore it from a backup, "
                      "or move it aside to review the slide again")


def reviewed_labels(cells: Cells, review: Review | None) -> np.ndarray:
    """Each cell's class after the review's corrections (the model's call where none)."""
    labels = cells.label.copy()
    for c in review.corrections if review else ():
        row = cells.row_of.get((c.image, c.cell_id))
        if row is not None:
            labels[row] = c.new
    return labels


def recomputed(record: SlideRecord, labels: np.ndarray, *, signed_off: bool = False) -> dict:
    """The slide statistics of ``labels``, made as the batch run makes them
    (:func:`~smearscan.results.slide_statistics`); ``signed_off``: labels a technologist checked
    and released (:func:`reviewed_operating`)."""
    cells = record.cells
    operating = reviewed_operating(record.operating) if signed_off else record.operating
    return slide_statistics(record.summary.fields, label=labels, morphology=cells.morphology,
                            border=cells.border, touching=cells.touching, operating=operating,
                            population=record.population,
                            scale_note=record.summary.scale_note,
                            overlaps=record.summary.overlapping_fields).to_dict()


def reviewed_operating(operating: dict | None) -> dict | None:
    """The classifier's operating characteristics as they apply to a reviewed count.

    This tool's rule: before signing off, the technologist sees every call of the classes the
    review shows in galleries (:data:`~smearscan.render.REVIEW_CLASSES`: schistocytes, NRBCs,
    immature granulocytes) and keeps only those that are, so a signed-off count has no false
    positives left to subtract (the classifier's rate would take them off twice, put a reviewed
    zero's upper bound under the raw count's, and read a confirmed NRBC as "not present").
    The sensitivity stays: of the cells it did not flag, the review shows only the near misses.
    """
    if not operating:
        return operating
    reviewed = {}
    no_false_calls = {"false_positive_rate": 0.0, "false_positive_rate_se": 0.0}
    for name in set(REVIEW_CLASSES) & set(operating):
        point = {key: value for key, value in operating[name].items()
                 if key != "validation_negatives"}  # a rate of 0 is no estimate after review
        point |= no_false_calls | {
            "estimate": f"{point.get('estimate', 'validation')}; false-positive rate 0 after the "
                        "review, which checked every call (this tool's rule)"}
        if "whole_field" in point:
            point["whole_field"] = point["whole_field"] | no_false_calls
        reviewed[name] = point
    return operating | reviewed


def review_status(record: SlideRecord, review: Review | None) -> str | None:
    """``"signed off"``, ``"in progress"``, ``"inputs changed"`` or None (never reviewed)."""
    if review is None:
        return None
    if not review.applies_to(record.fingerprint):
        return "inputs changed"
    return "signed off" if review.signoff else "in progress"


def _released(event: dict) -> dict:
    """A sign-off of the history as ``summary.json`` lists it: who and when, and what it
    released (schistocyte %, call, URGENT line) where recorded (QA 61 F4: an amended report
    named the earlier sign-off, not the result it had released)."""
    return {key: event[key] for key in ("reviewer", "time", "schistocyte_percent",
                                        "call_percent", "call_basis", "call", "urgent")
            if key in event}


def review_block(record: SlideRecord, review: Review | None) -> dict | None:
    """The ``review`` block of the slide in ``summary.json``; None when never reviewed."""
    status = review_status(record, review)
    if status is None or record.cells is None:
        return None
    signoff = review.signoff
    block = {"status": status, "reviewer": signoff.reviewer if signoff else None,
             "time": signoff.time if signoff else None,
             "reopened": sum(e["event"] == "reopened" for e in review.history),
             "signoffs": [_released(e) for e in review.history if e["event"] == "signed off"]}
    if status == "inputs changed":
        return block | {"message": _no_longer_applies(review)}
    if status == "in progress":
        # QA 51 F5: said "its figures are the classifier's" beside the reviewed figures.
        block["message"] = ("a review of this slide is in progress: these figures are the "
                            "reviewed cells' so far; the slide's count, call and report stay "
                            "the classifier's until it is signed off")
    labels = reviewed_labels(record.cells, review)
    block |= {"changed_cells": int(np.count_nonzero(labels != record.cells.label))
              } | recomputed(record, labels, signed_off=status == "signed off")
    verdict = signed_off_verdict(record.summary, block, block["reviewer"]) if (
        status == "signed off") else None
    if verdict is not None:
        block["verdict"] = verdict
    return block


def _no_longer_applies(review: Review) -> str:
    """Why a review made on other inputs is set aside, with what its sign-off had found: a
    reviewed count that disappears without a word could hide schistocytes a person confirmed."""
    signoff = review.signoff
    found = ""
    if signoff is not None and signoff.schistocyte_percent_after is not None:
        found = (f"; it was signed off by {signoff.reviewer} on {signoff.time} with "
                 f"{signoff.counts_after.get('schistocyte', 0)} schistocyte(s), "
                 f"{signoff.schistocyte_percent_after:.2f}% of red cells")
        found += f", call {signoff.call_after}" if signoff.call_after else ""
        found += ", and the URGENT TTP line in its verdict" if signoff.urgent_after else ""
    return ("the fields or settings changed after this review, so it no longer applies"
            f"{found}; review the slide again before reporting it")


def signed_off_verdict(summary: SlideSummary, statistics: dict, reviewer: str) -> dict | None:
    """The verdict a sign-off by ``reviewer`` of a count with ``statistics`` (:func:`recomputed`)
    releases (a value of them refused: the URGENT line they call for with it); None without
    lab values."""
    if not summary.labs_given:
        return None
    return _reviewed_verdict(summary, {"status": "signed off", "reviewer": reviewer,
                                       **statistics})


def _reviewed_verdict(summary: SlideSummary, block: dict) -> dict:
    """The verdict on the signed-off count (``block``) with the slide's lab values (when a value
    given as a bound leaves it open: why, and the URGENT line if the whole range calls for
    it)."""
    from smearscan.verdict import UnresolvedBoundError, slide_verdict

    try:
        return slide_verdict(replace(summary, review=block)).to_dict()
    except UnresolvedBoundError as error:
        return error.to_dict()


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
