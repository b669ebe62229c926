"""Segmentation against the point labels of Chula RBC-12 and the box centres of BCCD.

Usage::

    python scripts/evaluate_segmentation.py [--shared ../shared] [--split val] [--known-scale]
    python scripts/evaluate_segmentation.py --invariance 24 [--split val] [--no-classify]
                                            [--invariance-bccd]
    python scripts/evaluate_segmentation.py --cut-gallery elliptocyte cuts.png [--split test]
    python scripts/evaluate_segmentation.py --white-cells [--known-scale]
    python scripts/evaluate_segmentation.py --fold-models cv/folds/fold-*.onnx [--carry-labels]
    python scripts/evaluate_segmentation.py --fold-models cv/folds/fold-*.onnx --shift-floor 0.5
    python scripts/evaluate_segmentation.py --invariance 83 --shift-floor 0.3125 0.625 1.25

The first form prints, per dataset and label class, the fraction of labelled points inside a
detected object (recall), the fraction of matched points whose object holds another labelled
point (merged), the fraction of matched points whose object borders another object within
0.2 red-cell diameters of the point (cut: a labelled cell centre should lie about half a
diameter from any line that separates it from a neighbour, so a line through it cuts the cell
in two; meaningful for whole-cell classes such as macrocyte, elliptocyte, normal), of those
the fraction in pieces (the point's object and the largest object across the line together
no larger than 1.5 normal cells: one cell cut in two, where two whole cells split where they
touch are larger; an upper bound's refinement for normal-sized cells, not for macrocytes), the
fraction whose object is under 0.6 of a normal cell's area (small), and the segmentation
time per field.

The second form resamples each of N fields by 1.5x and 2x (pixel size divided accordingly),
segments both, and prints the share of whole (not border) objects of each that have an
object of intersection-over-union >= 0.5 in the other; with the shipped classifier it also
prints the net change in schistocyte calls and the calls that differ on matched objects, per
1000 red cells, and how many of those are borderline (both schistocyte probabilities within 0.1
of the threshold); and the two factors of the differing calls: matched red cells whose
probability lies within 0.05 of the threshold (per 1000; divided by 0.1, the cells per unit of
probability there) and the mean change of probability of those within 0.1. Their product
approximates the differing calls per 1000 red cells. ``--invariance-bccd`` does it on the BCCD
fields of ``--split``. ``--fold-models`` does the same with each fold model of a cross-validation on
the Chula fields it never saw (every labelled field once). ``--carry-labels`` gives the
resampled field the 1x objects instead of segmenting it again: the calls that still differ come
from the image alone, the rest from the segmentation. ``--shift-floor PX...`` measures instead,
at the field's own scale with the same objects, the calls that differ when every crop centre
moves by PX field pixels along both axes: the classifier's own sensitivity to where a crop
falls, which any resampling also moves (the floor under the differing calls above); with
``--invariance N`` instead, that of the shipped model on the first N fields of ``--split``
(fields it trained on: a measure of stability, not of accuracy).

The third form draws, for each labelled point of one class counted as cut, a 32 um tile of
the field with the object outlines (green), that point (red) and every other labelled point
(blue), so that one can see whether a single cell was cut or two cells were labelled once.

The fourth form analyses every BCCD field as ``smearscan`` does (shipped classifier) and prints,
for the white-cell boxes wholly inside the field (over 3 px from its edge), how many have at
their centre an object that is whole (not cut by the edge, so counted), how many of those are
called a white cell or an immature granulocyte, and how many objects there are larger than
1.2 times their box (a round cell fills 0.79 of it: red cells merged with it), for fields
0-41 (looked at while the rule that sets white cells apart was chosen) and the rest.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from smearscan.annotation import without_annotation
from smearscan.cli.common import shared_folder
from smearscan.datasets import bccd_boxes, bccd_fields, chula_fields, split_fields
from smearscan.features import border_flags
from smearscan.loading import read_field
from smearscan.metrics import labels_under_points, match_points, matched_objects
from smearscan.pipeline import conditioned
from smearscan.render import inner_boundaries
from smearscan.segmentation import NORMAL_RBC_DIAMETER_UM, segment_field

#: An object under this fraction of a normal red cell's area holds part of a cell at most.
_SMALL_AREA = 0.6
#: A line to another object closer than this fraction of a cell diameter runs through the cell.
_CUT_DISTANCE = 0.2
#: A cut point's object and its largest neighbour across the line holding at most this many
#: normal cells' area together are pieces of one cell; two whole cells hold about twice that.
_PIECES_AREA = 1.5
_SCALES = (1.5, 2.0)
#: A differing call whose two schistocyte probabilities both lie within this of the threshold
#: is a borderline cell tipped over by a small change, not a cell seen differently.
_NEAR_THRESHOLD = 0.1


def evaluate(fields, *, known_scale: bool) -> dict[str, list[float]]:
    """Per class: points, matched, merged, cut, small; plus the median diameter and ms/field."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    diameters, seconds = [], 0.0
    for field in fields:
        rgb = conditioned(read_field(field.image)).rgb  # as analysis sees it
        start = time.perf_counter()
        seg = segment_field(rgb, pixel_size_um=field.pixel_size_um if known_scale else None)
        seconds += time.perf_counter() - start
        diameters.append(seg.rbc_diameter_px)
        by_class = defaultdict(list)
        for x, y, label in field.points:
            by_class[label].append((x, y))
            by_class["all"].append((x, y))
        diameter = NORMAL_RBC_DIAMETER_UM / field.pixel_size_um
        cell_area = np.pi * (diameter / 2) ** 2
        area = np.bincount(seg.labels.ravel())
        near_line = _near_other_object(seg.labels, _CUT_DISTANCE * diameter)
        for label, xy in by_class.items():
            m = match_points(seg.labels, np.array(xy))
            hit = labels_under_points(seg.labels, xy)
            inside = hit > 0
            is_cut = _is_cut(seg.labels, near_line, xy)
            pieces = int(_in_pieces(seg.labels, area, hit[is_cut], _PIECES_AREA * cell_area).sum())
            small = int(np.sum(area[hit[inside]] < _SMALL_AREA * cell_area))
            for i, v in enumerate((m.points, m.matched, m.merged, int(is_cut.sum()), pieces,
                                   small)):
                totals[label][i] += v
    totals["_diameter_px_median"] = [float(np.median(diameters))]
    totals["_ms_per_field"] = [1000 * seconds / max(len(fields), 1)]
    return totals


