# SPDX-License-Identifier: LGPL-2.1-or-later
"""The monitoring page: its HTML pages, static files and the two reads it adds to the API.

The page is plain HTML, CSS and JavaScript shipped in the package (``api/static/``,
nothing to build): ``GET /`` lists the sessions, ``GET /session?sessionId=<id>`` (the
URL DALiuGE's translator sends browsers to, optionally ``&view=progress-bar|graph|
list``) shows one, ``GET /nodes`` the island's nodes. The pages themselves carry no
data and need no token; their scripts read the REST API (with the token the user typed,
see ``static/common.js``) and follow the event streams of :mod:`liuray.api.events`.

Three liuray API routes exist for the page (token-guarded like the rest of ``/api``):

* ``GET /api/liuray/sessions``: every session's progress, newest first, in one call
  (the sessions page would otherwise read ``/api/sessions`` then each session's
  ``progress``).
* ``GET /api/liuray/sessions/{sid}/timeline``: when and where each app ran (the
  timeline view).
* ``GET /api/liuray/sessions/{sid}/drops/{oid}/content``: a file drop's content as a
  download, when the file is in the session's directory on a node whose files this
  server can read (in-process node managers, or a shared file system).
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from urllib.parse import unquote, urlparse

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from liuray.api import render
from liuray.api.context import call, context, json_response, path_param
from liuray.api.errors import error_body
from liuray.engine.states import AppState
from liuray.errors import DropNotFound, LiurayError
from liuray.managers.island import IslandManager
from liuray.types import DropUid, SessionId

STATIC = Path(__file__).parent / "static"

_NO_CACHE = {"Cache-Control": "no-cache"}


def _page(title: str, name: str, shown: str = "") -> HTMLResponse:
    """Page ``name``: the frame (``page.html``) around ``<name>.main.html``, its script
    ``<name>.js``; ``shown`` (escaped) is put in the title and the ``#session-id``."""
    main = (STATIC / f"{name}.main.html").read_text(encoding="utf-8")
    if shown:
        main = main.replace(
            '<span id="session-id"></span>', f'<span id="session-id">{shown}</span>'
        )
        title = f"{shown} · {title}"
    page = (STATIC / "page.html").read_text(encoding="utf-8")
    for key, value in (("{title}", title), ("{script}", f"{name}.js"), ("{main}", main)):
        page = page.replace(key, value, 1)
    return HTMLResponse(page, headers=_NO_CACHE)


async def sessions_page(request: Request) -> Response:
    """The sessions page: every session, live."""
    return _page("Sessions", "sessions")


async def session_page(request: Request) -> Response:
    """One session's page: progress, failures, graph, drops (``?sessionId=<id>``).

    The id is written into the page (title and heading) so that it reads right before
    its script runs, and without one.
    """
    return _page("Session", "session", escape(request.query_params.get("sessionId", "")))


async def nodes_page(request: Request) -> Response:
    """The nodes page: the island's node managers, live."""
    return _page("Nodes", "nodes")


async def session_overview(request: Request) -> Response:
    """Every session's progress (state, counts, times), newest first (liuray extension)."""
    island = context(request).island
    return json_response(await call(_overview, island))


def _overview(island: IslandManager) -> list[render.JSON]:
    listed = []
    for session_id in island.session_ids():
        body = render.session_progress(island.progress(session_id))
        del body["dirs"]  # node paths: only the session page needs them
        listed.append(body)
    listed.sort(key=lambda entry: entry["created"] or 0.0, reverse=True)
    return listed


async def session_timeline(request: Request) -> Response:
    """When each application of the session ran, and where (liuray extension).

    ``{"apps": [{"oid", "name", "node", "state", "started_at", "finished_at"}],
    "truncated": bool}`` for the apps that have started, at most :data:`TIMELINE_LIMIT`
    of them (``truncated`` says when more were left out). Each app's times are read from
    its node manager, so this costs one call per app: the page reads it only while its
    timeline is shown, at most every few seconds.
    """
    island = context(request).island
    return json_response(await call(_timeline, island, path_param(request, "sid")))


#: The most applications :func:`session_timeline` reports.
TIMELINE_LIMIT = 2000


def _timeline(island: IslandManager, session_id: SessionId) -> render.JSON:
    statuses = island.graph_status(session_id)
    names = {oid: spec.get("name") for oid, spec in island.graph(session_id).items()}
    started = [
        uid
        for uid, status in statuses.items()
        if status.exec_state is not None and status.exec_state is not AppState.NOT_RUN
    ]
    apps = []
    for uid in started[:TIMELINE_LIMIT]:
        detail = island.drop_detail(session_id, uid)
        if detail.started_at is None:
            continue
        apps.append(
            {
                "oid": uid,
                "name": names.get(uid),
                "node": detail.node,
                "state": str(detail.exec_state or detail.state),
                "started_at": detail.started_at,
                "finished_at": detail.finished_at,
            }
        )
    return {"apps": apps, "truncated": len(started) > TIMELINE_LIMIT}


async def drop_content(request: Request) -> Response:
    """A file drop's content, as a download (liuray extension).

    404 when the session or the drop does not exist, or the drop has no file here: it is
    no file drop, its file is outside the session's directory, or not readable by this
    server (not written yet, or on a node on another machine).
    """
    island = context(request).island
    session_id, oid = path_param(request, "sid"), path_param(request, "oid")
    try:
        path = await call(_file_of, island, session_id, oid)
    except (NoFile, DropNotFound) as err:
        body = error_body(
            type(err).__name__, err.message, {k: str(v) for k, v in err.detail.items()}
        )
        return JSONResponse(body, status_code=404)
    return FileResponse(path, filename=path.name, media_type="application/octet-stream")


class NoFile(LiurayError):
    """A drop has no file this server hands out (answered with 404)."""


def _file_of(island: IslandManager, session_id: SessionId, oid: DropUid) -> Path:
    detail = island.drop_detail(session_id, oid)
    url = urlparse(detail.data_url or "")
    if url.scheme != "file":
        raise NoFile(
            f"drop {oid!r} of session {session_id!r} holds no file (its data is "
            f"{detail.data_url or 'not data'}); only file drops can be downloaded",
            session_id=session_id,
            uid=oid,
        )
    path = Path(unquote(url.path)).resolve()
    directory = island.progress(session_id).directories.get(detail.node or "")
    if directory is None or not path.is_relative_to(Path(directory).resolve()):
        raise NoFile(
            f"drop {oid!r}: {path} is outside the session's directory, so this server "
            "does not hand it out",
            session_id=session_id,
            uid=oid,
        )
    if not path.is_file():
        raise NoFile(
            f"drop {oid!r}: {path} is not a file this server can read (not written yet, "
            "or on another machine)",
            session_id=session_id,
            uid=oid,
        )
    return path


#: The page's HTML pages, its static files and the API reads only it uses (token-guarded
#: like every ``/api`` path; the two JSON ones are in the OpenAPI document, the file
#: download is not: it answers with the file, not JSON). Pass as ``web_routes``.
ROUTES: list[BaseRoute] = [
    Route("/", sessions_page, methods=["GET"], include_in_schema=False),
    Route("/session", session_page, methods=["GET"], include_in_schema=False),
    Route("/nodes", nodes_page, methods=["GET"], include_in_schema=False),
    Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    Route("/api/liuray/sessions", session_overview, methods=["GET"]),
    Route("/api/liuray/sessions/{sid}/timeline", session_timeline, methods=["GET"]),
    Route(
        "/api/liuray/sessions/{sid}/drops/{oid:path}/content",
        drop_content,
        methods=["GET"],
        include_in_schema=False,
    ),
]
