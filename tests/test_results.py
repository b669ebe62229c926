"""The typed slide summary: ``SlideSummary.to_dict``/``from_dict`` are the ``summary.json``
schema, checked on the outputs of real runs (classified, with a verdict, a failed field and an
estimated pixel size; unclassified), and resume reads a recorded summary back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from smearscan.batch import RunOptions, analyse_slides
from smearscan.batch.resume import RECORD_NAME, sealed
from smearscan.cli import main
from smearscan.loading import find_slides
from smearscan.results import FieldSummary, SlideSummary
from smearscan.segmentation import ratio_text

SAMPLES = Path(__file__).resolve().parents[1] / "datasets" / "samples"


def _slides(tmp_path: Path) -> Path:
    """Two slides: a Chula field (and an unreadable file), a BCCD field."""
    root = tmp_path / "in"
    for name, sample in (("chula", "chula-1.jpg"), ("bccd", "bccd-00000.jpg")):
        (root / name).mkdir(parents=True)
        shutil.copy(SAMPLES / sample, root / name / sample)
    (root / "chula" / "broken.jpg").write_text("not an image")
    return root


def _recorded(out: Path) -> dict[str, dict]:
    """Each slide's entry in ``summary.json`` and the summary of its ``slide.json``."""
    merged = json.loads((out / "summary.json").read_text(encoding="utf-8"))["slides"]
    records = {name: json.loads((out / "slides" / name / RECORD_NAME).read_text())["summary"]
               for name in merged}
    return {f"{name} ({where})": entry for name in merged
            for where, entry in (("summary.json", merged[name]), ("slide.json", records[name]))}


def test_summaries_of_a_classified_run_with_a_verdict_round_trip_exactly(tmp_path):
    labs = tmp_path / "labs.json"
    patient = {"hemoglobin": "7.5 g/dL", "platelets": 80}
    labs.write_text(json.dumps({"chula": patient, "bccd": patient}))
    out = tmp_path / "out"
    assert main([str(_slides(tmp_path)), "--out", str(out), "--labs", str(labs),
                 "--quiet"]) == 3  # partial: the unreadable file
    recorded = _recorded(out)
    assert len(recorded) == 4
    for where, entry in recorded.items():
        summary = SlideSummary.from_dict(entry)
        # Same keys, values and order: summary.json's bytes come from to_dict.
        assert json.dumps(summary.to_dict()) == json.dumps(entry), where
        assert summary.statistics is not None and summary.verdict == entry["verdict"]
        assert summary.statistics.sizes_note == entry["morphology"]["sizes_note"] is not None
    chula = SlideSummary.from_dict(json.loads((out / "summary.json").read_text())["slides"]
                                   ["chula"])
    assert chula.fields_failed == 1 and chula.fields[0].image == "broken.jpg"
    assert chula.fields[0] == FieldSummary("broken.jpg", error=chula.fields[0].error)
    assert chula.counts == chula.statistics.counts and chula.counts["rbc"] > 0


def test_summaries_of_an_unclassified_run_round_trip_exactly(tmp_path):
    out = tmp_path / "out"
    assert main([str(_slides(tmp_path)), "--out", str(out), "--no-classify",
                 "--quiet"]) == 3
    for where, entry in _recorded(out).items():
        summary = SlideSummary.from_dict(entry)
        assert json.dumps(summary.to_dict()) == json.dumps(entry), where
        assert summary.statistics is None and summary.counts == {} and "schistocytes" not in entry


def test_resume_gives_back_the_recorded_summary(tmp_path):
    root, out = _slides(tmp_path), tmp_path / "out"
    first = analyse_slides(find_slides([root]), out=out, progress=False,
                   options=RunOptions())
    merged = (out / "summary.json").read_bytes()
    again = analyse_slides(find_slides([root]), out=out, progress=False,
                   options=RunOptions())
    assert [o.resumed for o in again] == [True, True]
    # Typed back exactly, the note on estimated sizes included.
    assert [o.summary.to_dict() for o in again] == [o.summary.to_dict() for o in first]
    assert all(o.summary.statistics.sizes_note is not None for o in again)
    assert (out / "summary.json").read_bytes() == merged


def _reseal_without_fields(out: Path, name: str) -> None:
    """A slide record that is intact (its digest matches) but whose summary this version cannot
    read: as a folder written by another version of the schema."""
    path = out / "slides" / name / RECORD_NAME
    record = json.loads(path.read_text())
    del record["record_sha256"], record["summary"]["per_field"]
    path.write_text(json.dumps(sealed(record)))


def test_a_recorded_summary_this_version_cannot_read_is_redone(tmp_path):
    root, out = _slides(tmp_path), tmp_path / "out"
    analyse_slides(find_slides([root]), out=out, progress=False,
                   options=RunOptions())
    merged = (out / "summary.json").read_bytes()
    _reseal_without_fields(out, "bccd")
    again = analyse_slides(find_slides([root]), out=out, progress=False,
                   options=RunOptions())
    assert [(o.name, o.resumed) for o in again] == [("bccd", False), ("chula", True)]
    assert (out / "summary.json").read_bytes() == merged


