# SPDX-License-Identifier: LGPL-2.1-or-later
"""Placeholder HTML pages until the monitoring page (``liuray.web``) exists.

``GET /`` links the API and its OpenAPI document; ``GET /session?sessionId=`` (the URL
``/api/liuray/submit`` hands back) links the session's JSON views. They are replaced as
a whole by passing ``web_routes`` to :func:`liuray.api.app.create_app`.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><h1>{title}</h1><ul>{items}</ul></body></html>
"""


def _page(title: str, links: list[tuple[str, str]]) -> HTMLResponse:
    items = "".join(f'<li><a href="{escape(href)}">{escape(text)}</a></li>' for href, text in links)
    return HTMLResponse(_PAGE.format(title=escape(title), items=items))


async def home(request: Request) -> Response:
    """Placeholder home page linking the REST API."""
    return _page(
        "liuray island manager",
        [
            ("/api", "/api: nodes and sessions"),
            ("/api/sessions", "/api/sessions: every session"),
            ("/api/nodes", "/api/nodes: registered nodes"),
            ("/api/openapi.json", "/api/openapi.json: the OpenAPI document"),
        ],
    )


async def session_page(request: Request) -> Response:
    """Placeholder session page linking the session's JSON views."""
    session_id = request.query_params.get("sessionId", "")
    base = f"/api/sessions/{quote(session_id, safe='')}"
    return _page(
        f"session {session_id}",
        [
            (f"/api/liuray/sessions/{quote(session_id, safe='')}/progress", "progress"),
            (f"{base}/status", "status per node"),
            (f"{base}/graph/status", "status per drop"),
            (f"{base}/graph", "graph"),
        ],
    )


ROUTES: list[BaseRoute] = [
    Route("/", home, methods=["GET"], include_in_schema=False),
    Route("/session", session_page, methods=["GET"], include_in_schema=False),
]
