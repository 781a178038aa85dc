# SPDX-License-Identifier: LGPL-2.1-or-later
"""The session machine: DALiuGE's firing rules as a pure state machine.

State:
    One :class:`DropNode` per drop of a session partition (data drops and app drops),
    holding its state and the counters the firing rules need. Nodes refer to each other
    by uid only, so the machine holds no drop payloads and does no I/O.

Who mutates it:
    Whoever owns the session (the local executor, a node manager) calls
    :meth:`SessionMachine.handle` with events and carries out the returned instructions.
    *Mutates; call only while holding the session's lock.* Nothing here blocks or sleeps.

Policy (DALiuGE's semantics, ``daliuge.md`` section 1.5):
    * A data drop settles when all its producers have: ERROR if any producer failed,
      SKIPPED if a producer skipped (with ``block_skip``, only once all producers skipped),
      else COMPLETED. Data drops without producers are roots, completed by a trigger.
    * An app fires once every input (streaming ones included) settled. If
      ``floor(errors * 100 / inputs) > input_error_threshold`` it goes to ERROR without
      running; else if any input was skipped (``block_skip``: all of them) it is SKIPPED;
      else it runs. Errors and skips cascade to its outputs.
    * A failed attempt is retried while ``n_tries`` allows.
    * A branch app names the outputs it did not take; those are SKIPPED (and cascade).
    * A releasable data drop (memory, not persisted) is released, state EXPIRED, once all
      its consumers settled.
    * The session ends when no drop is unfinished: FAILED if any drop is in ERROR.
    * Cancel turns every unfinished drop CANCELLED and cancels running apps.
    * An end drop (DALiuGE's ``EndDROP``) that completes skips every drop not started.

Work is processed from an explicit queue, so a 100,000-drop cascade never recurses.

Progress is kept incrementally: every state change adjusts a count per state (so a
status read costs O(states), not O(drops)), and, when :attr:`SessionMachine.journal` is
a list, appends the changed node to it for the owner to report (live progress). Nodes
named in ``uncounted`` (copies of drops owned by another node) are left out of both.

>>> from liuray.engine.events import DropsTriggered, AppFinished
>>> m = SessionMachine([
...     DropNode.app("hello", outputs=("greeting",)),
...     DropNode.data("greeting", producers=("hello",)),
... ])
>>> m.handle(DropsTriggered(("hello",)))
[RunApp(uid='hello', attempt=1)]
>>> m.handle(AppFinished("hello"))
[SessionEnded(state=<SessionState.FINISHED: 'finished'>)]
>>> m.nodes["greeting"].state
<DropState.COMPLETED: 'completed'>
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING

from liuray.engine.events import (
    AppFailed,
    AppFinished,
    CancelApp,
    DataCompleted,
    DataWritten,
    DropsLost,
    DropsTriggered,
    Event,
    Instruction,
    ProducerSettled,
    PublishState,
    ReleaseData,
    RunApp,
    SessionCancelled,
    SessionEnded,
)
from liuray.engine.states import (
    APP_TRANSITIONS,
    DROP_TRANSITIONS,
    AppState,
    DropState,
    SessionState,
    check,
)
from liuray.errors import GraphError, InvalidTransition
from liuray.types import DropUid

_SETTLED_DATA = frozenset(
    {
        DropState.COMPLETED,
        DropState.ERROR,
        DropState.SKIPPED,
        DropState.CANCELLED,
        DropState.EXPIRED,
        DropState.DELETED,
    }
)
_SETTLED_APP = frozenset({AppState.FINISHED, AppState.ERROR, AppState.SKIPPED, AppState.CANCELLED})
_NO_UIDS: tuple[DropUid, ...] = ()
_REMOTE_OUTCOMES = frozenset({DropState.COMPLETED, DropState.ERROR, DropState.SKIPPED})
#: The two errors the machine gives a drop in error *because of* another one; everything
#: else (an app's exception, a lost node) is a root cause. See :func:`is_consequence`.
_CONSEQUENCE = re.compile(r"producer '.*' failed|\d+ of \d+ inputs in error \(")


def is_consequence(error: str) -> bool:
    """Whether ``error`` says a drop failed because an input or producer failed.

    Such errors are written only by this machine, so a failure record that crossed a
    node boundary (``(uid, error)``) can still be told apart from a root cause.

    >>> is_consequence("producer 'a' failed"), is_consequence("ZeroDivisionError: ...")
    (True, False)
    """
    return _CONSEQUENCE.match(error) is not None


class DropNode:
    """The machine's view of one drop: links by uid, state and firing counters.

    Build with :meth:`app` or :meth:`data` (which copy the links into tuples), or make
    an :class:`AppNode` or a :class:`DataNode` directly from link sequences nobody will
    change (a session built from a loaded graph shares the graph's lists).
    ``external_producers`` counts producers that live on other nodes (their settlement
    arrives as :class:`ProducerSettled`).

    Each kind holds only its own fields (a million-drop session makes a million nodes);
    the other kind's read as constants (an app has no producers, a data drop no
    attempts).
    """

    if TYPE_CHECKING:  # every field, for the type checker; each kind has its own slots
        __slots__ = (
            "app_state",
            "attempt",
            "block_skip",
            "consumers",
            "error",
            "error_threshold",
            "errors_in",
            "external_producers",
            "inputs",
            "is_app",
            "outputs",
            "pending",
            "pending_consumers",
            "producers",
            "releasable",
            "skips_in",
            "state",
            "tries",
            "uid",
            "watched",
        )
        is_app: bool
        app_state: AppState | None
        inputs: Sequence[DropUid]
        outputs: Sequence[DropUid]
        producers: Sequence[DropUid]
        consumers: Sequence[DropUid]
        external_producers: int
        pending_consumers: int
        error_threshold: int
        tries: int
        attempt: int
        releasable: bool
        watched: bool
    else:
        __slots__ = ("block_skip", "error", "errors_in", "pending", "skips_in", "state", "uid")

    def __init__(self, uid: DropUid) -> None:
        self.uid = uid
        self.state = DropState.INITIALIZED
        # Apps: inputs not yet settled. Data: producers not yet settled.
        self.pending = 0
        self.errors_in = 0
        self.skips_in = 0
        self.block_skip = False
        self.error = ""

    @classmethod
    def app(
        cls,
        uid: DropUid,
        inputs: Iterable[DropUid] = (),
        outputs: Iterable[DropUid] = (),
        *,
        error_threshold: int = 0,
        tries: int = 1,
        block_skip: bool = False,
    ) -> DropNode:
        """An application drop reading ``inputs`` and writing ``outputs``."""
        node = AppNode(uid, tuple(inputs), tuple(outputs))
        node.error_threshold = error_threshold
        node.tries = max(1, tries)
        node.block_skip = block_skip
        return node

    @classmethod
    def data(
        cls,
        uid: DropUid,
        producers: Iterable[DropUid] = (),
        consumers: Iterable[DropUid] = (),
        *,
        external_producers: int = 0,
        releasable: bool = False,
        watched: bool = False,
        block_skip: bool = False,
    ) -> DropNode:
        """A data drop written by ``producers`` and read by ``consumers``."""
        node = DataNode(
            uid, tuple(producers), tuple(consumers), external_producers, releasable, watched
        )
        node.block_skip = block_skip
        return node

    @property
    def settled(self) -> bool:
        """True once the drop's outcome is final."""
        if self.is_app:
            return self.app_state in _SETTLED_APP
        return self.state in _SETTLED_DATA

    def __repr__(self) -> str:
        kind = f"app {self.app_state}" if self.is_app else "data"
        return f"DropNode({self.uid!r}, {kind}, {self.state})"


