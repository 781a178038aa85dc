"""The Ray transport on a real three-node Ray cluster (``ray.cluster_utils.Cluster``).

One cluster (head + two workers, one CPU each) serves the whole module; each test
builds its own :class:`RayTransport` and :class:`IslandManager`, which adopt the NM
actors the previous test left (they are detached). Tests that add a node remove it
again, so every test starts from the same three nodes.
"""

from __future__ import annotations

import json
import pickle
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ray")

from liuray.engine.states import DropState, SessionState
from liuray.errors import NodeNotFound
from liuray.managers.island import IslandManager
from liuray.managers.membership import NodeState
from liuray.managers.records import SessionRecords
from liuray.managers.reports import DetailSource
from liuray.transports.ray import RayTransport, actor_name
from ray_support import (
    FILE,
    MEMORY,
    alive_node_ids,
    copy_pair,
    fan_out_graph,
    local_cluster,
    nm_exists,
    ping,
    ray,
    sleep_pair,
    wait_until,
)

pytestmark = pytest.mark.ray

Cluster = Any  # ray.cluster_utils.Cluster, untyped


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with local_cluster(workers=2) as started:
        yield started


@pytest.fixture(scope="module")
def nm_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where NM actors keep session files (they outlive single tests)."""
    return tmp_path_factory.mktemp("ray-nodes")


def head_id(cluster: Cluster) -> str:
    return str(cluster.head_node.node_id)


def worker_ids(cluster: Cluster) -> list[str]:
    return sorted(str(node.node_id) for node in cluster.worker_nodes)


def start_island(
    cluster: Cluster, root: Path, idle_release: float | None = None, **kwargs: Any
) -> IslandManager:
    """A transport + island manager, returned once every alive node has an NM."""
    transport = RayTransport(address=cluster.address, root=root, idle_release=idle_release)
    island = IslandManager(transport, **kwargs)
    wait_until(lambda: set(island.nodes()) == alive_node_ids(), 30, "a node manager on every node")
    return island


@pytest.fixture
def island(cluster: Cluster, nm_root: Path) -> Iterator[IslandManager]:
    started = start_island(cluster, nm_root)
    yield started
    started.close()


def reports(directory: Path, count: int) -> list[dict[str, Any]]:
    """The pickled reports the fan-out graph's consumers wrote."""
    return [pickle.loads((directory / f"report{i}.pkl").read_bytes()) for i in range(count)]


def expected_values(scale: float) -> list[float]:
    return [i * 1.5 * scale for i in range(8)]


# ---------------------------------------------------------------- membership


def test_every_alive_node_gets_a_node_manager_running_on_it(
    cluster: Cluster, island: IslandManager
) -> None:
    """node_names are exactly Ray's alive node ids, and each NM actor runs on its node."""
    nodes = island.nodes()

    assert set(nodes) == alive_node_ids() == {head_id(cluster), *worker_ids(cluster)}
    for node in nodes:
        assert ping(node)["node_id"] == node


def measure_join(cluster: Cluster, island: IslandManager) -> float:
    """Add a node; return seconds from Ray listing it alive to the transport listing it.

    A poller notes when ``ray.nodes()`` first reports the new node alive and when the
    transport first lists it (its NM answered). The node is removed again afterwards.
    """
    transport = island.transport
    before = alive_node_ids()
    seen: dict[str, float] = {}
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            new = alive_node_ids() - before
            now = time.monotonic()
            if new and "alive" not in seen:
                seen["alive"] = now
            if new and set(transport.node_names()) & new and "listed" not in seen:
                seen["listed"] = now
            time.sleep(0.02)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    node = cluster.add_node(num_cpus=1)
    try:
        wait_until(lambda: "listed" in seen, 30, "the new node in node_names()")
        assert node.node_id in island.nodes()
        assert ping(node.node_id)["node_id"] == node.node_id
    finally:
        done.set()
        poller.join()
        cluster.remove_node(node)
    return seen["listed"] - seen["alive"]


