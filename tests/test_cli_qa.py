"""Command-line robustness (QA pass on the CLI): a closed pipe, SIGTERM and Ctrl-C do not cut a
run short or print tracebacks; bad paths, ports and option combinations are one-line usage
errors (exit 2) before any work; an input given twice is analysed once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_support import exit_code, one_line
from synthetic import slide_folders

from smearscan.cli import main
from smearscan.executor import LocalPool
from smearscan.executor.processes import stops_held

ROOT = Path(__file__).resolve().parents[1]


def _command(*args: object) -> list[str]:
    return [sys.executable, "-m", "smearscan.cli", *map(str, args), "--no-classify"]


def _env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


# ----------------------------------------------------------------------------- a closed pipe


@pytest.mark.parametrize("reads_first_line", [True, False], ids=["head-1", "closed-at-once"])
def test_a_closed_pipe_does_not_stop_the_run(tmp_path, reads_first_line):
    """``smearscan slides/ --out X 2>&1 | head -1``: the reader goes after one line, or none;
    the run still analyses every slide, writes every merged output and exits 3 for its bad
    file."""
    slides = slide_folders(tmp_path / "slides", 3, 1)
    (slides / "s2" / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    process = subprocess.Popen(_command(slides, "--out", out), env=_env(), cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if reads_first_line:
        assert process.stdout.readline().startswith(b"smearscan: slide 1/3 done: s0 ")
    process.stdout.close()
    assert process.wait(timeout=120) == 3
    summary = json.loads((out / "summary.json").read_text())
    assert sorted(summary["slides"]) == ["s0", "s1", "s2"]
    assert (out / "cells.csv").is_file()
    assert "broken.png" in (out / "errors.csv").read_text()


# ----------------------------------------------------------------------------- signals


def test_sigterm_mid_run_is_one_line_and_exit_143(tmp_path):
    """``timeout`` (and a job scheduler) sends SIGTERM to the whole process group: the run
    stops as after Ctrl-C, in one line, without the resource tracker's semaphore warnings, and
    a re-run resumes."""
    # Enough slides that the run is still going when the signal comes, on a busy machine too.
    slides = slide_folders(tmp_path / "slides", 24, 3)
    out = tmp_path / "out"
    process = subprocess.Popen(_command(slides, "--out", out, "--jobs", "2"), env=_env(),
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    first = process.stderr.readline()
    assert first.startswith("smearscan: slide 1/24 done: "), first + process.stderr.read()
    os.killpg(process.pid, signal.SIGTERM)
    out_text, rest = process.communicate(timeout=60)
    assert process.returncode == 143, rest
    lines = [line for line in rest.splitlines() if " done: " not in line]
    assert lines == ["smearscan: terminated; re-run with the same --out to resume"], rest
    assert out_text == ""
    assert not (out / "summary.json").exists(), "the run finished before SIGTERM"
    resumed = subprocess.run(_command(slides, "--out", out, "--quiet"), env=_env(),
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed" in next(line for line in resumed.stdout.splitlines()
                             if line.startswith("s0 "))


def test_pool_workers_ignore_sigint():
    """A terminal's Ctrl-C goes to every process of the group: the workers (and the fork
    server they come from) ignore it, and this process shuts them down."""
    with LocalPool(2) as pool:
        handlers = list(pool.map_unordered(signal.getsignal, [signal.SIGINT] * 4))
    assert handlers == [signal.SIG_IGN] * 4
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


#: Ctrl-C at the n-th line the main thread runs in the pool's code (concurrent.futures and
#: smearscan.executor), for each n of argv; each trial must stop, and its pool shut down.
_STOP_AT_EVERY_LINE = """
import signal, sys, time
from smearscan.executor import LocalPool
for at in map(int, sys.argv[1:]):
    seen = 0
    def trace(frame, event, arg):
        global seen
        if event == "line" and ("concurrent/futures" in frame.f_code.co_filename
                                or "smearscan/executor" in frame.f_code.co_filename):
            seen += 1
            if seen == at:
                signal.raise_signal(signal.SIGINT)
        return trace
    try:
        sys.settrace(trace)
        try:
            list(LocalPool(2).map_unordered(time.sleep, [0.02] * 24))
        finally:
            sys.settrace(None)
    except KeyboardInterrupt:
        print(at, "stopped", flush=True)
