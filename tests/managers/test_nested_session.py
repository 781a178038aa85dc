"""SubGraph apps run their inner graph as a nested session of the same node manager."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from liuray.engine.apps.subgraph import SubGraphApp
from liuray.engine.states import DropState, SessionState
from liuray.errors import GraphError
from liuray.managers.island import IslandManager
from liuray.managers.nested import nested_session_id
from liuray.managers.node import NodeManager, check_session_id

Spec = dict[str, Any]
SUBGRAPH = "dlg.apps.subgraph.SubGraphLocal"
MEMORY = "dlg.data.drops.memory.InMemoryDROP"
FILE = "dlg.data.drops.file.FileDROP"
PYFUNC = "dlg.apps.pyfunc.PyFuncApp"
_S = SessionState


# ---------------------------------------------------------------- an EAGLE inner graph


def _port(field_id: str, name: str, usage: str) -> Spec:
    return {"id": field_id, "name": name, "usage": usage, "value": "", "type": "Object"}


def _field(field_id: str, name: str, value: Any) -> Spec:
    return {"id": field_id, "name": name, "value": value, "usage": "NoPort"}


def eagle_data(node_id: str, name: str, category: str = "Memory") -> Spec:
    """A data node (in memory unless told otherwise) with one port, ``text``."""
    return {
        "id": node_id,
        "name": name,
        "category": category,
        "categoryType": "Data",
        "fields": [_port(f"{node_id}-p", "text", "InputOutput")],
    }


def eagle_app(node_id: str, name: str, dropclass: str, **params: Any) -> Spec:
    """An application node reading port ``text`` and writing port ``text``."""
    fields = [_field(f"{node_id}-c", "dropclass", dropclass)]
    fields += [_field(f"{node_id}-{key}", key, value) for key, value in params.items()]
    fields += [
        _port(f"{node_id}-i", "text", "InputPort"),
        _port(f"{node_id}-o", "text", "OutputPort"),
    ]
    return {
        "id": node_id,
        "name": name,
        "category": "PyFuncApp",
        "categoryType": "Application",
        "fields": fields,
    }


def eagle_link(source: str, target: str) -> Spec:
    source_port = f"{source}-o" if source in ("up", "copy") else f"{source}-p"
    target_port = f"{target}-i" if target in ("up", "copy") else f"{target}-p"
    return {"from": source, "fromPort": source_port, "to": target, "toPort": target_port}


def inner_graph(
    upper: str = "builtins.bytes.upper", copy: Spec | None = None, out: str = "Memory"
) -> Spec:
    """in -> upper (a Python function) -> mid -> copy -> out (in memory, or a file)."""
    copier = copy or eagle_app("copy", "copy", "dlg.apps.simple.CopyApp")
    return {
        "modelData": {"filePath": "inner.graph"},
        "nodeDataArray": [
            eagle_data("in", "text in"),
            eagle_app("up", "upper", PYFUNC, func_name=upper),
            eagle_data("mid", "shouted"),
            copier,
            eagle_data("out", "text out", out),
        ],
        "linkDataArray": [
            eagle_link("in", "up"),
            eagle_link("up", "mid"),
            eagle_link("mid", "copy"),
            eagle_link("copy", "out"),
        ],
    }


def outer_graph(inner: Spec, **sub: Any) -> list[Spec]:
    """hello -> greeting -> sub (the inner graph) -> shout."""
    return [
        {
            "oid": "hello",
            "categoryType": "Application",
            "dropclass": "dlg.apps.simple.HelloWorldApp",
            "outputs": [{"greeting": "text"}],
        },
        {"oid": "greeting", "categoryType": "Data", "dropclass": MEMORY},
        {
            "oid": "sub",
            "name": "SubGraph",
            "categoryType": "Application",
            "dropclass": SUBGRAPH,
            "subgraph": inner,
            "subgraph_ports": {"inputs": {"text": "in"}, "outputs": {"result": "out"}},
            "inputs": [{"greeting": "text"}],
            "outputs": [{"shout": "result"}],
            **sub,
        },
        {"oid": "shout", "categoryType": "Data", "dropclass": MEMORY},
    ]


def start(manager: NodeManager, session_id: str, specs: list[Spec]) -> None:
    manager.create_session(session_id)
    manager.append_graph(session_id, specs)
    manager.deploy(session_id)
    manager.trigger(session_id)


def wait_end(manager: NodeManager, session_id: str) -> SessionState:
    run = manager._sessions[session_id].run
    assert run is not None and run.wait(10)
    return run.state


def app_of(manager: NodeManager, session_id: str, uid: str) -> SubGraphApp:
    run = manager._sessions[session_id].run
    assert run is not None
    app = run.drops[uid]
    assert isinstance(app, SubGraphApp)
    return app


# ---------------------------------------------------------------- tests


def test_the_inner_graph_runs_with_data_in_and_out(node_manager: NodeManager) -> None:
    """hello writes "Hello World"; the SubGraph app runs in -> upper -> copy -> out as a
    nested session of the same node manager, and "HELLO WORLD" comes back out into the
    outer drop. The nested session is forgotten once it ended, and the app's log names
    it."""
    start(node_manager, "outer", outer_graph(inner_graph()))

    assert wait_end(node_manager, "outer") is _S.FINISHED
    run = node_manager._sessions["outer"].run
    assert run is not None
    assert run.drops["shout"].get() == b"HELLO WORLD"  # type: ignore[union-attr]
    assert node_manager.session_ids() == ["outer"]
    app = app_of(node_manager, "outer", "sub")
    assert any("nested session 'outer@sub'" in line for line in app.logs or ())


def test_the_nested_session_is_held_by_the_same_node_manager_while_it_runs(
    node_manager: NodeManager, until: Callable[..., bool]
) -> None:
    """While the inner graph runs, the node manager lists the nested session (no other
    manager was started); cancelling the outer session cancels it, and it is gone."""
    sleeper = eagle_app("copy", "sleep", "dlg.apps.simple.SleepApp", sleep_time=60)
    start(node_manager, "outer", outer_graph(inner_graph(copy=sleeper)))

    assert until(lambda: "outer@sub" in node_manager.session_ids())
    assert node_manager.session_status("outer@sub") is _S.RUNNING
    node_manager.cancel_session("outer")

    assert wait_end(node_manager, "outer") is _S.CANCELLED
    assert until(lambda: node_manager.session_ids() == ["outer"])


def test_cancelling_the_app_cancels_the_nested_session(
    node_manager: NodeManager, until: Callable[..., bool]
) -> None:
    """The app itself is cancelled (as a timeout does): the nested session ends
    CANCELLED and the app fails saying so."""
    sleeper = eagle_app("copy", "sleep", "dlg.apps.simple.SleepApp", sleep_time=60)
    start(node_manager, "outer", outer_graph(inner_graph(copy=sleeper)))
    assert until(lambda: "outer@sub" in node_manager.session_ids())

    app_of(node_manager, "outer", "sub").cancel()

    assert wait_end(node_manager, "outer") is _S.FAILED
    failures = dict(node_manager.failures("outer"))
    assert "nested session 'outer@sub' ended cancelled" in failures["sub"]
    assert node_manager.session_ids() == ["outer"]


def test_an_inner_failure_fails_the_app_with_the_inner_root_cause(
    node_manager: NodeManager,
) -> None:
    """The inner function cannot be imported: the outer app fails naming the inner drop
    (name and uid) and its reason; its log lists every inner drop in error."""
    start(node_manager, "outer", outer_graph(inner_graph(upper="nowhere.shout")))

    assert wait_end(node_manager, "outer") is _S.FAILED
    reason = dict(node_manager.failures("outer"))["sub"]
    assert reason.startswith("DropExecutionError: nested session 'outer@sub' failed: ")
    assert "inner drop 'upper' (1_up_0) failed: ValueError: cannot import function" in reason
    assert "more inner drop(s) in error" in reason
    logs = app_of(node_manager, "outer", "sub").logs or []
    assert any(line.startswith("inner drop 'text out' (1_out_0) failed") for line in logs)


def test_an_input_mapped_to_a_produced_inner_node_fails_the_app(
    node_manager: NodeManager,
) -> None:
    """The input port names "mid", which the inner upper app produces: nothing runs
    inside, and the app says which node and why."""
    specs = outer_graph(inner_graph())
    specs[2]["subgraph_ports"] = {"inputs": {"text": "mid"}, "outputs": {"result": "out"}}
    start(node_manager, "outer", specs)

    assert wait_end(node_manager, "outer") is _S.FAILED
    reason = dict(node_manager.failures("outer"))["sub"]
    assert "inner node 'mid' receives an outer input, but inner apps produce" in reason
    assert node_manager.session_ids() == ["outer"]


def test_an_inner_graph_that_cannot_be_translated_fails_the_app(
    node_manager: NodeManager,
) -> None:
    """An inner Service construct (not translated by liuray): the app fails with the
    translator's message, prefixed with what was being done."""
    inner = inner_graph()
    inner["nodeDataArray"].append(
        {"id": "svc", "name": "svc", "category": "Service", "categoryType": "Construct"}
    )
    start(node_manager, "outer", outer_graph(inner))

    assert wait_end(node_manager, "outer") is _S.FAILED
    reason = dict(node_manager.failures("outer"))["sub"]
    assert reason.startswith("SubGraph app 'sub': its inner graph cannot run: ")


