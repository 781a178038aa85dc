"""SubGraph constructs: one SubGraphLocal app with its inner graph, or refused clearly."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("daliuge_tests")

from translate_helpers import by_oid, eagle_graph, link, logical, node

from liuray.errors import GraphError
from liuray.graph.logical import load_logical_graph
from liuray.translate.subgraphs import SUBGRAPH_APP
from liuray.translate.unroll import unroll

SIMPLE = "bb9b78bc-b725-4b61-a12a-413bdcef7690"  # ExampleSubgraphSimple's SubGraph
INNER = {
    "ec8e4a9c-1b32-4eee-b0ee-1285c27a9a1b",  # HelloWorldApp
    "528a9491-2ef6-4c4c-b9cd-5d881edbdd37",  # File, linked to the output port
    "ca1a0cea-af3c-40d9-805a-da570b1b0b1d",  # HelloWorldInput, the input port's node
}


def subgraph(node_id: str = "sub", parent: str | None = None, **apps: str) -> dict[str, Any]:
    """A SubGraph construct whose two apps have the ports ``in`` and ``out``."""
    ports = [("in", "InputOutput"), ("out", "InputOutput")]
    return {
        "id": node_id,
        "name": node_id,
        "category": "SubGraph",
        "categoryType": "Construct",
        "isGroup": True,
        "parentId": parent,
        "inputApplicationType": apps.get("input", "PythonApp"),
        "outputApplicationType": apps.get("output", "PythonApp"),
        "fields": [{"id": f"{node_id}.sleep_time", "name": "sleep_time", "value": 2}],
        "inputAppFields": [
            {"id": f"{node_id}.dropclass", "name": "dropclass", "value": "dlg.apps.simple.SleepApp"}
        ]
        + [{"id": f"{node_id}.{name}", "name": name, "usage": usage} for name, usage in ports],
    }


def app(node_id: str, parent: str | None = None) -> dict[str, Any]:
    ports = (("in", "InputPort"), ("out", "OutputPort"))
    return node(node_id, "Application", "PythonApp", parent, ports)


def data(node_id: str, parent: str | None = None) -> dict[str, Any]:
    return node(node_id, parent=parent, ports=(("x", "InputOutput"),))


def wired(*extra_nodes: dict[str, Any], links: list[dict[str, str]] | None = None) -> Any:
    """outer d_in -> [sub: i -> work -> o] -> outer d_out, plus what is given."""
    nodes = [
        data("d_in"),
        subgraph(),
        data("i", "sub"),
        app("work", "sub"),
        data("o", "sub"),
        data("d_out"),
        *extra_nodes,
    ]
    inner = [link("i", "x", "work", "in"), link("work", "out", "o", "x")]
    ports = [
        link("d_in", "x", "sub", "in"),
        link("sub", "in", "i", "x"),
        link("o", "x", "sub", "out"),
        link("sub", "out", "d_out", "x"),
    ]
    return {"nodeDataArray": nodes, "linkDataArray": inner + ports + (links or [])}


def test_subgraph_with_apps_becomes_one_subgraph_app() -> None:
    """ExampleSubgraphSimple (DALiuGE 6.6.0 fails on it): Input data -> SubGraph ->
    Output data, the three inner nodes gone into the app's ``subgraph``."""
    specs = by_oid(unroll(load_logical_graph(eagle_graph("ExampleSubgraphSimple")), "1"))

    app_oid = f"1_{SIMPLE}_0-0"
    source = "1_ee3f7a32-d9ba-4109-b891-6c33b52f70e1_0"
    target = "1_302b95b3-635a-4e55-9365-e88490f3c721_0"
    assert sorted(specs) == sorted([app_oid, source, target])
    spec = specs[app_oid]
    assert (spec["categoryType"], spec["dropclass"], spec["name"]) == (
        "Application",
        SUBGRAPH_APP,
        "SubGraph",
    )
    assert (spec["iid"], spec["rank"], spec["lg_key"]) == ("0-0", [0, 0], SIMPLE)
    assert spec["inputs"] == [{source: "New Parameter"}]
    assert spec["outputs"] == [{target: "dummy"}]
    assert specs[source]["consumers"] == [{app_oid: "New Parameter"}]
    assert specs[target]["producers"] == [{app_oid: "dummy"}]
    assert spec["subgraph_ports"] == {
        "inputs": {"New Parameter": "ca1a0cea-af3c-40d9-805a-da570b1b0b1d"},
        "outputs": {"dummy": "528a9491-2ef6-4c4c-b9cd-5d881edbdd37"},
    }


def test_inner_graph_is_the_constructs_children_and_their_links() -> None:
    """The ``subgraph`` is EAGLE JSON: the inner nodes without parentId, only the two
    links between them, the graph's modelData; it translates on its own."""
    raw = eagle_graph("ExampleSubgraphSimple")
    spec = by_oid(unroll(load_logical_graph(raw), "1"))[f"1_{SIMPLE}_0-0"]

    inner = spec["subgraph"]
    assert set(inner) == {"nodeDataArray", "linkDataArray", "modelData"}
    assert {item["id"] for item in inner["nodeDataArray"]} == INNER
    assert all("parentId" not in item for item in inner["nodeDataArray"])
    assert [(item["from"], item["to"]) for item in inner["linkDataArray"]] == [
        ("ec8e4a9c-1b32-4eee-b0ee-1285c27a9a1b", "528a9491-2ef6-4c4c-b9cd-5d881edbdd37"),
        ("ca1a0cea-af3c-40d9-805a-da570b1b0b1d", "ec8e4a9c-1b32-4eee-b0ee-1285c27a9a1b"),
    ]
    assert inner["modelData"] == raw["modelData"]
    nested = unroll(load_logical_graph(inner), "n")
    assert {item["lg_key"] for item in nested} == INNER


