"""Noise stage: a field much noisier than the training fields is smoothed first.

A camera at a high gain or a short exposure adds noise to every pixel. The classifier learnt from
quiet fields (as measured here: all 557 Chula fields 0.4-1.3 levels of 255, BCCD 0.28-0.39, every
20th PBC image 0.15-0.32), and noise costs it schistocytes: on the held-out Chula fields of the
cross-validation (``scripts/image_quality.py --fold-models ... --change noise``) Gaussian noise
of 3 / 6 / 10 levels took the sensitivity from 0.63 to 0.61 / 0.49 / 0.31, and it makes edges
read sharper, hiding defocus. Smoothed by this stage, the same fields give 0.63 / 0.62 / 0.56,
and their edges read 0.50 / 0.63 / 0.84 um wide, so that the focus check sees what the
classifier sees.

The noise is measured in the green channel over the field's background, where the image should
be flat: the mean absolute response to the Laplacian-like kernel of Immerkaer (1996, "Fast noise
variance estimation", Computer Vision and Image Understanding 64:300-302), taken about its
median. A field over :data:`NOISY_LEVELS` is smoothed by the Gaussian that leaves about
:data:`RESIDUAL_LEVELS` of white noise; quieter fields are analysed as they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from smearscan.segmentation import uint8_percentile

__all__ = ["NOISY_LEVELS", "RESIDUAL_LEVELS", "QuietField", "noise_levels", "quietened"]

NOISY_LEVELS = 2.5
"""A field whose noise is over this many levels of 255 is smoothed: this tool's rule, over the
noisiest training field (Chula, 1.3; so no Chula, BCCD or PBC field is smoothed) and under where
the loss shows (3 levels: 0.63 -> 0.61)."""
RESIDUAL_LEVELS = 2.0
"""The white noise a smoothed field is left with (levels of 255)."""

_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
"""Immerkaer's kernel: blind to a field's smooth shading, white noise of sigma gives responses of
sigma times 6 (the root of the sum of its squared weights)."""
_BACKGROUND_SHARE = 0.9
"""Background: pixels whose smoothed green is over this share of the field's bright level."""
_MIN_BACKGROUND_PX = 1000


@dataclass(frozen=True)
class QuietField:
    """A field as the analysis sees it, and how noisy it was.

    Attributes
    ----------
    rgb : (H, W, 3) uint8 ndarray
        The field, smoothed when :attr:`smoothed_px` > 0, else the input itself.
    noise_levels : float
        The noise of the input, levels of 255; nan when it shows too little background.
    smoothed_px : float
        The sigma (px) of the Gaussian it was smoothed by; 0 when it was not.
    """

    rgb: np.ndarray
    noise_levels: float
    smoothed_px: float


def quietened(rgb: np.ndarray) -> QuietField:
    """The field, smoothed when it is noisier than :data:`NOISY_LEVELS`.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray

    Returns
    -------
    QuietField
    """
    noise = noise_levels(rgb)
    if not noise > NOISY_LEVELS:  # nan included: no background to tell
        return QuietField(rgb, noise, 0.0)
    # A Gaussian of sigma s px leaves white noise of sigma n at n / (2 sqrt(pi) s).
    sigma = noise / (2 * math.sqrt(math.pi) * RESIDUAL_LEVELS)
    return QuietField(cv2.GaussianBlur(rgb, (0, 0), sigma), noise, sigma)


def noise_levels(rgb: np.ndarray) -> float:
    """The white-noise sigma of a field's green channel over its background, levels of 255.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray

    Returns
    -------
    float
        nan when fewer than 1000 background pixels lie away from the cells.
    """
    green = np.ascontiguousarray(rgb[:, :, 1])
    smooth = cv2.GaussianBlur(green, (0, 0), 2.0)
    background = smooth > _BACKGROUND_SHARE * uint8_percentile(smooth, 95)
    # Away from the cells' edges, which the kernel answers to.
    background = cv2.erode(background.view(np.uint8), np.ones((5, 5), np.uint8)).view(bool)
    if np.count_nonzero(background) < _MIN_BACKGROUND_PX:
        return math.nan
    response = cv2.filter2D(green.astype(np.float32), -1, _KERNEL,
                            borderType=cv2.BORDER_REFLECT)[background]
    # The mean absolute deviation of a Gaussian is sigma sqrt(2 / pi).
    return float(math.sqrt(math.pi / 2) * np.mean(np.abs(response - np.median(response))) / 6)
