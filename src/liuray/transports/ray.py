# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Ray transport: one node manager actor per Ray node, reached by actor handles.

* Each NM is a Ray actor pinned to its node (``NodeAffinitySchedulingStrategy``, hard),
  reserving zero CPUs, detached and named ``liuray-nm-<node id>`` in the ``liuray``
  namespace, so a restarted island manager finds (adopts) it again.
* The island manager calls NMs through :class:`RayNodeClient` (``ray.get`` of actor
  calls). NMs reach each other the same way: a published drop's content is an argument
  of the receiving NM's ``deliver`` call (Ray inlines a small one and moves a large one
  through its object store), so no NM needs an IP address or a port of its own.
* Nodes are named by their Ray node id (several Ray nodes can share an IP). A user
  spelling may also be an IP (or ``localhost``): it maps to the Ray node(s) with that
  address.
* Each NM pushes its events (drop-state changes, session ends) into an
  :class:`~liuray.managers.events.EventOutbox`; one pump thread per NM in the island
  manager's process long-polls ``take_events`` (the call returns as soon as something
  happened), so the island manager learns of progress without polling, and the pump's
  failure is also the quickest sign that the NM is gone.
* Membership is kept by :class:`~liuray.managers.membership.MembershipReconciler`; idle worker
  NMs are released so the autoscaler can scale nodes down (ray-project/ray#37733) and
  woken again by :meth:`RayTransport.prepare` when a session needs the node.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from liuray.engine.states import SessionState
from liuray.errors import DeployError, LiurayError, NodeNotFound, TransportError, missing_extra
from liuray.graph.physical import PhysicalGraph
from liuray.managers.addresses import canonical_host, split_address
from liuray.managers.events import EventOutbox, NodeEvent
from liuray.managers.membership import MembershipReconciler, NodeState
from liuray.managers.node import NodeManager
from liuray.managers.payload import Payload
from liuray.managers.protocol import NodeManagerProtocol
from liuray.managers.reports import (
    DropDetail,
    DropStatus,
    NodeDetails,
    NodeInfo,
    NodeProgress,
    NodeSessionSummary,
)
from liuray.managers.transport import Transport
from liuray.transports.ray_tasks import RayTaskExecutor
from liuray.types import DropSpec, DropUid, NodeName, SessionId

try:
    import ray
    from ray.exceptions import RayActorError, RayTaskError
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
except ImportError as err:  # pragma: no cover - exercised only without the extra
    raise missing_extra("ray", "ray") from err

log = logging.getLogger(__name__)

NAMESPACE = "liuray"
#: Seconds an NM's ``take_events`` waits for something to report before answering empty.
EVENT_WAIT = 5.0
#: Seconds an NM gathers progress before answering ``take_events`` (ends go at once).
EVENT_LINGER = 0.05
ACTOR_PREFIX = "liuray-nm-"


def _preimport(module: str) -> None:
    """Import ``module`` now, if installed, so threads never import it concurrently."""
    try:
        importlib.import_module(module)
    except ImportError:
        pass


def actor_name(node_id: str) -> str:
    """The detached actor name of a node's NM."""
    return f"{ACTOR_PREFIX}{node_id}"


def _paths(paths: list[str] | None) -> tuple[Path, ...] | None:
    return None if paths is None else tuple(Path(p) for p in paths)


class NodeManagerActor:
    """The body of an NM actor: a :class:`NodeManager` plus peer routing over Ray."""

    def __init__(
        self,
        node_id: str,
        root: str | None,
        workers: int | None,
        processes: int = 0,
        app_tasks: bool = False,
        allowed_paths: list[str] | None = None,
    ) -> None:
        from liuray.engine.local import default_root

        base = Path(root) if root else default_root() / "ray-nodes"
        _preimport("numpy")  # before any thread can race to import it (see _deliver)
        self.node_id = node_id
        self.outbox = EventOutbox()
        self.manager = NodeManager(
            node_id,
            base / node_id,
            workers=workers,
            processes=processes,
            router=self._route,
            app_executor=RayTaskExecutor() if app_tasks else None,
            events=self.outbox.put,
            allowed_paths=_paths(allowed_paths),
        )

    def configure(
        self, processes: int, app_tasks: bool, allowed_paths: list[str] | None = None
    ) -> None:
        """Apply the island manager's settings to an adopted NM (idempotent)."""
        self.manager.set_app_executor(RayTaskExecutor() if app_tasks else None, processes)
        self.manager.allowed_paths = _paths(allowed_paths)

    def ping(self) -> dict[str, Any]:
        """Prove the actor is up; say where it runs."""
        return {
            "node_id": ray.get_runtime_context().get_node_id(),
            "ip": ray.util.get_node_ip_address(),
            "pid": os.getpid(),
        }

    def call(self, method: str, *args: Any) -> Any:
        """Run one NodeManager method (the protocol's operations)."""
        return getattr(self.manager, method)(*args)

    def busy(self) -> bool:
        """Whether a session is deploying or running here."""
        return self.manager.busy()

    def take_events(self, timeout: float, acked: int) -> tuple[int, list[NodeEvent]]:
        """Events after ``acked`` (which are acknowledged), waiting up to ``timeout`` s.

        Progress is gathered for up to :data:`EVENT_LINGER` s (a session end is sent at
        once), so a busy NM answers a few times a second, not once per change.
        """
        return self.outbox.take(timeout, acked, linger=EVENT_LINGER)

    def _route(
        self,
        node: NodeName,
        session_id: SessionId,
        uid: DropUid,
        state: str,
        reason: str,
        payload: Payload | None,
    ) -> None:
        # The payload is a plain argument of the actor call: Ray inlines a small one in
        # the call and puts a large one (> 100 KiB) into the object store itself. An
        # explicit ray.put would send even a few bytes through the store, and the
        # receiving node would have to pull them before the call could run.
        _deliver(node, session_id, uid, state, reason, payload, attempt=1)


#: Deliveries are retried this often: an arriving payload can fail to unpickle in a
#: fresh NM while another thread is still importing the same library (numpy), and a
#: lost delivery would leave the receiving session waiting. (A failure through a cached
#: handle is first sent again through a fresh lookup, which does not count.)
DELIVERY_ATTEMPTS = 3

#: Peer NM actor handles by node name, in this (NM actor) process: looking one up asks
#: the GCS, which cost more than the delivery itself. A peer NM may since have been
#: replaced by a new actor under the same name (idle release and wake, ``liuray nodes
#: restart``): a delivery failing through a cached handle forgets it and is sent again
#: through a fresh lookup.
_peers: dict[str, Any] = {}
_peers_lock = threading.Lock()


def _peer(node: str, fresh: bool) -> tuple[Any, bool]:
    """The NM actor handle of ``node`` and whether it came from the cache."""
    if not fresh:
        with _peers_lock:
            handle = _peers.get(node)
        if handle is not None:
            return handle, True
    handle = ray.get_actor(actor_name(node), namespace=NAMESPACE)
    with _peers_lock:
        _peers[node] = handle
    return handle, False


def _forget_peer(node: str, handle: Any) -> None:
    """Drop ``handle`` from the cache (unless a fresh lookup already replaced it)."""
    with _peers_lock:
        if _peers.get(node) is handle:
            del _peers[node]


def _deliver(
    node: str,
    session_id: str,
    uid: str,
    state: str,
    reason: str,
    content: Any,
    attempt: int,
    fresh: bool = False,
) -> None:
    peer, cached = _peer(node, fresh)
    sent = peer.call.remote("deliver", session_id, uid, state, reason, content)

    def check(done: Future[Any]) -> None:
        error = done.exception()
        if error is None:
            return
        _forget_peer(node, peer)
        if cached:  # perhaps an NM replaced since: look it up again, at once
            _redeliver(0.0, node, session_id, uid, state, reason, content, attempt)
        elif attempt < DELIVERY_ATTEMPTS:
            log.warning(
                "delivery of %s/%s to %s failed (%s); retrying", session_id, uid, node, error
            )
            _redeliver(0.2 * attempt, node, session_id, uid, state, reason, content, attempt + 1)
        else:
            log.error("could not deliver %s/%s to node %s: %s", session_id, uid, node, error)

    sent.future().add_done_callback(check)


def _redeliver(
    delay: float,
    node: str,
    session_id: str,
    uid: str,
    state: str,
    reason: str,
    content: Any,
    attempt: int,
) -> None:
    """Send a failed delivery again after ``delay`` s through a fresh lookup.

    On a timer thread: the failure is reported on Ray's callback thread, which must not
    sleep or wait for the GCS. A peer not found (its NM between stop and start) uses up
    an attempt too.
    """

    def again() -> None:
        try:
            _deliver(node, session_id, uid, state, reason, content, attempt, fresh=True)
        except Exception as error:  # no NM of that name right now
            if attempt < DELIVERY_ATTEMPTS:
                log.warning(
                    "delivery of %s/%s to %s failed (%s); retrying", session_id, uid, node, error
                )
                _redeliver(
                    0.2 * attempt, node, session_id, uid, state, reason, content, attempt + 1
                )
            else:
                log.error("could not deliver %s/%s to node %s: %s", session_id, uid, node, error)

    timer = threading.Timer(delay, again)
    timer.daemon = True
    timer.start()


_RemoteNodeManager = ray.remote(NodeManagerActor)


class RayNodeClient:
    """:class:`~liuray.managers.protocol.NodeManagerProtocol` over an NM actor handle."""

    def __init__(self, node: NodeName, handle: Any, timeout: float = 120.0) -> None:
        self.node = node
        self.handle = handle
        self.timeout = timeout

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return ray.get(self.handle.call.remote(method, *args), timeout=self.timeout)
        except RayTaskError as err:
            cause = err.cause
            if isinstance(cause, LiurayError):
                raise cause from None
            raise TransportError(
                f"node {self.node}: {method} failed: {cause!r}", node=self.node
            ) from None
        except RayActorError as err:
            raise TransportError(
                f"the node manager on Ray node {self.node} is gone ({err})", node=self.node
            ) from None

    # One method per protocol operation: typed here, forwarded to the actor as is.

    def create_session(self, session_id: SessionId, directory: str | None = None) -> str:
        return str(self._call("create_session", session_id, directory))

    def append_graph(self, session_id: SessionId, specs: list[DropSpec] | PhysicalGraph) -> None:
        self._call("append_graph", session_id, specs)

    def deploy(
        self,
        session_id: SessionId,
        external_producers: dict[DropUid, int],
        publish_to: dict[DropUid, list[NodeName]],
        mirrors: list[DropUid],
    ) -> None:
        self._call("deploy", session_id, external_producers, publish_to, mirrors)

    def trigger(self, session_id: SessionId, uids: list[DropUid] | None) -> None:
        self._call("trigger", session_id, uids)

    def deliver(
        self,
        session_id: SessionId,
        uid: DropUid,
        state: str,
        reason: str,
        payload: Payload | None,
    ) -> None:
        self._call("deliver", session_id, uid, state, reason, payload)

    def cancel_session(self, session_id: SessionId) -> None:
        self._call("cancel_session", session_id)

    def destroy_session(self, session_id: SessionId) -> None:
        self._call("destroy_session", session_id)

    def fail_drops(self, session_id: SessionId, uids: list[DropUid], reason: str) -> None:
        self._call("fail_drops", session_id, uids, reason)

    def held_data(self, session_id: SessionId) -> list[DropUid]:
        return cast(list[DropUid], self._call("held_data", session_id))

    def files_present(self, paths: list[str]) -> list[str]:
        return cast(list[str], self._call("files_present", paths))

    def carry(self, session_id: SessionId, from_session: SessionId, uids: list[DropUid]) -> None:
        self._call("carry", session_id, from_session, uids)

    def failures(self, session_id: SessionId) -> list[tuple[DropUid, str]]:
        return cast(list[tuple[DropUid, str]], self._call("failures", session_id))

    def session_status(self, session_id: SessionId) -> SessionState:
        return cast(SessionState, self._call("session_status", session_id))

    def sessions(self) -> list[NodeSessionSummary]:
        return cast(list[NodeSessionSummary], self._call("sessions"))

    def graph_status(self, session_id: SessionId) -> dict[DropUid, DropStatus]:
        return cast(dict[DropUid, DropStatus], self._call("graph_status", session_id))

    def progress(self, session_id: SessionId) -> NodeProgress:
        return cast(NodeProgress, self._call("progress", session_id))

    def drop_detail(self, session_id: SessionId, uid: DropUid) -> DropDetail:
        return cast(DropDetail, self._call("drop_detail", session_id, uid))

    def info(self) -> NodeInfo:
        return cast(NodeInfo, self._call("info"))


class RayTransport(Transport):
    """Node managers as Ray actors, one per alive Ray node (see the module docstring).

    Args:
        address: the Ray cluster (``auto`` on a Ray node, ``ray://`` or ``host:port``);
            None connects to (or starts) a local Ray.
        root: directory for NM session files (default ``$LIURAY_HOME/ray-nodes``).
        workers: worker threads per NM (default: the node's CPUs).
        code_path: a directory of Python code graphs name by import path; Ray uploads
            it to every node (the connection's ``runtime_env`` ``working_dir``). NMs
            adopted from an earlier island manager keep theirs: restart them to change it.
        app_tasks: run Python function apps as Ray tasks with their resource requests
            (``num_cpus``, ``num_gpus``, ``resources``), so Ray places them and the
            autoscaler sees their demand; otherwise they run on the NM's own node.
        processes: per-NM process pool for Python function apps (CPU-bound code runs in
            parallel despite the GIL); 0: none.
        interval: membership polling period in seconds.
        idle_release: release idle worker NMs after this many seconds (None: never);
            keep it below the autoscaler's ``idle_timeout_minutes``.
        allowed_paths: confine file drops to each session's directory and these paths
            (on the nodes' file systems); None: anywhere. See :mod:`liuray.engine.paths`.
    """

    kind = "ray"
    nodes_outlive_island = True  # detached NM actors

    def __init__(
        self,
        address: str | None = "auto",
        *,
        root: Path | None = None,
        workers: int | None = None,
        processes: int = 0,
        app_tasks: bool = False,
        code_path: Path | None = None,
        interval: float = 0.2,
        idle_release: float | None = 60.0,
        connect: bool = True,
        allowed_paths: Sequence[Path] | None = None,
    ) -> None:
        super().__init__()
        # Ray ships a code directory to every node only at the job level: the island
        # manager's connection. NM actors (and the tasks they start) inherit it.
        runtime_env = {"working_dir": str(code_path)} if code_path else None
        if connect and not ray.is_initialized():
            ray.init(
                address=address,
                namespace=NAMESPACE,
                log_to_driver=False,
                include_dashboard=False if address is None else None,
                configure_logging=False,
                runtime_env=runtime_env,
            )
        elif code_path is not None:
            raise DeployError(
                "code_path needs the island manager to make the Ray connection itself "
                "(Ray uploads code at the job level); this process is already connected",
                code_path=str(code_path),
            )
        self.root = root
        self.workers = workers
        self.processes = processes
        self.app_tasks = app_tasks
        self.allowed_paths = None if allowed_paths is None else tuple(allowed_paths)
        self._handles: dict[str, Any] = {}
        self._closing = threading.Event()
        self._pump_wakers: set[threading.Event] = set()
        self._pumps: list[threading.Thread] = []
        self._requests: dict[str, list[dict[str, float]]] = {}
        self._lock = threading.Lock()
        self.reconciler = MembershipReconciler(
            self, on_lost=self._lost, interval=interval, idle_release=idle_release
        )
        self.reconciler.start()

    # ------------------------------------------------------------------ NodeOps

    def _allowed_paths(self) -> list[str] | None:
        """The confinement as the actor takes it (paths on the nodes' file systems)."""
        return None if self.allowed_paths is None else [str(p) for p in self.allowed_paths]

    def alive_nodes(self) -> dict[str, dict[str, Any]]:
        """Ray's alive nodes by node id."""
        return {n["NodeID"]: n for n in ray.nodes() if n.get("Alive")}

    def start_manager(self, node_id: str) -> None:
        """Create or adopt the node's NM actor; return once it answers."""
        handle = _RemoteNodeManager.options(
            name=actor_name(node_id),
            namespace=NAMESPACE,
            lifetime="detached",
            get_if_exists=True,
            num_cpus=0,
            max_concurrency=64,
            max_restarts=0,
            scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False),
        ).remote(
            node_id,
            None if self.root is None else str(self.root),
            self.workers,
            self.processes,
            self.app_tasks,
            self._allowed_paths(),
        )
        ray.get(handle.ping.remote(), timeout=60)
        # An adopted NM keeps the settings it was created with: apply ours.
        ray.get(
            handle.configure.remote(self.processes, self.app_tasks, self._allowed_paths()),
            timeout=60,
        )
        with self._lock:
            self._handles[node_id] = handle
        pump = threading.Thread(
            target=self._pump_events,
            args=(node_id, handle),
            name=f"liuray-events-{node_id[:8]}",
            daemon=True,
        )
        with self._lock:
            self._pumps = [p for p in self._pumps if p.is_alive()] + [pump]
        pump.start()

    def _pump_events(self, node_id: str, handle: Any) -> None:
        """Forward an NM's events to the island manager until the NM is replaced or gone.

        Each ``take_events`` call returns as soon as the NM has something (or after
        :data:`EVENT_WAIT` seconds with nothing): a long poll, not a busy one. The wait
        for its answer also ends when the transport closes, so ``close`` never leaves a
        thread inside Ray (a Ray shutdown under one kills the process).
        """
        wake = threading.Event()
        with self._lock:
            self._pump_wakers.add(wake)
        try:
            self._pump(node_id, handle, wake)
        finally:
            with self._lock:
                self._pump_wakers.discard(wake)

    def _pump(self, node_id: str, handle: Any, wake: threading.Event) -> None:
        acked = 0
        while not self._closing.is_set():
            with self._lock:
                current = self._handles.get(node_id)
            if current is not handle:
                return  # released, drained, restarted or lost: a new pump takes over
            wake.clear()
            try:
                answer = current.take_events.remote(EVENT_WAIT, acked).future()
            except Exception:  # Ray is shutting down
                return
            answer.add_done_callback(lambda _: wake.set())
            wake.wait(EVENT_WAIT + 60)
            if self._closing.is_set():
                return  # not acknowledged: the next island manager's pump gets them
            try:
                last, events = answer.result(timeout=0)
            except RayActorError:
                return  # the NM died: membership reports the node
            except Exception as err:  # e.g. no answer in time while the cluster is busy
                log.warning("events of node %s: %r; retrying", node_id, err)
                self._closing.wait(1.0)
                continue
            if events and self.on_event is None:
                self._closing.wait(0.05)  # no island manager yet: keep them unacknowledged
                continue
            for event in events:
                self.forward_event(event)
            acked = last

    def stop_manager(self, node_id: str, timeout: float = 15.0) -> None:
        """Kill the node's NM actor (if any) and wait until its name is free.

        ``ray.kill`` returns before the actor is gone; until then its name still finds
        it, and a restart (``get_if_exists``) would adopt the dying actor.
        """
        with self._lock:
            handle = self._handles.pop(node_id, None)
        name = actor_name(node_id)
        if handle is None:
            try:
                handle = ray.get_actor(name, namespace=NAMESPACE)
            except ValueError:
                return
        ray.kill(handle, no_restart=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                ray.get_actor(name, namespace=NAMESPACE)
            except ValueError:
                return
            time.sleep(0.05)
        log.warning("the node manager %s was killed but its name is still taken", name)

    def manager_busy(self, node_id: str) -> bool:
        """Whether the node's NM holds a live session."""
        handle = self._handles.get(node_id)
        return handle is not None and bool(ray.get(handle.busy.remote(), timeout=10))

    # ------------------------------------------------------------------ Transport

    def node_names(self) -> list[NodeName]:
        return sorted(self.reconciler.ready_nodes())

    def canonical(self, spelling: str) -> NodeName:
        text = spelling.strip()
        known = self.reconciler.nodes
        if text in known:
            return text
        matches = [n for n in known if n.startswith(text)] if len(text) >= 8 else []
        if len(matches) == 1:
            return matches[0]
        host, _ = split_address(text)
        wanted = {canonical_host(host), host}
        if "localhost" in wanted:
            wanted.add(ray.util.get_node_ip_address())
        by_ip = sorted(
            (not node.is_head, node_id)
            for node_id, node in known.items()
            if node.ip in wanted or canonical_host(node.ip) in wanted
        )
        if by_ip:
            return by_ip[0][1]
        raise NodeNotFound(
            f"no Ray node {spelling!r}; Ray nodes: "
            f"{[f'{n} ({node.ip})' for n, node in known.items()]}",
            node=spelling,
            known=sorted(known),
        )

    def client(self, node: NodeName) -> RayNodeClient:
        with self._lock:
            handle = self._handles.get(node)
        if handle is None:
            state = self.reconciler.nodes.get(node)
            if state is not None and state.state is NodeState.RELEASED:
                self.reconciler.wake(node)
                return self.client(node)
            raise NodeNotFound(
                f"node {node!r} has no running node manager; known nodes: {self.node_names()}",
                node=node,
                known=self.node_names(),
            )
        return RayNodeClient(node, handle)

    def ensure_node(self, node: NodeName) -> NodeName:
        if node not in self.reconciler.nodes:
            self.reconciler.reconcile()
        if node not in self.reconciler.nodes:
            raise NodeNotFound(
                f"no alive Ray node {node!r}", node=node, known=sorted(self.reconciler.nodes)
            )
        self.reconciler.undrain(node)
        self.reconciler.wake(node)
        return node

    def remove_node(self, node: NodeName) -> None:
        if node not in self.reconciler.nodes:
            raise NodeNotFound(
                f"no Ray node {node!r}", node=node, known=sorted(self.reconciler.nodes)
            )
        self.reconciler.drain(node)
        if self.on_node_lost is not None:
            # Its NM is gone: drops elsewhere waiting on it must fail, not wait forever.
            self.on_node_lost(node, f"node {node} removed")

    def restart_node(self, node: NodeName) -> None:
        """Replace the node's NM with a fresh actor (its sessions are lost)."""
        self.reconciler.restart(node)
        if self.on_node_lost is not None:
            self.on_node_lost(node, f"node manager on {node} restarted")

    def node_details(self) -> list[NodeDetails]:
        details = []
        for node_id, node in sorted(self.reconciler.nodes.items()):
            session_ids: tuple[SessionId, ...] | None = None
            handle = self._handles.get(node_id)
            if handle is not None and node.state is NodeState.READY:
                try:
                    session_ids = tuple(ray.get(handle.call.remote("session_ids"), timeout=5))
                except Exception:  # details are best effort: a slow NM must not fail them
                    session_ids = ()
            details.append(
                NodeDetails(
                    node_id, str(node.state), self.kind, session_ids, member=node.describe()
                )
            )
        return details

    def acquire(
        self,
        session_id: str,
        count: int,
        bundles: list[dict[str, float]],
        timeout: float,
        cancelled: threading.Event | None = None,
    ) -> list[NodeName]:
        """Nodes whose resources fit ``bundles``; asks the autoscaler for missing ones.

        Missing capacity is requested with ``ray.autoscaler.sdk.request_resources`` (all
        live sessions' requests together, as that call replaces the previous request)
        and held until :meth:`release`. New nodes get their NM from the reconciler.
        """
        deadline = time.monotonic() + timeout
        requested = False
        while True:
            chosen = self._fit(bundles)
            if chosen is not None:
                for node in chosen:  # not "idle" while the deploy is on its way
                    self.reconciler.touch(node)
                return chosen
            if not requested:
                with self._lock:
                    self._requests[session_id] = bundles
                self._request_capacity()
                requested = True
                log.info("session %s: asked the autoscaler for %s", session_id, bundles)
            if cancelled is not None and cancelled.is_set():
                self.release(session_id)
                raise DeployError(
                    f"session {session_id}: cancelled while waiting for {count} nodes",
                    needed=count,
                )
            if time.monotonic() > deadline:
                self.release(session_id)
                have = {n: node.resources for n, node in self.reconciler.nodes.items()}
                raise DeployError(
                    f"the graph needs {count} nodes offering {bundles}, but after "
                    f"{timeout:.0f} s the cluster has {len(have)} usable: {have}; check the "
                    "autoscaler's max_workers and node types",
                    needed=count,
                    bundles=bundles,
                )
            if cancelled is not None:
                cancelled.wait(0.2)  # a cancel ends the wait at once
            else:
                time.sleep(0.2)

    def _fit(self, bundles: list[dict[str, float]]) -> list[NodeName] | None:
        free = {
            n: node.resources
            for n, node in self.reconciler.nodes.items()
            if node.state in (NodeState.READY, NodeState.RELEASED)
        }
        chosen: list[NodeName] = []
        for bundle in bundles:
            match = next(
                (
                    n
                    for n in sorted(free, key=lambda n: self._is_head(n))
                    if all(free[n].get(k, 0.0) >= v for k, v in bundle.items())
                ),
                None,
            )
            if match is None:
                return None
            chosen.append(match)
            del free[match]
        return chosen

    def _is_head(self, node: NodeName) -> bool:
        state = self.reconciler.nodes.get(node)
        return state is not None and state.is_head

    def _request_capacity(self) -> None:
        from ray.autoscaler.sdk import request_resources

        with self._lock:
            bundles = [b for request in self._requests.values() for b in request]
        request_resources(bundles=bundles)

    def release(self, session_id: str) -> None:
        """Drop the session's capacity request so idle nodes can scale down."""
        with self._lock:
            had = self._requests.pop(session_id, None)
        if had is not None:
            self._request_capacity()

    def is_active(self, node: NodeName) -> bool:
        state = self.reconciler.nodes.get(node)
        return state is not None and state.state is NodeState.READY

    def prepare(self, nodes: list[NodeName]) -> None:
        for node in nodes:
            self.reconciler.wake(node)

    def _lost(self, node_id: str, reason: str) -> None:
        with self._lock:
            self._handles.pop(node_id, None)
        if self.on_node_lost is not None:
            self.on_node_lost(node_id, reason)

    def close(self) -> None:
        """Stop reconciling and pumping; NM actors stay up (detached) for the next island
        manager, their outboxes keeping what happens meanwhile."""
        self._closing.set()
        with self._lock:
            wakers, pumps = list(self._pump_wakers), list(self._pumps)
        for wake in wakers:
            wake.set()
        for pump in pumps:
            pump.join(timeout=5)
        self.reconciler.stop()


def head_hostname() -> str:
    """This machine's name, for messages."""
    return socket.gethostname()


if TYPE_CHECKING:  # the client must satisfy the protocol the island manager uses
    _client: NodeManagerProtocol = RayNodeClient("", None)
