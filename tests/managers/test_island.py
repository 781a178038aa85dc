"""IslandManager over three in-process node managers: cross-node runs and failures."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from liuray.engine.states import AppState, DropState, SessionState
from liuray.errors import (
    DropNotFound,
    GraphError,
    InvalidSessionState,
    NodeNotFound,
    SessionExists,
    SessionNotFound,
)
from liuray.managers.island import IslandManager
from liuray.managers.island_session import IslandSession, merge_states
from liuray.managers.records import SessionRecords
from liuray.managers.reports import DetailSource, DropDetail, DropStatus
from liuray.transports.inproc import InProcessTransport

BASH = "dlg.apps.bash_shell_app.BashShellApp"
_S = SessionState


def value(transport: InProcessTransport, node: str, session_id: str, uid: str) -> Any:
    """The content of a drop as held by ``node``."""
    run = transport.client(node)._sessions[session_id].run
    assert run is not None
    return run.drops[uid].get()  # type: ignore[union-attr]


def session_dir(transport: InProcessTransport, node: str, session_id: str) -> Path:
    return transport.client(node).root / session_id


def chain(app: Any, data: Any, nodes: list[str], greet: str = "World") -> list[dict[str, Any]]:
    """hello (A) -> d1 (B) -> copy (C) -> d2 (A): data crosses nodes both ways."""
    a, b, c = nodes
    return [
        app("hello", "HelloWorldApp", outputs=("d1",), node=a, greet=greet),
        data("d1", node=b),
        app("copy", inputs=("d1",), outputs=("d2",), node=c),
        data("d2", node=a),
    ]


def test_cross_node_data_flows_both_directions(
    island: IslandManager, transport: InProcessTransport, app: Any, data: Any
) -> None:
    """hello on A writes d1 on B, copy on C reads it and writes d2 back on A."""
    nodes = island.nodes()
    assert nodes == ["localhost:8000", "localhost:8001", "localhost:8002"]
    session_id = island.submit(chain(app, data, nodes), "cross")
    assert island.wait(session_id, 5) is _S.FINISHED
    a, b, c = nodes
    assert value(transport, a, session_id, "d2") == b"Hello World"
    assert island.session_status(session_id) == dict.fromkeys(nodes, _S.FINISHED)
    assert island.graph_status(session_id) == {
        "hello": DropStatus(DropState.COMPLETED, AppState.FINISHED),
        "d1": DropStatus(DropState.COMPLETED),  # published, so kept
        "copy": DropStatus(DropState.COMPLETED, AppState.FINISHED),
        "d2": DropStatus(DropState.COMPLETED),
    }
    assert island.drop_detail(session_id, "copy").node == c
    assert island.drop_detail(session_id, "d1").node == b
    with pytest.raises(DropNotFound, match=f"no drop 'ghost' in session {session_id!r}"):
        island.drop_detail(session_id, "ghost")  # a missing resource, not a bad graph
    progress = island.progress(session_id)
    assert progress.state is _S.FINISHED
    assert progress.total == 4
    assert sum(progress.counts.values()) == 4
    assert progress.failures == ()


def test_file_drops_cross_nodes_into_the_receivers_session_dir(
    island: IslandManager, transport: InProcessTransport, app: Any, data: Any
) -> None:
    """A bash app on A writes a file drop homed on B; C reads it and writes one on A.

    Each node keeps its copy of a file drop in its own session directory, so the
    content must arrive there: B holds what A wrote, C holds B's copy, and A holds what
    C wrote. Nothing is appended twice.
    """
    a, b, c = island.nodes()
    specs = [
        app("write", BASH, outputs=("f1",), node=a, command="echo from-a > %o0"),
        data("f1", file=True, filepath="f1.txt", node=b),
        app(
            "upper", BASH, inputs=("f1",), outputs=("f2",), node=c, command="tr a-z A-Z < %i0 > %o0"
        ),
        data("f2", file=True, filepath="f2.txt", node=a),
    ]
    session_id = island.submit(specs, "files")
    assert island.wait(session_id, 5) is _S.FINISHED
    assert (session_dir(transport, b, session_id) / "f1.txt").read_text() == "from-a\n"
    assert (session_dir(transport, c, session_id) / "f1.txt").read_text() == "from-a\n"
    assert (session_dir(transport, a, session_id) / "f2.txt").read_text() == "FROM-A\n"
    assert (session_dir(transport, c, session_id) / "f2.txt").read_text() == "FROM-A\n"


def test_completed_data_root_is_read_on_another_node(
    island: IslandManager, transport: InProcessTransport, app: Any, data: Any, tmp_path: Path
) -> None:
    """An existing file on A, marked ``completed`` at deploy, is read by a bash app on B.

    Its content travels to B's copy; the input file itself is left untouched (not
    rewritten or appended to by the delivery).
    """
    a, b, c = island.nodes()
    source = tmp_path / "input.txt"
    source.write_text("abc\n")
    specs = [
        data("seed", file=True, filepath=str(source), node=a),
        app("upper", BASH, inputs=("seed",), outputs=("o",), node=b, command="tr a-z A-Z < %i0"),
        data("o", node=c),
    ]
    session_id = island.submit(specs, "seeded", completed=["seed"])
    assert island.wait(session_id, 5) is _S.FINISHED
    assert value(transport, c, session_id, "o") == b"ABC\n"
    assert source.read_text() == "abc\n"


def test_graph_without_node_fields_is_placed_and_runs(
    island: IslandManager, transport: InProcessTransport, app: Any, data: Any
) -> None:
    """A fan-out into three branches with no ``node`` fields spreads over the nodes."""
    specs = [
        app("hello", "HelloWorldApp", outputs=("g",)),
        data("g"),
        app("fan", "CopyApp", inputs=("g",), outputs=("b0", "b1", "b2")),
    ]
    for index in range(3):
        specs += [
            data(f"b{index}"),
            app(f"copy{index}", inputs=(f"b{index}",), outputs=(f"out{index}",)),
            data(f"out{index}"),
        ]
    session_id = island.submit(specs, "placed")
    assert island.wait(session_id, 5) is _S.FINISHED
    assert sorted(island.progress(session_id).nodes) == island.nodes()
    for index in range(3):
        node = island.drop_detail(session_id, f"out{index}").node
        assert value(transport, node, session_id, f"out{index}") == b"Hello World"


def test_back_to_back_sessions_on_the_same_nodes(
    island: IslandManager, transport: InProcessTransport, app: Any, data: Any
) -> None:
    """Two sessions with the same oids, one after the other, both finish (daliuge.md 7.2)."""
    for index in range(2):
        session_id = island.submit(chain(app, data, island.nodes(), f"run{index}"), f"b{index}")
        assert island.wait(session_id, 5) is _S.FINISHED
        assert value(transport, "localhost:8000", session_id, "d2") == f"Hello run{index}".encode()


def test_ten_concurrent_sessions_on_the_same_nodes(
    island: IslandManager, transport: InProcessTransport, app: Any, data: Any
) -> None:
    """Ten threads submit cross-node sessions with identical oids at once.

    Every session ends FINISHED with its own greeting: no session sees another's drops.
    """
    errors: list[BaseException] = []

    def submit(index: int) -> None:
        try:
            nodes = island.nodes()
            rotated = nodes[index % 3 :] + nodes[: index % 3]
            island.submit(chain(app, data, rotated, f"t{index}"), f"c{index}")
        except BaseException as err:  # reported below, in the test's thread
            errors.append(err)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    for index in range(10):
        session_id = f"c{index}"
        assert island.wait(session_id, 5) is _S.FINISHED
        home = island.drop_detail(session_id, "d2").node
        assert value(transport, home, session_id, "d2") == f"Hello t{index}".encode()
    assert {s.session_id for s in island.sessions()} == {f"c{i}" for i in range(10)}


def test_unregistered_node_is_rejected_and_earlier_drops_kept(
    island: IslandManager, app: Any, data: Any
) -> None:
    """An append naming an unknown node fails listing the known ones; nothing is lost."""
    island.create_session("s")
    assert island.append_graph("s", [data("d", node="localhost:8000")]) == 1
    with pytest.raises(GraphError, match="not registered; known nodes") as raised:
        island.append_graph("s", [app("a", "HelloWorldApp", outputs=("d",), node="far:9000")])
    assert raised.value.detail["known"] == island.nodes()
    assert "localhost:8001" in raised.value.message
    assert island.graph_size("s") == 1
    assert list(island.graph("s")) == ["d"]


def test_duplicate_oid_across_appends_is_rejected(island: IslandManager, data: Any) -> None:
    """The second append repeats an oid: rejected, the first append stays."""
    island.create_session("s")
    island.append_graph("s", [data("d")])
    with pytest.raises(GraphError, match="'d'"):
        island.append_graph("s", [data("e"), data("d")])
    assert list(island.graph("s")) == ["d"]


def test_deploy_twice_is_refused(island: IslandManager, app: Any, data: Any) -> None:
    """A session is deployed once; the second deploy says so."""
    island.create_session("s")
    island.append_graph("s", chain(app, data, island.nodes()))
    island.deploy_session("s")
    with pytest.raises(InvalidSessionState, match="deployed only once"):
        island.deploy_session("s")
    with pytest.raises(InvalidSessionState, match="before it is deployed"):
        island.append_graph("s", [data("late")])
    assert island.wait("s", 5) is _S.FINISHED


def test_deploy_with_completed_triggers_only_those(
    island: IslandManager, app: Any, data: Any, until: Any
) -> None:
    """Two roots on different nodes; ``completed=["r1"]`` starts r1's branch only."""
    a, b, c = island.nodes()
    island.create_session("s")
    island.append_graph(
        "s",
        [
            app("r1", "HelloWorldApp", outputs=("o1",), node=a),
            data("o1", node=b),
            app("r2", "HelloWorldApp", outputs=("o2",), node=c),
            data("o2", node=c),
        ],
    )
    with pytest.raises(GraphError, match="not in the graph"):
        island.deploy_session("s", completed=["ghost"])
    island.deploy_session("s", completed=["r1"])
    assert until(lambda: island.graph_status("s")["o1"].state is DropState.COMPLETED)
    time.sleep(0.05)
    assert island.graph_status("s")["r2"] == DropStatus(DropState.INITIALIZED, AppState.NOT_RUN)
    assert island.state("s") is _S.RUNNING
    island.cancel_session("s")
    assert island.wait("s", 5) is _S.CANCELLED


