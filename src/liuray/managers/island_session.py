# SPDX-License-Identifier: LGPL-2.1-or-later
"""A session as the island manager sees it, and how per-node states merge into one.

Plain data owned by :class:`~liuray.managers.island.IslandManager`: the graph as
appended, where each drop lives, the per-node wiring, and what was kept at the end.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from liuray.engine.states import SessionState
from liuray.graph.physical import PhysicalGraph
from liuray.types import DropSpec, DropUid, NodeName, SessionId

_S = SessionState


@dataclass
class IslandSession:
    """A session as the island manager sees it."""

    session_id: SessionId
    created: float = field(default_factory=time.time)
    state: SessionState = _S.PRISTINE
    specs: list[DropSpec] = field(default_factory=list)
    reprodata: dict[str, Any] = field(default_factory=dict)
    graph: PhysicalGraph | None = None
    home: dict[DropUid, NodeName] = field(default_factory=dict)
    mirrors: dict[NodeName, list[DropUid]] = field(default_factory=dict)
    feeds: dict[NodeName, dict[DropUid, list[NodeName]]] = field(default_factory=dict)
    ended: float | None = None
    lost_nodes: set[NodeName] = field(default_factory=set)
    #: What the nodes reported when the session ended, so reads of a finished session
    #: never need its node managers (which may have been released since).
    final_status: dict[DropUid, dict[str, int]] | None = None
    final_counts: dict[str, int] | None = None
    final_failures: list[dict[str, str]] | None = None
    #: Drops recorded for a session re-adopted after a restart (its specs are not kept).
    adopted_size: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def nodes(self) -> list[NodeName]:
        """The nodes the session was deployed on."""
        return list(self.mirrors)


def merge_states(states: list[SessionState]) -> SessionState:
    """One state for a session from its per-node states.

    Anything still running keeps it RUNNING; then FAILED wins over CANCELLED over
    FINISHED. (DALiuGE's page shows a mixed RUNNING/FINISHED session as RUNNING.)
    """
    if not states:
        return _S.PRISTINE
    for state in (_S.DEPLOYING, _S.RUNNING):
        if state in states:
            return _S.RUNNING
    for state in (_S.FAILED, _S.CANCELLED, _S.FINISHED):
        if state in states:
            return state
    return min(states, key=lambda s: s.code)
