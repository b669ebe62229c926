import hashlib
import html
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from markupsafe import escape
from model_files import FROZEN_MODEL
from PIL import Image
from synthetic import grid_centres, synthetic_field

from smearscan.cli import main
from smearscan.outputs import read_csv_rows
from smearscan.verdict import urgent_ttp

# The URGENT line of an ADAMTS13 bound that spans the 10% cut-off (TTP likely, then possible):
# it asks for the value, and says ADAMTS13 is in question (QA 46 L-2).
URGENT_BOUND = urgent_ttp("possible", "in question, bound")
SAMPLE_FIELD = Path(__file__).resolve().parents[1] / "datasets" / "samples" / "chula-1.jpg"


def run(*args):
    return main([*map(str, args), "--no-classify", "--quiet"])


def classified(*args):
    return main([*map(str, args), "--quiet"])


def test_single_image_prints_a_table(field_png, capsys):
    assert run(field_png) == 0
    out = capsys.readouterr().out
    assert "field.png" in out and "12" in out


def test_outputs_agree_with_masks(field_png, tmp_path):
    out = tmp_path / "out"
    assert run(field_png, "--out", out, "--save-masks", "--overlay", "--pixel-size", "0.21") == 0
    rows = read_csv_rows(out / "cells.csv")
    assert list(rows[0])[:9] == ["slide", "image", "cell_id", "x", "y", "area_px", "area_um2",
                                 "diameter_um", "border"]
    mask = np.asarray(Image.open(out / "masks" / "field" / "field.png"))
    assert mask.dtype == np.uint16 or mask.dtype == np.int32
    assert len(rows) == mask.max() == 12
    for row in rows:
        cell_id = int(row["cell_id"])
        x, y = round(float(row["x"])), round(float(row["y"]))
        assert mask[y, x] == cell_id  # centroid inside its own mask
        assert int(row["area_px"]) == (mask == cell_id).sum()
        assert float(row["area_um2"]) == pytest.approx(int(row["area_px"]) * 0.21**2, rel=1e-4)
    summary = json.loads((out / "summary.json").read_text())
    slide = summary["slides"]["field"]
    assert slide["objects"] == 12 and slide["pixel_size_um"] == 0.21
    assert not slide["pixel_size_estimated"]
    assert (out / "overlays" / "field" / "field.png").exists()
    assert (out / "errors.csv").read_text().strip() == "slide,image,error"


def test_unreadable_single_image_exits_2(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    assert run(bad) == 2
    err = capsys.readouterr().err
    assert "bad.png" in err and "not an image" in err and "Traceback" not in err


def test_missing_path_exits_2(tmp_path, capsys):
    assert run(tmp_path / "nothing.png") == 2
    assert "no such file" in capsys.readouterr().err


def test_bad_option_value_exits_2(field_png, capsys):
    with pytest.raises(SystemExit) as info:
        run(field_png, "--pixel-size", "-1")
    assert info.value.code == 2
    assert "positive" in capsys.readouterr().err


def test_folder_with_a_bad_file_exits_3_and_lists_it(tmp_path):
    slides = tmp_path / "slides"
    for seed, name in enumerate(("s1/a.png", "s1/b.png", "s2/c.png")):
        path = slides / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(synthetic_field(grid_centres(rows=2, cols=2), seed=seed)).save(path)
    (slides / "s2" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    out = tmp_path / "out"
    assert run(slides, "--out", out) == 3
    errors = read_csv_rows(out / "errors.csv")
    assert [(e["slide"], e["image"]) for e in errors] == [("s2", "broken.jpg")]
    rows = read_csv_rows(out / "cells.csv")
    assert {r["slide"] for r in rows} == {"s1", "s2"} and len(rows) == 12
    summary = json.loads((out / "summary.json").read_text())
    assert summary["slides"]["s2"]["fields_failed"] == 1


def test_rerun_resumes_and_gives_identical_outputs(tmp_path):
    slide = tmp_path / "s1"
    slide.mkdir()
    for i in range(2):
        Image.fromarray(synthetic_field(grid_centres(), seed=i)).save(slide / f"f{i}.png")
    out = tmp_path / "out"
    assert run(slide, "--out", out) == 0
    first = (out / "cells.csv").read_text(), (out / "summary.json").read_text()
    assert run(slide, "--out", out) == 0
    assert ((out / "cells.csv").read_text(), (out / "summary.json").read_text()) == first
    # A changed input invalidates the slide: it is analysed again.
    Image.fromarray(synthetic_field(grid_centres(rows=1, cols=2))).save(slide / "f1.png")
    assert run(slide, "--out", out) == 0
    assert len(read_csv_rows(out / "cells.csv")) == 12 + 2


def test_help_is_instant_and_mentions_subcommands():
    result = subprocess.run([sys.executable, "-m", "smearscan.cli", "--help"],
                            capture_output=True, text=True, check=True)
    assert "--pixel-size" in result.stdout and "verdict" in result.stdout
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, smearscan.cli; print('torch' in sys.modules)"],
        capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "False"


def test_help_explains_the_slide_table_and_exit_codes_with_the_rules_in_force(capsys):
    from smearscan.slide_stats import SOFT_EDGE_WIDTH_UM

    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # as one line, whatever the wrapping
    assert ("insufficient: fewer than 1000 red cells, or a count within the limit from fields "
            "out of focus") in text
    assert f"median red-cell edge width; soft over {SOFT_EDGE_WIDTH_UM:g} um (this tool's rule)" \
        in text
    assert "over 1% of red cells is significant in adults" in text
    assert "3 a folder run finished but some files failed (listed in DIR/errors.csv)" in text


def test_verdict_worked_case_json(capsys):
    code = main(["verdict", "--schistocytes", "8.5", "--rbc-counted", "1200", "--nrbc",
                 "--hemoglobin", "75.5 g/L", "--platelets", "82", "--ldh", "2477",
                 "--ldh-uln", "225", "--haptoglobin", "0", "--reticulocytes", "18.8 %",
                 "--dat", "negative", "--adamts13", "60", "--creatinine", "56.6 umol/L",
                 "--inr", "1.17", "--active-cancer", "yes", "--json"])
    assert code == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["maha"] == "likely"
    causes = {c["cause"]: c["assessment"] for c in verdict["differential"]}
    assert causes["cancer-associated"] == "suspected"
    assert causes["ttp"] == causes["hus"] == "unlikely"


def test_verdict_from_summary_and_per_slide_labs(tmp_path, capsys):
    from smearscan.slide_stats import slide_result

    labels = np.array(["schistocyte"] * 2 + ["rbc"] * 598)  # 600 red cells: too few
    result = slide_result(label=labels, morphology=np.full(600, ""), border=np.zeros(600, bool))
    summary = {"slides": {"s1": result.to_dict()}}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    (tmp_path / "labs.csv").write_text("slide,hemoglobin,platelets\ns1,13.5 g/dL,250\n")
    code = main(["verdict", "--summary", str(tmp_path / "summary.json"), "--slide", "s1",
                 "--labs", str(tmp_path / "labs.csv"), "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["maha"] == "insufficient data"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--schistocytes", "5", "--hemoglobin", "abc"], "hemoglobin"),
        (["--schistocytes", "5", "--platelets", "-3"], "platelets"),
        (["--summary", "missing.json", "--slide", "x"], "missing.json"),
    ],
)
def test_verdict_bad_values_exit_2_with_one_line(args, message, capsys):
    assert main(["verdict", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err


def test_verdict_unknown_lab_key_in_file(tmp_path, capsys):
    (tmp_path / "labs.json").write_text(json.dumps({"hemoglobn": 7}))
    assert main(["verdict", "--schistocytes", "5", "--labs", str(tmp_path / "labs.json")]) == 2
    assert "hemoglobin" in capsys.readouterr().err  # the closest key is suggested


def test_main_run_with_labs_adds_a_verdict_to_summary_and_report(field_png, tmp_path):
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps({"hemoglobin": "7.5 g/dL", "platelets": 80, "dat": "negative"}))
    out = tmp_path / "out"
    assert main([str(field_png), "--out", str(out), "--labs", str(labs), "--quiet"]) == 0
    verdict = json.loads((out / "summary.json").read_text())["slides"]["field"]["verdict"]
    assert verdict["maha"] == "insufficient data"  # 12 cells: under the 1000-cell rule
    assert "MAHA verdict" in (out / "slides" / "field" / "report.html").read_text()


def test_verdict_with_a_bound_that_spans_a_cut_off_exits_2_in_one_line_keeping_the_urgent_line(
        capsys, tmp_path):
    # TTP is possible or worse whatever the ADAMTS13 under 20%: the emergency is printed.
    assert main(["verdict", "--schistocytes", "5", "--platelets", "10",
                 "--adamts13", "<20 %"]) == 2
    printed = capsys.readouterr()
    assert printed.err == (
        "smearscan verdict: command line: adamts13 = '<20%': the verdict differs within that "
        "range (at 0% and just under 20%); give the measured value\n")
    assert printed.out == URGENT_BOUND + "\n"
    # Given in a lab file, the refusal names the file (QA 44 L-1).
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps({"adamts13": "<20 %"}))
    assert main(["verdict", "--schistocytes", "5", "--platelets", "10", "--labs",
                 str(labs)]) == 2
    assert capsys.readouterr() == (URGENT_BOUND + "\n", (
        f"smearscan verdict: {labs}: adamts13 = '<20%': the verdict differs within that range (at "
        "0% and just under 20%); give the measured value\n"))


