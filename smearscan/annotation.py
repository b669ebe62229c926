"""Burned-in annotations, painted out of a field before it is segmented.

A microscope camera burns its scale bar and label into the picture in a flat colour. Chula's
fields carry a green "20.00um" bar (123 of its 557 fields; 6 more a green letter on a cell;
QA 88 F6): its line cut the red cells it
crossed into halves that read as fragments and platelets (QA 83 #4: 3 of the 28 schistocyte
calls of a spherocyte slide were cells the bar crossed; 7.6% of a run's platelets lay in its
box). Some (35) carry a yellow arrow pointing at a cell, which was counted as a red cell (QA 86
#8: 10 of a slide's 16 "hypochromia" were arrows). A Romanowsky-stained smear is pink, purple,
blue or grey: no cell, nucleus or background of Chula, BCCD or PBC has a pixel whose green
exceeds both its red and its blue by :data:`ANNOTATION_MARGIN` levels, which the bar's do, nor
one whose red and green both exceed its blue by :data:`YELLOW_MARGIN`, which the arrows' do
(an eosinophil's granules come within 20 levels of it, in specks of a few pixels, so a yellow
stroke must also span :data:`YELLOW_STROKE_PX`). Those pixels, with the pixels within
:data:`RIM_PX` of them coloured so by :data:`EDGE_MARGIN` (a stroke's edge blended into the
picture by the camera and JPEG; a greenish background is under it), and a pixel round them all,
are filled in from their surroundings (Telea inpainting, :func:`cv2.inpaint`), so that the line
does not cut the cells it crossed into fragment-like pieces. The fill does not give a cell back
its outline: a cell under the label's letters came out with bites that read as a fragment (QA
86 #2: two such calls in 16 fields), so every object with a pixel in the painted region is cut
by it, as by the picture's edge (:func:`without_annotation`: left out of the counts), the cell an
arrow points at too where its tip touches it; an object mostly in the region is the fill, not a
cell, and is taken out. An annotation in another colour (white, black) is
not found: it cannot be told from background or stain by its colour (this tool's rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Levels of 255 by which a pixel's green exceeds both its red and its blue in an annotation.
ANNOTATION_MARGIN = 60
#: Levels by which a pixel's red and green both exceed its blue in a yellow annotation: Chula's
#: arrows, 429-1,100 px of such pixels each (ad hoc scan, 2026-12-06: in 35 of 557 Chula
#: fields, none of 364 BCCD fields or 3,201 PBC images; at 80 levels, 90 PBC images have specks
#: of at most 6 px, eosinophil granules).
YELLOW_MARGIN = 100
#: Pixels a yellow stroke spans at least (connected), over any such speck of stain.
YELLOW_STROKE_PX = 50
#: The colour excess (green's, or yellow's) of a pixel of a stroke's blended edge, within
#: :data:`RIM_PX` of the stroke (Chula's greenish background reaches 16 levels of green at its
#: 99th percentile).
EDGE_MARGIN = 25
#: The share of an object's pixels in the painted region over which it is the fill, not a cell
#: (:func:`without_annotation`).
GHOST_SHARE = 0.5
#: Pixels beyond an annotation's stroke its blended edge may reach: 3 at Chula's 0.2 um/px;
#: room for a field taken at a pixel size three times finer.
RIM_PX = 9
#: Holes a stroke encloses under this many pixels are its own (the inside of a letter at a
#: pixel size twice finer than Chula's is ~50 px); larger ones, a ring drawn round a cell, not.
HOLE_PX = 120
#: Neighbourhood (px) an inpainted pixel is filled from.
_INPAINT_RADIUS = 3


@dataclass(frozen=True)
class PaintedOut:
    """A field with its annotations painted out.

    Attributes
    ----------
    rgb : (H, W, 3) uint8 ndarray
        The field, the input itself where nothing was painted out.
    pixels : int
        Pixels found as an annotation's stroke (its rim not counted); 0 for none.
    region : (H, W) bool ndarray or None
        What was filled in (:func:`painted_region`); None where nothing was.
    """

    rgb: np.ndarray
    pixels: int
    region: np.ndarray | None = None


def annotation_mask(rgb: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: the pixels of an annotation's stroke: green over red and blue by
    :data:`ANNOTATION_MARGIN` levels, or red and green over blue by :data:`YELLOW_MARGIN` in a
    stroke of :data:`YELLOW_STROKE_PX` or more."""
    green, yellow = _excess(rgb)
    return (green > ANNOTATION_MARGIN) | _large_parts(yellow > YELLOW_MARGIN, YELLOW_STROKE_PX)


