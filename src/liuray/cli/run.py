# SPDX-License-Identifier: LGPL-2.1-or-later
"""``liuray run GRAPH``: execute a physical graph in this process."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from liuray.cli.progress import StateProgress
from liuray.engine.local import RunResult, run_graph
from liuray.errors import GraphError
from liuray.graph.physical import read_physical_graph


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``liuray run``."""
    parser = commands.add_parser(
        "run",
        help="run a DALiuGE physical graph locally (no cluster needed)",
        description="Run a DALiuGE-format physical graph (JSON) in this process, with a live "
        "progress bar. Exits 0 if every drop finished, 1 if any failed, 2 on a bad graph.",
        epilog="example: liuray run examples/channel_average/graph.json --workers 4",
    )
    parser.add_argument("graph", type=Path, help="physical graph JSON file")
    parser.add_argument(
        "-w",
        "--workers",
        type=int,
        default=None,
        help="worker threads for apps (default: number of CPUs)",
    )
    parser.add_argument(
        "-p",
        "--processes",
        type=int,
        default=0,
        help="run Python function apps in a pool of N processes (CPU-bound code)",
    )
    parser.add_argument(
        "-d",
        "--session-dir",
        type=Path,
        default=None,
        help="directory for the session's files (default: ~/.liuray/sessions/ID, "
        "or $LIURAY_HOME/sessions/ID)",
    )
    parser.add_argument("--session-id", default=None, help="session id (default: generated)")
    parser.add_argument(
        "--timeout", type=float, default=None, help="cancel the session after this many seconds"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    """Run the graph and print a summary; return the exit status."""
    console = Console(stderr=True)
    try:
        graph = read_physical_graph(args.graph)
    except GraphError as err:
        console.print(f"[red]error:[/red] {args.graph}: {err}")
        return 2
    session_id = args.session_id or f"{args.graph.stem}-{_stamp()}"
    with StateProgress(f"{args.graph.name}", console, enabled=not args.quiet) as bar:
        try:
            result = run_graph(
                graph,
                workers=args.workers,
                processes=args.processes,
                session_id=session_id,
                session_dir=args.session_dir,
                progress=bar.update,
                timeout=args.timeout,
            )
        except GraphError as err:
            console.print(f"[red]error:[/red] {args.graph}: {err}")
            return 2
    _summary(console, result, len(graph))
    return 0 if result.ok else 1


def _stamp() -> str:
    from liuray.engine.local import new_session_id

    return new_session_id("x").split("-", 1)[1]


def _summary(console: Console, result: RunResult, total: int) -> None:
    colour = "green" if result.ok else "red"
    console.print(
        f"[{colour}]{result.state.upper()}[/{colour}] session {result.session_id}: "
        f"{total} drops in {result.seconds:.2f} s"
    )
    console.print("  states: " + ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items())))
    console.print(f"  session directory: {result.session_dir}")
    if result.failures:
        table = Table("failed drop", "error", title="Failures", title_justify="left")
        for uid, error in result.failures[:20]:
            table.add_row(uid, error)
        console.print(table)
        if len(result.failures) > 20:
            console.print(f"  ... and {len(result.failures) - 20} more")
    sys.stderr.flush()