def test_main_run_with_a_bound_that_spans_a_cut_off_keeps_the_count_and_records_why(
        field_png, tmp_path):
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps({"platelets": 10, "adamts13": "<20 %"}))
    out = tmp_path / "out"
    # A problem with the one image given is exit 2, as for a bad image.
    assert main([str(field_png), "--out", str(out), "--labs", str(labs), "--quiet"]) == 2
    slide = json.loads((out / "summary.json").read_text())["slides"]["field"]
    why = ("adamts13 = '<20%': the verdict differs within that range (at 0% and just under 20%); "
           "give the measured value")
    assert slide["schistocytes"]["rbc_counted"] == 12
    assert slide["verdict"] == {"urgent": URGENT_BOUND, "unresolved": why}
    assert slide["labs"] == {"platelets": 10.0, "adamts13": {"bound": "<", "limit": 20.0},
                             "units": {"adamts13": "%"}}
    assert (out / "errors.csv").read_text().splitlines()[1:] == [
        f"field,,no verdict for slide 'field': {why}"]
    # The report opens with the emergency and says why there is no verdict.
    report = (out / "slides" / "field" / "report.html").read_text(encoding="utf-8")
    assert report.count(f'<b>{escape(URGENT_BOUND)}</b>') == 1
    assert f"<pre>{escape(URGENT_BOUND)}\nNo verdict: {escape(why)}</pre>" in report


def test_a_run_with_a_refused_lab_value_keeps_the_count_and_says_why_there_is_no_verdict(
        field_png, tmp_path, capsys):
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps({"hemoglobin": "seven"}))
    out = tmp_path / "out"
    # A problem with the one image given is exit 2, as for a bad image.
    assert main([str(field_png), "--out", str(out), "--labs", str(labs), "--quiet"]) == 2
    why = (f"{labs}: hemoglobin = 'seven': not a number (expected '<number> g/dL', a bound such "
           "as '<0.1 g/dL' or '<=0.1 g/dL'; a result not back yet: 'pending', or leave it empty)")
    assert capsys.readouterr().err.splitlines()[0] == (
        f"smearscan: no verdict for slide 'field': {why}")
    slide = json.loads((out / "summary.json").read_text())["slides"]["field"]
    assert slide["schistocytes"]["rbc_counted"] == 12
    assert slide["verdict"] == {"urgent": None, "unresolved": why}
    assert slide["refused_labs"] == {"values": {"hemoglobin": "seven"}, "source": str(labs)}
    assert "labs" not in slide
    report = (out / "slides" / "field" / "report.html").read_text(encoding="utf-8")
    assert f"<pre>No verdict: {escape(why)}</pre>" in report


@pytest.mark.parametrize(("values", "line"), [
    ({"hemoglobin": "7 g/dL"}, None),
    # QA 141 M-1: refused before any line, where a run gives these values "TTP likely".
    ({"platelets": "15", "adamts13": "3 %"}, "lab values with no slide name: URGENT - TTP likely"),
    # ... and beside one named slide, not said of that slide (a reread: it was).
    ({"": {"platelets": "15", "adamts13": "3 %"}, "s9": {"platelets": "250"}},
     "lab values with no slide name: URGENT - TTP likely")])
def test_labs_without_the_classifier_are_refused_before_any_work(values, line, field_png,
                                                                 tmp_path, capsys):
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps(values))
    with pytest.raises(SystemExit) as stopped:
        main([str(field_png), "--out", str(tmp_path / "out"), "--labs", str(labs),
              "--no-classify", "--quiet"])
    assert stopped.value.code == 2
    captured = capsys.readouterr()
    assert captured.err.splitlines()[-1] == (
        "smearscan: error: --labs needs the classifier: the verdict rests on the slide's "
        "schistocyte count (leave out --no-classify) (see smearscan --help)")
    if line is None:
        assert captured.out == ""
    else:
        assert captured.out.startswith(line) and len(captured.out.splitlines()) == 1
    assert not (tmp_path / "out").exists()  # refused before the folder is made (QA 29 L2)


def test_edited_labs_file_redoes_the_slide_on_resume(field_png, tmp_path):
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps({"hemoglobin": "7.5 g/dL"}))
    out = tmp_path / "out"
    assert main([str(field_png), "--out", str(out), "--labs", str(labs), "--quiet"]) == 0
    labs.write_text(json.dumps({"hemoglobin": "7.5 g/dL", "dat": "positive"}))
    assert main([str(field_png), "--out", str(out), "--labs", str(labs), "--quiet"]) == 0
    verdict = json.loads((out / "summary.json").read_text())["slides"]["field"]["verdict"]
    assert "dat" not in " ".join(verdict["missing"])  # the new value was used


def test_the_same_labs_and_model_files_under_other_spellings_resume(field_png, tmp_path):
    # QA 62 F7: ./labs.json for labs.json redid every slide in full; the files enter the
    # fingerprint by content.
    from smearscan import default_model_path

    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps({"hemoglobin": "7.5 g/dL"}))
    (tmp_path / "sub").mkdir()
    out = tmp_path / "out"
    model = default_model_path()
    assert main([str(field_png), "--out", str(out), "--labs", str(labs), "--quiet"]) == 0
    record = out / "slides" / "field" / "slide.json"
    written = record.stat().st_mtime_ns
    respelt = model.parent / ".." / model.parent.name / model.name
    assert main([str(field_png), "--out", str(out), "--labs", str(tmp_path / "sub/../labs.json"),
                 "--model", str(respelt), "--quiet"]) == 0
    assert record.stat().st_mtime_ns == written  # resumed, not analysed again
    labs.write_text(json.dumps({"hemoglobin": "8 g/dL"}))  # another content: analysed again
    assert main([str(field_png), "--out", str(out), "--labs", str(labs), "--quiet"]) == 0
    assert record.stat().st_mtime_ns != written


def test_field_without_red_cells_gets_no_estimated_scale():
    from smearscan.segmentation import segment_field

    specks = np.full((200, 200, 3), 230, np.uint8)
    specks[::40, ::40] = 60  # isolated dark pixels, no cell-sized objects
    seg = segment_field(specks)
    assert seg.count == 0 and np.isnan(seg.pixel_size_um)