def _excess(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Green over the larger of red and blue, and the smaller of red and green over blue,
    levels of 255 (``(H, W)`` int16 each)."""
    red, green, blue = (rgb[..., channel].astype(np.int16) for channel in range(3))
    return green - np.maximum(red, blue), np.minimum(red, green) - blue


def _large_parts(mask: np.ndarray, least_px: int, connectivity: int = 8) -> np.ndarray:
    """``mask`` without its connected parts under ``least_px`` pixels."""
    if not mask.any():
        return mask
    count, parts, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8),
                                                              connectivity=connectivity)
    return (stats[:, cv2.CC_STAT_AREA] >= least_px)[parts] & mask


def painted_out(rgb: np.ndarray) -> PaintedOut:
    """``rgb`` (``(H, W, 3)`` uint8) with its annotations and their rim inpainted from their
    surroundings (:func:`painted_region`)."""
    stroke, region = _stroke_and_region(rgb)
    if not stroke.any():
        return PaintedOut(rgb, 0)
    filled = cv2.inpaint(np.ascontiguousarray(rgb), region.astype(np.uint8), _INPAINT_RADIUS,
                         cv2.INPAINT_TELEA)
    return PaintedOut(filled, int(stroke.sum()), region)


def painted_region(rgb: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: what :func:`painted_out` fills in: the strokes, the pixels of their
    blended edge (coloured by :data:`EDGE_MARGIN`, reached from a stroke through such pixels
    within :data:`RIM_PX`), the holes of fewer than :data:`HOLE_PX` pixels they enclose (the
    inside of a letter), and a pixel round them all."""
    return _stroke_and_region(rgb)[1]


def _stroke_and_region(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`annotation_mask` and :func:`painted_region` of ``rgb``."""
    stroke = annotation_mask(rgb)
    if not stroke.any():
        return stroke, stroke
    # Grown through the coloured pixels next to it, not a fixed rim: a field taken at a finer
    # pixel size blends a stroke's edge over more pixels (QA 88 F3: at 2x a 3 px rim left the
    # greenish inside of the label's zeros, which the fill spread).
    coloured = np.maximum(*_excess(rgb)) > EDGE_MARGIN
    region = stroke
    for _ in range(RIM_PX):
        grown = cv2.dilate(region.astype(np.uint8), _square(1)).astype(bool) & (coloured | region)
        if np.array_equal(grown, region):
            break
        region = grown
    region = region | ~_large_parts(~region, HOLE_PX, connectivity=4)
    return stroke, cv2.dilate(region.astype(np.uint8), _square(1)).astype(bool)


def without_annotation(labels: np.ndarray, rgb: np.ndarray, region: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """``labels`` (objects 1..count) without the objects that lie mostly in the painted region
    of ``rgb`` (the picture before it was painted out, in the frame of ``labels``), renumbered
    in order, and ``(n,)`` bool: the objects left that have a pixel in it. ``region``: that
    region where :func:`painted_out` found it already (:attr:`PaintedOut.region`; ~9 ms a
    Chula field), else found here.

    An object with :data:`GHOST_SHARE` or more of its pixels in the region is the fill itself
    (the faint ghost of an arrow, found as an object and outlined in the overlays as if counted;
    QA 91 F2), not a cell: it is taken out. One with less is a cell the annotation cut, left out
    of the counts as a cell cut by the picture's edge is."""
    count = int(labels.max(initial=0))
    if region is None:
        region = painted_region(rgb)
    if not region.any():
        return labels, np.zeros(count, dtype=bool)
    total = np.bincount(labels.ravel(), minlength=count + 1)
    inside = np.bincount(labels[region], minlength=count + 1)
    ghost = inside >= GHOST_SHARE * np.maximum(total, 1)
    ghost[0] = False
    return _renumbered(labels, (total > 0) & ~ghost), (inside > 0)[1:][~ghost[1:]]


def _renumbered(labels: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``labels`` with only the labels ``keep`` marks (``keep[0]`` ignored), numbered 1..n in
    their order, 0 elsewhere: skimage's ``relabel_sequential`` of the kept labels, in one
    table look-up instead of a mask, a copy and its hash of the values (~5 ms a Chula field)."""
    keep = keep.copy()
    keep[0] = False
    if keep[1:].all():
        return labels  # nothing taken out and none missing: already 1..n
    lookup = np.zeros(len(keep), labels.dtype)
    lookup[keep] = np.arange(1, np.count_nonzero(keep) + 1)
    return lookup[labels]


def _square(radius: int) -> np.ndarray:
    return np.ones((2 * radius + 1,) * 2, np.uint8)
