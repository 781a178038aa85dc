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
    specs: Sequence[DropSpec],
    nodes: Sequence[NodeName],
    island: NodeName | None = None,
    *,
    islands: Sequence[NodeName] | None = None,
) -> list[DropSpec]:
    """Replace each spec's ``"#<i>"`` node label by a node name.

    Args:
        specs: partitioned specs (``node = "#<i>"``, ``island = "#<j>"``).
        nodes: the node managers' names; partition ``i`` goes to ``nodes[i % len]``.
        island: the one island manager's name (default: the first node).
        islands: the island managers' names, when the graph has several islands:
            island ``j`` goes to ``islands[j % len]`` (``island`` is then ignored).

    Raises:
        GraphError: no nodes were given, or a spec has no partition label.
    """
    copies = [dict(spec) for spec in specs]
    map_in_place(copies, nodes, island, islands=islands)
    return copies


def map_in_place(
    specs: Sequence[DropSpec],
    nodes: Sequence[NodeName],
    island: NodeName | None = None,
    *,
    islands: Sequence[NodeName] | None = None,
) -> None:
    """As :func:`map_partitions`, writing into ``specs`` themselves."""
    if not nodes:
        raise GraphError("cannot map a graph onto no nodes; give at least one node name")
    node_of: dict[object, NodeName] = {}
    island_of: dict[object, NodeName] = {}
    for spec in specs:
        label = spec.get("node")
        name = node_of.get(label)
        if name is None:
            name = node_of[label] = nodes[_partition(spec) % len(nodes)]
        spec["node"] = name
        if islands:
            label = spec.get("island")
            name = island_of.get(label)
            if name is None:
                name = island_of[label] = islands[_island(spec) % len(islands)]
            spec["island"] = name
        else:
            spec["island"] = island or nodes[0]


def _partition(spec: DropSpec) -> int:
    return _label(spec, "node", "partition the graph first (liuray.translate.partition)")


def _island(spec: DropSpec) -> int:
    return _label(spec, "island", "partition it into islands first (islands=...)")


def _label(spec: DropSpec, key: str, advice: str) -> int:
    label = spec.get(key)
    if isinstance(label, str) and label.startswith("#") and label[1:].isdigit():
        return int(label[1:])
    raise GraphError(
        f"drop {spec.get('oid')!r} has {key} {label!r}, not a partition label like '#0'; " + advice
    )
