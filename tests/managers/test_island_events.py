"""The island manager's control plane: pushed events, no polling, no lock across I/O."""

from __future__ import annotations

import gc
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liuray.engine.states import AppState, DropState, SessionState
from liuray.errors import DeployError, InvalidSessionState, InvalidTransition, LiurayError
from liuray.managers.events import DropsChanged
from liuray.managers.island import IslandManager
from liuray.managers.island_session import IslandSession
from liuray.managers.node import NodeManager
from liuray.managers.reports import DropStatus
from liuray.managers.stream import SessionFinished, SessionProgressed
from liuray.transports.inproc import InProcessTransport

_S = SessionState


class CountingClient:
    """A node manager whose status reads are counted (everything else passes through)."""

    READS = ("session_status", "progress", "graph_status", "failures", "sessions")

    def __init__(self, manager: NodeManager, calls: Counter[str]) -> None:
        self._manager = manager
        self._calls = calls

    def __getattr__(self, name: str) -> Any:
        if name in self.READS:
            self._calls[name] += 1
        return getattr(self._manager, name)


class CountingTransport(InProcessTransport):
    """In-process NMs; counts every status read the island manager makes of them."""

    def __init__(self, root: Path, nodes: int) -> None:
        super().__init__(root, nodes=nodes, workers=2)
        self.reads: Counter[str] = Counter()

    def client(self, node: str) -> Any:
        return CountingClient(super().client(node), self.reads)


class SlowAcquireTransport(InProcessTransport):
    """An autoscaling stand-in: acquiring nodes takes ``delay`` s unless cancelled."""

    def __init__(self, root: Path, delay: float) -> None:
        super().__init__(root, nodes=2, workers=2)
        self.delay = delay
        self.acquiring = threading.Event()

    def acquire(
        self,
        session_id: str,
        count: int,
        bundles: list[dict[str, float]],
        timeout: float,
        cancelled: threading.Event | None = None,
    ) -> list[str]:
        self.acquiring.set()
        assert cancelled is not None
        if cancelled.wait(self.delay):
            raise DeployError(f"session {session_id}: cancelled while waiting for nodes")
        return self.node_names()[:count]


@pytest.fixture
def counting(tmp_path: Path) -> Iterator[tuple[IslandManager, CountingTransport]]:
    transport = CountingTransport(tmp_path / "nodes", nodes=3)
    island = IslandManager(transport, audit_interval=3600)
    yield island, transport
    island.close()


def spread_chain(app: Any, data: Any, nodes: list[str], length: int) -> list[dict[str, Any]]:
    """A chain of copy apps hopping from node to node."""
    specs = [data("d0", node=nodes[0])]
    for index in range(1, length + 1):
        node = nodes[index % len(nodes)]
        specs.append(app(f"a{index}", inputs=(f"d{index - 1}",), outputs=(f"d{index}",), node=node))
        specs.append(data(f"d{index}", node=node))
    return specs


def test_session_ends_are_pushed_not_polled(
    counting: tuple[IslandManager, CountingTransport], app: Any, data: Any
) -> None:
    """Regression: the island polled every node every 0.2 s for session ends, and wait()
    polled every 20 ms. Now a multi-node session runs to its end, wait() returns and the
    progress reads are answered while the island never asks a node for its status."""
    island, transport = counting
    session_id = island.submit(spread_chain(app, data, island.nodes(), 30), "pushed")

    assert island.wait(session_id, 10) is _S.FINISHED
    progress = island.progress(session_id)
    status = island.graph_status(session_id)

    assert progress.counts == {"finished": 30, "completed": 31}
    assert status["a30"] == DropStatus(DropState.COMPLETED, AppState.FINISHED)
    assert island.session_status(session_id) == dict.fromkeys(island.nodes(), _S.FINISHED)
    assert transport.reads == Counter()


