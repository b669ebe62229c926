"""What saving a field again as JPEG does to its count: the measurement behind
smearscan.loading.LOW_JPEG_QUALITY.

Usage: python scripts/jpeg_quality.py [--shared ../shared] [--step 4] [QUALITY ...]

Every ``--step``-th Chula RBC-12 field (its files are JPEG at quality 95) is analysed with the
shipped classifier at the dataset's 0.2 um/px as given and saved again at each QUALITY (default
90 80 75 70 60 50); prints the whole red cells (red-cell and schistocyte calls) and the
schistocyte calls per 1000 red cells of each. The shipped network trained on these fields: the
figures say how the count moves, not how right it is (``scripts/image_quality.py --fold-models
... --change jpeg`` gives the held-out sensitivity and false-call rate).
"""

from __future__ import annotations

import argparse
import warnings

import cv2
import numpy as np
from image_quality import recompressed  # this folder's: the same re-saving as its --change jpeg

import smearscan
from smearscan.cli.common import shared_folder
from smearscan.datasets import chula_fields
from smearscan.loading import read_field

PIXEL_SIZE_UM = 0.2


def red_cells_and_calls(rgb: np.ndarray, model: object) -> tuple[int, int]:
    """Whole red cells (red-cell and schistocyte calls) and schistocyte calls of a field."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the declared size is Chula's own
        cells = smearscan.analyse_image(rgb, pixel_size_um=PIXEL_SIZE_UM, model=model,
                                        trust_pixel_size=True).cells
    whole = ~np.asarray(cells["border"], bool)
    calls = np.asarray(cells["class"])[whole]
    return int(np.isin(calls, ("rbc", "schistocyte")).sum()), int((calls == "schistocyte").sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=shared_folder, default="../shared")
    parser.add_argument("--step", type=int, default=4, help="every STEP-th field")
    parser.add_argument("qualities", type=int, nargs="*", default=[90, 80, 75, 70, 60, 50])
    args = parser.parse_args()
    cv2.setNumThreads(1)
    model = smearscan.load_model()
    fields = chula_fields(args.shared / "datasets" / "chula-rbc-12")[::args.step]
    totals = {quality: [0, 0] for quality in (None, *args.qualities)}
    for field in fields:
        rgb = read_field(field.image)
        for quality, total in totals.items():
            counted = red_cells_and_calls(rgb if quality is None else recompressed(rgb, quality),
                                          model)
            total[0] += counted[0]
            total[1] += counted[1]
    print(f"{len(fields)} Chula fields (every {args.step}th), {PIXEL_SIZE_UM} um/px\n")
    print("| saved as | red cells | schistocyte calls | per 1000 red cells |")
    print("|---|---:|---:|---:|")
    for quality, (red, calls) in totals.items():
        name = "given (JPEG 95)" if quality is None else f"JPEG {quality}"
        print(f"| {name} | {red} | {calls} | {1000 * calls / max(red, 1):.1f} |")


if __name__ == "__main__":
    main()
