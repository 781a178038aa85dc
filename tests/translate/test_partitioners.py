"""The partitioners behind one interface: METIS, min_num_parts, chains, and islands."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liuray.errors import GraphError
from liuray.translate.drop_graph import DropGraph, drop_graph
from liuray.translate.islands import island_labels
from liuray.translate.min_parts import min_parts_labels
from liuray.translate.partition import PARTITIONERS, PartitionOptions, partition
from liuray.types import DropSpec


def scatter(copies: int, weights: list[int] | None = None) -> list[DropSpec]:
    """A splitter app feeding ``copies`` chains app -> data -> app -> data; the first
    app of copy i has execution_time ``weights[i]``."""
    specs: list[DropSpec] = [{"oid": "split", "categoryType": "Application", "outputs": []}]
    for copy in range(copies):
        names = [f"in{copy}", f"work{copy}", f"out{copy}", f"save{copy}", f"done{copy}"]
        specs[0]["outputs"].append({names[0]: "x"})
        specs += [
            {"oid": names[0], "categoryType": "Data", "consumers": [names[1]]},
            {
                "oid": names[1],
                "categoryType": "Application",
                "execution_time": (weights or [1] * copies)[copy],
                "outputs": [names[2]],
            },
            {"oid": names[2], "categoryType": "Data", "consumers": [names[3]]},
            {"oid": names[3], "categoryType": "Application", "outputs": [names[4]]},
            {"oid": names[4], "categoryType": "Data"},
        ]
    return specs


def width(graph: DropGraph, members: list[int]) -> int:
    """The largest antichain among ``members`` (drops no path of the graph orders):
    Dilworth, as members minus a maximum matching of the reachability relation."""
    successors = defaultdict(list)
    for source, target in zip(graph.sources, graph.targets, strict=True):
        successors[source].append(target)
    inside = set(members)
    reach: dict[int, set[int]] = {}
    for member in members:
        seen: set[int] = set()
        stack = list(successors[member])
        while stack:
            drop = stack.pop()
            if drop not in seen:
                seen.add(drop)
                stack.extend(successors[drop])
        reach[member] = seen & inside
    matched: dict[int, int] = {}

    def augment(left: int, visited: set[int]) -> bool:
        for right in reach[left]:
            if right not in visited:
                visited.add(right)
                if right not in matched or augment(matched[right], visited):
                    matched[right] = left
                    return True
        return False

    return len(members) - sum(augment(member, set()) for member in members)


def groups(labels: list[int]) -> dict[int, list[int]]:
    members: dict[int, list[int]] = defaultdict(list)
    for drop, label in enumerate(labels):
        members[label].append(drop)
    return members


def test_min_num_parts_keeps_every_partition_within_the_degree_of_parallelism() -> None:
    """A 20-way scatter of 5-drop chains: for each bound, no partition can ever have
    more drops ready at once than the bound, and a bound of 1 still finds partitions
    (one per chain at most)."""
    graph = drop_graph(scatter(20))

    for max_dop in (1, 2, 3, 4, 8):
        labels = min_parts_labels(graph, max_dop)
        for members in groups(labels).values():
            assert width(graph, members) <= max_dop, max_dop
        assert len(set(labels)) >= math.ceil(20 / max_dop)


def test_min_num_parts_makes_few_partitions() -> None:
    """A chain is one partition even at DoP 1; the 20-way scatter (width 20) with
    DoP 4 needs at least 5 partitions and gets no more than 6."""
    chain = [
        {"oid": str(i), "categoryType": "Data" if i % 2 else "Application", "outputs": [str(i + 1)]}
        for i in range(9)
    ] + [{"oid": "9", "categoryType": "Data"}]
    for spec in chain[1:9:2]:
        spec["consumers"] = spec.pop("outputs")

    assert set(min_parts_labels(drop_graph(chain), 1)) == {0}
    assert 5 <= len(set(min_parts_labels(drop_graph(scatter(20)), 4))) <= 6


@settings(max_examples=60, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=24),
    edges=st.lists(st.tuples(st.integers(0, 23), st.integers(0, 23)), max_size=60),
    max_dop=st.integers(min_value=1, max_value=5),
)
def test_min_num_parts_bound_holds_on_random_graphs(
    size: int, edges: list[tuple[int, int]], max_dop: int
) -> None:
    """Property: on any DAG (edges go from lower to higher drops), every partition's
    largest antichain is at most max_dop, and every drop gets a partition."""
    specs: list[DropSpec] = [
        {"oid": str(i), "categoryType": "Application", "outputs": []} for i in range(size)
    ]
    for low, high in {(min(a, b), max(a, b)) for a, b in edges if a != b and max(a, b) < size}:
        specs[low]["outputs"].append(str(high))
    graph = drop_graph(specs)

    labels = min_parts_labels(graph, max_dop)

    assert len(labels) == size
    for members in groups(labels).values():
        assert width(graph, members) <= max_dop


def test_every_partitioner_labels_every_drop() -> None:
    """Each registered algorithm gives one label per drop, within the asked count."""
    pytest.importorskip("pymetis")
    graph = drop_graph(scatter(6))

    for name, partitioner in PARTITIONERS.items():
        labels = partitioner(graph, PartitionOptions(None if name == "min_num_parts" else 3))
        assert len(labels) == graph.size
        if name != "min_num_parts":
            assert set(labels) <= {0, 1, 2}


def test_metis_gives_the_partitions_asked_for_with_balanced_weights() -> None:
    """METIS over 48 chains whose first apps weigh 1..8 (execution_time): exactly 4
    partitions, none heavier than the mean by more than DALiuGE's 1.1% plus the heaviest
    drop (METIS cannot split a drop), and whole chains kept together."""
    pytest.importorskip("pymetis")
    specs = scatter(48, [1 + copy % 8 for copy in range(48)])
    graph = drop_graph(specs)

    labels = partition(specs, 4, "metis")

    weight: Counter[str] = Counter()
    for spec, drop_weight in zip(labels, graph.weights, strict=True):
        weight[spec["node"]] += drop_weight
    assert sorted(weight) == ["#0", "#1", "#2", "#3"]
    mean = sum(weight.values()) / 4
    assert max(weight.values()) <= mean * 1.011 + max(graph.weights)
    home = {spec["oid"]: spec["node"] for spec in labels}
    kept = sum(home[f"in{c}"] == home[f"work{c}"] == home[f"done{c}"] for c in range(48))
    assert kept >= 44  # METIS may cut a few chains to balance


def test_metis_balances_weight_not_drop_count() -> None:
    """One chain 40 times heavier than the others: its partition holds fewer drops."""
    pytest.importorskip("pymetis")
    specs = scatter(40, [40] + [1] * 39)

    counts = Counter(spec["node"] for spec in partition(specs, 2, "metis"))
    heavy = next(spec["node"] for spec in partition(specs, 2, "metis") if spec["oid"] == "work0")

    assert counts[heavy] < min(count for node, count in counts.items() if node != heavy)


def test_metis_is_deterministic_and_refuses_more_partitions_than_drops() -> None:
    """The same graph gives the same labels; 3 drops cannot make 4 partitions."""
    pytest.importorskip("pymetis")
    specs = scatter(10)

    assert partition(specs, 3, "metis") == partition(specs, 3, "metis")
    with pytest.raises(GraphError, match="cannot cut 3 drops into 4 partitions"):
        partition([{"oid": str(i), "categoryType": "Data"} for i in range(3)], 4, "metis")


def test_islands_group_whole_partitions_evenly() -> None:
    """8 partitions into 2 islands: each partition lies in one island, 4 in each."""
    specs = scatter(16)

    labelled = partition(specs, 8, "chains", islands=2)

    island_of: dict[str, set[str]] = defaultdict(set)
    for spec in labelled:
        island_of[spec["node"]].add(spec["island"])
    assert all(len(islands) == 1 for islands in island_of.values())
    assert Counter(next(iter(islands)) for islands in island_of.values()) == {"#0": 4, "#1": 4}


def test_islands_with_metis() -> None:
    """METIS partitions merged into islands by METIS: every island used, partitions whole."""
    pytest.importorskip("pymetis")

    labelled = partition(scatter(16), 6, "metis", islands=3)

    island_of: dict[str, set[str]] = defaultdict(set)
    for spec in labelled:
        island_of[spec["node"]].add(spec["island"])
    assert all(len(islands) == 1 for islands in island_of.values())
    assert {spec["island"] for spec in labelled} == {"#0", "#1", "#2"}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"partitions": 0}, "number of partitions must be at least 1"),
        ({"partitions": 2, "islands": 0}, "number of islands must be at least 1"),
        ({"partitions": 2, "islands": 3}, "cannot form 3 islands from 2 partitions"),
        ({"partitions": 3, "algorithm": "min_num_parts"}, "chooses the number of partitions"),
        ({"algorithm": "mpp", "max_dop": 0}, "degree of parallelism must be at least 1"),
        ({"partitions": 2, "algorithm": "none"}, "'none' algorithm makes one partition"),
        ({"partitions": 2, "algorithm": "sarkar"}, "unknown partitioning algorithm 'sarkar'"),
    ],
)
def test_bad_requests_say_what_is_wrong(arguments: dict[str, object], message: str) -> None:
    """Each impossible request is a GraphError naming the option and what would do."""
    with pytest.raises(GraphError, match=message):
        partition(scatter(2), **arguments)  # type: ignore[arg-type]


def test_island_labels_of_one_island_and_lpt() -> None:
    """One island: all "#0"; otherwise the heaviest partition first to the lightest."""
    graph = drop_graph([{"oid": str(i), "categoryType": "Data"} for i in range(6)])

    assert island_labels(graph, [0, 0, 1, 1, 2, 2], 1) == [0] * 6
    assert island_labels(graph, [0, 0, 0, 1, 2, 2], 2) == [0, 0, 0, 1, 1, 1]


def test_chains_ignore_the_order_edges_come_in() -> None:
    """The same graph with its edges listed in another order gives the same labels."""
    specs = scatter(5)
    graph = drop_graph(specs)
    shuffled = DropGraph(
        graph.size,
        graph.is_app,
        graph.weights,
        graph.volumes,
        graph.sources[::-1],
        graph.targets[::-1],
    )

    for name in ("chains", "min_num_parts"):
        options = PartitionOptions(None if name == "min_num_parts" else 3, max_dop=2)
        assert PARTITIONERS[name](graph, options) == PARTITIONERS[name](shuffled, options)


def test_width_helper() -> None:
    """The width helper itself: a chain has width 1, independent drops their count."""
    chain = drop_graph(scatter(1)[1:])
    assert width(chain, list(range(chain.size))) == 1
    loose = drop_graph([{"oid": str(i), "categoryType": "Data"} for i in range(4)])
    assert width(loose, [0, 1, 2, 3]) == 4
