# SPDX-License-Identifier: LGPL-2.1-or-later
"""The null drop (``dlg.data.drops.data_base.NullDROP``): carries events, not data.

Used between streamed apps and for event-only ports: writes are passed to streaming
consumers and then discarded.
"""

from __future__ import annotations

from typing import Any, ClassVar

from liuray.engine.drops.base import DataDrop


class NullDrop(DataDrop):
    """A drop that stores nothing."""

    __slots__ = ()

    def read_bytes(self) -> bytes:
        return b""

    def get(self, encoding: str | None = None) -> Any:
        return None

    @property
    def size(self) -> int:
        return 0

    @property
    def data_url(self) -> str:
        return "null://"

    def set_value(self, value: Any, encoding: str | None = None) -> None:
        return None

    def _append(self, data: bytes) -> None:
        return None

    def _store(self, data: bytes) -> None:
        return None


class EndDrop(NullDrop):
    """DALiuGE's ``EndDROP``: when it completes the session ends early - every app not
    run yet and every data drop nothing is writing is SKIPPED (see the session machine's
    ``enders``); apps already running finish."""

    __slots__ = ()
    ends_session: ClassVar[bool] = True