def test_worker_run_keeps_torch_out_of_the_main_process(tmp_path):
    """With --jobs 2 the workers classify; the main process never pays for importing torch,
    yet the slide statistics and summary.json name the model that made the calls."""
    slide = tmp_path / "s1"
    slide.mkdir()
    for i in range(2):
        Image.fromarray(synthetic_field(grid_centres(), seed=i)).save(slide / f"f{i}.png")
    out = tmp_path / "out"
    code = ("import sys; from smearscan.cli import main; code = main(sys.argv[1:]); "
            "print('torch' in sys.modules); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", code, str(slide), "--out", str(out),
                           "--jobs", "2", "--quiet"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"]["version"].startswith("cnn-")
    assert "schistocyte" in summary["model"]["operating_points"]
    assert summary["slides"]["s1"]["schistocytes"]["corrected_ci95"] is not None
    # The same run in one process gives the same summary.
    assert main([str(slide), "--out", str(tmp_path / "one"), "--quiet"]) == 0
    assert json.loads((tmp_path / "one" / "summary.json").read_text()) == summary


def test_default_jobs_use_the_cores_only_for_runs_worth_it():
    from smearscan.executor import default_jobs

    assert default_jobs(1) == 1 and default_jobs(19) == 1
    assert 1 <= default_jobs(20) <= 4
    assert default_jobs(20) == min(len(os.sched_getaffinity(0)), 4)


@pytest.mark.parametrize("value", ["2", "10", "50", "1e-6"])
def test_implausible_pixel_sizes_exit_2_with_one_line(shared_datasets, capsys, value):
    field = shared_datasets / "chula-rbc-12" / "Dataset" / "1.jpg"
    assert run(field, "--pixel-size", value) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and captured.out == ""
    assert lines[0].startswith(f"smearscan: --pixel-size {float(value):g} um/px is outside "
                               "0.0125-0.5 um/px")


def test_a_pixel_size_the_field_contradicts_is_refused_unless_trusted(shared_datasets, capsys):
    field = shared_datasets / "chula-rbc-12" / "Dataset" / "1.jpg"
    assert run(field, "--pixel-size", "0.1") == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "--pixel-size 0.1 um/px disagrees with 0.204 um/px estimated from" in lines[0]
    assert run(field, "--pixel-size", "0.1", "--trust-pixel-size") == 0
    assert run(field, "--pixel-size", "0.2") == 0


def test_a_field_of_a_slide_that_the_declared_pixel_size_does_not_fit_is_left_out(tmp_path,
                                                                                  capsys):
    # QA 50 F1: a field taken at twice the magnification, after the field the declared size was
    # checked on, was read at that size, its cells cut in pieces, and counted unflagged.
    import cv2

    from smearscan.loading import read_field
    from smearscan.pipeline import conditioned
    from smearscan.segmentation import segment_field, whole_cell_pixel_size_um

    slide = tmp_path / "s"
    slide.mkdir()
    rgb = np.asarray(Image.open(SAMPLE_FIELD))
    Image.fromarray(rgb).save(slide / "a.png")
    Image.fromarray(cv2.resize(rgb, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)).save(
        slide / "b.png")
    own = segment_field(conditioned(read_field(slide / "b.png")).rgb)
    out = tmp_path / "out"
    assert run(slide, "--pixel-size", "0.2", "--out", out) == 3
    assert read_csv_rows(out / "errors.csv") == [{"slide": "s", "image": "b.png", "error": (
        f"{slide / 'b.png'}: its own pixel size, {whole_cell_pixel_size_um(own):.3g} um/px from "
        f"{own.count} objects (its whole red cells taken as 7.5 um), disagrees with --pixel-size "
        "0.2 um/px and the slide's own 0.204 um/px by more than 1.35x (this tool's rule): taken "
        "at another objective or camera setting, or too blurred or crowded for its red cells to "
        "be measured? Left out of the count; --trust-pixel-size (trust_pixel_size=True in "
        "Python) counts it at the declared size")}]
    assert {row["image"] for row in read_csv_rows(out / "cells.csv")} == {"a.png"}
    capsys.readouterr()
    trusted = tmp_path / "trusted"
    assert run(slide, "--pixel-size", "0.2", "--trust-pixel-size", "--out", trusted) == 0
    assert {row["image"] for row in read_csv_rows(trusted / "cells.csv")} == {"a.png", "b.png"}
    assert run(slide, "--out", tmp_path / "estimated") == 0  # each field at its own scale


def _fields_through_a_stronger_objective(slide: Path, first: Image.Image) -> None:
    """``first``, then two fields of the sample, a quarter of it enlarged 2x (31 objects) and
    a part enlarged 1.7x (36 objects), as taken through stronger objectives."""
    slide.mkdir()
    field = Image.open(SAMPLE_FIELD)
    first.save(slide / "a.png")
    field.crop((160, 120, 480, 360)).resize((640, 480), Image.BICUBIC).save(slide / "b.png")
    field.crop((120, 90, 440, 330)).resize((544, 408), Image.BICUBIC).save(slide / "c.png")


def test_a_field_through_a_stronger_objective_showing_few_cells_is_left_out_among_full_fields(
        tmp_path, capsys):
    # QA 60 F1: a field at 2x shows a quarter of the area, under 40 objects, and was only named
    # off scale, counted at 3-5x its red cells. Where the slide's own estimate rests on full
    # fields (here 133 objects), it is left out 1.5x off.
    slide = tmp_path / "s"
    _fields_through_a_stronger_objective(slide, Image.open(SAMPLE_FIELD))
    out = tmp_path / "out"
    assert run(slide, "--pixel-size", "0.2", "--no-classify", "--out", out) == 3
    capsys.readouterr()
    errors = read_csv_rows(out / "errors.csv")
    assert [row["image"] for row in errors] == ["b.png", "c.png"]
    assert [row["error"].split(": ", 1)[1] for row in errors] == [
        f"its own pixel size, {size} um/px from {objects} objects (its whole red cells taken "
        "as 7.5 um), disagrees with --pixel-size 0.2 um/px and the slide's own 0.204 um/px by more "
        "than 1.5x (this tool's rule): taken at another objective or camera setting, or too "
        "blurred or crowded for its red cells to be measured? Left out of the count; "
        "--trust-pixel-size (trust_pixel_size=True in Python) counts it at the declared size"
        for size, objects in (("0.102", 31), ("0.124", 36))]
    assert {row["image"] for row in read_csv_rows(out / "cells.csv")} == {"a.png"}


def test_a_field_through_a_stronger_objective_showing_few_cells_is_named_among_crops(
        tmp_path, capsys):
    # QA 52 F1: a field at 2x showing a quarter of the area has too few cells (under 40) for a
    # sure estimate; it was counted at the declared size without a word. In a slide of crops
    # (its own estimate from fields of under 40 objects, here 38) it is named: left out, such
    # fields would take crowded fields and those around a large white cell with them (PBC's
    # crops around an immature granulocyte).
    slide = tmp_path / "s"
    _fields_through_a_stronger_objective(slide, Image.open(SAMPLE_FIELD).crop((0, 0, 320, 240)))
    out = tmp_path / "out"  # classified: the report names the fields beside the count
    assert main([str(slide), "--pixel-size", "0.2", "--out", str(out), "--quiet",
                 "--model", str(FROZEN_MODEL)]) == 0  # its 2 calls lie in the off-scale fields
    assert "0.200, 2 field(s) off scale" in capsys.readouterr().out
    fields = json.loads((out / "summary.json").read_text())["slides"]["s"]["per_field"]
    assert [(f["image"], f["own_pixel_size_um"]) for f in fields] == [
        ("a.png", None), ("b.png", 0.1019), ("c.png", 0.1236)]
    # QA 58 F4: the report called the declared size "the median of its fields".
    report = html.unescape((out / "slides" / "s" / "report.html").read_text(encoding="utf-8"))
    assert ("<b>2 of 3 field(s) off the declared scale</b>, counted at the declared 0.200 um/px: "
            "their own pixel size, estimated from their red cells, differs from it (this tool's "
            "rule): b.png (0.102 um/px, 1.96x), c.png (0.124 um/px, 1.62x); 2 of the slide's 2 "
            "schistocyte calls are theirs. Taken at another objective") in report  # QA 78 M3


@pytest.mark.parametrize("scale", [1.45, 1.5])
def test_a_field_through_a_stronger_objective_showing_many_cells_is_left_out(scale, tmp_path,
                                                                             capsys):
    # QA 52 F6: a field taken at x60 in a slide declared at x40's pixel size (1.5x) was counted
    # unnamed; QA 58 F1: named off scale, a 1.4x field was still counted, its cells cut in
    # pieces (243 red cells for 109).
    slide = tmp_path / "s"
    slide.mkdir()
    field = Image.open(SAMPLE_FIELD)
    field.save(slide / "a.png")
    field.resize((round(640 * scale), round(480 * scale)), Image.BICUBIC).save(slide / "b.png")
    out = tmp_path / "out"
    assert run(slide, "--pixel-size", "0.2", "--out", out) == 3
    capsys.readouterr()
    [error] = read_csv_rows(out / "errors.csv")
    assert error["image"] == "b.png"
    assert ("disagrees with --pixel-size 0.2 um/px and the slide's own 0.204 um/px by more than "
            "1.35x (this tool's rule)") in error["error"]
    assert {row["image"] for row in read_csv_rows(out / "cells.csv")} == {"a.png"}


def test_a_run_of_fields_at_a_stronger_objective_at_a_slides_start_is_left_out(tmp_path,
                                                                                capsys):
    # QA 60 F3: the first field doubting the declared size, the median of the slide's first 5
    # was compared; 3 of them taken through a 1.5x stronger objective made it theirs, the slide
    # was called in doubt and those 3 counted, their cells cut in pieces. The 5 are now spread
    # over the slide (fields 0, 2, 4, 7 and 9 of 10).
    slide = tmp_path / "s"
    slide.mkdir()
    field = Image.open(SAMPLE_FIELD)
    turns = [None, *Image.Transpose][:7]  # 7 different fields at 1x
    for index in range(10):
        turn = turns[index if index < 3 else index - 3]
        image = field if turn is None else field.transpose(turn)
        if index < 3:
            image = image.resize((image.width * 3 // 2, image.height * 3 // 2), Image.BICUBIC)
        image.save(slide / f"f{index}.png")
    out = tmp_path / "out"
    assert run(slide, "--pixel-size", "0.2", "--no-classify", "--out", out) == 3
    assert "warning" not in capsys.readouterr().err
    errors = read_csv_rows(out / "errors.csv")
    assert [row["image"] for row in errors] == ["f0.png", "f1.png", "f2.png"]
    assert all("and the slide's own 0.202 um/px by more than 1.35x" in row["error"]
               for row in errors)
    summary = json.loads((out / "summary.json").read_text())["slides"]["s"]
    assert summary["scale_in_doubt"] is False


def test_a_folder_takes_every_image_format_the_reader_takes(tmp_path):
    # QA 50 F2: '.jfif', '.jpe', '.webp' and '.gif' fields were left out of their slide without a
    # word, though each was analysed when given alone.
    slide = tmp_path / "s"
    slide.mkdir()
    rgb = Image.open(SAMPLE_FIELD)
    rgb.save(slide / "a.jpg")
    rgb.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(slide / "b.jfif", format="JPEG")
    rgb.transpose(Image.Transpose.FLIP_TOP_BOTTOM).save(slide / "c.JPE", format="JPEG")
    rgb.transpose(Image.Transpose.ROTATE_180).save(slide / "d.webp", lossless=True)
    rgb.transpose(Image.Transpose.TRANSPOSE).convert("P").save(slide / "e.gif")
    out = tmp_path / "out"
    assert run(slide, "--out", out) == 0
    summary = json.loads((out / "summary.json").read_text())["slides"]["s"]
    assert [f["image"] for f in summary["per_field"]] == ["a.jpg", "b.jfif", "c.JPE", "d.webp",
                                                           "e.gif"]


def test_a_run_without_out_says_why_a_pixel_size_is_in_doubt(capsys):
    # QA 50 F7: the field table said "0.250: in doubt", and nothing said why; QA 129 F4: nor
    # that the size was trusted, as the slide table says.
    assert run(SAMPLE_FIELD, "--pixel-size", "0.25", "--trust-pixel-size") == 0
    captured = capsys.readouterr()
    assert "0.250 trusted: in doubt" in captured.out
    assert captured.err.splitlines()[-1] == (
        "smearscan: slide 'chula-1': the pixel size is in doubt: the slide's own estimate, "
        "0.204 um/px (its whole red cells taken as 7.5 um), is 1.22x off the declared 0.250 "
        "um/px")


def test_summary_names_each_slides_model_when_they_differ(tmp_path):
    # QA 50 F3: a slide analysed again with another --model was said to be the shipped model's.
    from model_files import model_with

    for name in ("a", "b"):
        (tmp_path / "in" / name).mkdir(parents=True)
        (tmp_path / "in" / name / "f.jpg").write_bytes(SAMPLE_FIELD.read_bytes() + name.encode())
    out = tmp_path / "out"
    assert main([str(tmp_path / "in"), "--out", str(out), "--quiet"]) == 0
    shipped = json.loads((out / "summary.json").read_text())
    assert shipped["models"] == {"a": shipped["model"], "b": shipped["model"]}
    other = model_with(tmp_path / "other.onnx", model_version="other-1")
    assert main([str(tmp_path / "in" / "b"), "--out", str(out), "--model", str(other),
                 "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["model"] is None
    assert summary["models"]["a"] == shipped["model"]
    assert summary["models"]["b"]["version"] == "other-1"


def test_images_of_one_folder_given_one_by_one_get_a_note(field_png, tmp_path, capsys):
    # QA of the analysis command (second pass): 's1/*.jpg' made one slide per file, each
    # 'insufficient', without a hint.
    slide = _two_slides(tmp_path, field_png) / "s1"
    (slide / "g.png").write_bytes(field_png.read_bytes() + b"\0")
    assert run(slide / "f.png", slide / "g.png", "--no-classify") == 0
    assert capsys.readouterr().err.splitlines()[0] == (
        f"smearscan: 2 images of {slide} given one by one are 2 slides of one field each; give "
        f"the folder ({slide}) for one slide")
    # QA 50 F6: an image given twice was counted as two images and two slides.
    assert run(slide / "f.png", slide / ".." / "s1" / "f.png", "--no-classify") == 0
    assert "given one by one" not in capsys.readouterr().err
    assert run(slide / "f.png", slide / ".." / "s1" / "g.png", "--no-classify") == 0
    assert (f"smearscan: 2 images of {slide} given one by one are 2 slides"
            in capsys.readouterr().err)
    assert run(slide / "f.png", slide / "g.png", slide / "f.png", "--no-classify") == 0
    assert (f"smearscan: 2 images of {slide} given one by one are 2 slides"
            in capsys.readouterr().err)


def test_trust_pixel_size_without_a_pixel_size_is_a_usage_error(field_png, capsys):
    assert run(field_png, "--trust-pixel-size") == 2
    assert capsys.readouterr().err == ("smearscan: --trust-pixel-size trusts a --pixel-size; "
                                       "give the pixel size\n")


def test_a_pixel_size_the_field_doubts_is_used_with_a_warning(shared_datasets, capsys):
    # The field reads 0.204 um/px; 0.14 (1.46x) and 0.3 (1.47x) were used without a word;
    # 0.25 (1.22x) too while the rule was 1.25x (qacli3: a slide read 4.79% at its own scale,
    # 1.50% at 1.21x it).
    field = shared_datasets / "chula-rbc-12" / "Dataset" / "1.jpg"
    for value, ratio, diameter in (("0.14", 0.2045 / 0.14, "5.1"), ("0.3", 0.3 / 0.2045, "11.0"),
                                   ("0.25", 0.25 / 0.2045, "9.2")):
        assert run(field, "--pixel-size", value, "--no-classify") == 0
        warned = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
        assert warned == [
            f"smearscan: warning: slide 1: --pixel-size {value} um/px differs from 0.204 um/px "
            f"estimated from {field} by {ratio:.2f}x: at the declared size the whole red cells "
            f"it was estimated from measure {diameter} um (a normal cell is 7.5 "
            "um; warned over 1.15x, this tool's rule), and the schistocyte count moves with the "
            "scale; used as given, but check the calibration and the objective (pixel_size_um in "
            "Python)"]
    for quiet in (["0.2"], ["0.23"], ["0.14", "--trust-pixel-size"]):
        assert run(field, "--pixel-size", *quiet, "--no-classify") == 0
        assert "warning" not in capsys.readouterr().err


def test_a_slide_read_at_a_doubtful_declared_scale_says_so_in_its_outputs(tmp_path, capsys):
    # QA of the analysis command (second pass): a slide read 5.2% at its own scale and 1.2% at
    # 1.3x it, and no output but the terminal's warning mentioned the scale. The field's own
    # estimate is 0.2045 um/px; at 0.3 (1.47x off) it agrees with itself, the slide's own
    # estimate, so it is not named off its slide (QA 60 F2); the slide is in doubt.
    for value, diameter, doubt in (("0.3", 11.14, True), ("0.25", 9.45, True),
                                   ("0.2", 7.53, False)):
        out = tmp_path / value
        assert main([str(SAMPLE_FIELD), "--pixel-size", value, "--out", str(out)]) == 0
        row = capsys.readouterr().out.splitlines()[1]
        assert (f"{float(value):.3f}, own estimate 0.204, red cells {diameter:.1f} um: "
                "in doubt" in row) is doubt
        slide = json.loads((out / "summary.json").read_text())["slides"]["chula-1"]
        assert (slide["median_rbc_diameter_um"], slide["scale_in_doubt"]) == (diameter, doubt)
        assert round(slide["own_pixel_size_um"], 4) == 0.2045
        report = (out / "slides" / "chula-1" / "report.html").read_text(encoding="utf-8")
        assert ("<b>Scale in doubt:</b> the slide's own estimate, 0.204 um/px (its whole red "
                f"cells taken as 7.5 um), is {float(value) / 0.2045:.2f}x off the declared "
                f"{float(value):.3f} um/px; and at the declared pixel size ({float(value):.3f} "
                f"um/px) the slide's median red cell measures {diameter:.1f} um, "
                f"{diameter / 7.5:.2f}x off the 7.5 um of a normal cell (more than 1.15x: this "
                "tool's rule)" in html.unescape(report)) is doubt


def test_a_trusted_pixel_size_in_doubt_is_said_beside_the_count_in_the_verdict(tmp_path,
                                                                                 capsys):
    # QA 139 M-2: a trusted pixel size the slide marks in doubt raised the count and MAHA with
    # nothing in the verdict, where the report and summary.json said it.
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps({"platelets": "20", "hemoglobin": "8 g/dL", "sex": "female"}))
    out = tmp_path / "trusted"
    assert main([str(SAMPLE_FIELD), "--pixel-size", "0.25", "--trust-pixel-size", "--out",
                 str(out), "--labs", str(labs), "--quiet"]) == 0
    said = ("pixel size in doubt but trusted (--trust-pixel-size): the count moves with the "
            "scale")
    verdict = json.loads((out / "summary.json").read_text())["slides"]["chula-1"]["verdict"]
    assert verdict["findings"]["for"][0]["value"].endswith(said)
    assert main(["verdict", "--summary", str(out / "summary.json"), "--labs", str(labs)]) == 0
    assert capsys.readouterr().out.count(said) == 1


def test_a_trusted_pixel_size_is_not_warned_of_but_its_doubt_is_recorded(tmp_path, capsys):
    # qacli4 MEDIUM-2: --trust-pixel-size at 1.21x the slide's estimate read 1.50% (4.79% at its
    # own scale) with nothing in the report or summary.json to show the check was overridden.
    out = tmp_path / "trusted"
    assert main([str(SAMPLE_FIELD), "--pixel-size", "0.25", "--trust-pixel-size", "--out",
                 str(out)]) == 0
    printed = capsys.readouterr()
    assert "warning" not in printed.err
    slide = json.loads((out / "summary.json").read_text())["slides"]["chula-1"]
    assert (round(slide["own_pixel_size_um"], 4), slide["scale_in_doubt"]) == (0.2045, True)
    # qacli5 LOW-1: that the check was overridden is recorded in all three outputs.
    assert slide["pixel_size_trusted"] is True
    assert "0.250 trusted, own estimate 0.204, red cells 9.4 um: in doubt" in printed.out
    report = (out / "slides" / "chula-1" / "report.html").read_text(encoding="utf-8")
    assert "pixel size 0.250 um/px (declared with --trust-pixel-size)" in report
    # The same run without it is analysed again, and says it was not trusted.
    assert main([str(SAMPLE_FIELD), "--pixel-size", "0.25", "--out", str(out), "--quiet"]) == 0
    slide = json.loads((out / "summary.json").read_text())["slides"]["chula-1"]
    assert slide["pixel_size_trusted"] is False
    # Beyond 1.5x it is used, not refused.
    assert main([str(SAMPLE_FIELD), "--pixel-size", "0.4", "--trust-pixel-size",
                 "--no-classify"]) == 0
    # qacli8 L-1: without --out the field table marks it too; at the slide's own scale it is not.
    for size, marked in (("0.25", "0.250: in doubt"), ("0.204", "0.204  ")):
        capsys.readouterr()
        assert main([str(SAMPLE_FIELD), "--pixel-size", size, "--quiet"]) == 0
        assert marked in capsys.readouterr().out.splitlines()[1]


def test_a_declared_pixel_size_is_compared_with_the_median_of_five_fields(shared_datasets,
                                                                           tmp_path, capsys):
    # A CellaVision monocyte crop reads 0.059 um/px from its few red cells; PBC is 0.105. Alone
    # it refused the true pixel size; with four more fields of the slide it does not.
    pbc = shared_datasets / "pbc"
    slide = tmp_path / "slide"
    slide.mkdir()
    names = ["monocyte/MO_104451.jpg", "lymphocyte/LY_11415.jpg", "lymphocyte/LY_116029.jpg",
             "lymphocyte/LY_134079.jpg", "lymphocyte/LY_135776.jpg"]
    for index, name in enumerate(names):
        (slide / f"{index}.jpg").symlink_to(pbc / name)
    assert run(slide / "0.jpg", "--pixel-size", "0.105") == 2
    assert "disagrees with 0.0592 um/px estimated from" in capsys.readouterr().err
    assert run(slide, "--pixel-size", "0.105", "--no-classify") == 0
    capsys.readouterr()
    assert run(slide, "--pixel-size", "0.3", "--no-classify") == 2
    assert capsys.readouterr().err.startswith(
        "smearscan: --pixel-size 0.3 um/px disagrees with 0.103 um/px estimated from the median "
        f"of 5 fields ({slide / '0.jpg'} and 4 more) (its whole red cells taken as 7.5 um)")


def _two_slides(tmp_path, field_png):
    """Slides s1 (the sample field) and s2 (the field upside down: another patient's)."""
    for name in ("s1", "s2"):
        (tmp_path / "in" / name).mkdir(parents=True)
    (tmp_path / "in" / "s1" / "f.png").write_bytes(field_png.read_bytes())
    Image.fromarray(np.asarray(Image.open(field_png))[::-1]).save(tmp_path / "in" / "s2" / "f.png")
    return tmp_path / "in"


def test_a_stray_image_beside_slide_folders_is_refused_before_any_work(field_png, tmp_path,
                                                                       capsys):
    # QA of the analysis command (second pass): one calibration picture beside three patients'
    # slide folders pooled them into one slide, "above 4.38%", exit 0, without a word.
    slides = _two_slides(tmp_path, field_png)
    (slides / "calibration.png").write_bytes(field_png.read_bytes())
    out = tmp_path / "out"
    assert run(slides, "--out", out) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == (
        f"smearscan: {slides}: 1 image (calibration.png) beside 2 sub-folders (s1, s2) of images: "
        "one slide, or a folder of slides with a stray image? For one slide give a folder that "
        "holds it alone; else move the images into a sub-folder of their own (or away), or give "
        "the slide folders one by one\n")
    assert not out.exists()
    assert run(slides / "s1", slides / "s2", "--out", out, "--no-classify") == 0


URGENT_LABS = "platelets,ldh,ldh_uln,haptoglobin,dat\n12,900,250,<0.1 g/L,negative\n"


def test_a_batch_prints_each_slides_urgent_line_first_and_names_a_slide_without_labs(
        field_png, tmp_path, capsys):
    # QA of the analysis command: the URGENT line was only in the report and summary.json, and
    # a slide the lab file did not name had no verdict without a word.
    slides = _two_slides(tmp_path, field_png)
    labs = tmp_path / "labs.csv"
    labs.write_text("slide," + URGENT_LABS.replace("\n12", "\ns1,12"))
    out = tmp_path / "out"
    assert main([str(slides), "--out", str(out), "--labs", str(labs), "--quiet"]) == 3
    printed = capsys.readouterr()
    assert printed.out.splitlines()[0] == f"s1: {urgent_ttp('possible', 'unknown')}"
    assert printed.out.splitlines()[1].startswith("slide  fields")
    problem = f"no verdict: {labs} has no lab values for slide 's2'"
    assert f"smearscan: {problem}\n" in printed.err
    assert read_csv_rows(out / "errors.csv") == [{"slide": "s2", "image": "", "error": problem}]


def test_a_batch_says_each_urgent_line_as_soon_as_it_is_known(field_png, tmp_path, capsys):
    # QA 154 H-1: "TTP likely ... start plasma exchange now" from a slide's lab values reached
    # the terminal only once every slide was done, and never from a run stopped before.
    slides = _two_slides(tmp_path, field_png)
    labs = tmp_path / "labs.csv"
    labs.write_text("slide,platelets,adamts13,hemoglobin\ns1,15,3 %,8 g/dL\ns2,250,80 %,14 g/dL\n")
    before = urgent_ttp("likely", "severe")
    assert main([str(slides), "--out", str(tmp_path / "out"), "--labs", str(labs)]) == 0
    err = capsys.readouterr().err.splitlines()
    # Before any slide is done, then after its own progress line (stderr is not a terminal).
    assert err[0] == f"smearscan: before counting, from the lab values alone: s1: {before}"
    assert err[1].startswith("smearscan: slide 1/2 done: s1 (1 field(s), ")
    assert err[2].startswith("smearscan: s1: URGENT - TTP likely")
    assert err[3].startswith("smearscan: slide 2/2 done: s2")
    assert not [line for line in err if line.startswith("smearscan: s2: URGENT")]


def test_a_run_refused_or_given_another_patients_row_keeps_its_urgent_line(
        field_png, tmp_path, capsys):
    # QA 157 M-5: refused for an output folder not smearscan's, or given a row for no slide of
    # the run, the rows' URGENT lines were never said.
    slides = _two_slides(tmp_path, field_png)
    labs = tmp_path / "labs.csv"
    labs.write_text("slide,platelets,adamts13,hemoglobin\ns1,250,80 %,14 g/dL\n"
                    "s2,250,80 %,14 g/dL\nzz,15,3 %,8 g/dL\n")
    line = urgent_ttp("likely", "severe")
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("not smearscan's")
    assert main([str(slides), "--out", str(taken), "--labs", str(labs)]) == 2
    printed = capsys.readouterr()
    assert printed.out == f"zz: {line}\n"
    assert printed.err.startswith(f"smearscan: {taken}: this folder is not empty")
    assert main([str(slides), "--out", str(tmp_path / "out"), "--labs", str(labs),
                 "--quiet"]) == 0
    assert f"smearscan: {labs}, for no slide of this run: zz: {line}" in (
        capsys.readouterr().err.splitlines())


def test_a_run_names_the_earlier_slides_its_merged_outputs_keep(field_png, tmp_path, capsys):
    # QA 154 M-3: after a slide folder was deleted, the table showed 1 slide and summary.json 2.
    slides = _two_slides(tmp_path, field_png)
    out = tmp_path / "out"
    assert main([str(slides), "--out", str(out), "--no-classify", "--quiet"]) == 0
    shutil.rmtree(slides / "s2")
    capsys.readouterr()
    assert main([str(slides), "--out", str(out), "--no-classify", "--quiet"]) == 0
    assert capsys.readouterr().err == (
        f"smearscan: {out}: its merged outputs (summary.json, cells.csv) also hold 1 slide (s2) "
        f"of earlier runs, not given in this one (remove {out / 'slides'}/NAME to drop one)\n")
    assert sorted(json.loads((out / "summary.json").read_text())["slides"]) == ["s1", "s2"]


def test_a_lab_value_changed_in_one_row_analyses_only_that_slide_again(field_png, tmp_path):
    # QA 76 F5: any change to the lab file analysed every slide again; F4: a slide without a
    # row, resumed from the same rows under another file name, named the old file.
    slides = _two_slides(tmp_path, field_png)
    labs, renamed = tmp_path / "labs.csv", tmp_path / "labs-2.csv"
    labs.write_text("slide,platelets\ns1,20\ns2,30\n")
    out = tmp_path / "out"
    assert classified(slides, "--out", out, "--labs", labs) == 0
    records = {name: out / "slides" / name / "slide.json" for name in ("s1", "s2")}
    written = {name: record.stat().st_mtime_ns for name, record in records.items()}
    labs.write_text("slide,platelets\ns1,20\ns2,35\n")
    assert classified(slides, "--out", out, "--labs", labs) == 0
    assert records["s1"].stat().st_mtime_ns == written["s1"]  # resumed
    assert records["s2"].stat().st_mtime_ns != written["s2"]
    summary = json.loads((out / "summary.json").read_text())["slides"]
    assert (summary["s1"]["labs"], summary["s2"]["labs"]) == ({"platelets": 20.0},
                                                              {"platelets": 35.0})
    renamed.write_text("slide,platelets\ns1,20\n")
    assert classified(slides, "--out", out, "--labs", renamed) == 3
    assert read_csv_rows(out / "errors.csv") == [{
        "slide": "s2", "image": "", "error": f"no verdict: {renamed} has no lab values for slide "
                                             "'s2'"}]
    written = {name: record.stat().st_mtime_ns for name, record in records.items()}
    renamed.rename(labs)  # the same rows under the first name: only s2's line changes
    assert classified(slides, "--out", out, "--labs", labs) == 3
    assert records["s1"].stat().st_mtime_ns == written["s1"]
    assert records["s2"].stat().st_mtime_ns != written["s2"]
    assert read_csv_rows(out / "errors.csv")[0]["error"] == (
        f"no verdict: {labs} has no lab values for slide 's2'")


@pytest.mark.parametrize(("rows", "message"), [
    ("S1,20\ns2,30\n", "lab values for slides not in this run: 'S1' (did you mean 's1'?)"),
    ("s_1,20\ns2,30\n", "lab values for slides not in this run: 's_1' (did you mean 's1'?)"),
    ("s1,20\nS1,25\ns2,30\n",  # qacli6 LOW-3: the second row was ignored without a word
     "two rows for one slide of this run, 's1' and 'S1' (their names differ only in case, "
     "spaces, underscores or hyphens): keep the right one"),
    ("sX,20\n", "no lab values for any slide of this run (s1, s2); it has sX")])
def test_a_lab_file_that_names_no_slide_of_the_run_is_refused_before_any_work(
        field_png, tmp_path, capsys, rows, message):
    slides = _two_slides(tmp_path, field_png)
    labs = tmp_path / "labs.csv"
    labs.write_text("slide,platelets\n" + rows)
    out = tmp_path / "out"
    assert main([str(slides), "--out", str(out), "--labs", str(labs), "--quiet"]) == 2
    assert capsys.readouterr().err == f"smearscan: {labs}: {message}\n"
    assert not (out / "slides").exists()


def test_a_folder_runs_ldh_limit_no_assay_gives_withholds_only_that_slides_verdict(
        field_png, tmp_path, capsys):
    slides = _two_slides(tmp_path, field_png)
    labs = tmp_path / "labs.csv"
    labs.write_text("slide,ldh,ldh_uln\ns1,900 U/L,1500 U/L\ns2,200 U/L,250 U/L\n")
    out = tmp_path / "out"
    assert main([str(slides), "--out", str(out), "--labs", str(labs), "--quiet"]) == 3
    why = (f"{labs} line 2 (slide 's1'): ldh_uln = 1500 U/L is over 1000 U/L, above any LDH "
           "assay's upper limit of normal after the neonatal period (adults ~190-620 U/L by "
           "method, a child's up to ~1000; this tool's rule): check the limit printed beside the "
           "LDH")
    assert capsys.readouterr().err.splitlines()[0] == f"smearscan: no verdict for slide 's1': {why}"
    recorded = json.loads((out / "summary.json").read_text())["slides"]
    assert recorded["s1"]["verdict"] == {"urgent": None, "unresolved": why}
    assert recorded["s2"]["verdict"]["maha"] == "insufficient data"  # an LDH alone
    # A neonate's may be that high; another slide's row is not this run's (qacli7).
    assert main([str(slides), "--out", str(tmp_path / "neonate"), "--labs", str(labs),
                 "--quiet", "--population", "neonate"]) == 0
    assert main([str(slides / "s2"), "--out", str(tmp_path / "s2"), "--labs", str(labs),
                 "--quiet"]) == 0
    # A neonate's LDH under 0.4x its limit is still no serum result.
    labs.write_text("slide,ldh,ldh_uln\ns1,450 U/L,1500 U/L\ns2,200 U/L,250 U/L\n")
    capsys.readouterr()
    assert main([str(slides), "--out", str(tmp_path / "neonate2"), "--labs", str(labs),
                 "--quiet", "--population", "neonate"]) == 3
    assert capsys.readouterr().err.startswith(
        f"smearscan: no verdict for slide 's1': {labs} line 2 (slide 's1'): ldh = 450 U/L is "
        "under 0.4x ldh_uln = 1500 U/L, not a serum result")


def test_one_refused_lab_row_withholds_only_its_slides_verdict_and_keeps_its_urgent_line(
        field_png, tmp_path, capsys):
    # QA 89 #6, QA 93 #6: a value refused in one patient's row refused the whole file before
    # any work (no count, no URGENT line for any slide), and `verdict --labs FILE --slide s2`
    # was refused for s1's row.
    slides = _two_slides(tmp_path, field_png)
    labs = tmp_path / "labs.csv"
    labs.write_text("slide,systemic_sclerosis," + URGENT_LABS.replace("\n12", "\ns1,maybe,12")
                    + "s2,no,300,200 U/L,250 U/L,1.2 g/L,negative\n")
    out = tmp_path / "out"
    assert main([str(slides), "--out", str(out), "--labs", str(labs), "--quiet"]) == 3
    printed = capsys.readouterr()
    urgent = json.loads((out / "summary.json").read_text())["slides"]["s1"]["verdict"]["urgent"]
    assert urgent.startswith(urgent_ttp("possible", "unknown"))
    assert printed.out.splitlines()[0] == f"s1: {urgent}"
    assert printed.out.splitlines()[1].startswith("slide  fields")
    why = (f"{labs} line 2 (slide 's1'): systemic_sclerosis = 'maybe': expected true/false (or "
           "yes/no, 1/0)")
    assert read_csv_rows(out / "errors.csv") == [
        {"slide": "s1", "image": "", "error": f"no verdict for slide 's1': {why}"}]
    recorded = json.loads((out / "summary.json").read_text())["slides"]
    assert recorded["s1"]["verdict"] == {"urgent": urgent, "unresolved": why}
    assert recorded["s2"]["verdict"]["maha"] == "unlikely"
    report = (out / "slides" / "s1" / "report.html").read_text(encoding="utf-8")
    assert f"<pre>{escape(urgent)}\nNo verdict: {escape(why)}</pre>" in report
    # The verdict of the summary reads the row refused, not as no values.
    assert main(["verdict", "--summary", str(out / "summary.json"), "--slide", "s1"]) == 2
    printed = capsys.readouterr()
    assert printed.out == f"{urgent}\n"
    assert printed.err == (f"smearscan verdict: {why} (refused when {out / 'summary.json'} was "
                           "written: correct the lab file and give it with --labs)\n")
    # Another slide's row is judged alone.
    assert main(["verdict", "--schistocytes", "0.2", "--rbc-counted", "2000", "--labs",
                 str(labs), "--slide", "s2"]) == 0
    assert capsys.readouterr().out.startswith("MAHA: unlikely\n")


@pytest.mark.parametrize(("cells", "why", "corrected"), [
    ("0,900,250,<0.1 g/L,negative,", "platelets = 0: a count of exactly 0 is an analyser's flag",
     ["--platelets", "12"]),
    ("12,900,250,<0.1 g/L,negative,13.5", "inr = 13.5 without a PT prolongation: ",
     ["--inr", "1.1"])])
def test_a_count_of_0_or_an_inr_alone_in_a_lab_file_is_refused_as_its_row(
        field_png, tmp_path, capsys, cells, why, corrected):
    # QA 120 M-1: refused by the verdict alone, they named neither file nor line, the row was
    # not kept as written, and a command-line value then lifted the refusal that a value
    # refused by the reader keeps until the file is corrected.
    slides = _two_slides(tmp_path, field_png)
    labs = tmp_path / "labs.csv"
    labs.write_text(f"slide,platelets,ldh,ldh_uln,haptoglobin,dat,inr\ns1,{cells}\n"
                    "s2,300,200 U/L,250 U/L,1.2 g/L,negative,\n")
    out = tmp_path / "out"
    assert main([str(slides), "--out", str(out), "--labs", str(labs), "--quiet"]) == 3
    error = read_csv_rows(out / "errors.csv")[0]["error"]
    assert error.startswith(f"no verdict for slide 's1': {labs} line 2 (slide 's1'): {why}")
    recorded = json.loads((out / "summary.json").read_text())["slides"]
    assert recorded["s1"]["refused_labs"]["source"] == f"{labs} line 2 (slide 's1')"
    assert recorded["s1"]["verdict"]["urgent"].startswith(urgent_ttp("possible", "unknown"))
    assert recorded["s2"]["verdict"]["maha"] == "unlikely"
    capsys.readouterr()
    assert main(["verdict", "--summary", str(out / "summary.json"), "--slide", "s1",
                 *corrected]) == 2
    assert capsys.readouterr().err.startswith(f"smearscan verdict: {labs} line 2 (slide 's1'): "
                                              f"{why}")


def test_a_refused_row_moved_or_a_newborns_pregnancy_is_named_where_it_stands(
        field_png, tmp_path, capsys):
    # QA 126 M-1: a count of 0 read as a value for the resume's digest resumed naming the row
    # where it stood in the earlier file; M-2: a newborn's recorded pregnancy, refused by the
    # verdict alone, named neither file nor line.
    slides = _two_slides(tmp_path, field_png)
    good = "s2,300,200 U/L,250 U/L,1.2 g/L,negative,\n"
    first, moved = tmp_path / "labs.csv", tmp_path / "moved.csv"
    head = "slide,platelets,ldh,ldh_uln,haptoglobin,dat,pregnancy\n"
    first.write_text(f"{head}s1,0,900,250,<0.1 g/L,negative,\n{good}")
    moved.write_text(f"{head}{good}s1,0,900,250,<0.1 g/L,negative,\n")
    out = tmp_path / "out"
    for labs, line in ((first, 2), (moved, 3)):
        assert main([str(slides), "--out", str(out), "--labs", str(labs), "--quiet"]) == 3
        assert read_csv_rows(out / "errors.csv")[0]["error"].startswith(
            f"no verdict for slide 's1': {labs} line {line} (slide 's1'): platelets = 0: ")
    newborn = tmp_path / "newborn.csv"
    newborn.write_text(f"{head}s1,12,900,250,<0.1 g/L,negative,yes\n{good}")
    assert main([str(slides), "--out", str(tmp_path / "nb"), "--labs", str(newborn),
                 "--population", "neonate", "--quiet"]) == 3
    capsys.readouterr()
    summary = json.loads((tmp_path / "nb" / "summary.json").read_text())["slides"]["s1"]
    assert summary["verdict"]["unresolved"] == (
        f"{newborn} line 2 (slide 's1'): pregnancy = True with population = 'neonate': the "
        "mother's pregnancy is not the newborn's: leave it out (note it elsewhere) (this tool's "
        "rule)")
    assert summary["refused_labs"]["source"] == f"{newborn} line 2 (slide 's1')"


@pytest.mark.parametrize(("rows", "named", "why"), [
    # QA 102 L5 (QA 89 #6): a row with a cell too many refused the file before any work, as it
    # must (which row is whose?), and with it the URGENT line another row's values call for.
    ("s1,12,900,250,<0.1 g/L,negative\ns2,300,200 U/L,250 U/L,1.2 g/L,negative,extra\n", "s1",
     " line 3: more cells than column names (a decimal comma? '300,200 U/L' may be one value: "
     "write it with a decimal point, or quote it)"),
    # QA 103 M1: the row itself has a cell too many, read as decimal commas alone, every value
    # shifted; its last cells left off too, it keeps its line.
    ("s1,12,900 U/L,250 U/L,<0.1 g/L,negative,\n", "s1",
     " line 2: more cells than column names (a comma at its end, or a decimal comma? '12,900 U/L' "
     "may be one value: write it with a decimal point, or quote it)"),
    # QA 104 L2: a comma typed twice inside the row; its empty cell left out, it keeps its
    # line.
    ("s1,12 G/L,,900 U/L,250 U/L,<0.1 g/L,negative\n", "s1",
     " line 2: more cells than column names"),
    # QA 108 M4: ... beside a decimal comma.
    ("s1,12,5 G/L,,900 U/L,250 U/L,<0.1 g/L,negative\n", "s1",
     " line 2: more cells than column names (a decimal comma? '12,5 G/L' may be one value: "
     "write it with a decimal point, or quote it)"),
    # QA 103 L3: a row named by a slip of the slide's name.
    ("S1,12,900,250,<0.1 g/L,negative\n", "S1",
     ": lab values for slides not in this run: 'S1' (did you mean 's1'?)")])
def test_a_lab_file_refused_before_any_work_keeps_each_slides_urgent_line(
        field_png, tmp_path, capsys, rows, named, why):
    slides = _two_slides(tmp_path, field_png)
    labs = tmp_path / "labs.csv"
    labs.write_text(f"slide,{URGENT_LABS.splitlines()[0]}\n{rows}")
    out = tmp_path / "out"
    assert main([str(slides), "--out", str(out), "--labs", str(labs), "--quiet"]) == 2
    printed = capsys.readouterr()
    assert printed.out == f"{named}: {urgent_ttp('possible', 'unknown')}\n"
    assert printed.err == f"smearscan: {labs}{why}\n"
    assert not out.exists()


def test_a_lab_row_is_matched_to_its_slide_by_what_it_shows_never_to_another_patient(
        field_png, tmp_path, capsys):
    # QA of the analysis command (second pass): 'did you mean' named another patient
    # ('patientA' for 'patientC'), and a Mac's decomposed folder name 'Müller 1' was refused
    # for the same name typed in the lab file, with the suggestion 'Müller 1'.
    for name in ("patientB", "patientC", "Mu\u0308ller 1"):
        (tmp_path / "in" / name).mkdir(parents=True)
        (tmp_path / "in" / name / "f.png").write_bytes(field_png.read_bytes())
    labs = tmp_path / "labs.csv"
    labs.write_text("slide,platelets\npatientA,20\npatientB,30\nM\u00fcller 1,40\n")
    out = tmp_path / "out"
    assert main([str(tmp_path / "in"), "--out", str(out), "--labs", str(labs), "--quiet"]) == 3
    assert (f"smearscan: no verdict: {labs} has no lab values for slide 'patientC' (its rows "
            "for no slide of this run: 'patientA')"  # qacli3 LOW-4: a mistyped name was unnamed
            ) in capsys.readouterr().err.splitlines()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))["slides"]
    assert sorted(summary) == ["M\u00fcller 1", "patientB", "patientC"]
    assert summary["M\u00fcller 1"]["labs"]["platelets"] == 40
    assert "verdict" not in summary["patientC"]
    # ... and in what a clinician reads (qacli5 LOW-5: the report was silent).
    reason = f"{labs} has no lab values for slide 'patientC' (its rows for no slide of this " \
             "run: 'patientA')"
    assert summary["patientC"]["no_verdict"] == reason and "no_verdict" not in summary["patientB"]
    report = (out / "slides" / "patientC" / "report.html").read_text(encoding="utf-8")
    assert ('<p class="headline borderline" role="alert"><b>No MAHA verdict:</b> '
            f"{reason}. The run was given lab values, but none for this slide, so no verdict and "
            "no URGENT line can be shown: add its row and run again.</p>") in html.unescape(report)


def test_a_slide_whose_every_field_failed_says_so_and_why_it_has_no_verdict(tmp_path, capsys):
    # QA of the analysis command (second pass): the report said "No classification was run"
    # although it was asked for, and the lab values were dropped without a word.
    slide = tmp_path / "s"
    slide.mkdir()
    (slide / "a.png").write_bytes(b"not an image")
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps({"s": {"platelets": 20}}))
    out = tmp_path / "out"
    assert main([str(slide), "--out", str(out), "--labs", str(labs), "--quiet"]) == 3
    problem = "no verdict: no field of slide 's' was analysed"
    assert f"smearscan: {problem}\n" in capsys.readouterr().err
    assert {"slide": "s", "image": "", "error": problem} in read_csv_rows(out / "errors.csv")
    report = (out / "slides" / "s" / "report.html").read_text(encoding="utf-8")
    assert "No field could be analysed" in report and "No classification was run" not in report


def test_one_patients_lab_values_are_refused_for_several_slides(field_png, tmp_path, capsys):
    slides = _two_slides(tmp_path, field_png)
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps({"platelets": 20}))
    assert main([str(slides), "--out", str(tmp_path / "out"), "--labs", str(labs)]) == 2
    assert capsys.readouterr().err == (
        f"smearscan: {labs}: one set of lab values, with no slide name, for 2 slides (usually "
        "different patients): give a CSV with a 'slide' column, or a JSON object keyed by slide "
        "name\n")


