"""DALiuGE compatibility: drive the server the way DALiuGE's own REST client does.

Written from the documented protocol (daliuge.md 4.3): ``http.client`` connections,
paths under ``/api``, JSON bodies with ``Content-Type: application/json``, the graph
appended as a zlib stream labelled ``Content-Encoding: gzip``, the deploy with a
form-urlencoded ``completed=uid1,uid2`` field, and errors read from the JSON body's
``type`` and ``args``.
"""

from __future__ import annotations

import http.client
import json
import time
import zlib
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

from api_helpers import LiveServer, cross_node_graph


class DaliugeStyleClient:
    """A minimal island-manager client speaking DALiuGE's wire protocol."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 8001

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, "/api" + path, body, headers or {})
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        return response.status, json.loads(data.decode("utf-8")) if data else None

    def post_json(self, path: str, content: Any, compress: bool = False) -> tuple[int, Any]:
        body = json.dumps(content).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        if compress:
            body = zlib.compress(body)
            headers["Content-Encoding"] = "gzip"
        return self.request("POST", path, body, headers)

    def create_session(self, session_id: str) -> tuple[int, Any]:
        return self.post_json("/sessions", {"sessionId": session_id})

    def append_graph(self, session_id: str, graph: list[Any]) -> tuple[int, Any]:
        return self.post_json(f"/sessions/{quote(session_id)}/graph/append", graph, compress=True)

    def deploy_session(self, session_id: str, completed: list[str]) -> tuple[int, Any]:
        form = urlencode({"completed": ",".join(completed)}).encode("ascii")
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        return self.request("POST", f"/sessions/{quote(session_id)}/deploy", form, headers)

    def get(self, path: str) -> Any:
        status, body = self.request("GET", path)
        assert status == 200, (path, status, body)
        return body


def test_daliuge_client_protocol_end_to_end(server: LiveServer) -> None:
    """The whole DIM conversation of ``dlg.clients.DataIslandManagerClient``: ask the
    submission method, register a node twice, create a session, append a compressed
    graph, deploy with the roots as ``completed``, poll the status, read the graph
    status, list sessions, see a 409 re-raised as SessionAlreadyExists-style error,
    cancel and destroy."""
    dlg = DaliugeStyleClient(server.url)
    assert dlg.get("/submission_method") == {"methods": ["BROWSER", "SERVER"]}
    assert dlg.request("POST", "/node/127.0.0.1:8000:5555:6666") == (200, {"Status": "Success"})
    assert dlg.request("POST", "/node/127.0.0.1:8000:5555:6666") == (200, {"Status": "Success"})
    assert dlg.get("/nodes") == server.nodes
    info = dlg.get("")
    assert (info["hosts"], info["sessionIds"]) == (server.nodes, [])

    assert dlg.create_session("dlg-1") == (200, {"sessionId": "dlg-1"})
    status, error = dlg.create_session("dlg-1")
    assert status == 409
    assert error["type"] == "SessionAlreadyExistsException"
    assert error["args"][0] == "dlg-1"

    out = server.workspace / "dlg.txt"
    graph = cross_node_graph("dlg", [f"{n}:5555:6666" for n in server.nodes], out)
    assert dlg.append_graph("dlg-1", graph) == (200, {"Status": "Success"})
    assert dlg.deploy_session("dlg-1", ["hello"]) == (200, {"Status": "Success"})

    assert _wait_for_end(dlg, "dlg-1") == {n: 4 for n in server.nodes}
    assert out.read_text() == "HELLO-DLG\n"
    graph_status = dlg.get("/sessions/dlg-1/graph/status")
    assert {oid: s["status"] for oid, s in graph_status.items()} == {
        "hello": 2,
        "text": 2,
        "upper": 2,
        "result": 2,
    }
    assert dlg.get("/sessions") == [
        {"sessionId": "dlg-1", "status": {n: 4 for n in server.nodes}, "size": 4}
    ]
    assert dlg.get("/sessions/dlg-1/graph/size") == 4
    assert dlg.request("POST", "/sessions/dlg-1/cancel") == (200, {"Status": "Success"})
    assert dlg.request("DELETE", "/sessions/dlg-1") == (200, {"Status": "Success"})
    status, error = dlg.request("GET", "/sessions/dlg-1/status")
    assert status == 404
    assert error["type"] == "NoSessionException"


def _wait_for_end(dlg: DaliugeStyleClient, session_id: str) -> dict[str, int]:
    """Poll the DIM status like DALiuGE's ``monitor_graph`` until no node is running."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status: dict[str, int] = dlg.get(f"/sessions/{session_id}/status")
        if all(code >= 4 for code in status.values()):
            return status
        time.sleep(0.02)
    raise TimeoutError(f"session {session_id} did not end")
