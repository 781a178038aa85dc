"""run_graph and the WorkerPool: whole graphs in this process, with real threads."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import BASH, COPY, HELLO, PYFUNC, SLEEP, app, data

import liuray
from liuray.engine.local import BATCH, QUICK_BATCH, WorkerPool, run_graph
from liuray.engine.session import GraphRun
from liuray.engine.states import AppState, DropState, SessionState
from liuray.errors import GraphError
from liuray.graph.physical import load_physical_graph


def scatter(n: int) -> list[dict[str, Any]]:
    specs = []
    for i in range(n):
        specs += [app(f"hello{i}", HELLO, greet=f"#{i}", outputs=[f"g{i}"]), data(f"g{i}")]
    return specs


def chain(hops: int) -> list[dict[str, Any]]:
    specs = [app("head", HELLO, greet="chain", outputs=["d0"]), data("d0")]
    for i in range(1, hops + 1):
        specs += [app(f"copy{i}", COPY, inputs=[f"d{i - 1}"], outputs=[f"d{i}"]), data(f"d{i}")]
    return specs


def test_scatter_of_a_thousand_pairs(tmp_path: Path) -> None:
    """1,000 independent HelloWorld apps all run and each writes its own greeting."""
    result = run_graph(scatter(1000), workers=4, session_dir=tmp_path)
    assert result.ok
    assert result.state is SessionState.FINISHED
    assert result.counts == {"finished": 1000, "completed": 1000}
    assert result.failures == []
    values = {result.value(f"g{i}") for i in range(1000)}
    assert values == {f"Hello #{i}".encode() for i in range(1000)}


def test_chain_of_copies_delivers_the_value_and_frees_the_middle(tmp_path: Path) -> None:
    """head -> d0 -> copy1 -> d1 ... -> copy500 -> d500: the greeting reaches the end.

    Every intermediate memory drop was read by its only consumer and released (EXPIRED);
    only the final result keeps its payload.
    """
    result = run_graph(chain(500), workers=2, session_dir=tmp_path)
    assert result.ok
    assert result.value("d500") == b"Hello chain"
    assert result.counts == {"finished": 501, "expired": 500, "completed": 1}


def test_timeout_cancels_the_session(tmp_path: Path) -> None:
    """A 30 s sleep with a 0.3 s timeout: the run returns CANCELLED in well under 30 s."""
    began = time.monotonic()
    result = run_graph(
        [app("nap", SLEEP, sleep_time=30, outputs=["after"]), data("after")],
        timeout=0.3,
        session_dir=tmp_path,
    )
    assert result.state is SessionState.CANCELLED
    assert not result.ok
    assert result.counts == {"cancelled": 2}
    assert time.monotonic() - began < 5


CPU_WORK = """
def work(n):
    import os
    return os.getpid(), sum(i * i for i in range(n))
"""


def test_process_pool_runs_python_functions_in_another_process(tmp_path: Path) -> None:
    """processes=2 sends a CPU-bound PyFuncApp to a worker process (a different pid)."""
    specs = [app("cpu", PYFUNC, func_code=CPU_WORK, n=200_000, outputs=["out"]), data("out")]
    result = run_graph(specs, processes=2, session_dir=tmp_path)
    assert result.ok, result.failures
    pid, total = result.value("out")
    assert total == sum(i * i for i in range(200_000))
    assert pid != os.getpid()


def test_without_processes_functions_run_in_this_process(tmp_path: Path) -> None:
    """The default runs Python functions on a worker thread of this process."""
    specs = [app("cpu", PYFUNC, func_code=CPU_WORK, n=10, outputs=["out"]), data("out")]
    result = run_graph(specs, session_dir=tmp_path)
    assert result.value("out") == (os.getpid(), 285)


def test_failures_are_reported(tmp_path: Path) -> None:
    """A failing bash app makes the run FAILED and names the drop and the reason."""
    specs = [app("bad", BASH, command="exit 7", outputs=["d"]), data("d")]
    result = run_graph(specs, session_dir=tmp_path)
    assert result.state is SessionState.FAILED
    assert not result.ok
    assert result.failures == [
        ("bad", "DropExecutionError: command exited with status 7: 'exit 7'"),
        ("d", "producer 'bad' failed"),
    ]


def test_root_causes_come_before_the_drops_they_failed(tmp_path: Path) -> None:
    """Drops that failed on their own are listed first, even when the consequences sort
    before them by name or kind (an app "a_join" in error only because of its input)."""
    specs = [
        app("z_bad", BASH, command="exit 3", outputs=["b_out"]),
        data("b_out"),
        app("a_join", COPY, inputs=["b_out"], outputs=["c_final"]),
        data("c_final"),
        app("y_lost", PYFUNC, func_name="no_such_module_xyz.f", outputs=["e"]),
        data("e"),
    ]
    result = run_graph(specs, session_dir=tmp_path)
    uids = [uid for uid, _ in result.failures]
    assert uids == ["y_lost", "z_bad", "a_join", "b_out", "c_final", "e"]
    assert [uid for uid, _ in result.root_causes] == ["y_lost", "z_bad"]
    assert dict(result.failures)["a_join"].startswith("1 of 1 inputs in error")


def test_code_path_puts_the_pipeline_code_on_sys_path_for_the_run(tmp_path: Path) -> None:
    """liuray.run(graph, code_path=DIR) imports func_name from DIR, then leaves sys.path
    as it was; a code_path that is not a directory is refused before anything runs."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "mypipe_for_code_path.py").write_text("def twice(x=21):\n    return 2 * x\n")
    specs = [
        app("f", PYFUNC, func_name="mypipe_for_code_path.twice", outputs=["out"]),
        data("out"),
    ]
    before = list(sys.path)
    result = liuray.run(specs, session_dir=tmp_path / "s", code_path=code)
    assert result.ok, result.failures
    assert result.value("out") == 42
    assert sys.path == before
    with pytest.raises(NotADirectoryError, match="nowhere"):
        liuray.run(specs, session_dir=tmp_path / "s2", code_path=[code, tmp_path / "nowhere"])
    assert not (tmp_path / "s2").exists()


