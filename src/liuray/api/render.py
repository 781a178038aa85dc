# SPDX-License-Identifier: LGPL-2.1-or-later
"""DALiuGE's JSON shapes, rendered from the managers' typed reports.

This is the one place where the wire format lives: camelCase keys (``sessionId``,
``execStatus``), DALiuGE's integer state codes, and liuray's additions in the places
DALiuGE's clients ignore them. The managers answer with the frozen dataclasses of
:mod:`liuray.managers.reports`; each function here turns one of them into the body a
route sends. Key order follows what the routes have always sent.

>>> from liuray.engine.states import AppState, DropState
>>> from liuray.managers.reports import DropStatus
>>> graph_status({"a": DropStatus.of(DropState.COMPLETED, AppState.FINISHED),
...               "d": DropStatus.of(DropState.COMPLETED)})
{'a': {'status': 2, 'execStatus': 2}, 'd': {'status': 2}}
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from liuray.engine.states import SessionState
from liuray.managers.reports import (
    DetailSource,
    DropDetail,
    DropStatus,
    Failure,
    MemberInfo,
    NodeDetails,
    NodeInfo,
    SessionProgress,
    SessionSummary,
)
from liuray.types import DropUid, NodeName

JSON = dict[str, Any]


def drop_status(status: DropStatus) -> dict[str, int]:
    """``{"status": code}``, plus ``"execStatus": code`` for an application."""
    if status.exec_state is None:
        return {"status": status.state.code}
    return {"status": status.state.code, "execStatus": status.exec_state.code}


def graph_status(statuses: Mapping[DropUid, DropStatus]) -> dict[DropUid, dict[str, int]]:
    """``graph/status``: ``{oid: {"status", "execStatus" (apps)}}``.

    Drops sharing a status share one rendered object (statuses are few, drops many);
    the result is meant to be serialised at once, never changed.
    """
    rendered: dict[DropStatus, dict[str, int]] = {}
    body: dict[DropUid, dict[str, int]] = {}
    for uid, status in statuses.items():
        entry = rendered.get(status)
        if entry is None:
            entry = rendered[status] = drop_status(status)
        body[uid] = entry
    return body


def session_status(status: Mapping[NodeName, SessionState]) -> dict[NodeName, int]:
    """A session's state on each node: ``{node: code}``."""
    return {node: state.code for node, state in status.items()}


def session_summary(summary: SessionSummary) -> JSON:
    """One entry of ``GET /api/sessions``: ``{"sessionId", "status": {node: code}, "size"}``."""
    return {
        "sessionId": summary.session_id,
        "status": session_status(summary.status),
        "size": summary.size,
    }


def sessions(summaries: Iterable[SessionSummary]) -> list[JSON]:
    """``GET /api/sessions``: every session's summary."""
    return [session_summary(summary) for summary in summaries]


def failure(failed: Failure) -> dict[str, str]:
    """A drop in error: ``{"oid", "node", "error"}``."""
    return {"oid": failed.oid, "node": failed.node, "error": failed.error}


def session_progress(progress: SessionProgress) -> JSON:
    """liuray's progress route: state (name and code), totals, counts, failures, times."""
    return {
        "sessionId": progress.session_id,
        "state": str(progress.state),
        "status": progress.state.code,
        "total": progress.total,
        "counts": dict(progress.counts),
        "failures": [failure(failed) for failed in progress.failures],
        "nodes": list(progress.nodes),
        "created": progress.created,
        "ended": progress.ended,
        "dirs": dict(progress.directories),
        "error": progress.error,
    }


def drop_detail(detail: DropDetail) -> JSON:
    """``graph/drop/<oid>``: DALiuGE's ``{"session", "status", "oid", "logs"}`` plus
    liuray's fields, as far as the detail's source knows them."""
    return _DETAIL_SHAPES[detail.source](detail)


def _head(detail: DropDetail) -> JSON:
    return {"oid": detail.oid, "session": detail.session_id, "status": detail.state.code}


def _from_run(detail: DropDetail) -> JSON:
    body = _head(detail) | {"state": str(detail.state), "error": detail.error}
    if detail.exec_state is not None:
        body["execStatus"] = detail.exec_state.code
        body["execState"] = str(detail.exec_state)
        body["logs"] = list(detail.logs)
        body["started_at"] = detail.started_at
        body["finished_at"] = detail.finished_at
    else:
        body["logs"] = list(detail.logs)
        body["size"] = detail.size
        body["data_url"] = detail.data_url
    body["node"] = detail.node
    return body


def _planned(detail: DropDetail) -> JSON:
    return _head(detail) | {"logs": list(detail.logs)}


def _placed(detail: DropDetail) -> JSON:
    return _head(detail) | {
        "state": str(detail.state),
        "logs": list(detail.logs),
        "node": detail.node,
    }


def _lost(detail: DropDetail) -> JSON:
    return _head(detail) | {
        "state": str(detail.state),
        "error": detail.error,
        "logs": list(detail.logs),
        "node": detail.node,
    }


def _reported(detail: DropDetail) -> JSON:
    body: JSON = {
        "oid": detail.oid,
        "session": detail.session_id,
        "node": detail.node,
        "logs": list(detail.logs),
        "note": detail.note,
    }
    return body | drop_status(DropStatus.of(detail.state, detail.exec_state))


_DETAIL_SHAPES: dict[DetailSource, Callable[[DropDetail], JSON]] = {
    DetailSource.RUN: _from_run,
    DetailSource.PLANNED: _planned,
    DetailSource.PLACED: _placed,
    DetailSource.LOST: _lost,
    DetailSource.REPORTED: _reported,
}


def node_info(info: NodeInfo) -> JSON:
    """A node manager's own facts."""
    return {
        "name": info.name,
        "host": info.host,
        "pid": info.pid,
        "workers": info.workers,
        "sessions": info.sessions,
        "running": info.running,
        "started_at": info.started_at,
        "last_active": info.last_active,
    }


def _member(name: NodeName, state: str, member: MemberInfo) -> JSON:
    body: JSON = {
        "name": name,
        "node_id": member.node_id,
        "ip": member.ip,
        "resources": dict(member.resources),
        "head": member.head,
        "state": state,
        "alive_since": member.alive_since,
        "ready_at": member.ready_at,
    }
    if member.reason is not None:
        body["reason"] = member.reason
        body["retry_at"] = member.retry_at
    return body


def node_details(details: NodeDetails) -> JSON:
    """One entry of liuray's node-details route: facts, state, transport, sessions."""
    if details.manager is not None:
        body = node_info(details.manager) | {"state": details.state}
    elif details.member is not None:
        body = _member(details.name, details.state, details.member)
    else:
        body = {"name": details.name, "state": details.state}
    body["transport"] = details.transport
    if details.session_ids is not None:
        body["session_ids"] = list(details.session_ids)
    return body


def nodes(details: Iterable[NodeDetails]) -> list[JSON]:
    """liuray's node-details route: one entry per node."""
    return [node_details(entry) for entry in details]
