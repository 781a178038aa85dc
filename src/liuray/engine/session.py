# SPDX-License-Identifier: LGPL-2.1-or-later
"""A running graph: drop objects, the session machine, and the glue between them.

State:
    :class:`GraphRun` owns one session partition on one node: a drop object per drop
    (payloads, app code), a :class:`SessionMachine` (states, firing rules) and a lock.

Who mutates it:
    Worker threads report app outcomes through :meth:`GraphRun.execute`; clients and
    transports feed events through :meth:`GraphRun.apply`. The machine is touched only
    under ``self.lock``; instructions are carried out *after* the lock is released, so
    no I/O or app code ever runs while holding it. There is one lock per session, never
    one per drop.

Policy:
    ``RunApp`` goes to the shared :class:`~liuray.engine.local.WorkerPool`;
    ``ReleaseData`` frees a payload; ``CancelApp`` stops an app; ``PublishState`` is
    handed to ``on_publish`` (the node manager forwards it to other nodes);
    ``SessionEnded`` sets :attr:`GraphRun.ended` and calls ``on_end``.

    Live progress: given ``on_changes``, the machine journals the nodes whose state
    changes, and the run calls ``on_changes(run)`` once when the journal stops being
    empty (*under the lock*, so it must only hand the run over, never block). Whoever
    holds it reads the changes when it wants them with :meth:`GraphRun.read_changes`
    (``(uid, status code, execStatus or -1)`` of each, plus the counts per state), which
    empties the journal; the next change calls ``on_changes`` again. So the hot path
    pays a list append per change, not a report.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from liuray import _gc
from liuray.engine import capture
from liuray.engine.app_settings import MAX_RETRY_DELAY, TUNING_KEYS, firing_parameters, setting
from liuray.engine.apps.base import AppDrop, NestedRunner
from liuray.engine.drops.base import DataDrop
from liuray.engine.drops.file import FileDrop
from liuray.engine.events import (
    AppFailed,
    AppFinished,
    CancelApp,
    DataCompleted,
    DataWritten,
    DropsTriggered,
    Event,
    Instruction,
    PublishState,
    ReleaseData,
    RunApp,
    SessionCancelled,
    SessionEnded,
)
from liuray.engine.machine import AppNode, DataNode, DropNode, SessionMachine, is_consequence
from liuray.engine.params import as_bool, as_float, param
from liuray.engine.registry import APPS as _BUILT_IN_APPS
from liuray.engine.registry import DATA as _BUILT_IN_DATA
from liuray.engine.registry import check_requirements, resolve
from liuray.engine.states import AppState, DropState, SessionState
from liuray.errors import GraphError
from liuray.graph.physical import DropDescription, PhysicalGraph
from liuray.types import DropSpec, DropUid

if TYPE_CHECKING:
    from liuray.engine.local import WorkerPool

PublishCallback = Callable[["GraphRun", DropUid, DropState, str], None]
EndCallback = Callable[["GraphRun"], None]
#: One drop's new state as reported live: (uid, DALiuGE status code, execStatus or -1).
DropChange = tuple[DropUid, int, int]
ChangesCallback = Callable[["GraphRun"], None]


@dataclass(frozen=True, slots=True)
class DropSnapshot:
    """What a run knows of one drop now (:meth:`GraphRun.detail`).

    Attributes:
        app_state: the execution state, for applications (None for data).
        error: why the drop failed, if it did.
        logs: the log lines an application captured (none for data).
        started_at: when an application's first attempt started (epoch seconds).
        finished_at: when an application's last attempt ended (epoch seconds).
        size: bytes a data drop holds (None for applications).
        data_url: where a data drop's content lives (None for applications).
    """

    uid: DropUid
    state: DropState
    app_state: AppState | None
    error: str | None
    logs: tuple[str, ...] = ()
    started_at: float | None = None
    finished_at: float | None = None
    size: int | None = None
    data_url: str | None = None


# Wire codes by member, one table per enum (StrEnum members of different enums with the
# same value hash alike, so they cannot share a table); None (a data drop) has no app code.
_DROP_CODES: dict[DropState, int] = {state: state.code for state in DropState}
_APP_CODES: dict[AppState | None, int] = {state: state.code for state in AppState}

_log = logging.getLogger(__name__)

#: The inputs of every app that has none (nothing appends to an app's link lists).
_NO_DROPS: list[DataDrop] = []

#: Built-in classes that need no check, by dropclass: (data drops, apps), by ``is_app``.
_PlainClasses = tuple[
    dict[str, type[AppDrop] | type[DataDrop]], dict[str, type[AppDrop] | type[DataDrop]]
]

#: Where a spec may set check_filepath_exists (top level or an EAGLE field group).
_CHECK_KEYS = frozenset(
    {"check_filepath_exists", "applicationArgs", "componentParams", "constraintParams"}
)


class GraphRun:
    """One session partition executing on one node (see the module docstring).

    Args:
        graph: the validated partition to run.
        session_id: the session's id.
        session_dir: the session's directory (created on first use).
        pool: worker pool running the apps (shared by sessions of one node).
        process_pool: optional process pool for Python function apps.
        external_producers: for data drops written on other nodes, how many remote
            producers each has (their outcome arrives as ``ProducerSettled``).
        watched: drops whose settlement must be published to other nodes.
        on_publish: called with (run, uid, state, reason) for watched drops.
        on_end: called once when the session ends.
        on_changes: called with the run when changes start to wait to be read (see
            the module docstring).
        uncounted: drops owned and reported by another node (mirrors): left out of
            counts and changes.
        app_timeout: seconds an app attempt may run unless its spec sets ``timeout``
            (default: no limit); see :meth:`run_app`.
        allowed_paths: None (default) lets file drops use any path; else they must lie
            under the session directory or one of these (:mod:`liuray.engine.paths`),
            checked here, before anything runs.
        nested: runs the inner graphs of SubGraph apps as nested sessions (the node
            manager gives one; without it those apps fail saying so).

    Raises:
        GraphError: a drop's class is unknown or its parameters are invalid.
    """

    def __init__(
        self,
        graph: PhysicalGraph,
        *,
        session_id: str,
        session_dir: Path,
        pool: WorkerPool,
        process_pool: Executor | None = None,
        external_producers: Mapping[DropUid, int] | None = None,
        watched: Collection[DropUid] = (),
        on_publish: PublishCallback | None = None,
        on_end: EndCallback | None = None,
        on_changes: ChangesCallback | None = None,
        uncounted: Collection[DropUid] = (),
        app_timeout: float | None = None,
        allowed_paths: Sequence[Path] | None = None,
        nested: NestedRunner | None = None,
    ) -> None:
        self.session_id = session_id
        self.nested = nested
        self.allowed_paths = None if allowed_paths is None else tuple(allowed_paths)
        self.app_timeout = app_timeout or None
        #: Per-app ``timeout`` and ``retry_delay`` (seconds), only for apps that set one.
        self._timeouts: dict[DropUid, float] = {}
        self._retry_delays: dict[DropUid, float] = {}
        #: Attempts declared timed out: their own outcome, when it comes, is dropped.
        self._timed_out: set[tuple[DropUid, int]] = set()
        self._timers: set[threading.Timer] = set()
        self._session_dir = session_dir
        self._dir_ready = False
        self._process_pool = process_pool
        self.pool = pool
        self.lock = threading.Lock()
        self.on_publish = on_publish
        self.on_end = on_end
        self.on_changes = on_changes
        self._changes_pending = False
        self.ended = threading.Event()
        self.started_at = 0.0
        self.ended_at = 0.0
        self.drops: dict[DropUid, AppDrop | DataDrop] = {}
        with _gc.paused():  # ~100,000 small acyclic objects for a 20,000-drop graph
            external = external_producers or {}
            nodes, unlinked = self._make_drops(graph, external, watched)
            drops = self.drops
            if self.allowed_paths is not None:
                for drop in drops.values():
                    if isinstance(drop, FileDrop):
                        drop.path  # noqa: B018 - computing it checks it
            self._link_drops(nodes, unlinked, external, watched)
            enders, told, files = self._special_drops()
            self.machine = SessionMachine(nodes, uncounted, enders, told)
            self._check_input_files(files)
            if on_changes is not None:
                self.machine.journal = []

    # ------------------------------------------------------------------ building

    def _make_drops(
        self, graph: PhysicalGraph, external: Mapping[DropUid, int], watched: Collection[DropUid]
    ) -> tuple[dict[DropUid, DropNode], list[DropDescription]]:
        """Make every drop object and, for the common drop, its machine node, in graph
        order and in one pass (a million drops: each pass over them costs ~a second).

        The common drop (no tuning parameter, no streaming link) gets its node here; it
        shares the graph's link lists (nobody changes them once loaded). Returns the
        nodes by uid and the drops still to link once all exist (:meth:`_link_drops`):
        apps with inputs or several outputs, and drops with tuning parameters or
        streaming links, whose node is made then (``None`` until then, so the nodes keep
        the graph's order). An app with no input and one output (a scatter's) is linked
        in this pass: at once if its output exists, else by the output when made.
        """
        plain: _PlainClasses = ({}, {})
        drops = self.drops
        # Both dicts made at their full size, keys in graph order (values set below):
        # no resizing while a million drops are made, and no freed tables left between.
        nodes: dict[DropUid, DropNode] = dict.fromkeys(graph.drops)  # type: ignore[assignment]
        drops.update(nodes)  # type: ignore[arg-type]
        unlinked: list[DropDescription] = []
        for description in graph:
            spec = description.spec
            dropclass = spec.get("dropclass")
            oid = description.oid
            # The common drop is made here, with no call: a million in a large scatter.
            known = plain[description.is_app].get(dropclass) if dropclass.__class__ is str else None
            if known is None:
                drop = drops[oid] = self._instantiate(description, plain)
            else:
                drop = drops[oid] = known(oid, spec, self)
            if not description.is_app:
                _link_waiting(drop, description.producers, nodes, drops)  # type: ignore[arg-type]
            else:
                # At once, so the next drop's allocations reuse what this frees: the
                # app's own empty port dicts and link lists (most graphs name no
                # ports; a scatter's apps have no inputs).
                drop.input_ports = description.input_ports  # type: ignore[union-attr]
                drop.output_ports = description.output_ports  # type: ignore[union-attr]
                if not description.inputs:
                    drop.inputs = _NO_DROPS  # type: ignore[union-attr]
            if not TUNING_KEYS.isdisjoint(spec) or (
                description.streaming_inputs
                if description.is_app
                else description.streaming_consumers
            ):
                nodes[oid] = None  # type: ignore[assignment]  # made by _link_drops
                unlinked.append(description)
            elif description.is_app:
                outputs = description.outputs
                nodes[oid] = AppNode(oid, description.inputs, outputs)
                own = drop.outputs  # type: ignore[union-attr]
                if description.inputs or len(outputs) != 1 or own.__class__ is not list or own:
                    unlinked.append(description)
                else:  # one output and no input: linked now, or by it (_link_waiting)
                    output = drops[outputs[0]]
                    if output is not None:
                        own.append(output)  # type: ignore[arg-type]
            else:
                seen = oid in watched
                nodes[oid] = DataNode(
                    oid,
                    description.producers,
                    description.consumers,
                    external.get(oid, 0) if external else 0,
                    drop.releasable_by_default and not seen,  # type: ignore[union-attr]
                    seen,
                )
        return nodes, unlinked

    def _link_drops(
        self,
        nodes: dict[DropUid, DropNode],
        unlinked: list[DropDescription],
        external: Mapping[DropUid, int],
        watched: Collection[DropUid],
    ) -> None:
        """Link the drops :meth:`_make_drops` left (all drop objects exist now): an app's
        input and output lists, and the long way (:meth:`_wire`) for the drops with
        tuning parameters or streaming links, whose node is made here."""
        drops = self.drops
        get = drops.__getitem__
        for d in unlinked:
            if nodes[d.oid] is None:
                nodes[d.oid] = self._wire(d, external.get(d.oid, 0), d.oid in watched)
                continue
            drop = drops[d.oid]
            # Into the app's own empty lists (no new list per app); ports are set.
            if d.inputs:
                _fill(drop, "inputs", d.inputs, get)  # type: ignore[arg-type]
            outputs = drop.outputs  # type: ignore[union-attr]  # _fill, inline
            if outputs.__class__ is list and not outputs:
                outputs.extend(map(get, d.outputs))  # type: ignore[arg-type]
            else:
                _fill(drop, "outputs", d.outputs, get)  # type: ignore[arg-type]

    def _instantiate(
        self, description: DropDescription, plain: _PlainClasses
    ) -> AppDrop | DataDrop:
        """The drop object of ``description``, its class resolved and its spec checked.

        ``plain`` remembers, by kind (data, apps) and ``dropclass``, the built-in classes
        that need no check (no optional module, no ``check_spec`` of their own): most
        drops of a large graph are one of a few.
        """
        spec = description.spec
        dropclass = spec.get("dropclass")
        if dropclass.__class__ is str:
            known = plain[description.is_app].get(dropclass)
            if known is not None:
                return known(description.oid, spec, self)
        cls: type[AppDrop] | type[DataDrop] | None = None
        if dropclass:  # the common case: one dict lookup per drop
            cls = (_BUILT_IN_APPS if description.is_app else _BUILT_IN_DATA).get(dropclass)
            if cls is not None and _needs_no_check(cls):
                plain[description.is_app][dropclass] = cls
                return cls(description.oid, spec, self)
        try:
            if cls is None:
                cls = resolve(
                    description.dropclass,
                    is_app=description.is_app,
                    storage=description.storage,
                )
            if getattr(cls, "requires", None):
                check_requirements(cls, description.dropclass)
            cls.check_spec(spec)
        except GraphError as err:
            raise GraphError(
                f"drop {description.oid!r}: {err.message}", uid=description.oid, **err.detail
            ) from None
        except (ValueError, TypeError) as err:
            raise GraphError(
                f"drop {description.oid!r} ({cls.__name__ if cls else dropclass}): {err}",
                uid=description.oid,
            ) from None
        return cls(description.oid, spec, self)

    def _wire(self, d: DropDescription, external: int, watched: bool) -> DropNode:
        """Link one drop with tuning parameters or streaming links (the long way)."""
        drops = self.drops
        drop = drops[d.oid]
        spec = d.spec
        if isinstance(drop, AppDrop):
            drop.inputs = [drops[u] for u in d.inputs]  # type: ignore[misc]
            if d.streaming_inputs:
                drop.streaming_inputs = [drops[u] for u in d.streaming_inputs]  # type: ignore[misc]
            drop.outputs = [drops[u] for u in d.outputs]  # type: ignore[misc]
            drop.input_ports = d.input_ports
            drop.output_ports = d.output_ports
            if spec.keys().isdisjoint(TUNING_KEYS):
                return DropNode.app(d.oid, d.inputs + d.streaming_inputs, d.outputs)
            threshold, tries = firing_parameters(d.oid, spec)
            self._read_time_limits(d.oid, spec)
            return DropNode.app(
                d.oid,
                d.inputs + d.streaming_inputs,
                d.outputs,
                error_threshold=threshold,
                tries=tries,
                block_skip=as_bool(param(spec, "block_skip"), False),
            )
        assert isinstance(drop, DataDrop)
        if d.streaming_consumers:
            drop.streaming_consumers = [drops[u] for u in d.streaming_consumers]  # type: ignore[misc]
        if spec.keys().isdisjoint(TUNING_KEYS):
            return DropNode.data(
                d.oid,
                d.producers,
                d.consumers + d.streaming_consumers,
                external_producers=external,
                releasable=drop.releasable_by_default and not watched,
                watched=watched,
            )
        return DropNode.data(
            d.oid,
            d.producers,
            d.consumers + d.streaming_consumers,
            external_producers=external,
            releasable=drop.releasable and not watched,
            watched=watched,
            block_skip=as_bool(param(spec, "block_skip"), False),
        )

    # ------------------------------------------------------------------ context

    @property
    def session_dir(self) -> Path:
        """The session directory, created on first use."""
        if not self._dir_ready:
            self._session_dir.mkdir(parents=True, exist_ok=True)
            self._dir_ready = True
        return self._session_dir

    @property
    def process_pool(self) -> Executor | None:
        """The process pool Python apps may use, if any."""
        return self._process_pool

    def data_written(self, uid: DropUid) -> None:
        """A data drop got its first bytes."""
        self.apply(DataWritten(uid))

    # ------------------------------------------------------------------ running

    def start(self, roots: Iterable[DropUid] | None = None) -> None:
        """Trigger ``roots`` (default: every drop nothing else will start)."""
        self.started_at = time.time()
        uids = tuple(self.machine.roots() if roots is None else roots)
        self.apply(DropsTriggered(uids))

    def cancel(self) -> None:
        """Cancel every unfinished drop."""
        self.apply(SessionCancelled())

    def apply(self, *events: Event) -> None:
        """Feed events to the machine and carry out its instructions (thread-safe)."""
        with self.lock:
            instructions = self.machine.handle(*events)
            journal = self.machine.journal
            if journal and not self._changes_pending:
                self._changes_pending = True
                self.on_changes(self)  # type: ignore[misc]
        ready: list[tuple[GraphRun, DropUid, int]] = []
        for instruction in instructions:
            if instruction.__class__ is RunApp:  # most of them: no isinstance ladder
                uid, attempt = instruction.uid, instruction.attempt
                if attempt > 1 and uid in self._retry_delays:
                    self._retry_later(uid, attempt)
                else:
                    ready.append((self, uid, attempt))
            else:
                self._carry_out(instruction)
        if ready:
            self.pool.submit_tasks(ready)

    def _carry_out(self, instruction: Instruction) -> None:
        """Every instruction but RunApp (which :meth:`apply` batches)."""
        if isinstance(instruction, ReleaseData):
            self.drops[instruction.uid].release()  # type: ignore[union-attr]
        elif isinstance(instruction, DataCompleted):
            self._completed(instruction.uid)
        elif isinstance(instruction, PublishState):
            if self.on_publish is not None:
                self.on_publish(self, instruction.uid, instruction.state, instruction.reason)
        elif isinstance(instruction, CancelApp):
            self.drops[instruction.uid].cancel()  # type: ignore[union-attr]
        elif isinstance(instruction, SessionEnded):
            self.ended_at = time.time()
            self._stop_timers()
            self.ended.set()
            if self.on_end is not None:
                self.on_end(self)

    def read_changes(
        self, limit: int | None = None
    ) -> tuple[dict[str, int], list[DropChange], bool]:
        """The drops changed since the last read (each once, current state) and the counts.

        Returns ``(counts, changes, truncated)``; at most ``limit`` changes are listed
        (``truncated`` says some were left out). Empties the journal; takes the lock.
        """
        with self.lock:
            journal = self.machine.journal or []
            if self.machine.journal is not None:
                self.machine.journal = []
            self._changes_pending = False
            latest = {node.uid: node for node in journal}
            nodes = list(latest.values())
            truncated = limit is not None and len(nodes) > limit
            if truncated:
                nodes = nodes[:limit]
            drop_code, app_code = _DROP_CODES, _APP_CODES
            changes = [
                (node.uid, drop_code[node.state], app_code.get(node.app_state, -1))
                for node in nodes
            ]
            return self.machine.counts(), changes, truncated

    def execute(self, uid: DropUid, attempt: int) -> None:
        """Run one app attempt and report its outcome (called on a worker thread)."""
        event = self.run_app(uid, attempt)
        if event is not None:
            self.apply(event)

    def run_app(self, uid: DropUid, attempt: int) -> Event | None:
        """Run one app attempt and return its outcome, *without* applying it.

        Lets a worker run several quick apps and report them in one :meth:`apply`.
        Returns None when there is nothing to report: the attempt is no longer wanted
        (the session was cancelled while a retry waited) or it timed out meanwhile.

        Time limits: with a ``timeout`` (the app's, else ``app_timeout``) a timer
        declares the attempt failed when it expires (``TimeoutError``, retried while
        ``n_tries`` allows) and cancels the app: bash apps lose their process group;
        Python code that cannot be interrupted keeps its worker thread until it
        returns, and its outcome is then dropped.
        """
        app = self.drops[uid]
        assert isinstance(app, AppDrop)
        if attempt > 1:
            node = self.machine.nodes[uid]
            with self.lock:
                if node.app_state is not AppState.RUNNING or node.attempt != attempt:
                    return None
                if app.cancelled is not None:  # an earlier attempt was timed out
                    app.cancelled.clear()
        if attempt == 1:
            app.started_at = time.time()
        limit = (
            self._timeouts.get(uid, self.app_timeout)
            if self._timeouts or self.app_timeout
            else None
        )
        timer = self._start_timer(limit, self._time_out, uid, attempt, limit) if limit else None
        event: Event
        current = capture.current
        current.app = app  # this thread's log records now go to the app's log
        try:
            skip = app.run()
            event = AppFinished(uid, tuple(skip) if skip else (), attempt)
        # SystemExit too: a function calling sys.exit() must fail its drop, not silently
        # end the worker thread and leave the session waiting forever.
        except (Exception, SystemExit) as err:
            app.log("".join(traceback.format_exception(err)).rstrip())
            reason = str(err) or type(err).__name__
            event = AppFailed(
                uid,
                f"{type(err).__name__}: {reason}"
                if not isinstance(err, GraphError | OSError)
                else reason,
                attempt,
            )
        current.app = None
        app.finished_at = time.time()
        if timer is not None:
            self._stop_timer(timer)
            with self.lock:
                if (uid, attempt) in self._timed_out:
                    self._timed_out.discard((uid, attempt))
                    return None
        return event

    def _special_drops(self) -> tuple[list[DropUid], list[DropUid], list[FileDrop]]:
        """One pass, decided once per class: end drops, drops told when they complete
        (their class overrides ``completed``), and file drops."""
        kinds = {kind: _special(kind) for kind in set(map(type, self.drops.values()))}
        enders: list[DropUid] = []
        told: list[DropUid] = []
        files: list[FileDrop] = []
        if not any(map(any, kinds.values())):  # the common graph: no pass over the drops
            return enders, told, files
        for uid, drop in self.drops.items():
            flags = kinds[type(drop)]
            if flags[0]:
                enders.append(uid)
            if flags[1]:
                told.append(uid)
            if flags[2]:
                files.append(drop)  # type: ignore[arg-type]
        return enders, told, files

    def _check_input_files(self, files: list[FileDrop]) -> None:
        """DALiuGE's ``check_filepath_exists``: a file drop nothing produces (an input of
        the graph) that sets it must exist before anything runs. On a produced file the
        flag is ignored (DALiuGE 6.6.0 checks those too, and so refuses graphs of its own
        test suite whose outputs carry it; ``"0"`` counts as false here).

        Raises:
            GraphError: naming the drop and the path.
        """
        nodes = self.machine.nodes
        for drop in files:
            if drop.spec.keys().isdisjoint(_CHECK_KEYS):
                continue
            uid = drop.uid
            node = nodes[uid]
            if node.producers or node.external_producers:
                continue
            if not param(drop.spec, "filepath"):
                continue  # a path liuray made up: DALiuGE checks only a path it was given
            if as_bool(param(drop.spec, "check_filepath_exists"), False) and not drop.path.exists():
                raise GraphError(
                    f"drop {uid!r}: check_filepath_exists is set but {drop.path} does not "
                    "exist; create the input first, or unset the flag",
                    uid=uid,
                    path=str(drop.path),
                )

    def _completed(self, uid: DropUid) -> None:
        drop = self.drops[uid]
        assert isinstance(drop, DataDrop)
        try:
            drop.completed()
        except OSError as err:  # a full disk, a path made unwritable meanwhile: log it
            _log.warning("drop %r completed but could not finish its payload: %s", uid, err)

    # ------------------------------------------------------------------ time limits

    def _read_time_limits(self, oid: DropUid, spec: DropSpec) -> None:
        try:
            timeout = as_float(setting(spec, "timeout"), "timeout", 0.0)
            delay = as_float(setting(spec, "retry_delay"), "retry_delay", 0.0)
        except ValueError as err:
            raise GraphError(f"drop {oid!r}: {err}", uid=oid) from None
        if timeout < 0 or delay < 0:
            raise GraphError(
                f"drop {oid!r}: 'timeout' and 'retry_delay' are seconds (0 or more), got "
                f"{timeout:g} and {delay:g}",
                uid=oid,
            )
        if timeout:
            self._timeouts[oid] = timeout
        if delay:
            self._retry_delays[oid] = delay

    def _time_out(self, uid: DropUid, attempt: int, limit: float) -> None:
        """The timer of an attempt expired: cancel the app, then fail the attempt."""
        with self.lock:
            node = self.machine.nodes[uid]
            if node.app_state is not AppState.RUNNING or node.attempt != attempt:
                return
            self._timed_out.add((uid, attempt))
        app = self.drops[uid]
        assert isinstance(app, AppDrop)
        app.log(f"timed out after {limit:g} s (attempt {attempt}): cancelled")
        app.cancel()  # before the failure is applied, so no retry can be hit by it
        self.apply(AppFailed(uid, f"TimeoutError: did not finish within {limit:g} s", attempt))

    def _retry_later(self, uid: DropUid, attempt: int) -> None:
        """Queue a retry after the app's ``retry_delay``, doubled for every attempt."""
        delay = min(self._retry_delays[uid] * 2 ** (attempt - 2), MAX_RETRY_DELAY)
        self._start_timer(delay, self.pool.submit_many, self, [(uid, attempt)])

    def _start_timer(
        self, seconds: float, call: Callable[..., object], *args: object
    ) -> threading.Timer:
        def fire() -> None:
            self._stop_timer(timer)
            call(*args)

        timer = threading.Timer(seconds, fire)
        timer.daemon = True
        with self.lock:
            self._timers.add(timer)
        timer.start()
        return timer

    def _stop_timer(self, timer: threading.Timer) -> None:
        timer.cancel()
        with self.lock:
            self._timers.discard(timer)

    def _stop_timers(self) -> None:
        with self.lock:
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the session ended; False on timeout."""
        return self.ended.wait(timeout)

    # ------------------------------------------------------------------ inspection

    @property
    def state(self) -> SessionState:
        """The session's state as far as this partition knows."""
        return self.machine.state

    def counts(self) -> dict[str, int]:
        """Drops per state name (apps by execution state)."""
        with self.lock:
            return self.machine.counts()

    def drop_states(self) -> dict[DropUid, tuple[DropState, AppState | None]]:
        """Every drop's state and, for applications, execution state (else None)."""
        with self.lock:
            return {uid: (node.state, node.app_state) for uid, node in self.machine.nodes.items()}

    def failures(self) -> list[tuple[DropUid, str]]:
        """(uid, error) of every drop in ERROR, root causes first.

        A root cause failed on its own (an app raised, a node was lost); the others are
        in error because an input or producer was (:func:`is_consequence`). Within each
        group apps come before data, then by uid, so the order is stable.
        """
        with self.lock:
            nodes = [n for n in self.machine.nodes.values() if n.state is DropState.ERROR]
        found = [(n.uid, n.error or "error", n.is_app) for n in nodes]
        found.sort(key=lambda f: (is_consequence(f[1]), not f[2], f[0]))
        return [(uid, error) for uid, error, _ in found]

    def detail(self, uid: DropUid) -> DropSnapshot:
        """Everything known about one drop (state, timings, error, captured logs).

        Raises:
            GraphError: no such drop in this run.
        """
        node = self.machine.nodes.get(uid)
        if node is None:
            raise GraphError(f"no drop {uid!r} in session {self.session_id!r}", uid=uid)
        drop = self.drops[uid]
        if isinstance(drop, AppDrop):
            return DropSnapshot(
                uid,
                node.state,
                node.app_state,
                node.error or None,
                logs=tuple(drop.logs or ()),
                started_at=drop.started_at or None,
                finished_at=drop.finished_at or None,
            )
        return DropSnapshot(
            uid, node.state, None, node.error or None, size=drop.size, data_url=drop.data_url
        )


