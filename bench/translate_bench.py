# SPDX-License-Identifier: LGPL-2.1-or-later
"""The translator, liuray vs DALiuGE 6.6.0, side by side in one run.

    .venv/bin/python bench/translate_bench.py                    # 10,000-way scatter, 5 pairs
    .venv/bin/python bench/translate_bench.py --copies 500000 --repeat 3 --liuray-only

The graph is an EAGLE logical graph built from eagle-test-graphs' own nodes: the
``Scatter`` of ``SuperBasicScatterGather.graph`` (``num_of_copies`` = ``--copies``) around
``HelloWorld_simple.graph``'s ``HelloWorldApp`` writing a Memory drop: ``2 x copies``
drops, each carrying EAGLE's full field records (~2.6 KB of JSON per drop).

Each round runs, one after the other, each in a fresh process:

* **liuray, whole process**: ``liuray translate G --partitions P --algorithm metis -o
  OUT`` (start-up, imports, reading, unrolling, METIS, mapping and writing the JSON
  file included); wall time and the process's peak RSS (``wait4``);
* **DALiuGE, in-process**: the peer's python imports ``dlg`` (not timed), then times
  ``pg_generator.unroll`` + ``partition(..., "metis", num_partitions=P)`` +
  ``resource_map`` (nothing written), as the issue measures it; its whole process is
  reported too.

Medians over ``--repeat`` rounds; the ratio is DALiuGE's in-process time over liuray's
whole-process time, pair by pair, then the median (higher is better for liuray). One
JSON line per run goes to stderr. The peer is installed into ``bench/.peer-venv`` on
first use (``bench/peer_env.py``).
"""

from __future__ import annotations

import argparse
import copy
import importlib.resources
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import peer_env  # noqa: E402 - a sibling script module, found through sys.path

_PEER_CODE = """
import json, os, sys, time, logging
logging.disable(logging.CRITICAL)
from dlg.dropmake import pg_generator
graph = json.load(open(sys.argv[1]))
partitions = int(sys.argv[2])
start = time.perf_counter()
template = pg_generator.unroll(graph, oid_prefix="1")
unrolled = time.perf_counter()
template = pg_generator.partition(template, "metis", num_partitions=partitions, num_islands=1)
partitioned = time.perf_counter()
nodes = ["localhost"] * (partitions + 1)
physical = pg_generator.resource_map(template, nodes, num_islands=1)
mapped = time.perf_counter()
print(json.dumps({"seconds": mapped - start, "unroll_s": unrolled - start,
                  "partition_s": partitioned - unrolled, "map_s": mapped - partitioned,
                  "drops": len(physical)}))
"""


def scatter_graph(copies: int) -> dict[str, Any]:
    """A Scatter of ``copies`` around HelloWorldApp -> Memory, from EAGLE's own nodes."""
    graphs = importlib.resources.files("daliuge_tests.translator.logical_graphs")
    hello = json.loads((graphs / "HelloWorld_simple.graph").read_text("utf-8"))
    sample = json.loads((graphs / "SuperBasicScatterGather.graph").read_text("utf-8"))
    scatter = copy.deepcopy(sample["nodeDataArray"][0])
    scatter.update(inputApplicationType="None", inputAppFields=[])
    scatter["fields"] = [field for field in scatter["fields"] if field["usage"] == "NoPort"]
    for field in scatter["fields"]:
        if field["name"] == "num_of_copies":
            field["value"] = copies
    app, data = hello["nodeDataArray"][:2]
    app["parentId"] = data["parentId"] = scatter["id"]
    data["category"] = "Memory"
    for field in data["fields"]:
        if field["name"] == "dropclass":
            field["value"] = "dlg.data.drops.memory.InMemoryDROP"
    hello["nodeDataArray"] = [scatter, app, data]
    return hello


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run ``command``; its wall seconds, peak RSS in MB, and standard output."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        error = process.stderr.read().decode() if process.stderr else ""
        if process.returncode != 0:
            raise SystemExit(f"{command[0]} failed ({process.returncode}):\n{error}")
        out.seek(0)
        return seconds, usage.ru_maxrss / 1024, out.read().decode()