def test_a_retried_app_gets_a_new_nested_session(node_manager: NodeManager) -> None:
    """n_tries 2 and a failing inner graph: two nested sessions, the second '+2'."""
    start(node_manager, "outer", outer_graph(inner_graph(upper="nowhere.shout"), n_tries=2))

    assert wait_end(node_manager, "outer") is _S.FAILED
    reason = dict(node_manager.failures("outer"))["sub"]
    assert "nested session 'outer@sub+2' failed" in reason


def test_an_island_manager_runs_a_graph_with_a_subgraph(island: IslandManager) -> None:
    """Through the island manager on the in-process transport: the nested session's
    node pushes no events for it, and the outer session finishes with the data out."""
    node = island.nodes()[0]
    specs = [dict(spec, node=node) for spec in outer_graph(inner_graph())]

    session_id = island.submit(specs, "island")

    assert island.wait(session_id, 10) is _S.FINISHED
    assert island.graph_status(session_id)["shout"].state is DropState.COMPLETED


@pytest.mark.parametrize(
    ("parent", "uid"),
    [("s", "1_-3_0"), ("s", "a/b..c d"), ("x" * 199, "app"), ("s", "y" * 300)],
)
def test_nested_session_ids_are_valid_session_ids(parent: str, uid: str) -> None:
    made = {nested_session_id(parent, uid, attempt) for attempt in (1, 2)}

    assert len(made) == 2
    for session_id in made:
        assert check_session_id(session_id) == session_id


