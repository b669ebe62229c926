"""Red-cell edge widths (smearscan.focus) of sharp and blurred fields, and what blur and JPEG
recompression do to the schistocyte count: the measurements behind
smearscan.slide_stats.SOFT_EDGE_WIDTH_UM.

Usage:
    python scripts/image_quality.py [--shared ../shared] [--step 3]
    python scripts/image_quality.py --fold-models DIR/folds/fold-*.onnx [--jpeg]

The first form prints the edge-width percentiles of every ``--step``-th Chula, BCCD and PBC
field, as given and blurred by a Gaussian of 0.2 and 0.4 um, the Chula and BCCD ones also
resampled by 1.5x and 2x (pixel size divided accordingly). The second scores each fold model of
``scripts/cross_validate.py --save-folds`` on the Chula fields it never saw, blurred by 0, 0.2,
0.3 and 0.4 um (with ``--jpeg``: re-saved as JPEG at quality 95, 85, 75 and 60; Chula's own
files are JPEG at quality ~95): labelled points take the object under them (a miss scores 0),
called at the model's own schistocyte threshold; it prints sensitivity, false-call rate and the
median edge width of those fields.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from smearscan.datasets import bccd_fields, chula_fields, pbc_fields
from smearscan.focus import edge_width_um
from smearscan.loading import read_field
from smearscan.metrics import labels_under_points
from smearscan.segmentation import segment_field

BLURS_UM = (0.0, 0.2, 0.4)
FOLD_BLURS_UM = (0.0, 0.2, 0.3, 0.4)  # 0.3 um: edges near SOFT_EDGE_WIDTH_UM
JPEG_QUALITIES = (95, 85, 75, 60)
SCALES = (1.0, 1.5, 2.0)


def changed(rgb: np.ndarray, pixel_size_um: float, blur_um: float, scale: float = 1.0
            ) -> tuple[np.ndarray, float]:
    """The field blurred by ``blur_um``, then resampled by ``scale`` (bicubic); its pixel size."""
    if blur_um:
        rgb = cv2.GaussianBlur(rgb, (0, 0), blur_um / pixel_size_um)
    if scale != 1.0:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    return rgb, pixel_size_um / scale


def recompressed(rgb: np.ndarray, quality: int) -> np.ndarray:
    """The field saved as JPEG at ``quality`` (Pillow, 4:2:0) and read back."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def width_table(name: str, fields, scales: tuple[float, ...]) -> None:
    """Percentiles of the fields' edge widths at each blur and scale."""
    widths: dict[tuple[float, float], list[float]] = {}
    for field in fields:
        rgb = read_field(field.image)
        for blur in BLURS_UM:
            for scale in scales:
                image, size = changed(rgb, field.pixel_size_um, blur, scale)
                labels = segment_field(image, pixel_size_um=size).labels
                widths.setdefault((blur, scale), []).append(
                    edge_width_um(image, labels, pixel_size_um=size))
    print(f"\n### {name}: red-cell edge width (um), {len(fields)} fields\n")
    print("| blur (um) | scale | fields measured | 0% | 5% | 50% | 95% | 100% | over 1.0 um |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (blur, scale), values in widths.items():
        measured = np.array([v for v in values if np.isfinite(v)])
        cuts = " | ".join(f"{q:.2f}" for q in np.percentile(measured, [0, 5, 50, 95, 100]))
        print(f"| {blur:g} | {scale:g} | {measured.size} | {cuts} "
              f"| {np.count_nonzero(measured > 1.0)} |")


def fold_table(paths: list[Path], shared: Path, *, jpeg: bool) -> None:
    """Out-of-fold sensitivity and false-call rate of fold models on held-out fields, blurred
    (or, with ``jpeg``, recompressed)."""
    from smearscan.classification import load_model
    from smearscan.pipeline import field_cells

    chula = {f.image.name: f for f in chula_fields(shared / "datasets" / "chula-rbc-12")}
    changes = ([f"JPEG {q}" for q in JPEG_QUALITIES] if jpeg
               else [f"blur {b:g} um" for b in FOLD_BLURS_UM])
    rows = {change: ([], [], []) for change in changes}
    for path in paths:
        model = load_model(path)
        threshold = model.thresholds["schistocyte"]
        for name in model.metadata["training"]["held_out_fields"]:
            field = chula[name]
            xy = [(x, y) for x, y, _ in field.points]
            positive = np.array([label == "schistocyte" for *_, label in field.points], bool)
            rgb, size = read_field(field.image), field.pixel_size_um
            for change, (called, truth, widths) in rows.items():
                value = float(change.split()[1])
                image = (recompressed(rgb, int(value)) if jpeg
                         else changed(rgb, size, value)[0])
                seg, cells = field_cells(image, pixel_size_um=size, model=model)
                widths.append(edge_width_um(image, seg.labels, pixel_size_um=size))
                call = np.zeros(int(seg.labels.max()) + 1, bool)
                border = np.zeros_like(call)
                if len(cells["cell_id"]):
                    call[cells["cell_id"]] = cells["p_schistocyte"] > threshold
                    border[cells["cell_id"]] = cells["border"].astype(bool)
                under = labels_under_points(seg.labels, xy)
                counted = (under == 0) | ~border[under]  # a miss counts; a cut-off cell does not
                called.append(call[under][counted])
                truth.append(positive[counted])
    print(f"\n### Schistocytes on changed held-out Chula fields, {len(paths)} fold models\n")
    print("| fields | schistocytes | sensitivity | false-call rate | median edge width (um) |")
    print("|---|---:|---:|---:|---:|")
    for change, (called, truth, widths) in rows.items():
        c, t = np.concatenate(called), np.concatenate(truth)
        print(f"| {change} | {t.sum()} | {c[t].mean():.3f} | {100 * c[~t].mean():.2f}% "
              f"| {np.nanmedian(widths):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--step", type=int, default=3, help="every STEP-th field")
    parser.add_argument("--fold-models", type=Path, nargs="+", metavar="MODEL")
    parser.add_argument("--jpeg", action="store_true",
                        help="with --fold-models: JPEG recompression instead of blur")
    args = parser.parse_args()
    if args.fold_models:
        fold_table(args.fold_models, args.shared, jpeg=args.jpeg)
        return
    data = args.shared / "datasets"
    width_table("Chula", chula_fields(data / "chula-rbc-12")[::args.step], SCALES)
    width_table("BCCD", bccd_fields(data / "bccd")[::args.step], SCALES)
    width_table("PBC", pbc_fields(data / "pbc")[::10 * args.step], (1.0,))


if __name__ == "__main__":
    main()
