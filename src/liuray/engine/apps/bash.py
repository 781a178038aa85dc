# SPDX-License-Identifier: LGPL-2.1-or-later
"""Bash-command apps (``dlg.apps.bash_shell_app.BashShellApp`` and its variants).

The ``command`` is run with ``/bin/bash -c`` in the session directory, in its own
process group (so cancel kills the whole pipeline, and so does the group reaper,
``engine/reaper.py``, if this process is killed by SIGKILL), with ``DLG_UID``,
``DLG_SESSION_ID`` and ``DLG_ROOT`` set for that process only. The command is
``command``, after any ``Arg01``..``Arg10`` of older graphs (refused by
:meth:`BashShellApp.check_spec` when there is none). Before running, it is completed as
DALiuGE 6.6.0 does (the rules with examples are in docs/parameter-rules.md):

* ``{port}`` becomes the linked drop's file path (file drops) or its value read per the
  port field's encoding (memory inputs); ``{uid}`` of a linked file drop its path.
  Everything that comes from *data* - paths and input values, here and in ``%i``/``%o``
  - is shell-quoted when it needs it (``shlex.quote``: a plain path is left as it is),
  so data can never run as commands; don't put quotes around such a placeholder.
  Application arguments are written by the graph's author and go in as they are.
* ``{name}`` of an application argument becomes ``str(value)``; empty, None and False
  values leave the placeholder alone unless the field is ``precious``. Other braces
  (``${VAR}``, ``awk '{print}'``) are left alone.
* the older ``%i0``/``%o0``/``%i[uid]`` become paths and ``%iDataURL0`` data URLs
  (6.6.0 no longer replaces them; liuray keeps them for older graphs).
* arguments not used as placeholders are appended, as older DALiuGE did, only for
  graphs that carry ``argumentPrefix`` or ``paramValueSeparator``:
  ``<argumentPrefix><name><paramValueSeparator><value>`` (defaults ``--`` and a
  space), positional ones bare. DALiuGE 6.6.0 appends nothing.

Standard output goes to the outputs that are not files; standard error is kept in the
drop's log. A non-zero exit status is an error carrying the status and the stderr tail.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from shlex import quote
from typing import Any

from liuray.engine import reaper
from liuray.engine.apps.base import AppContext, AppDrop, port_links
from liuray.engine.codec import ENCODINGS
from liuray.engine.drops.base import DataDrop
from liuray.engine.drops.file import FileDrop
from liuray.engine.params import as_bool, field_named, param
from liuray.errors import DropExecutionError
from liuray.types import DropSpec, DropUid

_PERCENT = re.compile(r"%([io])(DataURL)?(?:\[([^\]\s]+)\]|(\d+))")
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
        # Held back until its group is registered with the reaper, which kills it
        # should this process be killed (engine/reaper.py).
        gate = reaper.Gate(command)
        try:
            process = subprocess.Popen(
                gate.argv,
                cwd=self.context.session_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                pass_fds=gate.pass_fds,
            )
            gate.open(process.pid)
        finally:
            gate.close()
        self._process = process
        if self.cancelled is not None and self.cancelled.is_set():
            self.cancel()  # cancelled while starting: kill what was just started
        try:
            stdout, stderr = process.communicate()
        finally:
            self._process = None
            reaper.forget(process.pid)
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

    @classmethod
    def check_spec(cls, spec: DropSpec) -> None:
        """Refuse a bash app that has no command (``command`` or ``Arg01``..``Arg10``)."""
        if not command_text(spec).strip():
            raise ValueError(
                "bash app has no command: set its 'command' parameter (or, in older "
                "graphs, Arg01..Arg10) to the command line to run"
            )

    def command_line(self) -> str:
        """The command with placeholders filled (and, for older graphs, arguments
        appended)."""
        command = command_text(self.spec)
        if not command.strip():
            raise ValueError(f"bash app {self.uid!r} has no 'command'")
        values: dict[str, str] = {}
        for drop in [*self.inputs, *self.outputs]:
            if isinstance(drop, FileDrop):
                values[drop.uid] = quote(str(drop.path))  # DALiuGE's {uid} placeholders
        arguments = self._arguments()
        for name, (value, _) in arguments.items():
            values[name] = value
        values.update(self._port_fallbacks())
        for port, drop in port_links([*self.inputs, *self.streaming_inputs], self.input_ports):
            text = self._as_input(drop, port) if port else None
            if port and text is not None:
                values[port] = quote(text)
        for port, drop in self.output_links():
            if port:
                values[port] = quote(_as_path(drop))
        used: set[str] = set()

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                used.add(name)
                return values[name]
            return match.group(0)

        command = _BRACES.sub(fill, command)
        if self._appends_arguments():
            extra = [
                value if positional else f"{self._prefix()}{name}{self._separator()}{value}"
                for name, (value, positional) in arguments.items()
                if name not in used and value != ""
            ]
            command = " ".join([command, *extra])
        return _PERCENT.sub(self._percent, command)

    def _percent(self, match: re.Match[str]) -> str:
        """``%i0``/``%o0`` (by position) or ``%i[key]`` (by uid, else port name; a number
        is a position)."""
        is_input = match.group(1) == "i"
        drops = self.inputs if is_input else self.outputs
        key = match.group(3) or match.group(4)
        by_uid = [drop for drop in drops if drop.uid == key]
        by_port = None if by_uid else (self.input_named if is_input else self.output_named)(key)
        if by_uid:
            drop = by_uid[0]
        elif by_port is not None:
            drop = by_port
        elif key.isdigit() and int(key) < len(drops):
            drop = drops[int(key)]
        else:
            raise ValueError(
                f"placeholder {match.group(0)!r} names no {'input' if is_input else 'output'}"
                f" of bash app {self.uid!r}: use a position below {len(drops)} or one of "
                f"the uids {[drop.uid for drop in drops]}"
            )
        return quote(drop.data_url if match.group(2) else _as_path(drop))

    def _arguments(self) -> dict[str, tuple[str, bool]]:
        """Application arguments as text: empty, None and False values are left out
        unless ``precious`` (then written as ``str`` gives them)."""
        fields = self.spec.get("applicationArgs")
        if not isinstance(fields, dict):
            return {}
        arguments: dict[str, tuple[str, bool]] = {}
        for name, field in fields.items():
            if not isinstance(field, dict) or str(field.get("usage", "NoPort")) != "NoPort":
                continue
            value = field.get("value")
            if (value is None or value is False or value == "") and not as_bool(
                field.get("precious")
            ):
                continue
            text = _text(value) if self._appends_arguments() else str(value)
            arguments[name] = (text, as_bool(field.get("positional")))
        return arguments

    def _port_fallbacks(self) -> dict[str, str]:
        """Input port arguments' own values, used when the linked drop gives none
        (DALiuGE 6.6.0 keeps an argument's value when its port's is None or empty)."""
        fields = self.spec.get("applicationArgs")
        if not isinstance(fields, dict):
            return {}
        fallbacks = {}
        for name, field in fields.items():
            if not isinstance(field, dict):
                continue
            if str(field.get("usage", "NoPort")) not in ("InputPort", "InputOutput"):
                continue
            value = field.get("value")
            if value is not None and value is not False and value != "":
                fallbacks[name] = _text(value)
        return fallbacks

    def _as_input(self, drop: DataDrop, port: str) -> str | None:
        """An input's placeholder text: a file's path, else its value read per the
        port field's encoding (None and "" leave the placeholder alone)."""
        if isinstance(drop, FileDrop):
            return str(drop.path)
        field = field_named(self.spec, port)
        encoding = str(field.get("encoding") or "") if field else ""
        if encoding.lower() in ("path", "dataurl"):
            return drop.data_url
        value = drop.get(encoding if encoding.lower() in ENCODINGS else None)
        if isinstance(value, bytes | bytearray):
            value = bytes(value).decode("utf-8", "replace")
        if value is None:
            return None
        # Trailing newlines go, as in the shell's own $(...): "20\n" from an upstream
        # echo is the word 20 (then not even quoted), not a string with a newline.
        text = str(value).rstrip("\n")
        return text or None

    def _appends_arguments(self) -> bool:
        """Older graphs (their bash palette has argumentPrefix/paramValueSeparator)
        expect unused arguments appended; DALiuGE 6.6.0 appends nothing."""
        return any(
            param(self.spec, key) is not None for key in ("argumentPrefix", "paramValueSeparator")
        ) or any(key in self.spec for key in ("argumentPrefix", "paramValueSeparator"))

    def _prefix(self) -> str:
        value = self.spec.get("argumentPrefix", param(self.spec, "argumentPrefix", "--"))
        return "--" if value is None else str(value)

    def _separator(self) -> str:
        value = self.spec.get("paramValueSeparator", param(self.spec, "paramValueSeparator"))
        return " " if value is None or value == "" else str(value)


#: Where older graphs keep the command: Arg01..Arg10 (joined in order), then these.
_COMMAND_PARTS = (
    *(f"Arg{index:02d}" for index in range(1, 11)),
    "command",
    "input_redirection",
    "output_redirection",
    "command_line_arguments",
)


def command_text(spec: DropSpec) -> str:
    """The command of a bash app: ``command``, after any older ``Arg01``..``Arg10``.

    >>> command_text({"Arg01": "echo", "Arg02": "hi", "command": ""})
    'echo hi'
    """
    parts = []
    for key in _COMMAND_PARTS:
        value = param(spec, key)
        if value is None and key.startswith("Arg"):
            value = param(spec, key.lower())
        if value is not None and str(value).strip():
            parts.append(str(value).strip() if key != "command" else str(value))
    return " ".join(parts)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _as_path(drop: DataDrop) -> str:
    if isinstance(drop, FileDrop):
        return str(drop.path)
    return drop.data_url
