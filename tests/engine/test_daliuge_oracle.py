"""The public oracle: every public test graph ends on liuray as it ends on DALiuGE 6.6.0.

``tests/engine/fixtures/daliuge_oracle.json`` (made by ``bench/daliuge_oracle.py``, see
its docstring to re-make it) holds, for every graph file of ``daliuge_tests``
(``engine/graphs`` and ``reproGraphs``), what a real DALiuGE NodeManager did with it:

* ``ran``: the session's final state and every drop's final state (data drops by
  ``DROPStates`` name, apps by ``AppDROPStates`` name). liuray runs the same physical
  graph (the package's file, or DALiuGE's own translation stored in the fixture) and
  must end in the same session state with every drop in the same state;
* ``refused``: DALiuGE's ``addGraphSpec``/``deploySession`` raised, nothing ran; liuray
  must refuse the graph too (raise a :class:`~liuray.errors.LiurayError`);
* ``untranslatable``: DALiuGE's translator raised; liuray's translator must raise too;
* ``hung``: no final state within the oracle's timeout; liuray must not finish either.

One equivalence is allowed, a lifecycle detail rather than behaviour: DALiuGE's node
manager expires nothing by itself (its lifecycle manager's periodic check is off by
default), so a drop it leaves COMPLETED may be EXPIRED (or DELETED) on liuray, which
releases a drop once its consumers are done with it. Nothing else is equivalent.

Two liberties are taken when liuray runs a graph, neither changing a final state: the
working directory is a scratch one (``pyfunc_glob_testPG`` lists it), and SleepApps sleep
0 s (``repro/groups.graph`` chains six 5 s sleeps).

Where liuray deliberately ends differently (``DELIBERATE``: graphs that DALiuGE 6.6.0
refuses or fails on because of its own defects, which liuray runs) the reason is written
down, graph by graph, and liuray must run the graph to FINISHED with no drop in error
(``test_daliuge_graphs.py`` also checks what those apps produce).
"""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("daliuge_tests")

from liuray.engine.local import RunResult, run_graph
from liuray.errors import LiurayError
from liuray.translate.pipeline import translate

FIXTURE_PATH = Path(__file__).parent / "fixtures" / "daliuge_oracle.json"
ORACLE: dict[str, Any] = json.loads(FIXTURE_PATH.read_text())
GRAPHS: dict[str, dict[str, Any]] = ORACLE["graphs"]
PACKAGE = importlib.resources.files("daliuge_tests")
#: fixture source name -> the package directory it covers (as bench/daliuge_oracle.py)
SOURCES = {"engine": "engine/graphs", "repro": "reproGraphs"}
GRAPH_SUFFIXES = (".graph", ".json")
#: DALiuGE's state -> the liuray states that count as the same (see the docstring)
SAME_STATE = {"COMPLETED": {"COMPLETED", "EXPIRED", "DELETED"}}
TIMEOUT_S = 30
SLEEP_APP = "dlg.apps.simple.SleepApp"

#: DALiuGE refuses, liuray runs: graph -> the FileDROPs whose path DALiuGE checks
CHECKED_PATHS = {
    "engine/HelloWorld_simplePG.graph": "2022-03-24T11:40:15_-2_0 (hello.txt)",
    "engine/SLURM_HelloWorld_simplePG.graph": "2022-03-24T11:40:15_-2_0 (hello.txt)",
    "repro/HelloSBash.graph": "1_c8db950f... (result2.in), 1_b90681ad... (result.out)",
    "repro/HelloWorldBash.graph": "1_5b3070fc... (result.in), 1_0d3f0fbd... (result.out)",
    "repro/HelloWorldBashSplit.graph": "1_4b8360d1... (result.in), 1_861c5449... (result.out)",
}
CHECKED_PATHS_REASON = (
    "DALiuGE refuses it at deploySession (InvalidPathException 'File does not exist or "
    "is not a file'): FileDROP {drops}, check_filepath_exists '1', no such file yet. "
    "Those files are *produced* by the graph; DALiuGE 6.6.0 checks every path (and reads "
    "'0' as true). liuray checks the flag only on files nothing produces (the graph's "
    "inputs: repro/HelloWorldFile is refused by both) and runs this graph to FINISHED"
)

