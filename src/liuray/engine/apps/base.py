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
port name (:meth:`input_named`, :attr:`input_ports`; :meth:`input_links` gives every
(port, drop) pair, a drop read on several ports once per port). ``self.log(...)`` records lines
shown in the per-drop detail.

Nested sessions: an app that runs a whole inner graph (the SubGraph app) asks its
context for :attr:`AppContext.nested`, a :class:`NestedRunner` that the node manager
provides (the engine cannot translate a logical graph: that is a higher layer's job). A
bare engine session has none, and such an app then fails saying so.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from liuray.engine.drops.base import DataDrop
from liuray.engine.params import param
from liuray.graph.physical import PortNames, port_names
from liuray.types import DropSpec, DropUid

MAX_LOG_LINES = 1000
_EVENT_CREATION = threading.Lock()


@dataclass(frozen=True, slots=True)
class NestedGraph:
    """An inner logical graph to run as a nested session, with its data in and out.

    Attributes:
        app_uid: the app asking (names the nested session and its directory).
        graph: the inner logical graph, EAGLE JSON (``nodeDataArray``...).
        inputs: inner logical node id -> the outer drop whose content its drops get
            (they are the inner graph's roots, completed before it starts).
        outputs: (inner logical node id, outer drop) pairs: once the inner graph
            finished, the content of the node's single drop is copied to the outer drop.
    """

    app_uid: DropUid
    graph: Mapping[str, Any]
    inputs: Mapping[str, DataDrop]
    outputs: Sequence[tuple[str, DataDrop]]


@dataclass(frozen=True, slots=True)
class NestedOutcome:
    """How a nested session ended.

    Attributes:
        session_id: the nested session's id.
        state: its final state's name (``finished``, ``failed``, ``cancelled``).
        failures: (drop name, uid, error) of its drops in error, root causes first.
    """

    session_id: str
    state: str
    failures: tuple[tuple[str, DropUid, str], ...] = ()


class NestedRun(Protocol):
    """A nested session that has started; see :class:`NestedRunner`."""

    session_id: str

    def wait(self) -> NestedOutcome:
        """Block until the nested session ended (outputs copied if it finished), then
        forget it; returns how it ended."""
        ...

    def cancel(self) -> None:
        """Cancel the nested session (it then ends CANCELLED); safe to call twice."""
        ...


class NestedRunner(Protocol):
    """Runs inner graphs as nested sessions of the node manager running this session.

    Lifecycle: :meth:`start` translates the graph, deploys it as a new session, gives the
    mapped inner drops their content and triggers its roots; the returned
    :class:`NestedRun` is waited on, or cancelled.

    To implement, provide:
        1. ``start(request)``: raise ``GraphError`` when the inner graph cannot run (it
           cannot be translated, a mapped node is produced inside or has no single drop).
    """

    def start(self, request: NestedGraph) -> NestedRun:
        """Start ``request``'s graph as a nested session (see the class docstring)."""
        ...


class AppContext(Protocol):
    """What apps need from the session they belong to."""

    session_id: str

    #: The runner for nested sessions (None: a bare engine session, which has none).
    nested: NestedRunner | None

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
        return _named(self.inputs, self.input_ports, port)

    def output_named(self, port: str) -> DataDrop | None:
        """The output linked through port ``port``, if any."""
        return _named(self.outputs, self.output_ports, port)

    def input_links(self) -> list[tuple[str | None, DataDrop]]:
        """(port name or None, drop) of each input, in link order; a drop read on
        several ports comes once per port."""
        return port_links(self.inputs, self.input_ports)

    def output_links(self) -> list[tuple[str | None, DataDrop]]:
        """(port name or None, drop) of each output, as :meth:`input_links`."""
        return port_links(self.outputs, self.output_ports)

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


def port_links(
    drops: Iterable[DataDrop], ports: dict[DropUid, str]
) -> list[tuple[str | None, DataDrop]]:
    """(port name or None, drop) for ``drops`` linked through ``ports``: a drop named on
    several ports (:class:`~liuray.graph.physical.PortNames`) once per port."""
    if ports.__class__ is not PortNames:
        return [(ports.get(drop.uid), drop) for drop in drops]
    found: list[tuple[str | None, DataDrop]] = []
    for drop in drops:
        names = port_names(ports, drop.uid)
        found.extend([(name, drop) for name in names] if names else [(None, drop)])
    return found


def _named(drops: Iterable[DataDrop], ports: dict[DropUid, str], port: str) -> DataDrop | None:
    for drop in drops:
        if port in port_names(ports, drop.uid):
            return drop
    return None
