"""``liuray serve``: a real server process, stopped and restarted, and its options."""

from __future__ import annotations

import json
import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from liuray.cli import allocator
from liuray.cli.main import main

from .test_run_stops import alive, sleeper_graph

_SERVE = [sys.executable, "-m", "liuray.cli.main", "serve"]
_API = re.compile(r"REST API:\s+(http://\S+)/api")


class ServeProcess:
    """A ``liuray serve`` child process and the URL it announced."""

    def __init__(
        self,
        process: subprocess.Popen[str],
        url: str,
        lines: list[str],
        more: queue.Queue[str],
    ) -> None:
        self.process = process
        self.url = url
        self.lines = lines
        self._more = more

    def output_after_exit(self) -> str:
        """Everything printed after the announcement, once the process has exited."""
        self.process.wait(timeout=15)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                self.lines.append(self._more.get(timeout=0.2))
            except queue.Empty:
                break
        return "".join(self.lines)

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            return json.load(response)

    def post(self, path: str, body: Any) -> Any:
        request = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def wait_status(self, session_id: str, accept: set[int], timeout: float = 20) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.get(f"/api/sessions/{session_id}/status")
            if status and set(status.values()) <= accept:
                return status
            time.sleep(0.05)
        raise TimeoutError(f"{session_id} never reached {accept}")


