"""A Ctrl-C or SIGTERM as one orderly stop: raised as an exception, recorded, and ending the
command with one line and the shell's exit code.

Imports nothing of the package and no library, so that the entry point
(:mod:`smearscan.console`) holds the stops with it while the command line is still imported.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator

#: 128 + the signal's number, as a shell reports a process that the signal ended.
EXIT_INTERRUPTED, EXIT_TERMINATED = 128 + signal.SIGINT, 128 + signal.SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's KeyboardInterrupt so that the run unwinds the same way:
    workers shut down, temporaries and semaphores removed, one line said."""


def stop_exit(stop: KeyboardInterrupt | type[KeyboardInterrupt]) -> tuple[str, int]:
    """How ``stop`` (an instance or its class) is said, ``interrupted`` or ``terminated``, and
    the exit code it ends the command with."""
    terminated = isinstance(stop, Terminated) or stop is Terminated
    return (("terminated", EXIT_TERMINATED) if terminated
            else ("interrupted", EXIT_INTERRUPTED))


@contextlib.contextmanager
def stops_raised() -> Iterator[list[type[KeyboardInterrupt]]]:
    """Ctrl-C raises KeyboardInterrupt and SIGTERM (``kill``, ``timeout``, a job scheduler)
    :class:`Terminated` meanwhile, each recorded in the list yielded (a library that turns the
    interrupt it meets into an error of its own leaves the stop to be read there).

    SIGTERM by default ends the process on the spot: no message, and the resource tracker warns
    about the worker pool's semaphores. The first stop's orderly end is not cut short by
    another: further stops are ignored until the block ends (QA 128 H2: a second Ctrl-C while
    the worker pool shut down left it running, the run hanging). Only the main thread may set
    signal handlers; the previous handlers come back after.
    """
    stops: list[type[KeyboardInterrupt]] = []
    if threading.current_thread() is not threading.main_thread():
        yield stops
        return

    def stop(kind: type[KeyboardInterrupt]) -> Callable[[int, object], None]:
        def raised(signum: int, frame: object) -> None:
            stops.append(kind)
            for number in (signal.SIGINT, signal.SIGTERM):
                signal.signal(number, signal.SIG_IGN)
            raise kind

        return raised

    previous = {number: signal.signal(number, stop(kind)) for number, kind in (
        (signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated))}
    try:
        yield stops
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def stops_end_with(code: int) -> None:
    """From now on, a Ctrl-C or SIGTERM ends the process at once with ``code``, the exit code
    the command has already decided, saying nothing more; and from the interpreter's last
    exit handler on (module teardown, which would put back the signals' default action), both
    are ignored. For the process's own end, after the command (QA 131 D2: a second Ctrl-C
    there killed the review server by the signal, status 130 instead of 0). Called in the main
    thread."""
    ended = functools.partial(_ended, code)
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, ended)


def _ended(code: int, signum: int, frame: object) -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


@atexit.register  # registered first, so called last: after the libraries' own exit handlers
def _ignored_to_the_end() -> None:
    """Ignore the stops where :func:`stops_end_with` took them: the teardown that follows puts
    the default action back for a Python handler, and a stop there killed the process."""
    handler = signal.getsignal(signal.SIGINT)
    if isinstance(handler, functools.partial) and handler.func is _ended:
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_IGN)
