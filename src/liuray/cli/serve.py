# SPDX-License-Identifier: LGPL-2.1-or-later
"""``liuray serve``: a DALiuGE-compatible island manager (REST API) on this machine.

The node managers run in this process (``--nodes N``) or, with ``--ray``, one per node
of a Ray cluster. Session records are kept in ``<state-dir>/sessions.db``, so a
restarted server lists past sessions with their final status; node managers keep
their session files under ``<state-dir>/nodes/``. SIGINT or SIGTERM stops the server
gracefully (running sessions are cancelled and recorded as such).

Exit status: 0 after a clean stop, 1 when the server could not start (port in use,
Ray unreachable), 2 for a bad option or a missing optional dependency.
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING

from liuray.cli import allocator
from liuray.errors import LiurayError, MissingDependency, missing_extra

if TYPE_CHECKING:
    from liuray.managers.island import IslandManager
    from liuray.managers.transport import Transport

_EXAMPLES = """\
examples:
  liuray serve
      island manager on http://127.0.0.1:8001 with one in-process node manager
  liuray serve --host 0.0.0.0 --nodes 4 --workers 8
      reachable from other machines; 4 node managers of 8 worker threads each
  liuray serve --ray auto --state-dir /shared/liuray
      one node manager per node of the Ray cluster this machine belongs to
  dlg ... --host <this machine> --port 8001
      DALiuGE's own tools (and EAGLE) submit here as to a DALiuGE island manager
"""

log = logging.getLogger("liuray.serve")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``liuray serve``."""
    parser = commands.add_parser(
        "serve",
        help="run an island manager (DALiuGE's REST API) over in-process or Ray node managers",
        description="Run a DALiuGE-compatible island manager: the REST API under /api\n"
        "(DALiuGE's tools and EAGLE can submit to it) and the monitoring page at /.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default: %(default)s, this machine only); any other "
        "address needs --token (or $LIURAY_TOKEN) unless --insecure",
    )
    parser.add_argument(
        "--token",
        default=None,
        help="access token every /api request must carry (Authorization: Bearer TOKEN); "
        "default: $LIURAY_TOKEN, if set",
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="serve a non-loopback address without a token (anyone who reaches it may "
        "submit graphs, which run code)",
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=None,
        metavar="ORIGIN",
        help="let pages from ORIGIN (e.g. http://translator.example:8084, or '*' for any) "
        "call the API from a browser (CORS); repeatable; default: any origin while bound "
        "to loopback, none otherwise",
    )
    parser.add_argument(
        "--open",
        action="store_true",
        help="open the monitoring page in a web browser once the server listens",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8001,
        help="port to bind, 0 for any free one (default: %(default)s, DALiuGE's island port)",
    )
    parser.add_argument(
        "--nodes",
        type=int,
        default=1,
        metavar="N",
        help="in-process node managers to start (default: %(default)s; ignored with --ray)",
    )
    parser.add_argument(
        "-w",
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker threads per node manager (default: number of CPUs)",
    )
    parser.add_argument(
        "-p",
        "--processes",
        type=int,
        default=0,
        help="per node manager, run Python function apps in a pool of N processes "
        "(CPU-bound code; default: threads only)",
    )
    parser.add_argument(
        "--allow-path",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="let file and directory drops use paths under DIR too (repeatable); by "
        "default they are confined to their session's directory",
    )
    parser.add_argument(
        "--reruns",
        type=int,
        default=2,
        metavar="N",
        help="when a node a running session still needs is lost (a crash, a Spot "
        "reclaim, a scale-down), deploy the session again on the nodes left, up to N "
        "times (default: %(default)s; 0: fail the drops that waited on it)",
    )
    parser.add_argument(
        "--allow-any-path",
        action="store_true",
        help="let file and directory drops use any path (as DALiuGE does); only for "
        "graphs you trust",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where session records (sessions.db) and node files (nodes/) live "
        "(default: $LIURAY_HOME, else ~/.liuray)",
    )
    parser.add_argument(
        "-m",
        "--max-request-size",
        type=float,
        default=10.0,
        metavar="MB",
        help="largest request body accepted, compressed or not (default: %(default)g MB)",
    )
    parser.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="run node managers on Ray: ADDRESS 'auto' joins the cluster of this machine, "
        "'ray://host:10001' a remote one; without ADDRESS start (or join, via RAY_ADDRESS) "
        "a local Ray (needs: pip install 'liuray[ray]')",
    )
    parser.add_argument(
        "--app-tasks",
        action="store_true",
        help="with --ray: run Python function apps as Ray tasks asking for their num_cpus, "
        "num_gpus and resources, so Ray places them and the autoscaler sees the demand "
        "(default: on their node manager's node)",
    )
    parser.add_argument(
        "--idle-release",
        type=float,
        default=60.0,
        metavar="S",
        help="with --ray: stop a worker node's node manager after S idle seconds so the "
        "autoscaler can remove the node (keep it below idle_timeout_minutes; it starts "
        "again when a session needs the node; default: %(default)s)",
    )
    parser.add_argument(
        "-c",
        "--code-path",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="directory holding Python code that graphs name by import path (func_name, "
        "dropclass); like DALiuGE's --dlg-path; repeatable for in-process node managers; "
        "with --ray, one directory, which Ray uploads to every node",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level (default: %(default)s)",
    )
    parser.add_argument(
        "--allocator",
        default="system",
        choices=allocator.CHOICES,
        help="memory allocator of the server process: 'system' (glibc's malloc, tuned to "
        "give memory back once sessions are destroyed) or 'python' (CPython's own: "
        "~20%% faster on bursts of sessions, but keeps ~20-25 MB after a big one); "
        "'system' is 'python' where the C library is not glibc (default: %(default)s)",
    )
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    """Start the island manager and serve until SIGINT/SIGTERM; return the exit status."""
    problem = _check_options(args)
    if problem:
        print(f"liuray serve: error: {problem}", file=sys.stderr)
        return 2
    if args.allocator == "system" and getattr(args, "own_process", False):
        allocator.use_returning_allocator()  # may start this command again, same pid
    # Without the server extra these raise MissingDependency, which liuray's main turns
    # into one line naming `pip install 'liuray[server]'` (exit status 2).
    from liuray.api import create_app
    from liuray.api.server import run_server

    _require_multipart()
    from liuray.managers.island import IslandManager
    from liuray.managers.records import SessionRecords

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s: %(name)s: %(message)s")
    for directory in reversed(args.code_path):
        if not directory.is_dir():
            print(
                f"liuray serve: error: --code-path {str(directory)!r} is not a directory",
                file=sys.stderr,
            )
            return 2
        # The server process is the node managers' process: imports of graph code
        # (func_name, dropclass) must see these directories for its whole life.
        sys.path.insert(0, str(directory.expanduser().resolve()))
    state_dir = state_directory(args.state_dir)
    try:
        transport = _transport(args, state_dir)
    except _Unavailable as err:
        print(f"liuray serve: error: {err}", file=sys.stderr)
        return err.status
    island = IslandManager(transport, SessionRecords(state_dir / "sessions.db"), reruns=args.reruns)
    app = create_app(
        island,
        max_request_bytes=int(args.max_request_size * 2**20),
        token=args.token,
        cors_origins=cors_origins(args.cors_origin, args.host),
    )

    def started_on(port: int) -> None:
        base = _announce(args.host, port, state_dir, transport.kind, args.token)
        if args.open:
            _open_browser(base)

    try:
        started = run_server(app, args.host, args.port, args.log_level, started_on)
    finally:
        _stop_sessions(island)
        island.close()
    return 0 if started else 1


