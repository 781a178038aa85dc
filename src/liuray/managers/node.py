# SPDX-License-Identifier: LGPL-2.1-or-later
"""The node manager: every session that runs on one node.

State:
    ``sessions`` maps ids to :class:`~liuray.managers.session.NodeSession`; one
    :class:`~liuray.engine.local.WorkerPool` (and optionally one process pool) runs the
    apps of all of them. Sessions share nothing else: no ``chdir``, no environment
    changes, a directory each (``<root>/<session id>``).

Who mutates it:
    Its callers (the island manager through a transport, or tests) from any thread.
    The session table has its own lock; each session has its own.

Policy:
    A drop that other nodes wait for (``publish_to``) is *published* when it settles:
    the router given at construction carries ``(node, session, uid, state, reason,
    payload)`` to the other node, whose :meth:`NodeManager.deliver` stores the content
    and tells its machine. The router is the transport's business (a method call
    in-process, an actor call on Ray).

    Given an event sink, the node manager *pushes* what happens to the island manager
    (:mod:`liuray.managers.events`): the drops that changed after every batch of state
    changes of a session's own drops (read into a ``DropsChanged`` when taken), and a
    :class:`NodeSessionEnded` when a session has nothing left to run here. Nobody needs
    to poll it.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from pathlib import Path

from liuray import _gc
from liuray.engine.drops.file import FileDrop
from liuray.engine.events import DropsLost, ProducerSettled
from liuray.engine.local import WorkerPool
from liuray.engine.process_pool import ProcessPool
from liuray.engine.session import GraphRun
from liuray.engine.states import SESSION_TERMINAL, DropState, SessionState
from liuray.errors import (
    DropNotFound,
    GraphError,
    InvalidRequest,
    InvalidSessionState,
    LiurayError,
    SessionExists,
    SessionNotFound,
)
from liuray.graph.physical import PhysicalGraph
from liuray.managers.events import ChangesPending, EventSink, NodeSessionEnded
from liuray.managers.nested import NestedSessions
from liuray.managers.payload import Payload, export_payload, import_payload
from liuray.managers.reports import (
    DetailSource,
    DropDetail,
    DropStatus,
    NodeInfo,
    NodeProgress,
    NodeSessionSummary,
)
from liuray.managers.session import NodeSession
from liuray.types import DropSpec, DropUid, NodeName, SessionId

Router = Callable[[NodeName, SessionId, DropUid, str, str, Payload | None], None]

log = logging.getLogger(__name__)
#: Matched whole (``fullmatch``: ``$`` would let a trailing newline through).
_SESSION_ID = re.compile(r"(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._:@+-]{0,199}")


def check_session_id(session_id: object) -> SessionId:
    """Return ``session_id`` if it is usable as a session id and a directory name.

    Raises:
        InvalidRequest: naming what a valid id looks like.
    """
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id):
        raise InvalidRequest(
            f"invalid session id {session_id!r}: use 1-200 characters from letters, digits "
            "and . _ : @ + -, starting with a letter or digit",
            session_id=str(session_id),
        )
    return session_id


class NodeManager:
    """Runs the sessions of one node (see the module docstring).

    Args:
        name: the node's canonical name.
        root: directory holding one sub-directory per session.
        workers: worker threads for apps (default: CPUs).
        processes: size of a process pool for Python apps (0: none).
        router: delivers published drops to other nodes.
        app_executor: where Python function apps run instead of a local process pool
            (the Ray transport passes one that runs them as Ray tasks).
        events: where drop-state changes and session ends are pushed (must not block).
        allowed_paths: confine the file drops of every session to its directory and
            these (None: no confinement); see :mod:`liuray.engine.paths`.
    """

    def __init__(
        self,
        name: NodeName,
        root: Path,
        *,
        workers: int | None = None,
        processes: int = 0,
        router: Router | None = None,
        app_executor: Executor | None = None,
        events: EventSink | None = None,
        allowed_paths: Sequence[Path] | None = None,
    ) -> None:
        self.name = name
        self.allowed_paths = None if allowed_paths is None else tuple(allowed_paths)
        self.events = events
        self.root = root
        self.pool = WorkerPool(workers, name=f"liuray-{name}")
        self.router = router
        self._processes = processes
        self._process_pool: Executor | None = app_executor
        self._sessions: dict[SessionId, NodeSession] = {}
        self._lock = threading.Lock()
        self.started_at = time.time()
        self.last_active = time.time()

    # ------------------------------------------------------------------ sessions

    def _session(self, session_id: SessionId) -> NodeSession:
        try:
            return self._sessions[session_id]
        except KeyError:
            raise SessionNotFound(
                f"no session {session_id!r} on node {self.name!r}", session_id=session_id
            ) from None

    def create_session(self, session_id: SessionId, directory: str | None = None) -> str:
        """Create an empty session; returns its directory (created on first use).

        ``directory`` names it under the node's root (default: the session id); a
        re-run of a session after a lost node uses the first attempt's directory.
        """
        check_session_id(session_id)
        check_session_id(directory or session_id)  # the same rules keep it one safe name
        with self._lock:
            if session_id in self._sessions:
                raise SessionExists(
                    f"session {session_id!r} already exists on node {self.name!r}",
                    session_id=session_id,
                )
            session = NodeSession(session_id, self.root / (directory or session_id))
            self._sessions[session_id] = session
        self.last_active = time.time()
        return str(session.directory)

    def hold_session(self, session: NodeSession) -> None:
        """Hold a session deployed elsewhere: a SubGraph app's nested session, made by
        :mod:`liuray.managers.nested` (listed, cancelled and destroyed as any other).

        Raises:
            SessionExists: a session with its id is held already.
        """
        with self._lock:
            if session.session_id in self._sessions:
                raise SessionExists(
                    f"session {session.session_id!r} already exists on node {self.name!r}",
                    session_id=session.session_id,
                )
            self._sessions[session.session_id] = session
        self.last_active = time.time()

    def append_graph(self, session_id: SessionId, specs: list[DropSpec] | PhysicalGraph) -> None:
        """Add drop specs to a session that is not yet deployed.

        An in-process island manager may hand over the graph it already validated
        (a :class:`PhysicalGraph`), which is then not parsed again at deploy.
        """
        session = self._session(session_id)
        with session.lock:
            session.append(specs)

    def deploy(
        self,
        session_id: SessionId,
        external_producers: dict[DropUid, int] | None = None,
        publish_to: dict[DropUid, list[NodeName]] | None = None,
        mirrors: list[DropUid] | None = None,
    ) -> None:
        """Instantiate the session's drops (nothing runs until :meth:`trigger`).

        Raises:
            GraphError: the graph is invalid (the session becomes FAILED).
        """
        session = self._session(session_id)
        with session.lock:
            if session.state not in (SessionState.PRISTINE, SessionState.BUILDING):
                raise InvalidSessionState(
                    f"session {session_id!r} is {session.state}; only a pristine or building "
                    "session can be deployed",
                    session_id=session_id,
                )
            session.move(SessionState.DEPLOYING)
            session.publish_to = dict(publish_to or {})
            session.mirrors = set(mirrors or ())
            try:
                graph = session.load()
                session.run = GraphRun(
                    graph,
                    session_id=session_id,
                    session_dir=session.directory,
                    pool=self.pool,
                    process_pool=self._get_process_pool(),
                    external_producers=external_producers or {},
                    watched=set(session.publish_to),
                    on_publish=self._publish,
                    on_changes=self._drops_changed if self.events else None,
                    on_end=self._session_ended if self.events else None,
                    uncounted=session.mirrors,
                    allowed_paths=self.allowed_paths,
                    nested=NestedSessions(self, session),
                )
            except LiurayError:
                session.move(SessionState.FAILED)
                raise
            session.move(SessionState.RUNNING)
            session.oids = set()  # only needed to vet appends, which are over
            session.validated = None
        self.last_active = time.time()

    def trigger(self, session_id: SessionId, uids: list[DropUid] | None = None) -> None:
        """Start root drops (default: every root of this node's partition)."""
        session = self._session(session_id)
        run = session.run
        if run is None:
            raise InvalidSessionState(
                f"session {session_id!r} is not deployed yet", session_id=session_id
            )
        unknown = [u for u in uids or () if u not in run.drops]
        if unknown:
            raise GraphError(
                f"cannot trigger {unknown[:5]}: no such drops in session "
                f"{session_id!r} on node {self.name!r}",
                uids=unknown[:20],
            )
        self.last_active = time.time()
        run.start(uids)

    def deliver(
        self, session_id: SessionId, uid: DropUid, state: str, reason: str, payload: Payload | None
    ) -> None:
        """A drop mirrored here settled on another node: store its content, go on."""
        session = self._session(session_id)
        run = session.run
        if run is None or uid not in run.drops:
            raise InvalidSessionState(
                f"session {session_id!r} on node {self.name!r} has no deployed drop {uid!r}",
                session_id=session_id,
            )
        end = DropState(state)
        if end is DropState.COMPLETED:
            import_payload(run.drops[uid], payload)  # type: ignore[arg-type]
        self.last_active = time.time()
        run.apply(ProducerSettled(uid, end, reason))

    def fail_drops(self, session_id: SessionId, uids: list[DropUid], reason: str) -> None:
        """Turn drops that can never finish into errors (their node was lost)."""
        run = self._session(session_id).run
        if run is not None:
            known = tuple(u for u in uids if u in run.drops)
            if known:
                run.apply(DropsLost(known, reason))

    def held_data(self, session_id: SessionId) -> list[DropUid]:
        """The session's COMPLETED data drops (mirrors too) whose content this node still
        holds: not released, and for a file drop, its file is there. A re-run after a
        lost node carries them instead of computing them again."""
        run = self._session(session_id).run
        if run is None:
            return []
        held: list[DropUid] = []
        for uid, (state, app_state) in run.drop_states().items():
            if app_state is not None or state is not DropState.COMPLETED:
                continue
            drop = run.drops[uid]
            if isinstance(drop, FileDrop) and not drop.path.exists():
                continue
            held.append(uid)
        return held

    def files_present(self, paths: list[str]) -> list[str]:
        """Which of these absolute paths name a file this node can read (a lost node's
        output on shared storage: a re-run carries it instead of computing it again)."""
        return [
            p for p in paths if os.path.isabs(p) and os.access(p, os.R_OK) and os.path.isfile(p)
        ]

    def carry(self, session_id: SessionId, from_session: SessionId, uids: list[DropUid]) -> None:
        """Copy the content of completed data drops of ``from_session`` (an abandoned
        attempt) into the same drops of ``session_id`` (deployed, not triggered yet).

        A file drop naming the same file (both attempts share the session directory)
        needs no copy, nor does one whose file is here already although it ran on a lost
        node (shared storage). Trigger the drops afterwards to complete them.

        This node need not hold ``from_session`` when it carries only such files.

        Raises:
            InvalidSessionState: ``session_id`` is not deployed here.
            GraphError: a drop is missing from either session.
        """
        new = self._session(session_id).run
        if new is None:
            raise InvalidSessionState(
                f"cannot carry drops into {session_id!r} on node {self.name!r}: it must be "
                "deployed first",
                session_id=session_id,
            )
        with self._lock:
            held = self._sessions.get(from_session)
        old = {} if held is None or held.run is None else held.run.drops
        missing = [
            u for u in uids if u not in new.drops or (u not in old and not _file_here(new.drops[u]))
        ]
        if missing:
            raise GraphError(
                f"cannot carry {missing[:5]} from {from_session!r} to {session_id!r} on node "
                f"{self.name!r}: no such drops in both, nor their files here",
                uids=missing[:20],
            )
        for uid in uids:
            if uid not in old:  # a lost node's file on shared storage
                continue
            source, target = old[uid], new.drops[uid]
            if isinstance(source, FileDrop) and isinstance(target, FileDrop):
                if source.path == target.path:
                    continue
            import_payload(target, export_payload(source))  # type: ignore[arg-type]
        self.last_active = time.time()

    def cancel_session(self, session_id: SessionId) -> None:
        """Cancel the session's unfinished drops."""
        session = self._session(session_id)
        with session.lock:
            if session.run is not None:
                run = session.run
            elif session.state in (SessionState.PRISTINE, SessionState.BUILDING):
                session.move(SessionState.CANCELLED)
                return
            else:
                return
        run.cancel()

    def destroy_session(self, session_id: SessionId) -> None:
        """Cancel (if running) and forget the session; its files stay on disk."""
        session = self._session(session_id)
        if session.run is not None and session.current_state is SessionState.RUNNING:
            session.run.cancel()
        with self._lock:
            self._sessions.pop(session_id, None)
        _gc.release_soon()

    # ------------------------------------------------------------------ cross-node

    def _publish(self, run: GraphRun, uid: DropUid, state: DropState, reason: str) -> None:
        session = self._sessions.get(run.session_id)
        if session is None or self.router is None:
            return
        payload = export_payload(run.drops[uid]) if state is DropState.COMPLETED else None  # type: ignore[arg-type]
        for node in session.publish_to.get(uid, ()):
            try:
                self.router(node, run.session_id, uid, str(state), reason, payload)
            except Exception:  # the other node's loss is handled by membership
                log.exception("could not deliver %s/%s to node %s", run.session_id, uid, node)

    # ------------------------------------------------------------------ events

    def _drops_changed(self, run: GraphRun) -> None:
        assert self.events is not None  # states are read when the outbox is taken
        self.events(ChangesPending(self.name, run.session_id, run))

    def _session_ended(self, run: GraphRun) -> None:
        assert self.events is not None
        session = self._sessions.get(run.session_id)
        mirrors = session.mirrors if session is not None else set()
        failures = [f for f in run.failures() if f[0] not in mirrors][:20]
        self.events(NodeSessionEnded(self.name, run.session_id, run.state, tuple(failures)))

    def set_app_executor(self, executor: Executor | None, processes: int = 0) -> None:
        """Change where Python function apps of sessions deployed from now on run.

        ``executor`` (e.g. Ray tasks) wins; else a local pool of ``processes`` processes,
        created on first use (0: the worker threads themselves). Sessions already
        deployed keep what they were given.
        """
        current = self._process_pool
        if executor is not None:
            if type(current) is not type(executor):
                self._process_pool = executor
        elif not isinstance(current, ProcessPool) or processes != self._processes:
            self._process_pool = None
        self._processes = processes

    def _get_process_pool(self) -> Executor | None:
        if self._processes > 0 and self._process_pool is None:
            self._process_pool = ProcessPool(self._processes)
        return self._process_pool

    # ------------------------------------------------------------------ inspection

    def session_ids(self) -> list[SessionId]:
        """Ids of the sessions held."""
        with self._lock:
            return list(self._sessions)

    def session_status(self, session_id: SessionId) -> SessionState:
        """The session's state on this node."""
        return self._session(session_id).current_state

    def sessions(self) -> list[NodeSessionSummary]:
        """Every session held, with its state and number of own drops."""
        with self._lock:
            held = list(self._sessions.values())
        return [
            NodeSessionSummary(s.session_id, s.current_state, len(s.specs) - len(s.mirrors))
            for s in held
        ]

    def graph_status(self, session_id: SessionId) -> dict[DropUid, DropStatus]:
        """The status of each of this node's own drops (mirrors left out)."""
        session = self._session(session_id)
        if session.run is None:
            initialized = DropStatus.of(DropState.INITIALIZED)
            return dict.fromkeys(session.graph(), initialized)
        mirrors = session.mirrors
        return {
            uid: DropStatus.of(state, exec_state)
            for uid, (state, exec_state) in session.run.drop_states().items()
            if uid not in mirrors
        }

    def progress(self, session_id: SessionId) -> NodeProgress:
        """The session's state and drops per state, over this node's own drops."""
        session = self._session(session_id)
        counts: dict[str, int] = {}
        if session.run is None:
            total = len(session.specs) - len(session.mirrors)
            if total:
                counts["initialized"] = total
        else:
            counts = session.run.counts()  # O(states): mirrors are not counted
            total = sum(counts.values())
        return NodeProgress(session.current_state, counts, total)

    def failures(self, session_id: SessionId) -> list[tuple[DropUid, str]]:
        """(uid, error) of this node's drops in ERROR."""
        session = self._session(session_id)
        if session.run is None:
            return []
        return [f for f in session.run.failures() if f[0] not in session.mirrors]

    def drop_detail(self, session_id: SessionId, uid: DropUid) -> DropDetail:
        """State, timings, error and log lines of one drop.

        Raises:
            DropNotFound: no such drop in the session.
        """
        session = self._session(session_id)
        known = session.oids if session.run is None else session.run.drops
        if uid not in known:
            raise DropNotFound(
                f"no drop {uid!r} in session {session_id!r}; its graph lists its drops",
                session_id=session_id,
                uid=uid,
            )
        if session.run is None:
            return DropDetail(
                uid, session_id, DropState.INITIALIZED, DetailSource.PLACED, node=self.name
            )
        drop = session.run.detail(uid)
        return DropDetail(
            uid,
            session_id,
            drop.state,
            DetailSource.RUN,
            node=self.name,
            exec_state=drop.app_state,
            error=drop.error,
            logs=drop.logs,
            started_at=drop.started_at,
            finished_at=drop.finished_at,
            size=drop.size,
            data_url=drop.data_url,
        )

    def busy(self) -> bool:
        """True while any session here is live (being built, deployed or running).

        A session that is only appended to is live too: its deploy is on its way, and an
        NM released (killed) in between would lose it.
        """
        with self._lock:
            held = list(self._sessions.values())
        return any(s.current_state not in SESSION_TERMINAL for s in held)

    def info(self) -> NodeInfo:
        """Facts about this node manager."""
        with self._lock:
            held = list(self._sessions.values())
        return NodeInfo(
            name=self.name,
            host=socket.gethostname(),
            pid=os.getpid(),
            workers=self.pool.workers,
            sessions=len(held),
            running=sum(1 for s in held if s.current_state is SessionState.RUNNING),
            started_at=self.started_at,
            last_active=self.last_active,
        )

    def close(self) -> None:
        """Cancel everything and stop the worker threads."""
        with self._lock:
            held = list(self._sessions.values())
        for session in held:
            if session.run is not None and session.current_state is SessionState.RUNNING:
                session.run.cancel()
        self.pool.shutdown(wait=False)
        if self._process_pool is not None:
            self._process_pool.shutdown(wait=False, cancel_futures=True)


def _file_here(drop: object) -> bool:
    """Whether ``drop`` is a file drop whose file exists on this node."""
    return isinstance(drop, FileDrop) and drop.path.is_file()
