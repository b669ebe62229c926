"""Features stage: per-object morphometrics as columns, vectorised over all objects of a field.

Areas, centroids, second moments (eccentricity) and mean colours come from ``np.bincount``
over the label image in one pass each; perimeter and convex-hull area (solidity) from one
OpenCV contour per object, cut out with ``ndi.find_objects``. This is ~10x faster than
``skimage.measure.regionprops_table`` with ``solidity`` and ``eccentricity``, whose per-object
convex hull and moments dominate a field's cost; the definitions are the same (perimeter is
OpenCV's polygon length of the outer contour, which differs from scikit-image's by a few %).
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np
from scipy import ndimage as ndi

from smearscan.segmentation import NORMAL_RBC_DIAMETER_UM

#: Column order of :func:`cell_table`; ``cells.csv`` keeps it and only ever appends.
COLUMNS = (
    "cell_id", "x", "y", "area_px", "area_um2", "diameter_um", "border", "perimeter_um",
    "circularity", "eccentricity", "solidity", "mean_r", "mean_g", "mean_b", "touching",
)


class _Objects:
    """The object pixels of a label image, for per-object sums over them alone.

    Summing over object pixels only (a third to a half of a smear field) instead of the whole
    image is ~2x faster and gives the same sums.
    """

    def __init__(self, labels: np.ndarray, count: int) -> None:
        self.count = count
        self.pixels = np.flatnonzero(labels)
        self.label = labels.ravel()[self.pixels]
        rows, cols = np.divmod(self.pixels, labels.shape[1])
        self.rows, self.cols = rows.astype(np.float64), cols.astype(np.float64)

    def sums(self, weights: np.ndarray | None = None) -> np.ndarray:
        """Per object 1..count, the sum of ``weights`` at its pixels (its area when None)."""
        return np.bincount(self.label, weights=weights, minlength=self.count + 1)[1:]

    def values(self, image: np.ndarray) -> np.ndarray:
        """``image`` at the object pixels, as float64."""
        return image.ravel()[self.pixels].astype(np.float64)


def _eccentricity(objects: _Objects, area: np.ndarray, x: np.ndarray,
                  y: np.ndarray) -> np.ndarray:
    """Eccentricity of the ellipse with the same second central moments as each object."""
    rows, cols = objects.rows, objects.cols
    mxx = objects.sums(cols * cols) / area - x**2
    myy = objects.sums(rows * rows) / area - y**2
    mxy = objects.sums(rows * cols) / area - x * y
    common = np.sqrt(np.maximum(((mxx - myy) / 2) ** 2 + mxy**2, 0))
    major = (mxx + myy) / 2 + common
    minor = np.maximum((mxx + myy) / 2 - common, 0)
    return np.sqrt(1 - minor / np.maximum(major, 1e-12))


def _contour_measures(labels: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Outer perimeter (px) and convex-hull area (px) of each object."""
    perimeter = np.zeros(count)
    hull_area = np.zeros(count)
    for index, window in enumerate(ndi.find_objects(labels, max_label=count)):
        if window is None:
            continue
        # OpenCV's border copy is ~10x faster than np.pad on these small windows.
        mask = cv2.copyMakeBorder((labels[window] == index + 1).view(np.uint8), 1, 1, 1, 1,
                                  cv2.BORDER_CONSTANT, value=0)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        points = np.concatenate(contours)
        perimeter[index] = sum(cv2.arcLength(c, True) for c in contours)
        # The hull of pixel centres misses half a pixel all round: add it back.
        hull = cv2.convexHull(points)
        hull_area[index] = cv2.contourArea(hull) + cv2.arcLength(hull, True) / 2 + 1
    return perimeter, hull_area


