"""Real users' graphs, run: each corpus graph ends on liuray as it ends on DALiuGE 6.6.0.

``tests/engine/fixtures/daliuge_corpus_oracle.json`` (made by
``bench/.peer-venv/bin/python bench/daliuge_oracle.py --corpus``, see that script's
docstring) holds what a real DALiuGE NodeManager did with each of the 38 real users'
EAGLE graphs of ``tests/translate/fixtures/corpus``: DALiuGE translated the graph and
ran it, and every drop's final state was recorded. Here liuray runs the *same* physical
graph (DALiuGE's translation, stored in the fixture) and is compared drop by drop, as
``test_daliuge_oracle.py`` does for the package's graphs (same equivalence: a drop
DALiuGE leaves COMPLETED may be EXPIRED or DELETED on liuray; SleepApps sleep 0 s).

Graphs that need what this machine does not have (network, Docker, external Python
packages or programs, the users' data) are listed in ``EXTERNAL`` and not run: their
ending here says nothing about either system. Where liuray deliberately ends
differently, ``DIFFERENCES`` says why, graph by graph (strict xfails: one that comes to
agree must be moved out). Graphs whose path depends on random data (``RANDOM``) are
compared by the session's final state only. Five graphs liuray first ran worse than
DALiuGE (ddExample, parallelPi, ArrayLoop, parallel_sleep, LEAP-Single-dream) now end as
there. The tests after the corpus runs pin the messages liuray gives
where both systems fail (the drop, the cause, what to do). docs/compatibility.md, "Real
users' graphs, run", sums it up.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import COPY, PYFUNC, Context, app, data

from liuray.engine.apps.base import AppDrop
from liuray.engine.drops.directory import DirectoryDrop
from liuray.engine.local import RunResult, run_graph
from liuray.engine.registry import check_builtin, check_requirements, resolve
from liuray.errors import GraphError, LiurayError
from liuray.translate.pipeline import translate

FIXTURE_PATH = Path(__file__).parent / "fixtures" / "daliuge_corpus_oracle.json"
ORACLE: dict[str, Any] = json.loads(FIXTURE_PATH.read_text())
GRAPHS: dict[str, dict[str, Any]] = ORACLE["graphs"]
CORPUS = Path(__file__).parents[1] / "translate" / "fixtures" / "corpus"
#: DALiuGE's state -> the liuray states that count as the same
SAME_STATE = {"COMPLETED": {"COMPLETED", "EXPIRED", "DELETED"}}
TIMEOUT_S = 30
DIRECTORY = "dlg.data.drops.directory.DirectoryDROP"
SCATTER = "dlg.apps.simple.GenericScatterApp"
AVERAGE = "dlg.apps.simple.AverageArraysApp"
_DEPLOY_IMPORTS = (
    "DALiuGE imports the function at deploy and fails the deployment (every drop "
    "CANCELLED); liuray imports it when the app runs (the app ERROR, 'cannot import "
    "function')"
)

#: graph -> what it needs that is not here (not run by this test)
EXTERNAL: dict[str, str] = {
    "corpus/Omar__Graph-2025-03-28-11-39-34.graph.gz": (
        f"the user's ChiliesSplitFunc module; {_DEPLOY_IMPORTS}"
    ),
    "corpus/SDP_Pipelines__S3_download_upload.graph.gz": "an S3 endpoint (S3DROP)",
    "corpus/SDP_Pipelines__rascil_avg.graph.gz": f"rascil; {_DEPLOY_IMPORTS}",
    "corpus/casa__simalma_asdm.graph.gz": f"casatasks and the network (curl); {_DEPLOY_IMPORTS}",
    "corpus/examples__S3_download.graph.gz": "an S3 endpoint (S3DROP)",
    "corpus/examples__earth_location.graph.gz": (
        f"astropy and the network (EarthLocation.of_address geocodes); {_DEPLOY_IMPORTS}"
    ),
}

#: graph -> why liuray ends differently from DALiuGE (a strict xfail)
DIFFERENCES: dict[str, str] = {
    "corpus/EAGLE-1302__simple-arrays.graph.gz": (
        "both sessions FAIL on AverageArraysApp, which has no input. DALiuGE also fails "
        "the RandomArrayApp 1_7c4281dd..., whose output is linked nowhere ('At least one "
        "output should have been added'); liuray runs an app without outputs and drops "
        "its result (FINISHED)"
    ),
    "corpus/examples__S3_upload.graph.gz": (
        "liuray refuses S3DROP at validation (its engine does no network I/O; the reason "
        "names the FileDROP + bash 'aws s3 cp' to use instead). DALiuGE deploys it and "
        "FINISHES here without reaching any bucket"
    ),
    "corpus/leap__LeapAccelerateCLI.graph.gz": (
        "DALiuGE's translator fails (KeyError on a link to a node it dropped); liuray "
        "translates the graph (its apps then need LEAP-Accelerate's programs)"
    ),
}

#: graph -> why only the session's final state is compared
RANDOM: dict[str, str] = {
    "corpus/examples__LoopWithBranch.graph.gz": (
        "a RandomArrayApp's values decide, iteration by iteration, which branch runs"
    ),
}

#: graph -> why DALiuGE found no final state in the oracle's time (it sleeps for real);
#: liuray, its apps sleeping 0 s, must run it to FINISHED without an error
SLOW: dict[str, str] = {
    "corpus/graph_patterns__parallelRandomSleep.graph.gz": (
        "150 SleepApps, in loops inside a Scatter, sleep for times drawn from a random "
        "array: DALiuGE was still running them after 150 s"
    ),
}


def cases() -> list[Any]:
    """One parameter per fixture graph; the external ones skipped, the differences
    strict xfails."""
    params = []
    for name in sorted(GRAPHS):
        marks: list[Any] = []
        if name in EXTERNAL:
            marks.append(pytest.mark.skip(reason=f"needs {EXTERNAL[name]}"))
        elif name in DIFFERENCES:
            marks.append(pytest.mark.xfail(strict=True, reason=DIFFERENCES[name]))
        params.append(pytest.param(name, id=name.removeprefix("corpus/"), marks=marks))
    return params


def corpus_graph(name: str) -> Any:
    """The logical graph of the fixture name ``corpus/<file>``."""
    return json.loads(gzip.decompress((CORPUS / name.removeprefix("corpus/")).read_bytes()))


def skip_without_packages(specs: list[dict[str, Any]]) -> None:
    """Skip a graph whose classes need a package not installed here (the core-only pass
    of the suite has no numpy): its ending would say nothing about either system."""
    for spec in specs:
        is_app = str(spec.get("categoryType", "")).lower() in ("application", "app")
        try:
            cls = resolve(str(spec.get("dropclass") or ""), is_app=is_app)
            check_requirements(cls, cls.__name__)
        except GraphError as err:
            if "module" in err.detail:
                pytest.skip(err.message)


def run_on_liuray(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunResult:
    """Run DALiuGE's translation of the graph in a scratch working and session directory;
    apps sleep 0 s (sleep times also arrive through ports, from data)."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setattr(AppDrop, "sleep", lambda self, seconds: None)
    # a graph whose oracle child was killed has no stored translation: liuray's own
    specs = GRAPHS[name].get("physical_graph") or translate(corpus_graph(name))
    skip_without_packages(specs)
    return run_graph(specs, session_dir=tmp_path / "session", timeout=TIMEOUT_S)