def liuray_run(graph: Path, output: Path, partitions: int) -> dict[str, Any]:
    liuray = Path(sys.executable).with_name("liuray")
    command = [str(liuray), "translate", str(graph), "--partitions", str(partitions)]
    seconds, rss, _ = timed([*command, "--algorithm", "metis", "-o", str(output)])
    return {"engine": "liuray", "seconds": seconds, "rss_mb": rss}


def peer_run(python: Path, graph: Path, partitions: int, root: Path) -> dict[str, Any]:
    env = {**os.environ, "DLG_ROOT": str(root)}
    command = [str(python), "-c", _PEER_CODE, str(graph), str(partitions)]
    seconds, rss, out = timed(command, env)
    inside = json.loads(out.strip().splitlines()[-1])
    return {"engine": "daliuge", "process_s": seconds, "rss_mb": rss, **inside}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=10_000, help="scatter width (10000)")
    parser.add_argument("--partitions", type=int, default=2, help="METIS partitions (2)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (5)")
    parser.add_argument("--liuray-only", action="store_true", help="skip DALiuGE")
    args = parser.parse_args(argv)
    peer = None if args.liuray_only else peer_env.ensure_peer_venv()
    with tempfile.TemporaryDirectory(prefix="translate-bench-") as scratch:
        folder = Path(scratch)
        graph = folder / f"scatter_{args.copies}.graph"
        graph.write_text(json.dumps(scatter_graph(args.copies)), "utf-8")
        rounds = []
        for number in range(args.repeat):
            mine = liuray_run(graph, folder / "pg.json", args.partitions)
            theirs = peer_run(peer, graph, args.partitions, folder) if peer else None
            for record in (mine, theirs):
                if record:
                    print(json.dumps({"round": number, **record}), file=sys.stderr)
            rounds.append((mine, theirs))
    report(args, rounds)
    return 0


def report(args: argparse.Namespace, rounds: list[tuple[dict[str, Any], Any]]) -> None:
    def median(values: list[float]) -> float:
        return statistics.median(values)

    mine = [record for record, _ in rounds]
    drops = 2 * args.copies
    print(
        f"translate: {args.copies:,}-way scatter ({drops:,} drops), METIS into "
        f"{args.partitions}, {args.repeat} rounds, medians"
    )
    print(
        f"  liuray whole process: {median([r['seconds'] for r in mine]):.3f} s, "
        f"peak RSS {median([r['rss_mb'] for r in mine]):.0f} MB"
    )
    theirs = [record for _, record in rounds if record]
    if not theirs:
        return
    print(
        f"  DALiuGE in-process:   {median([r['seconds'] for r in theirs]):.3f} s "
        f"(unroll {median([r['unroll_s'] for r in theirs]):.3f}, "
        f"metis {median([r['partition_s'] for r in theirs]):.3f}, "
        f"map {median([r['map_s'] for r in theirs]):.3f})"
    )
    print(
        f"  DALiuGE whole process: {median([r['process_s'] for r in theirs]):.3f} s, "
        f"peak RSS {median([r['rss_mb'] for r in theirs]):.0f} MB"
    )
    ratios = [them["seconds"] / me["seconds"] for me, them in rounds if them]
    whole = [them["process_s"] / me["seconds"] for me, them in rounds if them]
    print(
        f"  ratio DALiuGE in-process / liuray whole process: {median(ratios):.2f}x "
        f"(min {min(ratios):.2f}, max {max(ratios):.2f})"
    )
    print(f"  ratio DALiuGE whole process / liuray whole process: {median(whole):.2f}x")


if __name__ == "__main__":
    sys.exit(main())
