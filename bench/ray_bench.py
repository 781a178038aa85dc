"""liuray on Ray: join latency, cross-node data throughput and parallel scaling.

Each subcommand builds its own ``ray.cluster_utils.Cluster`` on this machine (a private
``RAY_TMPDIR``, no dashboard, usage stats off), runs liuray's :class:`RayTransport` and
:class:`IslandManager` on it, measures, and tears everything down (``ray.shutdown()``
then ``Cluster.shutdown()``; never ``ray stop``), then checks that no process of its own
cluster is left. Plain Ray is measured on the same cluster in the same run, so ratios
are meaningful even on a loaded machine.

    python bench/ray_bench.py join [--repeat 5]
    python bench/ray_bench.py data [--mb 1024] [--store-gb 3] [--repeat 3]
    python bench/ray_bench.py scaling [--nodes 1 2 4 8] [--waves 4] [--repeat 3]
    python bench/ray_bench.py chain [--apps 500] [--repeat 5]

Every measurement is one JSON line on stdout; a short human summary goes to stderr.

* ``join``: head + 1 worker; a node is added ``--repeat`` times (and removed again in
  between). Per join: (a) Ray reports the node alive (``ray.nodes()`` polled every
  10 ms) -> the node is listed by ``transport.node_names()``; (b) alive -> a one-app
  session pinned to the node is FINISHED. Target: (b) <= 1 s.
* ``data``: head + nodes A and B. liuray: a PyFuncApp on A makes ``np.ones(N, uint8)``
  into a memory drop on A; a PyFuncApp on B sums it into a memory drop on B. Transfer =
  consumer ``started_at`` - producer ``finished_at`` (``drop_detail``), which covers
  the NM's ``ray.put``, the object pull to B and the delivery. The same graph with both
  apps on A is run as a control. Plain Ray: an actor on A ``ray.put``s the same array,
  a task pinned on B times ``ray.get`` of the ref and sums it. Target: liuray >= 50% of
  the ``ray.get`` throughput.
* ``scaling``: head (0 CPUs) + k nodes of ``--cpus-per-node`` CPUs; ``waves * k *
  cpus`` independent pure-Python CPU-bound apps (each ~``--task-s`` s alone), pinned
  round-robin; the same functions as plain Ray tasks on the same cluster. Node counts
  needing more CPUs than the machine has are skipped (``--force`` runs them anyway).
* ``chain``: head + 1 worker (1 CPU each). liuray: ``--apps`` apps (a HelloWorldApp,
  then CopyApps, a memory drop after each) alternating between the two nodes, so every
  hop crosses nodes; timed from ``deploy_session`` to the session's end as the island
  manager learns it (pushed by the NMs, no polling), and first app started -> last app
  finished (``drop_detail``). Plain Ray: as many tasks alternating between the same two
  nodes (``NodeAffinitySchedulingStrategy``), each taking the previous one's result,
  timed from the first ``.remote()`` to ``ray.get`` of the last. Target: liuray / Ray
  <= 1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import ray
from ray.cluster_utils import Cluster
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from liuray.engine.states import SessionState
from liuray.managers.island import IslandManager
from liuray.transports.ray import NAMESPACE, RayTransport

PYFUNC = "dlg.apps.pyfunc.PyFuncApp"
COPY = "dlg.apps.simple.CopyApp"
MEMORY = "dlg.data.drops.memory.InMemoryDROP"
HELLO = "dlg.apps.simple.HelloWorldApp"
MB = 1024 * 1024


# ---------------------------------------------------------------- cluster life


def emit(record: dict[str, Any]) -> None:
    """One measurement as a JSON line on stdout."""
    record.setdefault("load1", round(os.getloadavg()[0], 2))
    print(json.dumps(record), flush=True)


def say(text: str) -> None:
    """A line for the human summary (stderr)."""
    print(text, file=sys.stderr, flush=True)


def own_processes(tmp: Path) -> list[int]:
    """Pids of live processes whose command line names our RAY_TMPDIR (ours, surely)."""
    mark = str(tmp).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if mark in cmdline:
            found.append(int(entry.name))
    return found


@contextmanager
def ray_cluster(
    head: dict[str, Any], workers: list[dict[str, Any]]
) -> Iterator[tuple[Cluster, list[Any]]]:
    """A Cluster (head + worker nodes) in a private RAY_TMPDIR; the driver connected.

    Teardown: ray.shutdown(), Cluster.shutdown(), then any process still naming the temp
    dir is reported and killed by pid.
    """
    tmp = Path(tempfile.mkdtemp(prefix="lrb", dir="/tmp"))
    os.environ["RAY_TMPDIR"] = str(tmp)
    cluster = None
    try:
        cluster = Cluster(initialize_head=True, head_node_args={"include_dashboard": False, **head})
        nodes = [cluster.add_node(**args) for args in workers]
        cluster.wait_for_nodes()
        ray.init(
            address=cluster.address,
            namespace=NAMESPACE,
            log_to_driver=False,
            configure_logging=False,
        )
        yield cluster, nodes
    finally:
        ray.shutdown()
        if cluster is not None:
            cluster.shutdown()
        left = []
        for _ in range(50):  # Cluster.shutdown() may return before the last exit
            left = own_processes(tmp)
            if not left:
                break
            time.sleep(0.1)
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        say(
            f"# teardown: {len(left)} leftover process(es) of this cluster"
            + (f" killed: {left}" if left else "")
        )
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def liuray_on(cluster: Cluster, workers: int | None, want: int) -> Iterator[IslandManager]:
    """A RayTransport (interval 0.2 s, no idle release) and an IslandManager, with
    ``want`` NMs ready."""
    root = Path(tempfile.mkdtemp(prefix="liuray-raybench-"))
    transport = RayTransport(
        address=cluster.address, root=root, workers=workers, interval=0.2, idle_release=None
    )
    dim = IslandManager(transport)
    try:
        wait_for(lambda: len(dim.nodes()) >= want, 60, f"{want} node managers")
        yield dim
    finally:
        dim.close()
        transport.close()
        shutil.rmtree(root, ignore_errors=True)


def wait_for(check: Callable[[], bool], timeout: float, what: str, step: float = 0.01) -> float:
    """Poll until ``check()``; the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)
    return time.monotonic()


