"""scripts/label_agreement.py: the same cell found in two shifted, separately labelled copies."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from synthetic import synthetic_field

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from label_agreement import labelled_twice, registered_shift, repeatability  # noqa: E402

from smearscan.datasets import LabeledField  # noqa: E402

SHIFT = (23, 11)  # (dx, dy) of copy b's window inside the slide


def _slide_and_centres() -> tuple[np.ndarray, list[tuple[float, float]]]:
    rng = np.random.default_rng(1)
    centres = [(45 + 55 * c + rng.uniform(-6, 6), 45 + 55 * r + rng.uniform(-6, 6))
               for r in range(8) for c in range(11)]
    return synthetic_field(centres, radius=16, shape=(480, 640)), centres


def _copy(tmp_path: Path, name: str, slide: np.ndarray, x0: int, y0: int,
          labelled: list[tuple[float, float, str]]) -> LabeledField:
    path = tmp_path / f"{name}.png"
    Image.fromarray(slide[y0:y0 + 400, x0:x0 + 560]).save(path)
    points = tuple((x - x0, y - y0, label) for x, y, label in labelled)
    return LabeledField(path, 0.2, points, group="g")


def test_registration_recovers_the_shift_and_rejects_another_field():
    slide, _ = _slide_and_centres()
    a, b = slide[:400, :560], slide[SHIFT[1]:SHIFT[1] + 400, SHIFT[0]:SHIFT[0] + 560]
    dx, dy = registered_shift(a, b)
    assert (dx, dy) == pytest.approx(SHIFT, abs=0.5)
    other = synthetic_field([(100 + 97 * i, 120 + 41 * (i % 4)) for i in range(5)],
                            shape=(400, 560), seed=5)
    assert registered_shift(a, other) is None


def test_cells_labelled_in_both_copies_are_paired_with_their_labels(tmp_path):
    slide, centres = _slide_and_centres()
    inner = [(x, y) for x, y in centres if 60 < x < 540 and 50 < y < 380]
    labels_a = ["schistocyte", "schistocyte", "spherocyte", "normal", "normal"]
    labels_b = ["schistocyte", "target", "spherocyte", "normal", "schistocyte"]
    # Hand-placed centres of one cell differ by a few pixels between the copies.
    points_a = [(x + 3, y - 2, lab) for (x, y), lab in zip(inner, labels_a, strict=False)]
    points_b = [(x - 2, y + 4, lab) for (x, y), lab in zip(inner, labels_b, strict=False)]
    points_b.append((*inner[6], "normal"))  # labelled in b only
    a = _copy(tmp_path, "a", slide, 0, 0, points_a)
    b = _copy(tmp_path, "b", slide, *SHIFT, points_b)
    pairs, tried, registered = labelled_twice([a, b])
    assert (tried, registered) == (1, 1)
    assert sorted(pairs) == sorted(zip(labels_a, labels_b, strict=True))
    n = repeatability(pairs)
    # 1 cell schistocyte in both copies, 2 in one: sensitivity 2/4, 2 false calls of 2*2 + 2.
    assert (n["hits"], n["positives"], n["false_calls"], n["negatives"]) == (2, 4, 2, 6)
