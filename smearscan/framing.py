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
from numpy.typing import ArrayLike
from scipy import ndimage as ndi

__all__ = ["CANVAS", "FLAT_LEVELS", "FRAME_LINES", "FRAME_LINE_PX", "WHITE", "Picture",
           "canvas_left_in", "framed", "picture_said"]

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
#: A picture is a rectangle: a flat area round a shape that fills under this share of its box
#: (a single-cell crop's clipped background round the cell: 50-85% in the 14 PBC crops where
#: one was found, QA 75 F2) is not said to be a canvas left in; a picture fills its box (1.0 in
#: QA 74's pictures on canvases). This tool's rule.
_PICTURE_FILL = 0.95
#: Frame lines drawn around the picture, within this many px of its side, are left out with
#: the canvas: lines of one colour (:data:`_LINE_SHARE` of each within :data:`FLAT_LEVELS` of
#: its median, as flat as a canvas; round a picture cut out of a canvas, where a JPEG rang,
#: within :data:`_RING_LEVELS`) whose pixels differ
#: from those :data:`_LINE_DEPTH` px inside by over :data:`_LINE_CONTRAST` levels in a channel,
#: at most of them, with lines of one colour between them (a double line, and its gap); a band
#: of one colour only up to :data:`_LINE_WIDTH` px wide. This tool's rules: a figure's frame is
#: 1-4 px, one line or two (QA 74 N1: a double line and a 4-px one hid the canvas as one
#: 1-px line had); the brightest side line of a PBC crop differs
#: by about 32 levels and is not one (of the 4,122 images of the three datasets, none has one).
FRAME_LINE_PX = 8
_LINE_SHARE, _LINE_DEPTH, _LINE_CONTRAST, _LINE_WIDTH = 0.9, 4, 35, 4
#: A JPEG rings round a frame line and the canvas inside it by this many levels: a line round a
#: picture that is not of one colour within :data:`FLAT_LEVELS` is looked for again within this
#: many, and a side of the picture inside it whose lines are :data:`_LINE_SHARE` within this
#: many levels of the canvas's colour, and of one colour, is that canvas rung, taken off up to
#: :data:`FRAME_LINE_PX` deep. Where some is left, the line is left in, as it was before lines
#: were looked for (this tool's rule; QA 74 N2: a line 6 px round a picture in a q95 JPEG was
#: analysed with the line and 130 cells it cut; the exposure checks judge what is left in: a
#: 3-px line in a q90 JPEG was refused as masked).
_RING_LEVELS = 12
#: A canvas this bright in every channel may be the smear's own background, clipped: outside
#: the picture it holds nothing at all, or nothing is cut (this tool's rule; QA 70 F1: a field's
#: clipped edge with 1-6 red cells on it was cut off with them). Such a field is refused as
#: overexposed, as it was before.
WHITE = 250
#: What :func:`framed` may take off an image round its picture, in the words of
#: :attr:`Picture.taken_off` (``summary.json``'s ``taken_off``).
CANVAS, FRAME_LINES = "canvas", "frame lines"


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
    canvas_colour : tuple of int or None
        The RGB colour of the canvas cut off, None where none was.
    lines_left_out : bool
        Frame lines drawn along the image's or the picture's sides were left out.
    """

    rgb: np.ndarray
    top: int
    left: int
    shape: tuple[int, int]
    uncut: str | None = None
    canvas_colour: tuple[int, int, int] | None = None
    lines_left_out: bool = False

    @property
    def canvas_cut(self) -> bool:
        """A canvas was cut off."""
        return self.canvas_colour is not None

    @property
    def trimmed(self) -> bool:
        """Anything was taken off the image: a canvas, frame lines or both."""
        return self.rgb.shape[:2] != self.shape

    @property
    def taken_off(self) -> tuple[str, ...]:
        """What was taken off the image round the picture: :data:`CANVAS`, :data:`FRAME_LINES`,
        both (in that order) or nothing."""
        return ((CANVAS,) if self.canvas_cut else ()) + (
            (FRAME_LINES,) if self.lines_left_out else ())

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(first row, end row, first column, end column) of the picture, ends exclusive."""
        return (self.top, self.top + self.rgb.shape[0], self.left,
                self.left + self.rgb.shape[1])

    @property
    def trimmed_box(self) -> tuple[int, int, int, int] | None:
        """:attr:`box` where anything was taken off the image (:attr:`trimmed`), else None."""
        return self.box if self.trimmed else None

    def placed(self, labels: np.ndarray) -> np.ndarray:
        """A (h, w) label image of the picture in the (H, W) image's frame, 0 on what was taken
        off."""
        if not self.trimmed:
            return labels
        image = np.zeros(self.shape, dtype=labels.dtype)
        image[self.top:self.top + labels.shape[0], self.left:self.left + labels.shape[1]] = labels
        return image


