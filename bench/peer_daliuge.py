"""Drive the peer engine, DALiuGE 6.6.0, on one benchmark workload; print one JSON line.

Run it with the peer's interpreter (see ``bench/peer_env.py``)::

    bench/.peer-venv/bin/python bench/peer_daliuge.py MODE WORKLOAD N [options]

    MODE      inproc | rest
    WORKLOAD  scatter | chain          (built by bench/workloads.py, shared with liuray)
    N         number of apps (the graph has 2N drops)

Options: ``--port P`` (rest: the NM's REST port; its event and RPC ports are P+1 and P+2;
default: free ports), ``--timeout S`` (default 900), ``--max-threads T`` (the NM's drop
thread pool, default 0 = DALiuGE's default, the physical core count), ``--warmup`` (run
and destroy a 1-app session first, excluding DALiuGE's one-time lazy import of the app
module, ~0.15-0.2 s), ``--poll S``, ``--keep-root`` (keep the scratch DLG_ROOT and print
its path on stderr).

Output: exactly one JSON line on stdout, everything else (progress, errors) on stderr::

    {"engine": "daliuge", "version": "6.6.0", "mode": "inproc", "workload": "scatter",
     "n": 1000, "drops": 2000, "seconds": 1.2, "drops_per_s": 1650.0, "us_per_hop": null,
     "rss_before_mb": 120.1, "rss_after_mb": 141.0, "bytes_per_drop": 10900.0,
     "phases": {"submit_s": .., "deploy_s": .., "run_s": ..}, "max_threads": 0,
     "warmup": false}

``seconds`` runs from session creation to the session status FINISHED (it includes
graph submission, drop creation in ``deploy`` and execution). ``us_per_hop`` is
``seconds / n * 1e6`` for ``chain`` and null for ``scatter``. ``bytes_per_drop`` is the
RSS growth of the process that holds the session (this process for ``inproc``, the
``dlg nm`` process for ``rest``), read from ``/proc/<pid>/status`` while the finished
session is still alive, divided by ``drops``. On failure the line carries ``"error"``
and the exit status is 1.

Design
------
* ``inproc`` builds a real ``dlg.manager.node_manager.NodeManager`` in this process (the
  same object ``dlg nm`` serves, with its thread-pool drop runner, data lifecycle manager
  and ZeroMQ event publisher, on free local ports) and calls ``createSession``,
  ``addGraphSpec`` and ``deploySession(completedDrops=roots)`` directly, then polls
  ``getSessionStatus`` every 5 ms. Logging is configured by DALiuGE's own
  ``dlg.manager.cmdline.setupLogging`` exactly as ``dlg nm`` does (its stdout stream is
  redirected to a file so this script's stdout stays one JSON line). This isolates the
  engine's cost from HTTP.
* ``rest`` starts ``dlg nm`` as a child process (own process group, stdout to a log
  file), waits for its REST port, and drives it with DALiuGE's own client
  (``dlg.clients.NodeManagerClient``: create, gzip-compressed append, deploy with the
  roots as ``completed``), polling ``GET /api/sessions/<sid>/status`` every 20 ms with
  urllib. The NM is stopped (SIGTERM, then SIGKILL of its process group) at the end.
* Each run uses a fresh scratch ``DLG_ROOT`` (DALiuGE ``chdir``s into its session
  directory and writes logs there), removed at the end unless ``--keep-root``. It is set
  before ``dlg`` is imported, because DALiuGE reads it in default arguments at import.
* A fresh NM per run matters: DALiuGE leaks one root-logger handler per drop, so a reused
  NM slows down with every session (measured; see docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import workloads  # noqa: E402  (needs the sys.path entry above)

PEER_VERSION = "6.6.0"
#: DALiuGE's SessionStates, mirrored so the rest mode needs no dlg import to read them.
STATE_NAMES = ("PRISTINE", "BUILDING", "DEPLOYING", "RUNNING", "FINISHED", "CANCELLED", "FAILED")
FINISHED, CANCELLED, FAILED = 4, 5, 6


class PeerRunError(RuntimeError):
    """The peer did not run the workload to FINISHED."""


def log(msg: str) -> None:
    """Progress and diagnostics go to stderr (stdout is reserved for the JSON line)."""
    print(f"[peer_daliuge] {msg}", file=sys.stderr, flush=True)


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size of process ``pid`` in MiB, from ``/proc/<pid>/status``."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise PeerRunError(f"no VmRSS in /proc/{pid}/status")


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a currently free TCP port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Return ``count`` distinct free TCP ports."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port(host)
        if port not in ports:
            ports.append(port)
    return ports


def check_ports_free(ports: tuple[int, ...], host: str = "127.0.0.1") -> None:
    """Fail fast if a requested port is taken (``dlg nm`` would hang rather than exit)."""
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError as exc:
                raise PeerRunError(f"port {host}:{port} is not free: {exc}") from exc


def status_name(status: int | None) -> str:
    """Human name of a DALiuGE SessionStates value."""
    if status is None or not 0 <= status < len(STATE_NAMES):
        return repr(status)
    return STATE_NAMES[status]


def result_record(
    args: argparse.Namespace,
    drops: int,
    seconds: float,
    before: float,
    after: float,
    phases: dict[str, float],
) -> dict[str, Any]:
    """Assemble the JSON result line for a run that reached FINISHED."""
    return {
        "engine": "daliuge",
        "version": PEER_VERSION,
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
        "max_threads": args.max_threads,
        "warmup": args.warmup,
    }


# --------------------------------------------------------------------------- inproc mode


def configure_logging_like_nm(root: Path) -> None:
    """Set up logging with DALiuGE's own ``setupLogging``, as ``dlg nm`` (no flags) does.

    That adds a stdout stream handler and a file handler to the root logger and sets the
    ``dlg`` logger to the custom USER level. The stream handler is bound to a file here.
    """
    from dlg.manager import cmdline
    from dlg.manager.node_manager import NodeManager

    opts = types.SimpleNamespace(
        verbose=0,
        quiet=0,
        dmType=NodeManager,
        no_log_ids=False,
        stop=False,
        daemon=False,
        local_time=False,
        logdir=str(root / "logs"),
        dmAcronym="NM",
    )
    stdout_log = open(root / "nm-stdout.log", "a", encoding="utf-8")
    with contextlib.redirect_stdout(stdout_log):
        cmdline.setupLogging(opts)


def wait_inproc(nm: Any, sid: str, poll: float, timeout: float) -> None:
    """Poll an in-process NM until session ``sid`` is FINISHED (raise otherwise)."""
    deadline = time.perf_counter() + timeout
    while True:
        status = nm.getSessionStatus(sid)
        if status == FINISHED:
            return
        if status in (CANCELLED, FAILED):
            raise PeerRunError(f"session {sid} ended {status_name(status)}")
        if time.perf_counter() > deadline:
            raise PeerRunError(
                f"session {sid}: timeout after {timeout} s, status {status_name(status)}"
            )
        time.sleep(poll)


def run_inproc(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Run the workload on an in-process DALiuGE NodeManager."""
    from dlg.manager.node_manager import NodeManager

    configure_logging_like_nm(root)
    events_port, rpc_port = free_ports(2)
    nm = NodeManager(
        host="127.0.0.1",
        rpc_port=rpc_port,
        events_port=events_port,
        max_threads=args.max_threads,
        logdir=str(root / "logs"),
    )
    try:
        specs = workloads.build(args.workload, args.n)
        root_uids = workloads.roots(specs)
        drops = len(specs)
        sid = f"bench-{args.workload}-{args.n}-{os.getpid()}"
        poll = args.poll if args.poll is not None else 0.005

        if args.warmup:
            warm = workloads.build(args.workload, 1)
            nm.createSession(sid + "-warmup")
            nm.addGraphSpec(sid + "-warmup", warm)
            nm.deploySession(sid + "-warmup", completedDrops=workloads.roots(warm))
            wait_inproc(nm, sid + "-warmup", poll, 60.0)
            nm.destroySession(sid + "-warmup")

        before = rss_mb()
        t0 = time.perf_counter()
        nm.createSession(sid)
        nm.addGraphSpec(sid, specs)
        t_submit = time.perf_counter()
        nm.deploySession(sid, completedDrops=root_uids)
        t_deploy = time.perf_counter()
        wait_inproc(nm, sid, poll, args.timeout - (t_deploy - t0))
        t_end = time.perf_counter()
        after = rss_mb()
        phases = {
            "submit_s": t_submit - t0,
            "deploy_s": t_deploy - t_submit,
            "run_s": t_end - t_deploy,
        }
        nm.destroySession(sid)
        return result_record(args, drops, t_end - t0, before, after, phases)
    finally:
        os.chdir(root)
        with contextlib.suppress(Exception):
            nm.shutdown()