def alive_ids() -> set[str]:
    """Ray's alive node ids, as the driver sees them now."""
    return {n["NodeID"] for n in ray.nodes() if n.get("Alive")}


def run_session(dim: IslandManager, specs: list[dict[str, Any]], sid: str) -> float:
    """Submit, wait for the end (pushed by the NMs: nothing polls); the wall seconds.

    Raises unless the session FINISHED.
    """
    start = time.perf_counter()
    dim.submit(specs, sid)
    state = dim.wait(sid, timeout=600)
    wall = time.perf_counter() - start
    if state is not SessionState.FINISHED:
        raise SystemExit(f"session {sid} ended {state}: {dim.progress(sid)}")
    return wall


def app_times(dim: IslandManager, sid: str, uid: str) -> tuple[float, float]:
    """When an app of a finished session started and finished (epoch seconds)."""
    detail = dim.drop_detail(sid, uid)
    if detail.started_at is None or detail.finished_at is None:
        raise SystemExit(f"app {uid} of session {sid} has no timings: {detail}")
    return detail.started_at, detail.finished_at


def summary(values: list[float]) -> dict[str, float]:
    """Median, min and max, rounded."""
    return {
        "median": round(statistics.median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
    }


# ---------------------------------------------------------------- join


def watch_join(dim: IslandManager, before: set[str], sid: str, found: dict[str, Any]) -> None:
    """Poll every 10 ms for a new alive node; then for its NM; then run a pinned session.

    Runs in a thread while ``Cluster.add_node`` (which blocks until the node is up) runs
    in the main one, so the moment Ray reports the node alive is seen within ~10 ms.
    """
    transport = dim.transport
    new: set[str] = set()

    def appeared() -> bool:
        new.update(alive_ids() - before)
        return bool(new)

    t_alive = wait_for(appeared, 60, "the new node alive in ray.nodes()")
    (node_id,) = new
    t_listed = wait_for(lambda: node_id in transport.node_names(), 60, "the NM")
    specs: list[dict[str, Any]] = [
        {
            "oid": "hello",
            "categoryType": "Application",
            "dropclass": HELLO,
            "outputs": ["greeting"],
            "node": node_id,
        },
        {"oid": "greeting", "categoryType": "Data", "dropclass": MEMORY, "node": node_id},
    ]
    session_s = run_session(dim, specs, sid)
    t_done = time.monotonic()
    found |= {
        "node": node_id,
        "t_alive": t_alive,
        "alive_to_listed_s": round(t_listed - t_alive, 4),
        "alive_to_finished_s": round(t_done - t_alive, 4),
        "session_s": round(session_s, 4),
    }


def bench_join(args: argparse.Namespace) -> None:
    """Node joins: alive -> listed -> a pinned one-app session FINISHED."""
    head = {"num_cpus": 1}
    with ray_cluster(head, [{"num_cpus": 1}]) as (cluster, _), liuray_on(cluster, None, 2) as dim:
        transport = dim.transport
        listed_s, ready_s = [], []
        for i in range(args.repeat):
            found: dict[str, Any] = {}
            watcher = threading.Thread(
                target=watch_join, args=(dim, alive_ids(), f"join{i}", found), daemon=True
            )
            watcher.start()
            t_add = time.monotonic()
            node = cluster.add_node(num_cpus=1)
            add_s = time.monotonic() - t_add
            watcher.join(120)
            if not found:
                raise SystemExit("the join watcher failed (see above)")
            node_id = found["node"]
            emit(
                {
                    "bench": "join",
                    "run": i,
                    "node": node_id,
                    "add_node_call_s": round(add_s, 4),
                    "add_to_alive_s": round(found.pop("t_alive") - t_add, 4),
                    **found,
                }
            )
            listed_s.append(found["alive_to_listed_s"])
            ready_s.append(found["alive_to_finished_s"])
            dim.destroy_session(f"join{i}")
            cluster.remove_node(node)
            gone = node_id
            wait_for(lambda: gone not in transport.node_names(), 60, "its removal", 0.05)  # noqa: B023
        listed, ready = summary(listed_s), summary(ready_s)
        emit(
            {
                "bench": "join",
                "summary": True,
                "alive_to_listed_s": listed,
                "alive_to_finished_s": ready,
                "target_s": 1.0,
            }
        )
        say(
            f"join ({args.repeat} joins): alive -> listed median {listed['median']:.3f} s "
            f"(max {listed['max']:.3f}); alive -> pinned session FINISHED median "
            f"{ready['median']:.3f} s (max {ready['max']:.3f}); target <= 1 s: "
            f"{'met' if ready['max'] <= 1.0 else 'NOT met'}"
        )


# ---------------------------------------------------------------- data

PRODUCE = """
def produce(n):
    import numpy as np
    return np.ones(n, dtype=np.uint8)
"""

CONSUME = """
def consume(array, n):
    import numpy as np
    total = int(array.sum(dtype=np.uint64))
    if total != n:
        raise ValueError(f"sum {total} != {n}")
    return total
"""


def data_graph(n: int, producer: str, consumer: str) -> list[dict[str, Any]]:
    """np.ones(n) made on ``producer``, summed on ``consumer``."""
    return [
        {
            "oid": "produce",
            "categoryType": "Application",
            "dropclass": PYFUNC,
            "func_code": PRODUCE,
            "n": n,
            "outputs": ["array"],
            "node": producer,
        },
        {"oid": "array", "categoryType": "Data", "dropclass": MEMORY, "node": producer},
        {
            "oid": "consume",
            "categoryType": "Application",
            "dropclass": PYFUNC,
            "func_code": CONSUME,
            "n": n,
            "inputs": ["array"],
            "outputs": ["total"],
            "node": consumer,
        },
        {"oid": "total", "categoryType": "Data", "dropclass": MEMORY, "node": consumer},
    ]


class Maker:
    """Holds plain-Ray objects made on its node (it owns them)."""

    def make(self, n: int) -> tuple[list[Any], float]:
        import numpy as np

        array = np.ones(n, dtype=np.uint8)
        start = time.perf_counter()
        ref = ray.put(array)
        return [ref], time.perf_counter() - start


def fetch_and_sum(refs: list[Any], n: int) -> tuple[float, int]:
    """Time ray.get of a ref made elsewhere; sum it."""
    import numpy as np

    start = time.perf_counter()
    array = ray.get(refs[0])
    seconds = time.perf_counter() - start
    total = int(array.sum(dtype=np.uint64))
    if total != n:
        raise ValueError(f"sum {total} != {n}")
    return seconds, total


# Ray's decorators are untyped, so the remote versions are Any.
RemoteMaker: Any = ray.remote(num_cpus=0)(Maker)
remote_fetch_and_sum: Any = ray.remote(num_cpus=0)(fetch_and_sum)


def liuray_transfer(dim: IslandManager, n: int, a: str, b: str, sid: str) -> dict[str, float]:
    """One liuray run of the data graph; wall time and the producer -> consumer gap."""
    wall = run_session(dim, data_graph(n, a, b), sid)
    produce_start, produce_end = app_times(dim, sid, "produce")
    consume_start, consume_end = app_times(dim, sid, "consume")
    dim.destroy_session(sid)
    return {
        "wall_s": wall,
        "gap_s": consume_start - produce_end,
        "produce_s": produce_end - produce_start,
        "consume_s": consume_end - consume_start,
    }


def bench_data(args: argparse.Namespace) -> None:
    """Cross-node data: liuray A -> B vs plain Ray put on A, get on B."""
    n = args.mb * MB
    store = int(args.store_gb * 1024**3)
    head = {"num_cpus": 1, "object_store_memory": 300 * MB}
    nodes = [{"num_cpus": 1, "object_store_memory": store, "resources": {r: 1}} for r in "AB"]
    with (
        ray_cluster(head, nodes) as (cluster, (node_a, node_b)),
        liuray_on(cluster, None, 3) as dim,
    ):
        a, b = node_a.node_id, node_b.node_id
        maker = RemoteMaker.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(a, soft=False)
        ).remote()
        on_b = NodeAffinitySchedulingStrategy(b, soft=False)
        # Warm-up at full size, reported but not counted: worker processes, imports, and
        # the first use of each object store's shared memory (the cold run is slower).
        cold = liuray_transfer(dim, n, a, b, "cold")
        refs, cold_put = ray.get(maker.make.remote(n))
        cold_get, _ = ray.get(
            remote_fetch_and_sum.options(scheduling_strategy=on_b).remote(refs, n)
        )
        del refs
        emit(
            {
                "bench": "data",
                "cold": True,
                "mb": args.mb,
                "liuray_gap_s": round(cold["gap_s"], 4),
                "ray_put_s": round(cold_put, 4),
                "ray_get_s": round(cold_get, 4),
            }
        )
        rows: dict[str, list[float]] = {k: [] for k in ("lr", "lr_local", "put", "get")}
        walls: dict[str, list[float]] = {"cross": [], "local": []}
        for i in range(args.repeat):
            cross = liuray_transfer(dim, n, a, b, f"cross{i}")
            local = liuray_transfer(dim, n, a, a, f"local{i}")
            refs, put_s = ray.get(maker.make.remote(n))
            get_s, _ = ray.get(
                remote_fetch_and_sum.options(scheduling_strategy=on_b).remote(refs, n)
            )
            del refs
            rows["lr"].append(cross["gap_s"])
            rows["lr_local"].append(local["gap_s"])
            rows["put"].append(put_s)
            rows["get"].append(get_s)
            walls["cross"].append(cross["wall_s"])
            walls["local"].append(local["wall_s"])
            emit(
                {
                    "bench": "data",
                    "run": i,
                    "mb": args.mb,
                    "liuray_gap_s": round(cross["gap_s"], 4),
                    "liuray_local_gap_s": round(local["gap_s"], 4),
                    "liuray_wall_s": round(cross["wall_s"], 4),
                    "liuray_local_wall_s": round(local["wall_s"], 4),
                    "produce_s": round(cross["produce_s"], 4),
                    "consume_s": round(cross["consume_s"], 4),
                    "local_produce_s": round(local["produce_s"], 4),
                    "local_consume_s": round(local["consume_s"], 4),
                    "ray_put_s": round(put_s, 4),
                    "ray_get_s": round(get_s, 4),
                }
            )
        med = {k: statistics.median(v) for k, v in rows.items()}
        wall_diff = statistics.median(walls["cross"]) - statistics.median(walls["local"])
        lr_mbs = args.mb / med["lr"]
        get_mbs = args.mb / med["get"]
        putget_mbs = args.mb / (med["put"] + med["get"])
        result = {
            "bench": "data",
            "summary": True,
            "mb": args.mb,
            "store_gb": args.store_gb,
            "liuray_transfer_s": round(med["lr"], 4),
            "liuray_local_gap_s": round(med["lr_local"], 4),
            "liuray_wall_minus_local_s": round(wall_diff, 4),
            "ray_put_s": round(med["put"], 4),
            "ray_get_s": round(med["get"], 4),
            "liuray_mb_per_s": round(lr_mbs, 1),
            "ray_get_mb_per_s": round(get_mbs, 1),
            "ray_put_get_mb_per_s": round(putget_mbs, 1),
            "ratio_vs_get": round(lr_mbs / get_mbs, 3),
            "ratio_vs_put_get": round(lr_mbs / putget_mbs, 3),
            "target_ratio_vs_get": 0.5,
        }
        emit(result)
        say(
            f"data ({args.mb} MiB, median of {args.repeat}): liuray A->B {med['lr']:.3f} s "
            f"= {lr_mbs:,.0f} MiB/s (same-node handoff {med['lr_local'] * 1000:.1f} ms; wall "
            f"cross - local {wall_diff:.3f} s); plain Ray get {med['get']:.3f} s = "
            f"{get_mbs:,.0f} MiB/s, put {med['put']:.3f} s (put+get {putget_mbs:,.0f} MiB/s); "
            f"liuray / ray.get = {lr_mbs / get_mbs:.0%} (target >= 50%), "
            f"/ (put+get) = {lr_mbs / putget_mbs:.0%}"
        )