def test_a_node_that_joins_gets_its_node_manager_within_a_second(
    cluster: Cluster, island: IslandManager, record_property: Any
) -> None:
    """A node added to the running cluster is usable through liuray within 1 s.

    Starting the NM's worker process alone takes ~0.6 s on two cores, and other Ray
    clusters may share the machine, so a slow join gets another try: the best of (at
    most) three joins must be within a second. Every figure is printed.
    """
    latencies = [measure_join(cluster, island)]
    while min(latencies) > 1.0 and len(latencies) < 3:
        latencies.append(measure_join(cluster, island))

    record_property("join_latency_s", [round(x, 3) for x in latencies])
    print(f"\njoin latency (Ray alive -> NM listed): {', '.join(f'{x:.3f} s' for x in latencies)}")
    assert min(latencies) <= 1.0, f"NM listed {latencies} s after Ray reported the node alive"


def test_without_reruns_a_lost_node_leaves_and_its_session_fails_cleanly(
    cluster: Cluster, island: IslandManager
) -> None:
    """A node dies mid-session: it leaves node_names and the session ends FAILED.

    A 30 s SleepApp on the doomed node feeds a CopyApp on the head. When the node is
    removed, the head's copy of the sleeper's output becomes ERROR "node <id> lost" and
    the session fails at once instead of hanging.
    """
    island.reruns = 0  # the behaviour without re-runs (re-runs: the next test)
    victim = cluster.add_node(num_cpus=1)
    doomed = str(victim.node_id)
    head = head_id(cluster)
    wait_until(lambda: doomed in island.nodes(), 30, "the victim's NM")
    specs = [*sleep_pair("s", doomed, 30), *copy_pair("s-out", head)]
    session = island.submit(specs, "lost-node")
    assert island.state(session) is SessionState.RUNNING

    removed = time.monotonic()
    cluster.remove_node(victim)
    gone_after = wait_until(lambda: doomed not in island.nodes(), 5, "the node to leave")
    state = island.wait(session, timeout=10)
    failed_after = time.monotonic() - removed

    assert state is SessionState.FAILED
    assert failed_after < 5, f"session took {failed_after:.1f} s to fail"
    assert gone_after < 2
    mirror = island.transport.client(head).drop_detail(session, "s-out")
    assert mirror.state is DropState.ERROR
    assert mirror.error == f"node {doomed} lost"
    progress = island.progress(session)
    assert progress.state is SessionState.FAILED
    assert {f.oid for f in progress.failures} == {"copy", "copied", "s-sleep", "s-out"}
    assert progress.failures[0].error == f"node {doomed} lost"  # the root cause first


PRODUCE_SLOWLY = """def produce(i, log, hold):
    import os, time
    with open(log, "a") as out:
        out.write(f"p{i}\\n")
    while i == 3 and not os.path.exists(hold):  # p3 runs until the test lets it go
        time.sleep(0.05)
    return 10 * i
"""


