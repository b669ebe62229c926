"""The picture within its image: a field pasted on a canvas of one flat colour is cut out of it.

A screenshot, a figure panel or an export can hold the camera's field in the middle of a plain
canvas. The canvas is not the smear: its pixels moved the field's stain threshold and scale, and
a white one made the field read as overexposed (QA 67: the same field on a canvas of its own
background colour, of grey or of white read 2 red cells at 0.038 um/px or was refused, where
alone it reads 123 at 0.198). The canvas is found as the pixels of one colour, flat to within
:data:`FLAT_LEVELS` around them, joined to the image's edge; the picture is the box around the
largest region left. A canvas with noise in it (a picture pasted on its own noisy background) is
not found here; the cells its edge cuts are left out by :func:`smearscan.features.border_flags`.

Analysis runs on the picture; :class:`Picture` puts what it finds back in the image's frame.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np
from scipy import ndimage as ndi

__all__ = ["FLAT_LEVELS", "WHITE", "Picture", "framed"]

#: A canvas pixel and its 8 neighbours differ by at most this many levels in every channel, and
#: from the canvas's colour (the commonest flat colour on the image's edge) by as little: this
#: tool's rule. A PNG or TIFF canvas is one exact colour; a camera's background is never flat
#: over 3x3 pixels in all three channels on that scale over whole lines: of every 2nd Chula and
#: BCCD field and every 10th PBC image (782 fields) none is framed (``scripts/framing_check.py``,
#: 2026-12-05).
FLAT_LEVELS = 2
#: A canvas is looked for where at least one side of the image is a line this share flat.
_EDGE_SHARE = 0.9
#: Outside the picture's box at least this share of the pixels is canvas (the rest: a caption,
#: a scale bar), the box is at least :data:`_MIN_PICTURE` of the image and leaves at least
#: :data:`_MIN_MARGIN` px of canvas on one side (a JPEG block; QA 70 F4: a PBC crop's 6 flat
#: columns were cut). This tool's rules.
_OUTSIDE_CANVAS, _MIN_PICTURE, _MIN_MARGIN = 0.9, 0.1, 8
#: A canvas this bright in every channel may be the smear's own background, clipped: outside
#: the picture it holds nothing at all, or nothing is cut (this tool's rule; QA 70 F1: a field's
#: clipped edge with 1-6 red cells on it was cut off with them). Such a field is refused as
#: overexposed, as it was before.
WHITE = 250


@dataclass(frozen=True)
class Picture:
    """Where a field's picture lies in its image.

    Attributes
    ----------
    rgb : (h, w, 3) uint8 ndarray
        The picture: the image itself where no canvas was found, else a view of it.
    top, left : int
        The picture's first row and column in the image.
    shape : tuple of int
        The image's (H, W).
    uncut : str or None
        Why a canvas found around the picture was not cut off, in words; None where it was, or
        where no canvas was found.
    """

    rgb: np.ndarray
    top: int
    left: int
    shape: tuple[int, int]
    uncut: str | None = None

    @property
    def canvas_cut(self) -> bool:
        """A canvas was cut off."""
        return self.rgb.shape[:2] != self.shape

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(first row, end row, first column, end column) of the picture, ends exclusive."""
        return (self.top, self.top + self.rgb.shape[0], self.left,
                self.left + self.rgb.shape[1])

    @property
    def canvas_box(self) -> tuple[int, int, int, int] | None:
        """:attr:`box` where a canvas was cut off, else None."""
        return self.box if self.canvas_cut else None

    def placed(self, labels: np.ndarray) -> np.ndarray:
        """A (h, w) label image of the picture in the (H, W) image's frame, 0 on the canvas."""
        if not self.canvas_cut:
            return labels
        image = np.zeros(self.shape, dtype=labels.dtype)
        image[self.top:self.top + labels.shape[0], self.left:self.left + labels.shape[1]] = labels
        return image


