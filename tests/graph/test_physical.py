"""Loading DALiuGE physical graphs: every accepted shape, and every bad input refused.

Each refusal is a GraphError whose message names the drop (or spec) and what would be
valid, raised before anything runs.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liuray.engine.local import WorkerPool, run_graph
from liuray.engine.session import GraphRun
from liuray.errors import GraphError
from liuray.graph.physical import (
    load_physical_graph,
    parse_json,
    port_names,
    read_physical_graph,
)

HELLO = "dlg.apps.simple.HelloWorldApp"
COPY = "dlg.apps.simple.CopyApp"
MEMORY = "dlg.data.drops.memory.InMemoryDROP"


def app(oid: str, dropclass: str = COPY, **links: Any) -> dict[str, Any]:
    return {"oid": oid, "categoryType": "Application", "dropclass": dropclass, **links}


def data(oid: str, dropclass: str = MEMORY, **links: Any) -> dict[str, Any]:
    return {"oid": oid, "categoryType": "Data", "dropclass": dropclass, **links}


def links(graph: Any, oid: str) -> dict[str, list[str]]:
    d = graph[oid]
    names = ("inputs", "streaming_inputs", "outputs", "consumers", "streaming_consumers")
    found = {name: getattr(d, name) for name in (*names, "producers")}
    return {k: v for k, v in found.items() if v}


# --------------------------------------------------------------------------- shapes


def test_plain_list(hello_specs: list[dict[str, Any]]) -> None:
    """A plain list of specs loads, in order, with links made symmetric."""
    graph = load_physical_graph(hello_specs)
    assert [d.oid for d in graph] == ["hello", "greeting", "copy", "copied"]
    assert len(graph) == 4
    assert "copy" in graph
    assert links(graph, "greeting") == {"producers": ["hello"], "consumers": ["copy"]}
    assert links(graph, "copy") == {"inputs": ["greeting"], "outputs": ["copied"]}
    assert graph.roots() == ["hello"]
    assert graph.reprodata == {}
    assert graph.specs() == hello_specs


@pytest.mark.parametrize("reprodata", [{}, {"rmode": "1", "meta_data": {"repro": True}}])
def test_trailing_reprodata_is_kept_apart(
    hello_specs: list[dict[str, Any]], reprodata: dict[str, Any]
) -> None:
    """A trailing dict that is not a drop spec is reprodata, not a drop."""
    graph = load_physical_graph([*hello_specs, reprodata])
    assert len(graph) == 4
    assert graph.reprodata == reprodata


def test_named_wrapper(hello_specs: list[dict[str, Any]]) -> None:
    """The ["name", [specs]] form (SLURM graphs) is unwrapped."""
    graph = load_physical_graph(["HelloWorld_simplePG.graph", [*hello_specs, {}]])
    assert [d.oid for d in graph] == ["hello", "greeting", "copy", "copied"]


def test_links_with_port_names() -> None:
    """{oid: port} entries link like plain oids and keep the port names on the app."""
    graph = load_physical_graph(
        [
            app("f", inputs=[{"x_in": "x"}], outputs=[{"y_out": "result"}]),
            data("x_in"),
            data("y_out"),
        ]
    )
    assert graph["f"].input_ports == {"x_in": "x"}
    assert graph["f"].output_ports == {"y_out": "result"}
    assert links(graph, "x_in") == {"consumers": ["f"]}
    assert links(graph, "y_out") == {"producers": ["f"]}


def test_ports_given_on_the_data_side() -> None:
    """Ports named by the data drop (consumers/producers entries) land on the app."""
    graph = load_physical_graph(
        [
            data("x_in", consumers=[{"f": "x"}]),
            app("f"),
            data("y_out", producers=[{"f": "result"}]),
        ]
    )
    assert graph["f"].input_ports == {"x_in": "x"}
    assert graph["f"].output_ports == {"y_out": "result"}
    assert links(graph, "f") == {"inputs": ["x_in"], "outputs": ["y_out"]}


def test_one_data_drop_on_several_ports_of_one_app_keeps_every_port() -> None:
    """A drop linked twice to one app (ports ``a`` and ``b``) is one link with two port
    names, in the order given; the app's names win over the data drop's."""
    graph = load_physical_graph(
        [
            data("m", consumers=[{"f": "x"}, {"f": "y"}]),
            app("f", inputs=[{"m": "a"}, {"m": "b"}, {"m": "a"}], outputs=[{"o": "r"}]),
            data("o", producers=[{"f": "r"}, {"f": "s"}]),
        ]
    )
    assert links(graph, "f") == {"inputs": ["m"], "outputs": ["o"]}
    assert port_names(graph["f"].input_ports, "m") == ("a", "b")
    assert graph["f"].input_ports == {"m": "a"}
    assert port_names(graph["f"].output_ports, "o") == ("r",)
    only_data = load_physical_graph([data("m", consumers=[{"f": "x"}, {"f": "y"}]), app("f")])
    assert port_names(only_data["f"].input_ports, "m") == ("x", "y")
    assert port_names(only_data["f"].input_ports, "other") == ()


def test_links_from_data_end_only() -> None:
    """Links declared only as consumers/producers on the data drops are mirrored."""
    graph = load_physical_graph(
        [
            app("hello", HELLO),
            data("greeting", producers=["hello"], consumers=["copy"]),
            app("copy"),
            data("copied", producers=["copy"]),
        ]
    )
    assert links(graph, "hello") == {"outputs": ["greeting"]}
    assert links(graph, "copy") == {"inputs": ["greeting"], "outputs": ["copied"]}


def test_links_from_both_ends_are_not_doubled() -> None:
    """DALiuGE writes each link on both drops; each appears once after loading."""
    graph = load_physical_graph(
        [
            app("hello", HELLO, outputs=["greeting"]),
            data("greeting", producers=["hello"]),
        ]
    )
    assert links(graph, "hello") == {"outputs": ["greeting"]}
    assert links(graph, "greeting") == {"producers": ["hello"]}


def test_streaming_links() -> None:
    """streamingInputs / streamingConsumers are kept apart from normal links."""
    graph = load_physical_graph(
        [
            data("stream", streamingConsumers=["listener"]),
            app("listener"),
        ]
    )
    assert links(graph, "listener") == {"streaming_inputs": ["stream"]}
    assert links(graph, "stream") == {"streaming_consumers": ["listener"]}
    assert graph.roots() == ["stream"]


@pytest.mark.parametrize(
    ("category", "is_app"),
    [("Application", True), ("app", True), ("socket", True), ("Data", False), ("plain", False)],
)
def test_category_spellings(category: str, is_app: bool) -> None:
    """categoryType is matched without case; DALiuGE's older spellings are accepted."""
    graph = load_physical_graph([{"oid": "x", "categoryType": category, "dropclass": "c"}])
    assert graph["x"].is_app is is_app


