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
import time
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
#: How long a server waits without requests before it gives memory back: longer than
#: uvicorn's keep-alive (5 s), so the last connections are closed by then.
QUIET_DELAY = 6.0

# Deadlines (time.monotonic) of the two kinds of release; one janitor thread waits for
# them on a lock of its own (no timer thread per call: each would be made, with its
# objects, while the heap is at its fullest).
_soon: float | None = None
_quiet: float | None = None
_bell = threading.Lock()
_janitor: threading.Thread | None = None


def release_soon() -> None:
    """Give freed memory back to the system shortly (a session was destroyed).

    Collects cycles, then asks glibc to return free heap pages (``malloc_trim``),
    :data:`TRIM_DELAY` seconds after the first of a burst of calls. Without it a
    long-running server keeps the high-water mark of its biggest sessions as resident
    memory. A no-op where glibc is absent. Python's own
    small-object arenas are freed only when empty (see docs/reliability.md, "Load").
    """
    _schedule(soon=TRIM_DELAY)


def release_when_quiet() -> None:
    """Give memory back once no call to this came for :data:`QUIET_DELAY` seconds.

    A server calls it after each request. The full collection also empties Python's
    free lists (thousands of tuples, dicts, floats...), which the last requests and
    connections refill with blocks scattered over the small-object arenas a burst of
    sessions left nearly empty; each such block keeps a whole arena resident.
    """
    _schedule(quiet=QUIET_DELAY)


def _schedule(soon: float | None = None, quiet: float | None = None) -> None:
    global _soon, _quiet, _janitor
    with _lock:
        now = time.monotonic()
        if soon is not None and _soon is None:
            # Not pushed back by later calls: sessions destroyed one after the other
            # (every 0.1 s) would otherwise never see a release, and their garbage
            # would pile up until the collector's rare full pass.
            _soon = now + soon
        if quiet is not None:
            _quiet = now + quiet
        if _janitor is None:
            _bell.acquire()
            _janitor = threading.Thread(target=_wait_and_release, name="liuray-gc", daemon=True)
            _janitor.start()
        elif _bell.locked():  # wake the janitor to look at the new deadlines
            _bell.release()


def _wait_and_release() -> None:
    global _soon, _quiet
    while True:
        with _lock:
            now = time.monotonic()
            due = _quiet if _soon is None else _soon if _quiet is None else min(_soon, _quiet)
            if due is not None and due <= now:
                if _soon is not None and _soon <= now:
                    _soon = None
                if _quiet is not None and _quiet <= now:
                    _quiet = None
        if due is not None and due <= now:
            _release()
            continue
        _bell.acquire(timeout=-1 if due is None else due - now)


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