@pytest.mark.parametrize("form", ["json", "csv"])
def test_one_patients_lab_values_refused_for_several_slides_keep_their_urgent_line(
        form, field_png, tmp_path, capsys):
    # QA 139 H-3: refused with no line, where 'smearscan verdict' gives the same values "TTP
    # likely"; which slide they are for is not known, so the line is said of the values.
    slides = _two_slides(tmp_path, field_png)
    values = {"hemoglobin": "8 g/dL", "platelets": "10", "adamts13": "3 %",
              "creatinine": "1.0 mg/dL"}
    labs = tmp_path / f"labs.{form}"
    labs.write_text(json.dumps(values) if form == "json" else
                    f"{','.join(values)}\n{','.join(values.values())}\n")
    assert main([str(slides), "--out", str(tmp_path / "out"), "--labs", str(labs)]) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("lab values with no slide name: URGENT - TTP likely: a "
                                   "medical emergency.")
    assert len(captured.out.splitlines()) == 1
    assert captured.err.startswith(f"smearscan: {labs}: ")
    assert not (tmp_path / "out").exists()


def test_a_slide_with_no_field_analysed_keeps_the_urgent_line_of_its_lab_row(tmp_path, capsys):
    # QA 140 H-2: every field unreadable (or the slide a link to a share not mounted): "no
    # verdict", and the line its values call for was lost.
    (tmp_path / "slides" / "s").mkdir(parents=True)
    (tmp_path / "slides" / "s" / "a.png").write_bytes(b"not an image")
    labs = tmp_path / "labs.csv"
    labs.write_text("slide,platelets,adamts13,hemoglobin\ns,15,3 %,8 g/dL\n")
    out = tmp_path / "out"
    assert main([str(tmp_path / "slides"), "--out", str(out), "--labs", str(labs),
                 "--quiet"]) == 3
    line = capsys.readouterr().out.splitlines()[0]
    assert line.startswith("s: URGENT - TTP likely: a medical emergency.")
    verdict = json.loads((out / "summary.json").read_text())["slides"]["s"]["verdict"]
    assert verdict == {"urgent": line.removeprefix("s: "),
                       "unresolved": "no field of slide 's' was analysed"}
    # QA 145 H-1: 'smearscan verdict --summary' of the slide lost it, and said "not a smearscan
    # slide result: no 'schistocytes'".
    assert main(["verdict", "--summary", str(out / "summary.json"), "--slide", "s"]) == 2
    captured = capsys.readouterr()
    assert captured.out == verdict["urgent"] + "\n"
    assert captured.err == ("smearscan verdict: slide 's': no field of it was analysed, so there "
                            "is no count to judge (its errors are in errors.csv)\n")


