# SPDX-License-Identifier: LGPL-2.1-or-later
"""Events pushed by node managers to the island manager, and the outbox that holds them.

A node manager reports what happens on its node as facts (past-tense frozen
dataclasses): :class:`DropsChanged` after every batch of state changes of a session's
drops (with the node's counts per state, so the island never counts drops itself) and
:class:`NodeSessionEnded` once the session has no unfinished drop on the node. They are
plain data, so they cross processes (Ray pickles them) unchanged.

Delivery is the transport's business: in-process the node manager's sink puts them on
the island manager's queue directly; on Ray the sink is an :class:`EventOutbox` in the
node-manager actor, which the island manager drains by long-polling ``take`` (a call that
returns as soon as something happened, so there is no busy polling and no extra port).

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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from liuray.engine.session import DropChange
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


NodeEvent = DropsChanged | NodeSessionEnded
EventSink = Callable[[NodeEvent], None]


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
    changes are kept per session (beyond that the event is marked ``truncated``), so
    an outbox nobody reads costs bounded memory.
    """

    def __init__(self, max_events: int = 10_000, max_changes: int = 200_000) -> None:
        self.max_events = max_events
        self.max_changes = max_changes
        self._ready = threading.Condition()
        self._events: list[tuple[int, NodeEvent]] = []
        self._last = 0
        self._closed = False

    def put(self, event: NodeEvent) -> None:
        """Add an event (the node manager's sink)."""
        with self._ready:
            self._last += 1
            self._events.append((self._last, event))
            if len(self._events) > self.max_events:
                last = self._events[-1][0]
                self._events = [(last, e) for e in self._merged(e for _, e in self._events)]
            self._ready.notify_all()

    def take(self, timeout: float, acked: int = 0) -> tuple[int, list[NodeEvent]]:
        """Acknowledge events up to ``acked``; return ``(last, events after acked)``.

        Waits up to ``timeout`` s while there is nothing after ``acked``. Progress comes
        before session ends, so an end is never followed by older counts.
        """
        with self._ready:
            self._events = [(seq, e) for seq, e in self._events if seq > acked]
            self._ready.wait_for(lambda: bool(self._events or self._closed), timeout=timeout)
            if not self._events:
                return acked, []
            return self._events[-1][0], self._merged(e for _, e in self._events)

    def _merged(self, events: Iterable[NodeEvent]) -> list[NodeEvent]:
        changed: dict[tuple[NodeName, SessionId], DropsChanged] = {}
        ended: list[NodeEvent] = []
        for event in events:
            if not isinstance(event, DropsChanged):
                ended.append(event)
                continue
            key = (event.node, event.session_id)
            earlier = changed.get(key)
            if earlier is not None:
                room = self.max_changes - len(earlier.changes)
                event = DropsChanged(
                    event.node,
                    event.session_id,
                    event.counts,
                    earlier.changes + event.changes[:room],
                    earlier.truncated or event.truncated or room < len(event.changes),
                )
            changed[key] = event
        return [*changed.values(), *ended]

    def close(self) -> None:
        """Wake any waiting ``take`` (it returns what is left)."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
