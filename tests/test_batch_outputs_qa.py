"""Output-folder defects of a QA pass (report sections 2 and 11): files an earlier analysis of a
slide wrote and the current one does not are removed (and nothing else: a review found that
the first fix removed a person's files); a slide left out of the merged outputs is reported on
stderr with exit 3."""

from __future__ import annotations

import csv
import json
import os
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from synthetic import grid_centres, synthetic_field

from smearscan.batch import RunOptions, analyse_slides
from smearscan.batch import run as batch_run
from smearscan.batch.resume import plan_outputs
from smearscan.cli import main
from smearscan.loading import OUTPUT_MARKER, find_slides
from smearscan.outputs import remove_superseded
from smearscan.stops import EXIT_INTERRUPTED

PICTURES = ("masks/s", "overlays/s", "slides/s/fields")
LEFT_OUT = ("its files changed after smearscan wrote them; left out of the merged outputs "
            "(run its input again to redo it)")


def run(*args) -> int:
    return main([*map(str, args), "--no-classify", "--quiet"])


def _slide(root: Path, fields: int = 2, name: str = "s") -> Path:
    """A slide folder of ``fields`` synthetic PNGs ``f0.png``... (12 discs each), each slide's
    its own: the same image in two slides is one slide's fields twice."""
    folder = root / name
    folder.mkdir(parents=True)
    first = 0 if name == "s" else 10 * (zlib.crc32(name.encode()) % 10_000)
    for f in range(fields):
        # Each field's discs moved off the grid its own way: two grids look like one area.
        jitter = np.random.default_rng(first + f).uniform(-10, 10, (12, 2))
        centres = [(x + dx, y + dy) for (x, y), (dx, dy) in zip(grid_centres(), jitter,
                                                                strict=True)]
        Image.fromarray(synthetic_field(centres, seed=first + f)).save(folder / f"f{f}.png")
    return folder


def _files(out: Path, *folders: str) -> set[str]:
    """Every file below ``folders`` of ``out``, relative to ``out``."""
    return {p.relative_to(out).as_posix() for folder in folders
            for p in (out / folder).rglob("*") if not p.is_dir()}


def _record(out: Path, name: str = "s") -> dict:
    return json.loads((out / "slides" / name / "slide.json").read_text(encoding="utf-8"))


def _stats(out: Path) -> dict[str, tuple[int, int]]:
    """(inode, modification time) of every file of slide ``s``."""
    return {name: ((out / name).stat().st_ino, (out / name).stat().st_mtime_ns)
            for name in _files(out, "masks/s", "overlays/s", "slides/s")}


def _listed_only(out: Path) -> None:
    """The slide's picture folders hold exactly what its slide.json lists."""
    listed = {p for p in _record(out)["outputs"] if p.startswith(PICTURES)}
    assert _files(out, *PICTURES) == listed


@pytest.mark.parametrize(("option", "folder"), [("--save-masks", "masks"),
                                                 ("--overlay", "overlays")])
def test_pictures_no_longer_asked_for_are_removed(tmp_path, option, folder):
    slide, out = _slide(tmp_path / "in"), tmp_path / "out"
    assert run(slide, "--out", out, option) == 0
    assert _files(out, f"{folder}/s") == {f"{folder}/s/f0.png", f"{folder}/s/f1.png"}
    assert run(slide, "--out", out) == 0
    assert not (out / folder / "s").exists()
    assert _files(out, "slides/s/fields") == {"slides/s/fields/f0.jpg", "slides/s/fields/f1.jpg"}
    _listed_only(out)


def test_a_removed_field_leaves_no_mask_overlay_or_picture(tmp_path):
    slide, out = _slide(tmp_path / "in", fields=3), tmp_path / "out"
    assert run(slide, "--out", out, "--save-masks", "--overlay") == 0
    (slide / "f1.png").unlink()
    assert run(slide, "--out", out, "--save-masks", "--overlay") == 0
    assert _files(out, *PICTURES) == {
        "masks/s/f0.png", "masks/s/f2.png", "overlays/s/f0.png", "overlays/s/f2.png",
        "slides/s/fields/f0.jpg", "slides/s/fields/f2.jpg"}
    _listed_only(out)


