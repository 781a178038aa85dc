# SPDX-License-Identifier: LGPL-2.1-or-later
"""Running the app under uvicorn, with a hook called once the socket is bound.

uvicorn handles SIGINT and SIGTERM itself (a graceful stop) when run from the main
thread, and afterwards raises the signal again for the handler that was there before.
:func:`run_server` puts a no-op handler there for that moment, so it *returns* after
the stop and the caller can close the island manager (cancel running apps, record the
sessions) instead of the process dying mid-way. It reports the bound port to
``on_started`` (useful with port 0).
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from liuray.api.auth import RedactTokens
from liuray.api.events import stop_event_streams
from liuray.errors import missing_extra

try:
    import uvicorn
except ImportError as err:  # pragma: no cover - depends on the installed extras
    raise missing_extra("uvicorn", "server") from err


#: Seconds a stopping server waits for requests still being answered.
GRACE = 10


class _Server(uvicorn.Server):
    """A uvicorn server that calls back once it listens."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[int], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_started(_bound_port(self.servers, self.config.port))

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Open event streams (a monitoring page) never end by themselves.
        stop_event_streams(self.config.app)
        await super().shutdown(sockets)


def run_server(
    app: Any, host: str, port: int, log_level: str, on_started: Callable[[int], None]
) -> bool:
    """Serve ``app`` until SIGINT/SIGTERM; False if it could not start (port in use...)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        # What still runs this long after a stop is cut (event streams end at once).
        timeout_graceful_shutdown=GRACE,
    )
    # The Config just (re)configured uvicorn's loggers; a token in a query stays out.
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in access.filters):
        access.addFilter(RedactTokens())
    server = _Server(config, on_started)
    with _absorb_stop_signals():
        try:
            server.run()
        except SystemExit:  # uvicorn's way of giving up when it cannot bind
            return False
    return server.started


@contextmanager
def _absorb_stop_signals() -> Iterator[None]:
    """While inside, SIGINT/SIGTERM raised by uvicorn after its graceful stop are no-ops."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in stops}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _bound_port(servers: list[Any], default: int) -> int:
    for server in servers:
        for sock in getattr(server, "sockets", None) or ():
            return int(sock.getsockname()[1])
    return default
