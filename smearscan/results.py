"""The data that flows from the per-field work to the process writing the outputs.

Plain, picklable dataclasses and nothing else: a worker (a local process, a Dask worker)
receives a :class:`FieldTask` and returns a :class:`FieldResult`; the process that writes the
outputs (:mod:`smearscan.batch`) turns a slide's field results into its outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from smearscan.loading import DEFAULT_MAX_PIXELS


@dataclass(frozen=True)
class FieldTask:
    """What a worker needs to analyse one field; plain and picklable.

    A worker reads ``path`` and never writes: ``mask`` and ``overlay`` ask it to return those
    images encoded, and the process that owns the output folder writes them.
    """

    slide: str
    path: Path
    image: str
    pixel_size_um: float | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS
    model_path: Path | None = None
    classify: bool = True
    mask: bool = False
    overlay: bool = False
    review: bool = False

    @property
    def key(self) -> tuple[str, str]:
        """(slide, image): what a result is matched to its task by, whatever order it comes in."""
        return self.slide, self.image


@dataclass(frozen=True)
class ReviewCell:
    """A cell shown to the technologist for confirmation: its call and a small JPEG crop."""

    image: str
    cell_id: int
    label: str
    probability: float
    jpeg: bytes


@dataclass(frozen=True)
class ModelInfo:
    """What the slide statistics and the outputs need of the classifier that made the calls.

    It travels with each field's result, so that the process writing the outputs never has to
    load the model itself.
    """

    version: str
    operating: dict

    def to_dict(self) -> dict[str, Any]:
        """The ``"model"`` entry of ``summary.json`` and ``slide.json``."""
        return {"version": self.version, "operating_points": self.operating}


@dataclass(frozen=True)
class FieldResult:
    """The cells of one field, or the reason it has none.

    ``mask_png`` and ``overlay_png`` are the encoded images the task asked for; the writer drops
    them once written, so that a slide's results in memory hold only what its report needs.
    """

    slide: str
    image: str
    path: Path
    cells: dict[str, np.ndarray] = field(default_factory=dict)
    width: int = 0
    height: int = 0
    pixel_size_um: float = float("nan")
    pixel_size_estimated: bool = False
    error: str | None = None
    thumbnail: bytes | None = None
    review_cells: tuple[ReviewCell, ...] = ()
    model: ModelInfo | None = None
    mask_png: bytes | None = None
    overlay_png: bytes | None = None

    @property
    def key(self) -> tuple[str, str]:
        """(slide, image), as :attr:`FieldTask.key`."""
        return self.slide, self.image

    @property
    def count(self) -> int:
        """Number of objects found."""
        return len(self.cells.get("cell_id", ()))
