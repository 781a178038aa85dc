"""The SubGraph app: validation of its spec, and running through a nested runner.

The runner that really runs inner graphs belongs to the node manager
(tests/managers/test_nested_session.py); here a stand-in records what the app asks.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import HELLO, Context, app, data

from liuray.engine.apps.base import NestedGraph, NestedOutcome
from liuray.engine.apps.subgraph import SubGraphApp
from liuray.engine.drops.memory import MemoryDrop
from liuray.engine.local import run_graph
from liuray.engine.registry import check_builtin, resolve
from liuray.engine.states import SessionState
from liuray.errors import DropExecutionError, GraphError

SUBGRAPH = "dlg.apps.subgraph.SubGraphLocal"
INNER = {
    "nodeDataArray": [
        {"id": "in", "name": "in", "category": "Memory", "categoryType": "Data"},
        {"id": "app", "name": "app", "category": "PythonApp", "categoryType": "Application"},
        {"id": "out", "name": "out", "category": "Memory", "categoryType": "Data"},
    ],
    "linkDataArray": [],
}
PORTS = {"inputs": {"text": "in"}, "outputs": {"result": "out"}}


def subgraph_spec(**fields: Any) -> dict[str, Any]:
    return app("sub", SUBGRAPH, **{"subgraph": INNER, "subgraph_ports": PORTS, **fields})


def test_subgraphlocal_is_implemented_by_the_subgraph_app() -> None:
    assert resolve(SUBGRAPH, is_app=True) is SubGraphApp


def test_a_well_formed_spec_passes_validation_as_an_object_or_as_json_text() -> None:
    check_builtin(SUBGRAPH, is_app=True, spec=subgraph_spec())
    check_builtin(SUBGRAPH, is_app=True, spec=subgraph_spec(subgraph=json.dumps(INNER)))


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"subgraph": None}, "'subgraph' must be the inner logical graph as EAGLE JSON"),
        ({"subgraph": [1, 2]}, "got list"),
        ({"subgraph": "{not json"}, "'subgraph' is a string but not JSON"),
        ({"subgraph": {"nodes": []}}, "'subgraph' is not a valid logical graph: EAGLE schema"),
        (
            {"subgraph_ports": {"inputs": {"text": "nowhere"}}},
            "input port 'text' names inner node 'nowhere', which is not in the inner graph",
        ),
        (
            {"subgraph_ports": {"outputs": {"result": "app"}}},
            "output port 'result' names inner node 'app' ('app'), a Application node; it "
            "must be a Data node",
        ),
        (
            {"subgraph_ports": {"inputs": {"a": "in", "b": "in"}}},
            "inner node(s) ['in'] receive more than one input port",
        ),
        ({"subgraph_ports": ["in"]}, "'subgraph_ports' must be {'inputs'"),
        ({"subgraph_ports": {"inputs": {"a": ["in"]}}}, "must map port names to inner node ids"),
        (
            {"outputs": [{"o": "elsewhere"}]},
            "output port 'elsewhere' is not in subgraph_ports['outputs'] (mapped: ['result'])",
        ),
    ],
)
def test_a_malformed_spec_is_refused_at_validation(fields: dict[str, Any], expected: str) -> None:
    with pytest.raises(GraphError) as caught:
        check_builtin(SUBGRAPH, is_app=True, spec=subgraph_spec(**fields))

    assert str(caught.value).startswith(f"{SUBGRAPH}: ")
    assert expected in str(caught.value)


def test_without_a_nested_runner_the_app_fails_saying_where_to_run_it(tmp_path: Path) -> None:
    """A bare engine session (the engine's run_graph without nested=) has no node
    manager to hold a nested session: the app fails with that reason, and its output."""
    result = run_graph(
        [
            app("hello", HELLO, outputs=[{"greeting": "text"}]),
            data("greeting"),
            subgraph_spec(inputs=[{"greeting": "text"}], outputs=[{"shout": "result"}]),
            data("shout"),
        ],
        session_dir=tmp_path,
    )

    assert result.state is SessionState.FAILED
    reason = dict(result.failures)["sub"]
    assert reason.startswith("DropExecutionError: SubGraph app 'sub' runs its inner graph")
    assert "liuray.run() or `liuray run`" in reason and "liuray serve" in reason


class Recorded:
    """A nested run that ends when told to (``finish``) or cancelled."""

    session_id = "outer@sub"

    def __init__(self, request: NestedGraph) -> None:
        self.request = request
        self.state = ""
        self.cancels = 0
        self.ended = threading.Event()

    def finish(self, state: str) -> None:
        self.state = state
        self.ended.set()

    def wait(self) -> NestedOutcome:
        self.ended.wait()
        failures = (("upper", "1_up_0", "ValueError: no"),) if self.state == "failed" else ()
        return NestedOutcome(self.session_id, self.state, failures)

    def cancel(self) -> None:
        self.cancels += 1
        self.finish("cancelled")


class Runner:
    """Records the nested runs it was asked to start."""

    def __init__(self) -> None:
        self.started: list[Recorded] = []
        self.ready = threading.Event()

    def start(self, request: NestedGraph) -> Recorded:
        self.started.append(Recorded(request))
        self.ready.set()
        return self.started[-1]


def wired_app(tmp_path: Path, runner: Runner | None) -> SubGraphApp:
    context = Context(tmp_path)
    context.nested = runner  # type: ignore[attr-defined]
    made = SubGraphApp("sub", subgraph_spec(), context)  # type: ignore[arg-type]
    made.inputs = [MemoryDrop("greeting", {}, context)]  # type: ignore[arg-type]
    made.outputs = [MemoryDrop("shout", {}, context)]  # type: ignore[arg-type]
    made.input_ports = {"greeting": "text"}
    made.output_ports = {"shout": "result"}
    return made


def run_in_thread(made: SubGraphApp) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            made.run()
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=target)
    thread.start()
    return thread, errors


def ended_as(tmp_path: Path, state: str) -> tuple[Runner, SubGraphApp, list[BaseException]]:
    """Run the app until its nested run started, end that run in ``state``."""
    runner = Runner()
    made = wired_app(tmp_path, runner)
    thread, errors = run_in_thread(made)
    assert runner.ready.wait(10)
    runner.started[0].finish(state)
    thread.join(10)
    return runner, made, errors


def test_the_app_asks_for_its_ports_inner_nodes(tmp_path: Path) -> None:
    """The request maps each outer drop to the inner node its port names."""
    runner, _, errors = ended_as(tmp_path, "finished")

    request = runner.started[0].request
    assert (request.app_uid, request.graph) == ("sub", INNER)
    assert {node: drop.uid for node, drop in request.inputs.items()} == {"in": "greeting"}
    assert [(node, drop.uid) for node, drop in request.outputs] == [("out", "shout")]
    assert errors == []


def test_an_inner_failure_is_reported_with_its_root_cause(tmp_path: Path) -> None:
    _, made, errors = ended_as(tmp_path, "failed")

    assert [type(err) for err in errors] == [DropExecutionError]
    assert str(errors[0]) == (
        "nested session 'outer@sub' failed: inner drop 'upper' (1_up_0) failed: ValueError: no"
    )
    assert "inner drop 'upper' (1_up_0) failed: ValueError: no" in (made.logs or [])


def test_cancelling_the_app_cancels_its_nested_run(tmp_path: Path) -> None:
    runner = Runner()
    made = wired_app(tmp_path, runner)
    thread, errors = run_in_thread(made)
    assert runner.ready.wait(10)

    made.cancel()
    thread.join(10)

    assert runner.started[0].cancels >= 1
    assert str(errors[0]) == "nested session 'outer@sub' ended cancelled"


def test_an_app_cancelled_before_it_runs_starts_nothing(tmp_path: Path) -> None:
    runner = Runner()
    made = wired_app(tmp_path, runner)
    made.cancel()

    with pytest.raises(DropExecutionError, match="was cancelled"):
        made.run()

    assert runner.started == []


def test_an_outer_drop_on_an_unmapped_port_fails_the_app(tmp_path: Path) -> None:
    """The port name came from the data drop's side, so validation could not see it."""
    runner = Runner()
    made = wired_app(tmp_path, runner)
    made.output_ports = {"shout": "other"}

    with pytest.raises(GraphError, match=r"comes through port 'other', which subgraph_ports"):
        made.run()

    assert runner.started == []