# ---------------------------------------------------------------- scaling

SPIN = """
def spin(n):
    x = 0
    for i in range(n):
        x += i * i
    return x
"""


def spin(n: int) -> int:
    """The unit of work (the same source as ``SPIN``)."""
    x = 0
    for i in range(n):
        x += i * i
    return x


def nothing() -> int:
    """Warms a worker process up."""
    return os.getpid()


# Ray's decorators are untyped, so the remote versions are Any.
spin_task: Any = ray.remote(num_cpus=1)(spin)
remote_nothing: Any = ray.remote(num_cpus=1)(nothing)


def calibrate(target_s: float) -> tuple[int, float]:
    """Loop count for ~``target_s`` s of spin in this process; the measured time."""
    n = 100_000
    while True:
        start = time.perf_counter()
        spin(n)
        took = time.perf_counter() - start
        if took > 0.05:
            break
        n *= 4
    n = int(n * target_s / took)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        spin(n)
        times.append(time.perf_counter() - start)
    return n, statistics.median(times)


def spin_graph(n: int, nodes: list[str], count: int) -> list[dict[str, Any]]:
    """``count`` independent spin apps, pinned round-robin on ``nodes``."""
    specs: list[dict[str, Any]] = []
    for i in range(count):
        node = nodes[i % len(nodes)]
        specs.append(
            {
                "oid": f"spin{i}",
                "categoryType": "Application",
                "dropclass": PYFUNC,
                "func_code": SPIN,
                "n": n,
                "outputs": [f"out{i}"],
                "node": node,
            }
        )
        specs.append({"oid": f"out{i}", "categoryType": "Data", "dropclass": MEMORY, "node": node})
    return specs


