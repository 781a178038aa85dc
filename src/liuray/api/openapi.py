# SPDX-License-Identifier: LGPL-2.1-or-later
"""The OpenAPI 3 document of the REST API, built from the route table itself.

Every :class:`~starlette.routing.Route` of the app becomes one operation per method:
its path parameters come from the path template, its summary and description from the
handler's docstring (first line, then the rest), its request body from
:data:`REQUEST_BODIES`, and every operation may answer with the JSON error body of
:mod:`liuray.api.errors`. The operation id is the route's name; routes named
``*_legacy`` (DALiuGE's old paths) are marked deprecated. Since the document is
derived from the routes, it cannot forget one.
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

_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
_JSON_OR_TEXT = {
    "application/json": {"schema": {"$ref": "#/components/schemas/PhysicalGraph"}},
    "text/plain": {"schema": {"type": "string", "description": "physical graph as JSON"}},
}
_COMPLETED_FORM = {
    "schema": {
        "type": "object",
        "properties": {"completed": {"type": "string", "description": "comma-separated drop uids"}},
    }
}

#: Request bodies by handler name.
REQUEST_BODIES: dict[str, dict[str, Any]] = {
    "create_session": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["sessionId"],
                    "properties": {"sessionId": {"type": "string"}},
                }
            }
        },
    },
    "append_graph": {
        "required": True,
        "description": "a physical graph; may be sent with Content-Encoding gzip or deflate",
        "content": _JSON_OR_TEXT,
    },
    "submit": {
        "required": True,
        "description": "a physical graph, as for graph/append",
        "content": _JSON_OR_TEXT,
    },
    "deploy_session": {
        "required": False,
        "content": {
            "application/x-www-form-urlencoded": _COMPLETED_FORM,
            "multipart/form-data": _COMPLETED_FORM,
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"completed": {"type": "array", "items": {"type": "string"}}},
                }
            },
        },
    },
}

_QUERY: dict[str, list[dict[str, Any]]] = {
    "submit": [
        {"name": "sessionId", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "completed", "in": "query", "required": False, "schema": {"type": "string"}},
    ],
    "deploy_session": [
        {"name": "completed", "in": "query", "required": False, "schema": {"type": "string"}},
    ],
}

_COMPONENTS = {
    "schemas": {
        "Error": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {
                "error": {"type": "string", "description": "exception class name"},
                "message": {"type": "string"},
                "detail": {"type": "object"},
                "type": {"type": "string", "description": "DALiuGE: exception class name"},
                "args": {"type": "array", "description": "DALiuGE: [message]"},
            },
        },
        "PhysicalGraph": {
            "description": "[spec, ...], [spec, ..., reprodata] or [name, [spec, ...]]",
            "type": "array",
        },
    },
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
        "responses": {
            "200": {"description": "success (JSON)"},
            "default": {"$ref": "#/components/responses/Error"},
        },
    }
    if description.strip():
        operation["description"] = description.strip()
    parameters = [
        {"name": param, "in": "path", "required": True, "schema": {"type": "string"}}
        for param in _PARAM.findall(route.path)
    ]
    parameters += _QUERY.get(name, [])
    if parameters:
        operation["parameters"] = parameters
    if method in ("POST", "PUT", "PATCH") and name in REQUEST_BODIES:
        operation["requestBody"] = REQUEST_BODIES[name]
    if route.name.endswith("_legacy"):
        operation["deprecated"] = True  # DALiuGE's pre-2022 spelling of the path
    return operation


async def openapi_document(request: Request) -> Response:
    """This document: OpenAPI 3 description of every route."""
    cached = getattr(request.app.state, "openapi", None)
    if cached is None:
        cached = build_document(request.app.routes)
        request.app.state.openapi = cached
    return JSONResponse(cached)
