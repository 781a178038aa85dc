"""liuray._gc: pausing the cyclic collector while building, and freezing what was built."""

from __future__ import annotations

import gc
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
