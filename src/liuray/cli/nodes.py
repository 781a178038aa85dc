# SPDX-License-Identifier: LGPL-2.1-or-later
"""``liuray nodes``: the node managers of a running island manager.

``liuray nodes`` lists them, one row per node (name, state, host, sessions, running),
from liuray's ``GET /api/liuray/nodes``; against a server without that route (DALiuGE's
own island manager) it falls back to the plain names of ``GET /api/nodes``.

Sub-commands (each one function below, registered in :func:`add_parser`):
    ``liuray nodes restart NODE``: replace a node's manager with a fresh one
    (``POST /api/liuray/nodes/{node}/restart``) and print the server's answer.

Exit status: 0 done, 2 the server could not be reached or refused the request.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from liuray.cli.remote import add_dim_option, print_table, run_remote
from liuray.errors import LiurayError

if TYPE_CHECKING:
    from liuray.client import Client

_EXAMPLES = """\
examples:
  liuray nodes
      the nodes of the island manager at $LIURAY_DIM (default http://127.0.0.1:8001)
  liuray nodes --dim http://head:8001
  liuray nodes restart localhost:8001
      replace that node's manager (sessions running on it lose its drops)
"""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``liuray nodes`` and its sub-commands."""
    parser = commands.add_parser(
        "nodes",
        help="list (or restart) the node managers of an island manager",
        usage="liuray nodes [-h] [--dim URL] [restart NODE]",
        description="List the node managers of a running island manager (`liuray serve`).",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_dim_option(parser)
    parser.set_defaults(handler=list_main)
    actions = parser.add_subparsers(title="sub-commands", metavar="ACTION")
    restart = actions.add_parser(
        "restart",
        help="replace a node's manager with a fresh one",
        description="Replace a node's manager with a fresh one; sessions running on it\n"
        "lose that node's drops (they fail instead of hanging).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    restart.add_argument("node", metavar="NODE", help="the node's name (as `liuray nodes` shows)")
    add_dim_option(restart)
    restart.set_defaults(handler=restart_main)


def list_main(args: argparse.Namespace) -> int:
    """``liuray nodes``."""
    return run_remote(args, _list)


def restart_main(args: argparse.Namespace) -> int:
    """``liuray nodes restart NODE``."""
    return run_remote(args, lambda client, out, err: _restart(client, out, args.node))


def _list(client: Client, out: Console, err: Console) -> int:
    try:
        details = client.node_details()
    except LiurayError as failure:
        if type(failure) is not LiurayError:
            raise  # a real refusal (TransportError, ...), not a missing route
        details = [{"name": name} for name in client.nodes()]
    if not details:
        out.print("no nodes registered (add one with POST /api/node/<host:port>)")
        return 0
    rows = [_row(node) for node in details]
    print_table(out, "Nodes", ["node", "state", "host", "sessions", "running"], rows)
    return 0


def _row(node: dict[str, Any]) -> list[str]:
    sessions = node.get("session_ids")
    count = len(sessions) if isinstance(sessions, list) else node.get("sessions", "-")
    return [
        str(node.get("name", "?")),
        str(node.get("state", "-")),
        str(node.get("host") or node.get("ip") or "-"),
        str(count),
        str(node.get("running", "-")),
    ]


def _restart(client: Client, out: Console, node: str) -> int:
    answer = client.restart_node(node)
    text = json.dumps(answer) if not isinstance(answer, str) else answer
    out.print(f"restarted node {escape(node)}: {escape(text)}")
    return 0