def test_inner_field_values_are_the_configured_ones() -> None:
    """The active graph configuration reaches the inner graph's nodes."""
    graph = wired()
    graph["activeGraphConfigId"] = "c"
    graph["graphConfigurations"] = {
        "c": {"nodes": {"work": {"fields": {"work.greet": {"value": "configured"}}}}}
    }
    graph["nodeDataArray"][3]["fields"].append({"id": "work.greet", "name": "greet", "value": "x"})

    spec = unroll(load_logical_graph(graph))[1]

    work = next(item for item in spec["subgraph"]["nodeDataArray"] if item["id"] == "work")
    assert {item["name"]: item.get("value") for item in work["fields"]}["greet"] == "configured"


def test_small_subgraph_structure() -> None:
    """The hand-made d_in -> sub -> d_out: one app inside the group of one, ports
    mapped to i and o, the construct's own parameter kept, no embedded dropclass."""
    specs = unroll(load_logical_graph(wired()), "p")

    assert [spec["oid"] for spec in specs] == ["p_d_in_0", "p_sub_0-0", "p_d_out_0"]
    spec = specs[1]
    assert spec["subgraph_ports"] == {"inputs": {"in": "i"}, "outputs": {"out": "o"}}
    assert spec["inputs"] == [{"p_d_in_0": "in"}] and spec["outputs"] == [{"p_d_out_0": "out"}]
    assert spec["dropclass"] == SUBGRAPH_APP and spec["sleep_time"] == 2
    assert "dropclass" not in spec["componentParams"]
    assert {item["id"] for item in spec["subgraph"]["nodeDataArray"]} == {"i", "work", "o"}


def test_subgraph_inside_a_subgraph_stays_in_the_inner_graph() -> None:
    """A SubGraph with apps inside one is part of the outer one's inner graph, apps and
    all; translating the inner graph makes it an app in turn."""
    nested = subgraph("deep", "sub")
    graph = wired(nested, data("deep_in", "deep"), links=[])

    spec = unroll(load_logical_graph(graph))[1]

    inner = spec["subgraph"]
    assert {item["id"] for item in inner["nodeDataArray"]} == {"i", "work", "o", "deep", "deep_in"}
    deep = next(item for item in inner["nodeDataArray"] if item["id"] == "deep")
    assert "parentId" not in deep and deep["inputApplicationType"] == "PythonApp"
    deep_in = next(item for item in inner["nodeDataArray"] if item["id"] == "deep_in")
    assert deep_in["parentId"] == "deep"
    translated = unroll(load_logical_graph(inner))
    assert [item["lg_key"] for item in translated] == ["i", "work", "o", "deep"]
    assert translated[3]["subgraph"]["nodeDataArray"][0]["id"] == "deep_in"


def without(graph: dict[str, Any], source: str, target: str) -> dict[str, Any]:
    graph["linkDataArray"] = [
        item for item in graph["linkDataArray"] if (item["from"], item["to"]) != (source, target)
    ]
    return graph


def one_app_only() -> dict[str, Any]:
    graph = wired()
    graph["nodeDataArray"][1]["outputApplicationType"] = "None"
    return graph


def nested_in_scatter() -> dict[str, Any]:
    scatter = node("sc", "Construct", "Scatter", num_of_copies=2)
    graph = wired(scatter)
    graph["nodeDataArray"][1]["parentId"] = "sc"
    return graph


BAD_WIRING = {
    "input port linked to nothing inside": (
        lambda: without(wired(), "sub", "i"),
        "input port 'in' is linked outside but to nothing inside",
    ),
    "output port fed by nothing inside": (
        lambda: without(wired(), "o", "sub"),
        "output port 'out' is linked outside but from nothing inside",
    ),
    "input port to an inner app": (
        lambda: wired(links=[link("sub", "in", "work", "in")]),
        "input port 'in' is linked to 2 nodes inside",
    ),
    "input port to an app only": (
        lambda: without(wired(links=[link("sub", "in", "work", "in")]), "sub", "i"),
        "input port 'in' is linked to PythonApp node 'work' .* inside",
    ),
    "outer app on a port": (
        lambda: wired(app("outer"), links=[link("outer", "out", "sub", "in")]),
        "input port 'in' has 2 links from outside",
    ),
    "input node written inside": (
        lambda: wired(app("writer", "sub"), links=[link("writer", "out", "i", "x")]),
        "which a node inside also writes",
    ),
    "link across the edge": (
        lambda: wired(links=[link("d_in", "x", "work", "in")]),
        "joins work inside it to d_in outside it directly",
    ),
    "only one application": (one_app_only, "has an input application but not the other"),
    "nested in a Scatter": (nested_in_scatter, "cannot be nested in another construct"),
}


@pytest.mark.parametrize("case", BAD_WIRING)
def test_bad_wiring_is_refused_naming_construct_and_port(case: str) -> None:
    """Every miswired SubGraph is a GraphError naming the SubGraph and the problem."""
    make, message = BAD_WIRING[case]

    with pytest.raises(GraphError, match=message) as caught:
        unroll(load_logical_graph(make()))

    assert "'sub' (sub)" in str(caught.value)


def test_outer_application_on_a_port_is_refused() -> None:
    """Only data nodes may sit on a SubGraph's ports outside."""
    graph = without(wired(app("outer"), links=[link("outer", "out", "sub", "in")]), "d_in", "sub")

    with pytest.raises(GraphError, match="a SubGraph's ports take data nodes"):
        unroll(logical(graph["nodeDataArray"], graph["linkDataArray"]))
