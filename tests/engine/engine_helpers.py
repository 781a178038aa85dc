"""Helpers shared by the engine tests: a stand-in session context and spec builders."""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path
from typing import Any

HELLO = "dlg.apps.simple.HelloWorldApp"
COPY = "dlg.apps.simple.CopyApp"
SLEEP = "dlg.apps.simple.SleepApp"
BASH = "dlg.apps.bash_shell_app.BashShellApp"
PYFUNC = "dlg.apps.pyfunc.PyFuncApp"
MEMORY = "dlg.data.drops.memory.InMemoryDROP"


class Context:
    """The little a drop or app needs from its session; records first writes."""

    def __init__(self, directory: Path, session_id: str = "test") -> None:
        self.session_id = session_id
        self.session_dir = directory
        self.process_pool: Executor | None = None
        self.written: list[str] = []

    def data_written(self, uid: str) -> None:
        self.written.append(uid)


def app(oid: str, dropclass: str, **fields: Any) -> dict[str, Any]:
    """An application drop spec."""
    return {"oid": oid, "categoryType": "Application", "dropclass": dropclass, **fields}


def data(oid: str, dropclass: str = MEMORY, **fields: Any) -> dict[str, Any]:
    """A data drop spec (in memory unless told otherwise)."""
    return {"oid": oid, "categoryType": "Data", "dropclass": dropclass, **fields}