#: An inner edge of the picture (see :func:`border_flags`) is a straight line along which at least
#: ``_EDGE_MIN_CUT`` objects not cut by the image edge lie with a straight outline (within
#: ``_EDGE_STRAIGHT`` px of their outermost point) of ``_EDGE_CUT_LENGTH`` red-cell diameters or
#: more and ``_EDGE_CUT_SHARE`` of their own extent along it, each within ``_EDGE_BAND`` px of the
#: line; that no object crosses by more than ``_EDGE_CROSS`` diameters (a JPEG's ringing grows cells
#: a few px past the edge), or to the image's side where that is nearer (QA 69 M1: a false line 11
#: px from a Chula field's side, crossed only by cells the side cuts, took 7 whole cells), within
#: the stretch of the line the objects on its near side span, but the outermost
#: ``_EDGE_STRETCH_TRIM`` of their area at each end (QA 69 H1: a scale bar below the picture's
#: corner, or a caption starting beside the picture, hid the edge); and beyond which lie at most
#: ``_EDGE_OUTSIDE_SHARE`` of the objects' area (a caption or dust on the canvas; the picture is on
#: the side of most objects): this tool's rule. A round cell only grazes a line (2 sqrt(1.5 d) px
#: within 1.5 px of it: 0.39 of its width at d = 37 px, whatever scale is declared), a cut one lies
#: along it (its chord is its width, or 0.87 of it for a cut a quarter of the way in).
#: ``scripts/picture_edge_check.py``: on 21 Chula fields pasted on a canvas of their background
#: colour the rule flags all 673 objects the picture's edge cuts; as shipped, none of the 23,935
#: whole objects of every 2nd Chula field, of every 2nd BCCD field's 2,167 or of every 10th PBC
#: image's 2,188 (2026-12-05).
_EDGE_MIN_CUT, _EDGE_CUT_LENGTH, _EDGE_CUT_SHARE, _EDGE_BAND = 2, 0.5, 0.6, 3.0
_EDGE_STRAIGHT, _EDGE_CROSS, _EDGE_OUTSIDE_SHARE, _EDGE_STRETCH_TRIM = 1.5, 0.25, 0.1, 0.02
#: Hull edges shorter than this (red-cell diameters) give no reliable direction.
_EDGE_MIN_LENGTH = 0.25
#: The hull is drawn around objects of this fraction of a red cell's area or more.
_HULL_MIN_AREA = 0.25


def border_flags(labels: np.ndarray, count: int, cell_diameter_px: float) -> np.ndarray:
    """True for objects cut by the picture's edge: the image edge, or an inner edge where the
    picture ends inside the image.

    A field pasted on a canvas, or turned with its corners filled, ends along straight lines
    inside the image; the cells cut there are fragments of the picture, not of the blood, and
    were counted as schistocytes (QA 67 H1: a normal slide padded with its own background colour
    read 12.7% instead of 0.44%). Such a line is one along which several objects lie cut
    straight and that the other objects do not cross (:data:`_EDGE_MIN_CUT`), across the
    image's sides or a side of the objects' convex hull; every object within
    :data:`_EDGE_BAND` px of it or beyond it (a caption on the canvas: QA 68 H1) is cut.

    Parameters
    ----------
    labels : (H, W) int ndarray
        Objects 1..``count``, 0 background.
    count : int
    cell_diameter_px : float
        A normal red cell's diameter (px), the scale of the straight cuts looked for.

    Returns
    -------
    (count,) bool ndarray
    """
    edge = image_edge_flags(labels, count)
    return edge | _cut_by_inner_edge(labels, count, cell_diameter_px, edge)


def image_edge_flags(labels: np.ndarray, count: int) -> np.ndarray:
    """(count,) bool: True for objects with a pixel on the image's outermost rows or columns."""
    edge = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    flags = np.zeros(count + 1, dtype=bool)
    flags[edge] = True
    return flags[1:]


def _cut_by_inner_edge(labels: np.ndarray, count: int, diameter: float, edge: np.ndarray
                       ) -> np.ndarray:
    """Objects within :data:`_EDGE_BAND` px of an inner edge of the picture or beyond it
    (:func:`border_flags`); ``edge``: those the image edge cuts."""
    flags = np.zeros(count, dtype=bool)
    if not np.isfinite(diameter):
        return flags
    rim = _Rim(labels, count)
    # An object the image edge cuts lies straight along the image side, not along the picture.
    voters = rim.present & ~edge
    height, width = labels.shape[:2]
    corners = np.array([[0, 0], [width - 1, 0], [0, height - 1], [width - 1, height - 1]])
    for normal in _edge_normals(rim, diameter):
        flags |= rim.beyond_edge(normal, diameter, voters, float((corners @ normal).max()))
    return flags


def _edge_normals(rim: _Rim, diameter: float) -> np.ndarray:
    """(K, 2) unit normals (x, y) of the directions an inner edge may take: the image's sides
    and both sides of each edge of the objects' convex hull (:data:`_HULL_MIN_AREA`) of
    :data:`_EDGE_MIN_LENGTH` diameters or more (a turned picture's edges, or the edge opposite
    one that a caption on the canvas hides), one per tenth of a degree."""
    hull = rim.hull(_HULL_MIN_AREA * np.pi * (diameter / 2) ** 2)
    sides = np.roll(hull, -1, axis=0) - hull
    sides = sides[np.hypot(sides[:, 0], sides[:, 1]) >= _EDGE_MIN_LENGTH * diameter]
    angles = np.concatenate([np.arange(4) * 90.0,
                             np.degrees(np.arctan2(sides[:, 0], -sides[:, 1]))])
    angles = np.unique(np.round(np.concatenate([angles, angles + 180]) % 360, 1))
    radians = np.radians(angles)
    return np.stack([np.cos(radians), np.sin(radians)], axis=1)