def bench_scaling(args: argparse.Namespace) -> None:
    """Independent CPU-bound apps on k nodes: liuray and plain Ray, same cluster."""
    cores = os.cpu_count() or 1
    n, alone = calibrate(args.task_s)
    emit(
        {
            "bench": "scaling",
            "calibration": True,
            "loop": n,
            "task_alone_s": round(alone, 4),
            "cores": cores,
        }
    )
    cpus = args.cpus_per_node
    results = []
    for k in args.nodes:
        if k * cpus > cores and not args.force:
            emit(
                {
                    "bench": "scaling",
                    "nodes": k,
                    "skipped": True,
                    "reason": f"needs {k * cpus} cores, the machine has {cores}",
                }
            )
            continue
        count = args.waves * k * cpus
        workers = [{"num_cpus": cpus} for _ in range(k)]
        with (
            ray_cluster({"num_cpus": 0}, workers) as (cluster, nodes),
            liuray_on(cluster, cpus, k + 1) as dim,
        ):
            ids = [node.node_id for node in nodes]
            ray.get([remote_nothing.remote() for _ in range(2 * k * cpus)])  # worker processes up
            dim.wait(dim.submit(spin_graph(1000, ids, k * cpus), f"warm{k}"), timeout=60)
            lr_walls, ray_walls = [], []
            for i in range(args.repeat):
                lr_wall = run_session(dim, spin_graph(n, ids, count), f"k{k}r{i}")
                dim.destroy_session(f"k{k}r{i}")
                start = time.perf_counter()
                ray.get([spin_task.remote(n) for _ in range(count)])
                ray_wall = time.perf_counter() - start
                lr_walls.append(lr_wall)
                ray_walls.append(ray_wall)
                emit(
                    {
                        "bench": "scaling",
                        "nodes": k,
                        "cpus_per_node": cpus,
                        "run": i,
                        "apps": count,
                        "liuray_wall_s": round(lr_wall, 4),
                        "ray_wall_s": round(ray_wall, 4),
                    }
                )
        row = {
            "bench": "scaling",
            "summary": True,
            "nodes": k,
            "cpus_per_node": cpus,
            "apps": count,
            "waves": args.waves,
            "task_alone_s": round(alone, 4),
            "liuray_wall_s": round(statistics.median(lr_walls), 4),
            "ray_wall_s": round(statistics.median(ray_walls), 4),
        }
        ideal = count * alone / (k * cpus)
        row["liuray_eff_vs_alone"] = round(ideal / row["liuray_wall_s"], 3)
        row["ray_eff_vs_alone"] = round(ideal / row["ray_wall_s"], 3)
        results.append(row)
    base = results[0] if results and results[0]["nodes"] == 1 else None
    for row in results:
        if base is not None:
            # weak scaling: k nodes run k times the work; efficiency = (k * T1 / k) / Tk
            row["liuray_eff_vs_1node"] = round(base["liuray_wall_s"] / row["liuray_wall_s"], 3)
            row["ray_eff_vs_1node"] = round(base["ray_wall_s"] / row["ray_wall_s"], 3)
        # liuray's efficiency relative to plain Ray's on the same cluster and work
        row["liuray_vs_ray"] = round(row["ray_wall_s"] / row["liuray_wall_s"], 3)
        emit(row)
    say(
        f"scaling ({args.waves} waves of ~{alone:.2f} s pure-Python apps, {cpus} CPU/node, "
        f"medians of {args.repeat}; machine has {cores} cores):"
    )
    say(
        "| nodes | apps | liuray wall | Ray wall | Ray/liuray wall | liuray eff (vs 1 node) "
        "| Ray eff (vs 1 node) | liuray eff (vs alone) | Ray eff (vs alone) |"
    )
    for row in results:
        say(
            f"| {row['nodes']} | {row['apps']} | {row['liuray_wall_s']:.2f} s "
            f"| {row['ray_wall_s']:.2f} s | {row['liuray_vs_ray']:.2f} "
            f"| {row.get('liuray_eff_vs_1node', '-')} | {row.get('ray_eff_vs_1node', '-')} "
            f"| {row['liuray_eff_vs_alone']} | {row['ray_eff_vs_alone']} |"
        )


