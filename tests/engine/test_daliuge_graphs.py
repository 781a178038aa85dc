"""DALiuGE's own engine test graphs (package ``eagle-test-graphs``) run on liuray.

Each test loads a physical graph exactly as DALiuGE ships it, runs it in-process and
checks the final drop states *and* what the apps really produced. Expected outcomes
follow DALiuGE's behaviour (its ``test_graphExecution.py`` where it covers a graph).
"""

from __future__ import annotations

import ast
import glob
import importlib.resources
import json
import os
import pickle
import stat
import time
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("numpy")
pytest.importorskip("daliuge_tests")

import numpy as np

from liuray.engine.apps.pyfunc import PyFuncApp
from liuray.engine.drops.file import FileDrop
from liuray.engine.local import RunResult, WorkerPool, run_graph
from liuray.engine.session import GraphRun
from liuray.engine.states import AppState, DropState, SessionState
from liuray.graph.physical import load_physical_graph

GRAPHS = importlib.resources.files("daliuge_tests.engine.graphs")


def load(name: str) -> Any:
    """The parsed JSON of one bundled graph."""
    return json.loads(GRAPHS.joinpath(name).read_text())


def run(name: str, tmp_path: Path, graph: Any = None, **kwargs: Any) -> RunResult:
    """Run a bundled graph with its session directory under ``tmp_path``."""
    return run_graph(
        load(name) if graph is None else graph,
        session_dir=tmp_path / "session",
        timeout=30,
        **kwargs,
    )


def unfinished(result: RunResult) -> dict[str, str]:
    """Drops not in a successful final state: apps not FINISHED, data not COMPLETED/EXPIRED."""
    bad = {}
    for uid, node in result.run.machine.nodes.items():
        if node.is_app:
            if node.app_state is not AppState.FINISHED:
                bad[uid] = f"app {node.app_state}: {node.error}"
        elif node.state not in (DropState.COMPLETED, DropState.EXPIRED):
            bad[uid] = f"data {node.state}: {node.error}"
    return bad


def assert_all_done(result: RunResult) -> None:
    assert result.state is SessionState.FINISHED, result.failures
    assert unfinished(result) == {}


def file_of(result: RunResult, uid: str) -> Path:
    drop = result.run.drops[uid]
    assert isinstance(drop, FileDrop)
    return drop.path


@pytest.mark.parametrize("name", ["HelloWorld_simplePG.graph", "SLURM_HelloWorld_simplePG.graph"])
def test_hello_world_writes_hello_txt_in_the_session_dir(tmp_path: Path, name: str) -> None:
    """HelloWorldApp greets "Everybody" into the file drop ``hello.txt``; the relative
    path lands in the session directory (the SLURM file wraps the same graph in
    ["name", [specs]])."""
    result = run(name, tmp_path)

    assert_all_done(result)
    hello = tmp_path / "session" / "hello.txt"
    assert file_of(result, "2022-03-24T11:40:15_-2_0") == hello
    assert hello.read_bytes() == b"Hello Everybody"


def test_application_args_configure_the_random_array(tmp_path: Path) -> None:
    """RandomArrayApp takes size/integer/low/high from applicationArgs: 50 integers in
    [34, 3456)."""
    result = run("application_args.graph", tmp_path)

    assert_all_done(result)
    array = result.value("b")
    assert array.shape == (50,)
    assert np.issubdtype(array.dtype, np.integer)
    assert array.min() >= 34
    assert array.max() < 3456


def test_array_loop_picks_elements_one_by_one(tmp_path: Path) -> None:
    """A random array of 8000 is scattered in two halves; in each half two PickOne
    iterations write element 0 and 1 to files and pass the shrinking rest on. The input
    array is marked persist here only so the test can compare against it."""
    graph = load("ArrayLoopPG.graph")
    array_uid = "2022-06-22T09:13:53_-5_0"
    next(spec for spec in graph if spec["oid"] == array_uid)["persist"] = True

    result = run("ArrayLoopPG.graph", tmp_path, graph=graph)

    assert_all_done(result)
    array = result.value(array_uid)
    assert array.shape == (8000,)
    halves = (array[:4000], array[4000:])
    for half_index, half in enumerate(halves):
        for step in (0, 1):
            picked = file_of(result, f"2022-06-22T09:13:53_-4_0/{half_index}/{step}")
            assert pickle.loads(picked.read_bytes()) == half[step]
        rest = result.value(f"2022-06-22T09:13:53_-6_0/{half_index}/1")
        np.testing.assert_array_equal(rest, half[2:])
    first_rest = result.run.machine.nodes["2022-06-22T09:13:53_-6_0/0/0"]
    assert first_rest.state is DropState.EXPIRED


def test_hello_world_universe_greets_scattered_names(tmp_path: Path) -> None:
    """string2json (DALiuGE's simple_functions) parses six names, the scatter splits them
    in three, each HelloWorldApp greets the first name of its part, and the gather
    concatenates the greetings into one file."""
    result = run("HelloWorld_universePG.graph", tmp_path)

    assert_all_done(result)
    gathered = file_of(result, "2023-07-05T10:59:43_-11_0/0").read_bytes()
    assert gathered == b"Hello Andreas\nHello World\nHello Galaxy\n"


def test_named_ports_feed_sleep_times_from_a_function(tmp_path: Path) -> None:
    """getMax(v1=0.5, v2=0.6) from applicationArgs writes 0.6 to two memory drops; two
    SleepApps read it through their ``sleep_time`` port and sleep in parallel, so the run
    takes about 0.6 s (DALiuGE's test_namedPorts_apps)."""
    started = time.perf_counter()
    result = run("appTestPG_namedPorts.graph", tmp_path, workers=4)
    elapsed = time.perf_counter() - started

    assert_all_done(result)
    assert 0.58 <= elapsed < 1.1


