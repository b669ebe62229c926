"""A field saved as a low-quality JPEG is said to be (``smearscan.loading.jpeg_quality``,
``LOW_JPEG_QUALITY``): its blocks read as ragged cell edges (QA 138 F1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from smearscan.cli import main
from smearscan.loading import LOW_JPEG_QUALITY, jpeg_quality, read_field
from smearscan.results import FieldSummary

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "samples" / "chula-1.jpg"


@pytest.mark.parametrize("quality", [1, 5, 10, 19, 25, 50, 89, 90, 95])
def test_the_quality_a_jpeg_was_saved_at_is_read_from_its_tables(tmp_path, quality):
    path = tmp_path / "field.jpg"
    Image.fromarray(read_field(SAMPLE)).save(path, quality=quality)
    assert jpeg_quality(path) == quality


@pytest.mark.parametrize("quality", [10, 50, 89, 90, 95])
def test_a_tiff_compressed_as_jpeg_is_rated_as_a_jpeg(tmp_path, quality):
    # QA 151 M-2: a slide scanner's TIFF compressed as JPEG was not rated.
    path = tmp_path / "field.tif"
    Image.fromarray(read_field(SAMPLE)).save(path, compression="jpeg", quality=quality)
    assert jpeg_quality(path) == quality


def test_a_lossless_tiff_or_a_webp_has_no_quality(tmp_path):
    rgb = Image.fromarray(read_field(SAMPLE))
    rgb.save(tmp_path / "deflate.tif", compression="tiff_adobe_deflate")
    rgb.save(tmp_path / "plain.tif")
    rgb.save(tmp_path / "lossy.webp", quality=50)  # WebP records no quality
    assert [jpeg_quality(tmp_path / name) for name in ("deflate.tif", "plain.tif", "lossy.webp")
            ] == [None, None, None]


def test_a_file_that_is_no_jpeg_has_no_quality(tmp_path):
    Image.fromarray(read_field(SAMPLE)).save(tmp_path / "field.png")
    (tmp_path / "notes.txt").write_text("not an image")
    assert [jpeg_quality(tmp_path / name) for name in ("field.png", "notes.txt", "none.jpg")
            ] == [None, None, None]
    assert jpeg_quality(SAMPLE) == 95  # Chula's own fields


@pytest.mark.parametrize(("quality", "compressed"), [
    (LOW_JPEG_QUALITY - 1, True), (LOW_JPEG_QUALITY, False), (None, False)])
def test_a_field_under_the_rule_is_compressed(quality, compressed):
    field = FieldSummary("field.jpg", jpeg_quality=quality)
    assert field.compressed is compressed
    assert FieldSummary.from_dict(field.to_dict()) == field


def test_the_report_names_the_fields_saved_at_a_low_quality(tmp_path):
    rgb = read_field(SAMPLE)
    for slide, name, quality in (("low", "field.jpg", 50), ("png", "field.png", None)):
        (tmp_path / slide).mkdir()
        Image.fromarray(rgb).save(tmp_path / slide / name, **(
            {"quality": quality} if quality else {}))
    out = tmp_path / "out"
    assert main([str(tmp_path / "low"), str(tmp_path / "png"), "--out", str(out),
                 "--pixel-size", "0.2", "--quiet"]) == 0
    slides = json.loads((out / "summary.json").read_text())["slides"]
    assert [slides[slide]["per_field"][0]["jpeg_quality"] for slide in ("low", "png")] == [
        50, None]
    low = (out / "slides" / "low" / "report.html").read_text()
    assert ("<b>1 of 1 field(s) saved as JPEG (or TIFF compressed as JPEG) at a low quality</b> "
            "(under 90, this tool's rule): field.jpg (50). Their schistocyte calls may be too "
            "many: a JPEG&#39;s blocks read as ragged cell edges") in low
    assert "; <b>low-quality JPEG</b> (quality 50, under 90)</figcaption>" in low
    assert "low quality" not in (out / "slides" / "png" / "report.html").read_text()
