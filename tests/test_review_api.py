"""The review app's JSON API on a real batch run's results, served on 127.0.0.1."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from review_support import SAMPLES, analysed, running
from synthetic import grid_centres, image_quality, synthetic_field

from smearscan.batch.resume import plan_outputs, read_record, sealed
from smearscan.classes import MORPHOLOGY_CLASSES
from smearscan.classification import CLASSES, CROP_SIZE
from smearscan.cli import main, train_parser
from smearscan.loading import read_field
from smearscan.outputs import LOCK_NAME, claim_output_folder, folder_lock, read_csv_rows
from smearscan.overlap import FieldOverlap
from smearscan.results import SlideSummary, cells_seen_again
from smearscan.review import images
from smearscan.review.app import TOKEN_HEADER, create_app
from smearscan.review.corrections import export_corrections, read_corrections
from smearscan.review.folder import ResultsFolder
from smearscan.review.galleries import MAX_GALLERY, galleries
from smearscan.review.records import ReviewError
from smearscan.review.reviews import PENDING_FILE, REVIEW_FILE
from smearscan.slide_stats import SIZE_MORPHOLOGIES, rogan_gladen_interval, slide_result
from smearscan.verdict.values import rules_digest

TOKEN = "test-token"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """The batch analysis of the test slides, once for the module (copied by each test)."""
    return analysed(tmp_path_factory.mktemp("review-api"))


@pytest.fixture
def out(results, tmp_path):
    copy = tmp_path / "results"
    shutil.copytree(results, copy)
    return copy


@pytest.fixture
def api(out):
    with running(create_app(out, token=TOKEN)) as url:
        yield Client(url)


class Client:
    """A few lines of urllib: status and JSON of each request."""

    def __init__(self, url: str) -> None:
        self.url = url

    def request(self, method: str, path: str, body: object = None, *, token: str | None = TOKEN,
                raw: bytes | None = None, headers: dict | None = None) -> tuple[int, object]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None
                                            else None)
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers=headers or {})
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token is not None:
            request.add_header(TOKEN_HEADER, token)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, content, kind = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, content, kind = error.code, error.read(), error.headers
        if kind.get_content_type() == "application/json":
            return status, json.loads(content)
        return status, content

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def put_class(self, slide, image, cell_id, label, seen=None, **kw):
        body = {"class": label} | ({} if seen is None else {"seen": seen})
        return self.request("PUT", f"/api/slides/{slide}/cells/{image}/{cell_id}", body, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body if body is not None else {}, **kw)

    def sign_off(self, slide, reviewer, **body):
        """A sign-off from a page that showed every cell of the slide's galleries."""
        shown = gallery_cells(self.get(f"/api/slides/{slide}")[1])
        return self.post(f"/api/slides/{slide}/signoff",
                         {"reviewer": reviewer, "displayed": shown} | body)


def gallery_cells(state: dict) -> list[list]:
    """The ``[image, cell_id]`` of every cell of a slide's galleries (its ``GET`` state)."""
    return [list(c) for c in sorted({(c["image"], c["cell_id"])
                                     for cells in state["galleries"].values() for c in cells})]


def _cells(out, slide="positive"):
    return read_csv_rows(out / "slides" / slide / "cells.csv")


def _called(out, label="schistocyte", slide="positive"):
    return [r for r in _cells(out, slide) if r["class"] == label and r["border"] == "false"]


def _expected(out, changes: dict, slide="positive") -> dict:
    """The batch statistics of the slide's cells with some classes changed, computed here."""
    rows = _cells(out, slide)
    label = np.array([changes.get((r["image"], int(r["cell_id"])), r["class"]) for r in rows])
    recorded = json.loads((out / "slides" / slide / "slide.json").read_text())
    widths = [f["edge_width_um"] for f in recorded["summary"]["per_field"]]
    overlaps = [FieldOverlap.from_dict(o) for o in recorded["summary"]["overlapping_fields"]]
    return slide_result(label=label, morphology=np.array([r["morphology"] for r in rows]),
                        border=np.array([r["border"] == "true" for r in rows]),
                        operating=recorded["model"]["operating_points"],
                        edge_widths_um=widths,
                        touching=np.array([r["touching"] == "true" for r in rows]),
                        repeated=cells_seen_again(overlaps)).to_dict()


def _reviewed_classes(out, slide="positive"):
    return {(r["image"], int(r["cell_id"])): r["reviewed_class"]
            for r in read_csv_rows(out / "cells.csv") if r["slide"] == slide}


def _model_classes(out, slide="positive"):
    return {(r["image"], int(r["cell_id"])): r["class"] for r in _cells(out, slide)}


def _shown(folder: ResultsFolder, slide: str) -> list[list]:
    """Every cell of the slide's galleries, as a page that showed them all sends them."""
    _, cells = folder.classified(slide)
    rows = np.concatenate(list(galleries(cells, folder.labels(slide)).values()))
    return [[str(cells.image[r]), int(cells.cell_id[r])] for r in rows]


def _merged(out):
    return json.loads((out / "summary.json").read_text())["slides"]


def test_slides_lists_every_slide_with_the_model_result(api, out):
    status, body = api.get("/api/slides")
    assert status == 200
    # The % the call rests on, as the terminal table and the report give it: the lowered
    # model has error rates, so corrected (the raw % of the positive slide is 2.0465); the
    # interval runs from the labelled-point reading's low bound (1.75%) to the whole-field
    # reading's high one (21.99%; 12 red cells of the negative slide: up to 100%).
    assert body["slides"] == [
        {"slide": "negative", "status": "not reviewed", "classified": True,
         "schistocyte_percent": 0.0, "schistocyte_ci95": [0.0, 100.0],
         "call_basis": "corrected", "schistocytes": "0.00 (0.00-100.00) corrected",
         "call": "insufficient", "shared_with": []},
        {"slide": "positive", "status": "not reviewed", "classified": True,
         "schistocyte_percent": 3.0111, "schistocyte_ci95": [1.7547, 21.9858],
         "call_basis": "corrected", "schistocytes": "3.01 (1.75-21.99) corrected",
         "call": "above", "shared_with": []}]
    assert _merged(out)["positive"]["schistocytes"]["corrected_percent"] == 3.0111
    status, page = api.get("/")
    assert status == 200
    # QA 155 L-3: a review in progress shows its figures here, the report the classifier's.
    assert ("<th>schistocytes % (95% CI) the call rests on: the review's so far where one is in "
            "progress (report and terminal keep the classifier's until sign-off)</th>"
            ) in page.decode()
    assert re.findall(r"<td>([^<]*corrected)</td><td>(\w+)</td>", page.decode()) == [
        ("0.00 (0.00-100.00) corrected", "insufficient"),
        ("3.01 (1.75-21.99) corrected", "above")]


def test_slide_has_galleries_of_every_call_and_near_misses(api, out):
    status, body = api.get("/api/slides/positive")
    assert status == 200
    assert body["review"]["schistocytes"] == body["summary"]["schistocytes"]
    assert body["soft_fields"] == []  # sharp fields (a soft one: test_review_browser.py)
    called = _called(out)
    assert len(called) == 22
    shown = body["galleries"]["schistocyte"]
    assert {(c["image"], c["cell_id"]) for c in shown} == {
        (r["image"], int(r["cell_id"])) for r in called}
    probabilities = [c["p_schistocyte"] for c in shown]
    assert probabilities == sorted(probabilities, reverse=True)
    near = body["galleries"]["near_miss"]
    assert len(near) == 24 and all(c["model_class"] != "schistocyte" for c in near)
    # The most schistocyte-like of the cells not called: none left out scores higher.
    rest = [float(r["p_schistocyte"]) for r in _cells(out)
            if r["class"] != "schistocyte" and r["border"] == "false"]
    assert near[-1]["p_schistocyte"] == pytest.approx(sorted(rest)[-24], abs=1e-4)


def test_near_misses_on_a_slide_without_calls(api):
    status, body = api.get("/api/slides/negative")
    assert status == 200 and body["summary"]["schistocytes"]["count"] == 0
    assert body["galleries"]["schistocyte"] == []
    assert len(body["galleries"]["near_miss"]) == 12  # every whole cell of the field


def test_a_cell_cut_by_the_image_edge_cannot_be_reclassified(api, out):
    # qacli2 LOW-5: accepted, it counted as a change and moved no figure.
    cell = next(r for r in _cells(out) if r["border"] == "true")
    status, body = api.put_class("positive", cell["image"], int(cell["cell_id"]), "schistocyte")
    assert (status, body) == (409, {"error": (
        f"cell {cell['cell_id']} in image {cell['image']!r} is cut by the image edge or a "
        "painted-out annotation: it is never counted, so its class changes nothing")})
    assert not (out / "slides" / "positive" / REVIEW_FILE).exists()


def test_reclassify_recomputes_with_the_batch_statistics_and_persists(api, out):
    cell = _called(out)[0]
    image, cell_id = cell["image"], int(cell["cell_id"])
    status, body = api.put_class("positive", image, cell_id, "rbc")
    assert status == 200
    expected = _expected(out, {(image, cell_id): "rbc"})
    assert body["review"]["schistocytes"] == expected["schistocytes"]
    assert body["review"]["schistocytes"]["count"] == 21
    assert body["review"]["schistocytes"]["percent"] == round(100 * 21 / 1075, 4)
    assert body["summary"]["schistocytes"]["count"] == 22  # the model result is unchanged
    assert body["status"] == "in progress" and body["review"]["changed_cells"] == 1
    review = json.loads((out / "slides" / "positive" / REVIEW_FILE).read_text())
    [correction] = review["corrections"]
    assert (correction["image"], correction["cell_id"], correction["old"],
            correction["new"]) == (image, cell_id, "schistocyte", "rbc")
    assert correction["time"].endswith("+00:00")
    merged = _merged(out)["positive"]
    assert merged["schistocytes"]["count"] == 22
    assert merged["review"]["status"] == "in progress"
    assert merged["review"]["schistocytes"] == expected["schistocytes"]
    # The typed summary carries the review block through (summary.json's schema, one owner).
    assert json.dumps(SlideSummary.from_dict(merged).to_dict()) == json.dumps(merged)
    # Not signed off: no reviewed class is released in cells.csv yet.
    assert {r["reviewed_class"] for r in read_csv_rows(out / "cells.csv")} == {""}


