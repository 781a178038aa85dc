"""Unrolling logical graphs, checked against DALiuGE's own translations."""

from __future__ import annotations

import pytest

pytest.importorskip("daliuge_tests")

from translate_helpers import (
    by_oid,
    eagle_graph,
    edges,
    link,
    logical,
    node,
    reference_specs,
)

from liuray.errors import GraphError
from liuray.graph.logical import load_logical_graph
from liuray.translate.unroll import unroll

# daliuge.md section 8: test_pg_gen.py's node/edge counts of the unrolled DAGs.
DALIUGE_COUNTS = {
    "HelloWorld_simple": (2, 1),
    "eagle_gather_empty_update": (22, 24),
    "eagle_gather_simple_update": (42, 55),
    "eagle_gather_update": (29, 30),
    "chiles_simple": (22, 21),
    "SharedMemoryTest_update": (8, 7),
    "testLoop": (11, 10),
    "cont_img_mvp": (144, 188),
    "test_grpby_gather": (15, 14),
}
# Graphs with a drop_spec reference from DALiuGE that we translate.
REFERENCES = [
    "HelloWorld_simple",
    "eagle_gather_empty_update",
    "eagle_gather_simple_update",
    "eagle_gather_update",
    "chiles_simple",
    "SharedMemoryTest_update",
    "test_ports",
    "pyfunc_glob_shell_test",
]


@pytest.mark.parametrize(("name", "expected"), DALIUGE_COUNTS.items())
def test_unrolled_counts_match_daliuge(name: str, expected: tuple[int, int]) -> None:
    """The number of drops and edges after unrolling is DALiuGE's (test_pg_gen.py)."""
    specs = unroll(load_logical_graph(eagle_graph(name)), "test_pg_gen")

    assert (len(specs), len(edges(specs))) == expected


@pytest.mark.parametrize("name", REFERENCES)
def test_oids_and_edges_equal_daliuges_drop_spec(name: str) -> None:
    """With DALiuGE's oid prefix, the oids and every edge are exactly those of the
    reference drop_spec/<name>.spec (so Scatter copies, Gather grouping and the iids
    "0-<copy>" are DALiuGE's)."""
    reference = reference_specs(name)

    specs = unroll(load_logical_graph(eagle_graph(name)), "test_pg_gen")

    assert set(by_oid(specs)) == set(by_oid(reference))
    assert edges(specs) == edges(reference)


@pytest.mark.parametrize("name", REFERENCES)
def test_identity_fields_equal_daliuges(name: str) -> None:
    """name, categoryType, category, dropclass, iid, rank and lg_key of every drop are
    those of DALiuGE's translation."""
    keys = ("name", "categoryType", "category", "dropclass", "iid", "rank", "lg_key")
    reference = by_oid(reference_specs(name))

    specs = unroll(load_logical_graph(eagle_graph(name)), "test_pg_gen")

    for spec in specs:
        theirs = reference[spec["oid"]]
        assert {k: spec[k] for k in keys} == {k: theirs[k] for k in keys}, spec["oid"]


def test_unsupported_constructs_say_what_is_not_supported() -> None:
    """A construct liuray does not know, and an embedded output application on a
    Scatter, are refused with a message naming the node."""
    unknown = node("m", "Construct", "Mpi")
    with pytest.raises(GraphError, match="construct Mpi is not supported yet: Mpi node 'm'"):
        unroll(logical([unknown], []))
    scatter = {**node("s", "Construct", "Scatter"), "outputApplicationType": "PythonApp"}
    with pytest.raises(GraphError, match=r"'s' .*embedded output application"):
        unroll(logical([scatter], []))


def test_hello_world_spec_shape() -> None:
    """HelloWorld_simple: parameters top-level by name, application arguments in
    applicationArgs, and the link on both ends as {oid: port name}."""
    specs = unroll(load_logical_graph(eagle_graph("HelloWorld_simple")), "p")

    hello, file = specs
    assert hello["oid"] == "p_19877332-6fd7-455c-b7b5-9e3dc90560ac_0"
    assert hello["greet"] == "Everybody"
    assert hello["dropclass"] == "dlg.apps.simple.HelloWorldApp"
    assert hello["outputs"] == [{file["oid"]: "hello"}]
    assert file["producers"] == [{hello["oid"]: "hello"}]
    assert file["filepath"] == "hello.txt"
    assert file["applicationArgs"]["hello"]["usage"] == "InputOutput"
    assert "hello" not in file  # ports are not parameters


