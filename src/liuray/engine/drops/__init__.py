# SPDX-License-Identifier: LGPL-2.1-or-later
"""Data drops: where data lives between apps (memory, file, directory, parameter set,
null)."""

from liuray.engine.drops.base import DataDrop, DropContext
from liuray.engine.drops.directory import DirectoryDrop
from liuray.engine.drops.file import FileDrop
from liuray.engine.drops.memory import MemoryDrop
from liuray.engine.drops.null import NullDrop
from liuray.engine.drops.parameter_set import ParameterSetDrop

__all__ = [
    "DataDrop",
    "DirectoryDrop",
    "DropContext",
    "FileDrop",
    "MemoryDrop",
    "NullDrop",
    "ParameterSetDrop",
]
