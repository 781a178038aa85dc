# SPDX-License-Identifier: LGPL-2.1-or-later
"""Bash-command apps (``dlg.apps.bash_shell_app.BashShellApp`` and its variants).

The ``command`` is run with ``/bin/bash -c`` in the session directory, in its own
process group (so cancel kills the whole pipeline), with ``DLG_UID``, ``DLG_SESSION_ID``
and ``DLG_ROOT`` set for that process only. Before running, the command is completed:

* ``{name}`` placeholders naming a port become the linked drop's file path (for file
  drops) or its content as text (memory inputs); naming an application argument they
  become its value. Other braces (``${VAR}``, ``awk '{print}'``) are left alone.
* ``%i0``/``%o0`` (the older style) become the path of input/output 0, and
  ``%iDataURL0``/``%oDataURL0`` their data URLs.
* application arguments not used as placeholders are appended as
  ``<argumentPrefix><name><paramValueSeparator><value>`` (DALiuGE's defaults ``--`` and
  a space), or just the value for positional ones.

Standard output goes to the outputs that are not files; standard error is kept in the
drop's log. A non-zero exit status is an error carrying the status and the stderr tail.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from typing import Any

from liuray.engine.apps.base import AppContext, AppDrop
from liuray.engine.drops.base import DataDrop
from liuray.engine.drops.file import FileDrop
from liuray.errors import DropExecutionError
from liuray.types import DropSpec, DropUid

_PERCENT = re.compile(r"%([io])(DataURL)?\[?(\d+)\]?")
_BRACES = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.-]*)\}")
_STDERR_TAIL = 2000


class BashShellApp(AppDrop):
    """Runs a bash command; see the module docstring."""

    __slots__ = ("_process",)

    def __init__(self, uid: DropUid, spec: DropSpec, context: AppContext) -> None:
        super().__init__(uid, spec, context)
        self._process: subprocess.Popen[bytes] | None = None

    def run(self) -> None:
        command = self.command_line()
        self.log(f"$ {command}")
        for out in self.outputs:
            if isinstance(out, FileDrop):
                out.prepare()
        env = dict(os.environ)
        env.update(
            DLG_UID=self.uid,
            DLG_SESSION_ID=self.context.session_id,
            DLG_ROOT=str(self.context.session_dir.parent),
        )
        process = subprocess.Popen(
            ["/bin/bash", "-c", command],
            cwd=self.context.session_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._process = process
        if self.cancelled is not None and self.cancelled.is_set():
            self.cancel()  # cancelled while starting: kill what was just started
        try:
            stdout, stderr = process.communicate()
        finally:
            self._process = None
        if stderr:
            for line in stderr.decode("utf-8", "replace").splitlines():
                self.log(line)
        if self.cancelled is not None and self.cancelled.is_set():
            raise DropExecutionError(f"bash app {self.uid!r} was cancelled", uid=self.uid)
        if process.returncode != 0:
            tail = stderr.decode("utf-8", "replace")[-_STDERR_TAIL:].strip()
            raise DropExecutionError(
                f"command exited with status {process.returncode}: {command!r}"
                + (f"; stderr: {tail}" if tail else ""),
                uid=self.uid,
                status=process.returncode,
            )
        for out in self.outputs:
            if not isinstance(out, FileDrop) and stdout:
                out.write(stdout)

    def cancel(self) -> None:
        super().cancel()
        process = self._process
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def command_line(self) -> str:
        """The command with placeholders filled and arguments appended."""
        command = str(self.param("command", "") or "")
        if not command.strip():
            raise ValueError(f"bash app {self.uid!r} has no 'command'")
        values: dict[str, str] = {}
        for drop in [*self.inputs, *self.streaming_inputs]:
            port = self.input_ports.get(drop.uid)
            if port:
                values[port] = _as_input(drop)
        for drop in self.outputs:
            port = self.output_ports.get(drop.uid)
            if port:
                values[port] = _as_path(drop)
        arguments = self._arguments()
        for name, (value, _) in arguments.items():
            values.setdefault(name, value)
        used: set[str] = set()

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                used.add(name)
                return values[name]
            return match.group(0)

        command = _BRACES.sub(fill, command)
        extra = [
            value if positional else f"{self._prefix()}{name}{self._separator()}{value}"
            for name, (value, positional) in arguments.items()
            if name not in used
        ]
        if extra:
            command = " ".join([command, *extra])
        return _PERCENT.sub(self._percent, command)

    def _percent(self, match: re.Match[str]) -> str:
        drops = self.inputs if match.group(1) == "i" else self.outputs
        index = int(match.group(3))
        if index >= len(drops):
            raise ValueError(
                f"placeholder {match.group(0)!r} but the app has only "
                f"{len(drops)} {'inputs' if match.group(1) == 'i' else 'outputs'}"
            )
        drop = drops[index]
        return drop.data_url if match.group(2) else _as_path(drop)

    def _arguments(self) -> dict[str, tuple[str, bool]]:
        fields = self.spec.get("applicationArgs")
        if not isinstance(fields, dict):
            return {}
        arguments: dict[str, tuple[str, bool]] = {}
        for name, field in fields.items():
            if not isinstance(field, dict) or str(field.get("usage", "NoPort")) != "NoPort":
                continue
            value = field.get("value")
            if value is None or value == "":
                continue
            arguments[name] = (_text(value), bool(field.get("positional", False)))
        return arguments

    def _prefix(self) -> str:
        value = self.spec.get("argumentPrefix", "--")
        return "--" if value is None else str(value)

    def _separator(self) -> str:
        value = self.spec.get("paramValueSeparator", " ")
        return " " if value is None or value == "" else str(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_path(drop: DataDrop) -> str:
    if isinstance(drop, FileDrop):
        return str(drop.path)
    return drop.data_url


def _as_input(drop: DataDrop) -> str:
    if isinstance(drop, FileDrop):
        return str(drop.path)
    value = drop.get()
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return str(value)
