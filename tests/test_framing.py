"""A field on a flat canvas is cut out of it and analysed as the field alone; a field as a
camera takes it is never cut."""

import html
import io
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from synthetic import analysed_slides

import smearscan
from smearscan.batch import SlideOutcome
from smearscan.datasets import bccd_fields, chula_fields
from smearscan.errors import UnusableFieldError
from smearscan.framing import framed
from smearscan.loading import ImageLoadError, read_field
from smearscan.report import field_table
from smearscan.results import SlideSummary

SAMPLES = Path(__file__).resolve().parents[1] / "datasets" / "samples"
SAMPLE = SAMPLES / "chula-1.jpg"


def _background(rgb: np.ndarray) -> list[int]:
    bright = rgb[:, :, 1] > np.percentile(rgb[:, :, 1], 60)
    return [int(np.bincount(rgb[:, :, c][bright], minlength=256).argmax()) for c in range(3)]


def _on_canvas(rgb: np.ndarray, colour, top: int = 120, left: int = 160, bottom: int = 120,
               right: int = 160) -> np.ndarray:
    canvas = np.empty((rgb.shape[0] + top + bottom, rgb.shape[1] + left + right, 3), np.uint8)
    canvas[:] = colour
    canvas[top:top + rgb.shape[0], left:left + rgb.shape[1]] = rgb
    return canvas


def _jpeg(rgb: np.ndarray) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=90)
    return np.asarray(Image.open(buffer).convert("RGB"))


@pytest.mark.parametrize("colour", ["background", (128, 128, 128), (255, 255, 255)])
def test_a_field_on_a_flat_canvas_is_its_picture(colour):
    rgb = read_field(SAMPLE)
    canvas = _on_canvas(rgb, _background(rgb) if colour == "background" else colour)
    picture = framed(canvas)
    assert picture.canvas_cut and picture.box == (120, 120 + rgb.shape[0], 160, 160 + rgb.shape[1])
    assert np.array_equal(picture.rgb, rgb)


def test_a_jpeg_canvas_leaves_at_most_its_ringing():
    # JPEG blocks across the picture's edge are not flat: up to 8 px of canvas stay in.
    rgb = read_field(SAMPLE)
    picture = framed(_jpeg(_on_canvas(rgb, (255, 255, 255))))
    truth = (120, 120 + rgb.shape[0], 160, 160 + rgb.shape[1])
    assert picture.canvas_cut
    assert max(abs(a - b) for a, b in zip(picture.box, truth, strict=True)) <= 8  # a block


