# SPDX-License-Identifier: LGPL-2.1-or-later
"""Moving a data drop's content between nodes.

A settled drop's content is exported as a :class:`Payload`: the Python value itself when
the drop holds one (memory drops written by Python apps; no serialisation in-process,
pickled by Ray's object store otherwise), else its bytes. Importing it on the other
node stores it in that node's copy of the drop, whatever its kind (a file drop writes
its file there, unless both copies name the same file and it already holds the
content: one machine, or a shared filesystem, where the producer wrote it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from liuray.engine.drops.base import DataDrop
from liuray.engine.drops.file import FileDrop
from liuray.engine.drops.memory import MemoryDrop
from liuray.engine.drops.null import NullDrop


@dataclass(frozen=True, slots=True)
class Payload:
    """A drop's content in transit: a value (``is_value``) or bytes."""

    data: Any
    is_value: bool
    source_path: str | None = None

    @property
    def size(self) -> int:
        """Bytes carried (0 for values, whose size is known only once serialised)."""
        return len(self.data) if isinstance(self.data, bytes) else 0


def export_payload(drop: DataDrop) -> Payload | None:
    """The content of ``drop`` to ship, or None when there is nothing to move."""
    if isinstance(drop, NullDrop):
        return None
    if isinstance(drop, MemoryDrop) and drop.has_value:
        return Payload(drop.get(), True)
    if isinstance(drop, FileDrop):
        return Payload(drop.read_bytes(), False, str(drop.path))
    return Payload(drop.read_bytes(), False)


def import_payload(drop: DataDrop, payload: Payload | None) -> None:
    """Store a shipped payload in this node's copy of the drop."""
    if payload is None:
        return
    if (
        isinstance(drop, FileDrop)
        and payload.source_path == str(drop.path)
        and drop.read_bytes() == payload.data
    ):
        return  # the very file the producer wrote; writing it again would append a copy
    if payload.is_value:
        drop.set_value(payload.data)
    elif payload.data:
        drop.write(payload.data)
