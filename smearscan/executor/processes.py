"""Worker processes on this machine (``--jobs N``), or this process alone."""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice

from smearscan.executor.protocol import R, T, WorkerCountError, WorkerDiedError


def _exit_with_main_process() -> None:
    """Exit this worker as soon as the process that started the pool dies.

    A SIGKILLed run then leaves no orphans, whatever the start method: a daemon thread waits on
    the main process's sentinel (``multiprocessing.parent_process``), which becomes ready when
    it dies.
    """
    main = multiprocessing.parent_process()
    if main is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([main.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="smearscan-main-watch", daemon=True).start()


def _worker_init() -> None:
    _exit_with_main_process()
    # SIGTERM to the process group (``timeout``, a job scheduler) is left to the main process,
    # which shuts the workers down, as Ctrl-C is (see start_fork_server): a worker killed while
    # it sent a result left half a message in the result pipe, and the pool's shutdown waited
    # for the rest forever (1 run in 10 of test_sigterm_mid_run_is_one_line_and_exit_143).
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Each worker is one core's worth of work: nested BLAS/network threads would oversubscribe.
    os.environ["OMP_NUM_THREADS"] = "1"  # read by the model loaded from here on
    if "torch" in sys.modules:  # a .pt model, imported by the fork server already
        sys.modules["torch"].set_num_threads(1)


#: Below this many fields a run is over before worker processes would pay for their start-up.
_FIELDS_FOR_WORKERS = 20
#: Each classifying worker holds ~0.8 GiB: more than 4 would crowd a lab PC's memory.
_MAX_DEFAULT_JOBS = 4


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system tells it)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, cores or 1)


def default_jobs(fields: int) -> int:
    """Worker processes for a run of ``fields`` fields when the user did not say: one per
    available core (at most 4) for 20 fields or more, else 1 (no workers)."""
    if fields < _FIELDS_FOR_WORKERS:
        return 1
    return min(available_cores(), _MAX_DEFAULT_JOBS)


def check_worker_count(count: int, option: str) -> None:
    """Refuse more local worker processes than cores (:class:`WorkerCountError`, one line).

    Each worker analyses one field at a time on one core and holds ~0.8 GiB: more only share
    the cores and crowd the memory (a QA run of ``--scheduler local:1000`` started 600 processes
    on 2 cores and stalled the machine).
    """
    cores = available_cores()
    if count > cores:
        raise WorkerCountError(f"{option}: {count} worker processes for the {cores} core(s) of "
                               f"this machine; give at most {cores}")


def _worker_context(preload: Sequence[str]) -> multiprocessing.context.BaseContext:
    """Workers fork from a fork server where there is one (Linux, macOS): a clean
    single-threaded process, without this process's threads or state, that has imported
    ``preload`` once; spawned workers (Windows) would each import them again."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(preload))
    start_fork_server()
    return context


def start_fork_server() -> None:
    """Start the fork server, unless it runs already, with SIGINT ignored.

    A terminal's Ctrl-C goes to the whole process group: the fork server (importing its
    preload) and every worker would each print a KeyboardInterrupt traceback. An ignored signal
    stays ignored across exec and fork, so the fork server and each worker forked from it
    ignore Ctrl-C, and this process, which gets it too, shuts them down. Only the main thread
    may set signal handlers; elsewhere the pool starts the server as it would.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    # Blocked meanwhile, so that a Ctrl-C at this very moment reaches this process afterwards
    # instead of being discarded as ignored.
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, handler)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


#: Tasks queued per worker: enough to keep each busy, few enough that results never pile up.
QUEUED_PER_WORKER = 4


