"""``liuray nodes`` (and ``liuray nodes restart``): real server, DALiuGE-like stubs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from liuray.cli.main import main
from live_server import MEMORY, LiveIsland, closed_port_url, island_server, serve


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveIsland]:
    """liuray's REST API over two in-process node managers."""
    with island_server(tmp_path / "nodes", nodes=2) as server:
        yield server


def test_nodes_lists_every_node_with_its_state(
    live: LiveIsland, capsys: pytest.CaptureFixture[str]
) -> None:
    """One row per node manager, from /api/liuray/nodes: name, state, sessions."""
    live.island.submit([{"oid": "d", "categoryType": "Data", "dropclass": MEMORY}], "one")

    status = main(["nodes", "--dim", live.url])

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[0].split() == ["node", "state", "host", "sessions", "running"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert set(rows) == {"localhost:8000", "localhost:8001"}
    assert all(row[1] == "alive" for row in rows.values())
    assert sorted(row[3] for row in rows.values()) == ["0", "1"]


def test_nodes_falls_back_to_the_daliuge_list(capsys: pytest.CaptureFixture[str]) -> None:
    """A DALiuGE island manager has no /api/liuray/nodes: the names of /api/nodes are
    listed instead."""

    async def names(request: Request) -> JSONResponse:
        return JSONResponse(["node-a:8000:5555:6666", "node-b:8000:5555:6666"])

    with serve(Starlette(routes=[Route("/api/nodes", names)])) as url:
        status = main(["nodes", "--dim", url])

    out = capsys.readouterr().out
    assert status == 0
    assert "node-a:8000:5555:6666" in out
    assert "node-b:8000:5555:6666" in out


def restart_stub() -> Starlette:
    """Serves the restart route of the contract: node-a is known, others are 404."""

    async def restart(request: Request) -> JSONResponse:
        node = request.path_params["node"]
        if node == "node-a:8000":
            return JSONResponse({"Status": "Success", "node": node})
        message = f"node {node!r} is not registered; known nodes: ['node-a:8000']"
        body = {"error": "NodeNotFound", "message": message, "detail": {"node": node}}
        return JSONResponse(body, status_code=404)

    route = Route("/api/liuray/nodes/{node}/restart", restart, methods=["POST"])
    return Starlette(routes=[route])


def test_nodes_restart_prints_the_server_answer(capsys: pytest.CaptureFixture[str]) -> None:
    """restart NODE posts to /api/liuray/nodes/NODE/restart and prints what came back;
    --dim is accepted after the sub-command too."""
    with serve(restart_stub()) as url:
        status = main(["nodes", "restart", "node-a:8000", "--dim", url])

    out = capsys.readouterr().out
    assert status == 0
    assert 'restarted node node-a:8000: {"Status": "Success", "node": "node-a:8000"}' in out


def test_nodes_restart_of_unknown_node_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown node: the server's NodeNotFound, with the known nodes, exit 2."""
    with serve(restart_stub()) as url:
        status = main(["nodes", "--dim", url, "restart", "node-z:8000"])

    err = capsys.readouterr().err
    assert status == 2
    assert "NodeNotFound" in err
    assert "known nodes: ['node-a:8000']" in err


def test_nodes_with_unreachable_server_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing listens: exit 2 and the URL that could not be reached."""
    url = closed_port_url()
    assert main(["nodes", "--dim", url]) == 2
    assert f"cannot reach the liuray server at {url}" in capsys.readouterr().err
