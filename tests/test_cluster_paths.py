"""Inputs given as relative paths reach workers that run in another folder (a ``dask worker``
started elsewhere): the tasks carry absolute paths, the outputs keep the names as given; and a
slide whose field could not be read is analysed again by the next run (QA D3)."""

from __future__ import annotations

import csv
import os
import signal
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import pytest
from synthetic import slide_folders

from smearscan.batch import RunOptions, analyse_slides
from smearscan.batch.resume import unread_fields
from smearscan.cli import main
from smearscan.loading import FieldUnreadError, ImageLoadError, find_slides, read_field
from smearscan.pipeline import analyse_field
from smearscan.results import FieldTask

OPTIONS = RunOptions(classify=False)


def _errors(out: Path) -> list[list[str]]:
    with open(out / "errors.csv", newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))[1:]


def _outputs(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*")) if p.is_file()}


class InAnotherFolder:
    """Runs each task in this process, from another working directory (a Dask worker started
    elsewhere), and records the tasks it was given."""

    in_process = True

    def __init__(self, folder: Path) -> None:
        self.folder, self.tasks = folder, []

    def map_unordered(self, work: Callable, tasks: Iterable, *,
                      preload: Sequence[str] = ()) -> Iterator:
        home = Path.cwd()
        for task in tasks:
            self.tasks.append(task)
            os.chdir(self.folder)
            try:
                result = work(task)
            finally:
                os.chdir(home)
            yield result


@pytest.fixture
def relative_inputs(tmp_path, monkeypatch) -> Path:
    """``slides/s0`` (2 fields and a file that is not an image) under the working directory,
    reached through a symbolic link ``linked`` -> ``slides``."""
    slide_folders(tmp_path / "slides", 1, 2)
    (tmp_path / "slides" / "s0" / "broken.png").write_text("not an image")
    (tmp_path / "linked").symlink_to("slides")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path)
    return Path("linked")


def test_tasks_carry_absolute_unresolved_paths_and_outputs_keep_the_given_names(
        relative_inputs, tmp_path):
    worker = InAnotherFolder(tmp_path / "elsewhere")
    options = RunOptions(classify=False, model_path=Path("my-model.onnx"))
    (outcome,) = analyse_slides(find_slides([relative_inputs]), out=Path("out"),
                                options=options, executor=worker, progress=False)
    assert sorted((t.path, t.image) for t in worker.tasks) == [
        (tmp_path / "linked" / "s0" / name, name)
        for name in ("broken.png", "field 0.png", "field 1.png")]
    assert {t.model_path for t in worker.tasks} == {tmp_path / "my-model.onnx"}
    # Read by the worker in its own folder; messages name the file as it was given.
    assert outcome.errors == [("s0", "broken.png", "linked/s0/broken.png: not an image file "
                               "(unrecognised content)")]
    assert _errors(Path("out")) == [list(outcome.errors[0])]
    assert outcome.summary.fields_failed == 1 and outcome.summary.objects > 0
    # The same outputs as a run in this process alone.
    reference = tmp_path / "reference"
    analyse_slides(find_slides([relative_inputs]), out=reference, options=options,
                   progress=False)
    assert _outputs(Path("out")) == _outputs(reference)


class HidingAField:
    """Runs the tasks in this process while one field's file is away (a worker that does not
    see it: another mount, a permission, a network file system's error); puts it back after."""

    in_process = True

    def __init__(self, path: Path) -> None:
        self.path = path

    def map_unordered(self, work: Callable, tasks: Iterable, *,
                      preload: Sequence[str] = ()) -> Iterator:
        away = self.path.with_name("away")
        self.path.rename(away)
        try:
            results = [work(task) for task in tasks]
        finally:
            away.rename(self.path)
        return iter(results)


def test_a_slide_with_a_field_that_could_not_be_read_is_analysed_again(relative_inputs):
    """The fingerprint is the same (this process read every field both times): before, the
    slide was resumed with its failed field for ever. A field refused for its content
    (``broken.png``, in another slide) does not redo its slide."""
    slide_folders(Path("slides2"), 1, 1)
    (Path("slides2") / "s0" / "broken.png").write_text("not an image")
    (Path("slides") / "s1").symlink_to(Path("..") / "slides2" / "s0")
    (Path("slides") / "s0" / "broken.png").unlink()
    out = Path("out")
    first = analyse_slides(find_slides([relative_inputs]), out=out, options=OPTIONS,
                           executor=HidingAField(Path("slides") / "s0" / "field 1.png"),
                           progress=False)
    assert [o.errors for o in first] == [
        [("s0", "field 1.png", "linked/s0/field 1.png: cannot read (No such file or "
                               "directory)")],
        [("s1", "broken.png", "linked/s1/broken.png: not an image file (unrecognised "
                              "content)")]]
    again = analyse_slides(find_slides([relative_inputs]), out=out, options=OPTIONS,
                           progress=False)
    assert [(o.name, o.resumed, len(o.errors)) for o in again] == [
        ("s0", False, 0), ("s1", True, 1)]
    assert again[0].summary.fields_failed == 0
    assert [row[:2] for row in _errors(out)] == [["s1", "broken.png"]]
    last = analyse_slides(find_slides([relative_inputs]), out=out, options=OPTIONS,
                          progress=False)
    assert [o.resumed for o in last] == [True, True]


def test_only_fields_that_could_not_be_read_count_as_unread(tmp_path):
    """Missing and not a regular file are unread (FieldUnreadError, recorded as such and
    tried again on resume); an empty, corrupt or non-image file was read and refused for its
    content."""
    (tmp_path / "folder.png").mkdir()
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    (tmp_path / "cut.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    kinds = {}
    for name in ("missing.png", "folder.png", "empty.png", "text.png", "cut.png"):
        with pytest.raises(ImageLoadError) as error:
            read_field(tmp_path / name)
        kinds[name] = type(error.value)
    assert kinds == {"missing.png": FieldUnreadError, "folder.png": FieldUnreadError,
                     "empty.png": ImageLoadError, "text.png": ImageLoadError,
                     "cut.png": ImageLoadError}
    tasks = [FieldTask("s", tmp_path / name, name) for name in kinds]
    results = [analyse_field(task) for task in tasks]
    assert [r.image for r in results if r.unread] == ["missing.png", "folder.png"]
    assert unread_fields({"unread": ["missing.png", "folder.png"]}) == ["missing.png",
                                                                        "folder.png"]
    assert unread_fields({"errors": [["s", "x.png", "x.png: cannot read (gone)"]]}) == []


# ----------------------------------------------------------------------------- Dask

distributed = pytest.importorskip(
    "distributed", reason="Dask is not installed: pip install -e '.[distributed]'")


@pytest.fixture
def bounded():
    """Fail the test (instead of hanging) if it runs past 120 s."""
    def stop(*_):
        raise TimeoutError("Dask test ran past 120 s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_relative_inputs_are_read_by_a_dask_worker_in_another_folder(relative_inputs,
                                                                      tmp_path, bounded):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster:
        # The worker process's working directory: not the client's.
        with distributed.Client(cluster) as client:
            (moved,) = client.run(os.chdir, str(tmp_path / "elsewhere")).values()
            assert moved is None
            assert set(client.run(os.getcwd).values()) == {str(tmp_path / "elsewhere")}
        code = main([str(relative_inputs), "--out", "out", "--no-classify", "--quiet",
                     "--scheduler", cluster.scheduler_address])
    assert code == 3  # broken.png only
    assert _errors(Path("out")) == [["s0", "broken.png", "linked/s0/broken.png: not an image "
                                     "file (unrecognised content)"]]
