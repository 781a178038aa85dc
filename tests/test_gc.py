"""Giving memory back: the releases of ``liuray._gc`` come, and come during a steady
stream of calls too."""

from __future__ import annotations

import threading
import time

import pytest

from liuray import _gc


def test_release_soon_comes_even_while_calls_keep_coming(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sessions destroyed one after the other, faster than the delay, still get their
    memory released: a later call does not push the release back for ever."""
    released = threading.Event()
    monkeypatch.setattr(_gc, "_release", released.set)
    deadline = time.monotonic() + 60
    while not released.is_set() and time.monotonic() < deadline:
        _gc.release_soon()
        released.wait(_gc.TRIM_DELAY / 5)
    assert released.is_set()


def test_release_when_quiet_waits_for_the_calls_to_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The quiet release comes once the calls stop (and not while they go on)."""
    calls: list[float] = []
    released = threading.Event()

    def release() -> None:
        calls.append(time.monotonic())
        released.set()

    monkeypatch.setattr(_gc, "_release", release)
    monkeypatch.setattr(_gc, "QUIET_DELAY", 0.3)
    last = 0.0
    for _ in range(5):
        _gc.release_when_quiet()
        last = time.monotonic()
        time.sleep(0.05)
    assert released.wait(30)
    assert calls[0] >= last
