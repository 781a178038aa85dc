"""Large graph files are parsed a slice at a time; the result is the whole parse's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from liuray.errors import GraphError
from liuray.graph import physical
from liuray.graph.physical import load_physical_graph, read_physical_graph
from liuray.graph.slices import NotSliceable, list_slices

HELLO = "dlg.apps.simple.HelloWorldApp"
MEMORY = "dlg.data.drops.memory.InMemoryDROP"


def pairs(n: int, note: str = "") -> list[dict[str, Any]]:
    """``n`` app -> data pairs, links on both ends, each spec with a ``note`` string."""
    specs: list[dict[str, Any]] = []
    for i in range(n):
        specs.append(
            {"oid": f"a{i}", "categoryType": "Application", "dropclass": HELLO,
             "outputs": [f"d{i}"], "note": note}
        )  # fmt: skip
        specs.append(
            {"oid": f"d{i}", "categoryType": "Data", "dropclass": MEMORY,
             "producers": [f"a{i}"], "consumers": [f"a{i + 1}"] if i + 1 < n else []}
        )  # fmt: skip
        if i:
            specs[-2]["inputs"] = [f"d{i - 1}"]
    return specs


@pytest.fixture
def small_slices(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Slices of ~200 bytes; records how many slices each read parsed."""
    counts: list[int] = []
    real = physical.list_slices

    def counted(data: bytes, size: int) -> Any:
        counts.append(0)
        for part in real(data, 200):
            counts[-1] += 1
            yield part

    monkeypatch.setattr(physical, "_SLICE_BYTES", 100)
    monkeypatch.setattr(physical, "list_slices", counted)
    return counts


def shape(graph: physical.PhysicalGraph) -> list[tuple[Any, ...]]:
    return [(d.oid, d.is_app, d.inputs, d.outputs, d.producers, d.consumers, d.spec) for d in graph]


@pytest.mark.parametrize("indent", [None, 2])
def test_a_file_read_in_slices_gives_the_graph_parsed_whole(
    tmp_path: Path, small_slices: list[int], indent: int | None
) -> None:
    """A chain of 40 pairs, compact or indented, with reprodata at the end: read in many
    slices, the graph (drops, links, specs) and reprodata are those of a whole parse."""
    specs = pairs(40)
    path = tmp_path / "pg.json"
    path.write_text(json.dumps([*specs, {"rmode": "1"}], indent=indent))
    graph = read_physical_graph(path)
    assert small_slices[0] > 10
    whole = load_physical_graph(json.loads(path.read_text()))
    assert shape(graph) == shape(whole)
    assert graph.reprodata == {"rmode": "1"}
    assert graph["d3"].producers == ["a3"] and graph["a4"].inputs == ["d3"]


def test_a_boundary_inside_a_string_makes_the_file_parse_whole(
    tmp_path: Path, small_slices: list[int]
) -> None:
    """Every spec's note holds "}, {": whichever boundary a slice takes inside a string
    is refused, and the file is parsed whole, with the same result."""
    specs = pairs(20, note='x}, {"oid": "fake"}, {y')
    path = tmp_path / "pg.json"
    path.write_text(json.dumps(specs))
    graph = read_physical_graph(path)
    assert "fake" not in graph
    assert shape(graph) == shape(load_physical_graph(json.loads(path.read_text())))


def test_a_bad_spec_in_a_later_slice_is_named_by_its_place(
    tmp_path: Path, small_slices: list[int]
) -> None:
    specs: list[Any] = pairs(30)
    specs[47] = {"oid": "bad", "categoryType": "Construct"}
    path = tmp_path / "pg.json"
    path.write_text(json.dumps(specs))
    with pytest.raises(GraphError, match="drop 'bad': categoryType 'Construct' is not known"):
        read_physical_graph(path)
    specs[47] = {"oid": "a0", "categoryType": "Application", "dropclass": HELLO}
    path.write_text(json.dumps(specs))
    with pytest.raises(GraphError, match=r"duplicate drop oid 'a0' \(spec #47\)"):
        read_physical_graph(path)


def test_bad_json_in_a_large_file_is_reported_with_its_line(
    tmp_path: Path, small_slices: list[int]
) -> None:
    text = json.dumps(pairs(30), indent=1).splitlines()
    text[200] = text[200] + " oops"
    path = tmp_path / "pg.json"
    path.write_text("\n".join(text))
    with pytest.raises(GraphError, match="not valid JSON") as caught:
        read_physical_graph(path)
    assert caught.value.detail["line"] == 201


def test_slices_are_cut_only_between_elements() -> None:
    """Objects inside an element (a list of port dicts) are never a boundary that
    parses: the text is refused, for the caller to parse whole."""
    assert list(list_slices(b'[{"a": 1},\n {"b": 2}]', 1)) == [[{"a": 1}], [{"b": 2}]]
    assert list(list_slices(b'[{"a": 1}, {"b": 2}]', 100)) == [[{"a": 1}, {"b": 2}]]
    with pytest.raises(NotSliceable):
        list(list_slices(b'[{"p": [{"x": 1}, {"y": 2}]}, {"b": 2}]', 5))
    with pytest.raises(NotSliceable):
        list(list_slices(b'["name", [{"a": 1}]]', 1))
