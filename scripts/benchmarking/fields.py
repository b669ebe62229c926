"""The fields measured: real Chula fields, larger fields tiled from them, and folders of
slides made of symlinks to them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image


def chula_fields(data: Path, count: int) -> list[Path]:
    paths = sorted(data.glob("*.jpg"), key=lambda p: (len(p.stem), p.stem))
    if not paths:
        sys.exit(f"benchmark: no Chula fields (*.jpg) in {data}; give --data")
    return [paths[i % len(paths)] for i in range(count)]


def larger_fields(sources: list[Path], folder: Path, count: int, *, upscale: int) -> list[Path]:
    """``count`` fields of 2x2 Chula tiles (upscaled ``upscale`` x), saved as JPEG quality 95."""
    import cv2

    from smearscan.loading import read_field

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        four = [read_field(sources[(4 * i + k) % len(sources)]) for k in range(4)]
        tiled = np.vstack([np.hstack(four[:2]), np.hstack(four[2:])])
        if upscale > 1:
            tiled = cv2.resize(tiled, None, fx=upscale, fy=upscale, interpolation=cv2.INTER_CUBIC)
        path = folder / f"tile{i}.jpg"
        Image.fromarray(tiled).save(path, quality=95)
        out.append(path)
    return out


def slides_folder(root: Path, sources: list[Path], fields: int, per_slide: int) -> Path:
    """``fields`` symlinks to the Chula fields in slide folders of ``per_slide`` fields."""
    for i in range(fields):
        slide = root / f"slide{i // per_slide:03d}"
        slide.mkdir(parents=True, exist_ok=True)
        (slide / f"f{i:05d}.jpg").symlink_to(sources[i % len(sources)].resolve())
    return root


def large_field(sources: list[Path], path: Path, shape: tuple[int, int]) -> Path:
    """A field of ``shape`` pixels tiled from Chula fields (real cells at the real scale)."""
    from smearscan.loading import read_field

    tiles = [read_field(p) for p in sources[:16]]
    tile = np.vstack([np.hstack(tiles[r * 4:(r + 1) * 4]) for r in range(4)])
    reps = (-(-shape[0] // tile.shape[0]), -(-shape[1] // tile.shape[1]), 1)
    Image.fromarray(np.tile(tile, reps)[:shape[0], :shape[1]]).save(path, quality=95)
    return path
