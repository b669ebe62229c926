"""Red-cell edge widths (smearscan.focus) of sharp and blurred fields, and what blur, JPEG
recompression and coarse pixels do to the schistocyte count: the measurements behind
smearscan.slide_stats.SOFT_EDGE_WIDTH_UM.

Usage:
    python scripts/image_quality.py [--shared ../shared] [--step 3]
    python scripts/image_quality.py --fold-models DIR/folds/fold-*.onnx [--change KIND]

The first form prints the edge-width percentiles of every ``--step``-th Chula, BCCD and PBC
field, as given and blurred by a Gaussian of 0.2 and 0.4 um, the Chula and BCCD ones also
resampled by 1.5x and 2x (pixel size divided accordingly). The second scores each fold model of
``scripts/cross_validate.py --save-folds`` on the Chula fields it never saw, blurred by 0, 0.2,
0.3 and 0.4 um (``--change jpeg``: re-saved as JPEG at quality 95, 85, 75 and 60, where Chula's
own files are JPEG at quality ~95; ``--change coarse``: downsampled to 0.25, 0.3 and 0.4 um
pixels, as a lower magnification would see them; ``--change stain``: every optical density
scaled by 0.6, 0.8, 1.25 and 1.5, a paler or darker stain; ``--change vignette``: uneven
illumination, the corners at 0.85, 0.7 and 0.55 of the centre's brightness; ``--change noise``:
Gaussian noise of 3, 6 and 10 levels added to every pixel; ``--change exposure``: 0.5, 0.75,
1.25, 1.5 and 2 times the light, clipped at 255; ``--change tint``: each channel times its own
gain, from a tungsten lamp's yellow to a cool cast; ``--change camera``: noise of 3, 6 and 10
levels added to the raw pixels of a colour camera's sensor, which the camera then interpolates
to RGB and saves as JPEG at quality 90, so that the noise reaches the file spread over
neighbouring pixels and partly smoothed away; ``--change hue``: each channel's optical density
scaled by its own factor, another stain's hue, bluer, less blue, redder or less red).
Labelled points take the object under them (a miss scores 0), called at the model's own
schistocyte threshold; it prints sensitivity, false-call rate and the median edge width of the
fields analysed, and how many were refused (overexposed or grey: they count towards no slide).
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from smearscan.cli.common import shared_folder
from smearscan.datasets import bccd_fields, chula_fields, pbc_fields
from smearscan.focus import edge_width_um
from smearscan.loading import read_field
from smearscan.metrics import labels_under_points
from smearscan.segmentation import segment_field
from smearscan.slide_stats import SOFT_EDGE_WIDTH_UM

BLURS_UM = (0.0, 0.2, 0.4)
FOLD_BLURS_UM = (0.0, 0.2, 0.3, 0.4)  # 0.3 um: edges near SOFT_EDGE_WIDTH_UM
JPEG_QUALITIES = (95, 80, 75, 70, 50)
COARSE_FACTORS = (1.25, 1.5, 2.0)  # Chula's 0.2 um pixels made 0.25, 0.3 and 0.4 um
STAIN_FACTORS = (0.6, 0.8, 1.25, 1.5)
VIGNETTE_CORNERS = (1.0, 0.85, 0.7, 0.55)  # brightness left in the corners
NOISE_SIGMAS = (3.0, 6.0, 10.0)  # levels of 255, per pixel and channel
CAMERA_JPEG_QUALITY = 90
EXPOSURES = (0.5, 0.75, 1.25, 1.5, 2.0)  # times the light; Chula backgrounds clip from ~x1.1
TINTS = ((1.0, 0.85, 0.6), (1.0, 0.9, 0.8), (0.8, 0.9, 1.0))  # RGB gains: tungsten to cool
# Optical density gains per channel (R, G, B): another stain's hue. Red cells' blue/green density
# ratio is ~0.6 on Chula and ~1.1 on BCCD (smearscan.segmentation._nuclear_stain).
HUES = ((1.0, 1.0, 1.5), (1.0, 1.0, 0.7), (1.4, 1.0, 1.0), (0.7, 1.0, 1.0))
SCALES = (1.0, 1.5, 2.0)


def changed(rgb: np.ndarray, pixel_size_um: float, blur_um: float, scale: float = 1.0
            ) -> tuple[np.ndarray, float]:
    """The field blurred by ``blur_um``, then resampled by ``scale`` (bicubic up, area down);
    its pixel size."""
    if blur_um:
        rgb = cv2.GaussianBlur(rgb, (0, 0), blur_um / pixel_size_um)
    if scale != 1.0:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale,
                         interpolation=cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA)
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
    print("| blur (um) | scale | fields measured | 0% | 5% | 50% | 95% | 100% "
          f"| over {SOFT_EDGE_WIDTH_UM:g} um |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for (blur, scale), values in widths.items():
        measured = np.array([v for v in values if np.isfinite(v)])
        cuts = " | ".join(f"{q:.2f}" for q in np.percentile(measured, [0, 5, 50, 95, 100]))
        print(f"| {blur:g} | {scale:g} | {measured.size} | {cuts} "
              f"| {np.count_nonzero(measured > SOFT_EDGE_WIDTH_UM)} |")


def restained(rgb: np.ndarray, factor: float | tuple[float, float, float]) -> np.ndarray:
    """Every channel's optical density against its background (99th percentile) times
    ``factor``: a paler (< 1) or darker (> 1) stain of the same field, or with one factor per
    channel (R, G, B), a stain of another hue."""
    background = np.percentile(rgb.reshape(-1, 3), 99, axis=0).clip(1, 255)
    ratio = np.clip(rgb / background, 1 / 255, 1.0)
    return np.clip(background * ratio ** np.asarray(factor), 0, 255).round().astype(np.uint8)


def vignetted(rgb: np.ndarray, corner: float) -> np.ndarray:
    """The field under uneven illumination: brightness falling with the square of the distance
    from the centre to ``corner`` times its value in the corners (a microscope's vignetting)."""
    height, width = rgb.shape[:2]
    y, x = np.mgrid[:height, :width]
    r2 = (((x - (width - 1) / 2) / width) ** 2 + ((y - (height - 1) / 2) / height) ** 2) * 2
    gain = 1 - (1 - corner) * r2
    return np.clip(rgb * gain[..., None], 0, 255).round().astype(np.uint8)


def noisy(rgb: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """The field with Gaussian noise of ``sigma`` levels added to every pixel and channel (a
    camera at a high gain or a short exposure)."""
    noise = np.random.default_rng(seed).normal(0.0, sigma, rgb.shape)
    return np.clip(rgb + noise, 0, 255).round().astype(np.uint8)


def camera_noisy(rgb: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """The field as a colour camera with sensor noise of ``sigma`` levels would save it: one
    colour per pixel in an RGGB Bayer pattern, the noise added there, the other two colours
    interpolated from the neighbours (OpenCV's bilinear demosaicing), then saved as JPEG at
    :data:`CAMERA_JPEG_QUALITY`."""
    raw = np.empty(rgb.shape[:2], np.float64)
    for row, column, channel in ((0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 2)):
        raw[row::2, column::2] = rgb[row::2, column::2, channel]
    raw += np.random.default_rng(seed).normal(0.0, sigma, raw.shape)
    sensor = np.clip(raw, 0, 255).round().astype(np.uint8)
    # OpenCV names Bayer patterns from the second row and column: its "BG" is an RGGB sensor.
    return recompressed(cv2.cvtColor(sensor, cv2.COLOR_BayerBG2RGB), CAMERA_JPEG_QUALITY)


def exposed(rgb: np.ndarray, factor: float) -> np.ndarray:
    """The field taken with ``factor`` times the light or exposure, clipped at 255 (Chula's
    backgrounds, 140-234 levels of green, saturate from about x1.1)."""
    return np.clip(rgb * factor, 0, 255).round().astype(np.uint8)


def tinted(rgb: np.ndarray, gains: tuple[float, float, float]) -> np.ndarray:
    """The field under a coloured light: each channel times its gain (a tungsten lamp without a
    daylight filter gives less blue)."""
    return np.clip(rgb * np.asarray(gains), 0, 255).round().astype(np.uint8)


Change = Callable[[np.ndarray, float], tuple[np.ndarray, float]]


def changes(kind: str) -> dict[str, Change]:
    """The named changes of ``--change``: each maps (field, pixel size) to (image, pixel size)."""
    same_size = {"jpeg": ("JPEG {:g}", recompressed, JPEG_QUALITIES),
                 "stain": ("stain density x{:g}", restained, STAIN_FACTORS),
                 "noise": ("noise {:g} levels", noisy, NOISE_SIGMAS),
                 "camera": ("sensor noise {:g} levels, JPEG", camera_noisy, NOISE_SIGMAS),
                 "vignette": ("corners x{:g}", vignetted, VIGNETTE_CORNERS),
                 "exposure": ("exposure x{:g}", exposed, EXPOSURES),
                 "tint": ("tint R/G/B x{0[0]:g}/{0[1]:g}/{0[2]:g}", tinted, TINTS),
                 "hue": ("stain density R/G/B x{0[0]:g}/{0[1]:g}/{0[2]:g}", restained, HUES)}
    if kind in same_size:
        label, change, values = same_size[kind]
        return {label.format(v): lambda rgb, size, v=v: (change(rgb, v), size) for v in values}
    if kind == "coarse":
        return {f"pixels x{f:g}": lambda rgb, size, f=f: changed(rgb, size, 0.0, 1 / f)
                for f in (1.0, *COARSE_FACTORS)}
    return {f"blur {b:g} um": lambda rgb, size, b=b: changed(rgb, size, b)
            for b in FOLD_BLURS_UM}


def fold_table(paths: list[Path], shared: Path, kind: str) -> None:
    """Out-of-fold sensitivity and false-call rate of fold models on held-out fields changed
    as :func:`changes` ``kind`` says."""
    from smearscan.classification import load_model
    from smearscan.errors import UnusableFieldError
    from smearscan.pipeline import field_cells

    chula = {f.image.name: f for f in chula_fields(shared / "datasets" / "chula-rbc-12")}
    made = changes(kind)
    rows = {name: ([], [], [], []) for name in made}
    for path in paths:
        model = load_model(path)
        threshold = model.thresholds["schistocyte"]
        for name in model.metadata["training"]["held_out_fields"]:
            field = chula[name]
            positive = np.array([label == "schistocyte" for *_, label in field.points], bool)
            rgb, size = read_field(field.image), field.pixel_size_um
            for name, (called, truth, widths, refused) in rows.items():
                image, image_size = made[name](rgb, size)
                try:
                    measured = field_cells(image, pixel_size_um=image_size, model=model)
                except UnusableFieldError:  # refused: it counts towards no slide
                    refused.append(name)
                    continue
                seg, cells = measured.segmentation, measured.cells
                widths.append(measured.edge_width_um)
                ratio = size / image_size  # image pixels per field pixel
                xy = [((x + 0.5) * ratio - 0.5, (y + 0.5) * ratio - 0.5)
                      for x, y, _ in field.points]
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
    print("| fields | schistocytes | sensitivity | false-call rate | median edge width (um) "
          "| fields refused (overexposed, grey) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (called, truth, widths, refused) in rows.items():
        if not called:  # every field refused
            print(f"| {name} | 0 | - | - | - | {len(refused)} |")
            continue
        c, t = np.concatenate(called), np.concatenate(truth)
        print(f"| {name} | {t.sum()} | {c[t].mean():.3f} | {100 * c[~t].mean():.2f}% "
              f"| {np.nanmedian(widths):.2f} | {len(refused)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=shared_folder, default="../shared")
    parser.add_argument("--step", type=int, default=3, help="every STEP-th field")
    parser.add_argument("--fold-models", type=Path, nargs="+", metavar="MODEL")
    parser.add_argument("--change", choices=("blur", "jpeg", "coarse", "stain", "vignette",
                                                "noise", "exposure", "tint", "camera", "hue"),
                        default="blur",
                        help="with --fold-models: what is done to the held-out fields")
    args = parser.parse_args()
    if args.fold_models:
        fold_table(args.fold_models, args.shared, args.change)
        return
    data = args.shared / "datasets"
    width_table("Chula", chula_fields(data / "chula-rbc-12")[::args.step], SCALES)
    width_table("BCCD", bccd_fields(data / "bccd")[::args.step], SCALES)
    width_table("PBC", pbc_fields(data / "pbc")[::10 * args.step], (1.0,))


if __name__ == "__main__":
    main()
