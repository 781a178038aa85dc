# SPDX-License-Identifier: LGPL-2.1-or-later
"""One session on one node: its specs, its directory, its state and its running graph.

State:
    A :class:`NodeSession` starts PRISTINE, becomes BUILDING as graphs are appended,
    DEPLOYING while drops are instantiated, RUNNING once deployed, and takes the final
    state of its :class:`~liuray.engine.session.GraphRun` (FINISHED, FAILED, CANCELLED).

Who mutates it:
    Its :class:`~liuray.managers.node.NodeManager`, under the session's own lock; the
    graph run updates itself. Nothing is shared with other sessions: each has its own
    directory, drops, machine and lock (the worker pool is the node's).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from liuray.engine.session import GraphRun
from liuray.engine.states import SESSION_TRANSITIONS, SessionState, check
from liuray.errors import GraphError, InvalidSessionState
from liuray.graph.physical import PhysicalGraph, load_physical_graph
from liuray.types import DropSpec, DropUid, NodeName, SessionId


class NodeSession:
    """A session's state on one node (see the module docstring)."""

    def __init__(self, session_id: SessionId, directory: Path) -> None:
        self.session_id = session_id
        self.directory = directory
        self.created_at = time.time()
        self.state = SessionState.PRISTINE
        self.specs: list[DropSpec] = []
        self.oids: set[DropUid] = set()
        self.mirrors: set[DropUid] = set()
        self.publish_to: dict[DropUid, list[NodeName]] = {}
        self.run: GraphRun | None = None
        self.validated: PhysicalGraph | None = None
        self.lock = threading.Lock()

    def move(self, end: SessionState) -> None:
        """Change state, refusing illegal transitions."""
        self.state = check(f"Session {self.session_id!r}", self.state, end, SESSION_TRANSITIONS)

    def append(self, specs: list[DropSpec] | PhysicalGraph) -> None:
        """Add specs (or a whole validated graph); checked for duplicates.

        Raises:
            InvalidSessionState: the session is already deployed.
            GraphError: a spec has no oid or repeats one.
        """
        if self.state not in (SessionState.PRISTINE, SessionState.BUILDING):
            raise InvalidSessionState(
                f"session {self.session_id!r} is {self.state}; graphs can be appended only "
                "while it is pristine or building",
                session_id=self.session_id,
                state=str(self.state),
            )
        if isinstance(specs, PhysicalGraph):
            if self.specs:
                specs = specs.specs()  # merged with earlier appends: loaded at deploy
            else:
                self.validated = specs
                self.specs = specs.specs()
                self.oids = set(specs.drops)
                self.move(SessionState.BUILDING)
                return
        self.validated = None
        new: set[DropUid] = set()
        for index, spec in enumerate(specs):
            oid = spec.get("oid") if isinstance(spec, dict) else None
            if not isinstance(oid, str):
                raise GraphError(f"spec #{index} has no 'oid'", index=index)
            if oid in self.oids or oid in new:
                raise GraphError(
                    f"duplicate drop oid {oid!r} in session {self.session_id!r}", uid=oid
                )
            new.add(oid)
        self.specs.extend(specs)
        self.oids |= new
        if self.state is SessionState.PRISTINE:
            self.move(SessionState.BUILDING)

    @property
    def current_state(self) -> SessionState:
        """The state, following the running graph once deployed."""
        if self.run is not None and self.state is SessionState.RUNNING:
            return self.run.state
        return self.state

    def graph(self) -> dict[DropUid, DropSpec]:
        """The session's own drop specs by oid (mirrors of remote drops excluded)."""
        return {s["oid"]: s for s in self.specs if s["oid"] not in self.mirrors}

    def load(self) -> Any:
        """Validate and load the appended specs as one physical graph."""
        if self.validated is not None:
            return self.validated
        return load_physical_graph(self.specs)
