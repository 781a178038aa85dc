"""Node registration: one node however it is spelled, removal, details."""

from __future__ import annotations

import socket
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

import httpx
from api_helpers import LiveServer, cross_node_graph, wait_for_end


def test_one_node_registered_five_ways_is_one_entry(
    make_server: Callable[..., LiveServer],
) -> None:
    """DALiuGE's double-registration bug: the same NM posted as ``localhost``,
    ``127.0.0.1``, this host's name, ``127.0.0.1:8000:5555:6666`` and through the old
    plural path ``/api/nodes/localhost:8000`` ends up listed exactly once, and a
    session then uses it once (no 409 from a second createSession)."""
    live = make_server(nodes=0)
    with httpx.Client(base_url=live.url) as http:
        assert http.get("/api/nodes").json() == []
        for path in (
            "/api/node/localhost",
            "/api/node/127.0.0.1",
            f"/api/node/{socket.gethostname()}",
            "/api/node/127.0.0.1:8000:5555:6666",
            "/api/nodes/localhost:8000",
        ):
            response = http.post(path)
            assert response.json() == {"Status": "Success"}, path
        assert http.get("/api/nodes").json() == ["localhost:8000"]
        assert http.get("/api").json()["hosts"] == ["localhost:8000"]

        graph = cross_node_graph("one", ["127.0.0.1"], live.workspace / "one.txt")
        sid = http.post("/api/liuray/submit", json=graph).json()["sessionId"]
        assert wait_for_end(http, sid) == {"localhost:8000": 4}


def test_removing_nodes(client: httpx.Client, server: LiveServer) -> None:
    """DELETE takes a node out (any spelling, either path); an unknown node is a 404
    whose message lists the known nodes; a malformed spelling is a 400."""
    assert client.delete("/api/node/127.0.0.1:8002").json() == {"Status": "Success"}
    assert client.get("/api/nodes").json() == ["localhost:8000", "localhost:8001"]
    assert client.delete("/api/nodes/localhost:8001").json() == {"Status": "Success"}

    missing = client.delete("/api/node/elsewhere.invalid:8000")
    assert missing.status_code == 404
    assert missing.json()["error"] == "NodeNotFound"
    assert "localhost:8000" in missing.json()["message"]

    bad = client.post("/api/node/localhost:notaport")
    assert bad.status_code == 400
    assert "port" in bad.json()["message"]
    assert client.get("/api/nodes").json() == ["localhost:8000"]


def test_node_details(client: httpx.Client, server: LiveServer) -> None:
    """liuray's details route has one object per node, named canonically."""
    details = client.get("/api/liuray/nodes").json()
    assert [d["name"] for d in details] == server.nodes
    assert {d["transport"] for d in details} == {"inproc"}
    assert {d["state"] for d in details} == {"alive"}


def test_a_graph_naming_a_node_in_another_spelling_runs(
    server: LiveServer, client: httpx.Client
) -> None:
    """Drops may name their node in any spelling of a registered one."""
    nodes = ["127.0.0.1:8000:5555:6666", "localhost:8001", f"{socket.gethostname()}:8002"]
    graph = cross_node_graph("spelled", nodes, server.workspace / "spelled.txt")
    sid = client.post("/api/liuray/submit", json=graph).json()["sessionId"]
    assert wait_for_end(client, sid) == {n: 4 for n in server.nodes}
    assert (server.workspace / "spelled.txt").read_text() == "HELLO-SPELLED\n"


def test_restarting_a_node_gives_it_a_fresh_manager(client: httpx.Client) -> None:
    """``liuray nodes restart`` posts here: the node stays registered, under its
    canonical name however it is spelled, and its manager starts empty; an unknown
    node is a 404 listing the known ones."""
    graph = cross_node_graph("before", ["localhost:8000"], Path(tempfile.mkdtemp()) / "o.txt")
    sid = client.post("/api/liuray/submit", json=graph).json()["sessionId"]
    assert wait_for_end(client, sid) == {"localhost:8000": 4}
    details = {d["name"]: d for d in client.get("/api/liuray/nodes").json()}
    assert sid in details["localhost:8000"]["session_ids"]

    answer = client.post("/api/liuray/nodes/127.0.0.1/restart")
    assert answer.json() == {"Status": "Success", "node": "localhost:8000"}
    details = {d["name"]: d for d in client.get("/api/liuray/nodes").json()}
    assert "localhost:8000" in client.get("/api/nodes").json()
    assert details["localhost:8000"]["session_ids"] == []

    missing = client.post("/api/liuray/nodes/otherhost:9999/restart")
    assert missing.status_code == 404
    assert "localhost:8000" in missing.json()["message"]
