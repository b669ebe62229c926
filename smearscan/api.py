"""The Python API: analyse a field or a slide in one call.

::

    import smearscan
    field = smearscan.analyse_image("field.png")
    slide = smearscan.analyse_slide(["f1.png", "f2.png"])

The same stages as the ``smearscan`` command, in this process, without output files; errors
are raised (:class:`~smearscan.errors.SmearscanError`, one line naming the file), not recorded,
but for a slide's fields that cannot be analysed: as the CLI, :func:`analyse_slide` leaves them
out, in :attr:`SlideAnalysis.failed`, while any field can be.
"""

from __future__ import annotations

import numbers
import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from smearscan.batch.summary import field_summary
from smearscan.classification import CellClassifier, load_model
from smearscan.classification.model import check_operating_points
from smearscan.errors import UnusableFieldError
from smearscan.loading import (
    ImageLoadError,
    Slide,
    file_identity,
    find_slides,
    jpeg_quality,
    read_field,
    to_rgb,
    without_copies,
)
from smearscan.overlap import FieldOverlap, field_centres, overlapping_fields
from smearscan.pipeline import (
    FieldResult,
    ModelInfo,
    ScaleCheck,
    cached_model,
    check_declared_pixel_size,
    field_cells,
)
from smearscan.results import (
    FieldSummary,
    SlideSummary,
    median_diameter,
    slide_statistics,
    whole_rbc_diameters,
)
from smearscan.slide_stats import SlideResult, check_population

__all__ = ["FieldAnalysis", "SlideAnalysis", "analyse_image", "analyse_slide", "load_model"]


@dataclass(frozen=True)
class FieldAnalysis:
    """The analysis of one field.

    Attributes
    ----------
    cells : dict of str to (N,) ndarray
        One entry per column of ``cells.csv``, in its order: ``slide``, ``image``, ``cell_id``,
        ``x``, ``y`` (centroid, px), ``area_px``, ``area_um2``, ``diameter_um``, ``border``,
        ..., ``class``, ``morphology``, ``p_<class>`` (probabilities 0-1).
        ``pandas.DataFrame(field.cells)`` makes it a table.
    summary : FieldSummary
        The field as ``summary.json`` records it (its ``per_field`` entry is
        ``summary.to_dict()``): ``image``, ``width``, ``height`` (px), ``objects``,
        ``border_objects``, ``pixel_size_um`` (um/px), ``pixel_size_estimated``,
        ``edge_width_um`` (focus: the red cells' edge width, um; None when not measurable),
        ``light_falloff`` (darkest over brightest background light; None when not measurable),
        ``evened`` (the field was evened before analysis, :mod:`smearscan.illumination`),
        ``noise_levels`` (its noise, levels of 255) and ``smoothed_px`` (the Gaussian it was
        smoothed by before analysis, :mod:`smearscan.noise`; 0 when it was not),
        ``picture_box`` (first row, end row, first column, end column of the picture analysed
        where a canvas or frame lines were taken off round it, :mod:`smearscan.framing`; None
        when nothing was), ``taken_off`` (what was: ``"canvas"``, ``"frame lines"``),
        ``canvas_uncut`` (why a flat canvas found round part of it was left in; None when none
        was), ``painted_px`` (pixels of a burned-in scale bar, label or arrow painted out,
        :mod:`smearscan.annotation`; 0 when none was; the objects it touches are border
        objects), ``jpeg_quality`` (the quality a JPEG file was saved at,
        :func:`smearscan.loading.jpeg_quality`; None for another format or an array),
        ``counts`` (whole objects per class).
    labels : (H, W) int32 ndarray
        The objects' mask: 0 background, else the object's ``cell_id``.
    model_version : str or None
        The classifier that made the calls; None without one.
    """

    cells: dict[str, np.ndarray]
    summary: FieldSummary
    labels: np.ndarray
    model_version: str | None