@pytest.mark.parametrize("colour", [(128, 128, 128), (255, 255, 255)])
def test_a_caption_stays_out_of_the_picture_and_off_a_white_canvas_nothing_is_cut(colour):
    # On white, whatever lies beside the picture may be cells on a clipped area of the smear.
    rgb = read_field(SAMPLE)
    canvas = _on_canvas(rgb, colour)
    cv2.putText(canvas, "Pt 17 field N", (170, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (60, 40, 90), 4)
    picture = framed(canvas)
    assert picture.canvas_cut == (colour != (255, 255, 255))
    if picture.canvas_cut:
        assert picture.box == (120, 120 + rgb.shape[0], 160, 160 + rgb.shape[1])


def test_cells_on_a_clipped_edge_of_the_field_are_not_cut_off():
    # QA 70 F1: a field clipped white from column 400 on, but for a few cells on the white,
    # lost those cells with the "canvas".
    rgb = read_field(SAMPLE)
    clipped = rgb.copy()
    clipped[:, 400:] = 255
    assert framed(clipped).box == (0, rgb.shape[0], 0, 400)
    clipped[200:240, 500:540] = rgb[200:240, 500:540]
    assert not framed(clipped).canvas_cut


@pytest.mark.parametrize(("margin", "cut"), [(7, False), (8, True)])
def test_a_canvas_is_cut_from_8_px(margin, cut):
    rgb = read_field(SAMPLE)
    picture = framed(_on_canvas(rgb, (255, 255, 255), top=0, left=0, bottom=0, right=margin))
    assert picture.canvas_cut == cut


def test_fields_as_cameras_take_them_are_not_cut(shared_datasets):
    fields = ([f.image for f in chula_fields(shared_datasets / "chula-rbc-12")[::40]]
              + [f.image for f in bccd_fields(shared_datasets / "bccd")[::40]]
              + sorted(SAMPLES.glob("*.jpg")))
    assert len(fields) >= 20
    assert not any(framed(read_field(image)).trimmed for image in fields)


@pytest.mark.parametrize("width", [1, 2, 4])
def test_a_black_frame_line_round_a_camera_field_is_left_out_like_a_dark_one(tmp_path, width):
    # QA 74 N7: a black line round a camera field was refused when read, as a file cut short
    # (its last rows pure black); a dark grey one was left out and the field analysed.
    rgb = read_field(SAMPLE)
    box = (0, rgb.shape[0], 0, rgb.shape[1])
    results = []
    for name, colour in (("black", (0, 0, 0)), ("dark", (60, 60, 60))):
        Image.fromarray(_lined(rgb, box, width, colour)).save(tmp_path / f"{name}.png")
        results.append(smearscan.analyse_image(tmp_path / f"{name}.png", pixel_size_um=0.2))
    black, dark = results
    assert black.summary.picture_box == (width, rgb.shape[0] - width, width,
                                         rgb.shape[1] - width)
    assert black.summary.counts == dark.summary.counts
    assert np.array_equal(black.cells["x"], dark.cells["x"])
    # Black rows at the bottom alone are still a file cut short.
    bottom = rgb.copy()
    bottom[-width:] = 0
    Image.fromarray(bottom).save(tmp_path / "short.png")
    with pytest.raises(ImageLoadError, match="are pure black: a file cut short"):
        read_field(tmp_path / "short.png")


def test_a_single_cell_crops_clipped_background_is_no_canvas_left_in(shared_datasets):
    # QA 75 F2: 14 of 3,201 PBC crops, whose flat clipped background surrounds the cell (it
    # fills 50-85% of its box), were noted "a flat canvas surrounds part of this image".
    crops = [shared_datasets / "pbc" / "erythroblast" / f"ERB_{number}.jpg"
             for number in (426156, 846100, 912279)]
    assert [framed(read_field(crop)).uncut for crop in crops] == [None, None, None]


def test_a_field_on_a_white_canvas_reads_as_the_field_alone(tmp_path):
    # QA 67 L2: the same field on a white canvas was refused as overexposed; on a flat canvas
    # of its own background colour it read 2 red cells at 0.038 um/px.
    rgb = read_field(SAMPLE)
    alone = smearscan.analyse_image(rgb, pixel_size_um=0.2)
    canvas = _on_canvas(rgb, (255, 255, 255))
    Image.fromarray(canvas).save(tmp_path / "canvas.png")
    framed_field = smearscan.analyse_image(tmp_path / "canvas.png", pixel_size_um=0.2)
    assert framed_field.summary.picture_box == (120, 120 + rgb.shape[0], 160, 160 + rgb.shape[1])
    assert (framed_field.summary.taken_off, framed_field.summary.canvas_uncut) == (("canvas",),
                                                                                   None)
    assert alone.summary.picture_box is None
    assert (alone.summary.taken_off, alone.summary.canvas_uncut) == ((), None)
    assert framed_field.summary.counts == alone.summary.counts
    assert np.array_equal(framed_field.cells["x"], alone.cells["x"] + 160)
    assert np.array_equal(framed_field.cells["y"], alone.cells["y"] + 120)
    assert framed_field.labels.shape == canvas.shape[:2]
    assert np.array_equal(framed_field.labels[120:120 + rgb.shape[0], 160:160 + rgb.shape[1]],
                          alone.labels)
    assert not framed_field.labels[:120].any() and not framed_field.labels[:, :160].any()
    assert framed_field.summary.to_dict()["picture_box"] == [120, 120 + rgb.shape[0], 160,
                                                             160 + rgb.shape[1]]
    assert framed_field.summary.to_dict()["taken_off"] == ["canvas"]


def _refusal(rgb: np.ndarray) -> str:
    with pytest.raises(UnusableFieldError) as refused:
        smearscan.analyse_image(rgb, pixel_size_um=0.2)
    return str(refused.value)


def test_a_refusal_says_why_a_canvas_was_not_cut():
    # QA 70 F6, QA 67 L2: a field on a white canvas beside a caption, or too small in it, was
    # told "take it with less light", as if the white were the smear's.
    rgb = read_field(SAMPLE)
    small = _on_canvas(rgb, (255, 255, 255), top=500, left=900, bottom=500, right=900)
    assert _refusal(small).endswith(
        "; a flat canvas surrounds part of this image and was not cut out, as the picture "
        "would cover 8.5% of the image, under 10% (this tool's rule): if it is a picture on a "
        "canvas, crop the image to the picture and analyse it again")
    captioned = _on_canvas(rgb, (255, 255, 255))
    cv2.putText(captioned, "Pt 17 field N", (170, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.4,
                (60, 40, 90), 4)
    assert _refusal(captioned).endswith(
        "was not cut out, as something lies on the white canvas beside the picture (a "
        "caption, an inset, a second picture), and white may be the smear's own clipped "
        "background: if it is a picture on a canvas, crop the image to the picture and "
        "analyse it again")


@pytest.mark.parametrize(("taken_off", "said"), [
    ("canvas", "its picture (rows 121-600, columns 161-800, cut out of a flat canvas)"),
    ("frame line", "its picture (rows 2-479, columns 2-639, inside a frame line that was left "
                   "out)"),
    ("both", "its picture (rows 121-600, columns 161-800, cut out of a flat canvas, inside a "
             "frame line)")])
def test_a_refusal_of_a_picture_cut_out_says_what_was_taken_off_round_it(taken_off, said):
    # QA 70 F7: its shares are the picture's, not the image's; QA 74 N7: a field with only a
    # line round it was said to be "cut out of a flat canvas".
    rgb = read_field(SAMPLE).copy()
    rgb[200:280, 280:360] = 30  # a dark block: masked
    image = rgb if taken_off == "frame line" else _on_canvas(rgb, (128, 128, 128))
    if taken_off != "canvas":
        image = _lined(image, (0, image.shape[0], 0, image.shape[1]), 1)
    assert _refusal(image).startswith(f"{said}: masked: ")


def _lined(rgb: np.ndarray, box: tuple[int, int, int, int], width: int,
           colour=(60, 60, 60)) -> np.ndarray:
    """``rgb`` with a frame line ``width`` px wide drawn just inside ``box``."""
    top, bottom, left, right = box
    lined = rgb.copy()
    inside = lined[top + width:bottom - width, left + width:right - width].copy()
    lined[top:bottom, left:right] = colour
    lined[top + width:bottom - width, left + width:right - width] = inside
    return lined


@pytest.mark.parametrize("colour", ["background", (255, 255, 255)])
@pytest.mark.parametrize("width", [1, 3, 4, "double"])
@pytest.mark.parametrize("where", ["image", "touching", "gap"])
def test_a_frame_line_is_left_out_with_the_canvas(colour, width, where):
    # QA 72 H1: a line round the image hid its canvas (the canvas's colour is read on the
    # image's sides), and the cut cells read 5.52% for 1.66%; QA 70 F2: a line round the
    # picture, touching it or 10 px away, ended in a refusal; QA 74 N1: so did a double line
    # (two of 1 px, 2 px apart) and a 4-px one.
    rgb = read_field(SAMPLE)
    canvas = _on_canvas(rgb, _background(rgb) if colour == "background" else colour)
    span = 4 if width == "double" else width
    reach = {"image": None, "touching": span, "gap": span + 10}[where]
    box = ((0, canvas.shape[0], 0, canvas.shape[1]) if reach is None else
           (120 - reach, 120 + rgb.shape[0] + reach, 160 - reach, 160 + rgb.shape[1] + reach))
    if width == "double":
        lined = _lined(_lined(canvas, box, 1), tuple(np.add(box, (3, -3, 3, -3))), 1)
    else:
        lined = _lined(canvas, box, width)
    picture = framed(lined)
    assert picture.box == (120, 120 + rgb.shape[0], 160, 160 + rgb.shape[1])


def test_a_field_with_a_frame_line_on_its_canvas_reads_as_the_field_alone():
    rgb = read_field(SAMPLE)
    alone = smearscan.analyse_image(rgb, pixel_size_um=0.2)
    canvas = _on_canvas(rgb, _background(rgb))
    lined = smearscan.analyse_image(_lined(canvas, (0, canvas.shape[0], 0, canvas.shape[1]), 1),
                                    pixel_size_um=0.2)
    assert lined.summary.counts == alone.summary.counts
    assert np.array_equal(lined.cells["x"], alone.cells["x"] + 160)


@pytest.mark.parametrize(("colour", "width", "gap"), [
    ((255, 255, 255), 3, 5), ((255, 255, 255), 1, 5), ((255, 255, 255), 1, 0),
    ((128, 128, 128), 3, 5), ((128, 128, 128), 1, 5)])
def test_a_jpeg_frame_line_round_a_picture_is_cut_off_with_the_canvas_it_rings(colour, width,
                                                                               gap):
    # QA 74 N2: a line 6 px round a picture in a q95 JPEG rang, was not taken off, and the
    # picture was analysed with it and the ringing canvas inside it: 130 cut cells counted
    # (2.15% where the field alone reads 1.66%); on white it was refused as masked.
    rgb = read_field(SAMPLE)
    outside = width + gap
    lined = _jpeg(_lined(_on_canvas(rgb, colour), (120 - outside, 600 + outside,
                                                  160 - outside, 800 + outside), width))
    picture = framed(lined)
    assert (picture.box, picture.taken_off) == ((120, 600, 160, 800), ("canvas", "frame lines"))
    whole = smearscan.analyse_image(lined, pixel_size_um=0.2)
    cut = smearscan.analyse_image(lined[120:600, 160:800], pixel_size_um=0.2)
    assert whole.summary.counts == cut.summary.counts
    assert np.array_equal(whole.cells["x"], cut.cells["x"] + 160)


def test_each_output_says_what_was_taken_off_and_what_canvas_was_left_in(tmp_path, capsys):
    # QA 74 N7: a field with only a line round it was recorded and reported as cut out of a
    # canvas; QA 74 N10: a picture on 7.1% of its canvas was analysed whole without a word,
    # its reason for not being cut printed only with a refusal.
    rgb = read_field(SAMPLE)
    canvas = _on_canvas(rgb, (128, 128, 128))
    slides = analysed_slides(tmp_path, {
        "alone": rgb, "lined": _lined(rgb, (0, rgb.shape[0], 0, rgb.shape[1]), 1),
        "canvas": canvas, "both": _lined(canvas, (0, canvas.shape[0], 0, canvas.shape[1]), 1),
        # A quarter of the field on 9.6% of a canvas: under 10%, not cut.
        "small": _on_canvas(rgb[:240, :320], (128, 128, 128), top=280, left=340, bottom=280,
                            right=340)}, "--pixel-size", "0.2")
    recorded = {name: {key: slide["per_field"][0][key] for key in (
        "picture_box", "taken_off", "canvas_uncut")} for name, slide in slides.items()}
    reason = "the picture would cover 9.6% of the image, under 10% (this tool's rule)"
    assert recorded == {
        "alone": {"picture_box": None, "taken_off": [], "canvas_uncut": None},
        "lined": {"picture_box": [1, 479, 1, 639], "taken_off": ["frame lines"],
                  "canvas_uncut": None},
        "canvas": {"picture_box": [120, 600, 160, 800], "taken_off": ["canvas"],
                   "canvas_uncut": None},
        "both": {"picture_box": [120, 600, 160, 800], "taken_off": ["canvas", "frame lines"],
                 "canvas_uncut": None},
        "small": {"picture_box": None, "taken_off": [], "canvas_uncut": reason}}
    note = (f"a flat canvas surrounds part of this image and was not cut out, as {reason}: if "
            "it is a picture on a canvas, crop the image to the picture and analyse it again")
    err = capsys.readouterr().err
    assert [line for line in err.splitlines() if "flat canvas" in line] == [
        f"smearscan: slide 'small', field 'field.png': {note}"]
    reports = {name: html.unescape((tmp_path / "out" / "slides" / name / "report.html")
                                   .read_text()) for name in slides}
    cut_out = {name: re.findall(r"<b>cut out</b>: (.*?) analysed", report)
               for name, report in reports.items()}
    assert cut_out == {
        "alone": [], "small": [],
        "lined": ["its picture (rows 2-479, columns 2-639, inside a frame line that was left "
                  "out)"],
        "canvas": ["its picture (rows 121-600, columns 161-800, cut out of a flat canvas)"],
        "both": ["its picture (rows 121-600, columns 161-800, cut out of a flat canvas, inside "
                 "a frame line)"]}
    assert [name for name, report in reports.items() if "flat canvas surrounds" in report] == [
        "small"]
    assert (f"<b>1 of 1 field(s) analysed with a flat canvas left in</b>: field.png: {note}."
            in reports["small"])
    assert f"<b>canvas left in</b>: {note}" in reports["small"]
    outcomes = [SlideOutcome(name, SlideSummary.from_dict(slide)) for name, slide in
                slides.items()]
    prepared = {line.split()[0]: line.split("  ")[-1].strip()
                for line in field_table(outcomes).splitlines()[1:]}
    assert prepared == {"alone": "-", "lined": "frame lines cut off", "canvas": "canvas cut off",
                        "both": "canvas and frame lines cut off", "small": "canvas left in"}
