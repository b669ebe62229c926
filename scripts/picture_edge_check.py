"""How many objects does the picture's inner-edge rule leave out, where it should and should not?

Usage: python scripts/picture_edge_check.py [--shared ../shared] [--step 2] [--pbc-step 10]

``smearscan.features.border_flags`` leaves out the objects cut by the image edge and, since
0.3.14, those cut by an inner edge of the picture (a field pasted on a canvas, or turned with
its corners filled). This script measures both sides of that rule, each field segmented at the
pixel size smearscan estimates (as a run without ``--pixel-size``):

- **should fire:** each of the first ``--canvas`` Chula fields pasted on a canvas of its own
  background colour (160 px margins, Gaussian noise of 2 levels, as QA 67 made them): the
  objects with a pixel on the pasted picture's outermost rows and columns, and how many of them
  the rule flags;
- **should not fire:** every ``--step``-th Chula and BCCD field and every ``--pbc-step``-th PBC
  image as shipped: whole objects by the image edge alone, and how many of them the rule also
  flags.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from smearscan.cli.common import shared_folder
from smearscan.datasets import bccd_fields, chula_fields
from smearscan.features import border_flags, image_edge_flags
from smearscan.loading import read_field
from smearscan.pipeline import conditioned
from smearscan.segmentation import Segmentation, segment_field

MARGIN = (120, 160)
"""Canvas margins (rows, columns) around a pasted field."""


def segmented(rgb: np.ndarray) -> Segmentation:
    """The field as the pipeline segments it at its estimated scale."""
    return segment_field(conditioned(rgb).rgb)


def touching_lines(labels: np.ndarray, count: int, rows: tuple[int, int],
                   cols: tuple[int, int]) -> np.ndarray:
    """Objects with a pixel on rows ``rows`` or columns ``cols`` within the rectangle they
    bound."""
    (top, bottom), (left, right) = rows, cols
    inside = labels[top:bottom + 1, left:right + 1]
    found = np.zeros(count + 1, bool)
    found[np.concatenate([inside[0], inside[-1], inside[:, 0], inside[:, -1]])] = True
    return found[1:]


def background_colour(rgb: np.ndarray) -> list[int]:
    """The field's background colour: the per-channel mode of its brightest 40% of pixels, by
    green."""
    bright = rgb[:, :, 1] > np.percentile(rgb[:, :, 1], 60)
    return [int(np.bincount(rgb[:, :, c][bright], minlength=256).argmax()) for c in range(3)]


def canvassed(rgb: np.ndarray, seed: int) -> np.ndarray:
    """``rgb`` pasted in the middle of a canvas of its background colour
    (:func:`background_colour`) with noise of 2 levels."""
    colour = background_colour(rgb)
    height, width = rgb.shape[:2]
    shape = (height + 2 * MARGIN[0], width + 2 * MARGIN[1], 3)
    noise = np.random.default_rng(seed).normal(0, 2, shape)
    canvas = np.clip(np.asarray(colour, float) + noise, 0, 255).astype(np.uint8)
    canvas[MARGIN[0]:MARGIN[0] + height, MARGIN[1]:MARGIN[1] + width] = rgb
    return canvas


def canvas_line(images: list[Path]) -> str:
    """The should-fire measure on ``images``."""
    cut = flagged = 0
    for seed, image in enumerate(images):
        rgb = read_field(image)
        seg = segmented(canvassed(rgb, seed))
        height, width = rgb.shape[:2]
        edge = touching_lines(seg.labels, seg.count, (MARGIN[0], MARGIN[0] + height - 1),
                              (MARGIN[1], MARGIN[1] + width - 1))
        flags = border_flags(seg.labels, seg.count, seg.rbc_diameter_px)
        cut += int(edge.sum())
        flagged += int((edge & flags).sum())
    return (f"| Chula on a canvas | {len(images)} | {cut} cut by the pasted picture's edge | "
            f"{flagged} flagged |")


def shipped_line(name: str, images: list[Path]) -> str:
    """The should-not-fire measure on ``images``."""
    whole = extra = 0
    for image in images:
        seg = segmented(read_field(image))
        edge = image_edge_flags(seg.labels, seg.count)
        flags = border_flags(seg.labels, seg.count, seg.rbc_diameter_px)
        whole += int((~edge).sum())
        extra += int((flags & ~edge).sum())
    return f"| {name} | {len(images)} | {whole} whole by the image edge | {extra} flagged |"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=shared_folder, default=Path("../shared"))
    parser.add_argument("--step", type=int, default=2)
    parser.add_argument("--pbc-step", type=int, default=10)
    parser.add_argument("--canvas", type=int, default=21)
    args = parser.parse_args(argv)
    datasets = args.shared / "datasets"
    chula = [field.image for field in chula_fields(datasets / "chula-rbc-12")]
    bccd = [field.image for field in bccd_fields(datasets / "bccd")]
    pbc = sorted((datasets / "pbc").rglob("*.jpg"))
    print("| fields | n | objects | inner-edge rule |\n|---|---|---|---|")
    print(canvas_line(chula[:args.canvas]))
    print(shipped_line("Chula", chula[::args.step]))
    print(shipped_line("BCCD", bccd[::args.step]))
    print(shipped_line("PBC", pbc[::args.pbc_step]))


if __name__ == "__main__":
    main()
