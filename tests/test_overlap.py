"""Fields of one slide that show the same cells (smearscan.overlap)."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy import ndimage as ndi

import smearscan
from smearscan.cli import main
from smearscan.overlap import MIN_COINCIDING, FieldCentres, FieldOverlap, overlapping_fields

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "samples" / "chula-1.jpg"


def _slide_area(seed: int, count: int = 400) -> np.ndarray:
    """Cell centres over a 1600 x 480 px strip of a slide, at least 30 px apart."""
    rng = np.random.default_rng(seed)
    points: list[np.ndarray] = []
    while len(points) < count:
        point = rng.uniform((0, 0), (1600, 480))
        if all(np.hypot(*(point - p)) >= 30 for p in points):
            points.append(point)
    return np.array(points)


def _view(area: np.ndarray, left: float, name: str, jitter: float = 1.0) -> FieldCentres:
    """The whole cells a 640 x 480 field whose left edge lies at ``left`` sees, each centre
    moved by up to ``jitter`` px (segmentation moves outlines a little)."""
    inside = area[(area[:, 0] >= left + 20) & (area[:, 0] < left + 620)
                  & (area[:, 1] >= 20) & (area[:, 1] < 460)]
    moved = inside - (left, 0) + np.random.default_rng(len(name)).uniform(-jitter, jitter,
                                                                          inside.shape)
    return FieldCentres(name, moved, 640, 480, 40.0)


def test_two_views_of_one_area_overlap_with_the_stage_move():
    area = _slide_area(0)
    found = overlapping_fields([_view(area, 0, "a"), _view(area, 300, "b"),
                                _view(area, 620, "c")])  # a and c share a 20 px strip
    assert [(o.first, o.second) for o in found] == [("a", "b"), ("b", "c")]
    shift = found[0].shift_px
    assert abs(shift[0] - 300) < 1.5 and abs(shift[1]) < 1.5
    assert found[0].coinciding == found[0].shared


def test_views_of_different_areas_do_not_overlap():
    fields = [_view(_slide_area(seed), 0, f"f{seed}") for seed in range(6)]
    assert overlapping_fields(fields) == ()


@pytest.mark.parametrize(("cells", "called"), [(MIN_COINCIDING - 1, False),
                                               (MIN_COINCIDING, True)])
def test_an_overlap_needs_its_least_number_of_coinciding_cells(cells, called):
    # Cells 60 px apart in a 200 px wide strip that two fields share, nothing else alike.
    shared = np.column_stack([np.full(cells, 540.0), 40.0 + 55 * np.arange(cells)])
    first = np.vstack([shared, [[100.0, 100.0], [200.0, 300.0]]])
    second = np.vstack([shared - (440, 0), [[500.0, 100.0], [400.0, 300.0]]])
    found = overlapping_fields([FieldCentres("a", first, 640, 480, 40.0),
                                FieldCentres("b", second, 640, 480, 40.0)])
    assert [(o.coinciding, o.shared) for o in found] == ([(cells, cells)] if called else [])


def _centres_of(mask: np.ndarray, name: str) -> FieldCentres:
    """The centres of a mask's blobs, as a field's whole cells."""
    labels, count = ndi.label(mask)
    centres = np.array(ndi.center_of_mass(mask, labels, range(1, count + 1)))[:, ::-1]
    return FieldCentres(name, centres, mask.shape[1], mask.shape[0], 40.0)


# What each copy is of the field, made as a program would make it: numpy's turns (anticlockwise)
# and mirrors of the field's pixels.
TURNED_COPIES = {
    "turned 90 degrees clockwise": lambda m: np.rot90(m, -1),
    "turned 180 degrees": lambda m: np.rot90(m, 2),
    "turned 90 degrees anticlockwise": lambda m: np.rot90(m, 1),
    "mirrored left to right": np.fliplr,
    "mirrored top to bottom": np.flipud,
    "mirrored left to right, then turned 90 degrees clockwise": lambda m: np.rot90(np.fliplr(m),
                                                                                  -1),
    "mirrored left to right, then turned 90 degrees anticlockwise": lambda m: np.rot90(
        np.fliplr(m), 1),
}


@pytest.mark.parametrize("turned", list(TURNED_COPIES))
def test_a_turned_or_mirrored_copy_of_a_field_is_found_with_how_it_was_turned(turned):
    # QA 65 F8: a field's copy turned 180 degrees (a camera's orientation tag, another program)
    # was counted twice, unnamed.
    mask = np.zeros((480, 640), bool)
    for x, y in _slide_area(3, count=120)[:, :2] * (0.4, 1):
        mask[int(y) - 3:int(y) + 4, int(x) - 3:int(x) + 4] = True
    first = _centres_of(mask, "a")
    copy = _centres_of(TURNED_COPIES[turned](mask), "b")
    found = overlapping_fields([first, copy, _view(_slide_area(4), 0, "c")])
    assert [(o.first, o.second, o.turned, o.shift_px) for o in found] == [
        ("a", "b", turned, (0.0, 0.0))]
    assert found[0].coinciding == found[0].shared > 100  # every cell half a cell in from the edges


def test_an_overlap_reads_back_from_its_summary_entry():
    overlap = FieldOverlap("a.png", "b.png", (240.14, -0.06), 19, 22)
    entry = overlap.to_dict()
    assert entry == {"first": "a.png", "second": "b.png", "shift_px": [240.1, -0.1],
                     "coinciding": 19, "shared": 22, "turned": ""}
    assert FieldOverlap.from_dict(entry) == FieldOverlap("a.png", "b.png", (240.1, -0.1), 19, 22)
    # An entry written before 0.3.13 has no "turned".
    del entry["turned"]
    assert FieldOverlap.from_dict(entry).turned == ""
    turned = FieldOverlap("a.png", "c.png", (0.0, 0.0), 30, 30, "turned 180 degrees")
    assert FieldOverlap.from_dict(turned.to_dict()) == turned


def test_a_slide_of_overlapping_photographs_is_flagged_everywhere(tmp_path, capsys):
    # Two photographs of the sample field, the stage moved 240 px between them (160 px
    # shared), and a copy of the first mirrored top to bottom (QA 65 F8).
    field = cv2.imread(str(SAMPLE))
    slide = tmp_path / "slide"
    slide.mkdir()
    cv2.imwrite(str(slide / "a.png"), field[:, :400])
    cv2.imwrite(str(slide / "b.png"), field[:, 240:])
    cv2.imwrite(str(slide / "c.png"), field[::-1, :400])
    out = tmp_path / "out"
    assert main([str(slide), "--out", str(out), "--quiet"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[1].endswith("fields overlap: 2 pairs")
    recorded = json.loads((out / "summary.json").read_text())["slides"]["slide"]
    assert [(o["first"], o["second"], round(o["shift_px"][0]), round(o["shift_px"][1]),
             o["turned"]) for o in recorded["overlapping_fields"]] == [
        ("a.png", "b.png", 240, 0, ""), ("a.png", "c.png", 0, 0, "mirrored top to bottom")]
    report = (out / "slides" / "slide" / "report.html").read_text()
    assert "<b>2 pair(s) of fields overlap</b>: a.png and b.png (" in report
    assert re.search(r"; a\.png and c\.png \(\d+ of the \d+ whole cells where both show the "
                     r"slide lie at the same place; c\.png is a copy of a\.png mirrored top to "
                     r"bottom\)", report)
    analysis = smearscan.analyse_slide(slide)
    assert [(o.first, o.second) for o in analysis.overlapping_fields] == [("a.png", "b.png"),
                                                                        ("a.png", "c.png")]


CHULA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "chula-rbc-12" / "Dataset"


@pytest.mark.parametrize("pixel_size_um", [0.2, 0.202, 0.26])
def test_a_small_true_overlap_is_found_whatever_the_declared_scale(pixel_size_um):
    # QA 83 #5: Chula fields 66 and 73 share 9 cells (the top left of 66 is the bottom right of
    # 73, a pair the dataset's lists miss); found at 0.202 and 0.26 um/px, missed at 0.2, where
    # a move of 11 px drew more chance votes than the true one. Their shared cells lie round
    # 73's scale bar, whose cells a slide leaves out (smearscan.annotation); the test takes
    # every cell the image edge does not cut, to test the stage move's vote on these fields.
    if not CHULA.is_dir():
        pytest.skip("the Chula dataset is not beside the project")
    from smearscan.features import image_edge_flags
    from smearscan.loading import read_field
    from smearscan.overlap import field_centres
    from smearscan.pipeline import field_cells

    views = []
    for name in ("66.jpg", "73.jpg"):
        rgb = read_field(CHULA / name)
        measured = field_cells(rgb, pixel_size_um=pixel_size_um, model=None,
                               trust_pixel_size=True)
        labels = measured.segmentation.labels
        cells = measured.cells | {"border": image_edge_flags(labels, int(labels.max()))}
        views.append(field_centres(name, cells, rgb.shape[1], rgb.shape[0], pixel_size_um))
    (found,) = overlapping_fields(views)
    assert (found.first, found.second, found.turned) == ("66.jpg", "73.jpg", "")
    assert found.shift_px == pytest.approx((-465.5, -239.8), abs=1.0)
    assert found.coinciding >= MIN_COINCIDING


def test_fields_of_a_few_cells_are_compared_without_a_warning():
    # A folder run of BCCD and PBC fields printed numpy's "Mean of empty slice" mid-run: a
    # field of one or two cells leaves most bins of the vote grid empty, and the fullest of
    # them were taken with no votes.
    few = [FieldCentres(name, np.array(centres, float), 640, 480, 40.0) for name, centres in
           (("a", [[100, 100]]), ("b", [[500, 300], [120, 400]]), ("c", [[320, 240]]))]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert overlapping_fields(few) == ()
