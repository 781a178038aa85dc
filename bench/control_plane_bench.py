"""The control plane's figures: cancel during an acquire, status reads, idle CPU.

Three measurements of the island manager (in-process node managers, this machine):

* ``cancel``: a session whose partition label (``#0``) makes the transport wait for a
  node (a stand-in for an autoscaler that needs ``--acquire`` seconds); how long
  ``cancel_session`` takes, and how long the blocked ``deploy_session`` takes to return.
* ``status``: a running session of ``--drops`` drops (a sleeping app and data drops,
  spread over 2 nodes); the median cost of ``progress()``, ``state()`` and
  ``session_status()`` (the reads behind the web page and ``liuray submit --wait``).
* ``idle``: ``liuray serve`` as a subprocess; its CPU time over ``--seconds`` with no
  session, then with one session running (a 600 s SleepApp on each of 2 nodes).

It runs against whichever liuray is importable, so the same script measures an older
checkout (``PYTHONPATH=<worktree>/src``) for a before/after comparison::

    python bench/control_plane_bench.py [--drops 50000] [--acquire 3] [--seconds 20]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from liuray.managers.island import IslandManager
from liuray.transports.inproc import InProcessTransport

MEMORY = "dlg.data.drops.memory.InMemoryDROP"
SLEEP = "dlg.apps.simple.SleepApp"


def island(transport: InProcessTransport) -> IslandManager:
    """An island manager with its defaults (whatever this checkout's are)."""
    return IslandManager(transport)


class SlowAcquire(InProcessTransport):
    """Acquiring a node takes ``delay`` seconds, unless the session is cancelled."""

    def __init__(self, root: Path, delay: float) -> None:
        super().__init__(root, nodes=1, workers=2)
        self.delay = delay
        self.acquiring = threading.Event()

    def acquire(self, session_id: str, count: int, bundles: Any, timeout: float, **kw: Any) -> Any:
        self.acquiring.set()
        cancelled = kw.get("cancelled")
        if cancelled is not None:
            if cancelled.wait(self.delay):
                from liuray.errors import DeployError

                raise DeployError("cancelled")
        else:  # an island manager that does not pass a cancel signal
            time.sleep(self.delay)
        return self.node_names()[:count]


def measure_cancel(root: Path, delay: float) -> dict[str, float]:
    """Seconds for cancel_session (and the deploy's return) during a long acquire."""
    transport = SlowAcquire(root, delay)
    manager = island(transport)
    try:
        manager.create_session("c")
        manager.append_graph(
            "c",
            [
                {
                    "oid": "a",
                    "categoryType": "Application",
                    "dropclass": SLEEP,
                    "outputs": ["d"],
                    "node": "#0",
                },
                {"oid": "d", "categoryType": "Data", "dropclass": MEMORY, "node": "#0"},
            ],
        )
        deployer = threading.Thread(target=_quietly, args=(manager.deploy_session, "c"))
        deployer.start()
        transport.acquiring.wait(10)
        time.sleep(0.1)
        began = time.perf_counter()
        manager.cancel_session("c")
        cancel_s = time.perf_counter() - began
        deployer.join(60)
        deploy_s = time.perf_counter() - began
        return {"acquire_s": delay, "cancel_s": cancel_s, "deploy_returned_after_s": deploy_s}
    finally:
        manager.close()


def _quietly(func: Any, *args: Any) -> None:
    try:
        func(*args)
    except Exception:  # the deploy of a cancelled session fails: expected
        pass


def measure_status(root: Path, drops: int, reads: int = 200) -> dict[str, Any]:
    """Median seconds of the status reads of a running ``drops``-drop session."""
    transport = InProcessTransport(root, nodes=2, workers=2)
    manager = island(transport)
    nodes = transport.node_names()
    specs: list[dict[str, Any]] = [
        {
            "oid": "sleep",
            "categoryType": "Application",
            "dropclass": SLEEP,
            "sleep_time": 600,
            "outputs": ["slept"],
            "node": nodes[0],
        },
        {"oid": "slept", "categoryType": "Data", "dropclass": MEMORY, "node": nodes[0]},
    ]
    specs += [
        {"oid": f"d{i}", "categoryType": "Data", "dropclass": MEMORY, "node": nodes[i % 2]}
        for i in range(drops - 2)
    ]
    try:
        session = manager.submit(specs, "big")
        time.sleep(1.0)
        result: dict[str, Any] = {"drops": drops}
        for name, read in (
            ("progress_ms", lambda: manager.progress(session)),
            ("state_ms", lambda: manager.state(session)),
            ("session_status_ms", lambda: manager.session_status(session)),
        ):
            times = []
            for _ in range(reads):
                began = time.perf_counter()
                read()
                times.append(time.perf_counter() - began)
            result[name] = round(statistics.median(times) * 1000, 4)
        manager.cancel_session(session)
        return result
    finally:
        manager.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure_idle(root: Path, seconds: float) -> dict[str, float]:
    """CPU time of an idle ``liuray serve``, with no session and with one running."""
    port = free_port()
    env = {**os.environ, "LIURAY_HOME": str(root)}
    command = [
        sys.executable,
        "-m",
        "liuray.cli.main",
        "serve",
        "--port",
        str(port),
        "--nodes",
        "2",
    ]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base)
        time.sleep(2)
        before = cpu_seconds(server.pid)
        time.sleep(seconds)
        empty = cpu_seconds(server.pid) - before
        graph = [
            {"oid": f"s{i}", "categoryType": "Application", "dropclass": SLEEP,
             "sleep_time": 600, "outputs": [f"o{i}"], "node": f"localhost:{8000 + i}"}
            for i in range(2)
        ] + [
            {"oid": f"o{i}", "categoryType": "Data", "dropclass": MEMORY,
             "node": f"localhost:{8000 + i}"}
            for i in range(2)
        ]  # fmt: skip
        body = json.dumps(graph).encode()
        request = urllib.request.Request(
            f"{base}/api/liuray/submit?sessionId=idle",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=30).read()
        time.sleep(2)
        before = cpu_seconds(server.pid)
        time.sleep(seconds)
        running = cpu_seconds(server.pid) - before
        return {
            "seconds": seconds,
            "cpu_s_no_session": round(empty, 3),
            "cpu_s_one_running_session": round(running, 3),
            "cpu_percent_no_session": round(100 * empty / seconds, 2),
            "cpu_percent_one_running_session": round(100 * running / seconds, 2),
        }
    finally:
        server.terminate()
        server.wait(30)


def _wait_for(base: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/api", timeout=1).read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drops", type=int, default=50_000, help="drops of the status session")
    parser.add_argument("--acquire", type=float, default=3.0, help="seconds an acquire takes")
    parser.add_argument("--seconds", type=float, default=20.0, help="idle CPU window, s")
    parser.add_argument(
        "--only", choices=["cancel", "status", "idle"], action="append", help="run only these"
    )
    args = parser.parse_args(argv)
    wanted = set(args.only or ["cancel", "status", "idle"])
    result: dict[str, Any] = {
        "liuray": str(Path(inspect.getfile(IslandManager)).parents[2]),
        "cpus": os.cpu_count(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if "cancel" in wanted:
            result["cancel"] = measure_cancel(root / "cancel", args.acquire)
        if "status" in wanted:
            result["status"] = measure_status(root / "status", args.drops)
        if "idle" in wanted:
            result["idle"] = measure_idle(root / "idle", args.seconds)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