def test_a_crashed_worker_node_is_survived_by_rerunning_its_session(
    cluster: Cluster, island: IslandManager, tmp_path: Path
) -> None:
    """Four worker nodes each compute a value that the head adds up; one worker crashes
    mid-session (its processes killed, no graceful drain) while p3 runs there, after the
    other three finished: the re-run keeps their values (they do not run again), runs
    p3 again on a node left, and the session finishes with the right sum, 0+10+20+30."""
    log, hold = tmp_path / "runs.log", tmp_path / "go"
    extra = [cluster.add_node(num_cpus=1) for _ in range(2)]
    try:
        victim = extra[-1]
        doomed = str(victim.node_id)
        others = [str(n.node_id) for n in cluster.worker_nodes if n is not victim]
        workers = [*others[-3:], doomed]  # p3, which runs until let go, on the victim
        head = head_id(cluster)
        wait_until(lambda: set(workers) <= set(island.nodes()), 30, "four worker NMs")
        specs: list[dict[str, Any]] = []
        for i, node in enumerate(workers):
            specs += [
                {"oid": f"p{i}", "categoryType": "Application",
                 "dropclass": "dlg.apps.pyfunc.PyFuncApp", "func_code": PRODUCE_SLOWLY,
                 "func_name": "produce", "i": i, "log": str(log), "hold": str(hold),
                 "outputs": [{f"v{i}": f"v{i}"}], "node": node},
                {"oid": f"v{i}", "categoryType": "Data", "dropclass": MEMORY, "node": node},
            ]  # fmt: skip
        specs += [
            {"oid": "sum", "categoryType": "Application",
             "dropclass": "dlg.apps.bash_shell_app.BashShellApp",
             "command": "echo $(( {v0} + {v1} + {v2} + {v3} )) > {total}",
             "inputs": [{f"v{i}": f"v{i}"} for i in range(4)],
             "outputs": [{"total": "total"}], "node": head},
            {"oid": "total", "categoryType": "Data", "dropclass": FILE,
             "filepath": "total.txt", "node": head},
        ]  # fmt: skip
        session = island.submit(specs, "crash-rerun")
        done = [f"v{i}" for i in range(3)]
        wait_until(lambda: "p3" in ran(log), 30, "p3 to start")
        wait_until(
            lambda: all(island.graph_status(session)[v].state is DropState.COMPLETED for v in done),
            30,
            "p0, p1 and p2 to finish",
        )
        cluster.remove_node(victim, allow_graceful=False)
        wait_until(lambda: doomed not in island.progress(session).nodes, 60, "the re-run")
        hold.touch()  # p3, run again elsewhere, goes on

        assert island.wait(session, timeout=60) is SessionState.FINISHED, island.progress(session)
        progress = island.progress(session)
        assert doomed not in progress.nodes
        assert progress.failures == ()
        assert (Path(progress.directories[head]) / "total.txt").read_text() == "60\n"
        assert sorted(ran(log)) == ["p0", "p1", "p2", "p3", "p3"]  # kept work not run again
    finally:
        for node in extra:
            if node in cluster.worker_nodes:
                cluster.remove_node(node)


def ran(log: Path) -> list[str]:
    """The apps that logged a run in ``log``."""
    return log.read_text().split() if log.exists() else []


# ---------------------------------------------------------------- sessions


def test_partitions_on_three_nodes_pass_numpy_data_across_nodes(
    cluster: Cluster, island: IslandManager, tmp_path: Path
) -> None:
    """An array made on one worker is used on the other worker and on the head.

    The consumers report the node that made the array and the node they ran on (from
    Ray itself), the type they received and the scaled values.
    """
    first, second = worker_ids(cluster)
    head = head_id(cluster)
    specs = fan_out_graph(tmp_path, first, [second, head], [2.0, -1.0])

    session = island.submit(specs, "numpy-fan-out")

    assert island.wait(session, timeout=30) is SessionState.FINISHED
    assert set(island.session_status(session)) == {first, second, head}
    made = reports(tmp_path, 2)
    assert [r["made_on"] for r in made] == [first, first]
    assert [r["used_on"] for r in made] == [second, head]
    assert {r["type"] for r in made} == {"numpy.ndarray"}
    assert made[0]["value"] == expected_values(2.0)
    assert made[1]["value"] == expected_values(-1.0)


def test_sessions_back_to_back_reuse_the_same_node_managers(
    cluster: Cluster, island: IslandManager, tmp_path: Path
) -> None:
    """Two sessions one after the other run on the same NM actors (same pids)."""
    first, second = worker_ids(cluster)
    pids = {node: ping(node)["pid"] for node in island.nodes()}

    for run, scale in enumerate([3.0, 4.0]):
        directory = tmp_path / f"run{run}"
        directory.mkdir()
        specs = fan_out_graph(directory, second, [first, head_id(cluster)], [scale, scale])
        session = island.submit(specs, f"back-to-back-{run}")
        assert island.wait(session, timeout=30) is SessionState.FINISHED
        assert [r["value"] for r in reports(directory, 2)] == [expected_values(scale)] * 2

    assert {node: ping(node)["pid"] for node in island.nodes()} == pids


def test_data_reaches_a_node_manager_that_was_restarted_in_between(
    cluster: Cluster, island: IslandManager, tmp_path: Path
) -> None:
    """A sends data to B; B's NM is replaced (restart, or an idle release and wake);
    A's next delivery must reach the new NM, not the dead actor A talked to before."""
    first, second = worker_ids(cluster)
    for run in range(2):
        directory = tmp_path / f"run{run}"
        directory.mkdir()
        specs = fan_out_graph(directory, second, [first], [2.0])
        session = island.submit(specs, f"restart-between-{run}")
        assert island.wait(session, timeout=30) is SessionState.FINISHED
        assert [r["value"] for r in reports(directory, 1)] == [expected_values(2.0)]
        island.restart_node(first)


