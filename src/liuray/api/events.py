# SPDX-License-Identifier: LGPL-2.1-or-later
"""Event-stream routes: live session progress as server-sent events (liuray extension).

``GET /api/liuray/sessions/{sid}/events`` follows one session and ends after its
``end`` event; ``GET /api/liuray/events`` follows every session and never ends. Both
are ``text/event-stream`` (the browser's ``EventSource`` reads them; so does
:meth:`liuray.client.Client.wait`)::

    event: progress
    data: {"sessionId": "s1", "state": "running", "status": 3, "total": 2,
           "counts": {"finished": 1, "running": 1}, "changes": [["a", 2, 2]],
           "truncated": false}

    event: end
    data: {"sessionId": "s1", "state": "finished", "status": 4, "error": null}

``changes`` lists ``[oid, status, execStatus or -1]`` of the drops that changed since the
previous event (DALiuGE's integer codes). Events are coalesced per reader, so a
50,000-drop session sends a few events a second, not one per drop; when a reader falls
far behind, ``truncated`` is true and it should re-read ``graph/status``. A comment line
is sent every ``KEEPALIVE`` seconds so proxies keep the connection open.

No thread waits per stream: the island manager's event thread wakes the handler's
``asyncio.Event`` through ``call_soon_threadsafe``. A stopping server ends every open
stream at once (:func:`stop_event_streams`), so an open monitoring page never holds
up a stop.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from liuray.api.context import call, context, path_param
from liuray.managers.island import IslandManager
from liuray.managers.stream import IslandEvent, SessionFinished, Subscription

#: Seconds between keep-alive comments on an idle stream.
KEEPALIVE = 15.0

_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class OpenStreams:
    """The event streams one app is serving, so that a stopping server can end them.

    Lives in ``app.state``. Streams register from the event loop; :meth:`stop` may be
    called from any thread.
    """

    def __init__(self) -> None:
        self.wakers: dict[asyncio.Event, asyncio.AbstractEventLoop] = {}
        self.stopping = False

    def stop(self) -> None:
        """Make every open stream (and any opened later) end now."""
        self.stopping = True
        for ready, loop in list(self.wakers.items()):
            loop.call_soon_threadsafe(ready.set)


def _open_streams(app: Any) -> OpenStreams:
    streams = getattr(app.state, "event_streams", None)
    if streams is None:
        streams = app.state.event_streams = OpenStreams()
    return streams


def stop_event_streams(app: Any) -> None:
    """End the event streams ``app`` serves (as the server stops): a browser's open
    stream would otherwise keep the server's graceful stop waiting for ever."""
    _open_streams(app).stop()


async def session_events(request: Request) -> Response:
    """Live progress of one session as server-sent events; ends after its end.

    Events ``progress`` (counts per drop state, changed drops) and ``end`` (final
    state). A session that already ended sends its ``end`` at once.
    """
    return await _open(request, path_param(request, "sid"))


async def all_events(request: Request) -> Response:
    """Live progress of every session as server-sent events (never ends)."""
    return await _open(request, None)


async def _open(request: Request, session_id: str | None) -> Response:
    island = context(request).island
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    # The wake-up runs in this context: without one, each publishing thread would make
    # its own, once, and keep it for its life (docs/reliability.md, "Load").
    wake_context = contextvars.copy_context()

    def wake() -> None:
        loop.call_soon_threadsafe(ready.set, context=wake_context)

    subscription = await call(island.subscribe, session_id, wake)
    streams = _open_streams(request.app)
    return StreamingResponse(
        _stream(island, subscription, ready, streams, until_end=session_id is not None),
        media_type="text/event-stream",
        headers=_HEADERS,
    )


async def _stream(
    island: IslandManager,
    subscription: Subscription,
    ready: asyncio.Event,
    streams: OpenStreams,
    until_end: bool,
) -> AsyncIterator[str]:
    streams.wakers[ready] = asyncio.get_running_loop()
    try:
        yield ": liuray event stream\n\n"
        while not subscription.closed and not streams.stopping:
            try:
                await asyncio.wait_for(ready.wait(), KEEPALIVE)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if streams.stopping:
                return
            ready.clear()
            ended = False
            for event in subscription.next(0):
                yield render(event)
                ended = ended or isinstance(event, SessionFinished)
            if until_end and ended:
                return
    finally:
        streams.wakers.pop(ready, None)
        island.unsubscribe(subscription)


def render(event: IslandEvent) -> str:
    """One server-sent event in DALiuGE's vocabulary (integer codes, camelCase ids)."""
    body: dict[str, Any] = {
        "sessionId": event.session_id,
        "state": str(event.state),
        "status": event.state.code,
    }
    if isinstance(event, SessionFinished):
        name = "end"
        body["error"] = event.error
    else:
        name = "progress"
        body["total"] = event.total
        body["counts"] = dict(event.counts)
        body["changes"] = [list(change) for change in event.changes]
        body["truncated"] = event.truncated
    return f"event: {name}\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"
