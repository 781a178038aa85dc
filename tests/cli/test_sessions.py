"""``liuray sessions``, ``liuray status`` and ``liuray cancel`` against a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

from liuray.cli.main import main
from liuray.cli.sessions import state_name
from live_server import LiveIsland, bash_graph, closed_port_url, hello_graph, island_server


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveIsland]:
    """liuray's REST API over two in-process node managers."""
    with island_server(tmp_path / "nodes", nodes=2) as server:
        yield server


def run_to_end(live: LiveIsland, graph: list[dict[str, object]], session_id: str) -> str:
    live.island.submit(graph, session_id)
    return str(live.island.wait(session_id, timeout=20))


def test_sessions_lists_id_state_drops_and_nodes(
    live: LiveIsland, capsys: pytest.CaptureFixture[str]
) -> None:
    """One finished and one failed session: one row each, states by name, not code."""
    assert run_to_end(live, hello_graph(), "good") == "finished"
    assert run_to_end(live, bash_graph("exit 3"), "bad") == "failed"

    status = main(["sessions", "--dim", live.url])

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[0].split() == ["session", "state", "drops", "nodes"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["good"][1:3] == ["finished", "4"]
    assert rows["bad"][1:3] == ["failed", "4"]
    assert rows["good"][3].startswith("localhost:")


def test_sessions_without_any_says_how_to_submit(
    live: LiveIsland, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty server says so, and how to submit a graph."""
    assert main(["sessions", "--dim", live.url]) == 0
    assert "no sessions (submit one with: liuray submit GRAPH)" in capsys.readouterr().out


def test_status_of_failed_session_shows_counts_and_failure(
    live: LiveIsland, capsys: pytest.CaptureFixture[str]
) -> None:
    """status SID: the state, the drops per state, the page to watch, and the bash app
    that failed, with its exit status."""
    assert run_to_end(live, bash_graph("exit 3"), "bad") == "failed"

    status = main(["status", "bad", "--dim", live.url])

    out = capsys.readouterr().out
    assert status == 0
    assert out.startswith("FAILED session bad: 4 drops")
    assert "states: error 4" in out
    assert f"monitor: {live.url}/session?sessionId=bad" in out
    assert "failed: shell (localhost:" in out
    assert "status 3" in out


def test_status_of_unknown_session_is_a_clear_error(
    live: LiveIsland, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown id: exit 2, the error class and the id on standard error."""
    status = main(["status", "nope", "--dim", live.url])

    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert "error: SessionNotFound: no session 'nope'" in captured.err


def test_cancel_stops_a_running_session(
    live: LiveIsland, capsys: pytest.CaptureFixture[str]
) -> None:
    """A session sleeping in bash is cancelled: the command says so and the server
    ends it CANCELLED."""
    live.island.submit(bash_graph("sleep 20"), "long")

    status = main(["cancel", "long", "--dim", live.url])

    out = capsys.readouterr().out
    assert status == 0
    assert "cancelled session long (was running" in out
    assert str(live.island.wait("long", timeout=20)) == "cancelled"


def test_cancel_of_an_ended_session_changes_nothing(
    live: LiveIsland, capsys: pytest.CaptureFixture[str]
) -> None:
    """Cancelling a finished session is harmless and says it had already ended."""
    assert run_to_end(live, hello_graph(), "done") == "finished"

    assert main(["cancel", "done", "--dim", live.url]) == 0

    assert "had already ended: finished" in capsys.readouterr().out
    assert str(live.island.state("done")) == "finished"


def test_cancel_of_unknown_session_exits_2(
    live: LiveIsland, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown id cannot be cancelled: SessionNotFound, exit 2."""
    assert main(["cancel", "ghost", "--dim", live.url]) == 2
    assert "SessionNotFound" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["sessions"], ["status", "s1"], ["cancel", "s1"]])
def test_unreachable_server_exits_2(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Every session command reports an unreachable server the same way: exit 2."""
    url = closed_port_url()
    assert main([*command, "--dim", url]) == 2
    assert f"cannot reach the liuray server at {url}" in capsys.readouterr().err


def test_state_name_merges_node_codes() -> None:
    """{node: code} becomes one name: running wins, then failed over finished."""
    assert state_name({"a": 3, "b": 4}) == "running"
    assert state_name({"a": 4, "b": 6}) == "failed"
    assert state_name({"a": 4}) == "finished"
    assert state_name(5) == "cancelled"
    assert state_name({}) == "-"
    assert state_name({"a": 42}) == "unknown"