def test_errors_propagate_across_nodes(island: IslandManager, app: Any, data: Any) -> None:
    """An app failing on A errors its output on B and the app on C: the session FAILED."""
    a, b, c = island.nodes()
    specs = [
        app("bad", BASH, outputs=("d1",), node=a, command="echo broken >&2; exit 1"),
        data("d1", node=b),
        app("copy", inputs=("d1",), outputs=("d2",), node=c),
        data("d2", node=c),
    ]
    session_id = island.submit(specs, "failing")
    assert island.wait(session_id, 5) is _S.FAILED
    status = island.graph_status(session_id)
    assert {uid: s.state for uid, s in status.items()} == {
        uid: DropState.ERROR for uid in ("bad", "d1", "copy", "d2")
    }
    failures = island.progress(session_id).failures
    assert {(f.oid, f.node) for f in failures} >= {("bad", a), ("d1", b), ("copy", c)}
    assert "broken" in (island.drop_detail(session_id, "bad").error or "")


def test_without_reruns_node_loss_fails_the_drops_waiting_on_it(
    island: IslandManager, transport: InProcessTransport, app: Any, data: Any, until: Any
) -> None:
    """Two long sleeps on A feed drops on B and C; A is removed mid-run.

    One sleep writes d1, homed on B (B waits for A's producer); the other writes d3,
    homed on A and read on C (C waits for A's copy). Both end in ERROR saying "node
    localhost:8000 lost" on every node that holds them, their consumers fail, an
    unrelated branch on B and C completes, and the session ends FAILED within a couple
    of seconds instead of hanging.
    """
    island.reruns = 0  # the behaviour without re-runs (see the re-run tests below)
    a, b, c = island.nodes()
    specs = [
        app("sleep", "SleepApp", outputs=("d1",), node=a, sleep_time=30),
        data("d1", node=b),
        app("copy", inputs=("d1",), outputs=("d2",), node=c),
        data("d2", node=c),
        app("sleep3", "SleepApp", outputs=("d3",), node=a, sleep_time=30),
        data("d3", node=a),
        app("copy3", inputs=("d3",), outputs=("d4",), node=c),
        data("d4", node=b),
        app("hello", "HelloWorldApp", outputs=("side",), node=b),
        data("side", node=c),
    ]
    session_id = island.submit(specs, "lossy")
    assert until(lambda: island.drop_detail(session_id, "sleep3").exec_state is AppState.RUNNING)
    assert until(lambda: island.graph_status(session_id)["side"].state is DropState.COMPLETED)
    started = time.monotonic()
    assert island.remove_node(a) == a
    assert island.wait(session_id, 3) is _S.FAILED
    assert time.monotonic() - started < 2.5
    lost = "node localhost:8000 lost"
    for node, uid in [(b, "d1"), (c, "d1"), (c, "d3")]:
        assert transport.client(node).drop_detail(session_id, uid).error == lost
    status = island.graph_status(session_id)
    for uid in ("sleep", "d1", "copy", "d2", "sleep3", "d3", "copy3", "d4"):
        assert status[uid].state is DropState.ERROR, uid
    assert status["side"] == DropStatus(DropState.COMPLETED)
    assert island.session_status(session_id) == {a: _S.FAILED, b: _S.FAILED, c: _S.FAILED}
    assert island.progress(session_id).state is _S.FAILED
    assert island.drop_detail(session_id, "sleep") == DropDetail(
        "sleep", session_id, DropState.ERROR, DetailSource.LOST, node=a, error=lost
    )
    assert island.nodes() == [b, c]


