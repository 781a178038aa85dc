"""liuray vs DALiuGE 6.6.0, side by side in one run: drops/s, per-hop latency, memory.

For every case (mode x workload x size) the two engines run in turn, A B A B ..., each
run in a fresh process; the medians are reported with the ratios liuray/peer (higher is
better for drops/s; for latency and memory the ratio is peer/liuray, so again higher is
better). The peer is installed on first use into ``bench/.peer-venv`` (PyPI).

    python bench/run.py                      # the full matrix (a few minutes)
    python bench/run.py --quick              # small sizes, 1 repeat
    python bench/run.py --modes inproc --repeat 5

Results go to ``bench/results/<timestamp>.json`` and a Markdown table to stdout (the
source of ``docs/benchmarks.md``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import peer_env  # noqa: E402 - a sibling script module, found through sys.path

CASES = [("scatter", 10000), ("chain", 1000)]
QUICK_CASES = [("scatter", 1000), ("chain", 200)]


def run_liuray(mode: str, workload: str, n: int) -> dict[str, Any]:
    """One liuray measurement in a fresh process."""
    command = [sys.executable, str(BENCH / "liuray_bench.py"), mode, workload, str(n)]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, timeout=1200, check=True)
    record: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return record


def median(records: list[dict[str, Any]], key: str) -> float | None:
    """Median of a field over runs (None when the field is absent)."""
    values = [r[key] for r in records if r.get(key) is not None]
    return statistics.median(values) if values else None


def ratio(top: float | None, bottom: float | None) -> str:
    """``top / bottom`` as ``12.3x``, or ``-``."""
    if not top or not bottom:
        return "-"
    return f"{top / bottom:,.1f}x"


def measure(modes: list[str], cases: list[tuple[str, int]], repeat: int) -> list[dict[str, Any]]:
    """Run every case ``repeat`` times per engine, interleaved; return summary rows."""
    rows = []
    for mode in modes:
        for workload, n in cases:
            ours: list[dict[str, Any]] = []
            peers: list[dict[str, Any]] = []
            for attempt in range(repeat):
                print(f"[{mode} {workload} {n}] run {attempt + 1}/{repeat}", file=sys.stderr)
                ours.append(run_liuray(mode, workload, n))
                peers.append(peer_env.run_peer(mode, workload, n))
            rows.append(
                {
                    "mode": mode,
                    "workload": workload,
                    "n": n,
                    "drops": ours[0]["drops"],
                    "liuray": ours,
                    "daliuge": peers,
                    "liuray_drops_per_s": median(ours, "drops_per_s"),
                    "daliuge_drops_per_s": median(peers, "drops_per_s"),
                    "liuray_us_per_hop": median(ours, "us_per_hop"),
                    "daliuge_us_per_hop": median(peers, "us_per_hop"),
                    "liuray_bytes_per_drop": median(ours, "bytes_per_drop"),
                    "daliuge_bytes_per_drop": median(peers, "bytes_per_drop"),
                }
            )
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of medians and ratios."""
    lines = [
        "| mode | workload | drops | liuray drops/s | DALiuGE drops/s | ratio | "
        "liuray us/hop | DALiuGE us/hop | ratio | liuray B/drop | DALiuGE B/drop | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        hop_l, hop_d = r["liuray_us_per_hop"], r["daliuge_us_per_hop"]
        lines.append(
            f"| {r['mode']} | {r['workload']} | {r['drops']:,} "
            f"| {r['liuray_drops_per_s']:,.0f} | {r['daliuge_drops_per_s']:,.0f} "
            f"| {ratio(r['liuray_drops_per_s'], r['daliuge_drops_per_s'])} "
            f"| {f'{hop_l:,.1f}' if hop_l else '-'} | {f'{hop_d:,.0f}' if hop_d else '-'} "
            f"| {ratio(hop_d, hop_l)} "
            f"| {r['liuray_bytes_per_drop']:,.0f} | {r['daliuge_bytes_per_drop']:,.0f} "
            f"| {ratio(r['daliuge_bytes_per_drop'], r['liuray_bytes_per_drop'])} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--modes", nargs="+", default=["inproc", "rest"], choices=["inproc", "rest"]
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per engine and case")
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each")
    args = parser.parse_args(argv)
    cases = QUICK_CASES if args.quick else CASES
    repeat = 1 if args.quick else args.repeat
    peer_env.ensure_peer_venv()
    rows = measure(args.modes, cases, repeat)
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    (results / f"{stamp}.json").write_text(json.dumps(rows, indent=1))
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
