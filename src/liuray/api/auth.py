# SPDX-License-Identifier: LGPL-2.1-or-later
"""Access tokens: who may use a server that is reachable from a network.

``liuray serve`` bound to anything but loopback needs a token (``--token`` or the
``LIURAY_TOKEN`` environment variable) unless started with ``--insecure``. With one set,
every ``/api`` request (and every request to DALiuGE's translator routes, which
translate and deploy graphs) must carry it, as ``Authorization: Bearer <token>`` or, for a
browser's ``EventSource`` (which cannot set headers), the ``access_token`` query
parameter. A request without it gets ``401`` with a body saying how to send it. CORS
preflight requests (``OPTIONS``) are answered before this check, so a page on another
origin can still ask.

A pure ASGI middleware (no per-request thread, event streams pass through untouched);
tokens are compared in constant time.

>>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
(True, True, False)
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
from collections.abc import Collection
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

#: The environment variable the server, the client and the CLI read the token from.
TOKEN_VARIABLE = "LIURAY_TOKEN"

_HINT = (
    "this server needs an access token: send 'Authorization: Bearer <token>' (liuray's "
    f"client and CLI: set {TOKEN_VARIABLE}), or '?access_token=<token>' from a browser"
)


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server on this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class TokenAuth:
    """Refuses ``/api`` requests, and those to ``paths`` (the translator routes), that
    do not carry ``token`` (see the module docstring)."""

    def __init__(self, app: ASGIApp, token: str, paths: Collection[str] = ()) -> None:
        self.app = app
        self._token = token.encode()
        self._paths = frozenset(paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._guarded(scope["path"]) or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "Unauthorized", "message": _HINT, "detail": {}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="liuray"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _guarded(self, path: str) -> bool:
        return path.startswith("/api") or path in self._paths

    def _allowed(self, scope: Scope) -> bool:
        if scope.get("method") == "OPTIONS":
            return True
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, given = value.partition(b" ")
                if scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self._token):
                    return True
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        return any(
            hmac.compare_digest(given.encode(), self._token)
            for given in query.get("access_token", ())
        )


_TOKEN_IN_QUERY = re.compile(r"(?<=[?&]access_token=)[^&\s\"]*")


class RedactTokens(logging.Filter):
    """Keeps access tokens out of the logs: an ``access_token`` query value in a log
    record (uvicorn's access log prints each request's path with its query) is written
    as ``***``. Attach it to the ``uvicorn.access`` logger (:func:`run_server` does).

    >>> RedactTokens.redact("GET /api/liuray/events?access_token=s3cret&x=1")
    'GET /api/liuray/events?access_token=***&x=1'
    """

    @staticmethod
    def redact(text: str) -> str:
        """``text`` with every ``access_token`` query value replaced by ``***``."""
        return _TOKEN_IN_QUERY.sub("***", text) if "access_token=" in text else text

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.redact(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = self.redact(record.msg)
        return True
