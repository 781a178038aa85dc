"""A session re-run after a lost node survives an island-manager restart (in-process).

The node managers outlive the island manager here as Ray's NM actors do: the first
island manager stops (its transport left open) while the re-run attempt runs, and a new
one is made over the same node managers and records file. Apps are bash commands that
log each run (see ``test_rerun.py``), so the tests count what ran again.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest.mock import patch

from test_rerun import chain, runs

from liuray.engine.states import AppState, DropState, SessionState
from liuray.managers.island import IslandManager
from liuray.managers.records import SessionRecords
from liuray.managers.reports import DetailSource, DropStatus, SessionProgress
from liuray.transports.inproc import InProcessTransport

_S = SessionState
_SETTLED = ("finished", "completed", "expired")


@dataclass
class Restarted:
    """A session in its first re-run, its island manager restarted."""

    island: IslandManager
    session_id: str
    before: SessionProgress
    status_before: dict[str, DropStatus]
    log: Path
    release: Path
    nodes: list[str]


def settled(progress: SessionProgress) -> int:
    """Drops done in ``progress``."""
    return sum(progress.counts.get(state, 0) for state in _SETTLED)


def rerun_then_restart(
    transport: InProcessTransport,
    app: Any,
    data: Any,
    until: Any,
    tmp_path: Path,
    reruns: int,
    while_down: Callable[[str], None] | None = None,
) -> Restarted:
    """prep and double on B (d = 40), slow on A (d + 2), total on C (writes out once the
    file ``release`` exists). A is lost while slow runs: re-run 1 carries d, runs slow
    again and total waits. Attempt 0 is left lingering on B, as if its destroy had
    failed; then the island manager stops, ``while_down`` is called with the session's
    id, and a new island manager starts."""
    a, b, c = transport.node_names()
    log, go, release = tmp_path / "runs.log", tmp_path / "go", tmp_path / "release"
    wait = f"until [ -e {release} ]; do sleep 0.05; done; "
    specs = chain(app, data, log, go, (a, b, c), wait)
    path = tmp_path / "records" / "sessions.sqlite"
    first = IslandManager(transport, SessionRecords(path), audit_interval=0.5, reruns=reruns)
    session_id = first.submit(specs, "rerun-restart")
    assert until(lambda: runs(log)["slow"] == 1)
    go.touch()
    transport.remove_node(a)
    assert until(lambda: runs(log)["total"] == 1, 20)  # re-run 1 is under way
    assert until(lambda: session_id not in transport.client(b).session_ids())
    transport.client(b).create_session(session_id)  # a lingering attempt 0

    def held() -> bool:
        status = first.graph_status(session_id)
        return status["total"].exec_state is AppState.RUNNING and status["s"].state is (
            DropState.COMPLETED
        )

    assert until(held)
    assert until(lambda: first.progress(session_id).counts.get("running") == 1)
    before = first.progress(session_id)
    status_before = first.graph_status(session_id)
    with patch.object(transport, "close"):  # the node managers outlive it
        first.close()
    if while_down is not None:
        while_down(session_id)
    second = IslandManager(transport, SessionRecords(path), audit_interval=0.5, reruns=reruns)
    return Restarted(second, session_id, before, status_before, log, release, [a, b, c])


def watch(island: IslandManager, session_id: str, seen: list[int]) -> None:
    """Read the session's progress until it ends: drops settled at each read."""
    while True:
        progress = island.progress(session_id)
        seen.append(settled(progress))
        if progress.state is not _S.RUNNING:
            return


def test_a_restarted_island_readopts_a_rerun_with_its_kept_drops(
    transport: InProcessTransport, app: Any, data: Any, until: Any, tmp_path: Path
) -> None:
    """The new island manager finds re-run 1 on the nodes (the lingering attempt 0 is
    destroyed), reports the same progress, statuses and kept drops as before the
    restart, and the session finishes with the right output: nothing kept ran again, and
    progress never went back."""
    run = rerun_then_restart(transport, app, data, until, tmp_path, reruns=2)
    island, session_id, before = run.island, run.session_id, run.before
    _, b, c = run.nodes
    try:
        seen: list[int] = []
        watcher = threading.Thread(target=watch, args=(island, session_id, seen))
        watcher.start()
        after = island.progress(session_id)
        assert after.state is _S.RUNNING
        assert (after.counts, after.total, after.failures) == (
            before.counts,
            before.total,
            before.failures,
        )
        assert after.directories == before.directories
        assert island.graph_status(session_id) == run.status_before
        kept = island.drop_detail(session_id, "prep")
        assert (kept.source, kept.state, kept.exec_state) == (
            DetailSource.REPORTED,
            DropState.COMPLETED,
            AppState.FINISHED,
        )
        assert session_id not in transport.client(b).session_ids()  # the stale attempt
        assert f"{session_id}.rerun1" in transport.client(c).session_ids()

        run.release.touch()
        assert island.wait(session_id, 20) is _S.FINISHED, island.progress(session_id)
        watcher.join()
        assert runs(run.log) == Counter({"prep": 1, "double": 1, "slow": 2, "total": 1})
        assert seen and min(seen) >= settled(before)
        progress = island.progress(session_id)
        assert (Path(progress.directories[c]) / "total.txt").read_text() == "42\n"
        assert progress.failures == ()
        assert sum(progress.counts.values()) == progress.total == 8
        assert island.graph_status(session_id)["prep"] == DropStatus(
            DropState.COMPLETED, AppState.FINISHED
        )
        saved = tmp_path / "records" / "sessions.reruns" / f"{session_id}.json"
        assert until(lambda: not saved.exists())  # forgotten once the session ended
    finally:
        island.close()


