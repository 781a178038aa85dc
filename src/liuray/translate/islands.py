# SPDX-License-Identifier: LGPL-2.1-or-later
"""Islands: partitions grouped for the data island managers above the nodes.

DALiuGE merges the partitions of a partitioned graph into ``num_islands`` islands
(``merge_partitions(..., form_island=True)``): each partition becomes one vertex,
weighing what its drops weigh, joined to the others by the total weight of the edges
cut between them, and that small graph is partitioned again. The drops keep their
partition (``node = "#i"``) and gain ``island = "#j"``.

How the small graph is cut: with METIS when the drops were partitioned with METIS (as
DALiuGE, with ``ufactor`` 1: islands as even as METIS can make them); otherwise by
weight alone, heaviest partition first, each to the lightest island so far (LPT), which
needs no extra.

State: none kept; :func:`island_labels` is a pure function of its arguments.

>>> from liuray.translate.drop_graph import drop_graph
>>> graph = drop_graph([{"oid": str(i), "categoryType": "Data"} for i in range(4)])
>>> island_labels(graph, [0, 1, 2, 2], 2)
[1, 1, 0, 0]
"""

from __future__ import annotations

from array import array
from collections import Counter

from liuray.errors import GraphError
from liuray.translate.drop_graph import DropGraph
from liuray.translate.metis import metis_labels


def island_labels(
    graph: DropGraph, labels: list[int], islands: int, *, metis: bool = False
) -> list[int]:
    """The island of every drop, given its partition in ``labels``.

    Raises:
        GraphError: ``islands`` below 1 or above the number of partitions.
        MissingDependency: ``metis`` asked for and ``pymetis`` not installed.
    """
    partitions = max(labels, default=-1) + 1
    if islands < 1:
        raise GraphError(f"the number of islands must be at least 1, got {islands}")
    if islands > max(partitions, 1):
        raise GraphError(
            f"cannot form {islands} islands from {partitions} partitions: an island holds "
            "at least one partition; ask for fewer islands or more partitions"
        )
    if islands == 1:
        return [0] * len(labels)
    of_partition = (
        _by_metis(graph, labels, partitions, islands)
        if metis
        else _by_weight(graph, labels, partitions, islands)
    )
    return [of_partition[label] for label in labels]


def _partition_weights(graph: DropGraph, labels: list[int], partitions: int) -> list[int]:
    weights = [0] * partitions
    for label, weight in zip(labels, graph.weights, strict=True):
        weights[label] += weight
    return weights


def _by_weight(graph: DropGraph, labels: list[int], partitions: int, islands: int) -> list[int]:
    weights = _partition_weights(graph, labels, partitions)
    load = [0] * islands
    island = [0] * partitions
    for partition in sorted(range(partitions), key=lambda part: -weights[part]):
        target = min(range(islands), key=load.__getitem__)
        load[target] += weights[partition]
        island[partition] = target
    return island


def _by_metis(graph: DropGraph, labels: list[int], partitions: int, islands: int) -> list[int]:
    cut: Counter[tuple[int, int]] = Counter()
    for source, target, weight in zip(
        graph.sources, graph.targets, graph.edge_weights, strict=True
    ):
        left, right = labels[source], labels[target]
        if left != right:
            cut[(left, right)] += weight
    quotient = DropGraph(
        size=partitions,
        is_app=bytearray(partitions),
        weights=array("q", _partition_weights(graph, labels, partitions)),
        volumes=array("q", [1] * partitions),
        sources=array("q", [edge[0] for edge in cut]),
        targets=array("q", [edge[1] for edge in cut]),
    )
    return metis_labels(
        quotient, islands, max_load_imbalance=100, edge_weights=array("q", cut.values())
    )