def test_a_lab_row_without_its_slide_name_keeps_its_urgent_line(field_png, tmp_path, capsys):
    # QA 140 H-3: a row whose slide name is empty beside named rows refused the file with no
    # line.
    slides = _two_slides(tmp_path, field_png)
    labs = tmp_path / "labs.csv"
    labs.write_text("slide,platelets,adamts13,hemoglobin\n,15,3 %,8 g/dL\n"
                    "s1,250,80 %,14 g/dL\n")
    assert main([str(slides), "--out", str(tmp_path / "out"), "--labs", str(labs)]) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith(f"{labs} line 2 (lab values with no slide name): URGENT - TTP "
                                   "likely: a medical emergency.")
    assert captured.err == f"smearscan: {labs} line 2: the slide name is empty\n"


_TTP_ROW = {"platelets": "15", "adamts13": "3 %", "hemoglobin": "8 g/dL"}
_NORMAL_ROW = {"platelets": "250", "adamts13": "80 %", "hemoglobin": "14 g/dL"}


@pytest.mark.parametrize(("name", "text", "said"), [
    ("labs.csv", "slide,platelets,adamts13,hemoglobin\n,250,80 %,14 g/dL\n,15,3 %,8 g/dL\n",
     "{labs} line 3 (lab values with no slide name)"),
    ("labs.json", json.dumps([_NORMAL_ROW, _TTP_ROW]),
     "{labs} record 2 (lab values with no slide name)"),
    ("labs.json", json.dumps([{"slide": "s1", **_TTP_ROW}, {"slide": "s2", **_NORMAL_ROW}]),
     "s1"),
    ("labs.json", json.dumps([{"slide": "s2", **_NORMAL_ROW}, _TTP_ROW]),
     "{labs} record 2 (lab values with no slide name)"),
    # QA 152 H-1: a CSV without a slide column, each row a patient's of its own.
    ("labs.csv", "platelets,adamts13,hemoglobin\n250,80 %,14 g/dL\n15,3 %,8 g/dL\n",
     "{labs} line 3 (lab values with no slide name)"),
    # QA 146 L-1: a "Slide" key named no slide.
    ("labs.json", json.dumps([{"Slide": "s1", **_TTP_ROW}, {"Slide": "s2", **_NORMAL_ROW}]),
     "s1"),
    # QA 147 H-1: beside an object of another kind, read as a slide named after it.
    ("labs.json", json.dumps([{"slide": "s1", **_TTP_ROW, "meta": {"site": "A"}},
                              {"slide": "s2", "labs": _NORMAL_ROW}]), "s1")])