def test_a_field_that_now_fails_keeps_no_mask_and_is_not_listed(tmp_path):
    """A mask left from an earlier analysis was once recorded as written by this one."""
    slide, out = _slide(tmp_path / "in"), tmp_path / "out"
    assert run(slide, "--out", out, "--save-masks") == 0
    (slide / "f1.png").write_bytes(b"not an image")
    assert run(slide, "--out", out, "--save-masks") == 3
    assert _files(out, "masks/s") == {"masks/s/f0.png"}
    _listed_only(out)


def test_files_no_record_lists_are_never_removed(tmp_path, capsys):
    """A person's files in a slide's folders stay, whether the slide is resumed or redone."""
    slide, out = _slide(tmp_path / "in"), tmp_path / "out"
    assert run(slide, "--out", out, "--save-masks", "--overlay") == 0
    before = _stats(out)
    (out / "masks" / "s" / "mine.png").write_bytes(b"a person's")
    (out / "slides" / "s" / "fields" / "sub").mkdir()
    (out / "slides" / "s" / "fields" / "sub" / "mine.jpg").write_bytes(b"a person's")
    mine = {"masks/s/mine.png", "slides/s/fields/sub/mine.jpg"}
    capsys.readouterr()
    assert run(slide, "--out", out, "--save-masks", "--overlay") == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()
            if line.rstrip().endswith("resumed")] == ["s"]
    after = _stats(out)
    assert set(after) == set(before) | mine
    assert {name: after[name] for name in before} == before
    assert run(slide, "--out", out, "--pixel-size", "0.2") == 0  # redone, no pictures asked
    assert _files(out, *PICTURES) == mine | {"slides/s/fields/f0.jpg", "slides/s/fields/f1.jpg"}


def test_a_force_run_over_a_project_folder_keeps_its_ground_truth(tmp_path):
    slide, project = _slide(tmp_path / "in"), tmp_path / "project"
    (project / "masks" / "s").mkdir(parents=True)
    (project / "masks" / "s" / "f0_groundtruth.png").write_bytes(b"hand-drawn")
    assert run(slide, "--out", project, "--force", "--save-masks") == 0
    assert run(slide, "--out", project) == 0
    assert _files(project, "masks") == {"masks/s/f0_groundtruth.png"}


def test_a_run_killed_before_removing_superseded_files_leaves_them_to_the_next(tmp_path,
                                                                               monkeypatch):
    """Killed between the new slide.json and the removal: the next run resumes the slide and
    removes the masks of the earlier analysis, which the new record lists as superseded."""
    slide, out = _slide(tmp_path / "in"), tmp_path / "out"
    options = RunOptions(classify=False)
    analyse_slides(find_slides([slide]), out=out, progress=False,
                   options=RunOptions(classify=False, save_masks=True))

    def killed(*args) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(batch_run, "remove_superseded", killed)
        with pytest.raises(KeyboardInterrupt):
            analyse_slides(find_slides([slide]), out=out, progress=False, options=options)
    assert _record(out)["superseded"] == ["masks/s/f0.png", "masks/s/f1.png"]
    assert len(_files(out, "masks/s")) == 2
    (again,) = analyse_slides(find_slides([slide]), out=out, progress=False, options=options)
    assert again.resumed and not (out / "masks" / "s").exists()
    assert _record(out)["superseded"] == []  # QA 54 L2: listed after they were gone
    _listed_only(out)


def test_a_run_that_removes_an_earlier_runs_masks_says_so(tmp_path, capsys):
    """QA 91 F5b: a run without --save-masks removed the masks of one with it without a word."""
    slide, out = _slide(tmp_path / "in"), tmp_path / "out"
    assert run(slide, "--out", out, "--save-masks") == 0
    capsys.readouterr()
    assert run(slide, "--out", out) == 0
    assert not (out / "masks").exists()
    assert capsys.readouterr().err.splitlines() == [
        "smearscan: slide 's': removed 2 files (masks/s/f0.png, masks/s/f1.png) an earlier "
        "analysis wrote and this one did not (no longer asked for, or of a field since "
        "removed): they would not match its results"]