def test_concurrent_sessions_share_the_node_managers(
    cluster: Cluster, island: IslandManager, tmp_path: Path
) -> None:
    """Two sessions submitted at once from two threads both run and finish right.

    Each also holds a different worker busy for a second, so both are RUNNING at the
    same time on the same NMs.
    """
    first, second = worker_ids(cluster)
    head = head_id(cluster)
    plans = {
        "together-a": (5.0, first, [second, head], second),
        "together-b": (6.0, second, [head, first], first),
    }
    errors: list[BaseException] = []

    def submit(session: str) -> None:
        scale, producer, consumers, sleeper = plans[session]
        directory = tmp_path / session
        directory.mkdir()
        specs = fan_out_graph(directory, producer, consumers, [scale, scale])
        specs += sleep_pair(session, sleeper, 1.0)
        try:
            island.submit(specs, session)
        except BaseException as err:  # reported below, in the test's thread
            errors.append(err)

    threads = [threading.Thread(target=submit, args=(s,)) for s in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert [island.state(s) for s in plans] == [SessionState.RUNNING] * 2
    finals = [island.wait(s, timeout=30) for s in plans]
    assert finals == [SessionState.FINISHED] * 2, [
        (island.progress(s).counts, island.progress(s).failures) for s in plans
    ]
    for session, (scale, *_) in plans.items():
        assert [r["value"] for r in reports(tmp_path / session, 2)] == [expected_values(scale)] * 2


# ---------------------------------------------------------------- node commands


def test_adding_one_node_by_five_spellings_gives_one_node_and_one_actor(
    cluster: Cluster, island: IslandManager
) -> None:
    """POST /api/node with the id, an id prefix, the IP, localhost and 127.0.0.1.

    All name the head (every node here shares the IP; the head wins), and the NM actor
    is neither duplicated nor replaced.
    """
    head = head_id(cluster)
    before = island.nodes()
    pid = ping(head)["pid"]
    spellings = [head, head[:12], cluster.head_node.node_ip_address, "localhost", "127.0.0.1"]

    names = [island.add_node(spelling) for spelling in spellings]

    assert names == [head] * 5
    assert island.nodes() == before
    assert ping(head)["pid"] == pid
    named = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)]
    assert named.count(actor_name(head)) == 1


def test_removing_a_node_drains_it_and_adding_it_brings_it_back(
    cluster: Cluster, island: IslandManager, tmp_path: Path
) -> None:
    """DELETE /api/node stops the NM and fails the node's session; POST restarts it.

    The session sleeps on the drained worker and copies the result on the head, so it
    can end only because the head is told its input will never come.
    """
    island.reruns = 0  # a drain without re-runs (they are tested above)
    worker = worker_ids(cluster)[0]
    head = head_id(cluster)
    specs = [*sleep_pair("long", worker, 30), *copy_pair("long-out", head)]
    session = island.submit(specs, "drained")

    assert island.remove_node(worker[:16]) == worker

    assert worker not in island.nodes()
    assert not nm_exists(worker)
    assert island.wait(session, timeout=10) is SessionState.FAILED
    with pytest.raises(NodeNotFound):
        island.remove_node(worker)

    assert island.add_node(worker) == worker

    assert worker in island.nodes()
    assert ping(worker)["node_id"] == worker
    again = island.submit(sleep_pair("short", worker, 0.1), "undrained")
    assert island.wait(again, timeout=30) is SessionState.FINISHED


def test_restarting_a_node_gives_a_new_node_manager(
    cluster: Cluster, island: IslandManager
) -> None:
    """restart_node replaces the NM actor (new pid) on the same node, ready for work."""
    worker = worker_ids(cluster)[1]
    old = ping(worker)["pid"]

    assert island.restart_node(worker) == worker

    fresh = ping(worker)
    assert fresh["pid"] != old
    assert fresh["node_id"] == worker
    session = island.submit(sleep_pair("after", worker, 0.1), "after-restart")
    assert island.wait(session, timeout=30) is SessionState.FINISHED