class AppNode(DropNode):
    """An application's node; ``inputs`` and ``outputs`` are kept as given."""

    if not TYPE_CHECKING:
        __slots__ = ("app_state", "attempt", "error_threshold", "inputs", "outputs", "tries")
    is_app = True
    producers = consumers = _NO_UIDS
    external_producers = pending_consumers = 0
    releasable = watched = False

    def __init__(
        self,
        uid: DropUid,
        inputs: Sequence[DropUid] = _NO_UIDS,
        outputs: Sequence[DropUid] = _NO_UIDS,
    ) -> None:
        # The common fields set here, not by DropNode.__init__: one call less per node.
        self.uid = uid
        self.state = DropState.INITIALIZED
        self.pending = self.errors_in = self.skips_in = 0
        self.block_skip = False
        self.error = ""
        self.app_state = AppState.NOT_RUN
        self.inputs = inputs
        self.outputs = outputs
        self.attempt = 0
        self.tries = 1
        self.error_threshold = 0


class DataNode(DropNode):
    """A data drop's node; ``producers`` and ``consumers`` are kept as given."""

    if not TYPE_CHECKING:
        __slots__ = (
            "consumers",
            "external_producers",
            "pending_consumers",
            "producers",
            "releasable",
            "watched",
        )
    is_app = False
    app_state = None
    inputs = outputs = _NO_UIDS
    attempt = error_threshold = 0
    tries = 1

    def __init__(
        self,
        uid: DropUid,
        producers: Sequence[DropUid] = _NO_UIDS,
        consumers: Sequence[DropUid] = _NO_UIDS,
        external_producers: int = 0,
        releasable: bool = False,
        watched: bool = False,
    ) -> None:
        self.uid = uid
        self.state = DropState.INITIALIZED
        self.pending = self.errors_in = self.skips_in = 0
        self.block_skip = False
        self.error = ""
        self.producers = producers
        self.consumers = consumers
        self.external_producers = external_producers
        self.pending_consumers = 0
        self.releasable = releasable
        self.watched = watched