def _killed_before_the_record(monkeypatch, slide: Path, out: Path, options: RunOptions) -> None:
    """Analyse ``slide`` into ``out``, killed (Ctrl-C) as it writes the slide's slide.json."""
    real = batch_run.write_json_atomic

    def killed_at_the_record(path, data) -> None:
        if path.name == "slide.json":
            raise KeyboardInterrupt
        real(path, data)

    with monkeypatch.context() as patch:
        patch.setattr(batch_run, "write_json_atomic", killed_at_the_record)
        with pytest.raises(KeyboardInterrupt):
            analyse_slides(find_slides([slide]), out=out, progress=False, options=options)


@pytest.mark.parametrize("save_masks", [False, True])
def test_a_field_removed_after_a_killed_run_leaves_no_picture(tmp_path, monkeypatch,
                                                              save_masks):
    """QA 50 F5: killed before its slide.json, a run left field pictures (and masks) no record
    listed; a field then removed from the slide kept its picture beside the report for good."""
    slide, out = _slide(tmp_path / "in", fields=3), tmp_path / "out"
    options = RunOptions(classify=False, save_masks=save_masks)
    _killed_before_the_record(monkeypatch, slide, out, options)
    assert "slides/s/fields/f2.jpg" in _files(out, "slides/s")
    (slide / "f2.png").unlink()
    (again,) = analyse_slides(find_slides([slide]), out=out, progress=False, options=options)
    assert not again.resumed
    pictures = {"slides/s/fields/f0.jpg", "slides/s/fields/f1.jpg"}
    masks = {"masks/s/f0.png", "masks/s/f1.png"}  # no overlays unclassified
    assert _files(out, *[f for f in PICTURES if (out / f).exists()]) == (
        pictures | (masks if save_masks else set()))
    assert not (out / "slides" / "s" / "slide.planned.json").exists()
    assert _record(out)["superseded"] == []  # removed, so no longer listed
    _listed_only(out)


def test_overlays_of_a_killed_run_are_removed_by_the_next(tmp_path, monkeypatch):
    """QA 62 F6: with --overlay alone, a killed run's overlays were not in its plan, and stayed
    for good once the run after it no longer asked for them."""
    slide, out = _slide(tmp_path / "in", fields=2), tmp_path / "out"
    _killed_before_the_record(monkeypatch, slide, out, RunOptions(overlay=True))
    assert _files(out, "overlays/s") == {"overlays/s/f0.png", "overlays/s/f1.png"}
    analyse_slides(find_slides([slide]), out=out, progress=False,
                   options=RunOptions(classify=False))
    assert not (out / "overlays" / "s").exists()
    _listed_only(out)


def test_only_the_slides_own_picture_folders_are_cleaned(tmp_path):
    """Another slide's masks, a file beside the slide folders, a symlinked folder and the
    files it leads to stay."""
    root, out = tmp_path / "in", tmp_path / "out"
    slide, other = _slide(root), _slide(root, fields=1, name="t")
    assert run(slide, other, "--out", out, "--save-masks") == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.png").write_bytes(b"mine")
    (out / "masks" / "s" / "linked").symlink_to(elsewhere)
    (out / "masks" / "notes.txt").write_text("mine")
    assert run(slide, "--out", out) == 0
    assert _files(out, "masks") == {"masks/notes.txt", "masks/t/f0.png"}
    assert (out / "masks" / "s" / "linked").is_symlink()
    assert os.listdir(elsewhere) == ["keep.png"]


def test_a_symlinked_slide_folder_is_not_cleaned(tmp_path):
    slide, out = _slide(tmp_path / "in"), tmp_path / "out"
    assert run(slide, "--out", out) == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.png").write_bytes(b"mine")
    (out / "masks").mkdir()
    (out / "masks" / "s").symlink_to(elsewhere)
    assert run(slide, "--out", out, "--overlay") == 0
    assert os.listdir(elsewhere) == ["keep.png"]


def test_nothing_is_removed_outside_a_smearscan_output_folder_or_above_it(tmp_path):
    out = tmp_path / "out"
    (out / "masks" / "s").mkdir(parents=True)
    (out / "masks" / "s" / "a.png").write_bytes(b"x")
    (tmp_path / "beside.png").write_bytes(b"x")
    remove_superseded(out, ["masks/s/a.png"])
    assert (out / "masks" / "s" / "a.png").is_file()
    (out / OUTPUT_MARKER).write_text("")
    remove_superseded(out, ["../beside.png", str(tmp_path / "beside.png")])
    assert (tmp_path / "beside.png").is_file()
    remove_superseded(out, ["masks/s/a.png"])
    assert not (out / "masks").exists() and (out / OUTPUT_MARKER).is_file()


