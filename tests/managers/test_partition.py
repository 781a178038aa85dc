"""split_graph: per-node partitions with mirrors, publishers and external producers."""

from __future__ import annotations

import copy
from typing import Any

from liuray.graph.physical import load_physical_graph
from liuray.managers.partition import Partition, split_graph


def _app(oid: str, node: str, inputs: tuple[str, ...] = (), outputs: tuple[str, ...] = ()) -> Any:
    return {
        "oid": oid,
        "categoryType": "Application",
        "dropclass": "dlg.apps.simple.CopyApp",
        "inputs": list(inputs),
        "outputs": list(outputs),
        "node": node,
    }


def _data(oid: str, node: str, **links: list[str]) -> Any:
    return {
        "oid": oid,
        "categoryType": "Data",
        "dropclass": "dlg.data.drops.memory.InMemoryDROP",
        "node": node,
        **links,
    }


def split(specs: list[dict[str, Any]]) -> dict[str, Partition]:
    return split_graph(load_physical_graph(specs), lambda drop: drop.node or "")


def wiring(part: Partition) -> tuple[list[str], list[str], dict[str, Any], dict[str, int]]:
    """(sorted spec oids, mirrors, publish_to, external_producers) of one partition."""
    return (
        sorted(s["oid"] for s in part.specs),
        part.mirrors,
        part.publish_to,
        part.external_producers,
    )


def test_single_node_graph_has_no_cross_node_wiring() -> None:
    """Everything on one node: one partition, the specs unchanged apart from copies."""
    parts = split([_app("a", "n1", outputs=("d",)), _data("d", "n1"), _app("c", "n1", ("d",))])
    assert list(parts) == ["n1"]
    assert wiring(parts["n1"]) == (["a", "c", "d"], [], {}, {})
    assert parts["n1"].own_drops == 3


def test_write_on_one_node_read_on_a_third() -> None:
    """a (n1) writes d (n2), read by c (n3).

    n1 holds a mirror of d and publishes it to n2, where d has one external producer;
    n2 publishes d to n3, whose mirror waits for that one message.
    """
    parts = split(
        [
            _app("a", "n1", outputs=("d",)),
            _data("d", "n2", producers=["a"], consumers=["c"]),
            _app("c", "n3", inputs=("d",)),
        ]
    )
    assert sorted(parts) == ["n1", "n2", "n3"]
    assert wiring(parts["n1"]) == (["a", "d"], ["d"], {"d": ["n2"]}, {})
    assert wiring(parts["n2"]) == (["d"], [], {"d": ["n3"]}, {"d": 1})
    assert wiring(parts["n3"]) == (["c", "d"], ["d"], {}, {"d": 1})
    assert [p.own_drops for p in parts.values()] == [1, 1, 1]


def test_data_specs_keep_only_local_links() -> None:
    """Each copy of d links only to the apps of its own node; every spec names its node."""
    specs = [
        _app("a", "n1", outputs=("d",)),
        _data("d", "n2", producers=["a"], consumers=["c"]),
        _app("c", "n3", inputs=("d",)),
    ]
    original = copy.deepcopy(specs)
    parts = split(specs)
    by_node = {node: {s["oid"]: s for s in part.specs} for node, part in parts.items()}
    assert (by_node["n1"]["d"]["producers"], by_node["n1"]["d"]["consumers"]) == (["a"], [])
    assert (by_node["n2"]["d"]["producers"], by_node["n2"]["d"]["consumers"]) == ([], [])
    assert (by_node["n3"]["d"]["producers"], by_node["n3"]["d"]["consumers"]) == ([], ["c"])
    assert by_node["n3"]["c"]["inputs"] == ["d"]
    for node, specs_here in by_node.items():
        assert {s["node"] for s in specs_here.values()} == {node}
    assert specs == original


def test_two_remote_writers_count_as_two_external_producers() -> None:
    """d on n3 is written by apps on n1 and n2: it waits for two publications."""
    parts = split(
        [
            _app("a1", "n1", outputs=("d",)),
            _app("a2", "n2", outputs=("d",)),
            _data("d", "n3"),
        ]
    )
    assert wiring(parts["n1"]) == (["a1", "d"], ["d"], {"d": ["n3"]}, {})
    assert wiring(parts["n2"]) == (["a2", "d"], ["d"], {"d": ["n3"]}, {})
    assert wiring(parts["n3"]) == (["d"], [], {}, {"d": 2})


def test_one_drop_read_on_two_nodes_is_published_to_both() -> None:
    """d on n1 is read by apps on n2 and n3: n1 publishes it to both, in node order."""
    parts = split(
        [
            _app("a", "n1", outputs=("d",)),
            _data("d", "n1"),
            _app("r3", "n3", inputs=("d",)),
            _app("r2", "n2", inputs=("d",)),
        ]
    )
    assert wiring(parts["n1"]) == (["a", "d"], [], {"d": ["n2", "n3"]}, {})
    assert wiring(parts["n2"]) == (["d", "r2"], ["d"], {}, {"d": 1})
    assert wiring(parts["n3"]) == (["d", "r3"], ["d"], {}, {"d": 1})


def test_node_that_writes_and_reads_a_remote_drop_uses_its_own_copy() -> None:
    """a and c on n1 write and read d homed on n2: n1 publishes d, n2 sends nothing back."""
    parts = split(
        [
            _app("a", "n1", outputs=("d",)),
            _data("d", "n2"),
            _app("c", "n1", inputs=("d",)),
        ]
    )
    assert wiring(parts["n1"]) == (["a", "c", "d"], ["d"], {"d": ["n2"]}, {})
    assert wiring(parts["n2"]) == (["d"], [], {}, {"d": 1})


def test_root_data_read_remotely() -> None:
    """A root data drop on n1 read on n2 is published once it is completed."""
    parts = split([_data("seed", "n1"), _app("c", "n2", inputs=("seed",))])
    assert wiring(parts["n1"]) == (["seed"], [], {"seed": ["n2"]}, {})
    assert wiring(parts["n2"]) == (["c", "seed"], ["seed"], {}, {"seed": 1})
