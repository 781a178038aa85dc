# SPDX-License-Identifier: LGPL-2.1-or-later
"""Graph routes of a session: append, read back, size, per-drop status and detail.

``graph/append`` takes a physical graph in any shape DALiuGE produces (a list of specs,
optionally ending with a reprodata dict, or ``["name", [specs]]``), as
``application/json`` or ``text/plain``, optionally gzip- or zlib-compressed. The island
manager validates the whole graph so far on each append, so a rejected append (400)
leaves what was accepted before untouched.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from liuray.api import render
from liuray.api.body import GRAPH_TYPES, read_json
from liuray.api.context import call, context, json_response, path_param, success
from liuray.managers.island import IslandManager
from liuray.types import SessionId


async def append_graph(request: Request) -> Response:
    """Append drop specs to a session that is not deployed yet.

    415 for a content type other than JSON or text; 413 for a body (or its decompressed
    form) over the size limit; 400 for invalid JSON (with line and column) or an invalid
    graph (spec without ``oid``, dangling link, cycle, unknown node...).
    """
    api = context(request)
    graph = await read_json(request, api.max_bytes, GRAPH_TYPES)
    await call(api.island.append_graph, path_param(request, "sid"), graph)
    return success()


async def get_graph(request: Request) -> Response:
    """The session's drop specs as appended: ``{oid: spec}``."""
    island = context(request).island
    return json_response(await call(island.graph, path_param(request, "sid")))


async def graph_size(request: Request) -> Response:
    """The number of drops in the session (a bare integer)."""
    island = context(request).island
    return json_response(await call(island.graph_size, path_param(request, "sid")))


async def graph_status(request: Request) -> Response:
    """Each drop's state: ``{oid: {"status": code, "execStatus": code (apps only)}}``."""
    island = context(request).island
    return json_response(await call(_graph_status, island, path_param(request, "sid")))


def _graph_status(island: IslandManager, session_id: SessionId) -> dict[str, dict[str, int]]:
    """Read and render in the thread pool: one entry per drop, too many for the loop."""
    return render.graph_status(island.graph_status(session_id))


async def drop_detail(request: Request) -> Response:
    """One drop: ``{"session", "status", "oid", "logs"}`` plus liuray's fields.

    liuray adds ``state`` (the state's name), ``error``, ``started_at``,
    ``finished_at`` (epoch seconds, apps) and ``node``; for apps also ``execStatus``.
    """
    island = context(request).island
    session_id, oid = path_param(request, "sid"), path_param(request, "oid")
    detail = await call(island.drop_detail, session_id, oid)
    return json_response(render.drop_detail(detail))