"""


def test_a_stop_at_any_line_of_the_pools_wait_shuts_the_pool_down():
    """A Ctrl-C or SIGTERM that lands while the run waits for its workers' results stops it,
    wherever it lands. ``concurrent.futures.wait`` takes each future's lock in a Python loop: a
    stop raised inside it left a lock held, and the pool's shutdown waited for it for ever (one
    full test run hung at test_sigterm_mid_run_is_one_line_and_exit_143; with this test's
    lines, the first hang at its 405th line). Lines 300-630, every 11th, span the waits."""
    lines = range(300, 631, 11)
    run = subprocess.run([sys.executable, "-c", _STOP_AT_EVERY_LINE, *map(str, lines)],
                         env=_env(), capture_output=True, text=True, timeout=120)
    assert run.stdout.splitlines() == [f"{at} stopped" for at in lines], run.stderr


def test_a_ctrl_c_while_a_worker_starts_is_delivered_once_it_has_started():
    """Starting a worker is not cut short (it would fail on this process's semaphores after
    this process has gone, with a traceback); the interrupt comes right after."""
    finished = False
    with pytest.raises(KeyboardInterrupt), stops_held():
        signal.raise_signal(signal.SIGINT)
        finished = True
    assert finished
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


# ----------------------------------------------------------------------------- usage errors


def test_an_empty_path_is_a_usage_error_not_the_current_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # analysing "." would find nothing here: exit 3, not 2
    assert exit_code("", "--out", tmp_path / "out") == 2
    assert one_line(capsys) == (
        "smearscan: error: argument PATH: '': empty path (see smearscan --help)")
    assert exit_code(tmp_path, "--out", "") == 2
    assert one_line(capsys) == (
        "smearscan: error: argument --out: '': empty path (see smearscan --help)")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("option, message", [
    (["--save-masks"], "--save-masks needs --out DIR, where the masks are written"),
    (["--overlay"], "--overlay needs --out DIR, where the overlays are written"),
    (["--labs", "labs.json"],
     "--labs needs --out DIR, where each slide's report gives the verdict"),
    (["--force"], "--force needs --out DIR: it lets a run write into a folder that smearscan "
                  "did not make"),
])
def test_an_option_that_writes_into_out_needs_out(field_png, capsys, option, message):
    assert exit_code(field_png, *option, "--no-classify") == 2
    assert one_line(capsys) == f"smearscan: error: {message} (see smearscan --help)"


@pytest.mark.parametrize("kind, problem", [
    ("file", "a file, not a folder"),
    ("dangling", "a broken symbolic link to nowhere, not a folder"),
    ("loop", "a symbolic link loop, not a folder"),
])
def test_an_out_that_cannot_be_a_folder_says_what_it_is(field_png, tmp_path, capsys, kind,
                                                       problem):
    out = tmp_path / "out"
    if kind == "file":
        out.write_text("notes")
    else:
        out.symlink_to("nowhere" if kind == "dangling" else "out")
    assert exit_code(field_png, "--out", out, "--no-classify") == 2
    assert one_line(capsys) == (
        f"smearscan: error: argument --out: {str(out)!r} is {problem} (see smearscan --help)")


@pytest.mark.parametrize("port", ["99999", "65536", "0", "-1"])
def test_a_review_port_outside_1_65535_is_aone_line(tmp_path, capsys, port):
    assert exit_code("review", tmp_path, "--no-browser", "--port", port) == 2
    assert one_line(capsys) == (f"smearscan review: error: argument --port: {port!r} must "
                                    "be 1-65535 (see smearscan review --help)")


def test_a_review_host_that_does_not_resolve_says_so(field_png, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([str(field_png), "--out", str(out), "--no-classify", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["review", str(out), "--no-browser", "--host", "nosuch.invalid"]) == 2
    line = one_line(capsys)
    assert line.startswith("smearscan review: cannot listen on nosuch.invalid:8765: the host "
                           "cannot be resolved (")
    assert line.endswith("); give --host an address or name of this computer")


# ----------------------------------------------------------------------------- repeated inputs


@pytest.mark.parametrize("spelling", ["same", "symlink"])
def test_an_input_given_twice_is_analysed_once_with_a_note(tmp_path, capsys, spelling):
    slides = slide_folders(tmp_path / "slides", 1, 2)
    first = slides / "s0"
    again = first
    if spelling == "symlink":
        again = tmp_path / "again"
        again.symlink_to(first)
    out = tmp_path / "out"
    assert main([str(first), str(again), "--out", str(out), "--no-classify", "--quiet"]) == 0
    stdout, err = capsys.readouterr()
    note = (f"{first}: given twice" if spelling == "same"
            else f"{again}: the same input as {first}")
    assert err == f"smearscan: {note}; analysed once\n"
    assert [line.split()[0] for line in stdout.splitlines()[1:]] == ["s0"]
    assert list(json.loads((out / "summary.json").read_text())["slides"]) == ["s0"]


def test_a_shared_folder_without_datasets_is_aone_line(tmp_path, capsys):
    # With a crop cache present, training went ahead on a --shared that holds nothing.
    assert exit_code("train", "--out", tmp_path / "m.pt", "--shared", tmp_path) == 2
    assert one_line(capsys) == (f"smearscan train: error: argument --shared: "
                                    f"'{tmp_path}' holds no datasets/ folder (Chula RBC-12, "
                                    "BCCD, PBC) (see smearscan train --help)")


@pytest.mark.parametrize(("stop", "code", "line"), [
    (signal.SIGINT, 130, "smearscan evaluate: interrupted; no metrics were written"),
    (signal.SIGTERM, 143, "smearscan evaluate: terminated; no metrics were written")])
def test_a_stop_that_a_library_turned_into_its_own_error_is_said_as_the_stop(
        monkeypatch, capsys, stop, code, line):
    # CI: Ctrl-C while ONNX Runtime was being imported (pybind11 turns an interrupt met in a
    # module's initialisation into an ImportError) read "not a readable model file", exit 4.
    from smearscan.cli import SUBCOMMANDS

    def converting(argv: list[str]) -> int:
        try:
            os.kill(os.getpid(), stop)
            time.sleep(5)  # the signal's handler raises here
        except KeyboardInterrupt:
            raise ImportError("initialization failed") from None
        return 0

    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    monkeypatch.setitem(SUBCOMMANDS, "evaluate", converting)
    assert main(["evaluate"]) == code
    assert capsys.readouterr().err == line + "\n"
    # The handlers, and the stops ignored after the first, end with the command.
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_second_stop_during_the_first_ones_end_is_ignored(monkeypatch, capsys):
    # QA 128 H2: a second Ctrl-C 50 ms after the first, while the worker pool shut down, left
    # the workers running and the run hanging; one while the line was said was a traceback.
    from smearscan.cli import SUBCOMMANDS

    def shutting_down(argv: list[str]) -> int:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            os.kill(os.getpid(), signal.SIGINT)  # the second, while it winds down
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.1)
            raise
        return 0

    monkeypatch.setitem(SUBCOMMANDS, "verdict", shutting_down)
    assert main(["verdict"]) == 130
    assert capsys.readouterr().err == "smearscan verdict: interrupted; nothing was written\n"


RESUME = "smearscan: interrupted; re-run with the same --out to resume"


@pytest.mark.parametrize(("argv", "line"), [
    (["field.png"], "smearscan: interrupted; nothing was written"),
    (["slides", "--out", "{results}"], RESUME), (["slides", "--out={results}"], RESUME),
    # QA 129 F3: stopped before its folder was made, an analysis was told to resume.
    (["slides", "--out", "{results}/not-made"], "smearscan: interrupted; nothing was written"),
    (["slides", "--out={results}/not-made"], "smearscan: interrupted; nothing was written"),
    (["review", "results"], "smearscan review: interrupted; the corrections saved so far are kept"),
    (["export-corrections", "results"], "smearscan export-corrections: interrupted; nothing was "
                                        "written")])
def test_a_stopped_command_says_what_it_left(monkeypatch, capsys, tmp_path, argv, line):
    # QA 128 L: verdict and review were told to re-run "with the same --out", which they have
    # not; an analysis without --out writes nothing to resume.
    import smearscan.cli as cli

    argv = [word.format(results=tmp_path) for word in argv]

    def stopped(*_: object) -> int:
        raise KeyboardInterrupt

    for name in ("review", "export-corrections"):
        monkeypatch.setitem(cli.SUBCOMMANDS, name, stopped)
    monkeypatch.setattr(cli, "_run_analysis", stopped)
    monkeypatch.setattr(cli, "_analysis_args", lambda argv: argv)
    assert main(argv) == 130
    assert capsys.readouterr().err == line + "\n"


@pytest.mark.parametrize("converted", [False, True])
def test_a_ctrl_c_while_the_package_is_imported_is_one_line(monkeypatch, capsys, converted):
    # QA 128 H3: Ctrl-C in the first ~0.12 s, while the console script imported smearscan.cli
    # and before it held the signals, was a traceback; a C extension's import may turn it into
    # an ImportError.
    from smearscan import console

    def interrupted_import(name: str) -> object:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)
        except KeyboardInterrupt:
            if converted:
                raise ImportError("initialization failed") from None
            raise
        return None

    before = signal.getsignal(signal.SIGINT)
    monkeypatch.setattr(console, "import_module", interrupted_import)
    assert console.main() == 130
    assert capsys.readouterr().err == "smearscan: interrupted; nothing was written\n"
    assert signal.getsignal(signal.SIGINT) == before
    # An import error that no Ctrl-C caused is not taken for one.
    monkeypatch.setattr(console, "import_module", lambda name: (_ for _ in ()).throw(
        ImportError("no module named onnxruntime")))
    with pytest.raises(ImportError):
        console.main()


#: A process that ends with exit code 3 as a command does (``stops_end_with(3)``), then gets a
#: Ctrl-C while it ends: in an exit handler, or in the teardown of its modules after them.
_STOPPED_WHILE_ENDING = """
import atexit, os, signal, sys, time
from smearscan.stops import stops_end_with

class EndsSlowly:
    def __del__(self, kill=os.kill, pid=os.getpid(), sleep=time.sleep):
        kill(pid, signal.SIGINT)
        sleep(0.5)

stops_end_with(3)
if sys.argv[1] == "exit handler":
    atexit.register(lambda: (os.kill(os.getpid(), signal.SIGINT), time.sleep(5)))
else:
    kept = EndsSlowly()
sys.exit(3)
"""


@pytest.mark.parametrize("where", ["exit handler", "teardown"])
def test_a_stop_while_the_process_ends_keeps_the_commands_exit_code(where):
    # QA 131 D2: a second Ctrl-C as the review server ended killed it by the signal (status
    # 130, where its Ctrl-C ends it with 0), the Python handler reset by the teardown.
    done = subprocess.run([sys.executable, "-c", _STOPPED_WHILE_ENDING, where],
                          capture_output=True, text=True, timeout=60,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert (done.returncode, done.stderr) == (3, "")
