"""Load on one ``liuray serve``: many concurrent sessions, then many in a row.

Run it with liuray's venv::

    .venv/bin/python bench/load_bench.py                 # the issue's sizes
    .venv/bin/python bench/load_bench.py --concurrent 10 --in-a-row 20 --drops 500

What it does, against a real ``liuray serve`` child process (two in-process node
managers, its own state directory) driven over REST by liuray's client:

1. **Idle**: one small session run and destroyed (imports and first-use caches paid),
   then the server's resident memory (``VmRSS``) is the *idle* figure.
2. **Concurrent**: ``--concurrent`` sessions of ``--drops`` drops (the ``scatter``
   workload of ``bench/workloads.py``: HelloWorldApp -> memory pairs, spread over both
   nodes) submitted from ``--clients`` threads at once; every one must FINISH with every
   drop done. Then all are destroyed and the RSS is read 2 s later, then ``--settle``
   seconds later (default 8: the server gives memory back after 6 s without requests,
   once uvicorn closed the idle connections, after 5 s): *after destroy - idle* is the
   memory the server kept (goal: <= 5 MB).
3. **In a row**: ``--in-a-row`` sessions one after the other (submit, wait, destroy),
   timing each and reading the RSS after each: the median time and the RSS of the last
   tenth against the first tenth (goal: within 10%).

``--allocator python`` runs the server on CPython's own allocator instead of glibc's
(``liuray serve --allocator``): run both to see what giving memory back costs in time.

Output: progress on stderr, one JSON line on stdout with every figure; exit status 1
if a session did not finish correctly (a correctness failure, not a missed goal).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads

from liuray.client import Client

_URL = re.compile(r"REST API:\s+(http://\S+)/api")


def log(message: str) -> None:
    print(f"[load] {message}", file=sys.stderr, flush=True)


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MiB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def rss_by_kind(pid: int) -> dict[str, float]:
    """Resident MiB of ``pid`` by kind of mapping, from /proc/<pid>/smaps (a guess from
    each mapping's shape): ``arenas`` (Python's 1 MiB small-object arenas, alone or
    side by side; a rare large malloc block of a whole number of MiB too), ``stacks``
    (threads' 8 MiB stacks), ``heap`` (glibc's main heap), ``malloc`` (glibc's thread
    arenas, 64 MiB reservations, and its large blocks), ``files`` (code and data
    mapped from files)."""
    kinds: dict[str, float] = {}
    kind = "malloc"
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5:  # a mapping's header
            low, high = (int(x, 16) for x in fields[0].split("-"))
            size = high - low
            name = fields[5] if len(fields) > 5 else ""
            if name == "[heap]":
                kind = "heap"
            elif name.startswith("["):
                kind = "stacks" if name == "[stack]" else "other"
            elif name:
                kind = "files"
            elif size in (8 << 20, (8 << 20) + 4096):
                kind = "stacks"
            elif size % (1 << 20) == 0:  # arenas next to each other make one mapping
                kind = "arenas"
            else:
                kind = "malloc"
        elif fields[0] == "Rss:":
            kinds[kind] = kinds.get(kind, 0.0) + int(fields[1]) / 1024
    return {k: round(v, 1) for k, v in sorted(kinds.items())}


class Server:
    """``liuray serve --port 0`` in a child process; ``url`` once it announced itself."""

    def __init__(self, state: Path, allocator: str = "system") -> None:
        command = [sys.executable, "-m", "liuray.cli.main", "serve", "--port", "0"]
        command += ["--nodes", "2", "--state-dir", str(state), "--log-level", "warning"]
        command += ["--allocator", allocator]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.url = ""
        deadline = time.monotonic() + 60
        assert self.process.stdout is not None
        for line in self.process.stdout:
            match = _URL.search(line)
            if match:
                self.url = match.group(1)
                break
            if time.monotonic() > deadline:
                break
        if not self.url:
            self.stop()
            raise RuntimeError("liuray serve did not start")
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for _ in self.process.stdout:
            pass

    @property
    def rss(self) -> float:
        return rss_mb(self.process.pid)

    def rss_by_kind(self) -> dict[str, float]:
        return rss_by_kind(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def graph(drops: int) -> list[dict[str, Any]]:
    """The scatter workload with ``drops`` drops, its pairs alternating over the nodes."""
    specs = workloads.scatter(drops // 2)
    for index, spec in enumerate(specs):
        spec["node"] = f"localhost:{8000 + (index // 2) % 2}"
    return specs


def run_one(client: Client, drops: int, session_id: str) -> tuple[str, float]:
    """Submit, wait, check: returns (problem or "", seconds)."""
    started = time.perf_counter()
    client.submit(graph(drops), session_id=session_id)
    final = client.wait(session_id, timeout=600)
    seconds = time.perf_counter() - started
    counts = final.get("counts", {})
    done = counts.get("finished", 0) + counts.get("completed", 0) + counts.get("expired", 0)
    if final.get("state") != "finished" or done != drops:
        return f"{session_id}: {final.get('state')} {counts}", seconds
    return "", seconds


def concurrent_burst(
    server: Server, client: Client, args: argparse.Namespace, idle: float, problems: list[str]
) -> tuple[float, float, float, float, dict[str, float]]:
    """Run ``--concurrent`` sessions at once, destroy them and read the RSS afterwards:
    (seconds, peak, 2 s after, ``--settle`` s after, what was kept by kind of mapping)."""
    idle_kinds = server.rss_by_kind()
    ids = [f"concurrent-{i}" for i in range(args.concurrent)]
    started = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        outcomes = list(pool.map(lambda sid: run_one(client, args.drops, sid), ids))
    concurrent_s = time.perf_counter() - started
    problems += [p for p, _ in outcomes if p]
    peak = server.rss
    log(f"{args.concurrent} concurrent sessions in {concurrent_s:.1f} s; RSS {peak:.1f} MB")
    for sid in ids:
        client.destroy_session(sid)
    time.sleep(2.0)
    soon = server.rss
    time.sleep(max(0.0, args.settle - 2.0))
    after_destroy = server.rss
    after_kinds = server.rss_by_kind()
    log(
        f"after destroying them: {soon:.1f} MB ({soon - idle:+.1f}) 2 s later, "
        f"{after_destroy:.1f} MB ({after_destroy - idle:+.1f}) {args.settle:g} s later"
    )
    kept_kinds = {k: round(v - idle_kinds.get(k, 0.0), 1) for k, v in after_kinds.items()}
    log(f"kept by kind of mapping (MB): {kept_kinds}")
    return concurrent_s, peak, soon, after_destroy, kept_kinds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--in-a-row", type=int, default=100)
    parser.add_argument("--drops", type=int, default=2000)
    parser.add_argument("--settle", type=float, default=8.0)
    parser.add_argument(
        "--allocator",
        default="system",
        choices=["system", "python"],
        help="liuray serve's --allocator (default: %(default)s)",
    )
    args = parser.parse_args(argv)

    state = Path(tempfile.mkdtemp(prefix="liuray-load-"))
    server = Server(state, args.allocator)
    client = Client(server.url)
    problems: list[str] = []
    try:
        problem, _ = run_one(client, 20, "warmup")
        problems += [problem] if problem else []
        client.destroy_session("warmup")
        time.sleep(args.settle)
        idle = server.rss
        log(f"idle: {idle:.1f} MB {server.rss_by_kind()}")

        burst = concurrent_burst(server, client, args, idle, problems)
        concurrent_s, peak, soon, after_destroy, kept_kinds = burst

        times: list[float] = []
        rss: list[float] = []
        for index in range(args.in_a_row):
            sid = f"row-{index}"
            problem, seconds = run_one(client, args.drops, sid)
            problems += [problem] if problem else []
            client.destroy_session(sid)
            times.append(seconds)
            rss.append(server.rss)
        tenth = max(1, args.in_a_row // 10)
        first_t, last_t = statistics.median(times[:tenth]), statistics.median(times[-tenth:])
        first_m, last_m = statistics.median(rss[:tenth]), statistics.median(rss[-tenth:])
        log(f"in a row: {first_t:.3f} -> {last_t:.3f} s/session, {first_m:.1f} -> {last_m:.1f} MB")
        result = {
            "allocator": args.allocator,
            "drops_per_session": args.drops,
            "concurrent": args.concurrent,
            "clients": args.clients,
            "concurrent_s": round(concurrent_s, 2),
            "idle_mb": round(idle, 1),
            "peak_mb": round(peak, 1),
            "after_2s_mb": round(soon, 1),
            "after_destroy_mb": round(after_destroy, 1),
            "kept_mb": round(after_destroy - idle, 1),
            "kept_by_kind_mb": kept_kinds,
            "in_a_row": args.in_a_row,
            "row_first_s": round(first_t, 3),
            "row_last_s": round(last_t, 3),
            "row_time_change": round(last_t / first_t - 1, 3),
            "row_first_mb": round(first_m, 1),
            "row_last_mb": round(last_m, 1),
            "row_memory_change": round(last_m / first_m - 1, 3),
            "problems": problems[:10],
            "cpus": os.cpu_count(),
        }
        print(json.dumps(result))
    finally:
        server.stop()
        shutil.rmtree(state, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
