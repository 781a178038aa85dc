# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the island manager needs from a node manager, wherever it runs.

:class:`~liuray.managers.node.NodeManager` implements it directly (in-process); the Ray
transport implements it by calling the NM actor. Every argument and result is plain
data (JSON-able values, a :class:`~liuray.managers.payload.Payload`, or one of the
frozen reports of :mod:`liuray.managers.reports`) so it can cross process boundaries.
"""

from __future__ import annotations

from typing import Protocol

from liuray.engine.states import SessionState
from liuray.graph.physical import PhysicalGraph
from liuray.managers.payload import Payload
from liuray.managers.reports import (
    DropDetail,
    DropStatus,
    NodeInfo,
    NodeProgress,
    NodeSessionSummary,
)
from liuray.types import DropSpec, DropUid, NodeName, SessionId


class NodeManagerProtocol(Protocol):
    """The node manager's operations, as the island manager calls them.

    Lifecycle of a session on a node: ``create_session`` -> ``append_graph`` (any number
    of times) -> ``deploy`` (drops instantiated, cross-node wiring installed) ->
    ``trigger`` (roots started) -> ... -> ``destroy_session``. ``deliver`` brings the
    outcome of a drop settled on another node.
    """

    def create_session(self, session_id: SessionId, directory: str | None = None) -> str:
        """Create an empty session (SessionExists if the id is taken); returns its
        directory on the node (where its files go), named ``directory`` (default: the
        session id)."""
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

    def held_data(self, session_id: SessionId) -> list[DropUid]:
        """The session's completed data drops (mirrors too) whose content is still here."""
        ...

    def files_present(self, paths: list[str]) -> list[str]:
        """Which of these absolute paths name a file this node can read."""
        ...

    def carry(self, session_id: SessionId, from_session: SessionId, uids: list[DropUid]) -> None:
        """Copy completed data of ``from_session`` into the same drops of ``session_id``
        (a re-run after a lost node keeps them; they are triggered afterwards)."""
        ...

    def failures(self, session_id: SessionId) -> list[tuple[DropUid, str]]:
        """(uid, error) of the node's drops in ERROR."""
        ...

    def session_status(self, session_id: SessionId) -> SessionState:
        """The session's state on this node."""
        ...

    def sessions(self) -> list[NodeSessionSummary]:
        """Every session on this node: id, state, number of own drops."""
        ...

    def graph_status(self, session_id: SessionId) -> dict[DropUid, DropStatus]:
        """The status of each of the node's own drops."""
        ...

    def progress(self, session_id: SessionId) -> NodeProgress:
        """State, drops per state and total over the node's own drops."""
        ...

    def drop_detail(self, session_id: SessionId, uid: DropUid) -> DropDetail:
        """State, timings, error and captured log lines of one drop."""
        ...

    def info(self) -> NodeInfo:
        """Facts about the node (name, host, workers, sessions)."""
        ...
