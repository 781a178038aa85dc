"""Fixtures: a real uvicorn server on 127.0.0.1 with an island manager behind it.

The API tests need the server and client extras; each test module skips itself without
them (``pytest.importorskip``). A conftest cannot skip, so this one imports the extras
only inside its fixtures and loads whether they are installed or not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from liuray.managers.island import IslandManager
from liuray.transports.inproc import InProcessTransport

if TYPE_CHECKING:
    import httpx
    from api_helpers import LiveServer


def _start(island: IslandManager, workspace: Path, **options: Any) -> Iterator[LiveServer]:
    from api_helpers import LiveServer

    from liuray.api import create_app
    from live_server import serve

    try:
        with serve(create_app(island, **options)) as url:
            yield LiveServer(url, island, workspace)
    finally:
        island.close()


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start servers on demand: ``make_server(nodes=2, max_request_bytes=...)``."""
    running: list[Iterator[LiveServer]] = []

    def start(nodes: int = 3, **options: Any) -> LiveServer:
        root = tmp_path / f"server{len(running)}"
        island = IslandManager(InProcessTransport(root / "nodes", nodes=nodes, workers=4))
        started = _start(island, root / "work", **options)
        running.append(started)
        live = next(started)
        live.workspace.mkdir(parents=True)
        return live

    yield start
    for started in reversed(running):
        next(started, None)


@pytest.fixture
def server(make_server: Callable[..., LiveServer]) -> LiveServer:
    """A server over three in-process node managers."""
    return make_server(nodes=3)


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    """An httpx client for :func:`server`."""
    import httpx

    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http
