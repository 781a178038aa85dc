# SPDX-License-Identifier: LGPL-2.1-or-later
"""The group reaper: bash commands die with the process that started them, even by
``kill -9``.

Each bash app runs in its own process group (so a cancel kills its whole pipeline).
SIGINT and SIGTERM let the engine kill those groups; SIGKILL gives it no chance, and
the groups would run on, orphaned. So the first time a process starts a bash app, it
also starts one small *reaper* child and keeps the write end of a pipe to it:

* ``+PGID START`` is written when a group starts (``START``: its leader's start time,
  field 22 of ``/proc/PGID/stat``), ``-PGID`` when it has ended. Each line is one
  ``os.write`` of far less than ``PIPE_BUF`` bytes, so lines from concurrent threads
  never interleave and no lock is needed.
* The reaper reads lines until end of file. The pipe reaches its end when the parent
  is gone, however it died: the kernel closes a dead process's descriptors. The reaper
  then SIGKILLs every group still registered whose leader still has the registered
  start time (a recycled process id is left alone), or whose leader has ended while
  members of its group still run (a number still used as a group id is never given to
  another process), and exits. At a normal exit
  the parent closes the pipe itself (any group still registered is killed) and
  collects the reaper, so nothing is left behind either way.

State: the parent side is one module-level :class:`GroupReaper` (or none, once
starting one failed), started under ``_lock`` on first use; the registered groups live
only in the reaper. The write end is non-inheritable (``os.pipe``), so bash commands
never hold it; a child made by ``fork`` without ``exec`` (a process pool's worker)
closes its copy at once and would start its own reaper. The reaper runs this file as
a script (``python -I -S``: no site, no ``liuray`` import, so it starts in tens of
milliseconds), in its own session so a terminal's Ctrl-C does not reach it, and it
ignores SIGINT and SIGTERM. Where it cannot run (no ``/proc``: not Linux) the engine
logs that once at debug level and carries on without it.

The reaper's bookkeeping, one line at a time:

>>> groups: dict[int, int] = {}
>>> apply_line(groups, b"+4242 98765\\n")
>>> apply_line(groups, b"+4243 98770\\n")
>>> apply_line(groups, b"-4242\\n")
>>> groups
{4243: 98770}
>>> isinstance(start_time(os.getpid()), int), start_time(-1)
(True, None)
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import time

_PROC = "/proc"


def start_time(pid: int) -> int | None:
    """Process ``pid``'s start time (clock ticks after boot), None if there is none."""
    try:
        with open(f"{_PROC}/{pid}/stat", "rb") as stat:
            text = stat.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its end.
    fields = text.rsplit(b")", 1)[-1].split()
    return int(fields[19]) if len(fields) > 19 else None


def apply_line(groups: dict[int, int], line: bytes) -> None:
    """Apply one ``+PGID START`` or ``-PGID`` line to ``groups`` (pgid -> start time);
    a malformed line is ignored."""
    words = line.split()
    try:
        if len(words) == 2 and words[0].startswith(b"+"):
            groups[int(words[0][1:])] = int(words[1])
        elif len(words) == 1 and words[0].startswith(b"-"):
            groups.pop(int(words[0][1:]), None)
    except ValueError:
        pass


def kill_groups(groups: dict[int, int]) -> list[int]:
    """SIGKILL each group whose leader still has its registered start time, or whose
    leader is gone (members may remain); returns the groups signalled.

    A leader's process id is not given to another process while any member of its
    group lives (the kernel keeps a number in use as a group id), so a group whose
    leader is gone but whose id is not some other process's is still the registered
    one. Only an id now naming another process (another start time) is left alone.
    """
    killed = []
    for pgid, started in groups.items():
        now = start_time(pgid)
        if now is not None and now != started:
            continue  # its process id now belongs to another process
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            continue
        killed.append(pgid)
    return killed


