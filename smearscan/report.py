"""Report stage: what a person reads — terminal tables now, the HTML slide report."""

from __future__ import annotations

from collections.abc import Sequence

from smearscan.batch import SlideOutcome

_FIELD_COLUMNS = ("slide", "image", "objects", "whole", "rbc", "schisto", "nrbc", "wbc",
                  "platelet", "um/px")


def _table(header: Sequence[str], rows: list[Sequence[object]]) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in cells]
    return "\n".join(lines)


def _pixel_size_text(size: float | None, estimated: bool) -> str:
    if size is None or size != size:
        return "-"
    return f"{size:.3f}" + (" (est.)" if estimated else "")


def field_table(outcomes: list[SlideOutcome]) -> str:
    """One line per field: object counts by class and the pixel size used."""
    rows = []
    for outcome in outcomes:
        for f in outcome.summary["per_field"]:
            if "error" in f:
                rows.append([outcome.name, f["image"], "failed", "", "", "", "", "", "", ""])
                continue
            counts = f["counts"]
            rows.append([
                outcome.name, f["image"], f["objects"], f["objects"] - f["border_objects"],
                counts.get("rbc", "-"), counts.get("schistocyte", "-"), counts.get("nrbc", "-"),
                counts.get("wbc", "-"), counts.get("platelet", "-"),
                _pixel_size_text(f["pixel_size_um"], f["pixel_size_estimated"]),
            ])
    return _table(_FIELD_COLUMNS, rows)


def slide_table(outcomes: list[SlideOutcome]) -> str:
    """One line per slide: fields, RBCs counted, schistocyte % with its interval and call."""
    rows = []
    for outcome in outcomes:
        s = outcome.summary
        schisto = s.get("schistocytes")
        if schisto:
            low, high = schisto["ci95"]
            result = (f"{schisto['percent']:.2f}% ({low:.2f}-{high:.2f})", schisto["call"])
            rbcs = schisto["rbc_counted"]
        else:
            result, rbcs = ("-", "-"), "-"
        rows.append([outcome.name, s["fields"], s["fields_failed"], rbcs, *result,
                     "resumed" if outcome.resumed else ""])
    return _table(("slide", "fields", "failed", "RBCs", "schistocytes % (95% CI)", "call", ""),
                  rows)
