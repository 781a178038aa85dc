# SPDX-License-Identifier: LGPL-2.1-or-later
"""The island manager's safety nets: sessions found after a restart, and the audit.

:class:`~liuray.managers.island.IslandManager` learns of progress from the nodes'
pushed reports. Two things cannot rely on them:

* **a restart**: sessions recorded as live when the previous island manager stopped
  are re-adopted if their node managers still hold them (Ray's detached NM actors
  outlive the island manager), else recorded FAILED, never left "running";
* **a lost report**: every ``audit_interval`` seconds the nodes of running sessions
  that have not reported an end are asked, and what they say is queued as if they had
  pushed it (re-adopted sessions get their counts this way).

A base class of the island manager (after :class:`IslandReads`): it only reads and
queues events, all I/O without a lock held.
"""

from __future__ import annotations

import logging
import threading
import time

from liuray.engine.states import SESSION_TERMINAL, SessionState
from liuray.errors import LiurayError
from liuray.managers.events import DropsChanged, EventOutbox, NodeSessionEnded
from liuray.managers.island_reads import IslandReads
from liuray.managers.island_session import IslandSession
from liuray.types import NodeName, SessionId

log = logging.getLogger("liuray.managers.island")

_S = SessionState


class IslandAudit(IslandReads):
    """Re-adoption after a restart and the periodic audit (see the module docstring)."""

    audit_interval: float
    _events: EventOutbox
    _closed: threading.Event

    def _mark_interrupted(self) -> None:
        """Sessions live when the previous island manager stopped: re-adopt or fail them.

        A session whose node managers still hold it (Ray's detached NM actors survive an
        island-manager restart) is followed again until it ends (the audit fills in its
        counts); one that no node knows any more is recorded as FAILED.
        """
        known = set(self.transport.node_names())
        for record in self.records.all():
            if record.state in SESSION_TERMINAL or record.session_id in self._sessions:
                continue
            holders = [n for n in record.nodes if n in known and self._holds(n, record.session_id)]
            if holders:
                session = IslandSession(record.session_id, created=record.created, state=_S.RUNNING)
                session.mirrors = {node: [] for node in holders}
                session.start_nodes({node: {} for node in holders})
                session.adopted_size = record.drops
                with self._lock:
                    self._sessions[record.session_id] = session
                log.info("re-adopted running session %s on %s", record.session_id, holders)
                continue
            record.state = _S.FAILED
            record.error = "the island manager stopped while the session was live"
            record.ended = record.ended or time.time()
            self.records.save(record)

    def _holds(self, node: NodeName, session_id: SessionId) -> bool:
        try:
            self.transport.client(node).session_status(session_id)
        except LiurayError:
            return False
        return True

    def _audit_loop(self) -> None:
        while True:
            try:
                self.audit()
            except Exception:
                log.exception("auditing running sessions")
            if self._closed.wait(self.audit_interval):
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
