"""Noise stage: a field much noisier than the training fields is smoothed first.

A camera at a high gain or a short exposure adds noise to every pixel. The classifier learnt from
quiet fields (as measured here: all 557 Chula fields 1.2-2.6 levels of 255, mostly the
background's own texture; BCCD 0.8-1.0, every 20th PBC image 0.6-1.3), and noise costs it
schistocytes: on the held-out Chula fields of the cross-validation
(``scripts/image_quality.py --fold-models ... --change noise``) Gaussian noise of 3 / 6 / 10
levels took the sensitivity from 0.63 to 0.61 / 0.49 / 0.31, and it makes edges read sharper,
hiding defocus. Smoothed by this stage, the same fields give 0.63 / 0.62 / 0.55, and their edges
read 0.51 / 0.64 / 0.85 um wide, so that the focus check sees what the classifier sees. A colour
camera's noise reaches the file spread over neighbouring pixels (each pixel's two missing colours
are interpolated from its neighbours, and JPEG smooths the finest detail): sensor noise of 6 / 10
levels so saved (``--change camera``) took the sensitivity to 0.58 / 0.43 while reading only
0.9 / 1.6 levels pixel by pixel, so the noise is read over 2x2 blocks of pixels, where it reads
3.4 / 5.6; smoothed, those fields give 0.59 / 0.52.

The noise is measured in the green channel over the field's background, where the image should
be flat, on the means of 2x2 blocks of pixels: the mean absolute response to the Laplacian-like
kernel of Immerkaer (1996, "Fast noise variance estimation", Computer Vision and Image
Understanding 64:300-302), taken about its median, given as the white noise per pixel that reads
the same. A field over :data:`NOISY_LEVELS` is smoothed by the Gaussian that leaves about
:data:`RESIDUAL_LEVELS` of white noise; quieter fields are analysed as they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["NOISY_LEVELS", "RESIDUAL_LEVELS", "SMOOTHED_NOTE", "QuietField", "noise_levels",
           "quietened"]

NOISY_LEVELS = 3.0
"""A field whose noise is over this many levels of 255 is smoothed: this tool's rule, over the
noisiest training field (Chula, 2.6; so no Chula, BCCD or PBC field is smoothed) and under where
the loss shows (white noise of 3 levels, which reads 3.3-3.8: 0.63 -> 0.61; a camera's sensor
noise of 6 levels, which reads 3.3-3.5: 0.63 -> 0.58; ``cnn-2026.12-3``'s fold models)."""
RESIDUAL_LEVELS = 2.0
"""The white noise a smoothed field is left with (levels of 255)."""
SMOOTHED_NOTE = ("gives back little of the schistocytes noise hides (a colour camera's noise of "
                 "10 levels: held-out sensitivity 0.54 smoothed, 0.53 not, 0.62 without noise), "
                 "so the schistocyte % may read low")
"""What smoothing does for a slide's count, as its report says it: the fold models of
``cnn-2026.12-4`` on their held-out Chula fields (``scripts/image_quality.py --change camera``;
"not" with this module's smoothing switched off). ``cnn-2026.12-3``'s read 0.52 smoothed and 0.43
not: the shipped model's hue jitter made it hold better under noise, so smoothing matters less."""

_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
"""Immerkaer's kernel: blind to a field's smooth shading, white noise of sigma gives responses of
sigma times 6 (the root of the sum of its squared weights)."""
_BACKGROUND_SHARE = 0.9
"""Background: blocks whose smoothed green is over this share of the field's bright level."""
_MIN_BACKGROUND_BLOCKS = 250
_BLOCK = 2
"""The noise is read over blocks of 2x2 pixels: a colour camera interpolates each pixel's two
missing colours from its neighbours, and JPEG smooths the finest detail, so that its noise is
shared by neighbouring pixels and reads several times too low pixel by pixel."""


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
    """The noise of a field's green channel over its background: the sigma of the white noise
    per pixel that reads the same over 2x2 blocks of pixels, levels of 255.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray

    Returns
    -------
    float
        nan when fewer than 250 blocks of background lie away from the cells.
    """
    height, width = (n // _BLOCK for n in rgb.shape[:2])
    if height * width < _MIN_BACKGROUND_BLOCKS:
        return math.nan
    green = _block_means(rgb[:, :, 1])
    smooth = cv2.GaussianBlur(green, (0, 0), 1.0)
    background = smooth > _BACKGROUND_SHARE * np.percentile(smooth, 95)
    # Away from the cells' edges, which the kernel answers to.
    background = cv2.erode(background.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    if np.count_nonzero(background) < _MIN_BACKGROUND_BLOCKS:
        return math.nan
    response = cv2.filter2D(green, -1, _KERNEL, borderType=cv2.BORDER_REFLECT)[background]
    # The mean absolute deviation of a Gaussian is sigma sqrt(2 / pi); a block's mean holds
    # white noise at 1 / _BLOCK of a pixel's.
    spread = np.mean(np.abs(response - np.median(response)))
    return float(_BLOCK * math.sqrt(math.pi / 2) * spread / 6)


def _block_means(channel: np.ndarray) -> np.ndarray:
    """The float32 mean of each :data:`_BLOCK` x :data:`_BLOCK` block of ``channel`` (a last
    odd row or column dropped)."""
    height, width = (n // _BLOCK for n in channel.shape)
    blocks = channel[:height * _BLOCK, :width * _BLOCK].astype(np.float32)
    return cv2.resize(blocks, (width, height), interpolation=cv2.INTER_AREA)
