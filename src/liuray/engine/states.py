# SPDX-License-Identifier: LGPL-2.1-or-later
"""Drop, application and session states, and the one table of legal transitions.

States are ``StrEnum`` members so that logs read ``completed``, not ``2``. DALiuGE's
integer codes are used only on the wire (REST bodies, status maps): ``state.code`` and
``DropState.from_code(2)`` convert. The member order of each enum *is* DALiuGE's
numbering (``ddap_protocol.DROPStates``, ``AppDROPStates``, ``SessionStates``).

A state change goes through :func:`check` (or its callers in the machine), which raises
:class:`~liuray.errors.InvalidTransition` naming the legal targets.

>>> DropState.COMPLETED.code
2
>>> DropState.from_code(7)
<DropState.SKIPPED: 'skipped'>
>>> DropState.COMPLETED in DROP_TRANSITIONS[DropState.WRITING]
True
"""

from __future__ import annotations

import enum
from typing import Self, TypeVar

from liuray.errors import InvalidTransition


class _Coded(enum.StrEnum):
    """A StrEnum whose wire code is its position in the declaration."""

    @property
    def code(self) -> int:
        """DALiuGE's integer for this state."""
        return _CODES[type(self), self.name]

    @classmethod
    def from_code(cls, code: int) -> Self:
        """The member for DALiuGE's integer ``code``."""
        members = list(cls)
        if not 0 <= code < len(members):
            raise ValueError(
                f"{cls.__name__}: no state has code {code}; valid 0..{len(members) - 1}"
            )
        return members[code]


class DropState(_Coded):
    """State of any drop (DALiuGE ``DROPStates``; apps have one too)."""

    INITIALIZED = "initialized"
    WRITING = "writing"
    COMPLETED = "completed"
    ERROR = "error"
    EXPIRED = "expired"
    DELETED = "deleted"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


class AppState(_Coded):
    """Execution state of an application drop (DALiuGE ``AppDROPStates``/``execStatus``)."""

    NOT_RUN = "not_run"
    RUNNING = "running"
    FINISHED = "finished"
    ERROR = "error"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


class SessionState(_Coded):
    """State of a session (DALiuGE ``SessionStates``)."""

    PRISTINE = "pristine"
    BUILDING = "building"
    DEPLOYING = "deploying"
    RUNNING = "running"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    FAILED = "failed"


# Keyed by (enum, name), not by member: StrEnum members hash and compare as their string
# values, so DropState.CANCELLED and AppState.CANCELLED would share (and clobber) one key.
_CODES: dict[tuple[type[_Coded], str], int] = {
    (cls, member.name): index
    for cls in (DropState, AppState, SessionState)
    for index, member in enumerate(cls)
}

_D = DropState
DROP_TRANSITIONS: dict[DropState, frozenset[DropState]] = {
    _D.INITIALIZED: frozenset({_D.WRITING, _D.COMPLETED, _D.ERROR, _D.CANCELLED, _D.SKIPPED}),
    _D.WRITING: frozenset({_D.COMPLETED, _D.ERROR, _D.CANCELLED}),
    _D.COMPLETED: frozenset({_D.EXPIRED, _D.DELETED}),
    _D.EXPIRED: frozenset({_D.DELETED}),
    _D.ERROR: frozenset(),
    _D.DELETED: frozenset(),
    _D.CANCELLED: frozenset(),
    _D.SKIPPED: frozenset(),
}

_A = AppState
APP_TRANSITIONS: dict[AppState, frozenset[AppState]] = {
    _A.NOT_RUN: frozenset({_A.RUNNING, _A.ERROR, _A.CANCELLED, _A.SKIPPED}),
    # RUNNING -> RUNNING is a retry (n_tries); the attempt counter tells them apart.
    _A.RUNNING: frozenset({_A.RUNNING, _A.FINISHED, _A.ERROR, _A.CANCELLED}),
    _A.FINISHED: frozenset(),
    _A.ERROR: frozenset(),
    _A.CANCELLED: frozenset(),
    _A.SKIPPED: frozenset(),
}

_S = SessionState
SESSION_TRANSITIONS: dict[SessionState, frozenset[SessionState]] = {
    _S.PRISTINE: frozenset({_S.BUILDING, _S.DEPLOYING, _S.CANCELLED}),
    _S.BUILDING: frozenset({_S.BUILDING, _S.DEPLOYING, _S.CANCELLED}),
    _S.DEPLOYING: frozenset({_S.RUNNING, _S.FAILED, _S.CANCELLED}),
    _S.RUNNING: frozenset({_S.FINISHED, _S.FAILED, _S.CANCELLED}),
    _S.FINISHED: frozenset(),
    _S.CANCELLED: frozenset(),
    _S.FAILED: frozenset(),
}

DROP_TERMINAL: frozenset[DropState] = frozenset(
    {_D.COMPLETED, _D.ERROR, _D.EXPIRED, _D.DELETED, _D.CANCELLED, _D.SKIPPED}
)
"""Data-drop states after which the drop never changes its outcome."""

APP_TERMINAL: frozenset[AppState] = frozenset({_A.FINISHED, _A.ERROR, _A.CANCELLED, _A.SKIPPED})
SESSION_TERMINAL: frozenset[SessionState] = frozenset({_S.FINISHED, _S.CANCELLED, _S.FAILED})

_State = TypeVar("_State", bound=enum.Enum)


def check(what: str, start: _State, end: _State, table: dict[_State, frozenset[_State]]) -> _State:
    """Return ``end`` if ``start -> end`` is legal in ``table``, else raise.

    Every state machine of liuray (drops, apps, sessions, node membership) changes state
    through this one function and its own table.

    Args:
        what: the object changing state, for the message (``"Drop 'a'"``).
        start: its current state.
        end: the requested state.
        table: one of the ``*_TRANSITIONS`` tables.

    Raises:
        InvalidTransition: naming the legal targets from ``start``.
    """
    if end not in table[start]:
        allowed = sorted(str(s) for s in table[start]) or ["none (final state)"]
        raise InvalidTransition(
            f"{what}: cannot go {start} -> {end}; allowed from {start}: {allowed}",
            start=str(start),
            end=str(end),
        )
    return end