# ----------------------------------------------------------------------------- rest mode


def wait_for_rest(
    host: str, port: int, proc: subprocess.Popen[bytes], timeout: float, log_path: Path
) -> None:
    """Wait until the NM answers ``GET /api`` (or fail if it died or timed out)."""
    url = f"http://{host}:{port}/api"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PeerRunError(
                f"dlg nm exited with {proc.returncode} before its REST "
                f"answered; see {log_path}:\n{tail(log_path)}"
            )
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.05)
    raise PeerRunError(f"dlg nm REST on {host}:{port} not up after {timeout} s")


def tail(path: Path, lines: int = 20) -> str:
    """Last ``lines`` lines of a text file ('' if missing)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def get_status(host: str, port: int, sid: str) -> int:
    """``GET /api/sessions/<sid>/status`` -> SessionStates int."""
    url = f"http://{host}:{port}/api/sessions/{urllib.parse.quote(sid)}/status"
    with urllib.request.urlopen(url, timeout=30) as resp:
        return int(json.load(resp))


def stop_process_group(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """Stop the NM we started: SIGTERM to its process group, SIGKILL after ``grace``."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace)


def start_nm(
    root: Path, host: str, ports: tuple[int, int, int], max_threads: int
) -> subprocess.Popen[bytes]:
    """Start ``dlg nm`` (REST, events, RPC ports) in its own process group; stdout to a file."""
    port, events_port, rpc_port = ports
    dlg_cmd = Path(sys.executable).parent / "dlg"
    cmd = [
        str(dlg_cmd),
        "nm",
        "-H",
        host,
        "-P",
        str(port),
        "--event_port",
        str(events_port),
        "--rpc_port",
        str(rpc_port),
        "-m",
        "1024",
        "--max-threads",
        str(max_threads),
        "--log-dir",
        str(root / "logs"),
    ]
    env = dict(os.environ, DLG_ROOT=str(root))
    log("starting: " + " ".join(cmd))
    with open(root / "nm-stdout.log", "wb") as out:
        return subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True
        )


