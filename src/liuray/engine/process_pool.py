# SPDX-License-Identifier: LGPL-2.1-or-later
"""A process pool for Python function apps that survives a worker process dying.

``concurrent.futures.ProcessPoolExecutor`` is broken for good once one of its worker
processes dies abruptly (a segfault in a C extension, ``os._exit``, the kernel's OOM
killer): every pending call fails and every later ``submit`` raises
``BrokenProcessPool``. For a node manager that runs sessions for hours that would turn
one bad app into a dead node. :class:`ProcessPool` keeps the same interface but starts a
fresh pool when it finds the current one broken, so only the calls that were in the
dying pool fail - with a message saying what happened - and later apps run normally.

>>> pool = ProcessPool(1)
>>> pool.submit(pow, 2, 10).result()
1024
>>> pool.shutdown()
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, ParamSpec, TypeVar

_P = ParamSpec("_P")
_T = TypeVar("_T")

#: The error an app gets when the worker process running it (or a neighbour) died.
WORKER_DIED = (
    "the worker process running this app died (a crash in native code, os._exit, or "
    "the out-of-memory killer; it may have been another app in the same pool): "
)


class WorkerProcessDied(RuntimeError):
    """A call was lost because its worker process died; the pool was replaced."""


class ProcessPool(Executor):
    """``ProcessPoolExecutor(workers)`` that replaces itself when it breaks."""

    def __init__(self, workers: int) -> None:
        self._workers = workers
        self._lock = threading.Lock()
        self._pool = ProcessPoolExecutor(workers)
        self._closed = False
        #: How many times a broken pool was replaced (for logs and tests).
        self.restarts = 0

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        """Run ``fn(*args, **kwargs)`` in a worker process.

        The returned future fails with :class:`WorkerProcessDied` (not the bare
        ``BrokenProcessPool``) if the worker dies before answering.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit to a process pool that was shut down")
            try:
                inner = self._pool.submit(fn, *args, **kwargs)
            except BrokenProcessPool:
                self._replace(self._pool)
                inner = self._pool.submit(fn, *args, **kwargs)
            pool = self._pool
        outer: Future[_T] = Future()
        inner.add_done_callback(lambda done: self._settle(outer, done, pool))
        outer.add_done_callback(lambda mine: inner.cancel() if mine.cancelled() else None)
        return outer

    def _settle(self, outer: Future[Any], inner: Future[Any], pool: ProcessPoolExecutor) -> None:
        if not outer.set_running_or_notify_cancel():
            return
        if inner.cancelled():
            outer.cancel()
            return
        error = inner.exception()
        if isinstance(error, BrokenProcessPool):
            with self._lock:
                if not self._closed:
                    self._replace(pool)
            outer.set_exception(WorkerProcessDied(WORKER_DIED + str(error)))
        elif error is not None:
            outer.set_exception(error)
        else:
            outer.set_result(inner.result())

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """Start a fresh pool in place of ``broken``, unless that was done already
        (several calls fail with one broken pool); called under the lock."""
        if self._pool is not broken:
            return
        self._pool = ProcessPoolExecutor(self._workers)
        self.restarts += 1
        broken.shutdown(wait=False, cancel_futures=True)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Shut the current pool down (see ``Executor.shutdown``)."""
        with self._lock:
            self._closed = True
            pool = self._pool
        pool.shutdown(wait=wait, cancel_futures=cancel_futures)
