"""The classifier's torch network (:mod:`~smearscan.network.architecture`) and its model files
(:mod:`~smearscan.network.files`: the ``.pt`` training file and the ONNX export).

Needed only to train and evaluate (``pip install "smearscan[train]"``): analysis runs the ONNX
export with ONNX Runtime (:mod:`smearscan.classification`).
"""

from smearscan.network.architecture import (
    DEFAULT_ARCHITECTURE,
    CellNet,
    TorchNetwork,
    build_network,
    inference_network,
)
from smearscan.network.files import (
    EXPORT_TOLERANCE,
    OPSET,
    export_model_file,
    export_onnx,
    load_network,
    load_torch_model,
    read_model_file,
    save_model,
)

__all__ = ["DEFAULT_ARCHITECTURE", "EXPORT_TOLERANCE", "OPSET", "CellNet", "TorchNetwork",
           "build_network", "export_model_file", "export_onnx", "inference_network",
           "load_network", "load_torch_model", "read_model_file", "save_model"]
