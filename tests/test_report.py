import base64
import csv
import html
import io
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image
from synthetic import synthetic_field

from smearscan.batch.summary import SlideBuilder
from smearscan.cli import main
from smearscan.outputs import jpeg_bytes
from smearscan.render import CLASS_COLOURS, review_cells, thumbnail
from smearscan.report import slide_report_html
from smearscan.results import FieldResult, FieldSummary, ReviewCell, SlideSummary
from smearscan.slide_stats import slide_result


def _jpeg(value):
    return jpeg_bytes(np.full((8, 8, 3), value, np.uint8))


def _summary(rbc=1180):
    labels = np.array(["rbc"] * rbc + ["schistocyte"] * 20 + ["nrbc"] * 2 + ["wbc"] * 3)
    stats = slide_result(label=labels, morphology=np.array(["normal"] * len(labels)),
                         border=np.zeros(len(labels), bool))
    return SlideSummary((FieldSummary("a.png", objects=len(labels)),), len(labels), 0.2, True,
                        statistics=stats)


def test_report_has_counts_call_and_every_review_cell(tmp_path):
    cells = (ReviewCell("a.png", 3, "schistocyte", 0.71, _jpeg(10)),
             ReviewCell("a.png", 9, "schistocyte", 0.98, _jpeg(20)),
             ReviewCell("a.png", 5, "nrbc", 0.90, _jpeg(30)))
    result = FieldResult("s", "a.png", None, thumbnail=_jpeg(40), review_cells=cells)
    builder = SlideBuilder("s", None, tmp_path)
    builder.add(result, "a")
    html = slide_report_html("s", _summary(), builder.report_parts(), model_version="test-1")
    assert "1180" in html and "schistocyte" in html and "test-1" in html
    assert ("Schistocytes 1.7% (95% CI 1.1-2.6%) of 1,200 red cells: above the 1% ICSH limit for "
            "adults") in html
    images = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', html)
    assert len(images) == 3  # the three review cells, embedded
    for data in images:
        assert Image.open(io.BytesIO(base64.b64decode(data))).format == "JPEG"
    # The field picture is a file beside the report, linked.
    assert re.findall(r'<img alt="a.png" src="([^"]+)"', html) == ["fields/a.jpg"]
    assert (tmp_path / "fields" / "a.jpg").read_bytes() == _jpeg(40)
    # Most probable first within the schistocyte gallery.
    assert html.index("a.png #9") < html.index("a.png #3")
    assert "http://" not in html and "https://" not in html  # opens from disk, no network


def _html(tmp_path, summary):
    builder = SlideBuilder("s", None, tmp_path)
    builder.add(FieldResult("s", "a.png", None, thumbnail=_jpeg(40)), "a")
    return slide_report_html("s", summary, builder.report_parts(), model_version="test-1")


def test_a_less_specific_slides_reason_is_said_once(tmp_path):
    # QA 138 F7: the headline sentence gave it, and a paragraph of its own again.
    labels = np.array(["rbc"] * 1180 + ["schistocyte"] * 20)
    stats = slide_result(label=labels, morphology=np.array(["elliptocyte"] * 900
                                                           + ["normal"] * 300),
                         border=np.zeros(len(labels), bool))
    assert stats.schistocytes.less_specific
    summary = SlideSummary((FieldSummary("a.png", objects=len(labels)),), len(labels), 0.2, True,
                           statistics=stats)
    text = html.unescape(_html(tmp_path, summary))
    assert text.count(stats.schistocytes.less_specific_reason) == 1


