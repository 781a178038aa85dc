# SPDX-License-Identifier: LGPL-2.1-or-later
"""Mapping the drops of a graph without ``node`` fields onto the registered nodes.

Real partitioning (min-cut, METIS) is the translator's job; this is the fallback for a
physical graph that names no nodes, chosen to keep chains together and spread fan-outs:

* a data drop lives with its first producer (roots: with their first consumer);
* an app continues on the node of its first input, unless that input fans out (it is
  one of several outputs of one app, as after a scatter, or several apps read it): then,
  like root apps, it is placed round-robin, so parallel branches spread over the nodes.

>>> from liuray.graph.physical import load_physical_graph
>>> pg = load_physical_graph([
...     {"oid": "s", "categoryType": "app", "dropclass": "x", "outputs": ["d1", "d2"]},
...     {"oid": "d1", "categoryType": "data", "dropclass": "y", "consumers": ["a1"]},
...     {"oid": "d2", "categoryType": "data", "dropclass": "y", "consumers": ["a2"]},
...     {"oid": "a1", "categoryType": "app", "dropclass": "x"},
...     {"oid": "a2", "categoryType": "app", "dropclass": "x"},
... ])
>>> sorted(set(assign_nodes(pg, ["n1", "n2"]).values()))
['n1', 'n2']
"""

from __future__ import annotations

from itertools import cycle

from liuray.graph.physical import PhysicalGraph
from liuray.types import DropUid, NodeName


def assign_nodes(graph: PhysicalGraph, nodes: list[NodeName]) -> dict[DropUid, NodeName]:
    """A node for every drop of ``graph`` (see the module docstring)."""
    if not nodes:
        return {}
    turn = cycle(nodes)
    home: dict[DropUid, NodeName] = {}
    for oid in _topological(graph):
        drop = graph[oid]
        if not drop.is_app:
            if drop.producers:
                home[oid] = home[drop.producers[0]]
            continue
        inputs = drop.inputs + drop.streaming_inputs
        if inputs and inputs[0] in home and not _fanned_out(graph, inputs[0]):
            home[oid] = home[inputs[0]]
        else:
            home[oid] = next(turn)
        for data in inputs:
            home.setdefault(data, home[oid])
    for drop in graph:
        home.setdefault(drop.oid, nodes[0])
    return home


def _fanned_out(graph: PhysicalGraph, data: DropUid) -> bool:
    drop = graph[data]
    if len(drop.consumers) + len(drop.streaming_consumers) > 1:
        return True  # one drop read by several apps: spread the readers
    producers = drop.producers
    return bool(producers) and len(graph[producers[0]].outputs) > 1


def _topological(graph: PhysicalGraph) -> list[DropUid]:
    indegree = {
        d.oid: len(d.inputs) + len(d.streaming_inputs) if d.is_app else len(d.producers)
        for d in graph
    }
    ready = [oid for oid, n in indegree.items() if n == 0]
    order: list[DropUid] = []
    while ready:
        oid = ready.pop()
        order.append(oid)
        drop = graph[oid]
        for nxt in drop.outputs if drop.is_app else drop.consumers + drop.streaming_consumers:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    return order


def is_partition_label(node: str) -> bool:
    """DALiuGE's partitioned-but-unmapped node names: ``#0``, ``#1``..."""
    return node.startswith("#") and node[1:].isdigit()


_RESOURCE_KEYS = {"num_cpus": "CPU", "num_gpus": "GPU"}


def resource_bundle(graph: PhysicalGraph, oids: list[DropUid]) -> dict[str, float]:
    """The resources one node must offer to run the apps in ``oids`` (largest demand)."""
    bundle: dict[str, float] = {"CPU": 1.0}
    for oid in oids:
        spec = graph[oid].spec
        for key, resource in _RESOURCE_KEYS.items():
            value = spec.get(key)
            if isinstance(value, int | float) and value > bundle.get(resource, 0):
                bundle[resource] = float(value)
        extra = spec.get("resources")
        if isinstance(extra, dict):
            for name, value in extra.items():
                if isinstance(value, int | float) and value > bundle.get(name, 0):
                    bundle[str(name)] = float(value)
    return bundle