def test_legacy_type_key() -> None:
    """Old graphs use 'type' instead of 'categoryType'."""
    graph = load_physical_graph([{"oid": "x", "type": "plain", "storage": "Memory"}])
    assert graph["x"].is_app is False


def test_read_from_file(tmp_path: Path, hello_specs: list[dict[str, Any]]) -> None:
    """read_physical_graph loads a JSON file."""
    path = tmp_path / "hello.json"
    path.write_text(json.dumps([*hello_specs, {}]))
    assert [d.oid for d in read_physical_graph(path)] == ["hello", "greeting", "copy", "copied"]


# --------------------------------------------------------------------------- bad shapes


@pytest.mark.parametrize(
    ("value", "got"),
    [({"oid": "a"}, "dict"), ("graph", "str"), (42, "int"), (None, "NoneType")],
)
def test_not_a_list(value: Any, got: str) -> None:
    """Anything but a list is refused, listing the valid shapes."""
    with pytest.raises(GraphError) as caught:
        load_physical_graph(value)
    assert caught.value.message.startswith(
        f"a physical graph must be a JSON list of drop specs, got {got}; valid shapes: "
    )
    assert '["name", [spec, ...]]' in caught.value.message


def test_logical_graph_given() -> None:
    """An EAGLE logical graph is recognised and the user told to translate it first."""
    logical: dict[str, Any] = {"modelData": {}, "nodeDataArray": [], "linkDataArray": []}
    with pytest.raises(GraphError, match=r"this is a logical graph .* translate it first"):
        load_physical_graph(logical)


