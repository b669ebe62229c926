"""Results folders and a self-stopping server for the review app's tests.

The bundled sample fields have no schistocyte call at a model's operating threshold, so the
results are made by the real batch analysis with a copy of :data:`FROZEN_MODEL` whose
schistocyte threshold is lowered to 0.163: the two most schistocyte-like whole cells of
``chula-1.jpg`` (p 0.235 and 0.169; the next is 0.157) are then called, and none of
``bccd-00000.jpg`` (its most schistocyte-like: p 0.068). Eleven copies of ``chula-1.jpg`` and one
of ``bccd-00000.jpg`` make a slide of 1,075 whole red cells with 22 calls, the size of a real
review; a synthetic field of 12 pale discs is a slide with no call. The copies are found as
overlapping fields: 1,030 of the cells are seen again (45 distinct), so the slide's count above
the limit stands and one within it gets no call (:func:`smearscan.slide_stats.slide_result`).
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from model_files import FROZEN_MODEL, model_with, shipped_metadata
from PIL import Image
from synthetic import grid_centres, synthetic_field

from smearscan.cli import main

SAMPLES = Path(__file__).resolve().parents[1] / "datasets" / "samples"
THRESHOLD = 0.163
COPIES = 11


def lowered_model(path: Path) -> Path:
    """:data:`FROZEN_MODEL` with its schistocyte operating threshold at :data:`THRESHOLD`."""
    points = shipped_metadata(FROZEN_MODEL)["operating_points"]
    points["schistocyte"]["threshold"] = THRESHOLD
    return model_with(path, FROZEN_MODEL, operating_points=points)


def slide_folders(root: Path, copies: int = COPIES) -> Path:
    """``root/slides/{positive,negative}``: the sample fields and a synthetic one."""
    positive, negative = root / "slides" / "positive", root / "slides" / "negative"
    positive.mkdir(parents=True)
    negative.mkdir(parents=True)
    jpeg = (SAMPLES / "chula-1.jpg").read_bytes()
    for n in range(copies):
        # The same pixels in distinct files (a JPEG comment after the start-of-image marker):
        # byte-identical copies are counted once.
        comment = f"copy {n}".encode()
        (positive / f"chula-1-{n:02d}.jpg").write_bytes(
            jpeg[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + jpeg[2:])
    shutil.copy(SAMPLES / "bccd-00000.jpg", positive / "bccd-00000.jpg")
    Image.fromarray(synthetic_field(grid_centres())).save(negative / "discs.png")
    return root / "slides"


def analysed(root: Path, copies: int = COPIES) -> Path:
    """``root/results``: the batch analysis of :func:`slide_folders` with the lowered model."""
    model = lowered_model(root / "model.onnx")
    out = root / "results"
    code = main([str(slide_folders(root, copies)), "--out", str(out), "--model", str(model),
                 "--quiet", "--jobs", "1"])
    assert code == 0
    return out


@contextmanager
def running(app) -> Iterator[str]:
    """Serve ``app`` on a free port of 127.0.0.1 in a thread; stops when the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "review server did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
