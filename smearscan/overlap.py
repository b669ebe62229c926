"""Fields of one slide that show the same cells: a stage moved less than a field's width.

A lab photographs a slide field after field; where two fields overlap, the cells they share are
counted twice, which narrows the interval and can make a short count look long enough (ICSH
2021 asks for 1000 red cells). Byte-identical copies are caught when the slide is read
(:func:`smearscan.loading.without_copies`); this finds the rest from the whole cells' centres
alone: two views of one area hold the same constellation of cells, shifted by the stage's move,
which no two different areas do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from smearscan.segmentation import NORMAL_RBC_DIAMETER_UM

#: Centres of one cell seen in two fields lie within this fraction of the median red-cell
#: diameter of each other (segmentation moves an outline by a pixel or two).
MATCH_RADIUS = 0.12
#: An overlap is called when at least this many cells coincide (this tool's rule; with
#: :data:`MIN_SHARE`, ``scripts/evaluate_overlap.py`` found 81 of the 87 pairs Chula RBC-12
#: lists as one area, and called 2 of 934 unlisted pairs, both overlaps the lists miss).
MIN_COINCIDING = 8
#: ... and at least this share of the whole cells of the first field that lie in the shared
#: area, half a cell inside its edges (this tool's rule; see :data:`MIN_COINCIDING`).
MIN_SHARE = 0.5
#: Each field is compared with this many fields before it in the slide's order (a stage moves
#: on from field to field); a slide of up to this many + 1 fields is compared pair by pair.
NEIGHBOURS = 20
#: How a copy of a field may come back from a camera or a program that turned or mirrored it,
#: as the quarter turns (anticlockwise) and the left-right mirror, applied in that order, that
#: bring the first field back: (quarter turns, mirrored) -> what the second is of the first.
#: Such a copy shows the same cells at the same places once turned back, so it is tried at no
#: stage move only (a KD-tree query each; QA 65 F8: a copy turned 180 degrees was counted twice
#: unnamed). This tool's rule.
TURNS = {
    (1, False): "turned 90 degrees clockwise",
    (2, False): "turned 180 degrees",
    (3, False): "turned 90 degrees anticlockwise",
    (0, True): "mirrored left to right",
    (1, True): "mirrored left to right, then turned 90 degrees anticlockwise",
    (2, True): "mirrored top to bottom",
    (3, True): "mirrored left to right, then turned 90 degrees clockwise",
}


@dataclass(frozen=True)
class FieldCentres:
    """The whole cells of one field as the overlap test sees them.

    Attributes
    ----------
    image : str
        The field's name in its slide.
    centres : (N, 2) float ndarray
        Whole (not border) objects' centres, x and y in px.
    width, height : int
        The field's size, px.
    diameter_px : float
        The field's median red-cell diameter, px (sets the match radius).
    """

    image: str
    centres: np.ndarray
    width: int
    height: int
    diameter_px: float


@dataclass(frozen=True)
class FieldOverlap:
    """Two fields that show the same cells.

    Attributes
    ----------
    first, second : str
        The fields, in the slide's order.
    shift_px : (float, float)
        Where ``second``'s origin lies in ``first`` (x, y px): the stage's move.
    coinciding : int
        Whole cells of ``first`` with a cell of ``second`` at the same place.
    shared : int
        Whole cells of ``first`` in the area both fields show.
    turned : str
        What ``second`` is of ``first`` where it is a turned or mirrored copy (a value of
        :data:`TURNS`, at no stage move), else ``""``.
    """

    first: str
    second: str
    shift_px: tuple[float, float]
    coinciding: int
    shared: int
    turned: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The pair's entry in ``summary.json``."""
        return {"first": self.first, "second": self.second,
                "shift_px": [round(v, 1) for v in self.shift_px],
                "coinciding": self.coinciding, "shared": self.shared, "turned": self.turned}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldOverlap:
        """The pair a :meth:`to_dict` entry records (none turned before 0.3.13)."""
        x, y = data["shift_px"]
        return cls(str(data["first"]), str(data["second"]), (float(x), float(y)),
                   int(data["coinciding"]), int(data["shared"]), str(data.get("turned", "")))