def test_cancel_across_nodes(island: IslandManager, app: Any, data: Any, until: Any) -> None:
    """Cancelling a session running on three nodes cancels it on each of them."""
    a, b, c = island.nodes()
    specs = [
        app("sleep", "SleepApp", outputs=("d1",), node=a, sleep_time=30),
        data("d1", node=b),
        app("copy", inputs=("d1",), outputs=("d2",), node=c),
        data("d2", node=c),
    ]
    session_id = island.submit(specs, "cancelled")
    assert until(lambda: island.drop_detail(session_id, "sleep").exec_state is AppState.RUNNING)
    island.cancel_session(session_id)
    assert island.wait(session_id, 3) is _S.CANCELLED
    assert island.session_status(session_id) == dict.fromkeys((a, b, c), _S.CANCELLED)
    island.cancel_session(session_id)  # idempotent


def test_destroy_forgets_the_session_everywhere(
    island: IslandManager, transport: InProcessTransport, app: Any, data: Any
) -> None:
    """After destroy, neither the island nor any node knows the session."""
    session_id = island.submit(chain(app, data, island.nodes()), "gone")
    assert island.wait(session_id, 5) is _S.FINISHED
    island.destroy_session(session_id)
    for node in island.nodes():
        assert session_id not in transport.client(node).session_ids()
    with pytest.raises(SessionNotFound, match="no session 'gone'"):
        island.state(session_id)
    with pytest.raises(SessionNotFound):
        island.destroy_session(session_id)
    assert island.sessions() == []


