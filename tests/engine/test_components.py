"""Every DALiuGE 6.6.0 drop class runs on liuray or is refused with a reason.

The list of classes is ``fixtures/daliuge_components.json``, made from the real
DALiuGE by ``bench/daliuge_components.py``. Behaviour tests here compare liuray's
implementations with what DALiuGE 6.6.0 was seen to do (values recorded from it).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import BASH, COPY, HELLO, Context, app, data

from liuray.engine.apps.crc import CRCApp, CRCStreamApp, crc32c
from liuray.engine.drops.file import FileDrop
from liuray.engine.drops.memory import MemoryDrop
from liuray.engine.local import run_graph
from liuray.engine.registry import APPS, DATA, UNSUPPORTED, check_builtin
from liuray.engine.states import SessionState
from liuray.errors import GraphError

FIXTURE = Path(__file__).parent / "fixtures" / "daliuge_components.json"
COMPONENTS: dict[str, dict[str, Any]] = json.loads(FIXTURE.read_text())["classes"]
APP_NAMES = sorted(name for name, item in COMPONENTS.items() if item["kind"] == "app")
DATA_NAMES = sorted(name for name, item in COMPONENTS.items() if item["kind"] == "data")
PLACEHOLDER = "dlg.apps.simple.DALiuGEApp"


@pytest.mark.parametrize("name", APP_NAMES)
def test_every_daliuge_app_class_is_implemented_or_refused_with_a_reason(name: str) -> None:
    assert name in APPS or name in UNSUPPORTED


@pytest.mark.parametrize("name", DATA_NAMES)
def test_every_daliuge_data_class_is_implemented_or_refused_with_a_reason(name: str) -> None:
    assert name in DATA or name in UNSUPPORTED


def test_no_class_is_both_implemented_and_refused() -> None:
    assert set(UNSUPPORTED).isdisjoint(APPS) and set(UNSUPPORTED).isdisjoint(DATA)


def test_every_refused_class_is_a_daliuge_class() -> None:
    """The refusals name real DALiuGE 6.6.0 classes (or palette names), nothing stale."""
    assert set(UNSUPPORTED) <= set(COMPONENTS)


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_a_refused_class_is_refused_at_validation_with_its_reason(name: str) -> None:
    is_app = COMPONENTS[name]["kind"] == "app"

    with pytest.raises(GraphError) as caught:
        check_builtin(name, is_app=is_app)

    assert UNSUPPORTED[name] in str(caught.value)
    assert name in str(caught.value)


def test_an_mpi_node_without_a_dropclass_is_refused_as_mpi(tmp_path: Path) -> None:
    """DALiuGE's translator leaves the drops of an EAGLE ``Mpi`` node (one per rank)
    without a dropclass: refused with the MPI reason, not a bare "no dropclass"."""
    mpi = {"oid": "mpi_0-0", "categoryType": "Application", "category": "Mpi"}

    with pytest.raises(GraphError) as caught:
        run_graph([mpi], session_dir=tmp_path)

    assert "'mpi' app drop (no dropclass) is not supported" in str(caught.value)
    assert UNSUPPORTED["dlg.apps.mpi.MPIApp"] in str(caught.value)


def test_the_fixture_covers_what_dalige_6_6_0_ships() -> None:
    """A smoke check of the fixture itself: both kinds, the package aliases, 6.6.0."""
    fixture = json.loads(FIXTURE.read_text())
    assert fixture["daliuge_version"] == "6.6.0"
    assert COMPONENTS["dlg.data.drops.DirectoryDROP"]["alias_of"] == (
        "dlg.data.drops.directory.DirectoryDROP"
    )
    assert len(APP_NAMES) > 40 and len(DATA_NAMES) > 20


def test_the_compatibility_table_lists_every_class() -> None:
    """docs/compatibility.md has a row per DALiuGE class, and says none is missing."""
    table = (Path(__file__).parents[2] / "docs" / "compatibility.md").read_text()

    assert [name for name in COMPONENTS if f"| `{name}` |" not in table] == []
    assert "| missing | 0 |" in table
    assert "MISSING" not in table


# ---------------------------------------------------------------- placeholders


def test_a_palette_placeholder_fails_like_in_daliuge(tmp_path: Path) -> None:
    """DALiuGE 6.6.0 runs a DALiuGEApp (a palette template with no run()), fails it and
    puts its output in ERROR; liuray does the same, saying what to use instead."""
    specs = [app("template", PLACEHOLDER, outputs=["out"]), data("out")]

    result = run_graph(specs, session_dir=tmp_path)

    assert result.state is SessionState.FAILED
    states = result.run.drop_states()
    assert states["template"] == ("error", "error")
    assert states["out"] == ("error", None)
    assert "palette template" in result.failures[0][1]


# ---------------------------------------------------------------- CRC apps


@pytest.fixture
def context(tmp_path: Path) -> Context:
    return Context(tmp_path)


def test_crc32c_matches_daliuge_values() -> None:
    """Values DALiuGE 6.6.0's crc32c gave for these inputs."""
    assert crc32c(b"123456789") == 3808858755
    assert crc32c(b"hello world") == 3381945770
    assert crc32c(b"world", crc32c(b"hello ")) == 3381945770
    assert crc32c(b"") == 0


