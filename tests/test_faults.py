"""Faults during a run (issue 7): a killed batch resumes to the same bytes as an uninterrupted
one and leaves no temporaries; an --out that cannot be written is a one-line error with exit
code 2 before any analysis; an output failing mid-run or an unloadable model exits 4.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from synthetic import grid_centres, synthetic_field

from smearscan import batch
from smearscan.cli import main

ROOT = Path(__file__).resolve().parents[1]
SLIDES, FIELDS = 6, 5


def run(*args) -> int:
    return main([*map(str, args), "--no-classify", "--quiet"])


def _env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def _command(slides: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "smearscan.cli", str(slides), "--out", str(out),
            "--no-classify", "--quiet", "--save-masks"]


@pytest.fixture(scope="module")
def slides(tmp_path_factory) -> Path:
    """6 slide folders x 5 synthetic 640x480 fields (48 discs each, shifted per slide)."""
    root = tmp_path_factory.mktemp("faults") / "slides"
    bases = [np.tile(synthetic_field(grid_centres(), seed=i), (2, 2, 1)) for i in range(FIELDS)]
    for s in range(SLIDES):
        folder = root / f"s{s}"
        folder.mkdir(parents=True)
        for f, base in enumerate(bases):
            Image.fromarray(np.roll(base, 7 * s, axis=1)).save(folder / f"field {f}.png")
    return root


def _assert_complete(path: Path) -> None:
    """Fail if ``path`` is a truncated output file."""
    if path.suffix == ".json":
        json.loads(path.read_text(encoding="utf-8"))
    elif path.suffix == ".csv":
        text = path.read_text(encoding="utf-8")
        assert text.endswith("\n"), path
        rows = list(csv.reader(text.splitlines()))
        assert all(len(row) == len(rows[0]) for row in rows), path
    elif path.suffix == ".png":
        with Image.open(path) as image:
            image.load()
    elif path.suffix == ".html":
        assert path.read_text(encoding="utf-8").rstrip().endswith("</html>"), path


def _compared(out: Path) -> dict[str, bytes]:
    names = ["cells.csv", "summary.json", "errors.csv"]
    names += [p.relative_to(out).as_posix() for p in sorted((out / "slides").glob("*/*"))
              if p.name in ("cells.csv", "slide.json")]
    names += [p.relative_to(out).as_posix() for p in sorted((out / "masks").rglob("*.png"))]
    return {name: (out / name).read_bytes() for name in names}


def test_sigkill_mid_batch_then_resume_gives_identical_outputs(slides, tmp_path):
    out = tmp_path / "killed"
    first = out / "slides" / "s0" / "slide.json"
    process = subprocess.Popen(_command(slides, out), env=_env(), cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not first.exists():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "first slide never finished"
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    assert not (out / "summary.json").exists(), "the run finished before it could be killed"

    # Nothing half-written: every file but the .part temporaries is complete.
    for path in out.rglob("*"):
        if path.is_file() and not path.name.endswith(".part"):
            _assert_complete(path)
    for record in (out / "slides").glob("*/slide.json"):
        assert (record.parent / "cells.csv").is_file()

    resumed = subprocess.run(_command(slides, out), env=_env(), cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert "resumed" in next(line for line in resumed.stdout.splitlines()
                             if line.startswith("s0 "))
    assert not list(out.rglob("*.part"))

    clean = tmp_path / "clean"
    whole = subprocess.run(_command(slides, clean), env=_env(), cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)
    assert whole.returncode == 0, whole.stderr
    expected = _compared(clean)
    assert len(expected) == 3 + 2 * SLIDES + SLIDES * FIELDS
    assert _compared(out) == expected


def _processes() -> dict[int, tuple[int, str, str]]:
    """Every process: id -> (parent id, state, start time), from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        table[int(entry.name)] = (int(fields[1]), fields[0], fields[19])
    return table


def _descendants(pid: int) -> dict[int, str]:
    """Live descendants of ``pid``: id -> start time (which tells a reused id apart)."""
    table = _processes()
    found, todo = {}, [pid]
    while todo:
        parent = todo.pop()
        for child, (ppid, _, start) in table.items():
            if ppid == parent and child not in found:
                found[child] = start
                todo.append(child)
    return found


def _alive(processes: dict[int, str]) -> list[int]:
    table = _processes()
    return [pid for pid, start in processes.items()
            if pid in table and table[pid][2] == start and table[pid][1] != "Z"]


