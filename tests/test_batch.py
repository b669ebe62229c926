"""smearscan.batch on its own (issue 17): output names, resume records, the streamed slide
summary, the merged outputs and the validating summary.json reader."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from smearscan.batch.merged import write_merged_outputs
from smearscan.batch.naming import (
    field_stems,
    named_slides,
    renamed_notes,
    safe_name,
    source_of,
)
from smearscan.batch.outcome import SlideOutcome
from smearscan.batch.resume import read_record, record_digest, sealed
from smearscan.batch.summary import GALLERY_LIMIT, THUMBNAIL_LIMIT, SlideBuilder
from smearscan.batch.summary_file import SummaryFileError, read_summary_file
from smearscan.loading import Slide
from smearscan.outputs import jpeg_bytes, read_csv_rows
from smearscan.report import slide_report_html
from smearscan.results import FieldResult, FieldSummary, ReviewCell, SlideSummary


@pytest.mark.parametrize(("name", "safe"), [
    ("..", "_.."), (".", "_."), ("", "_"), ("a/b", "a_b"), ("a\\b", "a_b"),
    ("x\x1b[2Jy", "x_[2Jy"), ("new\nline", "new_line"), ("Präparat 1", "Präparat 1"),
    ("=cmd", "=cmd"), (".hidden", ".hidden"),
])
def test_safe_name(name, safe):
    assert safe_name(name) == safe


def test_safe_name_is_cut_to_fit_a_file_name():
    assert len(safe_name("é" * 300).encode()) == 200


def test_field_stems_never_clash():
    images = ["x.jpg", "x.png", "x.jpg.bmp", "sub/y.png", "z.png", "...jpg"]
    assert field_stems(images) == ["x.jpg", "x.png", "x.jpg.bmp", "sub/y", "z", "_.."]


def _slide(tmp_path: Path, parent: str, name: str = "slide01") -> Slide:
    return Slide(name, tmp_path / parent / name, (), source=tmp_path / parent / name)


def test_same_name_from_two_inputs_gets_a_stable_suffix(tmp_path):
    a, b = _slide(tmp_path, "patientA"), _slide(tmp_path, "patientB")
    first = [s.name for s in named_slides([a, b], {})]
    assert first[0] == "slide01" and first[1].startswith("slide01-") and len(first[1]) == 16
    # The same input keeps its name in a later run, whatever order or company it comes in.
    assert [s.name for s in named_slides([b], {"slide01": source_of(a)})] == [first[1]]
    assert [s.name for s in named_slides([b, a], {"slide01": source_of(a),
                                                  first[1]: source_of(b)})] == first[::-1]


def test_a_slide_written_under_another_name_is_told_why(tmp_path):
    # QA 76 F8: a second 'slide01' became 'slide01-<hash>' without a word.
    a, b = _slide(tmp_path, "patientA"), _slide(tmp_path, "patientB")
    named = named_slides([a, b], {})
    assert renamed_notes([a, b], named, {}, None) == [
        f"slide 'slide01' ({source_of(b)}) is written as {named[1].name!r}: another input of "
        f"this run, {source_of(a)}, has that name; its results, and a lab file's row for it, go "
        f"by {named[1].name!r}"]
    earlier = {"slide01": source_of(a)}
    again = named_slides([b], earlier)
    assert renamed_notes([b], again, earlier, None) == [
        f"slide 'slide01' ({source_of(b)}) is written as {named[1].name!r}: an earlier run "
        f"wrote a slide of that name here from {source_of(a)}; its results, and a lab file's "
        f"row for it, go by {named[1].name!r}"]
    assert renamed_notes([a], named_slides([a], earlier), earlier, None) == []
    kept = {named[1].name: source_of(b)}  # 'slide01' since freed: the name it was written under
    assert renamed_notes([b], named_slides([b], kept), kept, None) == [
        f"slide 'slide01' ({source_of(b)}) is written as {named[1].name!r}: an earlier run "
        f"wrote it under that name; its results, and a lab file's row for it, go by "
        f"{named[1].name!r}"]


def test_a_suffixed_name_never_takes_another_inputs_name(tmp_path):
    slides = [_slide(tmp_path, "a", "s1"), _slide(tmp_path, "b", "s1"), _slide(tmp_path, "c", "s1")]
    names = [s.name for s in named_slides(slides, {})]
    assert len(set(names)) == 3 and names[0] == "s1"


def test_one_input_given_twice_gets_two_names(tmp_path):
    a = _slide(tmp_path, "patientA")
    assert len({s.name for s in named_slides([a, a], {})}) == 2


def test_sealed_record_detects_an_edited_summary(tmp_path):
    folder = tmp_path / "slides" / "s"
    folder.mkdir(parents=True)
    (folder / "cells.csv").write_text("slide,image\n")
    record = sealed({"fingerprint": {"source": "/x"}, "summary": {"objects": 3, "p": float("nan")},
                     "errors": [], "model": None,
                     "outputs": {"slides/s/cells.csv": None}})
    assert record["summary"]["p"] is None  # NaN is written as null, and sealed that way
    record["outputs"]["slides/s/cells.csv"] = hashlib.sha256(b"slide,image\n").hexdigest()
    record["record_sha256"] = record_digest(record)
    (folder / "slide.json").write_text(json.dumps(record))
    assert read_record(tmp_path, "s") == record
    (folder / "slide.json").write_text(json.dumps(record).replace('"objects": 3',
                                                                  '"objects": 4'))
    assert read_record(tmp_path, "s") is None
    (folder / "slide.json").write_text(json.dumps(record))
    (folder / "cells.csv").write_text("slide,image\ns,f.png\n")
    assert read_record(tmp_path, "s") is None


def _cells(n: int, labels: list[str], *, x0: float = 0.0) -> dict[str, np.ndarray]:
    return {"cell_id": np.arange(1, n + 1), "x": np.arange(n) + x0, "y": np.zeros(n),
            "diameter_um": np.full(n, 7.5),
            "border": np.array([i == 0 for i in range(n)]), "touching": np.zeros(n, bool),
            "class": np.array(labels), "morphology": np.array(["normal"] * n),
            "p_schistocyte": np.linspace(0.1, 0.9, n)}


def _jpeg(value: int) -> bytes:
    return jpeg_bytes(np.full((8, 8, 3), value, np.uint8))


def test_builder_streams_cells_and_counts_whole_objects(tmp_path):
    results = [
        FieldResult("s", "a.png", Path("a.png"), _cells(3, ["rbc", "rbc", "wbc"]), 10, 10, 0.2),
        FieldResult("s", "b.png", Path("b.png"), error="b.png: broken"),
        FieldResult("s", "c.png", Path("c.png"), {}, 10, 10, 0.25),
        FieldResult("s", "d.png", Path("d.png"), _cells(2, ["rbc", "schistocyte"], x0=5), 10,
                    10, 0.3),
    ]
    with open(tmp_path / "cells.csv", "w", newline="") as handle:
        builder = SlideBuilder("=s", handle, None)
        for result in results:
            builder.add(result, Path(result.image).stem)
        builder.finish_cells()
    rows = read_csv_rows(tmp_path / "cells.csv")
    assert [(r["slide"], r["image"], r["cell_id"], r["class"]) for r in rows] == [
        ("=s", "a.png", "1", "rbc"), ("=s", "a.png", "2", "rbc"), ("=s", "a.png", "3", "wbc"),
        ("=s", "d.png", "1", "rbc"), ("=s", "d.png", "2", "schistocyte")]
    assert (tmp_path / "cells.csv").read_text().splitlines()[1].startswith("'=s,a.png,1,")
    summary = builder.summary("adult")
    assert (len(summary.fields), summary.fields_failed, summary.objects) == (4, 1, 5)
    assert summary.pixel_size_um == 0.25
    assert summary.counts["rbc"] == 1 and summary.counts["wbc"] == 1
    assert summary.counts["schistocyte"] == 1 and summary.counts["border"] == 2
    assert summary.statistics.schistocytes.proportion.denominator == 2
    assert builder.errors == [("=s", "b.png", "b.png: broken")]
    assert [f.image for f in summary.fields] == ["a.png", "b.png", "c.png", "d.png"]
    assert summary.fields[1] == FieldSummary("b.png", error="b.png: broken")


def test_builder_without_cells_writes_the_header_only(tmp_path):
    with open(tmp_path / "cells.csv", "w", newline="") as handle:
        builder = SlideBuilder("s", handle, None)
        builder.add(FieldResult("s", "a.png", Path("a.png"), {}, 10, 10, 0.2), "a")
        builder.finish_cells()
    assert (tmp_path / "cells.csv").read_text() == "slide,image\n"
    assert builder.summary("adult").counts == {}


def test_report_gallery_and_pictures_are_capped_with_a_count_of_the_rest(tmp_path):
    """Issue 17 class 7: the report no longer grows with the slide."""
    builder = SlideBuilder("s", None, tmp_path)
    fields = THUMBNAIL_LIMIT + 7
    for i in range(fields):
        cells = tuple(ReviewCell(f"f{i}.png", j, "schistocyte", (i * 5 + j) / (fields * 5),
                                 _jpeg(i)) for j in range(5))
        builder.add(FieldResult("s", f"f{i}.png", None, thumbnail=_jpeg(i), review_cells=cells),
                    f"f{i}")
    parts = builder.report_parts()
    assert len(parts.fields) == THUMBNAIL_LIMIT and parts.fields_hidden == 7
    assert len(list((tmp_path / "fields").iterdir())) == THUMBNAIL_LIMIT
    (group,) = parts.gallery
    assert group["total"] == fields * 5 and group["hidden"] == fields * 5 - GALLERY_LIMIT
    probabilities = [c.probability for c in group["cells"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert probabilities[-1] == (fields * 5 - GALLERY_LIMIT) / (fields * 5)  # the top 100
    summary = SlideSummary(tuple(FieldSummary(f"f{i}.png") for i in range(fields)), 0, None,
                           False)
    html = slide_report_html("s", summary, parts, model_version="m")
    assert html.count("data:image/jpeg;base64,") == GALLERY_LIMIT
    assert html.count('src="fields/') == THUMBNAIL_LIMIT
    assert f"{fields * 5 - GALLERY_LIMIT} more schistocyte call(s) not shown" in html
    assert "7 more field(s) not shown" in html


def _outcome(out: Path, name: str, csv_text: str, objects: int) -> SlideOutcome:
    folder = out / "slides" / name
    folder.mkdir(parents=True)
    (folder / "cells.csv").write_text(csv_text)
    return SlideOutcome(name, SlideSummary((), objects, None, False),
                        errors=[(name, "x.png", "x.png: broken")], source=f"/in/{name}")


def test_merged_outputs_cover_every_slide_and_align_columns(tmp_path):
    outcomes = [_outcome(tmp_path, "b", "slide,image,cell_id,x,class\nb,f.png,1,2.5,rbc\n",
                         objects=1),
                _outcome(tmp_path, "a", "slide,image,cell_id,x\na,f.png,1,3\na,f.png,2,4\n",
                         objects=2),
                _outcome(tmp_path, "c", "slide,image\n", objects=0)]
    write_merged_outputs(tmp_path, outcomes, [("d", "", "d: changed")])
    # Classified cells get the (empty) reviewed_class column of smearscan review.
    assert (tmp_path / "cells.csv").read_text() == (
        "slide,image,cell_id,x,class,reviewed_class\na,f.png,1,3,,\na,f.png,2,4,,\n"
        "b,f.png,1,2.5,rbc,\n")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert list(summary["slides"]) == ["a", "b", "c"]
    assert summary["sources"] == {"a": "/in/a", "b": "/in/b", "c": "/in/c"}
    assert [r["slide"] for r in read_csv_rows(tmp_path / "errors.csv")] == ["a", "b", "c", "d"]


VALID_SLIDE = {"schistocytes": {"percent": 1.5, "ci95": [1.0, 2.2], "rbc_counted": 1200,
                                "less_specific": False, "limit_percent": 1.0},
               "nrbc": {"present": False}, "leukoerythroblastic": {"finding": "absent"},
               "morphology": {"teardrop_percent": None}}


def test_summary_reader_accepts_what_a_run_writes(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps({"slides": {"s": VALID_SLIDE}}))
    assert read_summary_file(path)["slides"]["s"] == VALID_SLIDE


@pytest.mark.parametrize(("text", "message"), [
    ("{not json", "not a readable summary.json"),
    ("[1, 2]", "no \"slides\" object"),
    ('{"slides": []}', "no \"slides\" object"),
    ('{"slides": {"s": "x"}}', "slide 's' is not an object"),
    ('{"slides": {"s": {"schistocytes": 3}}}', "schistocytes is not an object"),
    ('{"slides": {"s": {"schistocytes": {"percent": "abc"}}}}',
     "schistocytes.percent is not a finite number"),
    ('{"slides": {"s": {"schistocytes": {"percent": NaN}}}}',
     "schistocytes.percent is not a finite number"),
    ('{"slides": {"s": {"schistocytes": {"ci95": [1]}}}}', "schistocytes.ci95 is not a pair"),
    ('{"slides": {"s": {"schistocytes": {"rbc_counted": -5}}}}', "rbc_counted is not a whole"),
    ('{"slides": {"s": {"nrbc": {"present": "yes"}}}}', "nrbc.present is not true or false"),
    ('{"slides": {"s": {"leukoerythroblastic": {"finding": 1}}}}', "finding is not text"),
    ("[" * 100000 + "]" * 100000, "not a readable summary.json"),
])
def test_summary_reader_names_the_bad_key_in_one_line(tmp_path, text, message):
    path = tmp_path / "summary.json"
    path.write_text(text)
    with pytest.raises(SummaryFileError) as error:
        read_summary_file(path)
    assert message in str(error.value) and str(path) in str(error.value)
    assert "\n" not in str(error.value)


def test_default_jobs_are_as_many_as_the_largest_field_fits_in_memory(tmp_path, monkeypatch):
    """Issue 17 class 7: each worker holds its field; the default must not multiply past RAM."""
    from test_bad_inputs import png_header_only

    from smearscan.batch import run

    big = png_header_only(tmp_path / "big.png", 8000, 6000)  # 48 Mpx, header only
    small = png_header_only(tmp_path / "small.png", 640, 480)
    worker = run._WORKER_BYTES[True]
    need = worker + 48_000_000 * run.FIELD_BYTES_PER_PIXEL
    for available, expected in ((need - 1, 1), (2 * need, 2), (3 * need + 10, 3),
                                (100 * need, 4)):
        monkeypatch.setattr(run, "_available_memory", lambda a=available: a)
        assert run.jobs_within_memory(4, [Slide("s", tmp_path, (small, big))],
                                      classify=True) == expected
    monkeypatch.setattr(run, "_available_memory", lambda: 2 * need)
    assert run.jobs_within_memory(4, [Slide("s", tmp_path, (small,))], classify=True) == 4
    assert run.jobs_within_memory(1, [Slide("s", tmp_path, (big,))], classify=True) == 1


def test_a_worker_that_reads_another_file_at_a_fields_path_refuses_it(tmp_path):
    # QA 62 F2: a Dask worker seeing other files at the same path (a stale mount) counted them,
    # and the result was kept under the fingerprint of the files the run read: every later run
    # resumed it. The task carries the digest the run read; the field is tried again next run.
    from PIL import Image

    from smearscan.batch.outcome import RunOptions
    from smearscan.batch.run import field_tasks
    from smearscan.loading import content_digest, find_slides, without_copies
    from smearscan.pipeline import analyse_field

    sample = Path(__file__).resolve().parents[1] / "datasets" / "samples" / "chula-1.jpg"
    folder = tmp_path / "s"
    folder.mkdir()
    path = folder / "a.png"
    Image.open(sample).save(path)
    [slide], _ = without_copies(find_slides([folder]))
    [task] = field_tasks(slide, None, RunOptions(classify=False))
    assert task.digest == content_digest(path)
    assert analyse_field(task).error is None
    Image.open(sample).transpose(Image.Transpose.ROTATE_180).save(path)
    result = analyse_field(task)
    assert result.unread and not result.cells
    assert result.error == (
        f"{path}: not the file this run read when it started (changed since, or another copy "
        "where this worker reads it); left out, and tried again by the next run")
