"""Helpers shared by the tests that need a real Ray cluster (``@pytest.mark.ray``).

Every cluster gets its own short ``RAY_TMPDIR`` (unix socket paths are short) and
usage stats off; it is torn down with ``ray.shutdown()`` then ``Cluster.shutdown()``, or
for a ``ray start`` head by killing its process group. Nothing here runs ``ray stop``,
which would kill every Ray process on the machine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from ray.cluster_utils import Cluster  # noqa: E402

from liuray.transports.ray import NAMESPACE, actor_name  # noqa: E402

APP = "dlg.apps.simple.SleepApp"
MEMORY = "dlg.data.drops.memory.InMemoryDROP"
PYFUNC = "dlg.apps.pyfunc.PyFuncApp"
FILE = "dlg.data.drops.file.FileDROP"


@contextmanager
def ray_environment() -> Iterator[Path]:
    """A private RAY_TMPDIR (short path) and no usage stats, for one cluster's life."""
    tmp = Path(tempfile.mkdtemp(prefix="lr", dir="/tmp"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_TMPDIR", str(tmp))
        patch.setenv("RAY_USAGE_STATS_ENABLED", "0")
        # Ray >= 2.59 turns token auth on for `ray start` when ~/.ray/auth_token exists
        # (any local ray.init() writes one), while this driver may have cached "off":
        # say it explicitly so the head, its nodes and the driver agree.
        patch.setenv("RAY_AUTH_MODE", "disabled")
        try:
            yield tmp
        finally:
            leftovers = _reap(tmp)
            shutil.rmtree(tmp, ignore_errors=True)
    if leftovers:
        print(f"killed {leftovers} leftover Ray processes of {tmp}")


def _reap(tmp: Path, timeout: float = 10.0) -> int:
    """SIGKILL the processes still running with this RAY_TMPDIR; return how many.

    Ray workers live in their own sessions and may outlive a killed raylet for half a
    minute; they carry the cluster's RAY_TMPDIR in their environment, which tells them
    apart from any other Ray on the machine.
    """
    marker = f"RAY_TMPDIR={tmp}".encode()
    killed: set[int] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [pid for pid in _pids_with(marker) if pid != os.getpid()]
        if not found:
            break
        for pid in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            killed.add(pid)
        time.sleep(0.1)
    return len(killed)


def _pids_with(marker: bytes) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


@contextmanager
def local_cluster(workers: int = 2) -> Iterator[Cluster]:
    """A head (1 CPU, no dashboard) plus ``workers`` 1-CPU nodes; the driver connected."""
    with ray_environment():
        cluster = Cluster(
            initialize_head=True,
            head_node_args={"num_cpus": 1, "include_dashboard": False},
        )
        try:
            for _ in range(workers):
                cluster.add_node(num_cpus=1)
            cluster.wait_for_nodes()
            ray.init(
                address=cluster.address,
                namespace=NAMESPACE,
                log_to_driver=False,
                configure_logging=False,
            )
            yield cluster
        finally:
            ray.shutdown()
            cluster.shutdown()


def alive_node_ids() -> set[str]:
    """Ray's alive nodes, as the driver sees them now."""
    return {n["NodeID"] for n in ray.nodes() if n["Alive"]}


def ping(node_id: str) -> dict[str, Any]:
    """Ask a node's NM actor where it runs (node id, ip, pid)."""
    handle = ray.get_actor(actor_name(node_id), namespace=NAMESPACE)
    result: dict[str, Any] = ray.get(handle.ping.remote(), timeout=30)
    return result


def nm_exists(node_id: str) -> bool:
    """Whether a node's NM actor is registered (alive or restarting) in Ray."""
    try:
        ray.get_actor(actor_name(node_id), namespace=NAMESPACE)
    except ValueError:
        return False
    return True


def wait_until(check: Callable[[], bool], timeout: float, what: str, step: float = 0.05) -> float:
    """Poll ``check`` until true; return the seconds it took (fail the test on timeout)."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)
    return time.monotonic() - start


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ---------------------------------------------------------------- graphs


def sleep_pair(prefix: str, node: str, seconds: float) -> list[dict[str, Any]]:
    """A SleepApp writing one memory drop, both on ``node``."""
    return [
        {
            "oid": f"{prefix}-sleep",
            "categoryType": "Application",
            "dropclass": APP,
            "sleep_time": seconds,
            "outputs": [f"{prefix}-out"],
            "node": node,
        },
        {"oid": f"{prefix}-out", "categoryType": "Data", "dropclass": MEMORY, "node": node},
    ]


def copy_pair(source: str, node: str) -> list[dict[str, Any]]:
    """A CopyApp on ``node`` copying drop ``source`` into memory drop ``copied``."""
    return [
        {
            "oid": "copy",
            "categoryType": "Application",
            "dropclass": "dlg.apps.simple.CopyApp",
            "inputs": [source],
            "outputs": ["copied"],
            "node": node,
        },
        {"oid": "copied", "categoryType": "Data", "dropclass": MEMORY, "node": node},
    ]


PRODUCE = """
def produce(n=8):
    import numpy as np
    import ray
    return (ray.get_runtime_context().get_node_id(), np.arange(n, dtype=float) * 1.5)
"""

CONSUME = """
def consume(made, scale=1.0):
    import ray
    node, array = made
    return {
        "made_on": node,
        "used_on": ray.get_runtime_context().get_node_id(),
        "type": type(array).__module__ + "." + type(array).__name__,
        "value": (array * scale).tolist(),
    }
"""


def fan_out_graph(
    directory: Path, producer: str, consumers: list[str], scales: list[float]
) -> list[dict[str, Any]]:
    """A numpy array made on ``producer`` and used on each consumer node.

    ``produce`` returns (its Ray node id, array) into a memory drop on the producer's
    node; each ``consume`` app on its own node scales the array and pickles a report
    (where the array was made and used, its type, the values) into a file drop under
    ``directory`` named ``<node label>.pkl``.
    """
    specs: list[dict[str, Any]] = [
        {
            "oid": "produce",
            "categoryType": "Application",
            "dropclass": PYFUNC,
            "func_code": PRODUCE,
            "func_name": "produce",
            "outputs": ["array"],
            "node": producer,
        },
        {"oid": "array", "categoryType": "Data", "dropclass": MEMORY, "node": producer},
    ]
    for i, (node, scale) in enumerate(zip(consumers, scales, strict=True)):
        specs += [
            {
                "oid": f"consume{i}",
                "categoryType": "Application",
                "dropclass": PYFUNC,
                "func_code": CONSUME,
                "func_name": "consume",
                "scale": scale,
                "inputs": ["array"],
                "outputs": [f"report{i}"],
                "node": node,
            },
            {
                "oid": f"report{i}",
                "categoryType": "Data",
                "dropclass": FILE,
                "filepath": str(directory / f"report{i}.pkl"),
                "node": node,
            },
        ]
    return specs


# ---------------------------------------------------------------- `ray start` heads


@contextmanager
def ray_start_head(
    port: int, args: list[str], env: dict[str, str], timeout: float = 60.0
) -> Iterator[str]:
    """Run ``ray start --head --block`` in its own process group; yield the GCS address.

    Call it inside :func:`ray_environment`. Teardown kills the whole group (SIGTERM,
    then SIGKILL), which takes the head's agents and any fake nodes with it.
    """
    ray_cli = str(Path(sys.executable).with_name("ray"))
    command = [ray_cli, "start", "--head", "--block", f"--port={port}", *args]
    command.append("--include-dashboard=false")
    log_path = Path(os.environ["RAY_TMPDIR"]) / "head.log"
    address = f"{ray.util.get_node_ip_address()}:{port}"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while not _gcs_answers(address):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ray start failed: {log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        yield address
    finally:
        _kill_group(process)


def _gcs_answers(address: str) -> bool:
    host, port = address.split(":")
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, int(port))) == 0


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the process group, SIGKILL it after a grace period (and its leftovers)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass  # killed below
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=5)
