"""Data drops: file path resolution, memory payloads and their release, directories and
parameter sets (compared with what DALiuGE 6.6.0 produced for the same specs)."""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import Context

from liuray.engine import codec
from liuray.engine.drops.directory import DirectoryDrop
from liuray.engine.drops.file import FileDrop
from liuray.engine.drops.memory import MemoryDrop
from liuray.engine.drops.null import NullDrop
from liuray.engine.drops.parameter_set import ParameterSetDrop
from liuray.errors import GraphError


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


def test_the_first_chunk_replaces_what_the_file_held(context: Context) -> None:
    """A file left by an abandoned attempt (a session re-run after a lost node, in the
    same directory) is written afresh, not appended to."""
    stale = context.session_dir / "out.bin"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half-written by the attempt before")
    drop = FileDrop("f", {"filepath": "out.bin"}, context)
    drop.write(b"ab")
    drop.write(b"cd")

    assert stale.read_bytes() == b"abcd"


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


# ---------------------------------------------------------------- directories


def test_directory_relative_dirname_is_under_the_session_dir(context: Context) -> None:
    drop = DirectoryDrop("d", {"dirname": "images"}, context)

    assert drop.path == context.session_dir / "images"
    assert not drop.path.exists()  # DALiuGE leaves it to the producer (no create_if_missing)


def test_directory_without_a_name_is_named_after_its_uid(context: Context) -> None:
    drop = DirectoryDrop("a/b", {"dirname": ""}, context)

    assert drop.path == context.session_dir / "a_b"


def test_directory_dirname_expands_environment_variables(
    context: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIURAY_TEST_DATA", str(tmp_path / "data"))
    drop = DirectoryDrop("d", {"dirname": "$LIURAY_TEST_DATA/run"}, context)

    assert drop.path == tmp_path / "data" / "run"


def test_directory_needs_a_dirname_parameter() -> None:
    """DALiuGE refuses a DirectoryDROP with no dirname at all (an empty one is fine)."""
    with pytest.raises(ValueError, match="needs a 'dirname' parameter"):
        DirectoryDrop.check_spec({"oid": "d"})
    DirectoryDrop.check_spec({"applicationArgs": {"dirname": {"value": ""}}})


def test_directory_check_exists_refuses_a_missing_directory(context: Context) -> None:
    spec = {"dirname": "absent", "check_exists": True}

    with pytest.raises(GraphError, match=r"check_exists is set but .*absent is not a directory"):
        DirectoryDrop("d", spec, context)


def test_directory_create_if_missing_creates_it_at_deploy(context: Context) -> None:
    drop = DirectoryDrop("d", {"dirname": "made", "create_if_missing": "true"}, context)

    assert drop.path.is_dir()


def test_directory_payload_is_its_path(context: Context) -> None:
    drop = DirectoryDrop("d", {"dirname": "out"}, context)
    drop.prepare()
    drop.path.mkdir()
    (drop.path / "x.bin").write_bytes(b"1234")

    assert drop.get("path") == str(drop.path)
    assert drop.read_bytes() == b""
    assert drop.size == 4


def test_writing_a_path_to_a_directory_creates_it_and_bytes_are_refused(
    context: Context,
) -> None:
    """DALiuGE's DirectoryIO makes the directory a text write names; bytes fail."""
    drop = DirectoryDrop("d", {"dirname": "out"}, context)

    drop.write("made/here")

    assert (context.session_dir / "made" / "here").is_dir()
    assert context.written == ["d"]
    with pytest.raises(TypeError, match="takes a directory path"):
        drop.write(b"bytes")


# ---------------------------------------------------------------- parameter sets

ARGUMENTS: dict[str, Any] = {
    "Config": {
        "value": "",
        "description": "The output configuration file",
        "type": "Object.File",
        "defaultValue": "",
        "usage": "OutputPort",
    },
    "nchan": {"value": 16, "description": "channels", "type": "Integer", "defaultValue": 8},
    "ms.name": {"value": "a b.ms", "description": "", "type": "String", "defaultValue": ""},
    "flag": {"value": True, "description": "", "type": "Boolean", "defaultValue": False},
}

#: What DALiuGE 6.6.0's ParameterSetDROP held for ARGUMENTS in each mode.
DALIUGE_RENDERED = {
    "YANDA": b"Config=\nnchan=16\nms.name=a b.ms\nflag=True",
    "json": b'{"Config": {"value": "", "description": "The output configuration file", '
    b'"type": "Object.File", "default": ""}, "nchan": {"value": 16, "description": '
    b'"channels", "type": "Integer", "default": 8}, "ms.name": {"value": "a b.ms", '
    b'"description": "", "type": "String", "default": ""}, "flag": {"value": true, '
    b'"description": "", "type": "Boolean", "default": false}}',
    "ini": b"[Config]\nvalue = \ndescription = The output configuration file\n"
    b"type = Object.File\ndefault = \n\n[nchan]\nvalue = 16\ndescription = channels\n"
    b"type = Integer\ndefault = 8\n\n[ms.name]\nvalue = a b.ms\ndescription = \n"
    b"type = String\ndefault = \n\n[flag]\nvalue = True\ndescription = \n"
    b"type = Boolean\ndefault = False\n\n",
}
DALIUGE_YAML = (
    b"Config:\n  default: ''\n  description: The output configuration file\n"
    b"  type: Object.File\n  value: ''\nflag:\n  default: false\n  description: ''\n"
    b"  type: Boolean\n  value: true\nms.name:\n  default: ''\n  description: ''\n"
    b"  type: String\n  value: a b.ms\nnchan:\n  default: 8\n  description: channels\n"
    b"  type: Integer\n  value: 16\n"
)


@pytest.mark.parametrize("mode", sorted(DALIUGE_RENDERED))
def test_parameter_set_renders_as_daliuge_does(context: Context, mode: str) -> None:
    drop = ParameterSetDrop("p", {"mode": mode, "applicationArgs": ARGUMENTS}, context)

    assert drop.read_bytes() == DALIUGE_RENDERED[mode]


@pytest.mark.parametrize("mode", ["yaml", None, "no-such-mode"])
def test_parameter_set_falls_back_to_yaml_as_daliuge_does(
    context: Context, mode: str | None
) -> None:
    pytest.importorskip("yaml")
    spec = {"applicationArgs": ARGUMENTS} | ({"mode": mode} if mode else {})

    assert ParameterSetDrop("p", spec, context).read_bytes() == DALIUGE_YAML


def test_parameter_set_pickle_holds_the_described_arguments(context: Context) -> None:
    drop = ParameterSetDrop("p", {"mode": "pickle", "applicationArgs": ARGUMENTS}, context)

    described = pickle.loads(drop.read_bytes())

    assert drop.read_bytes()[:2] == b"\x80\x02"  # protocol 2, as DALiuGE writes it
    assert described["nchan"] == {
        "value": 16,
        "description": "channels",
        "type": "Integer",
        "default": 8,
    }


@pytest.mark.parametrize(("mode", "install"), [("yaml", "pyyaml"), ("toml", "toml")])
def test_parameter_set_mode_without_its_package_is_refused_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch, mode: str, install: str
) -> None:
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == mode else real_find_spec(name, *args),
    )

    with pytest.raises(ValueError, match=f"pip install {install}"):
        ParameterSetDrop.check_spec({"mode": mode})
