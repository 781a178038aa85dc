"""Re-runs after a lost node keep completed work: in-process nodes, real bash apps.

Each app appends its name to a log file when it runs, so a test counts executions: work
completed on a surviving node must not run again, the lost work must, and the outputs
must be right.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from liuray.engine.states import AppState, DropState, SessionState
from liuray.managers.island import IslandManager
from liuray.managers.node import NodeManager
from liuray.managers.reports import DetailSource, DropStatus
from liuray.transports.inproc import InProcessTransport

BASH = "dlg.apps.bash_shell_app.BashShellApp"
_S = SessionState


def bash(
    app: Any, oid: str, log: Path, command: str, hold: Path | None = None, **links: Any
) -> dict[str, Any]:
    """A bash app that logs its run, then runs ``command`` (ports named as the drops).

    With ``hold``, a run that starts before the file ``hold`` exists first sleeps 30 s
    (it is running when the test loses its node); later runs do not wait.
    """
    wait = f"t=0; [ -e {hold} ] || t=30; " if hold else ""
    pause = "sleep $t; " if hold else ""
    command = f"{wait}echo {oid} >> {log}; {pause}{command}"
    spec: dict[str, Any] = app(oid, BASH, command=command, **links)
    spec["inputs"] = [{u: u} for u in spec.get("inputs", [])]
    spec["outputs"] = [{u: u} for u in spec.get("outputs", [])]
    return spec


def chain(
    app: Any, data: Any, log: Path, go: Path, nodes: tuple[str, str, str], wait: str = ""
) -> list[dict[str, Any]]:
    """The chain the re-run tests lose a node under: prep and double on B (n = 20,
    d = 40), slow on A (d + 2, held until the file ``go`` exists), total on C writing
    the sum to total.txt (after the shell snippet ``wait``). Every run is logged."""
    a, b, c = nodes
    return [
        bash(app, "prep", log, "echo 20", outputs=("n",), node=b),
        data("n", node=b),
        bash(app, "double", log, "echo $(( {n} * 2 ))", inputs=("n",), outputs=("d",), node=b),
        data("d", node=b),
        bash(app, "slow", log, "echo $(( {d} + 2 ))", go, inputs=("d",), outputs=("s",),
             node=a),
        data("s", node=a),
        bash(app, "total", log, wait + "echo {s} > {out}", inputs=("s",), outputs=("out",),
             node=c),
        data("out", node=c, file=True, filepath="total.txt"),
    ]  # fmt: skip


def runs(log: Path) -> Counter[str]:
    """How many times each app ran."""
    return Counter(log.read_text().split()) if log.exists() else Counter()


def watch(island: IslandManager, session_id: str, settled: list[int]) -> None:
    """Read the session's progress until it ends: drops settled at each read."""
    while True:
        progress = island.progress(session_id)
        counts = progress.counts
        settled.append(sum(counts.get(k, 0) for k in ("finished", "completed", "expired")))
        if progress.state is not _S.RUNNING:
            return