def _near_other_object(labels: np.ndarray, radius: float) -> np.ndarray:
    """Object pixels within ``radius`` px of a pixel of another object that touches them."""
    values = labels.astype(np.float32)
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    shared = (labels > 0) & ((cv2.dilate(values, cross) != values)
                             | (cv2.erode(values, cross) != values))
    # Pixels on a line between two objects, not on an object's edge with the background.
    shared &= cv2.erode(values, cross) > 0
    far = cv2.distanceTransform((~shared).astype(np.uint8), cv2.DIST_L2, 5)
    return ((far <= radius) & (labels > 0)).astype(np.uint8)


def _is_cut(labels: np.ndarray, near_line: np.ndarray, xy: list) -> np.ndarray:
    """Per point: inside an object and within the cut distance of a line to another object
    (``near_line`` from :func:`_near_other_object`)."""
    return (labels_under_points(labels, xy) > 0) & (labels_under_points(near_line, xy) > 0)


def _in_pieces(labels: np.ndarray, area: np.ndarray, objects: np.ndarray,
               max_area: float) -> np.ndarray:
    """Per object (of cut points): it and the largest object touching it hold at most
    ``max_area`` px together (``area``: pixels per label)."""
    pieces = np.zeros(len(objects), dtype=bool)
    for i, label in enumerate(objects):
        mask = (labels == label).astype(np.uint8)
        ring = cv2.dilate(mask, np.ones((3, 3), np.uint8)).astype(bool) & (mask == 0)
        neighbours = np.unique(labels[ring & (labels > 0)])
        largest = area[neighbours].max(initial=0)
        pieces[i] = area[label] + largest <= max_area
    return pieces


