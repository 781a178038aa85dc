# SPDX-License-Identifier: LGPL-2.1-or-later
"""Nested sessions: a SubGraph app's inner graph run on the node manager that runs it.

DALiuGE's SubGraphLocal starts a node manager and an island manager of its own (ports
8080 and 8081) inside the app. Here the node manager that deployed a session gives
every :class:`~liuray.engine.session.GraphRun` a :class:`NestedSessions` (the engine's
:class:`~liuray.engine.apps.base.NestedRunner`), and a SubGraph app asks it to run its
inner graph as one more session of the *same* node manager: no port, no manager started.

State:
    :class:`NestedSessions` belongs to one outer session and counts the attempts of
    each app (a retried app gets a new nested session). A :class:`NestedSession` is one
    started inner graph: its :class:`~liuray.managers.session.NodeSession`, held in the
    node manager's session table (listed, cancelled and closed with the others) until
    :meth:`NestedSession.wait` returns, and a worker pool of its own.

Who mutates it:
    The SubGraph app's worker thread starts and waits; ``cancel`` may come from any
    thread (the outer session's cancel, a timeout). The inner run mutates itself.

Policy:
    * id ``<outer session>@<app oid>`` (``+2``, ``+3``... for retries; characters a
      session id cannot hold become ``_``), directory ``<outer dir>/subgraphs/<app oid>``;
    * the inner graph is translated with every drop on this node; the drops of each
      input's inner node get the outer input's content and are completed before the
      roots are triggered (they must have no producer inside); the drop of each output's
      inner node is kept (never released) and copied out once the inner graph finished;
    * its apps run on a worker pool of its own (as many threads as the node's): the
      SubGraph app holds one of the node's workers while it waits, and with every
      worker waiting so, shared workers could never run the inner apps. Python
      function apps go where the outer session's go (its process pool or Ray tasks);
    * the end is waited for on the run's ``ended`` event (no polling); the node pushes
      no events for a nested session (the island manager does not know it; the outer
      app reports its outcome), and the session is destroyed once it ended: its files
      stay in its directory, and the app's log names every inner drop in error.

>>> nested_session_id("pipeline-1", "1_-3_0/x")
'pipeline-1@1_-3_0_x'
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import defaultdict
from typing import TYPE_CHECKING

from liuray.engine.apps.base import NestedGraph, NestedOutcome
from liuray.engine.local import WorkerPool
from liuray.engine.session import GraphRun
from liuray.engine.states import SessionState
from liuray.errors import GraphError, LiurayError
from liuray.graph.physical import PhysicalGraph, load_physical_graph
from liuray.managers.payload import export_payload, import_payload
from liuray.managers.session import NodeSession
from liuray.translate.pipeline import translate
from liuray.types import DropUid, SessionId

if TYPE_CHECKING:
    from liuray.managers.node import NodeManager

_UNSAFE = re.compile(r"[^A-Za-z0-9._:@+-]")
_MAX_ID = 200


def nested_session_id(parent: SessionId, app_uid: DropUid, attempt: int = 1) -> SessionId:
    """The id of the nested session of ``app_uid`` in session ``parent``.

    Usable as a session id and a directory name (see ``node.check_session_id``); too
    long a pair is shortened to a digest, still unique.
    """
    suffix = "" if attempt == 1 else f"+{attempt}"
    safe = _UNSAFE.sub("_", app_uid).replace("..", "__")
    candidate = f"{parent}@{safe}{suffix}"
    if len(candidate) <= _MAX_ID:
        return candidate
    digest = hashlib.sha256(f"{parent}\0{app_uid}".encode()).hexdigest()[:16]
    return f"{parent[: _MAX_ID - 40]}@{digest}{suffix}"


class NestedSessions:
    """The nested-session runner of one outer session (see the module docstring).

    Args:
        manager: the node manager holding the outer session.
        parent: the outer session.
    """

    def __init__(self, manager: NodeManager, parent: NodeSession) -> None:
        self.manager = manager
        self.parent = parent
        self._attempts: defaultdict[DropUid, int] = defaultdict(int)
        self._lock = threading.Lock()

    def start(self, request: NestedGraph) -> NestedSession:
        """Translate, deploy, fill and trigger ``request``'s inner graph.

        Raises:
            GraphError: the inner graph cannot be translated or deployed, or does not
                fit the ports.
        """
        with self._lock:
            self._attempts[request.app_uid] += 1
            attempt = self._attempts[request.app_uid]
        session_id = nested_session_id(self.parent.session_id, request.app_uid, attempt)
        graph = _translated(self.manager.name, request)
        placed = _placed(graph, request)
        directory = self.parent.directory / "subgraphs" / session_id.rpartition("@")[2]
        session = NodeSession(session_id, directory)
        session.append(graph)
        session.move(SessionState.DEPLOYING)
        pool = WorkerPool(self.manager.pool.workers, name=f"liuray-{self.manager.name}-nested")
        try:
            run = self._deploy(session, graph, pool, {placed[n][0] for n, _ in request.outputs})
        except BaseException as err:
            pool.shutdown(wait=False)
            if isinstance(err, GraphError):  # an inner drop's class or parameters
                raise _cannot_run(request.app_uid, err) from None
            raise
        nested = NestedSession(self.manager, session, run, pool, request, placed)
        try:
            self.manager.hold_session(session)
            nested.fill()
            run.start()
        except BaseException:
            nested.close()
            raise
        return nested

    def _deploy(
        self, session: NodeSession, graph: PhysicalGraph, pool: WorkerPool, kept: set[DropUid]
    ) -> GraphRun:
        """The inner graph's drops, with the outer run's settings; ``kept`` never released."""
        outer = self.parent.run
        run = GraphRun(
            graph,
            session_id=session.session_id,
            session_dir=session.directory,
            pool=pool,
            process_pool=outer.process_pool if outer is not None else None,
            watched=kept,
            app_timeout=outer.app_timeout if outer is not None else None,
            allowed_paths=self.manager.allowed_paths,
            nested=NestedSessions(self.manager, session),
        )
        session.run = run
        session.move(SessionState.RUNNING)
        session.oids = set()
        session.validated = None
        return run


class NestedSession:
    """One started inner graph (:class:`~liuray.engine.apps.base.NestedRun`)."""

    def __init__(
        self,
        manager: NodeManager,
        session: NodeSession,
        run: GraphRun,
        pool: WorkerPool,
        request: NestedGraph,
        placed: dict[str, list[DropUid]],
    ) -> None:
        self.session_id = session.session_id
        self.manager = manager
        self.run = run
        self._pool = pool
        self._request = request
        self._placed = placed

    def fill(self) -> None:
        """Give the drops of each input's inner node the outer input's content."""
        for node_id, outer in self._request.inputs.items():
            payload = export_payload(outer)
            for uid in self._placed[node_id]:
                import_payload(self.run.drops[uid], payload)  # type: ignore[arg-type]

    def wait(self) -> NestedOutcome:
        """Wait for the end, copy the outputs out if it finished, forget the session."""
        try:
            self.run.wait()
            state = self.run.state
            if state is SessionState.FINISHED:
                for node_id, outer in self._request.outputs:
                    inner = self.run.drops[self._placed[node_id][0]]
                    import_payload(outer, export_payload(inner))  # type: ignore[arg-type]
            return NestedOutcome(self.session_id, str(state), self._failures())
        finally:
            self.close()

    def cancel(self) -> None:
        """Cancel the inner graph's unfinished drops."""
        self.run.cancel()

    def close(self) -> None:
        """Forget the session (cancelled if still running) and stop its workers."""
        try:
            self.manager.destroy_session(self.session_id)
        except LiurayError:  # destroyed already (the node manager closed)
            pass
        self._pool.shutdown(wait=False)

    def _failures(self) -> tuple[tuple[str, DropUid, str], ...]:
        names = {uid: str(drop.spec.get("name") or uid) for uid, drop in self.run.drops.items()}
        return tuple((names[uid], uid, error) for uid, error in self.run.failures())


