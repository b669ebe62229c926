"""On which slides does the "less specific" flag fire, and why?

Usage: python scripts/less_specific_slides.py [--shared ../shared] [--work /tmp/less_specific]
                                             [--estimated]

Slides analysed end to end (segmentation, classifier, slide statistics), each at the pixel size
the datasets README gives for its source (with ``--estimated``: at the pixel size smearscan
estimates, as a run without ``--pixel-size``):

- the two bundled sample fields (``datasets/samples/``), one slide each;
- a BCCD slide: the 72 fields of BCCD's own test list (normal donors' smears);
- held-out Chula slides: the fields of the Chula test split (never trained on), grouped by the
  class most labelled in each field, one slide per class with at least 3 fields. The group named
  ``elliptocyte`` is the hereditary elliptocytosis slide; ``normal`` is the normal one.

Prints a markdown table: red cells counted, schistocyte %, whether the flag fired and on which
shapes (or, from a version without ``less_specific_forms``, its reason), the most frequent
other poikilocyte, and the slide's focus (median red-cell edge width; ``soft`` over
``smearscan.slide_stats.SOFT_EDGE_WIDTH_UM``). Slide folders are symlinks under ``--work``.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from smearscan.batch import RunOptions, analyse_slides
from smearscan.cli.common import shared_folder
from smearscan.datasets import PIXEL_SIZE_UM, chula_fields, split_fields
from smearscan.loading import find_slides
from smearscan.slide_stats import OTHER_POIKILOCYTES, SchistocyteCount

ROOT = Path(__file__).resolve().parents[1]
MIN_FIELDS = 3


def linked_slide(folder: Path, images: list[Path]) -> Path:
    """A slide folder of symlinks to ``images`` (rebuilt each run)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for image in images:
        (folder / image.name).symlink_to(image.resolve())
    return folder


def chula_slides(shared: Path, work: Path) -> list[Path]:
    """Test-split Chula fields grouped by their most labelled class."""
    test = split_fields(chula_fields(shared / "datasets" / "chula-rbc-12"))["test"]
    groups: dict[str, list[Path]] = {}
    for field in test:
        if field.points:
            top = Counter(name for _, _, name in field.points).most_common(1)[0][0]
            groups.setdefault(top, []).append(field.image)
    return [linked_slide(work / "chula" / f"chula-test-{name}", sorted(images))
            for name, images in sorted(groups.items()) if len(images) >= MIN_FIELDS]


def bccd_slide(shared: Path, work: Path) -> Path:
    """BCCD's test list as one slide."""
    root = shared / "datasets" / "bccd"
    names = (root / "ImageSets" / "Main" / "test.txt").read_text().split()
    return linked_slide(work / "bccd" / "bccd-test",
                        [root / "JPEGImages" / f"{name}.jpg" for name in names])


def rows(paths: list[Path], pixel_size: float | None, out: Path) -> list[list[str]]:
    """One table row per slide of ``paths``."""
    outcomes = analyse_slides(find_slides(paths), out=out, progress=False,
                              options=RunOptions(pixel_size_um=pixel_size))
    table = []
    for outcome in outcomes:
        statistics = outcome.summary.statistics
        s = statistics.schistocytes
        other = max(((n, p) for n, p in statistics.profile.items() if n in OTHER_POIKILOCYTES),
                    key=lambda kv: kv[1].count, default=None)
        table.append([
            outcome.name, str(len(outcome.summary.fields)), str(s.proportion.denominator),
            f"{s.proportion.percent:.2f}" if s.proportion.percent is not None else "-",
            "yes" if s.less_specific else "no",
            _flagged(s),
            f"{other[0]} {other[1].count} ({other[1].percent:.1f}%)" if other else "-",
            "-" if s.edge_width_um is None
            else f"{'soft' if s.soft_focus else 'ok'} {s.edge_width_um:.2f} um",
        ])
    return table


def _flagged(schistocytes: SchistocyteCount) -> str:
    """The flagged shapes with grade, count and interval."""
    return "; ".join(f"{f.shape} {f.grade} {f.proportion.count} ({f.proportion.ci95[0]:.1f}-"
                     f"{f.proportion.ci95[1]:.1f}%)" for f in schistocytes.less_specific_forms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=shared_folder, default=str(ROOT / ".." / "shared"))
    parser.add_argument("--work", type=Path, default=Path("/tmp/less_specific"))
    parser.add_argument("--estimated", action="store_true",
                        help="let smearscan estimate the pixel size instead of declaring it")
    args = parser.parse_args()
    size = {name: None if args.estimated else um for name, um in PIXEL_SIZE_UM.items()}
    samples = sorted((ROOT / "datasets" / "samples").glob("*.jpg"))
    table = rows([p for p in samples if p.name.startswith("chula")], size["chula"],
                 args.work / "out-sample-chula")
    table += rows([p for p in samples if p.name.startswith("bccd")], size["bccd"],
                  args.work / "out-sample-bccd")
    table += rows([bccd_slide(args.shared, args.work)], size["bccd"], args.work / "out-bccd")
    table += rows(chula_slides(args.shared, args.work), size["chula"], args.work / "out-chula")
    header = ["slide", "fields", "RBCs", "schisto %", "less specific",
              "flagged (grade, count, 95% CI)", "top other poikilocyte (% of RBCs)", "focus"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in table:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
