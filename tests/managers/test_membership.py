"""The membership reconciler without Ray: :func:`plan` and a fake :class:`NodeOps`."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from liuray.errors import InvalidTransition, TransportError
from liuray.managers.membership import (
    MEMBERSHIP_TRANSITIONS,
    ClusterNode,
    MembershipReconciler,
    NodeState,
    plan,
)

HEAD = "h" * 56
A = "a" * 56
B = "b" * 56
C = "c" * 56


def entry(node_id: str, head: bool = False) -> dict[str, Any]:
    """A ``ray.nodes()`` row for an alive node."""
    resources = {"CPU": 1.0, f"node:10.0.0.{len(node_id)}": 1.0}
    if head:
        resources["node:__internal_head__"] = 1.0
    return {
        "NodeID": node_id,
        "Alive": True,
        "NodeManagerAddress": "10.0.0.1",
        "Resources": resources,
    }


def known(
    node_id: str, state: NodeState, idle_since: float = 0.0, head: bool = False
) -> ClusterNode:
    return ClusterNode(node_id, "10.0.0.1", {"CPU": 1.0}, head, state=state, last_busy=idle_since)


class FakeOps:
    """NodeOps over a dict of alive nodes; records every start and stop."""

    def __init__(self, *alive: dict[str, Any]) -> None:
        self.alive = {row["NodeID"]: row for row in alive}
        self.running: set[str] = set()
        self.busy: set[str] = set()
        self.broken: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def alive_nodes(self) -> dict[str, dict[str, Any]]:
        return dict(self.alive)

    def start_manager(self, node_id: str) -> None:
        with self.lock:
            self.calls.append(("start", node_id))
        if node_id in self.broken:
            raise RuntimeError(f"cannot place an actor on {node_id}")
        self.running.add(node_id)

    def stop_manager(self, node_id: str) -> None:
        with self.lock:
            self.calls.append(("stop", node_id))
        self.running.discard(node_id)

    def manager_busy(self, node_id: str) -> bool:
        if node_id not in self.running:
            raise RuntimeError(f"no NM on {node_id}")
        return node_id in self.busy


def settle(reconciler: MembershipReconciler, node_id: str, state: NodeState) -> None:
    """Wait for a node's background start to end in ``state``."""
    deadline = time.monotonic() + 5
    while True:
        node = reconciler.nodes.get(node_id)
        if node is not None and node.state is state:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"{node_id[:4]} never became {state}: {node}")
        time.sleep(0.005)


def ready(ops: FakeOps, idle_release: float | None = None, **kwargs: Any) -> MembershipReconciler:
    """A reconciler that has run one round and has every alive node READY."""
    reconciler = MembershipReconciler(ops, idle_release=idle_release, **kwargs)
    reconciler.reconcile()
    for node_id in ops.alive:
        settle(reconciler, node_id, NodeState.READY)
    return reconciler


# ---------------------------------------------------------------- plan()


def test_plan_starts_alive_nodes_it_does_not_know() -> None:
    """Nodes Ray reports alive but the reconciler lacks are to get an NM."""
    decided = plan(
        {HEAD: entry(HEAD, True), A: entry(A)}, {HEAD: known(HEAD, NodeState.READY)}, {}, 0, None
    )

    assert decided.start == [A]
    assert decided.lost == []
    assert decided.release == []


def test_plan_reports_known_nodes_missing_from_ray_as_lost() -> None:
    """A node Ray no longer lists alive is lost, whatever its NM's state was."""
    nodes = {
        A: known(A, NodeState.READY),
        B: known(B, NodeState.RELEASED),
        C: known(C, NodeState.DRAINED),
    }

    decided = plan({A: entry(A)}, nodes, {A: False}, 0, None)

    assert decided.start == []
    assert decided.lost == [B, C]


def test_plan_releases_only_idle_ready_worker_nodes() -> None:
    """Release needs: a READY worker, alive, known idle, idle for idle_release seconds.

    The head, busy nodes, nodes busy a moment ago, nodes whose busyness is unknown and
    nodes not READY all keep their NM.
    """
    nodes = {
        "head": known("head", NodeState.READY, head=True),
        "idle": known("idle", NodeState.READY),
        "busy": known("busy", NodeState.READY),
        "recent": known("recent", NodeState.READY, idle_since=95.0),
        "unknown": known("unknown", NodeState.READY),
        "starting": known("starting", NodeState.STARTING),
        "released": known("released", NodeState.RELEASED),
        "drained": known("drained", NodeState.DRAINED),
    }
    alive = {name: entry(name) for name in nodes}
    busy = {"head": False, "idle": False, "busy": True, "recent": False}

    decided = plan(alive, nodes, busy, now=100.0, idle_release=10.0)

    assert decided.release == ["idle"]
    assert plan(alive, nodes, busy, now=100.0, idle_release=None).release == []


