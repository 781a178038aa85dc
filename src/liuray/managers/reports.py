# SPDX-License-Identifier: LGPL-2.1-or-later
"""What managers report: typed answers of node and island managers to status reads.

State:
    None of its own. Every report is a frozen, slotted dataclass, built by the node
    manager (:mod:`liuray.managers.node`), the island manager
    (:mod:`liuray.managers.island`) or a transport, and never changed afterwards; they
    are plain data, so they cross processes (Ray pickles them) unchanged.

Who mutates it:
    Nobody: a report is a snapshot taken when it is asked for.

Policy:
    States are the engine's enums (:class:`~liuray.engine.states.DropState`,
    :class:`~liuray.engine.states.AppState`, :class:`~liuray.engine.states.SessionState`)
    and names are Python's. DALiuGE's JSON shapes (camelCase keys, integer state codes)
    are rendered by the REST layer alone (:mod:`liuray.api.render`), so the wire format
    lives in one place and the managers never build a response body.

    Drop statuses come from a handful of (state, execution state) pairs, so
    :meth:`DropStatus.of` and :meth:`DropStatus.from_codes` hand out shared instances:
    a status read of many drops creates no object per drop.

>>> DropStatus.from_codes(2, -1)
DropStatus(state=<DropState.COMPLETED: 'completed'>, exec_state=None)
>>> DropStatus.from_codes(2, 2) is DropStatus.of(DropState.COMPLETED, AppState.FINISHED)
True
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from liuray.engine.states import AppState, DropState, SessionState
from liuray.types import DropUid, NodeName, SessionId

_DROP_STATES = tuple(DropState)
_APP_STATES = tuple(AppState)


@dataclass(frozen=True, slots=True)
class DropStatus:
    """One drop's state, and for an application its execution state (else None)."""

    state: DropState
    exec_state: AppState | None = None

    @staticmethod
    def of(state: DropState, exec_state: AppState | None = None) -> DropStatus:
        """The (shared) status for ``state`` and ``exec_state``."""
        return _status(state, exec_state)

    @staticmethod
    def from_codes(code: int, exec_code: int) -> DropStatus:
        """The (shared) status for DALiuGE's codes (``exec_code`` -1: not an app).

        Raises:
            IndexError: a code outside DALiuGE's numbering.
        """
        return _status_from_codes(code, exec_code)


@cache
def _status(state: DropState, exec_state: AppState | None) -> DropStatus:
    return DropStatus(state, exec_state)


@cache
def _status_from_codes(code: int, exec_code: int) -> DropStatus:
    return _status(_DROP_STATES[code], _APP_STATES[exec_code] if exec_code >= 0 else None)


@dataclass(frozen=True, slots=True)
class Failure:
    """A drop in error: where it lives and why."""

    oid: DropUid
    node: NodeName
    error: str


@dataclass(frozen=True, slots=True)
class NodeSessionSummary:
    """A session as one node holds it; ``size`` counts the node's own drops."""

    session_id: SessionId
    state: SessionState
    size: int


@dataclass(frozen=True, slots=True)
class NodeProgress:
    """A session's progress over one node's own drops (mirrors left out).

    Attributes:
        counts: drops per state name (apps by execution state), zero counts left out.
    """

    state: SessionState
    counts: Mapping[str, int]
    total: int


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """A session in the island's list: its state on each node, and its drop count."""

    session_id: SessionId
    status: Mapping[NodeName, SessionState]
    size: int


@dataclass(frozen=True, slots=True)
class SessionProgress:
    """A session's summary over every node, read in O(nodes).

    Attributes:
        state: the single, merged state.
        total: drops appended.
        counts: drops per state name over every node.
        failures: drops reported in error (at most a few per node).
        nodes: the nodes the session was deployed on.
        created: when the session was created (epoch seconds).
        ended: when it reached its final state (None while it has not).
        directories: the session's directory on each node (its files).
        error: why the session as a whole failed, when no drop says it (a deploy that
            failed, an island manager that stopped while it ran).
    """

    session_id: SessionId
    state: SessionState
    total: int
    counts: Mapping[str, int]
    failures: tuple[Failure, ...]
    nodes: tuple[NodeName, ...]
    created: float
    ended: float | None
    directories: Mapping[NodeName, str] = field(default_factory=dict)
    error: str | None = None


class DetailSource(enum.StrEnum):
    """Where a :class:`DropDetail` was read, which decides what it can tell."""

    #: From the drop itself, on its node: everything below is known.
    RUN = "run"
    #: Appended but not placed on a node yet: only that it is initialized.
    PLANNED = "planned"
    #: On its node, which has not instantiated it yet (deploy under way).
    PLACED = "placed"
    #: Its node was lost: the drop is in error, nothing else is known.
    LOST = "lost"
    #: Its node manager was released after the session ended: the last report.
    REPORTED = "reported"


@dataclass(frozen=True, slots=True)
class DropDetail:
    """Everything known about one drop.

    Attributes:
        exec_state: the execution state, for applications (None for data).
        error: why the drop failed, if it did.
        logs: the log lines an application captured.
        started_at: when an application's first attempt started (epoch seconds).
        finished_at: when an application's last attempt ended (epoch seconds).
        size: bytes a data drop holds (RUN only).
        data_url: where a data drop's content lives (RUN only).
        note: why the detail is partial (REPORTED).
    """

    oid: DropUid
    session_id: SessionId
    state: DropState
    source: DetailSource
    node: NodeName | None = None
    exec_state: AppState | None = None
    error: str | None = None
    logs: tuple[str, ...] = ()
    started_at: float | None = None
    finished_at: float | None = None
    size: int | None = None
    data_url: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """Facts about one node manager, from the manager itself."""

    name: NodeName
    host: str
    pid: int
    workers: int
    sessions: int
    running: int
    started_at: float
    last_active: float


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """What cluster membership knows of a node (the Ray transport's nodes).

    Attributes:
        reason: why the node manager's last start failed (None unless it did).
        retry_at: when the next start is tried (None unless the last one failed).
    """

    node_id: str
    ip: str
    resources: Mapping[str, float]
    head: bool
    alive_since: float
    ready_at: float | None
    reason: str | None = None
    retry_at: float | None = None


@dataclass(frozen=True, slots=True)
class NodeDetails:
    """One node as the details route shows it.

    Attributes:
        state: the node's state, in the transport's words (``alive``, ``ready``...).
        session_ids: the sessions its manager holds (None: not asked, e.g. released).
        manager: the node manager's own facts (in-process nodes).
        member: what cluster membership knows (Ray nodes).
    """

    name: NodeName
    state: str
    transport: str
    session_ids: tuple[SessionId, ...] | None = None
    manager: NodeInfo | None = None
    member: MemberInfo | None = None