def test_the_nested_directory_is_inside_the_outer_one(tmp_path: Path) -> None:
    """The inner output is a file drop: it is written in <outer dir>/subgraphs/sub, stays
    there after the nested session is forgotten, and its content is copied out to the
    outer memory drop."""
    manager = NodeManager("localhost:8000", tmp_path, workers=2)
    try:
        start(manager, "outer", outer_graph(inner_graph(out="File")))
        assert wait_end(manager, "outer") is _S.FINISHED
        run = manager._sessions["outer"].run
        assert run is not None
        assert run.drops["shout"].get() == b"HELLO WORLD"  # type: ignore[union-attr]
    finally:
        manager.close()

    files = list((tmp_path / "outer" / "subgraphs" / "sub").iterdir())
    assert [path.read_bytes() for path in files] == [b"HELLO WORLD"]


def test_a_bad_subgraph_is_refused_when_the_graph_is_submitted(island: IslandManager) -> None:
    """subgraph_ports names an inner node that does not exist: the island manager
    refuses the graph before anything is deployed, naming the class and the node."""
    node = island.nodes()[0]
    specs = [dict(spec, node=node) for spec in outer_graph(inner_graph())]
    specs[2]["subgraph_ports"] = {"inputs": {"text": "ghost"}, "outputs": {"result": "out"}}

    with pytest.raises(GraphError) as caught:
        island.submit(specs, "refused")

    assert SUBGRAPH in str(caught.value)
    assert "input port 'text' names inner node 'ghost'" in str(caught.value)


