# SPDX-License-Identifier: LGPL-2.1-or-later
"""The island manager (DALiuGE's DIM): sessions across the nodes of one island.

State:
    ``_sessions`` maps ids to :class:`IslandSession`: the full graph as appended, which
    node each drop lives on, and the per-node partitions once deployed. Node managers are
    reached only through the :class:`~liuray.managers.transport.Transport`; finished
    sessions are remembered in :class:`~liuray.managers.records.SessionRecords`.

Who mutates it:
    REST handlers, the CLI and tests, from any thread; the table has a lock, each
    session another. A watcher thread polls running sessions and records how they end.

Policy:
    * ``append_graph`` validates the whole graph so far (links, cycles, node names) and
      rejects a graph naming an unregistered node with the list of known ones; nothing
      already accepted is lost when an append is rejected.
    * ``deploy_session`` maps drops without ``node`` onto the registered nodes
      (``placement.py``), splits the graph (``partition.py``), creates and deploys the
      session on every node it uses, and only then triggers the roots, so no cross-node
      message can arrive before its receiver exists.
    * A lost node turns every drop that waits on it into an ERROR ("node <id> lost"),
      so the session ends FAILED instead of hanging.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from liuray.engine.states import SESSION_TERMINAL, DropState, SessionState
from liuray.errors import (
    GraphError,
    InvalidSessionState,
    LiurayError,
    NodeNotFound,
    SessionExists,
    SessionNotFound,
)
from liuray.graph.physical import PhysicalGraph, load_physical_graph, unwrap_specs
from liuray.managers.island_session import IslandSession, merge_states
from liuray.managers.node import check_session_id
from liuray.managers.partition import split_graph
from liuray.managers.placement import assign_nodes, is_partition_label, resource_bundle
from liuray.managers.records import SessionRecord, SessionRecords
from liuray.managers.transport import Transport
from liuray.types import DropSpec, DropUid, NodeName, SessionId

log = logging.getLogger(__name__)

_S = SessionState


class IslandManager:
    """Sessions across the nodes of a transport (see the module docstring).

    Args:
        transport: how node managers are reached.
        records: where session records persist (default: in memory).
        watch_interval: how often running sessions are polled for their end.
    """

    def __init__(
        self,
        transport: Transport,
        records: SessionRecords | None = None,
        watch_interval: float = 0.2,
        acquire_timeout: float = 300.0,
    ) -> None:
        self.transport = transport
        self.records = records or SessionRecords(None)
        self._sessions: dict[SessionId, IslandSession] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._interval = watch_interval
        self.acquire_timeout = acquire_timeout
        transport.on_node_lost = self.node_lost
        self._watcher = threading.Thread(target=self._watch, name="liuray-dim-watch", daemon=True)
        self._watcher.start()
        self._mark_interrupted()

    # ------------------------------------------------------------------ nodes

    def nodes(self) -> list[NodeName]:
        """Registered node names (DALiuGE's ``GET /api/nodes``)."""
        return self.transport.node_names()

    def node_details(self) -> list[dict[str, Any]]:
        """One dict per node (liuray's details route)."""
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
        """A node disappeared: fail every drop of a running session that waits on it.

        A drop waits on the lost node when that node was to publish it: a mirror of a
        drop homed there, or a drop homed elsewhere that one of its apps writes.
        """
        why = f"node {node} lost"
        for session in self._live():
            if node not in session.mirrors or session.state is not _S.RUNNING:
                continue
            session.lost_nodes.add(node)
            feeds = session.feeds.get(node, {})
            for other in session.mirrors:
                if other in session.lost_nodes:
                    continue
                waiting = sorted(uid for uid, targets in feeds.items() if other in targets)
                if not waiting:
                    continue
                try:
                    self.transport.client(other).fail_drops(session.session_id, waiting, why)
                except LiurayError:
                    log.exception("could not tell node %s about the loss of %s", other, node)
        log.warning("%s%s", why, f" ({reason})" if reason else "")

    # ------------------------------------------------------------------ sessions

    def _session(self, session_id: SessionId) -> IslandSession:
        try:
            return self._sessions[session_id]
        except KeyError:
            raise SessionNotFound(
                f"no session {session_id!r}; list them with GET /api/sessions",
                session_id=session_id,
            ) from None

    def _live(self) -> list[IslandSession]:
        with self._lock:
            return list(self._sessions.values())

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
            merged = load_physical_graph(session.specs + specs)
            self._check_nodes(specs)
            session.specs.extend(specs)
            session.graph = merged
            session.reprodata.update(reprodata)
            session.state = _S.BUILDING
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
        """Deploy on every node the graph uses, then trigger ``completed`` (default: roots)."""
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
            session.home = self._place(session_id, graph)
            session.state = _S.DEPLOYING
            try:
                self._deploy_partitions(session, graph)
            except LiurayError:
                session.state = _S.FAILED
                session.ended = time.time()
                self._cancel_nodes(session)
                self._save(session)
                self.transport.release(session_id)
                raise
            session.state = _S.RUNNING
        self._save(session)
        self._trigger(session, completed)

    def _place(self, session_id: SessionId, graph: PhysicalGraph) -> dict[DropUid, NodeName]:
        """A node for every drop.

        Registered node names are used as given. Partition labels (DALiuGE's unmapped
        ``#0``, ``#1``... from a partitioned PGT) are mapped one-to-one onto nodes, which
        an autoscaling transport may first have to bring up. Drops without ``node`` are
        spread by :func:`assign_nodes`.
        """
        placed: dict[DropUid, NodeName] = {}
        labels: dict[str, list[DropUid]] = {}
        for drop in graph:
            if not drop.node:
                continue
            if is_partition_label(drop.node):
                labels.setdefault(drop.node, []).append(drop.oid)
            else:
                placed[drop.oid] = self.transport.canonical(drop.node)
        if labels:
            bundles = [resource_bundle(graph, oids) for _, oids in sorted(labels.items())]
            chosen = self.transport.acquire(session_id, len(labels), bundles, self.acquire_timeout)
            for node, (_, oids) in zip(chosen, sorted(labels.items()), strict=True):
                for oid in oids:
                    placed[oid] = node
        if len(placed) < len(graph):
            nodes = self.transport.node_names()
            if not nodes:
                raise NodeNotFound(
                    "no node is registered; register one with POST /api/node/<node>", known=[]
                )
            for oid, node in assign_nodes(graph, nodes).items():
                placed.setdefault(oid, node)
        return placed

    def _deploy_partitions(self, session: IslandSession, graph: PhysicalGraph) -> None:
        parts = split_graph(graph, lambda drop: session.home[drop.oid])
        self.transport.prepare(list(parts))
        session.mirrors = {node: part.mirrors for node, part in parts.items()}
        session.feeds = {node: part.publish_to for node, part in parts.items()}
        for node, part in parts.items():
            client = self.transport.client(node)
            client.create_session(session.session_id)
            if part.graph is not None and self.transport.shares_memory:
                client.append_graph(session.session_id, part.graph)  # validated already
            else:
                client.append_graph(session.session_id, part.specs)
        for node, part in parts.items():
            self.transport.client(node).deploy(
                session.session_id, part.external_producers, part.publish_to, part.mirrors
            )

    def _trigger(self, session: IslandSession, completed: list[DropUid] | None) -> None:
        if completed is None:
            for node in session.nodes:
                self.transport.client(node).trigger(session.session_id, None)
            return
        by_node: dict[NodeName, list[DropUid]] = {}
        for uid in completed:
            by_node.setdefault(session.home[uid], []).append(uid)
        for node, uids in by_node.items():
            self.transport.client(node).trigger(session.session_id, uids)

    def submit(
        self,
        graph: Any,
        session_id: SessionId | None = None,
        completed: list[DropUid] | None = None,
    ) -> SessionId:
        """Create, append and deploy in one call (liuray extension); returns the id."""
        from liuray.engine.local import new_session_id

        session_id = session_id or new_session_id()
        self.create_session(session_id)
        try:
            self.append_graph(session_id, graph)
        except LiurayError:
            self.destroy_session(session_id)
            raise
        self.deploy_session(session_id, completed)
        return session_id

    def cancel_session(self, session_id: SessionId) -> None:
        """Cancel the session everywhere."""
        session = self._session(session_id)
        with session.lock:
            if session.state in (_S.PRISTINE, _S.BUILDING):
                session.state = _S.CANCELLED
                session.ended = time.time()
            elif session.state in SESSION_TERMINAL:
                return
        self._cancel_nodes(session)
        self._save(session)

    def _cancel_nodes(self, session: IslandSession) -> None:
        for node in session.nodes:
            if node in session.lost_nodes:
                continue
            try:
                self.transport.client(node).cancel_session(session.session_id)
            except LiurayError:
                log.exception("could not cancel %s on node %s", session.session_id, node)

    def destroy_session(self, session_id: SessionId) -> None:
        """Cancel and forget a session on every node; its record is deleted too."""
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session is None:
            if self.records.get(session_id) is None:
                raise SessionNotFound(f"no session {session_id!r}", session_id=session_id)
        else:
            for node in session.nodes:
                if node in session.lost_nodes:
                    continue
                try:
                    self.transport.client(node).destroy_session(session_id)
                except LiurayError:
                    log.exception("could not destroy %s on node %s", session_id, node)
        self.records.delete(session_id)

    # ------------------------------------------------------------------ status

    def node_states(self, session: IslandSession) -> dict[NodeName, SessionState]:
        """Each node's state of the session (lost nodes count as FAILED)."""
        states: dict[NodeName, SessionState] = {}
        for node in session.nodes:
            if node in session.lost_nodes:
                states[node] = _S.FAILED
                continue
            try:
                states[node] = SessionState.from_code(
                    self.transport.client(node).session_status(session.session_id)
                )
            except LiurayError:
                states[node] = _S.FAILED
        return states

    def state(self, session_id: SessionId) -> SessionState:
        """The session's single, merged state."""
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            record = self.records.get(session_id)
            if record is None:
                raise SessionNotFound(f"no session {session_id!r}", session_id=session_id)
            return record.state
        if session.state is not _S.RUNNING or session.ended is not None:
            return session.state
        return merge_states(list(self.node_states(session).values()))

    def session_status(self, session_id: SessionId) -> dict[NodeName, int]:
        """DALiuGE's DIM status: ``{node: state code}``."""
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            record = self.records.get(session_id)
            if record is None:
                raise SessionNotFound(f"no session {session_id!r}", session_id=session_id)
            return {node: record.state.code for node in record.nodes} or {"": record.state.code}
        if session.state is not _S.RUNNING:
            nodes = session.nodes or self.transport.node_names()
            return {node: session.state.code for node in nodes}
        return {node: state.code for node, state in self.node_states(session).items()}

    def sessions(self) -> list[dict[str, Any]]:
        """DALiuGE's session list, past sessions (from the records) included."""
        listed: list[dict[str, Any]] = []
        live = {s.session_id: s for s in self._live()}
        for record in self.records.all():
            if record.session_id in live:
                session = live.pop(record.session_id)
                listed.append(
                    {
                        "sessionId": session.session_id,
                        "status": self.session_status(session.session_id),
                        "size": len(session.specs),
                    }
                )
            else:
                listed.append(
                    {
                        "sessionId": record.session_id,
                        "status": {n: record.state.code for n in record.nodes},
                        "size": record.drops,
                    }
                )
        for session in live.values():
            listed.append(
                {
                    "sessionId": session.session_id,
                    "status": self.session_status(session.session_id),
                    "size": len(session.specs),
                }
            )
        return listed

    def session_ids(self) -> list[SessionId]:
        """Ids of every known session, past ones included."""
        return [s["sessionId"] for s in self.sessions()]

    def graph(self, session_id: SessionId) -> dict[DropUid, DropSpec]:
        """The session's drop specs by oid."""
        return {spec["oid"]: spec for spec in self._session(session_id).specs}

    def graph_size(self, session_id: SessionId) -> int:
        """Number of drops appended."""
        return len(self._session(session_id).specs)

    def graph_status(self, session_id: SessionId) -> dict[DropUid, dict[str, int]]:
        """``{oid: {"status", "execStatus"}}`` merged from every node."""
        session = self._session(session_id)
        if session.final_status is not None:
            return session.final_status
        if not session.nodes:
            return {spec["oid"]: {"status": 0} for spec in session.specs}
        merged: dict[DropUid, dict[str, int]] = {}
        for node in session.nodes:
            if node in session.lost_nodes:
                for uid, home in session.home.items():
                    if home == node:
                        merged[uid] = {"status": DropState.ERROR.code}
                continue
            merged.update(self.transport.client(node).graph_status(session_id))
        return merged

    def progress(self, session_id: SessionId) -> dict[str, Any]:
        """liuray's summary: merged state, drops per state, totals, failures."""
        session = self._session(session_id)
        if session.final_counts is not None and session.final_failures is not None:
            counts, failures = session.final_counts, session.final_failures
        else:
            counts, failures = self._counts_and_failures(session)
        if not session.nodes and session.specs:
            counts["initialized"] = len(session.specs)
        state = self.state(session_id)
        return {
            "sessionId": session_id,
            "state": str(state),
            "status": state.code,
            "total": len(session.specs),
            "counts": counts,
            "failures": failures,
            "nodes": session.nodes,
            "created": session.created,
            "ended": session.ended,
        }

    def _counts_and_failures(
        self, session: IslandSession
    ) -> tuple[dict[str, int], list[dict[str, str]]]:
        counts: dict[str, int] = {}
        failures: list[dict[str, str]] = []
        for node in session.nodes:
            if node in session.lost_nodes:
                lost = sum(1 for home in session.home.values() if home == node)
                counts["error"] = counts.get("error", 0) + lost
                continue
            client = self.transport.client(node)
            for state, count in client.progress(session.session_id)["counts"].items():
                counts[state] = counts.get(state, 0) + count
            failures += [
                {"oid": uid, "node": node, "error": error}
                for uid, error in client.failures(session.session_id)[:20]
            ]
        return counts, failures

    def drop_detail(self, session_id: SessionId, uid: DropUid) -> dict[str, Any]:
        """State, timings, error and log lines of one drop."""
        session = self._session(session_id)
        if uid not in session.home:
            if any(spec["oid"] == uid for spec in session.specs):
                return {"oid": uid, "session": session_id, "status": 0, "logs": []}
            raise GraphError(f"no drop {uid!r} in session {session_id!r}", uid=uid)
        node = session.home[uid]
        if node in session.lost_nodes:
            # Its node manager is gone with everything it knew; say why, not "no node".
            return {
                "oid": uid,
                "session": session_id,
                "status": DropState.ERROR.code,
                "state": str(DropState.ERROR),
                "error": f"node {node} lost",
                "logs": [],
                "node": node,
            }
        if session.final_status is not None and not self.transport.is_active(node):
            # The node's manager was released after the session ended: answer from what
            # was kept rather than restarting it (which would block the scale-down).
            status = session.final_status.get(uid, {"status": 0})
            return {
                "oid": uid,
                "session": session_id,
                "node": node,
                "logs": [],
                "note": "node manager released; detail kept from the session's end",
                **status,
            }
        return self.transport.client(node).drop_detail(session_id, uid)

    def wait(
        self, session_id: SessionId, timeout: float | None = None, interval: float = 0.02
    ) -> SessionState:
        """Block until the session ends (or ``timeout``); returns its state."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            state = self.state(session_id)
            if state in SESSION_TERMINAL:
                return state
            if deadline is not None and time.monotonic() > deadline:
                return state
            time.sleep(interval)

    # ------------------------------------------------------------------ records

    def _save(self, session: IslandSession) -> None:
        self.records.save(
            SessionRecord(
                session.session_id,
                session.state,
                session.created,
                session.ended,
                len(session.specs) or session.adopted_size,
                session.nodes,
            )
        )

    def _mark_interrupted(self) -> None:
        """Sessions live when the previous island manager stopped: re-adopt or fail them.

        A session whose node managers still hold it (Ray's detached NM actors survive an
        island-manager restart) is watched again until it ends; one that no node knows
        any more is recorded as FAILED.
        """
        known = set(self.transport.node_names())
        for record in self.records.all():
            if record.state in SESSION_TERMINAL or record.session_id in self._sessions:
                continue
            holders = [n for n in record.nodes if n in known and self._holds(n, record.session_id)]
            if holders:
                session = IslandSession(record.session_id, created=record.created, state=_S.RUNNING)
                session.mirrors = {node: [] for node in holders}
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

    def _watch(self) -> None:
        while not self._closed.wait(self._interval):
            self._record_ends()

    def _record_ends(self) -> None:
        """Record (and release) every running session whose nodes say it has ended."""
        for session in self._live():
            if session.state is not _S.RUNNING or session.ended is not None:
                continue
            try:
                state = merge_states(list(self.node_states(session).values()))
            except Exception:
                log.exception("watching session %s", session.session_id)
                continue
            if state in SESSION_TERMINAL:
                self._snapshot(session)
                session.state = state
                session.ended = time.time()
                self._save(session)
                self.transport.release(session.session_id)

    def _snapshot(self, session: IslandSession) -> None:
        try:
            status = self.graph_status(session.session_id)
            counts, failures = self._counts_and_failures(session)
        except LiurayError:
            log.exception("could not keep the final state of %s", session.session_id)
            return
        session.final_status, session.final_counts = status, counts
        session.final_failures = failures

    def close(self) -> None:
        """Stop watching, record sessions that have ended, and close the transport."""
        self._closed.set()
        self._watcher.join(timeout=2)
        self._record_ends()
        self.transport.close()
        self.records.close()