def _fill(
    app: AppDrop, name: str, uids: list[DropUid], get: Callable[[DropUid], AppDrop | DataDrop]
) -> None:
    """Link ``app`` to the drops named by ``uids``: into its own empty list (as
    ``AppDrop`` makes them), else a new one."""
    links = getattr(app, name)
    if links.__class__ is list and not links:
        links.extend(map(get, uids))
    else:
        setattr(app, name, list(map(get, uids)))


def _link_waiting(
    drop: DataDrop,
    producers: list[DropUid],
    nodes: dict[DropUid, DropNode],
    drops: dict[DropUid, AppDrop | DataDrop],
) -> None:
    """Link ``drop`` to its producers made earlier with no input and this one output:
    they wait for it (:meth:`GraphRun._make_drops`), not for a second pass."""
    for producer in producers:
        node = nodes[producer]
        if node.__class__ is AppNode and not node.inputs and len(node.outputs) == 1:
            waiting = drops[producer].outputs  # type: ignore[union-attr]
            if waiting.__class__ is list and not waiting:
                waiting.append(drop)


def _special(kind: type[AppDrop | DataDrop]) -> tuple[bool, bool, bool]:
    """Whether drops of ``kind`` end the session, are told when they complete, are files."""
    data = issubclass(kind, DataDrop)
    return (
        data and kind.ends_session,  # type: ignore[union-attr]
        data and kind.completed is not DataDrop.completed,  # type: ignore[union-attr]
        issubclass(kind, FileDrop),
    )


def _needs_no_check(cls: type[AppDrop] | type[DataDrop]) -> bool:
    """A class needing no optional module and keeping the default (empty) spec check."""
    base = AppDrop if issubclass(cls, AppDrop) else DataDrop
    return not getattr(cls, "requires", None) and (
        cls.check_spec.__func__ is base.check_spec.__func__  # type: ignore[attr-defined]
    )