def test_compile_gets_the_file_path_through_its_port(tmp_path: Path) -> None:
    """compile() gets ``filename`` from its input port with input_parser ``path`` (the
    file drop's path) and ``source``/``mode``/``optimize`` from the spec
    (DALiuGE's test_pos_only_args)."""
    result = run("compilePG.graph", tmp_path)

    assert_all_done(result)
    app = result.run.drops["2023-04-27T14:44:39_-2_0"]
    assert isinstance(app, PyFuncApp)
    args, kwargs = app.bind(compile)
    assert args == []
    assert kwargs["filename"] == str(file_of(result, "2023-04-27T14:44:39_-1_0"))
    assert (kwargs["source"], kwargs["mode"], kwargs["optimize"]) == (
        "print('Hello')",
        "exec",
        True,
    )


@pytest.mark.parametrize(
    ("name", "output"),
    [
        ("ddExamplePG.graph", "1_b2116d91-45d4-40f8-87a8-cd312f9e8576_0"),
        ("ddExamplePGT.graph", "1_b2116d91-45d4-40f8-87a8-cd312f9e8576_0"),
        ("ddExample_mixedPortsPG.graph", "1_baaab251-3cc0-436e-b752-c258822ffce5_0"),
        ("ddExample_mixedportsPGT.graph", "1_baaab251-3cc0-436e-b752-c258822ffce5_0"),
    ],
)
def test_dd_copies_count_blocks_from_urandom(tmp_path: Path, name: str, output: str) -> None:
    """``dd if={if} of={of} bs={bs} count={count}`` fills the placeholders from ports
    (file paths) and from applicationArgs, or, in the mixed-ports graphs, from memory
    drops whose ``pydata`` holds 2048 and 10: 10 blocks of 2048 random bytes."""
    result = run(name, tmp_path)

    assert_all_done(result)
    written = file_of(result, output)
    assert written.parent == tmp_path / "session"
    assert written.stat().st_size == 2048 * 10
    assert stat.S_ISCHR(os.stat("/dev/urandom").st_mode)


def test_dd_copies_data_written_into_the_root_drop(tmp_path: Path) -> None:
    """ddTest: random bytes are written into the root file drop before the session
    starts; dd (arguments appended as `` if=%i0`` with a space prefix and ``=``) copies
    them to the output file unchanged (DALiuGE's test_ddGraph)."""
    graph = load_physical_graph(load("ddTest.graph"))
    pool = WorkerPool(2)
    graph_run = GraphRun(graph, session_id="lalo", session_dir=tmp_path / "session", pool=pool)
    data = os.urandom(1024 * 10)
    try:
        graph_run.drops["2022-02-11T08:05:47_-5_0"].write(data)  # type: ignore[union-attr]
        graph_run.start()
        assert graph_run.wait(30)
    finally:
        pool.shutdown()

    assert graph_run.state is SessionState.FINISHED, graph_run.failures()
    assert graph_run.drops["2022-02-11T08:05:47_-3_0"].read_bytes() == data  # type: ignore[union-attr]


def test_function_reads_and_writes_python_literals_when_pickle_is_off(tmp_path: Path) -> None:
    """funcTestPG (``pickle: false``): bash writes the literal ``'/tmp'``, os.path.abspath
    reads it with literal_eval and writes ``repr`` of its result; cat prints it."""
    result = run("funcTestPG.graph", tmp_path)

    assert_all_done(result)
    assert file_of(result, "2022-03-19T09:42:00_-5_0").read_bytes() == b"'/tmp'"


def test_function_binds_named_port_with_eval_parsers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """funcTestPG_namedPorts: the ``path`` port feeds abspath's ``path`` argument (its
    func_defaults "." is not used); input and output parsers are ``eval``."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))

    result = run("funcTestPG_namedPorts.graph", tmp_path)

    assert_all_done(result)
    written = file_of(result, "2022-03-20T04:33:27_-5_0").read_bytes()
    assert written == repr(str(home)).encode()


@pytest.mark.parametrize("name", ["pyfunc_glob_testPG.graph", "pyfunc_glob_testPG.json"])
def test_glob_gets_pattern_and_keyword_only_flag_from_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """glob.glob gets ``pathname`` ('**') and the keyword-only ``recursive`` (True) from
    two bash-written files, so it lists the working directory recursively."""
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "sub" / "leaf.txt").write_text("x")
    (work / "top.txt").write_text("y")
    monkeypatch.chdir(work)

    result = run(name, tmp_path)

    assert_all_done(result)
    listed = ast.literal_eval(file_of(result, "2022-03-30T03:46:01_-5_0").read_text())
    assert sorted(listed) == sorted(glob.glob("**", recursive=True))
    assert sorted(listed) == ["sub", "sub/leaf.txt", "top.txt"]


def test_app_side_port_names_win_over_the_data_side() -> None:
    """In the mixed-ports graphs the memory drops call their end ``pydata`` while the dd
    app calls it ``bs``/``count``: the app's names are the ones its command uses."""
    graph = load_physical_graph(load("ddExample_mixedPortsPG.graph"))

    ports = graph["1_1cdaaf22-2991-4bce-b849-1d1f40afb21b_0"].input_ports

    assert sorted(ports.values()) == ["bs", "count", "if"]
