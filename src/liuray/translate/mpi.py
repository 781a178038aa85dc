# SPDX-License-Identifier: LGPL-2.1-or-later
"""Mpi application nodes, rewritten as the node inside a Scatter of ``num_of_procs``.

State: none kept; :func:`convert_mpi` is a pure function from a :class:`LogicalGraph` to
another, run before the layout is made.

DALiuGE 6.6.0 gives an ``Mpi`` node one more level of hierarchy than its parent
(``lg_node.h_level``) and ``num_of_procs`` as its degree of parallelism: it unrolls into
``num_of_procs`` drops ``<iid>-<i>`` of rank ``[..., i]``, and the links across that
level broadcast (a data drop before it feeds every process, every process writes the
data drop after it). That is exactly what a Scatter of ``num_of_procs`` copies around the
node gives, so the node is put in one (the Scatter has no application, so it makes no
drop itself). liuray's engine does not launch MPI jobs: it refuses such drops when the
graph is validated (``engine/unsupported.py``); the structure is kept so that a graph
translates as DALiuGE's does and the refusal names the node.

>>> from liuray.graph.logical import load_logical_graph
>>> graph = load_logical_graph({"nodeDataArray": [{"id": "p", "category": "Mpi",
...     "categoryType": "Application", "fields": [{"name": "num_of_procs", "value": 2}]}]})
>>> [(node.id, node.category, node.parent_id) for node in convert_mpi(graph)]
[('p.mpi', 'Scatter', None), ('p', 'Mpi', 'p.mpi')]
"""

from __future__ import annotations

from dataclasses import replace

from liuray.errors import GraphError
from liuray.graph.logical import LogicalGraph, LogicalNode
from liuray.translate.constructs import SCATTER, positive_int
from liuray.translate.mkn import construct_node

MPI = "Mpi"
#: The suffix of the Scatter made around an Mpi node: ``<node id>.mpi``.
SUFFIX = ".mpi"


def convert_mpi(graph: LogicalGraph) -> LogicalGraph:
    """``graph`` with every Mpi application inside a Scatter of ``num_of_procs``.

    Raises:
        GraphError: ``num_of_procs`` is not a positive integer, or the Scatter's id is
            taken; the message names the node.
    """
    if not any(node.category == MPI for node in graph):
        return graph
    nodes: dict[str, LogicalNode] = {}
    for node in graph:
        if node.category != MPI or node.category_type != "Application":
            nodes[node.id] = node
            continue
        procs = positive_int(node, ("num_of_procs",), 1)
        scatter_id = node.id + SUFFIX
        if scatter_id in graph.nodes:
            raise GraphError(
                f"{node.label}: the id {scatter_id!r} it needs is taken; rename that node",
                node=node.id,
            )
        nodes[scatter_id] = construct_node(
            scatter_id, SCATTER, node.parent_id, ("num_of_copies", procs)
        )
        nodes[node.id] = replace(node, parent_id=scatter_id)
    return LogicalGraph(nodes, graph.links, graph.model_data)