def framed(rgb: np.ndarray) -> Picture:
    """The picture of an (H, W, 3) image: the image less a frame line drawn along its sides
    (:data:`FRAME_LINE_PX`), less a canvas around the picture (the box of the largest region
    that is not canvas; see the module's docstring), less a frame line drawn around that box and
    the canvas inside that line. The whole image where it has none of them."""
    whole = Picture(rgb, 0, 0, rgb.shape[:2])
    # QA 72 H1: a line round the image hid the canvas inside it, whose colour is read there.
    lined = _inside_frame_line(whole)
    picture = _framed_once(lined.rgb, _MIN_MARGIN)
    if not picture.canvas_cut and lined is not whole:
        # What was taken for lines may have been canvas, leaving too narrow a margin.
        unlined = _framed_once(rgb, _MIN_MARGIN)
        lined, picture = (whole, unlined) if unlined.canvas_cut else (lined, picture)
    if not picture.canvas_cut:
        return replace(lined, uncut=picture.uncut)
    return _within(lined, _inside_framed_line(picture))


#: How :func:`picture_said` names what was taken off round the picture, by
#: :attr:`Picture.taken_off`.
_TAKEN_OFF_SAID = {(CANVAS,): "cut out of a flat canvas",
                   (FRAME_LINES,): "inside a frame line that was left out",
                   (CANVAS, FRAME_LINES): "cut out of a flat canvas, inside a frame line"}


def picture_said(box: tuple[int, int, int, int], taken_off: tuple[str, ...]) -> str:
    """The part of an image that was analysed, in words, for a refusal or a report: the picture
    in ``box`` (:attr:`Picture.box`) and what was taken off round it (``taken_off``, not empty:
    :attr:`Picture.taken_off`), e.g. "its picture (rows 121-600, columns 161-800, cut out of a
    flat canvas)". QA 74 N7: only a line taken off was said to be a canvas cut."""
    top, bottom, left, right = box
    return (f"its picture (rows {top + 1}-{bottom}, columns {left + 1}-{right}, "
            f"{_TAKEN_OFF_SAID[tuple(taken_off)]})")


def canvas_left_in(uncut: str) -> str:
    """What to do with an image analysed or refused whole although a flat canvas surrounds part
    of it, in words: ``uncut`` (:attr:`Picture.uncut`) says why it was not cut out. QA 74 N10:
    a picture on 7.1% of its canvas was analysed whole, and only a refusal said why."""
    return (f"a flat canvas surrounds part of this image and was not cut out, as {uncut}: if it "
            "is a picture on a canvas, crop the image to the picture and analyse it again")


def _inside_framed_line(picture: Picture) -> Picture:
    """The picture within ``picture``, a box cut out of a canvas: inside a frame line drawn
    round it, and inside the same canvas within that line (QA 70 F2: a line 10 px around the
    picture ended in a refusal); in a JPEG, inside the canvas it rang within
    :data:`FRAME_LINE_PX` (QA 74 N2). ``picture`` itself where there is no line, or where the
    canvas within it is not found, or not all of it: what is left of it along the picture
    would be analysed as the smear."""
    lined = _inside_frame_line(picture, rung=True)
    if lined is picture:
        return picture
    inner = _framed_once(lined.rgb, 1, picture.canvas_colour)
    if inner.canvas_cut:
        return _within(lined, inner)
    unrung = _inside_rung_canvas(lined, picture.canvas_colour)
    return picture if unrung is None else _within(lined, unrung)


def _inside_rung_canvas(picture: Picture, colour: tuple[int, int, int]) -> Picture | None:
    """The part of ``picture`` (placed in its own frame, with the canvas ``colour``) inside the
    lines along its sides that are a JPEG's rung canvas: each of one colour and of the
    canvas's within :data:`_RING_LEVELS`, up to :data:`FRAME_LINE_PX` deep; None where a side is
    still such canvas deeper than that."""
    rgb = picture.rgb
    height, width = rgb.shape[:2]
    columns = rgb.transpose(1, 0, 2)
    sides = (rgb, rgb[::-1], columns, columns[::-1])
    top, bottom, left, right = depths = [_rung_depth(lines[:FRAME_LINE_PX + 1], colour)
                                         for lines in sides]
    if max(depths) > FRAME_LINE_PX:
        return None
    return Picture(rgb[top:height - bottom, left:width - right], top, left, (height, width),
                   canvas_colour=colour)


