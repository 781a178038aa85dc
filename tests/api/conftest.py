"""Fixtures: a real uvicorn server on 127.0.0.1 with an island manager behind it."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from api_helpers import LiveServer

from liuray.api import create_app
from liuray.managers.island import IslandManager
from liuray.transports.inproc import InProcessTransport


def _start(island: IslandManager, workspace: Path, **options: Any) -> Iterator[LiveServer]:
    app = create_app(island, **options)
    # Bind first and hand uvicorn the socket: no race for a "free" port.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", island, workspace)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
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
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http