def cut_points(field, label: str, labels: np.ndarray) -> list[tuple[float, float]]:
    """The labelled points of class ``label`` that the cut rule of :func:`evaluate` counts."""
    xy = [(x, y) for x, y, name in field.points if name == label]
    if not xy:
        return []
    diameter = NORMAL_RBC_DIAMETER_UM / field.pixel_size_um
    cut = _is_cut(labels, _near_other_object(labels, _CUT_DISTANCE * diameter), xy)
    return [point for point, is_cut in zip(xy, cut, strict=True) if is_cut]


def cut_gallery(fields, label: str, out: Path, *, known_scale: bool) -> int:
    """Write the tiles of the cut points of class ``label`` (see module docstring) to ``out``,
    segmenting as :func:`evaluate` does; returns their number."""
    tiles = []
    for field in fields:
        rgb = conditioned(read_field(field.image)).rgb  # as analysis sees it
        labels = segment_field(
            rgb, pixel_size_um=field.pixel_size_um if known_scale else None).labels
        points = cut_points(field, label, labels)
        if not points:
            continue
        drawn = rgb.copy()
        drawn[inner_boundaries(labels)] = (0, 200, 0)
        for x, y, _ in field.points:
            cv2.circle(drawn, (round(x), round(y)), 3, (0, 0, 255), -1)
        half = round(2 * NORMAL_RBC_DIAMETER_UM / field.pixel_size_um)
        padded = cv2.copyMakeBorder(drawn, half, half, half, half, cv2.BORDER_CONSTANT)
        for x, y in points:
            tile = padded[round(y):round(y) + 2 * half, round(x):round(x) + 2 * half].copy()
            cv2.circle(tile, (half, half), 3, (255, 0, 0), -1)
            tiles.append(cv2.resize(tile, (160, 160), interpolation=cv2.INTER_AREA))
    count = len(tiles)
    if tiles:
        tiles += [np.zeros_like(tiles[0])] * (-count % 5)
        rows = [np.hstack(tiles[i:i + 5]) for i in range(0, len(tiles), 5)]
        cv2.imwrite(str(out), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))
    return count


#: BCCD fields numbered up to this were looked at while choosing the rule that sets a white cell
#: apart from the red cells pressed against it (segmentation's _NUCLEUS_MIN_AREA).
_WHITE_CELL_FIELDS_SEEN = 41
#: An object larger than this many times its white cell's box holds red cells too.
_MERGED_BOX = 1.2


def white_cells(root: Path, *, known_scale: bool) -> None:
    """Print the white-cell table of the module docstring's fourth form for BCCD at ``root``."""
    from smearscan import analyse_image
    from smearscan.pipeline import cached_model

    model = cached_model(None)
    rows = defaultdict(lambda: [0, 0, 0, 0])
    for field in bccd_fields(root):
        analysis = analyse_image(field.image, model=model, trust_pixel_size=known_scale,
                                 pixel_size_um=field.pixel_size_um if known_scale else None)
        height, width = analysis.labels.shape
        ids = list(analysis.cells["cell_id"])
        group = (f"fields 0-{_WHITE_CELL_FIELDS_SEEN} (looked at)"
                 if int(field.image.stem.rsplit("_", 1)[1]) <= _WHITE_CELL_FIELDS_SEEN
                 else f"fields {_WHITE_CELL_FIELDS_SEEN + 1}-410")
        for name, x0, y0, x1, y1 in bccd_boxes(root / "Annotations" / f"{field.image.stem}.xml"):
            if name != "WBC" or min(x0, y0) <= 3 or x1 >= width - 3 or y1 >= height - 3:
                continue
            counts = rows[group]
            counts[0] += 1
            label = analysis.labels[int((y0 + y1) / 2), int((x0 + x1) / 2)]
            if not label:
                continue
            row = ids.index(label)
            whole = not analysis.cells["border"][row]
            counts[1] += whole
            counts[2] += whole and analysis.cells["class"][row] in ("wbc", "immature_granulocyte")
            counts[3] += analysis.cells["area_px"][row] > _MERGED_BOX * (x1 - x0) * (y1 - y0)
    scale = "declared" if known_scale else "estimated"
    print(f"\n### BCCD white cells wholly inside the field, scale {scale}\n")
    print("| fields | boxes | whole object | whole, called a white cell | object over 1.2 boxes |")
    print("|---|---:|---:|---:|---:|")
    for group, (boxes, whole, called, merged) in sorted(rows.items()):
        print(f"| {group} | {boxes} | {whole} | {called} | {merged} |")