def drive_rest_session(
    client: Any,
    nm: subprocess.Popen[bytes],
    sid: str,
    specs: list[workloads.DropSpec],
    poll: float,
    timeout: float,
    log_path: Path,
) -> tuple[float, float, float, float]:
    """Create, append, deploy and poll one session on a REST NM until FINISHED.

    Returns the ``perf_counter`` times before create, after append, after deploy and at
    FINISHED.
    """
    t0 = time.perf_counter()
    client.create_session(sid)
    client.append_graph(sid, specs)
    t_submit = time.perf_counter()
    client.deploy_session(sid, completed_uids=workloads.roots(specs))
    t_deploy = time.perf_counter()
    deadline = t0 + timeout
    while True:
        status = get_status(client.host, client.port, sid)
        if status == FINISHED:
            return t0, t_submit, t_deploy, time.perf_counter()
        if status in (CANCELLED, FAILED):
            raise PeerRunError(f"session {sid} ended {status_name(status)}:\n{tail(log_path)}")
        if time.perf_counter() > deadline:
            raise PeerRunError(
                f"session {sid}: timeout after {timeout} s, status {status_name(status)}"
            )
        if nm.poll() is not None:
            raise PeerRunError(f"dlg nm died ({nm.returncode}):\n{tail(log_path)}")
        time.sleep(poll)