@dataclass(frozen=True)
class SlideAnalysis:
    """The analysis of one slide (its fields pooled).

    Attributes
    ----------
    name : str
    fields : tuple of FieldAnalysis
    cells : dict of str to (N,) ndarray
        All fields' cells, columns as in :attr:`FieldAnalysis.cells`.
    result : SlideResult
        Counts, schistocyte percentage of red cells with its Wilson 95% interval, the same
        corrected for the classifier's error, and the call against the reference limit, made on
        the corrected interval where there is one (``schistocytes.call_interval()`` says which;
        none within the limit for a slide out of focus or whose declared pixel size is in
        doubt and not trusted), NRBCs,
        immature granulocytes, leukoerythroblastic finding, morphology profile (macrocytes and
        microcytes only when ``pixel_size_um`` was given).
    overlapping_fields : tuple of smearscan.overlap.FieldOverlap
        Pairs of fields that show the same cells, which ``result`` counts twice.
    copies : tuple of (str, str)
        Images left out as the same bytes as a field kept, ``(copy, kept)`` (the CLI's
        "counted once").
    failed : tuple of (str, str)
        Fields left out as they could not be analysed, ``(image, reason)``: unreadable, blank,
        too dark, overexposed, grayscale, or off the slide's scale with a declared pixel size
        (:func:`~smearscan.pipeline.require_declared_scale`). The CLI leaves them out likewise
        (and exits 3);
        each is also a :class:`UserWarning`.
    own_pixel_size_um : float or None
        With ``pixel_size_um`` given, the slide's own estimate it was compared with (um/px).
    """

    name: str
    fields: tuple[FieldAnalysis, ...]
    cells: dict[str, np.ndarray]
    result: SlideResult
    overlapping_fields: tuple[FieldOverlap, ...] = ()
    copies: tuple[tuple[str, str], ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    own_pixel_size_um: float | None = None

    @property
    def scale_doubts(self) -> tuple[str, ...]:
        """What doubts a declared pixel size, as the CLI marks a slide "in doubt"
        (:attr:`~smearscan.results.SlideSummary.scale_doubts`): ``"own estimate"``, the slide's
        own estimate, and ``"median cell"``, its median whole red cell at the declared size,
        more than 1.15x off; also with ``trust_pixel_size`` (QA 57 #4: the API had no mark)."""
        return self._summary().scale_doubts

    @property
    def off_scale_fields(self) -> tuple[str, ...]:
        """The fields counted although their own estimated pixel size differs from the slide's
        (the median of its fields'; with a declared size, the declared and the slide's own
        estimate, :func:`~smearscan.pipeline.off_declared_scale`): cells sized on another
        scale than the rest, as the CLI's table counts them
        (:attr:`~smearscan.results.SlideSummary.off_scale_fields`; qacli3 LOW-7: a folder of
        two microscopes' fields was pooled without a word)."""
        return self._summary().off_scale_fields

    def _summary(self) -> SlideSummary:
        return _scale_summary(self.fields, self.cells, self.own_pixel_size_um)


def _scale_summary(analysed: Sequence[FieldAnalysis], cells: dict[str, np.ndarray],
                   own_pixel_size_um: float | None, trusted: bool = False) -> SlideSummary:
    """The slide as the CLI's summary reads it, for its scale checks."""
    fields = tuple(field.summary for field in analysed)
    sizes = [f.pixel_size_um for f in fields if f.pixel_size_um is not None]
    return SlideSummary(fields, sum(f.objects for f in fields),
                        float(np.median(sizes)) if sizes else None,
                        any(f.pixel_size_estimated for f in fields),
                        median_rbc_diameter_um=median_diameter([whole_rbc_diameters(cells)]),
                        own_pixel_size_um=own_pixel_size_um, pixel_size_trusted=trusted)


def _path(value: object, what: str, expected: str = "a file path (str or os.PathLike)") -> Path:
    """``value`` as a path: a non-empty str or path-like, else a one-line TypeError or
    ValueError naming what was given (pathlib's own errors name none of it) and what else
    ``what`` takes (QA 115 F4: a list or a model number was told only of paths)."""
    if not isinstance(value, str | os.PathLike):
        raise TypeError(f"{what}: expected {expected}, got {type(value).__name__}")
    if not os.fspath(value):
        raise ValueError(f"{what}: an empty path")
    return Path(value)


def _model(model: CellClassifier | str | os.PathLike | None) -> CellClassifier:
    if isinstance(model, CellClassifier):
        check_operating_points(model, f"model {model.version}")
        return model
    return cached_model(_path(model, "model", "a CellClassifier from load_model() or a model "
                              "file path") if model is not None else None)


def _rgb_array(rgb: np.ndarray) -> np.ndarray:
    """An image array as a file of it is read (qacli8 L-9: a grayscale or opaque RGBA array was
    refused where the same file is read)."""
    array = np.asarray(rgb)
    # QA 50 F8: the message named (H, W, 3) alone, and (H, W, 1) raised another error.
    shaped = array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))
    if not shaped or array.dtype != np.uint8 or not array.size:
        # QA 162 L3: a camera's 16-bit or a float array got no word on what to do; casting
        # alone would not do for a shape that is wrong too (QA 163 L2).
        how = ("; scale it to 0-255 and cast it to uint8, or give the path of its file (a "
               "16-bit file is read)" if shaped and array.size and array.dtype != np.uint8
               else "")
        raise ValueError(f"an image array must be (H, W) grayscale, (H, W, 3) RGB or (H, W, 4) "
                         f"RGBA uint8 with at least one pixel, got {array.shape} "
                         f"{array.dtype}{how}")
    return to_rgb(array, "image array")


