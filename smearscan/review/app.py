"""The review web app: a Starlette application over one results folder, served by uvicorn.

Safety: it binds to 127.0.0.1 unless told otherwise; only requests whose Host is this server's
are answered (no DNS rebinding); every write carries the per-run token embedded in the page,
in a header no other site can set without a CORS preflight, which this app never grants;
slide, image and cell names from URLs are looked up in the results, never joined into paths.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import socket
import threading
import webbrowser
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from smearscan import __version__
from smearscan.outputs import LOCK_NAME, folder_lock, jsonable, remove_stale_temporaries
from smearscan.render import CLASS_COLOURS, REVIEW_CLASSES
from smearscan.report import call_basis_text
from smearscan.results import NO_VERDICT_NOTE
from smearscan.review import images
from smearscan.review.folder import ResultsFolder
from smearscan.review.galleries import galleries, gallery_on_demand
from smearscan.review.records import ConflictError, NotFoundError, ReviewError
from smearscan.slide_stats import LABELS, RED_LABELS, SchistocyteCount

TOKEN_HEADER = "X-Review-Token"
#: Keys that set a class, by position in LABELS (1-7) and by letter.
KEYS = dict(zip(LABELS, ("r", "s", "n", "w", "i", "p", "o"), strict=True))


class ServerError(ReviewError):
    """The server cannot start (port in use, bad host): a usage error."""


def _json(data: Any, status: int = 200) -> JSONResponse:
    # QA 76 F3: a field named in bytes that are not UTF-8 made its slide's state a 500.
    return JSONResponse(jsonable(data, shown=True), status_code=status)


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("smearscan.review", "templates"),
                              autoescape=True)


def _cell_json(folder: ResultsFolder, slide: str, rows: np.ndarray,
               labels: np.ndarray) -> list[dict]:
    cells = folder.records[slide].cells
    return [{"image": str(cells.image[r]), "cell_id": int(cells.cell_id[r]),
             "model_class": str(cells.label[r]), "class": str(labels[r]),
             "morphology": str(cells.morphology[r]),
             "x": round(float(cells.x[r]), 1), "y": round(float(cells.y[r]), 1),
             "p_schistocyte": round(float(cells.probability["schistocyte"][r]), 4)}
            for r in rows]


def _call_figures(schisto: dict | None) -> dict:
    """The call of a ``schistocytes`` block and the % and 95% interval it rests on (corrected
    when the model gives its error rates), as the terminal table shows them; each None
    without a block."""
    if schisto is None:
        return {"schistocyte_percent": None, "schistocyte_ci95": None, "call_basis": None,
                "schistocytes": None, "call": None}
    return {"schistocyte_percent": schisto["call_percent"],
            "schistocyte_ci95": schisto["call_ci95"], "call_basis": schisto["call_basis"],
            "schistocytes": call_basis_text(SchistocyteCount.from_dict(schisto)),
            "call": schisto["call"]}


def create_app(out: Path, *, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
               token: str | None = None) -> Starlette:
    """The review app over results folder ``out``.

    Parameters
    ----------
    out : Path
        A folder written by ``smearscan ... --out``.
    hosts : tuple of str, keyword-only
        Host names the app answers to (the Host header, without port).
    token : str, optional
        The write token (a new random one by default); the page embeds it.

    Raises
    ------
    ReviewError
        ``out`` is not a readable results folder.
    """
    folder = ResultsFolder(out)
    token = token or secrets.token_urlsafe(24)

    def page(name: str, **context: Any) -> HTMLResponse:
        html = _templates().get_template(name).render(
            token=token, version=__version__, out=str(folder.out), **context)
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})

    async def body(request: Request) -> dict:
        # As bytes: a header of non-ASCII characters made compare_digest raise (QA 61 F6: 500).
        given = request.headers.get(TOKEN_HEADER, "").encode("utf-8", "surrogateescape")
        if not secrets.compare_digest(given, token.encode("utf-8")):
            # QA 112 L-b: a page opened before the server restarted holds the old token.
            raise ReviewForbidden("missing or wrong review token: writes come only from the "
                                  "review page of this server; reload this page (a restarted "
                                  "server gives it a new token)")
        if not await request.body():  # a request with nothing to say (undo) may send nothing
            return {}
        try:
            data = await request.json()
        except ValueError:
            raise ReviewError("the request body is not JSON") from None
        except RecursionError:  # QA 51 F9: a 500 and a traceback
            raise ReviewError("the request body is JSON nested too deeply") from None
        if not isinstance(data, dict):
            raise ReviewError("the request body must be a JSON object")
        return data

    def index(request: Request) -> HTMLResponse:
        return page("index.html", slides=slide_list())

    def slide_page(request: Request) -> HTMLResponse:
        slide, cells = folder.classified(request.path_params["slide"])
        red = np.isin(folder.labels(slide.name), RED_LABELS)
        return page("review.html", slide=slide.name, labels=LABELS, keys=KEYS,
                    colours={k: "#{:02x}{:02x}{:02x}".format(*v)
                             for k, v in CLASS_COLOURS.items()},
                    review_classes=REVIEW_CLASSES,
                    shapes=sorted(set(cells.morphology[red]) - {""}),
                    no_verdict=slide.summary.no_verdict, no_verdict_note=NO_VERDICT_NOTE,
                    shared=folder.shared_images(slide.name))

    def slide_list() -> list[dict]:
        listed = []
        for name in folder.records:
            status, schisto = folder.listed(name)
            listed.append({"slide": name, "status": status,
                           "classified": folder.records[name].cells is not None,
                           **_call_figures(schisto),
                           "shared_with": [other for other, _, _ in folder.shared_images(name)]})
        return listed

    def api_slides(request: Request) -> JSONResponse:
        return _json({"slides": slide_list()})

    def api_slide(request: Request) -> JSONResponse:
        slide = request.path_params["slide"]
        state = folder.slide_state(slide)
        if folder.records[slide].cells is not None:
            labels = folder.labels(slide)
            shown = galleries(folder.records[slide].cells, labels)
            state["galleries"] = {k: _cell_json(folder, slide, rows, labels)
                                  for k, rows in shown.items()}
        return _json(state)

    def api_cells(request: Request) -> JSONResponse:
        slide = request.path_params["slide"]
        _, cells = folder.classified(slide)
        labels = folder.labels(slide)
        label, shape = request.query_params.get("class"), request.query_params.get("morphology")
        if (label is None) == (shape is None):
            raise ReviewError("give one of ?class=NAME or ?morphology=NAME")
        rows, total = gallery_on_demand(cells, labels, label=label, morphology=shape)
        return _json({"cells": _cell_json(folder, slide, rows, labels), "total": total})

    async def api_set_class(request: Request) -> JSONResponse:
        data = await body(request)
        p = request.path_params
        if "class" not in data:
            raise ReviewError('the body must be {"class": NAME}')
        image = folder.image(p["slide"], p["image"])
        return _json(folder.set_class(p["slide"], image, p["cell_id"], data["class"],
                                      data.get("seen")))

    async def api_undo(request: Request) -> JSONResponse:
        data = await body(request)
        return _json(folder.undo(request.path_params["slide"], data.get("seen")))

    async def api_signoff(request: Request) -> JSONResponse:
        data = await body(request)
        return _json(folder.sign_off(request.path_params["slide"], data.get("reviewer"),
                                     data.get("seen"), data.get("displayed")))

    async def api_reopen(request: Request) -> JSONResponse:
        data = await body(request)
        return _json(folder.reopen(request.path_params["slide"], data.get("reviewer")))

    def picture(render):
        def endpoint(request: Request) -> Response:
            p = request.path_params
            record, cells = folder.classified(p["slide"])
            image = folder.image(p["slide"], p["image"])
            row = folder.row(p["slide"], image, p["cell_id"])
            data = render(image, record.fields[image], cells, row, folder.labels(p["slide"]))
            return Response(data, media_type="image/jpeg",
                            headers={"Cache-Control": "no-store"})
        return endpoint

    cell = "/api/slides/{slide}/cells/{image:path}/{cell_id:int}"
    routes = [
        Route("/", index),
        Route("/slides/{slide}", slide_page),
        Route("/api/slides", api_slides),
        Route("/api/slides/{slide}", api_slide),
        Route("/api/slides/{slide}/cells", api_cells),
        Route(cell + "/crop.jpg", picture(images.crop_jpeg)),
        Route(cell + "/field.jpg", picture(images.field_jpeg)),
        Route(cell, api_set_class, methods=["PUT"]),
        Route("/api/slides/{slide}/undo", api_undo, methods=["POST"]),
        Route("/api/slides/{slide}/signoff", api_signoff, methods=["POST"]),
        Route("/api/slides/{slide}/reopen", api_reopen, methods=["POST"]),
    ]

    async def review_error(request: Request, error: ReviewError) -> JSONResponse:
        return _json({"error": str(error)}, status=error.status)

    async def not_found(request: Request, error: Exception) -> JSONResponse:
        return _json({"error": f"no such page or resource: {request.url.path}"}, status=404)

    async def wrong_method(request: Request, error: Exception) -> JSONResponse:
        return _json({"error": f"{request.method} is not a request {request.url.path} takes"},
                     status=405)

    app = Starlette(routes=routes,
                    exception_handlers={ReviewError: review_error, 404: not_found,
                                        405: wrong_method},
                    middleware=[Middleware(_HostCheck, hosts=hosts)])
    app.state.folder = folder
    return app


class _HostCheck(BaseHTTPMiddleware):
    """Refuses a request for a host name the app does not answer to: a page on another site
    whose name resolves to this computer (DNS rebinding) must not reach the review. In JSON as
    every other error (QA 52 F10: Starlette's TrustedHostMiddleware answers in plain text)."""

    def __init__(self, app: Any, *, hosts: tuple[str, ...]) -> None:
        super().__init__(app)
        self.hosts = frozenset(host.lower() for host in hosts)

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        host = request.headers.get("host")
        if host is None or (request.url.hostname or "").lower() not in self.hosts:
            return _json({"error": f"a request for host {host!r}: this review server answers "
                                   f"to {', '.join(sorted(self.hosts))} only"}, status=400)
        return await call_next(request)


class ReviewForbidden(ReviewError):
    """A write without the page's token."""

    status = 403


def _check_free(host: str, port: int) -> None:
    """Fail now, in one line, when the address cannot be bound."""
    try:
        # Resolved first: create_server reports a name that does not resolve as a bind error.
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise ServerError(f"cannot listen on {host}:{port}: the host cannot be resolved "
                          f"({error.strerror}); give --host an address or name of this "
                          "computer") from None
    try:
        with socket.create_server((host, port)):
            pass
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        # QA 51 F13: an address of another computer was told to choose another port.
        fix = ("choose another --port" if error.errno in (errno.EADDRINUSE, errno.EACCES)
               else "give --host an address of this computer")
        raise ServerError(f"cannot listen on {host}:{port} ({reason}); {fix}") from None


def _host_names(host: str) -> tuple[str, ...]:
    """The names a request may address the server by: this computer's loopback names, the
    listening address, and, when listening on every interface, the computer's own names."""
    names = {host, "127.0.0.1", "localhost"}
    if host in ("0.0.0.0", "::"):
        own = socket.gethostname()
        names |= {own, socket.getfqdn()}
        # A name without an address: requests by name still work.
        with contextlib.suppress(OSError):
            names.add(socket.gethostbyname(own))
    return tuple(sorted(names))


#: What a review that finds its folder locked does: it has no --out to choose.
_BUSY = ("stop that run or review (Ctrl-C in its terminal) or use the review already open on "
         "this folder")


def _app_unless_in_use(out: Path, *, hosts: tuple[str, ...]) -> Starlette:
    """:func:`create_app` over ``out``; when ``out`` cannot be read while a run holds its lock,
    the lock's one line: a folder's first run writes ``summary.json`` last, and until then the
    folder is in use, not "not a results folder".

    Raises
    ------
    OutputFolderError
        A run holds ``out``'s lock and ``out`` is not yet a readable results folder.
    ReviewError
        ``out`` is not a readable results folder.
    """
    try:
        return create_app(out, hosts=hosts)
    except ReviewError:
        # Only a folder a run has locked holds the lock file: asking no other folder for its
        # lock leaves no file in a folder given by mistake.
        if (Path(out) / LOCK_NAME).is_file():
            with folder_lock(out, busy=_BUSY):
                pass
        raise


def serve(out: Path, *, host: str = "127.0.0.1", port: int = 8765,
          open_browser: bool = True) -> None:
    """Serve the review app over ``out`` until interrupted (Ctrl-C)."""
    import uvicorn

    app = _app_unless_in_use(out, hosts=_host_names(host))
    _check_free(host, port)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    # The review rewrites the merged outputs: a batch run into the same folder must wait.
    with folder_lock(out, busy=_BUSY):
        remove_stale_temporaries(out)  # QA 61 F10: a server killed mid-write left its own
        for slide, why in app.state.folder.left_out.items():
            print(f"smearscan review: slide {slide!r} left out, as a run into this folder "
                  f"leaves it out: {why}", flush=True)
        for slide, problem in app.state.folder.issue_interrupted().items():
            print(f"smearscan review: slide {slide!r}: its last review change was interrupted; "
                  + ("its outputs are issued again from review.json" if problem is None else
                     f"its report cannot be issued again ({problem})"), flush=True)
        print(f"smearscan review: {out} at {url} (Ctrl-C to stop)", flush=True)
        if open_browser:
            threading.Timer(1.0, webbrowser.open, args=(url,)).start()
        # No startup or shutdown handlers: without the lifespan task a second Ctrl-C, which
        # makes uvicorn skip its shutdown, leaves no task to be cancelled with a traceback
        # (QA 128 H4).
        uvicorn.run(app, host=host, port=port, log_level="warning", lifespan="off")


__all__ = ["TOKEN_HEADER", "ConflictError", "NotFoundError", "ServerError", "create_app",
           "serve"]
