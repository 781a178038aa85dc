# SPDX-License-Identifier: LGPL-2.1-or-later
"""``liuray sessions``, ``liuray status SID`` and ``liuray cancel SID``.

Sessions of a running island manager: the list (one row per session: id, state, drops,
nodes), one session's state with its drops per state and its failed drops, and
cancelling one. States are shown by name; the server keeps DALiuGE's integer codes on
the wire and they are converted here.

Exit status: 0 done, 2 the server could not be reached or refused the request (e.g. no
such session).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, TypeAlias

from rich.console import Console
from rich.markup import escape

from liuray.cli.remote import add_dim_option, join_names, print_table, run_remote
from liuray.cli.submit import print_outcome
from liuray.engine.states import SessionState
from liuray.errors import SessionNotFound
from liuray.managers.island_session import merge_states

if TYPE_CHECKING:
    from liuray.client import Client

_LIST_EXAMPLES = """\
examples:
  liuray sessions
      the sessions of the island manager at $LIURAY_DIM (default http://127.0.0.1:8001)
  liuray sessions --dim http://head:8001
"""
_STATUS_EXAMPLES = """\
examples:
  liuray status nightly-42
      state, drops per state and failed drops of session nightly-42
  liuray status nightly-42 --dim http://head:8001
"""
_CANCEL_EXAMPLES = """\
examples:
  liuray cancel nightly-42
      stop session nightly-42: running apps are stopped, waiting drops cancelled
"""

Parsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def add_parser(commands: Parsers) -> None:
    """Register ``liuray sessions``, ``liuray status`` and ``liuray cancel``."""
    listing = _add(commands, "sessions", "list the sessions of an island manager", _LIST_EXAMPLES)
    listing.set_defaults(handler=list_main)
    status = _add(commands, "status", "show one session's state and failures", _STATUS_EXAMPLES)
    status.add_argument("session_id", metavar="SID", help="the session id")
    status.set_defaults(handler=status_main)
    cancel = _add(commands, "cancel", "cancel a running session", _CANCEL_EXAMPLES)
    cancel.add_argument("session_id", metavar="SID", help="the session id")
    cancel.set_defaults(handler=cancel_main)


def _add(commands: Parsers, name: str, summary: str, examples: str) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        name,
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]} (a running `liuray serve`).",
        epilog=examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_dim_option(parser)
    return parser


def list_main(args: argparse.Namespace) -> int:
    """``liuray sessions``."""
    return run_remote(args, _list)


def status_main(args: argparse.Namespace) -> int:
    """``liuray status SID``."""
    return run_remote(args, lambda client, out, err: _status(client, out, args.session_id))


def cancel_main(args: argparse.Namespace) -> int:
    """``liuray cancel SID``."""
    return run_remote(args, lambda client, out, err: _cancel(client, out, args.session_id))


def state_name(status: dict[str, int] | int) -> str:
    """One state name from DALiuGE's ``{node: code}`` status (or a node manager's int)."""
    codes = [status] if isinstance(status, int) else list(status.values())
    try:
        states = [SessionState.from_code(int(code)) for code in codes]
    except (TypeError, ValueError):
        return "unknown"
    return str(merge_states(states)) if states else "-"


def _list(client: Client, out: Console, err: Console) -> int:
    listed = client.sessions()
    if not listed:
        out.print("no sessions (submit one with: liuray submit GRAPH)")
        return 0
    rows = []
    for session in listed:
        status = session.get("status", {})
        nodes = sorted(status) if isinstance(status, dict) else []
        rows.append(
            [
                str(session.get("sessionId", "?")),
                state_name(status),
                str(session.get("size", "?")),
                join_names([node for node in nodes if node]),
            ]
        )
    print_table(out, "Sessions", ["session", "state", "drops", "nodes"], rows)
    return 0


def _status(client: Client, out: Console, session_id: str) -> int:
    try:
        progress = client.progress(session_id)
    except SessionNotFound:
        # Past sessions (kept only as records after a restart) have a status, no progress.
        state = state_name(client.session_status(session_id))
        out.print(f"[bold]{state.upper()}[/bold] session {escape(session_id)} (past session)")
        return 0
    nodes = join_names(progress.get("nodes") or [], shown=8)
    print_outcome(
        out, progress, extra=[f"nodes: {nodes}", f"monitor: {client.session_url(session_id)}"]
    )
    return 0


def _cancel(client: Client, out: Console, session_id: str) -> int:
    before = state_name(client.session_status(session_id))
    client.cancel_session(session_id)
    after = state_name(client.session_status(session_id))
    if before in ("finished", "failed", "cancelled"):
        out.print(f"session {escape(session_id)} had already ended: {before}; nothing to cancel")
    else:
        out.print(f"cancelled session {escape(session_id)} (was {before}, now {after})")
    return 0
