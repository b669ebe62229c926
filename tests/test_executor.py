"""The executor seam (issue 20): results are matched to their slide by key, whatever order an
engine returns them in, and a Dask cluster gives the same outputs as one process.

The Dask tests start clusters on 127.0.0.1 only and close them themselves; they are skipped
when the optional extra ``smearscan[distributed]`` is not installed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import pytest
from synthetic import slide_folders

from smearscan.batch import RunOptions, analyse_slides
from smearscan.cli import main
from smearscan.executor import (
    LocalPool,
    WorkerCountError,
    in_task_order,
    parse_scheduler,
    processes,
)
from smearscan.loading import find_slides

SLIDES, FIELDS = 2, 5


@pytest.fixture(scope="module")
def slides(tmp_path_factory) -> Path:
    """2 slide folders x 5 synthetic 480x640 fields (48 discs each, shifted per slide)."""
    return slide_folders(tmp_path_factory.mktemp("executor") / "slides", SLIDES, FIELDS)


OPTIONS = RunOptions(save_masks=True, overlay=True)
CLI_OPTIONS = ("--save-masks", "--overlay", "--quiet")


def _outputs(out: Path) -> dict[str, bytes]:
    """Every file of an output folder (cells.csv, summary.json, masks, reports...), by path."""
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def reference(slides, tmp_path_factory) -> dict[str, bytes]:
    """The outputs of ``--jobs 1``: this process alone, fields in order."""
    out = tmp_path_factory.mktemp("reference") / "out"
    assert main([str(slides), "--out", str(out), "--jobs", "1", *CLI_OPTIONS]) == 0
    outputs = _outputs(out)
    assert {"cells.csv", "summary.json", "errors.csv", "masks/s1/field 4.png",
            "slides/s0/slide.json"} <= set(outputs)
    return outputs


class Reversed:
    """An engine that returns every result in the reverse of the order it was given."""

    in_process = True

    def map_unordered(self, work: Callable, tasks: Iterable, *,
                      preload: Sequence[str] = ()) -> Iterator:
        return reversed([work(task) for task in tasks])


def test_an_executor_returning_results_in_reverse_gives_identical_outputs(
        slides, reference, tmp_path):
    out = tmp_path / "out"
    analyse_slides(find_slides([slides]), out=out, options=OPTIONS, executor=Reversed(),
                   progress=False)
    assert _outputs(out) == reference


def _square_or_die(task: int) -> int:
    if task < 0:
        os._exit(9)
    return task * task


def test_in_task_order_puts_results_back_in_order():
    assert list(in_task_order(Reversed(), _square_or_die, range(6))) == [0, 1, 4, 9, 16, 25]
    assert list(in_task_order(LocalPool(2), _square_or_die, range(9))) == [
        i * i for i in range(9)]


@pytest.mark.parametrize(("text", "parsed"), [
    ("local:2", ("local", 2)), ("tcp://10.0.0.5:8786", ("tcp://10.0.0.5:8786", None))])
def test_scheduler_values(text, parsed, monkeypatch):
    monkeypatch.setattr(processes, "available_cores", lambda: 2)
    assert parse_scheduler(text) == parsed


@pytest.mark.parametrize(("option", "message"), [
    (["--jobs", "3"], "smearscan: --jobs: 3 worker processes for the 2 core(s) of this machine; "
                      "give at most 2\n"),
    (["--scheduler", "local:1000"], "smearscan: --scheduler local:1000: 1000 worker processes for "
                                    "the 2 core(s) of this machine; give at most 2\n")])
def test_more_local_workers_than_cores_are_refused_before_any_starts(option, message, tmp_path,
                                                                   capsys, monkeypatch):
    # A QA run of local:1000 started 600 worker processes on 2 cores and stalled the machine.
    monkeypatch.setattr(processes, "available_cores", lambda: 2)
    image = tmp_path / "missing.png"  # never read: the option fails first
    assert main([str(image), *option, "--quiet"]) == 2
    assert capsys.readouterr().err == message


def test_as_many_workers_as_cores_are_accepted(monkeypatch):
    monkeypatch.setattr(processes, "available_cores", lambda: 2)
    processes.check_worker_count(2, "--jobs")
    with pytest.raises(WorkerCountError):
        processes.check_worker_count(3, "--jobs")


@pytest.mark.parametrize("text", ["local:", "local:two", "10.0.0.5:8786",
                                  "tcp://host", "http://host:8786", "tcp://host:99999",
                                  "tcp://host:0"])
def test_a_bad_scheduler_is_a_one_line_usage_error(text, tmp_path, capsys):
    image = tmp_path / "missing.png"  # never read: the option fails first
    assert main([str(image), "--scheduler", text, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and repr(text) in err and "tcp://HOST:PORT" in err


@pytest.mark.parametrize("text", ["local:0", "local:-1"])
def test_a_local_scheduler_of_no_workers_says_it_needs_one(text, tmp_path, capsys):
    # QA 162 L4: the generic line asked for local:N, the form given.
    assert main([str(tmp_path / "missing.png"), "--scheduler", text, "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"smearscan: --scheduler {text!r}: local:N needs 1 worker or more\n")


def test_jobs_and_scheduler_exclude_each_other(field_png, capsys):
    assert main([str(field_png), "--jobs", "2", "--scheduler", "local:2", "--quiet"]) == 2
    assert "exclude each other" in capsys.readouterr().err


def test_batches_keep_every_task_in_order_and_shrink_towards_the_end():
    from smearscan.executor import FIELDS_PER_TASK, batched_tasks

    assert FIELDS_PER_TASK == 8
    batches = list(batched_tasks(iter(range(100)), workers=2))
    assert [task for batch in batches for task in batch] == list(range(100))
    # 32 read ahead; once fewer are left, ceil(left / 4) each: 28 -> 7, 21 -> 6, 15 -> 4, ...
    assert [len(b) for b in batches] == [8] * 9 + [7, 6, 4, 3, 2, 2, 1, 1, 1, 1]
    assert [len(b) for b in batched_tasks(iter(range(10)), workers=2)] == [3, 2, 2, 1, 1, 1]
    assert list(batched_tasks(iter(()), workers=4)) == []


def test_batches_read_only_a_bounded_number_of_tasks_ahead():
    from smearscan.executor import batched_tasks

    tasks = iter(range(10**6))
    first = next(batched_tasks(tasks, workers=3))
    assert first == list(range(8))
    assert next(tasks) == 2 * 3 * 8  # the rest of the run is not read


# ----------------------------------------------------------------------------- Dask

distributed = pytest.importorskip(
    "distributed", reason="Dask is not installed: pip install -e '.[distributed]'")

from smearscan.executor import ClusterError, DaskExecutor  # noqa: E402

#: No Dask test may hang a test run: each is stopped after this many seconds.
DASK_TEST_SECONDS = 180


@pytest.fixture
def bounded():
    """Fail the test (instead of hanging) if it runs past :data:`DASK_TEST_SECONDS`."""
    def stop(*_):
        raise TimeoutError(f"Dask test ran past {DASK_TEST_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(DASK_TEST_SECONDS)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.slow
def test_a_local_cluster_gives_the_outputs_of_jobs_1(slides, reference, tmp_path, bounded):
    out = tmp_path / "out"
    assert main([str(slides), "--out", str(out), "--scheduler", "local:2", *CLI_OPTIONS]) == 0
    assert _outputs(out) == reference


class KillingOneWorker:
    """Dask workers; after the first result, SIGKILLs a worker that still has fields to do."""

    def __init__(self, dask: DaskExecutor) -> None:
        self.dask, self.in_process, self.killed = dask, False, None

    def map_unordered(self, work, tasks, *, preload=()):
        results = self.dask.map_unordered(work, tasks, preload=preload)
        yield next(results)
        client = self.dask.client
        busy = [address for address, keys in client.processing().items() if keys]
        pids = client.run(os.getpid, workers=busy[:1])
        (self.killed,) = pids.values()
        os.kill(self.killed, signal.SIGKILL)
        yield from results


@pytest.mark.slow
def test_killing_one_of_two_workers_mid_run_still_gives_identical_outputs(
        slides, reference, tmp_path, bounded):
    out = tmp_path / "out"
    with DaskExecutor(local_workers=2) as dask:
        addresses = [dask.client.scheduler.address, *dask.client.scheduler_info()["workers"]]
        assert all(a.startswith("tcp://127.0.0.1:") for a in addresses), addresses
        killer = KillingOneWorker(dask)
        analyse_slides(find_slides([slides]), out=out, options=OPTIONS, executor=killer,
                       progress=False)
        assert killer.killed is not None
        assert killer.killed not in dask.client.run(os.getpid).values()
    assert _outputs(out) == reference


class LosingAfterTheFirst:
    """Dask workers; after the first result, ``lose()`` (the cluster shuts down, or every
    worker leaves it)."""

    def __init__(self, dask: DaskExecutor, lose) -> None:
        self.dask, self.lose, self.in_process = dask, lose, False

    def map_unordered(self, work, tasks, *, preload=()):
        results = self.dask.map_unordered(work, tasks, preload=preload)
        yield next(results)
        self.lose()
        yield from results


@pytest.mark.slow
def test_a_cluster_that_goes_away_is_one_line_and_a_rerun_resumes(
        slides, reference, tmp_path, bounded):
    from distributed import LocalCluster

    out = tmp_path / "out"
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                           protocol="tcp", host="127.0.0.1", dashboard_address="127.0.0.1:0")
    with DaskExecutor(cluster.scheduler_address) as dask, \
            pytest.raises(ClusterError, match="went away") as error:
        analyse_slides(find_slides([slides]), out=out, options=OPTIONS,
                       executor=LosingAfterTheFirst(dask, cluster.close), progress=False)
    message = str(error.value)
    assert error.value.exit_code == 4 and "\n" not in message
    assert cluster.scheduler_address in message and "run the same command again" in message
    assert main([str(slides), "--out", str(out), "--jobs", "1", *CLI_OPTIONS]) == 0
    assert _outputs(out) == reference


def test_an_unreachable_scheduler_is_one_line_and_exit_4(field_png, capsys, monkeypatch,
                                                         bounded):
    from smearscan.executor import cluster

    monkeypatch.setattr(cluster, "_CONNECT_SECONDS", 1)
    # Port 9 (discard) on loopback: nothing listens there in a test environment.
    assert main([str(field_png), "--scheduler", "tcp://127.0.0.1:9", "--quiet"]) == 4
    # QA 62 F8: refused at once, the run waited for the whole timeout and said "Timed out".
    assert capsys.readouterr().err == (
        "smearscan: cannot reach the Dask scheduler at tcp://127.0.0.1:9: nothing listens there "
        "(connection refused); is the scheduler running?\n")


@contextlib.contextmanager
def _listener(greeting: bytes | None) -> Iterator[str]:
    """A service on 127.0.0.1 that accepts connections and sends ``greeting`` (None: nothing),
    never speaking Dask; its address. Closed on leaving."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                held.append(conn)
                if greeting is not None:
                    conn.sendall(greeting)

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    finally:
        server.close()
        for conn in held:
            conn.close()