def test_a_restarted_island_manager_adopts_the_node_managers(
    cluster: Cluster, nm_root: Path, tmp_path: Path
) -> None:
    """The DIM stops and starts again: same NM actors, and past sessions are remembered.

    The NM actors are detached, so they outlive the first island manager; the second
    finds them by name instead of starting new ones, and its SessionRecords (same file)
    still report the first one's session as FINISHED.
    """
    path = tmp_path / "sessions.sqlite"
    first = start_island(cluster, nm_root, records=SessionRecords(path))
    session = first.submit(sleep_pair("once", worker_ids(cluster)[0], 0.1), "before-restart")
    assert first.wait(session, timeout=30) is SessionState.FINISHED
    pids = {node: ping(node)["pid"] for node in first.nodes()}
    first.close()

    second = start_island(cluster, nm_root, records=SessionRecords(path))
    try:
        assert {node: ping(node)["pid"] for node in second.nodes()} == pids
        assert second.state(session) is SessionState.FINISHED
        listed = {s.session_id: s for s in second.sessions()}
        assert set(listed[session].status.values()) == {SessionState.FINISHED}
    finally:
        second.close()


def test_an_idle_worker_node_manager_is_released_and_woken_by_a_session(
    cluster: Cluster, nm_root: Path
) -> None:
    """With idle_release=1 s, an idle worker's NM actor is killed; a session revives it.

    Releasing lets the autoscaler remove the node (an actor pinned there would keep it
    up). The node stays listed; deploying a session there starts a new NM and runs.
    The head's NM is never released.
    """
    island = start_island(cluster, nm_root, idle_release=1.0)
    reconciler = island.transport.reconciler  # type: ignore[attr-defined]
    worker = worker_ids(cluster)[0]
    try:
        took = wait_until(
            lambda: reconciler.nodes[worker].state is NodeState.RELEASED, 10, "the release"
        )
        wait_until(lambda: not nm_exists(worker), 5, "the NM actor to go")
        assert took < 5
        assert worker in island.nodes()
        assert nm_exists(head_id(cluster))

        session = island.submit(sleep_pair("wake", worker, 0.5), "woken")

        assert reconciler.nodes[worker].state is NodeState.READY
        assert island.wait(session, timeout=30) is SessionState.FINISHED
        wait_until(
            lambda: reconciler.nodes[worker].state is NodeState.RELEASED, 10, "a second release"
        )
        # Reading the finished session answers from what was kept at its end, without
        # restarting the released NM (which would keep the node from scaling down).
        assert island.progress(session).counts == {"finished": 1, "completed": 1}
        assert set(island.graph_status(session)) == {"wake-sleep", "wake-out"}
        kept = island.drop_detail(session, "wake-sleep")
        assert (kept.state, kept.source) == (DropState.COMPLETED, DetailSource.REPORTED)
        assert reconciler.nodes[worker].state is NodeState.RELEASED
        assert not nm_exists(worker)
    finally:
        island.close()


def test_a_restarted_island_manager_readopts_a_running_session(
    cluster: Cluster, nm_root: Path, tmp_path: Path
) -> None:
    """The DIM dies while a session runs on a worker: the new DIM finds the session on
    the surviving NM actor, watches it again, and records it FINISHED (not FAILED)."""
    path = tmp_path / "sessions.sqlite"
    first = start_island(cluster, nm_root, records=SessionRecords(path))
    session = first.submit(sleep_pair("long", worker_ids(cluster)[0], 3.0), "across-restart")
    first.close()

    second = start_island(cluster, nm_root, records=SessionRecords(path))
    try:
        assert second.state(session) is SessionState.RUNNING
        assert second.wait(session, timeout=30) is SessionState.FINISHED
        wait_until(
            lambda: SessionRecords(path).get(session).state is SessionState.FINISHED,  # type: ignore[union-attr]
            5,
            "the record of the end",
        )
    finally:
        second.close()


