"""Illumination stage: a field lit much more unevenly than the training fields is evened first.

A smear's background (plasma on glass) is equally bright everywhere; a lamp or condenser that is
not centred, or an objective's vignetting, darkens the corners instead. The segmentation's
threshold and the classifier's optical densities are taken against the field's one background
level, so in a dark corner every cell reads denser than it is. Measured on the held-out Chula
fields of the cross-validation (``scripts/image_quality.py --fold-models ... --change
vignette``), corners darkened to 0.85 / 0.7 / 0.55 of the centre took the schistocyte
sensitivity from 0.63 to 0.52 / 0.42 / 0.36 without anything in the output showing it.

The field's light is read from its background: the 95th percentile of each channel in each of a
grid of tiles, with a quadratic surface fitted to the tiles that are not covered by cells (they
read darker than the surface and are dropped, a few rounds). Its falloff is the darkest point of
the green surface over the brightest. A field whose falloff is under :data:`UNEVEN_FALLOFF` is
divided by its surfaces (each channel by its own, for a coloured falloff) before anything else
sees it; the others are analysed as they are, like the fields the classifier was trained on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from smearscan.errors import BlankFieldError, MaskedFieldError, OverexposedFieldError
from smearscan.segmentation import uint8_percentile

__all__ = ["BLANK_CONTRAST", "DARK_BACKGROUND", "DARK_FRACTION", "GREY_SPREAD",
           "MASKED_SHARE", "OVEREXPOSED_SHARE", "UNEVEN_FALLOFF", "LitField", "evenly_lit",
           "require_exposure"]

OVEREXPOSED_SHARE = 0.05
"""A field with more than this share of its pixels at 255 in green or blue is refused as
overexposed: this tool's rule. Those channels carry the stain's contrast; where the background
is clipped, the pale edges of cells and pale fragments are clipped with it. On the held-out Chula
fields of the cross-validation (``scripts/image_quality.py --fold-models ... --change
exposure``) 1.5 / 2 times the light took the sensitivity from 0.63 to 0.53 / 0.01 while the
fields were still analysed. With this rule 357 / 555 of those fields are refused, and the rest
give 0.416, as the same fields do unchanged (0.418); at 1.25 times, 31 are refused and the rest
give 0.622. The training fields never come near it: at most 0.08% of a Chula field's pixels are at
255 in green or blue (all 557), 0.01% of a BCCD field's (all 364), 0.5% of a PBC image's (every
5th of 3,220; PBC clips in red, up to 42% of its pixels, which this rule leaves alone)."""

DARK_BACKGROUND = 20
"""A field whose brightest 5% (the 95th percentile of green, the slide background) stays under
this level of 255 is refused as too dark to analyse: this tool's rule, for a lamp left off or a
lens cap. The darkest training field reaches 130 (Chula, all 557; BCCD 193, all 364; PBC 223,
every 20th image); a field taken at a quarter of the light (~55) is still analysed."""

DARK_FRACTION, GREY_SPREAD, MASKED_SHARE = 0.4, 0.15, 0.005
"""A field with more than ``MASKED_SHARE`` of its pixels dark and grey, under ``DARK_FRACTION``
of its background (the 95th percentile of green) in every channel with its channels within
``GREY_SPREAD`` of the background of each other, is refused as masked: a field stop, vignetted
corners or a band, which no smear shows (this tool's rule). Stained cells are coloured: their
darkest parts, the nuclei, are purple. Such pixels are at most 0.17% of a Chula field, none of
BCCD's and 0.001% of a PBC crop (400 random fields of each, measured when the rule was set); a
field at a quarter of the light has none. With 2% of a Chula field black (10 rows), the
segmentation found 8 of its 103 cells, and with a circular stop 1; a stop at 15-35% of the
background, not black, left 0-1 whole cells, and one at 46% was read as the open field."""

FLAT_LINE_SHARE, FLAT_BAND, FLAT_BAND_MIN_LINES, FLAT_MIN_LINE_PX, FLAT_CONTRAST = (
    0.9, 0.01, 3, 32, 20)
"""A field whose rows (or columns) along an edge hold ``FLAT_LINE_SHARE`` or more of their
pixels at one exact colour, over ``FLAT_BAND`` of its height (width) and at least
``FLAT_BAND_MIN_LINES`` lines of at least ``FLAT_MIN_LINE_PX`` pixels, that colour more than
``FLAT_CONTRAST`` levels from the rest's background (the 95th percentile of each channel), is
refused as masked: a screenshot's title bar, a border or a label pasted on the picture, never a
camera's field (this tool's rule). A light bar is not dark grey: qacli3 found a 30-row title bar
over a Chula field analysed without a word, its letters counted as platelets and the background
under it cut into 18.6 um "red cells". No edge row or column of the 4,122 images of the three
datasets is flat; saved again as JPEG at quality 20, 10 of 1,242 (Chula, BCCD, every 10th PBC
image) are, their smooth background flattened by the compression, 0-10 levels from the rest's
(ad hoc); the bars, borders and labels qacli3 and qacli4 made differ by 28-156 levels."""

BLANK_CONTRAST = 8
"""A field whose green channel spans fewer levels than this between its 1st and 99th
percentiles is refused as blank (a uniform image holds no cell): this tool's rule. The flattest
training field spans 31 (Chula; BCCD 80, PBC 103)."""

UNEVEN_FALLOFF = 0.85
"""A field whose background is darkest at under this fraction of its brightest (green) is evened
before it is analysed: this tool's rule. The Chula training fields read 0.81-0.98 (median 0.933;
19 of 557 under 0.85) and BCCD's 0.73-0.91 (median 0.866; 38 of 364). Evening every field
instead would have changed the shipped operating point (ad hoc, 5 fold models on their held-out
fields: sensitivity 0.632 against 0.626, false-call rate 0.22% against 0.20%), so fields within
the training range are left as they are."""

_TILES_ACROSS = 8
"""Tiles along the field's longer side (a 640x480 field: 8 x 6 tiles of 80 px)."""
_BACKGROUND_PERCENTILE = 95.0
_MIN_TILES = 12
"""Fewer background tiles (twice the surface's six terms) give no measure."""
_DARK_TILE = 0.02
"""A tile this far below the surface (fraction of the background level), or 3 robust standard
deviations if more, is taken as covered by cells and left out of the next fit."""
_ROUNDS = 4
_PIXEL_ROUNDS = 2
_PIXEL_STEP = 4
"""The background fit of an uneven field reads every 4th pixel of every 4th row."""
_BACKGROUND_SHARE = 0.9
_MIN_GAIN = 0.25
"""No pixel is brightened more than 4x."""
_MIN_TILE_PX = 4
"""Fields under ``_TILES_ACROSS * _MIN_TILE_PX`` px a side are not measured."""
_SAMPLES = 17
"""The falloff is read on a grid of this many points across the field, corners included."""
_WHITE_FILL, _WHITE = 0.005, 250
"""Over ``_WHITE_FILL`` of a field's pixels at ``_WHITE`` or more in every channel, they are a
white fill (corners a deskew filled, a margin, a scale bar; JPEG leaves a white fill at
250-255), left out of the background fit of an uneven field, and tiles whose background reads
that white in every channel are left out of the light fit: this tool's rule. No Chula or BCCD
field's light changes by it (all 921, every 10th PBC image; ad hoc, 2026-12-05; green alone at
250 would have changed 18). QA 67 M4: 21 fields turned 2 degrees with white corners (1.6% of
their pixels) were "evened" by their corners and read 54 red cells; QA 68 H2: the same saved
as JPEG, or with corners at 250, read 13-23."""


