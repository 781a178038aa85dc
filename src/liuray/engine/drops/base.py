# SPDX-License-Identifier: LGPL-2.1-or-later
"""The data-drop interface and the context drops run in.

A data drop holds a payload and exposes it to consumers. Its *state* lives in the
session machine (``engine/machine.py``); the drop object only stores and serves data.

Lifecycle, to implement a new kind provide:
    1. ``write(chunk)``: append bytes (streaming producers, bash outputs);
    2. ``set_value(value)``: store a whole Python value (Python apps);
    3. ``read_bytes()`` and ``get(encoding)``: serve the payload;
    4. ``size``: bytes held; ``release()``: drop the payload (expiry);
    5. class attribute ``releasable_by_default``: memory-like drops free their payload
       once every consumer finished, unless the spec says ``persist``.

Writes notify the context once (first write: INITIALIZED -> WRITING) and pass each chunk
to streaming consumers as it arrives (DALiuGE's ``dataWritten``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from liuray.engine import codec
from liuray.engine.params import as_bool, param
from liuray.types import DropSpec, DropUid

if TYPE_CHECKING:
    from liuray.engine.apps.base import AppDrop


class DropContext(Protocol):
    """What drops need from the session they belong to."""

    session_id: str

    @property
    def session_dir(self) -> Path:
        """The session's own directory (created on first use)."""
        ...

    def data_written(self, uid: DropUid) -> None:
        """Called on a data drop's first write."""
        ...

    @property
    def allowed_paths(self) -> Sequence[Path] | None:
        """None: drops may use any path; else file and directory drops must lie under
        the session directory or one of these (see :mod:`liuray.engine.paths`)."""
        ...


class DataDrop:
    """Base of all data drops; see the module docstring for the contract."""

    __slots__ = ("context", "spec", "streaming_consumers", "uid", "written")
    releasable_by_default: ClassVar[bool] = False
    #: True for a drop that ends the session when it completes (DALiuGE's ``EndDROP``).
    ends_session: ClassVar[bool] = False

    def __init__(self, uid: DropUid, spec: DropSpec, context: DropContext) -> None:
        self.uid = uid
        self.spec = spec
        self.context = context
        self.written = False
        # Set by the session only for drops with streaming consumers (rare): no list each.
        self.streaming_consumers: Sequence[AppDrop] = ()

    @classmethod
    def check_spec(cls, spec: DropSpec) -> None:
        """Refuse, before anything is deployed, a spec this class could never serve.

        Called by the island manager when a graph is appended (built-in classes only), so
        a graph that cannot run is rejected whole. Override to check required parameters
        or optional packages; the default accepts every spec.

        Raises:
            ValueError: saying what is wrong and what would be valid.
        """

    @property
    def releasable(self) -> bool:
        """Whether the payload is freed once all consumers finished."""
        if as_bool(param(self.spec, "persist"), False):
            return False
        return self.releasable_by_default and as_bool(param(self.spec, "expireAfterUse"), True)

    def write(self, chunk: bytes | bytearray | str) -> int:
        """Append ``chunk``; returns the number of bytes written."""
        data = chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)
        if not self.written:
            self.written = True
            self.context.data_written(self.uid)
        self._append(data)
        for consumer in self.streaming_consumers:
            consumer.data_written(self.uid, data)
        return len(data)

    def set_value(self, value: Any, encoding: str | None = None) -> None:
        """Store a whole value (replaces any content)."""
        self._store(codec.encode(value, encoding))

    def read_bytes(self) -> bytes:
        """The whole payload as bytes."""
        raise NotImplementedError

    def get(self, encoding: str | None = None) -> Any:
        """The payload decoded for an input port with ``encoding``."""
        return codec.decode(self.read_bytes(), encoding)

    @property
    def size(self) -> int:
        """Bytes held."""
        return len(self.read_bytes())

    def completed(self) -> None:
        """The drop reached COMPLETED (told only to classes that override this)."""

    def release(self) -> None:
        """Free the payload (the drop expired)."""

    @property
    def data_url(self) -> str:
        """DALiuGE-style URL of the payload (``mem://``, ``file://``, ``null://``)."""
        return f"mem://{self.context.session_id}/{self.uid}"

    def _append(self, data: bytes) -> None:
        raise NotImplementedError

    def _store(self, data: bytes) -> None:
        raise NotImplementedError
