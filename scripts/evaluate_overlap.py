"""The overlapping-field test (smearscan.overlap) against Chula RBC-12's own lists.

Usage::

    python scripts/evaluate_overlap.py [--shared ../shared] [--random 400] [--seed 0]

Every pair within a group of ``duplicate_fields.txt`` or ``overlapping_fields.txt`` should
overlap; each field with the next one by number, and ``--random`` pairs drawn at random, that
no list groups should not (the lists may miss some: look at those called). Each field is
segmented as analysis does at the dataset's declared pixel size. Prints the pairs found, missed
and called, and the time per pair.
"""

from __future__ import annotations

import argparse
import itertools
import random
import time
from pathlib import Path

from smearscan.cli.common import shared_folder
from smearscan.datasets import chula_fields
from smearscan.loading import read_field
from smearscan.overlap import FieldCentres, field_centres, overlapping_fields
from smearscan.pipeline import field_cells


def groups(root: Path) -> list[list[str]]:
    """The field groups the dataset lists as showing the same area."""
    return [line.split() for name in ("duplicate_fields.txt", "overlapping_fields.txt")
            for line in (root / name).read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def centres(path: Path, pixel_size_um: float) -> FieldCentres:
    """The field's whole cells as analysis finds them (unclassified), at the dataset's pixel
    size even where the field's own estimate doubts it (one Chula field is 1.42x off)."""
    rgb = read_field(path)
    cells = field_cells(rgb, pixel_size_um=pixel_size_um, model=None,
                        trust_pixel_size=True).cells
    return field_centres(path.name, cells, rgb.shape[1], rgb.shape[0], pixel_size_um)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=shared_folder, default="../shared")
    parser.add_argument("--random", type=int, default=400, help="random unlisted pairs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    root = args.shared / "datasets" / "chula-rbc-12"
    fields = {f.image.name: f for f in chula_fields(root)}
    listed = groups(root)

    def together(a: str, b: str) -> bool:
        return any(a in group and b in group for group in listed)

    names = sorted(fields, key=lambda n: int(Path(n).stem))
    positive = [pair for group in listed for pair in itertools.combinations(group, 2)]
    rng = random.Random(args.seed)
    negative = [(a, b) for a, b in zip(names, names[1:], strict=False) if not together(a, b)]
    negative += [(a, b) for a, b in (rng.sample(names, 2) for _ in range(args.random))
                 if not together(a, b)]
    seen = {name: centres(fields[name].image, fields[name].pixel_size_um)
            for name in sorted({n for pair in positive + negative for n in pair})}
    start = time.perf_counter()
    called = {pair: bool(overlapping_fields([seen[pair[0]], seen[pair[1]]]))
              for pair in positive + negative}
    per_pair = (time.perf_counter() - start) / len(called)
    missed = [pair for pair in positive if not called[pair]]
    false = [pair for pair in negative if called[pair]]
    print(f"listed pairs found: {len(positive) - len(missed)} of {len(positive)}; "
          f"missed: {', '.join('/'.join(p) for p in missed) or 'none'}")
    print(f"unlisted pairs called: {len(false)} of {len(negative)}: "
          f"{', '.join('/'.join(p) for p in false) or 'none'}")
    print(f"{1000 * per_pair:.2f} ms per pair ({len(called)} pairs)")


if __name__ == "__main__":
    main()