@dataclass(frozen=True)
class LitField:
    """A field as the analysis sees it, and how it was lit.

    Attributes
    ----------
    rgb : (H, W, 3) uint8 ndarray
        The field, evened when :attr:`evened`, else the input itself.
    falloff : float
        Darkest over brightest background light (green), 0-1; nan when the field shows too
        little background to tell. Of an evened field, the steeper of the tiles' fit, which
        found it uneven, and the refit to its background pixels.
    evened : bool
        The field was divided by its light (:data:`UNEVEN_FALLOFF`).
    """

    rgb: np.ndarray
    falloff: float
    evened: bool


def require_exposure(rgb: np.ndarray) -> None:
    """Refuse a field overexposed (:data:`OVEREXPOSED_SHARE`), too dark
    (:data:`DARK_BACKGROUND`), masked (:data:`MASKED_SHARE`) or blank (:data:`BLANK_CONTRAST`)
    to analyse.

    Raises
    ------
    OverexposedFieldError
        With the share of clipped pixels and what to do at the microscope.
    BlankFieldError
        With the level measured and the rule.
    MaskedFieldError
        With the share of dark grey pixels, or the band of one colour along an edge
        (:data:`FLAT_LINE_SHARE`), and what to do.
    """
    clipped = cv2.max(rgb[:, :, 1], rgb[:, :, 2]) == 255
    share = float(np.count_nonzero(clipped)) / max(clipped.size, 1)
    if share > OVEREXPOSED_SHARE:
        raise OverexposedFieldError(
            f"overexposed: {share:.0%} of its pixels are white (255) in green or blue, over "
            f"{OVEREXPOSED_SHARE:.0%} (this tool's rule); pale cell edges and pale fragments are "
            "lost with the background: take it with less light or a shorter exposure (a "
            "JPEG saved at low quality can clip a bright background too: save it at a higher "
            "quality, or as PNG)")
    green = np.ascontiguousarray(rgb[:, :, 1])
    background = uint8_percentile(green, 95)
    if background < DARK_BACKGROUND:
        raise BlankFieldError(
            f"too dark: the 95th percentile of its green levels is {background:g} of 255, under "
            f"{DARK_BACKGROUND} (this tool's rule); is the lamp on and the lens uncovered?")
    share = _dark_grey_share(rgb, background)
    if share > MASKED_SHARE:
        raise MaskedFieldError(
            f"masked: {share:.1%} of its pixels are dark grey (under "
            f"{DARK_FRACTION * background:.0f} in every channel, {DARK_FRACTION:.0%} of its "
            f"background, channels within {GREY_SPREAD * background:.0f} of each other), over "
            f"{MASKED_SHARE:.1%} (this tool's rule): a field stop, dark corners or a band; crop "
            "the photograph to the lit area")
    spread = uint8_percentile(green, 99) - uint8_percentile(green, 1)
    if spread < BLANK_CONTRAST:
        raise BlankFieldError(
            f"blank: its green levels span {spread:g} of 255 (1st-99th percentile), under "
            f"{BLANK_CONTRAST} (this tool's rule): no cell to analyse")
    band = _flat_band(rgb)
    if band is not None:
        raise MaskedFieldError(
            f"masked: {band} of one exact colour (at least {FLAT_LINE_SHARE:.0%} of their "
            f"pixels; this tool's rule): a screenshot's title bar, a border or a label, not the "
            "camera's field; crop the picture to the field")


