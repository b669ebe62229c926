"""Focus stage: how wide a field's red-cell edges are, in micrometres.

The measure starts from the red cells' optical density (green channel, against the field's
background) over the steepest density gradient at their outlines: a blurred edge is wider. For
an edge blurred by a Gaussian of sigma that ratio is sqrt(2 pi) times the combined sigma of the
blur, of this measure's own smoothing and of the pixel grid (with the Sobel kernel's smoothing);
the last two are taken out, so that the width is the edge's own, in um, whatever the pixel size:
a sharp field imaged through coarser pixels is not called soft. What width makes a slide too
soft to count is decided in :mod:`smearscan.slide_stats`
(:data:`~smearscan.slide_stats.SOFT_EDGE_WIDTH_UM`).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from smearscan.classification import density_table
from smearscan.features import border_flags
from smearscan.segmentation import NORMAL_RBC_DIAMETER_UM

__all__ = ["edge_width_um"]

_SMOOTHING_UM = 0.14
"""Gaussian smoothing before the gradient, against pixel noise."""
_SEARCH_UM = 0.4
"""How far from an outline pixel its steepest gradient is looked for (the outline is a
threshold's, not the edge's centre)."""
_MIN_CELLS = 3
"""Fewer whole red-cell sized objects give no width (this tool's rule): a field blurred until
its cells merge leaves a few blobs, which read a scale far too fine and their edges sharp at it
(QA 65 F5: Chula field 264 blurred by 0.8 um read "0.00 um" from 2 such objects, where sharp
it has 125). Crowded BCCD fields have 3 or more at 0.073 um/px (every third of the 364: 3 to
over 12; the visibly soft 00065 and 00091: 4 and 6) (ad hoc, 2026-12-05). A blur that leaves 3
or more merged blobs is not caught by this."""
_GRID_SIGMA_PX = 0.64
"""The sigma (px) the pixel grid and the 3x3 Sobel add to an edge: measured on synthetic
Gaussian edges (blur 0-0.4 um) at 0.05-0.4 um/px, 0.59-0.69 px (tests/test_focus.py)."""


def edge_width_um(rgb: np.ndarray, labels: np.ndarray, *, pixel_size_um: float,
                  border: np.ndarray | None = None) -> float:
    """Width (um) of the edges of the whole, red-cell sized objects of a field.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray
        The field.
    labels : (H, W) int ndarray
        Its objects 1..N, 0 background (:func:`smearscan.segmentation.segment_field`).
    pixel_size_um : float
        The field's pixel size, um/px.
    border : (N,) bool ndarray, optional
        Objects cut by the picture's edge, as the cell table has them
        (:func:`~smearscan.features.border_flags`, computed here when not given).

    Returns
    -------
    float
        Cell density (75th percentile inside the cells, less the background's median) over the
        median steepest gradient at their outlines, in um, less (in quadrature) the width that
        the smoothing and the pixel grid give a perfectly sharp edge (0 at least); nan when the
        field has fewer than :data:`_MIN_CELLS` whole objects of 0.5-1.5 normal red-cell areas
        (:data:`~smearscan.segmentation.NORMAL_RBC_DIAMETER_UM`), no contrast, or no pixel
        size (an empty field).
    """
    if not pixel_size_um > 0:  # nan: no red cells to take the scale from
        return math.nan
    cells, count = _red_cell_sized(labels, pixel_size_um, border)
    if count < _MIN_CELLS:
        return math.nan
    outline = cells & (cv2.erode(cells.view(np.uint8), np.ones((3, 3), np.uint8)) == 0)
    density = _green_density(rgb, _SMOOTHING_UM / pixel_size_um)
    reach = max(1, round(_SEARCH_UM / pixel_size_um))
    kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    inner = cv2.erode(cells.view(np.uint8), kernel).view(bool)
    steepest = cv2.dilate(_gradient(density), kernel)
    background = labels == 0
    if not (inner.any() and background.any()):
        return math.nan
    contrast = float(np.percentile(density[inner], 75) - np.median(density[background]))
    slope = float(np.median(steepest[outline]))
    if not (contrast > 0 and slope > 0):
        return math.nan
    measured = contrast / slope * pixel_size_um
    own = 2 * math.pi * (_SMOOTHING_UM ** 2 + (_GRID_SIGMA_PX * pixel_size_um) ** 2)
    return math.sqrt(max(measured ** 2 - own, 0.0))


def _red_cell_sized(labels: np.ndarray, pixel_size_um: float, border: np.ndarray | None
                    ) -> tuple[np.ndarray, int]:
    """Mask of the whole objects of 0.5-1.5 normal red-cell areas, and how many there are."""
    count = int(labels.max(initial=0))
    area = np.bincount(labels.ravel(), minlength=count + 1)
    diameter = NORMAL_RBC_DIAMETER_UM / pixel_size_um
    cell_area = math.pi * (diameter / 2) ** 2
    keep = (area > 0.5 * cell_area) & (area < 1.5 * cell_area)
    keep[0] = False
    keep[1:] &= ~(border_flags(labels, count, diameter) if border is None else border)
    return np.take(keep, labels), int(np.count_nonzero(keep))


def _green_density(rgb: np.ndarray, sigma_px: float) -> np.ndarray:
    """The green channel of the classifier's optical density
    (:func:`~smearscan.classification.field_density`), smoothed."""
    green = np.ascontiguousarray(rgb[:, :, 1])
    return cv2.GaussianBlur(cv2.LUT(green, density_table(green)), (0, 0), sigma_px)


def _gradient(image: np.ndarray) -> np.ndarray:
    """Gradient magnitude per pixel (Sobel, scaled to units per pixel)."""
    gx = cv2.Sobel(image, cv2.CV_32F, 1, 0, ksize=3, scale=1 / 8)
    gy = cv2.Sobel(image, cv2.CV_32F, 0, 1, ksize=3, scale=1 / 8)
    return cv2.magnitude(gx, gy)
