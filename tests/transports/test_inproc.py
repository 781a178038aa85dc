"""InProcessTransport: node managers in this process, named canonically."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from liuray.errors import NodeNotFound
from liuray.managers.node import NodeManager
from liuray.transports.inproc import InProcessTransport


@pytest.fixture
def transport(tmp_path: Path) -> Iterator[InProcessTransport]:
    """Two in-process node managers with two workers each."""
    made = InProcessTransport(tmp_path, nodes=2, workers=2)
    yield made
    made.close()


def test_initial_nodes_are_numbered_from_the_default_port(transport: InProcessTransport) -> None:
    """nodes=2 starts localhost:8000 and localhost:8001, each with its own directory."""
    assert transport.node_names() == ["localhost:8000", "localhost:8001"]
    first = transport.client("localhost:8000")
    assert isinstance(first, NodeManager)
    assert first.root == transport.root / "localhost_8000"
    assert first.pool.workers == 2


def test_five_spellings_make_one_node(transport: InProcessTransport) -> None:
    """Registering localhost:8000 five ways neither adds a node nor replaces its NM."""
    manager = transport.client("localhost:8000")
    for spelling in (
        "localhost",
        "127.0.0.1",
        "localhost:8000:5555:6666",
        "[::1]:8000",
        "127.0.0.1:8000",
    ):
        assert transport.ensure_node(spelling) == "localhost:8000"
    assert transport.node_names() == ["localhost:8000", "localhost:8001"]
    assert transport.client("localhost:8000") is manager


def test_new_spelling_starts_a_node(transport: InProcessTransport) -> None:
    """A new port is a new node manager, listed after the others."""
    assert transport.ensure_node("127.0.0.1:8005") == "localhost:8005"
    assert transport.node_names()[-1] == "localhost:8005"
    assert [d.name for d in transport.node_details()] == transport.node_names()


def test_unknown_node_lists_the_known_ones(transport: InProcessTransport) -> None:
    """client() and remove_node() of an unknown node raise NodeNotFound naming the known."""
    with pytest.raises(NodeNotFound, match="known nodes") as raised:
        transport.client("localhost:9999")
    assert raised.value.detail["known"] == ["localhost:8000", "localhost:8001"]
    with pytest.raises(NodeNotFound):
        transport.remove_node("localhost:9999")


def test_remove_node_reports_the_loss(transport: InProcessTransport) -> None:
    """Removing a node (by any spelling) stops it and calls on_node_lost once."""
    lost: list[tuple[str, str]] = []
    transport.on_node_lost = lambda node, reason: lost.append((node, reason))
    transport.remove_node("127.0.0.1:8001")
    assert transport.node_names() == ["localhost:8000"]
    assert lost == [("localhost:8001", "node localhost:8001 removed")]


def test_restart_node_gives_a_fresh_manager(transport: InProcessTransport) -> None:
    """restart_node replaces the NM: its sessions are gone, the name stays."""
    old = transport.client("localhost:8000")
    old.create_session("s")
    transport.restart_node("localhost:8000")
    new = transport.client("localhost:8000")
    assert new is not old
    assert new.session_ids() == []
    assert sorted(transport.node_names()) == ["localhost:8000", "localhost:8001"]


def test_node_details(transport: InProcessTransport) -> None:
    """One entry per node: alive, in-process, with its session ids and its NM's facts."""
    transport.client("localhost:8001").create_session("s")
    details = {d.name: d for d in transport.node_details()}
    assert details["localhost:8001"].session_ids == ("s",)
    manager = details["localhost:8001"].manager
    assert manager is not None and manager.sessions == 1
    assert {d.state for d in details.values()} == {"alive"}
    assert {d.transport for d in details.values()} == {"inproc"}


def test_close_stops_every_node(tmp_path: Path) -> None:
    """After close no node is left."""
    made = InProcessTransport(tmp_path, nodes=3, workers=1)
    made.close()
    assert made.node_names() == []
    made.close()  # twice is harmless
