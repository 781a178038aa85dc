"""``liuray run`` stopped by a signal, and refused before anything runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from liuray.cli.main import main


def sleeper_graph(pid_file: Path, marker: Path) -> list[dict[str, Any]]:
    """A bash app that records its pid, touches ``marker``, then sleeps for a minute."""
    return [
        {
            "oid": "sleeper",
            "categoryType": "Application",
            "dropclass": "dlg.apps.bash_shell_app.BashShellApp",
            "command": f"echo $$ > {pid_file}; touch {marker}; sleep 60",
            "outputs": ["out"],
        },
        {"oid": "out", "categoryType": "Data", "dropclass": "dlg.data.drops.memory.InMemoryDROP"},
    ]


def alive(pid: int) -> bool:
    """Whether a process runs (a zombie awaiting its parent counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_cancels_the_run_stops_its_processes_and_prints_the_summary(
    tmp_path: Path, signum: int, status: int
) -> None:
    """Ctrl-C (SIGINT) or a batch scheduler's SIGTERM during ``liuray run``: the session
    is cancelled, the bash command's process is killed (no stray left to init), the
    summary is printed, the exit status is 128 + the signal, and there is no traceback."""
    pid_file, marker = tmp_path / "pid", tmp_path / "started"
    graph = tmp_path / "sleepy.json"
    graph.write_text(json.dumps(sleeper_graph(pid_file, marker)))
    command = [
        sys.executable,
        "-m",
        "liuray.cli.main",
        "run",
        str(graph),
        "-d",
        str(tmp_path / "s"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not marker.exists():
            assert time.monotonic() < deadline, "the bash app never started"
            time.sleep(0.02)
        bash_pid = int(pid_file.read_text())
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == status, err
    assert out.startswith("CANCELLED session sleepy-")
    assert f"stopped by {signal.Signals(signum).name}" in err
    assert "Traceback" not in err
    deadline = time.monotonic() + 5
    while alive(bash_pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(bash_pid)


def test_a_session_dir_that_is_a_file_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-d PATH`` naming an existing file: exit 2 with a message saying what to do,
    and the graph does not start (its app never runs)."""
    pid_file, marker = tmp_path / "pid", tmp_path / "started"
    graph = tmp_path / "g.json"
    graph.write_text(json.dumps(sleeper_graph(pid_file, marker)))
    occupied = tmp_path / "occupied"
    occupied.write_text("a file")

    status = main(["run", str(graph), "-d", str(occupied), "-q"])

    assert status == 2
    err = capsys.readouterr().err
    assert "exists and is not a directory" in err
    assert "--session-dir" in err
    assert not marker.exists()


@pytest.mark.parametrize("under", ["file", "proc"])
def test_a_session_dir_that_cannot_be_created_is_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    under: str,
) -> None:
    """A directory below a file, or under /proc, given directly or through LIURAY_HOME:
    exit 2 naming the directory and the reason; nothing runs."""
    pid_file, marker = tmp_path / "pid", tmp_path / "started"
    graph = tmp_path / "g.json"
    graph.write_text(json.dumps(sleeper_graph(pid_file, marker)))
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    home = blocker / "home" if under == "file" else Path("/proc/liuray-home")
    monkeypatch.setenv("LIURAY_HOME", str(home))

    status = main(["run", str(graph), "-q"])

    assert status == 2
    err = capsys.readouterr().err
    assert "cannot create the session directory" in err
    assert str(home) in err
    assert not marker.exists()
    assert os.environ["LIURAY_HOME"] == str(home)


def test_an_empty_graph_is_refused_as_submit_refuses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``liuray run`` of ``[]`` says there is nothing to run (exit 2), like submit."""
    graph = tmp_path / "empty.json"
    graph.write_text("[]")

    assert main(["run", str(graph), "-q"]) == 2
    assert "has no drops; nothing to run" in capsys.readouterr().err