def test_each_set_of_lab_values_of_a_refused_file_keeps_its_own_urgent_line(
        name, text, said, field_png, tmp_path, capsys):
    # QA 141 H-4: rows without slide names, or a JSON list, were read as one set of values
    # given twice: one patient's "TTP likely" beside another's normal values said "possible".
    slides = _two_slides(tmp_path, field_png)
    labs = tmp_path / name
    labs.write_text(text)
    assert main([str(slides), "--out", str(tmp_path / "out"), "--labs", str(labs)]) == 2
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert out[0].startswith(f"{said.format(labs=labs)}: URGENT - TTP likely: a medical "
                             "emergency.")


def test_a_slide_object_with_an_empty_name_is_refused_naming_it(field_png, tmp_path, capsys):
    # QA 141 L-2: refused as "one set of lab values, with no slide name, for 2 slides".
    slides = _two_slides(tmp_path, field_png)
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps({"": {"platelets": 15, "adamts13": "3 %"},
                                "s1": {"platelets": 250}}))
    assert main([str(slides), "--out", str(tmp_path / "out"), "--labs", str(labs)]) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("lab values with no slide name: URGENT - TTP likely")
    assert captured.err == (f"smearscan: {labs}: a set of lab values with an empty slide name "
                            "beside named ones: name its slide\n")


