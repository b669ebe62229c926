"""What every executor is: the :class:`Executor` protocol, task-order results and the errors
an engine raises."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from typing import Protocol, TypeVar

from smearscan.errors import SmearscanError

T = TypeVar("T")
R = TypeVar("R")


class WorkerDiedError(SmearscanError):
    """A worker process was killed mid-run; the CLI exits 4 and a re-run resumes."""

    exit_code = 4


class ClusterError(SmearscanError):
    """The Dask cluster cannot be reached or went away; the CLI exits 4 and a re-run resumes."""

    exit_code = 4


class SchedulerValueError(SmearscanError):
    """A ``--scheduler`` value that is neither ``tcp://HOST:PORT`` nor ``local:N`` (exit 2)."""

    exit_code = 2


class WorkerCountError(SmearscanError):
    """More local worker processes than this machine has cores (exit 2)."""

    exit_code = 2


class Executor(Protocol):
    """What :func:`smearscan.batch.analyse_slides` and training need of an engine."""

    #: The work runs in the calling process (it may load what the work needs up front).
    in_process: bool

    def map_unordered(self, work: Callable[[T], R], tasks: Iterable[T], *,
                      preload: Sequence[str] = ()) -> Iterator[R]:
        """Apply ``work`` to every task; yield each result as it finishes, in any order.

        ``preload`` names modules the workers will need; an engine may import them once for
        all workers or ignore them. Stopping the iteration early cancels what is queued.
        """


def _indexed(work: Callable[[T], R], item: tuple[int, T]) -> tuple[int, R]:
    return item[0], work(item[1])


def in_task_order(executor: Executor, work: Callable[[T], R], tasks: Iterable[T], *,
                  preload: Sequence[str] = ()) -> Iterator[R]:
    """``work`` over ``tasks`` through ``executor``, yielded in task order (results that finish
    early wait for those before them)."""
    waiting: dict[int, R] = {}
    following = 0
    for index, result in executor.map_unordered(partial(_indexed, work), enumerate(tasks),
                                                preload=preload):
        waiting[index] = result
        while following in waiting:
            yield waiting.pop(following)
            following += 1

