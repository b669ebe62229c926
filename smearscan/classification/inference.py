"""Inference: the network over a field's crops, the symmetric views where a call is in doubt,
and the calls at the model's operating thresholds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smearscan.classes import NUCLEATED_CLASSES, TARGET_CLASSES
from smearscan.classification.model import CellClassifier


@dataclass(frozen=True)
class ClassCalls:
    """Calls for N objects.

    Attributes
    ----------
    probabilities : (N, len(classes)) float32 ndarray
        Softmax over the model's ``classes``; rows sum to 1.
    morphology_probabilities : (N, len(morphology_classes)) float32 ndarray
        Softmax over the red-cell shapes (meaningful for ``rbc`` and ``schistocyte`` only).
    label : (N,) str ndarray
        The call, see :func:`call_labels`.
    morphology : (N,) str ndarray
        Most probable red-cell shape.
    """

    probabilities: np.ndarray
    morphology_probabilities: np.ndarray
    label: np.ndarray
    morphology: np.ndarray


def call_labels(probabilities: np.ndarray, classes: tuple[str, ...],
                thresholds: dict[str, float]) -> np.ndarray:
    """The call of each object from its class probabilities.

    A target class (``schistocyte``, ``nrbc``, ``immature_granulocyte``) is called when its
    probability reaches its operating threshold; when several do, the one with the highest
    probability wins. Otherwise the call is the most probable of the other classes.

    Parameters
    ----------
    probabilities : (N, len(classes)) float ndarray
    classes : tuple of str
    thresholds : dict of str to float
        Operating threshold of each target class (a class without one is an ordinary class).

    Returns
    -------
    (N,) str ndarray
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    targets = np.array([c in thresholds for c in classes])
    limit = np.array([thresholds.get(c, np.inf) for c in classes])
    rest = np.where(targets, -np.inf, probabilities)
    label = np.argmax(rest, axis=1)
    reached = np.where(targets & (probabilities >= limit), probabilities, -np.inf)
    any_reached = np.isfinite(reached).any(axis=1)
    label[any_reached] = np.argmax(reached[any_reached], axis=1)
    return np.asarray(classes, dtype=object)[label].astype(str)


#: An NRBC call needs at least this fraction of the object's own pixels stained like a nucleus
#: (:func:`smearscan.segmentation.nuclear_fractions`); without, the object is called as if it
#: could be no nucleated class (this tool's rule). The network also sees what lies around an
#: object: on held-out PBC crops (a CellaVision camera, healthy donors) it called normal red
#: cells beside a white cell NRBCs, 17 of its 24 off-centre NRBC calls on the val split, 17 of
#: 21 on test, all under 0.05; of the erythroblasts it called NRBC, 1 of 205 (val) and 1 of
#: 192 (test) are under it. Their white cells read 0.33 and more, BCCD's 0.28 and more. A late
#: normoblast's nucleus, a third of the cell's diameter or more, covers over 0.1.
NRBC_MIN_NUCLEAR_FRACTION = 0.05


#: No object smaller than this (um^2, a disc 3.6 um across) is called a nucleated class: the
#: smallest nucleated blood cells, small lymphocytes and late normoblasts, are about 7 um across
#: (Bain BJ. Blood Cells: A Practical Guide, 5th ed. Wiley 2015, ch. 3), a platelet 1.5-3 um;
#: this tool's rule. On held-out PBC crops (0.105 um/px) the networks trained on registered
#: objects called platelet-sized objects (1.2-9.5 um^2) white cells, 23 in the 435 val images of
#: white cells and erythroblasts (`cnn-2026.12-8`; 12 for `cnn-2026.12-6`), which raised the
#: white-cell count and with it the false-call bound of the leukoerythroblastic picture; the
#: smallest object under a labelled nucleated cell of the val and test images measures 21.6 um^2
#: (an erythroblast).
MIN_NUCLEATED_AREA_UM2 = 10.0


def too_small_to_be_nucleated(label: np.ndarray, area_um2: np.ndarray) -> np.ndarray:
    """Indices of the objects called a nucleated class (``label``) whose ``area_um2`` is under
    :data:`MIN_NUCLEATED_AREA_UM2`."""
    return np.flatnonzero(np.isin(label, NUCLEATED_CLASSES)
                          & (np.asarray(area_um2, dtype=float) < MIN_NUCLEATED_AREA_UM2))


