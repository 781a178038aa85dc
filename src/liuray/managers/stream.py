# SPDX-License-Identifier: LGPL-2.1-or-later
"""The island manager's event stream: what the web page and ``submit --wait`` follow.

The island manager publishes two kinds of facts about sessions: :class:`SessionProgressed`
(new counts per drop state, and which drops changed) and :class:`SessionFinished`. A
reader holds a :class:`Subscription` (one session, or all) and calls :meth:`next`, which
blocks until something happened. A slow reader never slows the island down nor makes it
hold more than a bounded amount: progress of one session is coalesced into one event
with the latest counts, and beyond ``max_changes`` pending drop changes the event says
``truncated`` (the reader then re-reads the drop states it needs).

>>> sub = Subscription("s1")
>>> sub.publish(SessionProgressed("s1", SessionState.RUNNING, {"running": 1}, 2, (("a", 0, 1),)))
>>> sub.publish(SessionProgressed("s2", SessionState.RUNNING, {}, 1, ()))
>>> sub.publish(SessionFinished("s1", SessionState.FINISHED))
>>> [type(event).__name__ for event in sub.next(0)]
['SessionProgressed', 'SessionFinished']
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from liuray.engine.session import DropChange
from liuray.engine.states import SessionState
from liuray.types import SessionId


@dataclass(frozen=True, slots=True)
class SessionProgressed:
    """A session's drops changed state.

    Attributes:
        counts: drops per state name, over every node.
        total: number of drops in the session.
        changes: ``(uid, status code, execStatus code or -1)`` of the changed drops.
        truncated: changes were left out; re-read ``graph/status`` if they matter.
    """

    session_id: SessionId
    state: SessionState
    counts: Mapping[str, int]
    total: int
    changes: tuple[DropChange, ...] = ()
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class SessionFinished:
    """A session reached a final state (FINISHED, FAILED or CANCELLED)."""

    session_id: SessionId
    state: SessionState
    error: str | None = None


IslandEvent = SessionProgressed | SessionFinished


class Subscription:
    """One reader's view of the stream (see the module docstring); thread-safe.

    Args:
        session_id: the session to follow (None: every session).
        max_changes: drop changes kept per session between two reads.
    """

    def __init__(
        self,
        session_id: SessionId | None = None,
        max_changes: int = 50_000,
        on_ready: Callable[[], None] | None = None,
    ) -> None:
        self.session_id = session_id
        self.max_changes = max_changes
        #: Called (outside the lock, from the publishing thread) after each publish, so
        #: an asyncio reader can be woken with ``loop.call_soon_threadsafe``.
        self.on_ready = on_ready
        self._ready = threading.Condition()
        self._progress: dict[SessionId, SessionProgressed] = {}
        self._finished: list[SessionFinished] = []
        self.closed = False

    def wants(self, session_id: SessionId) -> bool:
        """Whether events of ``session_id`` go to this reader."""
        return self.session_id is None or self.session_id == session_id

    def publish(self, event: IslandEvent) -> None:
        """Add an event, merged with what the reader has not taken yet; never blocks.

        Events of sessions the reader does not follow are ignored.
        """
        if not self.wants(event.session_id):
            return
        with self._ready:
            if isinstance(event, SessionProgressed):
                earlier = self._progress.get(event.session_id)
                if earlier is not None:
                    room = self.max_changes - len(earlier.changes)
                    event = replace(
                        event,
                        changes=earlier.changes + event.changes[:room],
                        truncated=earlier.truncated or event.truncated or room < len(event.changes),
                    )
                self._progress[event.session_id] = event
            else:
                self._finished.append(event)
            self._ready.notify_all()
        if self.on_ready is not None:
            self.on_ready()

    def next(self, timeout: float | None = None) -> list[IslandEvent]:
        """What happened since the last call, waiting up to ``timeout`` s for something.

        Returns an empty list on timeout or once closed.
        """
        with self._ready:
            self._ready.wait_for(
                lambda: bool(self._progress or self._finished or self.closed), timeout=timeout
            )
            events: list[IslandEvent] = [*self._progress.values(), *self._finished]
            self._progress, self._finished = {}, []
            return events

    def close(self) -> None:
        """Stop the reader: a waiting :meth:`next` returns."""
        with self._ready:
            self.closed = True
            self._ready.notify_all()
        if self.on_ready is not None:
            self.on_ready()