def analyse_image(path_or_rgb: str | os.PathLike | np.ndarray, pixel_size_um: float | None = None,
                  model: CellClassifier | str | os.PathLike | None = None, *,
                  trust_pixel_size: bool = False) -> FieldAnalysis:
    """Segment, measure and classify every object of one field.

    Parameters
    ----------
    path_or_rgb : str, path or (H, W, 3) uint8 ndarray
        An image file (JPEG, PNG, TIFF, BMP, WebP, GIF; any mode, EXIF orientation honoured) or
        an RGB array, read as such a file is: (H, W) grayscale or (H, W, 4) RGBA with an opaque
        alpha channel too. Not BGR: convert OpenCV's ``cv2.imread`` arrays with
        ``cv2.cvtColor(array, cv2.COLOR_BGR2RGB)`` (the stain's colours do not tell the two
        orders apart, and a BGR field reads about a third of its schistocytes).
    pixel_size_um : float, optional
        Pixel size, um/px. Without it the scale is estimated from the field's median red cell
        (taken as 7.5 um) and ``summary.pixel_size_estimated`` is True. A pixel size outside
        the plausible range, or more than 1.5x from the field's own estimate, is refused as
        the CLI's ``--pixel-size`` is (a wrong unit gives a confident wrong count).
    model : CellClassifier, str or path, optional
        From :func:`load_model`, or a model file; default the shipped classifier.
    trust_pixel_size : bool, keyword-only
        Use ``pixel_size_um`` even where the field's estimate disagrees (``--trust-pixel-size``).

    Returns
    -------
    FieldAnalysis

    Raises
    ------
    smearscan.loading.ImageLoadError
        The file cannot be read as an image (one line naming it), or an array has
        transparent pixels.
    smearscan.classification.ModelLoadError
        The model file cannot be used.
    smearscan.errors.UnusableFieldError
        A grayscale image (``ColourlessFieldError``: the classifier needs the stain's colour),
        an overexposed one (``OverexposedFieldError``), or a too dark or blank one
        (``BlankFieldError``).
    smearscan.segmentation.PixelSizeError
        ``pixel_size_um`` implausible, or contradicted by the field (one line with both).
    ValueError
        An array that is not (H, W), (H, W, 3) or (H, W, 4) uint8.
    """
    if isinstance(path_or_rgb, np.ndarray):
        rgb, path, slide, image = _rgb_array(path_or_rgb), Path(), "", ""
    else:
        path = _path(path_or_rgb, "path_or_rgb", "a file path or an RGB numpy array (np.asarray "
                     "makes one of a list or a PIL image)")
        rgb, slide, image = read_field(path), path.stem, path.name
    check = (_check_scale([path if image else rgb], pixel_size_um, trust=trust_pixel_size)
             if pixel_size_um is not None else None)
    return _field_analysis(rgb, path, slide, image, pixel_size_um, _model(model),
                           trust_pixel_size, check)


