# SPDX-License-Identifier: LGPL-2.1-or-later
"""What every handler needs: the island manager and the server's settings.

:func:`~liuray.api.app.create_app` stores one :class:`ApiContext` in ``app.state``;
handlers fetch it with :func:`context`. The island manager's methods are synchronous and
may block (deploying, asking node managers), so handlers call them through
:func:`call`, which runs them in the API's own threads (:mod:`~liuray.api.threads`,
started once, so a burst of requests leaves no thread behind) and keeps the event loop
free.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse

from liuray.api.threads import run_in_thread
from liuray.managers.island import IslandManager

_P = ParamSpec("_P")
_T = TypeVar("_T")

#: DALiuGE's answer when a call returns nothing.
SUCCESS = {"Status": "Success"}


@dataclass(frozen=True)
class ApiContext:
    """Shared by all handlers of one app.

    Attributes:
        island: the island manager the API drives.
        max_bytes: the largest request body accepted, compressed or not.
        base_url: the public base URL for links (None: the one the request came to).
    """

    island: IslandManager
    max_bytes: int
    base_url: str | None = None

    def url_base(self, request: Request) -> str:
        """The base URL for links handed back to clients, without a trailing slash."""
        return (self.base_url or str(request.base_url)).rstrip("/")


def context(request: Request) -> ApiContext:
    """The :class:`ApiContext` of the app serving ``request``."""
    api: ApiContext = request.app.state.api
    return api


async def call(func: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """Run a blocking island-manager call in the API's threads."""
    return await run_in_thread(func, args, kwargs)


def success() -> JSONResponse:
    """``{"Status": "Success"}``, DALiuGE's reply to calls that return nothing."""
    return JSONResponse(SUCCESS)


def path_param(request: Request, name: str) -> str:
    """A path parameter as a string."""
    value: str = request.path_params[name]
    return value


def json_response(value: Any) -> JSONResponse:
    """A JSON response (shorthand used by the resource modules)."""
    return JSONResponse(value)
