# SPDX-License-Identifier: LGPL-2.1-or-later
"""The SubGraph app (``dlg.apps.subgraph.SubGraphLocal``): an inner graph run as a
nested session of the same node manager.

DALiuGE turns a SubGraph construct into this app, carrying the inner logical graph. Its
own SubGraphLocal starts a new node manager (port 8080) and island manager (8081)
inside the app, polls them, and passes no data in or out. liuray's runs the inner graph
on the node manager that runs the app, opens no port and moves the data:

State:
    The spec: ``subgraph``, the inner logical graph as EAGLE JSON; ``subgraph_ports``,
    ``{"inputs": {port: inner node id}, "outputs": {port: inner node id}}``. While it
    runs, the app holds the :class:`~liuray.engine.apps.base.NestedRun` it started (for
    :meth:`SubGraphApp.cancel`); nothing else.

Policy:
    * each outer input's content goes to every drop of the inner *data* node its port
      names, which are completed before the inner graph starts (its roots, as DALiuGE's
      ``completedDrops``);
    * once the inner graph finished, the single drop of the node each output port names
      is copied to the outer output;
    * an inner failure fails the app with the inner root cause (drop name, uid, reason);
      cancelling the app (or its session, or a timeout) cancels the nested session;
    * the runner comes from the context (:attr:`AppContext.nested`): node managers give
      one; a bare engine session has none and the app fails saying where to run it.

A malformed ``subgraph`` or ``subgraph_ports`` is refused when the graph is validated
(:meth:`SubGraphApp.check_spec`), before anything runs.

>>> SubGraphApp.check_spec({"subgraph": {"nodeDataArray": [
...     {"id": "d", "name": "x", "categoryType": "Data", "category": "Memory"}]},
...     "subgraph_ports": {"inputs": {"x": "d"}, "outputs": {}}})
>>> SubGraphApp.check_spec({"subgraph": {"nodeDataArray": []},
...     "subgraph_ports": {"inputs": {"x": "nowhere"}}})
Traceback (most recent call last):
...
ValueError: subgraph_ports: input port 'x' names inner node 'nowhere', which is not in ...
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from liuray.engine.apps.base import AppDrop, NestedGraph, NestedOutcome, NestedRun
from liuray.engine.drops.base import DataDrop
from liuray.errors import DropExecutionError, GraphError
from liuray.graph.logical import LogicalGraph, load_logical_graph
from liuray.types import DropSpec, DropUid

_DIRECTIONS = ("inputs", "outputs")
_SHOWN_FAILURES = 5


class SubGraphApp(AppDrop):
    """Runs ``subgraph`` as a nested session (see the module docstring)."""

    __slots__ = ("_nested",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._nested: NestedRun | None = None

    @classmethod
    def check_spec(cls, spec: DropSpec) -> None:
        """Refuse a ``subgraph`` that is no logical graph, or ``subgraph_ports`` naming
        an inner node that is missing or no data node.

        Raises:
            ValueError: naming the field and what would be valid.
        """
        graph = _inner_graph(spec)
        ports = _ports(spec)
        for direction in _DIRECTIONS:
            for port, node_id in ports[direction].items():
                _check_node(graph, direction[:-1], port, node_id)
        targets = list(ports["inputs"].values())
        doubled = sorted({node for node in targets if targets.count(node) > 1})
        if doubled:
            raise ValueError(
                f"subgraph_ports: inner node(s) {doubled} receive more than one input port; "
                "map each input port to its own inner data node"
            )
        for direction in _DIRECTIONS:
            for port in _named_ports(spec.get(direction)):
                if port not in ports[direction]:
                    raise ValueError(
                        f"{direction[:-1]} port {port!r} is not in subgraph_ports"
                        f"[{direction!r}] (mapped: {sorted(ports[direction])}); say which "
                        "inner node it stands for"
                    )

    def run(self) -> Iterable[DropUid] | None:
        """Start the nested session, wait for its end, report it (module docstring)."""
        runner = getattr(self.context, "nested", None)  # contexts made by hand lack it
        if runner is None:
            raise DropExecutionError(
                f"SubGraph app {self.uid!r} runs its inner graph as a nested session of a "
                "node manager, and this session has none (a bare engine session): run the "
                "graph with liuray.run() or `liuray run`, which give it one, or on a server "
                "(liuray serve, then liuray submit)",
                uid=self.uid,
            )
        request = self._request()
        if self.cancel_event().is_set():
            raise DropExecutionError(f"SubGraph app {self.uid!r} was cancelled", uid=self.uid)
        nested = runner.start(request)
        self._nested = nested
        if self.cancel_event().is_set():  # cancel() ran before it could see the run
            nested.cancel()
        self.log(f"running the inner graph as nested session {nested.session_id!r}")
        try:
            outcome = nested.wait()
        finally:
            self._nested = None
        self.log(f"nested session {outcome.session_id!r} {outcome.state}")
        self._note(outcome)
        if outcome.state != "finished":
            raise DropExecutionError(_failure_message(outcome), uid=self.uid)
        return None

    def cancel(self) -> None:
        """Stop the nested session (it ends CANCELLED; :meth:`run` then fails)."""
        super().cancel()  # first: run() looks at the flag after publishing its run
        nested = self._nested
        if nested is not None:
            nested.cancel()

    def _request(self) -> NestedGraph:
        ports = _ports(self.spec)
        inputs: dict[str, DataDrop] = {}
        outputs: list[tuple[str, DataDrop]] = []
        for drop in self.inputs:
            inputs[_mapped(ports, "inputs", self.input_ports.get(drop.uid), drop.uid)] = drop
        for drop in self.outputs:
            node_id = _mapped(ports, "outputs", self.output_ports.get(drop.uid), drop.uid)
            outputs.append((node_id, drop))
        return NestedGraph(self.uid, _raw_graph(self.spec), inputs, outputs)

    def _note(self, outcome: NestedOutcome) -> None:
        for name, uid, error in outcome.failures:
            self.log(f"inner drop {name!r} ({uid}) failed: {error}")


def _failure_message(outcome: NestedOutcome) -> str:
    if not outcome.failures:
        return f"nested session {outcome.session_id!r} ended {outcome.state}"
    name, uid, error = outcome.failures[0]
    more = len(outcome.failures) - 1
    also = f" (and {more} more inner drop(s) in error)" if more else ""
    return (
        f"nested session {outcome.session_id!r} {outcome.state}: inner drop {name!r} "
        f"({uid}) failed: {error}{also}"
    )


def _raw_graph(spec: DropSpec) -> dict[str, Any]:
    raw = spec.get("subgraph")
    if isinstance(raw, str):  # EAGLE fields may carry it as JSON text
        try:
            raw = json.loads(raw)
        except ValueError as err:
            raise ValueError(f"'subgraph' is a string but not JSON: {err}") from None
    if not isinstance(raw, dict):
        raise ValueError(
            "'subgraph' must be the inner logical graph as EAGLE JSON (an object with "
            f"'nodeDataArray' and 'linkDataArray'), got {type(raw).__name__}"
        )
    return raw


def _inner_graph(spec: DropSpec) -> LogicalGraph:
    try:
        return load_logical_graph(_raw_graph(spec))
    except GraphError as err:
        raise ValueError(f"'subgraph' is not a valid logical graph: {err.message}") from None


def _ports(spec: DropSpec) -> dict[str, dict[str, str]]:
    raw = spec.get("subgraph_ports")
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ValueError(
            "'subgraph_ports' must be {'inputs': {port: inner node id}, 'outputs': "
            f"{{port: inner node id}}}}, got {type(raw).__name__}"
        )
    ports: dict[str, dict[str, str]] = {}
    for direction in _DIRECTIONS:
        mapping = raw.get(direction) or {}
        if not isinstance(mapping, Mapping) or not all(
            isinstance(node, str | int) and not isinstance(node, bool) for node in mapping.values()
        ):
            raise ValueError(
                f"subgraph_ports[{direction!r}] must map port names to inner node ids, "
                f"got {mapping!r}"
            )
        ports[direction] = {str(port): str(node) for port, node in mapping.items()}
    return ports


def _check_node(graph: LogicalGraph, kind: str, port: str, node_id: str) -> None:
    node = graph.nodes.get(node_id)
    if node is None:
        raise ValueError(
            f"subgraph_ports: {kind} port {port!r} names inner node {node_id!r}, which is "
            f"not in the inner graph; its nodes are {sorted(graph.nodes)[:20]}"
        )
    if node.category_type != "Data":
        raise ValueError(
            f"subgraph_ports: {kind} port {port!r} names inner node {node_id!r} "
            f"({node.name!r}), a {node.category_type or node.category} node; it must be a "
            "Data node (its drops hold the content)"
        )


def _named_ports(entries: object) -> list[str]:
    """The port names an app's own ``inputs``/``outputs`` entries give (``{oid: port}``)."""
    if not isinstance(entries, list):
        return []
    return [str(port) for entry in entries if isinstance(entry, dict) for port in entry.values()]


def _mapped(
    ports: Mapping[str, Mapping[str, str]], direction: str, port: str | None, uid: DropUid
) -> str:
    node_id = ports[direction].get(port) if port is not None else None
    if node_id is None:
        raise GraphError(
            f"{direction[:-1]} {uid!r} of the SubGraph app comes through port {port!r}, which "
            f"subgraph_ports[{direction!r}] does not map (mapped: {sorted(ports[direction])})",
            uid=uid,
        )
    return node_id
