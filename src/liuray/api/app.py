# SPDX-License-Identifier: LGPL-2.1-or-later
"""The REST application: the route table, in one place, and :func:`create_app`.

Handlers live in one module per resource (:mod:`~liuray.api.sessions`,
:mod:`~liuray.api.graphs`, :mod:`~liuray.api.nodes`); errors become responses in
:mod:`~liuray.api.errors`; bodies are read by :mod:`~liuray.api.body`. The HTML pages
(``GET /``, ``GET /session``, ``GET /nodes``), their static files and the two reads
only the page uses come from ``web_routes``, by default the monitoring page of
:mod:`~liuray.api.web`.

>>> from pathlib import Path; import tempfile
>>> from liuray.managers.island import IslandManager
>>> from liuray.transports.inproc import InProcessTransport
>>> island = IslandManager(InProcessTransport(Path(tempfile.mkdtemp())))
>>> app = create_app(island)
>>> sorted({r.path for r in app.routes if r.path.startswith("/api/node")})
['/api/node/{node}', '/api/nodes', '/api/nodes/{node}']
>>> island.close()
"""

from __future__ import annotations

from collections.abc import Sequence

from liuray._gc import release_when_quiet
from liuray.errors import LiurayError, missing_extra

try:  # first import of the package (api/__init__), so every api module is covered
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.middleware.cors import CORSMiddleware
    from starlette.routing import BaseRoute, Route
    from starlette.types import ASGIApp, Receive, Scope, Send
except ImportError as err:  # pragma: no cover - depends on the installed extras
    raise missing_extra("starlette", "server") from err

from liuray.api import events, graphs, nodes, sessions, translator, web
from liuray.api.auth import TokenAuth
from liuray.api.context import ApiContext
from liuray.api.errors import CatchAll, http_error, liuray_error
from liuray.api.openapi import openapi_document
from liuray.api.pgt_store import TemplateStore
from liuray.managers.island import IslandManager

#: DALiuGE's default ``--max-request-size``: 10 MB.
DEFAULT_MAX_REQUEST_BYTES = 10 * 2**20

_SID = "/api/sessions/{sid}"


def api_routes() -> list[BaseRoute]:
    """Every REST route: DALiuGE's island manager API, then liuray's extensions."""
    return [
        Route("/api", sessions.manager_info, methods=["GET"]),
        Route("/api/submission_method", sessions.submission_method, methods=["GET"]),
        Route("/api/sessions", sessions.list_sessions, methods=["GET"]),
        Route("/api/sessions", sessions.create_session, methods=["POST"]),
        Route(_SID, sessions.get_session, methods=["GET"]),
        Route(_SID, sessions.delete_session, methods=["DELETE"]),
        Route(f"{_SID}/status", sessions.session_status, methods=["GET"]),
        Route(f"{_SID}/deploy", sessions.deploy_session, methods=["POST"]),
        Route(f"{_SID}/cancel", sessions.cancel_session, methods=["POST"]),
        Route(f"{_SID}/graph", graphs.get_graph, methods=["GET"]),
        Route(f"{_SID}/graph/append", graphs.append_graph, methods=["POST"]),
        Route(f"{_SID}/graph/size", graphs.graph_size, methods=["GET"]),
        Route(f"{_SID}/graph/status", graphs.graph_status, methods=["GET"]),
        Route(f"{_SID}/graph/drop/{{oid:path}}", graphs.drop_detail, methods=["GET", "POST"]),
        Route("/api/nodes", nodes.list_nodes, methods=["GET"]),
        Route("/api/node/{node}", nodes.add_node, methods=["POST"]),
        Route("/api/node/{node}", nodes.remove_node, methods=["DELETE"]),
        # DALiuGE's paths before 2022-08 (still used by old start scripts).
        Route("/api/nodes/{node}", nodes.add_node, methods=["POST"], name="add_node_legacy"),
        Route(
            "/api/nodes/{node}", nodes.remove_node, methods=["DELETE"], name="remove_node_legacy"
        ),
        Route("/api/liuray/submit", sessions.submit, methods=["POST"]),
        Route("/api/liuray/sessions/{sid}/progress", sessions.progress, methods=["GET"]),
        Route("/api/liuray/sessions/{sid}/events", events.session_events, methods=["GET"]),
        Route("/api/liuray/events", events.all_events, methods=["GET"]),
        Route("/api/liuray/nodes", nodes.node_details, methods=["GET"]),
        Route("/api/liuray/nodes/{node}/restart", nodes.restart_node, methods=["POST"]),
        Route("/api/openapi.json", openapi_document, methods=["GET"]),
        # DALiuGE's translator web service (dlg tm), so EAGLE can translate here too.
        Route("/lg_fill", translator.lg_fill, methods=["POST"]),
        Route("/unroll", translator.lg_unroll, methods=["POST"]),
        Route("/partition", translator.pgt_partition, methods=["POST"]),
        Route("/unroll_and_partition", translator.lg_unroll_and_partition, methods=["POST"]),
        Route("/map", translator.pgt_map, methods=["POST"]),
        Route("/pgt_jsonbody", translator.pgt_jsonbody, methods=["GET"]),
        # A page, a redirect, two refusals: not in the OpenAPI document.
        Route("/gen_pgt", translator.gen_pgt, methods=["POST"], include_in_schema=False),
        Route("/gen_pg", translator.gen_pg, methods=["GET"], include_in_schema=False),
        Route("/gen_pg_helm", translator.not_served, methods=["GET"], include_in_schema=False),
        Route("/gen_pg_spec", translator.not_served, methods=["POST"], include_in_schema=False),
    ]


class GiveBackWhenQuiet:
    """ASGI middleware: each request restarts the countdown after which the server,
    quiet since, gives memory back (:func:`liuray._gc.release_when_quiet`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                release_when_quiet()


def create_app(
    island: IslandManager,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    base_url: str | None = None,
    web_routes: Sequence[BaseRoute] | None = None,
    token: str | None = None,
    cors_origins: Sequence[str] = ("*",),
) -> Starlette:
    """The ASGI app serving ``island``.

    Args:
        island: the island manager behind the API (the caller closes it).
        max_request_bytes: the largest body accepted, on the wire and decompressed.
        base_url: public base URL for links handed out (default: the request's).
        web_routes: the HTML pages (default: the monitoring page, :mod:`liuray.api.web`).
        token: if given, every ``/api`` request must carry it (:mod:`liuray.api.auth`).
        cors_origins: the origins whose pages may call the API (CORS); ``"*"`` is any
            origin (DALiuGE's behaviour, so EAGLE and the translator can submit from a
            browser), an empty list answers no CORS request.
    """
    guard = [Middleware(TokenAuth, token=token, paths=translator.PATHS)] if token else []
    cors = [
        Middleware(
            CORSMiddleware,
            allow_origins=list(cors_origins),
            allow_methods=["*"],
            allow_headers=["*"],
            max_age=600,
        )
    ]
    app = Starlette(
        routes=[*api_routes(), *(web.ROUTES if web_routes is None else web_routes)],
        middleware=[
            *(cors if cors_origins else []),
            *guard,
            Middleware(GiveBackWhenQuiet),
            Middleware(CatchAll),
        ],
        exception_handlers={LiurayError: liuray_error, HTTPException: http_error},
    )
    app.state.api = ApiContext(island, max_request_bytes, base_url)
    app.state.templates = TemplateStore()  # the translator routes' templates
    return app