@pytest.mark.parametrize(("spec", "kind"), [("a", "str"), (["a"], "list"), (7, "int")])
def test_spec_not_an_object(spec: Any, kind: str) -> None:
    """A spec that is not a JSON object names its position and what a spec needs."""
    with pytest.raises(GraphError) as caught:
        load_physical_graph([app("a"), spec])
    assert caught.value.message == (
        f"spec #1 is a {kind}, not a JSON object with an 'oid' and a 'categoryType'"
    )
    assert caught.value.detail == {"index": 1}


@pytest.mark.parametrize(("oid", "got"), [(None, "none"), ("", "''"), (5, "5")])
def test_missing_oid(oid: Any, got: str) -> None:
    """A spec without a usable oid names its position, name and what is required."""
    spec = {"categoryType": "Data", "name": "visibilities", "dropclass": MEMORY}
    if oid is not None:
        spec["oid"] = oid
    with pytest.raises(GraphError) as caught:
        load_physical_graph([app("a"), spec])
    assert caught.value.message == (
        f"spec #1 (visibilities) has no valid 'oid' (got {got}); every drop needs a "
        "unique non-empty string oid"
    )


def test_last_spec_missing_oid_is_not_taken_for_reprodata() -> None:
    """A final drop spec that lost its oid is reported, not silently dropped."""
    with pytest.raises(GraphError, match=r"spec #1 \(unnamed\) has no valid 'oid'"):
        load_physical_graph([app("a"), {"categoryType": "Data", "dropclass": MEMORY}])


@pytest.mark.parametrize("category", ["Construct", "Other", None])
def test_unknown_category(category: str | None) -> None:
    """An unknown categoryType names the drop and lists the valid categories."""
    with pytest.raises(GraphError) as caught:
        load_physical_graph([{"oid": "scatter", "categoryType": category}])
    message = caught.value.message
    assert message.startswith(f"drop 'scatter': categoryType {category or ''!r} is not known")
    assert "['app', 'application', 'component', 'pythonapp', 'socket'] for apps" in message
    assert "['container', 'data', 'plain'] for data" in message
    assert caught.value.detail["uid"] == "scatter"


def test_duplicate_oid() -> None:
    """Two specs with one oid: the oid and the second spec's position are named."""
    with pytest.raises(GraphError) as caught:
        load_physical_graph([app("a"), data("d"), data("d")])
    assert caught.value.message == "duplicate drop oid 'd' (spec #2); oids must be unique"


@pytest.mark.parametrize("key", ["outputs", "inputs"])
def test_link_to_missing_oid(key: str) -> None:
    """A link to a drop not in the graph names both ends."""
    with pytest.raises(GraphError) as caught:
        load_physical_graph([app("a", COPY, **{key: ["nowhere"]})])
    assert caught.value.message == (f"drop 'a': {key!r} names 'nowhere', which is not in the graph")
    assert caught.value.detail == {"uid": "a", "link": "nowhere"}


def test_app_to_app_link() -> None:
    """Apps link only to data drops: an app listed as another app's output is refused."""
    with pytest.raises(GraphError) as caught:
        load_physical_graph([app("a", outputs=["b"]), app("b")])
    assert caught.value.message == (
        "drop 'a': 'outputs' links it to 'b', but both are apps; apps link only to data "
        "drops and data drops only to apps"
    )


def test_data_to_data_link() -> None:
    """Data drops link only to apps."""
    with pytest.raises(GraphError, match=r"'consumers' links it to 'e', but both are data drops"):
        load_physical_graph([data("d", consumers=["e"]), data("e")])


@pytest.mark.parametrize(
    "entries", ['"d"', {"d": "port"}], ids=["string-not-list", "dict-not-list"]
)
def test_links_not_a_list(entries: Any) -> None:
    """A link field that is not a list says what it must be."""
    with pytest.raises(GraphError, match=r"drop 'a': 'outputs' must be a list of oids"):
        load_physical_graph([app("a", outputs=entries), data("d")])


