# SPDX-License-Identifier: LGPL-2.1-or-later
"""Node membership: exactly one node manager per alive cluster node, reconciled.

Membership is reconciled, not registered: every ``interval`` seconds the reconciler
reads the cluster's node table (Ray's, through :class:`NodeOps`) and compares it with the
node managers it knows. Each known node is a small state machine with one transition
table, :data:`MEMBERSHIP_TRANSITIONS`, and one way to change state,
:meth:`ClusterNode.move`::

    (absent) --the cluster reports it alive--> STARTING
    STARTING --its NM answers--> READY
    STARTING --the start failed--> FAILED          (reason kept; retried with back-off)
    FAILED   --retry round, wake or undrain--> STARTING
    READY    --no session for ``idle_release`` s--> RELEASED   (NM stopped, so the
                                                               autoscaler may scale down)
    RELEASED --a session needs the node (``wake``)--> STARTING
    READY    --``restart``--> STARTING
    any      --DELETE /api/node (``drain``)--> DRAINED --POST /api/node--> STARTING
    any      --the cluster reports it dead or gone--> (absent); ``on_lost(node)`` called

Concurrency contract: the node table is guarded by one lock, which is *never* held
during I/O. Every :class:`NodeOps` call (which may take seconds against a slow cluster)
happens outside it: a round first reads the cluster and asks release candidates (READY
workers idle for ``idle_release`` s: an NM is asked at most once per period, not every
round) whether they are busy, then takes the lock only to decide (:func:`plan`, pure)
and to record. So ``node_names()`` and ``GET /api/nodes`` never wait behind a slow node.
Starting a node is claimed under the lock (the move to STARTING), done outside it, and
recorded under it;
callers that need the node meanwhile wait on a condition until it leaves STARTING.

NM actors are detached and named after the node id, so starting one that already exists
(after an island-manager restart, or twice) *adopts* it: registration is idempotent.

>>> node = ClusterNode("a" * 8, "10.0.0.1", {"CPU": 4.0}, False)
>>> node.move(NodeState.FAILED, "no capacity")
>>> node.state, node.reason
(<NodeState.FAILED: 'failed'>, 'no capacity')
>>> sorted(MEMBERSHIP_TRANSITIONS[node.state])
[<NodeState.DRAINED: 'drained'>, <NodeState.STARTING: 'starting'>]
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from liuray.engine.states import check
from liuray.errors import TransportError
from liuray.managers.reports import MemberInfo

log = logging.getLogger(__name__)


class NodeState(enum.StrEnum):
    """Where a node's node manager stands."""

    STARTING = "starting"
    READY = "ready"
    FAILED = "failed"
    RELEASED = "released"
    DRAINED = "drained"


_N = NodeState
MEMBERSHIP_TRANSITIONS: dict[NodeState, frozenset[NodeState]] = {
    _N.STARTING: frozenset({_N.READY, _N.FAILED, _N.DRAINED}),
    _N.READY: frozenset({_N.RELEASED, _N.DRAINED, _N.STARTING}),
    _N.FAILED: frozenset({_N.STARTING, _N.DRAINED}),
    _N.RELEASED: frozenset({_N.STARTING, _N.DRAINED}),
    _N.DRAINED: frozenset({_N.STARTING}),
}
"""The one table of legal membership moves (absent <-> present is join and loss)."""

#: States whose node can take work now (RELEASED ones are woken on demand).
USABLE: frozenset[NodeState] = frozenset({_N.READY, _N.RELEASED})

#: Back-off between retries of a node whose NM failed to start, in seconds.
RETRY_DELAYS = (1.0, 2.0, 5.0, 15.0, 60.0)


