"""A results folder open for review: every slide's record and review, and each change written
at once (``review.json``, then the merged outputs and, at sign-off, the slide's report)."""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from smearscan.outputs import shown_text, write_json_atomic, write_text_atomic
from smearscan.review.galleries import galleries, known_class
from smearscan.review.records import (
    ANALYSE_AGAIN,
    Cells,
    ConflictError,
    NotFoundError,
    ReviewError,
    SlideRecord,
    read_slide_record,
)
from smearscan.review.reviews import (
    PENDING_FILE,
    REVIEW_FILE,
    Correction,
    Review,
    SignOff,
    change_cut_short,
    now,
    read_review,
    recomputed,
    review_block,
    review_status,
    reviewed_labels,
    reviewed_outcome,
    signed_off_verdict,
)
from smearscan.slide_stats import SOFT_FIELD_NOTE

if TYPE_CHECKING:
    from smearscan.batch import SlideOutcome
    from smearscan.batch.reissue import SlideReport

_MAX_NAME = 100


def _slide_record(folder: Path) -> SlideRecord:
    """:func:`~smearscan.review.records.read_slide_record`, a folder that is gone said so, and
    one a run stopped while it wrote it (its plan is still there: QA 76 F1, F2)."""
    from smearscan.batch.resume import PLANNED_NAME  # the batch imports the review

    if not folder.is_dir():
        raise ReviewError(f"slide {folder.name!r}: its folder is gone")
    if (folder / PLANNED_NAME).is_file():
        raise ReviewError(f"{folder}: its analysis was stopped while it wrote the slide's "
                          f"files; {ANALYSE_AGAIN}")
    return read_slide_record(folder)


def _reviewer(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ReviewError("a reviewer name is required")
    name = name.strip()
    # Format characters too (QA 61 F11: a right-to-left override reversed the "signed off by
    # NAME on TIME" line of the report).
    if len(name) > _MAX_NAME or re.search(r"[\x00-\x1f\x7f]", name) or any(
            unicodedata.category(c) == "Cf" for c in name):
        raise ReviewError(f"reviewer name must be at most {_MAX_NAME} printable characters")
    return name


def _seen(seen: object) -> int | None:
    """A write's ``seen``: how many corrections of the slide its page showed (None: not sent,
    as by a client of the API that checks nothing)."""
    if seen is not None and (not isinstance(seen, int) or isinstance(seen, bool) or seen < 0):
        raise ReviewError('"seen" must be the number of corrections the page showed')
    return seen


def _require_seen(slide: str, review: Review, seen: int | None, before: str) -> None:
    """Refuse a sign-off or an undo from a page that did not show every correction of the
    slide: it would sign off, or take back, another tab's or reviewer's change it never showed
    (QA 51 F2, QA 109 M2)."""
    if seen is None or seen == len(review.corrections):
        return
    elsewhere = (": it was changed elsewhere (another tab or reviewer)"
                 if seen < len(review.corrections) else "")
    raise ConflictError(
        f"slide {slide!r} has {len(review.corrections)} correction(s), this page showed "
        f"{seen}{elsewhere}; reload the page and check the cells before {before}")


def _require_cell_seen(review: Review, seen: int | None, image: str, cell_id: int) -> None:
    """Refuse a class from a page that never showed the cell's latest correction: it would
    overwrite another tab's or reviewer's call unseen (QA 109 M2). A correction of another
    cell is no conflict: the answer shows it (the page repaints it)."""
    if seen is None:
        return
    unseen = [c for c in review.corrections[seen:] if (c.image, c.cell_id) == (image, cell_id)]
    if unseen:
        raise ConflictError(
            f"cell {cell_id} in image {image!r} was set to {unseen[-1].new} elsewhere (another "
            "tab or reviewer) after this page last showed it; reload the page and check the "
            "cell before changing it")


def _cells_named(displayed: object) -> set[tuple[str, int]]:
    """The ``[image, cell_id]`` pairs of a sign-off's ``displayed``, as a set."""
    pairs = displayed if isinstance(displayed, list) else None
    if pairs is None or not all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str)
            and isinstance(p[1], int) and not isinstance(p[1], bool) for p in pairs):
        raise ReviewError('"displayed" must list the gallery cells the page showed, as '
                          '[image, cell_id] pairs')
    return {(image, cell_id) for image, cell_id in pairs}