def test_undo_takes_back_the_last_correction(api, out):
    first, second = _called(out)[:2]
    api.put_class("positive", first["image"], int(first["cell_id"]), "rbc")
    api.put_class("positive", second["image"], int(second["cell_id"]), "other")
    status, body = api.post("/api/slides/positive/undo")
    assert status == 200 and body["review"]["schistocytes"]["count"] == 21
    status, body = api.post("/api/slides/positive/undo")
    assert body["review"]["schistocytes"] == body["summary"]["schistocytes"]
    assert [(c["new"], c["undoes"]) for c in body["corrections"]] == [
        ("rbc", None), ("other", None), ("schistocyte", 1), ("schistocyte", 0)]
    status, body = api.post("/api/slides/positive/undo")
    assert status == 409 and body["error"] == "nothing to undo on slide 'positive'"
    # An undo sent with no body at all is the same request.
    status, body = api.request("POST", "/api/slides/positive/undo")
    assert status == 409 and body["error"] == "nothing to undo on slide 'positive'"


def test_sign_off_records_counts_and_makes_the_slide_read_only(api, out):
    cell = _called(out)[0]
    key = (cell["image"], int(cell["cell_id"]))
    api.put_class("positive", *key, "rbc")
    status, body = api.sign_off("positive", "  A. Tech ")
    assert status == 200 and body["status"] == "signed off"
    signoff = body["signoff"]
    assert signoff["reviewer"] == "A. Tech" and signoff["corrections"] == 1
    assert signoff["counts_before"]["schistocyte"] == 22
    assert signoff["counts_after"]["schistocyte"] == 21
    assert signoff["schistocyte_percent_before"] == 2.0465
    assert signoff["schistocyte_percent_after"] == round(100 * 21 / 1075, 4)
    status, body = api.put_class("positive", *key, "schistocyte")
    assert status == 409
    assert body["error"] == "slide 'positive' is signed off by A. Tech; re-open it to change it"
    assert api.post("/api/slides/positive/undo")[0] == 409
    block = _merged(out)["positive"]["review"]
    assert (block["status"], block["reviewer"], block["time"]) == (
        "signed off", "A. Tech", signoff["time"])
    assert _reviewed_classes(out) == _model_classes(out) | {key: "rbc"}
    assert {r["reviewed_class"] for r in read_csv_rows(out / "cells.csv")
            if r["slide"] == "negative"} == {""}
    # Re-opening is recorded and allows changes again.
    status, body = api.post("/api/slides/positive/reopen", {"reviewer": "B. Senior"})
    assert status == 200 and body["signoff"] is None
    assert [(e["event"], e["reviewer"]) for e in body["history"]] == [
        ("signed off", "A. Tech"), ("reopened", "B. Senior")]
    assert api.put_class("positive", *key, "schistocyte")[0] == 200
    assert _merged(out)["positive"]["review"]["reopened"] == 1


def test_a_sign_off_that_did_not_see_every_correction_is_refused(api, out):
    # QA 51 F2: a page that never showed the corrections of another tab signed them off.
    cell = _called(out)[0]
    assert api.put_class("positive", cell["image"], int(cell["cell_id"]), "rbc")[0] == 200
    assert api.sign_off("positive", "B", seen=0) == (409, {
        "error": "slide 'positive' has 1 correction(s), this page showed 0: it was changed "
                 "elsewhere (another tab or reviewer); reload the page and check the cells "
                 "before signing off"})
    assert api.sign_off("positive", "B", seen=2) == (409, {
        "error": "slide 'positive' has 1 correction(s), this page showed 2; reload the page and "
                 "check the cells before signing off"})
    for seen in ("1", True, -1, 1.0):
        assert api.sign_off("positive", "B", seen=seen) == (
            400, {"error": '"seen" must be the number of corrections the page showed'})
    status, body = api.sign_off("positive", "B", seen=1)
    assert (status, body["status"]) == (200, "signed off")


def test_an_undo_or_a_class_from_a_page_that_missed_corrections_is_refused(api, out):
    # QA 109 M2: an undo in a stale tab took back another tab's correction it never showed.
    first, second = [(c["image"], int(c["cell_id"])) for c in _called(out)[:2]]
    assert api.put_class("positive", *first, "rbc", seen=0)[0] == 200
    assert api.post("/api/slides/positive/undo", {"seen": 0}) == (409, {
        "error": "slide 'positive' has 1 correction(s), this page showed 0: it was changed "
                 "elsewhere (another tab or reviewer); reload the page and check the cells "
                 "before undoing"})
    assert api.post("/api/slides/positive/undo", {"seen": "1"}) == (
        400, {"error": '"seen" must be the number of corrections the page showed'})
    # A class for the cell another page changed is refused; for another cell it is not.
    assert api.put_class("positive", *first, "other", seen=0) == (409, {
        "error": f"cell {first[1]} in image {first[0]!r} was set to rbc elsewhere (another tab "
                 "or reviewer) after this page last showed it; reload the page and check the "
                 "cell before changing it"})
    assert api.put_class("positive", *second, "rbc", seen=0)[0] == 200
    assert [c["new"] for c in _corrections_of(api)] == ["rbc", "rbc"]
    status, body = api.post("/api/slides/positive/undo", {"seen": 2})
    assert status == 200 and [c["new"] for c in body["corrections"]] == [
        "rbc", "rbc", "schistocyte"]
    assert api.put_class("positive", *first, "other", seen=3)[0] == 200


def _corrections_of(api) -> list[dict]:
    return api.get("/api/slides/positive")[1]["corrections"]


def test_a_sign_off_that_did_not_show_every_gallery_cell_is_refused(api, out):
    # QA 61 F5: a sign-off through the API, no page open, confirmed 17 cells nobody saw, and
    # they were exported as confirmed training labels.
    shown = gallery_cells(api.get("/api/slides/positive")[1])
    calls = [[c["image"], int(c["cell_id"])] for c in _called(out)]
    assert len(shown) == 46 and all(c in shown for c in calls)
    for displayed in (None, "all", [["a.jpg"]], [["a.jpg", "1"]], [["a.jpg", True]]):
        body = {"reviewer": "A. Tech"} | ({} if displayed is None else {"displayed": displayed})
        assert api.post("/api/slides/positive/signoff", body) == (400, {
            "error": '"displayed" must list the gallery cells the page showed, as '
                     '[image, cell_id] pairs'})
    partly = [c for c in shown if c not in calls[:3]] + [["elsewhere.jpg", 1]]
    assert api.sign_off("positive", "A. Tech", displayed=partly) == (409, {
        "error": "slide 'positive': 3 of the galleries' 46 cell(s) were never shown on this "
                 "page (schistocyte 3); scroll through every gallery before signing off (this "
                 "tool's rule: a sign-off confirms every cell of its galleries)"})
    assert not (out / "slides" / "positive" / REVIEW_FILE).exists()
    status, body = api.sign_off("positive", "A. Tech")
    assert (status, body["status"]) == (200, "signed off")
    review = json.loads((out / "slides" / "positive" / REVIEW_FILE).read_text())
    assert sorted(review["confirmed"]) == shown


def test_bad_requests_get_a_status_and_a_message(api, out):
    cell = _called(out)[0]
    image, cell_id = cell["image"], int(cell["cell_id"])
    cases = [
        (api.put_class("nowhere", image, cell_id, "rbc"), 404, "no slide 'nowhere' in"),
        (api.put_class("positive", "missing.jpg", 1, "rbc"), 404,
         "no cell 1 in image 'missing.jpg' of slide 'positive'"),
        (api.put_class("positive", image, 99999, "rbc"), 404,
         f"no cell 99999 in image '{image}' of slide 'positive'"),
        (api.put_class("positive", image, cell_id, "blast"), 400,
         "unknown class 'blast'; expected one of rbc, schistocyte, nrbc, wbc, "
         "immature_granulocyte, platelet, other"),
        (api.request("PUT", f"/api/slides/positive/cells/{image}/{cell_id}", {"kind": "rbc"}),
         400, 'the body must be {"class": NAME}'),
        (api.request("PUT", f"/api/slides/positive/cells/{image}/{cell_id}", raw=b"rbc"), 400,
         "the request body is not JSON"),
        (api.sign_off("positive", " "), 400,
         "a reviewer name is required"),
        # QA 61 F11: a right-to-left override reversed the report's "signed off by" line.
        (api.sign_off("positive", "A. Tech\u202eevil"), 400,
         "reviewer name must be at most 100 printable characters"),
        (api.post("/api/slides/positive/reopen", {"reviewer": "A"}), 409,
         "slide 'positive' is not signed off"),
        (api.get("/api/slides/positive/cells"), 400, "give one of ?class=NAME or ?morphology=NAME"),
        (api.get("/api/slides/positive/cells?class=blast"), 400, "unknown class 'blast'"),
        (api.get("/api/slides/nowhere"), 404, "no slide 'nowhere' in"),
        # QA 51 F9, F10: a 500 with a traceback; plain text; an empty gallery.
        (api.request("PUT", f"/api/slides/positive/cells/{image}/{cell_id}",
                     raw=b"[" * 100_000 + b"]" * 100_000), 400,
         "the request body is JSON nested too deeply"),
        (api.get("/api/slides/positive/undo"), 405,
         "GET is not a request /api/slides/positive/undo takes"),
        (api.get("/api/slides/positive/cells?morphology=banana"), 400,
         "unknown morphology 'banana'; expected one of normal, macrocyte, "),
    ]
    for (status, body), expected_status, message in cases:
        assert status == expected_status, body
        assert body["error"].startswith(message)
    assert not (out / "slides" / "positive" / REVIEW_FILE).exists()


