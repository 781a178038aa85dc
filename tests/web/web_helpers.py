"""Helpers for the browser tests: where Chromium is, how to launch it, a live server.

Debian's ``chromium`` (``/usr/bin/chromium``) driven by Playwright's Python package:
Playwright cannot download its own browsers here (no internet), so it launches the
system one. ``make browser`` (called by ``make test``) installs it with apt-get when it
is missing. Without it these tests skip, saying so, except when ``CI`` is set: CI must
run them, so there a missing browser is a failure.

The graphs the tests and ``screenshots.py`` submit are built here too.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")
pytest.importorskip("playwright")

import httpx

from liuray.managers.island import IslandManager

CHROMIUM = os.environ.get("LIURAY_CHROMIUM", "/usr/bin/chromium")
#: Flags for a root user in a container with no GPU and no network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_or_skip() -> str:
    """The browser's path; skips (fails under CI) when it is not installed."""
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return CHROMIUM
    message = (
        f"no Chromium at {CHROMIUM}: install Debian's chromium (make browser, or "
        "apt-get install chromium) or point LIURAY_CHROMIUM at one"
    )
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests: {message}")
    pytest.skip(message)


class LivePage:
    """A liuray server's URL and island, with an httpx client on it."""

    def __init__(self, url: str, island: IslandManager, token: str | None = None) -> None:
        self.url = url
        self.island = island
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url, headers=headers, timeout=30)

    def submit(self, session_id: str, graph: list[dict[str, Any]]) -> None:
        """Create, append and deploy ``graph`` as ``session_id``."""
        answer = self.http.post("/api/liuray/submit", params={"sessionId": session_id}, json=graph)
        answer.raise_for_status()


BASH = "dlg.apps.bash_shell_app.BashShellApp"
MEMORY = "dlg.data.drops.memory.InMemoryDROP"
FILE = "dlg.data.drops.file.FileDROP"


def app(oid: str, command: str, outputs: list[str], **more: Any) -> dict[str, Any]:
    """A bash app writing into ``outputs``."""
    return {
        "oid": oid,
        "categoryType": "Application",
        "dropclass": BASH,
        "command": command,
        "outputs": outputs,
        **more,
    }


def data(oid: str, dropclass: str = MEMORY) -> dict[str, Any]:
    """A data drop (in memory unless told)."""
    return {"oid": oid, "categoryType": "Data", "dropclass": dropclass}


def scatter_graph(width: int, command: str = "sleep 0.3; echo part") -> list[dict[str, Any]]:
    """``width`` parallel apps into memory drops, gathered by one app into a file."""
    graph: list[dict[str, Any]] = []
    for i in range(width):
        graph += [app(f"part{i}", command, [f"out{i}"], name="part"), data(f"out{i}")]
    gather = app("gather", "echo gathered > %o0", ["result"], name="gather")
    gather["inputs"] = [f"out{i}" for i in range(width)]
    return [*graph, gather, data("result", FILE)]


def wide_graph(width: int, sleep: float = 0) -> list[dict[str, Any]]:
    """``width`` instant apps (one logical node, ``lg_key`` -1) each writing a memory drop
    (``lg_key`` -2), all gathered by one app: ``2 * width + 2`` drops, in four groups.
    Each app sleeps ``sleep`` seconds."""
    sleep_app = "dlg.apps.simple.SleepApp"
    graph: list[dict[str, Any]] = []
    for i in range(width):
        graph.append(
            {
                "oid": f"work{i}",
                "categoryType": "Application",
                "dropclass": sleep_app,
                "sleep_time": sleep,
                "outputs": [f"part{i}"],
                "lg_key": -1,
                "name": "work",
            }
        )
        graph.append({**data(f"part{i}"), "lg_key": -2, "name": "part"})
    gather = {
        "oid": "gather",
        "categoryType": "Application",
        "dropclass": sleep_app,
        "sleep_time": 0,
        "inputs": [f"part{i}" for i in range(width)],
        "outputs": ["final"],
        "lg_key": -3,
        "name": "gather",
    }
    return [*graph, gather, {**data("final"), "lg_key": -4, "name": "final"}]
