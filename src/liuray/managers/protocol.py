# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the island manager needs from a node manager, wherever it runs.

:class:`~liuray.managers.node.NodeManager` implements it directly (in-process); the Ray
transport implements it by calling the NM actor. Every argument and result is plain
data (JSON-able, or a :class:`~liuray.managers.payload.Payload`) so it can cross
process boundaries.
"""

from __future__ import annotations

from typing import Any, Protocol

from liuray.graph.physical import PhysicalGraph
from liuray.managers.payload import Payload
from liuray.types import DropSpec, DropUid, NodeName, SessionId


class NodeManagerProtocol(Protocol):
    """The node manager's operations, as the island manager calls them.

    Lifecycle of a session on a node: ``create_session`` -> ``append_graph`` (any number
    of times) -> ``deploy`` (drops instantiated, cross-node wiring installed) ->
    ``trigger`` (roots started) -> ... -> ``destroy_session``. ``deliver`` brings the
    outcome of a drop settled on another node.
    """

    def create_session(self, session_id: SessionId) -> None:
        """Create an empty session (SessionExists if the id is taken)."""
        ...

    def append_graph(self, session_id: SessionId, specs: list[DropSpec] | PhysicalGraph) -> None:
        """Add drop specs (or, in-process, an already validated graph) to a session."""
        ...

    def deploy(
        self,
        session_id: SessionId,
        external_producers: dict[DropUid, int],
        publish_to: dict[DropUid, list[NodeName]],
        mirrors: list[DropUid],
    ) -> None:
        """Instantiate the session's drops with their cross-node wiring."""
        ...

    def trigger(self, session_id: SessionId, uids: list[DropUid] | None) -> None:
        """Start the given root drops (None: every root of this partition)."""
        ...

    def deliver(
        self,
        session_id: SessionId,
        uid: DropUid,
        state: str,
        reason: str,
        payload: Payload | None,
    ) -> None:
        """A drop mirrored here settled on another node."""
        ...

    def cancel_session(self, session_id: SessionId) -> None:
        """Cancel every unfinished drop of the session."""
        ...

    def destroy_session(self, session_id: SessionId) -> None:
        """Forget the session (cancelling it first if it runs)."""
        ...

    def fail_drops(self, session_id: SessionId, uids: list[DropUid], reason: str) -> None:
        """Turn drops that can never finish (their node died) into errors."""
        ...

    def failures(self, session_id: SessionId) -> list[tuple[DropUid, str]]:
        """(uid, error) of the node's drops in ERROR."""
        ...

    def session_status(self, session_id: SessionId) -> int:
        """The session's DALiuGE state code on this node."""
        ...

    def sessions(self) -> list[dict[str, Any]]:
        """``[{"sessionId", "status", "size"}]`` for every session on this node."""
        ...

    def graph_status(self, session_id: SessionId) -> dict[DropUid, dict[str, int]]:
        """``{oid: {"status", "execStatus"}}`` for the node's own drops."""
        ...

    def progress(self, session_id: SessionId) -> dict[str, Any]:
        """``{"status", "counts", "total"}`` for the node's own drops."""
        ...

    def drop_detail(self, session_id: SessionId, uid: DropUid) -> dict[str, Any]:
        """State, timings, error and captured log lines of one drop."""
        ...

    def info(self) -> dict[str, Any]:
        """Facts about the node (name, host, workers, sessions)."""
        ...
