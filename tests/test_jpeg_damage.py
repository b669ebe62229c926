"""Tests of scripts/jpeg_damage.py: the damage it makes and how it reads the outcome."""

from __future__ import annotations

import random
import sys
from pathlib import Path

from PIL import Image

from smearscan.loading import read_field

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from jpeg_damage import flipped, outcome  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "samples" / "chula-1.jpg"


def test_one_bit_of_the_compressed_data_is_flipped():
    data = SAMPLE.read_bytes()
    damaged = flipped(data, random.Random(0))
    differing = [i for i, (a, b) in enumerate(zip(data, damaged, strict=True)) if a != b]
    assert len(differing) == 1 and differing[0] > data.find(b"\xff\xda") + 19
    assert bin(data[differing[0]] ^ damaged[differing[0]]).count("1") == 1


def test_outcomes_of_an_intact_a_truncated_and_a_repainted_copy(tmp_path):
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(SAMPLE.read_bytes())
    assert outcome(SAMPLE, copy) == "unchanged"
    copy.write_bytes(SAMPLE.read_bytes()[:5000])
    assert outcome(SAMPLE, copy) == "refused"
    rgb = read_field(SAMPLE).copy()
    rgb[:48] = 0  # 10% of the rows black: far over 1% of the pixels
    Image.fromarray(rgb).save(copy, quality=95)
    assert outcome(SAMPLE, copy) == "changed > 1%"
