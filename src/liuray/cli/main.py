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
import importlib
import sys
from collections.abc import Sequence

from liuray import __version__
from liuray.errors import as_missing_dependency

#: Commands whose module registers that one command: ``liuray <command> ...`` imports
#: only that module (``liuray translate`` needs neither the engine nor a client).
_ALONE = {name: f"liuray.cli.{name}" for name in ("run", "translate", "serve", "submit")}


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (also used to render ``--help`` in the docs)."""
    from liuray.cli import nodes, ray_cli, run, serve, sessions, submit, translate

    parser = _top_parser()
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


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="liuray",
        description="liuray: a data-activated dataflow graph engine for scientific pipelines "
        "(DALiuGE-compatible, native on Ray).",
    )
    parser.add_argument("--version", action="version", version=f"liuray {__version__}")
    return parser


def _parser_for(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser for ``argv``: only its command's, when that command stands alone."""
    module = _ALONE.get(argv[0]) if argv else None
    if module is None:
        return build_parser()
    parser = _top_parser()
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    importlib.import_module(module).add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen command; returns the exit status."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = _parser_for(arguments)
    args = parser.parse_args(arguments)
    # The command owns this process (started from a command line, not called from
    # Python): only then may it execute itself again (``serve``'s allocator).
    args.own_process = argv is None
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