def _translated(node: str, request: NestedGraph) -> PhysicalGraph:
    try:
        specs = translate(dict(request.graph), nodes=[node])
        if not specs:
            raise GraphError("it has no drops")
        return load_physical_graph(specs)
    except GraphError as err:
        raise _cannot_run(request.app_uid, err) from None


def _cannot_run(app_uid: DropUid, err: GraphError) -> GraphError:
    return GraphError(
        f"SubGraph app {app_uid!r}: its inner graph cannot run: {err.message}", uid=app_uid
    )


def _placed(graph: PhysicalGraph, request: NestedGraph) -> dict[str, list[DropUid]]:
    """The inner drops of each mapped logical node, checked against the ports.

    Raises:
        GraphError: an input's node has no drop or is produced inside; an output's node
            has not exactly one drop.
    """
    by_node: dict[str, list[DropUid]] = defaultdict(list)
    for description in graph:
        by_node[str(description.spec.get("lg_key", ""))].append(description.oid)
    where = f"SubGraph app {request.app_uid!r}"
    for node_id in request.inputs:
        produced = [uid for uid in by_node.get(node_id, ()) if graph.drops[uid].producers]
        if not by_node.get(node_id):
            raise GraphError(f"{where}: inner input node {node_id!r} has no drops")
        if produced:
            raise GraphError(
                f"{where}: inner node {node_id!r} receives an outer input, but inner apps "
                f"produce its drops {produced[:5]}; map the input to a node nothing produces"
            )
    for node_id, _ in request.outputs:
        found = by_node.get(node_id, [])
        if len(found) != 1:
            raise GraphError(
                f"{where}: inner output node {node_id!r} has {len(found)} drops; an output "
                "is copied from exactly one (a node outside any Scatter or Loop)"
            )
    return dict(by_node)
