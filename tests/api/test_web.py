"""The monitoring page's server side: its pages, static files, the two reads it adds
(every session's progress; a file drop's content) and CORS as configured.

What the page does in a browser is tested in ``tests/web/`` (real Chromium)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

import httpx
from api_helpers import BASH, FILE, MEMORY, LiveServer, wait_for_end

from liuray.api.web import STATIC
from liuray.cli.serve import cors_origins


def _submit(http: httpx.Client, session_id: str, graph: list[dict[str, object]]) -> None:
    response = http.post("/api/liuray/submit", params={"sessionId": session_id}, json=graph)
    response.raise_for_status()
    wait_for_end(http, session_id)


def _file_graph() -> list[dict[str, object]]:
    return [
        {
            "oid": "write",
            "categoryType": "Application",
            "dropclass": BASH,
            "command": "printf 'spectrum data' > %o0",
            "outputs": ["result"],
        },
        {"oid": "result", "categoryType": "Data", "dropclass": FILE},
        {
            "oid": "say",
            "categoryType": "Application",
            "dropclass": BASH,
            "command": "echo hi",
            "outputs": ["said"],
        },
        {"oid": "said", "categoryType": "Data", "dropclass": MEMORY},
    ]


def test_pages_and_their_files_are_served(client: httpx.Client) -> None:
    """``/``, ``/session`` and ``/nodes`` are HTML pages whose scripts and styles exist."""
    for path in ("/", "/session?sessionId=x", "/nodes"):
        page = client.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        for asset in re.findall(r'(?:src|href)="/static/([^"]+)"', page.text):
            assert (STATIC / asset).is_file(), asset
            assert client.get(f"/static/{asset}").status_code == 200
    imported = set()
    for script in STATIC.glob("*.js"):
        imported.update(re.findall(r'from "\./([^"]+)"', script.read_text()))
    assert imported and all((STATIC / name).is_file() for name in imported)


def test_the_session_page_names_its_session_escaped(client: httpx.Client) -> None:
    """DALiuGE's translator sends browsers to ``/session?sessionId=<id>``: the id is in
    the page before any script runs, and HTML in it is escaped."""
    page = client.get("/session", params={"sessionId": "pipe-1", "view": "graph"}).text
    assert '<span id="session-id">pipe-1</span>' in page
    hostile = client.get("/session", params={"sessionId": "<script>x</script>"}).text
    assert "<script>x</script>" not in hostile
    assert "&lt;script&gt;" in hostile


def test_every_session_with_its_progress_newest_first(client: httpx.Client) -> None:
    """``GET /api/liuray/sessions`` lists each session's state, counts and times."""
    _submit(client, "older", _file_graph())
    _submit(client, "newer", _file_graph())
    listed = client.get("/api/liuray/sessions").json()
    assert [entry["sessionId"] for entry in listed] == ["newer", "older"]
    newest = listed[0]
    assert newest["state"] == "finished"
    assert newest["total"] == 4
    assert sum(newest["counts"].values()) == 4
    assert newest["created"] <= newest["ended"]
    assert "dirs" not in newest


def test_a_file_drop_downloads(client: httpx.Client) -> None:
    """A finished file drop's content comes back as an attachment; a memory drop, an
    unknown drop and an unknown session are 404 saying why."""
    _submit(client, "files", _file_graph())
    response = client.get("/api/liuray/sessions/files/drops/result/content")
    assert response.status_code == 200
    assert response.content == b"spectrum data"
    assert "attachment" in response.headers["content-disposition"]
    memory = client.get("/api/liuray/sessions/files/drops/said/content")
    assert memory.status_code == 404
    assert "holds no file" in memory.json()["message"]
    assert client.get("/api/liuray/sessions/files/drops/nope/content").status_code == 404
    assert client.get("/api/liuray/sessions/nope/drops/result/content").status_code == 404


def _preflight(http: httpx.Client, origin: str) -> httpx.Response:
    return http.options(
        "/api/sessions",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )


def test_cors_answers_the_configured_origins(make_server: Callable[..., LiveServer]) -> None:
    """Only the configured origins get CORS answers; an empty list answers none."""
    listed = make_server(nodes=1, cors_origins=["https://translator.example"])
    with httpx.Client(base_url=listed.url) as http:
        allowed = _preflight(http, "https://translator.example")
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://translator.example"
        assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
        refused = _preflight(http, "https://elsewhere.example")
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
    closed = make_server(nodes=1, cors_origins=[])
    with httpx.Client(base_url=closed.url) as http:
        answer = http.get("/api/sessions", headers={"Origin": "https://translator.example"})
        assert "access-control-allow-origin" not in answer.headers


def test_cors_default_is_any_origin_on_loopback_only() -> None:
    """``liuray serve``: any origin while bound to loopback, none on a network address,
    unless ``--cors-origin`` says otherwise."""
    assert cors_origins(None, "127.0.0.1") == ["*"]
    assert cors_origins(None, "::1") == ["*"]
    assert cors_origins(None, "0.0.0.0") == []
    assert cors_origins(["*"], "0.0.0.0") == ["*"]
    assert cors_origins(["http://a.example/"], "127.0.0.1") == ["http://a.example"]


def test_the_timeline_says_when_and_where_each_app_ran(client: httpx.Client) -> None:
    """Every app that ran is listed with its node, state, start and end, in order."""
    _submit(client, "timed", _file_graph())
    timeline = client.get("/api/liuray/sessions/timed/timeline").json()
    assert timeline["truncated"] is False
    apps = {app["oid"]: app for app in timeline["apps"]}
    assert set(apps) == {"write", "say"}
    for app in apps.values():
        assert app["state"] == "finished"
        assert app["node"]
        assert app["started_at"] <= app["finished_at"]
    assert client.get("/api/liuray/sessions/nope/timeline").status_code == 404
