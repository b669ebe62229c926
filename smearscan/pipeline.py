"""Per-field work: loading -> light and noise -> segmentation -> features -> classification.

:func:`analyse_field` takes a :class:`~smearscan.results.FieldTask` and returns a
:class:`~smearscan.results.FieldResult`; it never raises for a bad input (it records the error)
and never writes a file, so that it can run in any process of any machine that sees the inputs
(:mod:`smearscan.executor`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from smearscan.annotation import painted_out, without_annotation
from smearscan.errors import OffScaleFieldError, UnusableFieldError
from smearscan.features import cell_table
from smearscan.focus import edge_width_um
from smearscan.framing import Picture, canvas_left_in, framed, picture_said
from smearscan.illumination import evenly_lit, require_exposure
from smearscan.loading import (
    DEFAULT_MAX_PIXELS,
    FieldUnreadError,
    ImageLoadError,
    content_digest,
    jpeg_quality,
    read_field,
)
from smearscan.noise import quietened
from smearscan.outputs import jpeg_bytes, png_bytes
from smearscan.render import overlay_image, review_cells, thumbnail
from smearscan.results import Condition, FieldResult, FieldTask, ModelInfo
from smearscan.segmentation import (
    DOUBTFUL_SCALE,
    MAX_SCALE_DISAGREEMENT,
    NORMAL_RBC_DIAMETER_UM,
    PLAUSIBLE_DIAMETER_PX,
    Segmentation,
    blob_diameter_px,
    check_pixel_size,
    check_scale_agreement,
    doubtful_scale_warning,
    nuclear_fractions,
    require_cells,
    scales_disagree,
    segment_field,
    whole_cell_pixel_size_um,
)

if TYPE_CHECKING:  # ONNX Runtime is imported only where a field is classified
    from smearscan.classification import CellClassifier


def cached_model(model_path: Path | None):
    """The classifier at ``model_path`` (the shipped default when None), loaded once per process
    (once per worker of a pool or of a Dask cluster) and file: a model file replaced on disk,
    or a relative path read from another folder, is loaded again (QA 57 #1: the first one was
    kept); with :func:`~smearscan.classification.default_threads` threads; refused when it
    cannot correct a count (:func:`~smearscan.classification.model.check_operating_points`)."""
    if model_path is None:
        return _loaded_model(None, None)
    try:
        stat = Path(model_path).stat()
    except OSError:  # load_model names the problem
        return _loaded_model(model_path, None)
    return _loaded_model(model_path, (Path(model_path).resolve(), stat.st_size, stat.st_mtime_ns))


@lru_cache(maxsize=2)
def _loaded_model(model_path: Path | None, version: tuple | None):
    """:func:`cached_model` of the file ``version`` (its resolved path, size and modification
    time) identifies."""
    from smearscan import default_model_path
    from smearscan.classification import load_model
    from smearscan.classification.model import check_operating_points

    model = load_model(model_path)
    check_operating_points(model, model_path or default_model_path())
    return model


def classified_columns(
    rgb: np.ndarray, labels: np.ndarray, cells: dict[str, np.ndarray], *,
    pixel_size_um: float, model: CellClassifier,
) -> dict[str, np.ndarray]:
    """The ``class``, ``morphology`` and ``p_<class>`` columns of the cells of one field.

    An object called NRBC without a nucleus inside its own outline is called as if it could be
    no nucleated class (:data:`~smearscan.classification.inference.NRBC_MIN_NUCLEAR_FRACTION`);
    its ``p_nrbc`` stays the network's. So is an object called a nucleated class that is smaller
    than any nucleated cell
    (:func:`~smearscan.classification.inference.too_small_to_be_nucleated`).

    Raises
    ------
    ColourlessFieldError
        A grayscale field (:func:`~smearscan.classification.require_stain_colour`).
    """
    from smearscan.classification import classify, require_stain_colour
    from smearscan.classification.inference import (
        NRBC_MIN_NUCLEAR_FRACTION,
        calls_without_nucleus,
        too_small_to_be_nucleated,
    )

    require_stain_colour(rgb)
    calls = classify(model, model.crops(rgb, labels, cells, pixel_size_um=pixel_size_um))
    label = calls.label.astype(f"<U{max(map(len, model.classes))}")  # room for any class
    nrbc = np.flatnonzero(label == "nrbc")
    unnucleated = nrbc[nuclear_fractions(rgb, labels, cells["cell_id"][nrbc])
                       < NRBC_MIN_NUCLEAR_FRACTION] if len(nrbc) else nrbc
    recalled = np.union1d(unnucleated, too_small_to_be_nucleated(label, cells["area_um2"]))
    label[recalled] = calls_without_nucleus(calls.probabilities[recalled], model.classes,
                                            model.thresholds)
    columns = {"class": label, "morphology": calls.morphology}
    for index, name in enumerate(model.classes):
        columns[f"p_{name}"] = calls.probabilities[:, index]
    return columns


@dataclass(frozen=True)
class MeasuredField:
    """What one field's image gives: its objects, their columns, its focus and its condition.

    Attributes
    ----------
    segmentation : Segmentation
        The objects and the scale used.
    cells : dict of str to (N,) ndarray
        The per-object columns of ``cells.csv`` from ``cell_id`` on.
    edge_width_um : float
        The red cells' edge width (:func:`~smearscan.focus.edge_width_um`), nan when it
        cannot be measured.
    condition : Condition
        How the field was lit and how noisy it was, and what was done about it.
    own_pixel_size_um : float or None
        With a declared pixel size, the field's own estimate where it names the field off that
        size (:func:`off_declared_scale`), else None.
    """

    segmentation: Segmentation
    cells: dict[str, np.ndarray]
    edge_width_um: float
    condition: Condition
    own_pixel_size_um: float | None = None


@dataclass(frozen=True)
class Conditioned:
    """A field as the analysis sees it (:func:`conditioned`).

    Attributes
    ----------
    rgb : (H, W, 3) uint8 ndarray
        The field with a burned-in annotation painted out, evened and smoothed where it had to
        be.
    condition : Condition
        How it was lit, how noisy, and how much was painted out.
    painted : (H, W) bool ndarray or None
        The region painted out; None where nothing was.
    """

    rgb: np.ndarray
    condition: Condition
    painted: np.ndarray | None


@dataclass(frozen=True)
class Prepared(Conditioned):
    """A picture as the analysis sees it (:func:`prepared`): :class:`Conditioned`, and

    Attributes
    ----------
    picture : Picture
        The image's picture, out of any canvas around it; ``rgb`` is the picture's.
    """

    picture: Picture


def conditioned(rgb: np.ndarray) -> Conditioned:
    """The field as the analysis sees it: a burned-in annotation painted out, evened when it
    is lit much more unevenly than the training fields, then smoothed when it is much noisier;
    and how it was."""
    painted = painted_out(rgb)
    lit = evenly_lit(painted.rgb)
    quiet = quietened(lit.rgb)
    return Conditioned(quiet.rgb, Condition(lit.falloff, lit.evened, quiet.noise_levels,
                                            quiet.smoothed_px, painted_px=painted.pixels),
                       painted.region)


def prepared(rgb: np.ndarray) -> Prepared:
    """The image's picture, out of any canvas around it (:func:`~smearscan.framing.framed`),
    as the analysis sees it (:func:`conditioned`): every stage that segments a field
    (analysis, the scale check, the review app) starts here.

    Raises
    ------
    UnusableFieldError
        The picture is overexposed, too dark, masked or blank
        (:func:`~smearscan.illumination.require_exposure`).
    """
    picture = framed(rgb)
    try:
        require_exposure(picture.rgb)
    except UnusableFieldError as error:
        raise type(error)(_framing_said(str(error), picture)) from None
    seen = conditioned(picture.rgb)
    return Prepared(seen.rgb, seen.condition, seen.painted, picture)


def _framing_said(refusal: str, picture: Picture) -> str:
    """A refusal of ``picture`` with what framing found: which part of the image it speaks
    of where anything was taken off it (QA 70 F7: its shares are the picture's), and why a
    canvas found was not cut out (QA 70 F6, QA 67 L2: a field on a white canvas beside a
    caption was told to take it with less light)."""
    said = (f"{picture_said(picture.box, picture.taken_off)}: {refusal}" if picture.trimmed
            else refusal)
    return said if picture.uncut is None else f"{said}; {canvas_left_in(picture.uncut)}"


def field_cells(rgb: np.ndarray, *, pixel_size_um: float | None,
                model: CellClassifier | None, trust_pixel_size: bool = False,
                slide_pixel_size_um: float | None = None,
                slide_estimate_objects: int = 0) -> MeasuredField:
    """Take the picture out of a canvas around it (:func:`~smearscan.framing.framed`; what is
    found is put back in the image's frame), refuse an overexposed field, condition it
    (:func:`conditioned`) and segment it; estimate its own scale where a declared pixel size
    may not fit it (:func:`declared_scale_doubt`) and refuse it where that estimate
    contradicts it and the slide's own (``slide_pixel_size_um``, the estimate the declared size
    was compared with, from fields of a median ``slide_estimate_objects`` objects;
    :func:`require_declared_scale`) unless ``trust_pixel_size``; then measure and (with a
    model) classify its objects, and measure its focus.

    Raises
    ------
    UnusableFieldError
        Overexposed, too dark or blank (:func:`~smearscan.illumination.require_exposure`),
        grayscale when classified (:func:`~smearscan.classification.require_stain_colour`),
        off the declared scale (:func:`require_declared_scale`), or without a cell
        (:func:`~smearscan.segmentation.require_cells`).
    """
    seen = prepared(rgb)
    picture, rgb, condition = seen.picture, seen.rgb, seen.condition
    seg, touched = kept_objects(seen, pixel_size_um)
    own = declared_scale_doubt(rgb, seg) if pixel_size_um is not None else None
    if own is not None and not trust_pixel_size:
        require_declared_scale(own, pixel_size_um, slide_pixel_size_um, slide_estimate_objects)
    if own is not None and not off_declared_scale(own, pixel_size_um, slide_pixel_size_um):
        own = None
    require_cells(seg)
    cells = cell_table(seg.labels, rgb, pixel_size_um=seg.pixel_size_um)
    if touched is not None:
        # A cell under a painted-out annotation is cut by it, as by the picture's edge.
        cells["border"] = cells["border"] | touched
    if model is not None and len(cells["cell_id"]):
        cells |= classified_columns(rgb, seg.labels, cells, pixel_size_um=seg.pixel_size_um,
                                    model=model)
    return MeasuredField(replace(seg, labels=picture.placed(seg.labels)),
                         _in_image(cells, picture),
                         edge_width_um(rgb, seg.labels, pixel_size_um=seg.pixel_size_um,
                                       border=cells["border"]),
                         replace(condition, picture_box=picture.trimmed_box,
                                 taken_off=picture.taken_off, canvas_uncut=picture.uncut),
                         own.pixel_size_um if own is not None else None)


def kept_objects(seen: Prepared, pixel_size_um: float | None
                 ) -> tuple[Segmentation, np.ndarray | None]:
    """The objects analysis keeps of a field :func:`prepared` gave: segmented, an annotation's
    fill taken out (:func:`~smearscan.annotation.without_annotation`), in the picture's frame;
    and ``(n,)`` bool, the objects the annotation touches (None where nothing was painted out).
    The review app draws its fields from them, so that its cell ids are the run's."""
    seg = segment_field(seen.rgb, pixel_size_um=pixel_size_um)
    if seen.painted is None:
        return seg, None
    labels, touched = without_annotation(seg.labels, seen.picture.rgb, seen.painted)
    return replace(seg, labels=labels), touched


def _in_image(cells: dict[str, np.ndarray], picture: Picture) -> dict[str, np.ndarray]:
    """The cells' columns with their centroids in the image's frame, not the picture's."""
    return cells | {"x": cells["x"] + picture.left, "y": cells["y"] + picture.top}


#: How far off a declared pixel size a field's blobs (:func:`blob_diameter_px`) or its whole
#: red cells segmented at that size (:func:`~smearscan.segmentation.whole_cell_pixel_size_um`)
#: must read it for the field to be estimated in full, a second segmentation (this tool's
#: rule): a field at the declared scale costs only the blobs' guess (~6 ms). On 557 Chula
#: fields at 0.2 um/px and 120 BCCD fields at 0.073, every field that the full estimate put over
#: :data:`MAX_SCALE_DISAGREEMENT` off (1 and 6) had a guess over 1.25x off; the guess and the
#: full estimate differ by a median 1.00x, 99th percentile 1.41x (ad hoc, 2026-12-04). The
#: blobs alone missed 10 of the 159 fields that the estimate puts over :data:`SCALE_NAME` off
#: among 112 Chula fields resampled by 1.4x and 1.5x (whole, or a centre crop enlarged), the two
#: together 1; at the datasets' own sizes the whole cells add 2 of the 557 Chula fields and 1
#: of the 364 BCCD fields to those the blobs pass (6% of Chula's), none of them left out (QA
#: 97 M1: such fields were counted unnamed; ad hoc, 2026-12-06).
SCALE_SCREEN = 1.25
#: A field's own estimate refuses it only when it rests on at least this many objects (this
#: tool's rule): a field of few red cells reads up to twice the true scale. Those 7 fields read
#: 0.031-0.054 um/px from 7-24 objects (crowded BCCD fields, touching cells read as one; a
#: Chula field), a PBC monocyte crop 0.052 against 0.105 from 1; 23 Chula fields resampled by
#: 2x or 0.5x had 54-158 at their own scale (ad hoc, 2026-12-04). At the datasets' own sizes
#: the rule refuses 0 of 557 Chula fields, 0 of 364 BCCD fields and 14 of 3,201 PBC crops (12
#: neutrophils among pale red cells, read as fragments: 0.289 um/px from 68 objects for one)
#: (ad hoc, 2026-12-04).
SCALE_CHECK_MIN_OBJECTS = 40
#: A field's own estimate is kept (and the field named off scale where it disagrees) only when
#: it rests on at least this many objects (this tool's rule): PBC crops around a white cell
#: that disagree rest on a median of 2 (90th percentile 9), while a Chula field through a 2x
#: stronger objective (a quarter of it, enlarged) rests on 16-45 (ad hoc, 2026-12-04).
SCALE_NAME_MIN_OBJECTS = 12


#: A field whose own estimate rests on at least :data:`SCALE_CHECK_MIN_OBJECTS` objects is left
#: out already this far off the declared size, or named off scale where the size is trusted
#: (this tool's rule; QA 52 F6: fields taken through a 1.5x stronger objective, x40 to x60,
#: were counted unnamed; QA 58 F1: named, a 1.4x field was still counted, its cells cut in
#: pieces). At the datasets' own sizes it reaches no Chula field (of 557; at a declared 0.195
#: um/px one, 481, 1.40x off from 101 objects) and no BCCD field (of 364) (ad hoc, 2026-12-06;
#: 14 PBC crops of 3,201, all more than 1.5x off, on 2026-12-04, before the whole-cell
#: estimate); red cells of one patient vary far less than 1.35x from field to field. Before
#: 0.3.30 a field's median estimate left out Chula 488 at the dataset's 0.2 (1.42x; 67% of its
#: labels schistocytes), and 551, 483 and 482 as well at 0.195 (QA 94).
SCALE_NAME = 1.35


def declared_scale_doubt(rgb: np.ndarray, declared: Segmentation) -> Segmentation | None:
    """The conditioned field segmented at its own estimated scale, with the pixel size its whole
    red cells give (:func:`~smearscan.segmentation.whole_cell_pixel_size_um`: fragments pull a
    median down), where its blobs or the whole red cells of its segmentation at the declared
    pixel size (``declared``) read that size more than :data:`SCALE_SCREEN` off and the
    estimate rests on at least :data:`SCALE_NAME_MIN_OBJECTS` objects, else None (~6 ms; the
    estimate, a second segmentation, only where either doubts)."""
    declared_size = declared.pixel_size_um
    guesses = (lambda: NORMAL_RBC_DIAMETER_UM / blob_diameter_px(rgb),
               lambda: whole_cell_pixel_size_um(declared))
    if not any(np.isfinite(guess := read()) and scales_disagree(guess, declared_size,
                                                                 SCALE_SCREEN)
               for read in guesses):
        return None
    own = _own_scale(rgb)
    measured = np.isfinite(own.pixel_size_um) and own.count >= SCALE_NAME_MIN_OBJECTS
    return own if measured or _beyond_red_cell_size(own) else None


def _own_scale(rgb: np.ndarray) -> Segmentation:
    """The conditioned field ``rgb`` segmented at its own estimated scale, with the pixel size
    its whole red cells give (:func:`~smearscan.segmentation.whole_cell_pixel_size_um`): the
    one estimate a declared pixel size is checked against, a field's and its slide's."""
    segmented = segment_field(rgb)
    return replace(segmented, pixel_size_um=whole_cell_pixel_size_um(segmented))


def _beyond_red_cell_size(own: Segmentation) -> bool:
    """Whether a field's own estimate found blobs too large for a red cell at any pixel size
    this tool works with (:func:`~smearscan.segmentation.require_cells`)."""
    return own.count == 0 and own.rbc_diameter_px > PLAUSIBLE_DIAMETER_PX[1]


def require_declared_scale(own: Segmentation, pixel_size_um: float,
                           slide_pixel_size_um: float | None = None,
                           slide_estimate_objects: int = 0) -> None:
    """Refuse a field whose own estimate (``own``, :func:`declared_scale_doubt`; its whole red
    cells taken as 7.5 um) is off both
    the declared pixel size and the slide's own estimate ``slide_pixel_size_um`` (the one the
    declared size was compared with, from fields of a median ``slide_estimate_objects``
    objects; None: the declared size alone) by more than :data:`SCALE_NAME`, from at least
    :data:`SCALE_CHECK_MIN_OBJECTS` objects, or by more than
    :data:`~smearscan.segmentation.MAX_SCALE_DISAGREEMENT` from fewer in a slide whose own
    estimate rests on fields of at least that many (this tool's rules). QA 50: a field taken
    at twice the magnification, later in a slide than the fields the declared size was checked
    on, was read at that size, its cells cut in pieces, and counted unflagged; QA 58 F1: so was
    one 1.4x off, named but counted, 243 red cells for 109. An estimate from fewer objects can
    read twice the true scale in a slide of crops around white cells or of crowded fields: there
    such a field is only named (:func:`off_declared_scale`; refused, PBC's crops around an
    immature granulocyte went, and a leukoerythroblastic picture read "possible" for
    "present"). Among full fields it is left out (QA 60 F1: a 2x objective's field showing a
    quarter of the area, 30-38 objects, was counted at 3-5x its red cells): see
    :func:`_left_out_beyond`. A field that agrees with its slide is left to the
    slide's check
    (:func:`check_declared_pixel_size`: a declared size 1.15-1.5x off the slide is used with a
    warning), not refused field by field (QA 60 F2: a slide declared at 1.44x lost 14 of its 24
    fields). One off less far is counted, and named off scale where :func:`off_declared_scale`
    says so (:attr:`~smearscan.results.SlideSummary.off_scale_fields`).

    Raises
    ------
    OffScaleFieldError
        One line with the sizes; a batch records the field as failed and goes on.
    """
    if _beyond_red_cell_size(own):
        # QA 67 M3: such a field (cells ~644 px at a declared 0.2 um/px) was counted at the
        # declared size, its cells cut into hundreds of "red cells" and "platelets".
        raise OffScaleFieldError(
            f"its stained blobs measure {own.rbc_diameter_px:.0f} px across, over the "
            f"{PLAUSIBLE_DIAMETER_PX[1]:g} px of a red cell this tool works with, where "
            f"--pixel-size {pixel_size_um:g} um/px gives red cells of "
            f"{NORMAL_RBC_DIAMETER_UM / pixel_size_um:.0f} px: taken at another objective or "
            "enlarged? Left out of the count; --trust-pixel-size (trust_pixel_size=True in "
            "Python) counts it at the declared size")
    limit = _left_out_beyond(own.count, slide_estimate_objects)
    if limit is None or not _off_slide(own, pixel_size_um, slide_pixel_size_um, limit):
        return
    slide = ("" if slide_pixel_size_um is None else
             f" and the slide's own {slide_pixel_size_um:.3g} um/px")
    # QA 78 L3: blurred or crowded fields were told only of another objective.
    raise OffScaleFieldError(
        f"its own pixel size, {own.pixel_size_um:.3g} um/px from {own.count} objects (its "
        f"whole red cells taken as {NORMAL_RBC_DIAMETER_UM:g} um), disagrees with --pixel-size "
        f"{pixel_size_um:g} um/px{slide} by more than {limit:g}x (this tool's rule): taken at "
        "another objective or camera setting, or too blurred or crowded for its red cells to be "
        "measured? Left out of the count; --trust-pixel-size (trust_pixel_size=True in Python) "
        "counts it at the declared size")


def _left_out_beyond(objects: int, slide_objects: int) -> float | None:
    """How far off its slide a field whose own estimate rests on ``objects`` objects is left
    out, in a slide whose own estimate rests on fields of a median ``slide_objects``; None:
    never, only named (this tool's rule). From fewer than :data:`SCALE_CHECK_MIN_OBJECTS`
    objects, as far off as it is named (:func:`off_declared_scale`), but only among full
    fields. Of 60 Chula fields with a quarter of each enlarged 2x, the 31 estimated from 13-39
    objects read 1.84-2.30x off; enlarged 1.5x, the 7 from 22-38 objects 1.51-1.64x; of 557
    Chula fields at their own size, one is over 1.5x off from fewer than 40 objects (265.jpg,
    3.70x from 24, wrongly). Slides of crops around white cells (PBC: a median 15 objects, none
    of 300 crops 40 or more) and of crowded fields (BCCD: a median 25, none of 364 40 or more)
    are left to naming: 25 of the 3,201 PBC crops read over 1.5x off from 12-32 objects,
    immature granulocytes among them (ad hoc, 2026-12-05)."""
    if objects >= SCALE_CHECK_MIN_OBJECTS:
        return SCALE_NAME
    return MAX_SCALE_DISAGREEMENT if slide_objects >= SCALE_CHECK_MIN_OBJECTS else None


def off_declared_scale(own: Segmentation, pixel_size_um: float,
                       slide_pixel_size_um: float | None = None) -> bool:
    """Whether a field's own estimate (``own``, :func:`declared_scale_doubt`) names it off its
    slide's scale: off both the declared pixel size and the slide's own estimate (None: the
    declared size alone) by more than :data:`SCALE_NAME` from at least
    :data:`SCALE_CHECK_MIN_OBJECTS` objects, more than
    :data:`~smearscan.segmentation.MAX_SCALE_DISAGREEMENT` from fewer (which can read twice the
    true scale). A slide whose every field is off the declared size is marked "in doubt"
    instead (:attr:`~smearscan.results.SlideSummary.scale_doubts`)."""
    limit = SCALE_NAME if own.count >= SCALE_CHECK_MIN_OBJECTS else MAX_SCALE_DISAGREEMENT
    return _off_slide(own, pixel_size_um, slide_pixel_size_um, limit)


def _off_slide(own: Segmentation, pixel_size_um: float, slide_pixel_size_um: float | None,
               limit: float) -> bool:
    """Whether ``own`` is off both the declared size and the slide's estimate by ``limit``."""
    size = own.pixel_size_um
    return scales_disagree(size, pixel_size_um, limit) and (
        slide_pixel_size_um is None or scales_disagree(size, slide_pixel_size_um, limit))


#: A declared pixel size that the first usable field doubts is compared again with the median
#: estimate of this many, spread over the slide (:func:`scale_check_order`; this tool's rule):
#: one field with few red cells beside a large white cell (a CellaVision crop) can read twice
#: the true scale, and one such field refused a correct declared size.
SCALE_CHECK_FIELDS = 5


def scale_check_order(count: int) -> list[int]:
    """The order in which :func:`check_declared_pixel_size` estimates a slide's ``count``
    fields: the first, then the rest of :data:`SCALE_CHECK_FIELDS` spread evenly over the
    slide up to its last, then the others in the slide's order (taken where one of those is
    unusable). Fields taken at another objective come in runs: QA 60 F3, in a slide of 10 whose
    first 3 were taken through a 1.5x stronger objective, the median of the first 5 was theirs,
    so the slide was called in doubt and those 3 counted, their cells cut in pieces."""
    spread = dict.fromkeys(np.linspace(0, count - 1, SCALE_CHECK_FIELDS).round().astype(int)
                           .tolist()) if count else {}
    return [*spread, *(index for index in range(count) if index not in spread)]


@dataclass(frozen=True)
class ScaleCheck:
    """A declared pixel size beside the slide's own estimate it was compared with (um/px,
    its whole red cells taken as 7.5 um), estimated from ``source``, whose fields held a median
    of ``objects``; ``trusted``: declared with ``--trust-pixel-size``."""

    pixel_size_um: float
    estimate_um: float
    source: str
    objects: int
    trusted: bool = False

    @property
    def warning(self) -> str | None:
        """The one-line warning when the estimate doubts the declared size
        (:func:`~smearscan.segmentation.doubtful_scale_warning`), else None (also when
        trusted: the outputs still mark the doubt)."""
        if self.trusted:
            return None
        return doubtful_scale_warning(self.pixel_size_um, self.estimate_um, self.source)


def check_declared_pixel_size(pixel_size_um: float, fields: Sequence[Path | np.ndarray], *,
                              trust: bool = False, max_pixels: int | None = None
                              ) -> ScaleCheck | None:
    """Refuse a declared pixel size out of range, or, unless ``trust`` (``--trust-pixel-size``),
    one that the usable fields (readable, neither blank nor overexposed, with red cells to
    measure) of ``fields`` (paths, or RGB arrays) contradict as analysis sees them
    (:func:`~smearscan.segmentation.check_scale_agreement`), and return the estimate it was
    compared with, whose :attr:`ScaleCheck.warning` says whether it doubts it. The first
    field's estimate is compared; when it differs by more than
    :data:`~smearscan.segmentation.DOUBTFUL_SCALE`, the median of :data:`SCALE_CHECK_FIELDS`
    spread over the slide is (:func:`scale_check_order`). Unusable fields are skipped (the next
    in that order is taken); their analysis reports them.
    A trusted size is estimated too: neither refused nor warned of, its doubt is still marked in
    the slide's outputs (qacli4: a trusted size 1.21x off read 1.50% without a mark).

    Returns
    -------
    ScaleCheck or None
        None when no field has red cells to measure.

    Raises
    ------
    smearscan.segmentation.PixelSizeError
        One line with both values and the rule.
    """
    check_pixel_size(pixel_size_um)
    estimates, objects, sources = [], [], []
    ordered = (fields[index] for index in scale_check_order(len(fields)))
    for estimate, source in _field_estimates(ordered, max_pixels):
        estimates.append(estimate.pixel_size_um)
        objects.append(estimate.count)
        sources.append(source)
        if len(estimates) == 1 and not scales_disagree(estimates[0], pixel_size_um,
                                                       DOUBTFUL_SCALE):
            return ScaleCheck(pixel_size_um, estimates[0], source, estimate.count, trust)
        if len(estimates) == SCALE_CHECK_FIELDS:
            break
    if not estimates:
        return None
    source = sources[0] if len(sources) == 1 else (
        f"the median of {len(sources)} fields ({sources[0]} and {len(sources) - 1} more)")
    median = float(np.median(estimates))
    if not trust:
        check_scale_agreement(pixel_size_um, median, source)
    return ScaleCheck(pixel_size_um, median, source, int(np.median(objects)), trust)


def _field_estimates(fields: Iterable[Path | np.ndarray], max_pixels: int | None
                     ) -> Iterator[tuple[Segmentation, str]]:
    """Each usable field segmented at its own estimated pixel size, as analysis sees the field,
    with the pixel size its whole red cells give
    (:func:`~smearscan.segmentation.whole_cell_pixel_size_um`), and its name."""
    for field in fields:
        try:
            rgb = field if isinstance(field, np.ndarray) else read_field(
                field, max_pixels=max_pixels or DEFAULT_MAX_PIXELS)
            # As analysis sees it: in a dark corner cells merge and read larger.
            seen = prepared(rgb).rgb
        except (ImageLoadError, UnusableFieldError):
            continue
        # Its whole red cells' scale, as a field's own is checked (require_declared_scale): a
        # slide rich in fragments read off its true size (QA 97 M2: six Chula fields of mostly
        # schistocytes read 0.257 um/px at their 0.2, in doubt, and were refused at 0.17).
        estimate = _own_scale(seen)
        if np.isfinite(estimate.pixel_size_um):
            yield estimate, "the array" if isinstance(field, np.ndarray) else str(field)


def analyse_field(task: FieldTask) -> FieldResult:
    """Load, segment, measure and classify one field; errors are returned, not raised."""
    try:
        rgb = read_field(task.path, max_pixels=task.max_pixels)
    except ImageLoadError as error:
        return FieldResult(task.slide, task.image, task.path, error=str(error),
                           unread=isinstance(error, FieldUnreadError))
    if task.digest is not None and content_digest(task.path) != task.digest:
        # QA 62 F2: a Dask worker seeing other files at the same path (a stale mount) counted
        # them, and the result was kept under the fingerprint of the files the run read.
        return FieldResult(task.slide, task.image, task.path, unread=True, error=(
            f"{task.path}: not the file this run read when it started (changed since, or another "
            "copy where this worker reads it); left out, and tried again by the next run"))
    # Loaded even for a field without cells, so that a bad model file fails the first field.
    model = cached_model(task.model_path) if task.classify else None
    try:
        measured = field_cells(rgb, pixel_size_um=task.pixel_size_um, model=model,
                               trust_pixel_size=task.trust_pixel_size,
                               slide_pixel_size_um=task.slide_pixel_size_um,
                               slide_estimate_objects=task.slide_estimate_objects)
    except UnusableFieldError as error:
        return FieldResult(task.slide, task.image, task.path, error=f"{task.path}: {error}")
    seg, cells = measured.segmentation, measured.cells
    overlay = None
    if task.overlay or task.review:
        overlay = overlay_image(rgb, seg.labels, cells.get("class"))
    return FieldResult(
        task.slide, task.image, task.path, cells, rgb.shape[1], rgb.shape[0],
        seg.pixel_size_um, seg.pixel_size_estimated,
        thumbnail=jpeg_bytes(thumbnail(overlay)) if task.review else None,
        review_cells=review_cells(task.image, overlay, cells) if task.review else (),
        model=ModelInfo(model.version, model.operating) if model is not None else None,
        mask_png=png_bytes(seg.labels) if task.mask else None,
        overlay_png=png_bytes(overlay) if task.overlay else None,
        edge_width_um=measured.edge_width_um,
        condition=replace(measured.condition, jpeg_quality=jpeg_quality(task.path)),
        own_pixel_size_um=measured.own_pixel_size_um,
    )