def differences(expected: dict[str, str], result: RunResult) -> dict[str, str]:
    """uid -> "liuray X, DALiuGE Y (error)" for every drop whose state differs (allowing
    SAME_STATE), drops missing on either side included."""
    nodes = result.run.machine.nodes
    found: dict[str, str] = {}
    for uid in sorted(set(expected) | set(nodes)):
        node = nodes.get(uid)
        ours = "<absent>" if node is None else (node.app_state if node.is_app else node.state).name
        theirs = expected.get(uid, "<absent>")
        if ours not in SAME_STATE.get(theirs, {theirs}):
            error = "" if node is None else str(node.error or "")[:200]
            found[uid] = f"liuray {ours}, DALiuGE {theirs} {error}".rstrip()
    return found


@pytest.mark.parametrize("name", cases())
def test_corpus_graph_ends_as_on_daliuge(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run the graph DALiuGE ran and compare its ending, drop by drop."""
    record = GRAPHS[name]
    outcome = record["outcome"]
    if outcome == "untranslatable":
        with pytest.raises(LiurayError):
            translate(corpus_graph(name))
    elif outcome == "refused":
        with pytest.raises(LiurayError):
            run_on_liuray(name, tmp_path, monkeypatch)
    elif outcome == "hung" and name in SLOW:
        result = run_on_liuray(name, tmp_path, monkeypatch)
        assert result.state.name == "FINISHED", result.failures
        assert result.failures == []
    elif outcome == "ran" and name in RANDOM:
        result = run_on_liuray(name, tmp_path, monkeypatch)
        assert result.state.name == record["session"], result.failures
    elif outcome == "ran":
        result = run_on_liuray(name, tmp_path, monkeypatch)
        assert differences(record["drops"], result) == {}
        assert result.state.name == record["session"], result.failures
    else:
        pytest.fail(f"{name}: the oracle recorded {outcome!r} ({record.get('note')}); re-make it")


def test_fixture_covers_every_corpus_graph() -> None:
    """A graph added to the corpus must be added to the oracle (re-make the fixture)."""
    files = {f"corpus/{path.name}" for path in CORPUS.glob("*.graph.gz")}

    assert set(GRAPHS) == files


def test_listed_graphs_are_fixture_graphs() -> None:
    """Every skip and documented difference names a graph of the fixture, once."""
    listed = [*EXTERNAL, *DIFFERENCES, *RANDOM, *SLOW]
    assert set(listed) <= set(GRAPHS)
    assert len(listed) == len(set(listed))


# ------------------------------------------------ where both fail: liuray's messages


def run_corpus_translation(name: str, tmp_path: Path) -> RunResult:
    """Run liuray's own translation of a corpus graph (as a user would)."""
    specs = translate(corpus_graph(name))
    skip_without_packages(specs)
    return run_graph(specs, session_dir=tmp_path / "session", timeout=TIMEOUT_S)


def failure_of(result: RunResult, uid_start: str) -> str:
    """The failure message of the drop whose uid starts with ``uid_start``."""
    return next(message for uid, message in result.failures if uid.startswith(uid_start))


def test_an_unlinked_input_port_is_named_when_the_function_fails(tmp_path: Path) -> None:
    """EAGLE-1287: a lone Branch whose port 'x' is linked to nothing gets None; DALiuGE
    and liuray both fail on 'None > 0', and liuray says which port and what to do."""
    result = run_corpus_translation(
        "corpus/EAGLE-1287__Graph-2025-05-06-13-17-41.graph.gz", tmp_path
    )

    message = failure_of(result, "1_925d58ce")
    assert "input port(s) 'x' are linked to no drop" in message
    assert "link them or give them a value" in message


def test_a_module_missing_from_func_code_names_the_pip_install(tmp_path: Path) -> None:
    """examples/ArrayLoop's functions import dill; where it is missing the message says
    which module and how to install it (here with a module no one has)."""
    code = "import no_such_module_h12\ndef f():\n    return 1\n"
    specs = [app("f", PYFUNC, func_code=code, func_name="f", outputs=["o"]), data("o")]

    result = run_graph(specs, session_dir=tmp_path, timeout=TIMEOUT_S)

    message = failure_of(result, "f")
    assert "imports module 'no_such_module_h12'" in message
    assert "pip install no_such_module_h12" in message


def test_average_arrays_without_input_says_what_to_link(tmp_path: Path) -> None:
    """EAGLE-1302: AverageArraysApp with nothing on its 'array' port; both fail."""
    result = run_corpus_translation("corpus/EAGLE-1302__simple-arrays.graph.gz", tmp_path)

    message = failure_of(result, "1_9048973e")
    assert "'1_9048973e-0ae2-4fca-91b2-02a8e3880ace_0' has no input to average" in message
    assert "'array' port" in message


def test_scattering_a_value_that_is_no_array_names_the_input(tmp_path: Path) -> None:
    """A GenericScatterApp given a single number (not an array) says so, naming its
    input and the port to link, instead of numpy's 'tuple index out of range'."""
    specs = [
        data("n", pydata="5", outputs=["s"]),
        app("s", SCATTER, inputs=["n"], outputs=["p0", "p1"]),
        data("p0"),
        data("p1"),
    ]
    skip_without_packages(specs)

    result = run_graph(specs, session_dir=tmp_path, timeout=TIMEOUT_S)

    message = failure_of(result, "s")
    assert "cannot split the value of its input 'n'" in message
    assert "link its 'array' port" in message


def test_copy_app_copies_a_directory_into_a_directory_drop(tmp_path: Path) -> None:
    """examples/directorydrop_copygraph: a CopyApp from a directory drop to another
    copies the tree (DALiuGE's copyDirectoryContents), instead of failing on bytes."""
    source = tmp_path / "settings"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "a.txt").write_text("alpha")
    specs = [
        data("src", DIRECTORY, dirname=str(source), check_exists=True, consumers=["copy"]),
        app("copy", COPY, inputs=["src"], outputs=["dst"]),
        data("dst", DIRECTORY, dirname="copied"),
    ]

    result = run_graph(specs, session_dir=tmp_path / "session", timeout=TIMEOUT_S)

    assert result.state.name == "FINISHED", result.failures
    assert (tmp_path / "session" / "copied" / "sub" / "a.txt").read_text() == "alpha"


