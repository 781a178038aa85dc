# SPDX-License-Identifier: LGPL-2.1-or-later
"""``liuray translate LG.graph``: an EAGLE logical graph becomes a physical graph.

The graph is unrolled (Scatter, Gather, Loop and GroupBy constructs expanded as DALiuGE
expands them; docs/translator.md), partitioned and, with
``--nodes``, mapped onto node names (``liuray.translate``). The physical graph (a JSON
list of DALiuGE drop specs) goes to ``-o FILE`` or standard output; a one-line summary
goes to standard error, so the command pipes into ``liuray run`` or ``liuray submit``.

Exit status: 0 translated, 2 the graph is unusable (the message names the node; a
physical graph is refused with a pointer to ``liuray run`` / ``liuray submit``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.markup import escape

from liuray.cli.remote import consoles
from liuray.errors import GraphError
from liuray.translate import ALGORITHMS, translate
from liuray.translate.unroll import DEFAULT_OID_PREFIX

_EXAMPLES = """\
examples:
  liuray translate pipeline.graph -o pipeline.json
      unroll into one partition ("#0"), ready for `liuray run pipeline.json`
  liuray translate pipeline.graph --nodes node1:8000,node2:8000 -o pg.json
      two partitions, mapped onto those node managers
  liuray translate pipeline.graph --partitions 4
      four partitions labelled "#0".."#3" (DALiuGE's partitioned template), on stdout

exit status: 0 translated, 2 bad graph or option
"""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``liuray translate``."""
    parser = commands.add_parser(
        "translate",
        help="translate an EAGLE logical graph (.graph) into a physical graph",
        description="Translate an EAGLE logical graph into a DALiuGE-format physical graph:\n"
        "unroll the constructs (Scatter, Gather, Loop, GroupBy), partition, and map onto nodes.",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("graph", type=Path, help="EAGLE logical graph (.graph JSON)")
    parser.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write here (default: stdout)"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--nodes",
        metavar="HOST[,HOST...]",
        help="map one partition per node onto these node names",
    )
    where.add_argument(
        "--partitions",
        type=int,
        metavar="N",
        help="N partitions, left as labels #0..#N-1 (default: 1)",
    )
    parser.add_argument(
        "--algorithm",
        choices=ALGORITHMS,
        help="partitioning algorithm (default: none for 1 partition, else chains)",
    )
    parser.add_argument(
        "--oid-prefix",
        default=DEFAULT_OID_PREFIX,
        metavar="PREFIX",
        help=f"first part of every drop oid (default: {DEFAULT_OID_PREFIX})",
    )
    parser.set_defaults(handler=main)


def main(args: argparse.Namespace) -> int:
    """Translate ``args.graph``; return the exit status."""
    _, errors = consoles()
    nodes = [name.strip() for name in args.nodes.split(",") if name.strip()] if args.nodes else []
    if args.nodes is not None and not nodes:
        errors.print("[red]error:[/red] --nodes needs at least one node name")
        return 2
    try:
        specs = translate(
            args.graph,
            oid_prefix=args.oid_prefix,
            partitions=args.partitions,
            nodes=nodes or None,
            algorithm=args.algorithm,
        )
    except GraphError as err:
        errors.print(f"[red]error:[/red] {escape(err.message)}")
        return 2
    text = json.dumps(specs, indent=1)
    if args.output is None:
        sys.stdout.write(text + "\n")
    else:
        try:
            args.output.write_text(text + "\n", encoding="utf-8")
        except OSError as err:
            errors.print(f"[red]error:[/red] cannot write {escape(str(args.output))}: {err}")
            return 2
    apps = sum(1 for spec in specs if spec["categoryType"] == "Application")
    parts = len({spec["node"] for spec in specs})
    where = f"{parts} node(s)" if nodes else f"{parts} partition(s)"
    errors.print(
        f"translated {escape(str(args.graph))}: {len(specs)} drops "
        f"({apps} apps, {len(specs) - apps} data) on {where}"
    )
    return 0