def run_rest(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Run the workload on a ``dlg nm`` child process through its REST API."""
    from dlg.clients import NodeManagerClient

    host = "127.0.0.1"
    if args.port:
        ports = (args.port, args.port + 1, args.port + 2)
        check_ports_free(ports, host)
    else:
        free = free_ports(3)
        ports = (free[0], free[1], free[2])
    log_path = root / "nm-stdout.log"
    specs = workloads.build(args.workload, args.n)
    sid = f"bench-{args.workload}-{args.n}-{os.getpid()}"
    poll = args.poll if args.poll is not None else 0.02

    proc = start_nm(root, host, ports, args.max_threads)
    try:
        t_start = time.perf_counter()
        wait_for_rest(host, ports[0], proc, 60.0, log_path)
        log(f"NM pid {proc.pid} REST up after {time.perf_counter() - t_start:.2f} s")
        client = NodeManagerClient(host, ports[0], timeout=60)
        if args.warmup:
            warm = workloads.build(args.workload, 1)
            drive_rest_session(client, proc, sid + "-warmup", warm, poll, 60.0, log_path)
            client.destroy_session(sid + "-warmup")

        before = rss_mb(proc.pid)
        t0, t_submit, t_deploy, t_end = drive_rest_session(
            client, proc, sid, specs, poll, args.timeout, log_path
        )
        after = rss_mb(proc.pid)  # the finished session is still alive in the NM
        phases = {
            "submit_s": t_submit - t0,
            "deploy_s": t_deploy - t_submit,
            "run_s": t_end - t_deploy,
        }
        return result_record(args, len(specs), t_end - t0, before, after, phases)
    finally:
        stop_process_group(proc)


# ---------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description="Run one workload on DALiuGE 6.6.0 and print one JSON line."
    )
    parser.add_argument("mode", choices=("inproc", "rest"))
    parser.add_argument("workload", choices=workloads.WORKLOADS)
    parser.add_argument("n", type=int, help="number of apps (2n drops)")
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="rest: NM REST port (events P+1, rpc P+2); default: free ports",
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds to wait for FINISHED (default 900)"
    )
    parser.add_argument(
        "--poll",
        type=float,
        default=None,
        help="status poll period in s (default 0.005 inproc, 0.02 rest)",
    )
    parser.add_argument(
        "--max-threads",
        type=int,
        default=0,
        help="NM drop thread pool size; 0 = DALiuGE default (physical cores)",
    )
    parser.add_argument(
        "--warmup",
        action="store_true",
        help="first run and destroy a 1-app session of the same workload, "
        "so one-time costs (lazy imports of the app modules) are "
        "excluded",
    )
    parser.add_argument(
        "--keep-root",
        action="store_true",
        help="keep the scratch DLG_ROOT (path printed on stderr)",
    )
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("n must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point: run one measurement, print one JSON line, return the exit status."""
    args = parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="liuray-peer-dlg-")).resolve()
    os.environ["DLG_ROOT"] = str(root)  # before any dlg import
    cwd = os.getcwd()
    code = 0
    try:
        record = run_inproc(args, root) if args.mode == "inproc" else run_rest(args, root)
    except Exception as exc:  # reported as a JSON error line
        log(f"FAILED: {type(exc).__name__}: {exc}")
        record = {
            "engine": "daliuge",
            "version": PEER_VERSION,
            "mode": args.mode,
            "workload": args.workload,
            "n": args.n,
            "error": f"{type(exc).__name__}: {exc}",
        }
        code = 1
    finally:
        os.chdir(cwd)
        if args.keep_root:
            log(f"DLG_ROOT kept at {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    # os._exit: DALiuGE leaves non-daemon threads (ZeroMQ, thread pools) behind in
    # inproc mode; the measurement is printed, so do not wait for them.
    status = main()
    sys.stderr.flush()
    os._exit(status)
