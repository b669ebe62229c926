"""Report stage: what a person reads — terminal tables now, the HTML slide report."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import jinja2

from smearscan import __version__
from smearscan.pipeline import CLASS_COLOURS, REVIEW_CLASSES, FieldResult

if TYPE_CHECKING:
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
            # Unclassified runs have no counts at all: show "-", not a misleading 0.
            missing = 0 if outcome.summary.get("counts") else "-"
            rows.append([
                outcome.name, f["image"], f["objects"], f["objects"] - f["border_objects"],
                *(counts.get(name, missing)
                  for name in ("rbc", "schistocyte", "nrbc", "wbc", "platelet")),
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


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode("ascii") if data else None


def _gallery(results: list[FieldResult]) -> list[dict]:
    cells = [c for r in results for c in r.review_cells]
    groups = []
    for label in REVIEW_CLASSES:
        members = sorted((c for c in cells if c.label == label), key=lambda c: -c.probability)
        if members:
            groups.append({"label": label, "cells": [
                {"image": c.image, "cell_id": c.cell_id, "probability": c.probability,
                 "jpeg": _b64(c.jpeg)} for c in members]})
    return groups


@lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    # Compiling the template takes longer than rendering it: once per process.
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("smearscan", "templates"), autoescape=True)
    return environment.get_template("report.html")


def slide_report_html(name: str, summary: dict, results: list[FieldResult], *,
                      model_version: str | None, verdict_text: str | None = None) -> str:
    """The self-contained HTML report of one slide (images embedded, no network needed)."""
    size = summary.get("pixel_size_um")
    morphology = summary.get("morphology") or {}
    return _template().render(
        name=name, summary=summary, version=__version__, model_version=model_version or "none",
        pixel_size=_pixel_size_text(size, summary.get("pixel_size_estimated", False)) + " um/px",
        schisto=summary.get("schistocytes"), nrbc=summary.get("nrbc"),
        leuko=summary.get("leukoerythroblastic"), immature=summary.get("immature_granulocytes"),
        counts=sorted(summary.get("counts", {}).items()),
        profile=sorted((morphology.get("profile") or {}).items(), key=lambda kv: -kv[1]["count"]),
        gallery=_gallery(results), verdict=verdict_text, legend=list(CLASS_COLOURS.items()),
        fields=[{"image": r.image, "objects": r.count, "error": r.error,
                 "thumbnail": _b64(r.thumbnail)} for r in results],
    )