# ---------------------------------------------------------------- the reconciler


def test_a_joining_node_gets_an_nm_and_becomes_ready() -> None:
    """One round sees a new node, records its facts and starts its NM in the background."""
    ops = FakeOps(entry(HEAD, head=True), entry(A))

    reconciler = ready(ops)

    assert sorted(reconciler.ready_nodes()) == [A, HEAD]
    assert sorted(ops.calls) == [("start", A), ("start", HEAD)]
    assert reconciler.nodes[HEAD].is_head
    assert not reconciler.nodes[A].is_head
    assert reconciler.nodes[A].ip == "10.0.0.1"
    assert reconciler.nodes[A].ready_at is not None
    reconciler.reconcile()
    assert len(ops.calls) == 2  # known nodes are not started again


def test_a_node_that_leaves_is_forgotten_and_reported_lost() -> None:
    """Ray stops listing a node: on_lost(node, reason) is called once, the node forgotten."""
    lost: list[tuple[str, str]] = []
    ops = FakeOps(entry(HEAD, head=True), entry(A))
    reconciler = ready(ops, on_lost=lambda node, why: lost.append((node, why)))

    del ops.alive[A]
    reconciler.reconcile()
    reconciler.reconcile()

    assert lost == [(A, f"Ray node {A} left the cluster")]
    assert reconciler.ready_nodes() == [HEAD]


def test_a_failed_start_is_recorded_and_retried_after_its_back_off() -> None:
    """An NM that cannot start leaves the node FAILED with the reason; a later round
    (once its back-off has passed) tries again and the node becomes READY."""
    ops = FakeOps(entry(A))
    ops.broken.add(A)
    reconciler = MembershipReconciler(ops, idle_release=None)

    reconciler.reconcile()
    settle(reconciler, A, NodeState.FAILED)
    assert "cannot place an actor" in reconciler.nodes[A].reason
    assert reconciler.ready_nodes() == []
    reconciler.reconcile()  # back-off not over: not retried yet
    assert ops.calls == [("start", A)]

    ops.broken.clear()
    reconciler.nodes[A].retry_at = 0.0
    reconciler.reconcile()
    settle(reconciler, A, NodeState.READY)

    assert ops.calls == [("start", A), ("start", A)]
    assert reconciler.ready_nodes() == [A]
    assert reconciler.nodes[A].reason == ""


def test_a_failed_wake_leaves_the_node_retryable_not_starting_forever() -> None:
    """Regression: a wake whose start failed left the node STARTING for good, missing
    from the ready nodes and never retried. Now the wake raises with the reason, the node
    is FAILED, and the next round (or wake) starts it again."""
    ops = FakeOps(entry(A))
    reconciler = ready(ops)
    reconciler.release(A)
    ops.broken.add(A)

    with pytest.raises(TransportError, match="cannot place an actor"):
        reconciler.wake(A)

    assert reconciler.nodes[A].state is NodeState.FAILED
    ops.broken.clear()
    reconciler.nodes[A].retry_at = 0.0
    reconciler.reconcile()
    settle(reconciler, A, NodeState.READY)
    assert reconciler.ready_nodes() == [A]


def test_a_failed_undrain_and_restart_raise_and_stay_retryable() -> None:
    """undrain and restart go through the same start path: FAILED with the reason."""
    ops = FakeOps(entry(A), entry(B))
    reconciler = ready(ops)
    reconciler.drain(A)
    ops.broken |= {A, B}

    with pytest.raises(TransportError):
        reconciler.undrain(A)
    with pytest.raises(TransportError):
        reconciler.restart(B)

    assert reconciler.nodes[A].state is NodeState.FAILED
    assert reconciler.nodes[B].state is NodeState.FAILED
    ops.broken.clear()
    reconciler.wake(B)
    assert reconciler.nodes[B].state is NodeState.READY