# ---------------------------------------------------------------- chain


def alternating_chain(apps: int, nodes: list[str]) -> list[dict[str, Any]]:
    """A HelloWorldApp then CopyApps, each followed by a memory drop on its own node;
    app ``i`` runs on ``nodes[i % len(nodes)]``, so with two nodes every hop crosses."""
    specs: list[dict[str, Any]] = []
    for i in range(apps):
        node = nodes[i % len(nodes)]
        app: dict[str, Any] = {
            "oid": f"app{i}",
            "categoryType": "Application",
            "dropclass": HELLO if i == 0 else COPY,
            "outputs": [f"mem{i}"],
            "node": node,
        }
        if i:
            app["inputs"] = [f"mem{i - 1}"]
        specs.append(app)
        specs.append({"oid": f"mem{i}", "categoryType": "Data", "dropclass": MEMORY, "node": node})
    return specs


def liuray_chain(dim: IslandManager, apps: int, nodes: list[str], sid: str) -> dict[str, float]:
    """One alternating chain: deploy -> session end, and first app start -> last app end."""
    dim.create_session(sid)
    dim.append_graph(sid, alternating_chain(apps, nodes))
    start = time.perf_counter()
    dim.deploy_session(sid)
    state = dim.wait(sid, timeout=600)
    wall = time.perf_counter() - start
    if state is not SessionState.FINISHED:
        raise SystemExit(f"session {sid} ended {state}: {dim.progress(sid)}")
    first_start, _ = app_times(dim, sid, "app0")
    _, last_end = app_times(dim, sid, f"app{apps - 1}")
    dim.destroy_session(sid)
    return {"wall_s": wall, "run_s": last_end - first_start}


