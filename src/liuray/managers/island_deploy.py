# SPDX-License-Identifier: LGPL-2.1-or-later
"""The island manager's deployment of a session's partitions: place, split, deploy, trigger.

Split from :mod:`liuray.managers.island`, which calls it for a first deployment
(``deploy_session``) and for a re-run after a lost node (with the smaller graph that
:mod:`liuray.managers.lineage` plans, and the data it carries). A base class of the
island manager (after :class:`~liuray.managers.island_audit.IslandAudit`).

Concurrency: all I/O (acquiring nodes, creating and deploying sessions on them) is done
without a lock held; what is learnt is recorded on the session under its lock.
"""

from __future__ import annotations

from collections.abc import Collection

from liuray.engine.states import AppState, DropState
from liuray.errors import InvalidSessionState, LiurayError, NodeNotFound
from liuray.graph.physical import PhysicalGraph
from liuray.managers.island_audit import IslandAudit
from liuray.managers.island_session import IslandSession
from liuray.managers.partition import Partition, split_graph
from liuray.managers.placement import assign_nodes, is_partition_label, resource_bundle
from liuray.types import DropSpec, DropUid, NodeName


class IslandDeploy(IslandAudit):
    """Placing and deploying partitions (see the module docstring)."""

    acquire_timeout: float

    def _deploy_partitions(
        self,
        session: IslandSession,
        graph: PhysicalGraph,
        created: list[NodeName],
        carried: Collection[DropUid] = (),
    ) -> None:
        """Place, split, create and deploy (all I/O, no lock held); ``created`` grows.

        ``carried`` (a re-run's kept data) count as completed from the start."""
        home = self._place(session, graph)
        parts = split_graph(graph, lambda drop: home[drop.oid])
        initial = _initial_counts(graph, home, carried)
        with session.lock:
            session.home = home
            session.mirrors = {node: part.mirrors for node, part in parts.items()}
            session.feeds = {node: part.publish_to for node, part in parts.items()}
            session.start_nodes({node: initial.get(node, {}) for node in parts})
        self.transport.prepare(list(parts))
        node_sid = session.node_sid
        if node_sid != session.session_id:
            with self._lock:
                self._node_sids[node_sid] = session.session_id
        for node, part in parts.items():
            self._stop_if_cancelled(session)
            client = self.transport.client(node)
            if node_sid == session.session_id:
                directory = client.create_session(node_sid)
            else:  # a re-run writes where the first attempt did
                directory = client.create_session(node_sid, session.session_id)
            created.append(node)
            with session.lock:
                session.directories[node] = directory
            client.append_graph(node_sid, self._payload(part))
        for node, part in parts.items():
            self._stop_if_cancelled(session)
            self.transport.client(node).deploy(
                node_sid, part.external_producers, part.publish_to, part.mirrors
            )

    def _payload(self, part: Partition) -> list[DropSpec] | PhysicalGraph:
        if part.graph is not None and self.transport.shares_memory:
            return part.graph  # validated already
        return part.specs

    @staticmethod
    def _stop_if_cancelled(session: IslandSession) -> None:
        if session.cancelled.is_set():
            raise InvalidSessionState(
                f"session {session.session_id!r} was cancelled while it was being deployed",
                session_id=session.session_id,
            )

    def _place(self, session: IslandSession, graph: PhysicalGraph) -> dict[DropUid, NodeName]:
        """A node for every drop.

        Registered node names are used as given. Partition labels (DALiuGE's unmapped
        ``#0``, ``#1``... from a partitioned PGT) are mapped one-to-one onto nodes, which
        an autoscaling transport may first have to bring up. Drops without ``node`` are
        spread by :func:`assign_nodes`.
        """
        placed: dict[DropUid, NodeName] = {}
        labels: dict[str, list[DropUid]] = {}
        excluded = session.excluded
        for drop in graph:
            if not drop.node:
                continue
            if is_partition_label(drop.node):
                labels.setdefault(drop.node, []).append(drop.oid)
            else:
                node = self._pinned(drop.node, excluded)
                if node is not None:
                    placed[drop.oid] = node
        if labels:
            bundles = [resource_bundle(graph, oids) for _, oids in sorted(labels.items())]
            chosen = self.transport.acquire(
                session.session_id,
                len(labels),
                bundles,
                self.acquire_timeout,
                cancelled=session.cancelled,
            )
            for node, (_, oids) in zip(chosen, sorted(labels.items()), strict=True):
                for oid in oids:
                    placed[oid] = node
        if len(placed) < len(graph):
            nodes = [n for n in self.transport.node_names() if n not in excluded]
            if not nodes:
                raise NodeNotFound(
                    "no node is registered; register one with POST /api/node/<node>", known=[]
                )
            for oid, node in assign_nodes(graph, nodes).items():
                placed.setdefault(oid, node)
        return placed

    def _pinned(self, spelling: str, excluded: set[NodeName]) -> NodeName | None:
        """The registered node a drop names; None on a re-run if it names a node lost
        earlier (the drop is then placed like one without ``node``)."""
        if spelling in excluded:
            return None
        try:
            node = self.transport.canonical(spelling)
        except LiurayError:
            if not excluded:
                raise
            return None  # a re-run: the node named is gone
        return None if node in excluded else node

    def _trigger(self, session: IslandSession, completed: list[DropUid] | None) -> None:
        if completed is None:
            for node in session.nodes:
                self.transport.client(node).trigger(session.node_sid, None)
            return
        by_node: dict[NodeName, list[DropUid]] = {}
        for uid in completed:
            by_node.setdefault(session.home[uid], []).append(uid)
        for node, uids in by_node.items():
            self.transport.client(node).trigger(session.node_sid, uids)


def _initial_counts(
    graph: PhysicalGraph, home: dict[DropUid, NodeName], carried: Collection[DropUid] = ()
) -> dict[NodeName, dict[str, int]]:
    """Each node's own drops per state before anything ran (apps not run, data initialized,
    data a re-run carries completed)."""
    counts: dict[NodeName, dict[str, int]] = {}
    for drop in graph:
        node_counts = counts.setdefault(home[drop.oid], {})
        if drop.is_app:
            key = str(AppState.NOT_RUN)
        elif drop.oid in carried:
            key = str(DropState.COMPLETED)
        else:
            key = str(DropState.INITIALIZED)
        node_counts[key] = node_counts.get(key, 0) + 1
    return counts
