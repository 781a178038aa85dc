"""The translator routes' template store (api/pgt_store.py): ids, LRU, size bound."""

from __future__ import annotations

import pytest

pytest.importorskip("starlette")

from liuray.api.pgt_store import Template, TemplateStore, graph_view


def template(drops: int, name: str = "g.graph") -> Template:
    """A template of ``drops`` unlinked data drops in partition 0."""
    specs = [{"oid": f"d{i}", "categoryType": "Data", "node": "#0"} for i in range(drops)]
    return Template(name, specs, partitions=1, islands=1, algorithm="none")


def test_ids_follow_daliuge_and_never_repeat() -> None:
    """``<name><n>_pgt.graph``, n counting every template added, names made safe."""
    store = TemplateStore()
    assert store.add(template(1, "dir/My Graph.graph")) == "My_Graph1_pgt.graph"
    assert store.add(template(1, "My Graph.graph")) == "My_Graph2_pgt.graph"


def test_least_recently_used_goes_first_when_drops_overflow() -> None:
    """Over the drop bound, the least recently *used* template is evicted."""
    store = TemplateStore(max_drops=10)
    first, second = store.add(template(4)), store.add(template(4))
    assert store.get(first) is not None
    third = store.add(template(4))
    assert store.get(second) is None
    assert store.get(first) is not None and store.get(third) is not None


def test_a_template_larger_than_the_bound_is_kept_alone() -> None:
    """The newest is always kept, so its pgt_id works, whatever its size."""
    store = TemplateStore(max_drops=10)
    store.add(template(3))
    big = store.add(template(50))
    assert len(store) == 1
    assert store.get(big) is not None


def test_graph_view_links_and_groups() -> None:
    """One GoJS node per drop in its partition's group, one link per producer-output."""
    specs = [
        {"oid": "a", "categoryType": "Application", "node": "#0", "island": "#0", "outputs": ["b"]},
        {"oid": "b", "categoryType": "Data", "node": "#1", "island": "#1"},
    ]
    view = graph_view(Template("g.graph", specs, 2, 2, "metis"))
    nodes = {node["key"]: node for node in view["nodeDataArray"]}
    assert view["linkDataArray"] == [{"from": 1, "to": 2}]
    assert nodes[nodes[1]["group"]]["name"] == "Partition_1"
    assert nodes[nodes[2]["group"]]["name"] == "Partition_2"
    islands = {nodes[nodes[key]["group"]]["group"] for key in (1, 2)}
    assert {nodes[key]["name"] for key in islands} == {"Island_1", "Island_2"}
