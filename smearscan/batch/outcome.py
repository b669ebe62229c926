"""What a slide run is given (:class:`RunOptions`) and gives back (:class:`SlideOutcome`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from smearscan.loading import DEFAULT_MAX_PIXELS
from smearscan.results import SlideSummary


@dataclass(frozen=True)
class RunOptions:
    """Settings of a run that change its results (they enter the resume fingerprint)."""

    pixel_size_um: float | None = None
    max_pixels: int = DEFAULT_MAX_PIXELS
    model_path: Path | None = None
    classify: bool = True
    save_masks: bool = False
    overlay: bool = False
    population: str = "adult"
    labs_path: Path | None = None
    #: ``--trust-pixel-size``: recorded in the outputs (qacli5 LOW-1); it counts the fields
    #: that the declared size does not fit, which are otherwise left out (QA 50).
    trust_pixel_size: bool = False


@dataclass
class SlideOutcome:
    """One analysed (or resumed) slide.

    ``name`` is also its folder below ``DIR/slides/`` and its key in ``summary.json``;
    ``source`` the input path it came from ("" when not known). A run leaves ``cells_csv``
    None: the cells are on disk (``DIR/slides/<name>/cells.csv``), so that its memory does not
    grow with its slides; a caller holding a slide's CSV text (the review app) gives it here.
    ``errors`` are ``(slide, image, error)``: the slide's failed fields and problems.
    ``superseded``: files (relative to ``DIR``) an earlier analysis of the slide wrote and
    this one did not, to be removed (listed in ``slide.json`` until they are). ``kept``: why a
    resumed slide some or all of whose images could not be read on this run kept its earlier
    analysis as it was (:attr:`resumed_note`); empty for any other.
    """

    name: str
    summary: SlideSummary
    cells_csv: str | None = None
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    resumed: bool = False
    model: dict | None = None
    report: Path | None = None
    source: str = ""
    superseded: tuple[str, ...] = ()
    kept: str = ""

    @property
    def resumed_note(self) -> str:
        """How the terminal marks a slide not analysed on this run ("" for one that was): a
        kept slide is told from one resumed with its images read and matched (QA 146 L-2)."""
        if self.kept:
            return f"kept as it was: {self.kept} (see errors.csv)"
        return "resumed" if self.resumed else ""