def _luminance(rgb):
    linear = [c / 255 / 12.92 if c / 255 <= 0.04045 else ((c / 255 + 0.055) / 1.055) ** 2.4
              for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _hex_rgb(text):
    text = text.lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    return tuple(int(text[i:i + 2], 16) for i in (0, 2, 4))


def test_legend_text_is_readable_on_every_class_colour(tmp_path):
    html = _html(tmp_path, _summary())
    legend = re.search(r'<p class="legend">(.*?)</p>', html).group(1)
    spans = re.findall(r'<span style="([^"]*)">([^<]+)</span>', legend)
    assert [name for _, name in spans] == list(CLASS_COLOURS)
    # The text colour is the span's own, else the stylesheet's rule for legend spans.
    sheet = re.search(r"\.legend span \{([^}]*)\}", html).group(1)
    for style, name in spans:
        background = tuple(int(v) for v in
                           re.search(r"background: rgb\((\d+), (\d+), (\d+)\)", style).groups())
        assert background == CLASS_COLOURS[name]
        colour = re.search(r"(?:^|;)\s*color: (#[0-9a-fA-F]+)", style) or re.search(
            r"(?:^|;)\s*color: (#[0-9a-fA-F]+)", sheet)
        lighter, darker = sorted((_luminance(background), _luminance(_hex_rgb(colour.group(1)))),
                                 reverse=True)
        assert (lighter + 0.05) / (darker + 0.05) >= 4.5, name


def test_short_count_message_is_printed_once(tmp_path):
    summary = _summary(rbc=180)
    schisto = summary.statistics.schistocytes
    assert schisto.message == "counted 200 of the 1000 red cells required (ICSH 2021); add fields"
    html = _html(tmp_path, summary)
    assert html.count(schisto.message) == 1
    assert f'<p class="headline insufficient">{schisto.sentence}</p>' in html
    assert "no call; counted 200 of the 1000 red cells required (ICSH 2021)" in schisto.sentence


def test_why_the_shapes_were_not_graded_is_said_once(tmp_path):
    # QA 88 F8: the bundled sample's report said it in the headline and again below it.
    sample = Path(__file__).resolve().parents[1] / "datasets" / "samples" / "chula-1.jpg"
    assert main([str(sample), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    report = (tmp_path / "out" / "slides" / "chula-1" / "report.html").read_text()
    said = re.findall(r"Other shapes not graded: \d+ red cells lie clear of others", report)
    assert said == ["Other shapes not graded: 62 red cells lie clear of others"]


def test_review_cells_pick_target_classes_and_skip_border():
    overlay = np.zeros((100, 100, 3), np.uint8)
    cells = {"class": np.array(["rbc", "schistocyte", "nrbc", "schistocyte"]),
             "border": np.array([False, False, False, True]),
             "cell_id": np.array([1, 2, 3, 4]), "x": np.array([10.0, 50, 80, 1]),
             "y": np.array([10.0, 50, 20, 1]), "diameter_um": np.full(4, 7.5),
             "area_um2": np.full(4, 44.0), "area_px": np.full(4, 1100),
             "p_schistocyte": np.array([0.1, 0.8, 0.0, 0.9]),
             "p_nrbc": np.array([0.0, 0.1, 0.95, 0.0])}
    picked = review_cells("f.png", overlay, cells)
    assert [(c.cell_id, c.label) for c in picked] == [(2, "schistocyte"), (3, "nrbc")]
    assert picked[1].probability == 0.95


def test_thumbnail_is_never_enlarged():
    assert thumbnail(np.zeros((100, 200, 3), np.uint8)).shape == (100, 200, 3)
    assert thumbnail(np.zeros((960, 1280, 3), np.uint8)).shape == (360, 480, 3)


def test_a_doubt_from_the_red_cells_alone_is_said_after_the_analysis():
    # QA 60 F5: "in doubt" reached through the red cells' size said nothing on stderr with
    # --out, where a doubt from the slide's own estimate is warned of before the analysis.
    # (Since 0.3.30 the bundled field's own estimate, from its whole red cells, doubts every
    # size its median red cell does, so the case is built.)
    from smearscan.batch.outcome import SlideOutcome
    from smearscan.report import scale_doubt_notes

    summary = replace(_summary(), pixel_size_um=0.235, pixel_size_estimated=False,
                      median_rbc_diameter_um=8.8, own_pixel_size_um=0.2085)
    assert summary.scale_doubts == ("median cell",)
    assert scale_doubt_notes([SlideOutcome("s", summary)], unwarned_only=True) == [
        "slide 's': the pixel size is in doubt: at the declared pixel size (0.235 um/px) the "
        "slide's median red cell measures 8.8 um, 1.17x off the 7.5 um of a normal cell"]
    doubted = replace(summary, own_pixel_size_um=0.2)
    assert doubted.scale_doubts == ("own estimate", "median cell")
    assert scale_doubt_notes([SlideOutcome("s", doubted)], unwarned_only=True) == []


def test_a_scale_doubt_names_what_doubts_it_and_by_how_much(tmp_path):
    # qacli5 LOW-2: at 1.63x its own estimate the report gave the slide's normal 7.1 um median
    # cell as its reason, in a sentence that named both checks whichever fired.
    summary = replace(_summary(), pixel_size_um=0.30, pixel_size_estimated=False,
                      median_rbc_diameter_um=7.1, own_pixel_size_um=0.184)
    assert summary.scale_doubts == ("own estimate",)
    assert ("<b>Scale in doubt:</b> the slide's own estimate, 0.184 um/px (its whole red cells "
            "taken as 7.5 um), is 1.63x off the declared 0.300 um/px (more than 1.15x: this "
            "tool's rule).") in html.unescape(_html(tmp_path, summary))
    summary = replace(summary, pixel_size_um=0.20, median_rbc_diameter_um=9.0,
                      own_pixel_size_um=0.21)
    assert ("<b>Scale in doubt:</b> at the declared pixel size (0.200 um/px) the slide's median "
            "red cell measures 9.0 um, 1.20x off the 7.5 um of a normal cell (more than 1.15x: "
            "this tool's rule).") in html.unescape(_html(tmp_path, summary))
    summary = replace(summary, median_rbc_diameter_um=7.6)
    assert "Scale in doubt" not in _html(tmp_path, summary)


def test_the_compiled_template_is_kept_in_the_user_cache_and_never_needed(tmp_path,
                                                                           monkeypatch):
    # #19: compiling report.html took ~0.1 s of every one-field run; its code is kept in
    # ~/.cache/smearscan/templates. A cache that cannot be written or is damaged costs only
    # the compile time.
    from smearscan import report

    compiled = report._template.__wrapped__  # not the one this process keeps

    def rendered():
        with monkeypatch.context() as patched:
            patched.setattr(report, "_template", compiled)
            return _html(tmp_path, _summary())

    monkeypatch.setenv("HOME", str(tmp_path))
    expected = rendered()
    kept = list((tmp_path / ".cache" / "smearscan" / "templates").iterdir())
    assert len(kept) == 1 and kept[0].name.startswith("__jinja2_") and kept[0].stat().st_size
    assert rendered() == expected  # from the cache
    kept[0].write_bytes(b"damaged")
    assert rendered() == expected
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("HOME", str(tmp_path / "file"))  # no folder can be made under it
    assert rendered() == expected


def test_a_slide_without_any_cell_says_why_not_that_nothing_was_classified(tmp_path):
    # QA 65 F11: fields of cells too large for the segmentation gave 0 objects, and the report
    # said "No classification was run"; QA 65 F4: with exit 0, nothing in errors.csv.
    slide = tmp_path / "huge"
    slide.mkdir()
    Image.fromarray(synthetic_field([(400, 400), (1200, 450)], radius=320,
                                    shape=(900, 1600))).save(slide / "a.png")
    Image.fromarray(synthetic_field([], shape=(240, 320))).save(slide / "b.png")
    assert main([str(slide), "--out", str(tmp_path / "out"), "--quiet"]) == 3
    report = (tmp_path / "out" / "slides" / "huge" / "report.html").read_text(encoding="utf-8")
    assert ('<p class="headline none">No field could be analysed: each one\'s reason is in the '
            "field table below and in <code>errors.csv</code>.</p>") in report
    assert "No classification was run" not in report
    with open(tmp_path / "out" / "errors.csv", newline="", encoding="utf-8") as table:
        reasons = [row["error"] for row in csv.DictReader(table)]
    assert reasons == [
        f"{slide / 'a.png'}: no red cell found: its stained blobs measure 630 px across, "
        "outside the 15-600 px of a red cell this tool works with; resample the field so that a "
        "red cell spans about 40 px",
        f"{slide / 'b.png'}: no cell found: a field without cells (glass, or beyond the smear's "
        "edge)?"]


def test_a_slide_not_flagged_less_specific_says_on_what_its_shapes_were_graded(tmp_path):
    # QA 73 M1: "no other poikilocyte is graded 2+" stood over a table grading target cells 2+
    # of every red cell, where the flag had graded only those clear of others.
    text = html.unescape(_html(tmp_path, _summary()))
    assert ("Not flagged as less specific: no other poikilocyte is graded 2+ or more beyond "
            "counting error on the 1200 whole red cells clear of others") in text
    assert "here of every red cell counted; the less-specific flag grades only" in text
