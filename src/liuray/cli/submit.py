# SPDX-License-Identifier: LGPL-2.1-or-later
"""``liuray submit GRAPH``: run a physical graph on a running island manager.

The graph is checked here first (so a typo is reported before anything is sent), then
created, appended and deployed on the server in one call (``POST /api/liuray/submit``).
An EAGLE logical graph is unrolled here first (``liuray.translate``), then partitioned
and mapped onto the nodes the server has (``GET /api/nodes``) before it is sent.
The session id and its monitoring page are printed; with ``--wait`` a progress bar is
drawn on standard error (only in a terminal) until the session ends, then a summary
lists the failed drops: the root causes, and how many more failed because of them.

Exit status: 0 submitted (with ``--wait``: finished), 1 the session failed, was
cancelled or did not end within ``--timeout``, 2 the graph is unusable or the server
could not be reached or refused it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from liuray.cli.progress import StateProgress
from liuray.cli.remote import add_dim_option, consoles, print_table, run_remote
from liuray.errors import GraphError, LiurayError
from liuray.graph.logical import is_logical_graph, load_logical_graph
from liuray.graph.physical import load_physical_graph, parse_json
from liuray.translate import map_partitions, partition, unroll
from liuray.types import DropSpec

if TYPE_CHECKING:
    from liuray.client import Client

_EXAMPLES = """\
examples:
  liuray submit graph.json
      submit to the island manager at $LIURAY_DIM (default http://127.0.0.1:8001)
  liuray submit graph.json --dim http://head:8001 --session-id nightly-42
      choose the server and the session id
  liuray submit graph.json --wait --timeout 3600
      follow the session with a progress bar; stop waiting after an hour
  liuray submit pipeline.graph --wait
      translate an EAGLE logical graph onto the server's nodes, then submit it

exit status: 0 submitted (--wait: finished), 1 failed, cancelled or still running at
--timeout, 2 bad graph, server unreachable or request refused
"""
_MAX_ROWS = 20
# The engine's words for drops that are in error only because something upstream failed.
_CASCADE_MARKERS = ("inputs in error", "producer ")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``liuray submit``."""
    parser = commands.add_parser(
        "submit",
        help="submit a graph (physical, or logical: translated) to a running island manager",
        description="Submit a DALiuGE-format physical graph (JSON) to an island manager:\n"
        "create a session, append the graph and deploy it, then print the session id\n"
        "and its monitoring URL. With --wait, follow it until it ends.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "graph", type=Path, help="physical graph JSON file, or an EAGLE logical graph (.graph)"
    )
    add_dim_option(parser)
    parser.add_argument("--session-id", metavar="ID", help="session id (default: generated)")
    parser.add_argument(
        "-w", "--wait", action="store_true", help="show progress until the session ends"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="with --wait: stop waiting after this many seconds (exit 1; the session "
        "keeps running: `liuray cancel ID` stops it); implies --wait",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="with --wait: seconds between progress polls (default: 0.5)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    """Check, submit and (with ``--wait``) follow the graph; return the exit status."""
    _, errors = consoles()
    problem = _check_options(args)
    if problem:
        errors.print(f"[red]error:[/red] {escape(problem)}")
        return 2
    try:
        graph = _read_graph(args.graph)
        template = _unrolled(graph, args.graph)
        total = len(template) if template is not None else _count_drops(graph, args.graph)
    except GraphError as err:
        errors.print(f"[red]error:[/red] {escape(err.message)}")
        return 2

    def body(client: Client, out: Console, err: Console) -> int:
        physical = graph if template is None else _mapped(client, err, template, args.graph)
        return _submit(client, out, err, args, physical, total)

    return run_remote(args, body)


def _unrolled(graph: Any, path: Path) -> list[DropSpec] | None:
    """A logical graph's drop specs (not yet on nodes); None for a physical graph.

    Raises:
        GraphError: the logical graph is malformed, uses something not supported yet,
            or unrolls to no drops.
    """
    if not is_logical_graph(graph):
        return None
    try:
        template = unroll(load_logical_graph(graph))
    except GraphError as err:
        raise GraphError(f"cannot translate {path}: {err.message}", **err.detail) from err
    if not template:
        raise GraphError(f"{path} has no drops; nothing to submit")
    return template


def _mapped(client: Client, errors: Console, template: list[DropSpec], path: Path) -> Any:
    """The template partitioned and mapped onto the server's nodes."""
    nodes = client.nodes()
    if not nodes:
        raise GraphError(f"cannot translate {path}: the server has no nodes to map it onto")
    graph = map_partitions(partition(template, len(nodes)), nodes)
    _count_drops(graph, path)
    errors.print(f"translated {escape(str(path))}: {len(graph)} drops onto {len(nodes)} nodes")
    return graph


def _count_drops(graph: Any, path: Path) -> int:
    """Check the graph as the server will; returns its number of drops.

    Raises:
        GraphError: a malformed physical graph, or no drops at all.
    """
    try:
        drops = len(load_physical_graph(graph))
    except GraphError as err:
        where = "" if str(path) in err.message else f" {path}"
        raise GraphError(f"bad graph{where}: {err.message}", **err.detail) from err
    if not drops:
        raise GraphError(f"{path} has no drops; nothing to submit")
    return drops


def _check_options(args: argparse.Namespace) -> str:
    if args.timeout is not None and args.timeout <= 0:
        return f"--timeout must be a positive number of seconds, got {args.timeout}"
    if args.interval <= 0:
        return f"--interval must be a positive number of seconds, got {args.interval}"
    return ""


def _read_graph(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise GraphError(f"cannot read graph file {str(path)!r}: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise GraphError(f"graph file {str(path)!r} is not UTF-8 JSON text") from err
    return parse_json(text, str(path))


def _submit(
    client: Client,
    out: Console,
    errors: Console,
    args: argparse.Namespace,
    graph: Any,
    total: int,
) -> int:
    submitted = client.submit(graph, session_id=args.session_id)
    session_id = submitted.session_id
    out.print(f"session: {escape(session_id)}")
    out.print(f"monitor: {escape(submitted.url)}")
    _print_directories(out, client, session_id)
    if not (args.wait or args.timeout is not None):
        return 0
    show_bar = not args.quiet and errors.is_terminal
    try:
        with StateProgress(args.graph.name, errors, show_bar) as bar:
            final = client.wait(
                session_id,
                timeout=args.timeout,
                interval=args.interval,
                on_progress=lambda now: bar.update(now["counts"], now.get("total") or total),
            )
    except KeyboardInterrupt:
        errors.print(
            f"stopped waiting; session {escape(session_id)} keeps running "
            f"(stop it with: liuray cancel {escape(session_id)})"
        )
        return 130
    print_outcome(out, final, timeout=args.timeout)
    return 0 if final["state"] == "finished" else 1


def _print_directories(out: Console, client: Client, session_id: str) -> None:
    """Where the session's files go: one line per node (paths on the server's nodes)."""
    try:
        directories = client.progress(session_id).get("dirs") or {}
    except LiurayError:
        return  # an older server: nothing to say
    for node, directory in sorted(directories.items()):
        where = f" (on {node})" if len(directories) > 1 else ""
        out.print(f"files: {escape(str(directory))}{escape(where)}")


def print_outcome(
    console: Console,
    final: dict[str, Any],
    timeout: float | None = None,
    extra: Sequence[str] = (),
) -> None:
    """The end-of-session report: state, drops per state, ``extra`` lines, failed drops."""
    state = str(final["state"])
    colour = "green" if state == "finished" else "red"
    console.print(
        f"[bold {colour}]{state.upper()}[/bold {colour}] session "
        f"{escape(str(final['sessionId']))}: {final.get('total', '?')} drops"
    )
    counts = final.get("counts") or {}
    console.print("  states: " + ", ".join(f"{s} {n}" for s, n in sorted(counts.items())))
    for line in extra:
        console.print(f"  {escape(line)}")
    if state in ("running", "deploying") and timeout is not None:
        console.print(
            f"  still {state} after {timeout:g} s; it keeps running (stop it with: "
            f"liuray cancel {escape(str(final['sessionId']))})"
        )
    failures = final.get("failures") or []
    if not failures:
        return
    roots, cascaded = split_root_causes(failures)
    shown = (roots or cascaded)[:_MAX_ROWS]
    rows = [[f["oid"], f.get("node", ""), f["error"]] for f in shown]
    if console.is_terminal:
        print_table(console, "Failures", ["failed drop", "node", "error"], rows)
    else:
        for oid, node, error in rows:
            console.print(f"  failed: {escape(oid)} ({escape(node)}): {escape(error)}")
    # The server lists a bounded number of failures; the counts know them all.
    hidden = max(len(failures), int(counts.get("error", 0))) - len(shown)
    if hidden > 0:
        because = " because of the above" if roots else ""
        drops = "drop" if hidden == 1 else "drops"
        console.print(f"  ... and {hidden} more {drops} in error{because}")


def split_root_causes(
    failures: list[dict[str, str]],
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(failures whose error is their own, failures caused by something upstream)."""
    roots: list[dict[str, str]] = []
    cascaded: list[dict[str, str]] = []
    for failure in failures:
        error = str(failure.get("error", ""))
        upstream = any(marker in error for marker in _CASCADE_MARKERS)
        (cascaded if upstream else roots).append(failure)
    return roots, cascaded
