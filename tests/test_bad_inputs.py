"""Bad inputs (issue 7): each one gives a one-line message naming the file and the right exit
code, never a traceback; in a folder run the other fields still complete and ``errors.csv``
lists the bad ones. Every file is made here; none is shipped.
"""

from __future__ import annotations

import errno
import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
from model_files import model_with, shipped_metadata
from PIL import Image
from synthetic import grid_centres, synthetic_field

from smearscan.cli import main
from smearscan.loading import ImageLoadError, MixedFolderError, find_slides, read_field
from smearscan.outputs import read_csv_rows

ROOT = Path(__file__).resolve().parents[1]
HUGE = (20000, 15000)  # 300 Mpx: refused by the default --max-pixels (50 Mpx)


def run(*args) -> int:
    return main([*map(str, args), "--no-classify", "--quiet"])


def _field(**kwargs) -> np.ndarray:
    return synthetic_field(grid_centres(rows=2, cols=3), **kwargs)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A valid PNG header declaring ``width x height`` RGB, with no pixel data, padded by a text
    chunk to the size the flattest image of that size could compress to (a row's filter byte
    and a bit a pixel, deflated 1032:1), so that it is judged by its size, or by its decoding,
    and not refused as too small to hold it."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    padding = height * (-(-width // 8) + 1) // 1032
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
                     + _chunk(b"tEXt", b"padding\0" + b" " * padding)
                     + _chunk(b"IDAT", zlib.compress(b"")) + _chunk(b"IEND", b""))
    return path


def tiff_header_only(path: Path, width: int, height: int) -> Path:
    """A deflate-compressed RGB TIFF declaring ``width x height`` whose one strip is a few bytes.

    Tiny on disk, and decoding it would fail: a reader that reports the size limit has checked
    the header first.
    """
    strip = zlib.compress(b"\0" * 64)
    tags = [(256, 4, width), (257, 4, height), (258, 3, None), (259, 3, 8), (262, 3, 2),
            (273, 4, None), (277, 3, 3), (278, 4, height), (279, 4, len(strip)), (284, 3, 1)]
    bits_at = 8 + 2 + 12 * len(tags) + 4
    strip_at = bits_at + 6
    out = bytearray(b"II*\0" + struct.pack("<IH", 8, len(tags)))
    for tag, kind, value in tags:
        count = 3 if tag == 258 else 1
        value = {258: bits_at, 273: strip_at}.get(tag, value)
        field = struct.pack("<HH", value, 0) if kind == 3 and count == 1 else struct.pack(
            "<I", value)
        out += struct.pack("<HHI", tag, kind, count) + field
    out += struct.pack("<I", 0) + struct.pack("<HHH", 8, 8, 8) + strip
    path.write_bytes(bytes(out))
    return path


def _truncated_jpeg(path: Path, seed: int = 0) -> None:
    Image.fromarray(_field(seed=seed)).save(path, quality=90)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _truncated_tiff(path: Path, *, compression: str, ifd_at_end: bool) -> None:
    """A TIFF cut to half its bytes: through its compressed data (tifffile writes the page's
    directory first), or through its data with the directory after it lost (Pillow's)."""
    rgb = _field(seed=7)
    if ifd_at_end:
        Image.fromarray(rgb).save(path, compression=compression)
    else:
        tifffile.imwrite(path, rgb, compression=compression)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _symlink_loop(path: Path) -> None:
    path.symlink_to(path.name)  # a.png -> a.png


