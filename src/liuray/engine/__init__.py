# SPDX-License-Identifier: LGPL-2.1-or-later
"""The drop engine: states, the pure session machine, drops, apps and executors."""

from liuray.engine.local import RunResult, WorkerPool, run_graph
from liuray.engine.session import GraphRun
from liuray.engine.states import AppState, DropState, SessionState

__all__ = [
    "AppState",
    "DropState",
    "GraphRun",
    "RunResult",
    "SessionState",
    "WorkerPool",
    "run_graph",
]
