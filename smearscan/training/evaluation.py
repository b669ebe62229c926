"""Classification metrics on labelled crops, the morphometric baseline, plots, and
``smearscan evaluate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from smearscan.classification import (
    CLASSES,
    CROP_SCALE_UM,
    CROP_SIZE,
    CellClassifier,
    ModelLoadError,
    call_labels,
    load_model,
    predict_probabilities,
)
from smearscan.executor.processes import stops_held
from smearscan.metrics import sensitivity_at_specificity
from smearscan.outputs import write_bytes_atomic
from smearscan.training.crops import FEATURES, CropSet, labelled_crops
from smearscan.training.labels import ALL_CHULA, MINED_PLATELET
from smearscan.training.operating import _groups, _scores, _share

SPECIFICITIES = (0.99, 0.995, 0.998)
#: The schistocyte target (specificity, sensitivity) of issue 4, marked on its ROC plot: at 1%
#: prevalence a false-call rate above ~0.2% of red cells would swamp the true count.
SCHISTOCYTE_TARGET = (0.998, 0.90)


def _binary_metrics(scores: np.ndarray, positive: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    if positive.all() or not positive.any():
        return {"positives": int(positive.sum()), "negatives": int((~positive).sum())}
    return {
        "positives": int(positive.sum()),
        "negatives": int((~positive).sum()),
        "roc_auc": float(roc_auc_score(positive, scores)),
        "average_precision": float(average_precision_score(positive, scores)),
        "at_specificity": {str(s): sensitivity_at_specificity(scores, positive, s)
                           for s in SPECIFICITIES},
    }


def _called_fraction(called: np.ndarray, name: str, mask: np.ndarray) -> float | None:
    return _share(called == name, mask)


def _per_class(called: np.ndarray, truth: np.ndarray) -> dict[str, dict[str, float]]:
    out = {}
    for name in CLASSES:
        tp = int(np.sum((called == name) & (truth == name)))
        precision = tp / max(int(np.sum(called == name)), 1)
        recall = tp / max(int(np.sum(truth == name)), 1)
        out[name] = {"precision": precision, "recall": recall,
                     "f1": 2 * precision * recall / max(precision + recall, 1e-12),
                     "support": int(np.sum(truth == name))}
    return out


def classification_metrics(probabilities: np.ndarray, morphology: np.ndarray, data: CropSet,
                           thresholds: dict[str, float]) -> dict[str, Any]:
    """Metrics of class probabilities against the labels of ``data``.

    Returns
    -------
    dict
        ``per_class`` precision/recall/F1 of the calls, ``confusion`` (rows true, columns
        called, order CLASSES), per target ``schistocyte`` / ``nrbc`` / ``immature_granulocyte``
        ROC AUC, AP, sensitivity at SPECIFICITIES and the rates at the operating threshold,
        per-subclass false-call rates, and morphology accuracy on Chula shapes.
    """
    groups = _groups(data)
    called = call_labels(probabilities, CLASSES, thresholds)
    truth = np.asarray(CLASSES)[data.label]
    confusion = [[int(np.sum((truth == t) & (called == c))) for c in CLASSES] for t in CLASSES]
    pbc_sources = sorted(set(data.source[data.dataset == "pbc"]))
    out: dict[str, Any] = {"objects": int(len(truth)), "classes": list(CLASSES),
                           "per_class": _per_class(called, truth), "confusion": confusion}
    scopes = {"schistocyte": groups["chula"], "nrbc": groups["all"],
              "immature_granulocyte": groups["pbc_leukocytes"] | groups["bccd_wbc"]}
    for name, scope in scopes.items():
        scores = _scores(probabilities, name)
        positive = groups[name][scope]
        entry = _binary_metrics(scores[scope], positive)
        entry["scope"] = {"schistocyte": "labelled Chula cells", "nrbc": "all labelled objects",
                          "immature_granulocyte": "PBC leukocytes and BCCD WBCs"}[name]
        entry["at_operating_threshold"] = {
            "threshold": thresholds[name],
            "sensitivity": _called_fraction(called, name, groups[name]),
            "false_call_rate": _called_fraction(called, name, scope & ~groups[name]),
        }
        entry["called_fraction_by_source"] = {
            src: _called_fraction(called, name, (data.dataset == "pbc") & (data.source == src))
            for src in pbc_sources}
        entry["called_fraction_bccd_wbc"] = _called_fraction(called, name, groups["bccd_wbc"])
        entry["called_fraction_chula"] = _called_fraction(called, name,
                                                          groups["chula"] & ~groups[name])
        out[name] = entry
    out["immature_granulocyte"]["neutrophils_called_ig"] = _called_fraction(
        called, "immature_granulocyte", groups["pbc_neutrophils"])
    out["immature_granulocyte"]["lymphocytes_monocytes_called_ig"] = _called_fraction(
        called, "immature_granulocyte", groups["pbc_lymphocytes_monocytes"])
    out["nrbc"]["pbc_leukocytes_called_nrbc"] = _called_fraction(called, "nrbc",
                                                                 groups["pbc_leukocytes"])
    out["schistocyte"]["chula_mined_platelets_called_schistocyte"] = _called_fraction(
        called, "schistocyte", groups["chula_platelets"])
    shaped = data.morphology >= 0
    out["morphology"] = {"objects": int(shaped.sum()), "accuracy": float(np.mean(
        np.argmax(morphology[shaped], 1) == data.morphology[shaped])) if shaped.any() else None}
    return out


def morphometric_baseline(data: CropSet, split: str) -> dict[str, Any]:
    """Logistic regression on morphometrics (FEATURES), schistocyte vs other Chula cells.

    Trained on the Chula train split (standardised features, balanced class weights), scored on
    ``split``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    chula = (data.dataset == "chula") & (data.source != MINED_PLATELET)
    train = chula & (data.split == "train")
    scored = chula & (data.split == split)
    positive = data.source == "schistocyte"
    if len(set(positive[train])) < 2 or not scored.any():
        return {"model": "logistic regression", "features": list(FEATURES)}
    fitted = make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced",
                                                                max_iter=2000))
    fitted.fit(data.features[train], positive[train])
    scores = fitted.predict_proba(data.features[scored])[:, 1]
    return {"model": "logistic regression", "features": list(FEATURES),
            **_binary_metrics(scores, positive[scored]), "scores": scores}


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers stored in the model file."""
    keys = ("roc_auc", "average_precision", "at_specificity", "at_operating_threshold")
    out = {name: {k: metrics[name][k] for k in keys if k in metrics[name]}
           for name in ("schistocyte", "nrbc", "immature_granulocyte")}
    out["nrbc"]["pbc_leukocytes_called_nrbc"] = metrics["nrbc"]["pbc_leukocytes_called_nrbc"]
    out["nrbc"]["bccd_wbc_called_nrbc"] = metrics["nrbc"]["called_fraction_bccd_wbc"]
    for key in ("neutrophils_called_ig", "lymphocytes_monocytes_called_ig"):
        out["immature_granulocyte"][key] = metrics["immature_granulocyte"][key]
    out["morphology_accuracy"] = metrics["morphology"]["accuracy"]
    return out



def _png(figure: Any) -> bytes:
    """A matplotlib figure as PNG bytes (110 dpi), the figure closed."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def _plot_curves(name: str, scores: np.ndarray, positive: np.ndarray,
                 baseline: np.ndarray | None, files: dict[str, bytes],
                 target: tuple[float, float] | None = None) -> None:
    """ROC and precision-recall PNGs into ``files`` (name: content); ``target`` (specificity,
    sensitivity) is marked on the ROC."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    if positive.all() or not positive.any():
        return
    runs = [("CNN", scores)] + ([("morphometric baseline", baseline)]
                                if baseline is not None else [])
    for kind in ("roc", "pr"):
        figure, axis = plt.subplots(figsize=(4.5, 4.5))
        for label, values in runs:
            if kind == "roc":
                fpr, tpr, _ = roc_curve(positive, values)
                axis.plot(fpr, tpr, label=label)
            else:
                precision, recall, _ = precision_recall_curve(positive, values)
                axis.plot(recall, precision, label=label)
        if kind == "roc" and target is not None:
            specificity, sensitivity = target
            axis.axvline(1 - specificity, color="grey", linestyle=":", linewidth=1)
            axis.plot([1 - specificity], [sensitivity], "k*", markersize=9,
                      label=f"target: {sensitivity:.2f} at specificity {specificity}")
        if kind == "roc":
            axis.set(xscale="log", xlim=(1e-4, 1), xlabel="false-positive rate (log)",
                     ylabel="sensitivity", title=f"{name}: ROC")
        else:
            axis.set(xlabel="recall", ylabel="precision", title=f"{name}: precision-recall")
        axis.legend(loc="lower right")
        figure.tight_layout()
        files[f"{kind}_{name}.png"] = _png(figure)


def _plot_confusion(confusion: list[list[int]], files: dict[str, bytes]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matrix = np.array(confusion, dtype=float)
    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure, axis = plt.subplots(figsize=(6.5, 5.5))
    axis.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(matrix):
        axis.text(j, i, f"{int(count)}", ha="center", va="center",
                  color="white" if rates[i, j] > 0.5 else "black", fontsize=8)
    axis.set_xticks(range(len(CLASSES)), CLASSES, rotation=45, ha="right")
    axis.set_yticks(range(len(CLASSES)), CLASSES)
    axis.set(xlabel="called", ylabel="true", title="confusion (counts; colour = row rate)")
    figure.tight_layout()
    files["confusion.png"] = _png(figure)


def evaluable_model(model: str | Path | None) -> CellClassifier:
    """The classifier at ``model`` (the shipped one when None) on at most 2 threads, refused in
    one line (:class:`~smearscan.classification.ModelLoadError`) where this evaluation cannot
    score it: crops of another geometry, or a cross-validation fold model. ``smearscan
    evaluate`` calls it before it makes any folder (QA 60 F6: a refused fold model left empty
    ``--out`` and ``--cache`` folders)."""
    torch.set_num_threads(min(torch.get_num_threads(), 2))
    loaded = load_model(model, threads=torch.get_num_threads())
    if (loaded.crop_size, loaded.crop_scale_um) != (CROP_SIZE, CROP_SCALE_UM):
        raise ModelLoadError(f"{model}: the model crops {loaded.crop_size} px at "
                             f"{loaded.crop_scale_um} um/px; this version extracts {CROP_SIZE} "
                             f"px at {CROP_SCALE_UM} um/px")
    fold = loaded.metadata.get("training", {}).get("fold")
    if fold is not None:
        # Trained on every Chula field outside its fold, whatever the split says (QA 57 #3: a
        # traceback, and under it test fields it had trained on).
        raise ModelLoadError(f"{model}: a cross-validation fold model (fold {fold}), trained on "
                             "the Chula fields outside its fold: score fold models with "
                             "scripts/cross_validate.py --rescore or scripts/"
                             "evaluate_segmentation.py --fold-models")
    return loaded


def evaluate_model(*, model: Path | CellClassifier | None, shared: Path, split: str = "test",
                   out_dir: Path, cache: Path | None = None, limit: int | None = None
                   ) -> dict[str, Any]:
    """Evaluate a model file on one split and write ``metrics.json`` and plots.

    Parameters
    ----------
    model : Path, CellClassifier or None
        Model file, or one :func:`evaluable_model` loaded; None for the shipped default.
    shared : Path
        Folder holding ``datasets/``.
    split : str, keyword-only
        ``val`` or ``test`` (``train`` works but measures memorisation).
    out_dir : Path
        Receives ``metrics.json``, ``roc_schistocyte.png``, ``pr_schistocyte.png``,
        ``roc_nrbc.png``, ``pr_nrbc.png`` and ``confusion.png``, all written at the end, each
        atomically (a run stopped before then writes none of them).
    cache, limit : keyword-only
        As for :func:`labelled_crops`.

    Returns
    -------
    dict
        The content of ``metrics.json``: :func:`classification_metrics` plus ``baseline``
        (:func:`morphometric_baseline`), ``model_version`` and ``split``; for a model trained
        on every Chula field its Chula crops are left out and ``chula`` says why.
    """
    loaded = model if isinstance(model, CellClassifier) else evaluable_model(model)
    data = labelled_crops(shared, cache=cache, limit=limit, progress=False)
    part = data.subset(data.split == split)
    notes = {}
    if str(loaded.metadata.get("training", {}).get("data", "")).startswith(ALL_CHULA):
        # Trained on every Chula field (scripts/cross_validate.py --final): its Chula crops are
        # training data here, and its schistocyte figures are the out-of-fold ones it carries.
        part = part.subset(part.dataset != "chula")
        notes["chula"] = ("left out: the model trained on every Chula field; see "
                          "operating_points.schistocyte in the model file (out of fold)")
    probabilities, morphology = predict_probabilities(loaded, part.centre(CROP_SIZE))
    metrics = classification_metrics(probabilities, morphology, part, loaded.thresholds)
    baseline = morphometric_baseline(data, split)
    baseline_scores = baseline.pop("scores", None)
    metrics = {"model_version": loaded.version, "split": split, **notes, **metrics,
               "baseline": baseline}
    files: dict[str, bytes] = {}
    groups = _groups(part)
    chula = groups["chula"]
    _plot_curves("schistocyte", _scores(probabilities, "schistocyte")[chula],
                 groups["schistocyte"][chula], baseline_scores, files, SCHISTOCYTE_TARGET)
    _plot_curves("nrbc", _scores(probabilities, "nrbc"), groups["nrbc"], None, files)
    _plot_confusion(metrics["confusion"], files)
    files["metrics.json"] = (json.dumps(metrics, indent=2) + "\n").encode()
    out_dir = Path(out_dir)
    with stops_held():
        for name, content in files.items():
            write_bytes_atomic(out_dir / name, content)
    return metrics
