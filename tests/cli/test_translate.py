"""``liuray translate``: logical graph file in, physical graph JSON out."""

from __future__ import annotations

import importlib.resources
import io
import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("daliuge_tests")

from liuray.cli.main import main
from liuray.cli.translate import write_graph

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
    """A graph with a construct liuray does not know (Mpi): exit 2, the message names
    the construct, nothing on stdout."""
    mpi = {"id": "m", "name": "MPI", "category": "Mpi", "categoryType": "Construct"}
    path = tmp_path / "mpi.graph"
    path.write_text(json.dumps({"nodeDataArray": [mpi], "linkDataArray": []}), "utf-8")

    status = main(["translate", str(path)])

    captured = capsys.readouterr()
    assert status == 2
    assert "construct Mpi is not supported yet" in captured.err
    assert "'MPI'" in captured.err
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


def test_empty_graph_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A logical graph with no nodes is refused (as DALiuGE does), exit status 2."""
    path = tmp_path / "empty.graph"
    path.write_text('{"modelData": {}, "nodeDataArray": [], "linkDataArray": []}')
    assert main(["translate", str(path), "-o", str(tmp_path / "pg.json")]) == 2
    assert "the logical graph has no nodes" in capsys.readouterr().err
    assert not (tmp_path / "pg.json").exists()


def test_eagle_schema_v4_exits_2_saying_how_to_resave(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A graph saved in EAGLE's newer schema (V4: 'nodes'/'edges') is refused with the
    format named and what to do."""
    path = tmp_path / "v4.graph"
    path.write_text(json.dumps({"modelData": {"schemaVersion": "V4"}, "nodes": {}, "edges": {}}))
    assert main(["translate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "schema 'V4'" in err
    assert "nodeDataArray" in err


def test_metis_partitions_and_islands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--algorithm metis --partitions 4 --islands 2: four partitions in two islands, each
    partition inside one island; the summary says so."""
    pytest.importorskip("pymetis")
    path = graph_file(tmp_path, "eagle_gather_update")

    status = main(
        ["translate", str(path), "--algorithm", "metis", "--partitions", "4", "--islands", "2"]
    )

    captured = capsys.readouterr()
    specs = json.loads(captured.out)
    assert status == 0
    assert {spec["node"] for spec in specs} == {"#0", "#1", "#2", "#3"}
    islands = {spec["node"]: spec["island"] for spec in specs}
    assert all(islands[spec["node"]] == spec["island"] for spec in specs)
    assert set(islands.values()) == {"#0", "#1"}
    assert "on 4 partition(s) in 2 islands" in captured.err


def test_min_num_parts_chooses_its_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--algorithm mpp --max-dop 1: no partition may run two drops at once, so the
    four parallel branches of eagle_gather_update need at least four partitions."""
    path = graph_file(tmp_path, "eagle_gather_update")

    assert main(["translate", str(path), "--algorithm", "mpp", "--max-dop", "1"]) == 0

    specs = json.loads(capsys.readouterr().out)
    assert len({spec["node"] for spec in specs}) >= 4


def test_islands_with_nodes_take_the_first_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--nodes a,b,c,d --islands 2: a and b are the island managers, c and d the nodes
    (DALiuGE's dlg map)."""
    path = graph_file(tmp_path, "eagle_gather_update")

    assert main(["translate", str(path), "--nodes", "a,b,c,d", "--islands", "2"]) == 0

    specs = json.loads(capsys.readouterr().out)
    assert {spec["node"] for spec in specs} == {"c", "d"}
    assert {spec["island"] for spec in specs} <= {"a", "b"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--partitions", "0"], "number of partitions must be at least 1"),
        (["--partitions", "2", "--islands", "3"], "cannot form 3 islands from 2 partitions"),
        (["--algorithm", "min_num_parts", "--partitions", "3"], "chooses the number"),
        (["--algorithm", "mpp", "--max-dop", "0"], "degree of parallelism must be at least 1"),
        (["--algorithm", "none", "--partitions", "2"], "'none' algorithm makes one partition"),
        (["--nodes", "a,b", "--islands", "2"], "2 islands need more than 2 names"),
    ],
)
def test_bad_partitioning_options_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    """Options that cannot work together: exit 2, one line saying which and why, no
    output."""
    path = graph_file(tmp_path, "HelloWorld_simple")

    status = main(["translate", str(path), *options])

    captured = capsys.readouterr()
    assert status == 2
    assert message in captured.err
    assert captured.out == ""


def test_unknown_algorithm_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An algorithm that does not exist: argparse's usage error (exit 2) lists the known."""
    with pytest.raises(SystemExit) as stopped:
        main(["translate", "g.graph", "--algorithm", "sarkar"])

    assert stopped.value.code == 2
    assert "metis" in capsys.readouterr().err


def test_metis_without_pymetis_names_the_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without pymetis, --algorithm metis says to pip install 'liuray[metis]' (exit 2)."""
    monkeypatch.setitem(sys.modules, "pymetis", None)
    path = graph_file(tmp_path, "eagle_gather_update")

    status = main(["translate", str(path), "--algorithm", "metis", "--partitions", "2"])

    assert status == 2
    assert "pip install 'liuray[metis]'" in capsys.readouterr().err


def test_large_graphs_are_written_compact(tmp_path: Path) -> None:
    """Small graphs come out indented, large ones (over 1,000 drops) one JSON line;
    both read back as the same list of specs."""
    specs = [{"oid": str(i), "categoryType": "Data", "rank": [0, i]} for i in range(1500)]
    small, large = io.BytesIO(), io.BytesIO()

    write_graph(specs[:10], small)
    write_graph(specs, large)

    assert small.getvalue().startswith(b'[\n  {\n    "oid": "0"')
    assert large.getvalue().count(b"\n") == 1
    assert json.loads(small.getvalue()) == specs[:10]
    assert json.loads(large.getvalue()) == specs
