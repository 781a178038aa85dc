"""Fixtures for manager tests: node and island managers on the in-process transport.

Graphs are written as lists of DALiuGE drop specs with the two builders below, passed
to tests through the ``app`` and ``data`` fixtures.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from liuray.engine.states import SESSION_TRANSITIONS, SessionState
from liuray.managers.island import IslandManager
from liuray.managers.node import NodeManager
from liuray.transports.inproc import InProcessTransport

Spec = dict[str, Any]
MEMORY = "dlg.data.drops.memory.InMemoryDROP"
FILE = "dlg.data.drops.file.FileDROP"


def app_spec(
    oid: str,
    cls: str = "CopyApp",
    *,
    inputs: tuple[str, ...] = (),
    outputs: tuple[str, ...] = (),
    node: str | None = None,
    **params: Any,
) -> Spec:
    """An app spec; ``cls`` is a name in ``dlg.apps.simple`` or a full dropclass."""
    dropclass = cls if "." in cls else f"dlg.apps.simple.{cls}"
    spec: Spec = {"oid": oid, "categoryType": "Application", "dropclass": dropclass, **params}
    if inputs:
        spec["inputs"] = list(inputs)
    if outputs:
        spec["outputs"] = list(outputs)
    if node is not None:
        spec["node"] = node
    return spec


def data_spec(oid: str, *, node: str | None = None, file: bool = False, **params: Any) -> Spec:
    """A memory (or file) data drop spec."""
    spec: Spec = {"oid": oid, "categoryType": "Data", "dropclass": FILE if file else MEMORY}
    spec.update(params)
    if node is not None:
        spec["node"] = node
    return spec


def reachable(start: SessionState, end: SessionState) -> bool:
    """Whether the session transition table leads from ``start`` to ``end``.

    A request may make several moves (a deploy: DEPLOYING, then RUNNING), so tests that
    watch states from outside check reachability, not single steps.
    """
    seen: set[SessionState] = set()
    todo = [start]
    while todo:
        for state in SESSION_TRANSITIONS[todo.pop()]:
            if state not in seen:
                seen.add(state)
                todo.append(state)
    return end in seen


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` every few milliseconds; True as soon as it holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@pytest.fixture
def app() -> Callable[..., Spec]:
    """The app spec builder."""
    return app_spec


@pytest.fixture
def data() -> Callable[..., Spec]:
    """The data spec builder."""
    return data_spec


@pytest.fixture
def until() -> Callable[..., bool]:
    """The polling helper."""
    return wait_until


@pytest.fixture
def node_manager(tmp_path: Path) -> Iterator[NodeManager]:
    """One node manager with its sessions under ``tmp_path/nm``."""
    manager = NodeManager("localhost:8000", tmp_path / "nm", workers=4)
    yield manager
    manager.close()


@pytest.fixture
def transport(tmp_path: Path) -> Iterator[InProcessTransport]:
    """Three in-process node managers: localhost:8000, :8001 and :8002."""
    made = InProcessTransport(tmp_path / "nodes", nodes=3, workers=4)
    yield made
    made.close()


@pytest.fixture
def island(transport: InProcessTransport) -> Iterator[IslandManager]:
    """An island manager over :func:`transport`, watching sessions every 20 ms."""
    manager = IslandManager(transport, audit_interval=0.5)
    yield manager
    manager.close()
