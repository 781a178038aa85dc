# SPDX-License-Identifier: LGPL-2.1-or-later
"""The threads that run the island manager's blocking calls for the REST handlers.

The island manager's methods may block (deploying, asking node managers), so handlers
run them in a thread (:func:`~liuray.api.context.call`). Starlette's default pool
(anyio's) starts threads as a burst of requests needs them, and a thread going back to
sleep allocates the lock it waits on. Objects made while the heap is at its fullest
outlive the burst scattered over Python's small-object arenas; an arena is given back
to the system only when empty, so a few hundred such objects kept a server ~100 MB
over its idle memory after 50 sessions were destroyed (docs/reliability.md, "Load").

This pool starts all its threads together at its first call (a server's warm-up), and
an idle thread sleeps on a lock of its own, made once: handing a call over, waking and
going back to sleep allocate nothing that outlives the call. The most recently idle
thread is woken first (a stack), so a light load keeps to a few threads; calls beyond
the number of threads wait, first come first served. The threads are daemons and live
as long as the process.

>>> import asyncio
>>> asyncio.run(run_in_thread(sum, ([1, 2, 3],)))
6
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")

#: Threads in the process's pool (Starlette's default limit is the same).
THREADS = 40


class _Call:
    """One call handed to a thread, and where its outcome goes."""

    __slots__ = ("args", "context", "func", "future", "kwargs", "loop")

    def __init__(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[Any],
    ) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.loop = loop
        self.future = future
        # The outcome is set in the caller's context: without one, the thread's own
        # context would be made on its first call and kept for its life.
        self.context = contextvars.copy_context()

    def run(self) -> None:
        try:
            result = self.func(*self.args, **self.kwargs)
        except BaseException as error:
            self._settle(None, error)
        else:
            self._settle(result, None)

    def _settle(self, result: Any, error: BaseException | None) -> None:
        try:
            self.loop.call_soon_threadsafe(
                _set_outcome, self.future, result, error, context=self.context
            )
        except RuntimeError:  # the loop closed meanwhile (the server stopped)
            pass


def _set_outcome(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the awaiting handler was cancelled
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class _Worker:
    """A thread of the pool: sleeps on its own lock until handed a call."""

    def __init__(self, pool: ThreadPool, index: int) -> None:
        self.pool = pool
        self.wake = threading.Lock()
        self.wake.acquire()
        self.call: _Call | None = None
        self.thread = threading.Thread(target=self._work, name=f"liuray-api-{index}", daemon=True)

    def _work(self) -> None:
        while True:
            self.wake.acquire()
            call, self.call = self.call, None
            while call is not None:
                call.run()
                call = None  # an idle thread keeps nothing of its last call alive
                call = self.pool.next_call(self)


class ThreadPool:
    """A fixed set of daemon threads running blocking calls for asyncio code.

    Args:
        threads: how many threads, all started at the first call.
    """

    def __init__(self, threads: int = THREADS) -> None:
        self.threads = max(1, threads)
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        # The idle threads as a stack of fixed size, so it never reallocates.
        self._idle: list[_Worker | None] = [None] * self.threads
        self._idle_count = 0
        self._waiting: deque[_Call] = deque()

    def submit(self, call: _Call) -> None:
        """Hand ``call`` to an idle thread, or queue it until one is free."""
        with self._lock:
            if not self._workers:
                self._start()
            if self._idle_count == 0:
                self._waiting.append(call)
                return
            self._idle_count -= 1
            worker = self._idle[self._idle_count]
            self._idle[self._idle_count] = None
        assert worker is not None  # the stack holds workers below _idle_count
        worker.call = call
        worker.wake.release()

    def next_call(self, worker: _Worker) -> _Call | None:
        """The next queued call for ``worker``; None (and ``worker`` is idle) if none."""
        with self._lock:
            if self._waiting:
                return self._waiting.popleft()
            self._idle[self._idle_count] = worker
            self._idle_count += 1
            return None

    def _start(self) -> None:
        self._workers = [_Worker(self, index) for index in range(self.threads)]
        for worker in self._workers:
            self._idle[self._idle_count] = worker
            self._idle_count += 1
            worker.thread.start()


_pool = ThreadPool()


async def run_in_thread(
    func: Callable[..., _T], args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
) -> _T:
    """Run ``func(*args, **kwargs)`` in the process's pool and await its outcome.

    If the awaiting task is cancelled, the call still runs to its end; its outcome is
    dropped.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()
    _pool.submit(_Call(func, args, kwargs or {}, loop, future))
    return await future
