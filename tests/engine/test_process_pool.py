"""A Python app that kills its worker process fails alone; the pool carries on.

Real worker processes die here, by a segmentation fault and by ``os._exit``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from engine_helpers import BASH, PYFUNC, app, data

from liuray.engine.local import run_graph
from liuray.engine.process_pool import ProcessPool, WorkerProcessDied
from liuray.engine.states import AppState, SessionState

# faulthandler (on under pytest, inherited by the forked worker) is switched off first,
# so the expected crash does not print a "Fatal Python error" traceback into the log.
SEGFAULT = (
    "def crash():\n    import ctypes, faulthandler\n    faulthandler.disable()\n"
    "    return ctypes.string_at(0)\n"
)
EXIT = "def crash():\n    import os\n    os._exit(3)\n"
PID = "def pid(_=None):\n    import os\n    return os.getpid()\n"


@pytest.mark.parametrize("code", [SEGFAULT, EXIT], ids=["segfault", "os._exit"])
def test_an_app_that_kills_its_worker_fails_and_later_apps_still_run(
    tmp_path: Path, code: str
) -> None:
    """The crashing app is in ERROR with a message saying its worker died; an app that
    runs afterwards (it waits for a 0.5 s bash step) gets a fresh worker and finishes."""
    specs = [
        app("crash", PYFUNC, func_code=code, outputs=["c"]),
        data("c"),
        app("wait", BASH, command="sleep 0.5; echo go", outputs=["w"]),
        data("w"),
        app("after", PYFUNC, func_code=PID, inputs=["w"], outputs=["p"]),
        data("p"),
    ]
    result = run_graph(specs, processes=1, session_dir=tmp_path / "s", timeout=30)
    nodes = result.run.machine.nodes
    assert result.state is SessionState.FAILED
    assert nodes["crash"].app_state is AppState.ERROR
    assert "WorkerProcessDied: the worker process running this app died" in nodes["crash"].error
    assert nodes["after"].app_state is AppState.FINISHED
    assert result.value("p") != os.getpid()  # it really ran in a (new) worker process
    assert [uid for uid, _ in result.root_causes] == ["crash"]


def test_the_pool_replaces_itself_once_per_break() -> None:
    """Several calls lost to one broken pool cause one restart, and the pool works on."""
    pool = ProcessPool(2)
    try:
        crashes = [pool.submit(os._exit, 1) for _ in range(3)]
        for future in crashes:
            with pytest.raises(WorkerProcessDied):
                future.result(timeout=30)
        assert pool.submit(pow, 3, 3).result(timeout=30) == 27
        assert 1 <= pool.restarts <= 2
    finally:
        pool.shutdown()
