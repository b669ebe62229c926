"""Training and evaluation of the cell classifier on the public datasets.

Crops of the labelled objects of Chula RBC-12, BCCD and PBC are cut around the segmented
objects and cached (:mod:`.crops`, labels mapped by :mod:`.labels`); a
:class:`~smearscan.network.CellNet` is fitted with augmentations (:mod:`.fit`); the
operating threshold of each target class is chosen by :mod:`.operating`; :mod:`.evaluation`
measures a model file on labelled crops; :mod:`.train` writes the model file.
"""

from smearscan.training.crops import (
    MARGIN,
    CropSet,
    labelled_crops,
    mined_platelets,
    objects_at_points,
    reviewed_crops,
)
from smearscan.training.evaluation import (
    classification_metrics,
    evaluable_model,
    evaluate_model,
)
from smearscan.training.fit import EPOCHS, augmented, fit_network
from smearscan.training.labels import class_of, morphology_of
from smearscan.training.operating import MIN_THRESHOLD, operating_points
from smearscan.training.train import MODEL_VERSION, train_model

__all__ = [
    "EPOCHS", "MARGIN", "MIN_THRESHOLD", "MODEL_VERSION", "CropSet", "augmented", "class_of",
    "classification_metrics", "evaluable_model", "evaluate_model", "fit_network", "labelled_crops",
    "mined_platelets", "morphology_of", "objects_at_points", "operating_points",
    "reviewed_crops", "train_model",
]
