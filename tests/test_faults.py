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
from synthetic import grid_centres, slide_folders, synthetic_field

from smearscan.batch import run as batch_run
from smearscan.cli import main
from smearscan.loading import RUN_OUTPUTS
from smearscan.outputs import LOCK_NAME

ROOT = Path(__file__).resolve().parents[1]
SLIDES, FIELDS = 6, 5


def run(*args) -> int:
    """``smearscan args... --no-classify --quiet`` in this process; its exit code, a parser's
    (usage error) included."""
    try:
        return main([*map(str, args), "--no-classify", "--quiet"])
    except SystemExit as stop:
        return stop.code


def _env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


def _command(slides: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "smearscan.cli", str(slides), "--out", str(out),
            "--no-classify", "--quiet", "--save-masks"]


@pytest.fixture(scope="module")
def slides(tmp_path_factory) -> Path:
    """6 slide folders x 5 synthetic 640x480 fields (48 discs each, shifted per slide)."""
    return slide_folders(tmp_path_factory.mktemp("faults") / "slides", SLIDES, FIELDS)


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
    """Issue 17 class 4: only smearscan's own temporaries, in the folders it writes, go."""
    out = tmp_path / "out"
    assert run(field_png, "--out", out, "--save-masks") == 0
    stale = [out / ".cells.csv.k2x9q7ab.smearscan-part",
             out / "slides" / "field" / ".slide.json.1a2b_x9z.smearscan-part",
             out / "masks" / "field" / ".field.png.zz_3abcd.smearscan-part"]
    kept = [out / "notes.part", out / ".hidden", out / "slides" / "field" / "mine.txt",
            out / ".folder.part" / "inside.txt", out / ".cells.csv.k2x9q7ab.part",
            out / "Documents" / "deep" / ".thesis.docx.part",
            out / "Documents" / "deep" / ".thesis.docx.k2x9q7ab.smearscan-part"]
    for path in stale + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("left by someone")
    assert run(field_png, "--out", out, "--save-masks") == 0
    assert not [p for p in stale if p.exists()]
    assert [p.read_text() for p in kept] == ["left by someone"] * len(kept)


def _refuse_analysis(monkeypatch) -> None:
    def analyse(*args, **kwargs):
        raise AssertionError("fields were analysed before --out was checked")

    monkeypatch.setattr(batch_run, "analyse_field", analyse)


@pytest.mark.parametrize(("inside", "reason"),
                         [("file", "is a file, not a folder"),
                          ("under a file", "cannot write to this output folder (Not a directory)")])
def test_out_that_cannot_be_a_folder_exits_2_before_any_analysis(field_png, tmp_path, capsys,
                                                                 monkeypatch, inside, reason):
    blocker = tmp_path / "blocker"
    blocker.write_text("a regular file")
    out = blocker if inside == "file" else blocker / "results"
    _refuse_analysis(monkeypatch)
    assert run(field_png, "--out", out) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(out) in line and reason in line


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
    assert not out.exists()  # the folder it made, with nothing written in it (QA 37 L-2)


def test_a_run_refused_the_lock_leaves_the_holders_folder_alone(tmp_path):
    # QA 54 H2: two runs started at once into a new --out; the one refused the lock removed the
    # other's lock file (and marker), and the folder was then refused as not smearscan's.
    from smearscan.outputs import (
        LOCK_NAME,
        OUTPUT_MARKER,
        OutputFolderError,
        claim_output_folder,
        folder_lock,
    )

    out = tmp_path / "out"
    out.mkdir()
    with folder_lock(out):  # the first run, before it wrote its marker
        busy = "another smearscan run or review is writing"
        with pytest.raises(OutputFolderError, match=busy), claim_output_folder(out):
            pass
        assert (out / LOCK_NAME).exists()
        (out / OUTPUT_MARKER).write_text("smearscan output folder\n")
        with pytest.raises(OutputFolderError, match=busy), claim_output_folder(out):
            pass
        assert sorted(p.name for p in out.iterdir()) == sorted([LOCK_NAME, OUTPUT_MARKER])


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
    from smearscan import default_model_path

    data = default_model_path().read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("kind", ["garbage", "truncated", "missing"])
