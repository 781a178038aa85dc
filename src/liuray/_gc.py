# SPDX-License-Identifier: LGPL-2.1-or-later
"""Pausing Python's cyclic garbage collector while a big graph is built, and giving
memory back after a session is freed (:func:`release_soon`).

Loading a 20,000-drop graph allocates ~100,000 small objects that form no reference
cycles worth collecting. Left on, the collector repeatedly scans all of them (its
oldest generation too), which adds up to half of the building time in bursts. Builders
wrap themselves in :func:`paused`; nesting and concurrent builders are counted, and the
collector's previous state is restored by the last one out.

What was built while paused is long-lived, but it sits in the youngest generation, so
the collector's first pass after the pause would scan all of it (a second or more per
million objects), then again when it is promoted. The last one out therefore moves
everything straight to the oldest generation first (``gc.freeze()`` then
``gc.unfreeze()``: two list splices, no scan); it is still collected by full passes.
A builder whose result lives until it says otherwise (``liuray run``'s session) asks
for ``paused(freeze=True)``: everything stays frozen until its ``gc.unfreeze()``, and a
pause ending meanwhile never undoes that freeze.

>>> import gc
>>> with paused():
...     gc.isenabled()
False
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False
_freeze_at_end = False


@contextmanager
def paused(freeze: bool = False) -> Iterator[None]:
    """Disable the cyclic GC for the duration (reference counting still frees memory).

    Args:
        freeze: what was built lives until the caller's ``gc.unfreeze()``: the last one
            out freezes everything (``gc.freeze()``, no unfreeze), so the collector's
            passes skip it. Without it, what was built goes to the oldest generation,
            unless something is frozen already (a running session): a pause never
            undoes a freeze, what it built joins the frozen objects instead.
    """
    global _depth, _was_enabled, _freeze_at_end
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
        _freeze_at_end = _freeze_at_end or freeze
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                # Never undo a freeze (a running session's): what was built joins it.
                if _freeze_at_end or gc.get_freeze_count():
                    gc.freeze()
                elif _was_enabled:
                    gc.freeze()
                    gc.unfreeze()
                _freeze_at_end = False
                if _was_enabled:
                    gc.enable()


#: How long after the last freed session the heap is trimmed (debounce, seconds).
TRIM_DELAY = 0.5
_trim_timer: threading.Timer | None = None


def release_soon() -> None:
    """Give freed memory back to the system shortly (a session was destroyed).

    Collects cycles, then asks glibc to return free heap pages (``malloc_trim``), once
    for a burst of calls. Without it a long-running server keeps the high-water mark of
    its biggest sessions as resident memory. A no-op where glibc is absent. Python's own
    small-object arenas are freed only when empty, so some of that memory stays (see
    docs/reliability.md, "Load").
    """
    global _trim_timer
    with _lock:
        if _trim_timer is not None:
            _trim_timer.cancel()
        timer = threading.Timer(TRIM_DELAY, _release)
        timer.daemon = True
        _trim_timer = timer
    timer.start()


def _release() -> None:
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