def test_deploy_failure_on_one_node_fails_the_session(
    island: IslandManager, transport: InProcessTransport, app: Any, data: Any
) -> None:
    """B cannot build its drops (unknown class): the deploy fails and nothing runs.

    The session is FAILED; the node that had already deployed its part is cancelled.
    """
    a, b, _ = island.nodes()
    island.create_session("s")
    island.append_graph(
        "s",
        [
            app("hello", "HelloWorldApp", outputs=("d",), node=a),
            data("d", node=b),
            app("odd", "no_such_module.OddApp", inputs=("d",), node=b),
        ],
    )
    with pytest.raises(GraphError, match="'odd'"):
        island.deploy_session("s")
    assert island.state("s") is _S.FAILED
    assert transport.client(a).session_status("s") is _S.CANCELLED
    assert transport.client(b).session_status("s") is _S.FAILED
    assert island.graph_status("s")["hello"].state is DropState.CANCELLED


def test_one_node_registered_under_many_spellings_is_used_once(
    island: IslandManager, app: Any, data: Any
) -> None:
    """Re-registering localhost:8000 under other spellings adds no node (daliuge.md 7.1).

    A session spread over all nodes then creates its session once per node manager.
    """
    for spelling in ("localhost", "127.0.0.1", "localhost:8000:5555:6666", "[::1]:8000"):
        assert island.add_node(spelling) == "localhost:8000"
    assert island.nodes() == ["localhost:8000", "localhost:8001", "localhost:8002"]
    session_id = island.submit(chain(app, data, island.nodes()), "once")
    assert island.wait(session_id, 5) is _S.FINISHED
    assert sorted(island.session_status(session_id)) == island.nodes()


