"""Whole-field schistocyte rates: the sensitivity and false-call rate measured as a slide is
counted, on the Chula fields labelled (nearly) cell by cell.

A slide's count runs over every red cell of its fields; Chula RBC-12 labels most of its fields
only in part, and there its labellers picked the plain fragments. Scored on labelled points
(:mod:`smearscan.training.crossval`), the classifier finds most of the labelled schistocytes of
fields whose labels cover few of the counted red cells, and few of those of fields labelled
nearly cell by cell, where the labellers called every fragment they saw, subtle ones included
(models/README.md, "Whole-field rates"). Here every whole red cell the pipeline counts in a
field is a trial, a labelled schistocyte a positive (one outside the counted red cells, a
miss), every other counted red cell a negative, whose schistocyte calls are false calls whether
or not anybody labelled it. ``scripts/whole_field_point.py`` measures them and writes them
into a copy of a model beside its labelled-point rates (``whole_field``): a slide's corrected
interval spans both readings (:func:`smearscan.slide_stats.slide_result`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from smearscan.classification import CellClassifier, load_model
from smearscan.datasets import LabeledField, chula_fields
from smearscan.loading import read_field
from smearscan.metrics import labels_at_points
from smearscan.pipeline import field_cells
from smearscan.slide_stats import RED_LABELS, WHITE_LABELS
from smearscan.training.operating import OutOfFold, out_of_fold_point

#: A field is labelled exhaustively when its labelled points lie on at least this share of the
#: red cells the pipeline counts in it (this tool's rule; QA 78's cut for its truth slides, the
#: share above which the sensitivity no longer climbs with the share: see models/README.md).
EXHAUSTIVE_COVERAGE = 0.85


@dataclass(frozen=True)
class FieldRows:
    """One field's part of :class:`WholeFieldScores`.

    Attributes
    ----------
    score, positive, missed : (R,) ndarray
        The columns of :class:`OutOfFold` of its rows (see :class:`WholeFieldScores`).
    coverage : float
        Share of its counted red cells that a labelled point lies on.
    nrbc_calls, nrbc_candidates : int
        Whole objects called NRBC, and whole objects a slide's NRBC finding is weighed among
        (red and white cells and NRBC calls, :func:`smearscan.slide_stats.slide_result`).
    """

    score: np.ndarray
    positive: np.ndarray
    missed: np.ndarray
    coverage: float
    nrbc_calls: int
    nrbc_candidates: int


@dataclass(frozen=True)
class WholeFieldScores:
    """Out-of-fold scores of every counted red cell of the labelled Chula fields.

    Attributes
    ----------
    scores : OutOfFold
        One row per counted red cell, and one per labelled schistocyte outside them: ``score``
        is the object's schistocyte probability, 0 for a miss and for a cell another target
        class outvotes at the threshold (so ``score >= threshold`` is the call); ``positive``:
        a labelled schistocyte lies on it; ``missed``: a labelled schistocyte outside the
        counted red cells (in no object, or in one called another class); ``fold``: the fold
        model that never saw the field.
    coverage : dict of str to float
        Share of each field's counted red cells that a labelled point lies on.
    nrbc_calls, nrbc_candidates : int
        :class:`FieldRows`' counts, summed over the fields: Chula labels no NRBC, so every NRBC
        call is taken for a false one (a real NRBC among them makes the count an overestimate).
        Not yet used by a model: NRBC false calls also come with white cells (PBC neutrophil
        lobes), which these fields seldom hold.
    """

    scores: OutOfFold
    coverage: dict[str, float]
    nrbc_calls: int
    nrbc_candidates: int

    def exhaustive(self, coverage: float = EXHAUSTIVE_COVERAGE) -> OutOfFold:
        """The rows of the fields whose labels cover at least ``coverage``."""
        keep = np.array([self.coverage[str(f)] >= coverage for f in self.scores.field], bool)
        return OutOfFold(*(getattr(self.scores, name)[keep]
                           for name in OutOfFold.__dataclass_fields__))


def field_rows(field: LabeledField, model: CellClassifier) -> FieldRows:
    """One field analysed end to end at its declared pixel size."""
    measured = field_cells(read_field(field.image), pixel_size_um=field.pixel_size_um,
                           model=model, trust_pixel_size=True)
    cells, labels = measured.cells, measured.segmentation.labels
    whole = ~cells["border"]
    counted = whole & np.isin(cells["class"], RED_LABELS)
    row_of = np.full(int(labels.max()) + 1, -1, dtype=np.int64)
    row_of[cells["cell_id"]] = np.arange(len(cells["cell_id"]))
    xy = np.array([(x, y) for x, y, _ in field.points], dtype=float).reshape(-1, 2)
    under = row_of[labels_at_points(labels, xy)]
    # Row -1 (no object) reads the appended False. A point on a cell cut by the field edge is
    # left out: a slide counts neither the cell nor its label.
    kept = ~np.r_[cells["border"], False][under]
    at = np.where(np.r_[counted, False][under], under, -1)[kept]
    schistocyte = np.array([name == "schistocyte" for *_, name in field.points], bool)[kept]
    positive = np.zeros(len(counted), dtype=bool)
    held = at[schistocyte & (at >= 0)]
    positive[held] = True
    # A second labelled schistocyte on one object is a miss: the slide counts the object once.
    misses = int((schistocyte & (at < 0)).sum()) + len(held) - len(np.unique(held))
    # The network's probability, but 0 where it reaches the threshold and another target class
    # outvotes it, so that the score reaches the threshold exactly where the call is made.
    p = cells["p_schistocyte"]
    outvoted = (p >= model.thresholds["schistocyte"]) & (cells["class"] != "schistocyte")
    score = np.where(outvoted, 0.0, p)[counted]
    coverage = len(np.unique(at[at >= 0])) / counted.sum() if counted.any() else 0.0
    nrbc = whole & (cells["class"] == "nrbc")
    candidates = whole & np.isin(cells["class"], (*RED_LABELS, *WHITE_LABELS, "nrbc"))
    return FieldRows(score=np.r_[score, np.zeros(misses)],
                     positive=np.r_[positive[counted], np.ones(misses, dtype=bool)],
                     missed=np.r_[np.zeros(int(counted.sum()), dtype=bool),
                                  np.ones(misses, dtype=bool)],
                     coverage=float(coverage), nrbc_calls=int(nrbc.sum()),
                     nrbc_candidates=int(candidates.sum()))


def fold_models(paths: Sequence[Path], model: CellClassifier) -> list[CellClassifier]:
    """The fold models of ``scripts/cross_validate.py --save-folds`` at ``paths``, read at
    ``model``'s thresholds: a fold model has no NRBC or immature-granulocyte threshold of its
    own."""
    return [replace(load_model(path), thresholds=model.thresholds) for path in paths]


def whole_field_scores(models: Sequence[CellClassifier], shared: Path, *,
                       limit: int | None = None) -> WholeFieldScores:
    """Every labelled Chula field scored end to end by the fold model that held it out
    (``training.held_out_fields`` of a ``scripts/cross_validate.py --save-folds`` model).

    Raises
    ------
    ValueError
        A labelled field that no model held out (models of another run or data).
    """
    fold_of = {name: model for model in models
               for name in model.metadata["training"]["held_out_fields"]}
    # A label file without a point (two in Chula) gives a field no fold: every model trained on
    # it, and it has no labelled cell to score.
    fields = [f for f in chula_fields(Path(shared) / "datasets" / "chula-rbc-12")
              if f.points][:limit]
    unheld = [f.image.name for f in fields if f.image.name not in fold_of]
    if unheld:
        raise ValueError(f"{len(unheld)} labelled fields (e.g. {unheld[0]}) are held out by no "
                         "fold model")
    parts, rows = [], {}
    for field in fields:
        model = fold_of[field.image.name]
        rows[field.image.name] = mine = field_rows(field, model)
        n = len(mine.score)
        parts.append({"score": mine.score, "positive": mine.positive, "missed": mine.missed,
                      "fold": np.full(n, model.metadata["training"]["fold"] - 1),
                      "group": np.full(n, field.group), "field": np.full(n, field.image.name)})
    scores = OutOfFold(*(np.concatenate([p[name] for p in parts])
                         for name in OutOfFold.__dataclass_fields__))
    return WholeFieldScores(scores, {name: r.coverage for name, r in rows.items()},
                            sum(r.nrbc_calls for r in rows.values()),
                            sum(r.nrbc_candidates for r in rows.values()))


def whole_field_point(scores: OutOfFold, *, threshold: float) -> dict[str, Any]:
    """The operating point of whole-field scores at the model's own ``threshold``
    (:func:`~smearscan.training.operating.out_of_fold_point`: intervals over overlap groups,
    standard errors of prediction for new fields)."""
    point = out_of_fold_point(scores.score, scores.positive, scores.group, scores.fold,
                              threshold=threshold)
    point["estimate"] = (f"out-of-fold, whole fields (every counted red cell of the Chula "
                         f"fields labelled >= {EXHAUSTIVE_COVERAGE:.0%}, misses included)")
    return point