def test_an_output_node_consumed_inside_is_kept_until_copied_out(
    node_manager: NodeManager,
) -> None:
    """The output port names "mid", which the inner copy app reads (a memory drop is
    released once read): it is kept, and its content comes out."""
    specs = outer_graph(inner_graph())
    specs[2]["subgraph_ports"] = {"inputs": {"text": "in"}, "outputs": {"result": "mid"}}
    start(node_manager, "outer", specs)

    assert wait_end(node_manager, "outer") is _S.FINISHED
    run = node_manager._sessions["outer"].run
    assert run is not None
    assert run.drops["shout"].get() == b"HELLO WORLD"  # type: ignore[union-attr]


@pytest.mark.ray
@pytest.mark.slow
def test_a_subgraph_runs_inside_a_ray_node_manager_actor(tmp_path: Path) -> None:
    """On Ray the node manager is an actor: the SubGraph app and its nested session run
    inside it (the inner Python function as a Ray task), and the result reaches an outer
    file drop."""
    support = pytest.importorskip("ray_support")
    from liuray.transports.ray import RayTransport

    result = tmp_path / "shout.txt"
    with support.local_cluster(workers=0) as cluster:
        island = IslandManager(RayTransport(address=cluster.address, root=tmp_path / "nodes"))
        try:
            support.wait_until(lambda: len(island.nodes()) == 1, 60, "a node manager")
            node = island.nodes()[0]
            specs = [dict(spec, node=node) for spec in outer_graph(inner_graph())]
            specs[3].update(dropclass=FILE, filepath=str(result))
            session_id = island.submit(specs, "on-ray")
            assert island.wait(session_id, 60) is _S.FINISHED
        finally:
            island.close()

    assert result.read_bytes() == b"HELLO WORLD"


def test_an_inner_drop_that_cannot_be_deployed_fails_the_app(node_manager: NodeManager) -> None:
    """The inner upper app names a DALiuGE class liuray does not have: the app fails at
    the nested deploy, naming the inner drop, and no session is left behind."""
    inner = inner_graph()
    inner["nodeDataArray"][1]["fields"][0]["value"] = "dlg.apps.simple.NoSuchApp"
    start(node_manager, "outer", outer_graph(inner))

    assert wait_end(node_manager, "outer") is _S.FAILED
    reason = dict(node_manager.failures("outer"))["sub"]
    assert reason.startswith("SubGraph app 'sub': its inner graph cannot run: drop '1_up_0'")
    assert "NoSuchApp" in reason
    assert node_manager.session_ids() == ["outer"]


def test_daliuges_subgraph_example_runs_as_translated_by_liuray(
    node_manager: NodeManager,
) -> None:
    """eagle-test-graphs' ExampleSubgraphSimple (a HelloWorldApp inside a SubGraph with
    input and output apps), translated by liuray into one SubGraph app: the inner
    greeting, written to an inner file, reaches the outer "Output data" drop."""
    pytest.importorskip("daliuge_tests")
    from importlib.resources import files

    from liuray.translate.pipeline import translate

    graph = files("daliuge_tests") / "translator/logical_graphs/ExampleSubgraphSimple.graph"
    specs = translate(str(graph), nodes=[node_manager.name])
    names = {spec["name"]: spec["oid"] for spec in specs}
    start(node_manager, "example", specs)

    assert wait_end(node_manager, "example") is _S.FINISHED
    run = node_manager._sessions["example"].run
    assert run is not None
    assert run.drops[names["Output data"]].get().startswith(b"Hello")  # type: ignore[union-attr]
