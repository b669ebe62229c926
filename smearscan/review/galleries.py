"""The galleries of a review: the cells of each flagged class and the near misses, most
probable first, and any class or shape on demand."""

from __future__ import annotations

import numpy as np

from smearscan.classes import MORPHOLOGY_CLASSES
from smearscan.render import REVIEW_CLASSES
from smearscan.review.records import Cells, ReviewError
from smearscan.slide_stats import LABELS

#: Cells in the near-miss gallery: the most schistocyte-like of those not called schistocyte
#: (this tool's choice: two screens of tiles, enough to check a negative slide's best
#: candidates without paging through every red cell).
NEAR_MISSES = 24
#: The most tiles an on-demand gallery shows (most schistocyte-like first).
MAX_GALLERY = 1000


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
                      morphology: str | None = None) -> tuple[np.ndarray, int]:
    """Rows of whole cells of one class (after review) or one red-cell shape, most
    schistocyte-like first, at most :data:`MAX_GALLERY`; and how many there are in all (QA 61
    F8: the gallery stopped at 1000 without a word)."""
    keep = ~cells.border
    if label is not None:
        keep &= labels == known_class(label)
    if morphology is not None:
        if morphology not in MORPHOLOGY_CLASSES:  # QA 51 F10: an empty gallery, no error
            raise ReviewError(f"unknown morphology {morphology!r}; expected one of "
                              f"{', '.join(MORPHOLOGY_CLASSES)}")
        # The red cells the report's morphology profile counts in that shape: a schistocyte is
        # counted once, as a schistocyte (QA 91 F3: 145 spherocytes here against its 144).
        keep &= (labels == "rbc") & (cells.morphology == morphology)
    rows = np.flatnonzero(keep)
    order = np.argsort(-cells.probability["schistocyte"][rows], kind="stable")
    return rows[order[:MAX_GALLERY]], len(rows)


def known_class(name: object) -> str:
    if name not in LABELS:
        raise ReviewError(f"unknown class {name!r}; expected one of {', '.join(LABELS)}")
    return str(name)
