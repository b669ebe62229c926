"""Tests of the out-of-fold operating point, its cross-validation and the corrected interval."""

from __future__ import annotations

import math
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")  # the train extra

from smearscan.classification import load_model  # noqa: E402
from smearscan.training.crops import CropSet, PointSet, labelled_points  # noqa: E402
from smearscan.training.crossval import (  # noqa: E402
    cross_validate,
    fold_model_scores,
    group_folds,
    training_rows,
)
from smearscan.training.evaluation import evaluate_model  # noqa: E402
from smearscan.training.fit import DEFAULT_RECIPE, Recipe  # noqa: E402
from smearscan.training.operating import (  # noqa: E402
    MIN_THRESHOLD,
    OutOfFold,
    between_fold_variance,
    out_of_fold_point,
    paired_auc,
    rank_in_field,
)
from smearscan.training.train import train_model, write_fold_model  # noqa: E402

#: The script the command-line tests below run.
CROSS_VALIDATE = Path(__file__).parents[1] / "scripts" / "cross_validate.py"


def _refusal(run_script, *args: object) -> tuple[int, str]:
    """``scripts/cross_validate.py`` with ``args``: its exit code and last line on stderr."""
    code, _, err = run_script(CROSS_VALIDATE, *args)
    return code, err.splitlines()[-1]

SHARED = Path(__file__).parents[1] / ".." / "shared"


def _scored_points() -> tuple[np.ndarray, ...]:
    """1000 negatives scored 0..0.9 and 20 positives (15 at 0.95, 5 missed at 0), in 10 groups;
    fold = group % 2."""
    score = np.concatenate([np.linspace(0, 0.9, 1000), np.full(15, 0.95), np.zeros(5)])
    positive = np.arange(1020) >= 1000
    group_id = np.concatenate([np.arange(1000) % 10, np.arange(20) % 10])
    return score, positive, group_id.astype(str), group_id % 2


def test_out_of_fold_point_follows_the_false_call_rule_and_counts_misses():
    score, positive, group, fold = _scored_points()
    point = out_of_fold_point(score, positive, group, fold)
    # At most 2 of 1000 negatives (0.2%) reach the threshold: the two highest.
    assert np.sum(score[~positive] >= point["threshold"]) == 2
    assert point["threshold"] > MIN_THRESHOLD
    assert point["false_positive_rate"] == pytest.approx(0.002)
    assert point["sensitivity"] == pytest.approx(0.75)  # the 5 misses are never called
    # 15 positives above every negative; 5 at 0 tie with one negative and lose to 999.
    assert point["roc_auc"] == pytest.approx((15 * 1000 + 5 * 0.5) / 20000)
    assert (point["positives"], point["negatives"]) == (20, 1000)
    low, high = point["sensitivity_ci95"]
    assert 0 <= low <= point["sensitivity"] <= high <= 1 and high - low > 0
    assert point["sensitivity_se"] > 0
    # Positives 0..9 of the 15 high ones and the misses fall by group: fold 0 holds groups
    # 0, 2, 4, 6, 8 -> 8 high positives and 2 misses of its 10.
    first = point["folds"][0]
    assert (first["positives"], first["negatives"]) == (10, 500)
    assert first["sensitivity"] == pytest.approx(8 / 10)
    assert point["fold_range"]["sensitivity"] == [pytest.approx(0.7), pytest.approx(0.8)]


def test_out_of_fold_point_at_a_given_threshold_measures_without_choosing():
    score, positive, group, fold = _scored_points()
    point = out_of_fold_point(score, positive, group, fold, threshold=0.9)
    assert point["threshold"] == 0.9
    assert point["false_positive_rate"] == pytest.approx(1 / 1000)  # only the score 0.9


def test_bootstrap_interval_is_reproducible_and_narrows_with_more_groups():
    score, positive, group, fold = _scored_points()
    first = out_of_fold_point(score, positive, group, fold, seed=3)
    assert out_of_fold_point(score, positive, group, fold, seed=3) == first
    one_group = out_of_fold_point(score, positive, np.full(len(score), "g"), fold)
    assert one_group["sensitivity_ci95"] == [pytest.approx(0.75), pytest.approx(0.75)]


