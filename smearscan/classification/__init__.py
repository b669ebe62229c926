"""Classification stage: one small CNN calls every segmented object and, for red cells, its shape.

The network has two heads: :data:`CLASSES` for every object and :data:`MORPHOLOGY_CLASSES` (the
Chula RBC-12 shapes) for red cells. The stage in three parts, data flowing one way:

* :mod:`.crops` - each object as a crop at one physical scale (:func:`cell_crops`);
* :mod:`.model` - the model file: network, class lists, crop geometry, normalisation and
  operating thresholds travel together (:func:`load_model`, :class:`CellClassifier`);
* :mod:`.inference` - the calls of a field's crops (:func:`classify`).
"""

from smearscan.classes import CLASSES, MORPHOLOGY_CLASSES, TARGET_CLASSES
from smearscan.classification.crops import (
    CROP_SCALE_UM,
    CROP_SIZE,
    DEFAULT_NORMALISATION,
    MIN_COLOUR_SPREAD,
    Normalisation,
    cell_crops,
    colour_spread,
    density_table,
    field_density,
    require_stain_colour,
)
from smearscan.classification.inference import (
    ClassCalls,
    call_labels,
    classify,
    predict_probabilities,
    symmetric_views,
)
from smearscan.classification.model import (
    FORMAT_VERSION,
    REQUIRED_METADATA,
    SYMMETRY_BAND,
    CellClassifier,
    ModelLoadError,
    Network,
    OnnxNetwork,
    checked_metadata,
    default_threads,
    load_model,
    metadata_problem,
    model_metadata,
    onnx_session,
)

__all__ = ["CLASSES", "CROP_SCALE_UM", "CROP_SIZE", "DEFAULT_NORMALISATION", "FORMAT_VERSION",
           "MIN_COLOUR_SPREAD", "MORPHOLOGY_CLASSES", "REQUIRED_METADATA", "SYMMETRY_BAND",
           "TARGET_CLASSES", "CellClassifier", "ClassCalls", "ModelLoadError", "Network",
           "Normalisation", "OnnxNetwork", "call_labels", "cell_crops", "checked_metadata",
           "classify", "colour_spread", "default_threads", "density_table", "field_density",
           "load_model", "metadata_problem", "model_metadata", "onnx_session",
           "predict_probabilities", "require_stain_colour", "symmetric_views"]