def test_writes_need_the_page_token(api, out):
    cell = _called(out)[0]
    for token in (None, "wrong", "wrong\u00e9"):  # QA 61 F6: non-ASCII gave a 500
        status, body = api.put_class("positive", cell["image"], int(cell["cell_id"]), "rbc",
                                     token=token)
        assert status == 403
        # QA 112 L-b: a page left open over a restart is told to reload.
        assert body["error"] == ("missing or wrong review token: writes come only from the "
                                 "review page of this server; reload this page (a restarted "
                                 "server gives it a new token)")
        assert api.post("/api/slides/positive/signoff", {"reviewer": "X"}, token=token)[0] == 403
    assert not (out / "slides" / "positive" / REVIEW_FILE).exists()
    status, page = api.get("/slides/positive", token=None)
    assert status == 200 and f'<meta name="review-token" content="{TOKEN}">' in page.decode()
    # QA 155 L-2: a cell set to a class stays in its gallery; the heading said so not.
    assert ('<span data-count="schistocyte">0</span> cells as this page was loaded, each as now '
            "classed; a cell set to schistocyte since stays in the gallery it was found in until "
            "a reload)") in page.decode()


def test_other_hosts_are_refused(api):
    # A page on another site whose name resolves to 127.0.0.1 (DNS rebinding) is not served.
    status, body = api.get("/api/slides", headers={"Host": "evil.example"})
    assert status == 400 and body == {
        "error": "a request for host 'evil.example': this review server answers to 127.0.0.1, "
                 "localhost only"}
    status, body = api.get("/api/slides", headers={"Host": "localhost:8765"})
    assert status == 200 and [s["slide"] for s in body["slides"]] == ["negative", "positive"]


def test_path_traversal_is_looked_up_and_refused(api, out):
    secret = out.parent / "secret.txt"
    secret.write_text("not for the browser")
    attempts = [
        "/api/slides/..%2F..%2Fsecret.txt",
        "/api/slides/%2E%2E/cells/%2E%2E%2F%2E%2E%2Fsecret.txt/1/crop.jpg",
        "/api/slides/positive/cells/..%2F..%2F..%2Fsecret.txt/1/crop.jpg",
        "/api/slides/positive/cells/%2E%2E/%2E%2E/%2E%2E/secret.txt/1/field.jpg",
        "/api/slides/positive/cells/..%2Fslide.json/1/crop.jpg",
    ]
    for path in attempts:
        status, body = api.get(path)
        assert status == 404, path
        assert body["error"].startswith(("no cell 1 in image", "no slide", "no such page")), body
    status, body = api.request(
        "PUT", "/api/slides/positive/cells/..%2F..%2F..%2Fsecret.txt/1", {"class": "rbc"})
    assert status == 404
    assert secret.read_text() == "not for the browser"


def test_on_demand_galleries(api, out):
    status, body = api.get("/api/slides/positive/cells?class=platelet")
    platelets = [r for r in _called(out, "platelet")]
    assert status == 200 and len(body["cells"]) == len(platelets) == 66
    status, body = api.get("/api/slides/positive/cells?morphology=ovalocyte")
    ovalocytes = [r for r in _cells(out) if r["border"] == "false" and
                  r["class"] == "rbc" and r["morphology"] == "ovalocyte"]
    assert len(body["cells"]) == len(ovalocytes) > 0
    # Each shape's gallery holds the cells the report's profile counts: red cells, never a
    # schistocyte, which is counted once, as a schistocyte (QA 91 F3: 145 against 144).
    morphology = json.loads((out / "summary.json").read_text())["slides"]["positive"][
        "morphology"]
    # At an estimated scale the profile leaves the size classes out (its sizes_note says so).
    assert morphology["sizes_note"] is not None
    shapes = [shape for shape in MORPHOLOGY_CLASSES if shape not in SIZE_MORPHOLOGIES]
    totals = {shape: api.get(f"/api/slides/positive/cells?morphology={shape}")[1]["total"]
              for shape in shapes}
    assert totals == {shape: morphology["profile"].get(shape, {}).get("count", 0)
                      for shape in shapes}
    # QA 61 F8: at most MAX_GALLERY shown, and how many there are in all.
    status, body = api.get("/api/slides/positive/cells?class=rbc")
    red = [r for r in _cells(out) if r["border"] == "false" and r["class"] == "rbc"]
    assert len(red) > MAX_GALLERY
    assert (len(body["cells"]), body["total"]) == (MAX_GALLERY, len(red))


def test_crop_and_field_pictures(api, out, results):
    cell = _called(out)[0]
    base = f"/api/slides/positive/cells/{cell['image']}/{cell['cell_id']}"
    status, crop = api.get(base + "/crop.jpg")
    assert status == 200 and Image.open(io.BytesIO(crop)).size == (96, 96)
    status, field = api.get(base + "/field.jpg")
    picture = np.asarray(Image.open(io.BytesIO(field)))
    assert picture.shape == np.asarray(Image.open(results.parent / "slides" / "positive" /
                                                  cell["image"]).convert("RGB")).shape
    # The cell is outlined in yellow around its centre.
    x, y = round(float(cell["x"])), round(float(cell["y"]))
    around = picture[max(0, y - 40):y + 40, max(0, x - 40):x + 40].astype(int)
    yellow = (around[..., 0] > 200) & (around[..., 1] > 200) & (around[..., 2] < 80)
    assert yellow.sum() > 30


def _another_field() -> np.ndarray:
    """A field of other cells, to replace one of a slide (a field without a cell is refused)."""
    return synthetic_field(grid_centres(rows=4, cols=5, spacing=110, offset=60),
                           shape=(480, 640))


def _rerun(out):
    return main([str(out.parent / "slides"), "--out", str(out), "--model",
                 str(out.parent / "model.onnx"), "--quiet", "--jobs", "1"])


def test_a_signed_off_review_stays_with_its_results_folder_moved_away_from_the_inputs(
        results, tmp_path):
    # With qacli3 MEDIUM-2's fix a moved results folder keeps its slide names; the slide is
    # analysed again (its input's path changed), and its sign-off, made on the same cells, holds.
    work = tmp_path / "run"
    shutil.copytree(results.parent, work)
    _sign_off_without(work / "results", 1)
    before = _merged(work / "results")["positive"]["review"]
    moved = tmp_path / "archive" / "2026" / "results"
    moved.parent.mkdir(parents=True)
    (work / "results").rename(moved)
    assert main([str(work / "slides"), "--out", str(moved), "--model", str(work / "model.onnx"),
                 "--quiet", "--jobs", "1"]) == 0
    after = _merged(moved)["positive"]["review"]
    assert before["status"] == "signed off" and after == before


def test_a_moved_signed_off_slide_with_a_late_field_keeps_its_name_and_says_its_review_lapsed(
        results, tmp_path):
    # qacli5 MEDIUM-1: in an archived results folder one field added renamed the slide, set
    # its signed-off analysis aside and lost its lab row; in place it keeps its name and says
    # the review no longer applies.
    work = tmp_path / "run"
    shutil.copytree(results.parent, work)
    _sign_off_without(work / "results", 1)
    moved = tmp_path / "archive" / "results"
    moved.parent.mkdir(parents=True)
    (work / "results").rename(moved)
    late = work / "slides" / "positive" / "late.jpg"
    first = sorted((work / "slides" / "positive").iterdir())[0]
    Image.fromarray(read_field(first)[::-1]).save(late)  # a field of its own
    assert main([str(work / "slides"), "--out", str(moved), "--model", str(work / "model.onnx"),
                 "--quiet", "--jobs", "1"]) == 0
    merged = _merged(moved)
    assert sorted(merged) == ["negative", "positive"]
    assert merged["positive"]["review"]["status"] == "inputs changed"
    assert merged["positive"]["review"]["message"].startswith(
        "the fields or settings changed after this review, so it no longer applies; it was "
        "signed off by A. Tech on ")


def test_a_copy_of_a_signed_off_slide_under_another_name_leaves_the_sign_off_merged(
        results, tmp_path, capsys):
    # qacli5 MEDIUM-2: analysing a copy of a signed-off slide under another name dropped the
    # signed-off slide, its verdict and reviewed cells, from summary.json and cells.csv.
    work = tmp_path / "run"
    shutil.copytree(results.parent, work)
    out = work / "results"
    _sign_off_without(out, 1)
    signed = _merged(out)["positive"]["review"]
    alias = work / "copies" / "alias"
    shutil.copytree(work / "slides" / "positive", alias)
    capsys.readouterr()
    assert main([str(alias), "--out", str(out), "--model", str(work / "model.onnx"),
                 "--quiet", "--jobs", "1"]) == 3
    assert capsys.readouterr().err.splitlines() == [
        f"smearscan: {out}: its merged outputs (summary.json, cells.csv) also hold 2 slides "
        f"(negative, positive) of earlier runs, not given in this one (remove {out / 'slides'}"
        "/NAME to drop one)",
        f"smearscan: {out / 'slides' / 'positive'}: every image of it is in slide 'alias', "
        "analysed later (renamed or moved?); kept in the merged outputs, as it was signed off "
        f"by A. Tech on {signed['time']}: remove the folder you do not want",
        f"smearscan: 1 problem(s) in the output folder; see {out / 'errors.csv'}"]
    merged = _merged(out)
    assert sorted(merged) == ["alias", "negative", "positive"]
    assert merged["positive"]["review"] == signed and "review" not in merged["alias"]
    with open(out / "cells.csv", encoding="utf-8") as handle:
        slides = Counter(row["slide"] for row in csv.DictReader(handle))
    assert slides["positive"] == slides["alias"] > 0
    # qacli6 LOW-1: the reviewer of either is told, before signing the same images off twice.
    with running(create_app(out, token=TOKEN)) as url:
        page = Client(url).get("/slides/alias", token=None)[1].decode()
        other = Client(url).get("/slides/positive", token=None)[1].decode()
        unrelated = Client(url).get("/slides/negative", token=None)[1].decode()
        listed = Client(url).get("/")[1].decode()  # qacli7 LOW-4: the list said nothing
    images = len(list((work / "slides" / "positive").iterdir()))
    assert ('<div class="shared-banner" role="alert"><b>The same images in slide positive</b> '
            f"(signed off): {images} of this slide's images are the same bytes as images of it. "
            "One patient's fields under two names? Check which slide they belong to before "
            "signing off.</div>") in html.unescape(page)
    assert "<b>The same images in slide alias</b> (not reviewed)" in other
    assert '<div class="shared-banner"' not in unrelated
    assert '<a href="/slides/alias">alias</a> <b>(the same images as positive)</b>' in listed