def test_unloadable_model_exits_4_naming_it(field_png, tmp_path, capsys, kind, jobs):
    model = tmp_path / f"{kind} model.onnx"
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
    from smearscan.batch import RunOptions
    from smearscan.batch.resume import fingerprint as _fingerprint
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
    from smearscan.executor import LocalPool, WorkerDiedError

    with pytest.raises(WorkerDiedError, match="run the same command again") as error:
        list(LocalPool(2).map_unordered(_die, range(8)))
    assert error.value.exit_code == 4 and "\n" not in str(error.value)


_BUSY_SURVIVOR = """
import os, sys, time
from smearscan.executor import LocalPool, WorkerDiedError

def work(task):
    if task == 1:
        time.sleep(0.5)
        os._exit(9)
    time.sleep(1.0)
    return bytes(1 << 20)  # a field's results are large: the survivor blocks sending one

if __name__ == "__main__":
    try:
        list(LocalPool(2).map_unordered(work, range(12)))
    except WorkerDiedError as error:
        sys.exit(error.exit_code)
"""


def test_a_worker_that_dies_beside_a_busy_one_does_not_hang_the_run(tmp_path):
    # QA 54 H1: a worker SIGKILLed (as by the OOM killer) while the other was busy: the pool's
    # clean-up sent SIGTERM, which workers ignore, and spun for ever at 100% CPU.
    script = tmp_path / "die.py"
    script.write_text(_BUSY_SURVIVOR)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})
    assert (done.returncode, done.stderr) == (4, "")


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
    """Windows has no fork server: the same seam spawns its workers, and results go back in
    task order through in_task_order."""
    import multiprocessing

    from smearscan.executor import LocalPool, in_task_order

    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert list(in_task_order(LocalPool(2), _die, [0, 1, 2, 4, 5])) == [0, 1, 2, 4, 5]


# ----------------------------------------------------------------------------- issue 17


