"""Autoscaling on one machine: Ray's fake multi-node provider plus the Ray transport.

The head runs ``ray start --head --block`` with an autoscaling config whose provider is
``fake_multinode`` (new "nodes" are raylets on this machine), Ray's own autoscaler
test provider (``ray.autoscaler._private.fake_multi_node``).
"""

from __future__ import annotations

import json
import pickle
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ray")

from liuray.engine.states import SessionState
from liuray.managers.island import IslandManager
from liuray.managers.membership import NodeState
from liuray.transports.ray import RayTransport
from ray_support import (
    alive_node_ids,
    fan_out_graph,
    free_port,
    ray,
    ray_environment,
    ray_start_head,
    wait_until,
)

pytestmark = [pytest.mark.ray, pytest.mark.slow]

IDLE_TIMEOUT_MINUTES = 0.2


def autoscaling_config(gcs_address: str, max_workers: int) -> dict[str, Any]:
    """A fake_multinode cluster: a 1-CPU head and up to ``max_workers`` 1-CPU workers."""
    return {
        "cluster_name": "liuray-autoscale-test",
        "max_workers": max_workers,
        "upscaling_speed": 10.0,
        "idle_timeout_minutes": IDLE_TIMEOUT_MINUTES,
        "provider": {
            "type": "fake_multinode",
            "use_node_id_as_ip": True,
            "disable_node_updaters": True,
            "disable_launch_config_check": True,
            "gcs_address": gcs_address,
        },
        "auth": {"ssh_user": "nobody"},
        "head_node_type": "ray.head.default",
        "available_node_types": {
            "ray.head.default": {"resources": {"CPU": 1}, "node_config": {}, "max_workers": 0},
            "ray.worker.cpu": {
                "resources": {"CPU": 1},
                "node_config": {},
                "min_workers": 0,
                "max_workers": max_workers,
            },
        },
        "file_mounts": {},
        "cluster_synced_files": [],
        "file_mounts_sync_continuously": False,
        "rsync_exclude": [],
        "rsync_filter": [],
        "initialization_commands": [],
        "setup_commands": [],
        "head_setup_commands": [],
        "worker_setup_commands": [],
        "head_start_ray_commands": [],
        "worker_start_ray_commands": [],
    }


@pytest.fixture
def autoscaling_head(tmp_path: Path) -> Iterator[str]:
    """A fake-autoscaling head on this machine; yields its GCS address.

    The test's driver connects through the transport; it is disconnected before the
    head's process group is killed.
    """
    with ray_environment() as ray_tmp:
        port = free_port()
        address = f"{ray.util.get_node_ip_address()}:{port}"
        config = ray_tmp / "autoscaling.yaml"
        config.write_text(json.dumps(autoscaling_config(address, max_workers=3)))
        env = {"RAY_FAKE_CLUSTER": "1", "AUTOSCALER_UPDATE_INTERVAL_S": "1"}
        args = ["--num-cpus=1", f"--autoscaling-config={config}"]
        with ray_start_head(port, args, env) as started:
            try:
                yield started
            finally:
                ray.shutdown()


def alive_count() -> int:
    return len(alive_node_ids())


@pytest.mark.timeout(240)
def test_partition_labels_scale_the_cluster_up_and_back_down(
    autoscaling_head: str, tmp_path: Path
) -> None:
    """A graph partitioned as #0, #1, #2 on a one-node cluster grows it and then shrinks.

    The island manager maps the three labels onto nodes; two are missing, so the Ray
    transport asks the autoscaler (request_resources) and waits. The fake nodes join,
    get NMs, and the session moves a numpy array across them. When it ends the request
    is dropped, the idle worker NMs are released (idle_release=3 s, below the 12 s idle
    timeout) and the autoscaler removes the nodes again.
    """
    transport = RayTransport(address=autoscaling_head, root=tmp_path / "nodes", idle_release=3)
    island = IslandManager(transport, acquire_timeout=90)
    try:
        assert alive_count() == 1
        specs = fan_out_graph(tmp_path, "#0", ["#1", "#2"], [1.0, 2.0])
        began = time.monotonic()
        session = island.submit(specs, "autoscaled")
        deployed_after = time.monotonic() - began

        assert island.wait(session, timeout=60) is SessionState.FINISHED
        used = island.session_status(session)
        print(f"\nscale-up + deploy: {deployed_after:.1f} s on {len(used)} nodes")
        assert len(used) == 3
        assert alive_count() == 3
        made = _reports(tmp_path)
        assert len({made[0]["made_on"], made[0]["used_on"], made[1]["used_on"]}) == 3
        assert made[0]["value"] == [i * 1.5 for i in range(8)]
        assert made[1]["value"] == [i * 3.0 for i in range(8)]

        ended = time.monotonic()
        reconciler = transport.reconciler
        wait_until(
            lambda: all(
                node.state is NodeState.RELEASED
                for node in list(reconciler.nodes.values())
                if not node.is_head
            ),
            20,
            "every worker's NM to be released",
        )
        print(f"\nworker NMs released {time.monotonic() - ended:.1f} s after the session ended")
        deadline = ended + 60
        while alive_count() > 1 and time.monotonic() < deadline:
            time.sleep(0.5)
        print(f"nodes gone: {time.monotonic() - ended:.1f} s after the session ended")
        assert alive_count() == 1
    finally:
        island.close()


def _reports(directory: Path) -> list[dict[str, Any]]:
    return [pickle.loads((directory / f"report{i}.pkl").read_bytes()) for i in range(2)]