def _fifo(path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this platform")
    os.mkfifo(path)


# name -> (how to make it, fragment of the message). Each is refused with exit 2 on its own and
# listed in errors.csv in a folder run.
BAD = {
    "zero.png": (lambda p: p.write_bytes(b""), "empty file"),
    "truncated.jpg": (_truncated_jpeg, "truncated"),
    # QA 137 D4: a traceback of zlib's error; tifffile's own warning line, and "index 0 out of
    # range(0)"; "failed to read 921600 bytes, got 645078".
    "deflate cut.tif": (lambda p: _truncated_tiff(p, compression="zlib", ifd_at_end=False),
                        "cannot decode image (truncated or partly written file)"),
    "directory lost.tif": (lambda p: _truncated_tiff(p, compression="tiff_deflate",
                                                     ifd_at_end=True),
                           "cannot decode image (truncated or partly written file: no page "
                           "could be read)"),
    "raw cut.tif": (lambda p: _truncated_tiff(p, compression=None, ifd_at_end=False),
                    "cannot decode image (truncated or partly written file)"),
    # A fuzzing pass: lzma's own error type, a traceback.
    "lzma cut.tif": (lambda p: _truncated_tiff(p, compression="lzma", ifd_at_end=False),
                     "cannot decode image (truncated or partly written file)"),
    "text.png": (lambda p: p.write_text("id,value\n1,2\n"), "not an image"),
    "page.jpg": (lambda p: p.write_text("<!DOCTYPE html><html><body>Not found</body></html>"),
                 "not an image"),
    "postscript.png": (lambda p: p.write_text("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 9 9\n"),
                       "not an image"),
    "huge.png": (lambda p: png_header_only(p, *HUGE), "--max-pixels"),
    "huge.tif": (lambda p: tiff_header_only(p, *HUGE), "--max-pixels"),
    "two channels.tif": (lambda p: tifffile.imwrite(p, np.zeros((20, 30, 2), np.uint8),
                                                    planarconfig="contig"), "unsupported"),
    "loop.png": (_symlink_loop, "cannot read"),
    "dangling.png": (lambda p: p.symlink_to("nowhere.png"), "cannot read"),
    "pipe.png": (_fifo, "not a regular file"),
    # All white: overexposed (or blank); a count of 0 from it would reassure no one.
    "white.png": (lambda p: Image.fromarray(np.full((240, 320, 3), 255, np.uint8)).save(p),
                  "overexposed: 100% of its pixels are white"),
    # A lens cap, and one pixel of background: no field to count (they were fields of 0 cells).
    "black.png": (lambda p: Image.fromarray(np.zeros((240, 320, 3), np.uint8)).save(p),
                  "too dark: the 95th percentile of its green levels is 0 of 255"),
    "one pixel.png": (lambda p: Image.fromarray(_field()[:1, :1]).save(p),
                      "blank: its green levels span 0 of 255"),
    # A stack: only its first page was read, the second dropped silently.
    "two pages.tif": (lambda p: Image.fromarray(_field()).save(
        p, save_all=True, append_images=[Image.fromarray(_field(seed=1))]),
        "this TIFF has 2 pages; smearscan reads one field per file"),
    # A fifth of the field transparent: it was refused as "overexposed".
    "transparent.png": (lambda p: _rgba(p, transparent_columns=64),
                        "15,360 of its 76,800 pixels are transparent"),
    # Images without a cell: they were fields of 0 objects, exit 0 (QA 65 F4).
    "ten pixels.png": (lambda p: Image.fromarray(_field()[:10, :10]).save(p),
                       "no cell found: a field without cells"),
    # Strips one pixel wide but long enough to be measured: no 2x2 block of pixels.
    "one row.png": (lambda p: Image.fromarray(np.tile(_field()[:1], (1, 4, 1))).save(p),
                    "no cell found: a field without cells"),
    "one column.png": (lambda p: Image.fromarray(np.tile(_field()[:, :1], (5, 1, 1))).save(p),
                       "no cell found: a field without cells"),
    # Only specks far smaller than a red cell: nothing RBC-like.
    "specks.png": (lambda p: Image.fromarray(synthetic_field(
        grid_centres(rows=3, cols=4), radius=2.0, pallor=False)).save(p),
        "no red cell found: its stained blobs measure 6 px across"),
    # Two pixels wide, through a column of cells: the width is the same at the segmentation's
    # scale, the height is not; no cell is whole in it (QA 137 D3: counted as a field).
    "two columns.png": (lambda p: Image.fromarray(np.tile(_field()[:, 49:51], (8, 1, 1))).save(p),
                        "over 60% of the picture's 2 px side"),
}


def _rgba(path: Path, transparent_columns: int = 0) -> None:
    rgb = _field()
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    rgba[:, :transparent_columns] = 0  # (0, 0, 0, 0), as an image editor leaves it
    Image.fromarray(rgba).save(path)


# name -> (how to make it, objects expected or None for "some"). All are read and analysed.
GOOD = {
    "gray.png": (lambda p: Image.fromarray(_field()[:, :, 1]).save(p), 6),
    "rgba.png": (_rgba, 6),
    "palette.png": (lambda p: Image.fromarray(_field()).convert(
        "P", palette=Image.Palette.ADAPTIVE, colors=64).save(p), 6),
    "sixteen bit.tif": (lambda p: tifffile.imwrite(p, _field().astype(np.uint16) * 257,
                                                   photometric="rgb"), 6),
    "lzw.tif": (lambda p: Image.fromarray(_field()).save(p, compression="tiff_lzw"), 6),
    "png named.tif": (lambda p: Image.fromarray(_field()).save(p, format="PNG"), 6),
}


def make(folder: Path, name: str, table: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    table[name][0](path)
    return path


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and lines[0].startswith("smearscan: ")
    return lines[0]


@pytest.mark.parametrize("name", list(BAD))
def test_bad_single_file_exits_2_with_one_line(tmp_path, capsys, name):
    path = make(tmp_path / "in dir é", name, BAD)
    assert run(path) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(path) in line and BAD[name][1] in line


@pytest.mark.parametrize("name", list(GOOD))
def test_odd_but_valid_single_file_is_analysed(tmp_path, capsys, name):
    path = make(tmp_path, name, GOOD)
    assert run(path, "--pixel-size", "0.2") == 0
    out, err = capsys.readouterr()
    assert err == ""
    row = next(line for line in out.splitlines() if name in line)
    objects = GOOD[name][1]
    if objects is not None:
        assert row.split(name, 1)[1].split()[0] == str(objects)


def test_huge_image_is_refused_from_its_header_with_the_limit_named(tmp_path):
    for path in (png_header_only(tmp_path / "h.png", *HUGE),
                 tiff_header_only(tmp_path / "h.tif", *HUGE)):
        assert path.stat().st_size < 40_000  # 300 Mpx of RGB, refused before decoding
        with pytest.raises(ImageLoadError) as info:
            read_field(path)
        assert "20000x15000 px (300 Mpx), over the 50 Mpx limit" in str(info.value)
        # A raised limit is still a limit, reported as such (not as Pillow's "bomb").
        with pytest.raises(ImageLoadError, match="over the 100 Mpx limit"):
            read_field(path, max_pixels=100_000_000)
        # QA 129 F6: a limit a pixel short read "300 Mpx, over the 300 Mpx limit".
        with pytest.raises(ImageLoadError, match=r"\(300 Mpx\), over the 299.999999 Mpx limit"):
            read_field(path, max_pixels=299_999_999)


def _jpeg_header_claiming(path: Path, width: int, height: int) -> Path:
    """A small JPEG whose frame header is rewritten to give ``width`` x ``height`` px."""
    buffer = io.BytesIO()
    Image.fromarray(_field()[:64, :64]).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    frame = data.index(b"\xff\xc0") + 5
    data[frame:frame + 4] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    path.write_bytes(bytes(data))
    return path


def test_a_jpeg_header_giving_more_pixels_than_its_bytes_hold_is_refused_as_corrupt(tmp_path):
    # QA 76 F9: 65000x65000 px in a few hundred bytes was told to raise --max-pixels.
    path = _jpeg_header_claiming(tmp_path / "h.jpg", 65000, 65000)
    size = path.stat().st_size
    with pytest.raises(ImageLoadError) as info:
        read_field(path)
    assert str(info.value) == (
        f"{path}: corrupt JPEG: its header gives 65000x65000 px, which its {size:,} bytes cannot "
        "hold (a JPEG takes at least a bit per 8x8 block, 8,251,954 bytes); the field is "
        "refused, not counted")
    # At the floor itself it is read as far as the pixel limit: a real JPEG may be that flat.
    side = int((size * 8) ** 0.5) * 8
    with pytest.raises(ImageLoadError, match="over the 0.001 Mpx limit"):
        read_field(_jpeg_header_claiming(tmp_path / "ok.jpg", side, side), max_pixels=1000)


def test_a_png_header_giving_more_pixels_than_its_bytes_hold_is_refused_as_corrupt(tmp_path):
    # QA 115 F2: a 74-byte PNG giving 60000x60000 px was told to raise --max-pixels.
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = (60000).to_bytes(4, "big") + (60000).to_bytes(4, "big")  # IHDR width, height
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    path = tmp_path / "h.png"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageLoadError) as info:
        read_field(path)
    assert str(info.value) == (
        f"{path}: corrupt PNG: its header gives 60000x60000 px, which its {len(data):,} bytes "
        "cannot hold (its rows compress to at least 436,105 bytes); the field is refused, not "
        "counted")
    # The flattest PNG there is, one bit a pixel and every pixel the same, is read as far as
    # the pixel limit.
    Image.new("1", (4000, 3000)).save(tmp_path / "flat.png", compress_level=9, optimize=True)
    with pytest.raises(ImageLoadError, match="over the 0.001 Mpx limit"):
        read_field(tmp_path / "flat.png", max_pixels=1000)


def test_raised_max_pixels_beyond_pillows_own_limit_is_honoured(tmp_path):
    # 90 Mpx is over Pillow's 89 Mpx bomb warning: with --max-pixels above it, the file gets as
    # far as decoding (and fails there: it has no pixel data).
    path = png_header_only(tmp_path / "big.png", 10000, 9000)
    with pytest.raises(ImageLoadError, match="truncated"):
        read_field(path, max_pixels=100_000_000)


def test_small_max_pixels_message_gives_real_numbers(field_png, capsys):
    assert run(field_png, "--max-pixels", "50000") == 2
    line = _one_line(capsys.readouterr().err)
    assert "320x240 px (0.0768 Mpx), over the 0.05 Mpx limit" in line


def test_unreadable_file(tmp_path, capsys):
    path = tmp_path / "locked.png"
    Image.fromarray(_field()).save(path)
    path.chmod(0)
    try:
        try:
            path.open("rb").close()
        except PermissionError:
            pass
        else:
            pytest.skip("chmod 000 does not stop this user reading (root?)")
        assert run(path) == 2
        line = _one_line(capsys.readouterr().err)
        assert str(path) in line and "permission denied" in line
    finally:
        path.chmod(0o644)


def _slides_tree(root: Path) -> dict[tuple[str, str], str]:
    """A folder of slide folders with every kind of bad input; returns the expected errors."""
    expected = {}
    for name in BAD:
        path = make(root / "mixed", name, BAD)
        expected[("mixed", name)] = str(path)
    for name in GOOD:
        make(root / "mixed", name, GOOD)
    Image.fromarray(_field(seed=1)).save(root / "mixed" / "good.png")
    (root / "mixed" / "sub").mkdir()
    (root / "mixed" / "sub" / "up").symlink_to("../..", target_is_directory=True)  # dir loop
    (root / "empty").mkdir()
    (root / "empty" / "notes.txt").write_text("no images here")
    expected[("empty", "")] = str(root / "empty")
    accents = root / "Präparat 1 ü"
    accents.mkdir()
    Image.fromarray(_field(seed=2)).save(accents / "feld 1 é.png")
    _truncated_jpeg(accents / "kaputt ß.jpg", seed=5)  # not the same bytes as mixed's
    expected[(accents.name, "kaputt ß.jpg")] = str(accents / "kaputt ß.jpg")
    for seed, slide in enumerate(("s1", "s2"), start=3):  # the same file name in two slides
        (root / slide).mkdir()
        Image.fromarray(_field(seed=seed)).save(root / slide / "a.png")
    return expected


def _check_tree_outputs(out: Path, expected: dict[tuple[str, str], str]) -> None:
    errors = read_csv_rows(out / "errors.csv")
    assert {(e["slide"], e["image"]) for e in errors} == set(expected)
    for e in errors:
        assert expected[(e["slide"], e["image"])] in e["error"] and "\n" not in e["error"]
    rows = read_csv_rows(out / "cells.csv")
    per_slide = {s: sum(r["slide"] == s for r in rows) for s in ("s1", "s2", "Präparat 1 ü")}
    assert per_slide == {"s1": 6, "s2": 6, "Präparat 1 ü": 6}
    assert {r["image"] for r in rows if r["slide"] == "s1"} == {"a.png"}
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    mixed = {f["image"]: f for f in summary["slides"]["mixed"]["per_field"]}
    assert set(mixed) == set(BAD) | set(GOOD) | {"good.png"}  # the loop added nothing
    for name, (_, objects) in GOOD.items():
        assert "error" not in mixed[name]
        if objects is not None:
            assert mixed[name]["objects"] == objects, name
    assert mixed["good.png"]["objects"] == 6
    assert summary["slides"]["mixed"]["fields_failed"] == len(BAD)
    assert summary["slides"]["empty"]["fields"] == 0


def test_folder_run_lists_every_bad_input_and_finishes_the_rest(tmp_path, capsys):
    expected = _slides_tree(tmp_path / "slides")
    out = tmp_path / "out"
    assert run(tmp_path / "slides", "--out", out, "--pixel-size", "0.2") == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert all(line.startswith("smearscan: ") for line in lines)
    fields = sum(1 for _, image in expected if image)  # the empty folder is the slide's own
    assert len(lines) == len(expected) + 1 and lines[-1] == (
        f"smearscan: {fields} field(s) failed, {len(expected) - fields} slide problem(s); see "
        f"{out / 'errors.csv'}")
    _check_tree_outputs(out, expected)


def test_folder_run_in_a_subprocess_with_two_workers(tmp_path):
    expected = _slides_tree(tmp_path / "slides")
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-m", "smearscan.cli", str(tmp_path / "slides"), "--out", str(out),
         "--no-classify", "--quiet", "--pixel-size", "0.2", "--jobs", "2"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 3, result.stderr
    assert "Traceback" not in result.stderr
    assert all(line.startswith("smearscan: ") for line in result.stderr.splitlines()), \
        result.stderr
    _check_tree_outputs(out, expected)


def test_folder_with_no_images_is_reported_not_skipped(tmp_path, capsys):
    slides = tmp_path / "slides"
    _slide_folders(slides, "s1")
    empty = slides / "nothing here"
    empty.mkdir()
    (empty / "readme.txt").write_text("no fields")
    out = tmp_path / "out"
    assert run(slides, "--out", out) == 3
    assert "no image files" in capsys.readouterr().err
    assert [(e["slide"], e["image"]) for e in read_csv_rows(out / "errors.csv")] == [
        ("nothing here", "")]


@pytest.mark.parametrize("given", ["one empty folder", "a folder of empty folders"])
def test_a_run_given_no_image_at_all_is_a_usage_error_that_writes_nothing(
        given, tmp_path, capsys):
    # qacli8 L-5: an empty folder (a typo, an unfinished export) was a slide "done", with an
    # empty table and report, exit 3.
    empty = tmp_path / "in"
    folders = [empty] if given == "one empty folder" else [empty / "a", empty / "b"]
    for folder in folders:
        folder.mkdir(parents=True)
        (folder / "readme.txt").write_text("no fields")
    out = tmp_path / "out"
    assert run(empty, "--out", out) == 2
    more = "" if len(folders) == 1 else " (and 1 more like it)"
    assert capsys.readouterr() == ("", f"smearscan: {folders[0]}: no image files in this folder"
                                       f"{more}: nothing to analyse\n")
    assert not out.exists()


def _slide_folders(root: Path, *names: str, first_seed: int = 0) -> None:
    # Distinct images: the same one twice in a slide is counted once.
    for index, name in enumerate(names):
        (root / name).mkdir(parents=True)
        Image.fromarray(_field(seed=first_seed + index)).save(root / name / f"f{index}.png")


def test_symlinked_slide_folder_is_that_folder_named_after_the_link(tmp_path):
    _slide_folders(tmp_path / "slides", "s1")
    _slide_folders(tmp_path / "elsewhere", "real")
    (tmp_path / "slides" / "linked").symlink_to(tmp_path / "elsewhere" / "real")
    out = tmp_path / "out"
    assert run(tmp_path / "slides", "--out", out) == 0
    rows = read_csv_rows(out / "cells.csv")
    assert {(r["slide"], r["image"]) for r in rows} == {("linked", "f0.png"), ("s1", "f0.png")}
    assert len(rows) == 12


@pytest.mark.parametrize("target", [".", ".."])
def test_symlink_loop_among_slide_folders_is_one_error(tmp_path, capsys, target):
    _slide_folders(tmp_path / "slides", "s1")
    loop = tmp_path / "slides" / "back"
    loop.symlink_to(target, target_is_directory=True)
    out = tmp_path / "out"
    assert run(tmp_path / "slides", "--out", out) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.splitlines()[1] == (
        f"smearscan: 1 slide problem(s); see {out / 'errors.csv'}")
    errors = read_csv_rows(out / "errors.csv")
    assert [(e["slide"], e["image"]) for e in errors] == [("back", "")]
    assert str(loop) in errors[0]["error"] and "loop" in errors[0]["error"]
    assert {r["slide"] for r in read_csv_rows(out / "cells.csv")} == {"s1"}
    # qacli3 LOW-2: its report said each field's reason was "in the field table below", empty.
    report = (out / "slides" / "back" / "report.html").read_text(encoding="utf-8")
    assert ("No field was found: the slide's folder held no image that could be listed; the "
            "reason is in <code>errors.csv</code>.") in report
    assert "field table below" not in report


def test_a_link_to_nothing_among_slide_folders_is_a_slide_that_cannot_be_read(tmp_path, capsys):
    # QA 137 D1: a share not mounted, linked beside the slide folders, was left out with exit
    # 0 and nothing said.
    _slide_folders(tmp_path / "slides", "s1")
    gone = tmp_path / "slides" / "patient7"
    gone.symlink_to(tmp_path / "share" / "patient7")
    out = tmp_path / "out"
    assert run(tmp_path / "slides", "--out", out, "--quiet") == 3
    assert capsys.readouterr().err.splitlines()[0] == (
        f"smearscan: {gone}: cannot read (symbolic link to nothing, or a loop)")
    assert [(e["slide"], e["image"], e["error"]) for e in read_csv_rows(out / "errors.csv")] == [
        ("patient7", "", f"{gone}: cannot read (symbolic link to nothing, or a loop)")]
    assert {r["slide"] for r in read_csv_rows(out / "cells.csv")} == {"s1"}


def test_a_slide_on_a_share_not_mounted_keeps_its_earlier_analysis(tmp_path, capsys):
    # QA 141 M-2: on a run again with its share not mounted, a finished slide's count and field
    # pictures were removed and replaced by an empty slide.
    _slide_folders(tmp_path / "slides", "s1")
    _slide_folders(tmp_path / "share", "patient7", first_seed=1)
    linked = tmp_path / "slides" / "patient7"
    linked.symlink_to(tmp_path / "share" / "patient7", target_is_directory=True)
    out = tmp_path / "out"
    assert run(tmp_path / "slides", "--out", out, "--quiet") == 0
    summary = (out / "summary.json").read_text()
    cells = (out / "cells.csv").read_text()
    pictures = sorted(p.name for p in (out / "slides" / "patient7").rglob("*"))
    (tmp_path / "share").rename(tmp_path / "unmounted")
    assert run(tmp_path / "slides", "--out", out, "--quiet") == 3
    said = (f"{linked}: cannot read (symbolic link to nothing, or a loop); the slide's earlier "
            "analysis is kept as it was")
    assert capsys.readouterr().err.splitlines()[0] == f"smearscan: {said}"
    assert [(e["slide"], e["error"]) for e in read_csv_rows(out / "errors.csv")] == [
        ("patient7", said)]
    assert (out / "summary.json").read_text() == summary
    assert (out / "cells.csv").read_text() == cells
    assert sorted(p.name for p in (out / "slides" / "patient7").rglob("*")) == pictures
    (tmp_path / "unmounted").rename(tmp_path / "share")
    assert run(tmp_path / "slides", "--out", out, "--quiet") == 0
    assert read_csv_rows(out / "errors.csv") == []


def _p7_linked_to_a_share(tmp_path: Path) -> tuple[Path, Path]:
    """Slide ``p7`` of ``tmp_path/slides`` with an image ``f1.png`` that is a link to one on
    ``tmp_path/share``, analysed into ``tmp_path/out``; returns the link and that folder."""
    _slide_folders(tmp_path / "share", "images", first_seed=1)
    (tmp_path / "slides" / "p7").mkdir(parents=True, exist_ok=True)
    link = tmp_path / "slides" / "p7" / "f1.png"
    link.symlink_to(tmp_path / "share" / "images" / "f0.png")
    out = tmp_path / "out"
    assert run(tmp_path / "slides", "--out", out) == 0
    return link, out


def _errors(out: Path) -> list[tuple[str, str, str]]:
    return [(e["slide"], e["image"], e["error"]) for e in read_csv_rows(out / "errors.csv")]


def _link_to_nothing(link: Path, kept: str = "; the slide's earlier analysis is kept as it was"
                     ) -> list[tuple[str, str, str]]:
    """The errors.csv row of slide p7's ``link`` to a share not mounted."""
    return [("p7", "f1.png", f"{link}: cannot read (symbolic link to nothing, or a loop){kept}")]


def test_a_slide_of_links_to_images_on_a_share_not_mounted_keeps_its_earlier_analysis(
        tmp_path, capsys):
    # QA 146 M-1: a slide folder of links to images on a share, not mounted, lost its count.
    _slide_folders(tmp_path / "slides", "s1")
    link, out = _p7_linked_to_a_share(tmp_path)
    cells = (out / "cells.csv").read_text()
    capsys.readouterr()
    (tmp_path / "share").rename(tmp_path / "unmounted")
    # Not quiet: a line per finished slide on stderr, which is no terminal here.
    assert main([str(tmp_path / "slides"), "--out", str(out), "--no-classify"]) == 3
    assert _errors(out) == _link_to_nothing(link)
    assert (out / "cells.csv").read_text() == cells
    # QA 146 L-2: the terminal marked the kept slide "resumed", as s1, read and matched.
    kept = "kept as it was: its images cannot be read now (see errors.csv)"
    captured = capsys.readouterr()
    rows = {line.split()[0]: line for line in captured.out.splitlines()[1:]}
    assert rows["p7"].endswith(f"  {kept}") and rows["s1"].endswith("  resumed")
    assert [line.split(": ", 2)[2] for line in captured.err.splitlines() if " done: " in line] == [
        f"p7 (1 field(s), 6 objects, {kept})", "s1 (1 field(s), 6 objects, resumed)"]
    # QA 148 L-1: the last line counted its image as a field that failed, where its row says 0.
    assert captured.err.splitlines()[-1] == (
        f"smearscan: 1 field(s) failed (1 of them in slides kept as they were); see "
        f"{out / 'errors.csv'}")


def test_a_slide_with_some_images_on_a_share_not_mounted_keeps_its_earlier_analysis(
        tmp_path, capsys):
    # QA 147 M-1: one field a link to a share, not mounted, the other local: the slide was
    # counted again from the local field alone, and the linked field's results removed.
    _slide_folders(tmp_path / "slides", "p7")
    link, out = _p7_linked_to_a_share(tmp_path)
    cells = (out / "cells.csv").read_text()
    files = sorted(path.relative_to(out) for path in out.rglob("*") if path.is_file())
    capsys.readouterr()
    (tmp_path / "share").rename(tmp_path / "unmounted")
    assert main([str(tmp_path / "slides"), "--out", str(out), "--no-classify"]) == 3
    assert _errors(out) == _link_to_nothing(link)
    assert (out / "cells.csv").read_text() == cells
    assert sorted(path.relative_to(out) for path in out.rglob("*") if path.is_file()) == files
    row = capsys.readouterr().out.splitlines()[1]
    assert row.startswith("p7 ") and row.endswith(
        "  kept as it was: 1 of its 2 images cannot be read now (see errors.csv)")
    # The share back: read and matched.
    (tmp_path / "unmounted").rename(tmp_path / "share")
    assert main([str(tmp_path / "slides"), "--out", str(out), "--no-classify"]) == 0
    assert capsys.readouterr().out.splitlines()[1].endswith("  resumed")
    # The local image changed while the share is away: the earlier analysis is not of it.
    (tmp_path / "share").rename(tmp_path / "unmounted")
    Image.fromarray(_field(seed=5)).save(tmp_path / "slides" / "p7" / "f0.png")
    assert main([str(tmp_path / "slides"), "--out", str(out), "--no-classify", "--quiet"]) == 3
    assert _errors(out) == _link_to_nothing(link, kept="")
    assert (out / "cells.csv").read_text() != cells
    # QA 149 L-2: nothing said why the earlier analysis was not kept.
    assert capsys.readouterr().err.splitlines()[0] == (
        "smearscan: slide 'p7': 1 of its 2 images cannot be read now, and its images are not "
        "those its earlier analysis read (one added, removed or changed): not kept")


def test_a_slide_with_an_image_it_never_read_keeps_its_analysis_while_it_still_cannot(
        tmp_path, capsys):
    # QA 162 M1: a slide one of whose images could not be read was analysed again on every
    # run, said to hold images "not those its earlier analysis read", though nothing changed.
    _slide_folders(tmp_path / "slides", "p7")
    _slide_folders(tmp_path / "share", "images", first_seed=1)
    link = tmp_path / "slides" / "p7" / "f1.png"
    link.symlink_to(tmp_path / "share" / "images" / "f0.png")
    (tmp_path / "share").rename(tmp_path / "unmounted")
    out = tmp_path / "out"
    assert run(tmp_path / "slides", "--out", out) == 3
    cells = (out / "cells.csv").read_text()
    files = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()
             and path.name != "errors.csv"}
    capsys.readouterr()
    assert main([str(tmp_path / "slides"), "--out", str(out), "--no-classify"]) == 3
    captured = capsys.readouterr()
    assert captured.out.splitlines()[1].startswith("p7 ") and captured.out.splitlines()[1].endswith(
        "  kept as it was: 1 of its 2 images cannot be read now (see errors.csv)")
    assert not [line for line in captured.err.splitlines() if "not kept" in line]
    assert _errors(out) == _link_to_nothing(link)
    assert {path: path.read_bytes() for path in out.rglob("*") if path.is_file()
            and path.name != "errors.csv"} == files
    # The share back: its image is read, and the slide counted again with it.
    (tmp_path / "unmounted").rename(tmp_path / "share")
    assert run(tmp_path / "slides", "--out", out) == 0
    assert (out / "cells.csv").read_text() != cells
    assert _errors(out) == []


