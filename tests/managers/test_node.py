"""NodeManager driven directly: session lifecycle, isolation, inspection and errors."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import pytest

from liuray.engine.states import AppState, DropState, SessionState
from liuray.errors import (
    DropNotFound,
    GraphError,
    InvalidRequest,
    InvalidSessionState,
    SessionExists,
    SessionNotFound,
)
from liuray.managers.node import NodeManager, check_session_id
from liuray.managers.reports import DetailSource, DropStatus, NodeProgress, NodeSessionSummary

Spec = dict[str, Any]
FINISHED = SessionState.FINISHED


def run_session(manager: NodeManager, session_id: str, specs: list[Spec]) -> None:
    manager.create_session(session_id)
    manager.append_graph(session_id, specs)
    manager.deploy(session_id)
    manager.trigger(session_id)


def value(manager: NodeManager, session_id: str, uid: str) -> Any:
    run = manager._sessions[session_id].run
    assert run is not None
    return run.drops[uid].get()  # type: ignore[union-attr]


def ended(manager: NodeManager, session_id: str) -> Callable[[], bool]:
    def check() -> bool:
        state = manager.session_status(session_id)
        return state in (SessionState.FINISHED, SessionState.FAILED, SessionState.CANCELLED)

    return check


def test_session_lifecycle_and_inspection(
    node_manager: NodeManager, app: Any, data: Any, until: Any
) -> None:
    """A bash app writes to stdout and stderr; its output is copied on.

    Before deploy the session is building and every drop initialized; after the run
    the status, graph status, progress and drop detail all say so, and the detail of
    the bash app carries its stderr line and its timings.
    """
    specs = [
        app(
            "sh",
            "dlg.apps.bash_shell_app.BashShellApp",
            outputs=("out",),
            command="echo payload; echo complaint-on-stderr >&2",
        ),
        data("out"),
        app("copy", inputs=("out",), outputs=("copied",)),
        data("copied"),
    ]
    node_manager.create_session("s1")
    assert node_manager.session_status("s1") is SessionState.PRISTINE
    node_manager.append_graph("s1", specs)
    assert node_manager.session_status("s1") is SessionState.BUILDING
    assert node_manager.graph_status("s1") == {
        oid: DropStatus(DropState.INITIALIZED) for oid in ("sh", "out", "copy", "copied")
    }
    assert node_manager.progress("s1") == NodeProgress(SessionState.BUILDING, {"initialized": 4}, 4)
    before = node_manager.drop_detail("s1", "sh")
    assert (before.state, before.source) == (DropState.INITIALIZED, DetailSource.PLACED)

    node_manager.deploy("s1")
    node_manager.trigger("s1")
    assert until(ended(node_manager, "s1"))

    assert node_manager.session_status("s1") is FINISHED
    status = node_manager.graph_status("s1")
    assert status["sh"] == DropStatus(DropState.COMPLETED, AppState.FINISHED)
    assert status["copied"] == DropStatus(DropState.COMPLETED)
    assert status["out"] == DropStatus(DropState.EXPIRED)  # released once copied
    assert node_manager.progress("s1") == NodeProgress(
        FINISHED, {"finished": 2, "expired": 1, "completed": 1}, 4
    )
    assert value(node_manager, "s1", "copied") == b"payload\n"
    detail = node_manager.drop_detail("s1", "sh")
    assert detail.source is DetailSource.RUN
    assert detail.exec_state is AppState.FINISHED
    assert "complaint-on-stderr" in detail.logs
    assert detail.node == "localhost:8000"
    assert detail.started_at is not None and detail.finished_at is not None
    assert detail.started_at <= detail.finished_at <= time.time()
    assert node_manager.failures("s1") == []
    assert node_manager.sessions() == [NodeSessionSummary("s1", FINISHED, 4)]


def test_sessions_are_isolated_in_their_own_directories(
    node_manager: NodeManager, app: Any, data: Any, until: Any
) -> None:
    """Two sessions write a file of the same relative name; each lands in its own dir.

    Running them changes neither the working directory nor the environment.
    """
    cwd = os.getcwd()
    environment = dict(os.environ)
    for session_id in ("first", "second"):
        run_session(
            node_manager,
            session_id,
            [
                app(
                    "write",
                    "dlg.apps.bash_shell_app.BashShellApp",
                    outputs=("result",),
                    command=f"echo {session_id} > %o0; echo $DLG_SESSION_ID > sid.txt",
                ),
                data("result", file=True, filepath="result.txt"),
            ],
        )
    for session_id in ("first", "second"):
        assert until(ended(node_manager, session_id))
        assert node_manager.session_status(session_id) is FINISHED
        directory = node_manager.root / session_id
        assert (directory / "result.txt").read_text() == f"{session_id}\n"
        assert (directory / "sid.txt").read_text() == f"{session_id}\n"
    assert os.getcwd() == cwd
    assert dict(os.environ) == environment


def test_failed_app_fails_the_session(
    node_manager: NodeManager, app: Any, data: Any, until: Any
) -> None:
    """A bash command exiting 3 puts its app and output in ERROR; the session FAILED."""
    run_session(
        node_manager,
        "s",
        [
            app("bad", "dlg.apps.bash_shell_app.BashShellApp", outputs=("o",), command="exit 3"),
            data("o"),
        ],
    )
    assert until(ended(node_manager, "s"))
    assert node_manager.session_status("s") is SessionState.FAILED
    failures = dict(node_manager.failures("s"))
    assert set(failures) == {"bad", "o"}
    assert "status 3" in failures["bad"]
    assert node_manager.drop_detail("s", "bad").state is DropState.ERROR


def test_cancel_stops_a_running_session(
    node_manager: NodeManager, app: Any, data: Any, until: Any
) -> None:
    """A 30 s sleep is cancelled: the session is CANCELLED well before it would end."""
    started = time.monotonic()
    run_session(
        node_manager,
        "s",
        [app("sleep", "SleepApp", outputs=("o",), sleep_time=30), data("o")],
    )
    assert until(lambda: node_manager.drop_detail("s", "sleep").exec_state is AppState.RUNNING)
    node_manager.cancel_session("s")
    assert until(ended(node_manager, "s"))
    assert node_manager.session_status("s") is SessionState.CANCELLED
    assert node_manager.graph_status("s")["o"] == DropStatus(DropState.CANCELLED)
    assert time.monotonic() - started < 5


def test_cancel_before_deploy(node_manager: NodeManager, app: Any, data: Any) -> None:
    """A building session can be cancelled; it cannot be deployed afterwards."""
    node_manager.create_session("s")
    node_manager.append_graph("s", [data("d")])
    node_manager.cancel_session("s")
    assert node_manager.session_status("s") is SessionState.CANCELLED
    with pytest.raises(InvalidSessionState, match="cancelled"):
        node_manager.deploy("s")


def test_destroy_forgets_the_session_but_keeps_its_files(
    node_manager: NodeManager, app: Any, data: Any, until: Any
) -> None:
    """Destroying a running session cancels it; the id can then be used again."""
    run_session(
        node_manager,
        "s",
        [
            app("touch", "dlg.apps.bash_shell_app.BashShellApp", command="touch here"),
            app("sleep", "SleepApp", outputs=("o",), sleep_time=30),
            data("o"),
        ],
    )
    assert until(lambda: (node_manager.root / "s" / "here").exists())
    run = node_manager._sessions["s"].run
    assert run is not None
    node_manager.destroy_session("s")
    assert node_manager.session_ids() == []
    assert run.wait(5)
    assert run.state is SessionState.CANCELLED
    assert (node_manager.root / "s" / "here").exists()
    with pytest.raises(SessionNotFound, match="no session 's' on node 'localhost:8000'"):
        node_manager.session_status("s")
    node_manager.create_session("s")
    assert node_manager.session_status("s") is SessionState.PRISTINE


def test_errors_name_the_session_and_what_to_do(node_manager: NodeManager, data: Any) -> None:
    """Each misuse raises its own error class with a message naming the session."""
    node_manager.create_session("s")
    with pytest.raises(SessionExists, match="session 's' already exists on node") as exists:
        node_manager.create_session("s")
    assert exists.value.detail == {"session_id": "s"}
    with pytest.raises(SessionNotFound, match="no session 'nope'"):
        node_manager.append_graph("nope", [data("d")])
    with pytest.raises(SessionNotFound):
        node_manager.deploy("nope")
    with pytest.raises(InvalidSessionState, match="'s' is not deployed yet"):
        node_manager.trigger("s")
    node_manager.append_graph("s", [data("d")])
    with pytest.raises(GraphError, match="duplicate drop oid 'd'"):
        node_manager.append_graph("s", [data("e"), data("d")])
    node_manager.deploy("s")
    with pytest.raises(InvalidSessionState, match="only a pristine or building session"):
        node_manager.deploy("s")
    with pytest.raises(InvalidSessionState, match="graphs can be appended only"):
        node_manager.append_graph("s", [data("f")])
    with pytest.raises(GraphError, match=r"cannot trigger \['ghost'\]"):
        node_manager.trigger("s", ["ghost"])
    with pytest.raises(DropNotFound, match="no drop 'ghost'"):
        node_manager.drop_detail("s", "ghost")


def test_rejected_append_keeps_the_earlier_specs(node_manager: NodeManager, data: Any) -> None:
    """An append with a repeated oid adds nothing, not even its valid specs."""
    node_manager.create_session("s")
    node_manager.append_graph("s", [data("a")])
    with pytest.raises(GraphError):
        node_manager.append_graph("s", [data("b"), data("a")])
    assert list(node_manager.graph_status("s")) == ["a"]


def test_invalid_graph_fails_the_deploy(node_manager: NodeManager, app: Any) -> None:
    """An unknown drop class is a GraphError at deploy; the session becomes FAILED."""
    node_manager.create_session("s")
    node_manager.append_graph("s", [app("x", "no.such.module.App")])
    with pytest.raises(GraphError, match="'x'"):
        node_manager.deploy("s")
    assert node_manager.session_status("s") is SessionState.FAILED


@pytest.mark.parametrize(
    "session_id", ["", "../escape", "a/b", " lead", ".hidden", "x" * 201, "a..b", 7, None]
)
def test_invalid_session_ids_are_rejected(node_manager: NodeManager, session_id: Any) -> None:
    """Ids that are not safe directory names are refused before anything is created."""
    with pytest.raises(InvalidRequest, match="invalid session id"):
        node_manager.create_session(session_id)
    assert node_manager.session_ids() == []
    assert not node_manager.root.exists() or list(node_manager.root.iterdir()) == []


@pytest.mark.parametrize("session_id", ["a", "2024-01-01T00:00:00.1", "user@host+x_y", "x" * 200])
def test_valid_session_ids_are_accepted(session_id: str) -> None:
    """DALiuGE-style ids (timestamps, user@host) pass unchanged."""
    assert check_session_id(session_id) == session_id


def test_many_sessions_at_once(node_manager: NodeManager, app: Any, data: Any, until: Any) -> None:
    """Forty sessions with the same oids run together; each gets its own greeting."""
    ids = [f"s{i}" for i in range(40)]
    for index, session_id in enumerate(ids):
        run_session(
            node_manager,
            session_id,
            [
                app("hello", "HelloWorldApp", outputs=("greeting",), greet=f"n{index}"),
                data("greeting"),
                app("copy", inputs=("greeting",), outputs=("copied",)),
                data("copied"),
            ],
        )
    for session_id in ids:
        assert until(ended(node_manager, session_id))
    assert {s.state for s in node_manager.sessions()} == {FINISHED}
    for index, session_id in enumerate(ids):
        assert value(node_manager, session_id, "copied") == f"Hello n{index}".encode()
    assert node_manager.info().sessions == 40
    assert not node_manager.busy()