def _analysed_pair(tmp_path: Path) -> tuple[Path, Path]:
    """The output folder of slides ``a`` and ``b`` analysed together, and ``b``'s input."""
    root, out = tmp_path / "in", tmp_path / "out"
    first, second = _slide(root, name="a"), _slide(root, name="b")
    assert run(first, second, "--out", out) == 0
    return out, second


def _rerun_leaves_out_a(out: Path, second: Path, capsys, reason: str) -> None:
    """Run ``b`` alone into ``out``: exit 3, slide ``a`` named on stderr with ``reason`` and
    left out of the merged ``summary.json``."""
    capsys.readouterr()
    assert run(second, "--out", out) == 3
    assert f"smearscan: {reason}\n" in capsys.readouterr().err
    assert list(json.loads((out / "summary.json").read_text())["slides"]) == ["b"]


def test_a_slide_left_out_of_the_merge_is_reported_with_exit_3(tmp_path, capsys):
    out, second = _analysed_pair(tmp_path)
    cells = out / "slides" / "a" / "cells.csv"
    cells.write_text(cells.read_text().replace("\n", "\n ", 1))
    _rerun_leaves_out_a(out, second, capsys, f"{out / 'slides' / 'a'}: {LEFT_OUT}")
    with open(out / "errors.csv", newline="") as handle:
        assert list(csv.reader(handle)) == [["slide", "image", "error"],
                                            ["a", "", f"{out / 'slides' / 'a'}: {LEFT_OUT}"]]


def test_a_slide_whose_reanalysis_was_stopped_is_not_blamed_on_a_hand_edit(tmp_path, capsys):
    # QA 76 F1: a run killed while it re-analysed a changed slide left new field pictures
    # beside the old record; the next run said "its files changed after smearscan wrote them".
    out, second = _analysed_pair(tmp_path)
    folder = out / "slides" / "a"
    pictures = sorted((folder / "fields").iterdir())
    plan_outputs(out, "a", pictures)  # what the stopped analysis had planned
    pictures[0].write_bytes(pictures[1].read_bytes())  # ... and the one picture it rewrote
    _rerun_leaves_out_a(out, second, capsys, (
        f"{folder}: its analysis was stopped while it wrote the slide's files, so they mix two "
        "analyses; left out of the merged outputs (run its input again to redo it)"))