def test_each_end_records_its_own_port_name() -> None:
    """eagle_gather_update: Clean writes 'stringcopy' into 'clean statistics', whose
    own input port is 'string'; each side records its own port's name."""
    specs = by_oid(unroll(load_logical_graph(eagle_graph("eagle_gather_update")), "t"))

    clean = specs["t_5d612631-5358-4df9-86f1-4806352a3a99_0-0"]
    stats = "t_a9f42050-6358-4b35-a88f-a15f2862971f_0-0"
    assert {stats: "stringcopy"} in clean["outputs"]
    assert specs[stats]["producers"] == [{clean["oid"]: "string"}]


def test_scatter_app_runs_once_and_feeds_every_copy() -> None:
    """SuperBasicScatterGather: the GenericScatterApp (the construct's id, iid "0")
    writes the 4 copies of File; the gather of width 4 has one instance reading all."""
    specs = unroll(load_logical_graph(eagle_graph("SuperBasicScatterGather")), "x")

    scatter = by_oid(specs)["x_3b1d3054-b9db-4442-a99b-2ad9eafd8f0a_0"]
    files = [spec["oid"] for spec in specs if spec["name"] == "File"]
    gathers = [spec for spec in specs if spec["dropclass"] == "dlg.apps.simple.GenericGatherApp"]
    assert scatter["dropclass"] == "dlg.apps.simple.GenericScatterApp"
    assert [next(iter(entry)) for entry in scatter["outputs"]] == files
    assert [spec["iid"] for spec in specs if spec["name"] == "File"] == [
        "0-0",
        "0-1",
        "0-2",
        "0-3",
    ]
    (gather,) = gathers
    assert [next(iter(entry)) for entry in gather["inputs"]] == files


def nested_graph(width: int = 3) -> list[dict[str, object]]:
    """outer Scatter(2) > [writer app, inner Scatter(3) > part]; Gather(width) reads."""
    return [
        node("outer", "Construct", "Scatter", num_of_copies=2),
        node("inner", "Construct", "Scatter", parent="outer", num_of_copies=3),
        node(
            "writer",
            "Application",
            "PythonApp",
            parent="outer",
            ports=(("out", "OutputPort"),),
            dropclass="dlg.apps.simple.HelloWorldApp",
        ),
        node("part", parent="inner", ports=(("data", "InputOutput"),)),
        {
            **node("gather", "Construct", "Gather", num_of_inputs=width),
            "inputApplicationType": "PythonApp",
            "inputAppFields": [
                {"id": "gather.in", "name": "in", "usage": "InputPort"},
                {"id": "gather.dc", "name": "dropclass", "value": "dlg.apps.simple.CopyApp"},
            ],
        },
    ]


def test_nested_scatter_and_gather_group_by_width() -> None:
    """A writer per outer copy feeds its 3 inner parts (iids 0-o-i); the 6 parts feed a
    Gather of width 3: two gather instances, each reading one outer copy's parts."""
    graph = logical(
        nested_graph(),
        [link("writer", "out", "part", "data"), link("part", "data", "gather", "in")],
    )

    specs = by_oid(unroll(graph, "n"))

    assert specs["n_writer_0-1"]["outputs"] == [
        {"n_part_0-1-0": "out"},
        {"n_part_0-1-1": "out"},
        {"n_part_0-1-2": "out"},
    ]
    assert specs["n_part_0-1-2"]["rank"] == [0, 1, 2]
    assert [next(iter(e)) for e in specs["n_gather_0-1"]["inputs"]] == [
        "n_part_0-1-0",
        "n_part_0-1-1",
        "n_part_0-1-2",
    ]
    assert sorted(oid for oid in specs if oid.startswith("n_gather")) == [
        "n_gather_0-0",
        "n_gather_0-1",
    ]


def test_gather_wider_than_its_inputs_has_one_instance() -> None:
    """A Gather of width 10 over 6 parts has ceil(6/10) = 1 instance reading all 6."""
    graph = logical(
        nested_graph(width=10),
        [link("writer", "out", "part", "data"), link("part", "data", "gather", "in")],
    )

    specs = by_oid(unroll(graph, "n"))

    assert len(specs["n_gather_0-0"]["inputs"]) == 6
    assert "n_gather_0-1" not in specs


