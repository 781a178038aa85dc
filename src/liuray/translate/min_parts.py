# SPDX-License-Identifier: LGPL-2.1-or-later
"""The fewest partitions whose degree of parallelism stays within a bound.

DALiuGE's ``min_num_parts`` (``MinNumPartsScheduler``, after Sarkar's edge zeroing):
every drop starts in a partition of its own; the edges are visited heaviest first
(DALiuGE's edge weight: the data volume), and the two partitions an edge joins merge
when the result can still run with at most ``max_dop`` drops at once (its *degree of
parallelism*, DoP: the largest set of its drops no path orders); at the end, partitions
whose DoPs add up to at most ``max_dop`` are merged too. So a partition is what one
node with ``max_dop`` cores can run without ever having more work ready than cores,
and there are as few of them as that greedy finds.

DALiuGE measures a candidate's DoP exactly (a maximum antichain, recomputed per merge
with networkx), which takes minutes on graphs of thousands of drops. liuray keeps,
for each partition, a cover of its drops by *chains* (paths of the graph) and counts
the chains: by Dilworth's theorem no antichain is larger than any chain cover, so the
count bounds the DoP from above and the bound ``max_dop`` always holds. A merge along
edge ``u -> v`` where ``u`` ends a chain and ``v`` starts one continues that chain
(chains ``a + b - 1``), otherwise the chains add up (``a + b``); the last step packs
the partitions into bins of ``max_dop`` chains, largest first, each into the fullest
bin it fits (best-fit decreasing). Each drop counts as one (DALiuGE's default
``num_cpus``). It is linear in the drops and edges, up to the sort of the edges.

State: none kept; :func:`min_parts_labels` is a pure function of the graph.

>>> from liuray.translate.drop_graph import drop_graph
>>> chain = [{"oid": "a", "categoryType": "Application", "outputs": ["b"]},
...          {"oid": "b", "categoryType": "Data", "consumers": ["c"]},
...          {"oid": "c", "categoryType": "Application"}]
>>> min_parts_labels(drop_graph(chain), 1)
[0, 0, 0]
>>> min_parts_labels(drop_graph([{"oid": str(i), "categoryType": "Data"} for i in range(5)]), 2)
[0, 0, 1, 1, 2]
"""

from __future__ import annotations

from liuray.errors import GraphError
from liuray.translate.drop_graph import DropGraph

#: DALiuGE's default ``max_cpu`` for ``min_num_parts``.
DEFAULT_MAX_DOP = 8


def min_parts_labels(graph: DropGraph, max_dop: int = DEFAULT_MAX_DOP) -> list[int]:
    """The partition of every drop: as few partitions as the greedy finds, each of DoP
    at most ``max_dop``, numbered in the order of their first drop.

    Raises:
        GraphError: ``max_dop`` below 1.
    """
    if max_dop < 1:
        raise GraphError(f"the degree of parallelism must be at least 1, got {max_dop}")
    size = graph.size
    parent = list(range(size))
    chains = [1] * size  # at a partition's root: how many chains cover it
    continued = bytearray(size)  # the drop has a successor in its chain
    continues = bytearray(size)  # the drop has a predecessor in its chain

    def root(drop: int) -> int:
        top = drop
        while parent[top] != top:
            top = parent[top]
        while parent[drop] != top:
            parent[drop], drop = top, parent[drop]
        return top

    sources, targets, weights = graph.sources, graph.targets, graph.edge_weights
    # Heaviest first; ties in drop order, so the result does not depend on edge order.
    order = sorted(
        range(len(sources)), key=lambda edge: (-weights[edge], sources[edge], targets[edge])
    )
    for edge in order:
        source, target = sources[edge], targets[edge]
        left, right = root(source), root(target)
        if left == right:
            continue
        joined = not continued[source] and not continues[target]
        merged = chains[left] + chains[right] - joined
        if merged > max_dop:
            continue
        low, high = (left, right) if left < right else (right, left)
        parent[high] = low
        chains[low] = merged
        if joined:
            continued[source] = continues[target] = 1
    return _packed(
        [root(drop) for drop in range(size)],
        chains,
        max_dop,
    )


def _packed(roots: list[int], chains: list[int], max_dop: int) -> list[int]:
    """Best-fit decreasing of the partitions into bins of ``max_dop`` chains."""
    partitions = list(dict.fromkeys(roots))  # in the order of their first drop
    by_room: list[list[int]] = [[] for _ in range(max_dop + 1)]  # room left -> bins
    bins: list[int] = []  # bin -> chains in it
    home: dict[int, int] = {}
    for partition in sorted(partitions, key=lambda part: -chains[part]):
        need = chains[partition]
        room = next((room for room in range(need, max_dop + 1) if by_room[room]), None)
        if room is None:
            chosen = len(bins)
            bins.append(0)
        else:
            chosen = by_room[room].pop()
        bins[chosen] += need
        by_room[max_dop - bins[chosen]].append(chosen)
        home[partition] = chosen
    number = {
        bin_: position for position, bin_ in enumerate(dict.fromkeys(home[p] for p in partitions))
    }
    return [number[home[top]] for top in roots]
