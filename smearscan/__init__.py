"""smearscan: schistocyte counting on Wright/Giemsa blood smear fields.

The Python API (:mod:`smearscan.api`)::

    import smearscan
    field = smearscan.analyse_image("field.png")     # per-cell table and field summary
    slide = smearscan.analyse_slide("slide01/")       # pooled slide statistics
    model = smearscan.load_model()                    # the shipped classifier

The package is one module per pipeline stage, data flowing one way:

``loading`` -> ``segmentation`` -> ``features`` -> ``classification`` -> ``slide_stats``
-> ``verdict`` -> ``report``. ``pipeline`` is the per-field work, ``render`` its pictures,
``results`` the dataclasses passed between stages, ``classes`` the class names; ``executor``
maps the per-field work over local processes or a Dask cluster; ``batch`` groups fields into
slides and writes them through ``outputs`` (atomic writes); ``cli`` only parses arguments.
``network`` (torch) and ``training`` are for training only.
"""

from importlib import resources
from pathlib import Path

__version__ = "0.3.42"

#: Imported on first use, so that ``import smearscan`` (and the CLI's start-up) stays light.
_API = ("analyse_image", "analyse_slide", "load_model", "FieldAnalysis", "SlideAnalysis")
__all__ = ["__version__", "default_model_path", *_API]


def __getattr__(name: str):
    if name in _API:
        from smearscan import api

        return getattr(api, name)
    raise AttributeError(f"module 'smearscan' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))


def default_model_path() -> Path:
    """The shipped classifier: ``models/default.onnx`` of the source tree this package lies in
    (a checkout, installed editable or run with ``PYTHONPATH``), else the package resource
    ``smearscan.models/default.onnx`` (a wheel).

    Its training file ``default.pt`` (torch) lies beside it. Here rather than in
    ``classification`` so that finding the file imports nothing heavy. The checkout's own file
    comes first: a second checkout run with ``PYTHONPATH`` beside an editable install read the
    installed tree's model, which changed under it (QA 83 #2).
    """
    tree = Path(__file__).resolve().parents[1]
    if (tree / "pyproject.toml").is_file() and (tree / "models" / "default.onnx").is_file():
        return tree / "models" / "default.onnx"
    return Path(str(resources.files("smearscan.models") / "default.onnx"))
