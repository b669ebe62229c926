"""Pictures of the review: a cell's crop and its whole field, outlined in the reviewed classes.

The batch run keeps no label images by default, so a field is segmented again, as the run did
(same image, same conditioning, same pixel size); its file's SHA-256 and its object count are
checked against the run's record, so that a field changed since the run is refused rather than
outlined wrongly.
"""

from __future__ import annotations

import threading
from pathlib import Path

import cv2
import numpy as np
from cachetools import LRUCache, cached

from smearscan.errors import UnusableFieldError
from smearscan.loading import ImageLoadError, content_digest, read_field
from smearscan.outputs import jpeg_bytes
from smearscan.pipeline import kept_objects, prepared
from smearscan.render import (
    inner_boundaries,
    overlay_image,
    review_size,
    review_window,
    thumbnail,
)
from smearscan.review.records import Cells, ConflictError, FieldSource

#: Outline and label colour of the cell a field view is opened for (none of the class colours).
_MARK = (255, 255, 0)


#: Bytes of fields held segmented (this tool's rule): a slide's galleries are sorted by
#: probability over all its fields, so their tiles come from field after field; 8 fields held
#: re-segmented a field for nearly every tile of a 25-field slide, and the field view waited
#: 14-39 s behind them (QA 61 F2). 400 MiB holds ~190 640x480 fields, ~11 of 5 Mpx.
SEGMENTED_BYTES = 400 * 2**20


def _nbytes(segmented: tuple[np.ndarray, np.ndarray, str | None]) -> int:
    return segmented[0].nbytes + segmented[1].nbytes


@cached(LRUCache(SEGMENTED_BYTES, getsizeof=_nbytes), lock=threading.Lock())
def _segmented(path: Path, pixel_size_um: float | None,
               stamp: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, str | None]:
    """The field as read and its labels, segmented as the run did: its picture taken out of a
    canvas and conditioned as the run did (:func:`~smearscan.pipeline.prepared`: uneven light
    evened, camera noise smoothed; a field the run conditioned segmented differently as read),
    and the file's SHA-256. ``stamp`` (size, mtime) is part of the key: a file changed while the
    app runs is read again."""
    rgb = read_field(path)
    seen = prepared(rgb)
    labels = kept_objects(seen, pixel_size_um)[0].labels
    return rgb, seen.picture.placed(labels), content_digest(path)


def segmented_field(image: str, source: FieldSource) -> tuple[np.ndarray, np.ndarray]:
    """The field's RGB image and label image (label = ``cell_id``), as the run made them.

    Raises
    ------
    ConflictError
        The image is unknown to the run's record, unreadable, or segments differently now.
    """
    if source.path is None:
        raise ConflictError(f"{image}: the run did not record where its fields are; re-run "
                            "the batch analysis with this version of smearscan")
    try:
        stat = source.path.stat()
        rgb, labels, digest = _segmented(source.path, source.pixel_size_um,
                                         (stat.st_size, stat.st_mtime_ns))
    except (ImageLoadError, UnusableFieldError, OSError) as error:
        raise ConflictError(f"{source.path}: cannot read this field now ({error})") from None
    if source.digest is not None and digest != source.digest:
        # QA 61 F1: another field with as many objects was shown, outlined as this one.
        raise ConflictError(f"{source.path}: the field changed since the run (the file is not "
                            "the one analysed); re-run the batch analysis")
    found = int(labels.max(initial=0))
    if found != source.objects:
        raise ConflictError(f"{source.path}: the field changed since the run ({found} objects "
                            f"now, {source.objects} then); re-run the batch analysis")
    return rgb, labels


def _label_classes(cells: Cells, rows: np.ndarray, labels: np.ndarray,
                   classes: np.ndarray) -> np.ndarray:
    """The class of each label 1..N of one field, from its cells' rows."""
    by_label = np.full(int(labels.max(initial=0)), "other", dtype=object)
    by_label[cells.cell_id[rows] - 1] = classes[rows]
    return by_label


def crop_jpeg(image: str, source: FieldSource, cells: Cells, row: int,
              classes: np.ndarray) -> bytes:
    """The gallery tile of cell ``row``: the report's crop, outlined in the reviewed classes."""
    rgb, labels = segmented_field(image, source)
    rows, columns = cells.field_columns(image)
    window = review_window(columns, int(np.flatnonzero(rows == row)[0]))
    outlined = overlay_image(rgb[window], labels[window],
                             _label_classes(cells, rows, labels, classes))
    return jpeg_bytes(review_size(outlined))


def _outlined_field(image: str, source: FieldSource, cells: Cells,
                    classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The whole field with every outline in its class of ``classes``, and its labels."""
    rgb, labels = segmented_field(image, source)
    rows, _ = cells.field_columns(image)
    return overlay_image(rgb, labels, _label_classes(cells, rows, labels, classes)), labels


def field_picture_jpeg(image: str, source: FieldSource, cells: Cells,
                       classes: np.ndarray) -> bytes:
    """The report's picture of a field (:func:`~smearscan.render.thumbnail`), every outline in
    its reviewed class."""
    return jpeg_bytes(thumbnail(_outlined_field(image, source, cells, classes)[0]))


def field_jpeg(image: str, source: FieldSource, cells: Cells, row: int,
               classes: np.ndarray) -> bytes:
    """The whole field at full resolution, every outline in its reviewed class, the cell of
    ``row`` outlined thickly and its ``cell_id`` written beside it."""
    out, labels = _outlined_field(image, source, cells, classes)
    cell_id = int(cells.cell_id[row])
    edge = cv2.dilate(inner_boundaries(labels == cell_id).astype(np.uint8), np.ones((3, 3)))
    out[edge.astype(bool)] = _MARK
    x, y = int(round(cells.x[row])), int(round(cells.y[row]))
    radius = int(cells.diameter_um[row] / np.sqrt(cells.area_um2[row] / cells.area_px[row]) / 2)
    origin = (min(max(0, x + radius + 2), out.shape[1] - 40), max(14, y - radius))
    cv2.putText(out, f"#{cell_id}", origin, cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3,
                cv2.LINE_AA)
    cv2.putText(out, f"#{cell_id}", origin, cv2.FONT_HERSHEY_SIMPLEX, 0.5, _MARK, 1, cv2.LINE_AA)
    return jpeg_bytes(out)
