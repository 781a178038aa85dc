# SPDX-License-Identifier: LGPL-2.1-or-later
"""The island manager's safety nets: sessions found after a restart, and the audit.

:class:`~liuray.managers.island.IslandManager` learns of progress from the nodes'
pushed reports. Two things cannot rely on them:

* **a restart**: sessions recorded as live when the previous island manager stopped
  are re-adopted if their node managers still hold them (Ray's detached NM actors
  outlive the island manager), else recorded FAILED, never left "running". A session
  re-run after a lost node runs on the nodes as ``<id>.rerun<n>``: what the restarted
  island needs of it (the graph, the attempt, the drops kept from earlier attempts,
  where the attempt runs) is saved by :class:`RerunStore` beside the records each time
  a re-run is deployed, and the session is re-adopted as attempt ``n`` only if that is
  the highest attempt its nodes hold and the one saved; lower attempts still lingering
  are destroyed;
* **a lost report**: every ``audit_interval`` seconds the nodes of running sessions
  that have not reported an end are asked, and what they say is queued as if they had
  pushed it (re-adopted sessions get their counts this way).

A base class of the island manager (after :class:`IslandReads`): it only reads and
queues events, all I/O without a lock held.

>>> node_attempt("s1.rerun2", "s1"), node_attempt("s1", "s1"), node_attempt("s10", "s1")
(2, 0, None)
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

from liuray.engine.states import SESSION_TERMINAL, SessionState
from liuray.errors import LiurayError
from liuray.graph.physical import load_physical_graph
from liuray.managers.events import DropsChanged, EventOutbox, NodeSessionEnded
from liuray.managers.island_reads import IslandReads
from liuray.managers.island_session import IslandSession
from liuray.managers.lineage import RerunPlan, rerun_specs
from liuray.managers.partition import split_graph
from liuray.managers.records import SessionRecord
from liuray.managers.reports import DropStatus, Failure
from liuray.types import DropSpec, DropUid, NodeName, SessionId

log = logging.getLogger("liuray.managers.island")

_S = SessionState
_RERUN = re.compile(r"\.rerun([1-9][0-9]*)")


def node_attempt(node_sid: str, session_id: SessionId) -> int | None:
    """The attempt a session id on a node names for ``session_id`` (None: another's)."""
    if node_sid == session_id:
        return 0
    if not node_sid.startswith(session_id):
        return None
    found = _RERUN.fullmatch(node_sid, len(session_id))
    return None if found is None else int(found.group(1))


@dataclass(frozen=True)
class RerunState:
    """What a restarted island manager needs of a re-run session (JSON types only).

    Attributes:
        attempt: the attempt deployed (``<id>.rerun<attempt>`` on the nodes).
        specs: the session's whole graph (a later loss re-runs from it).
        completed: the drops first triggered (None: the roots).
        excluded: nodes lost by earlier attempts.
        kept: drops kept from earlier attempts, as (status, execStatus or -1) codes.
        kept_home: where the kept drops ran.
        kept_failures: (uid, node, error) of kept drops in error.
        home: where each drop of this attempt lives.
        carried: the drops this attempt carried from the one before.
        directories: the session's directory on each node of this attempt.
    """

    attempt: int
    specs: list[DropSpec]
    completed: list[DropUid] | None
    excluded: list[NodeName]
    kept: dict[DropUid, tuple[int, int]]
    kept_home: dict[DropUid, NodeName]
    kept_failures: list[tuple[DropUid, NodeName, str]]
    home: dict[DropUid, NodeName]
    carried: list[DropUid]
    directories: dict[NodeName, str]

    @staticmethod
    def of(session: IslandSession, carried: list[DropUid]) -> RerunState:
        """Read from ``session`` (under its lock) once an attempt is deployed."""
        return RerunState(
            session.attempt,
            session.specs,
            session.completed,
            sorted(session.excluded),
            {uid: _codes(status) for uid, status in session.kept.items()},
            dict(session.kept_home),
            [(f.oid, f.node, f.error) for f in session.kept_failures],
            dict(session.home),
            carried,
            dict(session.directories),
        )

    @staticmethod
    def parse(raw: dict[str, Any]) -> RerunState:
        """The state from its JSON form (KeyError/TypeError/ValueError if malformed)."""
        return RerunState(
            int(raw["attempt"]),
            list(raw["specs"]),
            None if raw["completed"] is None else list(raw["completed"]),
            list(raw["excluded"]),
            {uid: (int(code), int(exec_code)) for uid, (code, exec_code) in raw["kept"].items()},
            dict(raw["kept_home"]),
            [(str(uid), str(node), str(error)) for uid, node, error in raw["kept_failures"]],
            dict(raw["home"]),
            list(raw["carried"]),
            dict(raw["directories"]),
        )


def _codes(status: DropStatus) -> tuple[int, int]:
    exec_state = status.exec_state
    return status.state.code, -1 if exec_state is None else exec_state.code


class RerunStore:
    """One JSON file per re-run session, in ``<records>.reruns/`` beside the records.

    Args:
        records_path: the records' database file (None: records in memory, so nothing
            is saved; a restart cannot happen over them anyway).
    """

    def __init__(self, records_path: Path | None) -> None:
        self.directory = (
            None if records_path is None else records_path.with_name(f"{records_path.stem}.reruns")
        )

    def save(self, session_id: SessionId, state: RerunState) -> None:
        """Replace what is saved of ``session_id`` (atomically)."""
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{session_id}.json"
        partial = path.with_suffix(".partial")
        partial.write_bytes(orjson.dumps(asdict(state)))
        os.replace(partial, path)

    def load(self, session_id: SessionId) -> RerunState | None:
        """What was saved of ``session_id``; None if nothing (or nothing readable)."""
        if self.directory is None:
            return None
        try:
            return RerunState.parse(
                orjson.loads((self.directory / f"{session_id}.json").read_bytes())
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            log.exception("could not read the re-run state of session %s", session_id)
            return None

    def delete(self, session_id: SessionId) -> None:
        """Forget ``session_id`` (a session that ended or was destroyed)."""
        if self.directory is not None:
            (self.directory / f"{session_id}.json").unlink(missing_ok=True)


class IslandAudit(IslandReads):
    """Re-adoption after a restart and the periodic audit (see the module docstring)."""

    audit_interval: float
    _events: EventOutbox
    _closed: threading.Event
    #: Held until close: the audit thread sleeps on it (made once: ``Event.wait``
    #: allocates a lock per wait, which a wait begun during a burst would keep).
    _audit_stop: threading.Lock
    _rerun_store: RerunStore
    #: A re-run's id on the nodes (``<id>.rerun<n>``) -> the session's id.
    _node_sids: dict[str, SessionId]

    def node_lost(self, node: NodeName, reason: str = "") -> None:
        raise NotImplementedError  # the island manager's

    def _save_rerun(self, session: IslandSession, carried: list[DropUid]) -> None:
        """Save what a restart needs of a re-run once its attempt is deployed."""
        with session.lock:
            state = RerunState.of(session, carried)
        try:
            self._rerun_store.save(session.session_id, state)
        except (OSError, TypeError):  # a restart then records the session as lost
            log.exception("could not save the re-run state of session %s", session.session_id)
        if session.done.is_set():  # it ended meanwhile, perhaps before this was saved
            self._rerun_store.delete(session.session_id)

    def _mark_interrupted(self) -> None:
        """Sessions live when the previous island manager stopped: re-adopt or fail them.

        A session whose node managers still hold it (Ray's detached NM actors survive an
        island-manager restart) is followed again until it ends (the audit fills in its
        counts); one that no node knows any more is recorded as FAILED. A re-run session
        is re-adopted as the attempt that was saved, if that is the highest its nodes
        hold (see the module docstring).
        """
        known = set(self.transport.node_names())
        held: dict[NodeName, list[str]] = {}
        for record in self.records.all():
            if record.state in SESSION_TERMINAL or record.session_id in self._sessions:
                continue
            saved = self._rerun_store.load(record.session_id)
            nodes = set(record.nodes) | (set(saved.home.values()) if saved else set())
            attempts: dict[int, list[NodeName]] = {}
            for node in sorted(nodes & known):
                for node_sid in self._held_on(node, held):
                    attempt = node_attempt(node_sid, record.session_id)
                    if attempt is not None:
                        attempts.setdefault(attempt, []).append(node)
            latest = max(attempts, default=-1)
            adopted = latest == (saved.attempt if saved else 0)
            for attempt, holders in attempts.items():
                if attempt != latest or not adopted:  # stale, or not to be re-adopted
                    self._destroy_attempt(record.session_id, attempt, holders)
            if adopted and saved is not None:
                try:
                    self._adopt_rerun(record, saved, attempts[latest])
                except Exception:  # one bad saved state must not stop the island starting
                    log.exception("could not re-adopt session %s", record.session_id)
                    self._destroy_attempt(record.session_id, latest, attempts[latest])
                    self._lost(record, latest, saved)
            elif adopted:
                self._adopt(record, attempts[latest])
            else:
                self._lost(record, latest, saved)

    def _held_on(self, node: NodeName, held: dict[NodeName, list[str]]) -> list[str]:
        """The session ids ``node`` holds (asked once per restart)."""
        if node not in held:
            try:
                held[node] = [s.session_id for s in self.transport.client(node).sessions()]
            except LiurayError:
                log.warning("could not ask node %s for its sessions", node, exc_info=True)
                held[node] = []
        return held[node]

    def _destroy_attempt(self, session_id: SessionId, attempt: int, nodes: list[NodeName]) -> None:
        node_sid = session_id if attempt == 0 else f"{session_id}.rerun{attempt}"
        for node in nodes:
            try:
                self.transport.client(node).destroy_session(node_sid)
            except LiurayError:
                log.debug("could not destroy %s on %s", node_sid, node, exc_info=True)

    def _lost(self, record: SessionRecord, latest: int, saved: RerunState | None) -> None:
        record.state = _S.FAILED
        if latest > (saved.attempt if saved else 0):
            record.error = (
                f"the island manager stopped while re-run {latest} of the session was "
                "being deployed"
            )
        else:
            record.error = "the island manager stopped while the session was live"
        record.ended = record.ended or time.time()
        self.records.save(record)
        self._rerun_store.delete(record.session_id)

    def _adopt(self, record: SessionRecord, holders: list[NodeName]) -> None:
        session = IslandSession(record.session_id, created=record.created, state=_S.RUNNING)
        session.mirrors = {node: [] for node in holders}
        session.start_nodes(self._node_counts(session.session_id, holders))
        session.adopted_size = record.drops
        with self._lock:
            self._sessions[record.session_id] = session
        log.info("re-adopted running session %s on %s", record.session_id, holders)

    def _adopt_rerun(
        self, record: SessionRecord, saved: RerunState, holders: list[NodeName]
    ) -> None:
        """Re-adopt a re-run session as its saved attempt, with the drops it kept.

        A node of the attempt that no longer holds it counts as lost (a later re-run,
        within the limit, runs its part again)."""
        session = IslandSession(record.session_id, created=record.created, state=_S.RUNNING)
        session.specs = saved.specs
        session.graph = graph = load_physical_graph([*saved.specs, {}])
        session.completed = saved.completed
        session.attempt = saved.attempt
        session.excluded = set(saved.excluded)
        session.keep(
            {uid: DropStatus.from_codes(*codes) for uid, codes in saved.kept.items()},
            [Failure(*failure) for failure in saved.kept_failures],
            saved.kept_home,
        )
        home = saved.home
        unknown = [uid for uid in (*home, *saved.kept) if uid not in graph]
        if unknown or not home:
            raise ValueError(
                f"the saved re-run names no drop, or drops not in its graph: {unknown[:10]}"
            )
        carry = {uid: home[uid] for uid in saved.carried}
        plan = RerunPlan(frozenset(home).difference(carry), carry, {})
        part = load_physical_graph([*rerun_specs(graph, plan, home, ()), {}])
        parts = split_graph(part, lambda drop: home[drop.oid])
        session.home = dict(home)
        session.mirrors = {node: p.mirrors for node, p in parts.items()}
        session.feeds = {node: p.publish_to for node, p in parts.items()}
        session.directories = dict(saved.directories)
        counts = self._node_counts(session.node_sid, holders)
        session.start_nodes({node: counts.get(node, {}) for node in parts})
        session.drop_states = self._drop_states(session.node_sid, holders)
        session.changes_incomplete = True  # graph_status asks the nodes
        with self._lock:
            self._node_sids[session.node_sid] = session.session_id
            self._sessions[record.session_id] = session
        log.info(
            "re-adopted session %s (attempt %d) with its graph on %s",
            session.session_id, session.attempt, holders,
        )  # fmt: skip
        for node in parts:
            if node not in holders:
                self.node_lost(node, "its part of the session was not found after a restart")

    def _node_counts(
        self, node_sid: str, holders: list[NodeName]
    ) -> dict[NodeName, dict[str, int]]:
        """Each holder's drop counts now (empty if it cannot say: the audit asks again)."""
        counts: dict[NodeName, dict[str, int]] = {}
        for node in holders:
            try:
                counts[node] = dict(self.transport.client(node).progress(node_sid).counts)
            except LiurayError:
                counts[node] = {}
        return counts

    def _drop_states(
        self, node_sid: str, holders: list[NodeName]
    ) -> dict[DropUid, tuple[int, int]]:
        """The drops' states on the holders now (what a later re-run plans with)."""
        states: dict[DropUid, tuple[int, int]] = {}
        for node in holders:
            try:
                found = self.transport.client(node).graph_status(node_sid)
            except LiurayError:
                continue
            states.update((uid, _codes(status)) for uid, status in found.items())
        return states

    def _audit_loop(self) -> None:
        while True:
            try:
                self.audit()
            except Exception:
                log.exception("auditing running sessions")
            if self._audit_stop.acquire(True, self.audit_interval):
                return

    def audit(self) -> None:
        """Safety net: ask the nodes of running sessions that have not reported an end.

        A node that says the session ended there gets its end applied (as if it had
        pushed it); nodes with no counts yet (re-adopted sessions) get them filled in.
        Runs every ``audit_interval`` seconds; all I/O happens without a lock.
        """
        for session in self._live():
            with session.lock:
                if session.state is not _S.RUNNING:
                    continue
                pending = [
                    (node, not session.node_counts.get(node))
                    for node in session.running_nodes()
                    if node not in session.lost_nodes
                ]
            for node, needs_counts in pending:
                if not self.transport.is_active(node):
                    continue  # never wake a released node just to ask
                self._audit_node(session.node_sid, node, needs_counts)

    def _audit_node(self, session_id: SessionId, node: NodeName, needs_counts: bool) -> None:
        try:
            client = self.transport.client(node)
            state = client.session_status(session_id)
            ended = state in SESSION_TERMINAL
            if ended or needs_counts:
                counts = client.progress(session_id).counts
                self._events.put(DropsChanged(node, session_id, counts, (), truncated=ended))
            if ended:
                failures = tuple(client.failures(session_id)[:20])
                self._events.put(NodeSessionEnded(node, session_id, state, failures))
        except LiurayError as err:
            log.debug("audit of %s on %s: %s", session_id, node, err)