@pytest.mark.parametrize("entry", [{"d": "x", "e": "y"}, 3, None])
def test_bad_link_entry(entry: Any) -> None:
    """A link entry that is neither an oid nor a one-key {oid: port} object is refused."""
    with pytest.raises(GraphError, match=r"drop 'a': entry .* in 'outputs' is neither"):
        load_physical_graph([app("a", outputs=[entry]), data("d"), data("e")])


def test_cycle_is_listed() -> None:
    """A loop left in a physical graph is refused; the message walks the cycle."""
    specs = [
        app("a", inputs=["d2"], outputs=["d1"]),
        data("d1"),
        app("b", inputs=["d1"], outputs=["d2"]),
        data("d2"),
    ]
    with pytest.raises(GraphError) as caught:
        load_physical_graph(specs)
    assert caught.value.message == (
        "drop 'a' is on a cycle: a -> d1 -> b -> d2 -> a; a physical graph must be acyclic "
        "(loops are unrolled by the translator)"
    )
    assert caught.value.detail["cycle"] == ["a", "d1", "b", "d2", "a"]


def test_cycle_with_drops_hanging_off_it() -> None:
    """Drops downstream of a cycle (but not on it) do not confuse the cycle report.

    '0' sorts first and is only *fed* by the loop; the report still shows the loop.
    """
    specs = [
        app("a", inputs=["d2"], outputs=["d1"]),
        data("d1"),
        app("b", inputs=["d1"], outputs=["d2", "0"]),
        data("d2"),
        data("0"),
    ]
    with pytest.raises(GraphError) as caught:
        load_physical_graph(specs)
    cycle = caught.value.detail["cycle"]
    assert cycle[0] == cycle[-1]
    assert set(cycle) == {"a", "d1", "b", "d2"}
    assert "0" not in cycle


def test_self_loop_through_one_data_drop() -> None:
    """An app reading its own output is the smallest possible cycle."""
    with pytest.raises(GraphError, match=r"is on a cycle: (a -> d -> a|d -> a -> d)"):
        load_physical_graph([app("a", inputs=["d"], outputs=["d"]), data("d")])


def test_invalid_json_names_line_and_column() -> None:
    """A JSON syntax error reports where it is."""
    with pytest.raises(GraphError) as caught:
        parse_json('[\n  {"oid": "a",}\n]', "pg.json")
    assert caught.value.message.startswith("pg.json: not valid JSON: ")
    assert caught.value.message.endswith("at line 2 column 15")
    assert caught.value.detail == {"line": 2, "column": 15}


def test_invalid_json_file(tmp_path: Path) -> None:
    """read_physical_graph reports the file, line and column of a syntax error."""
    path = tmp_path / "broken.json"
    path.write_text('[{"oid": "a"\n')
    with pytest.raises(GraphError, match=r"broken\.json: not valid JSON: .* at line 2 column 1"):
        read_physical_graph(path)


def test_binary_file(tmp_path: Path) -> None:
    """A file that is not text is refused as such, not with a UnicodeDecodeError."""
    path = tmp_path / "graph.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(GraphError, match=r"is not UTF-8 text"):
        read_physical_graph(path)


def test_missing_file(tmp_path: Path) -> None:
    """A missing file names the path."""
    with pytest.raises(GraphError, match=r"cannot read graph file .*nope\.json.*No such file"):
        read_physical_graph(tmp_path / "nope.json")


# --------------------------------------------------------------------------- at GraphRun


def graph_run(specs: list[dict[str, Any]], tmp_path: Path) -> GraphRun:
    pool = WorkerPool(1)
    try:
        return GraphRun(
            load_physical_graph(specs), session_id="s", session_dir=tmp_path / "s", pool=pool
        )
    finally:
        pool.shutdown()


def test_unknown_dropclass_names_the_drop_and_lists_builtins(tmp_path: Path) -> None:
    """An app class liuray does not know is refused before anything runs."""
    specs = [app("calibrate", "dlg.apps.nosuch.Calibrate", outputs=["d"]), data("d")]
    with pytest.raises(GraphError) as caught:
        graph_run(specs, tmp_path)
    message = caught.value.message
    assert message.startswith("drop 'calibrate': dropclass 'dlg.apps.nosuch.Calibrate' is not")
    assert "'dlg.apps.simple.HelloWorldApp'" in message
    assert caught.value.detail["uid"] == "calibrate"


