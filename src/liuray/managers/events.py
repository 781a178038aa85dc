# SPDX-License-Identifier: LGPL-2.1-or-later
"""Events pushed by node managers to the island manager, and the outbox that holds them.

A node manager reports what happens on its node as facts (past-tense frozen
dataclasses): :class:`DropsChanged` after state changes of a session's drops (with the
node's counts per state, so the island never counts drops itself) and
:class:`NodeSessionEnded` once the session has no unfinished drop on the node. They are
plain data, so they cross processes (Ray pickles them) unchanged.

The hot path stays cheap: the engine journals changed drops (a list append), and a node
manager hands over a :class:`ChangesPending` (just the run) once, when a run's journal
stops being empty. The :class:`EventOutbox` reads the drops' states when a reader
*takes* them, so a 1,000-app chain that runs in 8 ms costs one or two reads, not 1,000
reports.

Delivery is the transport's business: in-process the node manager's sink is the island
manager's own outbox; on Ray it is an outbox in the node-manager actor, which the
island manager drains by long-polling ``take`` (a call that returns as soon as something
happened, so there is no busy polling and no extra port), acknowledging what it got.

>>> box = EventOutbox()
>>> box.put(DropsChanged("n1", "s1", {"running": 1}, (("a", 0, 1),)))
>>> box.put(DropsChanged("n1", "s1", {"finished": 1}, (("a", 2, 2),)))
>>> box.put(NodeSessionEnded("n1", "s1", SessionState.FINISHED))
>>> last, events = box.take(0)
>>> last, [type(e).__name__ for e in events], events[0].changes
(3, ['DropsChanged', 'NodeSessionEnded'], (('a', 0, 1), ('a', 2, 2)))
>>> box.take(0, acked=last)
(3, [])
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from liuray.engine.session import DropChange, GraphRun
from liuray.engine.states import SessionState
from liuray.types import DropUid, NodeName, SessionId


@dataclass(frozen=True, slots=True)
class DropsChanged:
    """Drops of a session changed state on a node.

    Attributes:
        counts: the node's drops of the session per state name, after the changes.
        changes: ``(uid, status code, execStatus code or -1)`` of each changed drop.
        truncated: some changes were dropped (a consumer fell far behind); re-read the
            drop states if they matter.
    """

    node: NodeName
    session_id: SessionId
    counts: Mapping[str, int]
    changes: tuple[DropChange, ...]
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class NodeSessionEnded:
    """A session has no unfinished drop left on a node; ``failures`` are (uid, error)."""

    node: NodeName
    session_id: SessionId
    state: SessionState
    failures: tuple[tuple[DropUid, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ChangesPending:
    """Drops of a run changed; their states are read when the outbox is taken.

    Lives only inside one process (it holds the run): an outbox turns it into a
    :class:`DropsChanged` (:meth:`GraphRun.read_changes`) before anything leaves.
    """

    node: NodeName
    session_id: SessionId
    run: GraphRun


NodeEvent = DropsChanged | NodeSessionEnded
EventSink = Callable[[NodeEvent | ChangesPending], None]
_Key = tuple[NodeName, SessionId]
#: Wake locks an outbox makes for its readers up front (more only if more wait at once).
SPARE_WAKES = 4


class EventOutbox:
    """A node's events, kept until a reader acknowledges them (thread-safe; ``put``
    never blocks).

    A reader calls ``take(timeout, acked)`` with the sequence number of the last batch
    it received (0 at first); that acknowledges the earlier events, which are dropped,
    and returns ``(last, events)``: what came after, waiting up to ``timeout`` s for
    something. An island manager that stops (or a stale reader of a closed one) never
    acknowledges what it took, so the next reader, starting at 0, gets it again: nothing
    is lost to a restart. Events of one session are merged on the way out into one
    :class:`DropsChanged` with the latest counts. Unacknowledged events are compacted
    the same way once there are more than ``max_events``, and at most ``max_changes``
    changes are listed per session (beyond that the event is marked ``truncated``), so
    an outbox nobody reads costs bounded memory.

    A waiting reader sleeps on a lock made with the outbox, not on a ``Condition``,
    whose every wait allocates a lock (and ``wait_for`` its predicate): what a reader
    idle after a burst of sessions keeps alive would pin the heap's arenas
    (docs/reliability.md, "Load").
    """

    def __init__(self, max_events: int = 10_000, max_changes: int = 200_000) -> None:
        self.max_events = max_events
        self.max_changes = max_changes
        self._lock = threading.Lock()
        # Readers asleep, as wake locks (released to wake them), and the spare ones: two
        # stacks of fixed size, so waiting allocates nothing.
        self._sleepers: list[threading.Lock | None] = [None] * SPARE_WAKES
        self._sleeping = 0
        self._spares: list[threading.Lock | None] = [_held_lock() for _ in range(SPARE_WAKES)]
        self._spare_count = SPARE_WAKES
        self._events: list[tuple[int, NodeEvent | ChangesPending]] = []
        self._last = 0
        self._closed = False

    def put(self, event: NodeEvent | ChangesPending) -> None:
        """Add an event (the node manager's sink)."""
        with self._lock:
            wake = not self._events or isinstance(event, NodeSessionEnded)
            self._last += 1
            self._events.append((self._last, event))
            if len(self._events) > self.max_events:
                last = self._events[-1][0]
                self._events = [(last, e) for e in self._compacted(e for _, e in self._events)]
            if wake:  # a reader lingering for more progress is woken by an end only
                self._wake_all()

    def take(
        self, timeout: float | None, acked: int = 0, linger: float = 0.0
    ) -> tuple[int, list[NodeEvent]]:
        """Acknowledge events up to ``acked``; return ``(last, events after acked)``.

        Waits up to ``timeout`` s (None: until something comes or the outbox is closed)
        while there is nothing after ``acked``. With ``linger``, when only progress has
        come, waits that much longer for more (a session end cuts it short): progress
        then leaves in a few batches a second, and the producer's threads are not
        interrupted by a reader woken at every change. Progress comes before session
        ends, so an end is never followed by older counts.
        """
        # No ``with`` around a wait: the bound exit method would live as long as it.
        self._lock.acquire()
        try:
            self._acknowledge(acked)
            self._wait(False, timeout)
            if linger > 0 and self._events:
                self._wait(True, linger)
            if not self._events:
                return acked, []
            last = self._events[-1][0]
            pending = self._compacted(e for _, e in self._events)
        finally:
            self._lock.release()
        # Read the drops' states outside the outbox's lock: a run reports changes
        # while holding its own lock, then takes this one.
        read: dict[int, DropsChanged] = {}
        events = self._materialised(pending, read)
        with self._lock:
            # Reading empties the runs' journals: keep what was read in place of the
            # pending entries, so a reader that never acknowledges loses nothing.
            kept = self._events
            for index, (seq, event) in enumerate(kept):
                if id(event) in read:
                    kept[index] = (seq, read[id(event)])
        return last, events

    def _wait(self, for_end: bool, timeout: float | None) -> None:
        """Sleep until there are events (``for_end``: a session end), the outbox is
        closed or ``timeout`` s have passed (None: no limit); the lock is held on entry
        and on return."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._closed and not (self._has_end() if for_end else self._events):
            remaining: float = -1  # acquire's "no limit"
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
            wake = self._spare()
            if self._sleeping == len(self._sleepers):
                self._sleepers.append(None)  # more readers at once than ever before
            self._sleepers[self._sleeping] = wake
            self._sleeping += 1
            woken = False
            self._lock.release()
            try:
                woken = wake.acquire(True, remaining)
            finally:
                self._lock.acquire()
                if not woken and not self._unregister(wake):
                    wake.acquire()  # a waker released it just after the time ran out
                if self._spare_count < len(self._spares):
                    self._spares[self._spare_count] = wake
                    self._spare_count += 1

    def _spare(self) -> threading.Lock:
        """A held wake lock from the spares (a new one if none is left)."""
        if not self._spare_count:
            return _held_lock()
        self._spare_count -= 1
        wake = self._spares[self._spare_count]
        self._spares[self._spare_count] = None
        assert wake is not None  # the stack holds locks below _spare_count
        return wake

    def _unregister(self, wake: threading.Lock) -> bool:
        """Take ``wake`` off the sleepers; False if a waker already did (and released it)."""
        sleepers = self._sleepers
        for index in range(self._sleeping):
            if sleepers[index] is wake:
                self._sleeping -= 1
                sleepers[index] = sleepers[self._sleeping]
                sleepers[self._sleeping] = None
                return True
        return False

    def _wake_all(self) -> None:
        """Wake every sleeping reader (under the lock)."""
        sleepers = self._sleepers
        while self._sleeping:
            self._sleeping -= 1
            wake = sleepers[self._sleeping]
            sleepers[self._sleeping] = None
            wake.release()  # type: ignore[union-attr]

    def _acknowledge(self, acked: int) -> None:
        """Drop the events up to ``acked``, in place (under the lock).

        The list is emptied with ``clear`` and never replaced: a new list, or one
        shrunk by deletion, is memory allocated at the end of a burst of sessions that
        would outlive it in the heap's emptied arenas (docs/reliability.md, "Load").
        """
        kept = self._events
        done = 0
        while done < len(kept) and kept[done][0] <= acked:
            done += 1
        if done == len(kept):
            kept.clear()
        elif done:
            del kept[:done]

    def _has_end(self) -> bool:
        return any(isinstance(event, NodeSessionEnded) for _, event in self._events)

    def _compacted(
        self, events: Iterable[NodeEvent | ChangesPending]
    ) -> list[NodeEvent | ChangesPending]:
        """One pending and one DropsChanged at most per (node, session), then the ends."""
        pending: dict[_Key, ChangesPending] = {}
        reported: dict[_Key, DropsChanged] = {}
        changes: dict[_Key, list[DropChange]] = {}
        truncated: set[_Key] = set()
        ended: list[NodeEvent | ChangesPending] = []
        for event in events:
            key = (event.node, event.session_id)
            if isinstance(event, ChangesPending):
                pending.setdefault(key, event)  # the run is read once, whatever the count
            elif isinstance(event, DropsChanged):
                reported[key] = event
                kept = changes.setdefault(key, [])
                room = self.max_changes - len(kept)
                kept.extend(event.changes if room >= len(event.changes) else event.changes[:room])
                if event.truncated or room < len(event.changes):
                    truncated.add(key)
            else:
                ended.append(event)
        merged_reports: list[NodeEvent | ChangesPending] = [
            DropsChanged(*key, event.counts, tuple(changes[key]), key in truncated)
            for key, event in reported.items()
        ]
        return [*merged_reports, *pending.values(), *ended]

    def _materialised(
        self, events: list[NodeEvent | ChangesPending], read: dict[int, DropsChanged]
    ) -> list[NodeEvent]:
        """Pending changes read into DropsChanged (merged with a report of the same key).

        ``read`` receives each pending event's reading, by the event's ``id``.
        """
        out: list[NodeEvent] = []
        reported = {(e.node, e.session_id): e for e in events if isinstance(e, DropsChanged)}
        for event in events:
            if isinstance(event, ChangesPending):
                counts, changes, truncated = event.run.read_changes(self.max_changes)
                read[id(event)] = DropsChanged(
                    event.node, event.session_id, counts, tuple(changes), truncated
                )
                earlier = reported.pop((event.node, event.session_id), None)
                if earlier is not None:  # the fresher counts are the ones read now
                    changes = [*earlier.changes, *changes]
                    truncated = truncated or earlier.truncated
                out.append(
                    DropsChanged(event.node, event.session_id, counts, tuple(changes), truncated)
                )
            elif not isinstance(event, DropsChanged):
                out.append(event)
        # Reports without pending changes of their key keep their place, before the ends.
        return [*reported.values(), *out]

    def close(self) -> None:
        """Wake any waiting ``take`` (it returns what is left)."""
        with self._lock:
            self._closed = True
            self._wake_all()


def _held_lock() -> threading.Lock:
    """A lock, already acquired: a sleeper's wake lock."""
    lock = threading.Lock()
    lock.acquire()
    return lock
