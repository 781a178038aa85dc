# SPDX-License-Identifier: LGPL-2.1-or-later
"""The ``liuray`` entry point: one sub-command per module of this package.

Commands import optional extras only when they run, so each works without the others'
extras. One whose extra is missing (``serve``: server; ``submit``, ``sessions``,
``status``, ``cancel``, ``nodes``: client; ``serve --ray``, ``ray ...``: ray; numpy
apps: apps) stops with one line naming the ``pip install 'liuray[...]'`` to run, and
exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from liuray import __version__
from liuray.cli import nodes, ray_cli, run, serve, sessions, submit, translate
from liuray.errors import as_missing_dependency


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used to render ``--help`` in the docs)."""
    parser = argparse.ArgumentParser(
        prog="liuray",
        description="liuray: a data-activated dataflow graph engine for scientific pipelines "
        "(DALiuGE-compatible, native on Ray).",
    )
    parser.add_argument("--version", action="version", version=f"liuray {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    # In the order a user meets them: local runs, translation, the server and its
    # clients, then cluster deployment.
    run.add_parser(commands)
    translate.add_parser(commands)
    serve.add_parser(commands)
    submit.add_parser(commands)
    sessions.add_parser(commands)
    nodes.add_parser(commands)
    ray_cli.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        status: int = handler(args)
    except ImportError as err:
        missing = as_missing_dependency(err)
        if missing is None:  # not an optional extra: a real bug, keep its traceback
            raise
        print(f"liuray: error: {missing.message}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
