"""EAGLE logical graphs: parsing, construct apps, configurations and validation errors."""

from __future__ import annotations

import copy
import importlib.resources
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("daliuge_tests")

from liuray.errors import GraphError
from liuray.graph.logical import is_logical_graph, load_logical_graph, read_logical_graph

TRANSLATOR = importlib.resources.files("daliuge_tests.translator.logical_graphs")
ENGINE = importlib.resources.files("daliuge_tests.engine")


def eagle(name: str) -> dict[str, Any]:
    """A translator test graph from the eagle-test-graphs package, parsed."""
    data: dict[str, Any] = json.loads((TRANSLATOR / f"{name}.graph").read_text("utf-8"))
    return data


def app(node_id: str, *ports: tuple[str, str, str], **params: Any) -> dict[str, Any]:
    fields = [{"id": f"{node_id}-{k}", "name": k, "value": v} for k, v in params.items()]
    fields += [{"id": pid, "name": name, "usage": usage} for pid, name, usage in ports]
    return {"id": node_id, "name": node_id, "categoryType": "Application", "fields": fields}


def data(node_id: str, *ports: tuple[str, str, str], parent: str | None = None) -> dict[str, Any]:
    node = app(node_id, *ports)
    node.update(categoryType="Data", category="Memory", parentId=parent)
    return node


def link(source: str, source_port: str, target: str, target_port: str) -> dict[str, str]:
    return {"from": source, "fromPort": source_port, "to": target, "toPort": target_port}


def test_hello_world_nodes_fields_and_named_link() -> None:
    """HelloWorld_simple: an app and a file, fields by name, the link's port ids
    resolved to the port names ("hello" on both ends)."""
    graph = read_logical_graph(str(TRANSLATOR / "HelloWorld_simple.graph"))

    hello = graph["19877332-6fd7-455c-b7b5-9e3dc90560ac"]
    assert [node.name for node in graph] == ["HelloWorldApp", "hello"]
    assert hello.category_type == "Application"
    assert hello.value("dropclass") == "dlg.apps.simple.HelloWorldApp"
    assert hello.value("greet") == "Everybody"
    assert [(f.name, f.usage) for f in hello.fields if f.is_port] == [("hello", "OutputPort")]
    (only,) = graph.links
    assert (only.source, only.source_port) == (hello.id, "hello")
    assert (only.target, only.target_port) == ("f3ebe6e1-7f28-4f3e-aa7c-874cd40a2a24", "hello")
    assert graph.name == "HelloWorld_simple"


def test_scatter_embedded_app_keeps_the_construct_id_and_ports() -> None:
    """SuperBasicScatterGather: the Scatter's GenericScatterApp becomes the construct's
    app (same id, category PythonApp); the link leaving the construct uses its port."""
    graph = load_logical_graph(eagle("SuperBasicScatterGather"))

    scatter = graph["3b1d3054-b9db-4442-a99b-2ad9eafd8f0a"]
    assert scatter.category == "Scatter"
    assert scatter.value("num_of_copies") == 4
    assert scatter.app is not None
    assert scatter.app.id == scatter.id
    assert scatter.app.category_type == "Application"
    assert scatter.app.value("dropclass") == "dlg.apps.simple.GenericScatterApp"
    assert graph.children(scatter.id)[0].name == "File"
    assert graph.links[0].source == scatter.id
    assert graph.links[0].source_port == "split_array"


def test_comment_nodes_are_dropped() -> None:
    """Comment and Description nodes are not part of the graph."""
    graph = load_logical_graph(
        {
            "nodeDataArray": [
                {"id": "c", "name": "note", "category": "Comment", "categoryType": "Other"},
                data("d"),
            ],
            "linkDataArray": [],
        }
    )

    assert list(graph.nodes) == ["d"]


def test_active_configuration_overrides_field_values() -> None:
    """Filepath_test_side_effect has two configurations; the active one ("Ryan") gives
    the memory drop named filepath a file name with a {datetime} placeholder, and the
    greeting "Hello Ryan" instead of the graph's "Hello World"."""
    raw = json.loads(
        (ENGINE / "test_filedrops" / "Filepath_test_side_effect.graph").read_text("utf-8")
    )

    graph = load_logical_graph(raw)

    assert graph["a2fe7589-3d5a-4485-82f9-e4a262096a3f"].value("pydata") == ("hello_{datetime}.txt")
    assert graph["7db6b709-e82f-4927-91e2-d6a12142b1b0"].value("pydata") == "Hello Ryan"
    raw["activeGraphConfigId"] = "c78e6328-44cf-4899-b206-a4e98382bdd1"
    default = load_logical_graph(raw)
    assert default["a2fe7589-3d5a-4485-82f9-e4a262096a3f"].value("pydata") == "hello.txt"


def test_unknown_active_configuration_is_an_error() -> None:
    """An activeGraphConfigId naming no configuration is reported with the known ones."""
    raw = {"nodeDataArray": [], "activeGraphConfigId": "x", "graphConfigurations": {"a": {}}}

    with pytest.raises(GraphError, match=r"activeGraphConfigId 'x'.*known: \['a'\]"):
        load_logical_graph(raw)