def calls_without_nucleus(probabilities: np.ndarray, classes: tuple[str, ...],
                          thresholds: dict[str, float]) -> np.ndarray:
    """:func:`call_labels` of (K, len(classes)) ``probabilities`` of objects without a nucleus:
    no class of :data:`~smearscan.classes.NUCLEATED_CLASSES` is called."""
    kept = np.array(probabilities, dtype=np.float64)
    kept[:, [classes.index(name) for name in NUCLEATED_CLASSES if name in classes]] = -np.inf
    return call_labels(kept, classes, thresholds)


def _network_outputs(model: CellClassifier, crops: np.ndarray,
                     batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Softmax outputs of both heads for one view of each crop."""
    classes, shapes = [], []
    for start in range(0, len(crops), batch_size):
        chunk = np.ascontiguousarray(crops[start:start + batch_size], dtype=np.float32)
        probabilities, morphology = model.network(chunk)
        classes.append(probabilities)
        shapes.append(morphology)
    if not classes:
        return (np.zeros((0, len(model.classes)), np.float32),
                np.zeros((0, len(model.morphology_classes)), np.float32))
    return np.concatenate(classes), np.concatenate(shapes)


def symmetric_views(crops: np.ndarray) -> np.ndarray:
    """The 7 other rotations and flips of (N, C, S, S) crops, stacked view by view (7N rows)."""
    views = []
    for quarter_turns in range(4):
        turned = np.rot90(crops, quarter_turns, axes=(2, 3))
        views += [turned[..., ::-1]] if quarter_turns == 0 else [turned, turned[..., ::-1]]
    return np.concatenate(views)


def _in_symmetry_band(model: CellClassifier, probabilities: np.ndarray) -> np.ndarray:
    targets = [model.classes.index(c) for c in TARGET_CLASSES if c in model.classes]
    top = probabilities[:, targets].max(axis=1)
    low, high = model.symmetry_band
    return np.flatnonzero((top >= low) & (top < high))


def _mean_over_views(single: np.ndarray, views: np.ndarray) -> np.ndarray:
    """Row-wise mean of ``single`` and its other views (stacked view after view)."""
    stacked = views.reshape(-1, *single.shape)
    return (single + stacked.sum(axis=0)) / (len(stacked) + 1)


def predict_probabilities(model: CellClassifier, crops: np.ndarray, *,
                          batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Softmax outputs of both heads for (N, 4, S, S) crops, as float32 arrays.

    Objects in the model's ``symmetry_band`` get the mean over the 8 symmetric views of their
    crop (:data:`SYMMETRY_BAND`).
    """
    classes, shapes = _network_outputs(model, crops, batch_size)
    if model.symmetry_band is None or not len(crops):
        return classes, shapes
    unsure = _in_symmetry_band(model, classes)
    if len(unsure):
        view_classes, view_shapes = _network_outputs(model, symmetric_views(crops[unsure]),
                                                     batch_size)
        classes[unsure] = _mean_over_views(classes[unsure], view_classes)
        shapes[unsure] = _mean_over_views(shapes[unsure], view_shapes)
    return classes, shapes


def classify(model: CellClassifier, crops: np.ndarray, *, batch_size: int = 32) -> ClassCalls:
    """Classify objects from their crops.

    Parameters
    ----------
    model : CellClassifier
        From :func:`load_model`.
    crops : (N, 4, S, S) float32 ndarray
        From :meth:`CellClassifier.crops` (:func:`cell_crops` with the model's geometry and
        normalisation).
    batch_size : int, keyword-only
        Crops per network call.

    Returns
    -------
    ClassCalls
        Labels follow :func:`call_labels` with the model's operating thresholds.
    """
    expected = (4, model.crop_size, model.crop_size)
    if crops.ndim != 4 or crops.shape[1:] != expected:
        raise ValueError(f"crops must be (N, {expected[0]}, {expected[1]}, {expected[2]}), "
                         f"got {crops.shape}")
    probabilities, morphology = predict_probabilities(model, crops, batch_size=batch_size)
    label = call_labels(probabilities, model.classes, model.thresholds)
    shape = np.asarray(model.morphology_classes, dtype=object)[
        np.argmax(morphology, axis=1)].astype(str) if len(crops) else np.zeros(0, dtype=str)
    return ClassCalls(probabilities, morphology, label, shape)
