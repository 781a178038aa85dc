# SPDX-License-Identifier: LGPL-2.1-or-later
"""Running graphs in this process: the worker pool and :func:`run_graph`.

Policy (as ``dask.local``):
    Apps run on a bounded pool of threads shared by every session of the process. Ready
    apps wait in one deque; workers take the *newest* first, and a worker that just made
    an app ready runs it itself without waking anyone, so a chain of apps runs hop after
    hop on one thread with no hand-off (a few microseconds per hop). Other workers are
    woken only when more work is ready than the current one can take. The threads
    start together at the first submit, so an unused pool costs nothing. CPU-bound
    Python functions can be sent to a process pool (``processes=N``); the worker thread
    waits for the result.

    From a long queue a worker takes a fair share at once (at most ``BATCH``, or
    ``QUICK_BATCH`` while its last batch's apps were all quick) and applies the quick
    apps' outcomes together, so the session's lock changes hands once per batch, not
    once per app; an app running longer than ``QUICK_APP_S`` has everything held
    applied at once, so downstream work is not kept waiting.

There are no per-drop threads, loggers or locks: one lock per session (in
:class:`~liuray.engine.session.GraphRun`) and one for the pool's deque.

>>> result = run_graph([
...     {"oid": "hello", "categoryType": "Application",
...      "dropclass": "dlg.apps.simple.HelloWorldApp", "outputs": ["greeting"]},
...     {"oid": "greeting", "categoryType": "Data",
...      "dropclass": "dlg.data.drops.memory.InMemoryDROP"},
... ], session_dir=__import__("tempfile").mkdtemp())
>>> result.state, result.value("greeting")
(<SessionState.FINISHED: 'finished'>, b'Hello World')
"""

from __future__ import annotations

import gc
import logging
import os
import secrets
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from liuray import _gc
from liuray.engine import capture
from liuray.engine.apps.base import NestedRunner
from liuray.engine.events import Event
from liuray.engine.machine import is_consequence
from liuray.engine.process_pool import ProcessPool
from liuray.engine.session import GraphRun
from liuray.engine.states import SessionState
from liuray.graph.physical import PhysicalGraph, load_physical_graph, read_physical_graph
from liuray.types import DropUid

ProgressCallback = Callable[[dict[str, int], int], None]

#: Most app attempts one worker takes from the queue at once...
BATCH = 16
#: ...and while the apps it ran last were all quick (each under QUICK_APP_S): fewer,
#: larger hand-overs of the session's lock between workers (half a million quick apps
#: on two workers took 2 s more with 16, the lock changing threads every batch).
QUICK_BATCH = 256
#: An app running longer than this (seconds) has its outcome applied at once.
QUICK_APP_S = 0.0005
_log = logging.getLogger(__name__)