def field_centres(image: str, cells: Mapping[str, np.ndarray], width: int, height: int,
                  pixel_size_um: float) -> FieldCentres:
    """The whole cells of a field's cell table (``x``, ``y``, ``border`` columns as in
    ``cells.csv``) at its pixel size (um/px: sets the red-cell diameter)."""
    whole = ~np.asarray(cells["border"], dtype=bool)
    centres = np.column_stack([np.asarray(cells["x"], float)[whole],
                               np.asarray(cells["y"], float)[whole]])
    diameter = (NORMAL_RBC_DIAMETER_UM / pixel_size_um
                if pixel_size_um and np.isfinite(pixel_size_um) else float("nan"))
    return FieldCentres(image, centres, int(width), int(height), diameter)


def overlapping_fields(fields: Sequence[FieldCentres]) -> tuple[FieldOverlap, ...]:
    """The pairs of ``fields`` (in the slide's order) that show the same cells.

    Each field is compared with the :data:`NEIGHBOURS` fields before it at the stage move that
    most pairs of their cells agree on, then, where that finds none, turned back by each of
    :data:`TURNS` at no move; a pair overlaps when :data:`MIN_COINCIDING` cells and
    :data:`MIN_SHARE` of those in the shared area coincide there.
    """
    trees = [cKDTree(f.centres) if len(f.centres) else None for f in fields]
    found = []
    for index, second in enumerate(fields):
        for earlier in range(max(0, index - NEIGHBOURS), index):
            first = fields[earlier]
            if trees[earlier] is None or not len(second.centres):
                continue
            overlap = _overlap(first, second, trees[earlier])
            if overlap is not None:
                found.append(overlap)
    return tuple(found)


def _overlap(first: FieldCentres, second: FieldCentres, tree: cKDTree) -> FieldOverlap | None:
    """The two fields' overlap at the stage move most pairs of their cells agree on, if any."""
    radius = MATCH_RADIUS * np.nanmedian([first.diameter_px, second.diameter_px])
    if not np.isfinite(radius) or radius <= 0:
        return None
    moves, shifts = _voted_shifts(first.centres, second.centres, radius)
    for shift in shifts:
        # Each cell coinciding at a move is a pair of cells whose own move lies within the
        # radius of it: with fewer such pairs than MIN_COINCIDING, none can be enough.
        if _pairs_near(moves, shift, radius) < MIN_COINCIDING:
            continue
        coinciding, shared = _coinciding(first, second, tree, shift, radius)
        if _enough(coinciding, shared):
            return FieldOverlap(first.image, second.image, (float(shift[0]), float(shift[1])),
                                coinciding, shared)
    for (quarters, mirrored), turned in TURNS.items():
        back = _turned_back(second, quarters, mirrored)
        if (back.width, back.height) != (first.width, first.height):
            continue
        coinciding, shared = _coinciding(first, back, tree, np.zeros(2), radius)
        if _enough(coinciding, shared):
            return FieldOverlap(first.image, second.image, (0.0, 0.0), coinciding, shared,
                                turned)
    return None


def _enough(coinciding: int, shared: int) -> bool:
    return coinciding >= MIN_COINCIDING and coinciding >= MIN_SHARE * shared


def _turned_back(field: FieldCentres, quarters: int, mirrored: bool) -> FieldCentres:
    """``field`` mirrored left to right (if ``mirrored``), then turned anticlockwise by
    ``quarters`` quarter turns, as :func:`numpy.fliplr` and :func:`numpy.rot90` move its
    pixels (centres in pixel indices; width and height swap at each turn)."""
    x, y = field.centres.T
    width, height = field.width, field.height
    if mirrored:
        x = width - 1 - x
    for _ in range(quarters):
        x, y, width, height = y, width - 1 - x, height, width
    return replace(field, centres=np.column_stack([x, y]), width=width, height=height)


#: Offsets, in bins, of the grids the stage moves are binned on: a move whose votes straddle
#: a bin's edge on one grid falls within a bin on another.
_GRID_OFFSETS = ((0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.5, 0.5))
#: The fullest bins of each grid tried as the stage move. Small moves gather chance votes
#: from neighbouring cells, so the fullest bin is not always the true move (QA 83 #5: two
#: Chula fields sharing 9 cells were found at 0.202 um/px and missed at 0.2, where a move of
#: 11 px drew more votes); :func:`_coinciding` and :data:`MIN_SHARE` tell the true one.
_CANDIDATE_BINS = 4