def test_status_reads_cost_the_same_for_any_number_of_drops(
    counting: tuple[IslandManager, CountingTransport], app: Any, data: Any
) -> None:
    """progress() and state() of a running session come from per-node counts kept up to
    date by the nodes' reports: no node is asked and no drop is visited."""
    island, transport = counting
    nodes = island.nodes()
    specs = [app("sleep", "SleepApp", outputs=("d",), sleep_time=30, node=nodes[0])]
    specs.append(data("d", node=nodes[1]))
    specs += [data(f"x{i}", node=nodes[2]) for i in range(5000)]
    session_id = island.submit(specs, "big")
    try:
        assert island.state(session_id) is _S.RUNNING
        counts: Mapping[str, int] = {}
        deadline = time.monotonic() + 5
        expected = {"running": 1, "initialized": 1, "completed": 5000}  # x* are roots
        while counts != expected and time.monotonic() < deadline:
            counts = island.progress(session_id).counts
        assert counts == expected
        assert transport.reads == Counter()
    finally:
        island.cancel_session(session_id)
    assert island.state(session_id) is _S.CANCELLED


def test_cancel_during_a_long_acquire_returns_at_once(tmp_path: Path, app: Any, data: Any) -> None:
    """Regression: deploy_session held the session lock while the transport waited for
    nodes (up to 300 s), so a cancel waited behind it (2.7 s behind a 3 s acquire). Now
    the cancel answers at once, the deploy stops, and the session is CANCELLED."""
    transport = SlowAcquireTransport(tmp_path / "nodes", delay=3.0)
    island = IslandManager(transport, audit_interval=3600)
    try:
        island.create_session("s")
        island.append_graph("s", [app("a", outputs=("d",), node="#0"), data("d", node="#0")])
        errors: list[LiurayError] = []

        def deploy() -> None:
            try:
                island.deploy_session("s")
            except LiurayError as err:
                errors.append(err)

        deployer = threading.Thread(target=deploy)
        deployer.start()
        assert transport.acquiring.wait(5)
        began = time.monotonic()
        island.cancel_session("s")
        cancel_took = time.monotonic() - began
        deployer.join(5)
        deploy_took = time.monotonic() - began

        # Far below the 3 s the acquire would take (margins for a loaded CI machine).
        assert cancel_took < 1.0
        assert deploy_took < 2.0
        assert island.state("s") is _S.CANCELLED
        assert isinstance(errors[0], InvalidSessionState)
        assert "cancelled while it was being deployed" in str(errors[0])
        assert island.records.get("s") is not None
        assert island.records.get("s").state is _S.CANCELLED  # type: ignore[union-attr]
    finally:
        island.close()


def test_status_reads_do_not_wait_for_a_deploy_in_progress(
    tmp_path: Path, app: Any, data: Any
) -> None:
    """While a deploy waits for nodes, reads of that session answer at once."""
    transport = SlowAcquireTransport(tmp_path / "nodes", delay=2.0)
    island = IslandManager(transport, audit_interval=3600)
    try:
        island.create_session("s")
        island.append_graph("s", [app("a", outputs=("d",), node="#0"), data("d", node="#0")])
        deployer = threading.Thread(target=island.deploy_session, args=("s",))
        deployer.start()
        assert transport.acquiring.wait(5)
        began = time.monotonic()
        assert island.state("s") is _S.DEPLOYING
        assert island.progress("s").total == 2
        assert island.sessions()[0].session_id == "s"
        assert time.monotonic() - began < 1.0  # the acquire holds for 2 s
        deployer.join(5)
        assert island.wait("s", 5) is _S.FINISHED
    finally:
        island.close()


def test_a_reader_follows_a_session_to_its_end(island: IslandManager, app: Any, data: Any) -> None:
    """subscribe() yields the session's progress (counts, changed drops) then its end."""
    island.create_session("s")
    island.append_graph("s", [app("hello", "HelloWorldApp", outputs=("d",)), data("d")])
    reader = island.subscribe("s")
    island.deploy_session("s")
    seen: list[Any] = []
    deadline = time.monotonic() + 5
    while not any(isinstance(e, SessionFinished) for e in seen) and time.monotonic() < deadline:
        seen += reader.next(1.0)
    island.unsubscribe(reader)

    progressed = [e for e in seen if isinstance(e, SessionProgressed)]
    assert seen[-1] == SessionFinished("s", _S.FINISHED)
    assert progressed[0].total == 2
    changed = {uid for event in progressed for uid, _, _ in event.changes}
    assert changed == {"hello", "d"}
    assert reader.next(0) == []


def test_a_late_reader_of_a_finished_session_gets_its_end(
    island: IslandManager, app: Any, data: Any
) -> None:
    """Subscribing after the end still tells the reader how the session ended."""
    session_id = island.submit([app("hello", "HelloWorldApp", outputs=("d",)), data("d")])
    assert island.wait(session_id, 5) is _S.FINISHED

    events = island.subscribe(session_id).next(1.0)

    assert events[-1] == SessionFinished(session_id, _S.FINISHED)


