"""Tests of the Python API, the README's examples, --version, python -m and progress lines."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from model_files import model_with
from PIL import Image
from synthetic import grid_centres, synthetic_field

import smearscan
from smearscan import errors
from smearscan.classification import (
    MIN_COLOUR_SPREAD,
    ModelLoadError,
    colour_spread,
    require_stain_colour,
)
from smearscan.cli import main
from smearscan.errors import CellessFieldError, ColourlessFieldError, UnusableFieldError
from smearscan.loading import ImageLoadError, read_field
from smearscan.outputs import read_csv_rows

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "datasets" / "samples" / "chula-1.jpg"


def test_analyse_image_gives_the_cells_csv_table_and_the_field_summary(tmp_path):
    field = smearscan.analyse_image(SAMPLE)
    assert main([str(SAMPLE), "--out", str(tmp_path), "--quiet"]) == 0
    rows = read_csv_rows(tmp_path / "cells.csv")
    # The columns of cells.csv, in its order, but the one the review app fills.
    assert list(field.cells) == [c for c in rows[0] if c != "reviewed_class"]
    assert len(field.cells["cell_id"]) == len(rows) > 0
    assert [str(c) for c in field.cells["class"]] == [row["class"] for row in rows]
    assert set(field.cells["slide"]) == {"chula-1"} and set(field.cells["image"]) == {SAMPLE.name}
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert field.summary.to_dict() == summary["slides"]["chula-1"]["per_field"][0]
    assert field.model_version == summary["model"]["version"]
    assert field.labels.shape == (480, 640) and field.labels.max() == field.cells["cell_id"].max()


def test_analyse_image_takes_an_rgb_array_and_a_pixel_size():
    rgb = read_field(SAMPLE)
    from_path = smearscan.analyse_image(SAMPLE, pixel_size_um=0.2)
    from_array = smearscan.analyse_image(rgb, 0.2, model=smearscan.load_model())
    assert from_array.summary.pixel_size_um == 0.2
    assert from_array.summary.pixel_size_estimated is False
    for name in ("cell_id", "area_um2", "class", "p_schistocyte"):
        assert np.array_equal(from_array.cells[name], from_path.cells[name])
    assert set(from_array.cells["image"]) == {""}


def test_an_image_array_is_read_as_a_file_of_it_is(tmp_path):
    # qacli8 L-9: a grayscale or opaque RGBA array was refused with the generic shape error,
    # where the same file is read (as colourless, and as RGB).
    rgb = read_field(SAMPLE)
    opaque = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    from_rgba = smearscan.analyse_image(opaque, 0.2)
    from_rgb = smearscan.analyse_image(rgb, 0.2)
    assert np.array_equal(from_rgba.cells["class"], from_rgb.cells["class"])
    grey = rgb[..., 1]
    Image.fromarray(grey).save(tmp_path / "grey.png")
    for given in (grey, tmp_path / "grey.png"):
        with pytest.raises(ColourlessFieldError):
            smearscan.analyse_image(given, 0.2)
    opaque[0, 0, 3] = 128
    with pytest.raises(ImageLoadError, match=r"^image array: 1 of its 307,200 pixels are "
                                              "transparent or see-through"):
        smearscan.analyse_image(opaque, 0.2)


def test_a_model_file_replaced_or_named_from_another_folder_is_loaded_again(tmp_path,
                                                                           monkeypatch):
    # QA 57 #1: the model cache was keyed by the path as given: a file replaced on disk, or
    # 'x.onnx' read from another folder, kept analysing with the first model.
    for folder, version in (("a", "first"), ("b", "second")):
        (tmp_path / folder).mkdir()
        model_with(tmp_path / folder / "x.onnx", model_version=version)
    rgb = np.asarray(Image.open(SAMPLE))[:160, :200]

    def version_of(model) -> str:
        return smearscan.analyse_image(rgb, model=model).model_version

    monkeypatch.chdir(tmp_path / "a")
    assert version_of("x.onnx") == "first"
    monkeypatch.chdir(tmp_path / "b")
    assert version_of("x.onnx") == "second"
    model_with(tmp_path / "b" / "x.onnx", model_version="third")
    os.utime(tmp_path / "b" / "x.onnx", ns=(0, 10**18))  # a new modification time, surely
    assert version_of("x.onnx") == "third"


def test_analyse_image_errors_name_the_input(tmp_path):
    shapes = (r"^an image array must be \(H, W\) grayscale, \(H, W, 3\) RGB or \(H, W, 4\) "
              r"RGBA uint8")
    with pytest.raises(ValueError, match=shapes + r" with at least one pixel, got \(4, 4\) "
                                                  r"float64; scale it to 0-255 and cast it to "
                                                  r"uint8, or give the path of its file \(a "
                                                  r"16-bit file is read\)$"):
        smearscan.analyse_image(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"got \(4, 4, 3\) uint16; scale it to 0-255"):
        smearscan.analyse_image(np.zeros((4, 4, 3), np.uint16))
    # QA 163 L2: casting alone would not do for a shape that is wrong too.
    with pytest.raises(ValueError, match=r"got \(4, 4, 5\) float64$"):
        smearscan.analyse_image(np.zeros((4, 4, 5)))
    with pytest.raises(ValueError, match=r"got \(5,\) float64$"):  # was an IndexError
        smearscan.analyse_image(np.zeros(5))
    with pytest.raises(ValueError, match=r"at least one pixel, got \(0, 0, 3\) uint8"):
        smearscan.analyse_image(np.zeros((0, 0, 3), np.uint8))
    for channels in (1, 2):  # QA 50 F8: an ImageLoadError, not the ValueError documented
        with pytest.raises(ValueError, match=rf"{shapes} .* got \(4, 4, {channels}\) uint8$"):
            smearscan.analyse_image(np.zeros((4, 4, channels), np.uint8))
    with pytest.raises(ImageLoadError, match="absent.png"):
        smearscan.analyse_image(tmp_path / "absent.png")


def test_analyse_slide_pools_the_fields_as_the_cli_does(tmp_path):
    slide = tmp_path / "s1"
    slide.mkdir()
    for i in range(3):
        Image.fromarray(synthetic_field(grid_centres(), seed=i)).save(slide / f"f{i}.png")
    result = smearscan.analyse_slide(slide)
    assert result.name == "s1" and len(result.fields) == 3
    assert len(result.cells["cell_id"]) == 36
    assert main([str(slide), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    written = json.loads((tmp_path / "out" / "summary.json").read_text())["slides"]["s1"]
    recorded = result.result.to_dict()
    # The estimated scale leaves macrocytes and microcytes out of both, and the focus is the
    # same median of the same fields.
    for block in ("schistocytes", "morphology", "nrbc", "leukoerythroblastic"):
        assert recorded[block] == written[block]
    assert recorded["morphology"]["sizes_note"] is not None
    assert [f.summary.to_dict() for f in result.fields] == written["per_field"]
    assert result.result.counts == written["counts"]
    # A list of files is the same slide.
    listed = smearscan.analyse_slide(sorted(slide.iterdir()))
    assert listed.name == "s1" and listed.result == result.result


def test_analyse_slide_leaves_out_a_field_it_cannot_analyse_as_the_cli_does(tmp_path):
    # qacli3 NEW-MEDIUM-4: one blank field failed a slide of six in the API, where the CLI
    # counted the other five (exit 3).
    slide = tmp_path / "s1"
    slide.mkdir()
    for i in range(2):
        Image.fromarray(synthetic_field(grid_centres(), seed=i)).save(slide / f"f{i}.png")
    Image.fromarray(np.full((240, 320, 3), 255, np.uint8)).save(slide / "f2.png")
    (slide / "f3.png").write_bytes(b"not an image")
    with pytest.warns(UserWarning) as warned:
        result = smearscan.analyse_slide(slide)
    assert [f.summary.image for f in result.fields] == ["f0.png", "f1.png"]
    assert [image for image, _ in result.failed] == ["f2.png", "f3.png"]
    assert [str(w.message) for w in warned] == [
        f"{reason} (left out of slide 's1')" for _, reason in result.failed]
    assert all(reason.startswith(str(slide / image)) for image, reason in result.failed)
    assert result.result.counts == smearscan.analyse_slide(
        [slide / "f0.png", slide / "f1.png"]).result.counts
    assert main([str(slide), "--out", str(tmp_path / "out"), "--quiet"]) == 3
    # No field usable: the first field's error.
    with pytest.raises(UnusableFieldError, match=r"f2\.png: "):
        smearscan.analyse_slide([slide / "f2.png", slide / "f3.png"])


def test_analyse_slide_names_the_fields_read_on_a_scale_of_their_own():
    # qacli3 LOW-7: the two sample fields (BCCD 0.065, Chula 0.204 um/px estimated) pooled as
    # one slide without a word, where the CLI's table says "0.137 (est.), 2 field(s) off scale".
    pooled = smearscan.analyse_slide(SAMPLE.parent)
    assert pooled.off_scale_fields == ("bccd-00000.jpg", "chula-1.jpg")
    assert smearscan.analyse_slide([SAMPLE]).off_scale_fields == ()


def test_analyse_slide_refuses_an_empty_folder(tmp_path):
    with pytest.raises(ValueError) as error:
        smearscan.analyse_slide(tmp_path)
    assert str(error.value) == f"{tmp_path}: no image files in this folder"  # named once


@pytest.mark.parametrize("again", ["same", "dot", "link"])
def test_analyse_slide_refuses_a_field_given_twice(tmp_path, again, monkeypatch):
    """A QA pass: the same 6 fields listed twice pooled 1,216 red cells instead of 608 and
    turned 'insufficient' into 'below'."""
    slide = tmp_path / "s1"
    slide.mkdir()
    field = slide / "f.png"
    Image.fromarray(synthetic_field(grid_centres())).save(field)
    monkeypatch.chdir(tmp_path)
    second = {"same": field, "dot": Path("s1/./f.png"), "link": slide / "g.png"}[again]
    if again == "link":
        second.symlink_to(field)
    with pytest.raises(ValueError) as error:
        smearscan.analyse_slide([field, second])
    assert str(error.value) == (f"{Path(os.path.abspath(second))}: the same file as {field}; "
                                "give each field once")


def test_analyse_slide_raises_at_once_for_a_listed_path_that_does_not_exist(tmp_path):
    # QA 129 F2: as the README says, the list is the caller's to mend, unlike a field that
    # cannot be read, which is left out with a warning.
    field = tmp_path / "f.png"
    Image.fromarray(synthetic_field(grid_centres())).save(field)
    with pytest.raises(FileNotFoundError) as error:
        smearscan.analyse_slide([field, tmp_path / "gone.png"])
    assert str(error.value) == f"{tmp_path / 'gone.png'}: no such file"


def test_a_list_of_linked_files_is_named_after_the_folder_it_was_given_in(tmp_path):
    slide = tmp_path / "slideA"
    slide.mkdir()
    (slide / "f.jpg").symlink_to(SAMPLE)
    assert smearscan.analyse_slide([slide / "f.jpg"]).name == "slideA"


def test_an_unknown_population_is_refused_before_any_field_is_analysed(tmp_path):
    missing = tmp_path / "never-read.png"  # the population is checked first
    with pytest.raises(ValueError) as error:
        smearscan.analyse_slide([missing], population="children")
    assert str(error.value) == ("population must be one of ['adult', 'child', 'neonate', "
                                "'preterm'], got 'children'")


def _readme_python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_python_examples_run():
    blocks = _readme_python_blocks()
    assert blocks, "the README has no python examples"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for block in blocks:
        done = subprocess.run([sys.executable, "-c", block], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{block}\n{done.stderr}"


def test_analysing_a_field_never_imports_torch():
    # Nor scipy.cluster: ~70 ms of the one-field command's start-up (#19).
    code = ("import sys, smearscan; smearscan.analyse_image(sys.argv[1]); "
            "print(sorted(m for m in ('torch', 'torchvision', 'sklearn', 'matplotlib', "
            "'scipy.cluster') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, str(SAMPLE)], capture_output=True,
                          text=True, timeout=300, check=True)
    assert done.stdout.strip() == "[]"


def test_version_and_python_dash_m(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"smearscan {smearscan.__version__}\n"
    done = subprocess.run([sys.executable, "-m", "smearscan", "--version"], capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout == f"smearscan {smearscan.__version__}\n"


def test_progress_is_one_line_per_finished_slide_when_stderr_is_not_a_terminal(tmp_path):
    slides = tmp_path / "slides"
    for seed, name in enumerate(("a", "b")):
        (slides / name).mkdir(parents=True)
        Image.fromarray(synthetic_field(grid_centres(), seed=seed)).save(slides / name / "f.png")
    command = [sys.executable, "-m", "smearscan", str(slides), "--out", str(tmp_path / "out"),
               "--no-classify"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    assert done.stderr.splitlines() == [
        "smearscan: slide 1/2 done: a (1 field(s), 12 objects)",
        "smearscan: slide 2/2 done: b (1 field(s), 12 objects)"]
    again = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    assert again.stderr.splitlines()[0].endswith("(1 field(s), 12 objects, resumed)")
    quiet = subprocess.run([*command, "--quiet"], capture_output=True, text=True, timeout=120,
                           check=True)
    assert quiet.stderr == ""


def test_training_without_the_train_extra_is_a_usage_error(tmp_path):
    # Run where no ../shared is beside it (QA 55 H-1, M-1: the missing datasets were told
    # first), and nothing is written (QA 55 L-3: an empty --out folder was left).
    code = ("import sys; sys.modules['torch'] = None; from smearscan.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    out = tmp_path / "metrics"
    done = subprocess.run([sys.executable, "-c", code, "evaluate", "--out", str(out)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(Path(smearscan.__file__)
                                                               .parents[1])})
    assert done.returncode == 2
    project = Path(smearscan.__file__).resolve().parents[1]
    assert done.stderr == ("smearscan evaluate: training and evaluation need torch, which the lean "
                           f'install leaves out: pip install -e "{project}[train]"\n')
    assert not out.exists()


@pytest.mark.parametrize(("origin", "command"), [
    ({"url": "file:///wheels/smearscan-0.3.12-py3-none-any.whl", "archive_info": {}},
     'pip install "smearscan[train] @ file:///wheels/smearscan-0.3.12-py3-none-any.whl"'),
    (None, 'pip install "smearscan[train]"')])
def test_an_installed_copy_is_told_how_to_add_the_train_extra_to_itself(origin, command,
                                                                         tmp_path, monkeypatch):
    # QA 55 L-4: a wheel install has no project folder to run `pip install -e ".[train]"` in.
    installed = tmp_path / "site-packages"
    (installed / "smearscan").mkdir(parents=True)
    record = installed / "smearscan-0.3.12.dist-info"
    record.mkdir()
    (record / "METADATA").write_text("Metadata-Version: 2.1\nName: smearscan\nVersion: 0.3.12\n")
    if origin is not None:
        (record / "direct_url.json").write_text(json.dumps(origin))
    monkeypatch.syspath_prepend(str(installed))
    monkeypatch.setattr(errors, "__file__", str(installed / "smearscan" / "errors.py"))
    assert errors.train_extra_command() == command


@pytest.mark.parametrize(("argv", "message"), [
    (["train"], "the following arguments are required: --out"),
    (["train", "--out", "m.pt"], "argument --shared: '../shared' holds no datasets/ folder "
                                 "(Chula RBC-12, BCCD, PBC)")])
def test_missing_datasets_are_told_after_the_other_arguments(argv, message, tmp_path,
                                                            monkeypatch, capsys):
    if "--out" in argv:
        pytest.importorskip("torch")  # without it, that is said first
    monkeypatch.chdir(tmp_path)  # no ../shared beside it
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert capsys.readouterr().err == f"smearscan train: error: {message} (see smearscan " \
        "train --help)\n"
    assert not (tmp_path / "m.pt").exists()


def test_train_writes_a_pt_file_and_refuses_another_suffix(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--out", str(tmp_path / "model.onnx")])
    assert exit_.value.code == 2
    assert "must end in .pt (the .onnx export is written beside it)" in capsys.readouterr().err


@pytest.mark.parametrize("pixel_size", [2, 10, 50, 1e-6])
def test_analyse_image_refuses_an_implausible_pixel_size_as_the_cli_does(pixel_size):
    from smearscan.segmentation import PixelSizeError

    with pytest.raises(PixelSizeError, match=rf"^--pixel-size {pixel_size:g} um/px is outside "
                                             r"0\.0125-0\.5 um/px.*; give the size in um per pixel "
                                             r"\(pixel_size_um in Python\)$"):
        smearscan.analyse_image(SAMPLE, pixel_size_um=pixel_size)


def test_the_api_refuses_a_pixel_size_the_field_contradicts_as_the_cli_does(tmp_path):
    # chula-1 reads 0.204 um/px from its red cells; 0.07 is 3x off (a wrong unit or objective).
    from smearscan.segmentation import PixelSizeError

    message = (r"^--pixel-size 0\.07 um/px disagrees with 0\.204 um/px estimated from "
               r"\S*chula-1\.jpg .* by more than 1\.5x")
    with pytest.raises(PixelSizeError, match=message):
        smearscan.analyse_image(SAMPLE, pixel_size_um=0.07)
    slide = tmp_path / "s1"
    slide.mkdir()
    (slide / SAMPLE.name).symlink_to(SAMPLE)
    with pytest.raises(PixelSizeError, match=message):
        smearscan.analyse_slide(slide, pixel_size_um=0.07)
    trusted = smearscan.analyse_image(SAMPLE, pixel_size_um=0.07, trust_pixel_size=True)
    assert trusted.summary.pixel_size_um == 0.07
    assert smearscan.analyse_slide(slide, pixel_size_um=0.07, trust_pixel_size=True
                                   ).fields[0].summary.pixel_size_um == 0.07


def test_a_slides_field_off_the_declared_scale_is_left_out_unless_trusted(tmp_path):
    # QA 50 F1, as the CLI: the first field fits 0.2 um/px, the second is the same at 2x.
    slide = tmp_path / "s"
    slide.mkdir()
    rgb = np.asarray(Image.open(SAMPLE))
    Image.fromarray(rgb).save(slide / "a.png")
    Image.fromarray(rgb).resize((2 * rgb.shape[1], 2 * rgb.shape[0]), Image.BICUBIC).save(
        slide / "b.png")
    with pytest.warns(UserWarning, match=r"b\.png: its own pixel size, 0\.1\d* um/px .* "
                      r"disagrees with --pixel-size 0\.2 um/px and the slide's own 0\.204 um/px "
                      r"by more than 1\.35x .*\(left out of slide 's'\)$"):
        analysis = smearscan.analyse_slide(slide, pixel_size_um=0.2)
    assert [image for image, _ in analysis.failed] == ["b.png"]
    assert set(analysis.cells["image"]) == {"a.png"}
    trusted = smearscan.analyse_slide(slide, pixel_size_um=0.2, trust_pixel_size=True)
    assert trusted.failed == () and set(trusted.cells["image"]) == {"a.png", "b.png"}


def test_the_api_warns_of_a_pixel_size_the_field_doubts_as_the_cli_does(recwarn):
    with pytest.warns(UserWarning, match=r"^--pixel-size 0\.3 um/px differs from 0\.204 um/px "
                      r"estimated from \S*chula-1\.jpg by 1\.47x: .* measure 11\.0 um"):
        field = smearscan.analyse_image(SAMPLE, pixel_size_um=0.3)
    assert field.summary.pixel_size_um == 0.3
    recwarn.clear()
    smearscan.analyse_image(SAMPLE, pixel_size_um=0.2)
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]


@pytest.mark.parametrize("pixel_size", ["0.2", True])
def test_a_pixel_size_that_is_not_a_number_is_refused_naming_it(pixel_size):
    with pytest.raises(TypeError, match=rf"^pixel_size_um = {pixel_size!r}: expected a number"):
        smearscan.analyse_image(SAMPLE, pixel_size_um=pixel_size, trust_pixel_size=True)


GREY_MESSAGE = ("a grayscale image (colour spread 0 of 255 levels, under 6, this tool's rule): "
                "the classifier needs the stain's colour to tell white cells, NRBCs and platelets "
                "from red cells; on the command line, 'smearscan --no-classify' segments and "
                "measures only")


def test_a_grayscale_field_is_never_classified(tmp_path, capsys):
    """A grey copy of the sample field: refused with one line naming it (exit 2 alone; in a
    slide the field fails and is recorded); segmented and measured with --no-classify."""
    grey = tmp_path / "grey.png"
    Image.open(SAMPLE).convert("L").save(grey)
    with pytest.raises(ColourlessFieldError) as error:
        smearscan.analyse_image(grey)
    assert str(error.value) == f"{grey}: {GREY_MESSAGE}"
    with pytest.raises(ColourlessFieldError) as error:
        smearscan.analyse_image(read_field(grey))
    assert str(error.value) == GREY_MESSAGE
    assert main([str(grey), "--quiet"]) == 2
    assert capsys.readouterr().err == f"smearscan: {grey}: {GREY_MESSAGE}\n"
    assert main([str(grey), "--no-classify", "--quiet"]) == 0
    (tmp_path / "slide").mkdir()
    grey.rename(tmp_path / "slide" / grey.name)
    Image.open(SAMPLE).save(tmp_path / "slide" / "colour.png")
    assert main([str(tmp_path / "slide"), "--out", str(tmp_path / "out"), "--quiet"]) == 3
    assert read_csv_rows(tmp_path / "out" / "errors.csv") == [
        {"slide": "slide", "image": "grey.png",
         "error": f"{tmp_path / 'slide' / 'grey.png'}: {GREY_MESSAGE}"}]


@pytest.mark.parametrize(("spread", "refused"), [(5, True), (6, False)])
def test_colour_spread_boundary(spread, refused):
    """MIN_COLOUR_SPREAD = 6 levels: a grey field tinted by 5 levels is still grey."""
    grey = np.minimum(read_field(SAMPLE).mean(axis=2), 240).astype(np.uint8)
    rgb = np.dstack([grey + np.uint8(spread), grey, grey])
    assert colour_spread(rgb) == spread
    if refused:
        with pytest.raises(ColourlessFieldError, match=f"colour spread {spread} of 255"):
            require_stain_colour(rgb)
    else:
        require_stain_colour(rgb)


def test_every_bundled_sample_field_has_stain_colour():
    for path in sorted((ROOT / "datasets" / "samples").glob("*.jpg")):
        assert colour_spread(read_field(path)) >= MIN_COLOUR_SPREAD, path.name


def test_the_api_compares_the_first_usable_field_as_the_cli_does(tmp_path):
    # An overexposed first field is skipped by the scale check and left out of the slide, as in
    # the CLI.
    slide = tmp_path / "s1"
    slide.mkdir()
    Image.fromarray(np.full((480, 640, 3), 255, np.uint8)).save(slide / "a-white.png")
    (slide / "b.jpg").symlink_to(SAMPLE)
    with pytest.warns(UserWarning, match="a-white.png: overexposed"):
        result = smearscan.analyse_slide(slide, pixel_size_um=np.float32(0.2))
    assert [image for image, _ in result.failed] == ["a-white.png"]
    assert [field.summary.image for field in result.fields] == ["b.jpg"]


_PATH_OR_ARRAY = ("a file path or an RGB numpy array (np.asarray makes one of a list or a PIL "
                  "image)")


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: smearscan.analyse_image(""), ValueError, "path_or_rgb: an empty path"),
    # QA 115 F4: told only of file paths.
    (lambda: smearscan.analyse_image(Image.new("RGB", (4, 4))), TypeError,
     f"path_or_rgb: expected {_PATH_OR_ARRAY}, got Image"),
    (lambda: smearscan.analyse_image(b"field.png"), TypeError,
     f"path_or_rgb: expected {_PATH_OR_ARRAY}, got bytes"),
    (lambda: smearscan.analyse_image([[[0, 0, 0]]]), TypeError,
     f"path_or_rgb: expected {_PATH_OR_ARRAY}, got list"),
    (lambda: smearscan.analyse_image(SAMPLE, model=123), TypeError,
     "model: expected a CellClassifier from load_model() or a model file path, got int"),
    (lambda: smearscan.analyse_slide(""), ValueError, "paths: an empty path"),
    (lambda: smearscan.analyse_slide(3), TypeError,
     "paths: expected a folder or an iterable of image files, got int"),
    (lambda: smearscan.analyse_slide([np.zeros((4, 4, 3), np.uint8)]), TypeError,
     "paths: expected a file path (str or os.PathLike), got ndarray"),
    (lambda: smearscan.load_model(""), ModelLoadError,
     "the model path is empty"),
    (lambda: smearscan.load_model(123), TypeError,  # qacli3 LOW-7: os.fspath's own message
     "path: expected a file path (str or os.PathLike), got int"),
    # QA 57 #13: told as a corrupt model file, or taken.
    (lambda: smearscan.load_model(threads="2"), ValueError,
     "threads = '2': expected a whole number of 1 or more"),
    (lambda: smearscan.load_model(threads=2.5), ValueError,
     "threads = 2.5: expected a whole number of 1 or more"),
    (lambda: smearscan.load_model(threads=0), ValueError,
     "threads = 0: expected a whole number of 1 or more"),
    (lambda: smearscan.load_model(threads=True), ValueError,
     "threads = True: expected a whole number of 1 or more"),
])
def test_api_arguments_of_the_wrong_kind_are_named_in_one_line(call, error, message):
    """A QA pass: pathlib's own TypeErrors named neither the argument nor what was given, and
    an empty path analysed the current folder ('.')."""
    with pytest.raises(error) as raised:
        call()
    assert str(raised.value) == message


def test_the_same_image_twice_is_counted_once_by_analyse_slide_as_by_the_cli(tmp_path):
    # QA of the analysis command (second pass): the API refused a slide the CLI analyses.
    for name in ("a.jpg", "b.jpg"):
        shutil.copy(SAMPLE, tmp_path / name)
    twice = smearscan.analyse_slide([tmp_path / "a.jpg", tmp_path / "b.jpg"])
    once = smearscan.analyse_slide([tmp_path / "a.jpg"])
    assert [f.summary.image for f in twice.fields] == ["a.jpg"]
    assert twice.copies == (("b.jpg", "a.jpg"),) and once.copies == ()
    assert twice.result.to_dict() == once.result.to_dict()


def test_a_field_without_a_red_cell_to_take_its_scale_from_is_refused():
    # QA 57 #12 gave such a field a summary with pixel_size_um NaN; QA 65 F4: it is no field to
    # count, and the API refuses it with its reason, as the CLI does.
    rgb = np.asarray(Image.open(SAMPLE))[:10, :10]
    with pytest.raises(CellessFieldError, match=r"^no cell found: a field without cells"):
        smearscan.analyse_image(rgb)


@pytest.mark.parametrize("trust", [False, True])
def test_analyse_slide_doubts_a_declared_scale_as_the_cli_marks_it(trust, recwarn):
    # QA 57 #4: the CLI marks a slide declared 1.2x off its own scale "in doubt"; the API had
    # nothing, and with trust_pixel_size not even a warning.
    doubted = smearscan.analyse_slide([SAMPLE], pixel_size_um=0.25, trust_pixel_size=trust)
    assert doubted.scale_doubts == ("own estimate", "median cell")
    assert round(doubted.own_pixel_size_um, 4) == 0.2045
    assert smearscan.analyse_slide([SAMPLE], pixel_size_um=0.2).scale_doubts == ()
