"""The workers of a Dask cluster (``--scheduler``), from the optional ``distributed`` extra."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import re
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from itertools import islice
from typing import Any

from smearscan.executor.processes import (
    QUEUED_PER_WORKER,
    check_worker_count,
    start_fork_server,
    stops_held,
)
from smearscan.executor.protocol import (
    ClusterError,
    R,
    SchedulerValueError,
    T,
    WorkerDiedError,
)

_INSTALL_HINT = 'pip install "smearscan[distributed]"'


def parse_scheduler(text: str) -> tuple[str, int | None]:
    """``("tcp://HOST:PORT", None)`` or ``("local", N)`` from a ``--scheduler`` value.

    Raises
    ------
    SchedulerValueError
        Neither form.
    WorkerCountError
        ``local:N`` with more workers than cores (:func:`.processes.check_worker_count`).
    """
    if text.startswith("local:"):
        count = text.removeprefix("local:")
        if count.isdigit() and int(count) >= 1:
            check_worker_count(int(count), f"--scheduler {text}")
            return "local", int(count)
        if count.removeprefix("-").isdigit():  # QA 162 L4: local:0 has the form asked for
            raise SchedulerValueError(f"--scheduler {text!r}: local:N needs 1 worker or more")
    elif text.startswith("tcp://") and text.rpartition(":")[2].isdigit() and (
            1 <= int(text.rpartition(":")[2]) <= 65535):  # QA 62 F8: 99999 was taken
        return text, None
    raise SchedulerValueError(f"--scheduler {text!r}: expected tcp://HOST:PORT (a running Dask "
                              "scheduler) or local:N (N local workers)")


def _quiet_dask_logs() -> None:
    """Dask logs every lost worker and connection with a traceback: the run reports its own
    one-line error instead. Set before workers start, so that they inherit it."""
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "critical")
    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name.split(".")[0] == "distributed":
            logging.getLogger(name).setLevel(logging.CRITICAL)


#: Seconds to wait for a scheduler to answer before saying it cannot be reached.
_CONNECT_SECONDS = 20
#: Seconds to wait for a first worker to join a scheduler that has none, before the run stops
#: (exit 4). Dask would otherwise hold every field until one joins, silently and for ever. A
#: minute leaves time for workers started together with the run to join; a rule of this
#: tool's own.
WORKER_WAIT_SECONDS = 60
#: Seconds between two looks, while no field is back, at whether the cluster has a worker left.
_WORKERS_CHECK_SECONDS = 1.0


class DaskExecutor:
    """The workers of a Dask cluster: an existing one (``tcp://HOST:PORT``) or a
    ``LocalCluster`` of ``local_workers`` single-threaded worker processes on 127.0.0.1.

    A context manager: entering connects (and starts the local cluster), leaving closes what it
    started. Each task reads its own inputs on a worker; its result comes back here. A worker
    that dies is replaced by Dask and its tasks run again elsewhere; a cluster that goes away
    raises :class:`ClusterError`.
    """

    in_process = False

    def __init__(self, address: str | None = None, *, local_workers: int | None = None) -> None:
        if (address is None) == (local_workers is None):
            raise ValueError("give a scheduler address or a number of local workers")
        self.address, self.local_workers = address, local_workers
        self.client: Any = None
        self._cluster: Any = None

    @classmethod
    def from_scheduler(cls, text: str) -> DaskExecutor:
        """The executor for a ``--scheduler`` value (see :func:`parse_scheduler`)."""
        address, workers = parse_scheduler(text)
        return cls(local_workers=workers) if address == "local" else cls(address)

    @property
    def where(self) -> str:
        """The cluster, in words."""
        return self.address or f"local:{self.local_workers}"

    def __enter__(self) -> DaskExecutor:
        try:
            from distributed import Client
        except ImportError:
            raise ClusterError(f"--scheduler needs Dask: {_INSTALL_HINT}") from None
        _quiet_dask_logs()
        try:
            if self.local_workers is not None:
                # Cut short, a local cluster would be left half-started, for Dask's exit
                # handler to fail on; held signals are delivered below, where it can be
                # closed. A remote connection is not held: it may wait for its timeout.
                with stops_held():
                    self._cluster = _local_cluster(self.local_workers)
                    self.client = Client(self._cluster)
            else:
                _require_scheduler(self.address)
                self.client = Client(self.address, timeout=_CONNECT_SECONDS)
                self._wait_for_a_worker()
        except ClusterError:
            self.__exit__()
            raise
        except (OSError, TimeoutError) as error:
            self.__exit__()
            raise ClusterError(f"cannot reach the Dask scheduler at {self.where}: "
                               f"{_one_line(error)}") from None
        except BaseException:
            self.__exit__()  # a with statement closes only what entered
            raise
        return self

    def _wait_for_a_worker(self) -> None:
        """Return once the scheduler has a worker; say so on stderr when it has none yet, and
        raise :class:`ClusterError` when none joins within :data:`WORKER_WAIT_SECONDS`."""
        from distributed.client import WorkerStartTimeoutError

        if self.client.nthreads():
            return
        with contextlib.suppress(OSError):  # a closed stderr does not stop the run
            print(f"smearscan: the scheduler at {self.where} has no workers yet; waiting up to "
                  f"{WORKER_WAIT_SECONDS} s", file=sys.stderr, flush=True)
        try:
            self.client.wait_for_workers(1, timeout=WORKER_WAIT_SECONDS)
        except WorkerStartTimeoutError:
            raise ClusterError(f"no Dask worker joined the scheduler at {self.where} within "
                               f"{WORKER_WAIT_SECONDS} s; start workers (dask worker "
                               f"{self.where}) and run the same command again") from None

    def __exit__(self, *_: object) -> None:
        for part in (self.client, self._cluster):
            if part is not None:
                # A cluster that is gone cannot be closed.
                with contextlib.suppress(Exception):
                    part.close()
        self.client = self._cluster = None

    def workers(self) -> int:
        """Threads of the cluster's workers now (at least 1: it had one when entered)."""
        return max(1, sum(self.client.nthreads().values()))

    def map_unordered(self, work: Callable[[T], R], tasks: Iterable[T], *,
                      preload: Sequence[str] = ()) -> Iterator[R]:
        """See :meth:`Executor.map_unordered`; ``preload`` is ignored (workers import on their
        first task and keep modules and model for the next).

        Tasks go to the cluster in batches (:func:`batched_tasks`): one Dask task per batch,
        whose results come back together.
        """
        from distributed import as_completed

        # pure=False: a re-run must read the files again, never reuse a cluster's cached result.
        # One function object for every batch: Dask serialises it once.
        submit = partial(self.client.submit, partial(_each, work), pure=False)
        running = None
        try:
            workers = self.workers()
            batches = batched_tasks(iter(tasks), workers)
            window = max(32, workers * QUEUED_PER_WORKER)  # fields in flight
            in_flight: dict[Any, int] = {}

            def fill() -> None:
                while sum(in_flight.values()) < window:
                    batch = next(batches, None)
                    if batch is None:
                        return
                    future = submit(batch)
                    in_flight[future] = len(batch)
                    running.add(future)

            running = as_completed()
            fill()
            for future in self._finished(running):
                results = self._result(future)
                del in_flight[future]
                fill()
                yield from results
        except _TaskError as failed:
            raise failed.args[0] from None
        except (OSError, TimeoutError) as error:
            raise self._gone(_one_line(error)) from None
        finally:
            if running is not None:
                self._cancel(list(running.futures))

    def _finished(self, running: Any) -> Iterator[Any]:
        """The futures of ``running`` (an ``as_completed``) as they finish. While none does, it
        looks every :data:`_WORKERS_CHECK_SECONDS` whether the cluster has a worker left, and
        raises :class:`ClusterError` once it has had none for :data:`WORKER_WAIT_SECONDS`
        (QA 62 F5: with every worker gone, a run waited silently for ever)."""
        from distributed import wait
        from distributed.client import FuturesCancelledError

        alone_since = None
        while not running.is_empty():
            if running.has_ready():
                alone_since = None
                yield next(running)
                continue
            # Back as soon as one finishes; a cancelled one is told by _result (went away).
            with contextlib.suppress(TimeoutError, FuturesCancelledError):
                wait(list(running.futures), timeout=_WORKERS_CHECK_SECONDS,
                     return_when="FIRST_COMPLETED")
                continue
            if self.client.nthreads():
                alone_since = None
            elif alone_since is None:
                alone_since = time.monotonic()
                with contextlib.suppress(OSError):  # a closed stderr does not stop the run
                    print(f"smearscan: every worker of the scheduler at {self.where} has left; "
                          f"waiting up to {WORKER_WAIT_SECONDS} s for one", file=sys.stderr,
                          flush=True)
            elif time.monotonic() - alone_since > WORKER_WAIT_SECONDS:
                raise ClusterError(f"no Dask worker came back to the scheduler at {self.where} "
                                   f"within {WORKER_WAIT_SECONDS} s; finished slides are kept: "
                                   f"start workers (dask worker {self.where}) and run the same "
                                   "command again")

    def _result(self, future: Any) -> Any:
        """The task's result; its own exception when it raised one."""
        from distributed.scheduler import KilledWorker

        if future.status == "error":
            error = future.exception()
            if isinstance(error, KilledWorker):
                raise WorkerDiedError("a field killed every Dask worker that tried it (out of "
                                      "memory?); finished slides are kept: run the same "
                                      "command again to resume")
            raise _TaskError(error)
        if future.status != "finished":  # cancelled or lost with the scheduler, or its workers
            raise self._gone(f"field {future.status}")
        result = future.result()
        future.release()
        return result

    def _gone(self, why: str) -> ClusterError:
        """The cluster gone: its scheduler, or, where that still answers, its workers (QA 134
        D4: "the cluster went away" sent users to restart a scheduler that was up)."""
        if self._scheduler_answers():
            return ClusterError(f"the Dask workers left the scheduler at {self.where} ({why}); "
                                "finished slides are kept: start workers (dask worker "
                                f"{self.where}) and run the same command again to resume")
        return ClusterError(f"the Dask cluster at {self.where} went away ({why}); finished "
                            "slides are kept: run the same command again to resume")

    def _scheduler_answers(self) -> bool:
        """The client still connected to its scheduler: its own state, no call that could wait
        on a scheduler that is gone."""
        return getattr(self.client, "status", None) == "running"

    def _cancel(self, futures: list) -> None:
        """Drop what is still queued (a caller that stopped early must not leave work behind)."""
        if not futures:
            return
        with contextlib.suppress(Exception):  # nothing to cancel on a cluster that is gone
            self.client.cancel(futures)


def _require_scheduler(address: str) -> None:
    """Raise :class:`ClusterError` unless a Dask scheduler answers at ``address`` within
    :data:`_CONNECT_SECONDS`. Dask's own connect waits for ever on a service that accepts the
    connection and says nothing (QA 54 H3: a run hung for 600 s), and reads another service's
    greeting (an SSH banner) as a frame of exabytes, which was told as "out of memory" (QA 54
    M1)."""
    import asyncio
    import socket
    from urllib.parse import urlsplit

    from distributed.comm import connect

    host = urlsplit(address).hostname
    try:
        socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError) as error:  # told apart from a timeout (QA 54 L3)
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: the host name "
                           f"{host!r} is not known ({getattr(error, 'strerror', None) or error})"
                           ) from None

    # A port where nothing listens is refused at once; Dask's connect retried it for the whole
    # wait (QA 62 F8: 20 s, then "Timed out").
    try:
        socket.create_connection((host, urlsplit(address).port), timeout=_CONNECT_SECONDS).close()
    except ConnectionRefusedError:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: nothing listens "
                           "there (connection refused); is the scheduler running?") from None
    except OSError:
        pass  # told below, as Dask sees it

    async def identity() -> object:
        comm = await connect(address, timeout=_CONNECT_SECONDS)
        try:
            await comm.write({"op": "identity"})
            return await comm.read()
        finally:
            await comm.close()

    try:
        reply = asyncio.run(asyncio.wait_for(identity(), _CONNECT_SECONDS))
    except TimeoutError:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: no answer within "
                           f"{_CONNECT_SECONDS} s") from None
    except OSError as error:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: "
                           f"{_one_line(error)}") from None
    except Exception:  # another service's reply, read as Dask's
        reply = None
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        raise ClusterError(f"{address} answers, but not as a Dask scheduler; check the address "
                           "and port")