def _bmp_field(path: Path, cells: int, *, stamp: int | None = None) -> Path:
    """A 240x320 BMP (its size depends only on its dimensions) with ``cells`` discs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(synthetic_field(grid_centres()[:cells])).save(path)
    if stamp is not None:
        os.utime(path, ns=(stamp, stamp))
    return path


STAMP = 1_700_000_000 * 10**9


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def _resumed_lines(capsys) -> list[str]:
    return [line.split()[0] for line in capsys.readouterr().out.splitlines()
            if line.rstrip().endswith("resumed")]


def test_another_patients_slide_with_equal_names_sizes_and_mtimes_is_analysed(tmp_path,
                                                                               capsys):
    """Class 1: patientA/slide01 then patientB/slide01 into one --out."""
    a = _bmp_field(tmp_path / "patientA" / "slide01" / "f.bmp", 12, stamp=STAMP)
    b = _bmp_field(tmp_path / "patientB" / "slide01" / "f.bmp", 5, stamp=STAMP)
    assert a.stat().st_size == b.stat().st_size
    out = tmp_path / "out"
    assert run(a.parent, "--out", out) == 0
    assert run(b.parent, "--out", out) == 0
    assert _resumed_lines(capsys) == []
    summary = _summary(out)
    (other,) = set(summary["slides"]) - {"slide01"}
    assert other.startswith("slide01-")
    assert summary["slides"]["slide01"]["objects"] == 12
    assert summary["slides"][other]["objects"] == 5
    # Recorded relative to the output folder: results moved with their inputs still know them.
    assert summary["sources"] == {"slide01": "../patientA/slide01",
                                  other: "../patientB/slide01"}
    # Re-running patient A keeps its own folder and resumes it.
    assert run(a.parent, "--out", out) == 0
    assert _resumed_lines(capsys) == ["slide01"]


def test_field_edited_in_place_with_its_mtime_restored_is_redone(tmp_path, capsys):
    """Class 1 and the resume acceptance point: content decides, not size and mtime; the
    result equals a clean run over the edited inputs, byte for byte."""
    slides = tmp_path / "slides"
    for s in range(2):
        for f in range(2):
            _bmp_field(slides / f"s{s}" / f"f{f}.bmp", 12, stamp=STAMP)
    out = tmp_path / "out"
    assert run(slides, "--out", out, "--save-masks") == 0
    edited = _bmp_field(slides / "s0" / "f1.bmp", 7, stamp=STAMP)
    assert edited.stat().st_mtime_ns == STAMP
    capsys.readouterr()
    assert run(slides, "--out", out, "--save-masks") == 0
    assert _resumed_lines(capsys) == ["s1"]
    assert _summary(out)["slides"]["s0"]["objects"] == 19
    clean = tmp_path / "clean"
    assert run(slides, "--out", clean, "--save-masks") == 0
    assert _compared(out) == _compared(clean)


def test_tampered_slide_json_is_not_believed(field_png, tmp_path, capsys):
    """Class 1: an edited summary in slide.json (0.1% instead of 7.6%) is not resumed."""
    out = tmp_path / "out"
    assert run(field_png.parent, "--out", out, "--save-masks") == 0
    expected = _compared(out)
    record = out / "slides" / field_png.parent.name / "slide.json"
    record.write_text(record.read_text().replace('"objects": 12', '"objects": 1'))
    capsys.readouterr()
    assert run(field_png.parent, "--out", out, "--save-masks") == 0
    assert _resumed_lines(capsys) == []
    assert _compared(out) == expected


def test_a_deleted_mask_redoes_its_slide(field_png, tmp_path, capsys):
    out = tmp_path / "out"
    assert run(field_png.parent, "--out", out, "--save-masks") == 0
    (mask,) = (out / "masks").rglob("*.png")
    mask.unlink()
    capsys.readouterr()
    assert run(field_png.parent, "--out", out, "--save-masks") == 0
    assert _resumed_lines(capsys) == [] and mask.is_file()


def test_foreign_non_empty_out_is_refused_unless_forced(field_png, tmp_path, capsys, monkeypatch):
    """Class 4: a folder smearscan did not make keeps its files."""
    out = tmp_path / "Documents"
    (out / "deep").mkdir(parents=True)
    foreign = {out / "cells.csv": "my own table\n", out / "summary.json": "{}\n",
               out / "deep" / ".thesis.docx.part": "chapter 1\n"}
    for path, text in foreign.items():
        path.write_text(text)
    with monkeypatch.context() as patch:
        _refuse_analysis(patch)
        assert run(field_png, "--out", out) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(out) in line and "not made by smearscan" in line and "--force" in line
    assert all(path.read_text() == text for path, text in foreign.items())
    # QA 83 #7: --force replaced the user's cells.csv and summary.json without a word.
    with monkeypatch.context() as patch:
        _refuse_analysis(patch)
        assert run(field_png, "--out", out, "--force") == 2
    assert capsys.readouterr().err == (
        f"smearscan: {out}: not made by smearscan, and it holds cells.csv, summary.json, which "
        "a run writes: --force writes beside other files but never replaces them; move them, "
        "or choose another --out\n")
    assert all(path.read_text() == text for path, text in foreign.items())
    kept = tmp_path / "kept"
    kept.mkdir()
    for name in ("cells.csv", "summary.json"):
        (out / name).rename(kept / name)
    assert run(field_png, "--out", out, "--force") == 0
    assert (out / ".smearscan-output").is_file()
    # What the refusal guards is what a run writes at the top of its folder.
    assert {path.name for path in out.iterdir()} - {".smearscan-output", ".smearscan.lock",
                                                    "deep"} == RUN_OUTPUTS
    assert (out / "deep" / ".thesis.docx.part").read_text() == "chapter 1\n"
    assert run(field_png, "--out", out) == 0  # marked now: no --force needed


def test_a_forced_run_never_writes_over_a_foreign_folders_picture(field_png, tmp_path, capsys):
    """QA 86 #6: --force replaced a user's overlays/ and masks/ files of the same names."""
    ours = tmp_path / "ours"
    assert run(field_png, "--out", ours, "--save-masks", "--overlay") == 0
    pictures = sorted(path.relative_to(ours).as_posix() for path in ours.rglob("*.png")
                      if path.parts[len(ours.parts)] in ("masks", "overlays"))
    assert len(pictures) == 2
    out = tmp_path / "theirs"
    for name in pictures:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("mine\n")
    capsys.readouterr()
    assert run(field_png, "--out", out, "--force", "--save-masks", "--overlay") == 2
    assert capsys.readouterr().err == (
        f"smearscan: {out}: this run would write over {', '.join(pictures)}, and it is not made "
        "by smearscan: smearscan writes beside other files but never replaces them; move them, "
        "or choose another --out\n")
    assert all((out / name).read_text() == "mine\n" for name in pictures)
    assert sorted(path.name for path in out.iterdir()) == ["masks", "overlays"]
    # Without those pictures asked for, the run writes beside them.
    assert run(field_png, "--out", out, "--force") == 0
    assert all((out / name).read_text() == "mine\n" for name in pictures)
    # QA 87 #8: marked now, the folder's later runs still never replace them.
    capsys.readouterr()
    assert run(field_png, "--out", out, "--save-masks") == 2
    assert capsys.readouterr().err == (
        f"smearscan: {out}: this run would write over {pictures[0]}, which were there before "
        "smearscan first wrote into it (--force): smearscan writes beside other files but never "
        "replaces them; move them, or choose another --out\n")
    assert all((out / name).read_text() == "mine\n" for name in pictures)
    # Moved away, the next run writes its own, and replaces those on a run after.
    (out / pictures[0]).rename(tmp_path / "moved.png")
    assert run(field_png, "--out", out, "--save-masks") == 0
    assert run(field_png, "--out", out, "--save-masks", "--overlay") == 2  # the overlay is theirs
    assert run(field_png, "--out", out, "--save-masks", "--no-classify") == 0
    assert (out / pictures[0]).read_bytes() == (ours / pictures[0]).read_bytes()


