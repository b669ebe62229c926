"""smearscan: schistocyte counting on Wright/Giemsa blood smear fields.

The package is one module per pipeline stage, data flowing one way:

``loading`` -> ``segmentation`` -> ``features`` -> ``classification`` -> ``slide_stats``
-> ``verdict`` -> ``report``; ``pipeline`` maps the per-field work over worker processes and
``outputs`` writes results atomically; ``cli`` only parses arguments.
"""

from importlib import resources
from pathlib import Path

__version__ = "0.1.0"


def default_model_path() -> Path:
    """The shipped classifier weights: package resource ``smearscan.models/default.pt``.

    Here rather than in ``classification`` so that finding the file does not import torch.
    """
    try:
        return Path(str(resources.files("smearscan.models") / "default.pt"))
    except ModuleNotFoundError:  # a source checkout run with PYTHONPATH
        return Path(__file__).resolve().parents[1] / "models" / "default.pt"