def test_mismatched_instance_counts_are_an_error() -> None:
    """2 copies cannot feed 3 copies of a sibling Scatter one to one: the error names
    both nodes and their counts."""
    graph = logical(
        [
            node("s2", "Construct", "Scatter", num_of_copies=2),
            node("s3", "Construct", "Scatter", num_of_copies=3),
            node("d", parent="s2", ports=(("x", "OutputPort"),)),
            node("a", "Application", "PythonApp", parent="s3", ports=(("x", "InputPort"),)),
        ],
        [link("d", "x", "a", "x")],
    )

    with pytest.raises(GraphError, match=r"'d' \(d\) \(2 instances\) to .*'a' \(a\) \(3 inst"):
        unroll(graph)


def test_app_to_app_link_is_written_as_outputs_and_producers() -> None:
    """An app linked straight to an app (cont_img_mvp's Branch and Predict do it) is
    written as DALiuGE writes it: the source's outputs, the target's producers."""
    graph = logical(
        [
            node("a", "Application", "PythonApp", ports=(("x", "OutputPort"),)),
            node("b", "Application", "PythonApp", ports=(("y", "InputPort"),)),
        ],
        [link("a", "x", "b", "y")],
    )

    first, second = unroll(graph, "p")

    assert first["outputs"] == [{"p_b_0": "x"}]
    assert second["producers"] == [{"p_a_0": "y"}]


def test_data_to_data_link_is_an_error() -> None:
    """Two data nodes cannot be linked: the error names both."""
    graph = logical(
        [node("a", ports=(("x", "OutputPort"),)), node("b", ports=(("x", "InputPort"),))],
        [link("a", "x", "b", "x")],
    )

    with pytest.raises(GraphError, match=r"from Memory node 'a' .* joins two data nodes"):
        unroll(graph)


@pytest.mark.parametrize("copies", [0, -1, "many", 2.5])
def test_bad_scatter_copies_are_an_error(copies: object) -> None:
    """num_of_copies must be a positive integer."""
    graph = logical([node("s", "Construct", "Scatter", num_of_copies=copies)], [])

    with pytest.raises(GraphError, match="num_of_copies must be a positive integer"):
        unroll(graph)


def test_same_prefix_gives_identical_oids() -> None:
    """Unrolling is deterministic: the same graph and prefix give the same specs."""
    graph = load_logical_graph(eagle_graph("eagle_gather_simple_update"))

    assert unroll(graph, "a") == unroll(graph, "a")


def loop_graph(**loop_params: object) -> list[dict[str, object]]:
    """Loop > [start app (group_start) -> end data (group_end)]."""
    return [
        node("loop", "Construct", "Loop", **loop_params),
        node(
            "start",
            "Application",
            "PythonApp",
            parent="loop",
            ports=(("in", "InputPort"), ("out", "OutputPort")),
            group_start=True,
        ),
        node("end", parent="loop", ports=(("d", "InputOutput"),), group_end="1"),
    ]


def test_loop_iteration_feeds_the_next() -> None:
    """A Loop of 3: iteration k's group_end feeds iteration k + 1's group_start, each
    instance carries its loop_ctx, and the loop is closed once (no repeated entries)."""
    graph = logical(loop_graph(num_of_iter=3), [link("start", "out", "end", "d")])

    specs = by_oid(unroll(graph, "l"))

    assert [specs[f"l_start_0-{k}"]["loop_ctx"] for k in range(3)] == ["0", "1", "2"]
    assert specs["l_end_0-0"]["consumers"] == [{"l_start_0-1": "d"}]
    assert specs["l_start_0-2"]["inputs"] == [{"l_end_0-1": "in"}]
    assert "consumers" not in specs["l_end_0-2"]


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        (loop_graph(), r"Loop node 'loop' \(loop\): num_of_iter or .* is missing"),
        (loop_graph(num_of_iter=0), "num_of_iter must be a positive integer"),
        (loop_graph(num_of_iter=2)[:2], "needs at least one child flagged group_start .* 1 and 0"),
    ],
)
def test_malformed_loops_name_the_loop(nodes: list[dict[str, object]], message: str) -> None:
    """A Loop without a size, or without a group_end, is an error naming it."""
    with pytest.raises(GraphError, match=message):
        unroll(logical(nodes, []))


def test_closes_loop_link_between_other_nodes_is_an_error() -> None:
    """closesLoop marks a group_end -> group_start link of one Loop; anything else would
    feed an iteration from itself."""
    nodes = [*loop_graph(num_of_iter=2), node("x", parent="loop", ports=(("d", "InputOutput"),))]
    closing = link("x", "d", "start", "in") | {"closesLoop": True}

    with pytest.raises(GraphError, match=r"'x' \(x\) .* marked closesLoop"):
        unroll(logical(nodes, [closing]))


