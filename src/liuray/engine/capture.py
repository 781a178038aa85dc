# SPDX-License-Identifier: LGPL-2.1-or-later
"""Capturing the log records an app emits into that drop's own log.

DALiuGE attached a log handler per drop to the root logger (and never removed it: its
deploy time grows with every drop). Here one handler, installed once, routes each
record to the app that is running *on the emitting thread*: worker threads mark the
app they run in a thread-local. Records from other threads go nowhere extra.

Which records exist is still decided by the emitting logger's level (Python's default:
WARNING); an app that wants its INFO lines kept sets its logger's level.

>>> import logging
>>> class App:
...     logs = []
...     def log(self, line): self.logs.append(line)
>>> install()
>>> app = App()
>>> with running(app):
...     logging.getLogger("my.app").warning("disk almost full")
>>> app.logs
['WARNING my.app: disk almost full']
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class _Loggable(Protocol):
    def log(self, line: str) -> None: ...


current = threading.local()
"""``current.app``: the app running on this thread (set by the session's executor)."""
_installed = False
_install_lock = threading.Lock()


class DropLogHandler(logging.Handler):
    """Appends a formatted record to the log of the app running on this thread."""

    def emit(self, record: logging.LogRecord) -> None:
        app: _Loggable | None = getattr(current, "app", None)
        if app is None:
            return
        try:
            app.log(self.format(record))
        except Exception:
            self.handleError(record)


def install() -> None:
    """Attach the one handler to the root logger (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        handler = DropLogHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logging.getLogger().addHandler(handler)
        _installed = True


@contextmanager
def running(app: _Loggable) -> Iterator[None]:
    """Mark ``app`` as the one running on this thread for the duration."""
    previous = getattr(current, "app", None)
    current.app = app
    try:
        yield
    finally:
        current.app = previous