def test_a_slide_none_of_whose_images_can_be_read_says_one_removed_since(tmp_path, capsys):
    # QA 149 M-2: its other image a link to a share not mounted, the analysis that counted the
    # removed image was kept as one of images that cannot be read, without a word; QA 151 M-3:
    # not kept, an empty slide replaced it until the share was back.
    _slide_folders(tmp_path / "slides", "p7")
    link, out = _p7_linked_to_a_share(tmp_path)
    cells = (out / "cells.csv").read_text()
    (tmp_path / "share").rename(tmp_path / "unmounted")
    (tmp_path / "slides" / "p7" / "f0.png").unlink()
    capsys.readouterr()
    assert main([str(tmp_path / "slides"), "--out", str(out), "--no-classify"]) == 3
    since = "counts 1 image (f0.png) no longer in the slide"
    assert _errors(out) == [*_link_to_nothing(link), (
        "p7", "", f"the slide's earlier analysis, kept while none of its images can be read, "
        f"{since}")]
    assert (out / "cells.csv").read_text() == cells
    assert capsys.readouterr().out.splitlines()[1].endswith(
        f"  kept as it was: its images cannot be read now, and it {since} (see errors.csv)")
    # A link added on the same share, as unreadable.
    (tmp_path / "slides" / "p7" / "f2.png").symlink_to(tmp_path / "share" / "images" / "f2.png")
    assert main([str(tmp_path / "slides"), "--out", str(out), "--no-classify"]) == 3
    assert capsys.readouterr().out.splitlines()[1].endswith(
        f"  kept as it was: its images cannot be read now, and it {since} and does not count 1 "
        "image (f2.png) added since (see errors.csv)")
    assert (out / "cells.csv").read_text() == cells


