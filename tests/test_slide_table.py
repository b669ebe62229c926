"""The terminal table of a run with --out: the report's call, the % it rests on, the flag, NRBCs
and the path of each report.html."""

from __future__ import annotations

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
                       "less specific", "focus", "NRBC", "report"]
    s = elliptocytosis.statistics.schistocytes
    low, high = s.corrected_ci95
    assert s.call == "above" and low > 1
    assert rows[1] == [
        "ell", "3", "0", "1000", "above",
        f"{s.corrected_percent:.2f} ({low:.2f}-{high:.2f}) corrected",
        "yes: elliptocyte 3+ 62.0%", "-", "2 within false calls", "out/slides/ell/report.html"]
    # No operating characteristics: the raw Wilson interval is what the call rests on.
    assert rows[2] == ["nrbc", "3", "0", "1000", "below", "0.00 (0.00-0.38) raw", "no",
                       "ok 0.68 um", "12 present, 120.0 per 100 WBC (over 10: unreliable)",
                       "out/slides/nrbc/report.html", "resumed"]
    assert rows[3] == ["plain", "1", "1", "-", "-", "-", "-", "-", "-", "-"]
    # Out of focus (median edge width 1.2 um): the same count within the limit has no call.
    assert rows[4] == ["soft", "3", "0", "1000", "insufficient", "0.00 (0.00-0.38) raw", "no",
                       "soft 1.20 um", "0", "-"]


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
            assert row[9] == str(report)
            headline = re.search(r'class="headline (\w+)"', report.read_text()).group(1)
            assert row[4] == headline == "insufficient"  # 12 red cells of the 1000 needed
            assert row[10:] == (["resumed"] if resumed else [])
