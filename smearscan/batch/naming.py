"""Output names: one folder per input slide, one file name per field, none able to escape.

A slide's name is its folder below ``DIR/slides`` (and ``masks``, ``overlays``) and its key in
the merged outputs. It comes from the input's name, made safe (no separators, no ``..``, no
control characters), and is unique per input path within an output folder: an input whose
name is already taken, in this run or by a slide an earlier run wrote, gets a suffix derived
from its path (stable: the same input always gets the same name). ``slide.json`` and
``summary.json`` record which input each name stands for.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from smearscan.loading import Slide

#: Longest slide name kept (bytes of UTF-8): room for the suffix within a 255-byte file name.
_MAX_NAME_BYTES = 200


def safe_name(name: str) -> str:
    """``name`` as a single, harmless path component.

    Separators and control characters become ``_``; a name of dots only (``..`` comes from an
    image named ``...jpg``) or an empty one gets a leading ``_``; over-long names are cut.
    """
    cleaned = "".join("_" if c in "/\\" or unicodedata.category(c) in ("Cc", "Cs") else c
                      for c in name)
    if not cleaned.strip("."):
        cleaned = "_" + cleaned
    return cleaned.encode("utf-8")[:_MAX_NAME_BYTES].decode("utf-8", errors="ignore")


def source_of(slide: Slide, out: Path | None = None) -> str:
    """The input path a slide stands for, relative to the output folder ``out`` when given
    (absolute otherwise, or on another drive): results copied or moved together with their
    inputs still know them. Symlinks are kept: a linked slide folder is named after the link."""
    source = os.path.abspath(slide.origin)
    if out is None:
        return source
    try:
        return Path(os.path.relpath(source, os.path.abspath(out))).as_posix()
    except ValueError:  # Windows: another drive
        return source


def _suffixed(name: str, source: str) -> str:
    return f"{name}-{hashlib.sha256(os.fsencode(source)).hexdigest()[:8]}"


#: A slide of a results folder moved away from its inputs is the recorded slide of its name when
#: more than this share of the fields of each are the same images (relative name and SHA-256): a
#: field added, removed or taken again keeps its name; a folder half of whose fields are another
#: patient's, or a tenth of the recorded slide, does not (this tool's rule; qacli6 MEDIUM-1, -3).
MOVED_SLIDE_SHARE = 0.5


def named_slides(slides: list[Slide], recorded: dict[str, str], out: Path | None = None, *,
                 recorded_fields: Mapping[str, tuple[tuple[str, str | None], ...]] | None = None
                 ) -> list[Slide]:
    """``slides`` renamed to their output names.

    Parameters
    ----------
    slides : list of Slide
    recorded : dict of str to str
        Output folder name -> input path, of the slides an earlier run finished in the folder.
    out : Path or None
        The output folder (input paths are recorded relative to it).
    recorded_fields : mapping, keyword-only
        Output folder name -> its fields (relative path, SHA-256), of the same slides: a slide
        whose recorded input path is not in this run, and whose fields (with their
        :attr:`~smearscan.loading.Slide.digests`) share more than :data:`MOVED_SLIDE_SHARE` of
        its own and of the recorded slide's of its name, moved (or its output folder did) and
        keeps that name (qacli3: a results folder moved to an archive renamed every slide
        ``s1-c430492e`` and refused the lab file by slide name); of several, the closest.

    Returns
    -------
    list of Slide
        Same order; names safe and unique, an input keeping the name it had before.
    """
    by_source = {source: name for name, source in recorded.items()}
    taken = dict(recorded)
    wanted = {safe_name(slide.name) for slide in slides}
    sources = {source_of(slide, out) for slide in slides}
    moved = _moved_names(slides, recorded, recorded_fields or {}, sources)
    named = []
    for index, slide in enumerate(slides):
        source = source_of(slide, out)
        name = by_source.get(source)
        if name is None and index in moved:
            name = moved[index]
            taken[name] = source
        if name is None or taken.get(name) not in (None, source) or name in _this_run(named):
            name = _free_name(safe_name(slide.name), source, taken, wanted, _this_run(named))
        taken[name] = source
        named.append(replace(slide, name=name))
    return named


def _moved_names(slides: list[Slide], recorded: dict[str, str],
                 recorded_fields: Mapping[str, tuple[tuple[str, str | None], ...]],
                 sources: set[str]) -> dict[int, str]:
    """Index in ``slides`` -> the recorded name it keeps, for the slides that moved (see
    :func:`named_slides`); of several matching one name, the one sharing most (qacli6 MEDIUM-2:
    a partial copy given first took the name of the exact slide given after it)."""
    best: dict[str, tuple[float, int]] = {}
    for index, slide in enumerate(slides):
        name = safe_name(slide.name)
        if len(slide.digests) != len(slide.fields) or recorded.get(name) in (None, *sources):
            continue
        share = _shared_share(slide.named_digests, recorded_fields.get(name, ()))
        if share > MOVED_SLIDE_SHARE and share > best.get(name, (0.0, -1))[0]:
            best[name] = (share, index)
    return {index: name for name, (_, index) in best.items()}


def moved_note(slide: Slide, recorded: dict[str, str],
               recorded_fields: Mapping[str, tuple[tuple[str, str | None], ...]],
               out: Path | None) -> str | None:
    """The note on a slide (named by :func:`named_slides`) that kept the name of a recorded
    slide read from another path, with other fields: how many are the same images, new and
    missing (qacli7: 9 new fields of 19 went unsaid); None for any other slide."""
    then, now = _known(recorded_fields.get(slide.name, ())), _known(slide.named_digests)
    if recorded.get(slide.name) in (None, source_of(slide, out)) or not then or now == then:
        return None
    return (f"slide {slide.name!r}: named after the slide of that name an earlier run read from "
            f"{recorded[slide.name]} (its results folder moved?), with {len(now & then)} of its "
            f"{len(slide.fields)} fields the same images: {len(now - then)} new, "
            f"{len(then - now)} of the earlier ones missing")


def renamed_notes(given: list[Slide], named: list[Slide], recorded: dict[str, str],
                  out: Path | None) -> list[str]:
    """A line for each slide of ``given`` that :func:`named_slides` wrote (``named``, same order)
    under another name than its own, naming the input that holds its own (QA 76 F8: a second
    ``p1`` became ``p1-7a4a0a5e`` without a word, and a lab row ``p1`` was then refused as for
    no slide of the run)."""
    this_run = {slide.name: source_of(slide, out) for slide in named}
    notes = []
    for before, after in zip(given, named, strict=True):
        wanted = safe_name(before.name)
        if after.name == wanted:
            continue
        if wanted in this_run:
            why = f"another input of this run, {this_run[wanted]}, has that name"
        elif wanted in recorded:
            why = f"an earlier run wrote a slide of that name here from {recorded[wanted]}"
        else:
            why = "an earlier run wrote it under that name"
        notes.append(f"slide {wanted!r} ({this_run[after.name]}) is written as {after.name!r}: "
                     f"{why}; its results, and a lab file's row for it, go by {after.name!r}")
    return notes


def _shared_share(now: Iterable[tuple[str, str | None]],
                  then: Iterable[tuple[str, str | None]]) -> float:
    """The smaller of the shares of the fields of ``now`` and of ``then`` (relative path,
    SHA-256) that both hold; fields without a digest hold nothing."""
    now_known, then_known = _known(now), _known(then)
    if not now_known or not then_known:
        return 0.0
    both = len(now_known & then_known)
    return min(both / len(now_known), both / len(then_known))


def _known(fields: Iterable[tuple[str, str | None]]) -> set[tuple[str, str]]:
    """The (relative path, SHA-256) pairs of the fields whose content could be read."""
    return {(path, digest) for path, digest in fields if digest is not None}


def _this_run(named: list[Slide]) -> set[str]:
    return {slide.name for slide in named}


def _free_name(base: str, source: str, taken: dict[str, str], wanted: set[str],
               used: set[str]) -> str:
    """``base`` if no other input holds it, else ``base-<hash of the path>`` (then ``-2``...)."""
    if base not in used and taken.get(base) in (None, source):
        return base
    name, count = _suffixed(base, source), 1
    while name in used or name in wanted or taken.get(name) not in (None, source):
        count += 1
        name = f"{_suffixed(base, source)}-{count}"
    return name


def field_stems(images: list[str]) -> list[str]:
    """Per field (its path relative to the slide), the name of its mask/overlay/thumbnail.

    The image's path without its suffix, or with it where that would clash (``x.jpg`` and
    ``x.png``; ``x.jpg.bmp`` and ``x.jpg``); a component of dots only gets a leading ``_``.
    """
    stems = [Path(image).with_suffix("").as_posix() for image in images]
    while True:
        clashes = {stem for stem, count in Counter(stems).items() if count > 1}
        if not clashes:
            break
        stems = [image if stem in clashes else stem
                 for image, stem in zip(images, stems, strict=True)]
    return ["/".join(part if part.strip(".") else "_" + part for part in stem.split("/"))
            for stem in stems]
