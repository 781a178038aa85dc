"""GraphRun links every app to its drop objects whatever the graph's order.

Apps with no input and one output are linked while the drops are made (by the app, or
by its output when that comes later), the rest in a second pass: each order must give
the same lists.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import HELLO, app, data

from liuray.engine.apps.base import AppDrop
from liuray.engine.local import WorkerPool
from liuray.engine.session import GraphRun
from liuray.graph.physical import load_physical_graph


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    workers = WorkerPool(1)
    yield workers
    workers.shutdown(wait=False)


def build(specs: list[dict[str, Any]], pool: WorkerPool, directory: Path) -> GraphRun:
    return GraphRun(
        load_physical_graph(specs),
        session_id=directory.name,
        session_dir=directory,
        pool=pool,
    )


def links(run: GraphRun, oid: str) -> tuple[list[str], list[str]]:
    drop = run.drops[oid]
    assert isinstance(drop, AppDrop)
    return [d.uid for d in drop.inputs], [d.uid for d in drop.outputs]


def lone(oid: str, output: str, **fields: Any) -> dict[str, Any]:
    return app(oid, HELLO, outputs=[output], **fields)


CASES: dict[str, tuple[list[dict[str, Any]], dict[str, tuple[list[str], list[str]]]]] = {
    "app first": ([lone("a", "d"), data("d")], {"a": ([], ["d"])}),
    "output first": ([data("d"), lone("a", "d")], {"a": ([], ["d"])}),
    "two producers, both first": (
        [lone("a", "d"), lone("b", "d"), data("d")],
        {"a": ([], ["d"]), "b": ([], ["d"])},
    ),
    "two producers, either side": (
        [lone("a", "d"), data("d"), lone("b", "d")],
        {"a": ([], ["d"]), "b": ([], ["d"])},
    ),
    "an app with an input between": (
        [data("x"), lone("a", "y", inputs=["x"]), data("y")],
        {"a": (["x"], ["y"])},
    ),
    "two outputs": (
        [app("a", HELLO, outputs=["d", "e"]), data("e"), data("d")],
        {"a": ([], ["d", "e"])},
    ),
    "tuning parameter": ([lone("a", "d", n_tries=2), data("d")], {"a": ([], ["d"])}),
    "chain": (
        [lone("a", "d"), data("d"), app("b", HELLO, inputs=["d"], outputs=["e"]), data("e")],
        {"a": ([], ["d"]), "b": (["d"], ["e"])},
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_apps_are_linked_in_any_order(case: str, pool: WorkerPool, tmp_path: Path) -> None:
    specs, expected = CASES[case]
    run = build(specs, pool, tmp_path / "s")
    for oid, (inputs, outputs) in expected.items():
        assert links(run, oid) == (inputs, outputs), oid


def test_a_scatter_runs_whichever_comes_first(pool: WorkerPool, tmp_path: Path) -> None:
    """Apps before and after their outputs both write them (a missing link would leave
    the drop unwritten)."""
    specs = [lone("a0", "d0"), data("d0"), data("d1"), lone("a1", "d1")]
    run = build(specs, pool, tmp_path / "s")
    run.start()
    assert run.wait(30)
    for oid in ("d0", "d1"):
        assert run.drops[oid].get() == b"Hello World"  # type: ignore[union-attr]
