"""Real HTTP servers for client and CLI tests: uvicorn in a thread on 127.0.0.1.

``serve(app)`` runs any ASGI app; ``island_server(root, nodes)`` runs liuray's REST API
over an :class:`IslandManager` with in-process node managers. Both bind a socket first
and hand it to uvicorn, so there is no race for a "free" port.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

import uvicorn

from liuray.api.app import create_app
from liuray.api.events import stop_event_streams
from liuray.managers.island import IslandManager
from liuray.transports.inproc import InProcessTransport

BASH = "dlg.apps.bash_shell_app.BashShellApp"
MEMORY = "dlg.data.drops.memory.InMemoryDROP"
COPY = "dlg.apps.simple.CopyApp"
HELLO = "dlg.apps.simple.HelloWorldApp"


@dataclass
class LiveIsland:
    """A running liuray server: its URL and the island manager behind it."""

    url: str
    island: IslandManager


@contextmanager
def serve(app: Any, port: int = 0) -> Iterator[str]:
    """Run ``app`` on 127.0.0.1 (on ``port``, else a free one) until the block ends;
    yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
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
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_event_streams(app)  # as liuray serve does when stopping
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def island_server(root: Path, nodes: int = 2) -> Iterator[LiveIsland]:
    """liuray's REST API over ``nodes`` in-process node managers under ``root``."""
    island = IslandManager(InProcessTransport(root, nodes=nodes, workers=4))
    try:
        with serve(create_app(island)) as url:
            yield LiveIsland(url, island)
    finally:
        island.close()


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (the port was just released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def hello_graph() -> list[dict[str, Any]]:
    """HelloWorldApp -> memory -> CopyApp -> memory: finishes in milliseconds."""
    return [
        {"oid": "hello", "categoryType": "Application", "dropclass": HELLO, "outputs": ["d1"]},
        {"oid": "d1", "categoryType": "Data", "dropclass": MEMORY},
        {
            "oid": "copy",
            "categoryType": "Application",
            "dropclass": COPY,
            "inputs": ["d1"],
            "outputs": ["d2"],
        },
        {"oid": "d2", "categoryType": "Data", "dropclass": MEMORY},
    ]


def bash_graph(command: str) -> list[dict[str, Any]]:
    """A bash app running ``command`` into a memory drop that a CopyApp reads."""
    return [
        {
            "oid": "shell",
            "categoryType": "Application",
            "dropclass": BASH,
            "command": command,
            "outputs": ["shell_out"],
        },
        {"oid": "shell_out", "categoryType": "Data", "dropclass": MEMORY, "consumers": ["copy"]},
        {"oid": "copy", "categoryType": "Application", "dropclass": COPY, "outputs": ["copied"]},
        {"oid": "copied", "categoryType": "Data", "dropclass": MEMORY},
    ]
