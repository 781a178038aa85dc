"""DALiuGE's simple apps: HelloWorld, Sleep, Copy, PickOne, scatter/gather."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import Context

from liuray.engine.apps.base import AppDrop
from liuray.engine.apps.simple import (
    CopyApp,
    GenericGatherApp,
    GenericScatterApp,
    HelloWorldApp,
    PickOne,
    SleepApp,
)
from liuray.engine.drops.base import DataDrop
from liuray.engine.drops.memory import MemoryDrop


@pytest.fixture
def context(tmp_path: Path) -> Context:
    return Context(tmp_path)


def memory(context: Context, uid: str, value: Any = None, name: str = "") -> MemoryDrop:
    drop = MemoryDrop(uid, {"oid": uid, "name": name}, context)
    if value is not None:
        drop.set_value(value)
    return drop


def wire(
    app: AppDrop,
    inputs: Sequence[tuple[DataDrop, str | None]] = (),
    outputs: Sequence[tuple[DataDrop, str | None]] = (),
) -> AppDrop:
    app.inputs = [drop for drop, _ in inputs]
    app.input_ports = {drop.uid: port for drop, port in inputs if port}
    app.outputs = [drop for drop, _ in outputs]
    app.output_ports = {drop.uid: port for drop, port in outputs if port}
    return app


def test_hello_world_greets_the_world_by_default(context: Context) -> None:
    out = memory(context, "out")
    wire(HelloWorldApp("h", {}, context), outputs=[(out, None)]).run()

    assert out.get() == b"Hello World"


def test_hello_world_greet_parameter(context: Context) -> None:
    out = memory(context, "out")
    wire(HelloWorldApp("h", {"greet": "Everybody"}, context), outputs=[(out, None)]).run()

    assert out.get() == b"Hello Everybody"


def test_hello_world_greets_the_first_element_of_its_input(context: Context) -> None:
    """After a scatter the input is an array: the first element is greeted."""
    np = pytest.importorskip("numpy")
    part = memory(context, "part", np.array(["Andreas\n", "Perth\n"]))
    out = memory(context, "out")
    wire(HelloWorldApp("h", {}, context), [(part, "greet")], [(out, None)]).run()

    assert out.get() == b"Hello Andreas\n"


def test_hello_world_greets_text_input_as_is(context: Context) -> None:
    text = memory(context, "text", b"Universe")
    out = memory(context, "out")
    wire(HelloWorldApp("h", {}, context), [(text, None)], [(out, None)]).run()

    assert out.get() == b"Hello Universe"


def test_sleep_time_comes_from_its_port_when_linked(context: Context) -> None:
    """A ``sleep_time`` input overrides the parameter; non-numbers mean no sleep."""
    app = SleepApp("s", {"sleep_time": 5}, context)
    wire(app, [(memory(context, "t", 0.05), "sleep_time")])
    assert app.sleep_time() == 0.05

    started = time.perf_counter()
    app.run()
    assert time.perf_counter() - started >= 0.05

    wire(app, [(memory(context, "t", "soon"), "sleep_time")])
    assert app.sleep_time() == 0.0


def test_copy_app_concatenates_bytes_inputs(context: Context) -> None:
    out = memory(context, "out")
    a, b = memory(context, "a"), memory(context, "b")
    a.write(b"ab")
    b.write(b"cd")
    wire(CopyApp("c", {}, context), [(a, None), (b, None)], [(out, None)]).run()

    assert out.read_bytes() == b"abcd"


def test_pick_one_sends_the_rest_to_the_rest_array_port(context: Context) -> None:
    """Port ``rest_array`` gets the remaining elements wherever it is in the list."""
    np = pytest.importorskip("numpy")
    rest = memory(context, "rest")
    element = memory(context, "element")
    app = PickOne("p", {}, context)
    wire(app, [(memory(context, "in", [5, 6, 7]), None)], [(rest, "rest_array"), (element, "x")])

    app.run()

    assert element.get() == 5
    np.testing.assert_array_equal(rest.get(), [6, 7])


def test_pick_one_without_names_gives_element_to_output_zero(context: Context) -> None:
    pytest.importorskip("numpy")  # PickOne and the scatter/gather apps are the apps extra
    first, second = memory(context, "first"), memory(context, "second")
    app = PickOne("p", {}, context)
    wire(app, [(memory(context, "in", [1.5]), None)], [(first, None), (second, None)])

    app.run()

    assert first.get() == 1.5
    assert second.get().shape == (0,)


def test_scatter_splits_into_one_part_per_output_and_gather_joins_bytes(
    context: Context,
) -> None:
    pytest.importorskip("numpy")
    parts = [memory(context, f"part{i}") for i in range(3)]
    scatter = GenericScatterApp("s", {}, context)
    wire(scatter, [(memory(context, "in", list(range(7))), None)], [(p, None) for p in parts])
    scatter.run()
    assert [list(p.get()) for p in parts] == [[0, 1, 2], [3, 4], [5, 6]]

    texts = [memory(context, f"t{i}", f"<{i}>".encode()) for i in range(2)]
    joined = memory(context, "joined")
    wire(GenericGatherApp("g", {}, context), [(t, None) for t in texts], [(joined, None)]).run()
    assert joined.read_bytes() == b"<0><1>"