#: input_parser 'path' popped by DALiuGE's addGraphSpec: graph -> (argument, function)
POPPED_PARSERS = {
    "engine/compilePG.graph": ("filename", "compile", "app 2023-04-27T14:44:39_-2_0 ERROR"),
    "engine/funcTestPG_namedPorts.graph": (
        "path",
        "os.path.abspath",
        "-1_0, -4_0 (cat) and -5_0 ERROR",
    ),
    "engine/pyfunc_glob_testPG.graph": ("pathname", "glob.glob", "-1_0, -4_0 and -5_0 ERROR"),
    "engine/pyfunc_glob_testPG.json": ("pathname", "glob.glob", "-1_0, -4_0 and -5_0 ERROR"),
}
POPPED_PARSER_DEFECT = (
    "addGraphSpec pops the top-level input_parser 'path' that binds the file drop's path "
    "to the argument, so {argument} is None and {function} raises TypeError"
)

#: DALiuGE 6.6.0 defects on older graph formats, not copied: graph -> (defect, drops)
DALIUGE_DEFECTS = {
    "engine/HelloWorld_universePG.graph": (
        "PyFuncApp._match_parser reads applicationArgs[port]['encoding'], which these "
        "applicationArgs lack: KeyError 'encoding' in string2json (-5_0)",
        "all 14 drops ERROR",
    ),
    "engine/application_args.graph": (
        "AppDROP._generateNamedPorts reads applicationArgs[...]['usage'], which these "
        "lack: KeyError 'usage' in RandomArrayApp 'a'",
        "'a' ERROR and 'b' ERROR",
    ),
    "engine/funcTestPG.graph": (
        "links written as bare oids (no {oid: port}) break "
        "DataDROP._map_input_ports_to_params: AttributeError \"'str' object has no "
        "attribute 'uid'\" in os.path.abspath (-1_0)",
        "-1_0, -4_0 (cat) and -5_0 ERROR",
    ),
} | {
    name: (POPPED_PARSER_DEFECT.format(argument=argument, function=function), drops)
    for name, (argument, function, drops) in POPPED_PARSERS.items()
}
DALIUGE_DEFECT_REASON = (
    "DALiuGE 6.6.0 defect on this older graph, not copied: {defect}; DALiuGE ends "
    "FAILED with {drops}, liuray runs it to FINISHED (test_daliuge_graphs.py checks "
    "the results)"
)

#: graph -> why liuray deliberately ends differently from DALiuGE: each of these is a
#: graph DALiuGE 6.6.0 refuses or fails on, which liuray runs to FINISHED without errors.
DELIBERATE: dict[str, str] = (
    {name: CHECKED_PATHS_REASON.format(drops=drops) for name, drops in CHECKED_PATHS.items()}
    | {
        name: DALIUGE_DEFECT_REASON.format(defect=defect, drops=drops)
        for name, (defect, drops) in DALIUGE_DEFECTS.items()
    }
    | {
        "engine/LoopWithBranchExit_multiple_input.graph": (
            "DALiuGE 6.6.0 defect, not copied. The graph names dlg.apps.branch.Branch (a "
            "later DALiuGE's path; the oracle ran it as dlg.apps.simple.Branch, its 6.6.0 "
            "home). Iteration 0 runs alike; then DALiuGE's PickOne 1_cdcaff4d..._0-1 cannot "
            "unpickle the array Branch _0-0 copied into its 'false' output "
            "(ENCODING_ERROR), so every drop of iterations 1-5, the exit's RandomArrayApp "
            "1_2c1f... and the file 1_e8cea3db... end ERROR and the session FAILED. liuray "
            "runs iterations 1-3 (FINISHED/EXPIRED), takes the exit when len(x) == 1 (the "
            "'low' output _0-3 and the exit chain complete) and SKIPs iterations 4-5: "
            "session FINISHED"
        ),
    }
)


def cases() -> list[Any]:
    """One parameter per fixture graph."""
    return [pytest.param(name, id=name) for name in sorted(GRAPHS)]


def package_file(name: str) -> Any:
    """The package's file for the fixture name ``source/file``."""
    source, _, filename = name.partition("/")
    return PACKAGE.joinpath(SOURCES[source]).joinpath(filename)