def _require_displayed(slide: str, cells: Cells, shown: dict[str, np.ndarray],
                       displayed: set[tuple[str, int]]) -> None:
    """Refuse a sign-off whose page did not show every cell of the galleries.

    This tool's rule: a signed-off count has no false positives left to subtract, and its
    gallery cells are exported as confirmed training labels, only because the technologist
    saw every one of them (:func:`~smearscan.review.reviews.reviewed_operating`).
    """
    rows = np.unique(np.concatenate(list(shown.values())))
    unseen = {int(r) for r in rows
              if (str(cells.image[r]), int(cells.cell_id[r])) not in displayed}
    if not unseen:
        return
    per_gallery = {name: len(unseen.intersection(in_gallery.tolist()))
                   for name, in_gallery in shown.items()}
    where = ", ".join(f"{name} {n}" for name, n in per_gallery.items() if n)
    raise ConflictError(
        f"slide {slide!r}: {len(unseen)} of the galleries' {len(rows)} cell(s) were never shown "
        f"on this page ({where}); scroll through every gallery before signing off (this tool's "
        "rule: a sign-off confirms every cell of its galleries)")


class ResultsFolder:
    """A results folder open for review: every slide's record and review, and the writes.

    Every change writes ``review.json`` and then the merged outputs, each atomically; a lock
    keeps concurrent requests from interleaving.
    """

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        try:
            merged = json.loads((self.out / "summary.json").read_text(encoding="utf-8"))
            listed = list(merged["slides"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ReviewError(f"{self.out}: not a smearscan results folder (no readable "
                              f"summary.json: {getattr(error, 'strerror', None) or error})"
                              ) from None
        #: The slides summary.json lists that cannot be reviewed, and why: a folder removed (as
        #: the README says to do with one not wanted), a record damaged or edited by hand. They
        #: are left out, of the merged outputs too, as a run into the folder leaves them out
        #: (QA 51 F7, QA 52 F4: one such slide locked every other out of review); so is one
        #: whose review.json is damaged (QA 61 F3).
        self.left_out: dict[str, str] = {}
        self.records = {}
        self.reviews = {}
        for name in listed:
            folder = self.out / "slides" / name
            try:
                record, review = _slide_record(folder), read_review(folder)
            except ReviewError as error:
                self.left_out[name] = str(error)
                continue
            self.records[name], self.reviews[name] = record, review
        if self.left_out and not self.records:
            raise ReviewError(f"{self.out}: no slide can be reviewed "
                              f"({'; '.join(self.left_out.values())})")
        names = list(self.records)
        from smearscan.batch.resume import fingerprint_digests

        self._digests = {name: set(fingerprint_digests(record.fingerprint))
                         for name, record in self.records.items()}
        self._outcomes = {name: self._outcome(name) for name in names}
        self._lock = threading.Lock()

    def record(self, slide: str) -> SlideRecord:
        """The record of a slide named in the results (never a path built from ``slide``)."""
        if slide not in self.records:
            raise NotFoundError(f"no slide {slide!r} in {self.out}")
        return self.records[slide]

    def shared_images(self, slide: str) -> list[tuple[str, int, str]]:
        """The other slides of the folder holding images of the same bytes as ``slide``'s: each
        ``(name, images shared, its review status)``. Two slides of one patient's fields (a
        folder copied under another name) can both be signed off (qacli6 LOW-1)."""
        own = self._digests[self.record(slide).name]
        shared = []
        for name, digests in self._digests.items():
            count = len(own & digests) if name != slide else 0
            if count:
                status = review_status(self.records[name], self.reviews[name]) or "not reviewed"
                shared.append((name, count, status))
        return shared

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

    def image(self, slide: str, shown: str) -> str:
        """The name of the slide's image a request gives as the API shows it
        (:func:`~smearscan.outputs.shown_text`: a name's undecodable bytes escaped)."""
        fields = self.record(slide).fields
        if shown in fields:
            return shown
        return next((name for name in fields if shown_text(name) == shown), shown)

    def row(self, slide: str, image: str, cell_id: int) -> int:
        """Row of a cell named in a request, looked up among the slide's cells."""
        _, cells = self.classified(slide)
        row = cells.row_of.get((image, cell_id))
        if row is None:
            raise NotFoundError(f"no cell {cell_id} in image {image!r} of slide {slide!r}")
        return row

    def listed(self, slide: str) -> tuple[str, dict | None]:
        """The review status and the schistocyte block the slide list shows: the review's, or
        the classifier's for a slide never reviewed or set aside. Neither a verdict nor what a
        sign-off would release (:meth:`slide_state` works those out for the slide's page): the
        list of a folder of many slides costs one recount per slide reviewed, none otherwise."""
        record = self.record(slide)
        review = self.reviews[slide]
        block = review_block(record, review)
        status = review_status(record, review) or "not reviewed"
        return status, ((block or {}).get("schistocytes")
                        or record.summary.to_dict().get("schistocytes"))

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
        # Every slide that can be signed off, one whose review no longer applies too (QA 109
        # M3: signed off directly, its corrected figure moved without a preview).
        if state["status"] != "signed off":
            state["on_signoff"] = self._on_signoff(record, self.labels(slide))
        # The emergency the slide's report opens with, on the count it reports: whoever
        # reviews the slide sees it too.
        state["urgent"] = replace(record.summary, review=state["review"]).urgent_line
        return state

    @staticmethod
    def _on_signoff(record: SlideRecord, labels: np.ndarray) -> dict:
        """What signing ``labels`` off would release: the schistocyte block (corrected as a
        signed-off count is, :func:`~smearscan.review.reviews.reviewed_operating`) and the
        verdict's URGENT line, so that the reviewer is not surprised by the figures released."""
        after = recomputed(record, labels, signed_off=True)
        verdict = signed_off_verdict(record.summary, after, "the reviewer") or {}
        return {"schistocytes": after["schistocytes"], "urgent": verdict.get("urgent")}

    def set_class(self, slide: str, image: str, cell_id: int, new: object,
                  seen: object = None) -> dict:
        """Give one cell a class; returns :meth:`slide_state`. ``seen``: how many corrections
        the page showed; refused when the cell has had one since."""
        new = known_class(new)
        seen = _seen(seen)
        with self._lock:
            row = self.row(slide, image, cell_id)
            if self.classified(slide)[1].border[row]:
                # Accepted, it would count as a change and move no figure (qacli2 LOW-5).
                raise ConflictError(f"cell {cell_id} in image {image!r} is cut by the image "
                                    "edge or a painted-out annotation: it is never counted, so "
                                    "its class changes nothing")
            review = self._writable(slide)
            old = str(self.labels(slide)[row])
            if old == new:
                return self.slide_state(slide)
            _require_cell_seen(review, seen, image, cell_id)
            # The first correction puts the slide's review in progress, which its report says.
            record, cells = self.classified(slide)
            report = self._report(record, cells.label) if not review.corrections else None
            self._save(slide, replace(review, corrections=(
                *review.corrections, Correction(image, cell_id, old, new, now()))), report)
            return self.slide_state(slide)

    def undo(self, slide: str, seen: object = None) -> dict:
        """Take back the last correction not yet taken back; returns :meth:`slide_state`.
        ``seen``: how many corrections the page showed; refused when the slide has had others."""
        seen = _seen(seen)
        with self._lock:
            review = self._writable(slide)
            _require_seen(slide, review, seen, "undoing")
            index = _undoable(review)
            if index is None:
                raise ConflictError(f"nothing to undo on slide {slide!r}")
            last = review.corrections[index]
            self._save(slide, replace(review, corrections=(*review.corrections, Correction(
                last.image, last.cell_id, last.new, last.old, now(), undoes=index))))
            return self.slide_state(slide)

    def sign_off(self, slide: str, reviewer: object, seen: object = None,
                 displayed: object = None) -> dict:
        """Sign the slide off: it becomes read-only until re-opened.

        ``seen``: how many corrections the signer's page showed (the page sends it); refused
        when the slide has had others since (QA 51 F2: a second tab signed off three
        corrections it never showed). ``displayed``: the cells of the galleries the signer's
        page showed, as ``[image, cell_id]`` pairs; refused unless it holds every one of them
        (QA 61 F5: cells never shown were signed off and exported as confirmed).
        """
        reviewer = _reviewer(reviewer)
        seen = _seen(seen)
        displayed = _cells_named(displayed)
        with self._lock:
            record, cells = self.classified(slide)
            review = self._writable(slide)
            _require_seen(slide, review, seen, "signing off")
            labels = reviewed_labels(cells, review)
            in_galleries = galleries(cells, labels)
            _require_displayed(slide, cells, in_galleries, displayed)
            report = self._report(record, labels)
            before = recomputed(record, cells.label)
            after = recomputed(record, labels, signed_off=True)
            shown = np.unique(np.concatenate(list(in_galleries.values())))
            verdict = signed_off_verdict(record.summary, after, reviewer) or {}
            signoff = SignOff(reviewer, now(), before["counts"], after["counts"],
                              before["schistocytes"]["percent"],
                              after["schistocytes"]["percent"],
                              int(np.count_nonzero(labels != cells.label)),
                              after["schistocytes"]["call"],
                              bool(verdict.get("urgent")) if verdict else None)
            self._save(slide, replace(
                review, signoff=signoff,
                # What it released, said again if the slide is re-opened and amended (QA 61 F4).
                history=(*review.history, {"event": "signed off", "reviewer": reviewer,
                                           "time": signoff.time,
                                           "schistocyte_percent": signoff.schistocyte_percent_after,
                                           # QA 73 L5: the % the call rested on, as released.
                                           "call_percent": after["schistocytes"]["call_percent"],
                                           "call_basis": after["schistocytes"]["call_basis"],
                                           "call": signoff.call_after,
                                           "urgent": signoff.urgent_after}),
                confirmed=tuple((str(cells.image[r]), int(cells.cell_id[r])) for r in shown)),
                report)
            return self.slide_state(slide)

    def reopen(self, slide: str, reviewer: object) -> dict:
        """Re-open a signed-off slide for changes; recorded in the history."""
        reviewer = _reviewer(reviewer)
        with self._lock:
            review = self.current_review(slide)
            if review is None or review.signoff is None:
                raise ConflictError(f"slide {slide!r} is not signed off")
            record, cells = self.classified(slide)
            report = self._report(record, cells.label)
            self._save(slide, replace(review, signoff=None, history=(
                *review.history, {"event": "reopened", "reviewer": reviewer, "time": now()})),
                report)
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

    def issue_interrupted(self) -> dict[str, str | None]:
        """Issue again, from ``review.json``, the merged outputs and the report of each slide
        whose last review change was interrupted (its :data:`PENDING_FILE` left behind):
        slide name -> None when done, else why its report could not be (a field that cannot be
        read now; the mark stays for the next try). Called under the folder's lock, before
        serving."""
        pending = [name for name in self.records if change_cut_short(self.out, name)]
        if not pending:
            return {}
        from smearscan.batch.reissue import reissue_report

        self._write_merged()
        issued: dict[str, str | None] = {}
        for name in pending:
            try:
                if self.reviews[name] is not None:
                    reissue_report(self.out, name, self._outcomes[name].summary,
                                   self.reviews[name])
            except ReviewError as error:
                issued[name] = str(error)
                continue
            (self.out / "slides" / name / PENDING_FILE).unlink()
            issued[name] = None
        return issued

    def _save(self, slide: str, review: Review, report: SlideReport | None = None) -> None:
        """Write ``review.json``, the merged outputs and, given its ``report``, the slide's
        ``report.html``, marked as being written (:data:`PENDING_FILE`) until all are: a
        process killed in between leaves the mark (:meth:`issue_interrupted`)."""
        folder = self.out / "slides" / slide
        write_text_atomic(folder / PENDING_FILE, now())
        write_json_atomic(folder / REVIEW_FILE, {"slide": slide} | review.to_json())
        self.reviews[slide] = review
        self._outcomes[slide] = self._outcome(slide)
        self._write_merged()
        if report is not None:
            self._reissue(self.records[slide], report)
        (folder / PENDING_FILE).unlink()

    def _write_merged(self) -> None:
        """The folder's merged outputs over its slides, those left out named in
        ``errors.csv``."""
        from smearscan.batch import write_merged_outputs

        write_merged_outputs(self.out, list(self._outcomes.values()), [
            (name, "", f"{why}; left out of the merged outputs until the slide is analysed "
                       "again") for name, why in self.left_out.items()])

    def _report(self, record: SlideRecord, labels: np.ndarray) -> SlideReport:
        """The galleries (in ``labels``) and pictures of the slide's report; drawn before the
        review changes, so that a field that cannot be read leaves the review as it was."""
        from smearscan.batch.reissue import slide_report

        try:
            return slide_report(self.out / "slides" / record.name, record, labels)
        except ConflictError as error:
            # QA 51 F3: a correction of another field was refused naming this one alone.
            raise ConflictError(
                f"{error}; the first correction, the sign-off and a re-opening issue slide "
                f"{record.name!r}'s report again from the fields it shows: put the field back "
                "where the run read it") from None

    def _reissue(self, record: SlideRecord, report: SlideReport) -> None:
        """The slide's ``report.html`` on its review as it now stands (signed off or not)."""
        from smearscan.batch.reissue import write_slide_report

        write_slide_report(self.out, record, self._outcomes[record.name].summary, report)

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
