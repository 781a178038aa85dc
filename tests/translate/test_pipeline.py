"""End to end: DALiuGE's logical graphs, translated by liuray and run by liuray."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("numpy")
pytest.importorskip("daliuge_tests")

import numpy as np
from translate_helpers import LOGICAL_GRAPHS, TRANSLATOR, eagle_graph

import liuray
from liuray.errors import GraphError
from liuray.translate import translate


def run(specs: list[dict[str, Any]], tmp_path: Path) -> liuray.RunResult:
    return liuray.run_graph(specs, session_dir=tmp_path / "session", timeout=30)


def test_hello_world_translates_and_writes_hello_txt(tmp_path: Path) -> None:
    """HelloWorld_simple, straight from its .graph file: the app greets "Everybody"
    into hello.txt in the session directory; both drops end well."""
    specs = translate(str(LOGICAL_GRAPHS / "HelloWorld_simple.graph"))

    result = run(specs, tmp_path)

    assert result.ok
    assert result.counts == {"finished": 1, "completed": 1}
    assert (result.session_dir / "hello.txt").read_text() == "Hello Everybody"


def scatter_gather_with_input() -> dict[str, Any]:
    """SuperBasicScatterGather plus what it leaves to the user: an array to scatter
    (its GenericScatterApp's "array" port is unconnected) and a drop for the gather."""
    graph = eagle_graph("SuperBasicScatterGather")
    nodes = {node["category"]: node for node in graph["nodeDataArray"]}
    scatter_in = next(f for f in nodes["Scatter"]["inputAppFields"] if f["name"] == "array")
    gather_out = next(f for f in nodes["Gather"]["inputAppFields"] if f["name"] == "content")
    memory = {"id": "dc", "name": "dropclass", "value": "dlg.data.drops.memory.InMemoryDROP"}
    graph["nodeDataArray"] += [
        {
            "id": "numbers",
            "name": "numbers",
            "category": "Memory",
            "categoryType": "Data",
            "fields": [
                memory,
                {"id": "pd", "name": "pydata", "value": [1, 2, 3, 4, 5, 6, 7, 8]},
                {"id": "o", "name": "array", "usage": "OutputPort"},
            ],
        },
        {
            "id": "joined",
            "name": "joined",
            "category": "Memory",
            "categoryType": "Data",
            "fields": [memory, {"id": "i", "name": "content", "usage": "InputPort"}],
        },
    ]
    graph["linkDataArray"] += [
        {
            "from": "numbers",
            "fromPort": "o",
            "to": nodes["Scatter"]["id"],
            "toPort": scatter_in["id"],
        },
        {
            "from": nodes["Gather"]["id"],
            "fromPort": gather_out["id"],
            "to": "joined",
            "toPort": "i",
        },
    ]
    return graph


def test_scatter_gather_splits_into_four_files_and_gathers_them(tmp_path: Path) -> None:
    """numbers -> GenericScatterApp -> 4 File copies -> GenericGatherApp -> joined: the
    session finishes, each file holds its quarter of 1..8, and the gather read all 4."""
    specs = translate(scatter_gather_with_input())

    result = run(specs, tmp_path)

    assert result.ok, result.failures
    files = [spec["oid"] for spec in specs if spec["name"] == "File"]
    parts = [np.asarray(result.value(oid)).tolist() for oid in files]
    assert parts == [[1, 2], [3, 4], [5, 6], [7, 8]]
    assert len(list((result.session_dir).iterdir())) == 4
    assert result.read("1_joined_0") == b"".join(result.read(oid) for oid in files)


def test_scatter_gather_as_published_fails_at_the_scatter_app(tmp_path: Path) -> None:
    """The published SuperBasicScatterGather gives its scatter app nothing to split (as
    in DALiuGE): the scatter app is the one root failure, the rest fail because of it."""
    specs = translate(str(LOGICAL_GRAPHS / "SuperBasicScatterGather.graph"))

    result = run(specs, tmp_path)

    assert not result.ok
    assert result.counts == {"error": 6}
    causes = [error for _, error in result.failures if "needs exactly one input" in error]
    assert causes == ["ValueError: GenericScatterApp needs exactly one input, got 0"]


#: Every translator test graph whose apps are all built in (and given what they need).
BUILT_IN_ONLY = [
    "logical_graphs/chiles_simple",
    "logical_graphs/SharedMemoryTest_update",
    "logical_graphs/test_ports",
    "logical_graphs/pyfunc_glob_shell_test",
    "logical_graphs/HelloWorld_Global",
    "logical_graphs/test-20190830-110556",
    "logical_graphs/ArrayLoop",
    "logical_graphs/ArrayLoop_Global",
    "graph_config/ArrayLoopLoop",
    "graph_config/ArrayLoopNoActiveID",
    "graph_config/ArrayLoopScatter",
]


@pytest.mark.parametrize("name", BUILT_IN_ONLY)
def test_builtin_class_graphs_run_to_finished(name: str, tmp_path: Path) -> None:
    """DALiuGE's translator test graphs that use only built-in apps translate and run to
    the end: loops (ArrayLoop: a Loop of PickOne inside a Scatter) included."""
    specs = translate(str(TRANSLATOR / f"{name}.graph"), partitions=2)

    result = run(specs, tmp_path)

    assert result.ok, result.failures
    assert sum(result.counts.values()) == len(specs)


def test_branch_graph_runs_one_side(tmp_path: Path) -> None:
    """branchTest: a Branch app with true/false outputs is an ordinary app; one side
    completes and the other is skipped."""
    result = run(translate(eagle_graph("branchTest")), tmp_path)

    assert result.ok
    assert result.counts == {"finished": 1, "completed": 1, "skipped": 1}


def test_translate_maps_onto_nodes() -> None:
    """With node names, the partitions become those nodes and the island the first."""
    specs = translate(eagle_graph("eagle_gather_update"), nodes=["a:8000", "b:8000"])

    assert {spec["node"] for spec in specs} == {"a:8000", "b:8000"}
    assert {spec["island"] for spec in specs} == {"a:8000"}


def test_translate_rejects_other_inputs() -> None:
    """Only logical graphs (model, dict or path) can be translated."""
    with pytest.raises(GraphError, match="cannot translate a list"):
        translate([{"oid": "a"}])  # type: ignore[arg-type]