@contextmanager
def serve(
    state_dir: Path, *options: str, env: dict[str, str] | None = None
) -> Iterator[ServeProcess]:
    """Run ``liuray serve --port 0`` and wait for the URL it prints."""
    command = [*_SERVE, "--port", "0"]
    command += ["--state-dir", str(state_dir), "--log-level", "warning", *options]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1, env=env
    )
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout
    assert stdout is not None
    reader = threading.Thread(target=_pump, args=(stdout, lines), daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while not any("stop with" in line for line in seen):  # the announcement's last line
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("liuray serve did not start:\n" + "".join(seen))
            try:
                seen.append(lines.get(timeout=0.1))
            except queue.Empty:
                continue
        match = next(m for m in map(_API.search, seen) if m)
        yield ServeProcess(process, match.group(1), seen, lines)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        reader.join(timeout=5)
        stdout.close()


def _wait_for(marker: Path) -> None:
    """Wait until the bash app under test has made ``marker`` (it started)."""
    deadline = time.monotonic() + 20
    while not marker.exists():
        assert time.monotonic() < deadline, "the bash app never started"
        time.sleep(0.02)


def _pump(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


def _graph(out: Path) -> list[dict[str, Any]]:
    return [
        {
            "oid": "hello",
            "categoryType": "Application",
            "dropclass": "dlg.apps.bash_shell_app.BashShellApp",
            "command": "echo served > %o0",
            "outputs": ["out"],
            "node": "localhost:8000",
        },
        {
            "oid": "out",
            "categoryType": "Data",
            "dropclass": "dlg.data.drops.file.FileDROP",
            "filepath": str(out),
            "node": "localhost:8001",
        },
    ]


_NAP = [
    {
        "oid": "nap",
        "categoryType": "Application",
        "dropclass": "dlg.apps.simple.SleepApp",
        "sleep_time": 60,
        "outputs": ["after"],
    },
    {"oid": "after", "categoryType": "Data", "dropclass": "dlg.data.drops.memory.InMemoryDROP"},
]


def test_serve_remembers_sessions_across_a_restart(tmp_path: Path) -> None:
    """Start ``liuray serve`` with two nodes, run a graph across them, leave a second
    one sleeping, stop the server with SIGTERM (exit 0: it cancels the sleeping session
    and says so), start it again on the same state directory: the finished session is
    listed as finished (4) and the stopped one as cancelled (5), and new session ids
    must not reuse theirs."""
    state = tmp_path / "state"
    out = tmp_path / "served.txt"
    with serve(state, "--nodes", "2", "--allow-path", str(tmp_path)) as first:
        assert any("monitoring page: http://127.0.0.1:" in line for line in first.lines)
        assert first.get("/api/nodes") == ["localhost:8000", "localhost:8001"]
        done = first.post("/api/liuray/submit?sessionId=done", _graph(out))["sessionId"]
        assert first.wait_status(done, {4}) == {"localhost:8000": 4, "localhost:8001": 4}
        first.post("/api/liuray/submit?sessionId=asleep", _NAP)
        first.wait_status("asleep", {3})
        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(timeout=15) == 0
    said = first.output_after_exit()
    assert "liuray serve: stopped; cancelled 1 running session(s)" in said, said
    assert out.read_text() == "served\n"
    assert (state / "sessions.db").is_file()
    assert (state / "nodes").is_dir()

    with serve(state, "--nodes", "2") as second:
        listed = {s["sessionId"]: s for s in second.get("/api/sessions")}
        assert set(listed) == {"done", "asleep"}
        assert listed["done"]["status"] == {"localhost:8000": 4, "localhost:8001": 4}
        assert listed["done"]["size"] == 2
        assert set(listed["asleep"]["status"].values()) == {5}
        assert second.get("/api/sessions/done/status") == listed["done"]["status"]
        with pytest.raises(urllib.error.HTTPError) as conflict:
            second.post("/api/sessions", {"sessionId": "done"})
        assert conflict.value.code == 409
        conflict.value.close()


def test_sigterm_kills_the_bash_commands_of_running_sessions(tmp_path: Path) -> None:
    """A batch scheduler's SIGTERM to ``liuray serve``: the running bash command is
    killed with its process group (no stray left behind) before the server exits 0."""
    pid_file, marker = tmp_path / "pid", tmp_path / "started"
    graph = [
        {
            "oid": "sleeper",
            "categoryType": "Application",
            "dropclass": "dlg.apps.bash_shell_app.BashShellApp",
            "command": f"echo $$ > {pid_file}; touch {marker}; sleep 60",
            "outputs": ["out"],
        },
        {"oid": "out", "categoryType": "Data", "dropclass": "dlg.data.drops.memory.InMemoryDROP"},
    ]
    with serve(tmp_path / "state") as server:
        server.post("/api/liuray/submit?sessionId=long", graph)
        _wait_for(marker)
        bash_pid = int(pid_file.read_text())
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=15) == 0

    assert (
        not Path(f"/proc/{bash_pid}").exists()
        or "Z" in Path(f"/proc/{bash_pid}/stat").read_text().rsplit(")", 1)[1].split()[:1]
    )


def test_serve_reports_a_port_in_use(tmp_path: Path) -> None:
    """A port already taken makes ``liuray serve`` exit 1 at once."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*_SERVE, "--port", str(port), "--state-dir", str(tmp_path), "--log-level", "critical"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert "REST API" not in result.stdout


def test_serve_help_lists_the_options(capsys: pytest.CaptureFixture[str]) -> None:
    """``liuray serve --help`` documents every option."""
    with pytest.raises(SystemExit) as done:
        main(["serve", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for option in (
        "--host",
        "--port",
        "--nodes",
        "--workers",
        "--state-dir",
        "--max-request-size",
        "--ray",
        "--log-level",
        "--cors-origin",
        "--open",
    ):
        assert option in text


def test_an_open_event_stream_does_not_hold_up_a_stop(tmp_path: Path) -> None:
    """A monitoring page left open (its event stream never ends) does not keep SIGTERM
    from stopping the server: open streams are ended as the server stops."""
    with serve(tmp_path / "state") as server:
        stream = urllib.request.urlopen(server.url + "/api/liuray/events", timeout=10)
        assert stream.readline().startswith(b": liuray event stream")
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=8)
        assert time.monotonic() - started < 5
        stream.close()


def test_serve_open_opens_the_monitoring_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``liuray serve --open`` hands the monitoring page's URL to the user's browser
    (here a command named by $BROWSER, as the webbrowser module reads it)."""
    opened = tmp_path / "opened.txt"
    record = f"import sys; open({str(opened)!r}, 'w').write(sys.argv[1])"
    monkeypatch.setenv("BROWSER", f"{sys.executable} -c {shlex.quote(record)} %s")
    with serve(tmp_path / "state", "--open") as server:
        deadline = time.monotonic() + 10
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert opened.read_text() == f"{server.url}/"


def test_serve_with_ray_missing_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without Ray installed, ``--ray`` exits 2 naming the extra to install."""
    monkeypatch.setitem(sys.modules, "liuray.transports.ray", None)
    assert main(["serve", "--ray", "--state-dir", str(tmp_path)]) == 2
    assert "pip install 'liuray[ray]'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "options",
    [["--nodes", "-1"], ["--workers", "0"], ["--max-request-size", "0"], ["--port", "70000"]],
)
def test_serve_rejects_bad_options(
    options: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Impossible values exit 2 with a message naming the option."""
    assert main(["serve", "--state-dir", str(tmp_path), *options]) == 2
    assert options[0] in capsys.readouterr().err


def test_serve_runs_the_example_pipeline_with_its_code_path(tmp_path: Path) -> None:
    """The example pipeline's apps name functions in ``spectral.py`` by import path:
    a server started with ``--code-path`` pointing at the example finds them, and the
    whole pipeline finishes."""
    example = Path(__file__).resolve().parents[2] / "examples" / "channel_average"
    graph = json.loads((example / "graph.json").read_text())
    with serve(tmp_path / "state", "--code-path", str(example)) as live:
        session_id = live.post("/api/liuray/submit", graph)["sessionId"]
        status = live.wait_status(session_id, {4, 5, 6}, timeout=60)
        assert set(status.values()) == {4}, live.get(f"/api/liuray/sessions/{session_id}/progress")


def test_serve_refuses_a_code_path_that_is_not_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped --code-path is reported before anything starts."""
    status = main(["serve", "--state-dir", str(tmp_path), "--code-path", str(tmp_path / "nope")])
    assert status == 2
    assert "is not a directory" in capsys.readouterr().err


def test_serve_refuses_a_network_address_without_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--host 0.0.0.0`` with no token and no --insecure: refused before starting (exit
    2), saying how to give a token or opt out."""
    monkeypatch.delenv("LIURAY_TOKEN", raising=False)

    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 2

    err = capsys.readouterr().err
    assert "--token TOKEN" in err
    assert "--insecure" in err


def test_access_tokens_stay_out_of_the_access_log(tmp_path: Path) -> None:
    """A browser sends the token in the query (``?access_token=``); uvicorn's access log
    prints each request's path, so the value must come out as ``***`` there."""
    secret = "tok-" + "7" * 24
    with serve(tmp_path / "state", "--token", secret, "--log-level", "info") as server:
        assert server.get(f"/api/sessions?access_token={secret}") == []
        server.process.send_signal(signal.SIGTERM)
        said = server.output_after_exit()
    assert "/api/sessions?access_token=***" in said, said
    assert secret not in said


def test_a_server_killed_with_sigkill_leaves_no_session_running(tmp_path: Path) -> None:
    """``kill -9`` gives the server no chance to record anything: on restart the session
    it was running is FAILED (never "running" forever), its progress says why, and the
    server takes new sessions."""
    state = tmp_path / "state"
    with serve(state, "--nodes", "2") as first:
        first.post("/api/liuray/submit?sessionId=asleep", _NAP)
        first.wait_status("asleep", {3})
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=15)
    with serve(state, "--nodes", "2", "--allow-path", str(tmp_path)) as second:
        assert set(second.get("/api/sessions/asleep/status").values()) == {6}
        progress = second.get("/api/liuray/sessions/asleep/progress")
        assert progress["state"] == "failed"
        assert progress["total"] == 2
        assert "stopped while the session was live" in progress["error"]
        out = tmp_path / "after.txt"
        again = second.post("/api/liuray/submit?sessionId=again", _graph(out))["sessionId"]
        assert set(second.wait_status(again, {4}).values()) == {4}


