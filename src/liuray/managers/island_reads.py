# SPDX-License-Identifier: LGPL-2.1-or-later
"""The island manager's reads: session states, progress, graphs, drop details.

Split from :mod:`liuray.managers.island` (which holds the lifecycle: nodes, create,
append, deploy, cancel, destroy, and the event thread). Every read here is answered
from what the island manager holds (the sessions' per-node counts and drop states, and
the records of past sessions): O(nodes) whatever the number of drops, with no call to a
node manager, except ``drop_detail`` (a drop's logs live on its node) and
``graph_status`` when a node's report was truncated.

Concurrency: reads take the session table's lock, then a session's lock, briefly; they
never wait for I/O in progress (a deploy waiting for nodes does not hold either).
"""

from __future__ import annotations

import logging
import threading

from liuray.engine.states import SESSION_TERMINAL, AppState, DropState, SessionState
from liuray.errors import DropNotFound, LiurayError, SessionNotFound
from liuray.managers.island_session import IslandSession
from liuray.managers.records import SessionRecord, SessionRecords
from liuray.managers.reports import (
    DetailSource,
    DropDetail,
    DropStatus,
    SessionProgress,
    SessionSummary,
)
from liuray.managers.transport import Transport
from liuray.types import DropSpec, DropUid, NodeName, SessionId

log = logging.getLogger(__name__)

_S = SessionState
_INITIAL_APP = (DropState.INITIALIZED.code, AppState.NOT_RUN.code)
_INITIAL_DATA = (DropState.INITIALIZED.code, -1)
#: Drop states that a lost node leaves in error (the drop can never settle).
_UNSETTLED = (DropState.INITIALIZED.code, DropState.WRITING.code)
_INITIALIZED = DropStatus.of(DropState.INITIALIZED)
_LOST = DropStatus.of(DropState.ERROR)
_KEPT_NOTE = "done before a node was lost; kept by the re-run, not run again"
_RELEASED_NOTE = "node manager released; detail kept from the session's end"


