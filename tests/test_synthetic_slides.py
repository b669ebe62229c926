"""scripts/synthetic_slides.py --oof: each fold is read with the other folds' operating point."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")  # the train extra (smearscan.training)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from synthetic_slides import fold_slides  # noqa: E402

from smearscan.training.operating import OutOfFold, out_of_fold_point  # noqa: E402


def _oof() -> OutOfFold:
    """Two folds of 40 fields x 50 labelled cells; fold 1's schistocytes score lower."""
    rng = np.random.default_rng(0)
    field = np.repeat(np.arange(80), 50)
    fold = (field >= 40).astype(int)
    positive = rng.random(len(field)) < np.repeat(np.linspace(0, 0.1, 80), 50)
    score = np.where(positive, rng.uniform(0.3, 1.0, len(field)), rng.uniform(0, 0.6, len(field)))
    score[positive & (fold == 1)] *= 0.8
    missed = rng.random(len(field)) < 0.02
    score[missed] = 0
    return OutOfFold(score, positive, missed, fold, field.astype(str), field.astype(str))


def test_each_fold_is_read_with_the_other_folds_point_and_its_truth_holds_the_misses():
    oof = _oof()
    rows = fold_slides(oof, per_fold=2, seed=0)
    assert [r["fold"] for r in rows] == [1, 1, 2, 2]
    for row in rows:
        other = oof.fold != row["fold"] - 1
        point = out_of_fold_point(oof.score[other], oof.positive[other], oof.group[other],
                                  oof.fold[other], seed=0)
        assert row["sensitivity_used"] == point["sensitivity"]
        assert row["cells"] >= 1000
        assert row["corrected_ci95"][0] <= row["corrected_percent"] <= row["corrected_ci95"][1]
    # The second fold's schistocytes score lower, so its own sensitivity is the lower one.
    assert rows[2]["fold_sensitivity"] < rows[0]["fold_sensitivity"]
    # Missed cells count in the truth (labelled) but never in the slide's count.
    assert rows[0]["rbc_counted"] == rows[0]["cells"]