def test_file_drops_are_confined_to_the_session_directory(tmp_path: Path) -> None:
    """A graph whose file drop names a path outside its session directory (absolute, or
    through ``..``) is refused with 400 naming the drop and the option that allows it;
    nothing is written there. ``--allow-path`` opens a directory, and the same graph
    then runs."""
    outside = tmp_path / "outside" / "out.txt"
    escape = "../../../../../../../../../../" + str(tmp_path / "dotdot.txt")
    with serve(tmp_path / "state", "--nodes", "2") as server:
        for path in (str(outside), escape):
            with pytest.raises(urllib.error.HTTPError) as refused:
                server.post("/api/liuray/submit", _graph(Path(path)))
            body = json.load(refused.value)
            assert refused.value.code == 400, body
            assert "outside the session directory" in body["message"]
            assert "--allow-path" in body["message"]
        assert not outside.exists() and not (tmp_path / "dotdot.txt").exists()
    with serve(tmp_path / "state", "--nodes", "2", "--allow-path", str(outside.parent)) as server:
        done = server.post("/api/liuray/submit", _graph(outside))["sessionId"]
        assert set(server.wait_status(done, {4}).values()) == {4}
    assert outside.read_text() == "served\n"


def _start_environment(pid: int) -> dict[str, str]:
    """The environment process ``pid`` was started (or last executed) with."""
    block = Path(f"/proc/{pid}/environ").read_bytes().decode()
    return dict(item.split("=", 1) for item in block.split("\0") if "=" in item)