def framed(rgb: np.ndarray) -> Picture:
    """The picture of an (H, W, 3) image: the box of the largest region of it that is not
    canvas (see the module's docstring), or the whole image where it has no canvas."""
    height, width = rgb.shape[:2]
    whole = Picture(rgb, 0, 0, (height, width))
    found = _canvas(rgb)
    if found is None:
        return whole
    canvas, white = found
    regions, count = ndi.label(~canvas)
    if not count:
        return whole
    largest = regions == np.bincount(regions.ravel())[1:].argmax() + 1
    rows = np.flatnonzero(largest.any(axis=1))
    cols = np.flatnonzero(largest.any(axis=0))
    # The picture's outermost line is not flat (the canvas meets it): give it back.
    top, bottom = rows[0] + (rows[0] > 0), rows[-1] + 1 - (rows[-1] < height - 1)
    left, right = cols[0] + (cols[0] > 0), cols[-1] + 1 - (cols[-1] < width - 1)
    if max(top, height - bottom, left, width - right) < _MIN_MARGIN:
        return whole  # a few flat lines along a side: no canvas to speak of (QA 70 F4)
    uncut = _uncut(canvas, (top, bottom, left, right), white)
    if uncut is not None:
        return replace(whole, uncut=uncut)
    return Picture(rgb[top:bottom, left:right], int(top), int(left), (height, width))


def _uncut(canvas: np.ndarray, box: tuple[int, int, int, int], white: bool) -> str | None:
    """Why the canvas does not frame the picture in ``box`` (first row, end row, first column,
    end column), in words, or None where it does: the box is :data:`_MIN_PICTURE` of the image,
    and outside it (but as near as a JPEG block: JPEG rings there) lies canvas only, or for a
    canvas that is not ``white`` mostly (:data:`_OUTSIDE_CANVAS`)."""
    height, width = canvas.shape
    top, bottom, left, right = box
    share = (bottom - top) * (right - left) / (height * width)
    if share < _MIN_PICTURE:
        return (f"its picture would cover {share:.1%} of it, under {_MIN_PICTURE:.0%} (this "
                "tool's rule)")
    outside = np.ones((height, width), dtype=bool)  # a JPEG block away from the picture
    outside[max(top - _MIN_MARGIN, 0):bottom + _MIN_MARGIN,
            max(left - _MIN_MARGIN, 0):right + _MIN_MARGIN] = False
    if white and not canvas[outside].all():
        return ("something lies on its white canvas beside the picture (a caption, an inset, "
                "a second picture), and white may be the smear's own clipped background")
    if np.count_nonzero(canvas[outside]) < _OUTSIDE_CANVAS * np.count_nonzero(outside):
        return (f"over {1 - _OUTSIDE_CANVAS:.0%} of its canvas holds something else (a "
                "caption, an inset, a second picture; this tool's rule)")
    return None


def _canvas(rgb: np.ndarray) -> tuple[np.ndarray, bool] | None:
    """(H, W) bool: the flat pixels of the canvas's colour joined to the image's edge, and
    whether that colour is white (:data:`WHITE`); None where no side of the image is a flat
    line (:data:`_EDGE_SHARE`)."""
    flat = _flat(rgb)
    sides = [(flat[0], rgb[0]), (flat[-1], rgb[-1]), (flat[:, 0], rgb[:, 0]),
             (flat[:, -1], rgb[:, -1])]
    ring = [colours[line] for line, colours in sides
            if np.count_nonzero(line) >= _EDGE_SHARE * len(line)]
    if not ring:
        return None
    colours, counts = np.unique(np.concatenate(ring), axis=0, return_counts=True)
    colour = colours[counts.argmax()].astype(np.int16)
    canvas = flat & (np.abs(rgb.astype(np.int16) - colour).max(axis=2) <= FLAT_LEVELS)
    regions, _ = ndi.label(canvas)
    joined = np.unique(np.concatenate([regions[0], regions[-1], regions[:, 0], regions[:, -1]]))
    return np.isin(regions, joined[joined > 0]), bool((colour >= WHITE).all())


def _flat(rgb: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels whose 3x3 neighbourhood spans at most :data:`FLAT_LEVELS` in every
    channel."""
    kernel = np.ones((3, 3), np.uint8)
    flat = np.ones(rgb.shape[:2], dtype=bool)
    for channel in cv2.split(np.ascontiguousarray(rgb)):
        flat &= cv2.subtract(cv2.dilate(channel, kernel), cv2.erode(channel, kernel)) <= FLAT_LEVELS
    return flat
