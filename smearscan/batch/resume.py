"""Resume: which finished slides of an output folder can be trusted and reused.

A slide is reused only when four things hold:

* its **fingerprint** matches: the content hash of every field, the model file and the lab
  file, every option that changes results, the smearscan version and the input path the slide
  came from (names, sizes and modification times prove nothing: a different patient's slide
  can share them all);
* its ``slide.json`` is **intact**: it carries the SHA-256 of its own content, so an edited
  summary (a schistocyte % changed by hand) is not believed;
* its **outputs** are intact: ``slide.json`` lists the SHA-256 of every file the slide wrote
  (cells, report, thumbnails, masks, overlays), each checked again;
* **every field was read**: a field that failed because it could not be read (a Dask worker
  that did not see the file, a permission, a network file system's error) may well be read
  now, and the fingerprint cannot tell (this process read the file). A field refused for its
  content (a corrupt or grayscale image) is not tried again: its content is in the fingerprint,
  and the same content fails the same way.

Anything else redoes the slide. SHA-256 runs at ~1-2 GB/s with the CPU's SHA instructions: a
few seconds for a thousand camera fields.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

from smearscan import __version__, default_model_path
from smearscan.batch.naming import source_of
from smearscan.batch.outcome import RunOptions, SlideOutcome
from smearscan.loading import Slide, content_digest, tells_an_image
from smearscan.outputs import jsonable, write_json_atomic
from smearscan.results import SlideSummary

if TYPE_CHECKING:
    from smearscan.labs import LabRow

RECORD_NAME = "slide.json"
#: Every file a slide's analysis may write, recorded before it writes any (QA 50 F5: a run
#: killed before ``slide.json`` left field pictures no record listed, so a field since removed
#: from the slide kept its picture beside the report for good); removed once ``slide.json`` is.
PLANNED_NAME = "slide.planned.json"
_CHUNK = 1 << 20


def stale_verdict(record: dict) -> bool:
    """Whether the slide's record holds a MAHA verdict (lab values were given) made under
    other rules than today's (:func:`~smearscan.verdict.values.rules_digest`): the count stands,
    but a resumed verdict would keep a rule since corrected (QA 53 C1: a fix to the URGENT line
    did not reach a resumed slide). Not in the fingerprint, so that a review of the same cells
    still applies."""
    if record.get("fingerprint", {}).get("settings", {}).get("labs_file") is None:
        return False
    return record.get("verdict_rules") != verdict_rules(labs_given=True)


def verdict_rules(*, labs_given: bool) -> str | None:
    """What a slide's record holds of the rules its verdict was made under: the digest of
    today's (:func:`~smearscan.verdict.values.rules_digest`) when lab values were given, else
    None (no verdict). Imported here only: the verdict's modules are not every run's."""
    if not labs_given:
        return None
    from smearscan.verdict.values import rules_digest

    return rules_digest()


def verdict_rules_changed(out: Path, name: str, expected: dict) -> bool:
    """Whether the slide would resume but for a verdict made under other rules
    (:func:`stale_verdict`): what the run tells of a slide it analyses again."""
    record = _sealed_record(out, name)
    return (record is not None and _same_inputs(record.get("fingerprint"), expected)
            and stale_verdict(record))


def fingerprint(slide: Slide, options: RunOptions, out: Path | None = None, *,
                labs: str | None = None) -> dict:
    """What a slide's results depend on; a finished slide is reused only if it is unchanged.

    ``out`` is the output folder: the input path is recorded relative to it. ``labs`` is what
    the slide's outputs take of the lab file (:func:`slide_labs_digest`)."""
    if len(slide.digests) != len(slide.fields):
        slide = replace(slide, digests=tuple(map(content_digest, slide.fields)))
    files = [list(pair) for pair in slide.named_digests]
    settings = {k: str(v) for k, v in asdict(options).items()}
    settings["model"] = content_digest(options.model_path or default_model_path()
                                       ) if options.classify else None
    settings["labs_file"] = labs
    # A folder that was unreadable and is now readable but empty must not resume the old error.
    return {"version": __version__, "source": source_of(slide, out), "settings": settings,
            "files": files, "problems": list(slide.problems),
            "copies": [list(pair) for pair in slide.copies]}


