"""What a node manager pushes: drop changes and session ends, in order, for any history."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liuray.engine.states import SESSION_TERMINAL, SessionState
from liuray.errors import LiurayError
from liuray.managers.events import (
    SPARE_WAKES,
    DropsChanged,
    EventOutbox,
    NodeEvent,
    NodeSessionEnded,
)
from liuray.managers.node import NodeManager

_S = SessionState


class Recorder:
    """An event sink that keeps everything (thread-safe)."""

    def __init__(self) -> None:
        self.events: list[NodeEvent] = []
        self.lock = threading.Lock()
        self.ended = threading.Event()

    def __call__(self, event: NodeEvent) -> None:
        with self.lock:
            self.events.append(event)
        if isinstance(event, NodeSessionEnded):
            self.ended.set()


def test_a_session_reports_its_changes_then_its_end(tmp_path: Path, app: Any, data: Any) -> None:
    """Every changed drop is reported with the node's counts; the end comes last, once,
    with the failures; mirrors of other nodes' drops are neither counted nor reported."""
    box = EventOutbox()
    manager = NodeManager("n1", tmp_path, workers=2, events=box.put)
    try:
        manager.create_session("s")
        manager.append_graph(
            "s",
            [
                app("hello", "HelloWorldApp", outputs=("d",)),
                data("d"),
                app("fail", "dlg.apps.bash_shell_app.BashShellApp", command="exit 2"),
                data("mirror"),
            ],
        )
        manager.deploy("s", mirrors=["mirror"], external_producers={"mirror": 1})
        manager.trigger("s")
        events: list[NodeEvent] = []
        deadline = time.monotonic() + 5
        while not any(isinstance(e, NodeSessionEnded) for e in events):
            assert time.monotonic() < deadline, events
            manager.fail_drops("s", ["mirror"], "node lost")
            events += box.take(0.1)[1]
    finally:
        manager.close()

    *changes, end = events
    assert end == NodeSessionEnded("n1", "s", _S.FAILED, end.failures)
    assert [uid for uid, _ in end.failures] == ["fail"]
    assert all(isinstance(e, DropsChanged) and e.session_id == "s" for e in changes)
    reported = {uid: (status, app) for e in changes for uid, status, app in e.changes}  # type: ignore[union-attr]
    assert reported == {"hello": (2, 2), "d": (2, -1), "fail": (3, 3)}
    assert changes[-1].counts == {"finished": 1, "completed": 1, "error": 1}  # type: ignore[union-attr]


def test_the_outbox_keeps_what_a_reader_did_not_acknowledge() -> None:
    """A reader that took events but never acknowledged them (an island manager that
    stopped) does not lose them: the next reader, starting at 0, gets them again."""
    box = EventOutbox()
    box.put(DropsChanged("n", "s", {"running": 1}, (("a", 0, 1),)))
    first, _ = box.take(0)
    box.put(NodeSessionEnded("n", "s", _S.FINISHED))

    _, again = box.take(0, acked=0)
    last, after = box.take(0, acked=first)

    assert [type(e).__name__ for e in again] == ["DropsChanged", "NodeSessionEnded"]
    assert [type(e).__name__ for e in after] == ["NodeSessionEnded"]
    assert box.take(0, acked=last) == (last, [])


def test_an_unread_outbox_stays_bounded() -> None:
    """Nobody reading: events are merged per session, changes capped and flagged."""
    box = EventOutbox(max_events=10, max_changes=25)
    for index in range(100):
        box.put(DropsChanged("n", "s", {"completed": index + 1}, ((f"d{index}", 2, -1),)))

    _, events = box.take(0)

    assert len(box._events) <= 11
    assert len(events) == 1
    merged = events[0]
    assert isinstance(merged, DropsChanged)
    assert merged.counts == {"completed": 100}
    assert len(merged.changes) == 25
    assert merged.truncated


_STEPS = ("create", "append", "deploy", "trigger", "cancel", "destroy")


def _request(manager: NodeManager, step: str, index: int) -> None:
    """Carry out one step of a random history (refusals raise LiurayError)."""
    from manager_helpers import app_spec, data_spec

    if step == "create":
        manager.create_session("s")
    elif step == "append":
        manager.append_graph(
            "s",
            [
                app_spec(f"a{index}", "SleepApp", outputs=(f"d{index}",), sleep_time=0),
                data_spec(f"d{index}"),
            ],
        )
    elif step == "deploy":
        manager.deploy("s")
    elif step == "trigger":
        manager.trigger("s")
    elif step == "cancel":
        manager.cancel_session("s")
    else:
        manager.destroy_session("s")


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.sampled_from(_STEPS), max_size=10))
def test_random_node_histories_report_consistently(
    tmp_path_factory: pytest.TempPathFactory, steps: list[str]
) -> None:
    """Any order of requests on a node manager: its session only moves through the
    table, refusals are LiurayErrors, the machine's invariants hold, and what it pushed
    is consistent: at most one end, after every change, in the state the session has."""
    from manager_helpers import reachable

    sink = Recorder()
    manager = NodeManager("n", tmp_path_factory.mktemp("node"), workers=2, events=sink)
    seen: list[SessionState] = []
    try:
        for index, step in enumerate(steps):
            try:
                _request(manager, step, index)
            except LiurayError:
                pass
            if step == "destroy":
                seen.clear()
                with sink.lock:
                    sink.events.clear()  # a new session "s" may follow
            session = manager._sessions.get("s")
            if session is None:
                continue
            state = session.current_state
            if seen and state is not seen[-1]:
                assert reachable(seen[-1], state), f"{seen[-1]} -> {state}"
            seen.append(state)
            if session.run is not None:
                with session.run.lock:
                    session.run.machine.check_invariants()
        session = manager._sessions.get("s")
        if session is not None and session.run is not None:
            session.run.wait(5)
            time.sleep(0.01)
            ends = [e for e in sink.events if isinstance(e, NodeSessionEnded)]
            assert len(ends) <= 1
            if session.current_state in SESSION_TERMINAL:
                assert ends and ends[0].state is session.current_state
                assert sink.events.index(ends[0]) == len(sink.events) - 1
    finally:
        manager.close()


def test_readers_waiting_at_once_are_all_woken_by_an_event_then_by_close() -> None:
    """More readers than the outbox's spare wake locks wait at once: one event wakes
    them all, each getting it; a timed wait with nothing coming returns empty; close()
    wakes readers waiting with no limit."""
    box = EventOutbox()
    readers = SPARE_WAKES + 2
    got: list[tuple[int, list[Any]]] = []
    threads = [threading.Thread(target=lambda: got.append(box.take(None))) for _ in range(readers)]
    for thread in threads:
        thread.start()
    assert sleeping(box, readers)
    box.put(NodeSessionEnded("n1", "s1", SessionState.FINISHED))
    for thread in threads:
        thread.join(10)
    assert [(last, len(events)) for last, events in got] == [(1, 1)] * readers

    assert box.take(0.01, acked=1) == (1, [])
    waiting = [threading.Thread(target=lambda: got.append(box.take(None, 1))) for _ in range(3)]
    for thread in waiting:
        thread.start()
    assert sleeping(box, 3)
    box.close()
    for thread in waiting:
        thread.join(10)
    assert not any(thread.is_alive() for thread in waiting)
    assert got[readers:] == [(1, [])] * 3


def sleeping(box: EventOutbox, readers: int) -> bool:
    """Wait until ``readers`` readers are asleep in ``box``."""
    deadline = time.monotonic() + 10
    while box._sleeping < readers and time.monotonic() < deadline:
        time.sleep(0.001)
    return box._sleeping == readers
