"""``liuray.run`` (managers/local_run.py): a graph with a SubGraph app runs in this process,
its inner graph on a private node manager made when the app starts."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

import liuray
from liuray.engine.states import SessionState
from liuray.managers.local_run import LocalNestedRunner
from liuray.translate.pipeline import translate

pytest.importorskip("daliuge_tests")

EXAMPLE = files("daliuge_tests") / "translator/logical_graphs/ExampleSubgraphSimple.graph"


def test_a_subgraph_app_runs_with_liuray_run(tmp_path: Path) -> None:
    """DALiuGE's ExampleSubgraphSimple: the inner HelloWorldApp's greeting, written to an
    inner file, reaches the outer "Output data" drop; the inner files are under the
    run's directory."""
    specs = translate(str(EXAMPLE))
    names = {spec["name"]: spec["oid"] for spec in specs}

    result = liuray.run(specs, session_dir=tmp_path / "run")

    assert result.state is SessionState.FINISHED, result.failures
    assert result.run.drops[names["Output data"]].get().startswith(b"Hello")
    assert list((tmp_path / "run" / "subgraphs").iterdir())


def test_the_private_node_manager_is_made_only_for_a_subgraph_and_closed(
    tmp_path: Path,
) -> None:
    """A run without SubGraph apps makes no node manager; one with them makes it and
    closes it when the run ends."""
    made: list[LocalNestedRunner] = []

    closed: list[bool] = []

    class Runner(LocalNestedRunner):
        def close(self) -> None:
            closed.append(self._manager is not None)
            super().close()

    def runner(session_id: str, directory: Path) -> LocalNestedRunner:
        made.append(Runner(session_id, directory))
        return made[-1]

    plain = [
        {"oid": "a", "categoryType": "Data", "dropclass": "dlg.data.drops.memory.InMemoryDROP"}
    ]
    assert liuray.run(plain, session_dir=tmp_path / "plain", nested=runner).ok
    assert closed == [False]

    result = liuray.run(translate(str(EXAMPLE)), session_dir=tmp_path / "sub", nested=runner)

    assert result.ok
    assert closed == [False, True]  # made for the SubGraph app, then closed
    assert made[-1]._manager is None
