"""Segmentation stage: label every object (cell, fragment, platelet, debris) in a smear field.

Wright/Giemsa fields show pink-red cells and purple nuclei on a pale, weakly coloured
background. The foreground is what absorbs clearly more green light than the background
(haemoglobin and nuclear stains both do), plus thick regions that are clearly redder than
the background (pale cells); central pallor, enclosed or open on one side, is filled; touching
cells are split by a watershed on the distance transform, with seeds spaced by the field's own
red-cell size so that one setting works from ~35 px (x1000, small sensor) to ~110 px cells.
An object is split only where its shape shows two cells (a neck between two distance maxima,
or two cusps where overlapping outlines cross), never for its area: macrocytes, elliptocytes
and teardrops stay whole. Every length is a fraction of the red-cell diameter d.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage as ndi
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from skimage.segmentation import watershed

from smearscan.errors import CellessFieldError, SmearscanError

#: Mean diameter of a normal red cell on a dried smear, um (Bain, Blood Cells, 5th ed.).
NORMAL_RBC_DIAMETER_UM = 7.5

#: Objects smaller than this fraction of a normal red cell's diameter are noise, not cells
#: (platelets are ~2-3 um, i.e. >= 0.25 of an RBC, and are kept).
_MIN_DIAMETER_FRACTION = 0.15


# Geometry of a field in units of its red-cell diameter d, tuned on the Chula *train* split
# (scripts/evaluate_segmentation.py): seeds closer than 0.25 d are one cell (overlapping
# cells' centres are >= ~0.5 d apart); the distance map is smoothed by d/40; rims are closed
# with radius d/8; a pallor covers at most 0.6 of a cell's area; closing wedges under 0.15 of
# that, open to the background, are gaps between cells, not pallor.
_SEED_SPACING = 0.25
_SMOOTHING = 1 / 40
_CLOSING = 1 / 8
_MAX_PALLOR_AREA = 0.6
_WEDGE = 0.15
#: Pale cells (BCCD: upsampled JPEG fields, ~100 px cells) may absorb too little green to pass
#: the Otsu threshold, or pass it only on part of their rim. They are still redder than the
#: background: pixels whose red-minus-green exceeds the background's by this many robust standard
#: deviations are pale stain. Only pale regions thicker than an opening of radius d/25 (at least
#: 2 px: JPEG's half-resolution colour leaves ~2 px colour fringes around every cell) are added.
#: With the open-rim closing below: BCCD RBC box centres inside an object 0.835 -> 0.955, Chula
#: train points 0.989 -> 0.991, merges unchanged (tuned on Chula train and all of BCCD).
_PALE_SIGMAS = 3.0
#: ... and by at least this fraction of the stained cells' own redness over the background's.
#: The cells' blur and scattered light leave a redder halo around them (Chula 53: 5 levels over
#: the background 5-9 px out, against the cells' 37): on a quiet background 3 robust standard
#: deviations fell under it, the halo read as pale stain, joined neighbours and cut cells in
#: two; and whether it did changed with the scale, as the MAD of a background whose noise is
#: about 1.5 levels reads 1 or 2 whole levels (QA 91 F0: 52 objects at 0.200 um/px, 93 at
#: 0.205). Chosen among 0.2, 0.25 and 0.3 on Chula train and all of BCCD (this tool's rule).
#: At 0.25, against none: Chula train points inside an object 0.9933 (0.9934), cut 399 (424);
#: BCCD RBC box centres inside an object 0.9716 (0.9740), merged 0.172 (0.176), cut 437 (482);
#: the out-of-fold end-to-end schistocyte point of the shipped recipe's fold models unchanged.
_PALE_CONTRAST = 0.25
_PALE_OPENING = 0.04
_PALE_OPENING_MIN_PX = 2
#: An open rim (a "C") whose mouth is at most 0.8 d wide and whose concavity is at least 0.25 d
#: deep and 0.6 times as deep as the mouth is wide is closed across the mouth, so that its pallor
#: is filled like an enclosed one. Bites out of a cell (helmet cells) are wider than deep.
_MOUTH_DEPTH = 0.25
_MOUTH_WIDTH = 0.8
_MOUTH_DEPTH_PER_WIDTH = 0.6
#: Two seeds of one component are two cells only where the shape narrows between them: the
#: highest point of the (smoothed) distance map on the line between their regions (the
#: saddle) is below this fraction of the lower of their two peaks. Two overlapping discs
#: whose centres are D apart have peaks r and a saddle sqrt(r^2 - (D/2)^2): they split when
#: D >= 0.87 r, i.e. at up to ~55% overlap of diameters; an ellipse, a teardrop's tail, a
#: macrocyte's or a ring's irregular rim give spurious maxima whose saddle is within a few
#: percent of the peak, and stay one cell. A ratio, so it does not depend on the scale. Area
#: is never a reason to split (macrocytes and macro-ovalocytes are single cells).
_NECK_RATIO = 0.95
#: Overlapping cells whose union holds one distance maximum (or two without a neck) still
#: show two cusps where their outlines cross. An object is cut along the chord between two
#: concavities (convexity defects of its outline smoothed by 0.04 d), each at least 0.07 d and
#: together at least 0.14 d deep, when the chord leaves two parts of at least 0.35 of a normal
#: cell's area each (and crumbs under 0.05) and is shorter than 0.95 of the narrower part's
#: width along it (a neck). Two discs of diameter d overlapping by 30% of it: cusps 0.14 d
#: deep, chord 0.71 d, parts 1.0 d wide: cut. A round, oval or elliptical cell has no such
#: concavities; a teardrop's tail and a helmet cell's horns leave a part far under 0.35 of a
#: cell. Chosen on the Chula train split (first 60 fields and 30 with macrocyte labels).
_SHALLOWEST_CUSP = 0.07
_CUSP_DEPTH = 0.14
_CRUMB = 0.05
_MIN_PART = 0.35
_CHORD_PER_PART = 0.95
_OUTLINE_SMOOTHING = 0.04
#: Overlapping cells with one deep cusp but a shallow second one (a heavy overlap): an
#: unnucleated object of at least 1.5 normal cells' area that is elongated (axis ratio >= 1.15)
#: AND shows a concavity at least 0.1 d deep is split into as many cells as its area holds.
#: Area alone never splits: a macrocyte or macro-ovalocyte is convex. On the Chula train
#: subset above: labelled points sharing an object 3.65% -> 2.3%, labelled macrocytes cut 2 of
#: 159 either way (both where uneven background joined the cell).
_CLUMP_AREA = 1.5
_CLUMP_ELONGATION = 1.15
_CLUMP_CUSP = 0.1
#: ... and only when the cut between its parts passes within 0.15 d of such a concavity.
_CLUMP_CUT_AT_CUSP = 0.15
#: Two touching parts that are each under 0.7 of a normal cell's area and whose union is
#: convex (its area at least 0.97 of its convex hull's) and long (axis ratio >= 2) are one
#: cell, whatever split them: a long elliptocyte with a slight waist. Two touching cells show
#: cusps where their outlines meet, and two small round ones (spherocytes) overlapping enough
#: to look convex are short. On the Chula val split the cut elliptocytes' halves were
#: 0.41-0.56 cell areas, union solidity 0.98-1.0, axis ratio 2.9-3.5; labelled pairs of
#: touching cells 0.7-1.2 areas each, solidity 0.85-0.97, axis ratio 1.2-1.7.
_HALF = 0.7
_HALF_SOLIDITY = 0.97
_HALF_ELONGATION = 2.0
#: ... and so are two such parts whose union is longer (axis ratio >= 2.8) with a deeper or
#: uneven waist (solidity >= 0.92) when the line between them runs across at least 0.7 of the
#: union's width: a waist is cut across the whole cell, the neck between two cells is narrower.
#: On the Chula train split the cut long cells' lines spanned 0.73-0.92 of the width, a row of
#: touching fragments 0.54 (this tool's rule, chosen on the train split; on the test split 3 of
#: 200 labelled elliptocytes were in pieces before it, with lines of 0.82-0.91).
_WAIST_SOLIDITY = 0.92
_WAIST_ELONGATION = 2.8
_WAIST_CUT = 0.7
#: A nucleus: green optical density over 0.2 and blue density under 0.4 of the green one (see
#: _nuclear_stain); an object with more than 15% such pixels is a white cell or an NRBC, whose
#: lobes and cytoplasm are never cut between cusps.
_NUCLEAR_GREEN_OD = 0.2
_NUCLEAR_BLUE_PER_GREEN = 0.4
_MAX_NUCLEAR_FRACTION = 0.15
#: A white cell (or NRBC) and the red cells pressed against it are set apart before touching
#: cells are split: their broad contact has no neck (QA 154 M-2: a BCCD neutrophil and the red
#: cells round it were one object reaching the field's edge, dropped as cut by it). Its
#: nucleus (nuclear stain grouped within 0.15 d, at least 0.25 of a normal cell's area; a
#: platelet on a red cell is under 0.16) and the pixels within 0.25 d of it are the cell; the
#: pixels 0.45 d (3.4 um) or more from it coloured more like the field's unnucleated objects
#: than like that cytoplasm are red cells'; the line between them follows the strongest edge
#: of the green channel (smoothed over 2 px of the canonical field: a line that follows its
#: noise lands elsewhere at another magnification). A part beyond it is a red cell only where
#: it holds a disc of 0.3 d radius (a red cell's is 0.5 d; an NRBC's haemoglobinised cytoplasm
#: or a granulocyte's is a thinner ring or slab) and is coloured like the red cells. This
#: tool's rule, chosen on BCCD fields 0-41, PBC crops and QA 161's review (a cell marker of
#: 0.2 d cut 14 single NRBCs of 1,384 PBC crops by over a tenth, 0.25 d cuts 11); the README
#: gives its effect on the other BCCD fields. The scale is estimated before it
#: (:func:`_labelled`).
_NUCLEUS_GROUPING = 0.15
_NUCLEUS_MIN_AREA = 0.25
_RED_FROM_NUCLEUS = 0.45
_CYTOPLASM_FROM_NUCLEUS = 0.25
_RED_CELL_RADIUS = 0.3
#: ... and where the line between them ends, at both ends, at least 0.1 d inside the convex
#: hull of the two: two cells pressed together meet at concavities of their joint outline,
#: a cut through one round cell's own cytoplasm (an eosinophil's granules are the red cells'
#: colour) ends on its convex outline.
_CUSP_AT_END = 0.1
#: An enclosed hole up to this many normal-cell areas is the pallor of a ghost (a pale cell
#: whose thin rim alone absorbs) when the rim and hole together are at most
#: :data:`_GHOST_AREA` cell areas: a ring of several cells enclosing background is larger.
_GHOST_HOLE = 1.5
_GHOST_AREA = 2.0
#: Pale fragments absorb too little green to pass the field's Otsu threshold on more than a
#: sliver: stained pixels grow into pixels above this fraction of the threshold that touch
#: them (hysteresis), for faint regions up to 1.5 normal cells' area (a ghost cell; larger
#: faint regions are uneven background).
_WEAK_THRESHOLD = 0.5
_MAX_FAINT = 1.5
#: The strong threshold stops ~1-3 px inside a cell's or fragment's visible edge, where the
#: stain fades into the background (labelled schistocyte centres 1-3 px outside the fragment
#: found). Objects under 0.6 of a normal cell's area (fragments, platelets) take in the weak
#: or pale stain touching them up to 0.05 d out (2 px at the canonical scale). Cells keep the
#: threshold's edge, on which their sizes (um) were calibrated.
_RIM = 0.05
_RIM_MAX_AREA = 0.6
#: Red-cell diameters (px) from which a scale may be estimated: 7.5 um at 0.5 um/px (a x200
#: field) to 7.5 um at 0.0125 um/px (a x100 objective before a camera of ~1.25 um pixels).
#: Outside it the field shows no red cells to measure. QA 65 F4: a field of 300 px cells
#: (0.025 um/px) gave 0 objects; fields resampled by 8x and 12x now give the original's 123 and
#: 124 red cells (ad hoc, 2026-12-05).
PLAUSIBLE_DIAMETER_PX = (15.0, 600.0)
#: A field whose estimated red cell spans more than this fraction of its shorter side holds
#: under two cells across: a thumbnail, a thick area, a stain blot, an inverted picture, not a
#: field of red cells (this tool's rule; QA 67 M2: such fields were counted as 0-10 objects at
#: 0.012-0.048 um/px, exit 0). QA 67's thumbnail read 1.31, its thick area 1.30, inverted field
#: 0.84, blot 0.82, field on a grey canvas 0.65; the training fields at most 0.50 (every 3rd
#: BCCD field, crowded cells read as one) and 0.29 (every 3rd Chula field; most read 0.08) (ad
#: hoc, 2026-12-05). PBC's single-cell crops read up to 0.60 (QA 68: 3 of 500 monocyte and
#: immature-granulocyte crops at 0.59-0.60; cut tighter they are refused, their estimate already
#: wrong: one red cell at 0.036 um/px).
_MAX_DIAMETER_SHARE = 0.6
#: Every field is segmented resampled so that its red cells span this many pixels (Chula's
#: own ~37 px, at which the geometry above was tuned), and its labels brought back to the
#: field's pixels: pixel-level steps (noise filters, JPEG colour fringes, rounded radii,
#: outline noise) then act at one scale, so the same smear imaged at another magnification
#: gives the same objects. Upsampling stops at 40 million pixels.
_CANONICAL_DIAMETER_PX = 40.0
_MAX_CANONICAL_PIXELS = 40e6
#: Re-segment when the measured cell size differs from the first guess by more than this.
_RESEGMENT_TOLERANCE = 0.1

PIXEL_SIZE_RANGE_UM = (NORMAL_RBC_DIAMETER_UM / PLAUSIBLE_DIAMETER_PX[1],
                       NORMAL_RBC_DIAMETER_UM / PLAUSIBLE_DIAMETER_PX[0])
"""Pixel sizes accepted from the user, 0.0125-0.5 um/px (this tool's rule): those at which a
7.5 um red cell spans the 15-600 px this segmentation works with. Camera pixels of 1.2-6.5 um
behind x20-x100 objectives and 0.5-1.5x camera adapters give ~0.01-0.65 um/px; smear fields
for cell morphology are taken at x40-x100 (~0.01-0.3 um/px; the public datasets here: 0.07-0.2).
A value outside is a unit or typing error (nm or mm for um, a magnification) or a field too
coarse to see a fragment's shape."""

MAX_SCALE_DISAGREEMENT = 1.5
"""A declared pixel size is refused when it differs from the field's own estimate (median red
cell taken as 7.5 um) by more than this factor (this tool's rule). Real median red-cell
diameters lie within ~6-9.5 um even in marked micro- or macrocytosis (MCV ~60-130 fl), a
factor under ~1.3 either way; 1.5 is wrong calibration or a wrong objective."""


DOUBTFUL_SCALE = 1.15
"""A declared pixel size that differs from the fields' own estimate by more than this factor
(but not more than :data:`MAX_SCALE_DISAGREEMENT`) is used with a warning, and the slide is
marked "scale in doubt" in every output (this tool's rule): at it the median red cell measures
under 6.5 or over ~8.6 um, while a wrong objective or calibration is off by 1.2x (50x for 60x)
or more, and the schistocyte count moves with the scale: qacli3 read one slide (estimated 0.190
um/px) above the limit at 4.79% at its own scale and borderline at 1.50% at 0.23 um/px (1.21x),
under the 1.25x this was before. A marked macro- or microcytosis (MCV ~60-130 fl, a median
cell of ~6-9.5 um) is marked too: its sizes are right at a calibrated scale."""


def scale_ratio(size: float, other: float) -> float:
    """How many times the larger of two sizes (pixel sizes, cell diameters) is the smaller."""
    return max(size / other, other / size)


def pixel_size_text(size: float) -> str:
    """A pixel size (um/px) to 0.001, to 3 significant digits below 0.1 (QA 67 L1: the lowest
    size a user may declare, 0.0125, was printed as 0.013)."""
    return f"{size:.3f}" if size >= 0.1 else f"{size:.3g}"


def ratio_text(ratio: float, limit: float) -> str:
    """``ratio`` with two decimals, or as many more (up to 4) as show it past ``limit``
    (qacli6: "1.15x off ... more than 1.15x" for 1.1501)."""
    digits = next((d for d in (2, 3) if round(ratio, d) != round(limit, d)), 4)
    return f"{ratio:.{digits}f}"


def scales_disagree(pixel_size_um: float, other_um: float,
                    factor: float = MAX_SCALE_DISAGREEMENT) -> bool:
    """Whether two pixel sizes of one microscope differ by more than ``factor`` either way
    (:data:`MAX_SCALE_DISAGREEMENT` by default; this tool's rule)."""
    return scale_ratio(pixel_size_um, other_um) > factor


class PixelSizeError(SmearscanError):
    """A declared pixel size outside :data:`PIXEL_SIZE_RANGE_UM`, or far from the field's own
    estimate; the CLI exits 2."""

    exit_code = 2


def check_pixel_size(pixel_size_um: float) -> None:
    """Refuse a declared pixel size outside :data:`PIXEL_SIZE_RANGE_UM` (a field's own estimate
    is compared by :func:`check_scale_agreement`).

    Raises
    ------
    PixelSizeError
        With a one-line message giving the value and the rule.
    """
    low, high = PIXEL_SIZE_RANGE_UM
    if not low <= pixel_size_um <= high:
        raise PixelSizeError(
            f"--pixel-size {pixel_size_um:g} um/px is outside {low:g}-{high:g} um/px, the range "
            f"in which a 7.5 um red cell spans {PLAUSIBLE_DIAMETER_PX[0]:g}-"
            f"{PLAUSIBLE_DIAMETER_PX[1]:g} px (this tool's rule); give the size in um per pixel "
            "(pixel_size_um in Python)")


def check_scale_agreement(pixel_size_um: float, estimate: float, source: str) -> None:
    """Refuse a declared pixel size that disagrees with ``estimate`` (um/px, nan: nothing to
    compare with), estimated from ``source``, by more than :data:`MAX_SCALE_DISAGREEMENT`.

    Raises
    ------
    PixelSizeError
        With a one-line message giving both values and the rule.
    """
    if np.isfinite(estimate) and scales_disagree(estimate, pixel_size_um):
        raise PixelSizeError(
            f"--pixel-size {pixel_size_um:g} um/px disagrees with {estimate:.3g} um/px estimated "
            f"from {source} (its whole red cells taken as 7.5 um) by more than "
            f"{MAX_SCALE_DISAGREEMENT:g}x; check the calibration, or add --trust-pixel-size "
            "(trust_pixel_size=True in Python)")


def doubtful_scale_warning(pixel_size_um: float, estimate: float, source: str) -> str | None:
    """The one-line warning on a declared pixel size that ``estimate`` (um/px, from
    ``source``, its whole red cells taken as 7.5 um: :func:`whole_cell_pixel_size_um`) does not
    refuse but doubts (:data:`DOUBTFUL_SCALE`), giving what those cells measure at the declared
    size; None when they agree."""
    if not (np.isfinite(estimate) and scales_disagree(estimate, pixel_size_um, DOUBTFUL_SCALE)):
        return None
    diameter = NORMAL_RBC_DIAMETER_UM * pixel_size_um / estimate
    return (f"--pixel-size {pixel_size_um:g} um/px differs from {estimate:.3g} um/px estimated "
            f"from {source} by {ratio_text(scale_ratio(estimate, pixel_size_um), DOUBTFUL_SCALE)}x:"
            f" at the declared size the whole red cells it was estimated from measure "
            f"{diameter:.1f} um (a normal "
            f"cell is {NORMAL_RBC_DIAMETER_UM:g} um; warned over {DOUBTFUL_SCALE:g}x, this tool's"
            " rule), and the schistocyte count moves with the scale; used as given, but check "
            "the calibration and the objective (pixel_size_um in Python)")


@dataclass(frozen=True)
class Segmentation:
    """The objects of one field.

    Attributes
    ----------
    labels : (H, W) int32 ndarray
        0 background, 1..N one value per object.
    pixel_size_um : float
        Pixel size used, um/px.
    pixel_size_estimated : bool
        True when ``pixel_size_um`` was estimated from the field's median red-cell size.
    rbc_diameter_px : float
        Typical red-cell diameter in pixels, from which seeds were spaced.
    """

    labels: np.ndarray
    pixel_size_um: float
    pixel_size_estimated: bool
    rbc_diameter_px: float

    @property
    def count(self) -> int:
        """Number of objects."""
        return int(self.labels.max(initial=0))


def uint8_percentile(image: np.ndarray, q: float) -> float:
    """``np.percentile(image, q)`` (linear method, same value) of a uint8 image, from its histogram.

    ~4x faster than numpy's partition on a 640x480 channel, and OpenCV's histogram reads a
    channel of an RGB image in place (~3x faster than bincount, which copies it). Its float32
    counts are exact below 2**24 pixels; larger images are counted by numpy.
    """
    if image.ndim == 2 and image.size < 2**24:
        counts = cv2.calcHist([image], [0], None, [256], [0, 256]).ravel().astype(np.int64)
    else:
        counts = np.bincount(image.ravel(), minlength=256)
    cumulative = np.cumsum(counts)
    rank = (image.size - 1) * (q / 100)
    below = int(np.floor(rank))
    fraction = rank - below
    low, high = np.searchsorted(cumulative, [below, min(below + 1, image.size - 1)],
                                side="right").astype(np.float64)
    # numpy's interpolation, term for term, so that the result is identical to the last bit.
    if fraction >= 0.5:
        return float(high - (high - low) * (1 - fraction))
    return float(low + (high - low) * fraction)


def foreground_mask(rgb: np.ndarray, *, max_faint_px: float = 0) -> np.ndarray:
    """Boolean mask of stained material (cells, nuclei, platelets), pallor not yet filled.

    The green channel carries the contrast of both haemoglobin (eosin-pink) and nuclei
    (purple). Its background level is the bright mode of the field; the threshold is Otsu's
    between that level and the stained pixels, floored so that an empty field stays empty.
    Faint objects up to ``max_faint_px`` pixels are added whole (see
    :func:`_with_faint_objects`).
    """
    strong, weak = _stained(rgb)
    if not max_faint_px:
        return strong
    return _with_faint_objects(strong, weak, max_faint_px)


def _stained(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels that absorb green light above the field's threshold (strong), and above
    :data:`_WEAK_THRESHOLD` of it (weak; see :func:`foreground_mask`)."""
    green = cv2.GaussianBlur(rgb[:, :, 1], (3, 3), 0)
    background = uint8_percentile(green, 95)
    # float32(background) - green clipped to 0-255 and truncated, in uint8 arithmetic (~50x
    # faster, same values): green is whole, so the difference truncates to floor(level) - green,
    # and a negative one is 0 either way.
    absorbance = cv2.subtract(np.full_like(green, np.floor(np.float32(background))), green)
    otsu, _ = cv2.threshold(absorbance, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # A field with no cells has only noise: never call less than ~6% green absorbance stained.
    threshold = max(otsu, 0.06 * max(background, 1.0))
    return absorbance > threshold, absorbance > _WEAK_THRESHOLD * threshold


def _with_faint_objects(strong: np.ndarray, weak: np.ndarray, max_px: float) -> np.ndarray:
    """``strong`` plus the whole extent of the mostly faint objects it touches.

    A connected region of ``weak`` of at most ``max_px`` pixels that holds some ``strong``
    pixels, but fewer than half of its own, is a pale fragment or a ghost cell whose darkest
    sliver alone passed the threshold: all of it is kept. Well-stained cells (mostly strong)
    keep their strong outline, so that their faint halos do not bridge the gaps between
    touching cells; larger faint regions are uneven background.
    """
    count, regions = cv2.connectedComponents(weak.astype(np.uint8), connectivity=8)
    if count <= 1:
        return strong
    total = np.bincount(regions.ravel(), minlength=count)
    stained = np.bincount(regions[strong], minlength=count)
    faint = (stained > 0) & (2 * stained < total) & (total <= max_px)
    faint[0] = False
    return strong | faint[regions]


def pale_stain(rgb: np.ndarray, stained: np.ndarray) -> np.ndarray:
    """Pixels outside ``stained`` that are redder than the background (pale haemoglobin).

    The feature is red minus green; its background level and noise (median and MAD) are taken
    from the pixels at least 2 px away from ``stained``. A pixel is pale stain where its redness
    exceeds the background's by :data:`_PALE_SIGMAS` robust standard deviations and by
    :data:`_PALE_CONTRAST` of the stained pixels' median redness over it. Returns an empty
    mask when the field has almost no background.
    """
    blur = cv2.GaussianBlur(rgb, (3, 3), 0)
    redness = blur[:, :, 0].astype(np.int16) - blur[:, :, 1].astype(np.int16)
    background = ~cv2.dilate(stained.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    if background.sum() < 100:
        return np.zeros_like(stained)
    level, sigma = _level_and_sigma(redness[background])
    threshold = _PALE_SIGMAS * sigma
    if stained.any():
        cells, _ = _level_and_sigma(redness[stained])
        threshold = max(threshold, _PALE_CONTRAST * (cells - level))
    return ((redness - level) > threshold) & ~stained


def _level_and_sigma(redness: np.ndarray) -> tuple[float, float]:
    """Median and robust standard deviation (1.4826 MAD, at least 1 level) of the integer
    ``redness`` sample. From its histogram: the same values as numpy's medians, ~2x faster
    (those sort)."""
    counts = np.bincount(redness + 255, minlength=511)
    values = np.arange(-255, 256, dtype=np.float64)
    level = _median_of_counts(values, counts)
    deviation = np.abs(values - level)
    order = np.argsort(deviation, kind="stable")
    return level, max(1.0, 1.4826 * _median_of_counts(deviation[order], counts[order]))


def _median_of_counts(values: np.ndarray, counts: np.ndarray) -> float:
    """``np.median`` of the sample that holds ``counts[i]`` times each of the ascending float64
    ``values``: its middle value, or the mean of its two middle values (exact, as numpy's)."""
    cumulative = np.cumsum(counts)
    size = int(cumulative[-1])
    low, high = values[np.searchsorted(cumulative, [(size - 1) // 2, size // 2], side="right")]
    return float((low + high) / 2)


def _padded(image: np.ndarray, width: int) -> np.ndarray:
    """``np.pad(image, width)`` of a 2-D uint8 or float32 image (OpenCV's border copy is ~10x
    faster on the small windows the cusp search pads thousands of times per field)."""
    return cv2.copyMakeBorder(image, width, width, width, width, cv2.BORDER_CONSTANT, value=0)


def _disc(radius: int) -> np.ndarray:
    """Elliptical structuring element of the given radius (px)."""
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _with_pale(raw: np.ndarray, pale: np.ndarray, closing: int,
               rbc_diameter_px: float) -> np.ndarray:
    """``raw`` plus the pale stain that is thick enough and does not fill a neck between cells.

    Pale pixels where closing ``raw`` would bridge (gaps and necks between touching cells) are
    left to ``_filled``, which keeps necks open (its rim closing has radius ``closing``); the
    rest is opened (see ``_PALE_OPENING``).
    """
    pale = pale.astype(np.uint8)
    bridged = cv2.morphologyEx(raw.astype(np.uint8), cv2.MORPH_CLOSE,
                               _disc(closing)).astype(bool) & ~raw
    pale[bridged] = 0
    radius = max(_PALE_OPENING_MIN_PX, int(round(_PALE_OPENING * rbc_diameter_px)))
    return raw | cv2.morphologyEx(pale, cv2.MORPH_OPEN, _disc(radius)).astype(bool)


def _mouths_closed(mask: np.ndarray, rbc_diameter_px: float) -> np.ndarray:
    """``mask`` with a line drawn across the mouth of every open rim (see ``_MOUTH_DEPTH``)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_NONE)
    out = None
    for contour in contours:
        if len(contour) < 8:
            continue
        hull = cv2.convexHull(contour, returnPoints=False)
        if len(hull) < 4:
            continue
        try:
            defects = cv2.convexityDefects(contour, hull)
        except cv2.error:  # self-intersecting contours of 1-px-wide parts
            continue
        if defects is None:
            continue
        start, end, _, depth = defects.reshape(-1, 4).T
        # All defects at once, with the float64 arithmetic of one at a time (the function is
        # ~1.6x faster than with a Python loop over them).
        depth = depth / 256.0
        width = np.hypot(*(contour[start, 0] - contour[end, 0]).T)
        mouths = np.flatnonzero((depth >= _MOUTH_DEPTH * rbc_diameter_px)
                                & (width <= _MOUTH_WIDTH * rbc_diameter_px)
                                & (depth >= _MOUTH_DEPTH_PER_WIDTH * width))
        for k in mouths:
            p, q = contour[start[k], 0], contour[end[k], 0]
            if out is None:
                out = mask.astype(np.uint8)
            cv2.line(out, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), 1, 2)
    return mask if out is None else out.astype(bool)


def _filled(mask: np.ndarray, radius: int, max_hole_px: float,
            rbc_diameter_px: float | None = None, cell_area_px: float | None = None
            ) -> np.ndarray:
    """Fill the holes that look like central pallor.

    Rims are first closed with ``radius`` so that a pallor open on one side still counts as a
    hole; given ``rbc_diameter_px``, wider mouths of open rims are closed too
    (``_mouths_closed``). Of what the closing and filling add, the thin wedges it puts between
    touching cells (small, and open to the background) are dropped again so that the watershed
    still sees the necks; pallor (enclosed, or large) is kept. Holes larger than ``max_hole_px``
    are background enclosed by a ring of cells and stay open, unless ``cell_area_px`` is given
    and the hole is a ghost cell's (see :data:`_GHOST_HOLE`).
    """
    closed = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, _disc(radius)).astype(bool)
    if rbc_diameter_px is not None:
        closed = _mouths_closed(closed, rbc_diameter_px)
    filled = holes_filled(closed)
    new = filled & ~mask
    added, count = _regions(new)
    if count == 0:
        return mask
    # Counted over the few added pixels, not the whole field (~5x faster).
    area = np.bincount(added[new], minlength=count + 1)
    outside = cv2.dilate((~filled).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    open_to_background = np.zeros(count + 1, dtype=bool)
    open_to_background[added[outside & new]] = True
    keep = (area <= max_hole_px) & (~open_to_background | (area >= _WEDGE * max_hole_px))
    if cell_area_px is not None and np.any(~open_to_background & ~keep & (area > 0)):
        keep |= ~open_to_background & _ghost_holes(added, area, filled, cell_area_px)
    keep[0] = False
    return mask | keep[added]


def _ghost_holes(added: np.ndarray, area: np.ndarray, filled: np.ndarray,
                 cell_area_px: float) -> np.ndarray:
    """Per region of ``added``: at most :data:`_GHOST_HOLE` cells' area, inside a filled object
    of at most :data:`_GHOST_AREA` cells' area."""
    objects, _ = _regions(filled)
    object_area = np.bincount(objects.ravel())
    # Each added region lies inside one filled object: any of its pixels names it.
    owner = np.zeros(len(area), dtype=np.int64)
    owner[added.ravel()] = objects.ravel()
    return (area <= _GHOST_HOLE * cell_area_px) & (object_area[owner] <= _GHOST_AREA * cell_area_px)


def _regions(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """4-connected regions of a boolean mask numbered 1..count (0 outside), and count.

    OpenCV's labelling, ~2x faster than ``ndi.label``; for callers whose results do not depend
    on the numbering (which need not be ``ndi.label``'s raster order of first pixels).
    """
    count, regions = cv2.connectedComponents(np.ascontiguousarray(mask).view(np.uint8),
                                             connectivity=4, ltype=cv2.CV_32S)
    return regions, count - 1


def _numbered_regions(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """``ndi.label(mask)``: 4-connected regions of a 2-D mask (nonzero pixels) numbered 1..count
    in the raster order of their first pixels, and count; ~3x faster.

    OpenCV's Wu labelling (SAUF, named so that no other algorithm is chosen for it) scans pixels
    in raster order, gives a pixel without an upper or left neighbour a new provisional label
    (a region's first pixel always gets one), keeps the smallest label of each set it merges as
    its root and numbers the roots in increasing order: ndi.label's numbering (its parallel scan
    gives each band of rows larger labels than the band above). Where the numbering matters.
    """
    count, regions = cv2.connectedComponentsWithAlgorithm(
        np.ascontiguousarray(mask).view(np.uint8), 4, cv2.CV_32S, cv2.CCL_WU)
    return regions, count - 1


def holes_filled(mask: np.ndarray) -> np.ndarray:
    """``mask`` with every background region that does not reach the image edge set.

    Same result as ``ndi.binary_fill_holes`` (4-connected background); OpenCV's flood fill
    from a padded corner is ~7x faster.
    """
    outside = _padded(mask.astype(np.uint8), 1)
    cv2.floodFill(outside, None, (0, 0), 2, flags=4)
    return outside[1:-1, 1:-1] != 2


def _distance(mask: np.ndarray) -> np.ndarray:
    return cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)


def estimate_rbc_diameter_px(mask: np.ndarray) -> float:
    """Typical red-cell diameter (px) of a filled foreground mask.

    For each connected component the largest inscribed circle has the radius of the largest
    cell in it, touching or not; the area-weighted median over components is dominated by the
    red cells, which make up most of the stained area of a smear. Returns ``nan`` for an empty
    mask.
    """
    labels, count = _regions(mask)
    if count == 0 or mask.all():
        # Without any background there is no cell edge to measure from.
        return float("nan")
    inside = labels.ravel() > 0
    component = labels.ravel()[inside]
    # np.maximum.at is ~10x faster than ndi.maximum, which sorts all pixels by label.
    radii = np.zeros(count + 1, np.float32)
    np.maximum.at(radii, component, _distance(mask).ravel()[inside])
    radii, areas = radii[1:], np.bincount(component, minlength=count + 1)[1:]
    keep = radii >= 2
    if not keep.any():
        return float("nan")
    radii, areas = radii[keep], areas[keep]
    order = np.argsort(radii)
    cumulative = np.cumsum(areas[order])
    median_radius = radii[order][np.searchsorted(cumulative, cumulative[-1] / 2)]
    return float(2 * median_radius)


def _local_maxima(image: np.ndarray, min_distance: int, threshold: float) -> np.ndarray:
    """(K, 2) row, col of the maxima of ``image`` over squares of half-side ``min_distance``.

    A plateau of equal maxima gives one point (its first pixel). OpenCV's dilation makes this
    several times faster than ``skimage.feature.peak_local_max`` (same square window; Chula
    point recall unchanged, merges 3.3% either way on the train subset) for
    smoothed distance maps.
    """
    kernel = cv2.getStructuringElement(
        cv2.MORPH_RECT, (2 * min_distance + 1, 2 * min_distance + 1))
    is_peak = (image >= cv2.dilate(image, kernel)) & (image > threshold)
    plateaus, _ = _regions(is_peak)
    pixels = np.flatnonzero(is_peak)
    # Flat indices run in raster order: a plateau's first index is its first pixel, and the
    # points are in the raster order of those pixels, whatever the plateaus' numbering.
    _, first = np.unique(plateaus.ravel()[pixels], return_index=True)
    return np.column_stack(np.unravel_index(np.sort(pixels[first]), image.shape)).astype(np.intp)


def _split_touching(mask: np.ndarray, rbc_diameter_px: float) -> np.ndarray:
    distance = _distance(mask)
    min_distance = max(2, int(round(_SEED_SPACING * rbc_diameter_px)))
    smooth = cv2.GaussianBlur(distance, (0, 0), max(1.0, rbc_diameter_px * _SMOOTHING))
    components, count = _numbered_regions(mask)
    peaks = _local_maxima(smooth, min_distance, 0.12 * rbc_diameter_px)
    seeded = components[tuple(peaks.T)]
    # A component with one seed or none is one object (platelets and fragments may be too thin
    # to hold a seed): only components with several seeds need the watershed.
    label_of = np.zeros(count + 1, dtype=np.int32)
    label_of[seeded] = np.arange(1, len(peaks) + 1)
    seeds = np.bincount(seeded, minlength=count + 1)
    unseeded = seeds == 0
    unseeded[0] = False
    label_of[unseeded] = np.arange(len(peaks) + 1, len(peaks) + 1 + int(unseeded.sum()))
    shared = seeds >= 2
    shared[0] = False
    labels = label_of[components]
    if shared.any():
        markers = np.zeros(mask.shape, dtype=np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        boxes = ndi.find_objects(components)
        # One watershed per component in its own box: a call costs ~5 ms of set-up over a
        # whole 640x480 field however few pixels it floods, ~0.2 ms over a cell's box. Only
        # the regions of one component touch, so necks are looked for in its box too.
        neckless = []
        for component in np.flatnonzero(shared):
            box = boxes[component - 1]
            inside = components[box] == component
            regions = watershed(-smooth[box], np.where(inside, markers[box], 0), mask=inside)
            labels[box][inside] = regions[inside]
            neckless.append(_without_neck(regions, smooth[box]))
        labels = _merged(labels, np.concatenate(neckless))
    return labels


def _without_neck(regions: np.ndarray, smooth: np.ndarray) -> np.ndarray:
    """(K, 2) pairs (low, high) of touching ``regions`` that no neck separates.

    Two regions are one object when their saddle (the highest point of ``smooth``, the
    distance map, along the line they share) reaches :data:`_NECK_RATIO` of the lower of their
    peaks.
    """
    count = int(regions.max()) + 1
    pairs, saddles = [], []
    for a, b, da, db in ((regions[:, :-1], regions[:, 1:], smooth[:, :-1], smooth[:, 1:]),
                         (regions[:-1], regions[1:], smooth[:-1], smooth[1:])):
        line = (a != b) & (a > 0) & (b > 0)
        low, high = np.minimum(a[line], b[line]), np.maximum(a[line], b[line])
        pairs.append(low.astype(np.int64) * count + high)
        saddles.append(np.minimum(da[line], db[line]))
    keys, index = np.unique(np.concatenate(pairs), return_inverse=True)
    highest = np.zeros(len(keys), np.float32)
    np.maximum.at(highest, index, np.concatenate(saddles))
    peak = np.zeros(count, np.float32)
    np.maximum.at(peak, regions.ravel(), smooth.ravel())
    low, high = np.divmod(keys, count)
    merge = highest >= _NECK_RATIO * np.minimum(peak[low], peak[high])
    return np.column_stack([low[merge], high[merge]])


def _merged(labels: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """``labels`` with the objects that (K, 2) ``pairs`` of labels link, directly or through
    others, made one; all are renumbered in the order of their lowest labels, from 2."""
    if len(pairs) == 0:
        return labels
    count = int(labels.max()) + 1
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(count, count))
    _, component = connected_components(graph, directed=False)
    lookup = (component + 1).astype(np.int32)
    lookup[0] = 0
    return lookup[labels]


def _touching_pairs(labels: np.ndarray) -> np.ndarray:
    """(K, 2) distinct pairs (low, high) of labels that are 4-neighbours somewhere, in
    lexicographic order."""
    count = int(labels.max()) + 1
    keys = []
    for a, b in ((labels[:, :-1], labels[:, 1:]), (labels[:-1], labels[1:])):
        line = (a != b) & (a > 0) & (b > 0)
        # One integer per pair: np.unique of a 1-D array is faster than of rows.
        keys.append(np.minimum(a[line], b[line]).astype(np.int64) * count
                    + np.maximum(a[line], b[line]))
    return np.column_stack(np.divmod(np.unique(np.concatenate(keys)), count))


def _halves_merged(labels: np.ndarray, cell_area: float) -> np.ndarray:
    """``labels`` with two touching parts made one object again where together they are one
    convex cell (see :data:`_HALF`): a long elliptocyte's waist is not a neck."""
    pairs = _touching_pairs(labels)
    if len(pairs) == 0:
        return labels
    area = np.bincount(labels.ravel())
    pairs = pairs[np.maximum(area[pairs[:, 0]], area[pairs[:, 1]]) < _HALF * cell_area]
    if len(pairs) == 0:
        return labels
    boxes = ndi.find_objects(labels)
    merged = []
    for low, high in pairs:
        box = tuple(slice(min(a.start, b.start), max(a.stop, b.stop))
                    for a, b in zip(boxes[low - 1], boxes[high - 1], strict=True))
        if _one_cell(labels[box], low, high):
            merged.append((low, high))
    return _merged(labels, np.array(merged).reshape(-1, 2))


def _one_cell(labels: np.ndarray, low: int, high: int) -> bool:
    """Whether touching parts ``low`` and ``high`` of ``labels`` are one cell's (see
    :data:`_HALF` and :data:`_WAIST_CUT`)."""
    union = np.isin(labels, (low, high)).astype(np.uint8)
    contours, _ = cv2.findContours(union, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    solidity = union.sum() / max(cv2.contourArea(cv2.convexHull(np.concatenate(contours))), 1)
    major, minor = _axis_moments(union)
    elongation = float(np.sqrt(major / max(minor, 1e-9)))  # of the ellipse with these moments
    if solidity >= _HALF_SOLIDITY and elongation >= _HALF_ELONGATION:
        return True
    width = 4 * np.sqrt(max(minor, 0.0) / (2 * union.sum()))  # that ellipse's minor axis, px
    return (solidity >= _WAIST_SOLIDITY and elongation >= _WAIST_ELONGATION
            and _line_length(labels, low, high) >= _WAIST_CUT * width)


def _line_length(labels: np.ndarray, low: int, high: int) -> float:
    """Length (px) of the line where parts ``low`` and ``high`` touch: the extent of its pixels
    along their main direction."""
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    first, second = labels == low, labels == high
    touching = ((first & (cv2.dilate(second.astype(np.uint8), cross) > 0))
                | (second & (cv2.dilate(first.astype(np.uint8), cross) > 0)))
    rows, columns = np.nonzero(touching)
    if len(rows) < 2:
        return float(len(rows))
    spread = np.linalg.eigvalsh(np.cov(np.stack([columns, rows]).astype(float)))[-1]
    return float(np.sqrt(12 * max(spread, 0.0)) + 1)  # a uniform segment's length from its variance


def _axis_moments(mask: np.ndarray) -> tuple[float, float]:
    """Second central moments of ``mask`` (px^2 summed over its pixels, times 2) along its
    major and minor axes: ``mu20 + mu02 +- sqrt((mu20 - mu02)^2 + 4 mu11^2)``."""
    moments = cv2.moments(mask, binaryImage=True)
    a, b, c = moments["mu20"], moments["mu02"], moments["mu11"]
    root = np.sqrt((a - b) ** 2 + 4 * c**2)
    return float(a + b + root), float(a + b - root)


def _cut_at_cusps(labels: np.ndarray, stain: np.ndarray, rbc_diameter_px: float) -> np.ndarray:
    """``labels`` with each unnucleated object that shows two overlapping cells cut in two (see
    :data:`_CUSP_DEPTH`); a part that still shows two cells is cut again. ``stain`` is the
    field's nuclear stain (:func:`_nuclear_stain`)."""
    cell_area = np.pi * (rbc_diameter_px / 2) ** 2
    # A smaller object holds no two parts of at least _MIN_PART, nor a clump: nothing to cut.
    min_area = 2 * _MIN_PART * cell_area
    labels = labels.copy()
    boxes = ndi.find_objects(labels)
    # A part lies inside its parent's box. Objects are measured in their boxes (counting the
    # whole field's labels costs more), those in boxes smaller than min_area not at all.
    pending = [(label, box) for label, box in enumerate(boxes, 1)
               if box is not None and _box_size(box) >= min_area]
    next_label = len(boxes) + 1
    while pending:
        label, box = pending.pop()
        inside = labels[box] == label
        area = int(inside.sum())
        if area < min_area:
            continue
        found = _cusps(inside, rbc_diameter_px)
        if found is None:
            continue
        part = _cusp_cut(inside, found, cell_area)
        parts = (None if part is not None
                 else _clump_parts(inside, area, found, rbc_diameter_px, cell_area))
        if ((part is None and parts is None)
                or stain[box][inside].mean() > _MAX_NUCLEAR_FRACTION):
            continue
        if part is not None:
            labels[box][part] = next_label
            pending += [(label, box), (next_label, box)]
            next_label += 1
        else:
            window = labels[box]
            window[parts > 1] = next_label + parts[parts > 1] - 2
            next_label += int(parts.max()) - 1
    return labels


def _white_cells_set_apart(mask: np.ndarray, rgb: np.ndarray, stain: np.ndarray,
                           rbc_diameter_px: float) -> np.ndarray:
    """``mask`` with a line cleared between each white cell or NRBC and the red cells it
    touches (see :data:`_NUCLEUS_MIN_AREA`); ``stain`` is the field's nuclear stain
    (:func:`_nuclear_stain`). ``mask`` itself where no line is."""
    cell_area = np.pi * (rbc_diameter_px / 2) ** 2
    components, count = _numbered_regions(mask)
    # Most fields hold no object with a nucleus's worth of stain, and need no more.
    stain = stain & mask
    nuclear = np.bincount(components[stain], minlength=count + 1)
    areas = np.bincount(components.ravel(), minlength=count + 1)
    candidates = np.flatnonzero((areas >= (1 + _MIN_PART) * cell_area)
                                & (nuclear >= _NUCLEUS_MIN_AREA * cell_area))
    candidates = candidates[candidates > 0]
    if not len(candidates):
        return mask
    boxes = ndi.find_objects(components)
    nucleated = {}
    for component in candidates:
        box = boxes[component - 1]
        inside = components[box] == component
        nucleus = _nucleus(stain[box] & inside, rbc_diameter_px)
        if nucleus.any():
            nucleated[component] = (box, inside, nucleus)
    # The field's red cells: its objects without a white cell's nucleus; without them there
    # is no red cell to set apart from a white one.
    red = np.ones(count + 1, bool)
    red[[0, *nucleated]] = False
    if not nucleated or not red.any():
        return mask
    red_cells = rgb[red[components]].mean(axis=0)
    edges = _green_edges(rgb)
    lines = np.zeros_like(mask)
    for box, inside, nucleus in nucleated.values():
        lines[box] |= _line_beside_nucleus(inside, nucleus, rgb[box], edges[box], red_cells,
                                           _field_edge(box, mask.shape), rbc_diameter_px)
    return mask & ~lines if lines.any() else mask


def _nucleus(stain: np.ndarray, rbc_diameter_px: float) -> np.ndarray:
    """The pixels of an object's nuclear ``stain`` (in its box) in nuclei large enough to be a
    white cell's or an NRBC's (see :data:`_NUCLEUS_MIN_AREA`)."""
    cell_area = np.pi * (rbc_diameter_px / 2) ** 2
    stain = cv2.morphologyEx(stain.view(np.uint8), cv2.MORPH_OPEN,
                             _disc(max(1, int(round(_CRUMB * rbc_diameter_px)))))
    grouped = cv2.dilate(stain, _disc(max(1, int(round(_NUCLEUS_GROUPING * rbc_diameter_px)))))
    groups, count = _numbered_regions(grouped > 0)
    sizes = np.bincount(groups[stain > 0], minlength=count + 1)
    large = sizes >= _NUCLEUS_MIN_AREA * cell_area
    large[0] = False
    return (stain > 0) & large[groups]


def _green_edges(rgb: np.ndarray) -> np.ndarray:
    """Gradient magnitude of the green channel, smoothed over 2 px (see
    :data:`_NUCLEUS_MIN_AREA`)."""
    green = cv2.GaussianBlur(rgb[:, :, 1].astype(np.float32), (0, 0), 2.0)
    return cv2.magnitude(cv2.Sobel(green, cv2.CV_32F, 1, 0), cv2.Sobel(green, cv2.CV_32F, 0, 1))


def _field_edge(box: tuple[slice, slice], shape: tuple[int, int]) -> np.ndarray:
    """The pixels of ``box`` on the edge of a field of ``shape``."""
    rows = np.arange(box[0].start, box[0].stop)
    cols = np.arange(box[1].start, box[1].stop)
    return (((rows == 0) | (rows == shape[0] - 1))[:, None]
            | ((cols == 0) | (cols == shape[1] - 1))[None, :])


def _line_beside_nucleus(inside: np.ndarray, nucleus: np.ndarray, rgb: np.ndarray,
                         edges: np.ndarray, red_cells: np.ndarray, field_edge: np.ndarray,
                         rbc_diameter_px: float) -> np.ndarray:
    """The pixels of the line between a nucleated cell and the red cells of its object
    (``inside``, with its ``nucleus``; ``red_cells`` the field's mean red-cell RGB,
    ``field_edge`` the pixels on the field's edge); none when no red cell touches it."""
    cell_area = np.pi * (rbc_diameter_px / 2) ** 2
    from_nucleus = cv2.distanceTransform((~nucleus).view(np.uint8), cv2.DIST_L2, 5)
    near = inside & ~nucleus & (from_nucleus < _CYTOPLASM_FROM_NUCLEUS * rbc_diameter_px)
    far = inside & (from_nucleus >= _RED_FROM_NUCLEUS * rbc_diameter_px)
    if far.sum() < _MIN_PART * cell_area or not near.any():
        return np.zeros_like(inside)
    cytoplasm = rgb[near].mean(axis=0)
    red = far.copy()
    red[far] = _closer_to(rgb[far], red_cells, cytoplasm)
    if red.sum() < _MIN_PART * cell_area:
        return np.zeros_like(inside)
    # Far pixels of another colour (a red cell's pallor, a monocyte's broad cytoplasm) are
    # left to the flood: each goes to the side it is reached from without crossing an edge.
    regions = watershed(edges, np.where(red, 2, (nucleus | near).astype(np.int32)), mask=inside)
    parts, count = _numbered_regions(regions == 2)
    sizes = np.bincount(parts.ravel(), minlength=count + 1)
    red_parts = sizes >= _MIN_PART * cell_area
    red_parts[0] = False
    # A red cell holds a disc of at least 0.3 d radius; an NRBC's haemoglobinised cytoplasm,
    # or a granulocyte's, round its nucleus is a thinner ring or slab.
    thick = _distance(_padded((regions == 2).view(np.uint8), 1))[1:-1, 1:-1]
    depth = np.zeros(count + 1, np.float32)
    np.maximum.at(depth, parts.ravel(), thick.ravel())
    for part in np.flatnonzero(red_parts):
        red_parts[part] = (depth[part] >= _RED_CELL_RADIUS * rbc_diameter_px
                           and _closer_to(rgb[parts == part].mean(axis=0), red_cells, cytoplasm))
    for part in np.flatnonzero(red_parts):
        this = parts == part
        union = inside & ~(red_parts[parts] & ~this)
        red_parts[part] = _ends_in_cusps(union, union & ~this, field_edge, rbc_diameter_px)
    cell = inside & ~red_parts[parts]
    return red_parts[parts] & (cv2.dilate(cell.view(np.uint8), np.ones((3, 3), np.uint8)) > 0)


def _ends_in_cusps(union: np.ndarray, cell: np.ndarray, field_edge: np.ndarray,
                   rbc_diameter_px: float) -> bool:
    """Whether the line between ``cell`` and the rest of ``union`` (a red cell) ends at a
    concavity of the union's outline at both ends (see :data:`_CUSP_AT_END`); an end on the
    field's edge (``field_edge``) may be one, unseen."""
    outline = union.view(np.uint8)
    contours, _ = cv2.findContours(outline, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    hull = np.zeros(union.shape, np.uint8)
    cv2.fillPoly(hull, [cv2.convexHull(np.concatenate(contours))], 1)
    # How far inside the convex hull each pixel lies: a cusp's bottom lies deep in it.
    depth = cv2.distanceTransform(_padded(hull, 1), cv2.DIST_L2, 5)[1:-1, 1:-1]
    square = np.ones((3, 3), np.uint8)
    line = union & ~cell & (cv2.dilate(cell.view(np.uint8), square) > 0)
    ends = line & ((cv2.dilate((~union).view(np.uint8), square) > 0) | field_edge)
    groups, count = _numbered_regions(cv2.dilate(ends.view(np.uint8), square) > 0)
    if count < 2:
        return False
    deepest = np.zeros(count + 1, np.float32)
    np.maximum.at(deepest, groups[ends], np.where(field_edge, np.inf, depth)[ends])
    return bool(np.sort(deepest[1:])[-2] >= _CUSP_AT_END * rbc_diameter_px)


def _closer_to(colours: np.ndarray, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Whether each RGB colour of ``colours`` (..., 3) lies closer to ``first`` than to
    ``second``."""
    colours = np.asarray(colours, np.float32)
    return (np.square(colours - first).sum(axis=-1)
            < np.square(colours - second).sum(axis=-1))


def _box_size(box: tuple[slice, slice]) -> int:
    """Number of pixels in a 2-D box of :func:`scipy.ndimage.find_objects`."""
    return (box[0].stop - box[0].start) * (box[1].stop - box[1].start)


def _cusps(inside: np.ndarray, rbc_diameter_px: float
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Outline (K, 1, 2) of a binary object padded by 1 px, and the contour indices and depths
    (in d) of its concavities at least :data:`_SHALLOWEST_CUSP` deep; None for a speck."""
    # Outline details under ~0.04 d are pixel noise, and would change with the magnification.
    outline = (cv2.GaussianBlur(_padded(inside.astype(np.float32), 4), (0, 0),
                                _OUTLINE_SMOOTHING * rbc_diameter_px)[3:-3, 3:-3] > 0.5
               ).astype(np.uint8)
    contours, _ = cv2.findContours(outline, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    contour = max(contours, key=len)
    if len(contour) < 8:
        return None
    hull = cv2.convexHull(contour, returnPoints=False)
    try:
        defects = cv2.convexityDefects(contour, np.sort(hull, axis=0))
    except cv2.error:  # self-intersecting contours of 1-px-wide parts
        return None
    if defects is None:
        return contour, np.zeros(0, np.intp), np.zeros(0)
    defects = defects.reshape(-1, 4)
    depth = defects[:, 3] / 256.0 / rbc_diameter_px
    return contour, defects[depth >= _SHALLOWEST_CUSP, 2], depth[depth >= _SHALLOWEST_CUSP]


def _cusp_cut(inside: np.ndarray, found: tuple[np.ndarray, np.ndarray, np.ndarray],
              cell_area: float) -> np.ndarray | None:
    """The pixels of one side of the best cut of a binary object between two of its cusps
    (``found`` by :func:`_cusps`), or None when its shape shows one cell (or overlapping cells
    without a neck)."""
    contour, far, depth = found
    pairs = [(i, j) for i in range(len(far)) for j in range(i + 1, len(far))
             if depth[i] + depth[j] >= _CUSP_DEPTH]
    if not pairs:  # most objects: nothing to cut, nothing to pad
        return None
    padded = _padded(inside.astype(np.uint8), 1)
    best, best_ratio = None, _CHORD_PER_PART
    for i, j in pairs:
        p, q = contour[far[i], 0], contour[far[j], 0]
        cut = padded.copy()
        cv2.line(cut, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), 0, 1)
        parts = _two_parts(cut, cell_area)
        if parts is None:
            continue
        ratio = float(np.hypot(*(p - q))) / _narrower_width(parts, p - q)
        if ratio < best_ratio:
            best, best_ratio = parts[1:-1, 1:-1] == 2, ratio
    return best


def _clump_parts(inside: np.ndarray, area: int, found: tuple[np.ndarray, np.ndarray, np.ndarray],
                 rbc_diameter_px: float, cell_area: float) -> np.ndarray | None:
    """Parts 1..k (0 outside) of an elongated object (``inside``, of ``area`` pixels) of k >= 2
    cells' area that shows a cusp among those ``found`` by :func:`_cusps`, or None (see
    :data:`_CLUMP_AREA`).

    The cells' centres are k-means centres of the object's pixels, started evenly along its
    major axis; each pixel goes to the nearest centre, which cuts two overlapping cells of
    equal size along their chord.
    """
    if area < _CLUMP_AREA * cell_area:
        return None
    if not (found[2] >= _CLUMP_CUSP).any():
        return None
    pixels = np.argwhere(inside).astype(np.float64)
    centres = _cell_centres(pixels, max(2, round(area / cell_area)))
    if centres is None:
        return None
    nearest = np.argmin(_squared_distances(pixels, centres), axis=1)
    if np.bincount(nearest, minlength=len(centres)).min() == 0:
        return None  # a centre left without pixels: the object is not that many cells
    parts = np.zeros(inside.shape, np.int32)
    parts[inside] = nearest + 1
    # The cut must start at the cusp: a cut elsewhere halves a large cell that merely has
    # something stuck to it.
    contour, far, depth = found
    cusp = contour[far[depth >= _CLUMP_CUSP], 0][:, ::-1] - 1  # (row, col) in ``inside``
    edge = np.argwhere(_between_parts(parts))
    gap = np.sqrt(((edge[:, None, :] - cusp[None]) ** 2).sum(-1)).min()
    return parts if gap <= _CLUMP_CUT_AT_CUSP * rbc_diameter_px else None


def _between_parts(parts: np.ndarray) -> np.ndarray:
    """Pixels of ``parts`` with a 4-neighbour in another part."""
    values = parts.astype(np.float32)
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    return (parts > 0) & (cv2.dilate(values, cross) != values) & (cv2.erode(values, cross) > 0)


def _cell_centres(pixels: np.ndarray, count: int) -> np.ndarray | None:
    """``count`` k-means centres of (N, 2) pixel coordinates, or None for a round object (or
    one whose pixels do not form ``count`` groups)."""
    mean = pixels.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(pixels, rowvar=False))
    if eigenvalues[1] < _CLUMP_ELONGATION ** 2 * max(eigenvalues[0], 1e-9):
        return None
    half_length = 2 * np.sqrt(eigenvalues[1])
    offsets = np.linspace(-1, 1, count)[:, None] * (half_length * (count - 1) / count)
    start = mean + offsets * eigenvectors[:, 1]
    return k_means(pixels, start)


#: Rounds of :func:`k_means` (scipy's ``kmeans2`` default).
_K_MEANS_ROUNDS = 10


def k_means(points: np.ndarray, centres: np.ndarray) -> np.ndarray | None:
    """Lloyd's k-means of (N, D) float64 ``points`` from (K, D) ``centres``: each round gives
    every point to its nearest centre (the first of equals) and moves each centre to the mean
    of its points; None when a centre has no point.

    The same centres as ``scipy.cluster.vq.kmeans2(points, centres, iter=10, minit="matrix",
    missing="raise")``, which it replaces because importing ``scipy.cluster`` took ~70 ms of
    the one-field command's start-up (#19).
    """
    for _ in range(_K_MEANS_ROUNDS):
        nearest = np.argmin(_squared_distances(points, centres), axis=1)
        members = np.bincount(nearest, minlength=len(centres))
        if not members.all():
            return None
        sums = [np.bincount(nearest, weights=points[:, d], minlength=len(centres))
                for d in range(points.shape[1])]
        moved = np.stack(sums, axis=1) / members[:, None]
        # A round is a function of the centres alone: once they stay put, every later round
        # gives them again (most clumps settle in 3-5 of the 10 rounds).
        if np.array_equal(moved, centres):
            break
        centres = moved
    return centres


def _squared_distances(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(N, K) squared distances of (N, D) ``points`` to (K, D) ``centres``: the values of
    ``((points[:, None] - centres[None]) ** 2).sum(axis=2)`` to the last bit (numpy sums under 8
    terms one after the other), without its (N, K, D) temporaries (~2x faster)."""
    if points.shape[1] >= 8:  # numpy sums 8 or more terms pairwise
        return ((points[:, None, :] - centres[None]) ** 2).sum(axis=2)
    squared = (points[:, 0, None] - centres[None, :, 0]) ** 2
    for d in range(1, points.shape[1]):
        squared += (points[:, d, None] - centres[None, :, d]) ** 2
    return squared


def _two_parts(mask: np.ndarray, cell_area: float) -> np.ndarray | None:
    """Labels 1 and 2 for the two largest parts of a cut object, 0 elsewhere (crumbs the line
    cut off stay with the object), or None unless both are cell parts and nothing else is."""
    parts, count = _numbered_regions(mask)
    if count < 2:
        return None
    areas = np.bincount(parts.ravel())
    areas[0] = 0
    first, second, *rest = np.argsort(areas)[::-1]
    if areas[second] < _MIN_PART * cell_area or (rest and areas[rest[0]] >= _CRUMB * cell_area):
        return None
    lookup = np.zeros(len(areas), np.int32)
    lookup[first], lookup[second] = 1, 2
    return lookup[parts]


def _background_colour(rgb: np.ndarray) -> np.ndarray:
    """(3,) RGB of the field's background: each channel's 95th percentile (the bright mode
    of a smear field), what :func:`_nuclear_stain` measures optical density against."""
    return np.array([uint8_percentile(rgb[:, :, c], 95) for c in range(3)])


def nuclear_fractions(rgb: np.ndarray, labels: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The fraction of each given object's pixels stained like a nucleus
    (:func:`_nuclear_stain`, against the field's background).

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray
        The field as it was segmented.
    labels : (H, W) int ndarray
        Its objects, 1..N.
    ids : (K,) int ndarray
        The objects to measure.

    Returns
    -------
    (K,) float64 ndarray

    Raises
    ------
    ValueError
        An id that is not an object of ``labels``.
    """
    background = _background_colour(rgb)
    boxes = ndi.find_objects(labels, max_label=int(max(ids, default=0)))
    fractions = np.zeros(len(ids))
    for index, label in enumerate(ids):
        box = boxes[label - 1] if 0 < label <= len(boxes) else None
        if box is None:  # never a fraction of nothing: NaN would keep any call
            raise ValueError(f"object {label} is not in the label image")
        inside = labels[box] == label
        fractions[index] = _nuclear_stain(rgb[box][inside], background).mean()
    return fractions


def _nuclear_stain(pixels: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Which of (N, 3) RGB ``pixels`` are stained like a nucleus, given the background's RGB.

    Haemoglobin (eosin) absorbs blue light about as much as green; chromatin stained by azure
    and methylene blue absorbs green and lets blue through. Optical density ratios blue/green
    measured at labelled centres (median, 10th-90th percentile): red cells 0.61 (0.50-0.73)
    Chula normal, 1.06 (0.68-1.50) BCCD; nuclei 0.06 (-0.08-0.29) BCCD white cells, 0.26-0.36
    (0.22-0.50) PBC erythroblasts and leukocytes.
    """
    # The test reads the green and blue levels alone: it is made once for each of their 65,536
    # pairs and looked up (~9x faster over a field than a logarithm per pixel, same result).
    density = np.log(np.maximum(background, 1)
                     / np.maximum(np.arange(256), 1).astype(np.float32)[:, None])
    green, blue = density[:, 1, None], density[None, :, 2]
    table = (green > _NUCLEAR_GREEN_OD) & (blue < _NUCLEAR_BLUE_PER_GREEN * green)
    return table.ravel()[pixels[..., 1].astype(np.intp) * 256 + pixels[..., 2]]


def _narrower_width(parts: np.ndarray, direction: np.ndarray) -> float:
    """The smaller of the widths (px) of parts 1 and 2 of ``parts`` along ``direction``."""
    rows, cols = np.nonzero(parts)
    along = (cols * float(direction[0]) + rows * float(direction[1])) / np.hypot(*direction)
    part = parts[rows, cols]
    return min(float(np.ptp(along[part == k])) + 1 for k in (1, 2))


def _relabelled(labels: np.ndarray, min_area_px: float) -> np.ndarray:
    """Drop objects under ``min_area_px`` and renumber the rest 1..N in raster order.

    Here and elsewhere a per-label table is applied to a label image by indexing, not with
    ``np.take``, which first copies the int32 image to int64: ~2x faster alone, but in the
    pipeline that fresh copy of a few MB costs more in page faults than it saves (same result).
    """
    return _relabelled_with_areas(labels, min_area_px)[0]


def _relabelled_with_areas(labels: np.ndarray, min_area_px: float
                           ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_relabelled` and its pixel count per label, ``np.bincount`` of it (counted
    before, not again over the renumbered field)."""
    counts = np.bincount(labels.ravel())
    keep = counts >= min_area_px
    keep[0] = False
    areas = np.concatenate(([labels.size - counts[keep].sum()], counts[keep]))
    if keep[1:].all() and labels.dtype == np.int32:
        return labels, areas  # already 1..N, nothing dropped: the table is the identity
    lookup = np.zeros(len(counts), dtype=np.int32)
    lookup[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    return lookup[labels], areas


def segment_field(rgb: np.ndarray, *, pixel_size_um: float | None = None) -> Segmentation:
    """Label all objects of a Wright/Giemsa field, splitting touching cells.

    Parameters
    ----------
    rgb : (H, W, 3) uint8 ndarray
        The field.
    pixel_size_um : float or None, keyword-only
        Known pixel size (um/px). When None it is estimated from the field's typical red-cell
        diameter, taken as 7.5 um.

    Returns
    -------
    Segmentation
        Label image and the scale used. An empty field gives zero objects and, without a given
        pixel size, ``pixel_size_um = nan``.

    Raises
    ------
    PixelSizeError
        A given pixel size outside :data:`PIXEL_SIZE_RANGE_UM`: every caller (the CLI, the
        Python API, training) gets the same refusal, not a confident count at a wrong scale.
    """
    estimated = pixel_size_um is None
    if not estimated:
        check_pixel_size(pixel_size_um)
    if estimated:
        # A first guess from the blobs, then the median size of the cells it separates.
        rbc_diameter_px = blob_diameter_px(rgb)
        if not PLAUSIBLE_DIAMETER_PX[0] <= rbc_diameter_px <= PLAUSIBLE_DIAMETER_PX[1]:
            # nan, or specks / one huge blob: no red cells to take the scale from.
            return Segmentation(np.zeros(rgb.shape[:2], np.int32), float("nan"), True,
                                rbc_diameter_px)
        labels, refined = _labelled_at_canonical_scale(rgb, rbc_diameter_px, measure=True)
        if abs(refined - rbc_diameter_px) > _RESEGMENT_TOLERANCE * rbc_diameter_px:
            rbc_diameter_px = refined
            labels, _ = _labelled_at_canonical_scale(rgb, rbc_diameter_px)
    else:
        rbc_diameter_px = NORMAL_RBC_DIAMETER_UM / pixel_size_um
        labels, _ = _labelled_at_canonical_scale(rgb, rbc_diameter_px)
    return Segmentation(labels, NORMAL_RBC_DIAMETER_UM / rbc_diameter_px if estimated
                        else pixel_size_um, estimated, rbc_diameter_px)


def blob_diameter_px(rgb: np.ndarray) -> float:
    """The typical red-cell diameter (px) of the field's stained blobs, clumps filled: the first
    guess :func:`segment_field` refines (nan without blobs to measure). ~6 ms on a 640x480
    field."""
    raw = foreground_mask(rgb)
    return estimate_rbc_diameter_px(_filled(raw, 2, 0.05 * raw.size))


def require_cells(seg: Segmentation) -> None:
    """Refuse a field without objects: blobs too small or too large for a red cell at any pixel
    size of :data:`PIXEL_SIZE_RANGE_UM`, or none at all (QA 65 F4: such fields gave 0 objects
    and exit 0, and a slide of them silently counted nothing); and a field whose cells, at its
    estimated or declared scale, would span over :data:`_MAX_DIAMETER_SHARE` of its shorter
    side.

    Raises
    ------
    CellessFieldError
        With a one-line reason.
    """
    low, high = PLAUSIBLE_DIAMETER_PX
    diameter = seg.rbc_diameter_px
    side = min(seg.labels.shape)
    if seg.count:
        # At a declared size too (QA 137 D3: a 30 px crop was counted as a field of 0 cells).
        if diameter > _MAX_DIAMETER_SHARE * side:
            # QA 142 L-1: at a declared size, a wrong size is the likelier cause than the picture.
            read, declared = (("its stained blobs read as cells", "") if seg.pixel_size_estimated
                              else ("a red cell at the declared pixel size is",
                                    "; or the declared pixel size is wrong"))
            raise CellessFieldError(
                f"no red cell found: {read} {diameter:.0f} px across, over "
                f"{_MAX_DIAMETER_SHARE:.0%} of the picture's {side} px side (this tool's rule): "
                f"a thumbnail, a crop, a thick area or a stain, not a field of red cells{declared}")
        return
    if seg.pixel_size_estimated and np.isfinite(diameter) and not low <= diameter <= high:
        raise CellessFieldError(
            f"no red cell found: its stained blobs measure {diameter:.0f} px across, outside the "
            f"{low:g}-{high:g} px of a red cell this tool works with; resample the field so that "
            "a red cell spans about 40 px")
    raise CellessFieldError("no cell found: a field without cells (glass, or beyond the smear's "
                            "edge)?")


def _labelled_at_canonical_scale(rgb: np.ndarray, rbc_diameter_px: float, *,
                                 measure: bool = False) -> tuple[np.ndarray, float | None]:
    """Labels of ``rgb`` (at its own pixels) segmented at :data:`_CANONICAL_DIAMETER_PX`, and
    with ``measure`` the median diameter (px of ``rgb``) of the red-cell sized objects found
    (None without)."""
    height, width = rgb.shape[:2]
    factor = min(_CANONICAL_DIAMETER_PX / rbc_diameter_px,
                 max(1.0, np.sqrt(_MAX_CANONICAL_PIXELS / (height * width))))
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    if size == (width, height):
        canonical, factor = rgb, 1.0
    else:
        canonical = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if factor < 1
                               else cv2.INTER_LINEAR)
        factor = size[0] / width
    diameter = rbc_diameter_px * factor
    strong, weak = _stained(canonical)
    raw = _with_faint_objects(strong, weak, _MAX_FAINT * np.pi * (diameter / 2) ** 2)
    pale = pale_stain(canonical, raw)
    labels, area, sized = _labelled(canonical, raw, pale, diameter, sized=measure)
    # Measured before the rims are grown: the scale estimate stays that of the stained cells.
    median = (median_cell_diameter_px(sized[1:], rbc_diameter_px * factor) / factor
              if sized is not None else None)
    labels = _rims_grown(labels, area, weak | pale, diameter)
    if labels.shape != (height, width):  # a strip's width may round back to itself
        # Nearest-neighbour keeps labels whole; an object smaller than a pixel of a
        # downsampled field may vanish, so the labels are renumbered. INTER_NEAREST_EXACT maps
        # pixel centres to pixel centres, as the image's own resize does: INTER_NEAREST takes
        # the source pixel at floor(x * ratio), which moved every object towards larger x and
        # y by half a pixel of the finer of the two grids: 0.47 px of a Chula field at
        # 0.2 um/px, 0.25 px of its pixels at 2x. The crops' registration, and with it calls
        # near the threshold, changed with the magnification.
        labels = _relabelled(cv2.resize(labels, (width, height),
                                        interpolation=cv2.INTER_NEAREST_EXACT), 1)
    return labels, median


def _labelled(rgb: np.ndarray, raw: np.ndarray, pale: np.ndarray, rbc_diameter_px: float, *,
              sized: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The objects of a canonical field, 1..N, and their areas (px, ``np.bincount`` of them);
    with ``sized``, the areas of the objects split before white cells are set apart from red
    cells (:func:`_white_cells_set_apart`), which the scale is estimated from: the pieces cut
    off beside a white cell moved the scale of the whole field by up to 18% (QA 161 M-1).
    Without, that split is not made (a declared scale, or one already estimated)."""
    closing = max(2, int(round(rbc_diameter_px * _CLOSING)))
    cell_area = np.pi * (rbc_diameter_px / 2) ** 2
    mask = _filled(_with_pale(raw, pale, closing, rbc_diameter_px), closing,
                   _MAX_PALLOR_AREA * cell_area, rbc_diameter_px, cell_area)
    # One look-up of the nuclear stain over the field serves every object's test.
    stain = _nuclear_stain(rgb, _background_colour(rgb))
    apart = _white_cells_set_apart(mask, rgb, stain, rbc_diameter_px)
    labels, area = _objects(apart, stain, rbc_diameter_px)
    if not sized:
        return labels, area, None
    return labels, area, area if apart is mask else _objects(mask, stain, rbc_diameter_px)[1]


def _objects(mask: np.ndarray, stain: np.ndarray, rbc_diameter_px: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """The objects of a canonical field's filled ``mask``, touching cells split, 1..N, and
    their areas (px, ``np.bincount`` of them); ``stain`` is the field's nuclear stain
    (:func:`_nuclear_stain`)."""
    cell_area = np.pi * (rbc_diameter_px / 2) ** 2
    labels = _halves_merged(_cut_at_cusps(_split_touching(mask, rbc_diameter_px), stain,
                                          rbc_diameter_px), cell_area)
    min_area = np.pi * (_MIN_DIAMETER_FRACTION * rbc_diameter_px / 2) ** 2
    return _relabelled_with_areas(labels, min_area)


def _rims_grown(labels: np.ndarray, area: np.ndarray, weak: np.ndarray, rbc_diameter_px: float
                ) -> np.ndarray:
    """``labels`` (whose label counts are ``area``) with its small objects grown by up to
    :data:`_RIM` d into the ``weak`` stain that touches them.

    Each step gives an unlabelled weak pixel the label of its labelled 8-neighbours; a pixel
    between two objects stays background, so that objects neither merge nor gain a shared
    edge they did not have.
    """
    steps = max(1, int(round(_RIM * rbc_diameter_px)))
    small = area < _RIM_MAX_AREA * np.pi * (rbc_diameter_px / 2) ** 2
    small[0] = False
    large = ~small
    large[0] = False
    square = np.ones((3, 3), np.uint8)
    # Only small objects grow; larger ones stay as they are, but block the growth of others.
    values = np.where(small, np.arange(len(small)), 0).astype(np.float32)[labels]  # exact < 2**24
    grow = weak & (labels == 0) & (cv2.dilate(large[labels].view(np.uint8), square) == 0)
    # Only pixels within `steps` of a small object can be reached: they are listed once and
    # each step looks at those it has not reached yet, not at the whole field (~3x faster).
    within = cv2.dilate((values > 0).view(np.uint8), square, iterations=steps)
    rows, cols = np.nonzero(grow & (within > 0))
    taken_rows, taken_cols = [rows[:0]], [cols[:0]]
    for _ in range(steps):
        highest, lowest = _neighbour_range(values, rows, cols)
        reached = highest > 0  # a labelled 8-neighbour
        if not reached.any():
            break
        one = reached & (lowest == highest)  # all its labelled neighbours are of one object
        values[rows[one], cols[one]] = highest[one]
        taken_rows.append(rows[one])
        taken_cols.append(cols[one])
        rows, cols = rows[~reached], cols[~reached]
    # Fronts of two objects that reached neighbouring pixels in the same step are cut back.
    rows, cols = np.concatenate(taken_rows), np.concatenate(taken_cols)
    highest, lowest = _neighbour_range(values, rows, cols)
    rows, cols = rows[lowest == highest], cols[lowest == highest]
    grown = labels.copy()
    grown[rows, cols] = values[rows, cols].astype(np.int32)
    return grown


def _neighbour_range(values: np.ndarray, rows: np.ndarray, cols: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The highest value and the lowest nonzero one of non-negative float32 ``values`` in the
    3x3 square around each pixel (``rows``, ``cols``): what ``cv2.dilate`` gives there, and
    ``cv2.erode`` with zeros taken as infinite (pixels outside the image do not count)."""
    # Zeros around the image count for neither: values are >= 0, and zeros are left out of the
    # lowest.
    stride = values.shape[1] + 2
    padded = _padded(values, 1).ravel()
    offsets = np.array([dr * stride + dc for dr in (-1, 0, 1) for dc in (-1, 0, 1)])
    window = padded[offsets[:, None] + ((rows + 1) * stride + cols + 1)]
    return window.max(axis=0), np.where(window > 0, window, np.float32(np.inf)).min(axis=0)


def median_cell_diameter_px(areas: np.ndarray, rbc_diameter_px: float) -> float:
    """Median equivalent diameter (px) of the objects that are red-cell sized
    (:func:`_red_cell_sized`), given the objects' ``areas`` (px); ``rbc_diameter_px`` when
    none is."""
    sized = _red_cell_sized(areas, rbc_diameter_px)
    return float(np.median(sized)) if sized.size else rbc_diameter_px


def _red_cell_sized(areas: np.ndarray, rbc_diameter_px: float) -> np.ndarray:
    """Equivalent diameters (px) of the objects of ``areas`` (px) that are red-cell sized: not
    under half or over twice the expected diameter ``rbc_diameter_px`` (platelets, debris,
    white cells, clumps)."""
    diameters = np.sqrt(4 / np.pi * areas)
    return diameters[(diameters > 0.5 * rbc_diameter_px) & (diameters < 2 * rbc_diameter_px)]


#: The upper quartile of a field's red-cell sized diameters over their median: 1.063 in the 504
#: Chula fields whose labels hold under 5% schistocytes (interquartile range 1.052-1.078; BCCD's
#: fields 1.130) (ad hoc, 2026-12-06).
UPPER_QUARTILE_OVER_MEDIAN = 1.063


def whole_cell_pixel_size_um(seg: Segmentation) -> float:
    """The pixel size (um/px) of a field as its whole red cells give it: the upper quartile of
    ``seg``'s red-cell sized objects (:func:`_red_cell_sized`) taken as
    :data:`UPPER_QUARTILE_OVER_MEDIAN` times a normal red cell's 7.5 um; NaN without one. A
    declared pixel size is checked against it, a field's own and its slide's
    (:mod:`smearscan.pipeline`).

    Fragments pull a median down where they abound: Chula 488, 67% of its labels schistocytes,
    read 0.284 um/px from its median, 1.42x off the dataset's 0.2, and was left out of the count
    as taken at another objective; 551 (79%) at a declared 0.195 (QA 94). From the upper
    quartile they read 0.248 and 0.230. Over the Chula fields the estimate is as close to the
    declared 0.2 as the median's (median |log ratio| 0.061 against 0.065; BCCD 0.107 against
    0.116) (ad hoc, 2026-12-06)."""
    area = np.bincount(seg.labels.ravel())[1:]
    sized = _red_cell_sized(area[area > 0], seg.rbc_diameter_px)
    if not sized.size:
        return float("nan")
    return NORMAL_RBC_DIAMETER_UM * UPPER_QUARTILE_OVER_MEDIAN / float(np.percentile(sized, 75))