def _check_scale(fields: Sequence[Path | np.ndarray], pixel_size_um: object, *,
                 trust: bool) -> ScaleCheck | None:
    """The range of a declared pixel size, and unless ``trust`` the fields' own estimates
    (:func:`~smearscan.pipeline.check_declared_pixel_size`, as the CLI), whose doubt is a
    :class:`UserWarning`; the check, with the slide's own estimate it was compared with (None:
    no field to estimate it from). A pixel size that is not a real number is a TypeError naming
    it (a string would fail deep in the segmentation)."""
    if isinstance(pixel_size_um, bool) or not isinstance(pixel_size_um, numbers.Real):
        raise TypeError(f"pixel_size_um = {pixel_size_um!r}: expected a number (um/px)")
    check = check_declared_pixel_size(float(pixel_size_um), fields, trust=trust)
    if check is not None and check.warning is not None:
        warnings.warn(check.warning, UserWarning, stacklevel=3)
    return check


def _field_analysis(rgb: np.ndarray, path: Path, slide: str, image: str,
                    pixel_size_um: float | None, model: CellClassifier, trust: bool,
                    check: ScaleCheck | None) -> FieldAnalysis:
    try:
        measured = field_cells(rgb, pixel_size_um=pixel_size_um, model=model,
                               trust_pixel_size=trust,
                               slide_pixel_size_um=check.estimate_um if check else None,
                               slide_estimate_objects=check.objects if check else 0)
    except UnusableFieldError as error:
        if image:  # a file: its name leads the message, as for an unreadable one
            raise type(error)(f"{path}: {error}") from None
        raise
    seg, cells = measured.segmentation, measured.cells
    result = FieldResult(slide, image, path, cells, rgb.shape[1], rgb.shape[0],
                         seg.pixel_size_um, seg.pixel_size_estimated,
                         model=ModelInfo(model.version, model.operating),
                         edge_width_um=measured.edge_width_um,
                         condition=replace(measured.condition, jpeg_quality=(
                             jpeg_quality(path) if image else None)),
                         own_pixel_size_um=measured.own_pixel_size_um)
    if "class" not in cells:  # no objects: the classifier's columns, empty
        cells = cells | {"class": np.zeros(0, str), "morphology": np.zeros(0, str)} | {
            f"p_{name}": np.zeros(0, np.float32) for name in model.classes}
    columns = {"slide": np.full(result.count, slide, dtype=object),
               "image": np.full(result.count, image, dtype=object), **cells}
    return FieldAnalysis(columns, field_summary(result), seg.labels, model.version)