def _flat_band(rgb: np.ndarray) -> str | None:
    """A band of flat lines along an edge of ``rgb`` that stands out from the rest
    (:data:`FLAT_LINE_SHARE`), in words (``"its top 8 rows"``), or None."""
    columns = rgb.transpose(1, 0, 2)
    for lines, edge, kind in ((rgb, "top", "rows"), (rgb[::-1], "bottom", "rows"),
                              (columns, "left", "columns"), (columns[::-1], "right", "columns")):
        if lines.shape[1] < FLAT_MIN_LINE_PX:  # a strip's short lines are flat by chance
            continue
        count = _flat_lines(lines)
        if (max(FLAT_BAND_MIN_LINES, FLAT_BAND * len(lines)) <= count < len(lines)
                and _stands_out(lines, count)):
            return f"its {edge} {count} {kind}"
    return None


def _stands_out(lines: np.ndarray, count: int) -> bool:
    """Whether the commonest colour of the first ``count`` of (N, L, 3) ``lines`` lies more
    than :data:`FLAT_CONTRAST` levels from the rest's background in some channel."""
    band = lines[:count].reshape(-1, 3)
    colours, repeats = np.unique(band, axis=0, return_counts=True)
    background = np.percentile(lines[count:].reshape(-1, 3), 95, axis=0)
    return bool(np.abs(colours[repeats.argmax()] - background).max() > FLAT_CONTRAST)


