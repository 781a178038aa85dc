# SPDX-License-Identifier: LGPL-2.1-or-later
"""The OpenAPI 3 document of the REST API, built from the route table itself.

Every :class:`~starlette.routing.Route` of the app becomes one operation per method:
its path parameters come from the path template, its summary and description from the
handler's docstring (first line, then the rest), the schemas of its query, request body
and 200 answer from :mod:`liuray.api.schemas` (by handler name), and every operation may
answer with the JSON error body of :mod:`liuray.api.errors`. The operation id is the
route's name; routes named ``*_legacy`` (DALiuGE's old paths) are marked deprecated.
Since the document is derived from the routes, it cannot forget one.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from liuray import __version__
from liuray.api.schemas import (
    ERROR,
    EVENT,
    EVENT_STREAMS,
    PATH_PARAMETERS,
    PHYSICAL_GRAPH,
    QUERY,
    REQUEST_BODIES,
    RESPONSES,
)

_PARAM = re.compile(r"{(\w+)(?::\w+)?}")

_COMPONENTS = {
    "schemas": {"Error": ERROR, "PhysicalGraph": PHYSICAL_GRAPH},
    "responses": {
        "Error": {
            "description": "error (the status follows liuray.api.errors.STATUS)",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    },
}


def build_document(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI 3.1 document for ``routes`` (non-``Route`` entries are skipped)."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        if not isinstance(route, Route) or not route.include_in_schema:
            continue
        path = _PARAM.sub(r"{\1}", route.path)
        for method in sorted(route.methods or ()):
            if method == "HEAD":
                continue
            paths.setdefault(path, {})[method.lower()] = _operation(route, method)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "liuray island manager",
            "version": __version__,
            "description": "DALiuGE-compatible data island manager REST API, with liuray "
            "extensions under /api/liuray/. States are DALiuGE's integer codes.",
        },
        "paths": paths,
        "components": _COMPONENTS,
    }


def _operation(route: Route, method: str) -> dict[str, Any]:
    name = getattr(route.endpoint, "__name__", route.name)
    summary, _, description = (inspect.getdoc(route.endpoint) or name).partition("\n")
    operation: dict[str, Any] = {
        "operationId": f"{route.name}_{method.lower()}",
        "summary": summary.strip(),
        "responses": {"200": _success(name), "default": {"$ref": "#/components/responses/Error"}},
    }
    if description.strip():
        operation["description"] = description.strip()
    parameters = [
        {
            "name": param,
            "in": "path",
            "required": True,
            "schema": PATH_PARAMETERS.get(param, {"type": "string", "minLength": 1}),
        }
        for param in _PARAM.findall(route.path)
    ]
    parameters += QUERY.get(name, [])
    if parameters:
        operation["parameters"] = parameters
    if method in ("POST", "PUT", "PATCH") and name in REQUEST_BODIES:
        operation["requestBody"] = REQUEST_BODIES[name]
    if route.name.endswith("_legacy"):
        operation["deprecated"] = True  # DALiuGE's pre-2022 spelling of the path
    return operation


def _success(name: str) -> dict[str, Any]:
    """The 200 answer of handler ``name``: its JSON schema, or an event stream."""
    if name in EVENT_STREAMS:
        # OpenAPI 3.1 has no itemSchema: the schema of an event stream is one event's.
        stream = {"schema": EVENT}
        return {"description": "server-sent events", "content": {"text/event-stream": stream}}
    content = {"application/json": {"schema": RESPONSES.get(name, {})}}
    return {"description": "success", "content": content}


async def openapi_document(request: Request) -> Response:
    """This document: OpenAPI 3 description of every route."""
    cached = getattr(request.app.state, "openapi", None)
    if cached is None:
        cached = build_document(request.app.routes)
        request.app.state.openapi = cached
    return JSONResponse(cached)
