"""Access tokens on a real server: who gets in, and how they are told what to send."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from liuray.api.app import create_app  # noqa: E402
from liuray.client import Client  # noqa: E402
from liuray.errors import InvalidRequest  # noqa: E402
from liuray.managers.island import IslandManager  # noqa: E402
from liuray.transports.inproc import InProcessTransport  # noqa: E402
from live_server import hello_graph, serve  # noqa: E402

TOKEN = "s3cret-token"


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    island = IslandManager(InProcessTransport(tmp_path / "nodes", nodes=1, workers=2))
    try:
        with serve(create_app(island, token=TOKEN)) as base:
            yield base
    finally:
        island.close()


def test_a_request_without_the_token_is_refused_saying_how_to_send_it(url: str) -> None:
    """No token, or a wrong one: 401 with WWW-Authenticate and a body naming the header."""
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        reply = httpx.get(f"{url}/api/sessions", headers=headers, timeout=10)
        assert reply.status_code == 401
        assert reply.headers["www-authenticate"].startswith("Bearer")
        assert "Authorization: Bearer <token>" in reply.json()["message"]


def test_the_token_opens_the_api_in_a_header_or_in_the_query(url: str) -> None:
    """The bearer header (clients) and ?access_token= (a browser's EventSource) work."""
    header = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(f"{url}/api/sessions", headers=header, timeout=10).json() == []
    reply = httpx.get(f"{url}/api/sessions", params={"access_token": TOKEN}, timeout=10)
    assert reply.status_code == 200


def test_cors_preflight_is_answered_without_the_token(url: str) -> None:
    """A page on another origin can still ask what it may send (then sends the token)."""
    reply = httpx.options(
        f"{url}/api/sessions",
        headers={
            "Origin": "http://eagle.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization",
        },
        timeout=10,
    )
    assert reply.status_code == 200


def test_the_client_sends_the_token_from_its_argument_or_the_environment(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Client(token=...) or LIURAY_TOKEN: the whole flow works; without it the server's
    refusal comes back as an error that says what to do."""
    monkeypatch.delenv("LIURAY_TOKEN", raising=False)
    with Client(url, timeout=10) as anonymous, pytest.raises(InvalidRequest, match="token"):
        anonymous.sessions()
    with Client(url, timeout=10, token=TOKEN) as client:
        session_id = client.submit(hello_graph()).session_id
        assert client.wait(session_id, timeout=20)["state"] == "finished"
    monkeypatch.setenv("LIURAY_TOKEN", TOKEN)
    with Client(url, timeout=10) as client:
        assert [s["sessionId"] for s in client.sessions()] == [session_id]
