# SPDX-License-Identifier: LGPL-2.1-or-later
"""``liuray run GRAPH``: execute a physical graph in this process.

Exit status: 0 when every drop finished, 1 when any drop failed (or the run timed out),
2 when the graph, an option or the session directory is unusable and nothing ran, 128 +
the signal (130, 143) when SIGINT or SIGTERM stopped it: the session is cancelled (bash
apps with their whole process group), then summarised.

Output: a progress bar on standard error while running (only when standard error is a
terminal, so CI logs stay clean), then a summary on standard output: the final state,
the session directory, the leaf data drops (paths of the files the graph produced) and
the failures, the apps that raised first. In a terminal the failures are a table; in a
log they are one ``failed: UID: ERROR`` line each, so they can be grepped.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from liuray.cli.progress import StateProgress
from liuray.engine.drops.file import FileDrop
from liuray.engine.local import RunResult, default_root, new_session_id
from liuray.errors import GraphError
from liuray.graph.physical import PhysicalGraph, load_physical_graph, read_physical_graph
from liuray.managers.local_run import run_graph
from liuray.types import DropUid

_EXAMPLES = """\
examples:
  liuray run examples/channel_average/graph.json
      run the example pipeline; its PyFuncApps import `spectral` from the graph's folder
  liuray run graph.json --workers 4 --session-dir /tmp/run1
      at most 4 apps at once; files (relative FileDROP paths) go under /tmp/run1
  liuray run graph.json --code-path ~/pipelines/lib --code-path .
      make ~/pipelines/lib and . importable for func_name (like DALiuGE's --dlg-path)
  liuray run graph.json --processes 8 --timeout 600 --quiet
      Python function apps in 8 processes; cancel after 10 minutes; no progress bar

exit status: 0 finished, 1 a drop failed or the run timed out, 2 bad graph or option,
  130 / 143 stopped by Ctrl-C / SIGTERM (the session cancelled, its bash process groups
  killed, the summary printed; a second signal stops at once)
"""
_MAX_ROWS = 20
_IMPORT_FAILED = "cannot import function"
_MODULE_BROKEN = "failed: "  # the module was found but needs something missing


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``liuray run``."""
    parser = commands.add_parser(
        "run",
        help="run a DALiuGE graph locally, no cluster needed (a logical graph is translated first)",
        description="Run a DALiuGE-format physical graph (JSON) in this process, with a\n"
        "live progress bar, then print a summary: final state, session directory,\n"
        "output files and failures.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("graph", type=Path, help="physical graph JSON file")
    parser.add_argument(
        "-w",
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker threads for apps (default: number of CPUs)",
    )
    parser.add_argument(
        "-p",
        "--processes",
        type=int,
        default=0,
        metavar="N",
        help="run Python function apps in a pool of N processes (CPU-bound code)",
    )
    parser.add_argument(
        "-d",
        "--session-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="directory for the session's files (default: $LIURAY_HOME/sessions/ID, "
        "where LIURAY_HOME defaults to ~/.liuray)",
    )
    parser.add_argument("--session-id", metavar="ID", help="session id (default: generated)")
    parser.add_argument(
        "-c",
        "--code-path",
        type=Path,
        action="append",
        default=None,
        metavar="DIR",
        help="put DIR first on sys.path so PyFuncApp func_name imports find the graph's "
        "code (repeatable; default: the graph file's directory)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="cancel the session after this many seconds",
    )
    parser.add_argument(
        "--app-timeout",
        type=float,
        metavar="SECONDS",
        help="fail an app attempt that runs longer than this (bash apps are killed; "
        "retried while its n_tries allows); an app's own 'timeout' parameter wins",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    """Run the graph and print a summary; return the exit status."""
    # soft_wrap: long paths and messages stay on one line (greppable in logs).
    errors = Console(stderr=True, soft_wrap=True, highlight=False)
    out = Console(soft_wrap=True, highlight=False)
    problem = _check_options(args)
    if problem:
        errors.print(f"[red]error:[/red] {escape(problem)}")
        return 2
    exit_handlers = atexit._ncallbacks()
    try:
        graph = _read_graph(args.graph, errors)
    except GraphError as err:
        _bad_graph(errors, args.graph, err)
        return 2
    if not len(graph):  # as liuray submit: an empty graph is a mistake, not a success
        errors.print(f"[red]error:[/red] {escape(str(args.graph))} has no drops; nothing to run")
        return 2
    code_path = args.code_path or [args.graph.parent]
    session_id = args.session_id or new_session_id(args.graph.stem)
    session_dir = args.session_dir or default_root() / "sessions" / session_id
    problem = _prepare_session_dir(session_dir)
    if problem:
        errors.print(f"[red]error:[/red] {escape(problem)}")
        return 2
    show_bar = not args.quiet and errors.is_terminal
    stopped: list[int] = []
    try:
        with (
            _stop_on_signals(stopped) as stop,
            StateProgress(args.graph.name, errors, show_bar) as bar,
        ):
            result = run_graph(
                graph,
                workers=args.workers,
                processes=args.processes,
                session_id=session_id,
                session_dir=session_dir,
                progress=bar.update,
                timeout=args.timeout,
                app_timeout=args.app_timeout,
                stop=stop,
                code_path=code_path,
            )
    except GraphError as err:
        _bad_graph(errors, args.graph, err)
        return 2
    except KeyboardInterrupt:  # a second signal while the first one's cancel ran
        errors.print("stopped at once by a second signal; the session was cancelled")
        return 130
    print_summary(out, result, graph)
    status = 0 if result.ok else 1
    if stopped:
        name = signal.Signals(stopped[0]).name
        errors.print(
            f"stopped by {name}: the session was cancelled, its running apps stopped "
            f"(bash commands with their process groups); {result.counts.get('cancelled', 0)} "
            "drops cancelled"
        )
        status = 128 + stopped[0]
    if args.processes == 0 and _nothing_left_to_end(exit_handlers) and _is_command_line():
        _exit_now(status)
    return status


def _nothing_left_to_end(exit_handlers: int) -> bool:
    """Whether the run left nothing that a normal exit would wait for or call: no
    thread but daemons (the worker pool's), no exit handler added (by the graph's code)."""
    if atexit._ncallbacks() != exit_handlers:
        return False
    main_thread = threading.main_thread()
    return all(t.daemon or t is main_thread for t in threading.enumerate())


def _is_command_line() -> bool:
    """Whether this process is the ``liuray`` command itself (the console script or
    ``python -m liuray.cli.main``), not a program or test calling ``main``."""
    from liuray.cli.main import main as cli_main

    entry = sys.modules.get("__main__")
    spec = getattr(entry, "__spec__", None)
    return getattr(entry, "main", None) is cli_main or getattr(spec, "name", "") == (
        "liuray.cli.main"
    )


def _exit_now(status: int) -> NoReturn:
    """End the process once the summary is out, without freeing the session.

    The run is over and nothing else shares the process: freeing a million-drop session
    object by object (and the collector's last full pass over it) took ~3 s at exit.
    Output and logs are flushed first; only when no process pool ran (``--processes``
    0) and the graph's code left no thread or exit handler behind.
    """
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _prepare_session_dir(directory: Path) -> str:
    """Create the session directory now, before anything runs; a problem, or ""."""
    hint = "choose another with --session-dir (or set LIURAY_HOME)"
    if directory.exists() and not directory.is_dir():
        return f"the session directory {str(directory)!r} exists and is not a directory; {hint}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        return (
            f"cannot create the session directory {str(directory)!r}: {err.strerror or err}; {hint}"
        )
    return ""


@contextmanager
def _stop_on_signals(stopped: list[int]) -> Iterator[threading.Event]:
    """SIGINT (Ctrl-C) and SIGTERM set the returned event (and record the signal), so
    the run is cancelled cleanly and summarised; a second signal stops at once."""
    stop = threading.Event()

    def handle(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second signal: stop waiting
        stopped.append(signum)
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield stop  # signals reach only the main thread; nothing to install
        return
    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _read_graph(path: Path, console: Console) -> PhysicalGraph:
    """A physical graph from ``path``; a logical (EAGLE) graph is translated first."""
    try:
        return read_physical_graph(path)
    except GraphError as err:
        if err.detail.get("shape") != "logical":
            raise
    from liuray.translate.pipeline import translate

    graph = load_physical_graph(translate(path))
    console.print(f"translated logical graph {escape(path.name)}: {len(graph)} drops")
    return graph


def _bad_graph(console: Console, path: Path, err: GraphError) -> None:
    message = str(err)
    where = "" if str(path) in message else f" {path}"
    console.print(f"[red]error:[/red] bad graph{escape(where)}: {escape(message)}")


def _check_options(args: argparse.Namespace) -> str:
    if args.workers is not None and args.workers < 1:
        return f"--workers must be at least 1, got {args.workers}"
    if args.processes < 0:
        return f"--processes must be 0 (no process pool) or more, got {args.processes}"
    if args.timeout is not None and args.timeout <= 0:
        return f"--timeout must be a positive number of seconds, got {args.timeout}"
    if args.app_timeout is not None and args.app_timeout <= 0:
        return f"--app-timeout must be a positive number of seconds, got {args.app_timeout}"
    for directory in args.code_path or ():
        if not directory.is_dir():
            return f"--code-path {str(directory)!r} is not a directory"
    return ""


def print_summary(console: Console, result: RunResult, graph: PhysicalGraph) -> None:
    """The end-of-run report: state, directory, outputs and failures."""
    colour = "green" if result.ok else "red"
    console.print(
        f"[bold {colour}]{result.state.upper()}[/bold {colour}] session "
        f"{escape(result.session_id)}: {len(graph)} drops in {result.seconds:.2f} s"
    )
    states = ", ".join(f"{state} {count}" for state, count in sorted(result.counts.items()))
    console.print(f"  states: {states}")
    console.print(f"  session directory: {escape(str(result.session_dir))}")
    # Only the shown rows are described (a million-drop graph has 500,000 leaves);
    # the rest are only counted.
    leaves = _leaves(graph)
    if leaves:
        console.print("  outputs:")
        for line in _outputs(result, leaves[:_MAX_ROWS]):
            console.print(f"    {escape(line)}")
        if len(leaves) > _MAX_ROWS:
            console.print(f"    ... and {len(leaves) - _MAX_ROWS} more")
    if result.failures:
        _print_failures(console, result)


def _leaves(graph: PhysicalGraph) -> list[DropUid]:
    """The data drops nothing reads: the graph's outputs, in graph order."""
    return [d.oid for d in graph if not (d.is_app or d.consumers or d.streaming_consumers)]


def _outputs(result: RunResult, leaves: list[DropUid]) -> Iterator[str]:
    """One line per leaf data drop: a file's path (and size), or the drop's state."""
    for uid in leaves:
        drop = result.run.drops.get(uid)
        state = result.run.machine.nodes[uid].state
        if isinstance(drop, FileDrop):
            path = drop.path
            if path.is_file():
                yield f"{path} ({_size(path.stat().st_size)})"
            else:
                yield f"{path} (not written: {state})"
        else:
            yield f"{uid} ({type(drop).__name__}, {state})"


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    scaled = size / 1024
    for unit in ("KiB", "MiB"):
        if scaled < 1024:
            return f"{scaled:.1f} {unit}"
        scaled /= 1024
    return f"{scaled:.1f} GiB"


def _print_failures(console: Console, result: RunResult) -> None:
    """Root causes are shown: the rest are in error because of them."""
    raised = result.root_causes
    shown: list[tuple[DropUid, str]] = (raised or result.failures)[:_MAX_ROWS]
    hidden = len(result.failures) - len(shown)
    if console.is_terminal:
        table = Table("failed drop", "error", title="Failures", title_justify="left")
        for uid, error in shown:
            table.add_row(escape(uid), escape(error))
        console.print(table, soft_wrap=False)
    else:
        for uid, error in shown:
            console.print(f"  failed: {escape(uid)}: {escape(error)}")
    if hidden:
        because = " (in error because of the above)" if raised else ""
        drops = "drop" if hidden == 1 else "drops"
        console.print(f"  ... and {hidden} more {drops} in error{because}")
    if any(_IMPORT_FAILED in error and _MODULE_BROKEN not in error for _, error in shown):
        console.print(
            "  hint: PyFuncApp imports func_name from sys.path; name the folder holding the "
            "code with --code-path DIR (default: the graph file's folder)",
        )