def test_the_audit_finds_an_end_whose_report_was_lost(tmp_path: Path, app: Any, data: Any) -> None:
    """Safety net: a node's end report that never arrives is found by the audit."""
    transport = InProcessTransport(tmp_path / "nodes", nodes=1, workers=2)
    island = IslandManager(transport, audit_interval=3600)
    try:
        transport.on_event = None  # every report is lost from now on
        session_id = island.submit([app("hello", "HelloWorldApp", outputs=("d",)), data("d")])
        assert island.wait(session_id, 0.5) is _S.RUNNING

        island.audit()

        assert island.wait(session_id, 5) is _S.FINISHED
        assert island.progress(session_id).counts == {"finished": 1, "completed": 1}
    finally:
        island.close()


# ---------------------------------------------------------------- the session machine


def test_island_session_refuses_illegal_moves() -> None:
    """One table: a finished session cannot be cancelled or run again."""
    session = IslandSession("s")
    session.move(_S.DEPLOYING)
    session.move(_S.RUNNING)
    session.move(_S.FINISHED)

    assert session.done.is_set()
    with pytest.raises(InvalidTransition, match="allowed from finished"):
        session.move(_S.CANCELLED)


_OPERATIONS = ("append", "deploy", "cancel", "wait")


@settings(max_examples=25, deadline=None)
@given(steps=st.lists(st.sampled_from(_OPERATIONS), max_size=8))
def test_random_requests_only_make_legal_session_moves(
    tmp_path_factory: pytest.TempPathFactory, steps: list[str]
) -> None:
    """Appends, deploys, cancels and waits in any order: every state the island reports
    follows the session transition table, refusals are LiurayErrors, and the record
    agrees with the session once it has ended."""
    from manager_helpers import app_spec, data_spec, reachable

    root = tmp_path_factory.mktemp("island")
    island = IslandManager(InProcessTransport(root, nodes=2, workers=2), audit_interval=3600)
    try:
        island.create_session("s")
        seen = [island.state("s")]
        for index, step in enumerate(steps):
            try:
                if step == "append":
                    island.append_graph(
                        "s",
                        [
                            app_spec(
                                f"a{index}", "SleepApp", outputs=(f"d{index}",), sleep_time=0.01
                            ),
                            data_spec(f"d{index}"),
                        ],
                    )
                elif step == "deploy":
                    island.deploy_session("s")
                elif step == "cancel":
                    island.cancel_session("s")
                elif island.state("s") is _S.RUNNING:
                    island.wait("s", 2)
            except LiurayError:
                pass
            state = island.state("s")
            if state is not seen[-1]:
                assert reachable(seen[-1], state), f"{seen[-1]} -> {state}"
                seen.append(state)
        final = island.wait("s", 5) if island.state("s") is _S.RUNNING else island.state("s")
        record = island.records.get("s")
        assert record is not None
        if final in (_S.FINISHED, _S.FAILED, _S.CANCELLED):
            assert record.state is final
    finally:
        island.close()


def test_the_event_thread_keeps_no_batch_while_it_waits(
    island: IslandManager, app: Any, data: Any, until: Any
) -> None:
    """Regression (docs/reliability.md, "Load"): waiting for the next batch of node
    reports, the island's event thread kept the last one alive, a DropsChanged with up to
    200,000 changes and their drop ids, which pinned the heap's arenas after a burst. Once
    a session has ended and its reports are applied, no report is left in memory."""
    session_id = island.submit(spread_chain(app, data, island.nodes(), 20), "kept")
    assert island.wait(session_id, 10) is _S.FINISHED

    def no_report_alive() -> bool:
        gc.collect()
        return not [o for o in gc.get_objects() if type(o) is DropsChanged]

    assert until(no_report_alive)


def test_close_stops_the_audit_thread_at_once(tmp_path: Path) -> None:
    """The audit thread sleeps on a lock of its own between audits (an hour here):
    close() wakes it and it ends."""
    island = IslandManager(InProcessTransport(tmp_path, nodes=1, workers=1), audit_interval=3600)
    island.close()
    assert not island._auditor.is_alive()