def test_the_report_opens_with_the_urgent_ttp_line_when_ttp_is_possible(field_png, tmp_path):
    # A QA pass found it only inside the verdict section, after the galleries.
    labs = tmp_path / "labs.json"
    labs.write_text(json.dumps({"platelets": 12, "haptoglobin": 0, "ldh": 1200, "ldh_uln": 250,
                                "reticulocytes": 4.5, "dat": "negative", "mcv": 88, "inr": 1.1,
                                "creatinine": "1.0 mg/dL", "active_cancer": False,
                                "transplant": False}))
    out = tmp_path / "out"
    assert main([str(field_png), "--out", str(out), "--labs", str(labs), "--quiet"]) == 0
    html = (out / "slides" / "field" / "report.html").read_text()
    urgent = json.loads((out / "summary.json").read_text())["slides"]["field"]["verdict"]["urgent"]
    assert urgent.startswith("URGENT - TTP suspected")
    banner = html.index('<p class="headline above" role="alert"><b>URGENT - TTP suspected')
    assert html.index('<p class="headline') == banner < html.index("<h2>")  # before all else


def test_the_same_image_twice_in_a_slide_is_counted_once(field_png, tmp_path, capsys):
    # QA of the analysis command: 10 fields each saved twice turned an insufficient count into
    # a borderline call, without a word.
    slide = tmp_path / "slide"
    slide.mkdir()
    for name in ("a.png", "b.png"):
        (slide / name).write_bytes(field_png.read_bytes())
    out = tmp_path / "out"
    assert main([str(slide), "--out", str(out), "--quiet"]) == 0
    assert capsys.readouterr().err == (
        f"smearscan: {slide / 'b.png'}: the same image as {slide / 'a.png'}; counted once\n")
    summary = json.loads((out / "summary.json").read_text())["slides"]["slide"]
    assert [field["image"] for field in summary["per_field"]] == ["a.png"]
    # ... and says so in its outputs, not only on the terminal (second pass).
    assert summary["copies"] == [{"image": "b.png", "same_as": "a.png"}]
    report = (out / "slides" / "slide" / "report.html").read_text(encoding="utf-8")
    assert ("<b>1 image(s) counted once</b>, the same bytes as a field of the slide: b.png (as "
            "a.png).") in report


