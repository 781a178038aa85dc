"""Fixtures for manager tests: node and island managers on the in-process transport.

Graphs are written as lists of DALiuGE drop specs with the two builders below, passed
to tests through the ``app`` and ``data`` fixtures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from manager_helpers import Spec, app_spec, data_spec, wait_until

from liuray.managers.island import IslandManager
from liuray.managers.node import NodeManager
from liuray.transports.inproc import InProcessTransport


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