def test_node_reads_do_not_wait_for_a_slow_cluster_call() -> None:
    """Regression: reconcile() held its lock while asking each NM whether it was busy
    (10 s timeout per node on Ray), so GET /api/nodes blocked behind it."""
    ops = FakeOps(entry(A))
    reconciler = ready(ops, idle_release=0.0)
    asked = threading.Event()
    answer = threading.Event()

    def slow_busy(node_id: str) -> bool:
        asked.set()
        answer.wait(5)
        return False

    ops.manager_busy = slow_busy  # type: ignore[method-assign]
    round_ = threading.Thread(target=reconciler.reconcile)
    round_.start()
    try:
        assert asked.wait(5)
        began = time.monotonic()
        assert reconciler.ready_nodes() == [A]
        assert reconciler.state_of(A) is NodeState.READY
        assert time.monotonic() - began < 2.0  # the busy query holds for 5 s
    finally:
        answer.set()
        round_.join()


def test_node_managers_are_asked_about_work_only_when_they_could_be_released() -> None:
    """No busy polling: a round asks an NM whether it is busy only once the node has
    been idle for idle_release seconds (and the answer restarts that clock)."""
    ops = FakeOps(entry(HEAD, head=True), entry(A))
    reconciler = ready(ops, idle_release=0.2)
    asked: list[str] = []
    answer = ops.manager_busy

    def counting(node_id: str) -> bool:
        asked.append(node_id)
        return True

    ops.manager_busy = counting  # type: ignore[method-assign]
    for _ in range(20):
        reconciler.reconcile()
    assert asked == []  # idle for less than 0.2 s: nobody asked
    time.sleep(0.25)
    for _ in range(20):
        reconciler.reconcile()

    assert asked == [A]  # once; busy, so its clock restarted; the head never
    ops.manager_busy = answer  # type: ignore[method-assign]


def test_illegal_membership_moves_are_refused_with_the_legal_ones() -> None:
    """One table decides: e.g. a DRAINED node cannot be RELEASED."""
    node = known(A, NodeState.DRAINED)

    with pytest.raises(InvalidTransition, match=r"allowed from drained: \['starting'\]"):
        node.move(NodeState.RELEASED)
    assert set(MEMBERSHIP_TRANSITIONS) == set(NodeState)


def test_an_idle_worker_is_released_but_not_the_head_nor_a_busy_worker() -> None:
    """After idle_release seconds without work, a worker's NM is stopped (RELEASED)."""
    ops = FakeOps(entry(HEAD, head=True), entry(A), entry(B))
    reconciler = ready(ops, idle_release=0.05)
    ops.busy.add(B)
    ops.calls.clear()

    time.sleep(0.1)
    reconciler.reconcile()

    assert ops.calls == [("stop", A)]
    assert reconciler.nodes[A].state is NodeState.RELEASED
    assert reconciler.nodes[B].state is NodeState.READY
    assert reconciler.nodes[HEAD].state is NodeState.READY
    assert A in reconciler.ready_nodes()  # still listed: woken on demand


def test_work_postpones_release() -> None:
    """A node busy in a round starts its idle time afresh from that round."""
    ops = FakeOps(entry(A))
    reconciler = ready(ops, idle_release=0.2)
    ops.busy.add(A)
    time.sleep(0.25)
    reconciler.reconcile()  # busy: last_busy is now
    ops.busy.clear()

    reconciler.reconcile()

    assert reconciler.nodes[A].state is NodeState.READY
    time.sleep(0.25)
    reconciler.reconcile()
    assert reconciler.nodes[A].state is NodeState.RELEASED


def test_an_nm_that_does_not_answer_counts_as_busy() -> None:
    """If asking the NM whether it is busy fails, it is not released."""
    ops = FakeOps(entry(A))
    reconciler = ready(ops, idle_release=0.0)
    ops.running.clear()  # manager_busy now raises

    reconciler.reconcile()

    assert reconciler.nodes[A].state is NodeState.READY


def test_wake_restarts_a_released_nm_and_ignores_others() -> None:
    """wake() starts a RELEASED node's NM (blocking); READY or unknown nodes are left."""
    ops = FakeOps(entry(A), entry(B))
    reconciler = ready(ops)
    reconciler.release(A)
    ops.calls.clear()

    reconciler.wake(A)
    reconciler.wake(B)
    reconciler.wake(C)

    assert ops.calls == [("start", A)]
    assert reconciler.nodes[A].state is NodeState.READY