def test_between_fold_variance_is_zero_within_binomial_noise_and_dersimonian_laird_beyond():
    assert between_fold_variance([0.6, 0.6, 0.6], [150, 150, 150]) == 0.0
    assert between_fold_variance([0.7], [150]) == 0.0
    # Two folds of 100 at 0.5 and 0.7: smoothed rates 0.5 and 0.698, weights 100 / (p (1 - p)).
    w = np.array([100 / (0.5 * 0.5), 100 / ((70.5 / 101) * (1 - 70.5 / 101))])
    mean = (w[0] * 0.5 + w[1] * 0.7) / w.sum()
    q = w[0] * (0.5 - mean) ** 2 + w[1] * (0.7 - mean) ** 2
    expected = (q - 1) / (w.sum() - (w ** 2).sum() / w.sum())
    assert expected > 0
    assert between_fold_variance([0.5, 0.7], [100, 100]) == pytest.approx(expected)
    # A fold without a false call keeps a finite weight.
    assert np.isfinite(between_fold_variance([0.0, 0.004], [3000, 3000]))
    # A fold of no cells carries none: one weighted fold, no spread (divided by zero before).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert between_fold_variance([0.3, 0.0], [200, 0]) == 0.0


def test_prediction_standard_error_adds_the_spread_between_folds():
    score, positive, group, fold = _scored_points()
    point = out_of_fold_point(score, positive, group, fold)
    tau = point["between_fold_sd"]["sensitivity"]
    # Folds at 0.8 and 0.7 with 10 positives each are within binomial noise: tau = 0.
    assert tau == 0.0
    assert point["sensitivity_se"] == pytest.approx(point["sensitivity_se_pooled"])
    spread = np.where(positive & (group.astype(int) % 2 == 1) & (score > 0), 0.1, score)
    wide = out_of_fold_point(spread, positive, group, fold, threshold=point["threshold"])
    tau = wide["between_fold_sd"]["sensitivity"]
    # Fold 0 finds 8 of 10, fold 1 none of its 10: far beyond binomial noise.
    assert (wide["folds"][0]["sensitivity"], wide["folds"][1]["sensitivity"]) == (0.8, 0.0)
    assert tau > 0.3
    assert wide["sensitivity_se"] == pytest.approx(math.hypot(wide["sensitivity_se_pooled"], tau))


def _out_of_fold(score: np.ndarray, positive: np.ndarray, group: np.ndarray,
                 order: np.ndarray) -> OutOfFold:
    """Scores of points 0..P-1 (field = group), rows in ``order``."""
    return OutOfFold(score[order], positive[order], np.zeros(len(order), bool),
                     np.zeros(len(order), int), group[order], group[order])


def test_paired_auc_matches_points_by_field_and_rank_and_resamples_both_together():
    score, positive, group, _ = _scored_points()
    # The old model scores the 15 high positives at 0.85, below the negatives over 0.85.
    old = np.where(positive & (score > 0), 0.85, score)
    within_field = np.argsort(group, kind="stable")  # same rank within each field, rows moved
    result = paired_auc(_out_of_fold(score, positive, group, within_field),
                        _out_of_fold(old, positive, group, np.arange(len(score))))
    assert (result["points"], result["positives"], result["fields"]) == (1020, 20, 10)
    assert result["roc_auc_new"] == pytest.approx((15 * 1000 + 5 * 0.5) / 20000)
    # Those 15 now lose to every negative above 0.85.
    above = int(np.sum(score[~positive] > 0.85))
    assert result["roc_auc_old"] == pytest.approx((15 * (1000 - above) + 5 * 0.5) / 20000)
    low, high = result["difference_ci95"]
    assert 0 < low <= result["difference"] <= high


def test_rank_in_field_counts_each_fields_rows_in_order():
    field = np.array(["b", "a", "b", "c", "a", "b"])
    assert rank_in_field(field).tolist() == [0, 0, 1, 0, 1, 2]
    assert rank_in_field(np.array([], dtype=str)).tolist() == []


def test_paired_auc_refuses_files_of_different_extractions():
    score, positive, group, _ = _scored_points()
    shuffled = np.random.default_rng(0).permutation(len(score))
    with pytest.raises(ValueError, match="label the same points differently"):
        paired_auc(_out_of_fold(score, positive, group, np.arange(len(score))),
                   _out_of_fold(score, positive, group, shuffled))


