"""MKN constructs: M inputs per instance, K copies inside, N outputs per instance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("daliuge_tests")

from translate_helpers import by_oid, edges

from liuray.errors import GraphError
from liuray.graph.logical import load_logical_graph
from liuray.translate.unroll import unroll

MKN_GRAPH = Path(__file__).parent / "fixtures" / "graphs" / "mkn.graph"


def mkn_graph() -> dict[str, Any]:
    """produce -> chunk (Scatter of 4) -> MKN(m=2, k=3, n=2) {merge; piece -> work ->
    part; split} -> result -> consume; both MKN apps name their ports in/out."""
    raw: dict[str, Any] = json.loads(MKN_GRAPH.read_text("utf-8"))
    return raw


def count(specs: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for spec in specs:
        counts[spec["name"]] = counts.get(spec["name"], 0) + 1
    return counts


def test_mkn_unrolls_to_m_inputs_k_copies_n_outputs() -> None:
    """4 chunks, 2 per MKN instance: 2 instances, each with 3 copies of the children and
    2 results; 35 drops in all."""
    specs = unroll(load_logical_graph(mkn_graph()), "1")

    assert count(specs) == {
        "produce": 4,
        "chunk": 4,
        "merge": 2,
        "piece": 6,
        "work": 6,
        "part": 6,
        "split": 2,
        "result": 4,
        "consume": 1,
    }


def test_mkn_links_gather_m_scatter_k_gather_k_scatter_n() -> None:
    """chunk i -> merge i // 2; merge j -> its 3 pieces; the 3 parts of instance j ->
    split j; split j -> its 2 results; every result -> consume."""
    specs = by_oid(unroll(load_logical_graph(mkn_graph()), "1"))
    found = edges(list(specs.values()))

    for i in range(4):
        assert (f"1_chunk_0-{i}", f"1_mkn_0-{i // 2}") in found
    for j in range(2):
        for copy in range(3):
            assert (f"1_mkn_0-{j}", f"1_piece_0-{j}-{copy}") in found
            assert (f"1_part_0-{j}-{copy}", f"1_mkn_output_0-{j}-0") in found
        for product in range(2):
            assert (f"1_mkn_output_0-{j}-0", f"1_result_0-{j}-{product}") in found
            assert (f"1_result_0-{j}-{product}", "1_consume_0") in found
    assert len(found) == 4 + 4 + 6 + 6 + 6 + 6 + 4 + 4
    merge, split = specs["1_mkn_0-1"], specs["1_mkn_output_0-1-0"]
    assert merge["inputs"] == [{"1_chunk_0-2": "in"}, {"1_chunk_0-3": "in"}]
    assert split["outputs"] == [{"1_result_0-1-0": "out"}, {"1_result_0-1-1": "out"}]
    assert split["dropclass"] == "dlg.apps.simple.CopyApp"


def test_uneven_inputs_make_a_last_partial_instance() -> None:
    """5 chunks with m = 2: ceil(5 / 2) = 3 MKN instances, the last with one input."""
    graph = mkn_graph()
    graph["nodeDataArray"][0]["fields"][0]["value"] = 5

    specs = by_oid(unroll(load_logical_graph(graph), "1"))

    assert count(list(specs.values()))["merge"] == 3
    assert specs["1_mkn_0-2"]["inputs"] == [{"1_chunk_0-4": "in"}]


def mkn_node(graph: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = graph["nodeDataArray"][3]
    return node


def relink(graph: dict[str, Any], index: int, **changes: str) -> dict[str, Any]:
    graph["linkDataArray"][index].update(changes)
    return graph


def no_output_app() -> dict[str, Any]:
    graph = mkn_graph()
    mkn_node(graph)["outputApplicationType"] = "None"
    return graph


def bad_k() -> dict[str, Any]:
    graph = mkn_graph()
    mkn_node(graph)["fields"][1]["value"] = "many"
    return graph


BAD = {
    "no output application": (no_output_app, "needs an input application .* and an output"),
    "k not a number": (bad_k, "k must be a positive integer, got 'many'"),
    # part -> the input app's port: fed from inside
    "input app fed from inside": (
        lambda: relink(mkn_graph(), 5, toPort="mkn.merge_in"),
        "feeds its input application from inside it",
    ),
    # chunk -> the output app's port: fed from outside
    "output app fed from outside": (
        lambda: relink(mkn_graph(), 1, toPort="mkn.split_in"),
        "feeds its output application from outside",
    ),
    # the output app writes a node inside the MKN
    "output app writes inside": (
        lambda: relink(mkn_graph(), 6, to="piece", toPort="piece.x"),
        "leaves its output application for Memory node 'piece'",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_malformed_mkn_is_refused_naming_it(case: str) -> None:
    """A missing app, a bad size, or an app wired on the wrong side: a GraphError that
    names the MKN."""
    make, message = BAD[case]

    with pytest.raises(GraphError, match=message) as caught:
        unroll(load_logical_graph(make()))

    assert "MKN node 'mkn' (mkn)" in str(caught.value)
