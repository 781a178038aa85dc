# SPDX-License-Identifier: LGPL-2.1-or-later
"""Mapping: partition labels (``"#<i>"``) become node names.

State: none kept; :func:`map_partitions` returns copies of the specs. Partition ``i``
goes to ``nodes[i % len(nodes)]``: with as many nodes as partitions that is DALiuGE's
``resource_map`` (``"#i"`` -> the i-th node manager); with fewer nodes the partitions
wrap around, so a graph partitioned for 8 runs on 3 nodes too. ``island`` becomes the
given island manager's name (default: the first node, DALiuGE's ``co_host_dim``).

>>> map_partitions([{"oid": "a", "node": "#1", "island": "#0"}], ["n0", "n1"])
[{'oid': 'a', 'node': 'n1', 'island': 'n0'}]
"""

from __future__ import annotations

from collections.abc import Sequence

from liuray.errors import GraphError
from liuray.types import DropSpec, NodeName


def map_partitions(
    specs: Sequence[DropSpec], nodes: Sequence[NodeName], island: NodeName | None = None
) -> list[DropSpec]:
    """Replace each spec's ``"#<i>"`` node label by a node name.

    Raises:
        GraphError: no nodes were given, or a spec has no partition label.
    """
    if not nodes:
        raise GraphError("cannot map a graph onto no nodes; give at least one node name")
    island_name = island or nodes[0]
    return [
        {**spec, "node": nodes[_partition(spec) % len(nodes)], "island": island_name}
        for spec in specs
    ]


def _partition(spec: DropSpec) -> int:
    label = spec.get("node")
    if isinstance(label, str) and label.startswith("#") and label[1:].isdigit():
        return int(label[1:])
    raise GraphError(
        f"drop {spec.get('oid')!r} has node {label!r}, not a partition label like '#0'; "
        "partition the graph first (liuray.translate.partition)"
    )
