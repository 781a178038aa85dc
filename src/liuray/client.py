# SPDX-License-Identifier: LGPL-2.1-or-later
"""A typed Python client for a liuray (or DALiuGE) island manager's REST API.

One method per route; JSON bodies come back as plain Python values, with DALiuGE's
integer state codes left as they are on the wire. Errors come back as exceptions of the
class the server raised: the JSON error body's ``error`` name (or DALiuGE's ``type``)
is looked up in :mod:`liuray.errors`, keeping ``message`` and ``detail``::

    LiurayError                      any other error body, or a non-JSON error reply
    ├── SessionNotFound, SessionExists, GraphError, ...   the same class as the server's
    ├── InvalidRequest               also for 413 (body too large) and 415 (content type)
    └── TransportError               the server could not be reached, or timed out

Bodies of graphs larger than 64 KiB are sent gzip-compressed (``Content-Encoding:
gzip``), as DALiuGE's own client does.

Example::

    from liuray.client import Client

    with Client("http://127.0.0.1:8001") as dim:
        submitted = dim.submit(graph_specs)            # create + append + deploy
        print(submitted.session_id, submitted.url)     # the monitoring page
        final = dim.wait(submitted.session_id, timeout=600)
        if final["state"] != "finished":
            for failure in final["failures"]:
                print(failure["oid"], failure["error"])

The step-by-step DALiuGE flow is ``create_session``, ``append_graph`` (any number of
times), then ``deploy_session``. ``httpx.MockTransport`` (or any httpx transport) may
be passed as ``transport`` to test code that uses the client without a server.
"""

from __future__ import annotations

import gzip
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from liuray import errors
from liuray.engine.states import SESSION_TERMINAL
from liuray.errors import InvalidRequest, LiurayError, TransportError, missing_extra
from liuray.types import DropUid, NodeName, SessionId

try:
    import httpx
except ImportError as err:  # pragma: no cover - depends on the installed extras
    raise missing_extra("httpx", "client") from err

__all__ = ["DEFAULT_URL", "GZIP_THRESHOLD", "Client", "SubmitResult"]

DEFAULT_URL = "http://127.0.0.1:8001"
"""Where ``liuray serve`` listens by default (DALiuGE's island manager port)."""

GZIP_THRESHOLD = 64 * 1024
"""Graph bodies larger than this many bytes are sent gzip-compressed."""

_TERMINAL = frozenset(str(state) for state in SESSION_TERMINAL)

#: Error names that are not classes of liuray.errors: the server's HTTP-level errors and
#: DALiuGE's exception names, so the client also reads a DALiuGE manager's errors.
_ALIASES: dict[str, type[LiurayError]] = {
    "RequestTooLarge": InvalidRequest,
    "Unauthorized": InvalidRequest,
    "UnsupportedMediaType": InvalidRequest,
    "BadRequest": InvalidRequest,
    "NoSessionException": errors.SessionNotFound,
    "SessionAlreadyExistsException": errors.SessionExists,
    "InvalidGraphException": errors.GraphError,
    "InvalidDropException": errors.InvalidTransition,
    "InvalidRelationshipException": errors.GraphError,
    "SubManagerException": TransportError,
}


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """What :meth:`Client.submit` hands back.

    Attributes:
        session_id: the new session's id.
        url: its monitoring page.
    """

    session_id: SessionId
    url: str


