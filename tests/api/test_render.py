"""DALiuGE's JSON shapes rendered from the managers' reports: keys, codes and their order."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("starlette")

from liuray.api import render
from liuray.engine.states import AppState, DropState, SessionState
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

_D = DropState


def wire(body: object) -> str:
    """The body as the routes send it (key order kept)."""
    return json.dumps(body)


def test_graph_status_has_exec_status_for_apps_only() -> None:
    """Apps carry ``execStatus``; data drops only ``status``; codes are DALiuGE's."""
    body = render.graph_status(
        {
            "a": DropStatus.of(_D.COMPLETED, AppState.FINISHED),
            "b": DropStatus.of(_D.COMPLETED, AppState.FINISHED),
            "d": DropStatus.of(_D.ERROR),
        }
    )
    assert wire(body) == (
        '{"a": {"status": 2, "execStatus": 2}, "b": {"status": 2, "execStatus": 2}, '
        '"d": {"status": 3}}'
    )


def test_session_list_and_progress_use_camel_case_and_codes() -> None:
    """``sessionId``, ``{node: code}``, and progress with both the state's name and code."""
    summary = SessionSummary("s", {"n1": SessionState.RUNNING}, 3)
    assert wire(render.sessions([summary])) == (
        '[{"sessionId": "s", "status": {"n1": 3}, "size": 3}]'
    )
    progress = SessionProgress(
        "s",
        SessionState.FAILED,
        3,
        {"error": 1, "finished": 2},
        (Failure("a", "n1", "boom"),),
        ("n1",),
        1.5,
        2.5,
        {"n1": "/data/s"},
    )
    assert wire(render.session_progress(progress)) == (
        '{"sessionId": "s", "state": "failed", "status": 6, "total": 3, '
        '"counts": {"error": 1, "finished": 2}, '
        '"failures": [{"oid": "a", "node": "n1", "error": "boom"}], "nodes": ["n1"], '
        '"created": 1.5, "ended": 2.5, "dirs": {"n1": "/data/s"}, "error": null}'
    )


@pytest.mark.parametrize(
    ("detail", "expected"),
    [
        (
            DropDetail(
                "a",
                "s",
                _D.COMPLETED,
                DetailSource.RUN,
                node="n1",
                exec_state=AppState.FINISHED,
                logs=("hi",),
                started_at=1.0,
                finished_at=2.0,
            ),
            '{"oid": "a", "session": "s", "status": 2, "state": "completed", "error": null, '
            '"execStatus": 2, "execState": "finished", "logs": ["hi"], "started_at": 1.0, '
            '"finished_at": 2.0, "node": "n1"}',
        ),
        (
            DropDetail(
                "d", "s", _D.COMPLETED, DetailSource.RUN, node="n1", size=3, data_url="mem://s/d"
            ),
            '{"oid": "d", "session": "s", "status": 2, "state": "completed", "error": null, '
            '"logs": [], "size": 3, "data_url": "mem://s/d", "node": "n1"}',
        ),
        (
            DropDetail("d", "s", _D.INITIALIZED, DetailSource.PLANNED),
            '{"oid": "d", "session": "s", "status": 0, "logs": []}',
        ),
        (
            DropDetail("d", "s", _D.INITIALIZED, DetailSource.PLACED, node="n1"),
            '{"oid": "d", "session": "s", "status": 0, "state": "initialized", "logs": [], '
            '"node": "n1"}',
        ),
        (
            DropDetail("d", "s", _D.ERROR, DetailSource.LOST, node="n1", error="node n1 lost"),
            '{"oid": "d", "session": "s", "status": 3, "state": "error", '
            '"error": "node n1 lost", "logs": [], "node": "n1"}',
        ),
        (
            DropDetail(
                "a",
                "s",
                _D.COMPLETED,
                DetailSource.REPORTED,
                node="n1",
                exec_state=AppState.FINISHED,
                note="kept",
            ),
            '{"oid": "a", "session": "s", "node": "n1", "logs": [], "note": "kept", '
            '"status": 2, "execStatus": 2}',
        ),
    ],
    ids=["run-app", "run-data", "planned", "placed", "lost", "reported"],
)
def test_drop_detail_says_what_its_source_knows(detail: DropDetail, expected: str) -> None:
    """Each source renders its own keys: a lost node's drop has no timings, a drop not
    placed yet no state name, a released node's drop only its last reported codes."""
    assert wire(render.drop_detail(detail)) == expected


def test_node_details_of_an_in_process_node() -> None:
    """The node manager's facts, then its state, transport and sessions."""
    info = NodeInfo("n1", "host", 7, 4, 1, 0, 1.0, 2.0)
    details = NodeDetails("n1", "alive", "inproc", ("s",), manager=info)
    assert wire(render.nodes([details])) == (
        '[{"name": "n1", "host": "host", "pid": 7, "workers": 4, "sessions": 1, '
        '"running": 0, "started_at": 1.0, "last_active": 2.0, "state": "alive", '
        '"transport": "inproc", "session_ids": ["s"]}]'
    )


def test_node_details_of_a_cluster_node_say_why_it_failed() -> None:
    """A failed Ray node carries its reason and next retry; sessions only when asked."""
    member = MemberInfo("id1", "10.0.0.1", {"CPU": 2.0}, False, 1.0, None, "no room", 9.0)
    assert wire(render.node_details(NodeDetails("id1", "failed", "ray", member=member))) == (
        '{"name": "id1", "node_id": "id1", "ip": "10.0.0.1", "resources": {"CPU": 2.0}, '
        '"head": false, "state": "failed", "alive_since": 1.0, "ready_at": null, '
        '"reason": "no room", "retry_at": 9.0, "transport": "ray"}'
    )