@pytest.mark.skipif(not allocator.is_glibc(), reason="the settings are glibc's")
def test_serve_runs_on_glibc_malloc_but_its_commands_do_not(tmp_path: Path) -> None:
    """``liuray serve`` executes itself once (same process id) on glibc's malloc, tuned
    to give memory back, and puts the environment back for the graph: a bash command
    sees the user's own GLIBC_TUNABLES and none of the server's settings."""
    own = "glibc.malloc.mmap_max=65536"
    env = {**os.environ, "GLIBC_TUNABLES": own}
    env.pop("PYTHONMALLOC", None)
    seen = tmp_path / "env.txt"
    graph = [
        {
            "oid": "env",
            "categoryType": "Application",
            "dropclass": "dlg.apps.bash_shell_app.BashShellApp",
            "command": f"env > {seen}",
            "outputs": ["out"],
        },
        {"oid": "out", "categoryType": "Data", "dropclass": "dlg.data.drops.memory.InMemoryDROP"},
    ]
    with serve(tmp_path / "state", env=env) as server:
        started = _start_environment(server.process.pid)
        assert started["PYTHONMALLOC"] == "malloc"
        assert started["MALLOC_ARENA_MAX"] == "1"
        # glibc rewrites this block in place as it reads its tunables (2.36 shows the
        # user's part only), so the tcache setting itself is not visible here.
        assert started["GLIBC_TUNABLES"].startswith(own)
        server.post("/api/liuray/submit?sessionId=env", graph)
        server.wait_status("env", {4})
    command_env = dict(line.split("=", 1) for line in seen.read_text().splitlines() if "=" in line)
    assert command_env["GLIBC_TUNABLES"] == own
    for name in ("PYTHONMALLOC", "MALLOC_ARENA_MAX", allocator.MARK):
        assert name not in command_env


@pytest.mark.parametrize(
    ("options", "own"),
    [(("--allocator", "python"), None), ((), "pymalloc")],
    ids=["allocator-python", "user-PYTHONMALLOC"],
)
def test_serve_keeps_the_allocator_it_was_started_with_when_told(
    tmp_path: Path, options: tuple[str, ...], own: str | None
) -> None:
    """``--allocator python``, or a ``PYTHONMALLOC`` of the user's: no second
    execution, no allocator settings of liuray's."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONMALLOC", "MALLOC_ARENA_MAX")}
    if own is not None:
        env["PYTHONMALLOC"] = own
    with serve(tmp_path / "state", *options, env=env) as server:
        started = _start_environment(server.process.pid)
        assert started.get("PYTHONMALLOC") == own
        assert "MALLOC_ARENA_MAX" not in started
        assert allocator.MARK not in started
        assert server.get("/api/sessions") == []


def test_a_server_killed_with_sigkill_leaves_no_bash_command_running(tmp_path: Path) -> None:
    """``kill -9`` gives the server no chance to kill its bash commands' process groups;
    its group reaper (``engine/reaper.py``), a child process that sees the server's pipe
    close, kills the running command and the command's background child within
    seconds."""
    pids, marker = tmp_path / "pids", tmp_path / "started"
    graph = sleeper_graph(pids, marker)  # with the bash command's background child:
    graph[0]["command"] = f"echo $$ > {pids}; sleep 60 & echo $! >> {pids}; touch {marker}; wait"
    started: list[int] = []
    try:
        with serve(tmp_path / "state") as server:
            server.post("/api/liuray/submit?sessionId=orphans", graph)
            _wait_for(marker)
            started = [int(word) for word in pids.read_text().split()]
            assert len(started) == 2 and all(alive(pid) for pid in started)
            server.process.send_signal(signal.SIGKILL)
            assert server.process.wait(timeout=15) == -signal.SIGKILL
        deadline = time.monotonic() + 30
        while any(alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [pid for pid in started if alive(pid)] == []
    finally:
        for pid in started:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