@dataclass
class ClusterNode:
    """What the reconciler knows of one cluster node (mutated under its lock)."""

    node_id: str
    ip: str
    resources: dict[str, float]
    is_head: bool
    state: NodeState = NodeState.STARTING
    alive_since: float = field(default_factory=time.time)
    ready_at: float | None = None
    last_busy: float = field(default_factory=time.time)
    #: Why the last start failed (FAILED), shown in the node details.
    reason: str = ""
    failures: int = 0
    retry_at: float = 0.0

    def move(self, end: NodeState, reason: str = "") -> None:
        """Change state through :data:`MEMBERSHIP_TRANSITIONS` (InvalidTransition if not)."""
        self.state = check(f"Node {self.node_id!r}", self.state, end, MEMBERSHIP_TRANSITIONS)
        now = time.time()
        if end is NodeState.READY:
            self.ready_at = self.ready_at or now
            self.last_busy = now
            self.reason, self.failures = "", 0
        elif end is NodeState.FAILED:
            self.reason = reason
            self.failures += 1
            self.retry_at = now + RETRY_DELAYS[min(self.failures, len(RETRY_DELAYS)) - 1]

    def describe(self) -> MemberInfo:
        """Facts for the node-details route (why it failed, when it has)."""
        failed = self.state is NodeState.FAILED
        return MemberInfo(
            node_id=self.node_id,
            ip=self.ip,
            resources=dict(self.resources),
            head=self.is_head,
            alive_since=self.alive_since,
            ready_at=self.ready_at,
            reason=self.reason if failed else None,
            retry_at=self.retry_at if failed else None,
        )


@dataclass(frozen=True)
class Plan:
    """What one reconciliation round must do."""

    start: list[str]
    lost: list[str]
    release: list[str]
    retry: list[str] = field(default_factory=list)


def plan(
    alive: dict[str, dict[str, Any]],
    known: dict[str, ClusterNode],
    busy: dict[str, bool],
    now: float,
    idle_release: float | None,
) -> Plan:
    """Decide a round (pure): which NMs to start, which nodes are lost, which to release.

    Args:
        alive: the cluster's alive nodes by id (``ray.nodes()`` entries).
        known: the reconciler's nodes.
        busy: for READY nodes, whether their NM holds a live session (absent: unknown).
        now: the current time (``time.time()``).
        idle_release: release an idle worker node's NM after this many seconds (None: never).
    """
    start = [node_id for node_id in alive if node_id not in known]
    lost = [node_id for node_id in known if node_id not in alive]
    retry = [
        node_id
        for node_id, node in known.items()
        if node.state is NodeState.FAILED and node_id in alive and now >= node.retry_at
    ]
    release: list[str] = []
    if idle_release is not None:
        for node_id, node in known.items():
            if (
                node.state is NodeState.READY
                and not node.is_head
                and node_id in alive
                and not busy.get(node_id, True)
                and now - node.last_busy >= idle_release
            ):
                release.append(node_id)
    return Plan(start, lost, release, retry)


class NodeOps(Protocol):
    """The I/O the reconciler needs (implemented by the Ray transport)."""

    def alive_nodes(self) -> dict[str, dict[str, Any]]:
        """The cluster's alive nodes by node id."""
        ...

    def start_manager(self, node_id: str) -> None:
        """Create (or adopt) the NM of a node and wait until it answers."""
        ...

    def stop_manager(self, node_id: str) -> None:
        """Stop the NM of a node (ignore if absent)."""
        ...

    def manager_busy(self, node_id: str) -> bool:
        """Whether the node's NM holds a deploying or running session."""
        ...


