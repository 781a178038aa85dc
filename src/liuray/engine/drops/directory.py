# SPDX-License-Identifier: LGPL-2.1-or-later
"""Directory data drops (``dlg.data.drops.directory.DirectoryDROP``).

A directory drop stands for a directory on the filesystem: its payload *is* the path,
handed to consumers through ``path``-encoded ports and ``%i``/``%o`` placeholders, just
like a file drop's. As in DALiuGE 6.6.0:

* the spec must carry a ``dirname`` parameter (DALiuGE refuses the drop at deploy
  without one; liuray when the graph is validated). An empty value names the directory
  after the drop's uid; a relative path is under the session directory; environment
  variables are expanded;
* ``check_exists`` (default false): the directory must already exist when the graph is
  deployed; ``create_if_missing`` (default false): it is created at deploy. Otherwise it
  is left to the producer (``mkdir``, ``os.mkdir``) to make it;
* reading it yields no bytes; writing a path (text) creates that directory, writing
  anything else fails (DALiuGE's ``DirectoryIO``);
* it is never deleted by liuray (DALiuGE only deletes it when told to expire it).

>>> from pathlib import Path
>>> class Session:
...     session_id, session_dir = "s", Path("/tmp/s")
>>> DirectoryDrop("d", {"dirname": "images"}, Session()).path
PosixPath('/tmp/s/images')
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from liuray.engine.drops.base import DropContext
from liuray.engine.drops.file import FileDrop, safe_name
from liuray.engine.params import as_bool, param
from liuray.engine.paths import confine
from liuray.errors import GraphError
from liuray.types import DropSpec, DropUid

_FIELD_GROUPS = ("applicationArgs", "componentParams")
#: ``$NAME`` or ``${NAME}`` in a dirname
_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


class DirectoryDrop(FileDrop):
    """A drop whose payload is a directory; see the module docstring."""

    __slots__ = ()

    def __init__(self, uid: DropUid, spec: DropSpec, context: DropContext) -> None:
        super().__init__(uid, spec, context)
        if as_bool(param(spec, "check_exists"), False) and not self.path.is_dir():
            raise GraphError(
                f"drop {uid!r} (DirectoryDROP): check_exists is set but {self.path} is not "
                "a directory; create it first, or set create_if_missing instead",
                uid=uid,
            )
        if as_bool(param(spec, "create_if_missing"), False):
            self.path.mkdir(parents=True, exist_ok=True)

    @classmethod
    def check_spec(cls, spec: DropSpec) -> None:
        """DALiuGE's DirectoryDROP cannot be built without a ``dirname`` parameter."""
        if "dirname" in spec:
            return
        for group in _FIELD_GROUPS:
            fields = spec.get(group)
            if isinstance(fields, dict) and "dirname" in fields:
                return
        raise ValueError(
            "a DirectoryDROP needs a 'dirname' parameter: the directory's path (relative "
            "paths are under the session directory), or '' to name it after the drop"
        )

    def _resolve(self) -> Path:
        dirname = os.path.expanduser(os.path.expandvars(str(param(self.spec, "dirname", ""))))
        path = Path(dirname or safe_name(self.uid))
        return path if path.is_absolute() else self.context.session_dir / path

    def missing(self) -> str:
        """Why the directory is not there, for an app that needs it: its path, the
        environment variables its ``dirname`` names that are not set, what to do.

        >>> class Session:
        ...     session_id, session_dir = "s", Path("/nonexistent")
        >>> drop = DirectoryDrop("d", {"dirname": "$NO_SUCH_VARIABLE/x"}, Session())
        >>> "uses NO_SUCH_VARIABLE, not set where the graph runs); set it" in drop.missing()
        True
        """
        dirname = str(param(self.spec, "dirname", ""))
        unset = sorted({name for name in _VARIABLE.findall(dirname) if name not in os.environ})
        why = ""
        if unset:
            names = ", ".join(unset)
            why = f" (its dirname {dirname!r} uses {names}, not set where the graph runs)"
        return (
            f"directory drop {self.uid!r} names {self.path}, which does not exist{why}; "
            f"{'set it, or ' if unset else ''}make the directory first (create_if_missing, "
            "or a producer app)"
        )

    def completed(self) -> None:
        """Nothing to create: a directory appears when its producer names it."""

    def read_bytes(self) -> bytes:
        return b""

    @property
    def size(self) -> int:
        """Bytes in the regular files under the directory (0 while it does not exist)."""
        if not self.path.is_dir():
            return 0
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())

    def write(self, chunk: bytes | bytearray | str) -> int:
        """Create the directory named by ``chunk`` (a path; relative: under the session)."""
        self.set_value(chunk)
        return len(chunk)

    def set_value(self, value: Any, encoding: str | None = None) -> None:
        if not isinstance(value, str):
            raise TypeError(
                f"directory drop {self.uid!r} takes a directory path (text), "
                f"not {type(value).__name__}"
            )
        if not self.written:
            self.written = True
            self.context.data_written(self.uid)
        target = Path(os.path.expanduser(value))
        if not target.is_absolute():
            target = self.context.session_dir / target
        allowed = getattr(self.context, "allowed_paths", None)
        if allowed is not None:
            confine(target, self.context.session_dir, allowed, self.uid)
        target.mkdir(parents=True, exist_ok=True)