def analyse_slide(paths: str | os.PathLike | Iterable[str | os.PathLike], *,
                  pixel_size_um: float | None = None,
                  model: CellClassifier | str | os.PathLike | None = None,
                  population: str = "adult", trust_pixel_size: bool = False) -> SlideAnalysis:
    """Analyse the fields of one slide and pool them into the slide statistics.

    Parameters
    ----------
    paths : folder, or iterable of image files
        A folder of fields (sub-folders included) is one slide named after it; a list of
        files is one slide named after their common folder.
    pixel_size_um : float, optional, keyword-only
        As for :func:`analyse_image`.
    model : CellClassifier, str or path, optional, keyword-only
        As for :func:`analyse_image`.
    population : {"adult", "child", "neonate", "preterm"}, keyword-only
        Sets the schistocyte reference limit: <= 1% adults and term neonates, <= 5% preterm
        infants (ICSH 2021); children 1% (this tool's rule: ICSH gives them none).
    trust_pixel_size : bool, keyword-only
        As for :func:`analyse_image`; the fields are compared as in the CLI.

    Returns
    -------
    SlideAnalysis

    Raises
    ------
    FileNotFoundError, smearscan.classification.ModelLoadError
        A missing path, an unreadable model (one line naming it).
    smearscan.loading.ImageLoadError, smearscan.errors.UnusableFieldError
        No field could be analysed: the first field's error (one line naming it). A slide
        with some usable fields leaves the others out, in :attr:`SlideAnalysis.failed`
        (qacli3: one blank field failed a slide of six).
    smearscan.segmentation.PixelSizeError, TypeError
        As for :func:`analyse_image`.
    ValueError
        No fields, or a folder of several slides.
    """
    check_population(population)  # before any field is analysed
    slide = _slide(paths)
    loaded = _model(model)
    check = (_check_scale(slide.fields, pixel_size_um, trust=trust_pixel_size)
             if pixel_size_um is not None else None)
    fields, failed = _usable_fields(slide, pixel_size_um, loaded, trust_pixel_size, check)
    cells = {name: np.concatenate([field.cells[name] for field in fields])
             for name in fields[0].cells}
    own = check.estimate_um if check is not None else None
    overlaps = overlapping_fields([
        field_centres(f.summary.image, f.cells, f.summary.width, f.summary.height,
                      f.summary.pixel_size_um) for f in fields if f.summary.objects])
    result = slide_statistics([f.summary for f in fields], label=cells["class"],
                              morphology=cells["morphology"],
                              border=cells["border"].astype(bool),
                              touching=cells["touching"].astype(bool), operating=loaded.operating,
                              population=population, scale_note=_scale_summary(
                                  fields, cells, own, trust_pixel_size).scale_note,
                              overlaps=overlaps)
    return SlideAnalysis(slide.name, fields, cells, result, overlaps, slide.copies, failed, own)


def _usable_fields(slide: Slide, pixel_size_um: float | None, model: CellClassifier,
                   trust: bool, check: ScaleCheck | None
                   ) -> tuple[tuple[FieldAnalysis, ...], tuple[tuple[str, str], ...]]:
    """The analyses of the fields of ``slide`` that can be analysed, and ``(image, reason)``
    of those that cannot, each warned of; the first error when no field can be."""
    fields, failed, first_error = [], [], None
    for path in slide.fields:
        image = path.relative_to(slide.root).as_posix()
        try:
            fields.append(_field_analysis(read_field(path), path, slide.name, image,
                                          pixel_size_um, model, trust, check))
        except (ImageLoadError, UnusableFieldError) as error:
            failed.append((image, str(error)))
            first_error = first_error or error
    if not fields:
        raise first_error
    for _, reason in failed:
        warnings.warn(f"{reason} (left out of slide {slide.name!r})", UserWarning, stacklevel=3)
    return tuple(fields), tuple(failed)


def _slide(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> Slide:
    """The slide ``paths`` name, each image's bytes once (as the CLI counts them)."""
    return without_copies([_given_slide(paths)])[0][0]


def _given_slide(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> Slide:
    if isinstance(paths, str | os.PathLike):
        slides = find_slides([_path(paths, "paths")])
        if len(slides) != 1:
            raise ValueError(f"{paths}: holds {len(slides)} slides (sub-folders); give one")
        if not slides[0].fields:  # each problem names its file or folder
            raise ValueError("; ".join(slides[0].problems) or f"{paths}: no image files")
        return slides[0]
    # Absolute, not resolved: a symbolic link keeps the folder it was given in (the name).
    if not isinstance(paths, Iterable):
        raise TypeError(f"paths: expected a folder or an iterable of image files, got "
                        f"{type(paths).__name__}")
    files = tuple(Path(os.path.abspath(_path(p, "paths"))) for p in paths)
    if not files:
        raise ValueError("no image files given")
    first: dict[tuple[int, int], Path] = {}
    for path in files:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such file")
        identity = file_identity(path)
        if identity in first:  # its cells would be counted twice
            raise ValueError(f"{path}: the same file as {first[identity]}; give each field once")
        first[identity] = path
    root = Path(os.path.commonpath([p.parent for p in files]))
    return Slide(root.name, root, files)
