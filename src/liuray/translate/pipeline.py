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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liuray.errors import GraphError
from liuray.graph.logical import LogicalGraph, load_logical_graph, read_logical_graph
from liuray.translate.drop_graph import DropGraph
from liuray.translate.map import map_in_place
from liuray.translate.metis import DEFAULT_MAX_LOAD_IMBALANCE
from liuray.translate.min_parts import DEFAULT_MAX_DOP
from liuray.translate.partition import (
    ALIASES,
    CHOOSE_THEIR_COUNT,
    Partitioning,
    PartitionOptions,
    partition_in_place,
    resolve,
)
from liuray.translate.unroll import DEFAULT_OID_PREFIX, unroll_with_graph
from liuray.types import DropSpec, NodeName


def translate(graph: LogicalGraph | dict[str, Any] | str | Path, **options: Any) -> list[DropSpec]:
    """Translate a logical graph into a DALiuGE physical graph (a list of drop specs).

    The options are :func:`translation`'s.
    """
    return translation(graph, **options).specs


@dataclass(frozen=True, slots=True)
class Translation:
    """A translated graph: the specs, their drop graph and where each drop went."""

    specs: list[DropSpec]
    drops: DropGraph
    placement: Partitioning
    #: The node names the partitions were mapped onto (empty: left as ``"#<i>"``).
    nodes: list[NodeName]

    def summary(self) -> str:
        """``"20000 drops (10000 apps, 10000 data) on 2 partition(s)"``, without reading
        the specs again (a pass over a million specs costs a second)."""
        apps = self.drops.is_app.count(1)
        used = set(self.placement.partitions)
        if self.nodes:
            where = f"{len({part % len(self.nodes) for part in used})} node(s)"
        else:
            where = f"{len(used)} partition(s)"
        islands = len(set(self.placement.islands))
        if islands > 1:
            where += f" in {islands} islands"
        return f"{len(self.specs)} drops ({apps} apps, {len(self.specs) - apps} data) on {where}"


def translation(
    graph: LogicalGraph | dict[str, Any] | str | Path,
    *,
    oid_prefix: str = DEFAULT_OID_PREFIX,
    partitions: int | None = None,
    nodes: Sequence[NodeName] | None = None,
    island: NodeName | None = None,
    algorithm: str | None = None,
    islands: int = 1,
    max_dop: int = DEFAULT_MAX_DOP,
    max_load_imbalance: int = DEFAULT_MAX_LOAD_IMBALANCE,
    max_drops: int | None = None,
) -> Translation:
    """Translate a logical graph into a DALiuGE physical graph: :attr:`Translation.specs`.

    Args:
        graph: a :class:`LogicalGraph`, a parsed EAGLE graph, or the path of a ``.graph``.
        oid_prefix: the first part of every oid.
        partitions: how many partitions (default: one per node, or 1; ``min_num_parts``
            chooses its own).
        nodes: node names to map the partitions onto; without them the specs keep the
            ``"#<i>"`` labels (a partitioned template). With ``islands > 1`` the first
            ``islands`` names are the island managers and the rest the nodes, as
            DALiuGE's ``dlg map`` reads them.
        island: the island manager's name written into ``island`` (default: first node).
        algorithm: partitioning algorithm (see :mod:`liuray.translate.partition`).
        islands: how many islands to merge the partitions into.
        max_dop: ``min_num_parts``: a partition's largest degree of parallelism.
        max_load_imbalance: ``metis``: DALiuGE's ``max_load_imb``.
        max_drops: refuse a graph that unrolls to more drops, before unrolling it.

    Raises:
        GraphError: the graph is malformed, uses what is not supported yet, or the
            options do not fit together.
    """
    island_names: list[NodeName] = []
    node_names = list(nodes or ())
    if nodes and islands > 1:
        if len(node_names) <= islands:
            raise GraphError(
                f"{islands} islands need more than {islands} names: the first {islands} "
                f"are the island managers, the rest the nodes; got {len(node_names)}"
            )
        island_names, node_names = node_names[:islands], node_names[islands:]
    if partitions is None and ALIASES.get(algorithm or "", algorithm) not in CHOOSE_THEIR_COUNT:
        partitions = max(1, len(node_names))
    options = PartitionOptions(partitions, islands, max_dop, max_load_imbalance)
    chosen = resolve(algorithm, options)  # the options checked before a long unrolling
    specs, drops = unroll_with_graph(_as_logical_graph(graph), oid_prefix, max_drops)
    placement = partition_in_place(specs, options, chosen, drops)
    if node_names:
        map_in_place(specs, node_names, island, islands=island_names)
    return Translation(specs, drops, placement, node_names)


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
