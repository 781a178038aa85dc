"""Which DALiuGE class names the island manager accepts when a graph is appended."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from liuray.engine import registry
from liuray.engine.states import SessionState
from liuray.errors import GraphError
from liuray.managers.island import IslandManager


@pytest.mark.parametrize(
    "dropclass",
    [
        "dlg.data.drops.InMemoryDROP",
        "dlg.data.drops.FileDROP",
        "dlg.data.drops.SharedMemoryDROP",
        "dlg.data.drops.NullDROP",
    ],
)
def test_package_level_data_class_names_run(
    island: IslandManager, app: Any, dropclass: str
) -> None:
    """DALiuGE re-exports its data drops at package level and its translator writes
    those names: a graph using them runs to the end."""
    data = {"oid": "d", "categoryType": "Data", "dropclass": dropclass, "filepath": "d.txt"}
    session_id = island.submit([app("hello", "HelloWorldApp", outputs=("d",)), data])

    assert island.wait(session_id, 10) is SessionState.FINISHED


def test_an_unknown_daliuge_class_is_refused_at_append_naming_the_drop(
    island: IslandManager, app: Any, data: Any
) -> None:
    """A DALiuGE class liuray does not implement is refused when the graph is appended
    (a 400 on the wire), naming the drop and the class; nothing is deployed and the
    session keeps what it had."""
    island.create_session("s")
    island.append_graph("s", [data("ok")])
    bad = {"oid": "ngas", "categoryType": "Data", "dropclass": "dlg.data.drops.NgasDROP"}

    with pytest.raises(GraphError, match=r"drop 'ngas': dropclass 'dlg.data.drops.NgasDROP'"):
        island.append_graph("s", [bad])

    assert island.graph_size("s") == 1
    assert island.state("s") is SessionState.BUILDING
    assert island.transport.client(island.nodes()[0]).sessions() == []


def test_user_classes_are_left_to_the_nodes(island: IslandManager) -> None:
    """An import path of the user's code is not checked at append (the code may exist
    only on the nodes); it is resolved at deploy."""
    island.create_session("u")
    spec = {"oid": "mine", "categoryType": "Data", "dropclass": "my_pipeline.drops.Special"}

    assert island.append_graph("u", [spec]) == 1
    with pytest.raises(GraphError, match="my_pipeline"):
        island.deploy_session("u")


def test_an_app_whose_package_is_missing_is_refused_at_append_saying_what_to_install(
    island: IslandManager, app: Any, data: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RandomArrayApp needs numpy: where numpy is missing (simulated here; the core-only
    test pass has none), appending it is refused with the package and the install
    command, and the session keeps what it had."""
    real = importlib.util.find_spec
    monkeypatch.setattr(registry, "_installed", set())
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "numpy" else real(name, *a)
    )
    island.create_session("s")
    island.append_graph("s", [data("ok")])
    needs_numpy = app("rand", "RandomArrayApp", outputs=("r",))

    with pytest.raises(GraphError, match=r"needs the Python package 'numpy'.*liuray\[apps\]"):
        island.append_graph("s", [needs_numpy, data("r")])

    assert island.graph_size("s") == 1
