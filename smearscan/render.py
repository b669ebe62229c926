"""Pictures of a field for a person: class-coloured outlines, thumbnails, review crops."""

from __future__ import annotations

import cv2
import numpy as np

from smearscan.classes import TARGET_CLASSES
from smearscan.outputs import jpeg_bytes
from smearscan.results import ReviewCell

#: Outline colours of the overlay, by label (:data:`smearscan.classes.LABELS`); unclassified
#: objects are drawn in the ``rbc`` colour.
CLASS_COLOURS = {
    "rbc": (0, 200, 0),
    "schistocyte": (255, 0, 0),
    "nrbc": (255, 0, 255),
    "wbc": (0, 0, 255),
    "immature_granulocyte": (0, 200, 255),
    "platelet": (255, 160, 0),
    "other": (128, 128, 128),
}
#: Classes whose every call goes to the review gallery of the report.
REVIEW_CLASSES = TARGET_CLASSES
_THUMBNAIL_WIDTH = 480
_REVIEW_SIZE = 96


def inner_boundaries(labels: np.ndarray) -> np.ndarray:
    """Object pixels with a 4-neighbour of another label (``find_boundaries`` mode "inner").

    OpenCV's min/max filters on a float32 copy (exact for labels < 2**24) make this ~10x
    faster than scikit-image's version on a 640x480 field.
    """
    values = labels.astype(np.float32)
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    differs = (cv2.dilate(values, cross) != values) | (cv2.erode(values, cross) != values)
    return differs & (labels > 0)


def overlay_image(rgb: np.ndarray, labels: np.ndarray, classes: np.ndarray | None) -> np.ndarray:
    """The field with each object's outline drawn in its class colour."""
    out = rgb.copy()
    edges = inner_boundaries(labels)
    if classes is None:
        out[edges] = CLASS_COLOURS["rbc"]
        return out
    palette = np.array([(0, 0, 0)] + [CLASS_COLOURS.get(c, (128, 128, 128)) for c in classes],
                       dtype=np.uint8)
    out[edges] = palette[labels[edges]]
    return out


def thumbnail(rgb: np.ndarray, *, width: int = _THUMBNAIL_WIDTH) -> np.ndarray:
    """The field scaled to ``width`` pixels wide (never enlarged)."""
    scale = min(1.0, width / rgb.shape[1])
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def review_cells(image: str, overlay: np.ndarray, cells: dict[str, np.ndarray]
                 ) -> tuple[ReviewCell, ...]:
    """Crops (outline drawn) of the cells called one of :data:`REVIEW_CLASSES`."""
    if "class" not in cells:
        return ()
    picked = []
    for i in np.flatnonzero(np.isin(cells["class"], REVIEW_CLASSES) & ~cells["border"]):
        label = str(cells["class"][i])
        crop = review_size(overlay[review_window(cells, i)])
        picked.append(ReviewCell(image, int(cells["cell_id"][i]), label,
                                 float(cells[f"p_{label}"][i]), jpeg_bytes(crop)))
    return tuple(picked)


def review_window(cells: dict[str, np.ndarray], i: int) -> tuple[slice, slice]:
    """The (rows, columns) of the square around cell ``i`` that a review crop shows.

    Twice the cell's diameter keeps its neighbours in view for comparison.
    """
    half = max(8, int(cells["diameter_um"][i] / _pixel_size(cells, i)))
    x, y = int(round(cells["x"][i])), int(round(cells["y"][i]))
    return slice(max(0, y - half), y + half), slice(max(0, x - half), x + half)


def review_size(crop: np.ndarray) -> np.ndarray:
    """A review crop scaled to the gallery's tile size."""
    return cv2.resize(crop, (_REVIEW_SIZE, _REVIEW_SIZE), interpolation=cv2.INTER_AREA)


def _pixel_size(cells: dict[str, np.ndarray], i: int) -> float:
    return float(np.sqrt(cells["area_um2"][i] / cells["area_px"][i]))