def test_an_image_linked_to_a_share_not_mounted_is_said_as_a_link_to_nothing(tmp_path):
    # QA 148 L-2: beside a readable image, it read "cannot read (No such file or directory)",
    # where a kept slide's link on the same share read as a link to nothing.
    _slide_folders(tmp_path / "slides", "s3")
    link = tmp_path / "slides" / "s3" / "a.png"
    link.symlink_to(tmp_path / "unmounted" / "a.png")
    out = tmp_path / "out"
    assert run(tmp_path / "slides", "--out", out) == 3
    assert [(e["slide"], e["image"], e["error"]) for e in read_csv_rows(out / "errors.csv")] == [
        ("s3", "a.png", f"{link}: cannot read (symbolic link to nothing, or a loop)")]


def test_a_slide_on_a_share_not_mounted_keeps_no_verdict_made_under_other_rules(
        tmp_path, capsys, monkeypatch):
    # QA 146 H-4: kept as it was, a verdict made under rules since changed was kept too, and a
    # line today's rules call for could be lost.
    _slide_folders(tmp_path / "share", "patient7")
    _slide_folders(tmp_path / "slides", "s1", first_seed=1)
    (tmp_path / "slides" / "patient7").symlink_to(tmp_path / "share" / "patient7",
                                                  target_is_directory=True)
    labs = tmp_path / "labs.csv"
    labs.write_text("slide,platelets,adamts13,hemoglobin\npatient7,15,3 %,8 g/dL\n"
                    "s1,250,80 %,14 g/dL\n")
    out = tmp_path / "out"
    args = [str(tmp_path / "slides"), "--out", str(out), "--labs", str(labs), "--quiet"]
    assert main(args) == 0
    capsys.readouterr()
    (tmp_path / "share").rename(tmp_path / "unmounted")
    monkeypatch.setattr("smearscan.batch.resume.verdict_rules",
                        lambda *, labs_given: "later rules" if labs_given else None)
    assert main(args) == 3
    captured = capsys.readouterr()
    assert captured.out.startswith("patient7: URGENT - TTP likely")
    # QA 147 M-2: nothing said why the earlier analysis was not kept.
    assert ("smearscan: slide 'patient7': its images cannot be read now, and its earlier "
            "analysis was made with other options, lab values or verdict rules: not kept"
            ) in captured.err.splitlines()
    assert [e["error"] for e in read_csv_rows(out / "errors.csv")] == [
        f"{tmp_path / 'slides' / 'patient7'}: cannot read (symbolic link to nothing, or a loop)",
        "no verdict: no field of slide 'patient7' was analysed"]


