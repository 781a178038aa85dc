# SPDX-License-Identifier: LGPL-2.1-or-later
"""Events (facts fed to the session machine) and instructions (what it asks for).

Events are past-tense facts reported by executors, clients and transports; instructions
are imperatives the machine returns for its caller to carry out. Both are small frozen
slotted dataclasses: cheap to build on the hot path and safe to pass between threads,
processes and Ray actors.
"""

from __future__ import annotations

from dataclasses import dataclass

from liuray.engine.states import DropState, SessionState
from liuray.types import DropUid

# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class DropsTriggered:
    """Root drops were started: data drops become COMPLETED, apps are run."""

    uids: tuple[DropUid, ...]


@dataclass(frozen=True, slots=True)
class AppFinished:
    """An app ran successfully; ``skip_outputs`` lists branch outputs not taken."""

    uid: DropUid
    skip_outputs: tuple[DropUid, ...] = ()
    #: Which attempt finished (0: the current one); an older attempt's outcome, e.g.
    #: one that ended after its timeout was declared, is ignored.
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class AppFailed:
    """An app attempt raised, exited non-zero or timed out; retried while tries remain."""

    uid: DropUid
    reason: str
    #: Which attempt failed (0: the current one); see :class:`AppFinished`.
    attempt: int = 0


@dataclass(frozen=True, slots=True)
class DataWritten:
    """A data drop received its first bytes (INITIALIZED -> WRITING)."""

    uid: DropUid


@dataclass(frozen=True, slots=True)
class ProducerSettled:
    """A producer outside this machine (another node) settled a data drop of ours.

    ``state`` is the remote side's final state of the drop: COMPLETED, ERROR or SKIPPED.
    """

    uid: DropUid
    state: DropState
    reason: str = ""


@dataclass(frozen=True, slots=True)
class DropsLost:
    """The listed drops can never finish (their node died); they become ERROR."""

    uids: tuple[DropUid, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class SessionCancelled:
    """The user cancelled the session: every unfinished drop becomes CANCELLED."""


Event = (
    DropsTriggered
    | AppFinished
    | AppFailed
    | DataWritten
    | ProducerSettled
    | DropsLost
    | SessionCancelled
)

# --------------------------------------------------------------------------- instructions


@dataclass(frozen=True, slots=True)
class RunApp:
    """Run (or, for ``attempt`` > 1, retry) the app."""

    uid: DropUid
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class CancelApp:
    """Stop the running app (bash apps: kill the process group)."""

    uid: DropUid


@dataclass(frozen=True, slots=True)
class ReleaseData:
    """Every consumer of this data drop finished: free its payload (now EXPIRED)."""

    uid: DropUid


@dataclass(frozen=True, slots=True)
class DataCompleted:
    """A data drop that asked to be told (see the machine's ``on_complete``) completed."""

    uid: DropUid


@dataclass(frozen=True, slots=True)
class PublishState:
    """A watched drop (one with consumers on other nodes) settled: tell them."""

    uid: DropUid
    state: DropState
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SessionEnded:
    """No drop is left unfinished: the session ended in ``state``."""

    state: SessionState


Instruction = RunApp | CancelApp | ReleaseData | DataCompleted | PublishState | SessionEnded