class _Extents(NamedTuple):
    """Each object's lowest and highest value of a measure over its rim points."""

    low: np.ndarray
    high: np.ndarray


class _Rim:
    """The pixels of the objects' outer outline (the external contours of their union: what
    faces the background, where a picture's edge cuts), grouped by object."""

    def __init__(self, labels: np.ndarray, count: int) -> None:
        contours, _ = cv2.findContours((labels > 0).view(np.uint8), cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_NONE)
        points = (np.concatenate(contours)[:, 0, :] if contours
                  else np.empty((0, 2), np.int32))
        label = labels[points[:, 1], points[:, 0]]
        order = np.argsort(label, kind="stable")
        self.points, self.label, self.count = points[order], label[order], count
        self.area = np.bincount(labels.ravel(), minlength=count + 1)
        self.present = np.bincount(self.label, minlength=count + 1)[1:] > 0
        self.starts = np.searchsorted(self.label, np.arange(1, count + 1))[self.present]

    def hull(self, min_area: float) -> np.ndarray:
        """(K, 2) float vertices (x, y) of the convex hull of the objects of ``min_area`` px
        or more (none: empty)."""
        points = self.points[self.area[self.label] >= min_area]
        if not len(points):
            return np.empty((0, 2))
        return cv2.convexHull(points)[:, 0, :].astype(np.float64)

    def beyond_edge(self, normal: np.ndarray, diameter: float, voters: np.ndarray,
                    reach: float) -> np.ndarray:
        """Objects within :data:`_EDGE_BAND` px of the innermost line across ``normal`` along
        which :data:`_EDGE_MIN_CUT` ``voters`` lie cut straight and that is an edge
        (:meth:`_is_edge`; ``reach``: the image's farthest point across ``normal``), or beyond
        it (a caption on the canvas, dust); none where there is no such line."""
        height = self.points @ normal
        position = self.points @ np.array([-normal[1], normal[0]])
        across, along = self._extents(height), self._extents(position)
        cut = voters & self._cut_straight(height, position, across, along, diameter)
        edge = np.inf
        for line in np.unique(across.high[cut]):
            on_line = cut & (across.high >= line - _EDGE_BAND) & (across.high <= line)
            if (np.count_nonzero(on_line) >= _EDGE_MIN_CUT
                    and self._is_edge(line, across, along, diameter, reach)):
                edge = line
                break
        return across.high >= edge - _EDGE_BAND

    def _is_edge(self, line: float, across: _Extents, along: _Extents, diameter: float,
                 reach: float) -> bool:
        """Few objects lie beyond the line (:data:`_EDGE_OUTSIDE_SHARE`), and none crosses it
        by more than :data:`_EDGE_CROSS`, or to the image's side (``reach``) where that is
        nearer, within the stretch the objects on its near side span along it (a scale bar
        beside the picture, below its corner, does not)."""
        near = self.present & (across.high <= line + _EDGE_BAND)
        beyond = across.high > line + np.minimum(_EDGE_CROSS * diameter,
                                                 np.maximum(reach - 1 - line, _EDGE_BAND))
        first, last = self._stretch(along, near)
        crossing = (beyond & (across.low < line - _EDGE_BAND)
                    & (along.high > first) & (along.low < last))
        outside = self.area[1:][across.low > line].sum()
        return not crossing.any() and outside <= _EDGE_OUTSIDE_SHARE * self.area[1:].sum()

    def _stretch(self, along: _Extents, near: np.ndarray) -> tuple[float, float]:
        """The stretch along the line that the ``near`` objects span, but the outermost
        :data:`_EDGE_STRETCH_TRIM` of their area at each end (a caption's letters on the near
        side, beside the picture)."""
        order = np.flatnonzero(near)
        order = order[np.argsort(along.low[order] + along.high[order])]
        share = np.cumsum(self.area[order + 1]) / self.area[order + 1].sum()
        kept = order[(share >= _EDGE_STRETCH_TRIM) & (share <= 1 - _EDGE_STRETCH_TRIM)]
        kept = kept if len(kept) else order
        return along.low[kept].min(), along.high[kept].max()

    def _cut_straight(self, height: np.ndarray, position: np.ndarray, across: _Extents,
                      along: _Extents, diameter: float) -> np.ndarray:
        """Objects whose outermost outline across the line (``height``; ``position`` along it;
        one per rim point) is straight (within :data:`_EDGE_STRAIGHT` px of their outermost
        point) over :data:`_EDGE_CUT_LENGTH` diameters and :data:`_EDGE_CUT_SHARE` of their own
        extent along it."""
        straight = height >= across.high[self.label - 1] - _EDGE_STRAIGHT
        span = self._extents(np.where(straight, position, np.nan))
        return span.high - span.low >= np.maximum(_EDGE_CUT_LENGTH * diameter,
                                        _EDGE_CUT_SHARE * (along.high - along.low))

    def _extents(self, values: np.ndarray) -> _Extents:
        """Each object's lowest and highest of ``values`` (one per rim point; nan ignored)."""
        return _Extents(-self._per_object(np.fmax, -values), self._per_object(np.fmax, values))

    def _per_object(self, reduce: np.ufunc, values: np.ndarray) -> np.ndarray:
        """``reduce`` of ``values`` (one per rim point) over each object's points (-inf for an
        object with none)."""
        result = np.full(self.count, -np.inf)
        result[self.present] = reduce.reduceat(values, self.starts)
        return result


