"""liuray._gc: pausing the cyclic collector while building, freezing what was built, and
giving memory back (the releases come, during a steady stream of calls too)."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator

import pytest

from liuray import _gc


@pytest.fixture(autouse=True)
def _clean_freeze() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.enable()


def test_paused_switches_the_collector_off_and_back_on_with_nothing_left_frozen() -> None:
    """A plain pause, nested: the collector is off inside, on again after the last one,
    and what was built is not frozen (it is collected by full passes)."""
    with _gc.paused():
        with _gc.paused():
            built = [[] for _ in range(1000)]
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    assert len(built) == 1000


def test_paused_with_freeze_keeps_what_was_built_out_of_the_passes() -> None:
    """With ``freeze``, even asked for by the outer pause only, what was built inside is
    frozen when the collector comes back on, until the caller unfreezes it; a later
    plain pause does not undo that freeze (what it built joins it)."""
    with _gc.paused(freeze=True):
        with _gc.paused():
            built = [[] for _ in range(1000)]
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    assert frozen >= len(built)
    with _gc.paused():
        more = [[] for _ in range(1000)]
    assert gc.get_freeze_count() >= frozen + len(more)
    assert len(more) == 1000
    gc.unfreeze()
    assert gc.get_freeze_count() == 0


def test_paused_leaves_a_collector_switched_off_by_the_caller_off() -> None:
    gc.disable()
    with _gc.paused(freeze=True):
        pass
    assert not gc.isenabled()


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