def test_point_subset_keeps_only_the_crops_of_its_objects():
    crops = np.arange(3, dtype=np.float16).reshape(3, 1, 1, 1) * np.ones((3, 4, 2, 2))
    points = PointSet(crops.astype(np.float16), np.array([2, -1, 0, 2]),
                      np.zeros(4, bool), np.array(["a", "b", "c", "d"]),
                      np.array(["f1", "f1", "f2", "f2"]), np.array(["g1", "g1", "g2", "g2"]))
    part = points.subset(np.array([True, True, False, True]))
    assert list(part.object) == [0, -1, 0]
    assert part.crops.shape[0] == 1 and float(part.crops[0, 0, 0, 0]) == 2.0
    assert list(part.name) == ["a", "b", "d"]


def test_folds_keep_groups_whole_and_training_rows_leave_the_fold_out():
    group = np.repeat([f"g{i}" for i in range(10)], 5)
    name = np.where(np.arange(50) % 7 == 0, "schistocyte", "normal")
    points = PointSet(np.zeros((0, 4, 2, 2), np.float16), np.full(50, -1), np.zeros(50, bool),
                      name, group, group)
    folds = group_folds(points, 2)
    assert set(folds) == set(group) and set(folds.values()) == {0, 1}
    rows = 6
    data = CropSet(crops=np.zeros((rows, 4, 2, 2), np.float16), label=np.zeros(rows, np.int64),
                   morphology=np.full(rows, -1), source=np.full(rows, "normal"),
                   dataset=np.array(["chula", "chula", "chula", "pbc", "pbc", "bccd"]),
                   split=np.array(["test", "train", "val", "train", "val", "train"]),
                   features=np.zeros((rows, 1), np.float32),
                   group=np.array(["g0", "g1", "unlabelled", "p", "q", "b"]))
    held = folds["g0"]
    kept = training_rows(data, folds, held)
    # g0's crops leave with its fold, g1's stay unless it shares the fold; a field without
    # labelled points always trains; other datasets train on their train split only.
    assert list(kept) == [False, folds["g1"] != held, True, True, False, True]
    assert list(training_rows(data, folds, None)) == [True, True, True, True, False, True]


@pytest.mark.slow
def test_smoke_cross_validation_and_final_model(tmp_path, smoke_cache):
    if not (SHARED / "datasets").is_dir():
        pytest.skip("shared datasets not available")
    oof, network, folds = cross_validate(shared=SHARED, k=2, epochs=1, limit=3,
                                         cache=smoke_cache, progress=False, final=True)
    assert isinstance(network, torch.nn.Module)
    assert sorted(folds) == [0, 1] and all(isinstance(n, torch.nn.Module) for n in folds.values())
    assert folds[0] is not network and folds[0] is not folds[1]
    points = labelled_points(SHARED, cache=smoke_cache, limit=3, progress=False)
    assert len(oof.score) == int((~points.border).sum()) > 0
    assert np.all((oof.score >= 0) & (oof.score <= 1))
    assert np.all(oof.score[oof.missed] == 0)
    # No overlap group is scored by two folds.
    for g in np.unique(oof.group):
        assert len(np.unique(oof.fold[oof.group == g])) == 1
    # The saved fold models score the same points again to the same out-of-fold scores.
    saved = [load_model(write_fold_model(
        network, out=tmp_path / f"fold-{fold + 1}.pt", fold=fold,
        fields=[str(f) for f in np.unique(oof.field[oof.fold == fold])],
        point={"threshold": 0.5}, seed=0, epochs=1, recipe=DEFAULT_RECIPE,
        version=None if fold == 0 else "smoke-2026.12-b"))
        for fold, network in folds.items()]
    # A fold model's version is its training's with the fold: its own, or the one given.
    assert re.fullmatch(r"local-\d{8}-\d{6}-fold-1", saved[0].version), saved[0].version
    assert saved[1].version == "smoke-2026.12-b-fold-2"
    again = fold_model_scores(saved, shared=SHARED, cache=smoke_cache, limit=3)
    assert np.array_equal(again.fold, oof.fold) and np.array_equal(again.field, oof.field)
    assert np.abs(again.score - oof.score).max() < 1e-5
    with pytest.raises(ValueError, match="held out by no fold model"):
        fold_model_scores(saved[:1], shared=SHARED, cache=smoke_cache, limit=3)
    point = {"threshold": 0.7, "sensitivity": 0.6, "false_positive_rate": 0.003,
             "sensitivity_se": 0.04, "false_positive_rate_se": 0.001, "negatives": 900,
             "estimate": "out-of-fold, end to end (segmentation misses score 0)"}
    model = load_model(train_model(
        shared=SHARED, out=tmp_path / "cv.pt", epochs=1, limit=3, cache=smoke_cache,
        progress=False, out_of_fold=point, recipe=Recipe(chula_channel_gain=(0.67, 1.49)),
        version="smoke-2026.12-c"))
    assert model.version == "smoke-2026.12-c"
    assert model.thresholds["schistocyte"] == 0.7
    assert model.metadata["training"]["chula_channel_gain"] == [0.67, 1.49]
    assert model.operating["schistocyte"]["sensitivity_se"] == 0.04
    assert model.metadata["training"]["data"].startswith("all of chula-rbc-12")
    # Its Chula crops are training data: evaluate leaves them out and says why.
    metrics = evaluate_model(model=tmp_path / "cv.pt", shared=SHARED, split="test",
                             out_dir=tmp_path / "eval", cache=smoke_cache, limit=3)
    assert metrics["chula"].startswith("left out")
    assert metrics["schistocyte"]["positives"] == 0 and metrics["nrbc"]["positives"] > 0


