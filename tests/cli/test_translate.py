"""``liuray translate``: logical graph file in, physical graph JSON out."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import pytest

pytest.importorskip("daliuge_tests")

from liuray.cli.main import main

GRAPHS = importlib.resources.files("daliuge_tests.translator.logical_graphs")


def graph_file(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.graph"
    path.write_text((GRAPHS / f"{name}.graph").read_text("utf-8"), "utf-8")
    return path


def test_translate_to_file_then_run_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """translate HelloWorld_simple into pg.json, then `liuray run` it: hello.txt says
    "Hello Everybody"; the summary line counts the drops."""
    output = tmp_path / "pg.json"

    status = main(["translate", str(graph_file(tmp_path, "HelloWorld_simple")), "-o", str(output)])

    assert status == 0
    assert "2 drops (1 apps, 1 data) on 1 partition(s)" in capsys.readouterr().err
    specs = json.loads(output.read_text("utf-8"))
    assert {spec["node"] for spec in specs} == {"#0"}
    session = tmp_path / "session"
    assert main(["run", str(output), "--session-dir", str(session), "--quiet"]) == 0
    assert (session / "hello.txt").read_text() == "Hello Everybody"


def test_translate_to_stdout_with_nodes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--nodes maps the partitions onto the given names; the JSON goes to stdout."""
    path = graph_file(tmp_path, "eagle_gather_update")

    status = main(["translate", str(path), "--nodes", "n1:8000, n2:8000", "--oid-prefix", "x"])

    captured = capsys.readouterr()
    specs = json.loads(captured.out)
    assert status == 0
    assert len(specs) == 29
    assert {spec["node"] for spec in specs} == {"n1:8000", "n2:8000"}
    assert all(spec["oid"].startswith("x_") for spec in specs)
    assert "on 2 node(s)" in captured.err


def test_translate_partitions_leaves_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--partitions N writes DALiuGE's partitioned template: labels #0..#N-1."""
    path = graph_file(tmp_path, "eagle_gather_simple_update")

    assert main(["translate", str(path), "--partitions", "3"]) == 0

    specs = json.loads(capsys.readouterr().out)
    assert {spec["node"] for spec in specs} == {"#0", "#1", "#2"}


def test_unsupported_construct_exits_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ExampleSubgraphNoInput has a SubGraph: exit 2, the message names the construct,
    nothing on stdout."""
    status = main(["translate", str(graph_file(tmp_path, "ExampleSubgraphNoInput"))])

    captured = capsys.readouterr()
    assert status == 2
    assert "construct SubGraph is not supported yet" in captured.err
    assert "'SubGraph'" in captured.err
    assert captured.out == ""


def test_physical_graph_exits_2_pointing_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A physical graph given to translate: exit 2, and the message says it is already
    physical and to use liuray run or liuray submit."""
    translated = tmp_path / "pg.json"
    assert (
        main(["translate", str(graph_file(tmp_path, "HelloWorld_simple")), "-o", str(translated)])
        == 0
    )
    capsys.readouterr()

    status = main(["translate", str(translated)])

    err = capsys.readouterr().err
    assert status == 2
    assert "already a physical graph" in err
    assert "liuray run" in err
    assert "liuray submit" in err


def test_missing_file_and_empty_nodes_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing file and an empty --nodes list are errors with exit status 2."""
    assert main(["translate", str(tmp_path / "nope.graph")]) == 2
    assert "cannot read logical graph" in capsys.readouterr().err
    path = graph_file(tmp_path, "HelloWorld_simple")
    assert main(["translate", str(path), "--nodes", " , "]) == 2
    assert "--nodes needs at least one node name" in capsys.readouterr().err
