"""assign_nodes: chains stay together, fan-outs and independent roots spread."""

from __future__ import annotations

from typing import Any

from liuray.graph.physical import load_physical_graph
from liuray.managers.placement import assign_nodes

NODES = ["n1", "n2", "n3"]


def _app(oid: str, inputs: tuple[str, ...] = (), outputs: tuple[str, ...] = ()) -> Any:
    return {
        "oid": oid,
        "categoryType": "Application",
        "dropclass": "dlg.apps.simple.CopyApp",
        "inputs": list(inputs),
        "outputs": list(outputs),
    }


def _data(oid: str) -> Any:
    return {"oid": oid, "categoryType": "Data", "dropclass": "dlg.data.drops.memory.InMemoryDROP"}


def place(specs: list[dict[str, Any]], nodes: list[str] = NODES) -> dict[str, str]:
    return assign_nodes(load_physical_graph(specs), nodes)


def test_chain_stays_on_one_node() -> None:
    """a -> d1 -> b -> d2 -> c -> d3: every hop on the first node, no traffic."""
    home = place(
        [
            _app("a", outputs=("d1",)),
            _data("d1"),
            _app("b", ("d1",), ("d2",)),
            _data("d2"),
            _app("c", ("d2",), ("d3",)),
            _data("d3"),
        ]
    )
    assert set(home) == {"a", "d1", "b", "d2", "c", "d3"}
    assert set(home.values()) == {"n1"}


def test_scatter_spreads_branches_and_keeps_each_branch_together() -> None:
    """A scatter into three chains puts each chain on its own node."""
    specs = [_app("scatter", outputs=("p0", "p1", "p2"))]
    for i in range(3):
        specs += [_data(f"p{i}"), _app(f"w{i}", (f"p{i}",), (f"r{i}",)), _data(f"r{i}")]
        specs += [_app(f"v{i}", (f"r{i}",), (f"s{i}",)), _data(f"s{i}")]
    home = place(specs)
    assert {home[f"w{i}"] for i in range(3)} == set(NODES)
    for i in range(3):
        assert home[f"p{i}"] == home["scatter"]  # data lives with its producer
        assert home[f"r{i}"] == home[f"v{i}"] == home[f"s{i}"] == home[f"w{i}"]


def test_independent_roots_round_robin() -> None:
    """Four unrelated root apps land on n1, n2, n3, n1 (in some order)."""
    home = place(
        [_app(f"a{i}", outputs=(f"d{i}",)) for i in range(4)] + [_data(f"d{i}") for i in range(4)]
    )
    used = sorted(home[f"a{i}"] for i in range(4))
    assert used == ["n1", "n1", "n2", "n3"]
    for i in range(4):
        assert home[f"d{i}"] == home[f"a{i}"]


def test_root_data_goes_with_its_first_consumer() -> None:
    """A data root has no producer: it lives where its reader runs."""
    home = place([_data("seed"), _app("a", ("seed",), ("out",)), _data("out")])
    assert home["seed"] == home["a"] == home["out"]


def test_lone_data_drop_gets_the_first_node() -> None:
    """A drop linked to nothing still gets a node."""
    assert place([_data("alone")]) == {"alone": "n1"}


def test_no_nodes_places_nothing() -> None:
    """With no registered nodes there is nothing to choose from."""
    assert place([_data("d")], []) == {}


def test_single_node_takes_everything() -> None:
    """One node: the whole fan-out runs there."""
    specs = [_app("s", outputs=("p0", "p1")), _data("p0"), _data("p1")]
    specs += [_app("w0", ("p0",)), _app("w1", ("p1",))]
    assert set(place(specs, ["only"]).values()) == {"only"}


def test_apps_reading_one_shared_drop_are_spread_over_the_nodes() -> None:
    """A cube read by four channel apps (no scatter app in between): the readers are
    parallel work, so they are placed round-robin rather than all on the cube's node."""
    specs: list[dict[str, object]] = [
        {"oid": "make", "categoryType": "app", "dropclass": "x", "outputs": ["cube"]},
        {"oid": "cube", "categoryType": "data", "dropclass": "y"},
    ]
    for index in range(4):
        specs += [
            {
                "oid": f"read{index}",
                "categoryType": "app",
                "dropclass": "x",
                "inputs": ["cube"],
                "outputs": [f"out{index}"],
            },
            {"oid": f"out{index}", "categoryType": "data", "dropclass": "y"},
        ]
    home = assign_nodes(load_physical_graph(specs), ["n1", "n2"])
    assert {home[f"read{i}"] for i in range(4)} == {"n1", "n2"}
    assert all(home[f"out{i}"] == home[f"read{i}"] for i in range(4))
