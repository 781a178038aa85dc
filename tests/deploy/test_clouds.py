"""Google Cloud and Azure launcher configs: what differs from AWS, and Ray's defaults.

Ray's own validation, liuray's footprint and the stock image are checked for these
configs with every other launcher config in test_configs.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("yaml")

import yaml

from liuray.cli.main import main
from liuray.deploy.clouds import (
    AZURE_HEAD_SETUP,
    AZURE_IMAGE,
    GCP_HEAD_SETUP,
    GCP_SOURCE_IMAGE,
    NodeTypes,
    azure_config,
    azure_cpus,
    gcp_config,
    gcp_cpus,
)
from liuray.deploy.configs import ClusterSettings
from liuray.errors import DeployError

RAY = "2.60.0"


def nodes(overrides: dict[str, Any], head: str, worker: str) -> NodeTypes:
    """Node types from the test's overrides (the keys NodeTypes knows), popped."""
    fields = {"head_type": head, "worker_type": worker, "max_workers": 4}
    for name in list(overrides):
        if name in NodeTypes.__dataclass_fields__:
            fields[name] = overrides.pop(name)
    return NodeTypes(**fields)


def gcp(**overrides: Any) -> dict[str, Any]:
    cluster = overrides.pop("cluster", ClusterSettings(ray_version=RAY))
    node_types = nodes(overrides, "n2-standard-2", "n2-standard-8")
    settings = {"project_id": "my-project", "region": "us-west1"} | overrides
    return gcp_config(cluster, node_types, **settings)


def azure(**overrides: Any) -> dict[str, Any]:
    cluster = overrides.pop("cluster", ClusterSettings(ray_version=RAY))
    node_types = nodes(overrides, "Standard_D2s_v5", "Standard_D8s_v5")
    settings = {"location": "westus2", "resource_group": "liuray"} | overrides
    return azure_config(cluster, node_types, **settings)


def test_gcp_settings_land_in_place() -> None:
    """Project, region, default zone, machine types, counts and CPUs are plain settings;
    both node types boot Ray's default image family."""
    config = gcp(min_workers=1, max_workers=6)
    assert config["provider"] == {
        "type": "gcp",
        "region": "us-west1",
        "availability_zone": "us-west1-a",
        "project_id": "my-project",
    }
    types = config["available_node_types"]
    assert types["head"]["node_config"]["machineType"] == "n2-standard-2"
    assert types["head"]["resources"] == {"CPU": 2}
    assert types["worker"]["resources"] == {"CPU": 8}
    assert (types["worker"]["min_workers"], types["worker"]["max_workers"]) == (1, 6)
    assert config["max_workers"] == 6 and config["idle_timeout_minutes"] == 5
    for node_type in types.values():
        (disk,) = node_type["node_config"]["disks"]
        assert disk["initializeParams"]["sourceImage"] == GCP_SOURCE_IMAGE
    assert config["head_setup_commands"] == [GCP_HEAD_SETUP]


def test_gcp_spot_is_one_scheduling_object_on_workers_only() -> None:
    """--spot asks for Spot VMs with the Compute API's object form of `scheduling` (not
    the list Ray's example writes), on workers; the head stays on-demand."""
    types = gcp(spot=True)["available_node_types"]
    assert types["worker"]["node_config"]["scheduling"] == {
        "provisioningModel": "SPOT",
        "instanceTerminationAction": "DELETE",
        "onHostMaintenance": "TERMINATE",
        "automaticRestart": False,
    }
    assert "scheduling" not in types["head"]["node_config"]
    assert "scheduling" not in yaml.safe_dump(gcp(spot=False))


def test_azure_settings_land_in_place() -> None:
    """Location, resource group, VM sizes and CPUs are plain settings; both node types
    boot Ray's default marketplace image, and the head is on-demand outside zones."""
    config = azure(subscription_id="sub-1")
    assert config["provider"] == {
        "type": "azure",
        "location": "westus2",
        "resource_group": "liuray",
        "subscription_id": "sub-1",
        "availability_zone": "auto",
    }
    types = config["available_node_types"]
    head = types["head"]["node_config"]["azure_arm_parameters"]
    worker = types["worker"]["node_config"]["azure_arm_parameters"]
    assert head == {"vmSize": "Standard_D2s_v5", **AZURE_IMAGE, "availability_zone": "none"}
    assert worker == {"vmSize": "Standard_D8s_v5", **AZURE_IMAGE}
    assert (types["head"]["resources"], types["worker"]["resources"]) == ({"CPU": 2}, {"CPU": 8})
    assert config["head_setup_commands"] == [AZURE_HEAD_SETUP]
    assert "subscription_id" not in azure()["provider"]


