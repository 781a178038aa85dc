# SPDX-License-Identifier: LGPL-2.1-or-later
"""The transport interface: the island manager's only way to reach node managers.

A transport owns the set of node managers it can reach and knows how a user's spelling
of a node maps to one of them. Lifecycle: construct -> ``ensure_node``/``remove_node``
any number of times (or let the transport reconcile membership itself, as the Ray
transport does) -> ``close``.

To implement a transport, provide:
    1. ``node_names()``: the canonical names of the nodes that can take work now;
    2. ``canonical(spelling)``: the canonical name for a user-given node spelling;
    3. ``client(node)``: a :class:`~liuray.managers.protocol.NodeManagerProtocol` for it;
    4. ``ensure_node(node)``: make sure an NM runs for that node (idempotent);
    5. ``remove_node(node)``: stop using that node (its NM may be stopped);
    6. ``node_details()``: a :class:`~liuray.managers.reports.NodeDetails` per node;
    7. cross-node delivery between the NMs it creates (their ``router``);
    8. event delivery: what its NMs push (:mod:`liuray.managers.events`) reaches
       ``on_event``, in the order each NM produced it;
    9. optionally ``on_node_lost``: call it when a node disappears by itself.

The island manager sets ``on_event`` and ``on_node_lost`` when it takes the transport.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from liuray.errors import DeployError
from liuray.managers.events import EventSink
from liuray.managers.protocol import NodeManagerProtocol
from liuray.managers.reports import NodeDetails
from liuray.types import NodeName

NodeLostCallback = Callable[[NodeName, str], None]


class Transport(ABC):
    """Reaches node managers (see the module docstring for the contract)."""

    #: Short name, shown in ``GET /api`` and the node details.
    kind: str = "abstract"
    #: True when node managers live in this process, so validated graphs can be handed
    #: over as objects instead of being serialised and parsed again.
    shares_memory: bool = False
    #: True when node managers live on after the island manager's process dies (Ray's
    #: detached actors): a restarted island manager re-adopts their sessions, so it
    #: saves each session's graph at deploy to run lost work again after a restart.
    nodes_outlive_island: bool = False

    def __init__(self) -> None:
        self.on_node_lost: NodeLostCallback | None = None
        self.on_event: EventSink | None = None

    def forward_event(self, event: Any) -> None:
        """Hand an NM's event to ``on_event`` (dropped while nobody listens)."""
        sink = self.on_event
        if sink is not None:
            sink(event)

    @abstractmethod
    def node_names(self) -> list[NodeName]:
        """Canonical names of the nodes that can take work, in a stable order."""

    @abstractmethod
    def canonical(self, spelling: str) -> NodeName:
        """The canonical node name for ``spelling`` (NodeNotFound/InvalidRequest if none)."""

    @abstractmethod
    def client(self, node: NodeName) -> NodeManagerProtocol:
        """A handle on the node's manager (NodeNotFound if the node is unknown)."""

    @abstractmethod
    def ensure_node(self, node: NodeName) -> NodeName:
        """Make sure a node manager runs for ``node``; return its canonical name."""

    @abstractmethod
    def remove_node(self, node: NodeName) -> None:
        """Stop using ``node`` (NodeNotFound if unknown)."""

    @abstractmethod
    def node_details(self) -> list[NodeDetails]:
        """Each node's name, state, facts and sessions, for the details route."""

    def prepare(self, nodes: list[NodeName]) -> None:  # noqa: B027 - optional hook
        """Called before a session is deployed on ``nodes`` (e.g. to restart idle NMs)."""

    def is_active(self, node: NodeName) -> bool:
        """Whether the node's manager runs now (False for one released while idle)."""
        return node in self.node_names()

    def restart_node(self, node: NodeName) -> None:
        """Replace the node's manager with a fresh one; its live sessions fail there."""
        self.remove_node(node)
        self.ensure_node(node)

    def acquire(
        self,
        session_id: str,
        count: int,
        bundles: list[dict[str, float]],
        timeout: float,
        cancelled: threading.Event | None = None,
    ) -> list[NodeName]:
        """Return ``count`` nodes for a session, asking for more if the transport can.

        ``bundles`` are the resources each node must offer. The default only uses the
        nodes there are; an autoscaling transport asks its cluster for the rest and
        waits up to ``timeout`` seconds, or until ``cancelled`` is set (DeployError).

        Raises:
            DeployError: not enough nodes (the message says how many there are).
        """
        nodes = self.node_names()
        if len(nodes) < count:
            raise DeployError(
                f"the graph needs {count} nodes but only {len(nodes)} are registered "
                f"({nodes}); register more with POST /api/node/<node>",
                needed=count,
                known=nodes,
            )
        return nodes[:count]

    def release(self, session_id: str) -> None:  # noqa: B027 - optional hook
        """The session ended: drop any capacity requested for it."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release every resource (NMs stop)."""