def test_empty_value_falls_back_to_default_value() -> None:
    """EAGLE writes unset fields as "" with a defaultValue; the default is used."""
    node = data("d")
    node["fields"] = [{"id": "f", "name": "filepath", "value": "", "defaultValue": "x.txt"}]

    graph = load_logical_graph({"nodeDataArray": [node]})

    assert graph["d"].value("filepath") == "x.txt"


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        ([], "not an EAGLE logical graph"),
        ({"nodeDataArray": [data("a"), data("a")]}, "two nodes have the id 'a'"),
        ({"nodeDataArray": [data("a", parent="ghost")]}, r"'a' \(a\) has parentId 'ghost'"),
        (
            {"nodeDataArray": [data("p"), data("a", parent="p")]},
            "which is Memory node 'p' .*not a construct",
        ),
        (
            {
                "nodeDataArray": [data("a", ("x", "x", "OutputPort"))],
                "linkDataArray": [link("a", "x", "ghost", "y")],
            },
            "'to' end 'ghost' is no node",
        ),
        (
            {
                "nodeDataArray": [app("a", ("o", "out", "OutputPort")), data("d")],
                "linkDataArray": [link("a", "o", "d", "nope")],
            },
            r"Memory node 'd' \(d\) has no port with id 'nope'",
        ),
        (
            {
                "nodeDataArray": [
                    app("a", ("i", "in", "InputPort")),
                    data("d", ("p", "x", "InputPort")),
                ],
                "linkDataArray": [link("a", "i", "d", "p")],
            },
            "port 'in' of .*'a'.* is an InputPort; a link cannot use it as an output",
        ),
    ],
)
def test_malformed_graphs_name_the_node(graph: Any, message: str) -> None:
    """Each structural error is a GraphError naming the node and what is wrong."""
    with pytest.raises(GraphError, match=message):
        load_logical_graph(graph)


def test_parent_cycle_is_an_error() -> None:
    """Two constructs inside each other cannot be unrolled."""
    first = {"id": "s1", "name": "s1", "category": "Scatter", "categoryType": "Construct"}
    second = {**first, "id": "s2", "name": "s2", "parentId": "s1"}
    first["parentId"] = "s2"

    with pytest.raises(GraphError, match="parentId cycle"):
        load_logical_graph({"nodeDataArray": [first, second]})


def test_read_reports_bad_json_with_the_file(tmp_path: Path) -> None:
    """A truncated file is reported with its name and the position."""
    path = tmp_path / "broken.graph"
    path.write_text('{"nodeDataArray": [', encoding="utf-8")

    with pytest.raises(GraphError, match=r"broken.graph' is not valid JSON.*line 1"):
        read_logical_graph(path)


def test_parsing_does_not_modify_the_input() -> None:
    """load_logical_graph reads the dict; the caller's graph is left as it was."""
    raw = eagle("eagle_gather_update")
    before = copy.deepcopy(raw)

    load_logical_graph(raw)

    assert raw == before
    assert is_logical_graph(raw)
    assert not is_logical_graph([{"oid": "a"}])


@pytest.mark.parametrize(
    "graph",
    [
        [{"oid": "a", "categoryType": "Data"}],
        ["my graph", [{"oid": "a", "categoryType": "Data"}]],
    ],
)
def test_physical_graph_is_refused_with_a_pointer_to_run(graph: Any) -> None:
    """A list of drop specs (or DALiuGE's ["name", [specs]]) is already physical: the
    error says so and names liuray run / liuray submit."""
    with pytest.raises(GraphError, match=r"already a physical graph.*liuray run.*liuray submit"):
        load_logical_graph(graph)


V4_PROXY = {  # the head of graph_visual_examples/advent_simple in DALiuGE's corpus
    "modelData": {"name": "advent_simple.graph", "type": "Graph", "schemaVersion": "V4"},
    "activeGraphConfigId": None,
    "graphConfigurations": {},
    "nodes": {
        "n": {"id": "n", "category": "Memory", "categoryType": "Data", "name": "ipt",
              "fields": {"f": {"id": "f", "name": "pydata", "usage": "OutputPort"}}},
    },
    "edges": {},
}  # fmt: skip


def test_eagle_schema_v4_is_refused_naming_the_format_and_the_fix() -> None:
    """EAGLE's newer schema (V4: top-level 'nodes'/'edges' dicts) is read by neither
    liuray nor DALiuGE 6.6.0; the message names the schema and the keys seen, the OJS
    format liuray reads, and how to re-save the graph."""
    with pytest.raises(GraphError) as caught:
        load_logical_graph(V4_PROXY)
    message = caught.value.message
    assert "EAGLE schema 'V4'" in message
    assert "'nodes'" in message and "'edges'" in message
    assert "OJS" in message and "'nodeDataArray'" in message and "'linkDataArray'" in message
    assert "re-save" in message
    assert "got dict" not in message


