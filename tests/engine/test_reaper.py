"""The group reaper: bash commands do not outlive the process that started them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from liuray.engine.reaper import Gate, GroupReaper, start_time

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def running(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie awaiting its parent counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def gone_within(pids: list[int], seconds: float) -> list[int]:
    """Wait up to ``seconds`` for ``pids`` to end; returns those still running."""
    deadline = time.monotonic() + seconds
    while any(running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    return [pid for pid in pids if running(pid)]


@contextmanager
def groups(count: int) -> Iterator[list[subprocess.Popen[str]]]:
    """``count`` process groups, each a bash leader with a background ``sleep`` (its
    pid the first line of the leader's output); whatever survives the test is killed."""
    started = [
        subprocess.Popen(
            ["/bin/bash", "-c", "sleep 60 & echo $!; wait"],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for _ in range(count)
    ]
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            assert process.stdout is not None
            process.stdout.close()


def background_child(leader: subprocess.Popen[str]) -> int:
    assert leader.stdout is not None
    return int(leader.stdout.readline())


def test_the_reaper_kills_only_registered_groups_whose_leader_it_knows() -> None:
    """Three groups: one registered, one registered then forgotten, one registered with
    another start time (as if its process id had been recycled). When the pipe closes
    the reaper kills the first whole group, the background child included, leaves the
    other two alone, and exits 0."""
    with groups(3) as (guarded, forgotten, recycled):
        children = [background_child(leader) for leader in (guarded, forgotten, recycled)]
        reaper = GroupReaper.start()
        reaper.watch(guarded.pid)
        reaper.watch(forgotten.pid)
        reaper.forget(forgotten.pid)
        recycled_start = start_time(recycled.pid)
        assert recycled_start is not None
        reaper.watch(recycled.pid, started=recycled_start + 1)
        assert running(reaper.pid)
        reaper.close()
        assert reaper.wait(timeout=30) == 0

        assert guarded.wait(timeout=30) == -signal.SIGKILL
        assert gone_within([children[0]], 30) == []
        assert forgotten.poll() is None and running(children[1])
        assert recycled.poll() is None and running(children[2])


def test_a_group_whose_leader_ended_is_killed_with_what_still_runs_in_it() -> None:
    """The leader exits (and is reaped) but leaves its background child running in its
    group, as when something killed the bash command itself: the reaper still kills
    the group (its id cannot have been given to another process meanwhile)."""
    leader = subprocess.Popen(
        ["/bin/bash", "-c", "sleep 60 & echo $!"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        child = background_child(leader)
        reaper = GroupReaper.start()
        reaper.watch(leader.pid)
        assert leader.wait(timeout=30) == 0  # reaped: /proc/<leader> is gone
        assert start_time(leader.pid) is None and running(child)
        reaper.close()
        assert reaper.wait(timeout=30) == 0
        assert gone_within([child], 30) == []
    finally:
        try:
            os.killpg(leader.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        assert leader.stdout is not None
        leader.stdout.close()


@pytest.mark.parametrize("registered", [True, False], ids=["registered", "parent-died-first"])
def test_a_gated_command_runs_only_once_its_group_is_registered(
    tmp_path: Path, registered: bool
) -> None:
    """The command waits for its gate: opened once its group is registered, it runs; if
    the gate closes unopened (its starter died before registering it), it exits 1
    without running, so no command ever runs unguarded."""
    marker = tmp_path / "ran"
    gate = Gate(f"touch {marker}")
    try:
        process = subprocess.Popen(gate.argv, pass_fds=gate.pass_fds, start_new_session=True)
        if registered:
            gate.open(process.pid)
    finally:
        gate.close()
    assert process.wait(timeout=30) == (0 if registered else 1)
    assert marker.exists() is registered


def ignored_signals(pid: int) -> set[int]:
    """The signals process ``pid`` ignores (``SigIgn`` in ``/proc/PID/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            mask = int(line.split()[1], 16)
            return {number for number in range(1, 65) if mask & (1 << (number - 1))}
    return set()


def test_the_reaper_ignores_interrupts_and_terminations() -> None:
    """Once started, the reaper ignores SIGINT and SIGTERM: sent to it, they do not end
    it (only the pipe's end does), and a registered group is still killed afterwards."""
    with groups(1) as (guarded,):
        reaper = GroupReaper.start()
        reaper.watch(guarded.pid)
        deadline = time.monotonic() + 30
        while not {signal.SIGINT, signal.SIGTERM} <= ignored_signals(reaper.pid):
            assert time.monotonic() < deadline, "the reaper never ignored the signals"
            time.sleep(0.01)
        for signum in (signal.SIGINT, signal.SIGTERM):
            os.kill(reaper.pid, signum)
        reaper.close()
        assert reaper.wait(timeout=30) == 0  # not -2 or -15
        assert guarded.wait(timeout=30) == -signal.SIGKILL


_NORMAL_EXIT = """
import os, sys
from liuray.engine import reaper
shared = reaper.shared()
print(shared.pid, flush=True)
sys.stdin.readline()
"""


def test_a_normal_exit_leaves_no_reaper_behind() -> None:
    """A process that started its reaper and exits normally closes the pipe and collects
    the reaper before it ends: no process is left, not even a zombie."""
    parent = subprocess.Popen(
        [sys.executable, "-c", _NORMAL_EXIT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdin is not None and parent.stdout is not None
    reaper_pid = int(parent.stdout.readline())
    assert running(reaper_pid)
    assert "reaper.py" in Path(f"/proc/{reaper_pid}/cmdline").read_text()
    parent.stdin.close()
    assert parent.wait(timeout=30) == 0
    parent.stdout.close()
    assert not Path(f"/proc/{reaper_pid}").exists()


_FORK = """
import os
from liuray.engine import reaper
shared = reaper.shared()
pipe = shared._pipe
child = os.fork()
if child == 0:
    try:
        os.fstat(pipe)
    except OSError:
        os._exit(0 if reaper._shared is None else 2)
    os._exit(1)
print(os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]))
"""


def test_a_forked_child_does_not_hold_the_reaper_open() -> None:
    """A child forked without exec (a process pool's worker) closes its copy of the
    pipe at once, or the reaper would not see its parent die while the child lives."""
    done = subprocess.run(
        [sys.executable, "-c", _FORK], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["0"], done.stderr


def sleeper_graph(pids: Path, marker: Path) -> list[dict[str, object]]:
    """A bash app that writes its pid and its background ``sleep``'s, then waits."""
    command = f"echo $$ > {pids}; sleep 60 & echo $! >> {pids}; touch {marker}; wait"
    return [
        {
            "oid": "sleeper",
            "categoryType": "Application",
            "dropclass": "dlg.apps.bash_shell_app.BashShellApp",
            "command": command,
            "outputs": ["out"],
        },
        {"oid": "out", "categoryType": "Data", "dropclass": "dlg.data.drops.memory.InMemoryDROP"},
    ]


def test_liuray_run_killed_with_sigkill_leaves_no_bash_command_running(tmp_path: Path) -> None:
    """``kill -9`` of ``liuray run`` gives it no chance to kill its bash commands' process
    groups: its reaper sees the pipe close and kills the running command and the
    command's background child within seconds."""
    pids, marker = tmp_path / "pids", tmp_path / "started"
    graph = tmp_path / "sleepy.json"
    graph.write_text(json.dumps(sleeper_graph(pids, marker)))
    session_dir = str(tmp_path / "s")
    command = [sys.executable, "-m", "liuray.cli.main", "run", str(graph), "-d", session_dir]
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert time.monotonic() < deadline, "the bash app never started"
            assert run.poll() is None, "liuray run ended before its bash app started"
            time.sleep(0.02)
        started = [int(word) for word in pids.read_text().split()]
        assert len(started) == 2 and all(running(pid) for pid in started)
        run.kill()
        assert run.wait(timeout=30) == -signal.SIGKILL
        assert gone_within(started, 30) == []
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        for pid in started:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