def _each(work: Callable[[T], R], batch: list[T]) -> list[R]:
    """``work`` over one batch of tasks, on a worker."""
    return [work(task) for task in batch]


#: Fields per Dask task at most. Each task costs the client, the scheduler and the worker a few
#: milliseconds of CPU of their own (``scripts/benchmark.py --only dask``: ~10 ms per task on
#: this project's 2-core machine, against ~0.1 s for the field itself); batches of 8 cut that
#: to ~4 ms per field.
FIELDS_PER_TASK = 8


def batched_tasks(tasks: Iterator[T], workers: int) -> Iterator[list[T]]:
    """``tasks`` in order, in batches of :data:`FIELDS_PER_TASK`; once the last tasks are in
    sight, smaller ones (half of each worker's share of what is left, down to 1), so that no
    worker is still busy with a big last batch while the others have nothing to do.

    Only ``2 * workers`` batches are read ahead: memory does not grow with the run.
    """
    ahead_size = 2 * workers * FIELDS_PER_TASK
    ahead: deque[T] = deque()
    while True:
        ahead.extend(islice(tasks, ahead_size - len(ahead)))
        if not ahead:
            return
        if len(ahead) < ahead_size:  # the end is in sight: guided down to one task each
            size = max(1, min(FIELDS_PER_TASK, -(-len(ahead) // (2 * workers))))
        else:
            size = FIELDS_PER_TASK
        yield [ahead.popleft() for _ in range(min(size, len(ahead)))]


class _TaskError(Exception):
    """Carries a task's own exception past the handler of cluster failures."""


#: What local Dask workers import once, in the fork server they start from: the per-field work
#: and the classifier (its runtime, CPU that each spawned worker would spend again).
_LOCAL_PRELOAD = ("smearscan.pipeline", "smearscan.classification")


def _local_cluster(workers: int) -> Any:
    """A ``LocalCluster`` of ``workers`` single-threaded worker processes on 127.0.0.1."""
    check_worker_count(workers, f"--scheduler local:{workers}")
    import dask
    from distributed import LocalCluster

    # Dask starts workers with MALLOC_TRIM_THRESHOLD_=65536, which makes glibc return memory
    # after every large array: a field took ~35% longer (0.37 -> 0.50 s on this project's
    # benchmark machine). A field's arrays are short-lived and of similar sizes: keep glibc's own
    # adaptive threshold.
    settings = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
                # The worker's statistical profiler samples the running field's stack 100
                # times a second, for a dashboard a local cluster does not serve: ~1 ms of CPU
                # per field.
                "distributed.worker.profile.enabled": False}
    if "forkserver" in multiprocessing.get_all_start_methods():
        settings["distributed.worker.multiprocessing-method"] = "forkserver"
    with dask.config.set(settings):
        if "forkserver" in settings.values():
            from distributed.utils import get_mp_context

            # Applies when the fork server starts, i.e. unless an earlier pool of this process
            # started it (then workers import on their first field).
            get_mp_context().set_forkserver_preload(["distributed", *_LOCAL_PRELOAD])
            start_fork_server()  # here: the cluster would start it from its event loop thread
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                            # Dashboard on a free loopback port: a fixed 8787 may be taken.
                            host="127.0.0.1", dashboard_address="127.0.0.1:0",
                            silence_logs=logging.CRITICAL)


def _one_line(error: BaseException) -> str:
    """The first line of ``error``'s message, without Dask's description of the connection it
    was in (QA 134 D5: "in <TCP (closed) ConnectionPool.ncores local=...>: ")."""
    text = str(error).strip().splitlines()
    return re.sub(r"^in <[^>]*>: ", "", text[0]) if text else type(error).__name__
