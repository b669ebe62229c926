"""Label mapping of the public datasets onto the classifier's classes.

- Chula: ``schistocyte`` -> schistocyte; every other shape (incl. ``uncategorised``) -> rbc.
  The shapes other than schistocyte and uncategorised also train the morphology head.
  Unlabelled cells are unknown, not negatives, and are not used (except the platelets mined by
  :func:`smearscan.training.crops.mined_platelets`).
- BCCD: ``RBC`` -> rbc, ``WBC`` -> wbc, ``Platelets`` -> platelet.
- PBC: ``erythroblast`` -> nrbc, ``ig`` -> immature_granulocyte, the mature leukocytes -> wbc,
  ``platelet`` -> platelet. The sub-class is kept (``source``) for per-subclass error rates.
"""

from __future__ import annotations

from smearscan.classification import MORPHOLOGY_CLASSES

PBC_LEUKOCYTES = ("lymphocyte", "neutrophil", "monocyte", "eosinophil", "basophil", "ig")
_CLASS_OF = {
    "bccd": {"RBC": "rbc", "WBC": "wbc", "Platelets": "platelet"},
    "pbc": {"erythroblast": "nrbc", "ig": "immature_granulocyte", "lymphocyte": "wbc",
            "neutrophil": "wbc", "monocyte": "wbc", "eosinophil": "wbc", "basophil": "wbc",
            "platelet": "platelet"},
}

#: Source name of the Chula platelets found by :func:`mined_platelets` (weak labels).
MINED_PLATELET = "mined_platelet"


#: How a model file's ``training.data`` begins when the model trained on every Chula field.
ALL_CHULA = "all of chula-rbc-12"

#: Dataset name of the cells a technologist reviewed (``smearscan train --extra-labels``):
#: their label is already one of CLASSES.
REVIEWED = "review"


def class_of(dataset: str, name: str) -> str:
    """Main class of a dataset label (see the module docstring)."""
    if name == MINED_PLATELET:
        return "platelet"
    if dataset == REVIEWED:
        return name
    if dataset == "chula":
        return "schistocyte" if name == "schistocyte" else "rbc"
    return _CLASS_OF[dataset][name]


def morphology_of(dataset: str, name: str) -> int:
    """Index in MORPHOLOGY_CLASSES of a Chula shape, -1 when it does not train that head."""
    return MORPHOLOGY_CLASSES.index(name) if dataset == "chula" and name in MORPHOLOGY_CLASSES \
        else -1