def test_a_reanalysis_stopped_after_its_first_picture_leaves_no_earlier_report(
        tmp_path, monkeypatch):
    # QA 76 F1: the earlier report.html stayed beside the new pictures until a rerun.
    root, out = tmp_path / "in", tmp_path / "out"
    slide = _slide(root, name="a")
    assert run(slide, "--out", out) == 0
    folder = out / "slides" / "a"
    assert (folder / "report.html").is_file()
    Image.open(slide / "f0.png").transpose(Image.Transpose.FLIP_TOP_BOTTOM).save(slide / "f0.png")
    stop_after_a_field = batch_run._written_images

    def stopped(*args, **kwargs):
        stop_after_a_field(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(batch_run, "_written_images", stopped)
    assert run(slide, "--out", out) == EXIT_INTERRUPTED
    assert (folder / "slide.planned.json").is_file() and not (folder / "report.html").exists()
    monkeypatch.undo()
    assert run(slide, "--out", out) == 0
    assert (folder / "report.html").is_file() and not (folder / "slide.planned.json").exists()


def test_a_slide_whose_record_is_cut_short_is_reported_too(tmp_path, capsys):
    # QA 62 F4: a slide.json that no longer parses (a disk error, a hand edit) dropped its slide
    # from the merged outputs without a word, where an edited one is named.
    out, second = _analysed_pair(tmp_path)
    record = out / "slides" / "a" / "slide.json"
    record.write_bytes(record.read_bytes()[:200])
    reason = (f"{out / 'slides' / 'a'}: its slide.json cannot be read (cut short or edited by "
              "hand); left out of the merged outputs (run its input again to redo it)")
    _rerun_leaves_out_a(out, second, capsys, reason)
    with open(out / "errors.csv", newline="") as handle:
        assert list(csv.reader(handle)) == [["slide", "image", "error"], ["a", "", reason]]


def test_the_slides_left_out_of_the_merge_are_reported_to_the_caller(tmp_path):
    root, out = tmp_path / "in", tmp_path / "out"
    slides = [_slide(root, fields=1, name=name) for name in ("a", "b", "c")]
    options = RunOptions(classify=False)
    analyse_slides(find_slides(slides), out=out, progress=False, options=options)
    (out / "slides" / "a" / "report.html").write_text("edited")
    left_out = []
    outcomes = analyse_slides(find_slides(slides[1:]), out=out, progress=False,
                              options=options, on_folder_problem=left_out.append)
    assert left_out == [("a", "", f"{out / 'slides' / 'a'}: {LEFT_OUT}")]
    assert [o.errors for o in outcomes] == [[], []]


def test_a_slide_whose_report_was_edited_is_analysed_again_with_a_note(tmp_path, capsys):
    # qacli2 LOW-4: a technologist's comment typed into report.html was overwritten by the next
    # run without a word.
    slide, out = _slide(tmp_path / "in", name="a"), tmp_path / "out"
    assert run(slide, "--out", out) == 0
    report = out / "slides" / "a" / "report.html"
    written = report.read_bytes()
    report.write_text("edited")
    capsys.readouterr()
    assert run(slide, "--out", out) == 0
    assert capsys.readouterr().err == (
        "smearscan: slide 'a': changed since smearscan wrote them: 1 file "
        "(slides/a/report.html); the slide is analysed again and its files written anew\n")
    assert report.read_bytes() == written
    assert run(slide, "--out", out) == 0  # resumed: nothing to say
    assert capsys.readouterr().err == ""


def test_a_single_image_run_with_a_slide_left_out_exits_3_not_2(tmp_path, capsys):
    root, out = tmp_path / "in", tmp_path / "out"
    first, second = _slide(root, name="a"), _slide(root, name="b")
    assert run(first, "--out", out) == 0
    (out / "slides" / "a" / "report.html").write_text("edited")
    capsys.readouterr()
    assert run(second / "f0.png", "--out", out) == 3  # the one image was read: no usage error
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"smearscan: 1 problem(s) in the output folder; see {out / 'errors.csv'}")


def test_an_unreadable_review_is_reported_and_the_slide_merged_without_it(tmp_path, capsys):
    # A review.json that is a list raised a traceback and stopped every later run.
    slide, out = _slide(tmp_path / "in"), tmp_path / "out"
    assert run(slide, "--out", out) == 0
    review = out / "slides" / "s" / "review.json"
    review.write_text("[1, 2]")
    capsys.readouterr()
    assert run(slide, "--out", out) == 3
    err = capsys.readouterr().err
    assert f"smearscan: {review}: not a smearscan review file (a JSON list, not an object); " \
           "restore it from a backup, or move it aside to review the slide again; merged " \
           "without its review\n" in err
    assert list(json.loads((out / "summary.json").read_text())["slides"]) == ["s"]


