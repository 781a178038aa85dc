"""DALiuGE's parameter rules, replayed: each case of the fixture runs on liuray.

``tests/engine/fixtures/daliuge_param_rules.json`` holds, per rule, a tiny physical
graph (one PyFuncApp or BashShellApp with its data drops) and what DALiuGE 6.6.0 was
observed to do with it (``bench/daliuge_param_rules.py`` made it): the function's
parameters as ``repr(locals())``, the bytes written to an output file, the command line
bash ran, or a refusal. Here the same graph runs on liuray's engine (``GraphRun``, the
inputs' bytes written before the start) and must give the same outcome. A case with a
``note`` is one where liuray deliberately differs (DALiuGE crashes, or a rule older
DALiuGE had); it carries liuray's outcome under ``liuray``.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from liuray.engine.local import WorkerPool
from liuray.engine.session import GraphRun
from liuray.engine.states import SessionState
from liuray.errors import GraphError
from liuray.graph.physical import load_physical_graph

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "daliuge_param_rules.json").read_text())
CASES: dict[str, dict[str, Any]] = FIXTURE["cases"]
DIR_TOKEN = "{dir}"


def expected(case: dict[str, Any]) -> dict[str, Any]:
    """What liuray must do: DALiuGE's outcome, or liuray's own where the case says so."""
    return case["liuray"] if "note" in case else case["observed"]


def run_case(case: dict[str, Any], directory: Path) -> GraphRun:
    """Run the case's graph in ``directory`` with its inputs written first."""
    text = json.dumps(case["graph"]).replace(DIR_TOKEN, str(directory))
    graph = load_physical_graph(json.loads(text))
    pool = WorkerPool(1)
    try:
        run = GraphRun(graph, session_id="rules", session_dir=directory, pool=pool)
        for oid, content in case["inputs"].items():
            run.drops[oid].write(base64.b64decode(content))  # type: ignore[union-attr]
        run.start()
        assert run.wait(20)
    finally:
        pool.shutdown()
    return run


def observe(case: dict[str, Any], run: GraphRun, directory: Path) -> dict[str, Any]:
    """The outcome in the fixture's terms."""
    observed: dict[str, Any] = {}
    app = run.drops["app"]
    commands = [line[2:] for line in app.logs or () if line.startswith("$ ")]  # type: ignore[union-attr]
    if commands:
        observed["command"] = commands[0].replace(str(directory), DIR_TOKEN)
    if run.state is not SessionState.FINISHED:
        observed["error"] = run.failures()
        return observed
    output = run.drops.get("out0")
    if output is None or "command" in observed:
        return observed
    if case["graph"][-1]["dropclass"].endswith("FileDROP"):
        observed["bytes"] = base64.b64encode(output.read_bytes()).decode("ascii")  # type: ignore[union-attr]
    else:
        value = output.get()  # type: ignore[union-attr]
        observed["result"] = repr(value).replace(str(directory), DIR_TOKEN)
    return observed


def same_bytes(ours: str, theirs: str) -> bool:
    """Equal bytes, or equal values when both are pickles (protocols may differ)."""
    mine, peer = base64.b64decode(ours), base64.b64decode(theirs)
    if mine[:1] == peer[:1] == b"\x80":
        return bool(pickle.loads(mine) == pickle.loads(peer))
    if mine.startswith(b"\x93NUMPY") and peer.startswith(b"\x93NUMPY"):
        np = pytest.importorskip("numpy")
        return bool((np.load(io.BytesIO(mine)) == np.load(io.BytesIO(peer))).all())
    return mine == peer


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule(name: str, tmp_path: Path) -> None:
    """One rule: liuray's outcome on the case's graph is DALiuGE's (or the noted one)."""
    case = CASES[name]
    want = expected(case)
    if "npy" in json.dumps(case["graph"]):
        pytest.importorskip("numpy")
    if "error" in want and "command" not in want:
        with pytest.raises(GraphError):
            run_case(case, tmp_path)
        return

    got = observe(case, run_case(case, tmp_path), tmp_path)

    if "bytes" in want:
        assert same_bytes(got.get("bytes", ""), want["bytes"]), (got, want)
    elif "result" in want:
        assert got.get("result") == want["result"], case["rule"]
    assert got.get("command") == want.get("command"), case["rule"]
    assert ("error" in got) == ("error" in want), got


def test_every_noted_case_says_what_liuray_does() -> None:
    """A case where liuray deliberately differs explains why and names liuray's outcome."""
    noted = {name: case for name, case in CASES.items() if "note" in case}

    assert noted
    assert all(case.get("liuray") for case in noted.values())
    assert all(case["liuray"] != case["observed"] for case in noted.values())
