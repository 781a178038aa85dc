# SPDX-License-Identifier: LGPL-2.1-or-later
"""File data drops (``dlg.data.drops.file.FileDROP``).

The path comes from the spec's ``filepath`` (and optional ``dirname``); a relative path
is resolved under the *session* directory, an absolute one is used as is, and with no
name at all the drop's uid is used (also under a ``filepath`` ending in ``/``, which
DALiuGE treats as a directory). The process's working directory is never changed.
Files persist by default (DALiuGE's ``persist=True``). The ``path`` port encoding hands
consumers the file's path instead of its content.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from liuray.engine import codec
from liuray.engine.drops.base import DataDrop, DropContext
from liuray.engine.params import param
from liuray.engine.paths import confine
from liuray.types import DropSpec, DropUid

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(uid: str) -> str:
    """A file name made of ``uid`` (characters other than letters, digits, ``._-`` become
    ``_``): what a path-based drop is called when its spec names no path."""
    return _UNSAFE.sub("_", uid)


def named_path(uid: DropUid, spec: DropSpec) -> Path:
    """The path a file drop's spec names: absolute (the same file on every node that
    mounts it: shared storage), or relative to the session directory of its node.

    >>> str(named_path("f", {"filepath": "/scratch/a.ms"})), str(named_path("f", {}))
    ('/scratch/a.ms', 'f')
    >>> str(named_path("f", {"dirname": "/data", "filepath": "out/"}))
    '/data/out/f'
    """
    filepath = str(param(spec, "filepath", "") or "")
    dirname = str(param(spec, "dirname", "") or "")
    if filepath.endswith("/"):
        dirname = os.path.join(dirname, filepath) if dirname else filepath
        filepath = ""
    path = Path(os.path.expanduser(filepath or safe_name(uid)))
    if not path.is_absolute() and dirname:
        path = Path(os.path.expanduser(dirname)) / path
    return path


class FileDrop(DataDrop):
    """A drop whose payload is a file."""

    __slots__ = ("_path", "_started")

    def __init__(self, uid: DropUid, spec: DropSpec, context: DropContext) -> None:
        super().__init__(uid, spec, context)
        self._path: Path | None = None
        self._started = False

    @property
    def path(self) -> Path:
        """Absolute path of the file (computed on first use; checked against the run's
        confinement, see :mod:`liuray.engine.paths`)."""
        if self._path is None:
            path = self._resolve()
            allowed = getattr(self.context, "allowed_paths", None)
            if allowed is not None:
                confine(path, self.context.session_dir, allowed, self.uid)
            self._path = path
        return self._path

    def _resolve(self) -> Path:
        path = named_path(self.uid, self.spec)
        return path if path.is_absolute() else self.context.session_dir / path

    def completed(self) -> None:
        """A file drop completed without being written (a root drop, an app that wrote
        nothing) exists afterwards as an empty file, as in DALiuGE: a consumer such as
        ``dd if={in}`` finds a file, not an error."""
        path = self.path
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()

    def get(self, encoding: str | None = None) -> Any:
        if encoding and encoding.lower() in ("path", "dataurl"):
            return str(self.path)
        return codec.decode(self.read_bytes(), encoding)

    def read_bytes(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return b""

    @property
    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    @property
    def data_url(self) -> str:
        return self.path.as_uri()

    def prepare(self) -> None:
        """Create the parent directory so external programs can write the file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _append(self, data: bytes) -> None:
        """The drop's first chunk replaces whatever the file held (as DALiuGE opens it
        for writing): a session run again in the same directory, after a lost node,
        writes the file afresh instead of appending to the abandoned attempt's."""
        self.prepare()
        with self.path.open("ab" if self._started else "wb") as handle:
            handle.write(data)
        self._started = True

    def _store(self, data: bytes) -> None:
        self.prepare()
        self.path.write_bytes(data)
