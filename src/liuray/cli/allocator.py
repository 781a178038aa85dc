# SPDX-License-Identifier: LGPL-2.1-or-later
"""The memory allocator of ``liuray serve``: one that gives memory back.

A long-running server that ran a burst of sessions should return to its idle memory
once they are destroyed. With CPython's own small-object allocator (pymalloc) it cannot:
pymalloc frees a 1 MiB arena only when every block in it is free, and the objects made
while a burst is torn down (a timer, the next ``Date`` header, a cached free
``FutureIter``) land in the pools the burst emptied and outlive it, one or two per
arena. After 50 sessions of 2,000 drops the server kept 20-27 MB that it could never
give back, although no object of any session survived (docs/reliability.md, "Load").

glibc's ``malloc`` returns memory page by page (``malloc_trim``, which the server calls
after sessions are destroyed), 256 times finer than an arena, provided that:

1. Python's objects go to it: ``PYTHONMALLOC=malloc``;
2. one arena serves every thread: ``MALLOC_ARENA_MAX=1`` (each thread's arena would keep
   its own leftovers);
3. no thread keeps a private cache of freed chunks: ``glibc.malloc.tcache_count=0``
   (the server's ~50 threads, idle after a burst, each held cached chunks scattered
   over the heap).

With all three the server keeps ~0.3 MB after that burst, at ~20% of its speed on the
burst itself (``bench/load_bench.py``). All three are read when a process starts, so
``liuray serve`` executes itself again once, at its very start, with them set (same
process id, same arguments: :func:`os.execve`), then puts the environment back as it
was: the graph's bash commands and child processes run with their usual allocator.
``liuray serve --allocator python`` keeps pymalloc (faster bursts, more memory kept).

Only where the C library is glibc (Linux); elsewhere, when Python ignores the
environment (``-E``/``-I``), and when ``PYTHONMALLOC`` is set already (the user's
choice wins), the server runs as it was started.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping, MutableMapping

log = logging.getLogger("liuray.serve")

#: Names liuray serve's ``--allocator`` takes: glibc's malloc, or CPython's pymalloc.
CHOICES = ("system", "python")

#: The environment that selects glibc's malloc, tuned to give memory back.
SETTINGS = {"PYTHONMALLOC": "malloc", "MALLOC_ARENA_MAX": "1"}
_TUNABLE = "glibc.malloc.tcache_count=0"
_TUNABLES = "GLIBC_TUNABLES"

#: Set only in the re-executed process: the values the variables had before (JSON;
#: null for a variable that was not set), so they can be put back.
MARK = "LIURAY_SERVE_ALLOCATOR"


def is_glibc() -> bool:
    """Whether this process's C library is glibc (the settings mean nothing elsewhere)."""
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (AttributeError, ValueError, OSError):
        return False


def returning_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with the allocator settings added and the previous values marked.

    A user's own ``GLIBC_TUNABLES`` are kept; the tcache setting is appended to them.

    >>> env = returning_environment({"GLIBC_TUNABLES": "glibc.malloc.mmap_max=9"})
    >>> env["PYTHONMALLOC"], env["MALLOC_ARENA_MAX"], env["GLIBC_TUNABLES"]
    ('malloc', '1', 'glibc.malloc.mmap_max=9:glibc.malloc.tcache_count=0')
    >>> json.loads(env[MARK])["PYTHONMALLOC"] is None
    True
    """
    names = [*SETTINGS, _TUNABLES]
    env = dict(environ)
    env[MARK] = json.dumps({name: environ.get(name) for name in names})
    env.update(SETTINGS)
    tunables = environ.get(_TUNABLES)
    env[_TUNABLES] = f"{tunables}:{_TUNABLE}" if tunables else _TUNABLE
    return env


def restore_environment(environ: MutableMapping[str, str]) -> bool:
    """Put back the variables :func:`returning_environment` changed; False if unmarked.

    >>> env = returning_environment({"HOME": "/home/me", "MALLOC_ARENA_MAX": "4"})
    >>> restore_environment(env), env
    (True, {'HOME': '/home/me', 'MALLOC_ARENA_MAX': '4'})
    """
    marked = environ.pop(MARK, None)
    if marked is None:
        return False
    for name, value in json.loads(marked).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return True


def use_returning_allocator() -> None:
    """Make this process run on glibc's malloc tuned to give memory back.

    Call it first thing in a process's entry point, before any thread starts: unless
    this process was started by this function already, it is replaced by a new run of
    the same command with :func:`returning_environment` (the call does not return).
    In the new run it puts the environment back (:func:`restore_environment`) and
    returns. Where the settings would do nothing it returns at once.
    """
    if restore_environment(os.environ):
        return
    if not is_glibc() or sys.flags.ignore_environment or not sys.executable:
        return
    if "PYTHONMALLOC" in os.environ:  # the user chose Python's allocator: theirs wins
        return
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, sys.orig_argv, returning_environment(os.environ))
    except OSError as err:  # e.g. the interpreter was removed meanwhile
        log.warning("could not restart with glibc's allocator (%s); keeping Python's", err)
