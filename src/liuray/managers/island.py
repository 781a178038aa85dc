# SPDX-License-Identifier: LGPL-2.1-or-later
"""The island manager (DALiuGE's DIM): sessions across the nodes of one island.

State:
    ``_sessions`` maps ids to :class:`~liuray.managers.island_session.IslandSession`
    (the graph, where each drop lives, what the nodes reported). Node managers are
    reached only through the :class:`~liuray.managers.transport.Transport`; sessions are
    remembered in :class:`~liuray.managers.records.SessionRecords`. This module holds
    the lifecycle and the event thread; the reads (states, progress, graphs, drop
    details) are in :mod:`liuray.managers.island_reads`.

Who mutates it:
    Requests (REST handlers, the CLI, tests) from any thread, and one event thread that
    applies what node managers push. The session table has a lock, each session another;
    **no lock is ever held during I/O** (acquiring nodes, deploying, cancelling, calls to
    node managers): a request claims a state change under the lock (``move``), does its
    I/O unlocked, then records the outcome under the lock again.

Event flow::

    NodeManager --DropsChanged / NodeSessionEnded--> transport --on_event--> inbox
        (an EventOutbox: what arrives while the event thread is busy is merged, one
         DropsChanged per node and session, so a fast chain costs a few batches)
        --> event thread: IslandSession.apply_changes / node_ended (counts kept per node)
        --> every node ended: move to FINISHED/FAILED/CANCELLED, record, release
        --> Subscription.publish (SessionProgressed, SessionFinished): web page, --wait

    So status reads cost O(nodes) whatever the number of drops, ``wait()`` blocks on an
    event, and nothing polls. A slow safety net (``audit_interval``, default 10 s) asks
    the nodes of running sessions for their state, in case a report was lost with a
    connection (and fills in sessions re-adopted after a restart).

Policy:
    * ``append_graph`` validates the whole graph so far (links, cycles, node names) and
      rejects a graph naming an unregistered node with the list of known ones; nothing
      already accepted is lost when an append is rejected.
    * ``deploy_session`` maps drops without ``node`` onto the registered nodes
      (``placement.py``), splits the graph (``partition.py``), creates and deploys the
      session on every node it uses, and only then triggers the roots, so no cross-node
      message can arrive before its receiver exists. A cancel while it waits for nodes
      returns at once and the deploy stops.
    * A session that loses a node it still needs re-runs only the lost work (up to
      ``reruns`` times): what completed on the surviving nodes is kept, data an app to
      run reads is carried, the rest is planned by :mod:`liuray.managers.lineage`.
      After the last re-run, a lost node turns every drop that waits on it into an
      ERROR ("node <id> lost"), so the session ends FAILED instead of hanging.
      Each re-run deployed saves what a restarted island manager needs to re-adopt
      it (:class:`~liuray.managers.island_audit.RerunStore`).
    * Placing and deploying partitions is in :mod:`liuray.managers.island_deploy`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from liuray.engine.registry import check_builtin
from liuray.engine.states import SESSION_TERMINAL, SessionState
from liuray.errors import (
    GraphError,
    InvalidSessionState,
    LiurayError,
    NodeNotFound,
    SessionExists,
    SessionNotFound,
)
from liuray.graph.physical import PhysicalGraph, load_physical_graph, unwrap_specs
from liuray.managers.events import DropsChanged, EventOutbox, NodeEvent
from liuray.managers.island_audit import RerunStore
from liuray.managers.island_deploy import IslandDeploy
from liuray.managers.island_session import IslandSession
from liuray.managers.lineage import RerunPlan, plan_rerun, rerun_specs, shared_files
from liuray.managers.node import check_session_id
from liuray.managers.placement import is_partition_label
from liuray.managers.records import SessionRecord, SessionRecords
from liuray.managers.reports import DropStatus, Failure, NodeDetails
from liuray.managers.stream import IslandEvent, SessionFinished, SessionProgressed, Subscription
from liuray.managers.transport import Transport
from liuray.types import DropSpec, DropUid, NodeName, SessionId

log = logging.getLogger(__name__)

_S = SessionState
#: Seconds the event thread waits, once progress came, for more before applying it (a
#: session end is applied at once): live progress at up to 20 batches a second.
PROGRESS_LINGER = 0.05


class IslandManager(IslandDeploy):
    """Sessions across the nodes of a transport (see the module docstring).

    Args:
        transport: how node managers are reached.
        records: where session records persist (default: in memory).
        acquire_timeout: how long a deploy may wait for the nodes it needs.
        audit_interval: seconds between safety-net checks of running sessions.
        cancel_wait: how long ``cancel_session`` waits for the nodes to confirm.
        reruns: how many times a session is deployed again when a node it still needed
            is lost (0: fail the drops that waited on it instead); see :meth:`node_lost`.
    """

    def __init__(
        self,
        transport: Transport,
        records: SessionRecords | None = None,
        *,
        acquire_timeout: float = 300.0,
        audit_interval: float = 10.0,
        cancel_wait: float = 5.0,
        reruns: int = 2,
    ) -> None:
        self.transport = transport
        self.reruns = reruns
        #: A re-run's id on the nodes (``<id>.rerun<n>``) -> the session's id.
        self._node_sids: dict[str, SessionId] = {}
        self.records = records or SessionRecords(None)
        self._rerun_store = RerunStore(self.records.path)
        self.acquire_timeout = acquire_timeout
        self.audit_interval = audit_interval
        self.cancel_wait = cancel_wait
        self._sessions: dict[SessionId, IslandSession] = {}
        self._lock = threading.Lock()
        self._subscriptions: list[Subscription] = []
        self._closed = threading.Event()
        self._audit_stop = threading.Lock()
        self._audit_stop.acquire()
        self._events = EventOutbox()
        transport.on_node_lost = self.node_lost
        transport.on_event = self._events.put
        self._event_thread = threading.Thread(
            target=self._process_events, name="liuray-dim-events", daemon=True
        )
        self._event_thread.start()
        self._mark_interrupted()
        self._auditor = threading.Thread(
            target=self._audit_loop, name="liuray-dim-audit", daemon=True
        )
        self._auditor.start()

    # ------------------------------------------------------------------ nodes

    def nodes(self) -> list[NodeName]:
        """Registered node names (DALiuGE's ``GET /api/nodes``)."""
        return self.transport.node_names()

    def node_details(self) -> list[NodeDetails]:
        """What the transport knows of each node (liuray's details route)."""
        return self.transport.node_details()

    def add_node(self, spelling: str) -> NodeName:
        """Make sure a node manager runs for ``spelling``; idempotent."""
        return self.transport.ensure_node(self.transport.canonical(spelling))

    def remove_node(self, spelling: str) -> NodeName:
        """Stop using a node; sessions waiting on it fail."""
        name = self._registered(spelling)
        self.transport.remove_node(name)
        return name

    def _registered(self, spelling: str) -> NodeName:
        """The canonical name of a registered node (NodeNotFound listing them if not)."""
        name = self.transport.canonical(spelling)
        if name not in self.transport.node_names():
            raise NodeNotFound(
                f"node {spelling!r} is not registered; known nodes: {self.nodes()}",
                node=spelling,
                known=self.nodes(),
            )
        return name

    def restart_node(self, spelling: str) -> NodeName:
        """Replace a node's manager with a fresh one (``liuray nodes restart``).

        Sessions running on it lose that node's drops, as if the node had been lost.
        """
        name = self._registered(spelling)
        self.transport.restart_node(name)
        return name

    def node_lost(self, node: NodeName, reason: str = "") -> None:
        """A node disappeared: re-run, or fail the drops of running sessions waiting on it.

        A session whose part on that node had not ended runs what it lost again on the
        surviving nodes (a new attempt, keeping their completed work and recomputing
        the lost drops from their lineage), up to ``reruns`` times; see :meth:`_rerun`.
        Otherwise every drop waiting on the node fails: a mirror of a drop homed there,
        or a drop homed elsewhere that one of its apps writes.
        """
        why = f"node {node} lost"
        for session in self._live():
            with session.lock:
                if node not in session.node_states or session.state is not _S.RUNNING:
                    continue
                # Its part had not finished: still running, or cancelled by the loss
                # itself (a node manager closed as its node goes away).
                needed = session.node_states[node] in (_S.RUNNING, _S.CANCELLED)
                rerun = needed and session.attempt < self.reruns and not session.cancelled.is_set()
                done = session.node_lost(node)
                feeds = session.feeds.get(node, {})
                others = [n for n in session.nodes if n not in session.lost_nodes]
                if rerun:  # from now on, reports of the abandoned attempt are ignored
                    abandoned = Abandoned.of(session, others)
                    session.next_attempt()
            if rerun:
                threading.Thread(
                    target=self._rerun,
                    args=(session, why, abandoned),
                    name="liuray-rerun",
                    daemon=True,
                ).start()
                continue
            for other in others:
                waiting = sorted(uid for uid, targets in feeds.items() if other in targets)
                if not waiting:
                    continue
                try:
                    self.transport.client(other).fail_drops(session.node_sid, waiting, why)
                except LiurayError:
                    log.exception("could not tell node %s about the loss of %s", other, node)
            self._progressed(session, ())
            if done:
                self._finish(session)
        log.warning("%s%s", why, f" ({reason})" if reason else "")

    # ------------------------------------------------------------------ sessions

    def create_session(self, session_id: SessionId) -> SessionId:
        """Create an empty session (SessionExists if the id was ever used)."""
        check_session_id(session_id)
        with self._lock:
            if session_id in self._sessions or self.records.get(session_id) is not None:
                raise SessionExists(f"session {session_id!r} already exists", session_id=session_id)
            session = IslandSession(session_id)
            self._sessions[session_id] = session
        self._save(session)
        return session_id

    def append_graph(self, session_id: SessionId, graph: Any) -> int:
        """Add drop specs (any DALiuGE physical-graph shape); returns the drops added.

        Raises:
            GraphError: the specs are malformed, or name an unknown node; the session
                keeps what it had.
        """
        session = self._session(session_id)
        specs, reprodata = unwrap_specs(graph)
        with session.lock:
            if session.state not in (_S.PRISTINE, _S.BUILDING):
                raise InvalidSessionState(
                    f"session {session_id!r} is {session.state}; graphs can be appended only "
                    "before it is deployed",
                    session_id=session_id,
                    state=str(session.state),
                )
            # The trailing {} is an empty reprodata: the specs are unwrapped already, and a
            # last spec without drop keys must be refused as a spec, not taken for reprodata.
            merged = load_physical_graph([*session.specs, *specs, {}])
            self._check_nodes(specs)
            _check_classes(merged, specs)
            session.specs.extend(specs)
            session.graph = merged
            session.reprodata.update(reprodata)
            session.move(_S.BUILDING)
        self._save(session)
        return len(specs)

    def _check_nodes(self, specs: list[DropSpec]) -> None:
        known = set(self.transport.node_names())
        for spec in specs:
            node = spec.get("node")
            if node is None or node == "":
                continue
            try:
                name = self.transport.canonical(str(node))
            except LiurayError:
                name = None
            if name not in known and not is_partition_label(str(node)):
                raise GraphError(
                    f"drop {spec['oid']!r} is mapped to node {node!r}, which is not registered; "
                    f"known nodes: {sorted(known)} (register it with POST /api/node/<node>, or "
                    "leave 'node' out to let liuray place the drop)",
                    uid=spec["oid"],
                    node=str(node),
                    known=sorted(known),
                )

    def deploy_session(self, session_id: SessionId, completed: list[DropUid] | None = None) -> None:
        """Deploy on every node the graph uses, then trigger ``completed`` (default: roots).

        The deploy is claimed under the session's lock (PRISTINE/BUILDING -> DEPLOYING);
        acquiring nodes and talking to them happen without it, so a cancel is answered
        at once and stops the deploy.

        Raises:
            InvalidSessionState: the session was deployed already, or was cancelled
                while it was being deployed.
            GraphError: ``completed`` names drops that are not in the graph.
            DeployError, NodeNotFound, TransportError: nodes could not be had or reached
                (the session is then FAILED with that reason).
        """
        session = self._session(session_id)
        with session.lock:
            if session.state not in (_S.PRISTINE, _S.BUILDING):
                raise InvalidSessionState(
                    f"session {session_id!r} is {session.state}; it can be deployed only once",
                    session_id=session_id,
                    state=str(session.state),
                )
            graph = session.graph or load_physical_graph([])
            unknown = [u for u in completed or () if u not in graph]
            if unknown:
                raise GraphError(
                    f"'completed' names drops not in the graph: {unknown[:10]}", uids=unknown[:50]
                )
            session.move(_S.DEPLOYING)
            session.completed = None if completed is None else list(completed)
        created: list[NodeName] = []
        try:
            self._deploy_partitions(session, graph, created)
        except LiurayError as err:
            with session.lock:
                cancelled = session.cancelled.is_set()
                if not cancelled:
                    session.move(_S.FAILED, error=str(err))
                # Nodes deployed before the failure report their cancellation later:
                # drop states are read from them rather than from reports.
                session.changes_incomplete = True
            self._cancel_nodes(session, created)
            self._ended(session)
            if cancelled:
                raise self._cancelled_while_deploying(session) from None
            raise
        with session.lock:
            cancelled = session.cancelled.is_set()
            empty = not session.node_states  # an empty graph: nothing to run anywhere
            if not cancelled:
                session.move(_S.RUNNING)
                if empty:
                    session.move(_S.FINISHED)
        if empty and not cancelled:
            self._ended(session)
            return
        if cancelled:
            with session.lock:
                session.changes_incomplete = True
            self._cancel_nodes(session, created)
            self._ended(session)
            raise self._cancelled_while_deploying(session)
        self._save(session)
        if self.reruns and self.transport.nodes_outlive_island:
            # A restarted island manager re-adopts the session from the nodes; with its
            # graph saved too, a node lost after the restart is re-run, not fatal.
            self._save_rerun(session, [])
        self._trigger(session, completed)

    def _rerun(self, session: IslandSession, why: str, abandoned: Abandoned) -> None:
        """Deploy again what a running session lost with a node, keeping completed work.

        The abandoned attempt is cancelled on the surviving nodes (its reports are
        ignored from then on: they carry its id on the nodes), which are asked what they
        hold; :func:`~liuray.managers.lineage.plan_rerun` says what runs again, what is
        carried and what is done. Only the drops to run and the carried ones are
        deployed (the lost node's on the nodes left); carried data is copied from the
        abandoned attempt on its node, then triggered as completed with the roots. Only
        then is the abandoned attempt destroyed. Apps must be re-runnable (as for
        retries); file drops are written again in the same session directories.
        """
        with session.lock:
            attempt, graph = session.attempt, session.graph
        log.warning(
            "session %s: %s; deploying what it lost again on the nodes left (re-run %d of %d)",
            session.session_id, why, attempt, self.reruns,
        )  # fmt: skip
        old_sid = abandoned.session_id
        for node in abandoned.survivors:
            try:
                self.transport.client(node).cancel_session(old_sid)
            except LiurayError:
                log.debug("could not cancel %s on %s", old_sid, node, exc_info=True)
        with self._lock:
            self._node_sids.pop(old_sid, None)
        created: list[NodeName] = []
        try:
            if graph is None:
                raise InvalidSessionState(
                    f"session {session.session_id!r} has no graph to run again",
                    session_id=session.session_id,
                )
            plan = self._plan_rerun(session, graph, abandoned)
            log.warning(
                "session %s: re-run %d runs %d drops again, carries %d, keeps %d",
                session.session_id, attempt, len(plan.run), len(plan.carry), len(plan.done),
            )  # fmt: skip
            with session.lock:
                session.keep(plan.done, abandoned.failures, abandoned.home, len(plan.carry))
            if plan.run:
                specs = rerun_specs(graph, plan, abandoned.home, abandoned.lost)
                part = load_physical_graph([*specs, {}])
                self._deploy_partitions(session, part, created, set(plan.carry))
                self._carry(session, old_sid, plan.carry)
                self._progressed(session, ())
                self._trigger(session, _rerun_triggers(session.completed, plan))
                self._save_rerun(session, list(plan.carry))
        except LiurayError as err:
            with session.lock:
                session.changes_incomplete = True
                if session.state is _S.RUNNING:
                    if session.cancelled.is_set():
                        session.move(_S.CANCELLED)
                    else:
                        session.move(_S.FAILED, error=f"{why}; re-run {attempt} failed: {err}")
            self._cancel_nodes(session, created)
            self._ended(session)
            self._destroy_abandoned(abandoned)
            return
        self._destroy_abandoned(abandoned)
        if not plan.run:  # everything needed was kept: the session is over
            with session.lock:
                ended = session.state is _S.RUNNING
                if ended:
                    session.move(session.final_state())
            if ended:
                self._ended(session)
            return
        if session.cancelled.is_set():  # cancelled while it was being deployed again
            self._cancel_nodes(session, created)

    def _plan_rerun(
        self, session: IslandSession, graph: PhysicalGraph, abandoned: Abandoned
    ) -> RerunPlan:
        """Ask the surviving nodes what the abandoned attempt left, and plan the next."""
        states = dict(abandoned.reported)
        held: dict[DropUid, NodeName] = {}
        for node in abandoned.survivors:
            client = self.transport.client(node)
            try:
                states.update(client.graph_status(abandoned.session_id))
                found = client.held_data(abandoned.session_id)
            except LiurayError:  # what it had is recomputed if needed
                log.warning("could not ask node %s what it holds", node, exc_info=True)
                continue
            for uid in found:  # a drop's own node before a node holding a copy
                if uid not in held or abandoned.home.get(uid) == node:
                    held[uid] = node
        with session.lock:
            states.update(session.kept)
        # The lost nodes' files on shared storage: any node left that reads one holds it.
        wanted = shared_files(graph, abandoned.home, abandoned.lost, states, held)
        left = [n for n in self.transport.node_names() if wanted and n not in abandoned.lost]
        for node in dict.fromkeys([*abandoned.survivors, *left]):
            if not wanted:
                break
            try:
                found = self.transport.client(node).files_present(sorted(wanted))
            except LiurayError:
                log.warning("could not ask node %s for files", node, exc_info=True)
                continue
            for path in found:
                held.update(dict.fromkeys(wanted.pop(path, ()), node))
        return plan_rerun(graph, abandoned.home, abandoned.lost, states, held)

    def _carry(
        self, session: IslandSession, old_sid: str, carry: Mapping[DropUid, NodeName]
    ) -> None:
        by_node: dict[NodeName, list[DropUid]] = {}
        for uid, node in carry.items():
            by_node.setdefault(node, []).append(uid)
        for node, uids in by_node.items():
            self._stop_if_cancelled(session)
            self.transport.client(node).carry(session.node_sid, old_sid, uids)

    def _destroy_abandoned(self, abandoned: Abandoned) -> None:
        for node in abandoned.survivors:
            try:
                self.transport.client(node).destroy_session(abandoned.session_id)
            except LiurayError:
                log.debug("could not destroy %s on %s", abandoned.session_id, node, exc_info=True)

    @staticmethod
    def _cancelled_while_deploying(session: IslandSession) -> InvalidSessionState:
        return InvalidSessionState(
            f"session {session.session_id!r} was cancelled while it was being deployed",
            session_id=session.session_id,
            state=str(_S.CANCELLED),
        )

    def submit(
        self,
        graph: Any,
        session_id: SessionId | None = None,
        completed: list[DropUid] | None = None,
    ) -> SessionId:
        """Create, append and deploy in one call (liuray extension); returns the id.

        All or nothing: a graph refused by the append or the deploy leaves no session
        behind (the caller never learnt its id).
        """
        from liuray.engine.local import new_session_id

        session_id = session_id or new_session_id()
        self.create_session(session_id)
        try:
            self.append_graph(session_id, graph)
        except LiurayError:
            self.destroy_session(session_id)
            raise
        try:
            self.deploy_session(session_id, completed)
        except LiurayError:
            self.destroy_session(session_id)
            raise
        return session_id

    def cancel_session(self, session_id: SessionId) -> None:
        """Cancel the session everywhere.

        A session not deployed yet (or still waiting for nodes) is CANCELLED at once; a
        running one is cancelled on its nodes, and this returns when they confirmed (or
        after ``cancel_wait`` seconds).
        """
        session = self._session(session_id)
        with session.lock:
            state = session.state
            if state in SESSION_TERMINAL:
                return
            session.cancelled.set()  # a deploy (or a re-run's) stops at its next step
            if state is not _S.RUNNING:
                session.move(_S.CANCELLED)
        if state is not _S.RUNNING:
            if state is not _S.DEPLOYING:  # a deploy under way cleans up after itself
                self._ended(session)
            return
        self._cancel_nodes(session, session.nodes)
        session.done.wait(self.cancel_wait)

    def live_session_ids(self) -> list[SessionId]:
        """Ids of the sessions that have not ended (being built, deploying, running)."""
        return [s.session_id for s in self._live() if s.state not in SESSION_TERMINAL]

    def cancel_running(self) -> list[SessionId]:
        """Cancel every session not ended yet (a server stopping); returns their ids.

        Each is recorded CANCELLED, and its running apps stopped (bash commands with
        their whole process group) before this returns (or ``cancel_wait`` passes).
        """
        live = self.live_session_ids()
        for session_id in live:
            try:
                self.cancel_session(session_id)
            except LiurayError:
                log.exception("could not cancel session %s", session_id)
        return live

    def _cancel_nodes(self, session: IslandSession, nodes: list[NodeName]) -> None:
        for node in nodes:
            if node in session.lost_nodes:
                continue
            try:
                self.transport.client(node).cancel_session(session.node_sid)
            except LiurayError:
                log.exception("could not cancel %s on node %s", session.node_sid, node)

    def destroy_session(self, session_id: SessionId) -> None:
        """Cancel and forget a session on every node; its record is deleted too."""
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is None:
            if self.records.get(session_id) is None:
                raise SessionNotFound(f"no session {session_id!r}", session_id=session_id)
        else:
            session.cancelled.set()
            for node in session.nodes:
                if node in session.lost_nodes:
                    continue
                try:
                    self.transport.client(node).destroy_session(session.node_sid)
                except LiurayError:
                    log.exception("could not destroy %s on node %s", session.node_sid, node)
            session.done.set()
        self.records.delete(session_id)
        self._rerun_store.delete(session_id)

    # ------------------------------------------------------------------ events

    def _process_events(self) -> None:
        """The event thread: apply node reports, merged by batch, in order until closed."""
        acked = 0
        while not self._closed.is_set():
            acked, events = self._events.take(None, acked, linger=PROGRESS_LINGER)
            self._apply_all(events)
            # Waiting for the next batch must not keep this one (up to 200,000 changes
            # and their drop ids) alive: after a burst it would pin the heap's arenas.
            del events

    def _apply_all(self, events: list[NodeEvent]) -> None:
        for event in events:
            try:
                self._apply(event)
            except Exception:  # one bad report must not stop the stream
                log.exception("could not apply %r", event)

    def _apply(self, event: NodeEvent) -> None:
        with self._lock:
            session_id = self._node_sids.get(event.session_id, event.session_id)
            session = self._sessions.get(session_id)
        if session is None or event.session_id != session.node_sid:
            return  # unknown, or a report of an abandoned attempt
        if isinstance(event, DropsChanged):
            with session.lock:
                session.apply_changes(event.node, event.counts, event.changes, event.truncated)
            self._progressed(session, event.changes, event.truncated)
            return
        with session.lock:
            done = session.node_ended(event.node, event.state, event.failures)
        if done:
            self._finish(session)

    def _finish(self, session: IslandSession) -> None:
        """Every node ended: the session takes its merged final state."""
        with session.lock:
            if session.state is not _S.RUNNING or not session.all_nodes_ended():
                return
            session.move(session.final_state())
        self._ended(session)

    def _ended(self, session: IslandSession) -> None:
        """Record a session that reached its final state and tell the readers."""
        self._save(session)
        self._rerun_store.delete(session.session_id)
        self.transport.release(session.session_id)
        self._publish(SessionFinished(session.session_id, session.state, session.error))

    def _progressed(
        self, session: IslandSession, changes: tuple[Any, ...], truncated: bool = False
    ) -> None:
        if not self._subscriptions:
            return
        with session.lock:
            event = SessionProgressed(
                session.session_id,
                session.merged_state(),
                session.counts(),
                session.size,
                changes,
                truncated,
            )
        self._publish(event)

    def _publish(self, event: IslandEvent) -> None:
        with self._lock:
            readers = [s for s in self._subscriptions if s.wants(event.session_id)]
        for reader in readers:
            reader.publish(event)

    def subscribe(
        self,
        session_id: SessionId | None = None,
        on_ready: Callable[[], None] | None = None,
    ) -> Subscription:
        """Follow one session's events (or every session's); call :meth:`unsubscribe`.

        ``on_ready`` is called after each event is queued (see :class:`Subscription`).

        The first events describe where the session stands now, so a reader that comes
        late (or to a finished session) starts with the full picture.

        Raises:
            SessionNotFound: no such session, live or recorded.
        """
        subscription = Subscription(session_id, on_ready=on_ready)
        if session_id is not None:
            found = self._live_or_recorded(session_id)
            if isinstance(found, SessionRecord):
                subscription.publish(SessionFinished(session_id, found.state, found.error))
                return subscription
        with self._lock:
            self._subscriptions.append(subscription)
            live = [s for s in self._sessions.values() if subscription.wants(s.session_id)]
        for session in live:
            with session.lock:
                subscription.publish(
                    SessionProgressed(
                        session.session_id, session.merged_state(), session.counts(), session.size
                    )
                )
                if session.state in SESSION_TERMINAL:
                    subscription.publish(
                        SessionFinished(session.session_id, session.state, session.error)
                    )
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop a reader (its waiting ``next`` returns)."""
        with self._lock:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)
        subscription.close()

    # ------------------------------------------------------------------ records, audit

    def _save(self, session: IslandSession) -> None:
        record = SessionRecord(
            session.session_id,
            session.state,
            session.created,
            session.ended,
            session.size,
            session.nodes,
            session.error,
        )
        self.records.save(record)

    def close(self) -> None:
        """Stop the event and audit threads, then close the transport and the records.

        Reports already received are applied first; sessions still running stay
        recorded as running (a next island manager re-adopts or fails them).
        """
        self._closed.set()
        self._audit_stop.release()
        self._events.close()
        self._event_thread.join(timeout=5)
        self._auditor.join(timeout=5)
        with self._lock:
            readers, self._subscriptions = self._subscriptions, []
        for reader in readers:
            reader.close()
        self.transport.on_event = None
        self.transport.close()
        self.records.close()


def _check_classes(graph: PhysicalGraph, specs: list[DropSpec]) -> None:
    """Refuse, at append, DALiuGE class names that no node can run and built-in drops
    whose parameters could never work (see :func:`~liuray.engine.registry.check_builtin`),
    naming the drop."""
    for spec in specs:
        drop = graph[spec["oid"]]
        try:
            check_builtin(drop.dropclass, is_app=drop.is_app, spec=spec)
        except GraphError as err:
            raise GraphError(
                f"drop {drop.oid!r}: {err.message}", uid=drop.oid, **err.detail
            ) from None


def _rerun_triggers(completed: list[DropUid] | None, plan: RerunPlan) -> list[DropUid] | None:
    """What a re-run triggers: the roots (which include the carried drops), or of the
    drops first given as ``completed`` those that run again, and the carried ones."""
    if completed is None:
        return None
    return [uid for uid in completed if uid in plan.run and uid not in plan.carry] + list(
        plan.carry
    )


@dataclass(frozen=True)
class Abandoned:
    """What a re-run needs of the attempt it abandons, read when the node was lost."""

    session_id: str
    survivors: list[NodeName]
    home: dict[DropUid, NodeName]
    lost: frozenset[NodeName]
    reported: dict[DropUid, DropStatus]
    failures: tuple[Failure, ...]

    @staticmethod
    def of(session: IslandSession, survivors: list[NodeName]) -> Abandoned:
        """Read from ``session`` (under its lock) before its next attempt."""
        return Abandoned(
            session.node_sid,
            survivors,
            {**session.kept_home, **session.home},
            frozenset(session.lost_nodes | session.excluded),
            {uid: DropStatus.from_codes(*codes) for uid, codes in session.drop_states.items()},
            session.failures(),
        )