def test_a_rerun_lost_again_after_the_restart_runs_again(
    transport: InProcessTransport, app: Any, data: Any, until: Any, tmp_path: Path
) -> None:
    """After the restart, C (running total in re-run 1) is lost too: the session goes on
    as re-run 2 on B, keeping prep and double, and writes the right output there."""
    run = rerun_then_restart(transport, app, data, until, tmp_path, reruns=2)
    island, session_id = run.island, run.session_id
    _, b, c = run.nodes
    try:
        transport.remove_node(c)
        run.release.touch()
        assert island.wait(session_id, 20) is _S.FINISHED, island.progress(session_id)
        counted = runs(run.log)
        assert (counted["prep"], counted["double"], counted["total"]) == (1, 1, 2)
        assert counted["slow"] in (2, 3)  # again if s was on C
        assert f"{session_id}.rerun2" in transport.client(b).session_ids()
        progress = island.progress(session_id)
        assert (Path(progress.directories[b]) / "total.txt").read_text() == "42\n"
        assert progress.failures == ()
        assert sum(progress.counts.values()) == progress.total == 8
        kept = island.drop_detail(session_id, "double")
        assert (kept.source, kept.exec_state) == (DetailSource.REPORTED, AppState.FINISHED)
    finally:
        island.close()


def test_a_restarted_island_keeps_counting_reruns_toward_the_limit(
    transport: InProcessTransport, app: Any, data: Any, until: Any, tmp_path: Path
) -> None:
    """With one re-run allowed, a loss after the restart is not re-run again (the
    attempt number survived the restart): the session fails naming the lost node."""
    run = rerun_then_restart(transport, app, data, until, tmp_path, reruns=1)
    island, session_id = run.island, run.session_id
    c = run.nodes[2]
    try:
        transport.remove_node(c)
        assert island.wait(session_id, 20) is _S.FAILED
        assert runs(run.log)["total"] == 1
        errors = {failure.error for failure in island.progress(session_id).failures}
        assert f"node {c} lost" in errors
    finally:
        island.close()


def test_an_attempt_node_that_lost_the_session_while_the_island_was_down_is_rerun(
    transport: InProcessTransport, app: Any, data: Any, until: Any, tmp_path: Path
) -> None:
    """While no island manager runs, C's node manager loses re-run 1 (total's part).
    The restarted island re-adopts the session on B and counts C as lost: re-run 2
    runs C's part again on B (nothing is placed on C any more) and the session
    finishes with the right output."""
    c = transport.node_names()[2]

    def forget_on_c(session_id: str) -> None:
        transport.client(c).destroy_session(f"{session_id}.rerun1")

    run = rerun_then_restart(transport, app, data, until, tmp_path, 2, forget_on_c)
    island, session_id = run.island, run.session_id
    try:
        run.release.touch()
        assert island.wait(session_id, 20) is _S.FINISHED, island.progress(session_id)
        counted = runs(run.log)
        assert (counted["prep"], counted["double"], counted["total"]) == (1, 1, 2)
        assert f"{session_id}.rerun2" in transport.client(run.nodes[1]).session_ids()
        assert f"{session_id}.rerun2" not in transport.client(c).session_ids()  # excluded
        progress = island.progress(session_id)
        assert (Path(progress.directories[run.nodes[1]]) / "total.txt").read_text() == "42\n"
    finally:
        island.close()