def test_copying_a_missing_directory_names_the_unset_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """examples/directorydrop_copygraph reads '$DLG_ROOT/testdata/settings': both fail
    where it is missing; liuray names the drop, the path and the variable not set."""
    monkeypatch.delenv("DLG_ROOT", raising=False)

    result = run_corpus_translation("corpus/examples__directorydrop_copygraph.graph.gz", tmp_path)

    message = failure_of(result, "1_63513321")
    assert "directory drop '1_c4b9bd85-b083-4654-9ba4-151dd42f72c7_0'" in message
    assert "uses DLG_ROOT, not set where the graph runs" in message


def test_a_plasma_service_node_is_refused_saying_why(tmp_path: Path) -> None:
    """leap/MS_Plasma_Stream has an EAGLE Service node (a Plasma store): refused up
    front, naming the node, Plasma's removal from pyarrow and what to use instead
    (DALiuGE 6.6.0 refuses it too: no module dlg.apps.plasma)."""
    specs = translate(corpus_graph("corpus/leap__MS_Plasma_Stream.graph.gz"))

    with pytest.raises(GraphError) as caught:
        run_graph(specs, session_dir=tmp_path, timeout=TIMEOUT_S)

    message = str(caught.value)
    assert "is an EAGLE Service node" in message
    assert "removed in pyarrow 12" in message
    assert "memory or file drops" in message


def test_plasma_classes_are_refused_with_the_reason() -> None:
    """Classes of DALiuGE's removed Plasma support are refused naming pyarrow's removal
    and the drops to use instead, not as unknown DALiuGE classes."""
    with pytest.raises(GraphError) as caught:
        check_builtin("dlg.apps.plasma.MSStreamingPlasmaProducer", is_app=True)

    assert "removed in version 12" in str(caught.value)
    assert "dlg.data.drops.memory.InMemoryDROP" in str(caught.value)


def test_a_missing_directory_names_the_variables_not_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("H12_UNSET", raising=False)
    monkeypatch.setenv("H12_SET", str(tmp_path))
    context = Context(tmp_path)

    missing = DirectoryDrop("d", {"dirname": "${H12_UNSET}/$H12_SET/x"}, context).missing()

    assert "uses H12_UNSET, not set where the graph runs" in missing
    assert "H12_SET" not in missing.partition("uses")[2]
