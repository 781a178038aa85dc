# SPDX-License-Identifier: LGPL-2.1-or-later
"""The in-process transport: the island manager and N node managers in one process.

The embedded default (``liuray serve``, laptops, most tests). Node managers are plain
objects; cross-node delivery is a direct method call, and content moves by reference;
their events go straight to the island manager's queue (``on_event``).
Node names are canonical ``host:port`` spellings (``liuray.managers.addresses``): the
initial NMs are ``localhost:8000``, ``localhost:8001``..., and registering another
spelling (``POST /api/node/<node>``) starts an NM for it unless it is already known.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from pathlib import Path

from liuray.errors import NodeNotFound
from liuray.managers.addresses import DEFAULT_NM_PORT, canonical_address
from liuray.managers.node import NodeManager
from liuray.managers.payload import Payload
from liuray.managers.reports import NodeDetails
from liuray.managers.transport import Transport
from liuray.types import DropUid, NodeName, SessionId

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class InProcessTransport(Transport):
    """Node managers living in this process.

    Args:
        root: directory under which each NM keeps its sessions (``<root>/<node>/<sid>``).
        nodes: how many NMs to start now.
        workers: worker threads per NM (default: CPUs).
        processes: process-pool size per NM for Python apps (0: none).
        allowed_paths: confine file drops to each session's directory and these (None:
            anywhere); see :mod:`liuray.engine.paths`.
    """

    kind = "inproc"
    shares_memory = True

    def __init__(
        self,
        root: Path,
        nodes: int = 1,
        *,
        workers: int | None = None,
        processes: int = 0,
        allowed_paths: Sequence[Path] | None = None,
    ) -> None:
        super().__init__()
        self.root = root
        self.allowed_paths = None if allowed_paths is None else tuple(allowed_paths)
        self.workers = workers
        self.processes = processes
        self._managers: dict[NodeName, NodeManager] = {}
        self._lock = threading.Lock()
        for index in range(nodes):
            self.ensure_node(f"localhost:{DEFAULT_NM_PORT + index}")

    def node_names(self) -> list[NodeName]:
        with self._lock:
            return list(self._managers)

    def canonical(self, spelling: str) -> NodeName:
        return canonical_address(spelling)

    def client(self, node: NodeName) -> NodeManager:
        try:
            return self._managers[node]
        except KeyError:
            raise NodeNotFound(
                f"node {node!r} is not registered; known nodes: {self.node_names()}",
                node=node,
                known=self.node_names(),
            ) from None

    def ensure_node(self, node: NodeName) -> NodeName:
        name = self.canonical(node)
        with self._lock:
            if name not in self._managers:
                self._managers[name] = NodeManager(
                    name,
                    self.root / _UNSAFE.sub("_", name),
                    workers=self.workers,
                    processes=self.processes,
                    router=self._route,
                    events=self.forward_event,
                    allowed_paths=self.allowed_paths,
                )
        return name

    def remove_node(self, node: NodeName) -> None:
        name = self.canonical(node)
        with self._lock:
            manager = self._managers.pop(name, None)
        if manager is None:
            raise NodeNotFound(
                f"node {node!r} is not registered; known nodes: {self.node_names()}",
                node=node,
                known=self.node_names(),
            )
        # The island hears of the loss first, so what the closing manager reports
        # (its sessions cancelled) is not taken for the sessions' own end.
        if self.on_node_lost is not None:
            self.on_node_lost(name, f"node {name} removed")
        manager.close()

    def node_details(self) -> list[NodeDetails]:
        with self._lock:
            managers = list(self._managers.values())
        return [
            NodeDetails(m.name, "alive", self.kind, tuple(m.session_ids()), manager=m.info())
            for m in managers
        ]

    def _route(
        self,
        node: NodeName,
        session_id: SessionId,
        uid: DropUid,
        state: str,
        reason: str,
        payload: Payload | None,
    ) -> None:
        self.client(node).deliver(session_id, uid, state, reason, payload)

    def close(self) -> None:
        with self._lock:
            managers = list(self._managers.values())
            self._managers.clear()
        for manager in managers:
            manager.close()
