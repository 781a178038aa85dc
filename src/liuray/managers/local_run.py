# SPDX-License-Identifier: LGPL-2.1-or-later
"""``liuray.run``: the engine's :func:`~liuray.engine.local.run_graph`, SubGraph apps included.

The engine runs a graph in this process with no node manager, and a SubGraph app needs
one: its inner graph runs as a nested session of the node manager running the app (see
:mod:`liuray.managers.nested`). Here a run gets a :class:`LocalNestedRunner`, which
makes a private in-process node manager the first time a SubGraph app starts (a graph
without one pays nothing) and closes it when the run ends. The nested sessions' files go
under the run's own directory (``<session dir>/subgraphs/<app oid>``), as on a server.

>>> runner = LocalNestedRunner("s", Path("/tmp/s"))  # no node manager made yet
>>> runner.close()
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any

from liuray.engine.apps.base import NestedGraph, NestedRun
from liuray.engine.local import RunResult
from liuray.engine.local import run_graph as run_in_engine
from liuray.managers.nested import NestedSessions
from liuray.managers.node import NodeManager
from liuray.managers.session import NodeSession
from liuray.types import NodeName


class LocalNestedRunner:
    """The nested-session runner of one run without a node manager.

    Args:
        session_id: the run's session id (the nested sessions' ids start with it).
        directory: the run's session directory.
    """

    def __init__(self, session_id: str, directory: Path) -> None:
        self.session_id = session_id
        self.directory = directory
        self._manager: NodeManager | None = None
        self._sessions: NestedSessions | None = None
        self._lock = threading.Lock()

    def start(self, request: NestedGraph) -> NestedRun:
        """Start ``request``'s inner graph on the run's private node manager."""
        with self._lock:
            if self._sessions is None:
                self._manager = NodeManager(NodeName("localhost"), self.directory.parent)
                parent = NodeSession(self.session_id, self.directory)
                self._sessions = NestedSessions(self._manager, parent)
            sessions = self._sessions
        return sessions.start(request)

    def close(self) -> None:
        """Stop the private node manager, if a SubGraph app made one."""
        with self._lock:
            manager, self._manager, self._sessions = self._manager, None, None
        if manager is not None:
            manager.close()


@functools.wraps(run_in_engine)
def run_graph(graph: Any, **options: Any) -> RunResult:
    """:func:`liuray.engine.local.run_graph` (same arguments and result), with SubGraph
    apps' inner graphs run as nested sessions (unless ``nested`` is given)."""
    options.setdefault("nested", LocalNestedRunner)
    return run_in_engine(graph, **options)
