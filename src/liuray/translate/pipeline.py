# SPDX-License-Identifier: LGPL-2.1-or-later
"""The whole translation: logical graph -> unroll -> partition -> map -> physical graph.

State: none kept; :func:`translate` is a pure function of its arguments (reading the
file when given a path is its only I/O).

The stages are DALiuGE's (``daliuge.md`` section 3.1): :mod:`~liuray.translate.unroll`
expands the constructs into drop specs, :mod:`~liuray.translate.partition` labels them
``"#<i>"``, and, when node names are given, :mod:`~liuray.translate.map` turns the
labels into nodes. DALiuGE's ``fill`` (``~{name}`` placeholders, deprecated) is not
implemented; the graph's active configuration is applied when the graph is loaded.

>>> specs = translate({"nodeDataArray": [
...     {"id": "d", "name": "x", "categoryType": "Data", "category": "Memory"}]},
...     nodes=["localhost:8000"])
>>> [(spec["oid"], spec["node"]) for spec in specs]
[('1_d_0', 'localhost:8000')]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from liuray.errors import GraphError
from liuray.graph.logical import LogicalGraph, load_logical_graph, read_logical_graph
from liuray.translate.map import map_partitions
from liuray.translate.partition import partition
from liuray.translate.unroll import DEFAULT_OID_PREFIX, unroll
from liuray.types import DropSpec, NodeName


def translate(
    graph: LogicalGraph | dict[str, Any] | str | Path,
    *,
    oid_prefix: str = DEFAULT_OID_PREFIX,
    partitions: int | None = None,
    nodes: Sequence[NodeName] | None = None,
    island: NodeName | None = None,
    algorithm: str | None = None,
) -> list[DropSpec]:
    """Translate a logical graph into a DALiuGE physical graph (a list of drop specs).

    Args:
        graph: a :class:`LogicalGraph`, a parsed EAGLE graph, or the path of a ``.graph``.
        oid_prefix: the first part of every oid.
        partitions: how many partitions (default: one per node, or 1).
        nodes: node names to map the partitions onto; without them the specs keep the
            ``"#<i>"`` labels (a partitioned template).
        island: the island manager's name written into ``island`` (default: first node).
        algorithm: partitioning algorithm (see :mod:`liuray.translate.partition`).

    Raises:
        GraphError: the graph is malformed or uses what is not supported yet.
    """
    logical = _as_logical_graph(graph)
    count = partitions if partitions is not None else max(1, len(nodes or ()))
    labelled = partition(unroll(logical, oid_prefix), count, algorithm)
    return map_partitions(labelled, nodes, island) if nodes else labelled


def _as_logical_graph(graph: LogicalGraph | dict[str, Any] | str | Path) -> LogicalGraph:
    if isinstance(graph, LogicalGraph):
        return graph
    if isinstance(graph, str | Path):
        return read_logical_graph(graph)
    if isinstance(graph, dict):
        return load_logical_graph(graph)
    raise GraphError(
        f"cannot translate a {type(graph).__name__}: give a LogicalGraph, a parsed "
        "EAGLE graph (dict) or the path of a .graph file"
    )