class LocalPool:
    """``jobs`` worker processes on this machine; ``jobs=1`` runs in this process (no pickling,
    easy debugging). A pool lives for one :meth:`map_unordered` call.

    Raises
    ------
    WorkerCountError
        More jobs than cores (:func:`check_worker_count`).
    """

    def __init__(self, jobs: int = 1) -> None:
        check_worker_count(jobs, "jobs")
        self.jobs = jobs

    @property
    def in_process(self) -> bool:
        """The work runs in this process (the caller may load what it needs up front)."""
        return self.jobs <= 1

    def __enter__(self) -> LocalPool:
        return self

    def __exit__(self, *_: object) -> None:
        """Nothing to close: a pool lives for one :meth:`map_unordered` call."""

    def map_unordered(self, work: Callable[[T], R], tasks: Iterable[T], *,
                      preload: Sequence[str] = ()) -> Iterator[R]:
        """See :meth:`Executor.map_unordered`; in this process, results come in task order."""
        if self.jobs <= 1:
            yield from map(work, tasks)
            return
        pool = ProcessPoolExecutor(self.jobs, mp_context=_worker_context(preload),
                                   initializer=_worker_init)
        try:
            yield from _windowed(pool, work, iter(tasks), self.jobs * QUEUED_PER_WORKER)
        except BrokenProcessPool:
            _kill_workers(pool)
            raise WorkerDiedError(
                "a worker process died (killed, or out of memory?) before its field was done; "
                "finished slides are kept: run the same command again to resume, with fewer "
                "--jobs if memory is short") from None
        finally:
            # A caller that stops early (an error such as a bad model, Ctrl-C) must not wait for
            # the fields still queued.
            pool.shutdown(cancel_futures=True)


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """SIGKILL the workers left in a broken pool. The pool's own clean-up sends them SIGTERM,
    which workers ignore (:func:`_worker_init`), then waits for them, and the one still busy
    with a field waits for this process to die: a run with a worker killed by the OOM killer
    spun for ever at 100% CPU and ignored ``kill`` (QA 54 H1). ``_processes`` is the pool's
    own record of its workers (CPython's, no public equivalent)."""
    workers = getattr(pool, "_processes", None) or {}
    for process in list(workers.values()):
        with contextlib.suppress(OSError, ValueError):
            process.kill()


def _windowed(pool: ProcessPoolExecutor, work: Callable[[T], R], tasks: Iterator[T],
              window: int) -> Iterator[R]:
    # Finished futures come through a queue, not concurrent.futures.wait: wait takes each
    # future's lock in a Python loop, and a stop (Ctrl-C, SIGTERM) raised inside that loop left
    # a lock held, so that the pool's shutdown waited for it for ever (a run of the test suite
    # hung at test_sigterm_mid_run_is_one_line_and_exit_143). SimpleQueue.get, in C, holds no
    # lock when a stop cuts it short; what takes a future's lock runs with stops held.
    finished: queue.SimpleQueue[Future] = queue.SimpleQueue()

    def submitted(count: int) -> int:
        # A submit may start a worker: never cut short (see stops_held).
        with stops_held():
            futures = [pool.submit(work, task) for task in islice(tasks, count)]
            for future in futures:
                future.add_done_callback(finished.put)
        return len(futures)

    running = submitted(window)
    while running:
        future = finished.get()
        running -= 1
        with stops_held():
            result = future.result()
        yield result
        running += submitted(1)


#: Signals that stop a run (Ctrl-C; ``kill``, ``timeout``, a job scheduler).
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stops_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back until the block is done, then deliver them.

    Starting a worker takes a second or two (the fork server imports the work's modules first)
    and is not atomic: cut short, the worker would start after this process has gone and fail,
    with a traceback, on the semaphores this process removed on its way out. Only the main
    thread may set signal handlers; elsewhere nothing is held.
    """
    # A handler not set from Python (None) could not be put back.
    handlers = {number: signal.getsignal(number) for number in _STOP_SIGNALS}
    if threading.current_thread() is not threading.main_thread() or None in handlers.values():
        yield
        return
    held: list[int] = []
    for number in handlers:
        signal.signal(number, lambda number, _: held.append(number))
    try:
        yield
    finally:
        for number, handler in handlers.items():
            signal.signal(number, handler)
        for number in dict.fromkeys(held):
            signal.raise_signal(number)