def test_unknown_data_class_lists_data_builtins(tmp_path: Path) -> None:
    """The data-drop variant lists the data classes."""
    with pytest.raises(GraphError) as caught:
        graph_run([data("d", "dlg.data.drops.nosuch.Drop")], tmp_path)
    assert caught.value.message.startswith("drop 'd': dropclass 'dlg.data.drops.nosuch.Drop'")
    assert "'dlg.data.drops.memory.InMemoryDROP'" in caught.value.message


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("three", "parameter 'n_tries' must be an integer, got 'three'"),
        (0, "parameter 'n_tries' must be at least 1 (the number of attempts), got 0"),
        (-2, "parameter 'n_tries' must be at least 1 (the number of attempts), got -2"),
    ],
)
def test_bad_n_tries(tmp_path: Path, value: Any, problem: str) -> None:
    """n_tries must be a whole number of attempts, at least one."""
    with pytest.raises(GraphError) as caught:
        graph_run([app("a", HELLO, n_tries=value, outputs=["d"]), data("d")], tmp_path)
    assert caught.value.message == f"drop 'a': {problem}"


def test_n_tries_from_eagle_fields(tmp_path: Path) -> None:
    """n_tries given as an EAGLE field with a string value is read like DALiuGE does."""
    spec = app("a", HELLO, outputs=["d"], componentParams={"n_tries": {"value": "3"}})
    run = graph_run([spec, data("d")], tmp_path)
    assert run.machine.nodes["a"].tries == 3


@pytest.mark.parametrize("value", [-1, 101, "lots"])
def test_bad_input_error_threshold(tmp_path: Path, value: Any) -> None:
    """input_error_threshold is a percentage."""
    spec = app("a", HELLO, input_error_threshold=value, outputs=["d"])
    with pytest.raises(GraphError, match=r"drop 'a': parameter 'input_error_threshold'"):
        graph_run([spec, data("d")], tmp_path)


def test_nothing_runs_when_validation_fails(tmp_path: Path) -> None:
    """A bad drop anywhere in the graph stops the run before any app starts.

    The first app would create a file; after the refusal the file does not exist.
    """
    marker = tmp_path / "ran"
    specs = [
        app(
            "touch",
            "dlg.apps.bash_shell_app.BashShellApp",
            command=f"touch {marker}",
            outputs=["d"],
        ),
        data("d"),
        app("broken", "no.such.App", inputs=["d"]),
    ]
    with pytest.raises(GraphError, match=r"drop 'broken'"):
        run_graph(specs, session_dir=tmp_path / "session")
    assert not marker.exists()
    assert not (tmp_path / "session").exists()


def test_link_to_a_misspelt_oid_suggests_the_right_one() -> None:
    """A typo in a link gets the closest drops of the right kind as suggestions."""
    with pytest.raises(GraphError) as caught:
        load_physical_graph([app("hello", HELLO, outputs=["greting"]), data("greeting")])
    assert caught.value.message == (
        "drop 'hello': 'outputs' names 'greting', which is not in the graph; "
        "did you mean 'greeting'?"
    )


def test_links_given_from_both_ends_are_kept_once_in_order() -> None:
    """A gather reading 20 drops, each link written on both ends as DALiuGE writes it
    (and one written twice): every list holds each link once, in the order first given,
    short and long lists alike."""
    parts = [f"part{i}" for i in range(20)]
    specs = [data(name, consumers=["gather"]) for name in parts]
    specs.append(app("gather", inputs=[*parts[::-1], "part3"], outputs=["sum"]))
    specs.append(data("sum", producers=["gather", "gather"]))

    graph = load_physical_graph(specs)

    assert graph["gather"].inputs == parts
    assert graph["gather"].outputs == ["sum"]
    assert graph["sum"].producers == ["gather"]
    assert all(graph[name].consumers == ["gather"] for name in parts)


