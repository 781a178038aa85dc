# SPDX-License-Identifier: LGPL-2.1-or-later
"""In-memory data drops (``dlg.data.drops.memory.InMemoryDROP`` and friends).

Holds either a Python object set by a Python app (no serialisation at all) or bytes
appended by writers. Released (payload dropped) once all consumers finished, unless the
spec says ``persist``. An initial value may come from the spec's ``pydata`` field
(EAGLE writes it as text, read as the field's type says - Json, Integer, Float - as
DALiuGE does; "None" is no value; base64 pickles are accepted too).
"""

from __future__ import annotations

import base64
import binascii
import json
import pickle
from typing import Any, ClassVar

from liuray.engine import codec
from liuray.engine.drops.base import DataDrop, DropContext
from liuray.engine.params import param
from liuray.types import DropSpec, DropUid

_EMPTY: Any = object()


class MemoryDrop(DataDrop):
    """A drop whose payload lives in this process's memory."""

    __slots__ = ("_buffer", "_value")
    releasable_by_default: ClassVar[bool] = True

    def __init__(self, uid: DropUid, spec: DropSpec, context: DropContext) -> None:
        super().__init__(uid, spec, context)
        self._value: Any = _EMPTY
        self._buffer: bytearray | None = None
        if "pydata" in spec or "applicationArgs" in spec or "componentParams" in spec:
            pydata = param(spec, "pydata")
            # DALiuGE 6.6.0 reads a pydata of "None" as no data at all
            if pydata is not None and pydata != "None":
                pydata = _typed(pydata, _pydata_type(spec))
                self._value = _initial_value(pydata, param(spec, "encoding"))

    def set_value(self, value: Any, encoding: str | None = None) -> None:
        self._value = value
        self._buffer = None

    def get(self, encoding: str | None = None) -> Any:
        if self._value is not _EMPTY:
            return self._value
        return codec.decode(self.read_bytes(), encoding)

    def read_bytes(self) -> bytes:
        if self._buffer is not None:
            return bytes(self._buffer)
        if self._value is _EMPTY:
            return b""
        return codec.encode(self._value)

    @property
    def has_value(self) -> bool:
        """True when the payload is a stored Python object (not raw bytes)."""
        return self._value is not _EMPTY

    @property
    def size(self) -> int:
        if self._buffer is not None:
            return len(self._buffer)
        return 0 if self._value is _EMPTY else len(codec.encode(self._value))

    def release(self) -> None:
        self._value = _EMPTY
        self._buffer = None

    def _append(self, data: bytes) -> None:
        if self._buffer is None:
            self._buffer = bytearray()
            self._value = _EMPTY
        self._buffer += data

    def _store(self, data: bytes) -> None:
        self._buffer = bytearray(data)
        self._value = _EMPTY


def _pydata_type(spec: DropSpec) -> str:
    """The EAGLE type of the ``pydata`` field ("Json", "Integer"...), lower-cased."""
    for group in ("applicationArgs", "componentParams"):
        fields = spec.get(group)
        field = fields.get("pydata") if isinstance(fields, dict) else None
        if isinstance(field, dict):
            return str(field.get("type") or "").lower()
    return ""


def _typed(pydata: Any, kind: str) -> Any:
    """pydata text read as its field's type says, as DALiuGE 6.6.0's parse_pydata does
    (JSON, integer, float); text that does not parse stays text."""
    if not isinstance(pydata, str):
        return pydata
    readers: dict[str, Any] = {"json": json.loads, "int": int, "integer": int, "float": float}
    reader = readers.get(kind)
    if reader is None:
        return pydata
    try:
        return reader(pydata)
    except ValueError:  # json.JSONDecodeError is a ValueError
        return pydata


def _initial_value(pydata: Any, encoding: Any) -> Any:
    if not isinstance(pydata, str):
        return pydata
    if str(encoding or "").lower() in ("pickle", "dill", "base64"):
        try:
            return pickle.loads(base64.b64decode(pydata, validate=True))
        except (binascii.Error, pickle.UnpicklingError, EOFError, ValueError):
            pass
    return pydata