def slide_labs_digest(name: str, rows: Mapping[str, LabRow] | None, source: Path | None,
                      unused_rows: tuple[str, ...], population: str) -> str | None:
    """SHA-256 of what slide ``name``'s outputs take of a lab file's ``rows``
    (:func:`~smearscan.labs.read_lab_rows`): the values that apply to it as read, or as
    written with where they stand where one is refused as the run judges them for the
    ``population`` (:meth:`~smearscan.labs.LabRow.judged`: its refusal names the row; QA 126
    M-1: a count of 0 read as a value resumed naming the row where it stood before), or,
    where none apply, the file and the rows for no slide of the run that its "no lab values"
    line names. None without a lab file.

    Not the whole file's content (QA 76 F5: a value changed in one patient's row analysed every
    slide again; F4: a slide without values resumed from a file since renamed named the old
    file)."""
    if rows is None:
        return None
    row = rows.get(name, rows.get(""))
    if row is None:
        return _canonical_digest({"missing_from": str(source), "unused_rows": list(unused_rows)})
    from smearscan.labs import LabValueError

    try:
        return _canonical_digest({"values": row.judged(population).to_dict()})
    except LabValueError:
        return _canonical_digest({"refused": row.to_dict()})


#: Settings of a fingerprint recorded as given, whose files enter it by content (``model``,
#: ``labs_file``): the same file under another spelling of its path (``./labs.json``, an
#: absolute path) changes no result (QA 62 F7: it redid every slide in full).
_PATHS_AS_GIVEN = ("model_path", "labs_path")


def _same_inputs(recorded: object, expected: dict) -> bool:
    """Whether a slide's recorded fingerprint is ``expected`` (:func:`fingerprint`), the
    spelling of the paths of :data:`_PATHS_AS_GIVEN` aside."""
    def comparable(value: object) -> object:
        if not isinstance(value, dict) or not isinstance(value.get("settings"), dict):
            return value
        settings = {k: v for k, v in value["settings"].items() if k not in _PATHS_AS_GIVEN}
        return value | {"settings": settings}

    return comparable(recorded) == comparable(json.loads(json.dumps(expected)))


def same_settings(recorded: object, expected: dict) -> bool:
    """Whether a slide's recorded fingerprint has the source and settings (lab values and model
    among them) of ``expected`` (:func:`fingerprint`), whatever its images and version."""
    if not isinstance(recorded, dict):
        return False
    return _same_inputs({key: recorded.get(key) for key in ("source", "settings")},
                        {key: expected[key] for key in ("source", "settings")})


def record_digest(record: dict) -> str:
    """SHA-256 of a slide record without its own digest (canonical JSON)."""
    return _canonical_digest({k: v for k, v in record.items() if k != "record_sha256"})


def _canonical_digest(content: object) -> str:
    """SHA-256 of ``content`` as canonical JSON (sorted keys, a file name's undecodable bytes
    as they were read)."""
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False,
                                     allow_nan=False).encode("utf-8", "surrogateescape")
                          ).hexdigest()


def sealed(record: dict) -> dict:
    """``record`` with ``record_sha256``, as written to ``slide.json``."""
    plain = json.loads(json.dumps(jsonable(record), allow_nan=False))
    return plain | {"record_sha256": record_digest(plain)}


def outputs_digests(out: Path, paths: list[Path]) -> dict[str, str | None]:
    """Path relative to ``out`` -> SHA-256, of the files a slide wrote."""
    return {path.relative_to(out).as_posix(): content_digest(path) for path in paths}


def plan_outputs(out: Path, name: str, paths: list[Path]) -> None:
    """Record (:data:`PLANNED_NAME`) the files ``paths`` the slide's analysis may write, before
    it writes any: what a killed run wrote is then known to the next (:func:`earlier_outputs`)."""
    write_json_atomic(out / "slides" / name / PLANNED_NAME, sealed(
        {"outputs": dict.fromkeys(sorted(p.relative_to(out).as_posix() for p in paths))}))