def test_progress_is_reported_until_the_end(tmp_path: Path) -> None:
    """progress() is called while running and once more with the final counts."""
    calls: list[tuple[dict[str, int], int]] = []
    specs = [app("nap", SLEEP, sleep_time=0.15, outputs=["d"]), data("d")]
    run_graph(
        specs,
        session_dir=tmp_path,
        progress=lambda counts, total: calls.append((counts, total)),
        progress_interval=0.02,
    )
    assert len(calls) >= 2
    assert calls[0] == ({"running": 1, "initialized": 1}, 2)
    assert calls[-1] == ({"finished": 1, "completed": 1}, 2)


def test_default_session_directory_is_under_liuray_home(_liuray_home: Path) -> None:
    """Without session_dir the session lives in $LIURAY_HOME/sessions/<session id>."""
    specs = [app("touch", BASH, command="touch made-here")]
    result = run_graph(specs, session_id="mine")
    assert result.ok
    assert result.session_id == "mine"
    assert result.session_dir == _liuray_home / "sessions" / "mine"
    assert (result.session_dir / "made-here").exists()


def test_generated_session_ids_are_unique(tmp_path: Path) -> None:
    """Two runs without a session id get different readable ids."""
    first = run_graph([], session_dir=tmp_path / "a")
    second = run_graph([], session_dir=tmp_path / "b")
    assert first.session_id.startswith("session-")
    assert first.session_id != second.session_id
    assert first.state is SessionState.FINISHED


def test_graph_from_a_json_file(tmp_path: Path) -> None:
    """liuray.run accepts a path to a physical graph JSON file (reprodata included)."""
    path = tmp_path / "hello.json"
    path.write_text(json.dumps([app("h", HELLO, outputs=["g"]), data("g"), {}]))
    result = liuray.run(str(path), session_dir=tmp_path / "s")
    assert result.read("g") == b"Hello World"


def test_only_given_roots_are_triggered(tmp_path: Path) -> None:
    """roots= triggers just those drops; the run ends once nothing more can happen.

    The untriggered app never runs, so the session is cancelled by the timeout.
    """
    specs = [app("a", HELLO, outputs=["x"]), data("x"), app("b", HELLO, outputs=["y"]), data("y")]
    result = run_graph(specs, roots=["a"], timeout=0.3, session_dir=tmp_path)
    assert result.state is SessionState.CANCELLED
    assert result.value("x") == b"Hello World"
    assert result.run.machine.nodes["b"].app_state == "cancelled"


# --------------------------------------------------------------------------- the pool


def pool_threads(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(f"{name}-")]


def test_pool_starts_all_its_threads_at_the_first_submit(tmp_path: Path) -> None:
    """No thread before work arrives; then exactly ``workers`` threads, started together
    (not one by one as a burst grows), and none once shut down."""
    pool = WorkerPool(2, name="bounded-pool")
    assert pool_threads("bounded-pool") == []
    run = GraphRun(
        load_physical_graph(scatter(200)), session_id="s", session_dir=tmp_path, pool=pool
    )
    run.start()
    assert run.wait(10)
    assert len(pool_threads("bounded-pool")) == 2
    pool.shutdown()
    assert pool_threads("bounded-pool") == []


