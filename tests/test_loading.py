from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image
from synthetic import synthetic_field

from smearscan.api import analyse_image
from smearscan.cli import main
from smearscan.loading import ImageLoadError, MixedFolderError, find_slides, read_field

SAMPLES = Path(__file__).resolve().parents[1] / "datasets" / "samples"


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


def _transparent(path, pixels: int) -> str:
    """The refusal of a 24,000-pixel field with ``pixels`` transparent pixels."""
    return (f"{path}: {pixels} of its 24,000 pixels are transparent or see-through (alpha "
            "channel under 255), which cuts the cells at their edge into fragment-like shapes: "
            "save the field without transparency (as JPEG, or PNG without alpha)")


@pytest.mark.parametrize("fill", [0, 255])
def test_rgba_with_transparent_pixels_is_refused(tmp_path, rgb, fill):
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    rgba[:10, :10] = fill
    rgba[:10, :10, 3] = 0
    rgba[50, 50, 3] = 254  # see-through, not opaque
    path = tmp_path / "a.png"
    Image.fromarray(rgba).save(path)
    with pytest.raises(ImageLoadError) as error:
        read_field(path)
    assert str(error.value) == _transparent(path, 101)


def test_partly_transparent_png_is_refused_not_called_overexposed(tmp_path, capsys):
    rgb = np.asarray(Image.open(SAMPLES / "chula-1.jpg").convert("RGB"))
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    rgba[:, :128] = 0  # a transparent band, (0, 0, 0, 0), a fifth of the field
    path = tmp_path / "band.png"
    Image.fromarray(rgba).save(path)
    assert main([str(path), "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"smearscan: {path}: 61,440 of its 307,200 pixels are transparent or see-through "
        "(alpha channel under 255), which cuts the cells at their edge into fragment-like "
        "shapes: save the field without transparency (as JPEG, or PNG without alpha)\n")


def test_opaque_rgba_png_gives_the_cells_of_the_rgb_image(tmp_path):
    rgb = np.asarray(Image.open(SAMPLES / "chula-1.jpg").convert("RGB"))
    opaque = tmp_path / "opaque.png"
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])).save(opaque)
    assert Image.open(opaque).mode == "RGBA"
    assert np.array_equal(read_field(opaque), read_field(SAMPLES / "chula-1.jpg"))
    direct, via_rgba = analyse_image(SAMPLES / "chula-1.jpg"), analyse_image(opaque)
    assert direct.summary.objects > 0 and via_rgba.summary.counts == direct.summary.counts
    assert via_rgba.cells.keys() == direct.cells.keys()
    for name in direct.cells.keys() - {"slide", "image"}:  # named after the file
        assert np.array_equal(via_rgba.cells[name], direct.cells[name]), name


def test_multi_page_tiff_is_refused_naming_its_pages(tmp_path, rgb):
    path = tmp_path / "stack.tif"
    Image.fromarray(rgb).save(path, save_all=True,
                              append_images=[Image.fromarray(rgb[::-1]), Image.fromarray(rgb)])
    with pytest.raises(ImageLoadError) as error:
        read_field(path)
    assert str(error.value) == (f"{path}: this TIFF has 3 pages; smearscan reads one field per "
                                "file: save each page as its own file")


@pytest.mark.parametrize(("suffix", "kind"), [(".gif", "GIF"), (".webp", "WEBP"),
                                           (".png", "PNG")])  # .png: an APNG
def test_animated_image_is_refused_naming_its_frames(tmp_path, rgb, suffix, kind):
    path = tmp_path / f"anim{suffix}"
    Image.fromarray(rgb).save(path, save_all=True, append_images=[Image.fromarray(rgb[::-1])],
                              lossless=True)
    with pytest.raises(ImageLoadError) as error:
        read_field(path)
    assert str(error.value) == (f"{path}: this {kind} has 2 frames; smearscan reads one field "
                                "per file: save each frame as its own file")


def test_jpeg_with_an_embedded_preview_is_one_field(tmp_path, rgb):
    # Cameras store a preview as a second MPO image; Pillow counts it as a frame.
    path = tmp_path / "camera.jpg"
    Image.fromarray(rgb).save(path, format="MPO", save_all=True, quality=95,
                              append_images=[Image.fromarray(rgb[::4, ::4])])
    assert read_field(path).shape == rgb.shape


