"""Noise (smearscan.noise): a field much noisier than the training fields is smoothed before it
is analysed; the others are analysed as they are."""

from __future__ import annotations

import math
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from synthetic import analysed_slides, grid_centres, image_quality, synthetic_field

from smearscan import noise
from smearscan.cli import main
from smearscan.loading import read_field
from smearscan.noise import NOISY_LEVELS, RESIDUAL_LEVELS, noise_levels, quietened

SAMPLES = Path(__file__).resolve().parents[1] / "datasets" / "samples"


def noisy(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """``rgb`` with Gaussian noise of ``sigma`` levels (``image_quality.py --change noise``), the
    seed these tests were written with."""
    return image_quality().noisy(rgb, sigma, seed=1)


def quiet_field() -> np.ndarray:
    """A 480x640 field of 48 red cells without noise."""
    field = synthetic_field(grid_centres(rows=6, cols=8, spacing=76, offset=50), shape=(480, 640))
    return cv2.GaussianBlur(field, (0, 0), 3.0)  # tests/synthetic.py's own noise taken out


@pytest.mark.parametrize("sigma", [2.0, 5.0, 10.0])
def test_the_noise_of_a_field_is_measured_on_its_background(sigma):
    assert noise_levels(noisy(quiet_field(), sigma)) == pytest.approx(sigma, rel=0.05)


@pytest.mark.parametrize("sample", ["chula-1.jpg", "bccd-00000.jpg"])
def test_the_sample_fields_are_quiet_and_analysed_as_they_are(sample):
    rgb = read_field(SAMPLES / sample)
    quiet = quietened(rgb)
    # Within the training fields' 0.6-2.6 levels (module docstring).
    assert 0.6 < quiet.noise_levels < 2.6 and quiet.smoothed_px == 0.0 and quiet.rgb is rgb


@pytest.mark.parametrize(("sigma", "low", "high", "smoothed"), [
    (3.0, 1.8, 2.2, False), (6.0, 3.25, 3.5, True), (10.0, 5.5, 5.75, True)])
def test_a_cameras_noise_is_read_over_blocks_of_pixels(sigma, low, high, smoothed):
    """Sensor noise interpolated by the camera and saved as JPEG reads 0.5 / 0.9 / 1.6 levels
    pixel by pixel on Chula fields; over 2x2 blocks it reads as on every 4th Chula field (the
    ranges here): the 6 and 10 levels that cost schistocytes are smoothed, 3 is not."""
    quiet = quietened(image_quality().camera_noisy(read_field(SAMPLES / "chula-1.jpg"), sigma))
    assert low < quiet.noise_levels < high
    assert (quiet.smoothed_px > 0) is smoothed


@pytest.mark.parametrize("scale", [1.5, 2.0])
def test_a_noisy_field_resampled_finer_is_still_smoothed(scale):
    noisy_field = noisy(read_field(SAMPLES / "chula-1.jpg"), 6.0)
    finer = cv2.resize(noisy_field, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    quiet = quietened(finer)
    assert quiet.noise_levels > NOISY_LEVELS and quiet.smoothed_px > 0


@pytest.mark.parametrize(("measured", "smoothed"), [
    (NOISY_LEVELS, False), (NOISY_LEVELS + 1e-9, True)])
def test_the_rule_at_its_boundary(monkeypatch, measured, smoothed):
    monkeypatch.setattr(noise, "noise_levels", lambda rgb: measured)
    rgb = quiet_field()
    quiet = quietened(rgb)
    assert (quiet.smoothed_px > 0) is smoothed and (quiet.rgb is rgb) is not smoothed
    if smoothed:
        assert quiet.smoothed_px == pytest.approx(measured / (2 * math.sqrt(math.pi) * 2.0))


@pytest.mark.parametrize("sigma", [6.0, 10.0])
def test_a_noisy_field_is_left_with_about_the_residual_noise(sigma):
    flat = np.full((480, 640, 3), 210, np.uint8)
    quiet = quietened(noisy(flat, sigma))
    assert quiet.noise_levels == pytest.approx(sigma, rel=0.05)
    left = quiet.rgb[20:-20, 20:-20].astype(float).std()
    assert left == pytest.approx(RESIDUAL_LEVELS, abs=0.3)


@pytest.mark.parametrize("image", [
    np.zeros((480, 640, 3), np.uint8),  # no background
    np.full((20, 30, 3), 200, np.uint8),  # too small to hold 250 blocks of background
    np.full((1, 2000, 3), 200, np.uint8),  # a strip one pixel high: no 2x2 block at all
    np.full((2000, 1, 3), 200, np.uint8),
])
def test_no_background_means_no_measure_and_no_smoothing(image):
    quiet = quietened(image)
    assert math.isnan(quiet.noise_levels) and quiet.smoothed_px == 0.0 and quiet.rgb is image


def test_a_noisy_field_is_counted_like_the_quiet_one(tmp_path, capsys):
    rgb = read_field(SAMPLES / "chula-1.jpg")
    slides = analysed_slides(tmp_path, {"quiet": rgb, "noisy": noisy(rgb, 8.0)},
                             "--pixel-size", "0.2")
    out = tmp_path / "out"
    quiet, loud = (slides[name]["per_field"][0] for name in ("quiet", "noisy"))
    assert quiet["smoothed_px"] == 0.0 and quiet["noise_levels"] < NOISY_LEVELS
    assert loud["noise_levels"] == pytest.approx(8.0, rel=0.05)
    assert loud["smoothed_px"] == pytest.approx(loud["noise_levels"] / (4 * math.sqrt(math.pi)),
                                                abs=1e-4)
    assert abs(loud["counts"]["rbc"] - quiet["counts"]["rbc"]) <= 3
    report = (out / "slides" / "noisy" / "report.html").read_text()
    assert (f"<b>noisy</b> ({loud['noise_levels']:.1f} levels of 255, over {NOISY_LEVELS:g}): "
            f"smoothed by {loud['smoothed_px']:.2f} px before analysis") in report
    assert ("<b>1 of 1 field(s) noisy</b> (over 3 levels of 255, this tool's rule): field.png. "
            "They were smoothed before analysis, which gives back little of the schistocytes "
            "noise hides") in report
    assert "so the schistocyte % may read low; a lower camera gain or a longer exposure" in report
    assert "field(s) noisy</b>" not in (out / "slides" / "quiet" / "report.html").read_text()


def test_the_field_table_says_what_was_done_to_each_field(tmp_path, capsys):
    rgb = read_field(SAMPLES / "chula-1.jpg")
    dark = image_quality().vignetted(rgb, 0.6)
    for name, image in (("as-given.png", rgb), ("noisy.png", noisy(rgb, 8.0)),
                        ("both.png", noisy(dark, 8.0))):
        cv2.imwrite(str(tmp_path / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    names = ("as-given.png", "noisy.png", "both.png")
    assert main([str(tmp_path / n) for n in names] + ["--pixel-size", "0.2", "--quiet"]) == 0
    lines = {line.split()[1]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert lines["as-given.png"].endswith(" -")
    assert re.search(r" smoothed 8\.\d$", lines["noisy.png"])
    assert re.search(r" evened 0\.\d\d, smoothed \d+\.\d$", lines["both.png"])