def test_a_restart_during_a_reruns_deployment_records_the_session_failed(
    transport: InProcessTransport, app: Any, data: Any, until: Any, tmp_path: Path
) -> None:
    """The island stopped while deploying re-run 2 (B holds it, nothing saved it): the
    restarted island cannot know what that attempt kept, so it records the session
    FAILED saying so and destroys every attempt left on the nodes."""
    b, c = transport.node_names()[1:]

    def half_deployed(session_id: str) -> None:
        assert (tmp_path / "records" / "sessions.reruns" / f"{session_id}.json").exists()
        transport.client(b).create_session(f"{session_id}.rerun2", session_id)

    run = rerun_then_restart(transport, app, data, until, tmp_path, 2, half_deployed)
    island, session_id = run.island, run.session_id
    try:
        assert island.state(session_id) is _S.FAILED
        assert island.progress(session_id).error == (
            "the island manager stopped while re-run 2 of the session was being deployed"
        )
        held = transport.client(b).session_ids() + transport.client(c).session_ids()
        assert not [sid for sid in held if sid.startswith(session_id)]
    finally:
        island.close()


def test_a_rerun_saved_state_that_does_not_match_its_graph_fails_the_session(
    transport: InProcessTransport, app: Any, data: Any, until: Any, tmp_path: Path
) -> None:
    """A saved re-run state whose graph lost its drops (a damaged file) does not stop
    the island from starting: the session is recorded FAILED and re-run 1 destroyed."""

    def damage(session_id: str) -> None:
        saved = tmp_path / "records" / "sessions.reruns" / f"{session_id}.json"
        saved.write_bytes(saved.read_bytes().replace(b'"specs":[{', b'"specs":[],"x":[{', 1))

    run = rerun_then_restart(transport, app, data, until, tmp_path, 2, damage)
    island, session_id = run.island, run.session_id
    try:
        assert island.state(session_id) is _S.FAILED
        held = [sid for node in run.nodes[1:] for sid in transport.client(node).session_ids()]
        assert not [sid for sid in held if sid.startswith(session_id)]
    finally:
        island.close()


def test_a_session_never_rerun_loses_a_node_after_the_restart_and_is_rerun(
    transport: InProcessTransport, app: Any, data: Any, until: Any, tmp_path: Path
) -> None:
    """Node managers that outlive the island manager (Ray's actors) get each session's
    graph saved at deploy: a session that had lost nothing before the restart is
    re-adopted with it, and a node lost after the restart runs the lost part again (slow
    on A) instead of failing the session; what finished on the others ran once."""
    transport.nodes_outlive_island = True
    a, b, c = transport.node_names()
    log, go = tmp_path / "runs.log", tmp_path / "go"
    path = tmp_path / "records" / "sessions.sqlite"
    first = IslandManager(transport, SessionRecords(path), audit_interval=0.5, reruns=2)
    session_id = first.submit(chain(app, data, log, go, (a, b, c)), "never-rerun")
    assert until(lambda: runs(log)["slow"] == 1)  # held on A until `go` exists
    saved = tmp_path / "records" / "sessions.reruns" / f"{session_id}.json"
    assert saved.exists()
    with patch.object(transport, "close"):  # the node managers outlive it
        first.close()
    second = IslandManager(transport, SessionRecords(path), audit_interval=0.5, reruns=2)
    try:
        assert second.progress(session_id).state is _S.RUNNING
        transport.remove_node(a)
        go.touch()
        assert second.wait(session_id, 20) is _S.FINISHED, second.progress(session_id)
        assert runs(log) == Counter({"prep": 1, "double": 1, "slow": 2, "total": 1})
        progress = second.progress(session_id)
        assert (Path(progress.directories[c]) / "total.txt").read_text() == "42\n"
        assert progress.failures == ()
        assert until(lambda: not saved.exists())  # forgotten once the session ended
    finally:
        second.close()


def test_node_managers_that_die_with_the_island_get_no_graph_saved(
    transport: InProcessTransport, app: Any, data: Any, until: Any, tmp_path: Path
) -> None:
    """In-process node managers die with the island manager: nothing to re-adopt, so
    a deploy writes no graph to disk (a restart records such sessions as lost)."""
    assert not transport.nodes_outlive_island
    a, b, c = transport.node_names()
    log, go = tmp_path / "runs.log", tmp_path / "go"
    path = tmp_path / "records" / "sessions.sqlite"
    island = IslandManager(transport, SessionRecords(path), audit_interval=0.5, reruns=2)
    try:
        session_id = island.submit(chain(app, data, log, go, (a, b, c)), "in-process")
        assert until(lambda: runs(log)["slow"] == 1)
        assert not (tmp_path / "records" / "sessions.reruns").exists()
        assert island.progress(session_id).state is _S.RUNNING
    finally:
        island.close()
