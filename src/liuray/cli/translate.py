# SPDX-License-Identifier: LGPL-2.1-or-later
"""``liuray translate LG.graph``: an EAGLE logical graph becomes a physical graph.

The graph is unrolled (Scatter, Gather, Loop and GroupBy constructs expanded as DALiuGE
expands them; docs/translator.md), partitioned (``--algorithm``: none, chains, metis,
min_num_parts; ``--islands``) and, with ``--nodes``, mapped onto node names
(``liuray.translate``). The physical graph (a JSON list of DALiuGE drop specs) goes to
``-o FILE`` or standard output, written by orjson in slices (indented up to
:data:`INDENT_UP_TO` drops, compact beyond); a one-line summary goes to standard error,
so the command pipes into ``liuray run`` or ``liuray submit``.

The command is one short process that builds one large graph, so the cyclic garbage
collector is switched off for it: the graph holds no cycles, and on a million drops the
collector's passes would cost more than the translation.

Exit status: 0 translated, 2 the graph or an option is unusable (the message names the
node or the option; a physical graph is refused with a pointer to ``liuray run`` /
``liuray submit``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import orjson

from liuray import _gc
from liuray.errors import GraphError
from liuray.translate import ALGORITHMS, ALIASES
from liuray.translate.metis import DEFAULT_MAX_LOAD_IMBALANCE
from liuray.translate.min_parts import DEFAULT_MAX_DOP
from liuray.translate.pipeline import translation
from liuray.translate.unroll import DEFAULT_OID_PREFIX
from liuray.types import DropSpec

#: Graphs up to this many drops are written indented (two spaces), to be read; larger
#: ones compact (a 20,000-drop graph is tens of megabytes either way).
INDENT_UP_TO = 1_000
#: Specs per orjson call: slices of ~10 MB of text, which the allocator reuses (slices of
#: 50 MB were fresh mappings each time: a million drops paid ~1 s in page faults).
_SLICE = 4_000

_EXAMPLES = """\
examples:
  liuray translate pipeline.graph -o pipeline.json
      unroll into one partition ("#0"), ready for `liuray run pipeline.json`
  liuray translate pipeline.graph --nodes node1:8000,node2:8000 -o pg.json
      two partitions, mapped onto those node managers
  liuray translate pipeline.graph --partitions 4
      four partitions labelled "#0".."#3" (DALiuGE's partitioned template), on stdout
  liuray translate pipeline.graph --algorithm metis --partitions 8 --islands 2
      METIS: 8 partitions of balanced weight, grouped into 2 islands ("#0", "#1")
  liuray translate pipeline.graph --algorithm min_num_parts --max-dop 4
      as few partitions as keep at most 4 drops runnable at once in each

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
        choices=[*ALGORITHMS, *ALIASES],
        help="partitioning algorithm (default: none for 1 partition, else chains); metis "
        "needs pip install 'liuray[metis]'; min_num_parts (mpp) chooses the number of "
        "partitions itself",
    )
    parser.add_argument(
        "--islands",
        type=int,
        default=1,
        metavar="M",
        help="merge the partitions into M islands (with --nodes, the first M names are "
        "the island managers, as in dlg map; default: 1)",
    )
    parser.add_argument(
        "--max-dop",
        type=int,
        default=DEFAULT_MAX_DOP,
        metavar="N",
        help=f"min_num_parts: at most N drops runnable at once per partition "
        f"(DALiuGE's max_cpu; default: {DEFAULT_MAX_DOP})",
    )
    parser.add_argument(
        "--max-load-imbalance",
        type=int,
        default=DEFAULT_MAX_LOAD_IMBALANCE,
        metavar="P",
        help=f"metis: DALiuGE's max_load_imb, METIS ufactor = 101 - P "
        f"(default: {DEFAULT_MAX_LOAD_IMBALANCE}, parts within 1.1%% of the mean)",
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
    nodes = [name.strip() for name in args.nodes.split(",") if name.strip()] if args.nodes else []
    if args.nodes is not None and not nodes:
        return _error("--nodes needs at least one node name")
    # One large graph of acyclic dicts, built and written in one go: the cyclic collector
    # would only rescan it (seconds on a million drops). The specs are freed inside.
    with _gc.paused():
        try:
            translated = translation(
                args.graph,
                oid_prefix=args.oid_prefix,
                partitions=args.partitions,
                nodes=nodes or None,
                algorithm=args.algorithm,
                islands=args.islands,
                max_dop=args.max_dop,
                max_load_imbalance=args.max_load_imbalance,
            )
        except GraphError as err:
            return _error(err.message)
        specs = translated.specs
        if args.output is None:
            write_graph(specs, sys.stdout.buffer)
            sys.stdout.flush()
        else:
            try:
                with args.output.open("wb") as out:
                    write_graph(specs, out)
            except OSError as err:
                return _error(f"cannot write {args.output}: {err}")
        summary = translated.summary()
        del specs, translated
    sys.stderr.write(f"translated {args.graph}: {summary}\n")
    return 0


def _error(message: str) -> int:
    """Say what went wrong on standard error (plain text: no console library to load)."""
    sys.stderr.write(f"error: {message}\n")
    return 2


def write_graph(specs: Sequence[DropSpec], out: BinaryIO) -> None:
    """Write ``specs`` as one JSON list, a slice at a time (no whole-graph text in memory)."""
    option = orjson.OPT_INDENT_2 if len(specs) <= INDENT_UP_TO else 0
    out.write(b"[")
    for start in range(0, len(specs), _SLICE):
        text = orjson.dumps(specs[start : start + _SLICE], option=option)
        if start:
            out.write(b",")
        out.write(memoryview(text)[1 : -2 if option else -1])  # no copy of the text
    out.write(b"\n]\n" if option else b"]\n")