def test_single_frame_gif_and_lossless_webp_decode_exactly(tmp_path, rgb):
    palette = Image.fromarray(rgb).quantize(64)
    palette.save(tmp_path / "f.gif")
    Image.fromarray(rgb).save(tmp_path / "f.webp", lossless=True)
    assert np.array_equal(read_field(tmp_path / "f.gif"), np.asarray(palette.convert("RGB")))
    assert np.array_equal(read_field(tmp_path / "f.webp"), rgb)


def test_gif_with_a_transparent_colour_is_refused(tmp_path, rgb):
    image = Image.fromarray(rgb).quantize(63)
    image.paste(63, (0, 0, 10, 10))  # a palette index of its own, the transparent one
    path = tmp_path / "t.gif"
    image.save(path, transparency=63)
    with pytest.raises(ImageLoadError) as error:
        read_field(path)
    assert str(error.value) == _transparent(path, 100)


def test_tiff_with_a_thumbnail_page_is_one_field(tmp_path, rgb):
    path = tmp_path / "thumb.tif"
    with tifffile.TiffWriter(path) as tif:
        tif.write(rgb, photometric="rgb")
        tif.write(rgb[::4, ::4], photometric="rgb", subfiletype=1)  # reduced resolution
    assert np.array_equal(read_field(path), rgb)


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


@pytest.mark.parametrize("grey", [False, True])
def test_a_compressed_16_bit_tiff_is_read_as_its_uncompressed_twin(tmp_path, grey):
    # QA 57 #2, QA 58 F5: tifffile has no LZW codec here, and Pillow cut 16 bits to their top
    # 8, so a 12-bit camera's LZW field read as almost black and was refused as "too dark".
    import cv2

    rgb = np.asarray(Image.open(SAMPLES / "chula-1.jpg").convert("RGB"))
    wide = rgb.astype(np.uint16) * 16
    wide = wide[:, :, 1] if grey else wide
    plain, packed = tmp_path / "plain.tif", tmp_path / "lzw.tif"
    tifffile.imwrite(plain, wide, photometric="minisblack" if grey else "rgb")
    assert cv2.imwrite(str(packed), wide if grey else cv2.cvtColor(wide, cv2.COLOR_RGB2BGR),
                       [cv2.IMWRITE_TIFF_COMPRESSION, 5])  # 5: LZW
    with tifffile.TiffFile(packed) as tif:
        assert tif.pages[0].compression == 5 and tif.pages[0].bitspersample == 16
    assert np.array_equal(read_field(packed), read_field(plain))


def test_16_bit_grayscale_png(tmp_path, rgb):
    path = tmp_path / "g16.png"
    Image.fromarray(rgb[:, :, 1].astype(np.uint16) * 257).save(path)
    out = read_field(path)
    assert out.shape == rgb.shape and abs(int(out.max()) - 255) <= 1


def test_exif_orientation_is_applied(tmp_path):
    array = np.full((20, 40, 3), 30, np.uint8)
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
    with pytest.raises(MixedFolderError, match=(
            r"s1: 1 image \(a.png\) beside 1 sub-folder \(sub\) of images: one slide, or a "
            "folder of slides with a stray image")):
        find_slides([tmp_path / "slides" / "s1"])
    (tmp_path / "slides" / "s1" / "empty").mkdir()
    (tmp_path / "slides" / "s1" / "sub" / "b.png").unlink()
    assert [(s.name, len(s.fields)) for s in find_slides([tmp_path / "slides" / "s1"])] == [
        ("s1", 1)]
    with pytest.raises(FileNotFoundError):
        find_slides([tmp_path / "missing"])