def test_batch_rerun_keeps_a_review_of_unchanged_inputs(results, tmp_path):
    work = tmp_path / "run"
    shutil.copytree(results.parent, work)  # inputs, model and results: their own copies
    out = work / "results"
    # Resumed: the records still name the first folder, and the app reads the copy's fields
    # (the input path recorded relative to the results).
    assert _rerun(out) == 0
    with running(create_app(out, token=TOKEN)) as url:
        api = Client(url)
        cell = _called(out)[0]
        api.put_class("positive", cell["image"], int(cell["cell_id"]), "rbc")
        api.sign_off("positive", "A. Tech")
    before = _merged(out)["positive"]["review"]
    assert _rerun(out) == 0
    after = _merged(out)
    assert after["positive"]["review"] == before and before["status"] == "signed off"
    assert "review" not in after["negative"]
    assert _reviewed_classes(out) == _model_classes(out) | {
        (cell["image"], int(cell["cell_id"])): "rbc"}
    # A field replaced: the app leaves the slide out (QA 76 F2: it opened it, its tiles
    # blank), and a re-run analyses the slide again and flags its review instead of applying it.
    blank = "chula-1-09.jpg"
    Image.fromarray(_another_field()).save(work / "slides" / "positive" / blank, format="JPEG")
    assert create_app(out).state.folder.left_out == {"positive": (
        f"{out / 'slides' / 'positive'}: 1 of its fields changed since the run ({blank}); "
        "analyse the slide again into this folder (the same command with --out) to review it")}
    assert _rerun(out) == 0
    block = _merged(out)["positive"]["review"]
    assert block["status"] == "inputs changed" and block["reviewer"] == "A. Tech"
    assert "schistocytes" not in block
    # Set aside, but not silently: what the sign-off had found is said in the report.
    assert block["message"] == (
        "the fields or settings changed after this review, so it no longer applies; it was "
        f"signed off by A. Tech on {block['time']} with 21 schistocyte(s), 1.95% of red cells, "
        "call above; review the slide again before reporting it")
    report = (out / "slides" / "positive" / "report.html").read_text(encoding="utf-8")
    assert ('<p class="headline borderline" role="alert"><b>Review no longer applies:</b> '
            f"{block['message']}. The figures below are the classifier's.</p>") in report
    assert {r["reviewed_class"] for r in read_csv_rows(out / "cells.csv")} == {""}
    with running(create_app(out, token=TOKEN)) as url:
        api = Client(url)
        status, body = api.get("/api/slides/positive")
        assert body["status"] == "inputs changed" and body["signoff"] is None
        status, body = api.put_class("positive", cell["image"], int(cell["cell_id"]), "rbc")
        assert status == 200 and body["status"] == "in progress"
    review = json.loads((out / "slides" / "positive" / REVIEW_FILE).read_text())
    assert len(review["corrections"]) == 1
    assert review["previous"][0]["signoff"]["reviewer"] == "A. Tech"


def _sign_off_killed_before_its_report(out: Path, monkeypatch) -> Path:
    """A sign-off whose process dies once ``review.json`` and the merged outputs are written,
    before the report (QA 51 F1); the report's path."""
    folder = ResultsFolder(out)
    cell = _called(out)[0]
    folder.set_class("positive", cell["image"], int(cell["cell_id"]), "rbc")

    def killed(*_args):
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(ResultsFolder, "_reissue", killed)
        with pytest.raises(KeyboardInterrupt):
            folder.sign_off("positive", "A. Tech", displayed=_shown(folder, "positive"))
    report = out / "slides" / "positive" / "report.html"
    assert _merged(out)["positive"]["review"]["status"] == "signed off"
    assert "<b>Review in progress</b>" in report.read_text(encoding="utf-8")
    assert (out / "slides" / "positive" / PENDING_FILE).is_file()
    return report


@pytest.mark.parametrize("then", ["review", "run"])
def test_a_review_change_cut_short_is_issued_again_by_the_next_server_or_run(
        results, tmp_path, monkeypatch, then):
    work = tmp_path / "run"
    shutil.copytree(results.parent, work)
    out = work / "results"
    report = _sign_off_killed_before_its_report(out, monkeypatch)
    if then == "review":
        assert ResultsFolder(out).issue_interrupted() == {"positive": None}
    else:
        assert _rerun(out) == 0
    html = report.read_text(encoding="utf-8")
    assert "<b>Reviewed:</b> signed off by A. Tech on " in html and "Review in progress" not in html
    assert not (out / "slides" / "positive" / PENDING_FILE).exists()
    assert read_record(out, "positive") is not None  # resealed: the next run resumes it
    assert ResultsFolder(out).issue_interrupted() == {}


def test_a_review_change_cut_short_is_named_by_the_verdict_and_the_export(
        results, tmp_path, monkeypatch, capsys):
    # QA 52 F7: both read the slide's files as if no change were waiting.
    work = tmp_path / "run"
    shutil.copytree(results.parent, work)
    out = work / "results"
    _sign_off_killed_before_its_report(out, monkeypatch)
    note = (f"a review change of slide 'positive' was cut short while its files were written: "
            f"its summary, cells.csv and report may not show it yet; 'smearscan review {out}' or "
            f"an analysis run into {out} finishes it")
    capsys.readouterr()
    assert main(["verdict", "--summary", str(out / "summary.json"), "--slide", "positive"]) == 0
    assert f"NOTE: {note}" in capsys.readouterr().out.splitlines()
    assert main(["export-corrections", str(out), "--out", str(tmp_path / "c.csv")]) == 0
    assert capsys.readouterr().err == f"smearscan export-corrections: {note}\n"
    assert ResultsFolder(out).issue_interrupted() == {"positive": None}
    assert main(["verdict", "--summary", str(out / "summary.json"), "--slide", "positive"]) == 0
    assert "cut short" not in capsys.readouterr().out


def test_a_run_after_a_change_cut_before_its_record_does_not_blame_a_hand_edit(
        results, tmp_path, monkeypatch, capsys):
    # QA 52 F8: killed after report.html and before slide.json, the next run said the files
    # were "changed since smearscan wrote them".
    import smearscan.batch.reissue

    work = tmp_path / "run"
    shutil.copytree(results.parent, work)
    out = work / "results"
    assert _rerun(out) == 0  # the record now names the copied fields
    folder = ResultsFolder(out)

    def killed(*_args):
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(smearscan.batch.reissue, "reseal_outputs", killed)
        with pytest.raises(KeyboardInterrupt):
            folder.sign_off("positive", "A. Tech", displayed=_shown(folder, "positive"))
    capsys.readouterr()
    assert _rerun(out) == 0
    assert [line for line in capsys.readouterr().err.splitlines() if "'positive'" in line][0] \
        .startswith("smearscan: slide 'positive': a review change was cut short while writing "
                    "them: ")
    assert "<b>Reviewed:</b> signed off by A. Tech on " in (
        out / "slides" / "positive" / "report.html").read_text(encoding="utf-8")
    assert not (out / "slides" / "positive" / PENDING_FILE).exists()


def test_an_interrupted_change_whose_field_is_gone_keeps_its_mark(results, tmp_path,
                                                                   monkeypatch):
    work = tmp_path / "run"
    shutil.copytree(results.parent, work)
    out = work / "results"
    assert _rerun(out) == 0  # the record now names the copied fields
    _sign_off_killed_before_its_report(out, monkeypatch)
    gone = work / "slides" / "positive" / "chula-1-00.jpg"
    gone.unlink()
    issued = ResultsFolder(out).issue_interrupted()
    assert list(issued) == ["positive"]
    assert issued["positive"].startswith(f"{gone}: cannot read this field now (")
    assert (out / "slides" / "positive" / PENDING_FILE).is_file()


@pytest.mark.parametrize("damage", [
    lambda text: text[:-300],
    lambda text: text.replace("\npositive,chula-1-00.jpg,1,", "\npositive,chula-1-00.jpg,x,", 1)])
def test_a_damaged_slide_cells_csv_is_one_line_not_a_traceback(out, damage):
    # QA 51 F6: a traceback, exit 1; QA 52 F9: then Python's words ("float() argument must
    # be...", "invalid literal for int()").
    cells = out / "slides" / "positive" / "cells.csv"
    cells.write_text(damage(cells.read_text(encoding="utf-8")), encoding="utf-8")
    problem = (f"{cells}: damaged (a row cut short, or a value of the wrong kind); analyse the "
               "slide again into this folder (the same command with --out) to review it")
    # QA 52 F4: left out, and the other slides reviewable.
    assert create_app(out).state.folder.left_out == {"positive": problem}
    shutil.rmtree(out / "slides" / "negative")
    with pytest.raises(ReviewError) as refused:
        create_app(out)  # nothing left to review
    assert str(refused.value) == (f"{out}: no slide can be reviewed (slide 'negative': its "
                                  f"folder is gone; {problem})")


def test_a_slide_cells_csv_edited_by_hand_is_refused_not_counted(out):
    # QA 51 F4: re-saved by a spreadsheet (TRUE for true), cut cells were counted.
    cells = out / "slides" / "positive" / "cells.csv"
    cells.write_text(cells.read_text(encoding="utf-8").replace(",true,", ",TRUE,"),
                     encoding="utf-8")
    assert create_app(out).state.folder.left_out == {"positive": (
        f"{cells}: changed since smearscan wrote it; analyse the slide again into this folder "
        "(the same command with --out) to review it")}