def _flat_lines(lines: np.ndarray) -> int:
    """How many of the first of (N, L, 3) ``lines`` are flat: :data:`FLAT_LINE_SHARE` of their
    pixels of one exact colour."""
    count = 0
    for line in lines:
        packed = (line[:, 0].astype(np.uint32) << 16) | (line[:, 1].astype(np.uint32) << 8) \
            | line[:, 2]
        if np.unique(packed, return_counts=True)[1].max() < FLAT_LINE_SHARE * len(packed):
            break
        count += 1
    return count


def _dark_grey_share(rgb: np.ndarray, background: float) -> float:
    """The share of ``rgb``'s pixels that are dark and grey (:data:`DARK_FRACTION`,
    :data:`GREY_SPREAD`)."""
    brightest = cv2.max(cv2.max(rgb[:, :, 0], rgb[:, :, 1]), rgb[:, :, 2])
    darkest = cv2.min(cv2.min(rgb[:, :, 0], rgb[:, :, 1]), rgb[:, :, 2])
    dark_grey = (brightest < DARK_FRACTION * background) & (
        cv2.subtract(brightest, darkest) < GREY_SPREAD * background)
    return float(np.count_nonzero(dark_grey)) / max(dark_grey.size, 1)


def evenly_lit(rgb: np.ndarray) -> LitField:
    """The field, evened when it is lit more unevenly than :data:`UNEVEN_FALLOFF` allows.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray

    Returns
    -------
    LitField
    """
    fit = _tile_fit(rgb)
    falloff = None if fit is None else _falloff(fit, rgb.shape)
    if falloff is None:
        return LitField(rgb, math.nan, False)
    if falloff >= UNEVEN_FALLOFF:
        return LitField(rgb, falloff, False)
    # A tile's brightest pixels lie on its brighter side, so the tiles read a steep falloff as
    # shallower than it is (0.63 for 0.55): the light of an uneven field is fitted again to its
    # background pixels themselves.
    for _ in range(_PIXEL_ROUNDS):
        fit = _background_fit(rgb, fit)
    refitted = _falloff(fit, rgb.shape)
    if refitted is None:
        return LitField(rgb, math.nan, False)
    gain = _gain(fit, rgb.shape)
    evened = np.clip(rgb / np.maximum(gain, _MIN_GAIN), 0, 255).round().astype(np.uint8)
    # The steeper of the two is recorded: the refit where the tiles read it shallower, the
    # tiles' where it was they that found it uneven (QA 86 #12: a field evened at the tiles'
    # 0.83 was said to be lit "0.91 of the brightest, under 0.85"; 26 of the 57 Chula and BCCD
    # fields the tiles find uneven refit at 0.85 or more, 2026-12-06).
    return LitField(evened, min(falloff, refitted), True)


