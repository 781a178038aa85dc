"""Partitioning drop specs into "#<i>" labels, and mapping labels onto nodes."""

from __future__ import annotations

from collections import Counter

import pytest

pytest.importorskip("daliuge_tests")

from translate_helpers import by_oid, eagle_graph

from liuray.errors import GraphError
from liuray.graph.logical import load_logical_graph
from liuray.translate import map_partitions, partition, unroll


def gather_update() -> list[dict[str, object]]:
    return unroll(load_logical_graph(eagle_graph("eagle_gather_update")), "t")


def test_one_partition_labels_every_drop_0() -> None:
    """The "none" algorithm: every drop in "#0" of island "#0", specs otherwise equal."""
    specs = gather_update()

    labelled = partition(specs)

    assert {(spec["node"], spec["island"]) for spec in labelled} == {("#0", "#0")}
    assert [{k: v for k, v in s.items() if k not in ("node", "island")} for s in labelled] == specs
    assert "node" not in specs[0]  # the input is not modified


def test_chains_spread_scatter_copies_and_keep_each_chain_whole() -> None:
    """eagle_gather_update over 4 partitions: each scatter copy (Clean -> image,
    statistics) stays whole and the copies spread over 3 partitions (two copies carry
    a gather instance each, so balancing pairs the two lighter ones); the buffers the
    scatter app writes stay with it (data lives with its writer)."""
    labelled = by_oid(partition(gather_update(), 4))
    scatter = "t_11083363-f766-4e45-bcf3-2f9057fe3726_0"

    for copy in range(4):
        buffer = f"t_d64893b7-36d3-4751-81ed-c4e99c818d62_0-{copy}"
        assert labelled[buffer]["node"] == labelled[scatter]["node"]
        chain = [
            f"t_5d612631-5358-4df9-86f1-4806352a3a99_0-{copy}",  # Clean
            f"t_140bb20f-cd64-4589-b54b-8830aad4e055_0-{copy}",  # image per freq
            f"t_a9f42050-6358-4b35-a88f-a15f2862971f_0-{copy}",  # clean statistics
        ]
        assert len({labelled[oid]["node"] for oid in chain}) == 1
    cleans = {labelled[f"t_5d612631-5358-4df9-86f1-4806352a3a99_0-{c}"]["node"] for c in range(4)}
    assert len(cleans) == 3


def test_chains_are_balanced() -> None:
    """The 29 drops over 3 partitions: no partition has more than twice another's."""
    counts = Counter(spec["node"] for spec in partition(gather_update(), 3))

    assert set(counts) == {"#0", "#1", "#2"}
    assert max(counts.values()) <= 2 * min(counts.values())


def test_data_lives_with_its_writer() -> None:
    """Every data drop with one producer is in its producer's partition."""
    labelled = partition(gather_update(), 5)
    home = {spec["oid"]: spec["node"] for spec in labelled}

    for spec in labelled:
        producers = spec.get("producers", [])
        if len(producers) == 1:
            assert home[next(iter(producers[0]))] == spec["node"]


@pytest.mark.parametrize(
    ("count", "algorithm", "message"),
    [(0, None, "at least 1"), (2, "nope", "unknown partitioning algorithm 'nope'")],
)
def test_bad_partitioning_requests(count: int, algorithm: str | None, message: str) -> None:
    """A partition count below 1 or an unknown algorithm is a GraphError."""
    with pytest.raises(GraphError, match=message):
        partition(gather_update(), count, algorithm)


def test_map_replaces_labels_and_wraps_around() -> None:
    """Partition i goes to nodes[i % len(nodes)]; island defaults to the first node."""
    specs = [{"oid": str(i), "node": f"#{i}", "island": "#0"} for i in range(3)]

    mapped = map_partitions(specs, ["a:8000", "b:8000"])

    assert [spec["node"] for spec in mapped] == ["a:8000", "b:8000", "a:8000"]
    assert {spec["island"] for spec in mapped} == {"a:8000"}
    assert map_partitions(specs, ["a"], island="dim")[0]["island"] == "dim"


def test_map_refuses_unpartitioned_specs_and_no_nodes() -> None:
    """Mapping needs "#<i>" labels and at least one node."""
    with pytest.raises(GraphError, match="not a partition label"):
        map_partitions([{"oid": "a", "node": "host"}], ["n"])
    with pytest.raises(GraphError, match="onto no nodes"):
        map_partitions([{"oid": "a", "node": "#0"}], [])
