# SPDX-License-Identifier: LGPL-2.1-or-later
"""Data drops: where data lives between apps (memory, file, null)."""

from liuray.engine.drops.base import DataDrop, DropContext
from liuray.engine.drops.file import FileDrop
from liuray.engine.drops.memory import MemoryDrop
from liuray.engine.drops.null import NullDrop

__all__ = ["DataDrop", "DropContext", "FileDrop", "MemoryDrop", "NullDrop"]