def test_azure_spot_applies_to_workers_only() -> None:
    """--spot makes workers Azure Spot VMs; the head (GCS + DIM) stays on-demand."""
    types = azure(spot=True)["available_node_types"]
    assert types["worker"]["node_config"]["azure_arm_parameters"]["priority"] == "Spot"
    assert "priority" not in types["head"]["node_config"]["azure_arm_parameters"]


@pytest.mark.parametrize(
    ("read", "name", "cpus"),
    [
        (gcp_cpus, "n1-standard-2", 2),
        (gcp_cpus, "c2d-highmem-56", 56),
        (gcp_cpus, "m1-ultramem-40", 40),
        (gcp_cpus, "e2-medium", None),
        (gcp_cpus, "a2-highgpu-1g", None),
        (azure_cpus, "Standard_D2s_v3", 2),
        (azure_cpus, "Standard_DS2_v2", 2),
        (azure_cpus, "Standard_NC24ads_A100_v4", 24),
        (azure_cpus, "Standard_B2ms", 2),
        (azure_cpus, "Standard_D4-2s_v3", None),
        (azure_cpus, "custom", None),
    ],
)
def test_cpus_are_read_from_machine_type_names(
    read: Callable[[str], int | None], name: str, cpus: int | None
) -> None:
    """The autoscaler needs each worker type's CPUs, which these providers do not look
    up: they come from the type's name, or nowhere when the name does not say."""
    assert read(name) == cpus


def test_worker_cpus_can_be_given_for_any_type() -> None:
    """A type whose name gives no CPU count works with --worker-cpus; without it the
    generator says what to pass. The head may stay without (its Ray reports them)."""
    config = gcp(head_type="e2-medium", worker_type="e2-medium", worker_cpus=2)
    assert config["available_node_types"]["worker"]["resources"] == {"CPU": 2}
    assert config["available_node_types"]["head"]["resources"] == {}
    with pytest.raises(DeployError, match="pass --worker-cpus N"):
        azure(worker_type="Standard_D4-2s_v3")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: gcp(zone="europe-west4-a"), "not a zone of region"),
        (lambda: gcp(project_id="my project"), "GCP project id"),
        (lambda: gcp(min_workers=5, max_workers=2), r"min \(5\) <= max \(2\)"),
        (lambda: azure(idle_timeout_minutes=1), "too short"),
        (lambda: azure(worker_cpus=0), "1 or more"),
        (lambda: gcp(cluster=ClusterSettings(ray_version=RAY, docker=False)), "drop --no-docker"),
    ],
)
def test_unusable_settings_are_refused(build: Callable[[], object], message: str) -> None:
    """Settings that would break `ray up` fail before any file is written."""
    with pytest.raises(DeployError, match=message):
        build()


def ray_defaults(provider: str) -> dict[str, Any]:
    ray = pytest.importorskip("ray")
    path = Path(ray.__file__).parent / "autoscaler" / provider / "defaults.yaml"
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def test_images_and_head_setup_match_rays_defaults() -> None:
    """The boot images and the head's SDK line are the ones Ray's own provider defaults
    name, so they change when Ray's do (read from the installed Ray's files)."""
    gcp_defaults, azure_defaults = ray_defaults("gcp"), ray_defaults("azure")
    for node_type in gcp_defaults["available_node_types"].values():
        (disk,) = node_type["node_config"]["disks"]
        assert disk["initializeParams"]["sourceImage"] == GCP_SOURCE_IMAGE
    assert gcp_defaults["head_setup_commands"] == [GCP_HEAD_SETUP]
    for node_type in azure_defaults["available_node_types"].values():
        parameters = node_type["node_config"]["azure_arm_parameters"]
        assert {key: parameters[key] for key in AZURE_IMAGE} == AZURE_IMAGE
    assert azure_defaults["head_setup_commands"] == [AZURE_HEAD_SETUP]


@pytest.mark.parametrize("provider", ["gcp", "azure"])
def test_cli_writes_a_config(
    provider: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`liuray ray config gcp|azure -o FILE` writes the YAML and says to `ray up` it;
    an unusable option writes nothing and exits 2."""
    target = tmp_path / "cluster.yaml"
    argv = ["ray", "config", provider, "--ray-version", RAY, "--spot", "-o", str(target)]
    if provider == "gcp":
        argv += ["--project", "p-1"]
    assert main(argv) == 0
    assert yaml.safe_load(target.read_text())["provider"]["type"] == provider
    assert f"ray up {target} -y" in capsys.readouterr().err
    target.unlink()
    assert main([*argv, "--min-workers", "9"]) == 2
    assert "min (9) <= max (2)" in capsys.readouterr().err
    assert not target.exists()
