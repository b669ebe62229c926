"""What every ``smearscan`` command shares: exit codes, a parser whose errors are one line,
argument types, and saying a line that a closed pipe does not break."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

EXIT_OK, EXIT_USAGE, EXIT_PARTIAL, EXIT_FAILURE = 0, 2, 3, 4


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (the README's promise), not the usage."""

    def error(self, message: str) -> None:
        """Print ``<prog>: error: <message> (see <prog> --help)`` and exit 2."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value != value or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite positive number")
    return value


def path_argument(text: str) -> Path:
    """A path argument; an empty one (an unset shell variable) is refused: as a Path it
    would be the current folder."""
    if not text:
        raise argparse.ArgumentTypeError("'': empty path")
    return Path(text)


def output_folder(text: str) -> Path:
    """An --out folder: an existing folder, or nothing yet (created by the run)."""
    from smearscan.loading import not_a_folder_reason

    path = path_argument(text)
    reason = not_a_folder_reason(path)
    if reason is not None:
        raise argparse.ArgumentTypeError(f"{text!r} is {reason}")
    return path


def shared_folder(text: str) -> Path:
    """A ``--shared`` folder (of ``smearscan train``/``evaluate`` and the scripts): one holding
    datasets/, else one line (a crop cache would otherwise let a wrong folder train on data it
    does not hold; QA 57 #11: the scripts printed tables of zeros or tracebacks)."""
    path = path_argument(text)
    if not (path / "datasets").is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} holds no datasets/ folder (Chula RBC-12, "
                                         "BCCD, PBC)")
    return path


def whole_number(text: str, low: int, high: int | None = None) -> int:
    """``text`` as an integer from ``low`` (to ``high``), or an argparse type error saying so."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if high is None and value < low:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least {low}")
    if high is not None and not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text!r} must be {low}-{high}")
    return value


def port(text: str) -> int:
    return whole_number(text, 1, 65535)


def positive_int(text: str) -> int:
    return whole_number(text, 1)


def say(line: str, stream: TextIO | None = None) -> None:
    """Print ``line`` on ``stream`` (default stderr) at once. Once its reader has gone (a closed
    pipe: ``| head -1``), stop writing to it and carry on: a run's outputs matter more than
    its progress lines, and its exit code still tells how it went."""
    stream = sys.stderr if stream is None else stream
    try:
        print(line, file=stream, flush=True)
    except BrokenPipeError:
        silence(stream)


def silence(stream: TextIO) -> None:
    """Point ``stream``'s file descriptor at the null device (the Python docs' recipe for a
    closed pipe): what is still buffered, and every later write, goes nowhere instead of
    raising again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, stream.fileno())
    os.close(devnull)