def test_run_scores_read_back_a_runs_outputs_as_the_in_process_end_to_end_scores(
        tmp_path, smoke_cache):
    """A whole pipeline is compared through its outputs: the scores read back from a
    ``--save-masks`` run of the val and test fields are those the same model gives in process
    (up to the float16 crops of the cache), and the same points are segmentation misses."""
    if not (SHARED / "datasets").is_dir():
        pytest.skip("shared datasets not available")
    from smearscan.cli import main
    from smearscan.training.crossval import held_out_scores, run_scores

    expected = held_out_scores(load_model(None), shared=SHARED, cache=smoke_cache, limit=3)
    images = SHARED / "datasets" / "chula-rbc-12" / "Dataset"
    paths = [str(images / str(name)) for name in np.unique(expected.field)]
    assert paths
    assert main([*paths, "--pixel-size", "0.2", "--save-masks", "--out", str(tmp_path / "run"),
                 "--quiet"]) == 0
    scores = run_scores(tmp_path / "run", shared=SHARED, cache=smoke_cache, limit=3)
    for name in ("positive", "missed", "fold", "group", "field"):
        assert np.array_equal(getattr(scores, name), getattr(expected, name)), name
    assert np.abs(scores.score - expected.score).max() < 0.01
    assert scores.positive.sum() > 0 and np.all(scores.score[scores.missed] == 0)


@pytest.mark.parametrize("jitter", ["2", "-0.5"])
def test_cross_validation_refuses_a_mask_edge_jitter_outside_one_pixel(jitter, run_script):
    """One line naming the value, exit code 2, before any crop is read."""
    assert _refusal(run_script, "--mask-edge-jitter", jitter) == (
        2, f"cross_validate.py: error: mask_edge_jitter must lie in 0-1 crop pixels, not "
           f"{float(jitter):g}")


def test_cross_validation_refuses_a_model_version_with_spaces(run_script):
    """One line, exit code 2, before any crop is read; the shipped model's version is given by
    scripts/train_default.sh, any other final model gets its own."""
    assert _refusal(run_script, "--version", "cnn 1") == (
        2, "cross_validate.py: error: --version 'cnn 1' must be printable characters without "
           "spaces")


def test_a_fine_tuned_cross_validation_starts_from_the_given_networks(smoke_cache):
    """At a learning rate of ~0 each fold's network (and the final one) comes back with its
    start's weights, and the starts themselves are left as they were."""
    if not (SHARED / "datasets").is_dir():
        pytest.skip("shared datasets not available")
    from smearscan.network import DEFAULT_ARCHITECTURE, build_network

    torch.manual_seed(1)
    starts = {fold: build_network(DEFAULT_ARCHITECTURE) for fold in (0, 1, None)}
    before = {fold: [p.detach().clone() for p in net.parameters()]
              for fold, net in starts.items()}
    _, final, folds = cross_validate(shared=SHARED, k=2, epochs=1, limit=3, cache=smoke_cache,
                                     progress=False, final=True, start=starts,
                                     learning_rate=1e-12)
    for fold, network in {**folds, None: final}.items():
        assert network is not starts[fold]
        for tuned, start, kept in zip(network.parameters(), starts[fold].parameters(),
                                      before[fold], strict=True):
            assert torch.equal(start, kept)
            assert torch.allclose(tuned, start, atol=1e-6)
    fresh = build_network(DEFAULT_ARCHITECTURE)
    assert not torch.allclose(next(fresh.parameters()), next(starts[0].parameters()))


