"""Crops: each object at one physical scale, as optical densities and a mask.

Each object becomes a crop at one physical scale (by default 64 x 64 px at 0.25 um/px, a
16 um window that holds a white cell), so that a cell looks the same whichever microscope took
it. A crop has 4 channels: the optical density of R, G and B relative to the field's own
background (``ln(I0 / I)``, which removes the illumination and most of the camera's white
balance) and a mask of the target object, so that the network knows which of touching cells is
meant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from smearscan.errors import ColourlessFieldError
from smearscan.segmentation import uint8_percentile

#: Crop side (px) and scale (um/px) of the shipped model.
CROP_SIZE = 64
CROP_SCALE_UM = 0.25
#: Percentile of each channel taken as the field's background (bright slide) level.
BACKGROUND_PERCENTILE = 95.0
#: Optical densities are clipped to this (ln units): darker pixels carry no more information.
MAX_DENSITY = 3.0

#: A field whose colour spread (:func:`colour_spread`) is under this many levels carries no
#: stain colour and is not classified (this tool's rule). Grey images stored as RGB have 0;
#: the palest of 557 Chula fields has 13, BCCD fields 79 and more, PBC crops 57 and more. On
#: grey copies of 12 PBC erythroblast and 8 BCCD fields, the 20 NRBC and 5 white-cell calls of
#: the colour fields all became red cells or platelets: a confident wrong count.
MIN_COLOUR_SPREAD = 6.0


@dataclass(frozen=True)
class Normalisation:
    """How a crop's pixel values are made: optical density against the field's background.

    Attributes
    ----------
    background_percentile : float
        Percentile of each channel taken as the background level ``I0``.
    max_density : float
        Densities are clipped to this, ln units.
    """

    background_percentile: float = BACKGROUND_PERCENTILE
    max_density: float = MAX_DENSITY

    def to_dict(self) -> dict[str, Any]:
        """The ``normalisation`` entry of a model file."""
        return {"kind": "optical_density", "background_percentile": self.background_percentile,
                "max_density": self.max_density}


DEFAULT_NORMALISATION = Normalisation()


def field_density(rgb: np.ndarray,
                  normalisation: Normalisation = DEFAULT_NORMALISATION) -> np.ndarray:
    """Optical density of each channel relative to the field's background.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray
    normalisation : Normalisation
        The model's (by default that of a newly trained model).

    Returns
    -------
    (H, W, 3) float32 ndarray
        ``ln(I0 / I)`` clipped to ``[0, max_density]``, where ``I0`` is the channel's
        ``background_percentile`` percentile (0 on the slide background).
    """
    tables = np.stack([density_table(rgb[:, :, channel], normalisation)
                       for channel in range(3)], axis=-1)
    return cv2.LUT(np.ascontiguousarray(rgb), tables[np.newaxis])


def density_table(channel: np.ndarray,
                  normalisation: Normalisation = DEFAULT_NORMALISATION) -> np.ndarray:
    """The optical density of each level 0-255 of one channel (:func:`field_density`).

    Parameters
    ----------
    channel : (H, W) uint8 ndarray
        One channel of a field, for its background level.
    normalisation : Normalisation

    Returns
    -------
    (256,) float32 ndarray
    """
    background = max(uint8_percentile(channel, normalisation.background_percentile), 1.0)
    levels = np.arange(256, dtype=np.float32)
    return np.clip(np.log(background / np.maximum(levels, 0.5)), 0, normalisation.max_density)


def colour_spread(rgb: np.ndarray) -> float:
    """99th percentile over the field of each pixel's largest minus smallest channel (0-255):
    0 for a grey image, tens of levels for a Wright/Giemsa stain."""
    # OpenCV per channel and the histogram percentile: ~0.2 ms on a 640x480 field, where
    # numpy's reductions over the colour axis and np.percentile took ~11 ms.
    red, green, blue = cv2.split(np.ascontiguousarray(rgb))
    spread = cv2.subtract(cv2.max(cv2.max(red, green), blue), cv2.min(cv2.min(red, green), blue))
    return uint8_percentile(spread, 99)


#: A field whose brightest levels (95th percentile of its largest channel) stay under this is
#: dim: too little colour spread may be too little light, not a grayscale image (this tool's
#: rule; QA 50 F4: a Chula field shot with a quarter of the light, 36, was called grayscale;
#: the bundled Chula field reaches 147, its grey copy 128).
DIM_LEVEL = 64


def require_stain_colour(rgb: np.ndarray) -> None:
    """Raise :class:`~smearscan.errors.ColourlessFieldError` for a field without stain colour
    (:data:`MIN_COLOUR_SPREAD`); one that is dim (:data:`DIM_LEVEL`) is said to be maybe
    underexposed."""
    spread = colour_spread(rgb)
    if spread < MIN_COLOUR_SPREAD:
        bright = uint8_percentile(np.ascontiguousarray(rgb).max(axis=2), 95)
        what = (f"a grayscale or underexposed image (its brightest levels reach {bright:g} of "
                "255: if it is a colour field, give it more light or rescale its levels; "
                if bright < DIM_LEVEL else "a grayscale image (")
        raise ColourlessFieldError(
            f"{what}colour spread {spread:g} of 255 levels, under {MIN_COLOUR_SPREAD:g}, this "
            "tool's rule): the classifier needs the stain's colour to tell white cells, NRBCs "
            "and platelets from red cells; on the command line, 'smearscan --no-classify' "
            "segments and measures only")


def cell_crops(
    rgb: np.ndarray, labels: np.ndarray, cells: dict[str, np.ndarray], *, pixel_size_um: float,
    size: int = CROP_SIZE, scale_um: float = CROP_SCALE_UM,
    normalisation: Normalisation = DEFAULT_NORMALISATION,
) -> np.ndarray:
    """Crops of objects centred on their centroids, resampled to one physical scale.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray
        The field.
    labels : (H, W) int ndarray
        Objects 1..N, 0 background.
    cells : dict with ``cell_id``, ``x``, ``y`` : (M,) ndarrays
        The objects to crop and their centroids in pixels (e.g. from
        :func:`smearscan.features.cell_table`), inside the field.
    pixel_size_um : float, keyword-only
        The field's pixel size, um/px.
    size : int, keyword-only
        Crop side, px.
    scale_um : float, keyword-only
        Crop pixel size, um/px; the crop covers ``size * scale_um`` um.
    normalisation : Normalisation, keyword-only
        How densities are made (:func:`field_density`).

    Returns
    -------
    (M, 4, size, size) float32 ndarray
        Channels 0-2 the optical density (:func:`field_density`), channel 3 the object's mask
        (0..1, soft at the edge). Outside the field the crop is 0 (background).

    Raises
    ------
    ValueError
        A centroid outside the field.
    """
    height, width = labels.shape
    column, row = np.round(cells["x"]), np.round(cells["y"])
    if np.any((column < 0) | (column >= width) | (row < 0) | (row >= height)):
        raise ValueError(f"cell centroids must lie inside the {width}x{height} field")
    step = scale_um / pixel_size_um  # field pixels per crop pixel
    half = int(math.ceil((size / 2 + 2) * step)) + 1
    sigma = 0.4 * step if step > 1.2 else 0.0  # anti-aliasing before a downsampling
    # Zero density (slide background) all round, blurred once for the whole field rather than
    # once per cell window: windows overlap, and the field is ~4x smaller than their sum. The
    # labels get the same zero border, so that every cell's window is a view of them.
    density = bordered(field_density(rgb, normalisation), half)
    if sigma:
        density = cv2.GaussianBlur(density, (0, 0), sigma)
    labels = bordered(labels.astype(np.int32, copy=False), half)
    out = np.empty((len(cells["cell_id"]), 4, size, size), dtype=np.float32)
    # The warps write into these arrays in place; the densities are moved to channels 0-2 in
    # one copy at the end.
    densities = np.empty((len(out), size, size, 3), dtype=np.float32)
    centre = (size - 1) / 2
    side = 2 * half + 1
    # Crop pixel (u, v) samples field point (x + (u - centre) * step, y + (v - centre) * step),
    # i.e. bordered field point (that + half) and window point (that - (round(x) - half)).
    matrix = np.array([[step, 0.0, 0.0], [0.0, step, 0.0]])
    for i, (cell_id, x, y) in enumerate(zip(cells["cell_id"].tolist(), cells["x"].tolist(),
                                            cells["y"].tolist(), strict=True)):
        left, top = round(x), round(y)  # the window's corner in the bordered labels
        mask = (labels[top:top + side, left:left + side] == cell_id).astype(np.float32)
        if sigma:
            mask = cv2.GaussianBlur(mask, (0, 0), sigma)
        origin_x, origin_y = x - centre * step, y - centre * step
        matrix[:, 2] = origin_x - (left - half), origin_y - (top - half)
        resample(mask, matrix, out[i, 3])
        matrix[:, 2] = origin_x + half, origin_y + half
        resample(density, matrix, densities[i])
    out[:, :3] = densities.transpose(0, 3, 1, 2)
    return out


def bordered(image: np.ndarray, width: int) -> np.ndarray:
    """``image`` with ``width`` zero pixels added on every side."""
    return cv2.copyMakeBorder(image, width, width, width, width, cv2.BORDER_CONSTANT, value=0)


def resample(image: np.ndarray, matrix: np.ndarray, out: np.ndarray) -> None:
    """Fill ``out`` (a C-contiguous S x S array) with bilinear samples of ``image`` at
    ``matrix @ (u, v, 1)``, 0 outside."""
    cv2.warpAffine(image, matrix, out.shape[1::-1], out, cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                   cv2.BORDER_CONSTANT, 0)
