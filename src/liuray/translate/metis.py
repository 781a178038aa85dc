# SPDX-License-Identifier: LGPL-2.1-or-later
"""METIS partitioning, as DALiuGE's ``metis`` algorithm (``MetisPGTP``), via ``pymetis``.

State: none kept; :func:`metis_labels` is a pure function of the :class:`DropGraph`
(METIS is deterministic for a given graph and options).

DALiuGE hands METIS the drop graph made undirected: vertex weights are the drops'
weights (an app's execution time, 1 for data), edge weights the data volumes, and
METIS cuts it into ``k`` parts of balanced weight with the least total weight of the
edges cut (k-way, ``ufactor = 101 - max_load_imbalance``: with DALiuGE's default
imbalance setting of 90, no part may weigh more than 1.011 times the average). liuray
does the same with the ``pymetis`` wheel, which bundles METIS itself: no system library,
no compiler (``pip install 'liuray[metis]'``). The graph goes to METIS in compressed
sparse rows, built with numpy (sorting the edge ends), so a million drops cost a few
hundred milliseconds besides METIS's own time.

The same routine merges partitions into islands (:func:`metis_labels` on the graph of
partitions, as DALiuGE's ``merge_partitions``).

>>> ufactor(DEFAULT_MAX_LOAD_IMBALANCE)  # parts within 1.1% of the average weight
11
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from typing import Any

from liuray.errors import GraphError, missing_extra
from liuray.translate.drop_graph import DropGraph

#: DALiuGE's default ``max_load_imb`` (``pg_generator.partition``).
DEFAULT_MAX_LOAD_IMBALANCE = 90
#: From this many edges the rows are built with numpy.
NUMPY_FROM_EDGES = 200_000


def ufactor(max_load_imbalance: int) -> int:
    """DALiuGE's METIS ``ufactor`` for a ``max_load_imb`` setting (at least 1)."""
    return max(1, 100 - max_load_imbalance + 1)


def metis_labels(
    graph: DropGraph,
    partitions: int,
    *,
    max_load_imbalance: int = DEFAULT_MAX_LOAD_IMBALANCE,
    edge_weights: array[int] | None = None,
) -> list[int]:
    """The partition (``0..partitions-1``) of every drop of ``graph``.

    ``edge_weights`` replaces the graph's own (its data drops' volumes), one per edge.

    Raises:
        MissingDependency: ``pymetis`` (or numpy) is not installed.
        GraphError: fewer drops than partitions.
    """
    if partitions > max(graph.size, 1):
        raise GraphError(
            f"cannot cut {graph.size} drops into {partitions} partitions; ask for at most "
            f"{graph.size}"
        )
    if partitions == 1 or graph.size == 0:
        return [0] * graph.size
    try:
        import pymetis
    except ImportError as err:
        raise missing_extra(err.name or "pymetis", "metis") from err
    starts, adjacent, summed = _compressed_rows(graph, edge_weights)
    result = pymetis.part_graph(
        partitions,
        adjacency=pymetis.CSRAdjacency(starts, adjacent),
        vweights=graph.weights,
        eweights=summed,
        options=pymetis.Options(ufactor=ufactor(max_load_imbalance)),
    )
    labels: list[int] = list(result.vertex_part)
    return labels


Rows = tuple[Sequence[int], Sequence[int], Sequence[int]]


def _compressed_rows(graph: DropGraph, edge_weights: array[int] | None) -> Rows:
    """Undirected CSR of ``graph``: each edge both ways, parallel edges summed, no loops,
    each row sorted (numpy for large graphs, plain Python below: importing numpy costs
    more than building a small graph's rows)."""
    weights = graph.edge_weights if edge_weights is None else edge_weights
    if len(graph.sources) < NUMPY_FROM_EDGES:
        return _rows_in_python(graph, weights)
    try:
        import numpy
    except ImportError as err:
        raise missing_extra(err.name or "numpy", "metis") from err
    return _rows_with_numpy(numpy, graph, weights)


def _rows_in_python(graph: DropGraph, weights: array[int]) -> Rows:
    rows: list[dict[int, int]] = [{} for _ in range(graph.size)]
    for source, target, weight in zip(graph.sources, graph.targets, weights, strict=True):
        if source != target:
            rows[source][target] = rows[source].get(target, 0) + weight
            rows[target][source] = rows[target].get(source, 0) + weight
    starts: array[int] = array("q", [0])
    adjacent: array[int] = array("q")
    summed: array[int] = array("q")
    for row in rows:
        for other in sorted(row):
            adjacent.append(other)
            summed.append(row[other])
        starts.append(len(adjacent))
    return starts, adjacent, summed


def _rows_with_numpy(np: Any, graph: DropGraph, weights: array[int]) -> Rows:
    size = graph.size
    sources = np.frombuffer(graph.sources, dtype=np.int64)
    targets = np.frombuffer(graph.targets, dtype=np.int64)
    weight = np.frombuffer(weights, dtype=np.int64)
    keep = sources != targets
    ends = np.concatenate([sources[keep], targets[keep]])
    others = np.concatenate([targets[keep], sources[keep]])
    both = np.concatenate([weight[keep], weight[keep]])
    keys, inverse = np.unique(ends * size + others, return_inverse=True)
    summed = np.bincount(inverse, weights=both, minlength=len(keys)).astype(np.int64)
    starts = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys // size, minlength=size), out=starts[1:])
    return starts, keys % size, summed
