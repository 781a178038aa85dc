"""Helpers shared by the API tests: the live-server handle, polling, graph builders."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("httpx")

import httpx

from liuray.managers.island import IslandManager

BASH = "dlg.apps.bash_shell_app.BashShellApp"
MEMORY = "dlg.data.drops.memory.InMemoryDROP"
FILE = "dlg.data.drops.file.FileDROP"
SLEEP = "dlg.apps.simple.SleepApp"


@dataclass
class LiveServer:
    """A running server: its URL, its island manager and a workspace for output files."""

    url: str
    island: IslandManager
    workspace: Path

    @property
    def nodes(self) -> list[str]:
        """The island's node names, in order."""
        return self.island.nodes()


def wait_for_end(http: httpx.Client, session_id: str, timeout: float = 20) -> dict[str, int]:
    """Poll ``/status`` until every node reports an end state (4, 5 or 6)."""
    deadline = time.monotonic() + timeout
    while True:
        response = http.get(f"/api/sessions/{session_id}/status")
        response.raise_for_status()
        status: dict[str, int] = response.json()
        if status and all(code >= 4 for code in status.values()):
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"session {session_id} still {status} after {timeout} s")
        time.sleep(0.02)


def cross_node_graph(tag: str, nodes: list[str], out: Path) -> list[dict[str, Any]]:
    """``hello`` (node 0) -> memory (node 1) -> ``upper`` (node 2) -> file (node 0).

    Every edge crosses nodes; the file ends up holding ``HELLO-<TAG>``.
    """
    n0, n1, n2 = (nodes[i % len(nodes)] for i in range(3))
    return [
        {
            "oid": "hello",
            "categoryType": "Application",
            "dropclass": BASH,
            "command": f"printf hello-{tag}; echo said-hello >&2",
            "outputs": ["text"],
            "node": n0,
        },
        {"oid": "text", "categoryType": "Data", "dropclass": MEMORY, "node": n1},
        {
            "oid": "upper",
            "categoryType": "Application",
            "dropclass": BASH,
            "command": "echo {message} | tr a-z A-Z > %o0",
            "inputs": [{"text": "message"}],
            "outputs": ["result"],
            "node": n2,
        },
        {
            "oid": "result",
            "categoryType": "Data",
            "dropclass": FILE,
            "filepath": str(out),
            "node": n0,
        },
    ]


def sleep_graph(seconds: float, nodes: list[str]) -> list[dict[str, Any]]:
    """A SleepApp on node 0 writing a memory drop on node 1."""
    return [
        {
            "oid": "nap",
            "categoryType": "Application",
            "dropclass": SLEEP,
            "sleep_time": seconds,
            "outputs": ["after"],
            "node": nodes[0],
        },
        {"oid": "after", "categoryType": "Data", "dropclass": MEMORY, "node": nodes[-1]},
    ]
