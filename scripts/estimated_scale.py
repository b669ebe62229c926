"""How the estimated scale reads labelled Chula fields against their declared pixel size.

Without ``--pixel-size`` each field's scale is estimated from its own red cells. This groups
the labelled Chula RBC-12 fields by the share of their labels that are schistocytes and gives,
per group, the median ratio of the estimated pixel size to the declared one (0.20 um/px) and the
schistocyte calls among red cells (whole objects) read at each::

    python scripts/estimated_scale.py [--shared ../shared] [--model models/default.onnx]

Fragments pull the estimate where they are most of the red cells (QA 115 F1).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from smearscan.cli.common import shared_folder
from smearscan.datasets import chula_fields
from smearscan.loading import read_field
from smearscan.pipeline import cached_model, field_cells
from smearscan.slide_stats import RED_LABELS

#: Groups by the share of a field's labels that are schistocytes: [low, high).
SHARES = ((0.0, 0.05), (0.05, 0.5), (0.5, 1.01))


def schistocyte_share(points: tuple[tuple[float, float, str], ...]) -> float:
    """The share of a field's labelled points that are schistocytes."""
    return sum(label == "schistocyte" for _, _, label in points) / max(1, len(points))


def read_at(rgb: np.ndarray, pixel_size_um: float | None, model) -> tuple[float, int, int]:
    """The pixel size a field is read at, and its whole objects called schistocytes and red
    cells (either class)."""
    measured = field_cells(rgb, pixel_size_um=pixel_size_um, model=model, trust_pixel_size=True)
    whole = ~np.asarray(measured.cells["border"], dtype=bool)
    calls = np.asarray(measured.cells["class"])[whole]
    return (measured.segmentation.pixel_size_um, int(np.sum(calls == "schistocyte")),
            int(np.isin(calls, RED_LABELS).sum()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=shared_folder,
                        default=str(Path(__file__).parents[1] / "../shared"))
    parser.add_argument("--model", type=Path, default=None,
                        help="a model file (default: the shipped classifier)")
    args = parser.parse_args()
    model = cached_model(args.model)
    fields = chula_fields(args.shared / "datasets" / "chula-rbc-12")
    print("| labelled schistocytes | fields | estimated / declared (median) | schistocytes / red "
          "cells at the declared size | at the estimate |")
    print("|---|---:|---:|---:|---:|")
    for low, high in SHARES:
        group = [f for f in fields if low <= schistocyte_share(f.points) < high]
        ratios, declared, estimated = [], np.zeros(2, int), np.zeros(2, int)
        for field in group:
            rgb = read_field(field.image)
            _, *at_declared = read_at(rgb, field.pixel_size_um, model)
            size, *at_estimate = read_at(rgb, None, model)
            ratios.append(size / field.pixel_size_um)
            declared += at_declared
            estimated += at_estimate
        print(f"| {low:.0%}-{min(high, 1):.0%} | {len(group)} | {np.nanmedian(ratios):.2f}x | "
              f"{declared[0]:,} / {declared[1]:,} | {estimated[0]:,} / {estimated[1]:,} |",
              flush=True)


if __name__ == "__main__":
    main()
