# SPDX-License-Identifier: LGPL-2.1-or-later
"""Partitioning: label every drop spec with the partition it runs in.

State: none kept; the functions copy the specs they are given (shallowly) and return
the copies with ``node = "#<partition>"`` and ``island = "#0"``, the "partitioned
physical graph template" that DALiuGE's ``dlg partition`` writes and ``dlg map`` reads.

Algorithms (:data:`ALGORITHMS`):

* ``none``: every drop in partition 0 (DALiuGE's ``none``).
* ``chains``: keep chains together, spread the parallel branches. Drops are first
  grouped into *chains* (union-find):

  - a data drop with exactly one producer joins its producer (data lives where it is
    written; apps with many outputs keep them all);
  - an app joins the chain of its first input, unless that input *fans out*: it has
    several consumers, or its producer writes several outputs that are read (as after a
    Scatter), so that each branch of a fan-out starts a chain of its own;
  - a root data drop with exactly one consumer joins that consumer.

  Then the chains are dealt to the partitions largest first, each to the partition
  with the fewest drops so far (LPT scheduling; ties go to the lowest partition and the
  earliest chain), so the partitions are balanced and every chain is in one partition.

>>> specs = [
...     {"oid": "s", "categoryType": "Application", "outputs": [{"a": "x"}, {"b": "x"}]},
...     {"oid": "a", "categoryType": "Data", "consumers": [{"ca": "x"}]},
...     {"oid": "b", "categoryType": "Data", "consumers": [{"cb": "x"}]},
...     {"oid": "ca", "categoryType": "Application", "inputs": [{"a": "x"}]},
...     {"oid": "cb", "categoryType": "Application", "inputs": [{"b": "x"}]},
... ]
>>> {spec["oid"]: spec["node"] for spec in partition(specs, 2)}
{'s': '#0', 'a': '#0', 'b': '#0', 'ca': '#1', 'cb': '#1'}
"""

from __future__ import annotations

from collections.abc import Sequence

from liuray.errors import GraphError
from liuray.types import DropSpec, DropUid

ALGORITHMS = ("none", "chains")
_FORWARD = ("outputs", "consumers", "streamingConsumers")
_APP_TYPES = frozenset({"application", "app", "socket"})


def partition(
    specs: Sequence[DropSpec], partitions: int = 1, algorithm: str | None = None
) -> list[DropSpec]:
    """Label ``specs`` with ``partitions`` partitions.

    Args:
        specs: drop specs, as :func:`liuray.translate.unroll.unroll` makes them.
        partitions: how many partitions (at least 1).
        algorithm: one of :data:`ALGORITHMS`; default ``none`` for one partition, else
            ``chains``.

    Raises:
        GraphError: an unknown algorithm or a partition count below 1.
    """
    if partitions < 1:
        raise GraphError(f"the number of partitions must be at least 1, got {partitions}")
    chosen = algorithm or ("none" if partitions == 1 else "chains")
    if chosen == "none":
        return partition_none(specs)
    if chosen == "chains":
        return partition_chains(specs, partitions)
    raise GraphError(f"unknown partitioning algorithm {chosen!r} (known: {', '.join(ALGORITHMS)})")


def partition_none(specs: Sequence[DropSpec]) -> list[DropSpec]:
    """Every drop in partition ``#0``."""
    return [{**spec, "node": "#0", "island": "#0"} for spec in specs]


def partition_chains(specs: Sequence[DropSpec], partitions: int) -> list[DropSpec]:
    """Chains kept together, dealt to ``partitions`` balanced partitions (see above)."""
    chains = _Chains([str(spec["oid"]) for spec in specs])
    successors = {str(spec["oid"]): _linked(spec, _FORWARD) for spec in specs}
    predecessors: dict[DropUid, list[DropUid]] = {oid: [] for oid in successors}
    for oid, after in successors.items():
        for other in after:
            if other not in predecessors:
                raise GraphError(f"drop {oid!r} links to {other!r}, which is not in the graph")
            predecessors[other].append(oid)
    for spec in specs:
        oid = str(spec["oid"])
        before = predecessors[oid]
        if _is_app(spec):
            if before and not _fans_out(before[0], successors, predecessors):
                chains.join(oid, before[0])
        elif len(before) == 1:
            chains.join(oid, before[0])
        elif not before and len(successors[oid]) == 1:
            chains.join(oid, successors[oid][0])
    home = _deal(chains.groups(), partitions)
    return [{**spec, "node": f"#{home[str(spec['oid'])]}", "island": "#0"} for spec in specs]


def _linked(spec: DropSpec, keys: Sequence[str]) -> list[DropUid]:
    linked: list[DropUid] = []
    for key in keys:
        for entry in spec.get(key) or ():
            linked.extend(map(str, entry) if isinstance(entry, dict) else [str(entry)])
    return linked


def _is_app(spec: DropSpec) -> bool:
    return str(spec.get("categoryType", spec.get("type", ""))).lower() in _APP_TYPES


def _fans_out(
    data: DropUid,
    successors: dict[DropUid, list[DropUid]],
    predecessors: dict[DropUid, list[DropUid]],
) -> bool:
    if len(successors[data]) > 1:
        return True
    return any(
        sum(1 for sibling in successors[producer] if successors[sibling]) > 1
        for producer in predecessors[data]
    )


class _Chains:
    """Union-find over oids; a group's representative is its earliest member."""

    def __init__(self, oids: list[DropUid]) -> None:
        self._order = {oid: position for position, oid in enumerate(oids)}
        self._parent = {oid: oid for oid in oids}

    def find(self, oid: DropUid) -> DropUid:
        root = oid
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[oid] != root:
            self._parent[oid], oid = root, self._parent[oid]
        return root

    def join(self, left: DropUid, right: DropUid) -> None:
        first, second = sorted((self.find(left), self.find(right)), key=self._order.__getitem__)
        self._parent[second] = first

    def groups(self) -> list[list[DropUid]]:
        """The chains, in the order of their earliest member."""
        members: dict[DropUid, list[DropUid]] = {}
        for oid in self._order:
            members.setdefault(self.find(oid), []).append(oid)
        return list(members.values())


def _deal(chains: list[list[DropUid]], partitions: int) -> dict[DropUid, int]:
    """LPT: largest chain first, each to the least loaded partition."""
    load = [0] * partitions
    home: dict[DropUid, int] = {}
    for chain in sorted(chains, key=len, reverse=True):  # stable: earliest chain first
        target = min(range(partitions), key=load.__getitem__)
        load[target] += len(chain)
        for oid in chain:
            home[oid] = target
    return home
