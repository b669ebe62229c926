import numpy as np
import pytest
import tifffile
from PIL import Image
from synthetic import synthetic_field

from smearscan.loading import ImageLoadError, find_slides, read_field


@pytest.fixture
def rgb():
    return synthetic_field([(60, 60), (150, 100)], shape=(120, 200))


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".tif"])
def test_rgb_formats_decode_to_uint8_rgb(tmp_path, rgb, suffix):
    path = tmp_path / f"f{suffix}"
    Image.fromarray(rgb).save(path)
    out = read_field(path)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    tolerance = 12 if suffix == ".jpg" else 0
    assert np.abs(out.astype(int) - rgb).mean() <= tolerance


def test_grayscale_becomes_three_equal_channels(tmp_path, rgb):
    path = tmp_path / "g.png"
    Image.fromarray(rgb[:, :, 1]).save(path)
    out = read_field(path)
    assert out.shape == (*rgb.shape[:2], 3)
    assert (out[:, :, 0] == rgb[:, :, 1]).all() and (out[:, :, 2] == rgb[:, :, 1]).all()


def test_rgba_transparent_pixels_become_white(tmp_path, rgb):
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    rgba[:10, :10, 3] = 0
    path = tmp_path / "a.png"
    Image.fromarray(rgba).save(path)
    out = read_field(path)
    assert (out[:10, :10] == 255).all()
    assert (out[50:60, 50:60] == rgb[50:60, 50:60]).all()


def test_palette_png(tmp_path, rgb):
    path = tmp_path / "p.png"
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=64).save(path)
    out = read_field(path)
    assert out.shape == rgb.shape
    assert np.abs(out.astype(int) - rgb).mean() < 8


@pytest.mark.parametrize("bits", [12, 16])
def test_16_bit_tiff_is_scaled_keeping_contrast(tmp_path, rgb, bits):
    top = 2**bits - 1
    wide = (rgb.astype(np.uint32) * top // 255).astype(np.uint16)
    path = tmp_path / "w.tif"
    tifffile.imwrite(path, wide, photometric="rgb")
    out = read_field(path)
    assert out.dtype == np.uint8
    # Scaled by the field's own maximum: the brightest value maps to 255.
    expected = np.rint(wide / wide.max() * 255)
    assert np.abs(out - expected).max() <= 1


def test_16_bit_grayscale_png(tmp_path, rgb):
    path = tmp_path / "g16.png"
    Image.fromarray(rgb[:, :, 1].astype(np.uint16) * 257).save(path)
    out = read_field(path)
    assert out.shape == rgb.shape and abs(int(out.max()) - 255) <= 1


def test_exif_orientation_is_applied(tmp_path):
    array = np.zeros((20, 40, 3), np.uint8)
    array[:, :10] = 255  # white band on the left
    image = Image.fromarray(array)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "rot.jpg"
    image.save(path, exif=exif, quality=95)
    out = read_field(path)
    assert out.shape[:2] == (40, 20)
    assert out[:10].mean() > 200 and out[-10:].mean() < 50


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"hello, this is text", "not an image"),
        (b"<html><body>404</body></html>", "not an image"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad file é.png"
    path.write_bytes(content)
    with pytest.raises(ImageLoadError) as info:
        read_field(path)
    text = str(info.value)
    assert str(path) in text and message in text and "\n" not in text


def test_truncated_jpeg(tmp_path, rgb):
    path = tmp_path / "t.jpg"
    Image.fromarray(rgb).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageLoadError, match="truncated"):
        read_field(path)


def test_image_over_the_pixel_limit_is_refused_before_decoding(tmp_path, rgb):
    path = tmp_path / "big.png"
    Image.fromarray(rgb).save(path)
    with pytest.raises(ImageLoadError, match="over the"):
        read_field(path, max_pixels=1000)


def test_missing_file(tmp_path):
    with pytest.raises(ImageLoadError, match="cannot read"):
        read_field(tmp_path / "nope.png")


def test_find_slides_layouts(tmp_path, rgb):
    for name in ("s1/a.png", "s1/sub/b.png", "s2/c.png", "loose.png"):
        path = tmp_path / "slides" / name if name != "loose.png" else tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(path)
    (tmp_path / "slides" / "s1" / "notes.txt").write_text("not an image")
    slides = find_slides([tmp_path / "slides", tmp_path / "loose.png"])
    assert [s.name for s in slides] == ["s1", "s2", "loose"]
    assert [p.relative_to(slides[0].root).as_posix() for p in slides[0].fields] == [
        "a.png", "sub/b.png"]
    assert find_slides([tmp_path / "slides" / "s1"])[0].name == "s1"
    with pytest.raises(FileNotFoundError):
        find_slides([tmp_path / "missing"])
