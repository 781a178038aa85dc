"""Session routes against a real server: the whole lifecycle, cancel, delete, errors."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

import httpx
from api_helpers import LiveServer, cross_node_graph, sleep_graph, wait_for_end


def test_full_session_lifecycle(server: LiveServer, client: httpx.Client) -> None:
    """Create a session, append its graph in two parts, deploy it naming the root as
    completed (a form field, as DALiuGE's client does), poll until it finishes, then
    read every view of it back and delete it."""
    out = server.workspace / "life.txt"
    graph = cross_node_graph("life", server.nodes, out)

    created = client.post("/api/sessions", json={"sessionId": "life"})
    assert created.status_code == 200
    assert created.json() == {"sessionId": "life"}
    assert client.get("/api/sessions/life/status").json() == {n: 0 for n in server.nodes}

    assert client.post("/api/sessions/life/graph/append", json=graph[:2]).json() == {
        "Status": "Success"
    }
    assert client.post("/api/sessions/life/graph/append", json=graph[2:]).json() == {
        "Status": "Success"
    }
    assert client.get("/api/sessions/life/graph/size").json() == 4
    assert client.get("/api/sessions/life/status").json() == {n: 1 for n in server.nodes}
    assert set(client.get("/api/sessions/life/graph").json()) == {
        "hello",
        "text",
        "upper",
        "result",
    }

    # Nothing starts by itself: "hello" has no inputs but is not named in completed...
    deployed = client.post("/api/sessions/life/deploy", data={"completed": "hello"})
    assert deployed.json() == {"Status": "Success"}
    assert wait_for_end(client, "life") == {n: 4 for n in server.nodes}

    assert out.read_text() == "HELLO-LIFE\n"
    status = client.get("/api/sessions/life/graph/status").json()
    assert status == {
        "hello": {"status": 2, "execStatus": 2},
        "text": {"status": 2},
        "upper": {"status": 2, "execStatus": 2},
        "result": {"status": 2},
    }
    session = client.get("/api/sessions/life").json()
    assert session["status"] == {n: 4 for n in server.nodes}
    assert set(session["graph"]) == {"hello", "text", "upper", "result"}
    assert session["dir"].endswith("life")  # the session's directory (DALiuGE's "dir")
    assert Path(session["dir"]).is_dir()
    listed = client.get("/api/sessions").json()
    assert listed == [{"sessionId": "life", "status": {n: 4 for n in server.nodes}, "size": 4}]
    assert client.get("/api").json()["sessionIds"] == ["life"]

    progress = client.get("/api/liuray/sessions/life/progress").json()
    assert (progress["state"], progress["status"], progress["total"]) == ("finished", 4, 4)

    assert client.delete("/api/sessions/life").json() == {"Status": "Success"}
    assert client.get("/api/sessions").json() == []
    assert client.get("/api/sessions/life").status_code == 404


def test_drop_detail_carries_the_bash_apps_logs(server: LiveServer, client: httpx.Client) -> None:
    """A bash app's command line and its standard error are in the drop's detail, with
    liuray's fields (state, node, timings); GET and POST both answer (DALiuGE: ANY)."""
    graph = cross_node_graph("logs", server.nodes, server.workspace / "logs.txt")
    sid = client.post("/api/liuray/submit", json=graph).json()["sessionId"]
    wait_for_end(client, sid)

    detail = client.get(f"/api/sessions/{sid}/graph/drop/hello").json()
    assert detail["session"] == sid
    assert detail["oid"] == "hello"
    assert detail["status"] == 2
    assert detail["logs"] == ["$ printf hello-logs; echo said-hello >&2", "said-hello"]
    assert detail["state"] == "completed"
    assert detail["error"] is None
    assert detail["node"] == server.nodes[0]
    assert detail["started_at"] <= detail["finished_at"]
    assert client.post(f"/api/sessions/{sid}/graph/drop/hello").json()["logs"] == detail["logs"]


def test_an_unknown_drop_is_404_naming_the_drop_and_the_session(
    server: LiveServer, client: httpx.Client
) -> None:
    """Asking for a drop the session does not have is a missing resource (404, not a bad
    request), on DALiuGE's route (GET and POST) and on liuray's file download; the
    message names both, and DALiuGE's client gets its NoDropException."""
    graph = cross_node_graph("nodrop", server.nodes, server.workspace / "nodrop.txt")
    sid = client.post("/api/liuray/submit", json=graph).json()["sessionId"]
    wait_for_end(client, sid)

    for method in ("GET", "POST"):
        missing = client.request(method, f"/api/sessions/{sid}/graph/drop/nope")
        assert missing.status_code == 404, missing.text
        body = missing.json()
        assert "'nope'" in body["message"] and repr(sid) in body["message"]
        assert (body["error"], body["type"]) == ("DropNotFound", "NoDropException")
        assert body["args"][0] == "nope"
    content = client.get(f"/api/liuray/sessions/{sid}/drops/nope/content")
    assert content.status_code == 404
    assert "'nope'" in content.json()["message"] and repr(sid) in content.json()["message"]


def test_deploy_takes_completed_in_every_form(server: LiveServer, client: httpx.Client) -> None:
    """Deploying with no body starts the graph's roots (liuray's default); ``completed``
    is also read from a JSON body, a multipart form and the query string."""
    ways: list[tuple[str, dict[str, Any]]] = [
        ("plain", {}),
        ("as-json", {"json": {"completed": ["hello"]}}),
        ("multipart", {"files": {"completed": (None, "hello")}}),
        ("query", {"params": {"completed": "hello"}}),
    ]
    for sid, request in ways:
        out = server.workspace / f"{sid}.txt"
        client.post("/api/sessions", json={"sessionId": sid})
        client.post(
            f"/api/sessions/{sid}/graph/append", json=cross_node_graph(sid, server.nodes, out)
        )
        response = client.post(f"/api/sessions/{sid}/deploy", **request)
        assert response.json() == {"Status": "Success"}, sid
        assert wait_for_end(client, sid) == {n: 4 for n in server.nodes}
        assert out.read_text() == f"HELLO-{sid.upper()}\n"


def test_deploy_rejects_unknown_completed_uids(server: LiveServer, client: httpx.Client) -> None:
    """Naming a drop that is not in the graph as completed is a 400 naming it."""
    client.post("/api/sessions", json={"sessionId": "typo"})
    graph = cross_node_graph("typo", server.nodes, server.workspace / "typo.txt")
    client.post("/api/sessions/typo/graph/append", json=graph)
    response = client.post("/api/sessions/typo/deploy", data={"completed": "hello,helo"})
    assert response.status_code == 400
    assert "helo" in response.json()["message"]


def test_cancel_stops_a_long_session(server: LiveServer, client: httpx.Client) -> None:
    """A session sleeping for a minute is cancelled within a second of the request, and
    its drops report CANCELLED (DALiuGE codes: session 5, drop 6, app 4)."""
    sid = client.post("/api/liuray/submit", json=sleep_graph(60, server.nodes)).json()["sessionId"]
    deadline = time.monotonic() + 5
    while client.get(f"/api/sessions/{sid}/graph/status").json()["nap"].get("execStatus") != 1:
        assert time.monotonic() < deadline, "the SleepApp never started"
        time.sleep(0.02)

    started = time.monotonic()
    assert client.post(f"/api/sessions/{sid}/cancel").json() == {"Status": "Success"}
    status = wait_for_end(client, sid, timeout=5)
    assert time.monotonic() - started < 2
    assert set(status.values()) == {5}
    drops = client.get(f"/api/sessions/{sid}/graph/status").json()
    assert drops["nap"] == {"status": 6, "execStatus": 4}
    assert drops["after"] == {"status": 6}
    assert client.post(f"/api/sessions/{sid}/cancel").json() == {"Status": "Success"}


def test_unknown_session_is_404_everywhere(client: httpx.Client) -> None:
    """Every per-session route answers 404 SessionNotFound for an unknown id."""
    for method, path in [
        ("GET", "/api/sessions/ghost"),
        ("DELETE", "/api/sessions/ghost"),
        ("GET", "/api/sessions/ghost/status"),
        ("POST", "/api/sessions/ghost/deploy"),
        ("POST", "/api/sessions/ghost/cancel"),
        ("GET", "/api/sessions/ghost/graph"),
        ("GET", "/api/sessions/ghost/graph/size"),
        ("GET", "/api/sessions/ghost/graph/status"),
        ("GET", "/api/sessions/ghost/graph/drop/a"),
        ("GET", "/api/liuray/sessions/ghost/progress"),
    ]:
        response = client.request(method, path)
        assert response.status_code == 404, (method, path)
        body = response.json()
        assert body["error"] == "SessionNotFound"
        assert "ghost" in body["message"]
        # DALiuGE's client re-raises dlg.exceptions.NoSessionException(session_id, reason).
        assert body["type"] == "NoSessionException"
        assert body["args"] == ["ghost", body["message"]]
    response = client.post("/api/sessions/ghost/graph/append", json=[{"oid": "a"}])
    assert response.status_code == 404


def test_duplicate_session_id_is_409(client: httpx.Client) -> None:
    """Creating a session twice is a 409 that names the id; the first one is intact."""
    assert client.post("/api/sessions", json={"sessionId": "twice"}).status_code == 200
    again = client.post("/api/sessions", json={"sessionId": "twice"})
    assert again.status_code == 409
    assert again.json()["error"] == "SessionExists"
    assert "twice" in again.json()["message"]
    assert [s["sessionId"] for s in client.get("/api/sessions").json()] == ["twice"]


def test_bad_session_ids_are_400(client: httpx.Client) -> None:
    """A missing or unusable session id is a 400 that says what a valid one is."""
    for body in ({}, {"sessionId": "../etc"}, {"sessionId": ""}, ["x"]):
        response = client.post("/api/sessions", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"] == "InvalidRequest"
    assert client.get("/api/sessions").json() == []


def test_deploying_twice_is_400(server: LiveServer, client: httpx.Client) -> None:
    """A second deploy is refused with InvalidSessionState (DALiuGE: 400)."""
    sid = client.post("/api/liuray/submit", json=sleep_graph(0, server.nodes)).json()["sessionId"]
    again = client.post(f"/api/sessions/{sid}/deploy")
    assert again.status_code == 400
    assert again.json()["error"] == "InvalidSessionState"


def test_submit_returns_the_session_page_url(server: LiveServer, client: httpx.Client) -> None:
    """The one-call submit takes the id and completed uids from the query and answers
    with the URL of the session's page, which exists."""
    response = client.post(
        "/api/liuray/submit",
        params={"sessionId": "one-call", "completed": "hello"},
        json=cross_node_graph("one", server.nodes, server.workspace / "one.txt"),
    )
    assert response.json() == {
        "sessionId": "one-call",
        "url": f"{server.url}/session?sessionId=one-call",
    }
    assert wait_for_end(client, "one-call") == {n: 4 for n in server.nodes}
    page = httpx.get(response.json()["url"])
    assert page.status_code == 200
    assert "one-call" in page.text
