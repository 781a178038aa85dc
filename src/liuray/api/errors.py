# SPDX-License-Identifier: LGPL-2.1-or-later
"""From exceptions to HTTP statuses: the one table, and the JSON error body.

Every error a handler lets escape is turned into a response here, by the exception
handlers that :func:`liuray.api.app.create_app` installs. The status comes from
:data:`STATUS`, looked up along the exception's class hierarchy (so a subclass of
``GraphError`` is a 400 without an entry of its own); anything that is not a
:class:`~liuray.errors.LiurayError` is a 500. The traceback of a 5xx is logged once,
here. Unexpected exceptions are caught by :class:`CatchAll` rather than by Starlette's
outermost handler, which re-raises them after answering, so the server would log them
again and drop the client's keep-alive connection.

The body carries both liuray's fields and DALiuGE's (``type`` and ``args``, which
DALiuGE's REST client reads to re-raise the same exception class)::

    {"error": "SessionNotFound", "message": "no session 's1'...", "detail": {...},
     "type": "NoSessionException", "args": ["s1", "no session 's1'..."]}
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from liuray.errors import (
    DeployError,
    DropNotFound,
    GraphError,
    InvalidRequest,
    InvalidSessionState,
    InvalidTransition,
    LiurayError,
    NodeNotFound,
    SessionExists,
    SessionNotFound,
    TransportError,
)

log = logging.getLogger(__name__)


class RequestTooLarge(InvalidRequest):
    """The request body (after decompression) exceeds the server's size limit."""


class UnsupportedMediaType(InvalidRequest):
    """The body's Content-Type or Content-Encoding is not one the route reads."""


class TemplateNotFound(InvalidRequest):
    """The translator keeps no physical graph template by that id (any more)."""


#: Exception class -> HTTP status; the most specific class in an error's MRO wins.
STATUS: dict[type[BaseException], int] = {
    SessionNotFound: 404,
    NodeNotFound: 404,
    TemplateNotFound: 404,
    DropNotFound: 404,
    SessionExists: 409,
    InvalidTransition: 409,
    InvalidSessionState: 400,
    GraphError: 400,
    RequestTooLarge: 413,
    UnsupportedMediaType: 415,
    InvalidRequest: 400,
    TransportError: 502,
    DeployError: 503,
    LiurayError: 500,
}

#: Names used in the ``error`` field for Starlette's own HTTP errors (unknown routes...).
_HTTP_NAMES = {
    400: "BadRequest",
    404: "NotFound",
    405: "MethodNotAllowed",
    413: "RequestTooLarge",
    415: "UnsupportedMediaType",
}


def status_for(error: BaseException) -> int:
    """The HTTP status of an error, from :data:`STATUS` (500 when nothing matches)."""
    for cls in type(error).__mro__:
        status = STATUS.get(cls)
        if status is not None:
            return status
    return 500


#: liuray error -> the ``dlg.exceptions`` class DALiuGE's REST client re-raises for it.
DALIUGE_TYPES: dict[str, str] = {
    "SessionNotFound": "NoSessionException",
    "SessionExists": "SessionAlreadyExistsException",
    "InvalidSessionState": "InvalidSessionState",
    "GraphError": "InvalidGraphException",
    "InvalidTransition": "InvalidDropException",
    "DropNotFound": "NoDropException",
}
#: DALiuGE exceptions whose constructor is (session_id, reason).
_SESSION_TYPES = frozenset(
    {"NoSessionException", "SessionAlreadyExistsException", "InvalidSessionState"}
)


def error_body(name: str, message: str, detail: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON error body: liuray's fields, plus DALiuGE's ``type``/``args``.

    ``type`` names the ``dlg.exceptions`` class DALiuGE's own client re-raises
    (``DaliugeException`` when DALiuGE has no closer one) and ``args`` fits that class's
    constructor, so a DALiuGE client gets its own exception, not a parsing failure.
    """
    detail = detail or {}
    dlg_type = DALIUGE_TYPES.get(name, "DaliugeException")
    args: list[Any] = [message]
    if dlg_type in _SESSION_TYPES:
        args = [str(detail.get("session_id", "")), message]
    elif dlg_type == "NoDropException":  # (drop_uid, reason)
        args = [str(detail.get("uid", "")), message]
    return {"error": name, "message": message, "detail": detail, "type": dlg_type, "args": args}


async def liuray_error(request: Request, error: Exception) -> Response:
    """Exception handler for :class:`LiurayError` (and everything else: 500)."""
    status = status_for(error)
    if isinstance(error, LiurayError):
        message, detail = error.message, error.detail
    else:
        message, detail = f"internal error: {type(error).__name__}: {error}", {}
    if status >= 500:
        log.error("%s %s failed", request.method, request.url.path, exc_info=error)
    return JSONResponse(
        error_body(type(error).__name__, message, _jsonable(detail)), status_code=status
    )


async def http_error(request: Request, error: Exception) -> Response:
    """Exception handler for Starlette's HTTP errors (404 for unknown routes, 405...)."""
    if not isinstance(error, HTTPException):  # pragma: no cover - registered for it only
        return await liuray_error(request, error)
    name = _HTTP_NAMES.get(error.status_code, f"HTTP{error.status_code}")
    message = str(error.detail)
    if error.status_code == 404:
        message = f"no route {request.method} {request.url.path}; see GET /api/openapi.json"
    headers = dict(error.headers or {})
    if error.status_code == 405:
        # Starlette fills Allow from the first route matching the path; a path served by
        # several routes (one per method) allows the union.
        headers["Allow"] = ", ".join(_allowed_methods(request) or [headers.get("Allow", "")])
        message = (
            f"{request.method} is not allowed on {request.url.path}; allowed: {headers['Allow']}"
        )
    return JSONResponse(
        error_body(name, message, {"path": request.url.path, "method": request.method}),
        status_code=error.status_code,
        headers=headers,
    )


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


class CatchAll:
    """ASGI middleware: any exception escaping the app becomes a JSON 500 (logged once).

    Installed inside Starlette's own error middleware, which would re-raise.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as error:
            if started:  # too late for an error response: let the server drop the connection
                raise
            response = await liuray_error(Request(scope, receive), error)
            await response(scope, receive, send)


def _jsonable(value: Any) -> Any:
    """``detail`` values made JSON-safe (sets, tuples and odd objects from callers)."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