def test_submit_after_shutdown_is_refused(tmp_path: Path) -> None:
    """A shut-down pool says so instead of silently dropping work."""
    pool = WorkerPool(1)
    run = GraphRun(load_physical_graph(scatter(1)), session_id="s", session_dir=tmp_path, pool=pool)
    pool.shutdown()
    with pytest.raises(RuntimeError, match="the worker pool is shut down"):
        run.start()


def test_workers_default_to_the_cpu_count() -> None:
    """WorkerPool() sizes itself from the machine; a size below one is raised to one."""
    assert WorkerPool().workers == (os.cpu_count() or 1)
    assert WorkerPool(0).workers == (os.cpu_count() or 1)
    assert WorkerPool(-3).workers == 1


def test_an_end_drop_ends_the_session_skipping_what_has_not_run(tmp_path: Path) -> None:
    """DALiuGE's EndDROP: once "stop" completes, the app waiting behind a slow step is
    never run (SKIPPED, with its output) and the session FINISHES at once; the running
    slow step itself finishes with its output."""
    end = "dlg.data.drops.data_base.EndDROP"
    specs = [
        app("quick", HELLO, outputs=["stop"]),
        data("stop", end),
        app("slow", SLEEP, sleep_time=0.3, outputs=["slow_out"]),
        data("slow_out"),
        app("later", COPY, inputs=["slow_out"], outputs=["never"]),
        data("never"),
    ]
    result = run_graph(specs, session_dir=tmp_path, timeout=10)
    states = {uid: (n.state, n.app_state) for uid, n in result.run.machine.nodes.items()}
    assert result.state is SessionState.FINISHED
    assert states["stop"][0] is DropState.COMPLETED
    assert states["slow"][1] is AppState.FINISHED
    assert states["later"][1] is AppState.SKIPPED
    assert states["never"][0] is DropState.SKIPPED


def test_check_filepath_exists_applies_to_input_files_only(tmp_path: Path) -> None:
    """An input file (nothing produces it) flagged check_filepath_exists must exist, or
    the run is refused before anything runs; on a produced file the flag is ignored."""
    file = "dlg.data.drops.file.FileDROP"
    produced = [
        app("w", BASH, command="echo hi > %o0", outputs=["out"]),
        data("out", file, filepath="out.txt", check_filepath_exists="1"),
    ]
    assert run_graph(produced, session_dir=tmp_path / "a").ok
    missing = [
        data("in", file, filepath=str(tmp_path / "nope.txt"), check_filepath_exists=True),
        app("r", BASH, command="cat %i0", inputs=["in"]),
    ]
    with pytest.raises(GraphError, match=r"check_filepath_exists is set but .*nope.txt"):
        run_graph(missing, session_dir=tmp_path / "b")
    missing[0]["check_filepath_exists"] = "0"
    assert run_graph(missing, session_dir=tmp_path / "c").ok


def test_a_file_drop_completed_unwritten_exists_empty(tmp_path: Path) -> None:
    """As in DALiuGE, a root file drop completed without being written is an empty file
    afterwards, so ``dd if=...`` on it works (DALiuGE's ddTest graph relies on it)."""
    file = "dlg.data.drops.file.FileDROP"
    specs = [
        data("root", file, filepath="root.bin"),
        app("dd", BASH, command="dd if=%i0 of=%o0 2>/dev/null", inputs=["root"], outputs=["o"]),
        data("o", file, filepath="copy.bin"),
    ]
    result = run_graph(specs, session_dir=tmp_path)
    assert result.ok, result.failures
    assert (tmp_path / "root.bin").read_bytes() == b""


class _CountingRun:
    """Stands in for a GraphRun: apps take ``seconds`` each; records each apply's size."""

    session_id = "counting"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.applied: list[int] = []
        self.done = threading.Event()
        self.total = 0

    def run_app(self, uid: str, attempt: int) -> Any:
        if self.seconds:
            time.sleep(self.seconds)
        return uid

    def apply(self, *events: Any) -> None:
        self.applied.append(len(events))
        if sum(self.applied) == self.total:
            self.done.set()


@pytest.mark.parametrize(("seconds", "largest"), [(0.0, QUICK_BATCH), (0.002, 1)])
def test_quick_apps_are_taken_and_reported_in_larger_batches(seconds: float, largest: int) -> None:
    """A worker's first batch from a long queue is ``BATCH`` apps; while they are all
    quick the next ones are larger (``QUICK_BATCH``), their outcomes applied together;
    an app slower than ``QUICK_APP_S`` has its outcome applied at once, and the batches
    stay small."""
    run = _CountingRun(seconds)
    run.total = 2000 if not seconds else 100
    pool = WorkerPool(1)
    pool.submit_many(run, [(f"a{i}", 1) for i in range(run.total)])  # type: ignore[arg-type]
    assert run.done.wait(30)
    pool.shutdown()
    assert run.applied[0] == (BATCH if not seconds else 1)
    assert max(run.applied) == largest
