"""How often single-bit damage to a JPEG's compressed data goes unnoticed by smearscan's reader.

Usage: python scripts/jpeg_damage.py [--shared ../shared] [--trials 300] [--seed 0]

Each trial flips one random bit after the start-of-scan marker of a random Chula RBC-12 field
and reads the result with :func:`smearscan.loading.read_field`: refused (libjpeg reported the
damage), unchanged (no pixel off by more than 30 levels), or changed undetected (up to, or more
than, 1% of the pixels off by more than 30 levels). Prints one markdown table.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from smearscan.cli.common import shared_folder
from smearscan.loading import ImageLoadError, read_field

#: A pixel whose largest channel difference exceeds this (of 255) is changed.
CHANGED_LEVELS = 30
#: A field with more than this share of changed pixels is changed a lot.
LARGE_SHARE = 0.01


def outcome(original: Path, damaged: Path) -> str:
    """``refused``, ``unchanged``, ``changed <= 1%`` or ``changed > 1%`` for one damaged copy."""
    try:
        got = read_field(damaged)
    except ImageLoadError:
        return "refused"
    reference = read_field(original)
    if got.shape != reference.shape:
        return "changed > 1%"
    changed = np.mean(np.abs(got.astype(int) - reference).max(axis=2) > CHANGED_LEVELS)
    if changed == 0:
        return "unchanged"
    return "changed > 1%" if changed > LARGE_SHARE else "changed <= 1%"


def flipped(data: bytes, rng: random.Random) -> bytes:
    """``data`` with one random bit after the start-of-scan marker (the entropy-coded data)
    flipped."""
    damaged = bytearray(data)
    start = data.find(b"\xff\xda") + 20  # past the scan header
    position = rng.randrange(start, len(data) - 2)  # not the end-of-image marker
    damaged[position] ^= 1 << rng.randrange(8)
    return bytes(damaged)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=shared_folder,
                        default=str(Path(__file__).parents[1] / "../shared"))
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    fields = sorted((args.shared / "datasets" / "chula-rbc-12" / "Dataset").glob("*.jpg"))
    if not fields:
        parser.error(f"no Chula fields under {args.shared}/datasets/chula-rbc-12/Dataset")
    rng = random.Random(args.seed)
    counts: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as folder:
        damaged = Path(folder) / "damaged.jpg"
        for _ in range(args.trials):
            original = rng.choice(fields)
            damaged.write_bytes(flipped(original.read_bytes(), rng))
            counts[outcome(original, damaged)] += 1
    print("| read | trials | share |\n|---|---:|---:|")
    for name in ("refused", "unchanged", "changed <= 1%", "changed > 1%"):
        print(f"| {name} | {counts[name]} | {counts[name] / args.trials:.0%} |")


if __name__ == "__main__":
    main()
