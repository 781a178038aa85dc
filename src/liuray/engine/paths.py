# SPDX-License-Identifier: LGPL-2.1-or-later
"""Confining file and directory drops to the session directory.

A server that runs graphs from other people must not let a graph's ``filepath`` write
``/etc/cron.d/x`` or read ``~/.ssh/id_rsa``. When a run is *confined* (``liuray serve``
is, unless told otherwise), every path a file or directory drop uses must lie under the
session directory or under one of the directories allowed for the node
(``liuray serve --allow-path DIR``). The check is made on the real path - ``..`` and
symbolic links that already exist are resolved - so neither leads out. ``liuray run``
and the Python API are not confined: there the graph is the user's own.

What it does not do: an app is code (a bash command, a Python function) and can open
any file its user can; confinement is about the *drops* a graph declares.

>>> confine(Path("/srv/s/out.txt"), Path("/srv/s"), (), "d")
PosixPath('/srv/s/out.txt')
>>> confine(Path("/srv/s/../t.txt"), Path("/srv/s"), (), "d")
Traceback (most recent call last):
...
liuray.errors.GraphError: drop 'd': path '/srv/s/../t.txt' is outside the session \
directory /srv/s; a server confines file and directory drops to it unless the node \
allows more (liuray serve --allow-path DIR, or --allow-any-path)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from liuray.errors import GraphError


def confine(path: Path, session_dir: Path, allowed: Sequence[Path], uid: str) -> Path:
    """Return ``path`` if its real location is under ``session_dir`` or an ``allowed``
    directory.

    Raises:
        GraphError: naming the drop, the path and how to allow it.
    """
    real = Path(os.path.realpath(path))
    for root in (session_dir, *allowed):
        base = Path(os.path.realpath(root))
        if real == base or base in real.parents:
            return path
    extra = f" or the allowed paths {[str(p) for p in allowed]}" if allowed else ""
    raise GraphError(
        f"drop {uid!r}: path {str(path)!r} is outside the session directory "
        f"{session_dir}{extra}; a server confines file and directory drops to it unless "
        "the node allows more (liuray serve --allow-path DIR, or --allow-any-path)",
        uid=uid,
        path=str(path),
    )