def _stop_sessions(island: IslandManager) -> None:
    """On the way out: cancel what runs in this process and say what was stopped.

    In-process node managers die with the server, so their sessions are cancelled
    (apps stopped, bash process groups killed, recorded CANCELLED). Ray's node-manager
    actors outlive it: their sessions keep running and a restarted server re-adopts them.
    """
    live = island.live_session_ids()
    if not live:
        print("liuray serve: stopped; no session was running", flush=True)
        return
    if not island.transport.shares_memory:
        print(
            f"liuray serve: stopped; {len(live)} session(s) keep running on the node "
            f"managers and will be re-adopted on restart: {', '.join(live)}",
            flush=True,
        )
        return
    stopped = island.cancel_running()
    print(
        f"liuray serve: stopped; cancelled {len(stopped)} running session(s), their apps' "
        f"processes killed: {', '.join(stopped)}",
        flush=True,
    )


def state_directory(option: Path | None) -> Path:
    """``--state-dir``, else ``$LIURAY_HOME``, else ``~/.liuray``."""
    if option is not None:
        return option.expanduser().resolve()
    home = os.environ.get("LIURAY_HOME")
    return Path(home).expanduser().resolve() if home else Path.home() / ".liuray"


class _Unavailable(Exception):
    """The transport cannot be built; ``status`` is the exit status to return."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _transport(args: argparse.Namespace, state_dir: Path) -> Transport:
    nodes_dir = state_dir / "nodes"
    if args.ray is None:
        from liuray.transports.inproc import InProcessTransport

        return InProcessTransport(
            nodes_dir,
            nodes=args.nodes,
            workers=args.workers,
            processes=args.processes,
            allowed_paths=_allowed_paths(args),
        )
    try:
        from liuray.transports.ray import RayTransport
    except MissingDependency:
        raise
    except ImportError as err:  # liuray's Ray transport could not load: Ray is unusable
        raise missing_extra("ray", "ray") from err
    try:
        return RayTransport(
            args.ray or None,
            root=nodes_dir,
            workers=args.workers,
            processes=args.processes,
            app_tasks=args.app_tasks,
            code_path=args.code_path[0].expanduser().resolve() if args.code_path else None,
            idle_release=args.idle_release if args.idle_release > 0 else None,
            allowed_paths=_allowed_paths(args),
        )
    except (LiurayError, ConnectionError, RuntimeError, TimeoutError) as err:
        raise _Unavailable(
            f"cannot use the Ray cluster {args.ray or '(local)'!r}: {err}", 1
        ) from err


def _allowed_paths(args: argparse.Namespace) -> list[Path] | None:
    """Where file drops may live besides their session directory (None: anywhere)."""
    if args.allow_any_path:
        return None
    return [path.expanduser().resolve() for path in args.allow_path]


def _require_multipart() -> None:
    """Starlette parses DALiuGE's form posts only with python-multipart (server extra)."""
    if find_spec("python_multipart") is None and find_spec("multipart") is None:
        raise missing_extra("python-multipart", "server")