def print_table(name: str, totals: dict[str, list[float]]) -> None:
    print(f"\n### {name} (median estimated RBC diameter "
          f"{totals.pop('_diameter_px_median')[0]:.1f} px, segmentation "
          f"{totals.pop('_ms_per_field')[0]:.1f} ms/field)\n")
    print("| class | points | recall | merged | cut | in pieces | small |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label in sorted(totals, key=lambda k: (k != "all", k)):
        n, matched, merged, cut, pieces, small = totals[label]
        print(f"| {label} | {n} | {matched / max(n, 1):.4f} | {merged / max(matched, 1):.4f} "
              f"| {cut / max(matched, 1):.4f} ({cut:.0f}) | {pieces / max(matched, 1):.4f} "
              f"({pieces:.0f}) | {small / max(matched, 1):.4f} |")


def resampled(rgb: np.ndarray, scale: float) -> np.ndarray:
    """The field resampled by ``scale`` (bicubic, as a camera of finer pixels would see it)."""
    size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC)


def invariance(jobs: list[tuple[list, object]], *, carry_labels: bool = False) -> None:
    """Print the object and schistocyte-call agreement between scales (see module docstring)
    over ``(fields, model)`` jobs (model None: objects only), summed. With ``carry_labels`` the
    resampled field keeps the 1x objects (resampled) instead of being segmented again, so that
    differing calls come from the image alone."""
    rows = defaultdict(lambda: np.zeros(11))
    for fields, model in jobs:
        for field in fields:
            _add_field(rows, field, model, carry_labels=carry_labels)
    classified = any(model is not None for _, model in jobs)
    print(f"\n### Invariance under resampling, {sum(len(f) for f, _ in jobs)} fields, declared "
          "pixel size\n")
    print("| scale | objects 1x | matched | objects sx | matched | red cells 1x "
          "| net schistocyte change /1000 RBC | differing calls /1000 RBC "
          f"| of which both p within {_NEAR_THRESHOLD:g} of the threshold "
          f"| matched red cells within {_NEAR_THRESHOLD / 2:g} of it /1000 RBC "
          f"| their mean change of p (within {_NEAR_THRESHOLD:g}) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for scale, (na, ma, nb, mb, red, net, differ, near, close, change, counted) in rows.items():
        calls = (f"{1000 * net / max(red, 1):+.2f} | {1000 * differ / max(red, 1):.2f} "
                 f"| {near:.0f} of {differ:.0f} | {1000 * close / max(red, 1):.2f} "
                 f"| {change / max(counted, 1):.3f}" if classified else "- | - | - | - | -")
        print(f"| {scale:g} | {na:.0f} | {ma / max(na, 1):.4f} | {nb:.0f} | {mb / max(nb, 1):.4f} "
              f"| {red:.0f} | {calls} |")


def _add_field(rows: dict, field, model, *, carry_labels: bool = False) -> None:
    """Add one field's counts at each scale to ``rows``: the field as taken resampled, each
    then conditioned as analysis does it (QA 88 F1: resampled after its scale bar was painted
    out, the finer field never showed the bar)."""
    rgb = read_field(field.image)
    base = _analysed(rgb, field.pixel_size_um, model)
    for scale in _SCALES:
        image = resampled(rgb, scale)
        carried = (cv2.resize(base[0], image.shape[1::-1], interpolation=cv2.INTER_NEAREST_EXACT)
                   if carry_labels else None)
        big = _analysed(image, field.pixel_size_um / scale, model, labels=carried)
        back = cv2.resize(big[0], rgb.shape[1::-1], interpolation=cv2.INTER_NEAREST_EXACT)
        a_to_b, b_to_a = matched_objects(base[0], back)
        whole_a, whole_b = ~base[1], ~big[1]
        row = rows[scale]
        row[0] += whole_a.sum()
        row[1] += np.count_nonzero(a_to_b[1:][whole_a])
        row[2] += whole_b.sum()
        row[3] += np.count_nonzero(b_to_a[1:][whole_b])
        if model is not None:
            red_a, schisto_a, p_a = base[2:]
            schisto_b, p_b = big[3:]
            row[4] += np.count_nonzero(red_a & whole_a)
            row[5] += (np.count_nonzero(schisto_b & whole_b)
                       - np.count_nonzero(schisto_a & whole_a))
            pairs = np.flatnonzero(a_to_b[1:] > 0)
            other = a_to_b[1:][pairs] - 1
            row[6:] += changed_calls(schisto_a[pairs], schisto_b[other], p_a[pairs],
                                     p_b[other], whole_a[pairs], red_a[pairs] & whole_a[pairs],
                                     model.thresholds["schistocyte"])


def changed_calls(schisto_a: np.ndarray, schisto_b: np.ndarray, p_a: np.ndarray,
                  p_b: np.ndarray, counted: np.ndarray, red: np.ndarray,
                  threshold: float) -> np.ndarray:
    """Between two scorings of the same objects: the ``counted`` objects whose schistocyte call
    differs, of which borderline (both probabilities within :data:`_NEAR_THRESHOLD` of
    ``threshold``), and the :func:`near_threshold` factors over the ``red`` objects."""
    differ = (schisto_a != schisto_b) & counted
    near = ((np.abs(p_a - threshold) <= _NEAR_THRESHOLD)
            & (np.abs(p_b - threshold) <= _NEAR_THRESHOLD))
    return np.array([np.count_nonzero(differ), np.count_nonzero(differ & near),
                     *near_threshold(p_a, p_b, red, threshold)])


def near_threshold(p_a: np.ndarray, p_b: np.ndarray, red: np.ndarray,
                   threshold: float) -> np.ndarray:
    """The two factors of the calls that differ between two scorings of the same objects
    (differing calls ~ red cells per unit of probability at the threshold x mean change of
    probability there): of the ``red`` objects, how many lie within half of
    :data:`_NEAR_THRESHOLD` of ``threshold`` in ``p_a``, the summed change ``|p_b - p_a|`` of
    those within :data:`_NEAR_THRESHOLD`, and their number."""
    offset = np.abs(p_a - threshold)
    within = red & (offset <= _NEAR_THRESHOLD)
    return np.array([np.count_nonzero(red & (offset <= _NEAR_THRESHOLD / 2)),
                     np.abs(p_b - p_a)[within].sum(), np.count_nonzero(within)])


def shift_floor(jobs: list[tuple[list, object]], shifts: list[float]) -> None:
    """Print, per crop shift, the schistocyte calls that differ from the unshifted ones over
    ``(fields, model)`` jobs (see module docstring), with the same columns as
    :func:`invariance`."""
    rows = {shift: np.zeros(7) for shift in shifts}
    for fields, model in jobs:
        for field in fields:
            rgb = conditioned(read_field(field.image)).rgb  # as analysis sees it
            for shift in shifts:
                rows[shift] += shifted_calls(rgb, field.pixel_size_um, model, shift)
    print(f"\n### Calls under a crop shift, {sum(len(f) for f, _ in jobs)} fields, same scale "
          "and objects\n")
    print("| shift (px, both axes) | red cells | net schistocyte change /1000 RBC "
          "| differing calls /1000 RBC "
          f"| of which both p within {_NEAR_THRESHOLD:g} of the threshold "
          f"| red cells within {_NEAR_THRESHOLD / 2:g} of it /1000 RBC "
          f"| their mean change of p (within {_NEAR_THRESHOLD:g}) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for shift, (red, net, differ, near, close, change, counted) in rows.items():
        print(f"| {shift:g} | {red:.0f} | {1000 * net / max(red, 1):+.2f} "
              f"| {1000 * differ / max(red, 1):.2f} | {near:.0f} of {differ:.0f} "
              f"| {1000 * close / max(red, 1):.2f} | {change / max(counted, 1):.3f} |")


def shifted_calls(rgb: np.ndarray, pixel_size_um: float, model, shift: float) -> np.ndarray:
    """One field's (whole red cells, net schistocyte change, differing calls, of which
    borderline, and the :func:`near_threshold` factors) when every crop centre moves by
    ``shift`` pixels along both axes, with the same objects."""
    from smearscan.features import cell_table
    from smearscan.pipeline import classified_columns

    labels = segment_field(rgb, pixel_size_um=pixel_size_um).labels
    count = int(labels.max(initial=0))
    if count == 0:
        return np.zeros(7)
    cells = cell_table(labels, rgb, pixel_size_um=pixel_size_um)
    height, width = labels.shape
    moved = {**cells, "x": np.clip(cells["x"] + shift, 0, width - 1),
             "y": np.clip(cells["y"] + shift, 0, height - 1)}
    a, b = (classified_columns(rgb, labels, table, pixel_size_um=pixel_size_um, model=model)
            for table in (cells, moved))
    whole = ~cells["border"]
    schisto_a, schisto_b = a["class"] == "schistocyte", b["class"] == "schistocyte"
    red = (schisto_a | (a["class"] == "rbc")) & whole
    return np.array([np.count_nonzero(red),
                     np.count_nonzero(schisto_b & red) - np.count_nonzero(schisto_a & red),
                     *changed_calls(schisto_a, schisto_b, a["p_schistocyte"], b["p_schistocyte"],
                                    red, red, model.thresholds["schistocyte"])])


def held_out_jobs(paths: list[Path], chula: list) -> list[tuple[list, object]]:
    """Each fold model (``scripts/cross_validate.py --save-folds``) with the Chula fields it
    never saw, from its metadata."""
    from smearscan.classification import load_model

    jobs = []
    for path in paths:
        model = load_model(path)
        names = set(model.metadata["training"]["held_out_fields"])
        jobs.append(([field for field in chula if field.image.name in names], model))
    return jobs


def _analysed(taken: np.ndarray, pixel_size_um: float, model, *,
              labels: np.ndarray | None = None):
    """Of the field ``taken`` (as the camera gave it), conditioned as analysis does it: labels,
    border flags (cut by the picture's edge or a painted-out annotation, as analysis leaves
    them out), red-cell and schistocyte flags and schistocyte probabilities (None without a
    model) per object; ``labels`` given: those objects instead of the field's segmentation."""
    rgb = conditioned(taken).rgb
    if labels is None:
        labels = segment_field(rgb, pixel_size_um=pixel_size_um).labels
    labels, touched = without_annotation(labels, taken)
    count = int(labels.max(initial=0))
    border = border_flags(labels, count, NORMAL_RBC_DIAMETER_UM / pixel_size_um) | touched
    if model is None or count == 0:
        return labels, border, None, None, None
    from smearscan.features import cell_table
    from smearscan.pipeline import classified_columns

    cells = cell_table(labels, rgb, pixel_size_um=pixel_size_um)
    columns = classified_columns(rgb, labels, cells, pixel_size_um=pixel_size_um, model=model)
    schisto = columns["class"] == "schistocyte"
    return (labels, border, schisto | (columns["class"] == "rbc"), schisto,
            columns["p_schistocyte"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=shared_folder,
                        default=str(Path(__file__).parents[1] / "../shared"))
    parser.add_argument("--split", default="val", help="train, val, test or all (Chula)")
    parser.add_argument("--known-scale", action="store_true",
                        help="give the declared pixel size instead of estimating it")
    parser.add_argument("--no-bccd", action="store_true", help="Chula only")
    parser.add_argument("--invariance", type=int, metavar="N",
                        help="measure invariance under resampling on the first N fields")
    parser.add_argument("--no-classify", action="store_true",
                        help="with --invariance: compare objects only")
    parser.add_argument("--invariance-bccd", action="store_true",
                        help="with --invariance: the BCCD fields of --split instead of Chula's "
                             "(the shipped model trained on BCCD's train split only)")
    parser.add_argument("--fold-models", type=Path, nargs="+", metavar="MODEL",
                        help="invariance of each fold model of scripts/cross_validate.py "
                             "--save-folds on the Chula fields it never saw, summed")
    parser.add_argument("--carry-labels", action="store_true",
                        help="with --fold-models or --invariance: the resampled field keeps the "
                             "1x objects, so that differing calls come from the image alone")
    parser.add_argument("--shift-floor", type=float, nargs="+", metavar="PX",
                        help="with --fold-models or --invariance: the calls that differ when "
                             "every crop centre moves by PX pixels along both axes, same scale "
                             "and objects")
    parser.add_argument("--cut-gallery", nargs=2, metavar=("CLASS", "PNG"),
                        help="draw the labelled points of CLASS counted as cut, then stop")
    parser.add_argument("--white-cells", action="store_true",
                        help="BCCD's boxed white cells: whole, called, merged with red cells")
    args = parser.parse_args()
    if args.shift_floor and args.no_classify:
        parser.error("--shift-floor measures the classifier's calls: drop --no-classify")
    data = args.shared / "datasets"
    if args.white_cells:
        white_cells(data / "bccd", known_scale=args.known_scale)
        return
    chula = chula_fields(data / "chula-rbc-12")
    if args.split != "all":
        chula = split_fields(chula)[args.split]
    if args.cut_gallery:
        label, out = args.cut_gallery
        count = cut_gallery(chula, label, Path(out), known_scale=args.known_scale)
        print(f"{count} {label} points counted as cut: {out}")
        return
    if args.fold_models:
        jobs = held_out_jobs(args.fold_models, chula_fields(data / "chula-rbc-12"))
        if args.shift_floor:
            shift_floor(jobs, args.shift_floor)
        else:
            invariance(jobs, carry_labels=args.carry_labels)
        return
    if args.invariance:
        model = None
        if not args.no_classify:
            from smearscan.pipeline import cached_model
            model = cached_model(None)
        fields = chula
        if args.invariance_bccd:
            fields = bccd_fields(data / "bccd")
            if args.split != "all":
                fields = split_fields(fields)[args.split]
        if args.shift_floor:
            shift_floor([(fields[:args.invariance], model)], args.shift_floor)
        else:
            invariance([(fields[:args.invariance], model)], carry_labels=args.carry_labels)
        return
    print_table(f"Chula RBC-12, {args.split} split, {len(chula)} fields",
                evaluate(chula, known_scale=args.known_scale))
    if not args.no_bccd:
        bccd = bccd_fields(data / "bccd")
        print_table(f"BCCD, {len(bccd)} fields", evaluate(bccd, known_scale=args.known_scale))


if __name__ == "__main__":
    main()