def _rung_depth(lines: np.ndarray, colour: tuple[int, int, int]) -> int:
    """How many of ``lines`` (from a side inwards) are in turn a JPEG's rung canvas of
    ``colour``."""
    depth = 0
    while depth < len(lines) and _one_colour(lines[depth], _RING_LEVELS) and (
            _near(lines[depth], colour, _RING_LEVELS).mean() >= _LINE_SHARE):
        depth += 1
    return depth


def _within(outer: Picture, inner: Picture) -> Picture:
    """``inner``, a picture found in ``outer``'s, placed in ``outer``'s image, with the frame
    lines left out of either."""
    return replace(inner, top=outer.top + inner.top, left=outer.left + inner.left,
                   shape=outer.shape, lines_left_out=outer.lines_left_out or inner.lines_left_out)


def _framed_once(rgb: np.ndarray, min_margin: int,
                 colour: tuple[int, int, int] | None = None) -> Picture:
    """:func:`framed` without the frame line round the image: the picture in a canvas that
    leaves ``min_margin`` px, of ``colour`` where given."""
    height, width = rgb.shape[:2]
    whole = Picture(rgb, 0, 0, (height, width))
    found = _canvas(rgb, colour)
    if found is None:
        return whole
    canvas, colour = found
    white = min(colour) >= WHITE
    regions, count = ndi.label(~canvas)
    if not count:
        return whole
    largest = regions == np.bincount(regions.ravel())[1:].argmax() + 1
    rows = np.flatnonzero(largest.any(axis=1))
    cols = np.flatnonzero(largest.any(axis=0))
    # The picture's outermost line is not flat (the canvas meets it): give it back.
    top, bottom = rows[0] + (rows[0] > 0), rows[-1] + 1 - (rows[-1] < height - 1)
    left, right = cols[0] + (cols[0] > 0), cols[-1] + 1 - (cols[-1] < width - 1)
    if max(top, height - bottom, left, width - right) < min_margin:
        return whole  # a few flat lines along a side: no canvas to speak of (QA 70 F4)
    uncut = _uncut(canvas, (top, bottom, left, right), white)
    if uncut is not None:
        rectangle = largest[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].mean() >= _PICTURE_FILL
        return replace(whole, uncut=uncut if rectangle else None)
    return Picture(rgb[top:bottom, left:right], int(top), int(left), (height, width),
                   canvas_colour=colour)


def _inside_frame_line(picture: Picture, *, rung: bool = False) -> Picture:
    """The part of ``picture`` inside frame lines drawn along its sides (:data:`FRAME_LINE_PX`),
    placed in its image; ``picture`` itself where there are none. ``rung``: a side without
    lines of one colour is looked at again for lines a JPEG rang (:data:`_RING_LEVELS`)."""
    rgb = picture.rgb
    height, width = rgb.shape[:2]
    reach = FRAME_LINE_PX + _LINE_DEPTH
    if min(height, width) <= 2 * reach:
        return picture
    columns = rgb.transpose(1, 0, 2)
    top, bottom, left, right = (
        _frame_depth(lines[:reach]) or (rung and _frame_depth(lines[:reach], _RING_LEVELS))
        for lines in (rgb, rgb[::-1], columns, columns[::-1]))
    if not top + bottom + left + right:
        return picture
    return replace(picture, rgb=rgb[top:height - bottom, left:width - right],
                   top=picture.top + top, left=picture.left + left, lines_left_out=True)


def _frame_depth(lines: np.ndarray, tolerance: float = FLAT_LEVELS) -> int:
    """How many of ``lines`` (from a side inwards, (FRAME_LINE_PX + _LINE_DEPTH, N, 3)) are
    frame lines and the gaps between them: up to the innermost drawn line (unlike the line
    :data:`_LINE_DEPTH` inside it) among the first lines that are each of one colour (within
    ``tolerance`` levels)."""
    levels = lines.astype(np.int16)
    flat = 0  # a camera's side is not of one colour: mostly one line looked at
    while flat < FRAME_LINE_PX and _one_colour(levels[flat], tolerance):
        flat += 1
    drawn = [depth for depth in range(flat)
             if 2 * np.count_nonzero((np.abs(levels[depth] - levels[depth + _LINE_DEPTH])
                                      > _LINE_CONTRAST).any(axis=1)) > levels.shape[1]]
    if not drawn:
        return 0
    depth = drawn[-1] + 1
    colours = np.median(levels[:depth], axis=1)
    # One band of one colour wider than a line is a canvas's margin (QA 70 F4: 6 flat columns
    # of a PBC crop), which the canvas's own rule judges.
    one_band = _near(colours, colours[0], tolerance).all()
    return 0 if one_band and depth > _LINE_WIDTH else depth


