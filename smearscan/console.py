"""The ``smearscan`` command's entry point (and ``python -m smearscan``'s): a Ctrl-C while the
package's modules are still being imported, before :func:`smearscan.cli.main` holds the
signals, is said in one line too (QA 128 H3: a traceback in the first ~0.12 s)."""

from __future__ import annotations

import signal
import sys
from importlib import import_module

#: What an interrupted start-up says, and its exit code (128 + SIGINT, as a shell reports it):
#: nothing has been read or written yet.
INTERRUPTED_AT_START = "smearscan: interrupted; nothing was written"
EXIT_INTERRUPTED = 128 + signal.SIGINT


def main() -> int:
    """Import the command line with Ctrl-C recorded, then run it (:func:`smearscan.cli.main`).
    An error an interrupted import raised in place of the interrupt (a C extension's
    initialisation turns it into an ImportError) is that interrupt too."""
    interrupted: list[int] = []

    def record(signum: int, frame: object) -> None:
        interrupted.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, record)
    try:
        cli = import_module("smearscan.cli")
    except BaseException:
        if not interrupted:
            raise
        print(INTERRUPTED_AT_START, file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGINT, previous)
    return cli.main()
