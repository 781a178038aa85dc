"""GraphRun with real threads: drop objects, the machine and the worker pool together."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import BASH, HELLO, PYFUNC, SLEEP, app, data

import liuray
from liuray.engine.apps.base import AppDrop
from liuray.engine.local import WorkerPool
from liuray.engine.session import GraphRun
from liuray.engine.states import AppState, DropState, SessionState
from liuray.graph.physical import load_physical_graph
from liuray.types import DropUid


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    workers = WorkerPool(4)
    yield workers
    workers.shutdown(wait=False)


def start(specs: list[dict[str, Any]], pool: WorkerPool, directory: Path, **kw: Any) -> GraphRun:
    run = GraphRun(
        load_physical_graph(specs),
        session_id=directory.name,
        session_dir=directory,
        pool=pool,
        **kw,
    )
    run.start()
    return run


def wait_for(condition: Any, timeout: float = 5.0) -> None:
    """Poll ``condition()`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(0.005)


# --------------------------------------------------------------------------- cancel


def test_cancel_ends_a_long_sleep_quickly(tmp_path: Path) -> None:
    """A 30 s SleepApp is cancelled: the session is CANCELLED at once and its worker freed.

    The pool has a single worker, so the next session can only run if the sleeping app
    really woke up.
    """
    pool = WorkerPool(1)
    nap = [app("nap", SLEEP, sleep_time=30, outputs=["after"]), data("after")]
    run = start(nap, pool, tmp_path / "nap")
    wait_for(lambda: run.machine.nodes["nap"].app_state is AppState.RUNNING)
    began = time.monotonic()
    run.cancel()
    assert run.wait(2)
    assert run.state is SessionState.CANCELLED
    assert run.counts() == {"cancelled": 2}
    assert run.drop_states() == {
        "nap": (DropState.CANCELLED, AppState.CANCELLED),
        "after": (DropState.CANCELLED, None),
    }
    hello = start([app("hello", HELLO, outputs=["g"]), data("g")], pool, tmp_path / "next")
    assert hello.wait(2)
    pool.shutdown()
    assert hello.state is SessionState.FINISHED
    assert time.monotonic() - began < 2


def test_cancel_kills_the_bash_process_group(pool: WorkerPool, tmp_path: Path) -> None:
    """`sleep 30` in a bash app: cancel kills its whole process group, not just bash."""
    pid_file = tmp_path / "pgid"
    command = f"sleep 0.2; echo $$ > {pid_file}; sleep 30"
    run = start([app("shell", BASH, command=command)], pool, tmp_path / "s")
    wait_for(lambda: pid_file.exists() and pid_file.read_text().strip() != "")
    group = int(pid_file.read_text())
    os.killpg(group, 0)  # alive before the cancel
    run.cancel()
    assert run.wait(2)
    assert run.state is SessionState.CANCELLED

    def group_gone() -> bool:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(group_gone, timeout=5)


# --------------------------------------------------------------------------- retries


FLAKY = """
def flaky(counter):
    import pathlib
    path = pathlib.Path(counter)
    attempt = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(attempt))
    if attempt < 3:
        raise RuntimeError(f"attempt {attempt} failed")
    return attempt
"""


@pytest.mark.parametrize(("tries", "state"), [(3, SessionState.FINISHED), (2, SessionState.FAILED)])
def test_flaky_function_is_retried(
    pool: WorkerPool, tmp_path: Path, tries: int, state: SessionState
) -> None:
    """A function failing twice then working: FINISHED with n_tries=3, FAILED with 2."""
    counter = tmp_path / "attempts"
    specs = [
        app(
            "flaky",
            PYFUNC,
            func_code=FLAKY,
            counter=str(counter),
            n_tries=tries,
            outputs=["result"],
        ),
        data("result"),
    ]
    run = start(specs, pool, tmp_path / "s")
    assert run.wait(10)
    assert run.state is state
    assert counter.read_text() == str(min(tries, 3))
    if state is SessionState.FINISHED:
        assert run.drops["result"].get() == 3  # type: ignore[union-attr]
        assert run.failures() == []
    else:
        assert run.failures() == [
            ("flaky", "RuntimeError: attempt 2 failed"),
            ("result", "producer 'flaky' failed"),
        ]
    logs = run.detail("flaky").logs
    assert any("RuntimeError: attempt 1 failed" in line for line in logs)


def test_sys_exit_fails_the_drop_instead_of_hanging(pool: WorkerPool, tmp_path: Path) -> None:
    """A function calling sys.exit() fails its drop; the worker and the session carry on."""
    code = "def leave():\n    import sys\n    sys.exit(3)\n"
    run = start([app("quit", PYFUNC, func_code=code, outputs=["r"]), data("r")], pool, tmp_path)
    assert run.wait(5)
    assert run.state is SessionState.FAILED
    assert run.failures()[0] == ("quit", "SystemExit: 3")


# --------------------------------------------------------------------------- streaming


class ChunkWriter(AppDrop):
    """Writes its ``chunks`` parameter one by one to every output."""

    def run(self) -> None:
        for chunk in self.param("chunks"):
            for out in self.outputs:
                out.write(chunk)


class StreamRecorder(AppDrop):
    """Records every streamed chunk, then what its input holds when it finally runs."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.seen: list[tuple[str, Any]] = []

    def data_written(self, uid: DropUid, chunk: bytes) -> None:
        run: Any = self.context
        self.seen.append(("chunk", (uid, chunk, run.machine.nodes["writer"].app_state)))

    def run(self) -> None:
        self.seen.append(("run", b"".join(d.read_bytes() for d in self.streaming_inputs)))


def test_streaming_consumer_gets_chunks_as_written_then_runs(
    pool: WorkerPool, tmp_path: Path
) -> None:
    """writer -> stream ~> recorder: each chunk reaches the recorder while the writer
    is still running, and the recorder runs once the stream completed."""
    specs = [
        app("writer", f"{__name__}.ChunkWriter", chunks=["a", "bb", "ccc"], outputs=["stream"]),
        data("stream", streamingConsumers=["recorder"]),
        app("recorder", f"{__name__}.StreamRecorder"),
    ]
    run = start(specs, pool, tmp_path)
    assert run.wait(5)
    assert run.state is SessionState.FINISHED
    recorder = run.drops["recorder"]
    assert isinstance(recorder, StreamRecorder)
    running = AppState.RUNNING
    assert recorder.seen == [
        ("chunk", ("stream", b"a", running)),
        ("chunk", ("stream", b"bb", running)),
        ("chunk", ("stream", b"ccc", running)),
        ("run", b"abbccc"),
    ]


class GatedWriter(AppDrop):
    """Writes one chunk, then waits for the test to open ``gate``."""

    gate = threading.Event()

    def run(self) -> None:
        self.outputs[0].write(b"half")
        type(self).gate.wait(5)


def test_first_write_marks_the_drop_writing(
    pool: WorkerPool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a producer is mid-way, its output is WRITING (DataWritten reached the machine)."""
    gate = threading.Event()
    monkeypatch.setattr(GatedWriter, "gate", gate)
    specs = [app("w", f"{__name__}.GatedWriter", outputs=["d"]), data("d")]
    run = start(specs, pool, tmp_path)
    wait_for(lambda: run.machine.nodes["d"].state is DropState.WRITING)
    assert run.machine.nodes["w"].app_state is AppState.RUNNING
    gate.set()
    assert run.wait(5)
    assert run.machine.nodes["d"].state is DropState.COMPLETED
    assert run.drops["d"].read_bytes() == b"half"  # type: ignore[union-attr]


# --------------------------------------------------------------------------- sharing


def test_two_sessions_share_one_pool_in_isolation(pool: WorkerPool, tmp_path: Path) -> None:
    """Two graphs run at once on one pool; each app works in its own session directory."""
    specs = [app("where", BASH, command="pwd", outputs=["cwd"]), data("cwd")]
    slow = [app("wait", SLEEP, sleep_time=0.2, outputs=["gate"]), data("gate")]
    first = start(specs + slow, pool, tmp_path / "first")
    second = start(specs + slow, pool, tmp_path / "second")
    assert first.wait(10)
    assert second.wait(10)
    assert (first.state, second.state) == (SessionState.FINISHED, SessionState.FINISHED)
    first_dir = first.drops["cwd"].read_bytes().decode().strip()  # type: ignore[union-attr]
    second_dir = second.drops["cwd"].read_bytes().decode().strip()  # type: ignore[union-attr]
    assert Path(first_dir) == (tmp_path / "first").resolve()
    assert Path(second_dir) == (tmp_path / "second").resolve()
    assert first.counts() == second.counts() == {"finished": 2, "completed": 2}


# --------------------------------------------------------------------------- callbacks


def test_callbacks_publish_watched_drops_and_the_end(pool: WorkerPool, tmp_path: Path) -> None:
    """on_publish hears about watched drops, on_end once when the session ends."""
    published: list[tuple[str, DropState, str]] = []
    ended: list[SessionState] = []
    specs = [app("hello", HELLO, outputs=["greeting"]), data("greeting")]
    run = start(
        specs,
        pool,
        tmp_path,
        watched={"greeting"},
        on_publish=lambda _run, uid, state, reason: published.append((uid, state, reason)),
        on_end=lambda r: ended.append(r.state),
    )
    assert run.wait(5)
    wait_for(lambda: ended != [])
    assert published == [("greeting", DropState.COMPLETED, "")]
    assert ended == [SessionState.FINISHED]
    # A watched drop is never released: other nodes still have to read it.
    assert run.drops["greeting"].get() == b"Hello World"  # type: ignore[union-attr]


def test_a_failing_callback_does_not_kill_the_worker(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """on_end raising is logged; the pool's only worker goes on to run the next session."""
    pool = WorkerPool(1)
    specs = [app("hello", HELLO, outputs=["greeting"]), data("greeting")]

    def broken(_run: GraphRun) -> None:
        raise RuntimeError("callback bug")

    with caplog.at_level(logging.ERROR, logger="liuray.engine.local"):
        first = start(specs, pool, tmp_path / "first", on_end=broken)
        assert first.wait(5)
        second = start(specs, pool, tmp_path / "second")
        assert second.wait(5)
    pool.shutdown()
    assert second.state is SessionState.FINISHED
    (record,) = caplog.records  # logged exactly once
    assert record.message.startswith("worker failed")
    assert "session 'first'" in record.message


# --------------------------------------------------------------------------- inspection


def test_detail_of_an_app_and_of_data(pool: WorkerPool, tmp_path: Path) -> None:
    """detail() reports states, timings and errors per drop."""
    specs = [app("bad", BASH, command="echo oops >&2; exit 4", outputs=["d"]), data("d")]
    run = start(specs, pool, tmp_path)
    assert run.wait(5)
    detail = run.detail("bad")
    assert detail.state is DropState.ERROR
    assert detail.app_state is AppState.ERROR
    assert detail.error is not None and "status 4" in detail.error
    assert "oops" in detail.logs
    assert detail.started_at is not None and detail.finished_at is not None
    assert detail.finished_at >= detail.started_at > 0
    assert run.detail("d").error == "producer 'bad' failed"
    assert run.detail("d").app_state is None
    with pytest.raises(Exception, match=r"no drop 'x' in session"):
        run.detail("x")


def test_python_app_log_records_are_captured_in_its_drop_detail(tmp_path: Path) -> None:
    """A Python function logs a warning while it runs: the line shows in that drop's
    detail, and another app's detail stays free of it."""
    code = (
        "def noisy():\n"
        "    import logging\n"
        "    logging.getLogger('pipeline.calibrate').warning('antenna 7 flagged')\n"
        "    return 1\n"
    )
    result = liuray.run_graph(
        [
            {
                "oid": "noisy",
                "categoryType": "Application",
                "dropclass": "dlg.apps.pyfunc.PyFuncApp",
                "func_code": code,
                "outputs": ["out"],
            },
            {
                "oid": "out",
                "categoryType": "Data",
                "dropclass": "dlg.data.drops.memory.InMemoryDROP",
                "consumers": ["quiet"],
            },
            {
                "oid": "quiet",
                "categoryType": "Application",
                "dropclass": "dlg.apps.simple.NullBarrierApp",
            },
        ],
        session_dir=tmp_path,
    )
    assert result.ok
    assert "WARNING pipeline.calibrate: antenna 7 flagged" in result.run.detail("noisy").logs
    assert result.run.detail("quiet").logs == ()


def test_drops_with_tuning_parameters_keep_the_graph_order(
    pool: WorkerPool, tmp_path: Path
) -> None:
    """A drop with a tuning parameter (``n_tries``) or a streaming link is linked the long
    way, after the others: the session's drops and the machine's nodes still list every
    drop in the graph's order, and the graph runs."""
    specs = [
        app("a", HELLO, outputs=["x"]),
        data("x", consumers=["b"]),
        app("b", HELLO, inputs=["x"], outputs=["y"], n_tries=2),
        data("y", persist=True),
        app("c", HELLO, outputs=["z"]),
        data("z"),
    ]
    run = start(specs, pool, tmp_path)
    assert run.wait(5)
    order = ["a", "x", "b", "y", "c", "z"]
    assert list(run.drops) == order
    assert list(run.machine.nodes) == order
    assert run.machine.nodes["b"].tries == 2
    assert run.state is SessionState.FINISHED
