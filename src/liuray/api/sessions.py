# SPDX-License-Identifier: LGPL-2.1-or-later
"""Session routes: create, list, inspect, deploy, cancel, delete (DALiuGE's DIM API).

Shapes follow DALiuGE's island manager on the wire (integer state codes, ``{node:
code}`` statuses, ``{"Status": "Success"}`` for calls that return nothing); liuray's
extensions live under ``/api/liuray/``. Each handler's docstring is its OpenAPI
summary (first line) and description (the rest).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from liuray import __version__
from liuray.api import render
from liuray.api.body import GRAPH_TYPES, media_type, parse_json, read_body, read_form, read_json
from liuray.api.context import call, context, json_response, path_param, success
from liuray.errors import InvalidRequest, SessionNotFound
from liuray.types import DropUid

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def manager_info(request: Request) -> Response:
    """The island manager: its nodes, its sessions, liuray's version and transport.

    DALiuGE's ``{"hosts": [...], "sessionIds": [...]}`` plus a ``liuray`` object.
    """
    island = context(request).island
    hosts = await call(island.nodes)
    session_ids = await call(island.session_ids)
    return json_response(
        {
            "hosts": hosts,
            "sessionIds": session_ids,
            "liuray": {"version": __version__, "transport": island.transport.kind},
        }
    )


async def submission_method(request: Request) -> Response:
    """How graphs may be submitted here (EAGLE asks before submitting)."""
    return json_response({"methods": ["BROWSER", "SERVER"]})


async def list_sessions(request: Request) -> Response:
    """Every session, past ones included: ``[{"sessionId", "status": {node: code}, "size"}]``."""
    return json_response(render.sessions(await call(context(request).island.sessions)))


async def create_session(request: Request) -> Response:
    """Create an empty session from ``{"sessionId": ID}``.

    409 if the id is already used (also by a past session); 400 if it is not a valid id
    (1-200 letters, digits and ``. _ : @ + -``).
    """
    api = context(request)
    data = await read_body(request, api.max_bytes)
    if media_type(request) in _FORM_TYPES:
        fields = await read_form(request, data)
        body: Any = {"sessionId": ids[0]} if (ids := fields.get("sessionId")) else {}
    else:
        body = parse_json(data) if data.strip() else {}
    if not isinstance(body, dict) or "sessionId" not in body:
        raise InvalidRequest(
            'send the new session\'s id as JSON: {"sessionId": "<id>"}', body=str(body)[:200]
        )
    session_id = await call(api.island.create_session, body["sessionId"])
    return json_response({"sessionId": session_id})


async def get_session(request: Request) -> Response:
    """One session: ``{"status": {node: code}, "graph": {oid: spec}, "dir": path}``.

    ``dir`` is the session's directory (where its files are) on its first node, once
    deployed; every node's is in ``.../progress`` as ``dirs``.
    """
    island = context(request).island
    session_id = path_param(request, "sid")
    status = await call(island.session_status, session_id)
    try:
        graph = await call(island.graph, session_id)
        directories = (await call(island.progress, session_id)).directories
    except SessionNotFound:
        graph, directories = {}, {}  # a past session: only its record survives a restart
    directory = directories[min(directories)] if directories else ""
    return json_response(
        {"status": render.session_status(status), "graph": graph, "dir": directory}
    )


async def delete_session(request: Request) -> Response:
    """Cancel and forget a session on every node (its record is deleted too)."""
    await call(context(request).island.destroy_session, path_param(request, "sid"))
    return success()


async def session_status(request: Request) -> Response:
    """The session's state on each node: ``{node: code}`` (4 = finished, 6 = failed)."""
    island = context(request).island
    status = await call(island.session_status, path_param(request, "sid"))
    return json_response(render.session_status(status))


async def deploy_session(request: Request) -> Response:
    """Deploy the session and start it.

    ``completed`` names the drops to mark completed at start (DALiuGE's form field
    ``completed=uid1,uid2``; also accepted as JSON ``{"completed": [...]}`` or in the
    query string). Without it the graph's roots start.
    """
    api = context(request)
    completed = await _completed(request, api.max_bytes)
    await call(api.island.deploy_session, path_param(request, "sid"), completed)
    return success()


async def cancel_session(request: Request) -> Response:
    """Cancel a running session (running apps are stopped, waiting drops cancelled)."""
    await call(context(request).island.cancel_session, path_param(request, "sid"))
    return success()


async def submit(request: Request) -> Response:
    """Create, append and deploy in one call (liuray extension).

    The body is a physical graph, as for ``graph/append``; the query may give
    ``sessionId`` (default: generated) and ``completed=uid1,uid2``. Returns the session
    id and the URL of its monitoring page.
    """
    api = context(request)
    graph = await read_json(request, api.max_bytes, GRAPH_TYPES)
    session_id = request.query_params.get("sessionId") or None
    completed = _split(request.query_params.getlist("completed"))
    sid = await call(api.island.submit, graph, session_id, completed or None)
    return json_response(
        {"sessionId": sid, "url": f"{api.url_base(request)}/session?sessionId={sid}"}
    )


async def progress(request: Request) -> Response:
    """A session's summary (liuray extension): state, drops per state, failures."""
    island = context(request).island
    progress = await call(island.progress, path_param(request, "sid"))
    return json_response(render.session_progress(progress))


async def _completed(request: Request, max_bytes: int) -> list[DropUid] | None:
    values = list(request.query_params.getlist("completed"))
    data = await read_body(request, max_bytes)
    if data.strip():
        kind = media_type(request)
        if kind in _FORM_TYPES:
            values += (await read_form(request, data)).get("completed", [])
        else:
            body = parse_json(data)
            if not isinstance(body, dict | list):
                raise InvalidRequest(
                    'send the drops to mark completed as {"completed": ["a", "b"]} (or none)',
                    body=str(body)[:200],
                )
            field = body.get("completed") if isinstance(body, dict) else body
            if isinstance(field, str):
                values.append(field)
            elif isinstance(field, list) and all(isinstance(uid, str) for uid in field):
                values += field
            elif field is not None:
                raise InvalidRequest(
                    '\'completed\' must be a list of drop uids, e.g. {"completed": ["a", "b"]}',
                    completed=str(field)[:200],
                )
    uids = _split(values)
    return uids or None


def _split(values: list[str]) -> list[DropUid]:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]`` (blanks dropped)."""
    return [uid.strip() for value in values for uid in value.split(",") if uid.strip()]