def test_link_to_a_loop_itself_is_an_error() -> None:
    """A Loop has no drops of its own: a link must go to a node inside it."""
    nodes = [*loop_graph(num_of_iter=2), node("src", ports=(("o", "OutputPort"),))]
    nodes[0]["fields"].append({"id": "loop.in", "name": "in", "usage": "InputPort"})

    with pytest.raises(GraphError, match=r"a link to Loop node 'loop' .* has no drops of its own"):
        unroll(logical(nodes, [link("src", "o", "loop", "in")]))


def group_by_graph(**params: object) -> list[dict[str, object]]:
    """Scatter(3) > data -> GroupBy > app."""
    return [
        node("s", "Construct", "Scatter", num_of_copies=3),
        node("piece", parent="s", ports=(("d", "InputOutput"),)),
        node("gb", "Construct", "GroupBy", ports=(("in", "InputPort"),), **params),
        node("use", "Application", "PythonApp", parent="gb", ports=(("in", "InputPort"),)),
    ]


def test_group_by_is_a_barrier_writing_grouped_data() -> None:
    """Each GroupBy instance is DALiuGE's SleepApp barrier writing <oid>-grp-data, which
    the GroupBy's first child reads (a side without a port gets the bare oid)."""
    graph = logical(group_by_graph(), [link("piece", "d", "gb", "in")])

    specs = by_oid(unroll(graph, "g"))

    barrier = specs["g_gb_0-0"]
    assert (barrier["categoryType"], barrier["dropclass"]) == (
        "Application",
        "dlg.apps.simple.SleepApp",
    )
    assert barrier["outputs"] == [{"g_gb_0-0-grp-data": "grpdata"}]
    assert specs["g_gb_0-0-grp-data"]["consumers"] == ["g_use_0-0"]  # the GroupBy has no port
    assert specs["g_use_0-0"]["inputs"] == [{"g_gb_0-0-grp-data": "in"}]
    assert specs["g_piece_0-1"]["consumers"] == [{"g_gb_0-1": "d"}]


@pytest.mark.parametrize(
    ("params", "links", "message"),
    [
        ({}, [], "'gb' .* has no input"),
        (
            {"group_key": "3,4"},
            [link("piece", "d", "gb", "in")],
            "group_key '3,4' is not supported",
        ),
    ],
)
def test_malformed_group_by_names_it(
    params: dict[str, object], links: list[dict[str, str]], message: str
) -> None:
    """A GroupBy needs an input inside a Scatter and no group_key but the one around it."""
    with pytest.raises(GraphError, match=message):
        unroll(logical(group_by_graph(**params), links))


def test_group_by_output_must_go_to_a_gather() -> None:
    """A GroupBy's own output goes to a Gather; anything else is refused by name."""
    nodes = [
        *group_by_graph(),
        node("after", "Application", "PythonApp", ports=(("in", "InputPort"),)),
    ]
    nodes[2]["fields"].append({"id": "gb.out", "name": "out", "usage": "OutputPort"})
    links = [link("piece", "d", "gb", "in"), link("gb", "out", "after", "in")]

    with pytest.raises(GraphError, match=r"GroupBy's output must go to a Gather"):
        unroll(logical(nodes, links))


def test_max_drops_refuses_a_graph_before_unrolling_it() -> None:
    """``max_drops``: a 10**7-way Scatter is refused at once, naming the node and the
    count, instead of filling the memory; within the limit nothing changes."""
    graph = logical(
        [node("s", "Construct", "Scatter", num_of_copies=10**7), node("d", parent="s")], []
    )
    too_many = r"more than 1,000 drops \(node 'd' alone makes 10,000,000\)"
    with pytest.raises(GraphError, match=too_many):  # at once: nothing is made first
        unroll(graph, max_drops=1000)
    small = logical([node("s", "Construct", "Scatter", num_of_copies=3), node("d", parent="s")], [])
    assert len(unroll(small, max_drops=3)) == 3


