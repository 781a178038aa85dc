# SPDX-License-Identifier: LGPL-2.1-or-later
"""liuray: a data-activated dataflow graph engine, DALiuGE-compatible, native on Ray.

The public surface (everything else is internal and may change)::

    import liuray
    result = liuray.run("graph.json")      # run a DALiuGE physical graph in-process
    result.ok, result.counts, result.failures

The names are loaded on first use (PEP 562), so ``import liuray.translate`` or a CLI
command that needs no engine does not pay for importing it.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from liuray.engine.local import RunResult
    from liuray.engine.states import AppState, DropState, SessionState
    from liuray.errors import GraphError, LiurayError
    from liuray.graph.physical import PhysicalGraph, load_physical_graph, read_physical_graph
    from liuray.managers.local_run import run_graph
    from liuray.managers.local_run import run_graph as run

__version__ = "0.1.0"

#: Public name -> (module, attribute).
_LAZY = {
    "AppState": ("liuray.engine.states", "AppState"),
    "DropState": ("liuray.engine.states", "DropState"),
    "GraphError": ("liuray.errors", "GraphError"),
    "LiurayError": ("liuray.errors", "LiurayError"),
    "PhysicalGraph": ("liuray.graph.physical", "PhysicalGraph"),
    "RunResult": ("liuray.engine.local", "RunResult"),
    "SessionState": ("liuray.engine.states", "SessionState"),
    "load_physical_graph": ("liuray.graph.physical", "load_physical_graph"),
    "read_physical_graph": ("liuray.graph.physical", "read_physical_graph"),
    "run": ("liuray.managers.local_run", "run_graph"),
    "run_graph": ("liuray.managers.local_run", "run_graph"),
}

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


def __getattr__(name: str) -> _typing.Any:
    """Import a public name on first use, then keep it as a module attribute."""
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'liuray' has no attribute {name!r}")
    value = getattr(_importlib.import_module(where[0]), where[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