def test_a_renamed_slide_folder_is_not_merged_twice(tmp_path, capsys):
    # QA of the analysis command (second pass): after a slide folder was renamed, the earlier
    # slide stayed in summary.json and cells.csv beside the new one: every field counted twice.
    root, out = tmp_path / "in", tmp_path / "out"
    _slide(root, name="patientA")
    _slide(root, fields=1, name="patientB")
    assert run(root, "--out", out) == 0
    (root / "patientA").rename(root / "patientC")
    capsys.readouterr()
    assert run(root, "--out", out) == 3
    left_out = (f"smearscan: {out / 'slides' / 'patientA'}: every image of it is in slide "
                "'patientC', analysed later (renamed or moved?); left out of the merged outputs "
                "(remove the folder to drop it for good)")
    assert capsys.readouterr().err.splitlines()[0] == left_out
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert sorted(summary["slides"]) == ["patientB", "patientC"]
    with open(out / "cells.csv", encoding="utf-8") as handle:
        assert {row["slide"] for row in csv.DictReader(handle)} == {"patientB", "patientC"}
    # A slide kept from an earlier run with images of its own stays, as the README says.
    other = tmp_path / "other" / "patientD"
    other.mkdir(parents=True)
    Image.fromarray(synthetic_field(grid_centres(), seed=7)).save(other / "f.png")
    capsys.readouterr()
    assert run(other, "--out", out) == 3
    # QA 154 M-3: the earlier runs' slides the merged outputs hold are named.
    assert capsys.readouterr().err.splitlines()[:2] == [
        f"smearscan: {out}: its merged outputs (summary.json, cells.csv) also hold 2 slides "
        f"(patientB, patientC) of earlier runs, not given in this one (remove {out / 'slides'}"
        "/NAME to drop one)", left_out]  # patientC is newer
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert sorted(summary["slides"]) == ["patientB", "patientC", "patientD"]


def test_a_run_reads_each_field_once_for_its_digest(tmp_path, monkeypatch):
    # The copies check and the resume fingerprint each hashed every field: a thousand camera
    # fields were read twice before any work. Once before, then once by the worker that
    # analyses it, which checks that it reads the same file (QA 62 F2); not the copy left out.
    import hashlib

    hashed = []
    file_digest = hashlib.file_digest

    def counted(handle, digest):
        hashed.append(Path(handle.name).name)
        return file_digest(handle, digest)

    monkeypatch.setattr(hashlib, "file_digest", counted)
    slide, out = _slide(tmp_path / "in", fields=3), tmp_path / "out"
    (slide / "f3.png").write_bytes((slide / "f0.png").read_bytes())  # a copy, left out
    assert run(slide, "--out", out) == 0
    assert sorted(name for name in hashed if name.endswith(".png")) == [
        "f0.png", "f0.png", "f1.png", "f1.png", "f2.png", "f2.png", "f3.png"]


def test_a_results_folder_moved_away_from_its_inputs_keeps_its_slide_names(tmp_path, capsys):
    # qacli3 MEDIUM-2: results copied to an archive folder, the inputs left where they were:
    # the next run named every slide after a hash of its new path ('k1-c430492e'), left the old
    # slides out as errors and refused the lab file by slide name.
    root = tmp_path / "in"
    _slide(root, name="k1")
    _slide(root, fields=1, name="k2")
    first = tmp_path / "out"
    assert run(root, "--out", first) == 0
    moved = tmp_path / "archive" / "2026" / "out"
    moved.parent.mkdir(parents=True)
    first.rename(moved)
    capsys.readouterr()
    assert run(root, "--out", moved) == 0
    summary = json.loads((moved / "summary.json").read_text(encoding="utf-8"))
    assert sorted(summary["slides"]) == ["k1", "k2"]
    assert summary["sources"] == {"k1": "../../../in/k1", "k2": "../../../in/k2"}
    assert sorted(p.name for p in (moved / "slides").iterdir()) == ["k1", "k2"]
    # Another slide of the same name, other fields, from another path: still its own name.
    other = _slide(tmp_path / "elsewhere", fields=1, name="other").rename(
        tmp_path / "elsewhere" / "k1")
    assert run(other, "--out", moved) == 0
    summary = json.loads((moved / "summary.json").read_text(encoding="utf-8"))
    assert sorted(summary["slides"])[0] == "k1" and len(summary["slides"]) == 3


def test_a_moved_results_folder_keeps_the_name_of_a_slide_with_a_field_added_or_removed(
        tmp_path, capsys):
    # qacli5 MEDIUM-1: after the move, one late field renamed the slide 's1-bd545500', so its
    # lab row (and URGENT line) no longer matched, where in place it kept its name.
    root = tmp_path / "in"
    _slide(root, name="k1")
    _slide(root, fields=3, name="k2")
    first = tmp_path / "out"
    assert run(root, "--out", first) == 0
    moved = tmp_path / "archive" / "out"
    moved.parent.mkdir(parents=True)
    first.rename(moved)
    late = _slide(tmp_path / "late", fields=1, name="late") / "f0.png"
    late.rename(root / "k1" / "late.png")
    (root / "k2" / "f2.png").unlink()
    capsys.readouterr()
    assert run(root, "--out", moved) == 0
    summary = json.loads((moved / "summary.json").read_text(encoding="utf-8"))
    assert sorted(summary["slides"]) == ["k1", "k2"]
    assert [summary["slides"][name]["fields"] for name in ("k1", "k2")] == [3, 2]
    assert sorted(p.name for p in (moved / "slides").iterdir()) == ["k1", "k2"]