def touching_flags(labels: np.ndarray, count: int) -> np.ndarray:
    """True for objects that share an outline with another object (8-connected): cells of a
    clump the segmentation split, or cells that merely touch."""
    kernel = np.ones((3, 3), np.uint8)
    labels = labels.astype(np.int32, copy=False)
    inside = labels > 0
    # The largest and smallest object label around each pixel (the background read as above
    # every label for the smallest); OpenCV filters them as float32, exact under 2**24.
    high = cv2.dilate(labels.astype(np.float32), kernel).astype(np.int32)
    low = cv2.erode(np.where(inside, labels, count + 1).astype(np.float32),
                    kernel).astype(np.int32)
    other = inside & ((high != labels) | (low != labels))
    flags = np.zeros(count + 1, dtype=bool)
    flags[labels[other]] = True
    return flags[1:]


def cell_table(
    labels: np.ndarray, rgb: np.ndarray, *, pixel_size_um: float
) -> dict[str, np.ndarray]:
    """Morphometrics of every object of a label image.

    Parameters
    ----------
    labels : (H, W) int ndarray
        Objects 1..N (consecutive), 0 background.
    rgb : (H, W, 3) uint8 ndarray
        The field, for the mean colour.
    pixel_size_um : float, keyword-only
        um/px, for the physical columns.

    Returns
    -------
    dict of str to (N,) ndarray
        The :data:`COLUMNS`, in label order. ``x, y`` are centroids in pixels (column, row);
        ``circularity`` is 4 pi area / perimeter^2 (1 for a disc, capped at 1);
        ``solidity`` area / convex-hull area; ``border`` marks objects cut by the picture's edge
        (:func:`border_flags`),
        ``touching`` those that share an outline with another object (:func:`touching_flags`).
    """
    count = int(labels.max(initial=0))
    objects = _Objects(labels, count)
    area = objects.sums().astype(np.int64)
    safe_area = np.maximum(area, 1)
    x = objects.sums(objects.cols) / safe_area
    y = objects.sums(objects.rows) / safe_area
    perimeter, hull_area = _contour_measures(labels, count)
    means = [objects.sums(objects.values(rgb[:, :, c])) / safe_area for c in range(3)]
    return {
        "cell_id": np.arange(1, count + 1, dtype=np.int32),
        "x": x,
        "y": y,
        "area_px": area,
        "area_um2": area * pixel_size_um**2,
        "diameter_um": np.sqrt(4 * area / np.pi) * pixel_size_um,
        "border": border_flags(labels, count, NORMAL_RBC_DIAMETER_UM / pixel_size_um),
        "perimeter_um": perimeter * pixel_size_um,
        "circularity": np.minimum(4 * np.pi * area / np.maximum(perimeter, 1.0) ** 2, 1.0),
        "eccentricity": _eccentricity(objects, safe_area, x, y),
        "solidity": np.minimum(area / np.maximum(hull_area, 1.0), 1.0),
        "mean_r": means[0],
        "mean_g": means[1],
        "mean_b": means[2],
        "touching": touching_flags(labels, count),
    }
