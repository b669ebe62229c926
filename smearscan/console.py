"""The ``smearscan`` command's entry point (and ``python -m smearscan``'s): a Ctrl-C or SIGTERM
while the package's modules are still being imported, before :func:`smearscan.cli.main` holds
the stops, is said in one line too (QA 128 H3: a traceback in the first ~0.12 s)."""

from __future__ import annotations

import sys
from importlib import import_module

from smearscan.stops import stop_exit, stops_end_with, stops_raised


def main() -> int:
    """Import the command line with the stops held (:func:`smearscan.stops.stops_raised`),
    then run it (:func:`smearscan.cli.main`), a stop after it ending the process with its exit
    code (:func:`smearscan.stops.stops_end_with`). An error an interrupted import raised in place of
    the stop (a C extension's initialisation turns it into an ImportError) is that stop too."""
    with stops_raised() as stops:
        try:
            cli = import_module("smearscan.cli")
        except BaseException:
            if not stops:
                raise
            how, code = stop_exit(stops[-1])
            print(f"smearscan: {how}; nothing was written", file=sys.stderr)
            return code
    code = cli.main()
    stops_end_with(code)
    return code
