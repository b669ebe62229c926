"""Synthetic smear fields with a known answer (discs of known size and colour)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

BACKGROUND = (200, 215, 210)
CELL = (190, 120, 140)
PALLOR = (205, 170, 180)


def synthetic_field(centres, *, radius=18.0, shape=(240, 320), pallor=True, seed=0) -> np.ndarray:
    """A Wright-like field: pink discs with a pale centre on a light background, plus noise."""
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    image = np.empty((*shape, 3), dtype=np.float32)
    image[:] = BACKGROUND
    for x, y in centres:
        distance = np.hypot(cols - x, rows - y)
        image[distance <= radius] = CELL
        if pallor:
            image[distance <= radius * 0.35] = PALLOR
    noise = np.random.default_rng(seed).normal(0, 3, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def grid_centres(rows=3, cols=4, spacing=60, offset=50):
    return [(offset + c * spacing, offset + r * spacing) for r in range(rows) for c in range(cols)]


def scattered_centres(seed: int, count: int = 12, shape=(240, 320), margin: float = 24.0,
                      apart: float = 44.0):
    """``count`` disc centres placed at random, at least ``apart`` px from each other and
    ``margin`` px from the edges: fields of other seeds show other constellations of cells,
    not one area photographed again (:mod:`smearscan.overlap`; a grid matches itself at a
    shift of one spacing)."""
    rng = np.random.default_rng(seed)
    centres: list[tuple[float, float]] = []
    while len(centres) < count:
        x, y = rng.uniform(margin, shape[1] - margin), rng.uniform(margin, shape[0] - margin)
        if all(np.hypot(x - cx, y - cy) >= apart for cx, cy in centres):
            centres.append((x, y))
    return centres


def slide_folders(root, slides: int, fields: int):
    """``slides`` folders ``s0``, ``s1``... of ``fields`` 640x480 PNGs ``field 0.png``...:
    2x2 tiles of 12-disc fields (48 discs, :func:`scattered_centres`), shifted 7 px per slide
    so that slides differ."""
    bases = [np.tile(synthetic_field(scattered_centres(i), seed=i), (2, 2, 1))
             for i in range(fields)]
    for s in range(slides):
        folder = root / f"s{s}"
        folder.mkdir(parents=True)
        for f, base in enumerate(bases):
            Image.fromarray(np.roll(base, 7 * s, axis=1)).save(folder / f"field {f}.png")
    return root


def analysed_slides(root, fields: dict, *options: str) -> dict:
    """``smearscan`` on one slide per entry of ``fields`` (slide name: RGB field, written as
    ``root/<name>/field.png``) with ``--out root/out`` and ``options``; the ``slides`` of its
    summary.json."""
    import json

    import cv2

    from smearscan.cli import main

    for name, rgb in fields.items():
        (root / name).mkdir()
        cv2.imwrite(str(root / name / "field.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    out = root / "out"
    assert main([*(str(root / name) for name in fields), "--out", str(out), "--quiet",
                 *options]) == 0
    return json.loads((out / "summary.json").read_text())["slides"]


def image_quality():
    """``scripts/image_quality.py``, whose changes (vignette, noise, camera noise, stain...) are
    the microscope conditions the tests make too."""
    scripts = str(Path(__file__).resolve().parents[1] / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    import image_quality as module

    return module