@pytest.mark.parametrize(
    ("value", "seen"),
    [
        ({"name": "x", "links": []}, "a JSON object with the keys 'links', 'name'"),
        ({}, "an empty JSON object"),
        ("graph", "a JSON string"),
        (7, "a JSON number"),
    ],
)
def test_something_else_is_refused_naming_what_was_found(value: Any, seen: str) -> None:
    """Not an EAGLE graph at all: the message says what JSON value it found (JSON's
    words, not Python's) and what an EAGLE graph looks like."""
    with pytest.raises(GraphError) as caught:
        load_logical_graph(value)
    assert seen in caught.value.message
    assert "'nodeDataArray'" in caught.value.message


def test_an_old_description_node_of_category_unknown_is_ignored() -> None:
    """Old EAGLE files save a Description node as category and categoryType 'Unknown'
    (DALiuGE's ``reproGraphs/misc``). Without ports it carries nothing and is dropped like
    a Description node (DALiuGE makes an unrunnable drop of it); linked, it is refused."""
    old = {"id": "u", "name": "Description", "category": "Unknown", "categoryType": "Unknown"}
    memory = {"id": "m", "name": "Memory", "category": "Memory", "categoryType": "Data",
              "fields": [{"id": "p", "name": "x", "usage": "InputOutput"}]}  # fmt: skip
    graph = load_logical_graph({"nodeDataArray": [{**old, "fields": []}, memory]})
    assert [node.id for node in graph] == ["m"]
    linked = {"nodeDataArray": [old, memory], "linkDataArray": [{"from": "u", "to": "m"}]}
    with pytest.raises(GraphError, match=r"'from' end on a Comment or Description node \(u\)"):
        load_logical_graph(linked)
    with_port = {**old, "fields": [{"id": "q", "name": "y", "usage": "InputPort"}]}
    assert [node.id for node in load_logical_graph({"nodeDataArray": [with_port]})] == ["u"]


def test_description_with_a_nameless_field_is_ignored() -> None:
    """EAGLE's Description and Comment nodes are not read at all, so a field without a
    name there stops nothing (as in DALiuGE)."""
    description = {
        "id": "note",
        "category": "Description",
        "categoryType": "Other",
        "fields": [{"id": "x", "name": "", "value": "about this graph"}],
    }

    graph = load_logical_graph({"nodeDataArray": [data("d"), description]})

    assert list(graph.nodes) == ["d"]


def test_nameless_parameter_is_skipped_but_a_nameless_port_is_an_error() -> None:
    """DALiuGE skips a field without a name; a port without one could never be linked."""
    node = data("d")
    node["fields"] = [{"id": "p", "name": "", "value": 1}]
    assert load_logical_graph({"nodeDataArray": [node]})["d"].fields == ()

    node["fields"] = [{"id": "p", "name": "", "usage": "InputPort"}]
    with pytest.raises(GraphError, match=r"port 'p' \(InputPort\) has no 'name'"):
        load_logical_graph({"nodeDataArray": [node]})


def test_exclusive_force_node_is_transparent() -> None:
    """An ExclusiveForceNode only asks that its members share a node: it is removed and
    its children move to its own parent."""
    scatter = {"id": "s", "category": "Scatter", "categoryType": "Construct", "fields": []}
    force = {
        "id": "f",
        "category": "ExclusiveForceNode",
        "categoryType": "Construct",
        "parentId": "s",
        "fields": [],
    }

    graph = load_logical_graph({"nodeDataArray": [scatter, force, data("d", parent="f")]})

    assert "f" not in graph.nodes
    assert graph["d"].parent_id == "s"


def test_global_variables_replace_their_names_in_field_values() -> None:
    """HelloWorld_Global: the GlobalVariable node is gone and the app's greet field,
    "{greet}", reads the global's value."""
    graph = load_logical_graph(eagle("HelloWorld_Global"))

    assert "GlobalVariable" not in {node.category for node in graph}
    (hello,) = [node for node in graph if node.category_type == "Application"]
    assert hello.value("greet") == "Test case global"


def test_global_variable_of_the_wrong_type_is_an_error() -> None:
    """A field that becomes "x3" through an Integer global cannot be an Integer."""
    variables = {
        "id": "g",
        "category": "GlobalVariable",
        "categoryType": "Data",
        "fields": [{"id": "n", "name": "n", "value": "3", "type": "Integer"}],
    }
    user = app("a", count="x{n}")

    with pytest.raises(GraphError, match=r"field 'count' becomes 'x3' .*'n', which is no Integer"):
        load_logical_graph({"nodeDataArray": [variables, user]})


def test_links_keep_loop_aware_and_closes_loop() -> None:
    """loop_aware "1" and closesLoop true are kept on the parsed link."""
    raw = link("a", "o", "d", "i") | {"loop_aware": "1", "closesLoop": True}
    graph = load_logical_graph(
        {
            "nodeDataArray": [
                app("a", ("o", "out", "OutputPort")),
                data("d", ("i", "x", "InputPort")),
            ],
            "linkDataArray": [raw],
        }
    )

    (only,) = graph.links
    assert (only.loop_aware, only.closes_loop) == (True, True)
