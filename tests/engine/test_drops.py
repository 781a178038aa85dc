"""Data drops: file path resolution, memory payloads and their release."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from engine_helpers import Context

from liuray.engine import codec
from liuray.engine.drops.file import FileDrop
from liuray.engine.drops.memory import MemoryDrop
from liuray.engine.drops.null import NullDrop


@pytest.fixture
def context(tmp_path: Path) -> Context:
    return Context(tmp_path / "session")


def test_relative_file_path_resolves_under_the_session_dir(context: Context) -> None:
    drop = FileDrop("f", {"filepath": "out/data.txt"}, context)

    assert drop.path == context.session_dir / "out" / "data.txt"


def test_relative_dirname_is_under_the_session_dir_too(context: Context) -> None:
    drop = FileDrop("f", {"filepath": "x.bin", "dirname": "results"}, context)

    assert drop.path == context.session_dir / "results" / "x.bin"


def test_absolute_file_path_is_used_as_is(context: Context, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "abs.txt"
    drop = FileDrop("f", {"filepath": str(target), "dirname": "ignored"}, context)

    assert drop.path == target


def test_file_without_a_name_is_named_after_its_uid(context: Context) -> None:
    """DALiuGE generates the name; liuray uses the uid made filesystem-safe."""
    drop = FileDrop("2022-02-11T08:05:47_-3_0/1", {"filepath": ""}, context)

    assert drop.path == context.session_dir / "2022-02-11T08_05_47_-3_0_1"


def test_file_path_ending_in_a_slash_is_a_directory(context: Context) -> None:
    drop = FileDrop("uid", {"filepath": "outputs/"}, context)

    assert drop.path == context.session_dir / "outputs" / "uid"


def test_file_path_comes_from_application_args_too(context: Context) -> None:
    spec = {"applicationArgs": {"filepath": {"value": "hello.txt", "usage": "NoPort"}}}

    assert FileDrop("f", spec, context).path == context.session_dir / "hello.txt"


def test_file_write_creates_directories_and_reports_the_first_write(context: Context) -> None:
    drop = FileDrop("f", {"filepath": "deep/er/file"}, context)
    drop.write(b"ab")
    drop.write("cd")

    assert drop.path.read_bytes() == b"abcd"
    assert context.written == ["f"]
    assert drop.size == 4
    assert drop.data_url == drop.path.as_uri()


def test_files_persist_and_memory_is_released_unless_persisted(context: Context) -> None:
    assert FileDrop("f", {}, context).releasable is False
    assert MemoryDrop("m", {}, context).releasable is True
    assert MemoryDrop("m", {"persist": True}, context).releasable is False
    assert MemoryDrop("m", {"expireAfterUse": False}, context).releasable is False


def test_memory_release_frees_the_payload(context: Context) -> None:
    drop = MemoryDrop("m", {}, context)
    drop.set_value([1, 2, 3])
    assert drop.has_value
    assert drop.size == len(pickle.dumps([1, 2, 3], protocol=pickle.HIGHEST_PROTOCOL))

    drop.release()

    assert not drop.has_value
    assert drop.read_bytes() == b""
    assert drop.size == 0


def test_memory_keeps_objects_and_appends_bytes(context: Context) -> None:
    drop = MemoryDrop("m", {}, context)
    drop.write(b"12")
    drop.write(b"34")
    assert drop.get() == b"1234"
    assert context.written == ["m"]

    drop.set_value({"k": 1})
    assert drop.get() == {"k": 1}
    assert pickle.loads(drop.read_bytes()) == {"k": 1}


def test_memory_initial_value_from_pydata(context: Context) -> None:
    spec = {"applicationArgs": {"pydata": {"value": 2048, "usage": "OutputPort"}}}

    assert MemoryDrop("m", spec, context).get() == 2048


def test_null_drop_stores_nothing(context: Context) -> None:
    drop = NullDrop("n", {}, context)
    drop.write(b"gone")

    assert drop.read_bytes() == b""
    assert drop.get() is None
    assert context.written == ["n"]


@pytest.mark.parametrize("value", ["/tmp", [1, "a"], {"x": None}, 3.5])
def test_eval_encoding_round_trips_python_literals(value: object) -> None:
    data = codec.encode(value, "eval")

    assert data == repr(value).encode()
    assert codec.decode(data, "eval") == value


def test_eval_of_empty_data_is_none() -> None:
    assert codec.decode(b"", "eval") is None
    assert codec.decode(b"'x'\n", "eval") == "x"