def test_slides_analysed_by_another_smearscan_version_are_redone(tmp_path, monkeypatch):
    """An upgrade can add checks (0.2.0: the focus of each field): a folder analysed by the
    previous version is analysed again, not resumed without them."""
    root, out = _slides(tmp_path), tmp_path / "out"
    with monkeypatch.context() as patch:
        patch.setattr("smearscan.batch.resume.__version__", "0.1.0")
        analyse_slides(find_slides([root]), out=out, progress=False, options=RunOptions())
    again = analyse_slides(find_slides([root]), out=out, progress=False, options=RunOptions())
    assert [(o.name, o.resumed) for o in again] == [("bccd", False), ("chula", False)]
    last = analyse_slides(find_slides([root]), out=out, progress=False, options=RunOptions())
    assert [(o.name, o.resumed) for o in last] == [("bccd", True), ("chula", True)]


def test_a_slide_left_in_the_folder_with_an_unreadable_summary_is_named_in_errors(tmp_path):
    root, out = _slides(tmp_path), tmp_path / "out"
    analyse_slides(find_slides([root]), out=out, progress=False,
                   options=RunOptions())
    _reseal_without_fields(out, "bccd")
    analyse_slides(find_slides([root / "chula"]), out=out, progress=False, options=RunOptions())
    assert list(json.loads((out / "summary.json").read_text())["slides"]) == ["chula"]
    errors = (out / "errors.csv").read_text()
    assert (f"bccd,,{out / 'slides' / 'bccd'}: not a smearscan slide summary: no "
            "'per_field'; left out of the merged outputs") in errors


@pytest.mark.parametrize(("key", "message"), [
    ("per_field", "not a smearscan slide summary: no 'per_field'"),
    ("objects", "not a smearscan slide summary: no 'objects'"),
])
def test_from_dict_names_a_missing_key(key, message):
    entry = {"fields": 0, "fields_failed": 0, "fields_not_analysed": 0, "objects": 0,
             "pixel_size_um": None,
             "pixel_size_estimated": False, "counts": {}, "per_field": [],
             "overlapping_fields": [], "copies": [], "median_rbc_diameter_um": None,
             "own_pixel_size_um": None, "pixel_size_trusted": False, "scale_in_doubt": False,
             "off_scale_fields": []}
    assert SlideSummary.from_dict(entry).to_dict() == entry
    with pytest.raises(ValueError, match=f"^{message}$"):
        SlideSummary.from_dict({k: v for k, v in entry.items() if k != key})


OWN, CELL = "own estimate", "median cell"


@pytest.mark.parametrize(("own", "diameter", "estimated", "doubts"), [
    (0.2, 7.5, False, ()),
    (0.2 * 1.15, 7.5, False, ()), (0.2 * 1.1501, 7.5, False, (OWN,)),  # DOUBTFUL_SCALE
    (0.2 / 1.1501, 7.5, False, (OWN,)),
    # qacli3: at a size too large round cells are cut into pieces whose median reads normal:
    # the slide's own estimate still shows it.
    (0.2 / 1.21, 7.4, False, (OWN,)),
    (None, 7.5 * 1.15, False, ()), (None, 7.5 * 1.1501, False, (CELL,)),
    (None, 7.5 / 1.1501, False, (CELL,)),
    (0.2 / 1.3, 11.0, False, (OWN, CELL)),
    (0.2 / 1.3, 11.0, True, ()),  # an estimated scale is never in doubt of itself
])
def test_a_declared_scale_is_in_doubt_beyond_the_rule_either_way(own, diameter, estimated,
                                                                 doubts):
    summary = SlideSummary(fields=(), objects=0, pixel_size_um=0.2,
                           pixel_size_estimated=estimated, median_rbc_diameter_um=diameter,
                           own_pixel_size_um=own)
    assert summary.scale_doubts == doubts
    assert summary.scale_in_doubt is bool(doubts)


def test_from_dict_of_a_slide_with_statistics_but_a_broken_block_names_it():
    entry = {"fields": 0, "fields_failed": 0, "objects": 0, "pixel_size_um": None,
             "pixel_size_estimated": False, "counts": {}, "per_field": [],
             "schistocytes": {"count": 1}}
    with pytest.raises(ValueError, match="^not a smearscan slide result: no 'rbc_counted'$"):
        SlideSummary.from_dict(entry)


@pytest.mark.parametrize(("ratio", "text"), [
    (1.63, "1.63"), (1.2, "1.20"), (1.1449, "1.14"),
    (1.1501, "1.1501"), (1.153, "1.153"),  # qacli6: "1.15x off ... more than 1.15x"
])
def test_a_factor_is_shown_past_the_limit_it_crossed(ratio, text):
    assert ratio_text(ratio, 1.15) == text