class WorkerPool:
    """A bounded pool of worker threads running app drops, started at the first submit.

    All ``workers`` threads start together when the first app is submitted (an unused
    pool costs nothing), not one by one as a burst grows: a thread started mid-burst
    has its stack and state allocated among the burst's objects and would keep that
    memory's arenas after the burst (docs/reliability.md, "Load"). An idle thread
    sleeps on a lock of its own, made once, held on a stack of fixed size: going to
    sleep and waking allocate nothing, unlike ``Condition.wait``'s waiter lock.

    Args:
        workers: number of threads (default: the number of CPUs).
    """

    def __init__(self, workers: int | None = None, name: str = "liuray-worker") -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.name = name
        self._tasks: deque[tuple[GraphRun, DropUid, int]] = deque()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._thread_ids: frozenset[int] = frozenset()
        # The idle threads' wake locks, a stack of fixed size (never reallocated).
        self._sleepers: list[threading.Lock | None] = [None] * self.workers
        self._idle = 0
        self._closed = False

    def submit(self, run: GraphRun, uid: DropUid, attempt: int) -> None:
        """Queue one app attempt."""
        self.submit_many(run, [(uid, attempt)])

    def submit_many(self, run: GraphRun, attempts: list[tuple[DropUid, int]]) -> None:
        """Queue app attempts of one session under a single lock acquisition."""
        self.submit_tasks([(run, uid, attempt) for uid, attempt in attempts])

    def submit_tasks(self, submitted: list[tuple[GraphRun, DropUid, int]]) -> None:
        """Queue ``(session, uid, attempt)`` app attempts under a single lock acquisition."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker pool is shut down")
            tasks = self._tasks
            tasks.extend(submitted)
            if not self._threads:
                self._start()  # the new threads take the tasks as they come up
                return
            waiting = len(tasks)
            if threading.get_ident() in self._thread_ids:
                # A worker submitting follow-ups takes one itself next: only wake other
                # threads for the rest.
                waiting -= 1
            self._wake(min(waiting, self._idle))

    def _wake(self, count: int) -> None:
        """Wake ``count`` idle threads (under the lock)."""
        sleepers = self._sleepers
        for _ in range(count):
            self._idle -= 1
            wake = sleepers[self._idle]
            sleepers[self._idle] = None
            wake.release()  # type: ignore[union-attr]

    def _start(self) -> None:
        """Start every thread (under the lock, so none takes work before all are known)."""
        capture.install()
        self._threads = [
            threading.Thread(target=self._work, name=f"{self.name}-{index}", daemon=True)
            for index in range(self.workers)
        ]
        for thread in self._threads:
            thread.start()
        self._thread_ids = frozenset(t.ident for t in self._threads if t.ident is not None)

    def _work(self) -> None:
        # This thread's slot for the app it runs, made now rather than at its first
        # app, which may come in the middle of a burst.
        capture.current.app = None
        tasks = self._tasks
        lock = self._lock
        sleepers = self._sleepers
        wake = threading.Lock()
        wake.acquire()
        most = BATCH
        while True:
            # Plain acquire/release, no ``with``: a thread asleep inside a ``with`` block
            # would keep the bound exit method it allocated for as long as it sleeps.
            lock.acquire()
            while not tasks:
                if self._closed:
                    lock.release()
                    return
                sleepers[self._idle] = wake
                self._idle += 1
                lock.release()
                wake.acquire()  # released by whoever took it off the stack
                lock.acquire()
            # Take a fair share of a long queue at once (at most BATCH), so quick
            # apps cost one lock round-trip per batch instead of one each.
            share = min(most, len(tasks) // self.workers)
            if share <= 1:  # the common case on chains: no batching overhead
                run, uid, attempt = tasks.pop()
                batch = None
            else:
                batch = [tasks.pop() for _ in range(share)]
            lock.release()
            if batch is None:
                try:
                    run.execute(uid, attempt)
                except Exception:
                    _log.exception("worker failed running %r of session %r", uid, run.session_id)
            else:
                most = QUICK_BATCH if self._run_batch(batch) else BATCH
            # An idle worker must not keep its last session alive (it may be destroyed),
            # nor its last drop id (a string made during a burst, pinning its arena).
            run = uid = batch = None  # type: ignore[assignment]

    def _run_batch(self, batch: list[tuple[GraphRun, DropUid, int]]) -> bool:
        """Run a batch; True if every app in it was quick."""
        # Outcomes of quick apps are held back and applied together per session; as soon
        # as one app runs long, everything held is applied so downstream work can start.
        held: dict[GraphRun, list[Event]] = {}
        quick = True
        for run, uid, attempt in batch:
            started = time.perf_counter()
            try:
                event = run.run_app(uid, attempt)
                if event is not None:
                    held.setdefault(run, []).append(event)
                if time.perf_counter() - started > QUICK_APP_S:
                    quick = False
                    self._flush(held)
            except Exception:
                # App errors are reported by run_app itself; this is a bug in the engine.
                # Log it and keep the worker: a dead thread would still count towards
                # ``workers`` and could leave queued apps with no thread.
                _log.exception("worker failed running %r of session %r", uid, run.session_id)
        self._flush(held)
        return quick

    @staticmethod
    def _flush(held: dict[GraphRun, list[Event]]) -> None:
        for run, events in held.items():
            try:
                run.apply(*events)
            except Exception:
                # A bug in a callback (on_end, on_publish): log it, keep the worker.
                _log.exception("worker failed reporting to session %r", run.session_id)
        held.clear()

    def shutdown(self, wait: bool = True) -> None:
        """Stop the threads once the queued work is done."""
        with self._lock:
            self._closed = True
            self._wake(self._idle)
        if wait:
            current = threading.current_thread()
            for thread in self._threads:
                if thread is not current:
                    thread.join()


@dataclass
class RunResult:
    """The outcome of :func:`run_graph`; ``failures`` lists root causes first (drops that
    failed on their own), then the drops in error because of them."""

    session_id: str
    session_dir: Path
    state: SessionState
    seconds: float
    counts: dict[str, int]
    failures: list[tuple[DropUid, str]]
    run: GraphRun = field(repr=False)

    @property
    def root_causes(self) -> list[tuple[DropUid, str]]:
        """The failures that caused the others (drops that failed on their own)."""
        return [f for f in self.failures if not is_consequence(f[1])]

    @property
    def ok(self) -> bool:
        """True if the session FINISHED (no drop in error)."""
        return self.state is SessionState.FINISHED

    def value(self, uid: DropUid) -> Any:
        """The content of a data drop as a Python value."""
        return self.run.drops[uid].get()  # type: ignore[union-attr]

    def read(self, uid: DropUid) -> bytes:
        """The content of a data drop as bytes."""
        return self.run.drops[uid].read_bytes()  # type: ignore[union-attr]


def default_root() -> Path:
    """Where sessions live unless told otherwise: ``$LIURAY_HOME`` or ``~/.liuray``."""
    return Path(os.environ.get("LIURAY_HOME") or Path.home() / ".liuray")


def new_session_id(prefix: str = "session") -> str:
    """A readable, unique session id such as ``pipeline-20261125T204012-3fa2``."""
    return f"{prefix}-{datetime.now():%Y%m%dT%H%M%S}-{secrets.token_hex(2)}"


def as_physical_graph(graph: PhysicalGraph | list[Any] | str | Path) -> PhysicalGraph:
    """Accept a loaded graph, a parsed JSON list or a path to a JSON file."""
    if isinstance(graph, PhysicalGraph):
        return graph
    if isinstance(graph, str | Path):
        return read_physical_graph(graph)
    return load_physical_graph(graph)


#: Makes the nested-session runner of a run, given its session id and directory.
NestedRunnerFactory = Callable[[str, Path], NestedRunner]


def run_graph(
    graph: PhysicalGraph | list[Any] | str | Path,
    *,
    workers: int | None = None,
    processes: int = 0,
    session_id: str | None = None,
    session_dir: str | Path | None = None,
    roots: list[DropUid] | None = None,
    progress: ProgressCallback | None = None,
    progress_interval: float = 0.1,
    timeout: float | None = None,
    stop: threading.Event | None = None,
    code_path: str | Path | Sequence[str | Path] | None = None,
    app_timeout: float | None = None,
    nested: NestedRunnerFactory | None = None,
) -> RunResult:
    """Run a physical graph in this process and wait for it to end.

    Args:
        graph: a :class:`PhysicalGraph`, a parsed DALiuGE physical graph or a JSON path.
        workers: worker threads (default: number of CPUs).
        processes: if > 0, run Python function apps in a pool of that many processes.
        session_id: the session's id (default: generated).
        session_dir: directory for the session's files (default: ``<root>/sessions/<id>``).
        roots: drops to trigger (default: every drop without inputs or producers).
        progress: called every ``progress_interval`` seconds with (counts, total drops).
        timeout: give up (cancel the session) after this many seconds.
        stop: when set (e.g. by a signal handler), cancel the session: running apps are
            stopped (bash apps with their whole process group) and the result, CANCELLED,
            is returned once every drop has settled.
        code_path: directories holding the pipeline's own code (DALiuGE's ``--dlg-path``):
            put first on ``sys.path`` for the run, so ``func_name`` finds it.
        app_timeout: seconds an app attempt may run unless its spec sets ``timeout``;
            then it fails with ``TimeoutError`` (retried while ``n_tries`` allows).
        nested: makes the runner of SubGraph apps' nested sessions, given the session's
            id and directory (``liuray.run`` passes one; without it a SubGraph app fails
            saying so). A runner with a ``close()`` method is closed at the end.

    Raises:
        GraphError: the graph is malformed (nothing has run).
        NotADirectoryError: a ``code_path`` entry is not a directory.
    """
    physical = as_physical_graph(graph)
    with code_on_path(_directories(code_path)):
        return _run(
            physical, workers, processes, session_id, session_dir, roots,
            progress, progress_interval, timeout, stop, app_timeout, nested,
        )  # fmt: skip


def _directories(code_path: str | Path | Sequence[str | Path] | None) -> list[Path]:
    if code_path is None:
        return []
    entries = [code_path] if isinstance(code_path, str | Path) else list(code_path)
    directories = [Path(entry).expanduser() for entry in entries]
    for directory in directories:
        if not directory.is_dir():
            raise NotADirectoryError(f"code_path {str(directory)!r} is not a directory")
    return directories


@contextmanager
def code_on_path(directories: Sequence[Path]) -> Iterator[None]:
    """Put ``directories`` first on ``sys.path`` for the run, then take them out again.

    Process-pool workers see them too: they are started (forked or spawned with the
    parent's ``sys.path``) while the run is under way.
    """
    added: list[str] = []
    for directory in directories:
        entry = str(directory.resolve())
        if entry not in sys.path and entry not in added:
            added.append(entry)
    sys.path[:0] = added
    try:
        yield
    finally:
        for entry in added:
            if entry in sys.path:
                sys.path.remove(entry)


def _run(
    physical: PhysicalGraph,
    workers: int | None,
    processes: int,
    session_id: str | None,
    session_dir: str | Path | None,
    roots: list[DropUid] | None,
    progress: ProgressCallback | None,
    progress_interval: float,
    timeout: float | None,
    stop: threading.Event | None,
    app_timeout: float | None,
    nested: NestedRunnerFactory | None,
) -> RunResult:
    session_id = session_id or new_session_id()
    directory = Path(session_dir) if session_dir else default_root() / "sessions" / session_id
    runner = nested(session_id, directory) if nested is not None else None
    pool = WorkerPool(workers)
    process_pool = ProcessPool(processes) if processes > 0 else None
    run: GraphRun | None = None
    try:
        # The graph and the session are built and live until the end, and triggering
        # the roots makes an instruction and a queue entry per root: the cyclic
        # collector is off meanwhile and all of it is frozen at the end (else its passes
        # scan them: on a million drops each took a second or more); objects made while
        # the graph runs are still collected, and the freeze is undone at its end.
        try:
            with _gc.paused(freeze=True):
                run = GraphRun(
                    physical,
                    session_id=session_id,
                    session_dir=directory,
                    pool=pool,
                    process_pool=process_pool,
                    app_timeout=app_timeout,
                    nested=runner,
                )
                started = time.perf_counter()
                run.start(roots)
            _wait(run, progress, progress_interval, timeout, stop)
        except BaseException:  # Ctrl-C: stop running apps (bash children included)
            if run is not None:
                run.cancel()
            raise
        finally:
            gc.unfreeze()
        seconds = time.perf_counter() - started
    finally:
        pool.shutdown(wait=False)
        if process_pool is not None:
            process_pool.shutdown(wait=False, cancel_futures=True)
        close = getattr(runner, "close", None)
        if callable(close):
            close()
    total = len(run.machine.nodes)
    counts = run.counts()
    if progress is not None:
        progress(counts, total)
    return RunResult(session_id, directory, run.state, seconds, counts, run.failures(), run)


def _wait(
    run: GraphRun,
    progress: ProgressCallback | None,
    interval: float,
    timeout: float | None,
    stop: threading.Event | None = None,
) -> None:
    deadline = None if timeout is None else time.monotonic() + timeout
    total = len(run.machine.nodes)
    while True:
        if stop is not None and stop.is_set():
            run.cancel()
            run.wait()
            return
        step = interval if progress is not None else None
        if stop is not None:  # look at the stop flag a few times a second
            step = 0.1 if step is None else min(step, 0.1)
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                run.cancel()
                run.wait()
                return
            step = left if step is None else min(step, left)
        if run.wait(step):
            return
        if progress is not None:
            progress(run.counts(), total)
