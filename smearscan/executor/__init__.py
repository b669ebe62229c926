"""Executors: the one place that knows fields may run in other processes or on other machines.

An executor maps a picklable function over tasks and yields the results **as they finish**, in
no promised order: a caller matches each result to its task by the result's own key
(:func:`in_task_order` does it by position). Two implementations:

* :class:`LocalPool` (:mod:`.processes`): worker processes on this machine (``--jobs N``), or
  this process alone;
* :class:`DaskExecutor` (:mod:`.cluster`): the workers of a Dask cluster (``--scheduler``), from
  the optional ``distributed`` extra. Workers only read inputs; the caller writes every output.

:mod:`.protocol` holds what both share: the :class:`Executor` protocol and their errors.
"""

from smearscan.executor.cluster import (
    FIELDS_PER_TASK,
    DaskExecutor,
    batched_tasks,
    parse_scheduler,
)
from smearscan.executor.processes import LocalPool, check_worker_count, default_jobs
from smearscan.executor.protocol import (
    ClusterError,
    Executor,
    SchedulerValueError,
    WorkerCountError,
    WorkerDiedError,
    in_task_order,
)

__all__ = ["FIELDS_PER_TASK", "ClusterError", "DaskExecutor", "Executor", "LocalPool",
           "SchedulerValueError", "WorkerCountError", "WorkerDiedError", "batched_tasks",
           "check_worker_count", "default_jobs", "executor_for", "in_task_order",
           "parse_scheduler"]


def executor_for(*, jobs: int, scheduler: str | None) -> LocalPool | DaskExecutor:
    """The executor of a run: ``--scheduler`` when given, else ``jobs`` local processes."""
    return LocalPool(jobs) if scheduler is None else DaskExecutor.from_scheduler(scheduler)
