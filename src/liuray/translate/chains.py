# SPDX-License-Identifier: LGPL-2.1-or-later
"""The ``chains`` partitioner: chains kept together, parallel branches spread.

State: none kept; :func:`chains_labels` is a pure function of the :class:`DropGraph`.

Drops are first grouped into *chains* (union-find):

- a data drop with exactly one producer joins its producer (data lives where it is
  written; apps with many outputs keep them all);
- an app joins the chain of its first input, unless that input *fans out*: it has
  several consumers, or its producer writes several outputs that are read (as after a
  Scatter), so that each branch of a fan-out starts a chain of its own;
- a root data drop with exactly one consumer joins that consumer.

Then the chains are dealt to the partitions largest first, each to the partition with
the fewest drops so far (LPT scheduling; ties go to the lowest partition and the
earliest chain), so the partitions are balanced and every chain is in one partition.

>>> from liuray.translate.drop_graph import drop_graph
>>> specs = [
...     {"oid": "s", "categoryType": "Application", "outputs": [{"a": "x"}, {"b": "x"}]},
...     {"oid": "a", "categoryType": "Data", "consumers": [{"ca": "x"}]},
...     {"oid": "b", "categoryType": "Data", "consumers": [{"cb": "x"}]},
...     {"oid": "ca", "categoryType": "Application", "inputs": [{"a": "x"}]},
...     {"oid": "cb", "categoryType": "Application", "inputs": [{"b": "x"}]},
... ]
>>> chains_labels(drop_graph(specs), 2)
[0, 0, 0, 1, 1]
"""

from __future__ import annotations

from liuray.translate.drop_graph import DropGraph


def chains_labels(graph: DropGraph, partitions: int) -> list[int]:
    """The partition of every drop (see the module docstring)."""
    size = graph.size
    successors: list[list[int]] = [[] for _ in range(size)]
    predecessors: list[list[int]] = [[] for _ in range(size)]
    for source, target in zip(graph.sources, graph.targets, strict=True):
        successors[source].append(target)
        predecessors[target].append(source)
    for before in predecessors:
        if len(before) > 1:
            before.sort()  # an app's "first input": the earliest drop, whatever the edge order
    chains = _Chains(size)
    for drop in range(size):
        before = predecessors[drop]
        if graph.is_app[drop]:
            if before and not _fans_out(before[0], successors, predecessors):
                chains.join(drop, before[0])
        elif len(before) == 1:
            chains.join(drop, before[0])
        elif not before and len(successors[drop]) == 1:
            chains.join(drop, successors[drop][0])
    return _deal(chains.groups(), partitions, size)


def _fans_out(data: int, successors: list[list[int]], predecessors: list[list[int]]) -> bool:
    if len(successors[data]) > 1:
        return True
    return any(
        sum(1 for sibling in successors[producer] if successors[sibling]) > 1
        for producer in predecessors[data]
    )


class _Chains:
    """Union-find over drops; a group's representative is its earliest member."""

    def __init__(self, size: int) -> None:
        self._parent = list(range(size))

    def find(self, drop: int) -> int:
        root = drop
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[drop] != root:
            self._parent[drop], drop = root, self._parent[drop]
        return root

    def join(self, left: int, right: int) -> None:
        first, second = sorted((self.find(left), self.find(right)))
        self._parent[second] = first

    def groups(self) -> list[list[int]]:
        """The chains, in the order of their earliest member."""
        members: dict[int, list[int]] = {}
        for drop in range(len(self._parent)):
            members.setdefault(self.find(drop), []).append(drop)
        return list(members.values())


def _deal(chains: list[list[int]], partitions: int, size: int) -> list[int]:
    """LPT: largest chain first, each to the least loaded partition."""
    load = [0] * partitions
    home = [0] * size
    for chain in sorted(chains, key=len, reverse=True):  # stable: earliest chain first
        target = min(range(partitions), key=load.__getitem__)
        load[target] += len(chain)
        for drop in chain:
            home[drop] = target
    return home
