# SPDX-License-Identifier: LGPL-2.1-or-later
"""Turning Python values into drop bytes and back, per DALiuGE port ``encoding``.

In one process a memory drop simply holds the Python object an app produced, so no
encoding happens at all on the common path; bytes are made only when something needs
them (a file drop, a bash app, another node). The encodings are DALiuGE's names:
``pickle`` (default), ``dill`` (treated as pickle), ``utf-8``, ``raw``/``binary``,
``npy``, ``eval`` (``repr`` of the value, read back with ``ast.literal_eval``; empty
data reads as ``None``) and ``path`` (the file path of a file drop, handled by the drop).

Decoding with ``pickle`` is lenient in one documented way: bytes that are not a pickle
stream (no protocol marker) are returned as they are, so a HelloWorldApp's text output
can feed a Python function.
"""

from __future__ import annotations

import ast
import io
import pickle
from typing import Any

PICKLE = "pickle"
ENCODINGS = ("pickle", "dill", "utf-8", "raw", "binary", "npy", "eval", "path", "dataurl")


def encode(value: Any, encoding: str | None = None) -> bytes:
    """Serialise ``value`` for storage in a drop."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    enc = (encoding or PICKLE).lower()
    if enc == "eval":
        return repr(value).encode("utf-8")
    if enc in ("utf-8", "path", "dataurl") or (isinstance(value, str) and enc in ("raw", "binary")):
        return str(value).encode("utf-8")
    if enc == "npy":
        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return buffer.getvalue()
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def decode(data: bytes, encoding: str | None = None) -> Any:
    """Deserialise drop bytes for an app's input port."""
    enc = (encoding or PICKLE).lower()
    if enc in ("pickle", "dill"):
        if data[:1] == b"\x80":
            return pickle.loads(data)
        return data
    if enc == "utf-8":
        return data.decode("utf-8")
    if enc == "npy":
        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)
    if enc == "eval":
        text = data.decode("utf-8").strip()
        return ast.literal_eval(text) if text else None
    return data