class MembershipReconciler:
    """Runs :func:`plan` in a loop and carries it out (see the module docstring).

    Args:
        ops: the cluster-facing operations.
        on_lost: called with (node_id, reason) when a node disappears.
        interval: seconds between rounds (<= 0.2 keeps joins under a second).
        idle_release: seconds of idleness before a worker node's NM is released.
    """

    def __init__(
        self,
        ops: NodeOps,
        on_lost: Callable[[str, str], None] | None = None,
        interval: float = 0.2,
        idle_release: float | None = 60.0,
    ) -> None:
        self.ops = ops
        self.on_lost = on_lost
        self.interval = interval
        self.idle_release = idle_release
        self.nodes: dict[str, ClusterNode] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ loop

    def start(self, settle: float = 30.0) -> None:
        """Run one round now, wait up to ``settle`` s for its NMs, then keep reconciling.

        Waiting means a new island manager sees every existing node (and adopts its NM)
        before it looks at its sessions.
        """
        self.reconcile()
        with self._changed:
            self._changed.wait_for(
                lambda: all(n.state is not NodeState.STARTING for n in self.nodes.values()),
                timeout=settle,
            )
        self._thread = threading.Thread(target=self._loop, name="liuray-reconciler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop (NM actors are left running, to be adopted again)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        failing_since: float | None = None
        last_report = 0.0
        while not self._stop.wait(self.interval):
            try:
                self.reconcile()
            except Exception:
                # The cluster is unreachable (e.g. it restarts): say so once with the
                # traceback, then once a minute, not five times a second.
                now = time.monotonic()
                if failing_since is None:
                    failing_since = last_report = now
                    log.exception("membership reconciliation failed; retrying")
                elif now - last_report >= 60:
                    last_report = now
                    log.warning(
                        "membership reconciliation failing for %.0f s; retrying",
                        now - failing_since,
                    )
            else:
                if failing_since is not None:
                    log.warning("membership reconciliation works again")
                failing_since = None

    def reconcile(self) -> None:
        """One round: start new and failed nodes' NMs, forget lost nodes, release idle ones.

        The cluster is read and release candidates are asked whether they are busy
        *before* the lock is taken; deciding and recording happen under it; starts and stops after.
        """
        alive = self.ops.alive_nodes()
        with self._lock:
            candidates = self._release_candidates(time.time())
        busy = {node_id: self._busy(node_id) for node_id in candidates}
        with self._lock:
            decided = plan(alive, self.nodes, busy, time.time(), self.idle_release)
            for node_id in decided.start:
                entry = alive[node_id]
                resources = dict(entry.get("Resources") or {})
                self.nodes[node_id] = ClusterNode(
                    node_id,
                    str(entry.get("NodeManagerAddress", "")),
                    resources,
                    "node:__internal_head__" in resources,
                )
            retry = [n for n in decided.retry if self._claim_start(n, {NodeState.FAILED})]
            lost = [self.nodes.pop(n) for n in decided.lost]
            self._changed.notify_all()
        for node in lost:
            log.warning("node %s (%s) is gone", node.node_id, node.ip)
            if self.on_lost is not None:
                self.on_lost(node.node_id, f"Ray node {node.node_id} left the cluster")
        for node_id in decided.release:
            self.release(node_id)
        for node_id in decided.start + retry:
            threading.Thread(
                target=self._start_claimed,
                args=(node_id,),
                daemon=True,
                name=f"liuray-start-{node_id[:8]}",
            ).start()

    def _release_candidates(self, now: float) -> list[str]:
        """READY workers idle long enough to be released, if their NM says it is idle.

        Only those are asked (so a node manager is asked at most once per
        ``idle_release`` seconds, not every round); call with the lock held.
        """
        if self.idle_release is None:
            return []
        return [
            node_id
            for node_id, node in self.nodes.items()
            if node.state is NodeState.READY
            and not node.is_head
            and now - node.last_busy >= self.idle_release
        ]

    def _busy(self, node_id: str) -> bool:
        """Ask a node's NM whether it is busy (no lock held); unanswered counts as busy."""
        try:
            busy = self.ops.manager_busy(node_id)
        except Exception:
            return True  # an NM that does not answer is never released as "idle"
        if busy:
            with self._lock:
                node = self.nodes.get(node_id)
                if node is not None:
                    node.last_busy = time.time()
        return busy

    # ------------------------------------------------------------------ starting

    def _claim_start(self, node_id: str, allowed: set[NodeState]) -> bool:
        """Move a node to STARTING if it is in ``allowed``; call with the lock held."""
        node = self.nodes.get(node_id)
        if node is None or node.state not in allowed:
            return False
        node.move(NodeState.STARTING)
        return True

    def _start_claimed(self, node_id: str) -> None:
        """Start the NM of a node already moved to STARTING; record READY or FAILED."""
        try:
            self.ops.start_manager(node_id)
        except Exception as err:
            reason = f"could not start its node manager: {err}"
            log.warning("node %s: %s (will retry)", node_id, reason)
            self._finish_start(node_id, NodeState.FAILED, reason)
        else:
            self._finish_start(node_id, NodeState.READY, "")

    def _finish_start(self, node_id: str, end: NodeState, reason: str) -> None:
        stop = False
        with self._changed:
            node = self.nodes.get(node_id)
            if node is not None and node.state is NodeState.STARTING:
                node.move(end, reason)
            elif node is not None and node.state is NodeState.DRAINED and end is _N.READY:
                stop = True  # drained while starting: the fresh NM must not linger
            self._changed.notify_all()
        if stop:
            self.ops.stop_manager(node_id)

    def _ensure_started(self, node_id: str, claim_from: set[NodeState], timeout: float) -> None:
        """Start the node's NM if it is in ``claim_from``, or wait for a start under way.

        Raises:
            TransportError: the start failed (the node is FAILED, retried later) or did
                not end within ``timeout``.
        """
        with self._changed:
            claimed = self._claim_start(node_id, claim_from)
        if claimed:
            self._start_claimed(node_id)
        with self._changed:
            done = self._changed.wait_for(
                lambda: (
                    node_id not in self.nodes or self.nodes[node_id].state is not NodeState.STARTING
                ),
                timeout=timeout,
            )
            node = self.nodes.get(node_id)
            if node is None or node.state is NodeState.READY:
                return
            state, reason = node.state, node.reason
        if not done:
            raise TransportError(
                f"node {node_id}: its node manager did not start within {timeout:.0f} s",
                node=node_id,
            )
        if state is NodeState.FAILED:
            raise TransportError(
                f"node {node_id}: {reason}; it is retried automatically", node=node_id
            )

    # ------------------------------------------------------------------ commands

    def ready_nodes(self) -> list[str]:
        """Nodes whose NM is up or released (released ones are woken on demand)."""
        with self._lock:
            return [n for n, node in self.nodes.items() if node.state in USABLE]

    def state_of(self, node_id: str) -> NodeState | None:
        """A node's state (None if unknown)."""
        with self._lock:
            node = self.nodes.get(node_id)
            return None if node is None else node.state

    def touch(self, node_id: str) -> None:
        """A session is about to use the node: restart its idle clock."""
        with self._lock:
            node = self.nodes.get(node_id)
            if node is not None:
                node.last_busy = time.time()

    def wake(self, node_id: str, timeout: float = 120.0) -> None:
        """Make sure the node's NM runs now (restart a released or failed one); blocks.

        Raises:
            TransportError: the NM could not be started (the reason is kept on the node).
        """
        self.touch(node_id)
        self._ensure_started(node_id, {NodeState.RELEASED, NodeState.FAILED}, timeout)

    def release(self, node_id: str) -> None:
        """Stop an idle node's NM so the autoscaler can remove the node.

        Checked once more just before: a session may have claimed the node since the
        round decided (``touch``), or reached its NM.
        """
        with self._lock:
            node = self.nodes.get(node_id)
            if node is None or node.state is not NodeState.READY:
                return
            claimed_at = node.last_busy
        if self._busy(node_id):
            return
        with self._changed:
            node = self.nodes.get(node_id)
            if node is None or node.state is not NodeState.READY or node.last_busy != claimed_at:
                return
            node.move(NodeState.RELEASED)
            self._changed.notify_all()
        log.info("releasing the idle node manager on node %s", node_id)
        self.ops.stop_manager(node_id)

    def drain(self, node_id: str) -> None:
        """Stop using a node (``DELETE /api/node``) until it is registered again."""
        with self._changed:
            node = self.nodes.get(node_id)
            if node is None or node.state is NodeState.DRAINED:
                return
            node.move(NodeState.DRAINED)
            self._changed.notify_all()
        self.ops.stop_manager(node_id)

    def undrain(self, node_id: str, timeout: float = 120.0) -> None:
        """Use a node again (``POST /api/node``); idempotent, blocks until the NM answers.

        Raises:
            TransportError: the NM could not be started.
        """
        self._ensure_started(node_id, {NodeState.DRAINED, NodeState.FAILED}, timeout)

    def restart(self, node_id: str, timeout: float = 120.0) -> None:
        """Replace a node's NM with a fresh one (``liuray nodes restart``).

        Raises:
            TransportError: the fresh NM could not be started.
        """
        with self._changed:
            claimed = self._claim_start(node_id, {NodeState.READY, NodeState.FAILED})
        if not claimed:
            self._ensure_started(node_id, {NodeState.RELEASED, NodeState.DRAINED}, timeout)
            return
        self.ops.stop_manager(node_id)
        self._start_claimed(node_id)
        self._ensure_started(node_id, set(), timeout)