def test_a_slide_whose_analysis_was_stopped_is_left_out_of_the_review(out):
    # QA 76 F1, F2: a run killed while it re-analysed a slide left new field pictures beside
    # the old record, and the review opened it without a word.
    folder = out / "slides" / "positive"
    plan_outputs(out, "positive", sorted((folder / "fields").iterdir()))
    assert create_app(out).state.folder.left_out == {"positive": (
        f"{folder}: its analysis was stopped while it wrote the slide's files; analyse the "
        "slide again into this folder (the same command with --out) to review it")}


def test_a_field_replaced_by_one_with_as_many_objects_is_refused(results, tmp_path):
    # QA 61 F1: only the object count was compared; a field replaced by another of 147 objects
    # was shown, its crops and field view outlined as the one analysed.
    work = tmp_path / "run"
    shutil.copytree(results.parent, work)
    out = work / "results"
    assert _rerun(out) == 0  # the record now names the copied fields
    cell = _called(out)[0]
    path = work / "slides" / "positive" / cell["image"]
    rgb = read_field(path).copy()
    rgb[:2, :2] = 255 - rgb[:2, :2]  # a corner changed: the same objects, another file
    base = f"/api/slides/positive/cells/{cell['image']}/{cell['cell_id']}"
    with running(create_app(out, token=TOKEN)) as url:
        # Replaced while the review runs (one replaced before is left out: QA 76 F2).
        Image.fromarray(rgb).save(path, format="JPEG", quality=100)
        api = Client(url)
        for picture in ("crop.jpg", "field.jpg"):
            assert api.get(f"{base}/{picture}") == (409, {"error": (
                f"{path}: the field changed since the run (the file is not the one analysed); "
                "re-run the batch analysis")})


def test_a_missing_field_is_named_as_what_the_report_needs(results, tmp_path):
    # QA 51 F3: a correction of another field was refused with an error about this one alone.
    work = tmp_path / "run"
    shutil.copytree(results.parent, work)
    out = work / "results"
    assert _rerun(out) == 0  # the record now names the copied fields
    missing = work / "slides" / "positive" / "chula-1-05.jpg"
    missing.unlink()
    cell = next(c for c in _called(out) if c["image"] != missing.name)
    with running(create_app(out, token=TOKEN)) as url:
        status, body = Client(url).put_class("positive", cell["image"], int(cell["cell_id"]),
                                             "rbc")
    assert status == 409
    assert body["error"].startswith(f"{missing}: cannot read this field now (")
    assert body["error"].endswith(
        "; the first correction, the sign-off and a re-opening issue slide 'positive''s report "
        "again from the fields it shows: put the field back where the run read it")


def test_a_damaged_review_file_leaves_the_other_slides_reviewable(out):
    # QA 61 F3: one slide's review.json cut short stopped `smearscan review` for the folder.
    review = out / "slides" / "negative" / REVIEW_FILE
    review.write_text('{"fingerprint": {"files": [')
    app = create_app(out, token=TOKEN)
    assert list(app.state.folder.records) == ["positive"]
    assert app.state.folder.left_out["negative"].startswith(
        f"{review}: not a smearscan review file (")
    assert app.state.folder.left_out["negative"].endswith(
        "); restore it from a backup, or move it aside to review the slide again")


def test_a_removed_slide_folder_leaves_the_others_reviewable(out):
    # QA 51 F7: one slide's folder removed (as the README says to do with one not wanted)
    # made every slide of the folder unreviewable.
    shutil.rmtree(out / "slides" / "negative")
    app = create_app(out, token=TOKEN)
    assert app.state.folder.left_out == {"negative": "slide 'negative': its folder is gone"}
    with running(app) as url:
        api = Client(url)
        assert [s["slide"] for s in api.get("/api/slides")[1]["slides"]] == ["positive"]
        cell = _called(out)[0]
        assert api.put_class("positive", cell["image"], int(cell["cell_id"]), "rbc")[0] == 200
    assert list(_merged(out)) == ["positive"]  # merged as a run into the folder merges it
    assert read_csv_rows(out / "errors.csv") == [{
        "slide": "negative", "image": "", "error": "slide 'negative': its folder is gone; left "
        "out of the merged outputs until the slide is analysed again"}]


