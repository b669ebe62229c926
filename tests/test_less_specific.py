"""End to end: the less-specific flag on real and synthetic slides (segmentation, classifier,
slide statistics), as ``scripts/less_specific_slides.py`` measures it on more slides."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from synthetic import BACKGROUND, CELL, PALLOR

from smearscan.batch import RunOptions, analyse_slides
from smearscan.datasets import PIXEL_SIZE_UM, chula_fields, split_fields
from smearscan.loading import find_slides
from smearscan.report import _less_specific_text
from smearscan.slide_stats import SchistocyteCount

SAMPLES = Path(__file__).resolve().parents[1] / "datasets" / "samples"


def schistocytes(paths: list[Path], pixel_size: float) -> list[SchistocyteCount]:
    """The schistocyte count of each slide of ``paths``."""
    outcomes = analyse_slides(find_slides(paths), out=None, progress=False,
                              options=RunOptions(pixel_size_um=pixel_size))
    return [outcome.summary.statistics.schistocytes for outcome in outcomes]


def linked(folder: Path, images: list[Path]) -> Path:
    folder.mkdir(parents=True)
    for image in images:
        (folder / image.name).symlink_to(image.resolve())
    return folder


def elliptical_cells(seed: int, axis_ratio: float, *, radius: float = 18.0,
                     shape: tuple[int, int] = (480, 640)) -> np.ndarray:
    """A 4 x 5 grid of cells of one area, stretched to ``axis_ratio``, randomly turned."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    image = np.empty((*shape, 3), np.float32)
    image[:] = BACKGROUND
    long, short = radius * np.sqrt(axis_ratio), radius / np.sqrt(axis_ratio)
    for i in range(4):
        for j in range(5):
            x, y = 70 + j * 120 + rng.uniform(-10, 10), 70 + i * 110 + rng.uniform(-10, 10)
            turn = rng.uniform(0, np.pi)
            u = (cols - x) * np.cos(turn) + (rows - y) * np.sin(turn)
            v = (y - rows) * np.cos(turn) + (cols - x) * np.sin(turn)
            reach = np.hypot(u / long, v / short)
            image[reach <= 1] = CELL
            image[reach <= 0.35] = PALLOR
    image += rng.normal(0, 3, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def test_bundled_sample_fields_are_not_flagged():
    chula = schistocytes([SAMPLES / "chula-1.jpg"], PIXEL_SIZE_UM["chula"])
    bccd = schistocytes([SAMPLES / "bccd-00000.jpg"], PIXEL_SIZE_UM["bccd"])
    for result in chula + bccd:
        assert (result.less_specific, result.less_specific_forms) == (False, ())


def test_a_bccd_slide_is_not_flagged(shared_datasets, tmp_path):
    """BCCD's 72 test fields (normal smears) as one slide."""
    root = shared_datasets / "bccd"
    names = (root / "ImageSets" / "Main" / "test.txt").read_text().split()
    slide = linked(tmp_path / "bccd", [root / "JPEGImages" / f"{n}.jpg" for n in names])
    [result] = schistocytes([slide], PIXEL_SIZE_UM["bccd"])
    assert result.proportion.denominator > 500
    assert (result.less_specific, result.less_specific_forms) == (False, ())


def test_a_held_out_elliptocytosis_slide_is_flagged_elliptocyte_3_plus(shared_datasets,
                                                                       tmp_path):
    """The Chula test-split fields (never trained on) whose labels are mostly elliptocytes."""
    test = split_fields(chula_fields(shared_datasets / "chula-rbc-12"))["test"]
    fields = [f.image for f in test if f.points and Counter(
        name for _, _, name in f.points).most_common(1)[0][0] == "elliptocyte"]
    assert len(fields) == 7
    [result] = schistocytes([linked(tmp_path / "elliptocytosis", fields)],
                            PIXEL_SIZE_UM["chula"])
    assert [(f.shape, f.grade) for f in result.less_specific_forms] == [
        ("elliptocyte", "3+")]
    assert result.less_specific is True


def test_synthetic_elliptocytosis_slide_is_flagged_and_round_cells_are_not(tmp_path):
    """Six generated fields of 20 cells each: stretched 2.5:1 (an elliptocytosis slide) or
    round (the same cells unstretched); with three, too few cells to grade."""
    results = {}
    for name, ratio, fields in (("elliptocytes", 2.5, 6), ("round", 1.0, 6), ("few", 2.5, 3)):
        folder = tmp_path / name
        folder.mkdir()
        for k in range(fields):
            Image.fromarray(elliptical_cells(20 + k, ratio)).save(folder / f"f{k}.png")
        [results[name]] = schistocytes([folder], PIXEL_SIZE_UM["chula"])
    assert results["elliptocytes"].less_specific is True
    assert results["elliptocytes"].less_specific_forms[0].shape == "elliptocyte"
    assert (results["round"].less_specific, results["round"].less_specific_forms) == (
        False, ())
    few = results["few"]
    assert (few.proportion.denominator, few.less_specific) == (60, False)
    # QA 134 D3: the terminal table said "no" (not flagged) of shapes never graded.
    assert [(r.shapes_graded, _less_specific_text(r)) for r in (results["round"], few)] == [
        (True, "no"), (False, "not graded")]
    assert few.sentence.endswith(
        " Other shapes not graded: 60 red cells lie clear of others, under the 100 this tool "
        "grades on (a crowded area, or too few cells: photograph more fields, where the cells "
        "lie apart).")


@pytest.mark.parametrize("name", ["chula-1.jpg", "bccd-00000.jpg"])
def test_sample_fields_are_not_flagged_at_the_estimated_pixel_size(name):
    """As a lab runs ``smearscan datasets/samples/<field>`` without --pixel-size."""
    [result] = schistocytes([SAMPLES / name], None)
    assert (result.less_specific, result.less_specific_forms) == (False, ())