def _one_colour(line: np.ndarray, levels: float = FLAT_LEVELS) -> bool:
    """Whether ``line``, (N, 3), is of one colour (:data:`_LINE_SHARE` of it within ``levels``
    of its median)."""
    return bool(_near(line, np.median(line, axis=0), levels).mean() >= _LINE_SHARE)


def _uncut(canvas: np.ndarray, box: tuple[int, int, int, int], white: bool) -> str | None:
    """Why the canvas does not frame the picture in ``box`` (first row, end row, first column,
    end column), in words, or None where it does: the box is :data:`_MIN_PICTURE` of the image,
    and outside it (but as near as a JPEG block: JPEG rings there) lies canvas only, or for a
    canvas that is not ``white`` mostly (:data:`_OUTSIDE_CANVAS`)."""
    height, width = canvas.shape
    top, bottom, left, right = box
    share = (bottom - top) * (right - left) / (height * width)
    if share < _MIN_PICTURE:
        return (f"the picture would cover {share:.1%} of the image, under {_MIN_PICTURE:.0%} "
                "(this tool's rule)")
    outside = np.ones((height, width), dtype=bool)  # a JPEG block away from the picture
    outside[max(top - _MIN_MARGIN, 0):bottom + _MIN_MARGIN,
            max(left - _MIN_MARGIN, 0):right + _MIN_MARGIN] = False
    if white and not canvas[outside].all():
        return ("something lies on the white canvas beside the picture (a caption, an inset, "
                "a second picture), and white may be the smear's own clipped background")
    if np.count_nonzero(canvas[outside]) < _OUTSIDE_CANVAS * np.count_nonzero(outside):
        return (f"over {1 - _OUTSIDE_CANVAS:.0%} of the canvas holds something else (a "
                "caption, an inset, a second picture; this tool's rule)")
    return None


def _canvas(rgb: np.ndarray, colour: tuple[int, int, int] | None = None
            ) -> tuple[np.ndarray, tuple[int, int, int]] | None:
    """(H, W) bool: the flat pixels of the canvas's colour joined to the image's edge, and
    that colour: the commonest on the sides of the image that are flat lines
    (:data:`_EDGE_SHARE`), or ``colour`` where given and found there. None where there is no
    such side, or ``colour`` is not found on them."""
    flat = _flat(rgb)
    sides = [(flat[0], rgb[0]), (flat[-1], rgb[-1]), (flat[:, 0], rgb[:, 0]),
             (flat[:, -1], rgb[:, -1])]
    ring = [colours[line] for line, colours in sides
            if np.count_nonzero(line) >= _EDGE_SHARE * len(line)]
    if not ring:
        return None
    colours, counts = np.unique(np.concatenate(ring), axis=0, return_counts=True)
    commonest = colours[counts.argmax()].astype(np.int16)
    if colour is not None and np.abs(commonest - colour).max() > FLAT_LEVELS:
        return None
    canvas = flat & _near(rgb, commonest, FLAT_LEVELS)
    regions, _ = ndi.label(canvas)
    joined = np.unique(np.concatenate([regions[0], regions[-1], regions[:, 0], regions[:, -1]]))
    return np.isin(regions, joined[joined > 0]), tuple(int(level) for level in commonest)


def _near(pixels: np.ndarray, colour: ArrayLike, levels: float) -> np.ndarray:
    """(...) bool: which of ``pixels`` (..., 3) lie within ``levels`` of ``colour`` in every
    channel."""
    return (np.abs(pixels.astype(np.int16) - colour) <= levels).all(axis=-1)


def _flat(rgb: np.ndarray) -> np.ndarray:
    """(H, W) bool: pixels whose 3x3 neighbourhood spans at most :data:`FLAT_LEVELS` in every
    channel."""
    kernel = np.ones((3, 3), np.uint8)
    flat = np.ones(rgb.shape[:2], dtype=bool)
    for channel in cv2.split(np.ascontiguousarray(rgb)):
        flat &= cv2.subtract(cv2.dilate(channel, kernel), cv2.erode(channel, kernel)) <= FLAT_LEVELS
    return flat