def _voted_shifts(a: np.ndarray, b: np.ndarray, radius: float
                  ) -> tuple[np.ndarray, list[np.ndarray]]:
    """The moves of every pair of centres (``a`` = ``b`` + move), sorted by x, and the stage
    moves that most of them agree on, to within ``2 radius``, most votes first: the
    :data:`_CANDIDATE_BINS` fullest bins of each grid of :data:`_GRID_OFFSETS`, each refined
    to the median of the pairs that voted for it."""
    moves = (a[:, None, :] - b[None, :, :]).reshape(-1, 2)
    size = 2 * radius
    lowest = moves.min(axis=0)
    peaks = sorted((peak for offset in _GRID_OFFSETS
                    for peak in _fullest_bins(moves, lowest - np.array(offset) * size, size)),
                   key=lambda peak: -peak[0])
    # Only the moves within `size` along x can be within `size` of a peak: looked up in the
    # moves sorted by x, not all N x M of them for each of the 16 peaks (the same moves, so the
    # same medians). With the fullest bins below and `_pairs_near`, a slide of 20 Chula fields
    # (190 pairs) is compared in 0.71 s instead of 1.58 (ad hoc, 2026-12-06).
    by_x = moves[np.argsort(moves[:, 0], kind="stable")]
    # A bin without votes (fields of a cell or two leave most of their grid empty) has no
    # median: a "Mean of empty slice" warning on the terminal mid-run, and a NaN move.
    return by_x, [np.median(near[np.hypot(*(near - centre).T) < size], axis=0)
                  for votes, centre in peaks if votes
                  for near in [_within_x(by_x, centre, size)]]


def _within_x(by_x: np.ndarray, centre: np.ndarray, reach: float) -> np.ndarray:
    """The moves of ``by_x`` (sorted by x) whose x lies in ``[x - reach, x + reach)`` of
    ``centre``'s x: every move nearer to it than ``reach``."""
    return by_x[slice(*np.searchsorted(by_x[:, 0], centre[0] + np.array([-reach, reach]),
                                       side="left"))]


def _pairs_near(by_x: np.ndarray, shift: np.ndarray, radius: float) -> int:
    """How many moves of ``by_x`` (sorted by x) lie within ``radius`` of ``shift``, the
    radius included."""
    near = _within_x(by_x, shift, radius * (1 + 1e-9))
    return int(np.count_nonzero(np.hypot(*(near - shift).T) <= radius * (1 + 1e-9)))


def _fullest_bins(moves: np.ndarray, low: np.ndarray, size: float
                  ) -> list[tuple[int, np.ndarray]]:
    """The :data:`_CANDIDATE_BINS` fullest bins of the grid of ``size`` starting at ``low``:
    their votes and centres."""
    cells = np.floor((moves - low) / size).astype(np.int64)
    columns = int(cells[:, 0].max()) + 1
    counts = np.bincount(cells[:, 1] * columns + cells[:, 0])
    # The bins a stable sort of all of them would put last, most votes first and of equal
    # votes the later bin first, from those reaching the k-th most votes (a sort of the few).
    least = np.partition(counts, len(counts) - _CANDIDATE_BINS)[-_CANDIDATE_BINS] if len(
        counts) > _CANDIDATE_BINS else counts.min()
    reaching = np.flatnonzero(counts >= least)
    fullest = reaching[np.lexsort((-reaching, -counts[reaching]))][:_CANDIDATE_BINS]
    return [(int(counts[peak]),
             low + (np.array([peak % columns, peak // columns]) + 0.5) * size)
            for peak in fullest.tolist()]


def _coinciding(first: FieldCentres, second: FieldCentres, tree: cKDTree, shift: np.ndarray,
                radius: float) -> tuple[int, int]:
    """Whole cells of ``first`` that ``second`` moved by ``shift`` puts a cell on, and those
    lying in the area both show, half a cell inside its edges (a cell on the edge of the
    other field is cut there, so not whole)."""
    margin = first.diameter_px / 2 if np.isfinite(first.diameter_px) else 0.0
    x, y = first.centres.T
    left, top = max(0.0, shift[0]) + margin, max(0.0, shift[1]) + margin
    right = min(first.width, shift[0] + second.width) - margin
    bottom = min(first.height, shift[1] + second.height) - margin
    inside = (x >= left) & (x < right) & (y >= top) & (y < bottom)
    distance, nearest = tree.query(second.centres + shift, distance_upper_bound=radius)
    matched = np.zeros(len(first.centres), bool)
    matched[nearest[np.isfinite(distance)]] = True
    return int(np.count_nonzero(matched & inside)), int(np.count_nonzero(inside))
