"""The terminal table of a run with --out: the report's call, the % it rests on, the flag, NRBCs
and the path of each report.html."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path

import numpy as np

from smearscan.batch import SlideOutcome
from smearscan.cli import main
from smearscan.report import slide_table
from smearscan.results import FieldSummary, SlideSummary
from smearscan.slide_stats import slide_result

OPERATING = {"schistocyte": {"sensitivity": 0.6, "false_positive_rate": 0.002},
             "nrbc": {"sensitivity": 0.9, "false_positive_rate": 0.002}}


def summary(groups, operating=None, edge_widths=()) -> SlideSummary:
    """A slide summary of three fields from ``(label, morphology, count)`` groups."""
    label = np.array([g[0] for g in groups for _ in range(g[2])])
    morphology = np.array([g[1] for g in groups for _ in range(g[2])])
    stats = slide_result(label=label, morphology=morphology, border=np.zeros(len(label), bool),
                         operating=operating, edge_widths_um=edge_widths)
    fields = tuple(FieldSummary(f"f{i}.png") for i in range(3))
    return SlideSummary(fields, len(label), 0.2, False, statistics=stats)


def cells_of(table: str) -> list[list[str]]:
    """Rows of a printed table as lists of cells (columns are two or more spaces apart)."""
    return [re.split(r"\s{2,}", line.strip()) for line in table.splitlines()]


def test_table_prints_the_call_its_basis_the_flag_nrbc_and_the_report():
    elliptocytosis = summary([("rbc", "normal", 300), ("rbc", "elliptocyte", 620),
                              ("schistocyte", "teardrop", 80), ("nrbc", "", 2),
                              ("wbc", "", 7)], OPERATING)
    nrbc_slide = summary([("rbc", "normal", 1000), ("nrbc", "", 12), ("wbc", "", 10)],
                         edge_widths=(0.7, 0.66, None))
    soft = summary([("rbc", "normal", 1000)], edge_widths=(1.3, 1.2, 0.9))
    unclassified = SlideSummary((FieldSummary("f.png", error="f.png: broken"),), 0, None, False)
    outcomes = [
        SlideOutcome("ell", elliptocytosis, "", report=Path("out/slides/ell/report.html")),
        SlideOutcome("nrbc", nrbc_slide, "", resumed=True,
                     report=Path("out/slides/nrbc/report.html")),
        SlideOutcome("plain", unclassified, ""),
        SlideOutcome("soft", soft, ""),
    ]
    rows = cells_of(slide_table(outcomes))
    assert rows[0] == ["slide", "fields", "failed", "RBCs", "call", "schistocytes % (95% CI)",
                       "less specific", "focus", "um/px", "NRBC", "report"]
    s = elliptocytosis.statistics.schistocytes
    low, high = s.corrected_ci95
    assert s.call == "above" and low > 1
    assert rows[1] == [
        "ell", "3", "0", "1000", "above",
        f"{s.corrected_percent:.2f} ({low:.2f}-{high:.2f}) corrected",
        "yes: elliptocyte 3+ 62.0%", "-", "0.200", "2 within false calls",
        "out/slides/ell/report.html"]
    # No operating characteristics: the raw Wilson interval is what the call rests on.
    assert rows[2] == ["nrbc", "3", "0", "1000", "below", "0.00 (0.00-0.38) raw", "no",
                       "ok 0.68 um", "0.200", "12 present, 120.0 per 100 WBC (over 10: unreliable)",
                       "out/slides/nrbc/report.html", "resumed"]
    assert rows[3] == ["plain", "1", "1", "-", "-", "-", "-", "-", "-", "-", "-"]
    # Out of focus (median edge width 1.2 um): the same count within the limit has no call.
    assert rows[4] == ["soft", "3", "0", "1000", "insufficient", "0.00 (0.00-0.38) raw", "no",
                       "soft 1.20 um", "0.200", "0", "-"]


def test_cli_table_names_each_report_and_prints_the_call_the_report_makes(field_png, tmp_path,
                                                                          capsys):
    slides = tmp_path / "slides"
    for name in ("a", "b"):
        (slides / name).mkdir(parents=True)
        shutil.copy(field_png, slides / name / "field.png")
    out = tmp_path / "out"
    for resumed in (False, True):
        assert main([str(slides), "--out", str(out), "--quiet"]) == 0
        rows = cells_of(capsys.readouterr().out)
        assert [row[0] for row in rows[1:]] == ["a", "b"]
        for row in rows[1:]:
            report = out / "slides" / row[0] / "report.html"
            assert row[10] == str(report)
            headline = re.search(r'class="headline (\w+)"', report.read_text()).group(1)
            assert row[4] == headline == "insufficient"  # 12 red cells of the 1000 needed
            assert row[11:] == (["resumed"] if resumed else [])


def _estimated(image: str, pixel_size_um: float) -> FieldSummary:
    return FieldSummary(image, pixel_size_um=pixel_size_um, pixel_size_estimated=True)


def test_fields_whose_own_scale_is_far_from_the_slides_are_counted_and_named(tmp_path):
    # Median 0.105 um/px; 0.07 is 1.5x under it (kept: not more than 1.5x), 0.069 and 0.16 are
    # more than 1.5x away (this tool's rule, the --pixel-size check's).
    fields = (_estimated("a.png", 0.105), _estimated("b.png", 0.07),
              _estimated("c.png", 0.069), _estimated("d.png", 0.16), _estimated("e.png", 0.11))
    stats = slide_result(label=np.array(["rbc"] * 1000), morphology=np.array(["normal"] * 1000),
                         border=np.zeros(1000, bool))
    slide = SlideSummary(fields, 1000, 0.105, True, statistics=stats)
    assert slide.off_scale_fields == ("c.png", "d.png")
    assert slide.to_dict()["off_scale_fields"] == ["c.png", "d.png"]  # QA 88 F7
    row = cells_of(slide_table([SlideOutcome("s", slide, "")]))[1]
    assert row[8] == "0.105 (est.), 2 field(s) off scale"
    # QA 78 M3: how many of the slide's schistocyte calls they hold, where they hold any.
    counted = tuple(dataclasses.replace(f, counts={"schistocyte": n})
                    for f, n in zip(fields, (1, 0, 27, 0, 5), strict=True))
    slide = dataclasses.replace(slide, fields=counted)
    assert slide.off_scale_schistocytes == (27, 33)
    row = cells_of(slide_table([SlideOutcome("s", slide, "")]))[1]
    assert row[8] == "0.105 (est.), 2 field(s) off scale (27 of 33 schistocytes)"
    # Declared: one scale for all, nothing to disagree.
    assert SlideSummary(fields, 1000, 0.105, False, statistics=stats).off_scale_fields == ()


def test_the_report_names_the_fields_off_the_slides_scale(field_png, tmp_path):
    """Two fields at the sample's scale and one at half its magnification: the run estimates
    each field's scale from its own red cells; the odd one is named in the report."""
    import cv2

    slide = tmp_path / "slide"
    slide.mkdir()
    rgb = cv2.imread(str(field_png))
    cv2.imwrite(str(slide / "a.png"), rgb)
    cv2.imwrite(str(slide / "b.png"), rgb[:, ::-1])
    half = cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(slide / "c.png"), half)
    out = tmp_path / "out"
    assert main([str(slide), "--out", str(out), "--quiet"]) == 0
    report = (out / "slides" / "slide" / "report.html").read_text()
    assert "<p><b>1 of 3 field(s) off the slide's scale</b>" in report
    assert ("by more than 1.5x (this tool's rule): c.png (0.427 um/px, 2.05x). One slide comes "
            "from one") in report


def test_wide_and_combining_characters_keep_the_columns_aligned():
    # qacli3 LOW-5: a slide named 患者 2 (two columns per character) printed its row two columns
    # right of the header; a Mac's decomposed 'Müller' (u + combining diaeresis) one column left.
    # qacli6: Thai marks above and below (U+0E39, U+0E49, U+0E31, U+0E34, U+0E4C) have combining
    # class 0 and pulled 'ผู้ป่วย สมศักดิ์' three columns left.
    names = ["患者 2", "Mu\u0308ller", "ผู้ป่วย สมศักดิ์", "plain"]
    marks = {"\u0308", "\u0e31", "\u0e34", "\u0e39", "\u0e48", "\u0e49", "\u0e4c"}
    slide = summary([("rbc", "normal", 10)])  # 3 fields
    lines = slide_table([SlideOutcome(name, slide, "") for name in names]).splitlines()

    def columns(text):  # as a terminal draws these names
        return sum(2 if "\u4e00" <= c <= "\u9fff" else 0 if c in marks else 1 for c in text)

    fields = [columns(line[:line.index("  3") + 2]) for line in lines[1:]]
    assert fields == [lines[0].index("fields")] * 4
