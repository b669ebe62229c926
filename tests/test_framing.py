"""A field on a flat canvas is cut out of it and analysed as the field alone; a field as a
camera takes it is never cut."""

import io
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

import smearscan
from smearscan.datasets import bccd_fields, chula_fields
from smearscan.errors import UnusableFieldError
from smearscan.framing import framed
from smearscan.loading import read_field

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
    assert not any(framed(read_field(image)).canvas_cut for image in fields)


def test_a_field_on_a_white_canvas_reads_as_the_field_alone(tmp_path):
    # QA 67 L2: the same field on a white canvas was refused as overexposed; on a flat canvas
    # of its own background colour it read 2 red cells at 0.038 um/px.
    rgb = read_field(SAMPLE)
    alone = smearscan.analyse_image(rgb, pixel_size_um=0.2)
    canvas = _on_canvas(rgb, (255, 255, 255))
    Image.fromarray(canvas).save(tmp_path / "canvas.png")
    framed_field = smearscan.analyse_image(tmp_path / "canvas.png", pixel_size_um=0.2)
    assert framed_field.summary.picture_box == (120, 120 + rgb.shape[0], 160, 160 + rgb.shape[1])
    assert alone.summary.picture_box is None
    assert framed_field.summary.counts == alone.summary.counts
    assert np.array_equal(framed_field.cells["x"], alone.cells["x"] + 160)
    assert np.array_equal(framed_field.cells["y"], alone.cells["y"] + 120)
    assert framed_field.labels.shape == canvas.shape[:2]
    assert np.array_equal(framed_field.labels[120:120 + rgb.shape[0], 160:160 + rgb.shape[1]],
                          alone.labels)
    assert not framed_field.labels[:120].any() and not framed_field.labels[:, :160].any()
    assert framed_field.summary.to_dict()["picture_box"] == [120, 120 + rgb.shape[0], 160,
                                                             160 + rgb.shape[1]]


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
        "; if it is a picture on a flat canvas, crop the image to the picture: it was not cut "
        "out, as its picture would cover 8.5% of it, under 10% (this tool's rule)")
    captioned = _on_canvas(rgb, (255, 255, 255))
    cv2.putText(captioned, "Pt 17 field N", (170, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.4,
                (60, 40, 90), 4)
    assert _refusal(captioned).endswith(
        "it was not cut out, as something lies on its white canvas beside the picture (a "
        "caption, an inset, a second picture), and white may be the smear's own clipped "
        "background")


def test_a_refusal_of_a_picture_cut_out_says_it_speaks_of_the_picture():
    # QA 70 F7: its shares are the picture's, not the image's.
    rgb = read_field(SAMPLE).copy()
    rgb[:, :40] = 30  # a dark band: masked
    refusal = _refusal(_on_canvas(rgb, (128, 128, 128)))
    assert refusal.startswith(
        "its picture (rows 121-600, columns 161-800, cut out of a flat canvas): masked: ")


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


def test_a_jpeg_frame_line_with_canvas_inside_it_is_refused_not_counted():
    # The canvas between a JPEG's line and its picture rings, is not found, and 5 px of it left
    # along the picture moved a field from 102 red cells and 1 schistocyte to 93 and 2.
    rgb = read_field(SAMPLE)
    canvas = _on_canvas(rgb, (255, 255, 255))
    lined = _jpeg(_lined(canvas, (112, 128 + rgb.shape[0], 152, 168 + rgb.shape[1]), 3))
    assert _refusal(lined).startswith("its picture (rows ")
