"""liuray's side of the benchmark: the same workloads, the same measurements as the peer.

Run with liuray's interpreter (``.venv/bin/python bench/liuray_bench.py MODE WORKLOAD N``);
prints ONE JSON line with the fields ``bench/peer_daliuge.py`` prints, so ``bench/run.py``
can put both side by side.

* ``inproc``: a liuray :class:`~liuray.managers.node.NodeManager` in this process, driven
  exactly like the peer's in-process NodeManager: create the session, append the specs,
  deploy, trigger the roots, poll the status every 5 ms until FINISHED. The NM keeps the
  session (specs included) while memory is measured, as the peer's does.
* ``rest``: a real ``liuray serve`` process (one in-process NM) driven over HTTP with the
  standard library, exactly like the peer's REST run: create, append (JSON body), deploy
  with the roots as the ``completed`` form field, poll ``/status`` every 20 ms. Memory is
  the server process's RSS while the finished session is still held.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads

FINISHED = 4
TERMINAL = {4: "finished", 5: "cancelled", 6: "failed"}


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size of a process in MiB (from /proc)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def record(
    args: argparse.Namespace,
    drops: int,
    seconds: float,
    before: float,
    after: float,
    phases: dict[str, float],
) -> dict[str, Any]:
    """The JSON result line (same fields as the peer's)."""
    import liuray

    return {
        "engine": "liuray",
        "version": liuray.__version__,
        "mode": args.mode,
        "workload": args.workload,
        "n": args.n,
        "drops": drops,
        "seconds": round(seconds, 6),
        "drops_per_s": round(drops / seconds, 1) if seconds > 0 else None,
        "us_per_hop": round(seconds / args.n * 1e6, 1) if args.workload == "chain" else None,
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(after, 1),
        "bytes_per_drop": round((after - before) * 1024 * 1024 / drops, 1) if drops else None,
        "phases": {k: round(v, 6) for k, v in phases.items()},
    }


def run_inproc(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """The workload on an in-process liuray NodeManager."""
    from liuray.engine.states import SessionState
    from liuray.managers.node import NodeManager

    manager = NodeManager("localhost:8000", root, workers=args.workers)
    specs = workloads.build(args.workload, args.n)
    roots = workloads.roots(specs)
    if args.warmup:
        warm = workloads.build(args.workload, 1)
        manager.create_session("warmup")
        manager.append_graph("warmup", warm)
        manager.deploy("warmup")
        manager.trigger("warmup", workloads.roots(warm))
        while manager.session_status("warmup") is not SessionState.FINISHED:
            time.sleep(0.005)
        manager.destroy_session("warmup")
    before = rss_mb()
    t0 = time.perf_counter()
    manager.create_session("bench")
    manager.append_graph("bench", specs)
    t_submit = time.perf_counter()
    manager.deploy("bench")
    manager.trigger("bench", roots)
    t_deploy = time.perf_counter()
    while (state := manager.session_status("bench")) is not SessionState.FINISHED:
        if state.code in TERMINAL:
            raise SystemExit(f"session ended {state}")
        time.sleep(0.005)
    t_end = time.perf_counter()
    after = rss_mb()
    phases = {"submit_s": t_submit - t0, "deploy_s": t_deploy - t_submit, "run_s": t_end - t_deploy}
    manager.close()
    return record(args, len(specs), t_end - t0, before, after, phases)


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> Any:
    """One HTTP request with the standard library; the decoded JSON answer."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read() or b"null")


def run_rest(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """The workload through a real ``liuray serve`` process."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "liuray.cli.main",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--nodes",
        "1",
        "--state-dir",
        str(root),
    ]
    if args.workers:
        command += ["--workers", str(args.workers)]
    command += ["--allocator", args.allocator]
    log = (root / "serve.log").open("wb")
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                http("GET", f"{base}/api/nodes")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"liuray serve did not start; see {root}/serve.log") from None
                time.sleep(0.1)
        specs = workloads.build(args.workload, args.n)
        roots = workloads.roots(specs)
        body = json.dumps(specs).encode()
        time.sleep(0.5)
        before = rss_mb(server.pid)
        t0 = time.perf_counter()
        http(
            "POST",
            f"{base}/api/sessions",
            json.dumps({"sessionId": "bench"}).encode(),
            {"Content-Type": "application/json"},
        )
        http(
            "POST",
            f"{base}/api/sessions/bench/graph/append",
            body,
            {"Content-Type": "application/json"},
        )
        t_submit = time.perf_counter()
        form = urllib.parse.urlencode({"completed": ",".join(roots)}).encode()
        http(
            "POST",
            f"{base}/api/sessions/bench/deploy",
            form,
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        t_deploy = time.perf_counter()
        while True:
            status = http("GET", f"{base}/api/sessions/bench/status")
            codes = set(status.values()) if isinstance(status, dict) else {status}
            if codes == {FINISHED}:
                break
            if codes & {5, 6}:
                raise SystemExit(f"session ended with {status}")
            time.sleep(0.02)
        t_end = time.perf_counter()
        after = rss_mb(server.pid)
        phases = {
            "submit_s": t_submit - t0,
            "deploy_s": t_deploy - t_submit,
            "run_s": t_end - t_deploy,
            "idle_rss_mb": before,
        }
        return record(args, len(specs), t_end - t0, before, after, phases)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run one measurement, print its JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("inproc", "rest"))
    parser.add_argument("workload", choices=workloads.WORKLOADS)
    parser.add_argument("n", type=int, help="number of apps (2n drops)")
    parser.add_argument("--workers", type=int, default=None, help="worker threads per NM")
    parser.add_argument("--no-warmup", dest="warmup", action="store_false")
    parser.add_argument(
        "--allocator",
        default="system",
        choices=("system", "python"),
        help="rest mode: liuray serve's --allocator (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="liuray-bench-") as scratch:
        runner = run_inproc if args.mode == "inproc" else run_rest
        print(json.dumps(runner(args, Path(scratch))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
