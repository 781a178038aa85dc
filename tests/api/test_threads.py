"""The API's thread pool: outcomes, queueing beyond its size, nothing kept after a call."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref

import pytest

pytest.importorskip("starlette")

from liuray.api.threads import ThreadPool, _Call, run_in_thread


async def _run(pool: ThreadPool, func: object, *args: object) -> object:
    loop = asyncio.get_running_loop()
    future: asyncio.Future[object] = loop.create_future()
    pool.submit(_Call(func, args, {}, loop, future))  # type: ignore[arg-type]
    return await future


def test_a_call_returns_its_result_and_raises_its_error() -> None:
    assert asyncio.run(run_in_thread(divmod, (7, 2))) == (3, 1)
    with pytest.raises(ZeroDivisionError):
        asyncio.run(run_in_thread(divmod, (1, 0)))


def test_all_threads_start_at_the_first_call_and_extra_calls_wait_their_turn() -> None:
    """A pool of 2 threads given 5 calls that each wait for the next to start: the first
    two run at once, the other three wait in the queue, and all five finish."""
    pool = ThreadPool(threads=2)
    started: list[int] = []
    gate = threading.Semaphore(0)

    def work(index: int) -> int:
        started.append(index)
        gate.acquire()
        return index * 10

    async def main() -> list[object]:
        calls = [asyncio.ensure_future(_run(pool, work, i)) for i in range(5)]
        while len(started) < 2:
            await asyncio.sleep(0.01)
        names = {t.name for t in threading.enumerate() if t.name.startswith("liuray-api-")}
        assert len(pool._workers) == 2 and len(names) >= 2
        for _ in range(5):
            gate.release()
        return list(await asyncio.gather(*calls))

    assert asyncio.run(main()) == [0, 10, 20, 30, 40]
    assert sorted(started) == [0, 1, 2, 3, 4]


def test_an_idle_thread_keeps_nothing_of_its_last_call() -> None:
    """Once a call is answered, neither its arguments nor its result stay referenced by
    the thread that ran it (an idle thread must not keep a destroyed session alive)."""

    class Payload:
        pass

    def work(value: Payload) -> Payload:
        return Payload()

    pool = ThreadPool(threads=1)
    argument = Payload()
    returned = asyncio.run(_run(pool, work, argument))
    seen = [weakref.ref(argument), weakref.ref(returned)]
    del argument, returned
    gc.collect()
    assert [ref() for ref in seen] == [None, None]


def test_a_cancelled_caller_does_not_stop_the_pool() -> None:
    """The call of a cancelled handler still runs to its end; the pool keeps serving."""
    pool = ThreadPool(threads=1)
    release = threading.Event()
    ran = threading.Event()

    def slow() -> str:
        release.wait(30)
        ran.set()
        return "late"

    async def main() -> object:
        waiting = asyncio.ensure_future(_run(pool, slow))
        await asyncio.sleep(0.05)
        waiting.cancel()
        release.set()
        return await _run(pool, str.upper, "next")

    assert asyncio.run(main()) == "NEXT"
    assert ran.is_set()