def test_sigkill_with_workers_leaves_no_orphans(slides, tmp_path):
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc")
    out = tmp_path / "out"
    process = subprocess.Popen([*_command(slides, out), "--jobs", "2"], env=_env(),
                               cwd=tmp_path, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (out / "slides" / "s0" / "slide.json").exists() and process.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    workers = _descendants(process.pid)  # the workers (and a forkserver, if any)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert len(workers) >= 2, "the run had no worker processes to orphan"
    deadline = time.monotonic() + 5
    while _alive(workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    orphans = _alive(workers)
    for pid in orphans:
        os.kill(pid, signal.SIGKILL)
    assert not orphans


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("smearscan: ")
    return lines[0]


def test_rerun_removes_stale_temporaries_and_nothing_else(field_png, tmp_path):
    out = tmp_path / "out"
    stale = [out / ".cells.csv.k2x9q7ab.part", out / "slides" / "field" / ".slide.json.1a2b.part",
             out / "masks" / "field" / ".field.png.zz_3.part"]
    kept = [out / "notes.part", out / ".hidden", out / "slides" / "field" / "mine.txt",
            out / ".folder.part" / "inside.txt"]
    for path in stale + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("left by someone")
    assert run(field_png, "--out", out, "--save-masks") == 0
    assert not [p for p in stale if p.exists()]
    assert [p.read_text() for p in kept] == ["left by someone"] * len(kept)
    assert not [p for p in out.rglob(".*.part") if p.is_file()]


def _refuse_analysis(monkeypatch) -> None:
    def analyse(*args, **kwargs):
        raise AssertionError("fields were analysed before --out was checked")

    monkeypatch.setattr(batch, "map_fields", analyse)


@pytest.mark.parametrize(("inside", "reason"),
                         [("file", "File exists"), ("under a file", "Not a directory")])
def test_out_that_cannot_be_a_folder_exits_2_before_any_analysis(field_png, tmp_path, capsys,
                                                                 monkeypatch, inside, reason):
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file")
    out = blocker if inside == "file" else blocker / "results"
    _refuse_analysis(monkeypatch)
    assert run(field_png, "--out", out) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(out) in line and "cannot write" in line and reason in line


def test_out_that_cannot_be_a_folder_exits_2_in_a_subprocess(field_png, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file")
    result = subprocess.run(
        [sys.executable, "-m", "smearscan.cli", str(field_png.parent), "--out",
         str(blocker / "out"), "--no-classify", "--quiet"],
        env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert str(blocker / "out") in _one_line(result.stderr)


def test_full_disk_exits_4_and_leaves_no_temporaries(field_png, tmp_path, capsys, monkeypatch):
    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    out = tmp_path / "out"
    assert run(field_png, "--out", out) == 4
    line = _one_line(capsys.readouterr().err)
    assert str(out) in line and "No space left on device" in line
    assert not [p for p in out.rglob("*") if p.is_file()]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_out_folder_exits_2_before_any_analysis(field_png, tmp_path, capsys,
                                                          monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o500)
    _refuse_analysis(monkeypatch)
    try:
        assert run(field_png, "--out", out) == 2
        line = _one_line(capsys.readouterr().err)
        assert str(out) in line and "Permission denied" in line
    finally:
        out.chmod(0o755)


def _garbage(path: Path) -> Path:
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    return path


def _truncated_model(path: Path) -> Path:
    from smearscan.classification import DEFAULT_ARCHITECTURE, build_network, save_model

    save_model(path, build_network(DEFAULT_ARCHITECTURE),
               {"model_version": "test", "architecture": DEFAULT_ARCHITECTURE,
                "operating_points": {}})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("kind", ["garbage", "truncated", "missing"])
def test_unloadable_model_exits_4_naming_it(field_png, tmp_path, capsys, kind, jobs):
    model = tmp_path / f"{kind} model.pt"
    if kind == "garbage":
        _garbage(model)
    elif kind == "truncated":
        _truncated_model(model)
    code = main([str(field_png), "--model", str(model), "--quiet", "--jobs", jobs])
    assert code == 4
    line = _one_line(capsys.readouterr().err)
    assert str(model) in line


def test_unloadable_model_is_an_error_even_without_cells(tmp_path, capsys):
    white = tmp_path / "white.png"
    Image.fromarray(np.full((60, 80, 3), 255, np.uint8)).save(white)
    model = _garbage(tmp_path / "bad.pt")
    assert main([str(white), "--model", str(model), "--quiet"]) == 4
    assert str(model) in _one_line(capsys.readouterr().err)


def test_resume_fingerprint_follows_the_model_file_content(tmp_path):
    """A replaced model file redoes the slides even with the same size and modification time."""
    from smearscan.batch import RunOptions, _fingerprint
    from smearscan.loading import Slide

    model = tmp_path / "m.pt"
    model.write_bytes(b"weights A")
    stamp = model.stat().st_mtime_ns
    slide = Slide("s", tmp_path, ())
    first = _fingerprint(slide, RunOptions(model_path=model))
    model.write_bytes(b"weights B")
    os.utime(model, ns=(stamp, stamp))
    assert _fingerprint(slide, RunOptions(model_path=model)) != first
    assert _fingerprint(slide, RunOptions(model_path=model, classify=False))["settings"][
        "model"] is None


def _die(task: int) -> int:
    if task == 3:
        os._exit(9)  # as the OOM killer would end a worker
    return task


def test_a_worker_that_dies_is_a_one_line_error_with_exit_4():
    from smearscan.pipeline import WorkerDiedError, map_fields

    with pytest.raises(WorkerDiedError, match="run the same command again") as error:
        list(map_fields(_die, range(8), jobs=2))
    assert error.value.exit_code == 4 and "\n" not in str(error.value)


def test_outputs_get_the_mode_of_ordinary_files(tmp_path):
    """Atomic writes go through mkstemp (mode 0600); results must follow the umask instead."""
    from smearscan.outputs import write_text_atomic

    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.csv", "x\n")
        os.umask(0o077)
        write_text_atomic(tmp_path / "b.csv", "x\n")
    finally:
        os.umask(old)
    assert (tmp_path / "a.csv").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.csv").stat().st_mode & 0o777 == 0o600


def test_workers_are_spawned_where_there_is_no_fork_server(monkeypatch):
    """Windows has no fork server: the same seam spawns its workers and keeps task order."""
    import multiprocessing

    from smearscan.pipeline import map_fields

    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert list(map_fields(_die, [0, 1, 2, 4, 5], jobs=2)) == [0, 1, 2, 4, 5]