def test_python_apps_can_run_as_ray_tasks_with_their_resources(
    cluster: Cluster, nm_root: Path, tmp_path: Path
) -> None:
    """With app_tasks, a PyFuncApp runs as a Ray task (in a Ray worker, not in its NM's
    process); an app asking for a resource no node has stays pending, so Ray sees the
    demand, until the session is cancelled, which cancels the task too. A later island
    manager without app_tasks re-configures the adopted NMs."""
    marker = tmp_path / "pid.txt"
    code = (
        "def where():\n"
        "    import os\n"
        f"    open({str(marker)!r}, 'w').write(str(os.getpid()))\n"
        "    return os.getpid()\n"
    )
    node = worker_ids(cluster)[0]
    island = IslandManager(RayTransport(address=cluster.address, root=nm_root, app_tasks=True))
    try:
        wait_until(lambda: node in island.nodes(), 30, "the worker's NM")
        graph: list[dict[str, Any]] = [
            {
                "oid": "where",
                "categoryType": "Application",
                "dropclass": "dlg.apps.pyfunc.PyFuncApp",
                "func_code": code,
                "num_cpus": 1,
                "outputs": ["pid"],
                "node": node,
            },
            {
                "oid": "pid",
                "categoryType": "Data",
                "dropclass": "dlg.data.drops.memory.InMemoryDROP",
                "node": node,
            },
        ]
        session = island.submit(graph, "as-task")
        assert island.wait(session, timeout=60) is SessionState.FINISHED
        assert int(marker.read_text()) != ping(node)["pid"]

        greedy = [
            dict(graph[0], oid="greedy", resources={"unobtainium": 1}, outputs=["never"]),
            dict(graph[1], oid="never"),
        ]
        pending = island.submit(greedy, "needs-unobtainium")
        time.sleep(1.0)
        assert island.state(pending) is SessionState.RUNNING
        island.cancel_session(pending)
        assert island.wait(pending, timeout=30) is SessionState.CANCELLED
    finally:
        island.close()

    plain = start_island(cluster, nm_root)  # adopts the same NMs, now without Ray tasks
    try:
        marker.unlink()
        session = plain.submit(graph, "in-the-nm")
        assert plain.wait(session, timeout=60) is SessionState.FINISHED
        assert int(marker.read_text()) == ping(node)["pid"]
    finally:
        plain.close()


def test_the_example_pipeline_runs_on_ray_with_its_code_shipped(
    cluster: Cluster, nm_root: Path
) -> None:
    """`liuray serve --ray --code-path examples/channel_average`: Ray uploads the
    example's functions to every node (runtime_env working_dir), the island manager
    spreads the channel apps over the nodes, and the pipeline finishes with its
    spectrum written."""
    example = Path(__file__).resolve().parents[2] / "examples" / "channel_average"
    # Without its "localhost" node fields (on Ray: the head), liuray places the drops.
    graph = [
        {k: v for k, v in spec.items() if k not in ("node", "island")}
        for spec in json.loads((example / "graph.json").read_text())
    ]
    ray.shutdown()  # the island manager must make the connection: Ray ships code per job
    island = IslandManager(RayTransport(address=cluster.address, root=nm_root, code_path=example))
    try:
        wait_until(lambda: set(island.nodes()) == alive_node_ids(), 30, "every NM")
        for node in island.nodes():  # adopted NMs keep their old runtime_env
            island.restart_node(node)
        session = island.submit(graph, "example-on-ray")
        assert island.wait(session, timeout=120) is SessionState.FINISHED, island.progress(
            session
        ).failures
        assert len(set(island.progress(session).nodes)) > 1
        assert list(nm_root.glob(f"*/{session}/spectrum.npy"))
    finally:
        for node in island.nodes():  # leave plain NMs for whoever comes next
            island.transport.restart_node(node)  # type: ignore[attr-defined]
        island.close()
        ray.shutdown()
        ray.init(
            address=cluster.address,
            namespace="liuray",
            log_to_driver=False,
            configure_logging=False,
        )


def test_a_node_manager_says_which_shared_files_it_can_read(
    island: IslandManager, cluster: Cluster, tmp_path: Path
) -> None:
    """A re-run asks the nodes left which of a lost node's files on shared storage they
    can read (absolute paths only): through the NM actor on a worker node."""
    present = tmp_path / "f.txt"
    present.write_text("x")
    client = island.transport.client(worker_ids(cluster)[0])
    paths = [str(present), str(tmp_path / "absent.txt"), "f.txt", str(tmp_path)]
    assert client.files_present(paths) == [str(present)]