def test_hidden_files_and_folders_are_never_fields_or_slides(tmp_path, rgb):
    # QA of the analysis command (second pass): a Mac's '._23.jpg' resource fork failed as a
    # field on every run (exit 3), and '.thumbnails/23.jpg' was analysed as a field.
    for name in ("slides/s1/23.jpg", "slides/s1/.thumbnails/23.jpg", "slides/.trash/s9/1.jpg",
                 "slides/s2/1.jpg"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(tmp_path / name)
    (tmp_path / "slides" / "s1" / "._23.jpg").write_bytes(b"\x00\x05\x16\x07 Mac OS X")
    (tmp_path / "slides" / "._s1.jpg").write_bytes(b"\x00\x05\x16\x07 Mac OS X")
    slides = find_slides([tmp_path / "slides"])
    assert [(s.name, [p.name for p in s.fields]) for s in slides] == [
        ("s1", ["23.jpg"]), ("s2", ["1.jpg"])]


def test_fields_and_slides_are_in_the_order_a_lab_numbers_them(tmp_path, rgb):
    for name in ("slide10/field10.png", "slide10/field2.png", "slide10/field1.png",
                 "slide9/f.png", "slide10/Field3.png"):
        path = tmp_path / "slides" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rgb).save(path)
    slides = find_slides([tmp_path / "slides"])
    assert [s.name for s in slides] == ["slide9", "slide10"]
    assert [p.name for p in slides[1].fields] == [
        "Field3.png", "field1.png", "field2.png", "field10.png"]


@pytest.mark.parametrize("transparent", [True, False])
def test_a_grey_png_with_an_alpha_channel_is_checked_as_an_rgba_one(tmp_path, transparent):
    grey = np.asarray(Image.open(SAMPLES / "chula-1.jpg").convert("L"))
    alpha = np.full(grey.shape, 255, np.uint8)
    alpha[:, :30] = 0 if transparent else 255
    path = tmp_path / "grey.png"
    Image.fromarray(np.dstack([grey, alpha]), "LA").save(path)
    if transparent:
        with pytest.raises(ImageLoadError, match="14,400 of its 307,200 pixels are transparent"):
            read_field(path)
    else:
        assert np.array_equal(read_field(path), np.repeat(grey[:, :, None], 3, axis=2))


@pytest.mark.parametrize("missing", [0, 1, 2, 40])
def test_a_png_with_fewer_rows_of_data_than_its_header_is_refused(tmp_path, missing):
    # qacli2 MEDIUM-2: Pillow fills the missing rows with black and says nothing; the cells cut
    # by that edge were counted whole. The file is written with a header 'missing' rows taller
    # than its data (one complete zlib stream of the rows there are).
    import struct
    import zlib

    rgb = np.asarray(Image.open(SAMPLES / "chula-1.jpg").convert("RGB"))
    height, width = rgb.shape[:2]
    rows = b"".join(b"\0" + rgb[y].tobytes() for y in range(height - missing))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    path = tmp_path / "short.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(
        ">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b""))
    if not missing:
        assert (read_field(path) == rgb).all()
        return
    with pytest.raises(ImageLoadError) as error:
        read_field(path)
    assert str(error.value) == (
        f"{path}: its last {missing} row(s) of pixels are pure black: a file cut short (fewer "
        "rows of data than its header declares) or a black band; the field is refused, not "
        "counted")


@pytest.mark.parametrize("channels", [3, 4])
def test_a_12_bit_colour_png_is_read_at_its_depth_not_its_top_8_bits(tmp_path, channels):
    # QA 50 F4: Pillow cut a 16-bit colour PNG to its top 8 bits, so a 12-bit camera's field
    # (0..4095) read as almost black and was refused as "is the lamp on".
    import cv2

    rgb = np.asarray(Image.open(SAMPLES / "chula-1.jpg").convert("RGB"))
    wide = rgb.astype(np.uint16) * 16
    if channels == 4:
        wide = np.dstack([wide, np.full(wide.shape[:2], 4095, np.uint16)])
    path = tmp_path / "deep.png"
    assert cv2.imwrite(str(path), cv2.cvtColor(wide, cv2.COLOR_RGBA2BGRA if channels == 4
                                               else cv2.COLOR_RGB2BGR))
    expected = np.rint(rgb * (255.0 / rgb.max())).astype(np.uint8)
    assert np.array_equal(read_field(path), expected)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ImageLoadError) as error:
        read_field(path)
    assert str(error.value) == f"{path}: cannot decode image (truncated or partly written file)"