def test_one_patients_images_in_two_slides_are_named_on_stderr(field_png, tmp_path, capsys):
    # qacli5 LOW-4: a slide folder copied under another name gave two patients the same cells,
    # and no word of it.
    first, second = tmp_path / "in" / "anna", tmp_path / "in" / "bert"
    for slide in (first, second):
        slide.mkdir(parents=True)
        (slide / "1.png").write_bytes(field_png.read_bytes())
    flipped = np.asarray(Image.open(field_png))[::-1]
    Image.fromarray(flipped).save(second / "2.png")
    (tmp_path / "in" / "carl").mkdir()
    Image.fromarray(flipped[:, ::-1]).save(tmp_path / "in" / "carl" / "1.png")
    assert main([str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    assert capsys.readouterr().err == (
        f"smearscan: {second}: 1 of its 2 image(s) are the same bytes as images of {first}; "
        "both are analysed: check that each holds its own patient's fields\n")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())["slides"]
    assert sorted(summary) == ["anna", "bert", "carl"]


def test_empty_files_are_not_the_same_image_as_each_other(field_png, tmp_path, capsys):
    # QA 76 F7: two empty files in two slides read as one patient's fields under two names.
    first, second = tmp_path / "in" / "anna", tmp_path / "in" / "bert"
    for slide, turned in ((first, slice(None)), (second, slice(None, None, -1))):
        slide.mkdir(parents=True)
        Image.fromarray(np.asarray(Image.open(field_png))[turned]).save(slide / "1.png")
        for name in ("2.png", "3.png"):
            (slide / name).write_bytes(b"")
    assert run(tmp_path / "in", "--out", tmp_path / "out") == 3
    assert "same" not in capsys.readouterr().err
    assert sorted((row["slide"], row["image"]) for row in read_csv_rows(
        tmp_path / "out" / "errors.csv")) == [
        ("anna", "2.png"), ("anna", "3.png"), ("bert", "2.png"), ("bert", "3.png")]


def test_a_slide_whose_name_an_earlier_run_took_is_told_its_name(field_png, tmp_path, capsys):
    # QA 76 F8: then a lab row for it was refused as for no slide of the run, unexplained.
    first, second = tmp_path / "a" / "p1", tmp_path / "b" / "p1"
    for slide, turned in ((first, slice(None)), (second, slice(None, None, -1))):
        slide.mkdir(parents=True)  # another patient's field: not the first slide moved
        Image.fromarray(np.asarray(Image.open(field_png))[turned]).save(slide / "1.png")
    out, labs = tmp_path / "out", tmp_path / "labs.csv"
    assert classified(first, "--out", out) == 0
    labs.write_text("slide,platelets\np1,20\n")
    capsys.readouterr()
    assert classified(second, "--out", out, "--labs", labs) == 2
    name = f"p1-{hashlib.sha256(b'../b/p1').hexdigest()[:8]}"  # stable: from its path
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == (f"smearscan: slide 'p1' (../b/p1) is written as {name!r}: an earlier "
                        "run wrote a slide of that name here from ../a/p1; its results, and a "
                        f"lab file's row for it, go by {name!r}")
    assert lines[1].startswith(f"smearscan: {labs}: ")


def test_an_output_folder_in_use_is_refused_before_the_inputs_are_read(tmp_path, capsys):
    # qacli2 LOW-8: a run into a folder a review held scanned and hashed its inputs, and printed
    # their notes, before it said the folder was in use.
    from smearscan.outputs import LOCK_NAME, OUTPUT_MARKER, claim_output_folder

    slide = tmp_path / "s1"
    slide.mkdir()
    for name in ("a.jpg", "b.jpg"):  # a copy: read, it gets a note on stderr
        (slide / name).write_bytes(SAMPLE_FIELD.read_bytes())
    out = tmp_path / "out"
    with claim_output_folder(out):
        assert main([str(slide), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"smearscan: {out}: another smearscan run or review is writing to this output folder (it "
        f"holds {LOCK_NAME}); wait for it to finish or choose another --out\n")
    assert sorted(p.name for p in out.iterdir()) == [OUTPUT_MARKER, LOCK_NAME]  # nothing new


def test_each_model_command_says_what_its_limit_does():
    # QA 63 M3: evaluate's --help said its --limit made training take 2 batches per epoch.
    from smearscan.cli import evaluate_parser, train_parser

    def limit_help(parser):
        action = next(a for a in parser._actions if "--limit" in a.option_strings)
        return " ".join(action.help.split())

    # QA 134 D2: "N fields per dataset" where it keeps about N labelled cells of each class.
    kept = ("use only the first fields that give about N labelled cells of each class in each "
            "split of each dataset (smoke runs); ")
    assert limit_help(evaluate_parser()) == (
        f"{kept}the figures then rest on the few crops of those fields")
    assert limit_help(train_parser()) == (
        f"{kept}training then takes 2 batches per epoch, whatever --epochs, so its model is too "
        "weak to count with and analysis refuses it")


def test_each_model_command_gives_its_exit_codes_in_its_help():
    # QA 63 L10: the README gave them, --help did not.
    from smearscan.cli import evaluate_parser, train_parser

    # QA 134 D1, D6: an --out model there already (train), a model that cannot be loaded (4).
    for parser, what, also, model in (
            (train_parser(), "model is", ", or an --out model there already without --force",
             ""),
            (evaluate_parser(), "metrics are", "", " 4 the model cannot be loaded or scored;")):
        assert " ".join(parser.format_help().split()).endswith(
            "Exit codes: 0 written; 2 usage error, the train extra (torch) not installed, no "
            f"datasets under --shared, or an --out or --cache that cannot be written{also} (all "
            f"checked before any loading);{model} 130 interrupted (Ctrl-C), 143 terminated "
            f"(SIGTERM): no {what} written (the outputs are written together at the end, never "
            "in part).")


def test_the_pixel_size_help_gives_the_limits_the_check_uses():
    # qacli8 M-1: --help said 1.25x where the check warns over 1.15x. The parser does not import
    # the segmentation (start-up), so the numbers are written twice; this keeps them one.
    from smearscan.cli import analysis_parser
    from smearscan.pipeline import SCALE_CHECK_FIELDS
    from smearscan.segmentation import DOUBTFUL_SCALE, MAX_SCALE_DISAGREEMENT

    action = next(a for a in analysis_parser()._actions if "--pixel-size" in a.option_strings)
    assert (f"that differs by over {DOUBTFUL_SCALE:g}x, with the median of "
            f"{SCALE_CHECK_FIELDS} spread over it: refused over {MAX_SCALE_DISAGREEMENT:g}x off, "
            f"a warning over {DOUBTFUL_SCALE:g}x.") in " ".join(action.help.split())


def test_one_slide_off_the_declared_pixel_size_is_left_out_and_the_others_analysed(tmp_path,
                                                                                   capsys):
    # QA 54 M2: a BCCD slide (~0.07 um/px) among slides at 0.2 refused the whole batch, exit 2.
    root = tmp_path / "slides"
    for name, sample in (("a", SAMPLE_FIELD), ("b", SAMPLE_FIELD.parent / "bccd-00000.jpg")):
        (root / name).mkdir(parents=True)
        (root / name / sample.name).write_bytes(sample.read_bytes())
    out = tmp_path / "out"
    assert run(root, "--pixel-size", "0.2", "--out", out, "--no-classify") == 3
    table = capsys.readouterr().out.splitlines()
    assert table[2].startswith("b ") and table[2].endswith("report.html  left out: see errors.csv")
    # QA 83 #6: it read "0 fields, 0 failed"; its one image is counted, not analysed.
    assert table[2].split()[1:3] == ["1", "1"]
    rows = read_csv_rows(out / "errors.csv")
    assert [(r["slide"], r["image"]) for r in rows] == [("b", "")]
    assert rows[0]["error"].startswith(
        "slide b left out: --pixel-size 0.2 um/px disagrees with 0.0676 um/px estimated from ")
    summary = json.loads((out / "summary.json").read_text())["slides"]
    assert (summary["a"]["objects"], summary["b"]["objects"]) == (131, 0)
    assert [(summary[name]["fields"], summary[name]["fields_failed"],
             summary[name]["fields_not_analysed"]) for name in "ab"] == [(1, 0, 0), (1, 1, 1)]
    # QA 58 F2: its summary and report read as an empty folder's.
    reason = rows[0]["error"].removeprefix("slide b left out: ")
    assert reason.endswith("(1 image(s) not analysed)")  # QA 60 F4: not an empty folder
    assert ("left_out" in summary["a"], summary["b"]["left_out"]) == (False, reason)
    report = html.unescape((out / "slides" / "b" / "report.html").read_text(encoding="utf-8"))
    assert ("The slide was left out before any field was analysed: " + reason) in report
    assert "No field was found" not in report


def test_a_doubt_from_the_slides_own_estimate_is_warned_of_once_with_out(tmp_path, capsys):
    # QA 60 F5: a doubt from the slide's own estimate is warned of before the analysis, and not
    # said again after it (one from the red cells' size alone is: test_report).
    assert main([str(SAMPLE_FIELD), "--pixel-size", "0.25", "--out", str(tmp_path / "b"),
                 "--quiet"]) == 0
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 1 and said[0].startswith("smearscan: warning: slide chula-1: "
                                                 "--pixel-size 0.25 um/px differs from")


def test_a_lab_row_for_no_slide_of_the_run_is_named_when_every_slide_has_its_own(
        field_png, tmp_path, capsys):
    # QA 119 M1: 'ghost' (platelets 15, ADAMTS13 5%) beside a row for each slide was dropped
    # without a word: exit 0, nothing on stderr or in errors.csv.
    (tmp_path / "in" / "s1").mkdir(parents=True)
    (tmp_path / "in" / "s1" / "f.png").write_bytes(field_png.read_bytes())
    labs = tmp_path / "labs.csv"
    labs.write_text("slide,platelets\ns1,200\nghost,15\n")
    assert main([str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--labs", str(labs),
                 "--quiet"]) == 0
    assert capsys.readouterr().err.splitlines() == [
        f"smearscan: {labs}: lab values for no slide of this run, not used: 'ghost'"]