@pytest.mark.parametrize(("greeting", "said"), [
    (None, "cannot reach the Dask scheduler at {}: no answer within 1 s"),
    (b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n", "{} answers, but not as a Dask scheduler; check "
                                              "the address and port")])
def test_a_service_that_is_not_a_scheduler_is_one_line_and_exit_4(greeting, said, field_png,
                                                                  capsys, monkeypatch, bounded):
    # QA 54 H3: a service that accepts and stays silent hung the run (600 s and more); M1: an
    # SSH banner, read as a Dask frame of exabytes, was told as "out of memory".
    from smearscan.executor import cluster

    monkeypatch.setattr(cluster, "_CONNECT_SECONDS", 1)
    with _listener(greeting) as address:
        assert main([str(field_png), "--scheduler", address, "--quiet"]) == 4
    assert capsys.readouterr().err == f"smearscan: {said.format(address)}\n"


def test_an_unknown_scheduler_host_is_named_as_such(field_png, capsys, bounded):
    # QA 54 L3: a misspelt host name was told as a 20 s timeout.
    address = "tcp://nosuchhost.invalid:8786"
    assert main([str(field_png), "--scheduler", address, "--quiet"]) == 4
    assert capsys.readouterr().err.startswith(
        f"smearscan: cannot reach the Dask scheduler at {address}: the host name "
        "'nosuchhost.invalid' is not known (")