def test_remove_unknown_node_lists_known_nodes(island: IslandManager) -> None:
    """Removing a node that is not registered names the nodes that are."""
    with pytest.raises(NodeNotFound, match="known nodes"):
        island.remove_node("localhost:9999")


def test_records_survive_a_new_island_manager(
    tmp_path: Path, app: Any, data: Any, until: Any
) -> None:
    """A finished and a live session are remembered by the next island manager.

    The first manager "dies" with a session still running; the second, over a fresh
    transport and the same records file, lists the finished one as FINISHED and the
    interrupted one as FAILED, and refuses to reuse either id.
    """
    path = tmp_path / "records" / "sessions.sqlite"
    first = IslandManager(
        InProcessTransport(tmp_path / "one", nodes=2, workers=2),
        SessionRecords(path),
        audit_interval=0.5,
    )
    done = first.submit([app("hello", "HelloWorldApp", outputs=("d",)), data("d")], "done")
    assert first.wait(done, 5) is _S.FINISHED
    assert first.wait(done, 0) is _S.FINISHED
    record = first.records.get
    assert until(lambda: getattr(record(done), "state", None) is _S.FINISHED)
    first.submit([app("sleep", "SleepApp", outputs=("d",), sleep_time=30), data("d")], "live")
    first.close()

    second = IslandManager(
        InProcessTransport(tmp_path / "two", nodes=2, workers=2), SessionRecords(path)
    )
    try:
        listed = {s.session_id: s for s in second.sessions()}
        assert set(listed) == {"done", "live"}
        assert set(listed["done"].status.values()) == {_S.FINISHED}
        assert set(listed["live"].status.values()) == {_S.FAILED}
        assert listed["done"].size == 2
        assert second.state("done") is _S.FINISHED
        assert second.state("live") is _S.FAILED
        interrupted = second.records.get("live")
        assert interrupted is not None
        assert interrupted.error == "the island manager stopped while the session was live"
        with pytest.raises(SessionExists, match="already exists"):
            second.create_session("done")
    finally:
        second.close()


@pytest.mark.parametrize(
    ("states", "merged"),
    [
        ([], _S.PRISTINE),
        ([_S.FINISHED, _S.FINISHED], _S.FINISHED),
        ([_S.RUNNING, _S.FINISHED], _S.RUNNING),
        ([_S.DEPLOYING, _S.FAILED], _S.RUNNING),
        ([_S.FINISHED, _S.FAILED, _S.CANCELLED], _S.FAILED),
        ([_S.FINISHED, _S.CANCELLED], _S.CANCELLED),
        ([_S.BUILDING, _S.PRISTINE], _S.PRISTINE),
        ([_S.BUILDING, _S.FINISHED], _S.FINISHED),
    ],
)
def test_merge_states(states: list[SessionState], merged: SessionState) -> None:
    """Running anywhere is running; then FAILED > CANCELLED > FINISHED."""
    assert merge_states(states) is merged