def test_linked_oids_are_the_drops_own_strings() -> None:
    """After loading, the link lists (and the spec's own link entries) refer to the
    linked drop's own oid object, and a uid equal to the oid is that object too: a
    million-drop graph keeps one copy of each oid."""
    specs = json.loads(json.dumps([app("a", outputs=["d"], uid="a"), data("d", producers=["a"])]))

    graph = load_physical_graph(specs)

    assert graph["a"].outputs[0] is graph["d"].oid
    assert specs[0]["outputs"][0] is graph["d"].oid
    assert specs[0]["uid"] is graph["a"].oid


def _has_cycle(edges: set[tuple[str, str]]) -> bool:
    """Reference: depth-first search for a back edge over every drop."""
    after: dict[str, list[str]] = {}
    for before, nxt in edges:
        after.setdefault(before, []).append(nxt)
    colour: dict[str, int] = {}

    def visit(oid: str) -> bool:
        colour[oid] = 1
        for nxt in after.get(oid, ()):
            if colour.get(nxt) == 1 or (nxt not in colour and visit(nxt)):
                return True
        colour[oid] = 2
        return False

    return any(oid not in colour and visit(oid) for oid in list(after))


@settings(max_examples=300, deadline=None)
@given(
    apps=st.integers(1, 6),
    datas=st.integers(1, 6),
    links=st.lists(st.tuples(st.booleans(), st.integers(0, 5), st.integers(0, 5)), max_size=20),
)
def test_a_graph_is_refused_for_a_cycle_exactly_when_it_has_one(
    apps: int, datas: int, links: list[tuple[bool, int, int]]
) -> None:
    """Random small graphs (apps writing and reading data drops, sources, leaves, drops
    off and on cycles): the loader refuses exactly those with a cycle, naming one."""
    edges: set[tuple[str, str]] = set()
    for writes, a, d in links:
        app_oid, data_oid = f"a{a % apps}", f"d{d % datas}"
        edges.add((app_oid, data_oid) if writes else (data_oid, app_oid))
    specs = [app(f"a{i}") for i in range(apps)] + [data(f"d{i}") for i in range(datas)]
    by_oid = {spec["oid"]: spec for spec in specs}
    for before, nxt in sorted(edges):
        key = "outputs" if before.startswith("a") else "consumers"
        by_oid[before].setdefault(key, []).append(nxt)
    if not _has_cycle(edges):
        load_physical_graph(specs)
        return
    with pytest.raises(GraphError, match="is on a cycle") as caught:
        load_physical_graph(specs)
    cycle = caught.value.detail["cycle"]
    assert all((before, nxt) in edges for before, nxt in itertools.pairwise(cycle))


def test_a_graph_file_json_accepts_and_orjson_refuses_still_loads(tmp_path: Path) -> None:
    """Files are parsed with orjson; what it refuses but Python's json reads (a NaN
    parameter, an integer beyond 64 bits) loads as it always did."""
    path = tmp_path / "pg.json"
    text = json.dumps([app("a", HELLO, outputs=["b"], scale="@NaN", seed=10**30), data("b")])
    path.write_text(text.replace('"@NaN"', "NaN"))
    graph = read_physical_graph(path)
    assert graph["a"].spec["seed"] == 10**30
    assert graph["a"].spec["scale"] != graph["a"].spec["scale"]  # NaN
    assert graph["b"].producers == ["a"]


def test_specs_keep_their_links_as_written_and_share_equal_lists() -> None:
    """A spec's link list equal to the drop's (both ends written, as DALiuGE does) is
    the drop's own list afterwards, one list less; a list that differs (a link given
    only from the other end, a port name) is left as written."""
    graph = load_physical_graph(
        [
            app("a", HELLO, outputs=["b"]),
            data("b", producers=["a"], consumers=["c"]),
            app("c", inputs=[{"b": "x"}], outputs=["d"]),
            data("d"),
        ]
    )
    assert graph["a"].spec["outputs"] is graph["a"].outputs
    assert graph["b"].spec["producers"] is graph["b"].producers
    assert graph["c"].spec["inputs"] == [{"b": "x"}]
    assert graph["c"].inputs == ["b"]
    assert graph["d"].producers == ["c"]
    assert "producers" not in graph["d"].spec