class SessionMachine:
    """All drops of one session partition and DALiuGE's rules over them (pure, no I/O).

    Args:
        nodes: the drops (or a dict of them by uid, then kept as the machine's own);
            links must be symmetric (``a in b.consumers`` iff
            ``b in a.inputs``), which :func:`link_check` verifies.
        uncounted: drops owned and reported by another node (copies of its drops): left
            out of :meth:`counts` and the journal.
        enders: data drops that end the session when they complete (DALiuGE's
            ``EndDROP``): every app not yet run and every data drop nothing is writing is
            then SKIPPED; apps already running finish with their outputs.
        on_complete: data drops that are told when they complete (``DataCompleted``:
            a file drop nobody wrote then exists, empty, as in DALiuGE).
    """

    def __init__(
        self,
        nodes: Iterable[DropNode] | dict[DropUid, DropNode],
        uncounted: Collection[DropUid] = (),
        enders: Collection[DropUid] = (),
        on_complete: Collection[DropUid] = (),
    ) -> None:
        self.nodes: dict[DropUid, DropNode] = (
            nodes if isinstance(nodes, dict) else {n.uid: n for n in nodes}
        )
        self.uncounted = frozenset(uncounted)
        self.enders = frozenset(enders)
        self.on_complete = frozenset(on_complete)
        self.state = SessionState.RUNNING
        self.unfinished = 0
        self.errors = 0
        self._out: list[Instruction] = []
        self._settled: deque[DropNode] = deque()
        #: Counted drops per state (apps by execution state); see :meth:`counts`.
        self._counts: dict[str, int] = {}
        #: When a list, every counted node whose state changes is appended (owner drains).
        self.journal: list[DropNode] | None = None
        apps = 0
        for node in self.nodes.values():
            if node.is_app:
                node.pending = len(node.inputs)
                apps += 1
            else:
                node.pending = len(node.producers) + node.external_producers
                node.pending_consumers = len(node.consumers)
        self.unfinished = len(self.nodes)
        data = len(self.nodes) - apps
        for uid in self.uncounted:
            mirror = self.nodes.get(uid)
            if mirror is not None:
                apps -= mirror.is_app
                data -= not mirror.is_app
        for key, count in ((AppState.NOT_RUN, apps), (DropState.INITIALIZED, data)):
            if count:
                self._counts[key] = count
        self._handlers = {
            DropsTriggered: self._on_triggered,
            AppFinished: self._on_app_finished,
            AppFailed: self._on_app_failed,
            DataWritten: self._on_data_written,
            ProducerSettled: self._on_producer_settled,
            DropsLost: self._on_lost,
            SessionCancelled: self._on_cancelled,
        }

    # ------------------------------------------------------------------ public

    def handle(self, *events: Event) -> list[Instruction]:
        """Apply ``events`` in order; return the instructions they call for.

        Raises:
            GraphError: an event names a uid that is not in the session.
            InvalidTransition: an event is impossible in the drop's current state.
        """
        out = self._out = []
        for event in events:
            self._handlers[type(event)](event)  # type: ignore[operator]
            self._drain()
        if self.unfinished == 0 and self.state is SessionState.RUNNING:
            self.state = SessionState.FAILED if self.errors else SessionState.FINISHED
            out.append(SessionEnded(self.state))
        return out

    def roots(self) -> list[DropUid]:
        """Drops nothing inside or outside the machine will start: trigger these."""
        return [
            n.uid
            for n in self.nodes.values()
            if (n.is_app and not n.inputs)
            or (not n.is_app and not n.producers and not n.external_producers)
        ]

    def counts(self) -> dict[str, int]:
        """Number of counted drops per state name (apps by execution state); O(states)."""
        return {str(state): count for state, count in self._counts.items() if count}

    def _moved(self, node: DropNode, start: str, end: str) -> None:
        """Book a counted node's move from ``start`` to ``end`` (keys of :meth:`counts`)."""
        if not self.uncounted or node.uid not in self.uncounted:
            counts = self._counts
            counts[start] -= 1
            counts[end] = counts.get(end, 0) + 1
            if self.journal is not None:
                self.journal.append(node)

    # ------------------------------------------------------------------ events

    def _node(self, uid: DropUid) -> DropNode:
        try:
            return self.nodes[uid]
        except KeyError:
            raise GraphError(f"no drop {uid!r} in this session", uid=uid) from None

    def _on_triggered(self, event: DropsTriggered) -> None:
        # Apps are started here in bulk (a graph may have half a million roots): their
        # moves are counted once at the end, as _start would count each.
        nodes, out, journal = self.nodes, self._out, self.journal
        started = 0
        for uid in event.uids:
            node = nodes.get(uid) or self._node(uid)
            if node.is_app:
                if node.app_state is AppState.NOT_RUN:
                    if self.uncounted and uid in self.uncounted:
                        self._start(node)
                        continue
                    node.app_state = AppState.RUNNING
                    node.attempt = 1
                    out.append(RunApp(uid))
                    started += 1
                    if journal is not None:
                        journal.append(node)
            elif node.state in (DropState.INITIALIZED, DropState.WRITING):
                self._settle_data(node, DropState.COMPLETED)
        if started:
            counts = self._counts
            counts[AppState.NOT_RUN] -= started
            counts[AppState.RUNNING] = counts.get(AppState.RUNNING, 0) + started

    def _on_app_finished(self, event: AppFinished) -> None:
        node = self.nodes.get(event.uid) or self._node(event.uid)
        if event.attempt and event.attempt != node.attempt:
            return None  # an abandoned attempt (timed out) ending late
        if node.app_state is not AppState.RUNNING:
            return self._ignore_late(node, AppState.FINISHED)
        if event.skip_outputs:
            self._settle_app(node, AppState.FINISHED, skip_outputs=event.skip_outputs)
        else:
            self._finish(node)
        return None

    def _finish(self, node: DropNode) -> None:
        """``_settle_app(node, FINISHED)`` of a running app that skips nothing, with its
        outputs' common case inline (once per app: half a million in a large scatter)."""
        node.app_state = AppState.FINISHED
        self._moved(node, AppState.RUNNING, AppState.FINISHED)
        node.state = DropState.COMPLETED
        self.unfinished -= 1
        nodes = self.nodes
        for uid in node.outputs:
            out = nodes[uid]
            if out.state in _SETTLED_DATA:
                continue
            out.pending -= 1  # _producer_done with a COMPLETED outcome, inline
            if out.pending > 0:
                continue
            if out.errors_in or out.skips_in:
                self._producers_done(out)
            else:
                self._settle_data(out, DropState.COMPLETED)
        for uid in node.inputs:
            self._consumer_done(nodes[uid])

    def _on_app_failed(self, event: AppFailed) -> None:
        node = self._node(event.uid)
        if event.attempt and event.attempt != node.attempt:
            return None  # an abandoned attempt (timed out) ending late
        if node.app_state is not AppState.RUNNING:
            return self._ignore_late(node, AppState.ERROR)
        if node.attempt < node.tries:
            node.attempt += 1
            self._out.append(RunApp(node.uid, attempt=node.attempt))
            return None
        node.error = event.reason
        self._settle_app(node, AppState.ERROR)
        return None

    def _on_data_written(self, event: DataWritten) -> None:
        node = self._node(event.uid)
        if node.is_app:
            raise GraphError(
                f"drop {node.uid!r} is an app; only data drops are written to", uid=node.uid
            )
        if node.state is DropState.INITIALIZED:
            node.state = DropState.WRITING
            self._moved(node, DropState.INITIALIZED, DropState.WRITING)

    def _on_producer_settled(self, event: ProducerSettled) -> None:
        node = self._node(event.uid)
        if node.is_app:
            raise GraphError(
                f"drop {node.uid!r} is an app; only data drops have producers", uid=node.uid
            )
        if event.state not in _REMOTE_OUTCOMES:
            # Anything else (CANCELLED, INITIALIZED...) would be counted as a success.
            raise InvalidTransition(
                f"Drop {node.uid!r}: a remote producer cannot settle it as {event.state}; "
                f"allowed: {sorted(str(s) for s in _REMOTE_OUTCOMES)}",
                start=str(node.state),
                end=str(event.state),
            )
        self._producer_done(node, event.state, event.reason)

    def _on_lost(self, event: DropsLost) -> None:
        lost = [node for node in map(self._node, event.uids) if not node.settled]
        # Give every lost drop the reason first, so a lost output of a lost app says
        # "node lost" rather than "producer failed".
        for node in lost:
            node.error = event.reason
        for node in lost:
            if node.settled:
                continue
            if node.is_app:
                self._settle_app(node, AppState.ERROR)
            else:
                self._settle_data(node, DropState.ERROR)

    def _on_cancelled(self, _: SessionCancelled) -> None:
        if self.state is not SessionState.RUNNING:
            return
        for node in self.nodes.values():
            if node.settled:
                continue
            if node.is_app:
                if node.app_state is AppState.RUNNING:
                    self._out.append(CancelApp(node.uid))
                assert node.app_state is not None
                self._moved(node, node.app_state, AppState.CANCELLED)
                node.app_state = AppState.CANCELLED
            else:
                self._moved(node, node.state, DropState.CANCELLED)
            node.state = DropState.CANCELLED
        self.unfinished = 0
        self._settled.clear()
        self.state = SessionState.CANCELLED
        self._out.append(SessionEnded(SessionState.CANCELLED))

    # ------------------------------------------------------------------ rules

    def _ignore_late(self, node: DropNode, end: AppState) -> None:
        # An app that was cancelled (or lost) may still report back: that is expected.
        if node.app_state in (AppState.CANCELLED, AppState.ERROR):
            return
        assert node.app_state is not None
        check(f"App {node.uid!r}", node.app_state, end, APP_TRANSITIONS)

    def _start(self, node: DropNode) -> None:
        self._moved(node, AppState.NOT_RUN, AppState.RUNNING)
        node.app_state = AppState.RUNNING
        node.attempt = 1
        self._out.append(RunApp(node.uid))

    def _settle_app(
        self, node: DropNode, end: AppState, skip_outputs: tuple[DropUid, ...] = ()
    ) -> None:
        start = node.app_state
        assert start is not None
        if end not in APP_TRANSITIONS[start]:  # the message is made only to raise
            check(f"App {node.uid!r}", start, end, APP_TRANSITIONS)
        node.app_state = end
        self._moved(node, start, end)
        node.state = _APP_DROP_STATE[end]
        self.unfinished -= 1
        if end is AppState.ERROR:
            self.errors += 1
        outcome = _OUTPUT_OUTCOME[end]
        nodes = self.nodes
        for uid in node.outputs:
            out = nodes[uid]
            self._producer_done(
                out,
                DropState.SKIPPED if uid in skip_outputs else outcome,
                f"producer {node.uid!r} failed",  # see is_consequence
            )
        for uid in node.inputs:
            self._consumer_done(nodes[uid])

    def _producer_done(self, node: DropNode, outcome: DropState, reason: str) -> None:
        if node.state in _SETTLED_DATA:
            return
        node.pending -= 1
        if outcome is DropState.ERROR:
            node.errors_in += 1
            if not node.error:
                node.error = reason
        elif outcome is DropState.SKIPPED:
            node.skips_in += 1
            if not node.block_skip:
                self._settle_data(node, DropState.SKIPPED)
                return
        if node.pending > 0:
            return
        self._producers_done(node)

    def _producers_done(self, node: DropNode) -> None:
        """Every producer of data ``node`` settled: it settles as they did."""
        total = len(node.producers) + node.external_producers
        if node.errors_in:
            self._settle_data(node, DropState.ERROR)
        elif node.skips_in and node.skips_in == total:
            self._settle_data(node, DropState.SKIPPED)
        else:
            self._settle_data(node, DropState.COMPLETED)

    def _settle_data(self, node: DropNode, end: DropState) -> None:
        start = node.state
        if end not in DROP_TRANSITIONS[start]:
            check(f"Drop {node.uid!r}", start, end, DROP_TRANSITIONS)
        node.state = end
        self._moved(node, start, end)
        self.unfinished -= 1
        if end is DropState.ERROR:
            self.errors += 1
        if node.watched:
            self._out.append(PublishState(node.uid, end, node.error))
        self._settled.append(node)
        if self.on_complete and end is DropState.COMPLETED and node.uid in self.on_complete:
            self._out.append(DataCompleted(node.uid))
        if self.enders and end is DropState.COMPLETED and node.uid in self.enders:
            self._skip_the_rest()
        if node.pending_consumers == 0 and node.consumers:
            # Every consumer settled first (lost, or triggered early): nobody will read it.
            self._expire(node)

    def _skip_the_rest(self) -> None:
        """An end drop completed: skip every app not run yet and every data drop nothing
        is writing (see ``enders``); running apps and their outputs finish normally."""
        nodes = self.nodes
        for node in nodes.values():
            if node.is_app and node.app_state is AppState.NOT_RUN:
                self._settle_app(node, AppState.SKIPPED)
        for node in nodes.values():
            if (
                not node.is_app
                and node.state is DropState.INITIALIZED
                and not any(nodes[p].app_state is AppState.RUNNING for p in node.producers)
            ):
                self._settle_data(node, DropState.SKIPPED)

    def _consumer_done(self, node: DropNode) -> None:
        node.pending_consumers -= 1
        if node.pending_consumers == 0:
            self._expire(node)

    def _expire(self, node: DropNode) -> None:
        if node.releasable and node.state is DropState.COMPLETED:
            node.state = DropState.EXPIRED
            self._moved(node, DropState.COMPLETED, DropState.EXPIRED)
            self._out.append(ReleaseData(node.uid))

    def _drain(self) -> None:
        settled = self._settled
        nodes = self.nodes
        while settled:
            data = settled.popleft()
            state = data.state
            for uid in data.consumers:
                app = nodes[uid]
                if app.app_state is not AppState.NOT_RUN:
                    continue
                app.pending -= 1
                if state is DropState.ERROR:
                    app.errors_in += 1
                elif state is DropState.SKIPPED or state is DropState.CANCELLED:
                    app.skips_in += 1
                if app.pending == 0:
                    self._fire(app)

    def _fire(self, app: DropNode) -> None:
        total = len(app.inputs)
        if app.errors_in and app.errors_in * 100 // total > app.error_threshold:
            app.error = (
                f"{app.errors_in} of {total} inputs in error "
                f"(input_error_threshold {app.error_threshold}%)"
            )
            self._settle_app(app, AppState.ERROR)
        elif app.skips_in and (not app.block_skip or app.skips_in == total):
            self._settle_app(app, AppState.SKIPPED)
        else:
            self._start(app)

    # ------------------------------------------------------------------ checks

    def check_invariants(self) -> None:
        """Raise AssertionError if the bookkeeping is inconsistent (used by tests).

        Checked: the unfinished and error counters; every unsettled data drop waits for
        exactly its unsettled producers (plus remote ones); every app that has not run
        counts its settled inputs right and is not ready (the queue is always drained);
        consumer counters; releasable data whose consumers all settled is EXPIRED.
        """
        nodes = self.nodes
        problems: list[str] = []
        unfinished = sum(1 for n in nodes.values() if not n.settled)
        if self.state is SessionState.RUNNING and unfinished != self.unfinished:
            problems.append(f"unfinished counter {self.unfinished} != {unfinished}")
        errors = sum(1 for n in nodes.values() if n.state is DropState.ERROR)
        if errors != self.errors:
            problems.append(f"error counter {self.errors} != {errors} drops in error")
        cancelled = self.state is SessionState.CANCELLED
        for node in nodes.values():
            problems.extend(self._node_problems(node, cancelled))
        counted: dict[str, int] = {}
        for node in nodes.values():
            if node.uid not in self.uncounted:
                key = str(node.app_state) if node.is_app else str(node.state)
                counted[key] = counted.get(key, 0) + 1
        if counted != self.counts():
            problems.append(f"state counts {self.counts()} != {counted} counted drops")
        if problems:
            raise AssertionError("; ".join(problems))

    def _node_problems(self, node: DropNode, cancelled: bool) -> list[str]:
        nodes = self.nodes
        if node.is_app:
            if node.app_state is not AppState.NOT_RUN or cancelled:
                return []
            unsettled = [u for u in node.inputs if not nodes[u].settled]
            if node.pending != len(unsettled):
                return [f"app {node.uid!r} waits for {node.pending} inputs, not {unsettled}"]
            if node.inputs and not unsettled:
                return [f"app {node.uid!r} has all inputs settled but did not fire"]
            return []
        problems = []
        if not node.settled:
            waiting = sum(1 for u in node.producers if not nodes[u].settled)
            if not waiting <= node.pending <= waiting + node.external_producers:
                problems.append(
                    f"data {node.uid!r} waits for {node.pending} producers, "
                    f"but {waiting} local ones are unsettled"
                )
        if not cancelled:
            readers = sum(1 for u in node.consumers if not nodes[u].settled)
            if node.pending_consumers != readers:
                problems.append(
                    f"data {node.uid!r} counts {node.pending_consumers} pending consumers, "
                    f"not {readers}"
                )
            expired = node.state is DropState.EXPIRED
            due = bool(node.releasable and node.consumers and readers == 0)
            if (due and node.state is DropState.COMPLETED) or (expired and not due):
                problems.append(f"data {node.uid!r} is {node.state} with {readers} readers left")
        return problems


