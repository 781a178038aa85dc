"""``liuray submit``: against a real server over in-process node managers."""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

from liuray.cli.main import main
from live_server import LiveIsland, bash_graph, closed_port_url, hello_graph, island_server


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveIsland]:
    """liuray's REST API over two in-process node managers."""
    with island_server(tmp_path / "nodes", nodes=2) as server:
        yield server


def write_graph(path: Path, graph: Any) -> Path:
    path.write_text(json.dumps(graph), encoding="utf-8")
    return path


def test_submit_prints_session_id_and_monitoring_url(
    live: LiveIsland, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --wait, submit returns at once with the id and the page to watch; the
    session really exists on the server and runs to the end."""
    graph = write_graph(tmp_path / "hello.json", hello_graph())

    status = main(["submit", str(graph), "--dim", live.url, "--session-id", "hello-1"])

    out = capsys.readouterr().out
    assert status == 0
    assert "session: hello-1" in out
    assert f"monitor: {live.url}/session?sessionId=hello-1" in out
    assert str(live.island.wait("hello-1", timeout=20)) == "finished"
    directories = live.island.progress("hello-1").directories
    assert [line for line in out.splitlines() if line.startswith("files: ")] == [
        f"files: {directories[node]}" for node in directories
    ]


def test_a_graph_the_server_refuses_leaves_no_session_behind(
    live: LiveIsland, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A graph refused at deploy (a class no node can load) exits 2 with the reason, and
    no FAILED session is left whose id the user never saw."""
    graph = write_graph(
        tmp_path / "bad.json",
        [{"oid": "x", "categoryType": "Application", "dropclass": "no.such.module.App"}],
    )

    status = main(["submit", str(graph), "--dim", live.url])

    assert status == 2
    assert "no.such.module" in capsys.readouterr().err
    assert live.island.sessions() == []
    assert live.island.records.all() == []


def test_submit_wait_finished_exits_0_with_summary(
    live: LiveIsland, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--wait follows the session to its end and prints FINISHED with the drop count."""
    graph = write_graph(tmp_path / "hello.json", hello_graph())

    status = main(["submit", str(graph), "--dim", live.url, "--wait", "--interval", "0.02"])

    out = capsys.readouterr().out
    assert status == 0
    assert "FINISHED session " in out
    assert ": 4 drops" in out
    assert "failed:" not in out


def test_submit_wait_failed_app_exits_1_and_names_the_drop(
    live: LiveIsland, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """cat | grep | sort gone wrong: the bash app exits 3, the session FAILS, the exit
    status is 1 and the summary names the bash app, with its exit status and stderr; the
    three drops downstream are counted as failing because of it."""
    graph = write_graph(tmp_path / "broken.json", bash_graph("echo oops >&2; exit 3"))

    status = main(["submit", str(graph), "--dim", live.url, "--wait", "--interval", "0.02"])

    out = capsys.readouterr().out
    assert status == 1
    assert "FAILED session " in out
    failed = [line.strip() for line in out.splitlines() if "failed:" in line]
    assert failed[0].startswith("failed: shell (localhost:")
    assert "status 3" in failed[0]
    assert "oops" in failed[0]
    assert len(failed) == 1
    assert "... and 3 more drops in error because of the above" in out


def test_submit_wait_timeout_exits_1_and_leaves_the_session_running(
    live: LiveIsland, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--timeout stops waiting, not the session: exit 1, and how to cancel it is shown."""
    graph = write_graph(tmp_path / "slow.json", bash_graph("sleep 20"))

    status = main(
        ["submit", str(graph), "--dim", live.url, "--session-id", "slow", "--timeout", "0.3"]
    )

    out = capsys.readouterr().out
    assert status == 1
    assert "RUNNING session slow" in out
    assert "liuray cancel slow" in out
    assert str(live.island.state("slow")) == "running"
    live.island.cancel_session("slow")


def test_logical_graph_is_translated_onto_the_servers_nodes(
    live: LiveIsland, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An EAGLE logical graph (DALiuGE's HelloWorld_simple) is translated onto the
    server's two nodes, submitted, and runs to the end."""
    pytest.importorskip("daliuge_tests")  # eagle-test-graphs, a test-only package
    source = importlib.resources.files("daliuge_tests.translator.logical_graphs")
    graph = tmp_path / "HelloWorld_simple.graph"
    graph.write_text((source / "HelloWorld_simple.graph").read_text("utf-8"), "utf-8")

    status = main(["submit", str(graph), "--dim", live.url, "--session-id", "lg", "--wait"])

    captured = capsys.readouterr()
    assert status == 0
    assert "translated" in captured.err
    assert "2 drops onto 2 nodes" in captured.err
    assert "FINISHED session lg: 2 drops" in captured.out
    nodes = {spec["node"] for spec in live.island.graph("lg").values()}
    assert nodes <= set(live.island.nodes())


def test_unsupported_logical_graph_exits_2_before_sending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A logical graph with a construct liuray does not know cannot be translated: exit
    2 before any request, naming the construct."""
    sub = {"id": "l", "name": "sub", "category": "Mpi", "categoryType": "Construct"}
    graph = write_graph(tmp_path / "sub.graph", {"nodeDataArray": [sub], "linkDataArray": []})

    status = main(["submit", str(graph), "--dim", closed_port_url()])

    err = capsys.readouterr().err
    assert status == 2
    assert "cannot translate" in err
    assert "construct Mpi is not supported yet" in err
    assert "cannot reach" not in err


def test_malformed_graph_exits_2_before_sending(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Invalid JSON and a dangling link are reported locally, naming the file."""
    broken = tmp_path / "broken.json"
    broken.write_text('[{"oid": "a",', encoding="utf-8")
    dangling = write_graph(
        tmp_path / "dangling.json",
        [{"oid": "a", "categoryType": "Data", "dropclass": "x", "consumers": ["ghost"]}],
    )

    assert main(["submit", str(broken), "--dim", closed_port_url()]) == 2
    first = capsys.readouterr().err
    assert main(["submit", str(dangling), "--dim", closed_port_url()]) == 2
    second = capsys.readouterr().err

    assert str(broken) in first
    assert "bad graph" in second
    assert "ghost" in second


def test_unreachable_server_exits_2_with_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing listens at --dim: exit 2, naming the URL, `liuray serve` and --dim."""
    graph = write_graph(tmp_path / "hello.json", hello_graph())
    url = closed_port_url()

    status = main(["submit", str(graph), "--dim", url])

    err = capsys.readouterr().err
    assert status == 2
    assert f"cannot reach the liuray server at {url}" in err
    assert "liuray serve" in err
    assert "--dim" in err


def test_liuray_dim_environment_variable_picks_the_server(
    live: LiveIsland,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without --dim the server comes from $LIURAY_DIM."""
    monkeypatch.setenv("LIURAY_DIM", live.url)
    graph = write_graph(tmp_path / "hello.json", hello_graph())

    status = main(["submit", str(graph), "--session-id", "from-env"])

    assert status == 0
    assert f"{live.url}/session?sessionId=from-env" in capsys.readouterr().out


def test_duplicate_session_id_is_a_clear_error(
    live: LiveIsland, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reusing a session id: the server's SessionExists is shown by name, exit 2."""
    graph = write_graph(tmp_path / "hello.json", hello_graph())
    assert main(["submit", str(graph), "--dim", live.url, "--session-id", "twice"]) == 0

    status = main(["submit", str(graph), "--dim", live.url, "--session-id", "twice"])

    err = capsys.readouterr().err
    assert status == 2
    assert "SessionExists" in err
    assert "'twice' already exists" in err