def _gain(fit: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The light of ``fit`` relative to its brightest at every pixel of a field of ``shape``
    ((H, W, 3) float32): evaluated on every :data:`_PIXEL_STEP`-th pixel centre (as OpenCV's
    resize places them) and resized."""
    height, width = shape[:2]
    rows, columns = -(-height // _PIXEL_STEP), -(-width // _PIXEL_STEP)
    surface = _surface(fit, (np.arange(rows) + 0.5) / rows - 0.5,
                       (np.arange(columns) + 0.5) / columns - 0.5)
    surface = (surface / surface.max(axis=(0, 1))).astype(np.float32)
    return cv2.resize(surface, (width, height), interpolation=cv2.INTER_LINEAR)


def _tile_fit(rgb: np.ndarray) -> np.ndarray | None:
    """Quadratic coefficients ((6, 3), one column per channel) of the light fitted to the tiles
    that show background, or None when too few do (or the field is too small to tile)."""
    if min(rgb.shape[:2]) < _TILES_ACROSS * _MIN_TILE_PX:
        return None
    centres, levels = _tile_backgrounds(rgb)
    peak = levels.max(axis=0)
    if not (peak >= 1).all():  # a black field: no light to measure
        return None
    terms = _quadratic_terms(centres[:, 0], centres[:, 1])
    # A tile whose background is white (_WHITE) shows no light to measure: white corners a
    # deskew filled, or a white margin, were fitted as light and the field "evened" by it.
    lit = levels.min(axis=1) < _WHITE
    keep = lit
    for _ in range(_ROUNDS):
        if keep.sum() < _MIN_TILES:
            return None
        coefficients = np.linalg.lstsq(terms[keep], levels[keep], rcond=None)[0]
        residual = (levels - terms @ coefficients) / peak
        spread = 1.4826 * np.median(np.abs(residual[keep] - np.median(residual[keep], axis=0)),
                                    axis=0)
        keep = lit & np.all(residual > -np.maximum(3 * spread, _DARK_TILE), axis=1)
    return coefficients


def _background_fit(rgb: np.ndarray, fit: np.ndarray) -> np.ndarray:
    """``fit`` fitted again to the background pixels it implies: every :data:`_PIXEL_STEP`-th
    pixel whose green is over :data:`_BACKGROUND_SHARE` of the light there (cells absorb more;
    tests/synthetic.py's cells 0.56 and their pallor 0.79 of the background)."""
    height, width = rgb.shape[:2]
    y, x = np.mgrid[0:height:_PIXEL_STEP, 0:width:_PIXEL_STEP]
    terms = _quadratic_terms(((x + 0.5) / width - 0.5).ravel(), ((y + 0.5) / height - 0.5).ravel())
    values = rgb[0:height:_PIXEL_STEP, 0:width:_PIXEL_STEP].reshape(-1, 3).astype(np.float64)
    background = values[:, 1] > _BACKGROUND_SHARE * (terms @ fit[:, 1])
    white = values.min(axis=1) >= _WHITE
    if np.count_nonzero(white) > _WHITE_FILL * len(white):
        background &= ~white
    if background.sum() < _MIN_TILES * 10:
        return fit
    return np.linalg.lstsq(terms[background], values[background], rcond=None)[0]


def _falloff(fit: np.ndarray, shape: tuple[int, ...]) -> float | None:
    """Darkest over brightest green light of ``fit`` on a :data:`_SAMPLES` grid over a field of
    ``shape`` (corners included); None when some channel's light is nowhere positive."""
    height, width = shape[:2]
    rows = max(2, round(_SAMPLES * height / max(height, width)))
    columns = max(2, round(_SAMPLES * width / max(height, width)))
    surface = _surface(fit, np.linspace(-0.5, 0.5, rows), np.linspace(-0.5, 0.5, columns))
    brightest = surface.max(axis=(0, 1))
    if not (brightest > 0).all():
        return None
    return float(np.clip(surface[:, :, 1] / brightest[1], 0, 1).astype(np.float32).min())


def _surface(fit: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The quadratic lights of ``fit`` ((6, 3)) on the grid of rows ``y`` and columns ``x``
    (in -0.5..0.5 of the field): (len(y), len(x), 3)."""
    rows, columns = np.meshgrid(y, x, indexing="ij")
    terms = _quadratic_terms(columns.ravel(), rows.ravel())
    return (terms @ fit).reshape(len(y), len(x), 3)


def _tile_backgrounds(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tile centres ((N, 2) x, y in -0.5..0.5 of the field) and each tile's background level
    per channel ((N, 3), the :data:`_BACKGROUND_PERCENTILE` percentile)."""
    height, width = rgb.shape[:2]
    across = max(2, round(_TILES_ACROSS * width / max(height, width)))
    down = max(2, round(_TILES_ACROSS * height / max(height, width)))
    xs = np.linspace(0, width, across + 1).round().astype(int)
    ys = np.linspace(0, height, down + 1).round().astype(int)
    centres, levels = [], []
    for top, bottom in zip(ys[:-1], ys[1:], strict=True):
        for left, right in zip(xs[:-1], xs[1:], strict=True):
            tile = rgb[top:bottom, left:right]
            levels.append([uint8_percentile(tile[:, :, c], _BACKGROUND_PERCENTILE)
                           for c in range(3)])
            centres.append(((left + right) / 2 / width - 0.5, (top + bottom) / 2 / height - 0.5))
    return np.array(centres), np.array(levels)


def _quadratic_terms(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The six terms of a quadratic surface at points (x, y)."""
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=-1)
