# SPDX-License-Identifier: LGPL-2.1-or-later
"""The membership reconciler: exactly one node manager per alive Ray node.

Membership is reconciled, not registered: every ``interval`` seconds the reconciler
reads Ray's node table and compares it with the node managers it knows. Per node:

    (absent) --Ray reports it alive--> STARTING --NM answers--> READY
    READY --no session for ``idle_release`` s--> RELEASED   (NM actor killed, so the
                                                             autoscaler may scale down)
    RELEASED --a session needs the node (``wake``)--> STARTING
    any --DELETE /api/node (``drain``)--> DRAINED --POST /api/node (``undrain``)--> STARTING
    any --Ray reports it dead or gone--> (absent), and ``on_lost(node)`` is called

NM actors are detached and named after the node id, so starting one that already
exists (after a DIM restart, or twice) *adopts* it instead: registration is idempotent
by construction. :func:`plan` is the pure decision step (tested without Ray); the
:class:`MembershipReconciler` does the I/O through a small :class:`NodeOps` interface
that the Ray transport implements.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)


class NodeState(enum.StrEnum):
    """Where a Ray node's node manager stands."""

    STARTING = "starting"
    READY = "ready"
    RELEASED = "released"
    DRAINED = "drained"


@dataclass
class RayNode:
    """What the reconciler knows of one Ray node."""

    node_id: str
    ip: str
    resources: dict[str, float]
    is_head: bool
    state: NodeState = NodeState.STARTING
    alive_since: float = field(default_factory=time.time)
    ready_at: float | None = None
    last_busy: float = field(default_factory=time.time)

    def describe(self) -> dict[str, Any]:
        """JSON-able facts for the node-details route."""
        return {
            "name": self.node_id,
            "node_id": self.node_id,
            "ip": self.ip,
            "resources": self.resources,
            "head": self.is_head,
            "state": str(self.state),
            "alive_since": self.alive_since,
            "ready_at": self.ready_at,
        }


@dataclass(frozen=True)
class Plan:
    """What one reconciliation round must do."""

    start: list[str]
    lost: list[str]
    release: list[str]


def plan(
    alive: dict[str, dict[str, Any]],
    known: dict[str, RayNode],
    busy: dict[str, bool],
    now: float,
    idle_release: float | None,
) -> Plan:
    """Decide a round (pure): which NMs to start, which nodes are lost, which to release.

    Args:
        alive: Ray's alive nodes by id (``ray.nodes()`` entries).
        known: the reconciler's nodes.
        busy: for READY nodes, whether their NM holds a live session.
        now: the current time.
        idle_release: release an idle worker node's NM after this many seconds (None: never).
    """
    start = [node_id for node_id in alive if node_id not in known]
    lost = [node_id for node_id in known if node_id not in alive]
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
    return Plan(start, lost, release)


class NodeOps(Protocol):
    """The I/O the reconciler needs (implemented by the Ray transport)."""

    def alive_nodes(self) -> dict[str, dict[str, Any]]:
        """Ray's alive nodes by node id."""
        ...

    def start_manager(self, node_id: str) -> None:
        """Create (or adopt) the NM actor of a node and wait until it answers."""
        ...

    def stop_manager(self, node_id: str) -> None:
        """Kill the NM actor of a node (ignore if absent)."""
        ...

    def manager_busy(self, node_id: str) -> bool:
        """Whether the node's NM holds a deploying or running session."""
        ...