def reap(pipe: int) -> None:
    """The reaper's life: read registrations from ``pipe`` until its end, then kill
    the groups left."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    groups: dict[int, int] = {}
    with open(pipe, "rb") as lines:
        for line in lines:
            apply_line(groups, line)
    kill_groups(groups)


class GroupReaper:
    """The parent's end of one reaper: its process id and the pipe's write end."""

    def __init__(self, pid: int, pipe: int) -> None:
        self.pid = pid
        self._pipe: int | None = pipe

    @classmethod
    def start(cls) -> GroupReaper:
        """Start a reaper process; raises ``OSError`` if it cannot run here."""
        script = os.path.abspath(__file__)
        runnable = hasattr(os, "posix_spawn") and script.endswith(".py") and sys.executable
        if not os.path.isdir(_PROC) or not runnable:
            raise OSError(f"the group reaper needs {_PROC}, its source file and a python")
        read_end, write_end = os.pipe()
        try:
            pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-I", "-S", script],
                os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, read_end, 0),
                    (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                    (os.POSIX_SPAWN_DUP2, 1, 2),
                ],
                setsid=True,
            )
        except BaseException:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        return cls(pid, write_end)

    def watch(self, pgid: int, started: int | None = None) -> None:
        """Register the group led by ``pgid``, whose leader started at ``started``
        (read from ``/proc`` when not given: call it before the leader is reaped)."""
        if started is None:
            started = start_time(pgid)
        if started is not None:
            self._write(b"+%d %d\n" % (pgid, started))

    def forget(self, pgid: int) -> None:
        """The group has ended: the reaper no longer kills it."""
        self._write(b"-%d\n" % pgid)

    def close(self) -> None:
        """Close the pipe: the reaper kills the groups still registered, then exits."""
        pipe, self._pipe = self._pipe, None
        if pipe is not None:
            os.close(pipe)

    def wait(self, timeout: float) -> int | None:
        """The reaper's exit status once it has exited (collecting it), waiting up to
        ``timeout`` seconds; None if it still runs or is not this process's child."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return None
            if pid:
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() > deadline:
                return None
            time.sleep(0.01)

    def _write(self, line: bytes) -> None:
        pipe = self._pipe
        if pipe is None:
            return
        try:
            os.write(pipe, line)
        except OSError as err:  # the reaper died: carry on without it
            _debug("group reaper %d gone (%s): bash groups unguarded", self.pid, err)
            self.close()


_lock = threading.Lock()
_shared: GroupReaper | None = None
_unavailable = False


def shared() -> GroupReaper | None:
    """This process's reaper, started on first use; None where one cannot run."""
    global _shared, _unavailable
    reaper = _shared
    if reaper is not None or _unavailable:
        return reaper
    with _lock:  # starts at most once, even when the first bash apps start together
        if _shared is None and not _unavailable:
            try:
                _shared = GroupReaper.start()
            except (OSError, NotImplementedError) as err:
                _unavailable = True
                _debug("no group reaper (%s): bash commands may outlive a kill -9", err)
            else:
                atexit.register(_close_at_exit, _shared)
        return _shared


class Gate:
    """A bash command held back until its process group is registered.

    Registering right after the command starts leaves a window: a ``kill -9`` landing
    between the start and the registration (the registering thread may wait for the
    GIL for milliseconds) would leave the command unguarded. So the command first reads
    one line from a pipe of its own (``read -u FD``), written only once its group is
    registered; if this process dies before that, the read sees the end of the pipe and
    the command exits without running. Where no reaper runs, the command is unchanged.

    Use: ``Popen(gate.argv, pass_fds=gate.pass_fds, start_new_session=True, ...)``, then
    :meth:`open` with the process id; :meth:`close` in a ``finally`` in any case.
    """

    def __init__(self, command: str) -> None:
        self._reaper = shared()
        self._read: int | None = None
        self._write: int | None = None
        if self._reaper is None:
            self.argv = ["/bin/bash", "-c", command]
            self.pass_fds: tuple[int, ...] = ()
            return
        self._read, self._write = os.pipe()
        fd = self._read
        self.argv = ["/bin/bash", "-c", f"read -r -u {fd} _ || exit 1; exec {fd}<&-; {command}"]
        self.pass_fds = (fd,)

    def open(self, pgid: int) -> None:
        """Register the started command's group, then let the command run."""
        if self._reaper is not None:
            self._reaper.watch(pgid)
        write, self._write = self._write, None
        if write is not None:
            try:
                os.write(write, b"\n")
            except OSError:  # the command is gone already (cancelled while starting)
                pass
            finally:
                os.close(write)
        self.close()

    def close(self) -> None:
        """Close what is left of the pipe (the command, if started and not let run,
        then exits without running)."""
        for name in ("_read", "_write"):
            fd = getattr(self, name)
            setattr(self, name, None)
            if fd is not None:
                os.close(fd)


def forget(pgid: int) -> None:
    """Unregister a bash app's process group once it has ended."""
    reaper = _shared
    if reaper is not None:
        reaper.forget(pgid)


def _close_at_exit(reaper: GroupReaper) -> None:
    """A normal exit: the reaper ends (nothing is left registered) and is collected."""
    reaper.close()
    reaper.wait(5.0)


def _after_fork_in_child() -> None:
    """A forked child keeps no copy of the pipe: it would hold the reaper alive."""
    global _lock, _shared, _unavailable
    _lock = threading.Lock()
    if _shared is not None:
        _shared.close()
    _shared, _unavailable = None, False


def _debug(message: str, *args: object) -> None:
    # logging is imported here, not at the top: the reaper (this file run as a
    # script) would spend two thirds of its start-up importing it.
    import logging

    logging.getLogger("liuray.engine.reaper").debug(message, *args)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

if __name__ == "__main__":
    reap(0)