def test_a_linked_folder_inside_a_slide_is_said_not_followed(tmp_path, capsys):
    # QA 137 D2: its fields were left out of the slide with exit 0 and nothing said.
    _slide_folders(tmp_path / "slides" / "a", "own")
    _slide_folders(tmp_path / "elsewhere", "more", first_seed=1)
    link = tmp_path / "slides" / "a" / "more"
    link.symlink_to(tmp_path / "elsewhere" / "more", target_is_directory=True)
    out = tmp_path / "out"
    assert run(tmp_path / "slides", "--out", out, "--quiet") == 3
    said = (f"{link}: a symbolic link to a folder inside a slide, not followed: its images are "
            "not counted (move or copy them into the slide's folder)")
    assert capsys.readouterr().err.splitlines()[0] == f"smearscan: {said}"
    assert [(e["slide"], e["error"]) for e in read_csv_rows(out / "errors.csv")] == [("a", said)]
    assert {r["image"] for r in read_csv_rows(out / "cells.csv")} == {"own/f0.png"}
    # QA 140 M-2: a link that leaves out no image (within the slide, to a folder holding it, to
    # an empty folder) is not said.
    link.unlink()
    link.symlink_to(tmp_path / "slides" / "a" / "own", target_is_directory=True)
    (tmp_path / "slides" / "a" / "up").symlink_to(tmp_path / "slides", target_is_directory=True)
    (tmp_path / "empty").mkdir()
    (tmp_path / "slides" / "a" / "none").symlink_to(tmp_path / "empty", target_is_directory=True)
    assert run(tmp_path / "slides", "--out", out, "--quiet") == 0
    assert read_csv_rows(out / "errors.csv") == []


def _unlistable(monkeypatch, folder: Path, *, searchable: bool = True) -> None:
    """Listing ``folder`` fails as it does without read permission (which root ignores); not
    ``searchable`` (mode 000), nothing inside it can be looked up either."""
    def refusing(call, inside: bool = False):
        def refused(path=".", *args, **kwargs):
            if (Path(path).parent if inside else Path(path)) == folder:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
            return call(path, *args, **kwargs)
        return refused

    monkeypatch.setattr(os, "scandir", refusing(os.scandir))
    monkeypatch.setattr(os, "listdir", refusing(os.listdir))
    if not searchable:
        monkeypatch.setattr(os, "stat", refusing(os.stat, inside=True))