def test_drain_stops_the_nm_and_undrain_starts_it_again() -> None:
    """drain (DELETE /api/node) hides the node; undrain (POST) brings it back once."""
    ops = FakeOps(entry(A))
    reconciler = ready(ops)
    ops.calls.clear()

    reconciler.drain(A)
    reconciler.reconcile()  # a drained node is not restarted by reconciliation

    assert reconciler.nodes[A].state is NodeState.DRAINED
    assert reconciler.ready_nodes() == []
    assert ops.calls == [("stop", A)]

    reconciler.undrain(A)
    reconciler.undrain(A)

    assert reconciler.nodes[A].state is NodeState.READY
    assert ops.calls == [("stop", A), ("start", A)]


def test_restart_stops_then_starts_the_nm() -> None:
    """restart() replaces a node's NM: stop, then start, then READY again."""
    ops = FakeOps(entry(A))
    reconciler = ready(ops)
    ops.calls.clear()

    reconciler.restart(A)

    assert ops.calls == [("stop", A), ("start", A)]
    assert reconciler.nodes[A].state is NodeState.READY


def test_the_loop_picks_up_a_join_within_a_few_intervals() -> None:
    """start() runs a round at once, then every interval until stop()."""
    ops = FakeOps(entry(A))
    reconciler = MembershipReconciler(ops, interval=0.02, idle_release=None)
    reconciler.start()
    try:
        settle(reconciler, A, NodeState.READY)
        ops.alive[B] = entry(B)
        began = time.monotonic()
        settle(reconciler, B, NodeState.READY)
        assert time.monotonic() - began < 1.0
    finally:
        reconciler.stop()
    assert reconciler._thread is not None
    assert not reconciler._thread.is_alive()


# ---------------------------------------------------------------- properties

_ACTIONS = ("join", "leave", "reconcile", "wake", "drain", "undrain", "restart", "release")


def _quiet(reconciler: MembershipReconciler) -> None:
    """Wait until no background start is under way."""
    deadline = time.monotonic() + 5
    while any(n.state is NodeState.STARTING for n in list(reconciler.nodes.values())):
        assert time.monotonic() < deadline, reconciler.nodes
        time.sleep(0.002)


def _check_membership_invariants(reconciler: MembershipReconciler, ops: FakeOps) -> None:
    nodes = dict(reconciler.nodes)
    for node_id, node in nodes.items():
        assert node.state in MEMBERSHIP_TRANSITIONS
        if node_id not in ops.alive:
            continue  # crashed since the last round: noticed by the next one
        if node.state is NodeState.READY:
            assert node_id in ops.running, f"{node_id[:4]} READY without an NM"
        if node.state in (NodeState.RELEASED, NodeState.DRAINED):
            assert node_id not in ops.running, f"{node_id[:4]} {node.state} with an NM"
        if node.state is NodeState.FAILED:
            assert node.reason
    assert set(reconciler.ready_nodes()) == {
        n for n, node in nodes.items() if node.state in (NodeState.READY, NodeState.RELEASED)
    }


@settings(max_examples=200, deadline=None)
@example(steps=[("join", A, False), ("reconcile", A, False), ("leave", A, False)])
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(_ACTIONS), st.sampled_from((A, B)), st.booleans()),
        max_size=25,
    )
)
def test_random_membership_histories_keep_the_invariants(
    steps: list[tuple[str, str, bool]],
) -> None:
    """Joins, losses, rounds, wakes, drains, restarts and releases in any order, with
    starts that sometimes fail: after every step (once background starts settle) READY
    nodes have an NM, released and drained ones do not, failed ones say why, and the
    usable nodes are exactly the READY and RELEASED ones."""
    ops = FakeOps(entry(HEAD, head=True))
    reconciler = MembershipReconciler(ops, idle_release=0.0)
    gone: set[str] = set()  # a node that left never comes back under its id (Ray's ids)
    for action, node_id, broken in steps:
        (ops.broken.add if broken else ops.broken.discard)(node_id)
        if action == "join":
            if node_id not in gone:
                ops.alive[node_id] = entry(node_id)
        elif action == "leave":
            if node_id in ops.alive:
                gone.add(node_id)
            ops.alive.pop(node_id, None)
            ops.running.discard(node_id)
        elif action == "reconcile":
            for node in reconciler.nodes.values():
                node.retry_at = 0.0
            reconciler.reconcile()
            assert set(reconciler.nodes) == set(ops.alive)  # joins and losses noticed
        elif action == "release":
            reconciler.release(node_id)
        else:
            try:
                getattr(reconciler, action)(node_id)
            except TransportError:
                assert node_id in ops.broken
        _quiet(reconciler)
        _check_membership_invariants(reconciler, ops)