def test_second_concurrent_run_is_refused_and_the_first_completes(slides, tmp_path):
    """Class 4: one run at a time; the second gets one line and exit 2, the first is intact
    (it used to lose its temporaries to the second and die with exit 4)."""
    out = tmp_path / "out"
    first = subprocess.Popen(_command(slides, out), env=_env(), cwd=tmp_path,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "slides" / "s0" / "slide.json").exists():
        assert first.poll() is None, first.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.005)
    first.send_signal(signal.SIGSTOP)  # still mid-run, however busy the machine is
    try:
        assert not (out / "summary.json").exists(), "the first run finished too soon"
        second = subprocess.run(_command(slides, out), env=_env(), cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    first.stderr.close()
    assert second.returncode == 2
    line = _one_line(second.stderr)
    assert "another smearscan run" in line and str(out) in line
    assert len(_summary(out)["slides"]) == SLIDES
    assert not list(out.rglob("*.smearscan-part"))


def test_lock_of_a_killed_run_is_recovered(field_png, tmp_path):
    """Class 4: the OS releases a dead process's lock; the lock file left behind is no bar."""
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import filelock, sys; lock = filelock.FileLock(sys.argv[1]); "
         "lock.acquire(); print('held', flush=True); sys.stdin.read()",
         str(out / LOCK_NAME)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    assert run(field_png, "--out", out) == 2
    holder.kill()
    holder.wait(timeout=30)
    holder.stdout.close()
    holder.stdin.close()
    assert (out / LOCK_NAME).exists()
    assert run(field_png, "--out", out) == 0


def test_sequential_runs_over_different_slides_merge_every_slide(tmp_path):
    """Class 4: the merged outputs reflect every completed slide in the folder."""
    for name, cells in (("s1", 12), ("s2", 5), ("s3", 3)):
        _bmp_field(tmp_path / "in" / name / "f.bmp", cells)
    out = tmp_path / "out"
    assert run(tmp_path / "in" / "s1", tmp_path / "in" / "s2", "--out", out) == 0
    assert run(tmp_path / "in" / "s3", "--out", out) == 0
    assert {s: v["objects"] for s, v in _summary(out)["slides"].items()} == {
        "s1": 12, "s2": 5, "s3": 3}
    rows = list(csv.DictReader((out / "cells.csv").read_text().splitlines()))
    assert {s: sum(r["slide"] == s for r in rows) for s in ("s1", "s2", "s3")} == {
        "s1": 12, "s2": 5, "s3": 3}
    # A slide whose files were edited by hand is left out of the merge, with a reason, and
    # the run says so (exit 3) though its own slide is fine.
    (out / "slides" / "s2" / "cells.csv").write_text("slide,image\n")
    assert run(tmp_path / "in" / "s3", "--out", out) == 3
    assert set(_summary(out)["slides"]) == {"s1", "s3"}
    errors = list(csv.DictReader((out / "errors.csv").read_text().splitlines()))
    assert [(e["slide"], "changed after smearscan wrote them" in e["error"])
            for e in errors] == [("s2", True)]