@pytest.mark.parametrize("searchable", [True, False])
def test_an_unreadable_input_folder_is_a_usage_error(tmp_path, monkeypatch, capsys, searchable):
    _slide_folders(tmp_path / "slides", "s1", "s2")
    _unlistable(monkeypatch, tmp_path / "slides", searchable=searchable)
    assert run(tmp_path / "slides", "--out", tmp_path / "out") == 2
    assert capsys.readouterr().err == (f"smearscan: {tmp_path / 'slides'}: cannot read this "
                                       "folder (Permission denied): nothing to analyse\n")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("locked", "slide", "images"), [
    ("slides/s2", "s2", {"f0.png", "part2/f0.png"}),
    ("slides/s1/part2", "s1", {"f0.png", "f1.png"}),
])
@pytest.mark.parametrize("searchable", [True, False])
def test_unreadable_folder_is_reported_with_the_reason(tmp_path, monkeypatch, locked, slide,
                                                       images, searchable):
    # QA of the analysis command: a folder of mode 000 (its marker file cannot be looked up)
    # gave a traceback, exit 1, and the readable slides beside it were never analysed.
    _slide_folders(tmp_path / "slides", "s1", "s2")
    _slide_folders(tmp_path / "slides" / "s1", "part2", first_seed=2)
    _unlistable(monkeypatch, tmp_path / locked, searchable=searchable)
    out = tmp_path / "out"
    assert run(tmp_path / "slides", "--out", out) == 3
    errors = read_csv_rows(out / "errors.csv")
    assert [(e["slide"], e["image"]) for e in errors] == [(slide, "")]
    assert errors[0]["error"] == f"{tmp_path / locked}: cannot read this folder (Permission denied)"
    assert {r["image"] for r in read_csv_rows(out / "cells.csv")} == images


def test_symlink_loop_given_directly(tmp_path, capsys):
    loop = tmp_path / "loop.png"
    _symlink_loop(loop)
    assert run(loop) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(loop) in line


def test_a_pipe_is_not_opened(tmp_path):
    pipe = tmp_path / "pipe.png"
    _fifo(pipe)  # opening it for reading would block forever
    with pytest.raises(ImageLoadError, match="not a regular file"):
        read_field(pipe)


def test_find_slides_can_exclude_the_output_folder(tmp_path):
    slide = tmp_path / "slide"
    slide.mkdir()
    Image.fromarray(_field()).save(slide / "f.png")
    masks = slide / "out" / "masks" / "slide"
    masks.mkdir(parents=True)
    Image.fromarray(_field()).save(masks / "f.png")
    with pytest.raises(MixedFolderError):  # an image beside a sub-folder of images
        find_slides([slide])
    assert [p.name for p in find_slides([slide], exclude=[slide / "out"])[0].fields] == ["f.png"]


def test_out_folder_inside_the_input_folder_is_not_read_back(tmp_path):
    slide = tmp_path / "slide"
    slide.mkdir()
    Image.fromarray(_field()).save(slide / "f.png")
    for _ in range(2):
        assert run(slide, "--out", slide / "results", "--save-masks") == 0
    summary = json.loads((slide / "results" / "summary.json").read_text())
    assert summary["slides"]["slide"]["fields"] == 1


def test_same_stem_two_formats_keep_two_masks(tmp_path):
    slide = tmp_path / "slide"
    slide.mkdir()
    Image.fromarray(_field()).save(slide / "a.png")
    Image.fromarray(synthetic_field(grid_centres(rows=1, cols=2))).save(slide / "a.jpg")
    out = tmp_path / "out"
    assert run(slide, "--out", out, "--save-masks") == 0
    assert len(list((out / "masks" / "slide").iterdir())) == 2


def test_file_name_that_is_not_utf8(tmp_path, capsys):
    slide = tmp_path / "slide"
    slide.mkdir()
    try:
        path = Path(os.fsdecode(bytes(slide) + b"/f\xe9ld.png"))
        Image.fromarray(_field()).save(path)
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    out = tmp_path / "out"
    assert run(slide, "--out", out) == 0
    rows = read_csv_rows(out / "cells.csv")
    assert len(rows) == 6
    # QA 62 F1, F3: the name's raw byte made summary.json and slide.json invalid UTF-8; the
    # slide was never resumed, and dropped out of the merged outputs at a run of another slide.
    for record in (out / "summary.json", out / "slides" / "slide" / "slide.json"):
        text = record.read_bytes().decode("utf-8")  # strict
        assert "f\\udce9ld.png" in text
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert [f["image"] for f in summary["slides"]["slide"]["per_field"]] == [path.name]
    # QA 76 F3: so did the merged cells.csv and the report, for the programs that read them;
    # the slide's own cells.csv keeps the raw byte, which names the file on disk.
    merged = (out / "cells.csv").read_bytes().decode("utf-8").splitlines()
    assert len(merged) == 7 and all(",f\\udce9ld.png," in row for row in merged[1:])
    assert b",f\xe9ld.png," in (out / "slides" / "slide" / "cells.csv").read_bytes()
    report = (out / "slides" / "slide" / "report.html").read_bytes().decode("utf-8")
    assert "f\\udce9ld.png: 6 objects" in report
    assert 'href="fields/f%E9ld.jpg"' in report  # the link: the file's bytes
    assert (out / "slides" / "slide" / "fields" / os.fsdecode(b"f\xe9ld.jpg")).is_file()
    other = tmp_path / "other"
    other.mkdir()
    Image.fromarray(_field(seed=2)).save(other / "g.png")
    assert run(other, "--out", out) == 0
    merged = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert sorted(merged["slides"]) == ["other", "slide"]
    record = out / "slides" / "slide" / "slide.json"
    written = record.stat().st_mtime_ns
    assert run(slide, "--out", out) == 0
    assert record.stat().st_mtime_ns == written  # resumed, not analysed again


def test_an_error_on_a_file_name_that_is_not_utf8_is_written_as_utf8(tmp_path):
    slide = tmp_path / "slide"
    slide.mkdir()
    Image.fromarray(_field()).save(slide / "good.png")
    try:
        Path(os.fsdecode(bytes(slide) + b"/\xe9mpty.png")).write_bytes(b"")
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    out = tmp_path / "out"
    assert run(slide, "--out", out) == 3
    rows = (out / "errors.csv").read_bytes().decode("utf-8").splitlines()  # strict
    assert rows[1].startswith("slide,\\udce9mpty.png,")


def test_an_inverted_field_is_refused_in_one_line_without_a_warning(tmp_path, recwarn, capsys):
    path = tmp_path / "inverted.png"
    Image.fromarray(255 - _field()).save(path)
    assert run(path) == 2
    err = capsys.readouterr().err
    # Its dark background reads as a mask: a field stop the size of the field.
    assert len(err.splitlines()) == 1 and err.startswith(
        f"smearscan: {path}: masked: 23.2% of its pixels are dark grey")
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_renamed_slide_does_not_collide_with_an_existing_name(tmp_path):
    for parent, slide, seed in (("a", "s1", 1), ("b", "s1", 2), ("c", "s1-2", 3)):
        (tmp_path / parent / slide).mkdir(parents=True)
        Image.fromarray(_field(seed=seed)).save(tmp_path / parent / slide / f"f{seed}.png")
    out = tmp_path / "out"
    assert run(tmp_path / "a", tmp_path / "b", tmp_path / "c", "--out", out) == 0
    rows = read_csv_rows(out / "cells.csv")
    assert len(rows) == 18 and {r["image"] for r in rows} == {"f1.png", "f2.png", "f3.png"}
    assert len(json.loads((out / "summary.json").read_text())["slides"]) == 3