def _check_options(args: argparse.Namespace) -> str:
    if args.nodes < 0:
        return f"--nodes must be 0 or more, got {args.nodes}"
    if args.processes < 0:
        return f"--processes must be 0 or more, got {args.processes}"
    if args.reruns < 0:
        return f"--reruns must be 0 or more, got {args.reruns}"
    if args.ray is not None and len(args.code_path) > 1:
        return "with --ray, give one --code-path (Ray ships it to every node as the working dir)"
    if args.workers is not None and args.workers < 1:
        return f"--workers must be 1 or more, got {args.workers}"
    if not 0 <= args.port < 65536:
        return f"--port must be 0..65535, got {args.port}"
    if args.max_request_size <= 0:
        return f"--max-request-size must be positive, got {args.max_request_size:g}"
    args.token = args.token or os.environ.get("LIURAY_TOKEN") or None
    if not args.token and not args.insecure and not _is_loopback(args.host):
        return (
            f"--host {args.host} makes the server reachable from the network, where anyone "
            "could run code through it: give an access token (--token TOKEN or "
            "LIURAY_TOKEN=...; clients send it as 'Authorization: Bearer TOKEN'), or "
            "--insecure to serve without one"
        )
    return ""


def _is_loopback(host: str) -> bool:
    try:
        from liuray.api.auth import is_loopback
    except ImportError:  # no server extra: main reports it right after
        return True
    return is_loopback(host)


def cors_origins(given: list[str] | None, host: str) -> list[str]:
    """The origins allowed to call the API from a browser: ``--cors-origin`` if given,
    else any origin on loopback (a page on this machine: EAGLE, DALiuGE's translator)
    and none on a network address.

    >>> cors_origins(None, "127.0.0.1")
    ['*']
    >>> cors_origins(["https://eagle.example/"], "0.0.0.0")
    ['https://eagle.example']
    """
    if given is not None:
        return [origin.rstrip("/") for origin in given]
    return ["*"] if _is_loopback(host) else []


def _open_browser(url: str) -> None:
    """Open ``url`` in the user's browser without holding up the server."""
    import threading
    import webbrowser

    def open_page() -> None:
        if not webbrowser.open(url):
            print(f"liuray serve: no browser to open; visit {url}", flush=True)

    threading.Thread(target=open_page, name="liuray-open-browser", daemon=True).start()


def _announce(
    host: str, port: int, state_dir: Path, transport: str, token: str | None = None
) -> str:
    """Print where the server listens; returns the monitoring page's URL."""
    shown = host if host not in ("0.0.0.0", "::") else socket.gethostname()
    if ":" in shown:
        shown = f"[{shown}]"
    base = f"http://{shown}:{port}"
    print(f"liuray island manager ({transport}) serving", flush=True)
    print(f"  REST API:        {base}/api", flush=True)
    print(f"  monitoring page: {base}/", flush=True)
    print(f"  state:           {state_dir}", flush=True)
    if token:  # never print the token itself
        print("  access:          token required (Authorization: Bearer ...)", flush=True)
    print("  stop with Ctrl-C (or SIGTERM)", flush=True)
    return f"{base}/"
