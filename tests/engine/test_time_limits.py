"""App time limits and retries with back-off, on real threads and real bash processes.

``timeout`` (per app, or ``app_timeout`` for the run) fails an attempt that runs too
long - bash apps lose their whole process group - and ``retry_delay`` spaces retries out,
doubling each time. Every test reads what really happened (files the commands wrote,
processes still alive, wall-clock times), not only the drop states.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from engine_helpers import BASH, PYFUNC, app, data

from liuray.engine.local import run_graph
from liuray.engine.states import AppState, SessionState
from liuray.errors import GraphError


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_hung_bash_app_is_killed_at_its_timeout(tmp_path: Path) -> None:
    """``sleep 30`` with timeout 0.3: the attempt fails with TimeoutError well before the
    sleep would end, and the sleeping process (a grandchild of bash) is gone."""
    pid_file = tmp_path / "pid"
    command = f"sleep 30 & echo $! > {pid_file}; wait"
    specs = [app("hang", BASH, command=command, timeout=0.3, outputs=["d"]), data("d")]
    started = time.monotonic()
    result = run_graph(specs, session_dir=tmp_path / "s", timeout=20)
    assert time.monotonic() - started < 5
    assert result.state is SessionState.FAILED
    assert result.failures[0] == ("hang", "TimeoutError: did not finish within 0.3 s")
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 2
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(pid)


def test_a_timed_out_attempt_is_retried_and_the_retry_can_finish(tmp_path: Path) -> None:
    """n_tries=2: the first attempt hangs and is timed out; the second (which finds the
    first one's marker) finishes, so the run FINISHES with the second attempt's output."""
    marker = tmp_path / "first-attempt-ran"
    command = f"if [ -e {marker} ]; then echo second; else touch {marker}; sleep 30; fi"
    specs = [
        app("flaky", BASH, command=command, timeout=0.4, n_tries=2, outputs=["out"]),
        data("out"),
    ]
    result = run_graph(specs, session_dir=tmp_path / "s", timeout=20)
    assert result.ok, result.failures
    assert result.read("out") == b"second\n"
    log = result.run.detail("flaky").logs
    assert any("timed out after 0.4 s (attempt 1)" in line for line in log)


def test_a_python_function_past_its_timeout_fails_without_waiting_for_it(
    tmp_path: Path,
) -> None:
    """A function that cannot be interrupted (time.sleep(3)) is declared failed at its
    timeout: the run ends long before the function returns, and its late result is
    dropped rather than written to the output."""
    code = "def slow():\n    import time\n    time.sleep(3)\n    return 'late'\n"
    specs = [app("slow", PYFUNC, func_code=code, timeout=0.2, outputs=["o"]), data("o")]
    started = time.monotonic()
    result = run_graph(specs, session_dir=tmp_path / "s", timeout=20)
    assert time.monotonic() - started < 2.5
    assert result.state is SessionState.FAILED
    assert result.run.machine.nodes["slow"].app_state is AppState.ERROR
    assert "within 0.2 s" in dict(result.failures)["slow"]


def test_app_timeout_is_the_default_and_an_apps_own_timeout_wins(tmp_path: Path) -> None:
    """run_graph(app_timeout=0.3) limits every app; one that says timeout=10 may run
    longer (0.8 s here) and finishes."""
    specs = [
        app("limited", BASH, command="sleep 20", outputs=["a"]),
        data("a"),
        app("patient", BASH, command="sleep 0.8; echo done", timeout=10, outputs=["b"]),
        data("b"),
    ]
    result = run_graph(specs, session_dir=tmp_path / "s", app_timeout=0.3, timeout=20)
    nodes = result.run.machine.nodes
    assert nodes["limited"].app_state is AppState.ERROR
    assert nodes["patient"].app_state is AppState.FINISHED
    assert result.read("b") == b"done\n"


def test_retries_back_off_doubling_the_delay(tmp_path: Path) -> None:
    """retry_delay=0.2 and n_tries=3 on a command that fails twice: the attempts start
    about 0.2 s and then 0.4 s apart (never sooner), and the third one succeeds."""
    stamps = tmp_path / "stamps"
    command = f"date +%s.%N >> {stamps}; [ $(wc -l < {stamps}) -ge 3 ] && echo ok || exit 1"
    specs = [
        app("retry", BASH, command=command, n_tries=3, retry_delay=0.2, outputs=["o"]),
        data("o"),
    ]
    result = run_graph(specs, session_dir=tmp_path / "s", timeout=20)
    assert result.ok, result.failures
    times = [float(line) for line in stamps.read_text().split()]
    assert len(times) == 3
    first_gap, second_gap = times[1] - times[0], times[2] - times[1]
    assert 0.2 <= first_gap < 1.5
    assert 0.4 <= second_gap < 2.0


def test_cancel_during_a_back_off_ends_the_session_at_once(tmp_path: Path) -> None:
    """A retry waiting 30 s is not run once the session is cancelled (timeout=1 on the
    run): the session ends CANCELLED about when cancelled and the command ran once."""
    stamps = tmp_path / "stamps"
    command = f"echo x >> {stamps}; exit 1"
    specs = [
        app("wait", BASH, command=command, n_tries=3, retry_delay=30, outputs=["o"]),
        data("o"),
    ]
    started = time.monotonic()
    result = run_graph(specs, session_dir=tmp_path / "s", timeout=1)
    assert time.monotonic() - started < 5
    assert result.state is SessionState.CANCELLED
    time.sleep(0.2)
    assert stamps.read_text() == "x\n"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"timeout": "soon"}, "'timeout' must be a number"),
        ({"retry_delay": -1}, "'timeout' and 'retry_delay' are seconds"),
    ],
)
def test_bad_time_limits_are_refused_before_anything_runs(
    tmp_path: Path, fields: dict[str, object], message: str
) -> None:
    specs = [app("a", BASH, command="echo hi", outputs=["o"], **fields), data("o")]
    with pytest.raises(GraphError, match=message):
        run_graph(specs, session_dir=tmp_path / "s")


def test_a_functions_own_timeout_argument_is_not_the_apps_time_limit(tmp_path: Path) -> None:
    """An application argument named ``timeout`` belongs to the function (it gets 0.05)
    and does not limit the app, which runs 0.3 s and finishes."""
    code = "def wait(timeout):\n    import time\n    time.sleep(0.3)\n    return timeout\n"
    spec = app("f", PYFUNC, func_code=code, outputs=["o"])
    spec["applicationArgs"] = {"timeout": {"value": 0.05, "type": "Float", "usage": "NoPort"}}
    result = run_graph([spec, data("o")], session_dir=tmp_path / "s", timeout=20)
    assert result.ok, result.failures
    assert result.value("o") == 0.05