def test_the_final_seed_draws_the_final_network_alone(smoke_cache):
    """``final_seed`` trains the final network as a fresh fit with that seed would, and leaves
    the folds (their draw and their networks) as ``seed`` makes them."""
    if not (SHARED / "datasets").is_dir():
        pytest.skip("shared datasets not available")
    from smearscan.training.crops import labelled_crops
    from smearscan.training.fit import fit_network

    kwargs = {"shared": SHARED, "k": 2, "epochs": 1, "limit": 3, "cache": smoke_cache,
              "progress": False, "final": True}
    oof, final, folds = cross_validate(**kwargs, final_seed=3)
    again, same_seed, refit_folds = cross_validate(**kwargs)
    data = labelled_crops(SHARED, cache=smoke_cache, limit=3, progress=False)
    torch.set_num_threads(min(torch.get_num_threads(), 2))  # as cross_validate trains
    drawn = fit_network(data, epochs=1, seed=3, progress=False, steps_per_epoch=2,
                        rows=np.flatnonzero(training_rows(data, {}, None)))
    assert all(torch.equal(a, b) for a, b in zip(final.state_dict().values(),
                                                 drawn.state_dict().values(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(final.state_dict().values(),
                                                     same_seed.state_dict().values(),
                                                     strict=True))
    assert np.array_equal(oof.score, again.score) and np.array_equal(oof.fold, again.fold)
    for fold, network in folds.items():
        assert all(torch.equal(a, b) for a, b in zip(
            network.state_dict().values(), refit_folds[fold].state_dict().values(), strict=True))


def test_fine_tuning_refuses_fold_models_of_another_split(tmp_path, smoke_cache, run_script):
    """One line naming the file, exit code 2, before any training: a fold model missing, or
    one that held out other fields than this cross-validation's fold."""
    if not (SHARED / "datasets").is_dir():
        pytest.skip("shared datasets not available")
    from smearscan.network import DEFAULT_ARCHITECTURE, build_network

    command = ["--shared", SHARED, "--limit", "3", "--cache", smoke_cache, "--folds", "2",
               "--fine-tune", tmp_path]
    assert _refusal(run_script, *command) == (
        2, f"cross_validate.py: error: --fine-tune: {tmp_path}/fold-1.pt is missing")
    write_fold_model(build_network(DEFAULT_ARCHITECTURE), out=tmp_path / "fold-1.pt", fold=0,
                     fields=["1"], point={"threshold": 0.5}, seed=0, epochs=1,
                     recipe=DEFAULT_RECIPE, version="smoke")
    assert _refusal(run_script, *command) == (
        2, f"cross_validate.py: error: --fine-tune: {tmp_path}/fold-1.pt held out other fields "
           "than fold 1 of this cross-validation (--folds 2, --seed 0)")


@pytest.mark.parametrize(("args", "problem"), [
    (["--device", "gpu"], "--device gpu is not a torch device (cpu, cuda, cuda:1...)"),
    (["--learning-rate", "0"], "--learning-rate must lie in (0, 1], not 0"),
    (["--fine-tune-final", "{t}/m.pt"], "--fine-tune-final needs --final"),
    (["--final-seed", "2"], "--final-seed needs --final"),
    # QA 148 L-5: a mode that stops early left it unused without a word, and a --compare file
    # missing ended in a traceback.
    (["--final-seed", "2", "--compare", "{t}/m.npz"], "--final-seed needs --final"),
    (["--compare", "{t}/none.npz"], "--compare: no such file: {t}/none.npz"),
    (["--final", "{t}/out.pt", "--fine-tune-final", "{t}/m.pt"],
     "--fine-tune-final: {t}/m.pt: not a readable model file (corrupt, truncated or not a "
     "smearscan model)"),
])
def test_cross_validation_refuses_a_bad_device_rate_or_start_in_one_line(tmp_path, args,
                                                                         problem, run_script):
    """One line naming the value or file, exit code 2, before any crop is read."""
    (tmp_path / "m.pt").write_bytes(b"not a model")
    assert _refusal(run_script, *[a.format(t=tmp_path) for a in args]) == (
        2, f"cross_validate.py: error: {problem.format(t=tmp_path)}")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_cross_validation_on_a_machine_without_cuda_says_so(run_script):
    assert _refusal(run_script, "--device", "cuda") == (
        2, "cross_validate.py: error: --device cuda is not available on this machine (no CUDA "
           "device)")
