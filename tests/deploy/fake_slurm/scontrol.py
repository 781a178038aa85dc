"""Stand-in for ``scontrol show hostnames LIST``: one host per line, as SLURM prints.

Understands the node-list forms tests use: ``a,b`` and ``node[1-3,7]``.
"""

from __future__ import annotations

import re
import sys


def hostnames(node_list: str) -> list[str]:
    hosts = []
    for prefix, ranges, plain in re.findall(r"([^,\[]+)\[([^\]]+)\]|([^,\[\]]+)", node_list):
        if plain:
            hosts.append(plain)
            continue
        for part in ranges.split(","):
            first, _, last = part.partition("-")
            width = len(first)
            for number in range(int(first), int(last or first) + 1):
                hosts.append(f"{prefix}{number:0{width}d}")
    return hosts


if __name__ == "__main__":
    if sys.argv[1:3] != ["show", "hostnames"] or len(sys.argv) != 4:
        sys.exit(f"fake scontrol: only 'show hostnames LIST' is supported, got {sys.argv[1:]}")
    print("\n".join(hostnames(sys.argv[3])))