def _sealed_record(out: Path, name: str, file: str = RECORD_NAME) -> dict | None:
    """The slide's ``slide.json`` (or another record of its ``file``) if its own seal holds (the
    files it lists unchecked), else None."""
    try:
        record = json.loads((out / "slides" / name / file).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("outputs"), dict):
        return None
    try:
        intact = record.get("record_sha256") == record_digest(record)
    except (TypeError, ValueError):
        return None
    return record if intact else None


def read_record(out: Path, name: str) -> dict | None:
    """The slide's ``slide.json`` if it and every file it lists are intact, else None."""
    record = _sealed_record(out, name)
    if record is None or next(_changed_files(out, record), None) is not None:
        return None
    return record


def _changed_files(out: Path, record: dict) -> Iterator[str]:
    """The files a sealed slide record lists whose content differs from its digest, in order
    (lazily: a check of whether any did stops at the first)."""
    return (relative for relative, digest in record["outputs"].items()
            if content_digest(out / relative) != digest)


def reseal_outputs(out: Path, name: str, paths: list[Path]) -> None:
    """Record in the slide's ``slide.json`` the new digests of its outputs ``paths``, rewritten
    since the run (the report and its pictures, at sign-off). A record that is already broken
    stays so: the next run redoes the slide either way."""
    record = _sealed_record(out, name)
    if record is None:
        return
    record = {key: value for key, value in record.items() if key != "record_sha256"}
    for path in paths:
        relative = path.relative_to(out).as_posix()
        if relative in record["outputs"]:
            record["outputs"][relative] = content_digest(path)
    write_json_atomic(out / "slides" / name / RECORD_NAME, sealed(record))


def clear_superseded(out: Path, name: str) -> None:
    """Record in the slide's ``slide.json`` that the files it listed as superseded are gone,
    once they are removed: the record then reads as an uninterrupted run's, and the next run
    does not try again (QA 54 L2)."""
    record = _sealed_record(out, name)
    if record is None or not record.get("superseded"):
        return
    record = {key: value for key, value in record.items() if key != "record_sha256"}
    write_json_atomic(out / "slides" / name / RECORD_NAME, sealed(record | {"superseded": []}))


def earlier_outputs(out: Path, name: str) -> frozenset[str]:
    """The files (relative to ``out``) the slide's sealed ``slide.json`` says an earlier
    analysis wrote: its outputs and what it had superseded but maybe not yet removed; and what
    an analysis killed before its ``slide.json`` planned to write (:func:`plan_outputs`). Empty
    without a record, or with one whose seal is broken (then nothing in it is trusted)."""
    planned = _sealed_record(out, name, PLANNED_NAME)
    # Of what a killed analysis planned, what it wrote: a picture it never came to is no file
    # to supersede (and would make slide.json differ from an uninterrupted run's).
    earlier = frozenset(n for n in planned["outputs"] if (out / n).is_file()) if (
        planned is not None) else frozenset()
    record = _sealed_record(out, name)
    if record is None:
        return earlier
    superseded = record.get("superseded", ())
    if not isinstance(superseded, list):
        return earlier | frozenset(record["outputs"])
    return earlier | frozenset(record["outputs"]) | frozenset(map(str, superseded))


def recorded_fingerprints(out: Path) -> dict[str, dict]:
    """Slide name -> the input fingerprint its ``slide.json`` records, of every slide folder in
    ``out`` with a readable record (read once; :func:`recorded_sources` and
    :func:`recorded_fields` take what they need from it)."""
    fingerprints = {}
    for record_path in sorted((out / "slides").glob(f"*/{RECORD_NAME}")):
        try:
            fingerprint = json.loads(record_path.read_text(encoding="utf-8"))["fingerprint"]
        except (OSError, ValueError, RecursionError, KeyError, TypeError):
            continue
        if isinstance(fingerprint, dict):
            fingerprints[record_path.parent.name] = fingerprint
    return fingerprints


