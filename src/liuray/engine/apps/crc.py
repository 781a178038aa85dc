# SPDX-License-Identifier: LGPL-2.1-or-later
"""Checksum apps (``dlg.apps.crc.CRCApp`` and ``CRCStreamApp``).

Both write the CRC-32C (Castagnoli) of their input as decimal text, as DALiuGE 6.6.0
does with the ``crc32c`` package it installs. Here the package is used when present,
else a table-driven implementation in Python (same values, some MB/s).

* :class:`CRCApp`: exactly one input and one output; the checksum of the input's bytes.
* :class:`CRCStreamApp`: the checksum of the chunks *streamed* to it while its producer
  writes (a streaming consumer); linked as an ordinary consumer it sees no chunk and
  writes ``0``, as in DALiuGE. It writes to its first output only.

>>> crc32c(b"123456789")
3808858755
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from liuray.engine.apps.base import AppContext, AppDrop
from liuray.types import DropSpec, DropUid

_POLYNOMIAL = 0x82F63B78  # CRC-32C, reflected


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLYNOMIAL if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _table()


def _crc32c_python(data: bytes, value: int = 0) -> int:
    crc = value ^ 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _fast() -> Callable[[bytes, int], int] | None:
    try:
        from crc32c import crc32c as fast  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    return fast  # type: ignore[no-any-return]


_FAST = _fast()


def crc32c(data: bytes, value: int = 0) -> int:
    """The CRC-32C of ``data``, continuing from ``value`` (a previous result)."""
    if _FAST is not None:
        return _FAST(data, value)
    return _crc32c_python(data, value)


class CRCApp(AppDrop):
    """Writes the CRC-32C of its single input to its single output."""

    __slots__ = ()

    def run(self) -> None:
        if len(self.inputs) != 1:
            raise ValueError(f"CRCApp reads exactly one input, got {len(self.inputs)}")
        if len(self.outputs) != 1:
            raise ValueError(f"CRCApp writes exactly one output, got {len(self.outputs)}")
        checksum = crc32c(self.inputs[0].read_bytes())
        self.outputs[0].write(str(checksum).encode("utf-8"))


class CRCStreamApp(AppDrop):
    """Writes the CRC-32C of the data streamed to it to its first output."""

    __slots__ = ("_crc", "_crc_lock")

    def __init__(self, uid: DropUid, spec: DropSpec, context: AppContext) -> None:
        super().__init__(uid, spec, context)
        self._crc = 0
        self._crc_lock = threading.Lock()

    def data_written(self, uid: DropUid, chunk: bytes) -> None:
        with self._crc_lock:
            self._crc = crc32c(chunk, self._crc)

    def run(self) -> None:
        if not self.outputs:
            raise ValueError("CRCStreamApp writes to its first output, and has none")
        with self._crc_lock:
            checksum = self._crc
        self.outputs[0].write(str(checksum).encode("utf-8"))
