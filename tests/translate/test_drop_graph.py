"""The drop graph the partitioners read: from specs, or kept by the unroller."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("daliuge_tests")

from translate_helpers import TRANSLATOR

from liuray.errors import GraphError
from liuray.graph.logical import read_logical_graph
from liuray.translate.drop_graph import DropGraph, drop_graph
from liuray.translate.unroll import unroll_with_graph

GRAPHS = sorted(
    [*(Path(str(TRANSLATOR)).glob("**/*.graph")), *Path(__file__).parent.glob("fixtures/graphs/*")],
    key=str,
)


def edges(graph: DropGraph) -> list[tuple[int, int]]:
    return sorted(zip(graph.sources, graph.targets, strict=True))


@pytest.mark.parametrize("path", GRAPHS, ids=lambda path: path.name)
def test_unrollers_graph_equals_the_one_read_from_its_specs(path: Path) -> None:
    """For every test graph liuray unrolls, the graph kept while unrolling has the same
    drops, kinds, weights and edges as the one read back from the specs."""
    try:
        specs, kept = unroll_with_graph(read_logical_graph(path))
    except GraphError:
        pytest.skip("not translated (see test_daliuge_structure)")
    read = drop_graph(specs)

    assert (kept.size, kept.is_app) == (read.size, read.is_app)
    assert (list(kept.weights), list(kept.volumes)) == (list(read.weights), list(read.volumes))
    assert edges(kept) == edges(read)


def test_weights_follow_daliuge() -> None:
    """Apps weigh their weight or execution_time, data 1; edges weigh the data volume;
    bad or missing values count 1."""
    graph = drop_graph(
        [
            {"oid": "a", "categoryType": "Application", "execution_time": "7", "outputs": ["d"]},
            {"oid": "d", "categoryType": "Data", "data_volume": 30, "consumers": ["b"]},
            {"oid": "b", "categoryType": "app", "weight": "x"},
        ]
    )

    assert list(graph.weights) == [7, 1, 1]
    assert list(graph.edge_weights) == [30, 30]
    assert bytes(graph.is_app) == b"\x01\x00\x01"


def test_links_written_on_one_side_only_are_found_once() -> None:
    """A hand-written graph listing a link only as the app's input still has the edge;
    one listed on both sides is one edge."""
    graph = drop_graph(
        [
            {"oid": "d", "categoryType": "Data"},
            {"oid": "a", "categoryType": "Application", "inputs": ["d"], "outputs": ["e"]},
            {"oid": "e", "categoryType": "Data", "producers": ["a"]},
        ]
    )

    assert edges(graph) == [(0, 1), (1, 2)]


def test_a_link_to_a_missing_drop_names_both() -> None:
    """The error says which drop lists which missing oid, and where."""
    with pytest.raises(GraphError, match="drop 'a' lists 'ghost' in 'outputs'"):
        drop_graph([{"oid": "a", "categoryType": "Application", "outputs": [{"ghost": "x"}]}])