def unreadable_records(out: Path, fingerprints: dict[str, dict]) -> list[str]:
    """The slide folders of ``out`` with a ``slide.json`` that :func:`recorded_fingerprints`
    could not read (cut short by a disk error, edited into invalid JSON)."""
    return [path.parent.name for path in sorted((out / "slides").glob(f"*/{RECORD_NAME}"))
            if path.parent.name not in fingerprints]


def recorded_sources(fingerprints: dict[str, dict]) -> dict[str, str]:
    """Slide name -> input path, of :func:`recorded_fingerprints`."""
    return {name: fingerprint["source"] for name, fingerprint in fingerprints.items()
            if isinstance(fingerprint.get("source"), str)}


def recorded_fields(fingerprints: dict[str, dict]) -> dict[str, tuple[tuple[str, str | None], ...]]:
    """Slide name -> its fields (:attr:`~smearscan.loading.Slide.named_digests`), of
    :func:`recorded_fingerprints`: what :func:`~smearscan.batch.naming.named_slides` knows a
    slide moved since by."""
    return {name: files for name, fingerprint in fingerprints.items()
            if (files := fingerprint_files(fingerprint)) is not None}


def fingerprint_files(fingerprint: object) -> tuple[tuple[str, str | None], ...] | None:
    """The fields (path, SHA-256) a slide's fingerprint records; None for a malformed one."""
    try:
        return tuple((str(path), digest) for path, digest in fingerprint["files"])
    except (KeyError, TypeError, ValueError):
        return None


def fingerprint_digests(fingerprint: object) -> list[str]:
    """The SHA-256 of each image a slide's fingerprint records (:func:`tells_an_image`; none of
    a malformed one): what tells the same images under another slide name."""
    try:
        return [digest for _, digest in fingerprint["files"] if tells_an_image(digest)]
    except (KeyError, TypeError, ValueError):
        return []


def outcome_of(out: Path, name: str, record: dict, *, resumed: bool) -> SlideOutcome:
    """The :class:`SlideOutcome` a verified record stands for.

    Raises
    ------
    ValueError
        The record's summary is not one this version reads (names what is missing).
    """
    report = out / "slides" / name / "report.html"
    return SlideOutcome(name, SlideSummary.from_dict(record["summary"]),
                        errors=[tuple(e) for e in record.get("errors", [])],
                        resumed=resumed, model=record.get("model"),
                        report=report if report.is_file() else None,
                        source=record["fingerprint"]["source"],
                        superseded=tuple(record.get("superseded", ())))


def changed_outputs(out: Path, name: str, expected: dict) -> list[str]:
    """The files a finished slide wrote that changed since (a report edited by hand), when the
    slide was analysed from the same inputs and options (``expected``, its fingerprint); else
    none. Such a slide is analysed again and the files written anew: the run says so."""
    record = _sealed_record(out, name)
    if record is None or not _same_inputs(record.get("fingerprint"), expected):
        return []
    return list(_changed_files(out, record))


def unread_fields(record: dict) -> list[str]:
    """The images of a slide record's fields whose file could not be read
    (:class:`~smearscan.loading.FieldUnreadError`, recorded by the run as ``unread``), as
    opposed to files read and refused for their content."""
    unread = record.get("unread")
    return [name for name in unread if isinstance(name, str)] if isinstance(unread, list) else []


def resumed_outcome(slide: Slide, out: Path, expected: dict) -> SlideOutcome | None:
    """The finished slide's outcome when it can be reused for ``expected`` and every field of
    it was read (:func:`unread_fields`), and a verdict it holds was made under today's rules
    (:func:`stale_verdict`), else None."""
    record = read_record(out, slide.name)
    if record is None or not _same_inputs(record.get("fingerprint"), expected):
        return None
    if unread_fields(record) or stale_verdict(record):  # tried again: readable now, new rules
        return None
    try:
        return outcome_of(out, slide.name, record, resumed=True)
    except ValueError:  # a summary this version cannot read: the slide is redone
        return None