def test_completed_work_on_surviving_nodes_is_kept_and_only_the_lost_part_runs_again(
    island: IslandManager, transport: InProcessTransport, app: Any, data: Any, until: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    """prep and double complete on B (n = 20, d = 40); slow on A reads d and is running
    when A is lost; total on C sums. The re-run carries d from B, runs slow again on a
    survivor and total after it: prep and double ran once, slow twice, and out is 42.
    Progress counts the kept drops as done from the start of the re-run."""
    a, b, c = island.nodes()
    log, go = tmp_path / "runs.log", tmp_path / "go"
    specs = chain(app, data, log, go, (a, b, c))
    session_id = island.submit(specs, "keep")
    assert until(lambda: runs(log)["slow"] == 1)  # it started
    settled: list[int] = []
    watcher = threading.Thread(target=watch, args=(island, session_id, settled))
    watcher.start()
    go.touch()
    island.remove_node(a)

    assert island.wait(session_id, 20) is _S.FINISHED, island.progress(session_id)
    watcher.join()
    assert runs(log) == Counter({"prep": 1, "double": 1, "slow": 2, "total": 1})
    assert settled and min(settled) >= 4  # prep, n, double and d never count as undone
    progress = island.progress(session_id)
    assert (Path(progress.directories[c]) / "total.txt").read_text() == "42\n"
    assert progress.failures == ()
    assert sum(progress.counts.values()) == progress.total == len(specs)
    assert progress.counts.get("error", 0) == 0
    status = island.graph_status(session_id)
    assert set(status) == {spec["oid"] for spec in specs}
    assert status["prep"] == DropStatus(DropState.COMPLETED, AppState.FINISHED)
    assert status["out"] == DropStatus(DropState.COMPLETED)
    kept = island.drop_detail(session_id, "prep")
    assert (kept.source, kept.exec_state) == (DetailSource.REPORTED, AppState.FINISHED)


def test_an_app_whose_outputs_live_on_two_nodes_writes_both_again_when_one_is_lost(
    island: IslandManager, transport: InProcessTransport, app: Any, data: Any, until: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    """split on A writes o1 (homed on B, read there by r1, which finishes) and o2 (on A,
    read by the slow r2 on A). A is lost: o2 is gone, so split runs again and writes o1
    again too (not carried); r1, done, does not run again; r2 does."""
    a, b, c = island.nodes()
    log, go = tmp_path / "runs.log", tmp_path / "go"
    specs = [
        bash(app, "split", log, "echo 7", outputs=("o1", "o2"), node=a),
        data("o1", node=b),
        data("o2", node=a),
        bash(app, "r1", log, "echo {o1} > {x1}", inputs=("o1",), outputs=("x1",), node=b),
        data("x1", node=b, file=True, filepath="x1.txt"),
        bash(app, "r2", log, "echo $(( {o2} * 6 )) > {x2}", go, inputs=("o2",),
             outputs=("x2",), node=a),
        data("x2", node=c, file=True, filepath="x2.txt"),
    ]  # fmt: skip
    session_id = island.submit(specs, "two-outputs")
    assert until(lambda: runs(log)["r2"] == 1)  # it started
    assert until(lambda: island.graph_status(session_id)["x1"].state is DropState.COMPLETED)
    go.touch()
    island.remove_node(a)

    assert island.wait(session_id, 20) is _S.FINISHED, island.progress(session_id)
    assert runs(log) == Counter({"split": 2, "r1": 1, "r2": 2})
    directories = island.progress(session_id).directories
    assert (Path(directories[c]) / "x2.txt").read_text() == "42\n"
    assert (Path(directories[b]) / "x1.txt").read_text() == "7\n"
    status = island.graph_status(session_id)
    assert status["r1"] == DropStatus(DropState.COMPLETED, AppState.FINISHED)
    assert status["o1"].state is DropState.COMPLETED


def test_a_file_on_shared_storage_written_by_the_lost_node_is_carried(
    island: IslandManager, app: Any, data: Any, until: Any, tmp_path: Path
) -> None:
    """write on A puts f on shared storage (an absolute path every node reads); read on B
    and nap on A are running when A is lost. B holds f (the same file), so it is
    carried: write does not run again, read and nap do, and read sees the content."""
    a, b, _ = island.nodes()
    log, go = tmp_path / "runs.log", tmp_path / "go"
    shared = tmp_path / "shared" / "f.txt"
    specs = [
        bash(app, "write", log, "echo shared > {f}", outputs=("f",), node=a),
        data("f", node=a, file=True, filepath=str(shared)),
        bash(app, "read", log, "cat {f} > {g}", go, inputs=("f",), outputs=("g",),
             node=b),
        data("g", node=b, file=True, filepath="g.txt"),
        bash(app, "nap", log, "true", go, outputs=("z",), node=a),
        data("z", node=a),
    ]  # fmt: skip
    session_id = island.submit(specs, "shared")
    assert until(lambda: runs(log)["read"] == runs(log)["nap"] == 1)  # they started
    go.touch()
    island.remove_node(a)

    assert island.wait(session_id, 20) is _S.FINISHED, island.progress(session_id)
    assert runs(log) == Counter({"write": 1, "read": 2, "nap": 2})
    directories = island.progress(session_id).directories
    assert (Path(directories[b]) / "g.txt").read_text() == "shared\n"
    assert island.graph_status(session_id)["f"] == DropStatus(DropState.COMPLETED)


def test_a_file_on_shared_storage_that_no_survivor_touched_is_carried(
    island: IslandManager, app: Any, data: Any, until: Any, tmp_path: Path
) -> None:
    """write on A puts f on shared storage and read, on A too, is running when A is
    lost: no survivor has f in its graph, but one can read the file, so f is carried
    (write does not run again) and read runs again on a survivor, reading it."""
    a, _, _ = island.nodes()
    log, go = tmp_path / "runs.log", tmp_path / "go"
    shared, out = tmp_path / "shared" / "f.txt", tmp_path / "shared" / "g.txt"
    specs = [
        bash(app, "write", log, "echo shared > {f}", outputs=("f",), node=a),
        data("f", node=a, file=True, filepath=str(shared)),
        bash(app, "read", log, "cat {f} > {g}", go, inputs=("f",), outputs=("g",),
             node=a),
        data("g", node=a, file=True, filepath=str(out)),
    ]  # fmt: skip
    session_id = island.submit(specs, "shared-untouched")
    assert until(lambda: runs(log)["read"] == 1)  # write is done, read is held
    assert until(lambda: island.progress(session_id).counts.get("finished") == 1)  # reported
    go.touch()
    island.remove_node(a)

    assert island.wait(session_id, 20) is _S.FINISHED, island.progress(session_id)
    assert runs(log) == Counter({"write": 1, "read": 2})
    assert out.read_text() == "shared\n"
    assert island.graph_status(session_id)["f"] == DropStatus(DropState.COMPLETED)


@pytest.fixture
def quiet_island(transport: InProcessTransport) -> Iterator[IslandManager]:
    """An island manager whose audit never runs within a test."""
    manager = IslandManager(transport, audit_interval=3600)
    yield manager
    manager.close()


def test_a_loss_with_nothing_left_to_run_ends_the_session_at_once(
    quiet_island: IslandManager, transport: InProcessTransport, app: Any, data: Any,
    until: Any, tmp_path: Path,
) -> None:  # fmt: skip
    """Every node finished but their reports were lost, so the island still counts A as
    needed when it is lost. A held only d, which B and C hold too: nothing runs again,
    and the session finishes at once with every drop kept."""
    island = quiet_island
    a, b, c = island.nodes()
    log = tmp_path / "runs.log"
    specs = [
        bash(app, "hello", log, "echo 5", outputs=("d",), node=b),
        data("d", node=a),
        bash(app, "copy", log, "echo {d} > {out}", inputs=("d",), outputs=("out",), node=c),
        data("out", node=c, file=True, filepath="out.txt"),
    ]  # fmt: skip
    session_id = "nothing-left"
    transport.on_event = None  # every report is lost from now on
    island.submit(specs, session_id)
    assert until(lambda: transport.client(c).session_status(session_id) is _S.FINISHED)
    assert until(lambda: transport.client(a).session_status(session_id) is _S.FINISHED)
    island.remove_node(a)

    assert island.wait(session_id, 10) is _S.FINISHED
    assert runs(log) == Counter({"hello": 1, "copy": 1})
    progress = island.progress(session_id)
    assert progress.counts == {"finished": 2, "completed": 2}
    assert set(island.graph_status(session_id)) == {"hello", "d", "copy", "out"}


def test_a_second_loss_during_the_rerun_keeps_what_the_first_kept(
    island: IslandManager, app: Any, data: Any, until: Any, tmp_path: Path
) -> None:
    """side completes on C and prep on B; slow on A is lost with A and runs again on B
    (next to its input), which is lost too. The second re-run keeps side again, runs
    prep again (its output went with B) and the session finishes with the right total."""
    a, b, c = island.nodes()
    log, go = tmp_path / "runs.log", tmp_path / "go"
    specs = [
        bash(app, "side", log, "echo 1", outputs=("sd",), node=c),
        data("sd", node=c),
        bash(app, "prep", log, "echo 20", outputs=("n",), node=b),
        data("n", node=b),
        bash(app, "slow", log, "echo $(( {n} + 22 ))", go, inputs=("n",), outputs=("s",),
             node=a),
        data("s", node=a),
        bash(app, "total", log, "echo {s} > {out}", inputs=("s",), outputs=("out",), node=c),
        data("out", node=c, file=True, filepath="out.txt"),
    ]  # fmt: skip
    session_id = island.submit(specs, "twice")
    assert until(lambda: runs(log)["slow"] == 1)  # it started
    island.remove_node(a)
    assert until(lambda: runs(log)["slow"] == 2)
    assert island.drop_detail(session_id, "slow").node == b
    go.touch()
    island.remove_node(b)

    assert island.wait(session_id, 20) is _S.FINISHED, island.progress(session_id)
    assert runs(log) == Counter({"side": 1, "prep": 2, "slow": 3, "total": 1})
    progress = island.progress(session_id)
    assert (Path(progress.directories[c]) / "out.txt").read_text() == "42\n"
    assert sum(progress.counts.values()) == len(specs)
    assert island.graph_status(session_id)["side"] == DropStatus(
        DropState.COMPLETED, AppState.FINISHED
    )


def test_a_node_manager_carries_completed_data_between_attempts(tmp_path: Path) -> None:
    """held_data lists completed data that is still held (an expired drop is not); carry
    copies a memory drop into the next attempt, which completes it when triggered."""
    manager = NodeManager("n1", tmp_path, workers=2)
    specs = [
        {"oid": "a", "categoryType": "Application", "dropclass": "dlg.apps.simple.HelloWorldApp",
         "outputs": ["d"]},
        {"oid": "d", "categoryType": "Data", "dropclass": "dlg.data.drops.memory.InMemoryDROP",
         "consumers": ["b"]},
        {"oid": "b", "categoryType": "Application", "dropclass": "dlg.apps.simple.CopyApp",
         "inputs": ["d"], "outputs": ["e"]},
        {"oid": "e", "categoryType": "Data", "dropclass": "dlg.data.drops.memory.InMemoryDROP"},
    ]  # fmt: skip
    try:
        manager.create_session("s1")
        manager.append_graph("s1", specs)
        manager.deploy("s1")
        manager.trigger("s1")
        assert _settled(manager, "s1")
        assert manager.held_data("s1") == ["e"]  # d was consumed, so released
        manager.create_session("s2")
        manager.append_graph("s2", [specs[3]])
        manager.deploy("s2")
        manager.carry("s2", "s1", ["e"])
        manager.trigger("s2", ["e"])
        assert _settled(manager, "s2")
        second = manager._sessions["s2"].run
        assert second is not None
        assert second.drops["e"].get() == b"Hello World"  # type: ignore[union-attr]
    finally:
        manager.close()


def _settled(manager: NodeManager, session_id: str) -> bool:
    from manager_helpers import wait_until

    return wait_until(lambda: manager.session_status(session_id) is _S.FINISHED)


def test_a_drop_that_failed_before_the_loss_stays_failed_and_so_does_the_session(
    island: IslandManager, app: Any, data: Any, until: Any, tmp_path: Path
) -> None:
    """bad fails on B; slow on A is lost with A and runs again. bad is kept as it was (not
    run again), its failure is still listed, and the session ends FAILED."""
    a, b, c = island.nodes()
    log, go = tmp_path / "runs.log", tmp_path / "go"
    specs = [
        bash(app, "bad", log, "exit 3", outputs=("e",), node=b),
        data("e", node=b),
        bash(app, "slow", log, "echo 1", go, outputs=("s",), node=a),
        data("s", node=c),
    ]
    session_id = island.submit(specs, "failed-kept")
    assert until(lambda: runs(log)["slow"] == 1)
    assert until(lambda: island.graph_status(session_id)["bad"].state is DropState.ERROR)
    go.touch()
    island.remove_node(a)

    assert island.wait(session_id, 20) is _S.FAILED, island.progress(session_id)
    assert runs(log) == Counter({"bad": 1, "slow": 2})
    progress = island.progress(session_id)
    assert [f.oid for f in progress.failures] == ["bad", "e"]  # the cause first
    assert island.graph_status(session_id)["s"] == DropStatus(DropState.COMPLETED)
    assert island.graph_status(session_id)["e"].state is DropState.ERROR
