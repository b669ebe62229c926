"""Burned-in annotations, painted out of a field before it is segmented.

A microscope camera burns its scale bar and label into the picture in a flat colour. Chula's
fields carry a green "20.00um" bar (129 of its 557 fields): its line cut the red cells it
crossed into halves that read as fragments and platelets (QA 83 #4: 3 of the 28 schistocyte
calls of a spherocyte slide were cells the bar crossed; 7.6% of a run's platelets lay in its
box). A Romanowsky-stained smear is pink, purple, blue or grey: no cell, nucleus or background
of Chula, BCCD or PBC has a pixel whose green exceeds both its red and its blue by
:data:`ANNOTATION_MARGIN` levels, which the bar's do. Those pixels, with the pixels within
:data:`RIM_PX` of them green by :data:`EDGE_MARGIN` (a stroke's edge blended into the picture
by the camera and JPEG; a greenish background is under it), and a pixel round them all, are
filled in from their surroundings (Telea inpainting, :func:`cv2.inpaint`), so that the line
does not cut the cells it crossed into fragment-like pieces. The fill does not give a cell back
its outline: a cell under the label's letters came out with bites that read as a fragment (QA
86 #2: two such calls in 16 fields), so every object with a pixel in the painted region is cut
by it, as by the picture's edge (:func:`under_annotation`: left out of the counts). An
annotation in
another colour (white, black) is not found: it cannot be told from background or stain by its
colour (this tool's rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

#: Levels of 255 by which a pixel's green exceeds both its red and its blue in an annotation.
ANNOTATION_MARGIN = 60
#: The same for a pixel of a stroke's blended edge, within :data:`RIM_PX` of the stroke (Chula's
#: greenish background reaches 16 levels at its 99th percentile).
EDGE_MARGIN = 25
#: Pixels round an annotation's stroke searched for its blended edge.
RIM_PX = 3
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
    """

    rgb: np.ndarray
    pixels: int


def annotation_mask(rgb: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: the pixels of an annotation's stroke (green over red and blue by
    :data:`ANNOTATION_MARGIN` levels)."""
    return _greenness(rgb) > ANNOTATION_MARGIN


def _greenness(rgb: np.ndarray) -> np.ndarray:
    """Green over the larger of red and blue, levels of 255."""
    channels = rgb.astype(np.int16)
    return channels[..., 1] - np.maximum(channels[..., 0], channels[..., 2])


def painted_out(rgb: np.ndarray) -> PaintedOut:
    """``rgb`` (``(H, W, 3)`` uint8) with its annotations and their rim inpainted from their
    surroundings (:func:`painted_region`)."""
    pixels = int(annotation_mask(rgb).sum())
    if not pixels:
        return PaintedOut(rgb, 0)
    region = painted_region(rgb).astype(np.uint8)
    filled = cv2.inpaint(np.ascontiguousarray(rgb), region, _INPAINT_RADIUS, cv2.INPAINT_TELEA)
    return PaintedOut(filled, pixels)


def painted_region(rgb: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: what :func:`painted_out` fills in: the strokes, the pixels of their
    blended edge within :data:`RIM_PX` of them, and a pixel round both."""
    greenness = _greenness(rgb)
    stroke = greenness > ANNOTATION_MARGIN
    if not stroke.any():
        return stroke
    near = cv2.dilate(stroke.astype(np.uint8), _square(RIM_PX)).astype(bool)
    edge = (stroke | (near & (greenness > EDGE_MARGIN))).astype(np.uint8)
    return cv2.dilate(edge, _square(1)).astype(bool)


def under_annotation(labels: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """``(count,)`` bool: the objects 1..count of ``labels`` with a pixel in the painted region
    of ``rgb`` (the picture before it was painted out, in the frame of ``labels``)."""
    count = int(labels.max(initial=0))
    flags = np.zeros(count + 1, dtype=bool)
    flags[labels[painted_region(rgb)]] = True
    return flags[1:]


def _square(radius: int) -> np.ndarray:
    return np.ones((2 * radius + 1,) * 2, np.uint8)
