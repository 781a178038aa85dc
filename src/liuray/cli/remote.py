# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the commands that talk to a running island manager share.

``--dim URL`` (default ``$LIURAY_DIM``, else ``http://127.0.0.1:8001``), turning the
client's errors into one ``error: ...`` line and exit status 2, and printing a table
that is a rich table in a terminal and plain aligned columns in logs and pipes (so ids
are never folded or cut and stay greppable).

The client (and so ``httpx``, an optional extra) is imported only when a command runs,
so ``liuray run`` works without it.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from liuray.errors import LiurayError, MissingDependency, TransportError

if TYPE_CHECKING:
    from liuray.client import Client

DIM_ENV = "LIURAY_DIM"
DEFAULT_DIM = "http://127.0.0.1:8001"

#: A command's body: given the connected client and (stdout, stderr) consoles.
Body = Callable[["Client", Console, Console], int]


def add_dim_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--dim URL``; SUPPRESS keeps a sub-command's default from hiding a parent's."""
    parser.add_argument(
        "--dim",
        metavar="URL",
        default=argparse.SUPPRESS,
        help=f"the island manager (`liuray serve`) to talk to (default: ${DIM_ENV}, "
        f"else {DEFAULT_DIM})",
    )


def dim_url(args: argparse.Namespace) -> str:
    """The server URL chosen by ``--dim``, ``$LIURAY_DIM`` or the default."""
    chosen: str | None = getattr(args, "dim", None)
    return chosen or os.environ.get(DIM_ENV) or DEFAULT_DIM


def consoles() -> tuple[Console, Console]:
    """(stdout, stderr) consoles; soft wrap keeps long ids and messages on one line."""
    return Console(soft_wrap=True, highlight=False), Console(
        stderr=True, soft_wrap=True, highlight=False
    )


def run_remote(args: argparse.Namespace, body: Body) -> int:
    """Connect to the server, run ``body``, and report the client's errors.

    Returns:
        ``body``'s exit status, or 2 when the server could not be reached or refused
        the request (the error's class and message are printed on standard error).
    """
    out, err = consoles()
    url = dim_url(args)
    try:
        from liuray.client import Client
    except MissingDependency as missing:
        err.print(f"[red]error:[/red] {escape(missing.message)}")
        return 2
    try:
        with Client(url) as client:
            return body(client, out, err)
    except TransportError as failure:
        err.print(f"[red]error:[/red] {escape(failure.message)}")
        if "url" in failure.detail:  # the client's own: the server was not reached
            err.print(f"  (choose another server with --dim URL or ${DIM_ENV})")
        return 2
    except LiurayError as failure:
        name = type(failure).__name__
        err.print(f"[red]error:[/red] {name}: {escape(failure.message)}")
        return 2


def print_table(
    console: Console, title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]
) -> None:
    """A rich table in a terminal; elsewhere a header line and aligned plain columns."""
    if console.is_terminal:
        table = Table(*headers, title=title, title_justify="left")
        for row in rows:
            table.add_row(*(escape(cell) for cell in row))
        console.print(table, soft_wrap=False)
        return
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    for line in (headers, *rows):
        text = "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
        console.print(escape(text.rstrip()))


def join_names(names: Sequence[str], shown: int = 3) -> str:
    """``a, b, c +2 more`` (or ``-`` for none)."""
    if not names:
        return "-"
    text = ", ".join(names[:shown])
    return f"{text} +{len(names) - shown} more" if len(names) > shown else text