def test_failures_put_root_causes_of_every_node_first() -> None:
    """Merged from the nodes' reports, the failures start with the drops that failed on
    their own, whichever node reported first; each node's own order is kept."""
    session = IslandSession("s")
    session.node_failures["n1"] = [
        ("d1", "producer 'bad' failed"),
        ("x", "1 of 2 inputs in error (input_error_threshold 0%)"),
    ]
    session.node_failures["n2"] = [("bad", "DropExecutionError: boom"), ("lost", "node n3 lost")]
    assert [(f.oid, f.node) for f in session.failures()] == [
        ("bad", "n2"),
        ("lost", "n2"),
        ("d1", "n1"),
        ("x", "n1"),
    ]


BASH_APP = "dlg.apps.bash_shell_app.BashShellApp"


def test_a_session_that_loses_a_node_is_run_again_and_finishes_with_correct_outputs(
    island: IslandManager, transport: InProcessTransport, app: Any, data: Any, until: Any
) -> None:
    """A three-node pipeline (a slow step on A feeds B, whose output C sums) loses A
    mid-run: the island deploys the session again on B and C (a re-run, recomputing A's
    part from the graph's inputs), and it FINISHES with the right result in the same
    session directory; the abandoned attempt's reports change nothing."""
    a, b, c = island.nodes()
    specs = [
        app("slow", BASH_APP, outputs=("n",), node=a, command="sleep 0.6; echo 20"),
        data("n", node=b),
        app("double", BASH_APP, inputs=("n",), outputs=("d",), node=b,
            command="echo $(( {n} * 2 ))"),
        data("d", node=c),
        app("total", BASH_APP, inputs=("d",), outputs=("out",), node=c,
            command="echo $(( {d} + 2 )) > {out}"),
        data("out", node=c, file=True, filepath="total.txt"),
    ]  # fmt: skip
    for spec in specs:
        if spec["categoryType"] == "Application":
            spec["inputs"] = [{u: u} for u in spec.get("inputs", [])]
            spec["outputs"] = [{u: u} for u in spec.get("outputs", [])]
    session_id = island.submit(specs, "rerun")
    assert until(lambda: island.drop_detail(session_id, "slow").exec_state is AppState.RUNNING)
    island.remove_node(a)

    assert island.wait(session_id, 20) is _S.FINISHED, island.progress(session_id)
    progress = island.progress(session_id)
    assert set(progress.nodes) == {b, c}
    assert progress.failures == ()
    assert progress.counts.get("error", 0) == 0
    out = Path(progress.directories[c]) / "total.txt"
    assert out.read_text() == "42\n"
    assert out.parent.name == session_id  # the first attempt's directory, on C
    assert island.graph_status(session_id)["out"].state is DropState.COMPLETED


def test_reruns_are_bounded_then_the_session_fails_with_the_reason(
    island: IslandManager, app: Any, data: Any, until: Any
) -> None:
    """With one re-run allowed, losing a node in the first attempt and another in the
    re-run ends the session FAILED, naming the lost node."""
    island.reruns = 1
    specs = [app("nap", "SleepApp", outputs=("d",), sleep_time=30), data("d")]
    session_id = island.submit(specs, "unlucky")
    first = island.progress(session_id).nodes[0]
    island.remove_node(first)
    assert until(lambda: island.progress(session_id).nodes not in ((), (first,)))
    second = island.progress(session_id).nodes[0]
    assert second != first
    assert until(lambda: island.drop_detail(session_id, "nap").exec_state is AppState.RUNNING)
    island.remove_node(second)

    assert island.wait(session_id, 10) is _S.FAILED
    failures = island.progress(session_id).failures
    assert any(f"node {second} lost" in f.error for f in failures), failures
