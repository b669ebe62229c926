"""Features stage: per-object morphometrics as columns, one regionprops_table call per field."""

from __future__ import annotations

import numpy as np
from skimage.measure import regionprops_table

#: Column order of :func:`cell_table`; ``cells.csv`` keeps it and only ever appends.
COLUMNS = (
    "cell_id", "x", "y", "area_px", "area_um2", "diameter_um", "border", "perimeter_um",
    "circularity", "eccentricity", "solidity", "mean_r", "mean_g", "mean_b",
)

_PROPS = ("label", "centroid", "area", "equivalent_diameter_area", "perimeter", "eccentricity",
          "solidity", "intensity_mean", "bbox")


def border_flags(bbox_rows: tuple[np.ndarray, ...], shape: tuple[int, int]) -> np.ndarray:
    """True for objects whose bounding box touches the image edge (cut by the border)."""
    min_row, min_col, max_row, max_col = bbox_rows
    return (min_row == 0) | (min_col == 0) | (max_row == shape[0]) | (max_col == shape[1])


def cell_table(
    labels: np.ndarray, rgb: np.ndarray, *, pixel_size_um: float
) -> dict[str, np.ndarray]:
    """Morphometrics of every object of a label image.

    Parameters
    ----------
    labels : (H, W) int ndarray
        Objects 1..N, 0 background.
    rgb : (H, W, 3) uint8 ndarray
        The field, for the mean colour.
    pixel_size_um : float, keyword-only
        um/px, for the physical columns.

    Returns
    -------
    dict of str to (N,) ndarray
        The :data:`COLUMNS`, in label order. ``x, y`` are centroids in pixels (column, row);
        ``circularity`` is 4 pi area / perimeter^2 (1 for a disc, capped at 1 since the pixel
        perimeter underestimates small objects); ``border`` marks objects cut by the image edge.
    """
    t = regionprops_table(labels, intensity_image=rgb, properties=_PROPS)
    perimeter = np.maximum(t["perimeter"], 1.0)
    columns = {
        "cell_id": t["label"].astype(np.int32),
        "x": t["centroid-1"],
        "y": t["centroid-0"],
        "area_px": t["area"].astype(np.int64),
        "area_um2": t["area"] * pixel_size_um**2,
        "diameter_um": t["equivalent_diameter_area"] * pixel_size_um,
        "perimeter_um": t["perimeter"] * pixel_size_um,
        "circularity": np.minimum(4 * np.pi * t["area"] / perimeter**2, 1.0),
        "eccentricity": t["eccentricity"],
        "solidity": t["solidity"],
        "mean_r": t["intensity_mean-0"],
        "mean_g": t["intensity_mean-1"],
        "mean_b": t["intensity_mean-2"],
        "border": border_flags(
            (t["bbox-0"], t["bbox-1"], t["bbox-2"], t["bbox-3"]), labels.shape[:2]
        ),
    }
    return {name: columns[name] for name in COLUMNS}