# ----------------------------------------------------------------------------- issue 17


def test_out_equal_to_the_input_folder_does_not_read_its_own_outputs(tmp_path):
    """Class 2: 2 fields stay 2 fields on the second run (not 6 with masks and overlays)."""
    slide = tmp_path / "slide"
    slide.mkdir()
    for seed in range(2):
        Image.fromarray(_field(seed=seed)).save(slide / f"f{seed}.png")
    for _ in range(2):
        assert run(slide, "--out", slide, "--force", "--save-masks", "--overlay") == 0
        summary = json.loads((slide / "summary.json").read_text())
        assert summary["slides"]["slide"]["fields"] == 2


def test_an_old_output_folder_inside_the_input_is_never_scanned(tmp_path):
    """Class 2: results of a run with another --out, left inside the input, are not fields."""
    slide = tmp_path / "slide"
    slide.mkdir()
    Image.fromarray(_field()).save(slide / "f.png")
    assert run(slide, "--out", slide / "old results", "--save-masks", "--overlay") == 0
    assert run(slide, "--out", tmp_path / "new", "--save-masks") == 0
    summary = json.loads((tmp_path / "new" / "summary.json").read_text())
    assert [f["image"] for f in summary["slides"]["slide"]["per_field"]] == ["f.png"]


@pytest.mark.parametrize(("labels", "nrbc"), [
    (["platelet", "platelet", "rbc"], "0"),
    (["nrbc", "nrbc", "rbc"], "2 present"),  # NRBCs seen, no rate to give them
])
def test_slide_without_whole_red_or_white_cells_is_reported_not_crashed(labels, nrbc):
    """Class 3: the report and the slide table of a slide with objects but no whole RBC/WBC
    (TypeError from the template, and every later run of the folder died at that slide)."""
    from smearscan.batch import SlideOutcome
    from smearscan.batch.summary import ReportParts
    from smearscan.report import slide_report_html, slide_table
    from smearscan.results import FieldSummary, SlideSummary
    from smearscan.slide_stats import slide_result

    stats = slide_result(label=np.array(labels), morphology=np.array(["", "", "normal"]),
                         border=np.array([False, False, True]))
    summary = SlideSummary((FieldSummary("f.png", objects=3),), 3, 0.2, False, statistics=stats)
    html = slide_report_html("s", summary, ReportParts(), model_version="m")
    assert "no white or red cells to give a rate" in html
    assert "counted 0 of the 1000 red cells required" in html
    table = slide_table([SlideOutcome("s", summary)])
    # No red cell: the shapes were not graded (QA 134 D3: "no" read as graded, not flagged).
    assert " ".join(table.splitlines()[1].split()) == (
        f"s 1 0 0 insufficient - not graded - 0.200 {nrbc} -")


def test_folder_nested_1200_levels_deep_is_read_without_recursion(tmp_path):
    """Class 3: os.walk recursed once per level (RecursionError near 1,000)."""
    deep = tmp_path / "top"
    levels = [deep / ("d/" * n) for n in range(1, 1201)]
    for level in [deep, *levels]:
        level.mkdir()
    Image.fromarray(_field()).save(levels[-1] / "f.png")
    try:
        (slide,) = find_slides([deep])
        assert [p.relative_to(deep).as_posix() for p in slide.fields] == ["d/" * 1200 + "f.png"]
    finally:
        # pytest's own clean-up of old temporary folders recurses too: leave nothing so deep.
        (levels[-1] / "f.png").unlink()
        for level in reversed(levels):
            level.rmdir()