def physical_graph(name: str) -> Any:
    """The graph DALiuGE ran: the fixture's translation, or the package's file."""
    stored = GRAPHS[name].get("physical_graph")
    if stored is not None:
        return stored
    return json.loads(package_file(name).read_text())


def without_sleeps(graph: Any) -> Any:
    """``graph`` with every SleepApp's fixed sleep_time set to 0 (a copy)."""
    graph = json.loads(json.dumps(graph))
    specs = graph[1] if graph and isinstance(graph[0], str) else graph
    for spec in specs:
        if spec.get("dropclass") != SLEEP_APP:
            continue
        if "sleep_time" in spec:
            spec["sleep_time"] = 0
        argument = (spec.get("applicationArgs") or {}).get("sleep_time")
        if isinstance(argument, dict) and "value" in argument:
            argument["value"] = 0
    return graph


def run_on_liuray(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunResult:
    """Run the graph DALiuGE ran, in a scratch working and session directory."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    graph = without_sleeps(physical_graph(name))
    return run_graph(graph, session_dir=tmp_path / "session", timeout=TIMEOUT_S)


def final_states(result: RunResult) -> dict[str, tuple[str, str]]:
    """uid -> (state name in DALiuGE's terms, liuray's error or '')."""
    states = {}
    for uid, node in result.run.machine.nodes.items():
        state = node.app_state if node.is_app else node.state
        states[uid] = (state.name, str(node.error or ""))
    return states


def differences(expected: dict[str, str], result: RunResult) -> list[str]:
    """Every drop whose liuray state is not DALiuGE's (nor an equivalent one)."""
    actual = final_states(result)
    lines = []
    for uid in sorted(set(expected) | set(actual)):
        theirs = expected.get(uid, "<absent>")
        ours, error = actual.get(uid, ("<absent>", ""))
        if ours not in SAME_STATE.get(theirs, {theirs}):
            lines.append(f"{uid}: liuray {ours}, DALiuGE {theirs} {error[:200]}".rstrip())
    return lines


@pytest.mark.parametrize("name", cases())
def test_graph_ends_as_on_daliuge(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run the graph on liuray and compare its ending with DALiuGE's (module docstring)."""
    record = GRAPHS[name]
    outcome = record["outcome"]
    if name in DELIBERATE:  # see DELIBERATE for why, graph by graph
        assert (outcome, record.get("session")) != ("ran", "FINISHED"), "no longer differs"
        result = run_on_liuray(name, tmp_path, monkeypatch)
        assert result.state.name == "FINISHED", result.failures
        assert result.failures == []
    elif outcome == "untranslatable":
        with pytest.raises(LiurayError):
            translate(json.loads(package_file(name).read_text()))
    elif outcome == "refused":
        with pytest.raises(LiurayError):
            run_on_liuray(name, tmp_path, monkeypatch)
    elif outcome == "hung":
        result = run_on_liuray(name, tmp_path, monkeypatch)
        assert result.state.name != "FINISHED", "DALiuGE hangs on this graph"
    elif outcome == "ran":
        result = run_on_liuray(name, tmp_path, monkeypatch)
        assert differences(record["drops"], result) == []
        assert result.state.name == record["session"], result.failures
    else:
        pytest.fail(f"{name}: the oracle recorded {outcome!r} ({record.get('note')}); re-make it")


def test_fixture_covers_every_graph_of_the_package() -> None:
    """A graph file added to eagle-test-graphs must be added to the oracle (re-make the
    fixture with bench/daliuge_oracle.py) rather than silently skipped."""
    files = {
        f"{source}/{entry.name}"
        for source, folder in SOURCES.items()
        for entry in PACKAGE.joinpath(folder).iterdir()
        if entry.is_file() and entry.name.endswith(GRAPH_SUFFIXES)
    }

    assert set(GRAPHS) == files


def test_deliberate_differences_name_fixture_graphs() -> None:
    """Every documented difference belongs to a graph of the fixture."""
    assert set(DELIBERATE) <= set(GRAPHS)


def test_fixture_is_daliuges_6_6_0() -> None:
    """The oracle was made with the peer version the rest of liuray compares against."""
    assert ORACLE["daliuge"] == "6.6.0"
