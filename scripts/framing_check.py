"""Does smearscan cut a field out of a flat canvas, and only there?

Usage: python scripts/framing_check.py [--shared ../shared] [--step 2] [--pbc-step 10]

``smearscan.framing.framed`` takes the picture out of a canvas of one flat colour before a field
is analysed. This script measures both sides of that rule:

- **should cut:** the first ``--canvas`` Chula fields pasted on flat canvases (their own
  background colour, grey 128, white; as PNG and as JPEG at quality 90, and as PNG with a 1-px
  frame line round the image or round the picture): how many are framed, and how far the box
  found lies from the pasted picture (px, largest over its four sides);
- **should not cut:** every ``--step``-th Chula and BCCD field and every ``--pbc-step``-th PBC
  image as shipped: how many are framed.
"""

from __future__ import annotations

import argparse
import io

import numpy as np
from picture_edge_check import MARGIN, background_colour
from PIL import Image

from smearscan.cli.common import shared_folder
from smearscan.datasets import bccd_fields, chula_fields
from smearscan.framing import framed
from smearscan.loading import read_field


def canvases(rgb: np.ndarray) -> dict[str, np.ndarray]:
    """``rgb`` pasted in the middle of flat canvases, by name; as PNG also with a 1-px frame
    line round the image, and round the picture 5 px away from it, and that as JPEG too."""
    made = {}
    for name, colour in (("background", background_colour(rgb)), ("grey", [128] * 3),
                         ("white", [255] * 3)):
        canvas = np.empty((rgb.shape[0] + 2 * MARGIN[0], rgb.shape[1] + 2 * MARGIN[1], 3),
                          np.uint8)
        canvas[:] = colour
        canvas[MARGIN[0]:MARGIN[0] + rgb.shape[0], MARGIN[1]:MARGIN[1] + rgb.shape[1]] = rgb
        made[name] = canvas
        made[f"{name} JPEG"] = _jpeg(canvas)
        made[f"{name}, a line round the image"] = _lined(canvas, 0, 0)
        made[f"{name}, a line round the picture"] = _lined(canvas, MARGIN[0] - 6,
                                                           MARGIN[1] - 6)
        made[f"{name}, a line round the picture, JPEG"] = _jpeg(
            made[f"{name}, a line round the picture"])
    return made


def _jpeg(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` as saved in a JPEG at quality 90 and read back."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=90)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _lined(canvas: np.ndarray, top: int, left: int) -> np.ndarray:
    """``canvas`` with a 1-px dark line drawn from (``top``, ``left``) round its middle."""
    lined = canvas.copy()
    bottom, right = canvas.shape[0] - top - 1, canvas.shape[1] - left - 1
    lined[[top, bottom], left:right + 1] = 60
    lined[top:bottom + 1, [left, right]] = 60
    return lined


def offset(box: tuple[int, int, int, int], shape: tuple[int, ...]) -> int:
    """Largest distance (px) between a box found and the pasted picture's."""
    truth = (MARGIN[0], MARGIN[0] + shape[0], MARGIN[1], MARGIN[1] + shape[1])
    return max(abs(a - b) for a, b in zip(box, truth, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=shared_folder, default="../shared")
    parser.add_argument("--step", type=int, default=2)
    parser.add_argument("--pbc-step", type=int, default=10)
    parser.add_argument("--canvas", type=int, default=10)
    args = parser.parse_args()
    datasets = args.shared / "datasets"
    chula = [f.image for f in chula_fields(datasets / "chula-rbc-12")]
    print("| fields | n | framed | largest offset from the picture (px) |")
    print("|---|---|---|---|")
    found: dict[str, list[int]] = {}
    for image in chula[:args.canvas]:
        rgb = read_field(image)
        for name, canvas in canvases(rgb).items():
            picture = framed(canvas)
            found.setdefault(name, []).append(
                offset(picture.box, rgb.shape) if picture.trimmed else -1)
    for name, offsets in found.items():
        hits = [o for o in offsets if o >= 0]
        print(f"| Chula on a canvas: {name} | {len(offsets)} | {len(hits)} | "
              f"{max(hits) if hits else '-'} |")
    shipped = {"Chula": chula[::args.step],
               "BCCD": [f.image for f in bccd_fields(datasets / "bccd")][::args.step],
               "PBC": sorted((datasets / "pbc").rglob("*.jpg"))[::args.pbc_step]}
    for name, images in shipped.items():
        hits = sum(framed(read_field(image)).trimmed for image in images)
        print(f"| {name} | {len(images)} | {hits} | - |")


if __name__ == "__main__":
    main()
