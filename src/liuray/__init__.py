# SPDX-License-Identifier: LGPL-2.1-or-later
"""liuray: a data-activated dataflow graph engine, DALiuGE-compatible, native on Ray.

The public surface (everything else is internal and may change)::

    import liuray
    result = liuray.run("graph.json")      # run a DALiuGE physical graph in-process
    result.ok, result.counts, result.failures
"""

from liuray.engine.local import RunResult, run_graph
from liuray.engine.states import AppState, DropState, SessionState
from liuray.errors import GraphError, LiurayError
from liuray.graph.physical import PhysicalGraph, load_physical_graph, read_physical_graph

run = run_graph
__version__ = "0.1.0"

__all__ = [
    "AppState",
    "DropState",
    "GraphError",
    "LiurayError",
    "PhysicalGraph",
    "RunResult",
    "SessionState",
    "__version__",
    "load_physical_graph",
    "read_physical_graph",
    "run",
    "run_graph",
]
