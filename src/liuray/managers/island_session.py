# SPDX-License-Identifier: LGPL-2.1-or-later
"""A session as the island manager sees it: its state machine and its live progress.

State:
    :class:`IslandSession` holds the graph as appended, where each drop lives, the
    per-node wiring, and what the nodes reported: each node's state of the session, its
    counts per drop state and the last known state of every drop that changed. The
    session's own state changes only through :meth:`IslandSession.move` (the engine's
    :data:`~liuray.engine.states.SESSION_TRANSITIONS` table)::

        PRISTINE -> BUILDING (append) -> DEPLOYING (deploy claimed) -> RUNNING (deployed)
        RUNNING  -> FINISHED | FAILED | CANCELLED   (every node reported its end)
        DEPLOYING -> FAILED (deploy failed) | CANCELLED (cancelled while acquiring nodes)
        PRISTINE | BUILDING -> CANCELLED

Who mutates it:
    The island manager, always under :attr:`IslandSession.lock`, which is never held
    during I/O: node reports are applied by the island's event thread, requests by
    whoever calls the island manager. Reads of counts and states are O(nodes), whatever
    the number of drops.

>>> session = IslandSession("s1")
>>> session.move(SessionState.BUILDING); session.move(SessionState.DEPLOYING)
>>> session.start_nodes({"n1": {"not_run": 1, "initialized": 1}})
>>> session.move(SessionState.RUNNING)
>>> session.apply_changes("n1", {"finished": 1, "completed": 1}, [("a", 2, 2), ("d", 2, -1)])
>>> session.counts()
{'finished': 1, 'completed': 1}
>>> session.node_ended("n1", SessionState.FINISHED, ())
True
>>> session.merged_state()
<SessionState.FINISHED: 'finished'>
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from liuray.engine.machine import is_consequence
from liuray.engine.session import DropChange
from liuray.engine.states import (
    SESSION_TERMINAL,
    SESSION_TRANSITIONS,
    DropState,
    SessionState,
    check,
)
from liuray.graph.physical import PhysicalGraph
from liuray.managers.reports import DropStatus, Failure
from liuray.types import DropSpec, DropUid, NodeName, SessionId

_S = SessionState

#: How many (uid, error) failures are kept per node.
MAX_FAILURES = 20


@dataclass
class IslandSession:
    """A session as the island manager sees it (see the module docstring)."""

    session_id: SessionId
    created: float = field(default_factory=time.time)
    state: SessionState = _S.PRISTINE
    specs: list[DropSpec] = field(default_factory=list)
    reprodata: dict[str, Any] = field(default_factory=dict)
    graph: PhysicalGraph | None = None
    home: dict[DropUid, NodeName] = field(default_factory=dict)
    mirrors: dict[NodeName, list[DropUid]] = field(default_factory=dict)
    feeds: dict[NodeName, dict[DropUid, list[NodeName]]] = field(default_factory=dict)
    ended: float | None = None
    error: str | None = None
    lost_nodes: set[NodeName] = field(default_factory=set)
    #: The session's directory on each node (where its files go).
    directories: dict[NodeName, str] = field(default_factory=dict)
    #: Each node's state of the session, from its reports (RUNNING until it ends).
    node_states: dict[NodeName, SessionState] = field(default_factory=dict)
    #: Each node's drops per state name, as last reported.
    node_counts: dict[NodeName, dict[str, int]] = field(default_factory=dict)
    node_failures: dict[NodeName, list[tuple[DropUid, str]]] = field(default_factory=dict)
    #: Last reported (status, execStatus or -1) of every drop that changed state.
    drop_states: dict[DropUid, tuple[int, int]] = field(default_factory=dict)
    #: A node's report was truncated: drop_states may miss changes (ask the nodes).
    changes_incomplete: bool = False
    #: Drops recorded for a session re-adopted after a restart (its specs are not kept).
    adopted_size: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Set once the session reached a final state.
    done: threading.Event = field(default_factory=threading.Event)
    #: Set when the session is cancelled while deploying (an acquire watches it).
    cancelled: threading.Event = field(default_factory=threading.Event)
    #: The drops triggered at deploy (None: the roots), kept for a re-run.
    completed: list[DropUid] | None = None
    #: 0 for the first deployment; each re-run after a lost node adds one.
    attempt: int = 0
    #: Nodes lost during earlier attempts: a re-run places nothing there.
    excluded: set[NodeName] = field(default_factory=set)
    #: Drops a re-run kept as they were (done before a node was lost; not deployed again),
    #: with their state, and their number per state name (counted with the nodes').
    kept: dict[DropUid, DropStatus] = field(default_factory=dict)
    kept_counts: dict[str, int] = field(default_factory=dict)
    #: Carried drops counted in ``kept_counts`` until the next attempt starts.
    _carried: int = 0
    #: Where the kept drops ran (a later re-run plans with them).
    kept_home: dict[DropUid, NodeName] = field(default_factory=dict)
    #: Failures of kept drops in ERROR (they stay failed), as (uid, node, error).
    kept_failures: list[Failure] = field(default_factory=list)

    @property
    def node_sid(self) -> str:
        """The session's id on the nodes for this attempt: the session id itself, then
        ``<id>.rerun<n>`` (reports of an abandoned attempt are told apart by it)."""
        return self.session_id if self.attempt == 0 else f"{self.session_id}.rerun{self.attempt}"

    def keep(
        self,
        done: Mapping[DropUid, DropStatus],
        failures: Iterable[Failure],
        home: Mapping[DropUid, NodeName],
        carried: int = 0,
    ) -> None:
        """A re-run keeps ``done`` as they are (see :mod:`liuray.managers.lineage`; what
        an earlier re-run kept is in ``done`` again if it still is), with where they
        ran (``home``) and the failures of those in ERROR. The ``carried`` drops count as
        completed until the next attempt starts (which counts them itself)."""
        self.kept = dict(done)
        self.node_counts = {}  # the abandoned attempt's, until the next one starts
        self.kept_home = {uid: home[uid] for uid in done if uid in home}
        self.kept_failures = [f for f in self.kept_failures if f.oid in self.kept]
        counts: dict[str, int] = {}
        for status in self.kept.values():
            name = str(status.exec_state or status.state)
            counts[name] = counts.get(name, 0) + 1
        if carried:
            counts[str(DropState.COMPLETED)] = counts.get(str(DropState.COMPLETED), 0) + carried
        self.kept_counts = counts
        self._carried = carried
        known = {f.oid for f in self.kept_failures}
        for failure in failures:
            if failure.oid not in known and _failed(self.kept.get(failure.oid)):
                self.kept_failures.append(failure)
                known.add(failure.oid)
        del self.kept_failures[MAX_FAILURES:]

    def next_attempt(self) -> None:
        """Forget where the current attempt ran, ready to deploy the graph again."""
        self.excluded |= self.lost_nodes
        self.attempt += 1
        self.home = {}
        self.mirrors = {}
        self.feeds = {}
        self.node_states = {}
        for node in self.lost_nodes:  # the rest count until the re-run keeps its part
            self.node_counts.pop(node, None)
        self.node_failures = {}
        self.drop_states = {}
        self.lost_nodes = set()
        self.directories = {}
        self.changes_incomplete = False

    # ------------------------------------------------------------------ state machine

    def move(self, end: SessionState, error: str | None = None) -> None:
        """Change state through the session transition table; a final state ends it.

        Raises:
            InvalidTransition: naming the legal targets.
        """
        self.state = check(f"Session {self.session_id!r}", self.state, end, SESSION_TRANSITIONS)
        if end in SESSION_TERMINAL:
            self.ended = self.ended or time.time()
            self.error = error or self.error
            if end is _S.CANCELLED:
                self.cancelled.set()
            self.done.set()

    @property
    def nodes(self) -> list[NodeName]:
        """The nodes the session was deployed on."""
        return list(self.mirrors)

    @property
    def size(self) -> int:
        """Number of drops (as recorded, for re-adopted sessions)."""
        return len(self.specs) or self.adopted_size

    # ------------------------------------------------------------------ node reports

    def start_nodes(self, initial_counts: Mapping[NodeName, dict[str, int]]) -> None:
        """The session is deployed on these nodes, with these drop counts to begin with."""
        if self._carried:  # the nodes count the carried drops from now on
            completed = str(DropState.COMPLETED)
            self.kept_counts[completed] -= self._carried
            self._carried = 0
        for node, counts in initial_counts.items():
            self.node_states[node] = _S.RUNNING
            self.node_counts[node] = dict(counts)

    def apply_changes(
        self,
        node: NodeName,
        counts: Mapping[str, int],
        changes: Iterable[DropChange],
        truncated: bool = False,
    ) -> None:
        """A node's report of changed drops (ignored once the node has ended or is lost)."""
        if self.node_states.get(node) is not _S.RUNNING:
            return
        self.node_counts[node] = dict(counts)
        states = self.drop_states
        for uid, status, exec_status in changes:
            states[uid] = (status, exec_status)
        self.changes_incomplete = self.changes_incomplete or truncated

    def node_ended(
        self, node: NodeName, state: SessionState, failures: Iterable[tuple[DropUid, str]]
    ) -> bool:
        """A node reported its end; True when every node has ended (the session is done)."""
        if self.node_states.get(node) is not _S.RUNNING:
            return self.all_nodes_ended()
        self.node_states[node] = state
        self.node_failures[node] = list(failures)[:MAX_FAILURES]
        return self.all_nodes_ended()

    def node_lost(self, node: NodeName) -> bool:
        """A node died: its unfinished drops count as errors; True when every node ended."""
        self.lost_nodes.add(node)
        if self.node_states.get(node) in (_S.RUNNING, _S.CANCELLED):
            self.node_states[node] = _S.FAILED
            homed = [uid for uid, home in self.home.items() if home == node]
            self.node_counts[node] = {"error": len(homed)} if homed else {}
            unsettled = (DropState.INITIALIZED.code, DropState.WRITING.code)
            why = f"node {node} lost"
            self.node_failures[node] = [
                (uid, why)
                for uid in homed
                if self.drop_states.get(uid, (unsettled[0], -1))[0] in unsettled
            ][:MAX_FAILURES]
        return self.all_nodes_ended()

    def all_nodes_ended(self) -> bool:
        """Whether every node the session runs on has reported an end (or is lost)."""
        return bool(self.node_states) and all(
            state in SESSION_TERMINAL for state in self.node_states.values()
        )

    def running_nodes(self) -> list[NodeName]:
        """Nodes that have not reported an end yet."""
        return [node for node, state in self.node_states.items() if state is _S.RUNNING]

    # ------------------------------------------------------------------ reads, O(nodes)

    def merged_state(self) -> SessionState:
        """The session's state: its own, or while running, the nodes' merged."""
        if self.state is not _S.RUNNING:
            return self.state
        return self.final_state() if self.node_states else _S.RUNNING

    def final_state(self) -> SessionState:
        """The nodes' states merged, with FAILED if a drop kept by a re-run is in error."""
        states = list(self.node_states.values())
        if any(_failed(status) for status in self.kept.values()):
            states.append(_S.FAILED)
        return merge_states(states) if states else _S.FINISHED

    def counts(self) -> dict[str, int]:
        """Drops per state name over every node (and those a re-run kept)."""
        if not self.node_counts and not self.kept_counts:
            return {"initialized": len(self.specs)} if self.specs else {}
        total: dict[str, int] = {}
        for counts in (self.kept_counts, *self.node_counts.values()):
            for state, count in counts.items():
                if count:
                    total[state] = total.get(state, 0) + count
        return total

    def failures(self) -> tuple[Failure, ...]:
        """The drops reported in error: root causes first (on every node), then the drops
        in error because of them; node by node within each group."""
        found = [*self.kept_failures] + [
            Failure(uid, node, error)
            for node, failures in self.node_failures.items()
            for uid, error in failures
        ]
        found.sort(key=lambda f: is_consequence(f.error))  # stable: node order kept
        return tuple(found)


def _failed(status: DropStatus | None) -> bool:
    return status is not None and status.state is DropState.ERROR


def merge_states(states: list[SessionState]) -> SessionState:
    """One state for a session from its per-node states.

    Anything still running keeps it RUNNING; then FAILED wins over CANCELLED over
    FINISHED. (DALiuGE's page shows a mixed RUNNING/FINISHED session as RUNNING.)
    """
    if not states:
        return _S.PRISTINE
    for state in (_S.DEPLOYING, _S.RUNNING):
        if state in states:
            return _S.RUNNING
    for state in (_S.FAILED, _S.CANCELLED, _S.FINISHED):
        if state in states:
            return state
    return min(states, key=lambda s: s.code)