_APP_DROP_STATE = {
    AppState.FINISHED: DropState.COMPLETED,
    AppState.ERROR: DropState.ERROR,
    AppState.SKIPPED: DropState.SKIPPED,
    AppState.CANCELLED: DropState.CANCELLED,
}
_OUTPUT_OUTCOME = {
    AppState.FINISHED: DropState.COMPLETED,
    AppState.ERROR: DropState.ERROR,
    AppState.SKIPPED: DropState.SKIPPED,
    AppState.CANCELLED: DropState.CANCELLED,
}


def link_check(nodes: Iterable[DropNode]) -> None:
    """Verify that links are symmetric and point at existing drops of the right kind.

    Raises:
        GraphError: naming the first offending drop and link.
    """
    by_uid = {n.uid: n for n in nodes}
    for node in by_uid.values():
        links = (
            (("inputs", "consumers"), ("outputs", "producers"))
            if node.is_app
            else (("consumers", "inputs"), ("producers", "outputs"))
        )
        for forward, back in links:
            for uid in getattr(node, forward):
                other = by_uid.get(uid)
                if other is None or other.is_app == node.is_app:
                    raise GraphError(
                        f"drop {node.uid!r}: {forward} names {uid!r}, which is not a "
                        f"{'data' if node.is_app else 'app'} drop of this graph",
                        uid=node.uid,
                        link=uid,
                    )
                if node.uid not in getattr(other, back):
                    raise GraphError(
                        f"drop {node.uid!r} lists {uid!r} in {forward!r} but {uid!r} does not "
                        f"list {node.uid!r} in {back!r}; links must be declared on both ends "
                        "(the physical-graph loader does this for you)",
                        uid=node.uid,
                        link=uid,
                    )