def test_a_link_from_the_output_port_of_an_absent_output_app_leaves_from_the_gather_app() -> None:
    """A Gather whose output application is ``UnknownApplication`` but whose output-app
    fields still hold the port a link leaves from (a real user's graph: LEAP's
    ``LeapAccelerateCLI`` in DALiuGE's graph corpus).

    DALiuGE 6.6.0 fails on it with a bare ``KeyError`` (its port lookup never reads the
    output-app fields); liuray reads the link as leaving the Gather's own application,
    the only application the construct has, under the port's name (docs/translator.md,
    deliberate differences).
    """
    port = {"name": "Result", "id": "r", "value": "", "usage": "InputOutput"}
    graph = {
        "modelData": {},
        "nodeDataArray": [
            {
                "id": "G", "name": "Gather", "category": "Gather", "categoryType": "Construct",
                "fields": [{"name": "num_of_inputs", "value": "4", "id": "n"}],
                "inputApplicationType": "BashShellApp",
                "inputAppFields": [
                    {"name": "Result", "id": "in", "value": "", "usage": "InputPort"},
                    {"name": "command", "id": "c", "value": "cat"},
                ],
                "outputApplicationType": "UnknownApplication",
                "outputAppFields": [{**port, "id": "out", "usage": "OutputPort"}],
            },
            {"id": "R", "name": "Result", "category": "File", "categoryType": "Data",
             "fields": [port]},
            {"id": "E", "name": "End", "category": "File", "categoryType": "Data",
             "fields": [{**port, "id": "e", "usage": "InputPort"}]},
        ],
        "linkDataArray": [
            {"from": "R", "fromPort": "r", "to": "G", "toPort": "in"},
            {"from": "G", "fromPort": "out", "to": "E", "toPort": "e"},
        ],
    }  # fmt: skip
    specs = {spec["name"]: spec for spec in unroll(load_logical_graph(graph))}
    assert specs["Gather"]["categoryType"] == "Application"
    assert specs["Gather"]["inputs"] == [{"1_R_0": "Result"}]
    assert specs["Gather"]["outputs"] == [{"1_E_0": "Result"}]
    assert specs["End"]["producers"] == [{specs["Gather"]["oid"]: "Result"}]


@pytest.mark.parametrize(
    "nodes",
    [[], [{"id": "c", "category": "Comment", "categoryType": "Other", "fields": []}]],
    ids=["no nodes", "only a Comment"],
)
def test_a_graph_without_nodes_is_refused(nodes: list[dict[str, object]]) -> None:
    """An empty logical graph, or one with only Comment/Description nodes, unrolls to
    nothing: DALiuGE 6.6.0 refuses it ("Invalid LG, nodes not found", its engine test
    graph ``topoGraphs/testEmpty``), and so does liuray, saying why."""
    graph = load_logical_graph({"nodeDataArray": nodes, "linkDataArray": []})
    with pytest.raises(GraphError, match=r"the logical graph has no nodes.*Comment"):
        unroll(graph)


def test_an_mpi_node_unrolls_into_one_drop_per_process() -> None:
    """An ``Mpi`` application with ``num_of_procs`` 3 becomes 3 drops ``<iid>-<i>``,
    rank ``[..., i]``, each reading the data before it and writing the data after it,
    as DALiuGE 6.6.0 makes them (its engine then runs them as one MPI job; liuray's
    refuses them when the graph is validated)."""
    graph = logical(
        [
            node("d", ports=(("x", "OutputPort"),)),
            node("p", "Application", "Mpi", ports=(("x", "InputPort"), ("y", "OutputPort")),
                 num_of_procs=3, dropclass="dlg.apps.mpi.MPIApp"),
            node("r", ports=(("y", "InputPort"),)),
        ],
        [link("d", "x", "p", "x"), link("p", "y", "r", "y")],
    )  # fmt: skip
    specs = {spec["oid"]: spec for spec in unroll(graph)}
    procs = [f"1_p_0-{i}" for i in range(3)]
    assert sorted(specs) == sorted(["1_d_0", "1_r_0", *procs])
    for i, oid in enumerate(procs):
        assert (specs[oid]["iid"], specs[oid]["rank"]) == (f"0-{i}", [0, i])
        assert specs[oid]["inputs"] == [{"1_d_0": "x"}]
        assert specs[oid]["outputs"] == [{"1_r_0": "y"}]
    assert specs["1_d_0"]["consumers"] == [{oid: "x"} for oid in procs]
    assert specs["1_r_0"]["producers"] == [{oid: "y"} for oid in procs]
    assert {specs[oid]["dropclass"] for oid in procs} == {"dlg.apps.mpi.MPIApp"}


def test_an_mpi_node_without_a_dropclass_gets_none() -> None:
    """DALiuGE writes an empty dropclass for an Mpi node that names none (its reproGraphs
    ``apps``), not the SleepApp other apps get: liuray too, so the engine refuses the drop
    at validation instead of sleeping in place of the MPI job."""
    graph = logical([node("p", "Application", "Mpi", num_of_procs=2, dropclass="")], [])
    assert [spec["dropclass"] for spec in unroll(graph)] == ["", ""]
