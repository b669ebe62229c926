"""The classifier's torch network: its architecture, and a torch runner of it for inference.

Needed only to train and evaluate (``pip install "smearscan[train]"``): analysis runs the ONNX
export with ONNX Runtime (:mod:`smearscan.classification`).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from smearscan.classification import CLASSES, MORPHOLOGY_CLASSES

#: Narrower at full resolution and two convolutions at the two coarser scales. In a comparison
#: of variants trained on the same crops (models/README.md, "Why this network"), this lifted
#: schistocyte sensitivity at specificity 0.998 from 0.56 to 0.69 (val) and 0.64 to 0.68 (test)
#: over one convolution per scale at 16/32/64/96 (cnn-2026.11-5), at about the same network
#: time per crop; two convolutions at every scale did as well at 2.3x the time.
DEFAULT_ARCHITECTURE = {"widths": (16, 24, 48, 96), "dropout": 0.2, "depth": (1, 2, 2)}


def _block(inputs: int, outputs: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inputs, outputs, 3, stride=stride, padding=1, bias=False),
                         nn.BatchNorm2d(outputs), nn.ReLU(inplace=True))


class CellNet(nn.Module):
    """Small CNN with a class head and a red-cell morphology head.

    A strided first convolution, then ``depth`` convolutions at each further scale with 2x2
    max pooling after each scale, global average pooling and two linear heads.

    Parameters
    ----------
    widths : sequence of int
        Channels at each scale.
    dropout : float
        Dropout before the heads.
    classes, morphology_classes : int
        Outputs of each head.
    depth : sequence of int
        Convolutions at each scale after the first (``len(widths) - 1`` values).
    """

    def __init__(self, *, widths: tuple[int, ...], dropout: float, classes: int,
                 morphology_classes: int, depth: tuple[int, ...] | None = None) -> None:
        super().__init__()
        layers: list[nn.Module] = [_block(4, widths[0], stride=2)]
        depth = depth or (1,) * (len(widths) - 1)
        for inputs, outputs, count in zip(widths[:-1], widths[1:], depth, strict=True):
            layers += [_block(inputs, outputs)]
            layers += [_block(outputs, outputs) for _ in range(count - 1)]
            layers += [nn.MaxPool2d(2)]
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                      nn.Dropout(dropout))
        self.classes = nn.Linear(widths[-1], classes)
        self.morphology = nn.Linear(widths[-1], morphology_classes)

    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class and morphology logits, each (N, classes), of (N, 4, S, S) crops."""
        embedding = self.features(crops)
        return self.classes(embedding), self.morphology(embedding)


def inference_network(network: CellNet) -> CellNet:
    """A copy of ``network`` in eval mode with each batch norm folded into its convolution.

    The same function up to float rounding, ~15% faster on the CPU.
    """
    fused = copy.deepcopy(network).eval()
    for block in fused.features:
        if isinstance(block, nn.Sequential) and isinstance(block[1], nn.BatchNorm2d):
            block[0] = fuse_conv_bn_eval(block[0], block[1])
            block[1] = nn.Identity()
    return fused.to(memory_format=torch.channels_last)


def build_network(architecture: dict[str, Any], *, classes: int = len(CLASSES),
                  morphology_classes: int = len(MORPHOLOGY_CLASSES)) -> CellNet:
    """A fresh :class:`CellNet` from an architecture dict (``widths``, ``dropout`` and
    optionally ``depth``: files without it hold one convolution per scale)."""
    depth = architecture.get("depth")
    return CellNet(widths=tuple(architecture["widths"]), dropout=float(architecture["dropout"]),
                   classes=classes, morphology_classes=morphology_classes,
                   depth=tuple(int(d) for d in depth) if depth else None)


class TorchNetwork:
    """A torch network as a :class:`~smearscan.classification.Network` (softmax outputs).

    Parameters
    ----------
    network : CellNet
        Folded for inference here (:func:`inference_network`).
    pad_rows : int
        Batches are padded with zero crops to a multiple of this many rows. oneDNN caches
        kernels per input shape: one field after another with 117, 131, 140... objects would
        grow the process by ~20 MB per new shape (4.8 GiB over the sizes 1..256,
        scripts/benchmark.py); padding to 32 rows keeps memory flat.
    """

    def __init__(self, network: CellNet, *, pad_rows: int = 32) -> None:
        self.module = inference_network(network)
        self.pad_rows = pad_rows

    def __call__(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rows = -(-len(crops) // self.pad_rows) * self.pad_rows
        padded = np.zeros((rows, *crops.shape[1:]), np.float32)
        padded[:len(crops)] = crops
        with torch.inference_mode():
            batch = torch.from_numpy(padded).contiguous(memory_format=torch.channels_last)
            logits, morphology = self.module(batch)
            return (torch.softmax(logits[:len(crops)], 1).numpy(),
                    torch.softmax(morphology[:len(crops)], 1).numpy())