class IslandReads:
    """The read side of :class:`~liuray.managers.island.IslandManager` (a base class)."""

    transport: Transport
    records: SessionRecords
    _sessions: dict[SessionId, IslandSession]
    _lock: threading.Lock

    def _session(self, session_id: SessionId) -> IslandSession:
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            raise SessionNotFound(
                f"no session {session_id!r}; list them with GET /api/sessions",
                session_id=session_id,
            )
        return session

    def _live_or_recorded(self, session_id: SessionId) -> IslandSession | SessionRecord:
        """The live session, else the record of a past one (SessionNotFound if neither)."""
        with self._lock:
            session = self._sessions.get(session_id)
        if session is not None:
            return session
        record = self.records.get(session_id)
        if record is None:
            raise SessionNotFound(f"no session {session_id!r}", session_id=session_id)
        return record

    def _live(self) -> list[IslandSession]:
        with self._lock:
            return list(self._sessions.values())

    # ------------------------------------------------------------------ status (no I/O)

    def state(self, session_id: SessionId) -> SessionState:
        """The session's single, merged state."""
        session = self._live_or_recorded(session_id)
        if isinstance(session, SessionRecord):
            return session.state
        with session.lock:
            return session.merged_state()

    def session_status(self, session_id: SessionId) -> dict[NodeName, SessionState]:
        """DALiuGE's DIM status: the session's state on each node.

        A session not deployed has its own state on every registered node; a past one
        has its recorded state on the nodes it used (or on ``""`` if it used none).
        """
        session = self._live_or_recorded(session_id)
        if isinstance(session, SessionRecord):
            return dict.fromkeys(session.nodes, session.state) or {"": session.state}
        with session.lock:
            if session.state is _S.RUNNING:
                return dict(session.node_states)
            nodes = session.nodes
            state = session.state
        return dict.fromkeys(nodes or self.transport.node_names(), state)

    def sessions(self) -> list[SessionSummary]:
        """DALiuGE's session list, past sessions (from the records) included."""
        listed: list[SessionSummary] = []
        live = {s.session_id: s for s in self._live()}
        for record in self.records.all():
            session = live.pop(record.session_id, None)
            if session is not None:
                listed.append(self._summary(session))
            else:
                listed.append(
                    SessionSummary(
                        record.session_id, dict.fromkeys(record.nodes, record.state), record.drops
                    )
                )
        listed.extend(self._summary(session) for session in live.values())
        return listed

    def _summary(self, session: IslandSession) -> SessionSummary:
        return SessionSummary(
            session.session_id, self.session_status(session.session_id), session.size
        )

    def session_ids(self) -> list[SessionId]:
        """Ids of every known session, past ones included."""
        return [summary.session_id for summary in self.sessions()]

    def graph(self, session_id: SessionId) -> dict[DropUid, DropSpec]:
        """The session's drop specs by oid."""
        return {spec["oid"]: spec for spec in self._session(session_id).specs}

    def graph_size(self, session_id: SessionId) -> int:
        """Number of drops appended."""
        return len(self._session(session_id).specs)

    def graph_status(self, session_id: SessionId) -> dict[DropUid, DropStatus]:
        """Each drop's status, from what the nodes reported.

        Nodes are asked only when a report was truncated (a reader fell far behind).
        """
        session = self._session(session_id)
        with session.lock:
            kept = dict(session.kept)  # drops a re-run after a lost node did not redeploy
            if not session.nodes or session.graph is None:
                return {spec["oid"]: kept.get(spec["oid"], _INITIALIZED) for spec in session.specs}
            if session.changes_incomplete:
                return {**self._graph_status_from_nodes(session), **kept}
            known = dict(session.drop_states)
            lost = {uid for uid, node in session.home.items() if node in session.lost_nodes}
            graph = session.graph
        status: dict[DropUid, DropStatus] = {}
        for drop in graph:
            if drop.oid in kept:
                status[drop.oid] = kept[drop.oid]
                continue
            code, exec_code = known.get(drop.oid) or (
                _INITIAL_APP if drop.is_app else _INITIAL_DATA
            )
            if drop.oid in lost and code in _UNSETTLED:
                status[drop.oid] = _LOST
            else:
                status[drop.oid] = DropStatus.from_codes(code, exec_code)
        return status

    def _graph_status_from_nodes(self, session: IslandSession) -> dict[DropUid, DropStatus]:
        merged: dict[DropUid, DropStatus] = {}
        for node in session.nodes:
            if node in session.lost_nodes or not self.transport.is_active(node):
                continue
            try:
                merged.update(self.transport.client(node).graph_status(session.node_sid))
            except LiurayError:
                log.exception("graph status of %s on %s", session.session_id, node)
        return merged

    def progress(self, session_id: SessionId) -> SessionProgress:
        """liuray's summary: merged state, drops per state, totals, failures; O(nodes).

        A past session (known only from the records, e.g. after a restart) has its
        recorded state, size, nodes, times and error; its counts are not kept.
        """
        session = self._live_or_recorded(session_id)
        if isinstance(session, SessionRecord):
            return SessionProgress(
                session_id,
                session.state,
                session.drops,
                {},
                (),
                tuple(session.nodes),
                session.created,
                session.ended,
                error=session.error,
            )
        with session.lock:
            return SessionProgress(
                session_id,
                session.merged_state(),
                session.size,
                session.counts(),
                session.failures(),
                tuple(session.nodes),
                session.created,
                session.ended,
                dict(session.directories),
                session.error,
            )

    def drop_detail(self, session_id: SessionId, uid: DropUid) -> DropDetail:
        """State, timings, error and log lines of one drop.

        Raises:
            DropNotFound: no such drop in the session.
        """
        session = self._session(session_id)
        kept = session.kept.get(uid)
        if kept is not None:
            return DropDetail(
                uid,
                session_id,
                kept.state,
                DetailSource.REPORTED,
                exec_state=kept.exec_state,
                note=_KEPT_NOTE,
            )
        if uid not in session.home:
            if any(spec["oid"] == uid for spec in session.specs):
                return DropDetail(uid, session_id, DropState.INITIALIZED, DetailSource.PLANNED)
            raise DropNotFound(
                f"no drop {uid!r} in session {session_id!r}; its graph lists its drops",
                session_id=session_id,
                uid=uid,
            )
        node = session.home[uid]
        if node in session.lost_nodes:
            # Its node manager is gone with everything it knew; say why, not "no node".
            return DropDetail(
                uid,
                session_id,
                DropState.ERROR,
                DetailSource.LOST,
                node=node,
                error=f"node {node} lost",
            )
        if session.state in SESSION_TERMINAL and not self.transport.is_active(node):
            # The node's manager was released after the session ended: answer from what
            # was reported rather than restarting it (which would block the scale-down).
            reported = DropStatus.from_codes(*session.drop_states.get(uid, (0, -1)))
            return DropDetail(
                uid,
                session_id,
                reported.state,
                DetailSource.REPORTED,
                node=node,
                exec_state=reported.exec_state,
                note=_RELEASED_NOTE,
            )
        return self.transport.client(node).drop_detail(session.node_sid, uid)

    def wait(self, session_id: SessionId, timeout: float | None = None) -> SessionState:
        """Block until the session ends (or ``timeout``); returns its state. No polling."""
        with self._lock:
            session = self._sessions.get(session_id)
        if session is not None:
            session.done.wait(timeout)
        return self.state(session_id)