def _scheduler_without_workers():
    """A scheduler on 127.0.0.1 with no worker (in this process; workers join with scale)."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=0, threads_per_worker=1, processes=False, protocol="tcp",
                        host="127.0.0.1", dashboard_address="127.0.0.1:0")


def test_a_scheduler_without_workers_is_said_and_stops_the_run_after_a_bounded_wait(
        field_png, capsys, monkeypatch, bounded):
    """Before, the run waited for ever, silently (QA D4)."""
    import time

    from smearscan.executor import cluster

    monkeypatch.setattr(cluster, "WORKER_WAIT_SECONDS", 2)
    with _scheduler_without_workers() as scheduler:
        address = scheduler.scheduler_address
        start = time.monotonic()
        assert main([str(field_png), "--no-classify", "--scheduler", address]) == 4
        assert time.monotonic() - start < 15
    assert capsys.readouterr().err.splitlines() == [
        f"smearscan: the scheduler at {address} has no workers yet; waiting up to 2 s",
        f"smearscan: no Dask worker joined the scheduler at {address} within 2 s; start "
        f"workers (dask worker {address}) and run the same command again"]


def test_a_worker_that_joins_while_the_run_waits_does_its_fields(field_png, tmp_path, capsys,
                                                                  bounded):
    import threading

    with _scheduler_without_workers() as scheduler:
        joining = threading.Timer(1, scheduler.scale, (1,))
        joining.start()
        try:
            assert main([str(field_png), "--no-classify", "--quiet", "--out",
                         str(tmp_path / "out"), "--scheduler",
                         scheduler.scheduler_address]) == 0
        finally:
            joining.join()
    assert capsys.readouterr().err.splitlines() == [
        f"smearscan: the scheduler at {scheduler.scheduler_address} has no workers yet; "
        "waiting up to 60 s"]
    assert (tmp_path / "out" / "cells.csv").is_file()


@pytest.mark.slow
def test_a_run_whose_every_worker_left_stops_after_a_bounded_wait(
        slides, tmp_path, capsys, monkeypatch, bounded):
    # QA 62 F5: with every worker gone mid-run, the run waited silently for ever.
    from smearscan.executor import cluster as cluster_module

    monkeypatch.setattr(cluster_module, "WORKER_WAIT_SECONDS", 2)
    with _scheduler_without_workers() as cluster:
        cluster.scale(1)
        address = cluster.scheduler_address
        with DaskExecutor(address) as dask, pytest.raises(ClusterError) as error:
            analyse_slides(find_slides([slides]), out=tmp_path / "out", options=OPTIONS,
                           executor=LosingAfterTheFirst(dask, lambda: cluster.scale(0)),
                           progress=False)
    assert str(error.value) == (
        f"no Dask worker came back to the scheduler at {address} within 2 s; finished slides "
        f"are kept: start workers (dask worker {address}) and run the same command again")
    assert error.value.exit_code == 4
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"smearscan: every worker of the scheduler at {address} has left; waiting up to 2 s "
        "for one")


@pytest.mark.parametrize(("status", "said"), [
    ("running", "the Dask workers left the scheduler at tcp://127.0.0.1:8786 (field lost); "
                "finished slides are kept: start workers (dask worker tcp://127.0.0.1:8786) and "
                "run the same command again to resume"),
    ("connecting", "the Dask cluster at tcp://127.0.0.1:8786 went away (field lost); finished "
                   "slides are kept: run the same command again to resume")])
def test_a_lost_field_names_what_went_away(status, said):
    # QA 134 D4: with the scheduler still up, "the cluster went away" sent users to restart it.
    from types import SimpleNamespace

    from smearscan.executor.cluster import DaskExecutor

    dask = DaskExecutor("tcp://127.0.0.1:8786")
    dask.client = SimpleNamespace(status=status)
    assert str(dask._gone("field lost")) == said


def test_a_lost_connection_is_said_without_dasks_description_of_it():
    # QA 134 D5: "(in <TCP (closed) ConnectionPool.ncores local=... remote=...>: ...)".
    from smearscan.executor.cluster import _one_line

    error = OSError("in <TCP (closed) ConnectionPool.ncores local=tcp://127.0.0.1:47254 "
                    "remote=tcp://127.0.0.1:18786>: ConnectionResetError: [Errno 104] "
                    "Connection reset by peer")
    assert _one_line(error) == "ConnectionResetError: [Errno 104] Connection reset by peer"
