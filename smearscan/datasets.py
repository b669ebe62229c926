"""Readers for the public smear datasets in ``../shared/datasets`` and their field-level splits.

Each reader returns plain :class:`LabeledField` records (image path, pixel size, labelled
points) and never decodes images, so that listing a dataset is instant. Pixel sizes are the
ones declared in ``shared/datasets/README.md`` (estimated from median RBC diameters, +-10%).

Splits are by field and keep whole overlap groups (``overlapping_fields.txt``, which includes
``duplicate_fields.txt``) on one side, so that no field of view is seen in training and in
validation.
"""

from __future__ import annotations

import csv
import random
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

#: Chula RBC-12 class ids (arXiv:2012.01321, dataset README).
CHULA_CLASSES = (
    "normal", "macrocyte", "microcyte", "spherocyte", "target", "stomatocyte", "ovalocyte",
    "teardrop", "burr", "schistocyte", "uncategorised", "hypochromia", "elliptocyte",
)
CHULA_SCHISTOCYTE = 9
CHULA_TEARDROP = 7

#: Declared pixel sizes, um/px (shared/datasets/README.md).
PIXEL_SIZE_UM = {"chula": 0.20, "bccd": 0.073, "pbc": 0.105}

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class LabeledField:
    """One field of a dataset with its point labels.

    Attributes
    ----------
    image : Path
        The image file.
    pixel_size_um : float
        Declared pixel size.
    points : tuple of (x, y, label)
        Labelled object centres in pixels; ``label`` is the dataset's own class name.
    group : str
        Overlap group: fields sharing a group must stay in one split.
    """

    image: Path
    pixel_size_um: float
    points: tuple[tuple[float, float, str], ...]
    group: str


def _overlap_groups(root: Path, names: list[str]) -> dict[str, str]:
    """Map each field name to a group id (union of duplicate and overlapping groups)."""
    parent = {name: name for name in names}

    def find(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for listing in ("duplicate_fields.txt", "overlapping_fields.txt"):
        path = root / listing
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            members = [m for m in line.split() if m in parent]
            for other in members[1:]:
                parent[find(other)] = find(members[0])
    return {name: find(name) for name in names}


def _chula_points(label_file: Path) -> tuple[tuple[float, float, str], ...]:
    points = []
    for line in label_file.read_text().split("\n"):
        parts = line.split()
        if len(parts) >= 3:
            x, y, cls = float(parts[0]), float(parts[1]), int(parts[2])
            points.append((x, y, CHULA_CLASSES[cls]))
    return tuple(points)


def chula_fields(root: Path) -> list[LabeledField]:
    """Fields of Chula RBC-12 with their labelled cell centres (not exhaustive)."""
    root = Path(root)
    images = sorted((root / "Dataset").glob("*.jpg"), key=lambda p: int(p.stem))
    groups = _overlap_groups(root, [p.name for p in images])
    return [
        LabeledField(image, PIXEL_SIZE_UM["chula"],
                     _chula_points(root / "Label" / f"{image.stem}.txt"), groups[image.name])
        for image in images
        if (root / "Label" / f"{image.stem}.txt").exists()
    ]


def bccd_boxes(xml_file: Path) -> tuple[tuple[str, float, float, float, float], ...]:
    """The labelled boxes of one BCCD field's annotation: (name, xmin, ymin, xmax, ymax), px."""
    boxes = []
    for obj in ET.parse(xml_file).getroot().iter("object"):
        box = obj.find("bndbox")
        boxes.append((obj.findtext("name").strip(), *(
            float(box.findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax"))))
    return tuple(boxes)


def _bccd_points(xml_file: Path) -> tuple[tuple[float, float, str], ...]:
    return tuple(((xmin + xmax) / 2, (ymin + ymax) / 2, name)
                 for name, xmin, ymin, xmax, ymax in bccd_boxes(xml_file))


def bccd_fields(root: Path) -> list[LabeledField]:
    """Fields of BCCD with box centres labelled ``RBC``, ``WBC`` or ``Platelets``."""
    root = Path(root)
    fields = []
    for xml_file in sorted((root / "Annotations").glob("*.xml")):
        image = root / "JPEGImages" / f"{xml_file.stem}.jpg"
        if image.exists():
            fields.append(LabeledField(image, PIXEL_SIZE_UM["bccd"], _bccd_points(xml_file),
                                       xml_file.stem))
    return fields


def pbc_fields(root: Path) -> list[LabeledField]:
    """PBC crops; the labelled point is the crop centre, the label its folder name."""
    root = Path(root)
    fields = []
    with open(root / "manifest.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            image = root / row["class"] / row["file"]
            with Image.open(image) as header:
                centre = ((header.width - 1) / 2, (header.height - 1) / 2)
            fields.append(LabeledField(image, PIXEL_SIZE_UM["pbc"], ((*centre, row["class"]),),
                                       row["file"]))
    return fields


def split_fields(
    fields: list[LabeledField], *, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    seed: int = 0,
) -> dict[str, list[LabeledField]]:
    """Split fields into train/val/test by overlap group, reproducibly.

    Groups are shuffled with ``seed`` and filled into the splits in order until each holds its
    fraction of the fields.
    """
    groups = sorted({f.group for f in fields})
    random.Random(seed).shuffle(groups)
    size = {g: 0 for g in groups}
    for f in fields:
        size[f.group] += 1
    bounds = [sum(fractions[: i + 1]) * len(fields) for i in range(len(SPLITS))]
    assignment, filled, split = {}, 0, 0
    for group in groups:
        while split < len(SPLITS) - 1 and filled >= bounds[split]:
            split += 1
        assignment[group] = SPLITS[split]
        filled += size[group]
    out: dict[str, list[LabeledField]] = {s: [] for s in SPLITS}
    for f in fields:
        out[assignment[f.group]].append(f)
    return out