def _moved_folder(tmp_path: Path, fields: int) -> tuple[Path, Path]:
    """Slide k1 of ``fields`` fields analysed, then its results folder moved to an archive."""
    slide = _slide(tmp_path / "in", fields=fields, name="k1")
    first, moved = tmp_path / "out", tmp_path / "archive" / "out"
    assert run(slide, "--out", first) == 0
    moved.parent.mkdir(parents=True)
    first.rename(moved)
    return slide, moved


def _names(out: Path) -> list[str]:
    return sorted(json.loads((out / "summary.json").read_text(encoding="utf-8"))["slides"])


def test_a_slide_split_into_two_folders_is_named_with_both(tmp_path, capsys):
    # qacli7: the line named only the slide holding its first image.
    root, out = tmp_path / "in", tmp_path / "out"
    _slide(root, fields=2, name="patientA")
    assert run(root, "--out", out) == 0
    for index, half in enumerate(("A1", "A2")):
        (root / half).mkdir()
        (root / "patientA" / f"f{index}.png").rename(root / half / f"f{index}.png")
    (root / "patientA").rmdir()
    capsys.readouterr()
    assert run(root, "--out", out) == 3
    assert capsys.readouterr().err.splitlines()[0] == (
        f"smearscan: {out / 'slides' / 'patientA'}: every image of it is in slides 'A1' and "
        "'A2', analysed later (renamed or moved?); left out of the merged outputs (remove the "
        "folder to drop it for good)")


def test_a_moved_slide_keeps_its_name_with_a_field_taken_again(tmp_path, capsys):
    # qacli6 MEDIUM-1: a re-photographed field (same name, other bytes) renamed the slide.
    slide, moved = _moved_folder(tmp_path, 3)
    (_slide(tmp_path / "again", fields=1, name="again") / "f0.png").replace(slide / "f1.png")
    capsys.readouterr()
    assert run(slide, "--out", moved) == 0
    assert _names(moved) == ["k1"]
    # ... and says how it matched (qacli7: 9 new fields of 19 went unsaid).
    assert capsys.readouterr().err == (
        "smearscan: slide 'k1': named after the slide of that name an earlier run read from "
        "../in/k1 (its results folder moved?), with 2 of its 3 fields the same images: 1 new, 1 "
        "of the earlier ones missing\n")


def test_a_moved_slide_is_not_a_folder_half_of_whose_fields_are_new(tmp_path):
    # qacli6 MEDIUM-3: s1's 10 fields and another patient's 10 took s1's name and lab row; one
    # field of s1 replaced its 10-field result.
    slide, moved = _moved_folder(tmp_path, 2)
    for index, field in enumerate(sorted(_slide(tmp_path / "other", fields=2,
                                                name="other").iterdir())):
        field.rename(slide / f"new{index}.png")
    # Its own name, and the recorded k1, all of whose images it holds, is left out as moved.
    assert run(slide, "--out", moved) == 3
    names = _names(moved)
    assert len(names) == 1 and names[0].startswith("k1-")


def test_of_two_inputs_matching_a_moved_slide_the_closer_keeps_its_name(tmp_path):
    # qacli6 MEDIUM-2: a partial copy given first took the name; the exact slide was renamed.
    slide, moved = _moved_folder(tmp_path, 3)
    partial = tmp_path / "copies" / "k1"
    partial.mkdir(parents=True)
    for name in ("f0.png", "f1.png"):
        (partial / name).write_bytes((slide / name).read_bytes())
    assert run(partial, slide, "--out", moved) == 0
    summary = json.loads((moved / "summary.json").read_text(encoding="utf-8"))
    assert summary["sources"]["k1"] == Path(os.path.relpath(slide, moved)).as_posix()
    assert summary["slides"]["k1"]["fields"] == 3
