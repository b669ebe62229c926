"""The cell classes: every list of class names in the package is one of these.

Torch-free, so that the slide statistics, the drawing and the outputs can name the classes
without importing the classifier.
"""

#: Object classes of the classifier's main head.
CLASSES = ("rbc", "schistocyte", "nrbc", "wbc", "immature_granulocyte", "platelet")
#: Classes with a nucleus: an NRBC call without one inside its outline falls back to none of
#: them (:data:`smearscan.classification.inference.NRBC_MIN_NUCLEAR_FRACTION`).
NUCLEATED_CLASSES = ("nrbc", "wbc", "immature_granulocyte")
#: Labels a cell can carry in the outputs: the classes and ``other`` (debris, never counted).
LABELS = (*CLASSES, "other")
#: Red-cell shapes of the morphology head (Chula RBC-12 without schistocyte, uncategorised).
MORPHOLOGY_CLASSES = (
    "normal", "macrocyte", "microcyte", "spherocyte", "target", "stomatocyte", "ovalocyte",
    "teardrop", "burr", "hypochromia", "elliptocyte",
)
#: Classes called by their own operating threshold, in this order of precedence for ties; every
#: call of one of them goes to the review gallery of the slide report.
TARGET_CLASSES = ("schistocyte", "nrbc", "immature_granulocyte")
