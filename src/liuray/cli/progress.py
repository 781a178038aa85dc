# SPDX-License-Identifier: LGPL-2.1-or-later
"""A live progress bar of drops by state, shared by ``liuray run`` and ``liuray submit``."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

_DONE = ("completed", "finished", "expired", "deleted", "error", "skipped", "cancelled")
_SHOWN = ("running", "finished", "completed", "expired", "error", "skipped", "cancelled")


class StateProgress:
    """Context manager drawing ``[bar] done/total  running 3  error 1 ...``.

    Counts arrive as {state name: drops}; app execution states and data states are
    both included, so "done" counts every drop whose outcome is final.
    """

    def __init__(
        self, description: str, console: Console | None = None, enabled: bool = True
    ) -> None:
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[states]}"),
            TimeElapsedColumn(),
            console=self.console,
            disable=not enabled,
            transient=False,
        )
        self._task = self._progress.add_task(description, total=None, states="")

    def __enter__(self) -> StateProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def update(self, counts: dict[str, int], total: int) -> None:
        """Redraw with new per-state counts."""
        done = sum(counts.get(state, 0) for state in _DONE)
        states = "  ".join(f"{s} {counts[s]}" for s in _SHOWN if counts.get(s))
        self._progress.update(self._task, completed=done, total=total, states=states)
