# SPDX-License-Identifier: LGPL-2.1-or-later
"""The application-drop interface.

An app reads its input drops and writes its output drops; *when* it runs is decided by
the session machine, *where* by the executor. An app object is created once per drop at
deploy time, so construction must be cheap: read parameters lazily in :meth:`run`.

To implement an app provide:
    1. ``run()``: do the work; write results to ``self.outputs``; raise on failure
       (the message becomes the drop's error). Return the uids of outputs *not* taken
       (branches), or ``None``.
    2. optionally ``cancel()``: stop promptly (bash apps kill their process group);
    3. optionally ``data_written(uid, chunk)``: receive streaming input as it is written.

Inputs and outputs are available in link order (``self.inputs``/``self.outputs``) and by
port name (:meth:`input_named`, :attr:`input_ports`). ``self.log(...)`` records lines
shown in the per-drop detail.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, ClassVar, Protocol

from liuray.engine.drops.base import DataDrop
from liuray.engine.params import param
from liuray.types import DropSpec, DropUid

MAX_LOG_LINES = 1000
_EVENT_CREATION = threading.Lock()


class AppContext(Protocol):
    """What apps need from the session they belong to."""

    session_id: str

    @property
    def session_dir(self) -> Path:
        """The session's own directory (created on first use)."""
        ...

    @property
    def process_pool(self) -> Executor | None:
        """A process pool for CPU-bound Python apps, if the session was given one."""
        ...


class AppDrop:
    """Base of all application drops; see the module docstring for the contract."""

    __slots__ = (
        "cancelled",
        "context",
        "finished_at",
        "input_ports",
        "inputs",
        "logs",
        "output_ports",
        "outputs",
        "spec",
        "started_at",
        "streaming_inputs",
        "uid",
    )

    def __init__(self, uid: DropUid, spec: DropSpec, context: AppContext) -> None:
        self.uid = uid
        self.spec = spec
        self.context = context
        self.inputs: list[DataDrop] = []
        self.streaming_inputs: Sequence[DataDrop] = ()
        self.outputs: list[DataDrop] = []
        self.input_ports: dict[DropUid, str] = {}
        self.output_ports: dict[DropUid, str] = {}
        self.logs: list[str] | None = None
        self.started_at = 0.0
        self.finished_at = 0.0
        self.cancelled: threading.Event | None = None

    #: Optional Python modules the app imports when it runs (checked before deploy).
    requires: ClassVar[tuple[str, ...]] = ()

    # ------------------------------------------------------------------ contract

    @classmethod
    def check_spec(cls, spec: DropSpec) -> None:
        """Refuse, before anything is deployed, a spec this app could never run.

        Called by the island manager when a graph is appended (built-in classes only), so
        a graph that cannot run is rejected whole. Override to check required parameters
        (a bash command, a function name) or optional packages; the default accepts all.

        Raises:
            ValueError: saying what is wrong and what would be valid.
        """

    def run(self) -> Iterable[DropUid] | None:
        """Do the work (see the module docstring)."""
        raise NotImplementedError

    def cancel(self) -> None:
        """Ask a running app to stop."""
        self.cancel_event().set()

    def cancel_event(self) -> threading.Event:
        """The app's cancel flag, created on first use (most apps never need one).

        Creation is serialised by one module-wide lock, so ``cancel`` and ``sleep``
        racing on a fresh app still share one event.
        """
        event = self.cancelled
        if event is None:
            with _EVENT_CREATION:
                if self.cancelled is None:
                    self.cancelled = threading.Event()
                event = self.cancelled
        return event

    def data_written(self, uid: DropUid, chunk: bytes) -> None:
        """Streaming input arrived (default: ignore; the full data is read in ``run``)."""

    # ------------------------------------------------------------------ helpers

    def param(self, name: str, default: Any = None) -> Any:
        """A parameter of this drop's spec (top level, then EAGLE fields)."""
        return param(self.spec, name, default)

    def input_named(self, port: str) -> DataDrop | None:
        """The input linked through port ``port``, if any."""
        for drop in self.inputs:
            if self.input_ports.get(drop.uid) == port:
                return drop
        return None

    def output_named(self, port: str) -> DataDrop | None:
        """The output linked through port ``port``, if any."""
        for drop in self.outputs:
            if self.output_ports.get(drop.uid) == port:
                return drop
        return None

    def write_all(self, value: Any) -> None:
        """Store ``value`` in every output."""
        for out in self.outputs:
            out.set_value(value)

    def log(self, line: str) -> None:
        """Record a line for the per-drop detail (the newest MAX_LOG_LINES are kept)."""
        if self.logs is None:
            self.logs = []
        self.logs.append(line)
        if len(self.logs) > MAX_LOG_LINES:
            del self.logs[: len(self.logs) - MAX_LOG_LINES]

    def sleep(self, seconds: float) -> None:
        """Sleep, waking early if the app is cancelled."""
        self.cancel_event().wait(seconds)
