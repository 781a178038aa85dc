"""Fixtures for engine tests: machines that check their own invariants."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from liuray.engine.events import Event, Instruction
from liuray.engine.machine import DropNode, SessionMachine, link_check


class CheckedMachine(SessionMachine):
    """A session machine that validates its bookkeeping after every ``handle``."""

    def handle(self, *events: Event) -> list[Instruction]:
        out = super().handle(*events)
        self.check_invariants()
        return out


AppWiring = tuple[str, str]
MachineFactory = Callable[..., CheckedMachine]


def wire(
    apps: Mapping[str, AppWiring],
    app_options: Mapping[str, Mapping[str, Any]] | None = None,
    data_options: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[DropNode]:
    """Drop nodes for ``apps`` given as ``{uid: ("in1 in2", "out1")}``.

    Data drops are every uid named as an input or output (plus those in
    ``data_options``); their producers and consumers are derived from the apps.
    """
    app_options = app_options or {}
    data_options = data_options or {}
    producers: dict[str, list[str]] = {uid: [] for uid in data_options}
    consumers: dict[str, list[str]] = {uid: [] for uid in data_options}
    nodes = []
    for uid, (inputs, outputs) in apps.items():
        for data in inputs.split():
            consumers.setdefault(data, []).append(uid)
            producers.setdefault(data, [])
        for data in outputs.split():
            producers.setdefault(data, []).append(uid)
            consumers.setdefault(data, [])
        nodes.append(DropNode.app(uid, inputs.split(), outputs.split(), **app_options.get(uid, {})))
    for uid in producers:
        nodes.append(
            DropNode.data(uid, producers[uid], consumers[uid], **data_options.get(uid, {}))
        )
    link_check(nodes)
    return nodes


@pytest.fixture
def machine() -> Iterator[MachineFactory]:
    """Build a :class:`CheckedMachine` from :func:`wire`'s arguments.

    Invariants are checked after construction, after every ``handle`` and again on
    teardown (as distributed's ``ws`` fixture does for its worker state).
    """
    built: list[CheckedMachine] = []

    def build(
        apps: Mapping[str, AppWiring],
        app_options: Mapping[str, Mapping[str, Any]] | None = None,
        data_options: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> CheckedMachine:
        made = CheckedMachine(wire(apps, app_options, data_options))
        made.check_invariants()
        built.append(made)
        return made

    yield build
    for made in built:
        made.check_invariants()