def test_deeply_nested_labs_json_is_a_one_line_error(field_png, tmp_path, capsys):
    """Class 3: json.loads raised RecursionError."""
    labs = tmp_path / "labs.json"
    labs.write_text('{"a": ' * 100000 + "1" + "}" * 100000)
    assert main([str(field_png), "--out", str(tmp_path / "out"), "--labs", str(labs),
                 "--quiet"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(labs) in line and "nested too deeply" in line


@pytest.mark.parametrize(("changes", "message"), [
    ({"architecture": "cnn"}, "architecture 'cnn' is not"),
    ({"operating_points": {"schistocyte": {"threshold": "abc"}}},
     "schistocyte threshold 'abc' is not a probability"),
    ({"operating_points": {"schistocyte": {"threshold": float("nan")}}},
     "schistocyte threshold nan is not a probability"),
    ({"crop_scale_um": 0}, "crop_scale_um 0 is not a positive number"),
    ({"classes": ["rbc", "schisto", "nrbc", "wbc", "immature_granulocyte", "platelet"]},
     "classes ['rbc', 'schisto'"),
    ({"operating_points": {"schisto": {"threshold": 0.5}}}, "operating point for 'schisto'"),
    ({"operating_points": {"schistocyte": {"threshold": 0.7, "whole_field": 0.2}}},
     "schistocyte whole_field 0.2 is not a mapping of rates with their estimate"),
    ({"operating_points": {"schistocyte": {"threshold": 0.7, "whole_field": {
        "sensitivity": 1.2, "false_positive_rate": 0.002, "sensitivity_se": 0.1,
        "estimate": "whole fields"}}}},
     "schistocyte whole_field sensitivity, false_positive_rate_se not a probability (0-1)"),
])
def test_malformed_model_metadata_is_one_line_with_exit_4(field_png, tmp_path, capsys,
                                                          changes, message):
    """Class 3: AttributeError/ValueError or silently zero calls before."""
    model = model_with(tmp_path / "bad model.onnx", **changes)
    assert main([str(field_png), "--model", str(model), "--quiet"]) == 4
    line = _one_line(capsys.readouterr().err)
    assert str(model) in line and "invalid model metadata" in line and message in line


@pytest.mark.parametrize("which", ["", " whole-field"])
@pytest.mark.parametrize(("sensitivity", "rate", "refused"), [
    (0.0, 0.0, True), (0.002, 0.002, True), (0.0021, 0.002, False)])
def test_a_model_whose_sensitivity_is_not_above_its_false_call_rate_is_refused(
        field_png, tmp_path, capsys, sensitivity, rate, refused, which):
    """A QA pass: a model of `smearscan train --limit 5` (sensitivity 0, rate 0) analysed a
    slide, then died in the Rogan-Gladen correction with a traceback and no merged outputs.
    The whole-field rates a slide's interval also spans are held to the same."""
    points = shipped_metadata()["operating_points"]
    rates = {"sensitivity": sensitivity, "false_positive_rate": rate}
    if which:
        points["schistocyte"]["whole_field"] |= rates
    else:
        points["schistocyte"] |= rates
    model = model_with(tmp_path / "weak.onnx", operating_points=points)
    code = main([str(field_png), "--model", str(model), "--out", str(tmp_path / "out"),
                 "--quiet"])
    err = capsys.readouterr().err
    if refused:
        assert code == 4 and err == (
            f"smearscan: {model}: its schistocyte{which} operating point has sensitivity "
            f"{sensitivity:g} and false-positive rate {rate:g}; a count cannot be corrected "
            "unless the sensitivity is above the rate (train it on more data)\n")
    else:
        assert code == 0 and err == ""


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_model_that_is_a_device_or_a_pipe_is_refused_before_reading(field_png, tmp_path,
                                                                    capsys, jobs):
    """Class 3: --model /dev/zero read until memory ran out; a FIFO hung."""
    pipe = tmp_path / "model.pt"
    _fifo(pipe)
    for model, kind in ((Path("/dev/zero"), "a device"), (pipe, "a named pipe")):
        assert main([str(field_png), "--model", str(model), "--quiet", "--jobs", jobs,
                     "--out", str(tmp_path / f"out{jobs}")]) == 4
        line = _one_line(capsys.readouterr().err)
        assert line == f"smearscan: {model}: not a regular file ({kind}); cannot be a model file"


def test_labs_file_that_is_a_pipe_is_refused(field_png, tmp_path, capsys):
    pipe = tmp_path / "labs.json"
    _fifo(pipe)
    assert main([str(field_png), "--out", str(tmp_path / "out"), "--labs", str(pipe),
                 "--quiet"]) == 2
    assert "not a regular file" in _one_line(capsys.readouterr().err)


@pytest.mark.parametrize("text", [
    "{not json", "[1, 2]", '{"slides": []}', '{"slides": {"s": "x"}}',
    '{"slides": {"s": {"schistocytes": 3}}}',
    '{"slides": {"s": {"schistocytes": {"percent": "abc"}}}}',
    '{"slides": {"s": {"schistocytes": {"ci95": 5}}}}',
    '{"slides": {"s": {"nrbc": {"present": "yes"}}}}',
])
def test_verdict_on_a_malformed_summary_is_one_line_with_exit_2(tmp_path, capsys, text):
    """Class 3: 7 of these 8 raised."""
    path = tmp_path / "summary.json"
    path.write_text(text)
    assert main(["verdict", "--summary", str(path), "--slide", "s"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert str(path) in err


def test_image_named_dots_stays_inside_its_slide_folder(tmp_path):
    """Class 5: ``...jpg`` became slide ``..``: report at the output root, mask = overlay."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    Image.fromarray(_field()).save(inputs / "...jpg", format="JPEG")
    out = tmp_path / "out"
    assert run(inputs / "...jpg", "--out", out, "--save-masks", "--overlay") == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == [".smearscan-output", ".smearscan.lock", "cells.csv", "errors.csv",
                     "masks/_../_...png", "overlays/_../_...png", "slides/_../cells.csv",
                     "slides/_../fields/_...jpg", "slides/_../report.html",
                     "slides/_../slide.json", "summary.json"]
    assert json.loads((out / "summary.json").read_text())["sources"] == {"_..": "../in/...jpg"}


def test_same_stem_three_ways_keeps_three_masks(tmp_path):
    """Class 5: x.jpg, x.png and x.jpg.bmp overwrote each other's masks."""
    slide = tmp_path / "slide"
    slide.mkdir()
    for name, seed in (("x.jpg", 1), ("x.png", 2), ("x.jpg.bmp", 3)):
        Image.fromarray(_field(seed=seed)).save(slide / name)
    out = tmp_path / "out"
    assert run(slide, "--out", out, "--save-masks") == 0
    assert sorted(p.name for p in (out / "masks" / "slide").iterdir()) == [
        "x.jpg.bmp.png", "x.jpg.png", "x.png.png"]


def test_names_that_spreadsheets_run_as_formulas_are_escaped(tmp_path):
    """Class 5: names starting with = + - @ went verbatim into cells.csv/errors.csv."""
    slide = tmp_path / "=HYPERLINK(1)"
    slide.mkdir()
    for seed, name in enumerate(("+cmd.png", "-x.png", "@sum.png")):
        Image.fromarray(_field(seed=seed)).save(slide / name)
    (slide / "=bad.png").write_bytes(b"")
    out = tmp_path / "out"
    assert run(slide, "--out", out) == 3
    lines = (out / "cells.csv").read_text().splitlines()[1:]
    assert {line.split(",")[:2][1] for line in lines} == {"'+cmd.png", "'-x.png", "'@sum.png"}
    assert all(line.startswith("'=HYPERLINK(1),") for line in lines)
    (error_line,) = (out / "errors.csv").read_text().splitlines()[1:]
    assert error_line.startswith("'=HYPERLINK(1),'=bad.png,")
    # Read back, the names are the real ones.
    rows = read_csv_rows(out / "cells.csv")
    assert {r["image"] for r in rows} == {"+cmd.png", "-x.png", "@sum.png"}
    assert read_csv_rows(out / "errors.csv")[0]["image"] == "=bad.png"


def test_control_characters_in_names_never_reach_the_terminal(tmp_path, capsys):
    """Class 5: an ESC sequence could overwrite the result line; a newline split the error."""
    slide = tmp_path / "slide\x1b[1A"
    slide.mkdir()
    Image.fromarray(_field()).save(slide / "ok\x1b[2K.png")
    (slide / "bad\nname.png").write_bytes(b"")
    out = tmp_path / "out"
    assert run(slide, "--out", out) == 3
    printed = capsys.readouterr()
    assert "\x1b" not in printed.out + printed.err
    errors = printed.err.strip().splitlines()
    assert len(errors) == 2 and "bad\\nname.png: empty file" in errors[0]
    assert read_csv_rows(out / "errors.csv")[0]["error"].endswith("bad\\nname.png: empty file "
                                                                   "(0 bytes)")
    assert main([str(slide / "bad\nname.png"), "--quiet", "--no-classify"]) == 2
    assert "bad\\nname.png" in _one_line(capsys.readouterr().err)


def _jpeg_data(path: Path) -> tuple[bytearray, int]:
    Image.fromarray(_field()).save(path, format="JPEG", quality=90)
    data = bytearray(path.read_bytes())
    sos = data.index(b"\xff\xda")
    return data, sos + 2 + int.from_bytes(data[sos + 2:sos + 4], "big")


def _flipped_jpeg(path: Path) -> Path:
    data, start = _jpeg_data(path)
    for i in np.random.default_rng(0).choice(np.arange(start + 50, len(data) - 10), 20,
                                             replace=False):
        data[i] ^= 0x01  # one bit each: Pillow decodes the result without a word
    path.write_bytes(bytes(data))
    return path


def _oversized_header_jpeg(path: Path) -> Path:
    data, _ = _jpeg_data(path)
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = (6000).to_bytes(2, "big") + (8000).to_bytes(2, "big")
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(("damage", "why"), [
    (_flipped_jpeg, "corrupt JPEG data (Corrupt JPEG data: "),
    # Its bytes cannot hold the pixels its header gives: refused before it is decoded.
    (_oversized_header_jpeg, "corrupt JPEG: its header gives 8000x6000 px, which its ")])
def test_corrupt_jpeg_data_refuses_the_field(tmp_path, capsys, damage, why):
    """Class 6: Pillow decoded these (garbage, grey fill) and they were counted."""
    path = damage(tmp_path / "field.jpg")
    with Image.open(path) as image:
        image.load()  # what the loader used to accept silently
    assert run(path) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"smearscan: {path}: {why}")
    assert line.endswith("the field is refused, not counted")
    slide = tmp_path / "slide"
    slide.mkdir()
    path.rename(slide / "bad.jpg")
    Image.fromarray(_field()).save(slide / "good.jpg", format="JPEG", quality=90)
    assert run(slide, "--out", tmp_path / "out") == 3
    (error,) = read_csv_rows(tmp_path / "out" / "errors.csv")
    assert error["image"] == "bad.jpg" and why in error["error"]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["slides"]["slide"]["fields_failed"] == 1