def hop(value: bytes | None) -> bytes:
    """One plain-Ray link of the chain: pass the previous task's result on."""
    return b"Hello World" if value is None else value


# Ray's decorators are untyped, so the remote version is Any.
remote_hop: Any = ray.remote(num_cpus=1)(hop)


def ray_chain(apps: int, nodes: list[str]) -> float:
    """``apps`` plain Ray tasks alternating between ``nodes``, each consuming the
    previous one's result; first ``.remote()`` -> ``ray.get`` of the last."""
    pinned = [
        remote_hop.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n, soft=False))
        for n in nodes
    ]
    start = time.perf_counter()
    ref = None
    for i in range(apps):
        ref = pinned[i % len(nodes)].remote(ref)
    ray.get(ref)
    return time.perf_counter() - start


def bench_chain(args: argparse.Namespace) -> None:
    """Cross-node hop latency: an alternating CopyApp chain vs a plain Ray task chain."""
    with (
        ray_cluster({"num_cpus": 1}, [{"num_cpus": 1}]) as (cluster, (worker,)),
        liuray_on(cluster, None, 2) as dim,
    ):
        nodes = [cluster.head_node.node_id, worker.node_id]
        # Warm-up, not counted: worker processes on both nodes, imports, first calls.
        liuray_chain(dim, 50, nodes, "warm")
        ray_chain(50, nodes)
        rows: dict[str, list[float]] = {"wall": [], "run": [], "ray": []}
        for i in range(args.repeat):
            lr = liuray_chain(dim, args.apps, nodes, f"chain{i}")
            ray_s = ray_chain(args.apps, nodes)
            rows["wall"].append(lr["wall_s"])
            rows["run"].append(lr["run_s"])
            rows["ray"].append(ray_s)
            emit(
                {
                    "bench": "chain",
                    "run": i,
                    "apps": args.apps,
                    "liuray_wall_s": round(lr["wall_s"], 4),
                    "liuray_run_s": round(lr["run_s"], 4),
                    "ray_s": round(ray_s, 4),
                }
            )
        med = {k: statistics.median(v) for k, v in rows.items()}
        per_hop = {k: v / args.apps * 1000 for k, v in med.items()}
        result = {
            "bench": "chain",
            "summary": True,
            "apps": args.apps,
            "repeat": args.repeat,
            "liuray_wall_s": summary(rows["wall"]),
            "liuray_run_s": summary(rows["run"]),
            "ray_s": summary(rows["ray"]),
            "liuray_ms_per_hop": round(per_hop["wall"], 3),
            "liuray_run_ms_per_hop": round(per_hop["run"], 3),
            "ray_ms_per_hop": round(per_hop["ray"], 3),
            "ratio": round(med["wall"] / med["ray"], 3),
            "ratio_run": round(med["run"] / med["ray"], 3),
            "target_ratio": 1.0,
        }
        emit(result)
        say(
            f"chain ({args.apps} apps alternating head/worker, median of {args.repeat}): "
            f"liuray deploy -> end {med['wall']:.3f} s = {per_hop['wall']:.2f} ms/hop "
            f"(first start -> last end {med['run']:.3f} s = {per_hop['run']:.2f} ms/hop); "
            f"plain Ray {med['ray']:.3f} s = {per_hop['ray']:.2f} ms/hop; "
            f"liuray / Ray = {result['ratio']:.2f} (run only {result['ratio_run']:.2f}; "
            f"target <= 1)"
        )


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run one benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="bench", required=True)
    join = commands.add_parser("join", help="node join -> NM accepting work")
    join.add_argument("--repeat", type=int, default=5, help="joins to measure")
    data = commands.add_parser("data", help="cross-node data throughput vs plain Ray")
    data.add_argument("--mb", type=int, default=1024, help="array size in MiB")
    data.add_argument("--store-gb", type=float, default=3.0, help="object store per node")
    data.add_argument("--repeat", type=int, default=3)
    scaling = commands.add_parser("scaling", help="CPU-bound apps on k nodes vs plain Ray")
    scaling.add_argument("--nodes", type=int, nargs="+", default=[1, 2, 4, 8])
    scaling.add_argument("--cpus-per-node", type=int, default=1)
    scaling.add_argument("--waves", type=int, default=4)
    scaling.add_argument("--task-s", type=float, default=0.4, help="seconds per app alone")
    scaling.add_argument("--repeat", type=int, default=3)
    scaling.add_argument("--force", action="store_true", help="run k with k*cpus > cores")
    chain = commands.add_parser("chain", help="cross-node hop latency: app chain vs plain Ray")
    chain.add_argument("--apps", type=int, default=500, help="apps in the chain")
    chain.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    benches = {
        "join": bench_join,
        "data": bench_data,
        "scaling": bench_scaling,
        "chain": bench_chain,
    }
    benches[args.bench](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
