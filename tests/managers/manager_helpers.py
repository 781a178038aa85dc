"""Graph builders and small helpers shared by the manager tests.

Imported by name (``from manager_helpers import app_spec``) and through the fixtures of
``conftest.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from liuray.engine.states import SESSION_TRANSITIONS, SessionState

Spec = dict[str, Any]
MEMORY = "dlg.data.drops.memory.InMemoryDROP"
FILE = "dlg.data.drops.file.FileDROP"


def app_spec(
    oid: str,
    cls: str = "CopyApp",
    *,
    inputs: tuple[str, ...] = (),
    outputs: tuple[str, ...] = (),
    node: str | None = None,
    **params: Any,
) -> Spec:
    """An app spec; ``cls`` is a name in ``dlg.apps.simple`` or a full dropclass."""
    dropclass = cls if "." in cls else f"dlg.apps.simple.{cls}"
    spec: Spec = {"oid": oid, "categoryType": "Application", "dropclass": dropclass, **params}
    if inputs:
        spec["inputs"] = list(inputs)
    if outputs:
        spec["outputs"] = list(outputs)
    if node is not None:
        spec["node"] = node
    return spec


def data_spec(oid: str, *, node: str | None = None, file: bool = False, **params: Any) -> Spec:
    """A memory (or file) data drop spec."""
    spec: Spec = {"oid": oid, "categoryType": "Data", "dropclass": FILE if file else MEMORY}
    spec.update(params)
    if node is not None:
        spec["node"] = node
    return spec


def reachable(start: SessionState, end: SessionState) -> bool:
    """Whether the session transition table leads from ``start`` to ``end``.

    A request may make several moves (a deploy: DEPLOYING, then RUNNING), so tests that
    watch states from outside check reachability, not single steps.
    """
    seen: set[SessionState] = set()
    todo = [start]
    while todo:
        for state in SESSION_TRANSITIONS[todo.pop()]:
            if state not in seen:
                seen.add(state)
                todo.append(state)
    return end in seen


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` every few milliseconds; True as soon as it holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