def test_export_corrections_and_read_them_back(api, out, tmp_path, capsys):
    called = _called(out)
    api.put_class("positive", called[0]["image"], int(called[0]["cell_id"]), "rbc")
    path = tmp_path / "corrections.csv"
    path.write_text("an earlier export\n")
    assert main(["export-corrections", str(out), "--out", str(path)]) == 0
    written = capsys.readouterr()  # not signed off: nothing to export, and why (qacli2 LOW-7)
    # QA 112 L-a: an earlier export was replaced by a header alone.
    assert written.out == f"wrote nothing: no reviewed cell to export ({path} is left as it was)\n"
    assert path.read_text() == "an earlier export\n"
    # QA 119 L3: ... and not said of a file that was never there.
    assert main(["export-corrections", str(out), "--out", str(tmp_path / "new.csv")]) == 0
    assert capsys.readouterr().out == (f"wrote nothing: no reviewed cell to export "
                                       f"({tmp_path / 'new.csv'} is not written)\n")
    assert not (tmp_path / "new.csv").exists()
    assert written.err == (
        "smearscan export-corrections: slide 'positive': review in progress, not exported: sign "
        "it off\n"
        f"smearscan export-corrections: no slide of {out} is signed off: review and sign slides "
        f"off with 'smearscan review {out}' first\n")
    assert main(["export-corrections", str(out), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == (
        f"smearscan export-corrections: --out {tmp_path}: a folder; give the CSV file to write, "
        f"e.g. {tmp_path / 'corrections.csv'}\n")
    api.sign_off("positive", "A. Tech")
    assert main(["export-corrections", str(out), "--out", str(path)]) == 0
    rows = list(csv.DictReader(path.open()))
    corrected = [r for r in rows if r["source"] == "corrected"]
    assert [(r["image"], r["cell_id"], r["model_class"], r["class"]) for r in corrected] == [
        (called[0]["image"], called[0]["cell_id"], "schistocyte", "rbc")]
    # Every cell of the flagged and near-miss galleries was seen: 22 calls and 24 near misses.
    assert len(rows) == 46 and {r["reviewer"] for r in rows} == {"A. Tech"}
    assert capsys.readouterr().out == f"wrote {path}: 46 reviewed cell(s)\n"
    fields = read_corrections(path)
    points = {(f.image.name, x, y, label) for f in fields for x, y, label in f.points}
    assert len(points) == 46
    assert all(f.image.is_file() and f.pixel_size_um > 0 for f in fields)
    # QA 109 L3: absolute paths, found from any working directory.
    assert all(Path(r["image_path"]).is_absolute() for r in rows)
    # QA 109 L1: a slide re-opened since is named, not left out without a word.
    assert api.post("/api/slides/positive/reopen", {"reviewer": "B"})[0] == 200
    assert main(["export-corrections", str(out), "--out", str(path)]) == 0
    assert capsys.readouterr().err.startswith(
        "smearscan export-corrections: slide 'positive': review in progress (re-opened), not "
        "exported: sign it off again\n")


def test_export_corrections_to_a_folder_that_does_not_exist_is_refused(out, tmp_path, capsys):
    # QA 109 L2: the missing folders were created and the export reported written.
    path = tmp_path / "nowhere" / "deeper" / "corrections.csv"
    assert main(["export-corrections", str(out), "--out", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"smearscan export-corrections: --out {path}: the folder {path.parent} does not exist; "
        "give a CSV file in an existing folder\n")
    assert not (tmp_path / "nowhere").exists()


def test_corrections_with_paths_relative_to_the_working_directory_are_still_read(
        tmp_path, monkeypatch):
    # Files written before QA 109 L3 name their fields relative to where the export ran.
    (tmp_path / "f.jpg").write_bytes(b"")
    (tmp_path / "c.csv").write_text("image_path,x,y,class,pixel_size_um\nf.jpg,1,2,rbc,0.2\n")
    monkeypatch.chdir(tmp_path)
    [field] = read_corrections(Path("c.csv"))
    assert field.image == Path("f.jpg") and field.image.is_file()


def test_bad_corrections_files(tmp_path, capsys):
    path = tmp_path / "c.csv"
    path.write_text("image_path,x,y,class,pixel_size_um\na.jpg,1,2,blast,0.2\n")
    with pytest.raises(Exception, match=r"c.csv, line 2: unknown class 'blast'"):
        read_corrections(path)
    path.write_text("image_path,x,y,class,pixel_size_um\na.jpg,1,-2,rbc,0.2\n")
    with pytest.raises(Exception, match=r"line 2: y '-2' is not a non-negative number"):
        read_corrections(path)
    path.write_text("image,x\n")
    with pytest.raises(Exception, match=r"not a corrections file \(no column image_path, y"):
        read_corrections(path)
    assert main(["export-corrections", str(tmp_path / "none"), "--out", str(path)]) == 2
    assert capsys.readouterr().err.startswith(
        f"smearscan export-corrections: {tmp_path / 'none'}: not a smearscan results folder")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _review_served(results: Path, port: int) -> tuple[subprocess.Popen, int, dict]:
    """``smearscan review results`` started in its own process, with its first answer to
    /api/slides once it serves."""
    server = subprocess.Popen([sys.executable, "-m", "smearscan", "review", str(results),
                               "--no-browser", "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            return (server, *Client(f"http://127.0.0.1:{port}").get("/api/slides"))
        except urllib.error.URLError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise AssertionError(server.communicate()[1]) from None
            time.sleep(0.2)


def test_review_command_serves_until_interrupted(results, tmp_path, capsys):
    port = _free_port()
    # QA 61 F10: the temporary a server killed while writing review.json left stayed for good.
    stale = results / "slides" / "positive" / ".review.json.x1y2z3w4.smearscan-part"
    stale.write_text("{")
    server, status, body = _review_served(results, port)
    try:
        assert status == 200 and len(body["slides"]) == 2
        assert not stale.exists()
        # The review holds the folder: a batch run into it waits its turn instead of
        # rewriting the merged outputs under the reviewer.
        sample = Path(__file__).resolve().parents[1] / "datasets" / "samples" / "chula-1.jpg"
        assert main([str(sample), "--out", str(results), "--quiet"]) == 2
        assert capsys.readouterr().err == (
            f"smearscan: {results}: another smearscan run or review is writing to this output "
            "folder (it holds .smearscan.lock); wait for it to finish or choose another --out\n")
    finally:
        # QA 128 H4: a second Ctrl-C while the server shut down printed uvicorn's traceback of
        # its cancelled lifespan task.
        server.send_signal(signal.SIGINT)
        time.sleep(0.01)
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    assert (server.returncode, err) == (0, "")
    assert out.startswith(f"smearscan review: {results} at http://127.0.0.1:{port}/")


def test_review_command_stops_on_sigterm_as_on_ctrl_c(results):
    # QA 132: SIGTERM, a service manager's stop, ends the server as Ctrl-C does, as its help
    # says: exit 0, nothing on stderr.
    port = _free_port()
    server, status, _ = _review_served(results, port)
    server.send_signal(signal.SIGTERM)
    out, err = server.communicate(timeout=30)
    assert (status, server.returncode, err) == (200, 0, "")
    assert out == f"smearscan review: {results} at http://127.0.0.1:{port}/ (Ctrl-C to stop)\n"


def test_review_command_bad_folder_or_busy_port(results, tmp_path, capsys):
    assert main(["review", str(tmp_path), "--no-browser"]) == 2
    assert capsys.readouterr().err.startswith(
        f"smearscan review: {tmp_path}: not a smearscan results folder (no readable summary.json")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["review", str(results), "--no-browser", "--port", str(port)]) == 2
    assert capsys.readouterr().err == (
        f"smearscan review: cannot listen on 127.0.0.1:{port} (Address already in use); choose "
        "another --port\n")
    # QA 51 F13: an address of another computer was told to choose another port.
    assert main(["review", str(results), "--no-browser", "--host", "192.0.2.1"]) == 2
    assert capsys.readouterr().err == (
        "smearscan review: cannot listen on 192.0.2.1:8765 (Cannot assign requested address); give "
        "--host an address of this computer\n")


def _held(out: Path) -> str:
    """What ``review`` says of a folder another run or review holds (QA 109 L5)."""
    return (f"smearscan review: {out}: another smearscan run or review is writing to this "
            f"output folder (it holds {LOCK_NAME}); stop that run or review (Ctrl-C in its "
            "terminal) or use the review already open on this folder\n")


def test_review_command_during_the_folders_first_run_says_it_is_in_use(tmp_path, capsys):
    out = tmp_path / "results"
    # A first run holds the folder from the start and writes summary.json last.
    with claim_output_folder(out):
        assert main(["review", str(out), "--no-browser"]) == 2
        assert capsys.readouterr().err == _held(out)
    # The run died before writing it: the folder is free and no results folder.
    assert main(["review", str(out), "--no-browser"]) == 2
    assert capsys.readouterr().err.startswith(
        f"smearscan review: {out}: not a smearscan results folder (no readable summary.json")


def test_review_command_on_a_folder_another_review_holds_says_what_to_do(out, capsys):
    # QA 109 L5: a second review was told to choose another --out, an option it does not have.
    with folder_lock(out):
        assert main(["review", str(out), "--no-browser"]) == 2
    assert capsys.readouterr().err == _held(out)


def test_reviewed_cells_become_training_crops(api, out, tmp_path):
    pytest.importorskip("torch")  # training needs the train extra
    from smearscan.training import MARGIN, reviewed_crops

    called = _called(out)
    api.put_class("positive", called[0]["image"], int(called[0]["cell_id"]), "rbc")
    api.put_class("positive", called[1]["image"], int(called[1]["cell_id"]), "other")
    api.sign_off("positive", "A. Tech")
    path = tmp_path / "corrections.csv"
    export_corrections(out, path)
    rows = list(csv.DictReader(path.open()))
    crops = reviewed_crops(path)
    # Debris ("other") is no class of the network: every other reviewed cell is one crop.
    trainable = [r["class"] for r in rows if r["class"] != "other"]
    assert len(rows) == 46 and len(trainable) == 45
    assert Counter(CLASSES[i] for i in crops.label) == Counter(trainable)
    assert set(crops.split) == {"train"} and set(crops.dataset) == {"review"}
    assert crops.crops.shape[1:] == (4, CROP_SIZE + 2 * MARGIN, CROP_SIZE + 2 * MARGIN)
    assert train_parser().parse_args(["--out", "m.pt", "--extra-labels", str(path)]
                                     ).extra_labels == path


@pytest.mark.parametrize(("content", "problem"), [
    ([1, 2], "not a smearscan review file (a JSON list, not an object)"),
    ({"fingerprint": None, "corrections": [{"image": "a.jpg", "cell_id": 1, "old": "rbc",
                                            "new": "banana", "time": "t"}]},
     "not a smearscan review file (a correction to an unknown class: 'banana')"),
    ({"fingerprint": None, "corrections": [{"image": "a.jpg"}]},
     "not a smearscan review file (an entry with fields missing, unknown or of the wrong kind)"),
])
def test_a_malformed_review_file_is_one_line_not_a_traceback(content, problem, tmp_path):
    from smearscan.review.records import ReviewError
    from smearscan.review.reviews import read_review

    (tmp_path / REVIEW_FILE).write_text(json.dumps(content))
    with pytest.raises(ReviewError) as caught:
        read_review(tmp_path)
    assert str(caught.value) == (f"{tmp_path / REVIEW_FILE}: {problem}; restore it from a "
                                 "backup, or move it aside to review the slide again")


def _both(labs: dict) -> dict:
    """The same lab values for both slides of the fixture, by name (a file without slide names
    is refused for several slides)."""
    return {"positive": labs, "negative": labs}


def test_a_review_still_applies_when_only_the_lab_values_change(results, tmp_path):
    # An ADAMTS13 result that comes back changes the verdict, not one cell: the sign-off stays.
    work = tmp_path / "run"
    shutil.copytree(results.parent, work)
    out = work / "results"
    labs = work / "labs.json"
    labs.write_text(json.dumps(_both({"platelets": 12})))
    command = [str(work / "slides"), "--out", str(out), "--model", str(work / "model.onnx"),
               "--quiet", "--jobs", "1", "--labs", str(labs)]
    assert main(command) == 0
    with running(create_app(out, token=TOKEN)) as url:
        Client(url).sign_off("positive", "A. Tech")
    labs.write_text(json.dumps(_both({"platelets": 12, "adamts13": "5 %"})))
    assert main(command) == 0
    review = _merged(out)["positive"]["review"]
    assert (review["status"], review["reviewer"]) == ("signed off", "A. Tech")


#: Platelets low, haemolysis markers normal: the model's count (above the limit) leaves MAHA
#: possible with the urgent TTP line; a count at the limit makes MAHA unlikely.
_NORMAL_HAEMOLYSIS = {"platelets": 60, "ldh": "200 U/L", "ldh_uln": "250 U/L",
                      "haptoglobin": "1.0 g/L", "haptoglobin_lln": "0.3 g/L",
                      "reticulocytes": "1 %"}


def _run_with_labs(results, tmp_path, labs: dict) -> tuple[list[str], Path]:
    work = tmp_path / "run"
    shutil.copytree(results.parent, work)
    (work / "labs.json").write_text(json.dumps(_both(labs)))
    command = [str(work / "slides"), "--out", str(work / "results"), "--model",
               str(work / "model.onnx"), "--quiet", "--jobs", "1", "--labs",
               str(work / "labs.json")]
    assert main(command) == 0
    return command, work / "results"


def test_the_review_page_says_a_slide_has_no_lab_row(results, tmp_path, capsys):
    # qacli6 LOW-4: the report said "No MAHA verdict", the page the reviewer signs off on did not.
    work = tmp_path / "run"
    shutil.copytree(results.parent, work)
    (work / "labs.json").write_text(json.dumps({"positive": _NORMAL_HAEMOLYSIS}))
    out = work / "results"
    assert main([str(work / "slides"), "--out", str(out), "--model", str(work / "model.onnx"),
                 "--quiet", "--jobs", "1", "--labs", str(work / "labs.json")]) == 3
    reason = f"{work / 'labs.json'} has no lab values for slide 'negative'"
    assert _merged(out)["negative"]["no_verdict"] == reason
    with running(create_app(out, token=TOKEN)) as url:
        pages = {name: Client(url).get(f"/slides/{name}", token=None)[1].decode()
                 for name in ("negative", "positive")}
    assert ('<div id="no-verdict-banner" role="alert"><b>No MAHA verdict:</b> '
            f"{reason}. The run was given lab values, but none for this slide, so no verdict and "
            "no URGENT line can be shown: add its row and run again.</div>"
            ) in html.unescape(pages["negative"])
    assert "no-verdict-banner" not in pages["positive"].split("</style>")[1]


def _sign_off_without(out: Path, wrong: int, reviewer: str = "A. Tech") -> None:
    """The technologist re-classes ``wrong`` of the slide's schistocyte calls as red cells."""
    with running(create_app(out, token=TOKEN)) as url:
        client = Client(url)
        for cell in _called(out)[:wrong]:
            assert client.put_class("positive", cell["image"], int(cell["cell_id"]),
                                    "rbc")[0] == 200
        assert client.sign_off("positive", reviewer)[0] == 200


def _field_pictures(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (out / "slides" / "positive" / "fields").iterdir()}


def _headlines(html: str) -> list[str]:
    return re.findall(r'<p class="headline ([a-z]+)"', html)


def test_a_signed_off_review_is_the_count_of_the_verdict_report_and_table(results, tmp_path,
                                                                          capsys):
    # 19 of the 22 calls are not schistocytes: the slide the technologist signs is at the limit.
    command, out = _run_with_labs(results, tmp_path, _NORMAL_HAEMOLYSIS)
    model = _merged(out)["positive"]
    assert (model["schistocytes"]["call"], model["verdict"]["maha"]) == ("above", "possible")
    assert model["verdict"]["urgent"] is not None
    pictures = _field_pictures(out)
    with running(create_app(out, token=TOKEN)) as url:  # the reviewer sees the emergency too
        assert Client(url).get("/api/slides/positive")[1]["urgent"] == model["verdict"]["urgent"]
    _sign_off_without(out, 19)
    with running(create_app(out, token=TOKEN)) as url:
        assert Client(url).get("/api/slides/positive")[1]["urgent"] is None
    slide = _merged(out)["positive"]
    review = slide["review"]
    # Reviewed: 3 of 1,075, 0.45% at the labelled-point rates but 1.26% at the whole-field ones,
    # so not within the limit: borderline, filed for MAHA, which the normal haemolysis markers
    # still make unlikely. The slide's cells are copies of 45 distinct ones (review_support):
    # said, though it takes away only a call within the limit (QA 83 #1).
    assert (review["schistocytes"]["count"], review["schistocytes"]["call"]) == (3, "borderline")
    assert review["schistocytes"]["whole_field_percent"] == 1.261  # 3 / 1075 / 0.2213
    assert (review["verdict"]["maha"], review["verdict"]["urgent"]) == ("unlikely", None)
    assert slide["verdict"] == model["verdict"]  # the model's stays beside it
    smear = review["verdict"]["findings"]["for"][0]
    assert smear["finding"] == ("schistocytes at or under the 1% limit, but over it as read at "
                                "the classifier's whole-field rates, their interval spanning it "
                                "(borderline: this tool's rule)")
    # Corrected for the classifier's sensitivity only: the review left no false positive.
    assert smear["value"] == ("0.453% (95% CI 0.151-5.56%, corrected for the classifier's "
                              "missed calls (its sensitivity) (Rogan-Gladen)); 1.26% read at the "
                              "whole-field rates; red cells counted: 1075; cells reviewed and "
                              "signed off by A. Tech")
    assert review["schistocytes"]["sentence"].endswith(
        "The red cells reach the 1000 required only with 1030 seen again where fields overlap "
        "(45 distinct): add fields that do not overlap.")
    assert review["schistocytes"]["correction"].startswith(
        "Rogan-Gladen with sensitivity 0.617, false-positive rate 0 (")
    assert "false-positive rate 0 after the review, which checked every call (this tool's " \
        "rule)" in review["schistocytes"]["correction"]
    html = (out / "slides" / "positive" / "report.html").read_text(encoding="utf-8")
    assert _headlines(html) == ["reviewed", "borderline"]
    assert "signed off by A. Tech" in html and 'role="alert"' not in html
    # The field pictures are drawn again: a re-classed cell is outlined as a red cell now.
    assert _field_pictures(out) != pictures
    assert read_record(out, "positive") is not None
    assert html.count(review["schistocytes"]["sentence"].replace("'", "&#39;")) == 1
    assert "The classifier's own call was: " + model["schistocytes"]["sentence"].replace(
        "'", "&#39;") in html
    assert "the calls above were reviewed and signed off by A. Tech; a clinician decides" in html
    assert "MAHA: unlikely" in html and "MAHA: possible" not in html
    assert "<h2>Review: schistocyte (3), most probable first</h2>" in html
    # The verdict command on the summary judges the signed-off count too.
    capsys.readouterr()
    assert main(["verdict", "--summary", str(out / "summary.json"), "--slide", "positive",
                 "--labs", str(out.parent / "labs.json")]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("MAHA: unlikely\n")
    assert "cells reviewed and signed off by A. Tech" in printed
    # The report was re-issued in its record: the next run resumes the slide and says so.
    assert main(command[:-5] + ["--labs", command[-1]]) == 0  # not --quiet: the table
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["positive"].split()[4] == "borderline"
    # The fixture's eleven copies of one field are one area photographed eleven times.
    assert rows["positive"].endswith("resumed, signed off, fields overlap: 55 pairs")


def test_reopening_gives_the_report_back_to_the_classifier_count(results, tmp_path):
    _, out = _run_with_labs(results, tmp_path, _NORMAL_HAEMOLYSIS)
    first = (out / "slides" / "positive" / "report.html").read_text(encoding="utf-8")
    _sign_off_without(out, 19)
    with running(create_app(out, token=TOKEN)) as url:
        assert Client(url).post("/api/slides/positive/reopen", {"reviewer": "B. Senior"}
                                )[0] == 200
    html = (out / "slides" / "positive" / "report.html").read_text(encoding="utf-8")
    assert _headlines(html) == _headlines(first) == ["above", "above"]  # urgent line, count
    assert 'role="alert"' in html and "MAHA: possible" in html
    assert "<b>Review in progress</b>: the figures below are the classifier" in html
    slide = SlideSummary.from_dict(_merged(out)["positive"])
    assert (slide.signed_off, slide.review["status"]) == (None, "in progress")
    assert "verdict" not in slide.review and slide.verdict["maha"] == "possible"
    assert slide.reported_statistics == slide.statistics


def test_a_signed_off_slide_analysed_again_keeps_its_reviewed_report(results, tmp_path):
    # An ADAMTS13 result comes back: the slide is analysed again, the sign-off still applies,
    # and its report shows the reviewed count with the new verdict.
    command, out = _run_with_labs(results, tmp_path, _NORMAL_HAEMOLYSIS)
    _sign_off_without(out, 19)
    (out.parent / "labs.json").write_text(
        json.dumps(_both(_NORMAL_HAEMOLYSIS | {"adamts13": "70 %"})))
    assert main(command) == 0
    slide = _merged(out)["positive"]
    assert slide["review"]["status"] == "signed off"
    assert slide["labs"]["adamts13"] == 70.0
    html = (out / "slides" / "positive" / "report.html").read_text(encoding="utf-8")
    assert _headlines(html) == ["reviewed", "borderline"]
    assert "     - ADAMTS13 70% &gt; 20%: a negative result, consider other diagnoses" in html
    assert "cells reviewed and signed off by A. Tech" in html
    assert read_record(out, "positive") is not None


def test_settings_that_change_no_cell_keep_a_signed_off_review(results, tmp_path):
    # Pictures asked for, or the same model file named from a copied folder, change no call.
    command, out = _run_with_labs(results, tmp_path, _NORMAL_HAEMOLYSIS)
    _sign_off_without(out, 19)
    assert main([*command, "--overlay"]) == 0
    assert _merged(out)["positive"]["review"]["status"] == "signed off"
    copy = tmp_path / "copy"
    shutil.copytree(out.parent, copy)
    assert main([str(copy / "slides"), "--out", str(copy / "results"), "--model",
                 str(copy / "model.onnx"), "--quiet", "--jobs", "1", "--labs",
                 str(copy / "labs.json")]) == 0
    assert _merged(copy / "results")["positive"]["review"]["status"] == "signed off"


def test_the_verdict_of_a_summary_takes_the_lab_values_the_run_recorded(results, tmp_path,
                                                                        capsys):
    _, out = _run_with_labs(results, tmp_path, _NORMAL_HAEMOLYSIS)
    capsys.readouterr()
    summary = out / "summary.json"
    assert main(["verdict", "--summary", str(summary), "--slide", "positive"]) == 0
    printed = capsys.readouterr()
    assert printed.err == (f"smearscan verdict: lab values recorded for slide 'positive' in "
                           f"{summary} (--labs or options give others)\n")
    assert printed.out == main_verdict_text(out, "positive")
    # An option given on the command line overrides the recorded value.
    assert main(["verdict", "--summary", str(summary), "--slide", "positive",
                 "--platelets", "250"]) == 0
    overridden = capsys.readouterr().out
    assert "  - no thrombocytopenia: 250 x10^9/L [" in overridden
    assert "  - LDH within the lab's upper limit: 200 U/L (ULN 250 U/L) [" in overridden


def main_verdict_text(out: Path, slide: str) -> str:
    """The verdict text the run's own report shows for ``slide``."""
    from smearscan.verdict import format_text, slide_verdict

    return format_text(slide_verdict(SlideSummary.from_dict(_merged(out)[slide]))) + "\n"


def test_an_amended_sign_off_names_the_earlier_one(results, tmp_path):
    _, out = _run_with_labs(results, tmp_path, _NORMAL_HAEMOLYSIS)
    _sign_off_without(out, 19)
    first = _merged(out)["positive"]["review"]
    report = out / "slides" / "positive" / "report.html"
    # QA 61 F4: what the first sign-off released was said nowhere once it was amended. QA 73
    # L5: as the % the call rested on (corrected), not the raw % unlabelled.
    percent, basis = first["schistocytes"]["percent"], first["schistocytes"]["call_basis"]
    call_percent = first["schistocytes"]["call_percent"]
    assert basis == "corrected" and call_percent != percent
    released = (f"the sign-off by A. Tech on {first['time']} (released: schistocytes "
                f"{call_percent:.2f}% corrected, {first['schistocytes']['call']})")
    with running(create_app(out, token=TOKEN)) as url:
        client = Client(url)
        assert client.post("/api/slides/positive/reopen", {"reviewer": "B. Senior"})[0] == 200
        reopened = html.unescape(report.read_text(encoding="utf-8"))
        assert f"<b>A reviewed result was released before:</b> {released}, since re-opened." \
            in reopened
        assert client.sign_off("positive", "B. Senior")[0] == 200
    block = _merged(out)["positive"]["review"]
    assert [s["reviewer"] for s in block["signoffs"]] == ["A. Tech", "B. Senior"]
    assert block["signoffs"][0] | {"time": None} == {
        "reviewer": "A. Tech", "time": None, "schistocyte_percent": percent,
        "call_percent": call_percent, "call_basis": basis,
        "call": first["schistocytes"]["call"], "urgent": False}
    text = html.unescape(report.read_text(encoding="utf-8"))
    assert f"<b>Amended report:</b> re-opened after {released}.</p>" in text
    assert re.search(r"\u00b7 issued again \d{4}-\d\d-\d\dT[\d:]+\+00:00</div>", text)


def test_a_signed_off_report_without_lab_values_claims_no_verdict(results, tmp_path):
    work = tmp_path / "run"
    shutil.copytree(results.parent, work)
    _sign_off_without(work / "results", 19)
    html = (work / "results" / "slides" / "positive" / "report.html").read_text(encoding="utf-8")
    assert "The figures below rest on the reviewed cells" in html
    assert "verdict below" not in html and "MAHA verdict" not in html
    assert "Outlined in the reviewed classes." in html


def test_the_first_correction_puts_the_report_in_progress(results, tmp_path):
    work = tmp_path / "run"
    shutil.copytree(results.parent, work)
    out = work / "results"
    report = out / "slides" / "positive" / "report.html"
    assert "Review in progress" not in report.read_text(encoding="utf-8")
    with running(create_app(out, token=TOKEN)) as url:
        cell = _called(out)[0]
        assert Client(url).put_class("positive", cell["image"], int(cell["cell_id"]),
                                     "rbc")[0] == 200
    html = report.read_text(encoding="utf-8")
    assert ("<b>Review in progress</b>: the figures below are the classifier's until the slide "
            "is signed off") in html
    assert _headlines(html) == ["above"]  # still the classifier's count
    assert read_record(out, "positive") is not None  # re-sealed: a later run resumes it


def test_a_signed_off_count_is_not_corrected_for_false_positives_the_review_removed(results,
                                                                                  tmp_path):
    # Every call re-classed: a reviewed zero. With the classifier's false-positive rate the
    # corrected upper bound fell under the raw count's own (0.30% against 0.36%).
    work = tmp_path / "run"
    shutil.copytree(results.parent, work)
    _sign_off_without(work / "results", 22)
    reviewed = _merged(work / "results")["positive"]["review"]["schistocytes"]
    assert (reviewed["count"], reviewed["rbc_counted"]) == (0, 1075)
    assert reviewed["corrected_ci95"][1] >= reviewed["ci95"][1] == 0.3561
    point = json.loads((work / "results" / "summary.json").read_text())["model"][
        "operating_points"]["schistocyte"]
    low, _ = rogan_gladen_interval(0, 1075, point["sensitivity"], 0.0, point["sensitivity_se"],
                                   0.0)
    whole = point["whole_field"]  # the interval spans the whole-field reading too
    _, high = rogan_gladen_interval(0, 1075, whole["sensitivity"], 0.0, whole["sensitivity_se"],
                                    0.0)
    assert reviewed["corrected_ci95"] == [round(100 * low, 4), round(100 * high, 4)]


def test_fields_the_run_evened_or_smoothed_are_outlined_and_signed_off(tmp_path):
    # The app segments a field again as the run did: after evening its light or smoothing its
    # noise. Segmented as read, these fields had 33 and 143 objects against the run's 133 and
    # 130, so every crop and the sign-off were refused as "the field changed since the run".
    quality = image_quality()
    rgb = read_field(SAMPLES / "chula-1.jpg")
    slide = tmp_path / "slides" / "s"
    slide.mkdir(parents=True)
    Image.fromarray(quality.vignetted(rgb, 0.55)).save(slide / "vignetted.png")
    Image.fromarray(quality.noisy(rgb, 12)).save(slide / "noisy.png")
    out = tmp_path / "out"
    assert main([str(slide), "--out", str(out), "--quiet", "--jobs", "1"]) == 0
    fields = {f["image"]: f for f in _merged(out)["s"]["per_field"]}
    assert fields["vignetted.png"]["evened"] and fields["noisy.png"]["smoothed_px"] > 0
    folder = ResultsFolder(out)
    record, cells = folder.classified("s")
    for image, source in record.fields.items():
        assert images.segmented_field(image, source)[1].max() == source.objects
    assert folder.sign_off("s", "A. Tech", displayed=_shown(folder, "s"))["status"] == "signed off"


def test_a_field_named_in_bytes_that_are_not_utf8_is_reviewed(tmp_path):
    # QA 76 F3 (the review): its slide's state was a 500, the page blank.
    slide = tmp_path / "slides" / "s"
    slide.mkdir(parents=True)
    try:
        shutil.copy(SAMPLES / "chula-1.jpg", os.fsdecode(bytes(slide) + b"/f\xe9ld.jpg"))
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    out = tmp_path / "out"
    assert main([str(slide), "--out", str(out), "--quiet", "--jobs", "1"]) == 0
    with running(create_app(out, token=TOKEN)) as url:
        api = Client(url)
        status, state = api.get("/api/slides/s")
        assert status == 200
        cell = state["galleries"]["near_miss"][0]
        assert cell["image"] == "f\\udce9ld.jpg"  # shown as the terminal shows it
        shown = urllib.parse.quote(cell["image"])
        status, crop = api.get(f"/api/slides/s/cells/{shown}/{cell['cell_id']}/crop.jpg")
        assert status == 200 and Image.open(io.BytesIO(crop)).size == (96, 96)
        assert api.put_class("s", shown, cell["cell_id"], "schistocyte")[0] == 200
    review = json.loads((slide.parent.parent / "out" / "slides" / "s" / REVIEW_FILE).read_text())
    assert [change["image"] for change in review["corrections"]] == [os.fsdecode(b"f\xe9ld.jpg")]


def test_a_set_aside_review_is_said_by_the_verdict_of_the_summary(results, tmp_path, capsys):
    # Signed off above the limit with the URGENT line; then a field is replaced and the run
    # repeated: the classifier's new count stands, but no output may forget what was released.
    command, out = _run_with_labs(results, tmp_path, _NORMAL_HAEMOLYSIS)
    _sign_off_without(out, 0)
    signed = _merged(out)["positive"]["review"]
    assert signed["verdict"]["urgent"] is not None and signed["schistocytes"]["call"] == "above"
    Image.fromarray(_another_field()).save(out.parent / "slides" / "positive" / "chula-1-09.jpg",
                                           format="JPEG")
    assert main(command) == 0
    review = _merged(out)["positive"]["review"]
    assert review["message"] == (
        "the fields or settings changed after this review, so it no longer applies; it was "
        f"signed off by A. Tech on {signed['time']} with 22 schistocyte(s), 2.05% of red cells, "
        "call above, and the URGENT TTP line in its verdict; review the slide again before "
        "reporting it")
    capsys.readouterr()
    summary = str(out / "summary.json")
    assert main(["verdict", "--summary", summary, "--slide", "positive"]) == 0
    lines = capsys.readouterr().out.splitlines()
    note = f"NOTE: {review['message']}"
    assert note in lines[:2] and lines[lines.index(note) + 1].startswith("MAHA: ")
    assert main(["verdict", "--summary", summary, "--slide", "positive", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["notes"] == [review["message"]]


def test_the_review_page_shows_what_a_sign_off_would_release(results, tmp_path):
    # The in-progress figures keep the classifier's correction; the page also gives the ones a
    # sign-off releases, so that they do not change under the reviewer's eyes.
    _, out = _run_with_labs(results, tmp_path, _NORMAL_HAEMOLYSIS)
    with running(create_app(out, token=TOKEN)) as url:
        client = Client(url)
        for cell in _called(out)[:19]:
            client.put_class("positive", cell["image"], int(cell["cell_id"]), "rbc")
        state = client.get("/api/slides/positive")[1]
        assert state["on_signoff"]["schistocytes"] != state["review"]["schistocytes"]
        client.sign_off("positive", "A. Tech")
        assert "on_signoff" not in client.get("/api/slides/positive")[1]
    released = _merged(out)["positive"]["review"]
    assert state["on_signoff"] == {"schistocytes": released["schistocytes"],
                                   "urgent": released["verdict"]["urgent"]}


def test_a_review_that_no_longer_applies_shows_what_a_sign_off_would_release(out):
    # QA 109 M3: a slide whose inputs changed can be signed off, but showed no preview.
    (out / "slides" / "positive" / REVIEW_FILE).write_text(json.dumps(
        {"fingerprint": {"files": "other inputs"}, "corrections": [], "signoff": None,
         "history": [], "confirmed": [], "previous": []}))
    with running(create_app(out, token=TOKEN)) as url:
        client = Client(url)
        state = client.get("/api/slides/positive")[1]
        assert state["status"] == "inputs changed" and state["on_signoff"] is not None
        assert client.sign_off("positive", "A. Tech")[0] == 200
    released = _merged(out)["positive"]["review"]
    assert state["on_signoff"] == {"schistocytes": released["schistocytes"],
                                   "urgent": (released.get("verdict") or {}).get("urgent")}


def test_a_verdict_made_under_other_rules_is_made_again_and_the_review_still_applies(
        results, tmp_path, capsys):
    # A fix to the verdict's rules (QA 53 C1) did not reach a slide a run resumed: its verdict
    # was the one slide.json held.
    command, out = _run_with_labs(results, tmp_path, _NORMAL_HAEMOLYSIS)
    _sign_off_without(out, 1)
    path = out / "slides" / "positive" / "slide.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["verdict_rules"] == rules_digest()
    path.write_text(json.dumps(sealed(record | {"verdict_rules": "an older rule set"})))
    capsys.readouterr()
    assert main(command) == 0
    err = capsys.readouterr().err
    assert "smearscan: slide 'positive': its MAHA verdict was made under rules since changed; " \
        "the slide is analysed again\n" in err and "'negative'" not in err
    assert json.loads(path.read_text(encoding="utf-8"))["verdict_rules"] == rules_digest()
    assert _merged(out)["positive"]["review"]["status"] == "signed off"
    assert main(command) == 0  # and resumed from now on
    assert "analysed again" not in capsys.readouterr().err


def test_the_fields_of_a_whole_slide_stay_segmented(tmp_path):
    # QA 61 F2: 8 fields were held; tiles sorted over a 25-field slide's fields re-segmented a
    # field for nearly every tile, and the field view waited 14-39 s behind them.
    rgb = read_field(SAMPLES / "chula-1.jpg")
    held = []
    for index in range(25):
        path = tmp_path / f"f{index}.png"
        Image.fromarray(np.roll(rgb, 8 * index, axis=1)).save(path)
        stat = path.stat()
        images._segmented(path, None, (stat.st_size, stat.st_mtime_ns))
        held.append(images._segmented.cache_key(path, None, (stat.st_size, stat.st_mtime_ns)))
    assert all(key in images._segmented.cache for key in held)