class MembershipReconciler:
    """Runs :func:`plan` in a loop and carries it out (see the module docstring).

    Args:
        ops: the Ray-facing operations.
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
        self.nodes: dict[str, RayNode] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._starting: set[str] = set()

    # ------------------------------------------------------------------ loop

    def start(self, settle: float = 30.0) -> None:
        """Run one round now, wait up to ``settle`` s for its NMs, then keep reconciling.

        Waiting means a new island manager sees every existing node (and adopts its NM)
        before it looks at its sessions.
        """
        self.reconcile()
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline:
            with self._lock:
                if not self._starting:
                    break
            time.sleep(0.02)
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
                # Ray unreachable (e.g. the cluster restarts): say so once with the
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
        """One round: start NMs on new nodes, forget lost ones, release idle ones."""
        alive = self.ops.alive_nodes()
        with self._lock:
            busy = {
                n: self._busy(n) for n, node in self.nodes.items() if node.state is NodeState.READY
            }
            decided = plan(alive, self.nodes, busy, time.time(), self.idle_release)
            for node_id in decided.start:
                entry = alive[node_id]
                resources = dict(entry.get("Resources") or {})
                self.nodes[node_id] = RayNode(
                    node_id,
                    str(entry.get("NodeManagerAddress", "")),
                    resources,
                    "node:__internal_head__" in resources,
                )
            lost = [self.nodes.pop(n) for n in decided.lost]
        for node in lost:
            log.warning("Ray node %s (%s) is gone", node.node_id, node.ip)
            if self.on_lost is not None:
                self.on_lost(node.node_id, f"Ray node {node.node_id} left the cluster")
        for node_id in decided.release:
            self.release(node_id)
        for node_id in decided.start:
            self._start_async(node_id)

    def _busy(self, node_id: str) -> bool:
        try:
            busy = self.ops.manager_busy(node_id)
        except Exception:
            return True  # an NM that does not answer is never released as "idle"
        if busy:
            self.nodes[node_id].last_busy = time.time()
        return busy

    def _start_async(self, node_id: str) -> None:
        with self._lock:
            if node_id in self._starting:
                return
            self._starting.add(node_id)
        threading.Thread(
            target=self._start, args=(node_id,), daemon=True, name=f"liuray-start-{node_id[:8]}"
        ).start()

    def _start(self, node_id: str) -> None:
        try:
            self.ops.start_manager(node_id)
        except Exception:
            log.exception("could not start the node manager on Ray node %s", node_id)
            with self._lock:
                self.nodes.pop(node_id, None)  # retried next round if still alive
        else:
            with self._lock:
                node = self.nodes.get(node_id)
                if node is not None and node.state is NodeState.STARTING:
                    node.state = NodeState.READY
                    node.ready_at = time.time()
                    node.last_busy = time.time()
        finally:
            with self._lock:
                self._starting.discard(node_id)

    # ------------------------------------------------------------------ commands

    def ready_nodes(self) -> list[str]:
        """Nodes whose NM is up or released (released ones are woken on demand)."""
        with self._lock:
            return [
                n
                for n, node in self.nodes.items()
                if node.state in (NodeState.READY, NodeState.RELEASED)
            ]

    def touch(self, node_id: str) -> None:
        """A session is about to use the node: restart its idle clock."""
        with self._lock:
            node = self.nodes.get(node_id)
            if node is not None:
                node.last_busy = time.time()

    def wake(self, node_id: str) -> None:
        """Make sure the node's NM runs now (restart a released one); blocks."""
        self.touch(node_id)
        with self._lock:
            node = self.nodes.get(node_id)
            if node is None or node.state is not NodeState.RELEASED:
                return
            node.state = NodeState.STARTING
        self.ops.start_manager(node_id)
        with self._lock:
            node.state = NodeState.READY
            node.last_busy = time.time()

    def release(self, node_id: str) -> None:
        """Kill an idle node's NM so the autoscaler can remove the node.

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
        with self._lock:
            if node.state is not NodeState.READY or node.last_busy != claimed_at:
                return
            node.state = NodeState.RELEASED
        log.info("releasing the idle node manager on Ray node %s", node_id)
        self.ops.stop_manager(node_id)

    def drain(self, node_id: str) -> None:
        """Stop using a node (``DELETE /api/node``) until it is registered again."""
        with self._lock:
            node = self.nodes.get(node_id)
            if node is None:
                return
            node.state = NodeState.DRAINED
        self.ops.stop_manager(node_id)

    def undrain(self, node_id: str) -> None:
        """Use a node again (``POST /api/node``); idempotent, blocks until the NM answers."""
        with self._lock:
            node = self.nodes.get(node_id)
            if node is None or node.state in (NodeState.READY, NodeState.STARTING):
                return
            node.state = NodeState.STARTING
        self.ops.start_manager(node_id)
        with self._lock:
            node.state = NodeState.READY
            node.ready_at = node.ready_at or time.time()
            node.last_busy = time.time()

    def restart(self, node_id: str) -> None:
        """Replace a node's NM with a fresh one (``liuray nodes restart``)."""
        self.ops.stop_manager(node_id)
        with self._lock:
            node = self.nodes.get(node_id)
            if node is not None:
                node.state = NodeState.STARTING
        self.ops.start_manager(node_id)
        with self._lock:
            if node is not None:
                node.state = NodeState.READY
                node.last_busy = time.time()
