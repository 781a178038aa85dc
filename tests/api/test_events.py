"""The event stream (server-sent events) against a real uvicorn server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from liuray.client import Client  # noqa: E402
from live_server import LiveIsland, bash_graph, hello_graph, island_server  # noqa: E402


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveIsland]:
    with island_server(tmp_path / "nodes", nodes=2) as server:
        yield server


def read_events(response: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every (event, data) of a server-sent-events response, until it ends."""
    events, name = [], "message"
    for line in response.iter_lines():
        if line.startswith("event:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            events.append((name, json.loads(line.split(":", 1)[1])))
    return events


def test_a_session_stream_carries_progress_then_ends(live: LiveIsland) -> None:
    """GET .../events: text/event-stream with progress (counts, changed drops with
    DALiuGE's codes) and a final end event, after which the server closes it."""
    live.island.create_session("s")
    live.island.append_graph("s", hello_graph())
    url = f"{live.url}/api/liuray/sessions/s/events"
    with httpx.stream("GET", url, timeout=10) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        live.island.deploy_session("s")
        events = read_events(response)

    names = [name for name, _ in events]
    assert names[-1] == "end" and set(names[:-1]) == {"progress"}
    assert events[-1][1] == {"sessionId": "s", "state": "finished", "status": 4, "error": None}
    assert events[0][1]["total"] == 4
    changed = {tuple(c) for _, data in events[:-1] for c in data["changes"]}
    assert ("copy", 2, 2) in changed  # COMPLETED, FINISHED
    assert events[-2][1]["counts"] == {"finished": 2, "completed": 1, "expired": 1}


def test_a_finished_session_stream_ends_at_once(live: LiveIsland) -> None:
    """A reader who comes after the end gets the end right away."""
    session_id = live.island.submit(hello_graph(), "done")
    live.island.wait(session_id, 10)

    with httpx.stream("GET", f"{live.url}/api/liuray/sessions/done/events", timeout=10) as reply:
        events = read_events(reply)

    assert events[-1][0] == "end"
    assert events[-1][1]["state"] == "finished"


def test_an_unknown_session_stream_is_a_404(live: LiveIsland) -> None:
    """The stream of a session that never existed is refused like every session route."""
    reply = httpx.get(f"{live.url}/api/liuray/sessions/nope/events", timeout=10)

    assert reply.status_code == 404
    assert reply.json()["error"] == "SessionNotFound"


def test_the_island_stream_follows_every_session(live: LiveIsland) -> None:
    """GET /api/liuray/events: ends of several sessions, on one connection."""
    client = Client(live.url, timeout=10)
    stream = client.events()
    live.island.submit(hello_graph(), "one")
    live.island.submit(hello_graph(), "two")
    ended: set[str] = set()
    deadline = time.monotonic() + 10
    for name, data in stream:
        if name == "end":
            ended.add(data["sessionId"])
        if ended == {"one", "two"} or time.monotonic() > deadline:
            break
    stream.close()  # type: ignore[attr-defined]
    client.close()

    assert ended == {"one", "two"}


def test_wait_follows_the_stream_and_returns_the_full_progress(live: LiveIsland) -> None:
    """Client.wait() on liuray reads the event stream (each report has the changed
    drops) and returns the final progress, failures included."""
    reported: list[dict[str, Any]] = []
    with Client(live.url, timeout=10) as client:
        client.create_session("b")
        client.append_graph("b", bash_graph("exit 3"))
        client.deploy_session("b")
        final = client.wait("b", timeout=20, on_progress=reported.append)

    assert final["state"] == "failed"
    assert "shell" in {failure["oid"] for failure in final["failures"]}
    assert any("changes" in report for report in reported)
    assert reported[-1] == final


def test_a_reader_that_goes_away_is_forgotten(live: LiveIsland) -> None:
    """Closing the connection unsubscribes the reader: the island keeps no one waiting."""
    live.island.create_session("idle")
    opened: list[object] = []
    subscribe = live.island.subscribe

    def counted(*args: Any) -> Any:
        opened.append(subscribe(*args))
        return opened[-1]

    live.island.subscribe = counted  # type: ignore[method-assign]
    with httpx.stream("GET", f"{live.url}/api/liuray/sessions/idle/events", timeout=10) as r:
        assert next(r.iter_lines()) == ": liuray event stream"
        assert len(opened) == 1
    deadline = time.monotonic() + 15
    while live.island._subscriptions and time.monotonic() < deadline:
        time.sleep(0.02)

    assert live.island._subscriptions == []
