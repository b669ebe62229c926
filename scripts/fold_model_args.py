"""The command line the scripts that measure fold models and write a model copy share
(``whole_field_point.py``, ``nrbc_false_calls.py``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from smearscan import default_model_path
from smearscan.cli.common import shared_folder


def fold_model_parser(doc: str, *, model_help: str, limit_help: str) -> argparse.ArgumentParser:
    """``--fold-models``, ``--shared``, ``--model``, ``--write``, ``--version`` and
    ``--limit``, described by the script's docstring ``doc``."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--fold-models", type=Path, nargs="+", required=True)
    parser.add_argument("--shared", type=shared_folder, default="../shared")
    parser.add_argument("--model", type=Path, default=default_model_path().with_suffix(".pt"),
                        help=model_help)
    parser.add_argument("--write", type=Path, metavar="MODEL.pt")
    parser.add_argument("--version", metavar="NAME", help="model_version of the --write copy")
    parser.add_argument("--limit", type=int, help=limit_help)
    return parser


def parsed(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """The arguments, refusing ``--write`` without ``--version``."""
    args = parser.parse_args()
    if args.write and not args.version:
        parser.error("--write needs --version")
    return args