def test_crc_app_writes_the_checksum_of_its_input_as_text(context: Context) -> None:
    source = MemoryDrop("in", {}, context)
    source.write(b"hello world")
    out = MemoryDrop("out", {}, context)
    crc_app = CRCApp("crc", {}, context)
    crc_app.inputs, crc_app.outputs = [source], [out]

    crc_app.run()

    assert out.read_bytes() == b"3381945770"


def test_crc_app_refuses_more_than_one_input(context: Context) -> None:
    crc_app = CRCApp("crc", {}, context)
    crc_app.inputs = [MemoryDrop("a", {}, context), MemoryDrop("b", {}, context)]
    crc_app.outputs = [MemoryDrop("out", {}, context)]

    with pytest.raises(ValueError, match="exactly one input, got 2"):
        crc_app.run()


def test_crc_stream_app_sums_the_streamed_chunks(context: Context) -> None:
    out = MemoryDrop("out", {}, context)
    stream = CRCStreamApp("crc", {}, context)
    stream.outputs = [out]
    source = MemoryDrop("in", {}, context)
    source.streaming_consumers = [stream]

    source.write(b"hello ")
    source.write(b"world")
    stream.run()

    assert out.read_bytes() == b"3381945770"


def test_crc_stream_app_fed_in_batch_writes_zero_as_in_daliuge(context: Context) -> None:
    """Without streamed chunks DALiuGE's CRCStreamApp writes the checksum of nothing."""
    out = MemoryDrop("out", {}, context)
    stream = CRCStreamApp("crc", {}, context)
    stream.inputs, stream.outputs = [MemoryDrop("in", {}, context)], [out]

    stream.run()

    assert out.read_bytes() == b"0"


# ---------------------------------------------------------------- whole graphs


def test_a_bash_app_fills_a_directory_drop_its_consumer_lists(tmp_path: Path) -> None:
    """mkdir %o -> results/ (a DirectoryDROP) -> ls %i: the directory is the payload."""
    directory = "dlg.data.drops.DirectoryDROP"
    specs = [
        app("make", BASH, command="mkdir %o0 && echo hi > %o0/a.txt", outputs=["dir"]),
        data("dir", directory, dirname="results"),
        app("list", BASH, command="ls %i0", inputs=["dir"], outputs=["listing"]),
        data("listing"),
    ]

    result = run_graph(specs, session_dir=tmp_path)

    assert result.ok, result.failures
    assert (tmp_path / "results" / "a.txt").read_text() == "hi\n"
    assert result.read("listing") == b"a.txt\n"


def test_a_parameter_set_feeds_its_text_to_a_consumer(tmp_path: Path) -> None:
    parset = "dlg.data.drops.parset_drop.ParameterSetDROP"
    fields = {"nchan": {"value": 16}, "ms": {"value": "a.ms"}}
    specs = [
        data("config", parset, mode="YANDA", applicationArgs=fields),
        app("show", COPY, inputs=["config"], outputs=["shown"]),
        data("shown"),
    ]

    result = run_graph(specs, session_dir=tmp_path)

    assert result.ok, result.failures
    assert result.read("shown") == b"nchan=16\nms=a.ms"


def test_list_append_thrashing_writes_a_pickled_list_of_size_floats(tmp_path: Path) -> None:
    specs = [
        app("thrash", "dlg.apps.simple.ListAppendThrashingApp", size=7, outputs=["list"]),
        data("list", "dlg.data.drops.file.FileDROP", filepath="list.pkl"),
    ]

    result = run_graph(specs, session_dir=tmp_path)

    numbers = pickle.loads((tmp_path / "list.pkl").read_bytes())
    assert result.ok
    assert len(numbers) == 7 and all(0 <= n < 1 for n in numbers)


def test_hello_world_into_a_json_drop_writes_the_file(tmp_path: Path) -> None:
    """JsonDROP is a FileDROP in DALiuGE: the greeting lands in the named file."""
    specs = [
        app("hello", HELLO, outputs=["j"]),
        data("j", "dlg.data.drops.json_drop.JsonDROP", filepath="greeting.json"),
    ]

    result = run_graph(specs, session_dir=tmp_path)

    assert result.ok
    assert isinstance(result.run.drops["j"], FileDrop)
    assert (tmp_path / "greeting.json").read_bytes() == b"Hello World"