class Client:
    """A synchronous client of one island manager (``liuray serve`` or DALiuGE's DIM).

    Args:
        base_url: the server, e.g. ``http://127.0.0.1:8001`` (``host:port`` works too).
        timeout: seconds to wait for each answer (None: forever).
        transport: an httpx transport to use instead of the network (tests).
        token: the server's access token (default: ``$LIURAY_TOKEN``), sent as
            ``Authorization: Bearer``.

    Raises (from every method):
        TransportError: the server could not be reached or did not answer in time.
        LiurayError: the server refused the request; the subclass is the server's.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        timeout: float | None = 60.0,
        transport: httpx.BaseTransport | None = None,
        token: str | None = None,
    ) -> None:
        self.base_url = _normalise(base_url)
        self.timeout = timeout
        token = token or os.environ.get("LIURAY_TOKEN") or None
        headers = {"Authorization": f"Bearer {token}"} if token else None
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport, headers=headers
        )

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __repr__(self) -> str:
        return f"Client({self.base_url!r})"

    # ------------------------------------------------------------------ manager

    def info(self) -> dict[str, Any]:
        """``GET /api``: the manager's hosts, session ids and (liuray) version."""
        result: dict[str, Any] = self._request("GET", "/api")
        return result

    def session_url(self, session_id: SessionId) -> str:
        """The monitoring page of a session."""
        return f"{self.base_url}/session?sessionId={quote(session_id, safe='')}"

    # ------------------------------------------------------------------ sessions

    def create_session(self, session_id: SessionId) -> SessionId:
        """Create an empty session; returns its id.

        Raises:
            SessionExists: the id is taken (also by a past session).
            InvalidRequest: the id is not valid.
        """
        answer = self._request("POST", "/api/sessions", json={"sessionId": session_id})
        created: SessionId = answer["sessionId"]
        return created

    def sessions(self) -> list[dict[str, Any]]:
        """Every session: ``[{"sessionId", "status": {node: code}, "size"}]``."""
        result: list[dict[str, Any]] = self._request("GET", "/api/sessions")
        return result

    def session(self, session_id: SessionId) -> dict[str, Any]:
        """One session: ``{"status": {node: code}, "graph": {oid: spec}, "dir"}``."""
        result: dict[str, Any] = self._request("GET", _session_path(session_id))
        return result

    def session_status(self, session_id: SessionId) -> dict[NodeName, int]:
        """The session's state code on each node (4 finished, 5 cancelled, 6 failed)."""
        result: dict[NodeName, int] = self._request("GET", _session_path(session_id, "status"))
        return result

    def append_graph(self, session_id: SessionId, graph: Any) -> None:
        """Add drop specs to a session that is not deployed yet.

        Args:
            session_id: the session.
            graph: a physical graph in any DALiuGE shape (list of specs, with or without
                a trailing reprodata dict, or ``[name, specs]``), or its JSON text.

        Raises:
            GraphError: the specs are malformed or name an unknown node.
            InvalidSessionState: the session is already deployed.
        """
        body, headers = _graph_body(graph)
        path = _session_path(session_id, "graph", "append")
        self._request("POST", path, content=body, headers=headers)

    def deploy_session(
        self, session_id: SessionId, completed: Iterable[DropUid] | None = None
    ) -> None:
        """Deploy and start a session.

        Args:
            session_id: the session.
            completed: drops to mark completed at start (default: the graph's roots);
                sent as DALiuGE's form field ``completed=uid1,uid2``.
        """
        data = None if completed is None else {"completed": ",".join(completed)}
        self._request("POST", _session_path(session_id, "deploy"), data=data)

    def cancel_session(self, session_id: SessionId) -> None:
        """Cancel a session (a finished one is left as it is)."""
        self._request("POST", _session_path(session_id, "cancel"))

    def destroy_session(self, session_id: SessionId) -> None:
        """Cancel and forget a session, its record included."""
        self._request("DELETE", _session_path(session_id))

    def submit(
        self,
        graph: Any,
        session_id: SessionId | None = None,
        completed: Iterable[DropUid] | None = None,
    ) -> SubmitResult:
        """Create, append and deploy in one call (liuray's ``POST /api/liuray/submit``).

        Args:
            graph: a physical graph, as for :meth:`append_graph`.
            session_id: the id to use (default: the server generates one).
            completed: drops to mark completed at start (default: the roots).

        Returns:
            The session id and the URL of its monitoring page.
        """
        params: dict[str, str] = {}
        if session_id is not None:
            params["sessionId"] = session_id
        if completed is not None:
            params["completed"] = ",".join(completed)
        body, headers = _graph_body(graph)
        answer = self._request(
            "POST", "/api/liuray/submit", content=body, headers=headers, params=params
        )
        return SubmitResult(answer["sessionId"], answer["url"])

    def progress(self, session_id: SessionId) -> dict[str, Any]:
        """liuray's summary of a session.

        Returns:
            ``{"sessionId", "state" (e.g. "running"), "status" (code), "total",
            "counts": {state: drops}, "failures": [{"oid", "node", "error"}], "nodes",
            "created", "ended"}``.
        """
        path = f"/api/liuray/sessions/{_quote(session_id)}/progress"
        result: dict[str, Any] = self._request("GET", path)
        return result

    def wait(
        self,
        session_id: SessionId,
        timeout: float | None = None,
        interval: float = 0.5,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Follow the session until it ends or ``timeout`` seconds pass.

        Against liuray the session's event stream is followed (server-sent events: the
        server pushes each change, nothing polls); against a server without it (e.g.
        DALiuGE) :meth:`progress` is polled every ``interval`` seconds instead.

        Args:
            session_id: the session.
            timeout: give up after this many seconds (None: never).
            interval: seconds between polls, when polling.
            on_progress: called with every progress dict (e.g. to draw a bar); those
                from the stream carry ``state``, ``status``, ``total`` and ``counts``.

        Returns:
            The last progress dict (from :meth:`progress`); its ``state`` is
            ``finished``, ``failed`` or ``cancelled``, or still ``running`` when the
            timeout passed first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            return self._follow(session_id, deadline, on_progress)
        except _NoEventStream:
            pass
        while True:
            current = self.progress(session_id)
            if on_progress is not None:
                on_progress(current)
            if current.get("state") in _TERMINAL:
                return current
            if deadline is not None and time.monotonic() >= deadline:
                return current
            time.sleep(interval)

    def events(self, session_id: SessionId | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """The server's event stream: ``(name, data)`` pairs, ``progress`` and ``end``.

        One session's stream ends after its ``end``; without ``session_id`` every
        session is followed until the caller stops iterating.

        Raises:
            LiurayError: the server has no such session (or no event stream).
        """
        path = (
            "/api/liuray/events"
            if session_id is None
            else f"/api/liuray/sessions/{_quote(session_id)}/events"
        )
        with self._open_stream(path, None) as response:
            yield from _server_sent_events(response.iter_lines())

    def _open_stream(self, path: str, read_timeout: float | None) -> Any:
        timeout = httpx.Timeout(self.timeout, read=read_timeout)
        return _EventStream(self._http, path, timeout, self.base_url)

    def _follow(
        self,
        session_id: SessionId,
        deadline: float | None,
        on_progress: Callable[[dict[str, Any]], None] | None,
    ) -> dict[str, Any]:
        """Follow the session's event stream to its end (or the deadline)."""
        path = f"/api/liuray/sessions/{_quote(session_id)}/events"
        # Keep-alives come every 15 s: a silent stream for longer is a dead one.
        read_timeout = 45.0
        if deadline is not None:
            read_timeout = max(0.05, min(read_timeout, deadline - time.monotonic()))
        stopped = False  # at the end event or the deadline, not by the connection
        try:
            with self._open_stream(path, read_timeout) as response:
                for name, data in _server_sent_events(response.iter_lines()):
                    if name == "end":
                        stopped = True
                        break
                    if name == "progress" and on_progress is not None:
                        on_progress(data)
                    if deadline is not None and time.monotonic() >= deadline:
                        stopped = True
                        break
        except httpx.ReadTimeout:
            stopped = True  # the deadline passed while nothing happened
        except httpx.TransportError as err:
            raise _NoEventStream(str(err)) from None  # poll for the rest
        if not stopped:  # the stream closed early (a proxy, a restart): poll the rest
            raise _NoEventStream("the event stream closed before the session ended")
        final = self.progress(session_id)
        if on_progress is not None:
            on_progress(final)
        return final

    # ------------------------------------------------------------------ graphs

    def graph(self, session_id: SessionId) -> dict[DropUid, dict[str, Any]]:
        """The session's drop specs by oid."""
        result: dict[DropUid, dict[str, Any]] = self._request(
            "GET", _session_path(session_id, "graph")
        )
        return result

    def graph_size(self, session_id: SessionId) -> int:
        """How many drops were appended."""
        size: int = self._request("GET", _session_path(session_id, "graph", "size"))
        return size

    def graph_status(self, session_id: SessionId) -> dict[DropUid, dict[str, int]]:
        """``{oid: {"status": code, "execStatus": code (apps only)}}``."""
        result: dict[DropUid, dict[str, int]] = self._request(
            "GET", _session_path(session_id, "graph", "status")
        )
        return result

    def drop_detail(self, session_id: SessionId, oid: DropUid) -> dict[str, Any]:
        """One drop: ``{"session", "oid", "status", "logs", "state", "error", ...}``."""
        path = _session_path(session_id, "graph", "drop", oid)
        result: dict[str, Any] = self._request("GET", path)
        return result

    # ------------------------------------------------------------------ nodes

    def nodes(self) -> list[NodeName]:
        """The registered nodes' names."""
        result: list[NodeName] = self._request("GET", "/api/nodes")
        return result

    def node_details(self) -> list[dict[str, Any]]:
        """One dict per node (liuray's ``GET /api/liuray/nodes``): name, state, sessions..."""
        result: list[dict[str, Any]] = self._request("GET", "/api/liuray/nodes")
        return result

    def add_node(self, node: str) -> None:
        """Register a node manager (any spelling of a known node is a no-op)."""
        self._request("POST", f"/api/node/{_quote(node)}")

    def remove_node(self, node: str) -> None:
        """Stop using a node.

        Raises:
            NodeNotFound: the node is not registered (the detail lists the known ones).
        """
        self._request("DELETE", f"/api/node/{_quote(node)}")

    def restart_node(self, node: str) -> Any:
        """Replace a node's manager (liuray's ``POST /api/liuray/nodes/{node}/restart``).

        Returns:
            The server's answer, as JSON.
        """
        return self._request("POST", f"/api/liuray/nodes/{_quote(node)}/restart")

    # ------------------------------------------------------------------ plumbing

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request; return its JSON answer or raise the server's error."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as err:
            raise TransportError(
                f"{method} {self.base_url}{path}: no answer within {self.timeout} s; the "
                "server may be busy (raise the client's timeout) or stuck",
                url=self.base_url,
                path=path,
            ) from err
        except httpx.TransportError as err:
            raise TransportError(
                f"cannot reach the liuray server at {self.base_url} ({err or type(err).__name__})"
                "; start one with `liuray serve`, or point the client at the right URL",
                url=self.base_url,
                path=path,
            ) from err
        if response.is_success:
            return _json(response)
        raise _error_from(response)


def _normalise(base_url: str) -> str:
    url = base_url.strip().rstrip("/")
    if "://" not in url:
        url = f"http://{url}"
    return url


def _quote(segment: str) -> str:
    """One path segment, escaped (node names keep their ``:``)."""
    return quote(segment, safe=":@")


def _session_path(session_id: SessionId, *rest: str) -> str:
    return "/".join(["/api/sessions", _quote(session_id), *(_quote(part) for part in rest)])


def _graph_body(graph: Any) -> tuple[bytes, dict[str, str]]:
    """The request body of a graph: JSON, gzip-compressed when large."""
    if isinstance(graph, Path):
        body = graph.read_bytes()
    elif isinstance(graph, bytes):
        body = graph
    elif isinstance(graph, str):
        body = graph.encode()
    else:
        body = json.dumps(graph, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    if len(body) > GZIP_THRESHOLD:
        body = gzip.compress(body, compresslevel=6)
        headers["Content-Encoding"] = "gzip"
    return body, headers


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as err:
        raise TransportError(
            f"{response.request.method} {response.request.url} answered HTTP "
            f"{response.status_code} with a body that is not JSON: {response.text[:200]!r}; "
            "is this a liuray server?",
            url=str(response.request.url),
            status=response.status_code,
        ) from err


def _error_from(response: httpx.Response) -> LiurayError:
    """The exception a failed response stands for (see the module docstring)."""
    request = f"{response.request.method} {response.request.url.path}"
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return LiurayError(
            f"{request} failed with HTTP {response.status_code}: {response.text[:300]}",
            status=response.status_code,
        )
    name = str(body.get("error") or body.get("type") or "")
    message = body.get("message")
    if not isinstance(message, str):
        args = body.get("args")
        message = str(args[0]) if isinstance(args, list) and args else str(args or "")
    if not message:
        message = f"{request} failed with HTTP {response.status_code}"
    detail = body.get("detail")
    return _rebuild(_error_class(name), message, detail if isinstance(detail, dict) else {})


def _error_class(name: str) -> type[LiurayError]:
    found = getattr(errors, name, None)
    if isinstance(found, type) and issubclass(found, LiurayError):
        return found
    return _ALIASES.get(name, LiurayError)


def _rebuild(cls: type[LiurayError], message: str, detail: dict[str, Any]) -> LiurayError:
    """``cls(message, **detail)``, also when a detail key clashes with ``message``."""
    error = cls(message)
    error.detail = detail
    error.args = (message, detail)
    return error


class _NoEventStream(Exception):
    """The server does not offer the event stream (or it broke): poll instead."""


class _EventStream:
    """``with`` an open ``text/event-stream`` response (_NoEventStream if not one)."""

    def __init__(self, http: httpx.Client, path: str, timeout: httpx.Timeout, base: str) -> None:
        self._context = http.stream("GET", path, timeout=timeout)
        self._base = base

    def __enter__(self) -> httpx.Response:
        try:
            response = self._context.__enter__()
        except httpx.TransportError as err:
            raise _NoEventStream(str(err)) from None
        kind = response.headers.get("content-type", "")
        if response.status_code != 200 or not kind.startswith("text/event-stream"):
            self._context.__exit__(None, None, None)
            raise _NoEventStream(f"{self._base} has no event stream ({response.status_code})")
        return response

    def __exit__(self, *exc: object) -> None:
        self._context.__exit__(None, None, None)


def _server_sent_events(lines: Iterable[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Parse ``text/event-stream`` lines into (event name, JSON data) pairs."""
    name, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield name, json.loads("\n".join(data))
            name, data = "message", list[str]()
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
