"""Write the ONNX export of a ``.pt`` model file (default: the shipped models/default.pt).

Usage: python scripts/export_onnx.py [MODEL.pt] [--out MODEL.onnx]

``smearscan train`` writes both files itself; this regenerates the ``.onnx`` of an existing
``.pt`` (needs the train extra: torch, onnx, onnxscript). The export is checked against torch
before it is written (:func:`smearscan.network.export_onnx`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from smearscan import default_model_path
from smearscan.network import export_model_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, nargs="?",
                        default=default_model_path().with_suffix(".pt"), help="the .pt file")
    parser.add_argument("--out", type=Path, help="the .onnx file (default: beside the .pt)")
    args = parser.parse_args()
    print(export_model_file(args.model, args.out))


if __name__ == "__main__":
    main()
