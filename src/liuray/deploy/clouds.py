# SPDX-License-Identifier: LGPL-2.1-or-later
"""Ray cluster-launcher configs for Google Cloud and Azure: pure functions, no Ray.

They follow :func:`liuray.deploy.configs.aws_config` line for line where the clouds
agree: the stock ``rayproject/ray`` image in Docker, ``pip install 'liuray[ray]'`` on
every node, one liuray line on the head (the DIM, on its loopback), nothing on workers,
one worker type scaling between ``min_workers`` and ``max_workers``, spot capacity for
workers only (the head holds Ray's GCS and the DIM), and an idle timeout longer than
liuray's node-manager release (:func:`~liuray.deploy.configs.check_idle_timeout`).

Where they differ, the facts come from Ray's own provider defaults
(``ray/autoscaler/gcp/defaults.yaml`` and ``azure/defaults.yaml``, Ray 2.60):

- **No image id to look up.** GCP boots Ray's default image *family*
  (:data:`GCP_SOURCE_IMAGE`, always its newest image), Azure its default marketplace
  image (:data:`AZURE_IMAGE`, version ``latest``). Both carry Docker, which runs the
  stock Ray image; their own Python is not 3.11, so these configs always use Docker.
- **CPUs per node type.** Unlike AWS, Ray's GCP and Azure providers do not read a
  machine's CPUs from its type, and the autoscaler needs them to scale up from zero.
  :func:`gcp_cpus` and :func:`azure_cpus` read them from the type's name
  (``n2-standard-8``, ``Standard_D8s_v5``); for other names pass them explicitly.
- **Spot.** GCP: ``scheduling`` is one object (Compute API ``instances.insert``; Ray's
  own example writes a list, ray-project/ray#46248), asking for a Spot VM that is
  deleted when taken back. Azure: ``priority: Spot``.
- **Head setup.** The cloud SDK the head's autoscaler calls, pinned as Ray pins it.

Example:
    >>> from liuray.deploy.configs import ClusterSettings
    >>> nodes = NodeTypes(head_type="n2-standard-4", worker_type="n2-standard-8",
    ...                   max_workers=4, spot=True)
    >>> config = gcp_config(ClusterSettings(ray_version="2.60.0"), nodes,
    ...                     project_id="my-proj", region="us-west1")
    >>> config["available_node_types"]["worker"]["resources"]
    {'CPU': 8}
    >>> config["available_node_types"]["worker"]["node_config"]["scheduling"]["provisioningModel"]
    'SPOT'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from liuray.deploy.configs import (
    ClusterSettings,
    check_idle_timeout,
    check_name,
    check_workers,
    docker_section,
    launcher_commands,
)
from liuray.errors import DeployError

__all__ = [
    "AZURE_HEAD_SETUP",
    "AZURE_IMAGE",
    "GCP_HEAD_SETUP",
    "GCP_SOURCE_IMAGE",
    "NodeTypes",
    "azure_config",
    "azure_cpus",
    "gcp_config",
    "gcp_cpus",
]

GCP_SOURCE_IMAGE = "projects/deeplearning-platform-release/global/images/family/common-cpu"
"""Ray's default boot image for GCP nodes: an image family (its newest image), Docker in."""
GCP_HEAD_SETUP = "pip install google-api-python-client==1.7.8"
"""What Ray's GCP defaults install on the head: the client its autoscaler calls."""
GCP_DISK_GB = 50
AZURE_IMAGE = {
    "imagePublisher": "microsoft-dsvm",
    "imageOffer": "ubuntu-2204",
    "imageSku": "2204-gen2",
    "imageVersion": "latest",
}
"""Ray's default Azure marketplace image (Data Science VM, Ubuntu 22.04, Docker in)."""
AZURE_HEAD_SETUP = (
    "pip install -U azure-core==1.35.0 azure-identity==1.23.1 azure-mgmt-compute==35.0.0 "
    "azure-mgmt-network==29.0.0 azure-mgmt-resource==24.0.0 azure-common==1.1.28 "
    "msrest==0.7.1 msrestazure==0.6.4.post1"
)
"""What Ray's Azure defaults install on the head: the SDK its autoscaler calls."""

_GCP_CPUS = re.compile(r"[a-z][a-z0-9]*-[a-z]+(?:-[a-z]+)?-(\d+)")  # n2-standard-8
_AZURE_CPUS = re.compile(r"Standard_[A-Z]+(\d+)[a-z]*(?:_[A-Za-z0-9]+)*")  # Standard_D8s_v5
_GCP_ZONE = re.compile(r"[a-z]+-[a-z]+\d+-[a-z]")


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeTypes:
    """The head's and the workers' machine types, and how the workers scale.

    Attributes:
        head_type: the head's machine type (GCP) or VM size (Azure).
        worker_type: the workers' machine type or VM size.
        min_workers: workers kept even when idle.
        max_workers: most workers the autoscaler starts.
        spot: workers on spot capacity (the head never is).
        idle_timeout_minutes: Ray removes a worker idle this long.
        worker_cpus: CPUs of a worker, for types whose name does not say.
    """

    head_type: str
    worker_type: str
    min_workers: int = 0
    max_workers: int = 2
    spot: bool = False
    idle_timeout_minutes: float = 5
    worker_cpus: int | None = None

    def __post_init__(self) -> None:
        check_name("head machine type", self.head_type)
        check_name("worker machine type", self.worker_type)
        check_workers(self.min_workers, self.max_workers)
        check_idle_timeout(self.idle_timeout_minutes)
        if self.worker_cpus is not None and self.worker_cpus < 1:
            raise DeployError(
                f"worker CPUs must be 1 or more, got {self.worker_cpus}",
                worker_cpus=self.worker_cpus,
            )


def gcp_cpus(machine_type: str) -> int | None:
    """The vCPUs of a GCP machine type, read from its name, or None if it does not say.

    Examples:
        >>> gcp_cpus("n2-standard-8"), gcp_cpus("c3-highcpu-22"), gcp_cpus("e2-medium")
        (8, 22, None)
    """
    found = _GCP_CPUS.fullmatch(machine_type)
    return int(found.group(1)) if found else None


def azure_cpus(vm_size: str) -> int | None:
    """The vCPUs of an Azure VM size, read from its name, or None if it does not say.

    Constrained sizes (``Standard_D4-2s_v3``: 2 of 4 vCPUs active) do not say.

    Examples:
        >>> azure_cpus("Standard_D8s_v5"), azure_cpus("Standard_HB120rs_v3")
        (8, 120)
        >>> azure_cpus("Standard_D4-2s_v3") is None
        True
    """
    found = _AZURE_CPUS.fullmatch(vm_size)
    return int(found.group(1)) if found else None


def gcp_config(
    settings: ClusterSettings,
    nodes: NodeTypes,
    *,
    project_id: str,
    region: str,
    zone: str | None = None,
) -> dict[str, Any]:
    """An autoscaling Google Cloud cluster: one head and one worker machine type.

    Args:
        zone: the availability zone (default: ``<region>-a``).

    Raises:
        DeployError: a setting is out of range (the message says which and why).
    """
    check_name("GCP project id", project_id)
    check_name("region", region)
    zone = zone or f"{region}-a"
    if not _GCP_ZONE.fullmatch(zone) or not zone.startswith(f"{region}-"):
        raise DeployError(
            f"zone {zone!r} is not a zone of region {region!r} (such as '{region}-a')",
            zone=zone,
            region=region,
        )
    _check_cloud_docker(settings, "gcp")
    worker_node = _gcp_node(nodes.worker_type)
    if nodes.spot:
        worker_node["scheduling"] = {
            "provisioningModel": "SPOT",
            "instanceTerminationAction": "DELETE",
            "onHostMaintenance": "TERMINATE",
            "automaticRestart": False,
        }
    config: dict[str, Any] = {
        "cluster_name": settings.cluster_name,
        "provider": {
            "type": "gcp",
            "region": region,
            "availability_zone": zone,
            "project_id": project_id,
        },
        "auth": {"ssh_user": "ubuntu"},
    }
    config.update(docker_section(settings))
    config.update(_node_types(nodes, _gcp_node(nodes.head_type), worker_node, gcp_cpus))
    config.update(launcher_commands(settings, head_setup=[GCP_HEAD_SETUP]))
    return config


def azure_config(
    settings: ClusterSettings,
    nodes: NodeTypes,
    *,
    location: str,
    resource_group: str,
    subscription_id: str | None = None,
) -> dict[str, Any]:
    """An autoscaling Azure cluster: one head and one worker VM size.

    Args:
        subscription_id: the subscription (default: the Azure CLI's current one).

    Raises:
        DeployError: a setting is out of range (the message says which and why).
    """
    check_name("Azure location", location)
    check_name("resource group", resource_group)
    _check_cloud_docker(settings, "azure")
    provider: dict[str, Any] = {
        "type": "azure",
        "location": location,
        "resource_group": resource_group,
    }
    if subscription_id:
        check_name("subscription id", subscription_id)
        provider["subscription_id"] = subscription_id
    provider["availability_zone"] = "auto"  # Ray's default: Azure picks the zones
    head_node = _azure_node(nodes.head_type)
    head_node["azure_arm_parameters"]["availability_zone"] = "none"  # as Ray's default
    worker_node = _azure_node(nodes.worker_type)
    if nodes.spot:
        worker_node["azure_arm_parameters"]["priority"] = "Spot"
    config: dict[str, Any] = {
        "cluster_name": settings.cluster_name,
        "provider": provider,
        "auth": {"ssh_user": "ubuntu"},  # Ray creates and uploads its own key pair
    }
    config.update(docker_section(settings))
    config.update(_node_types(nodes, head_node, worker_node, azure_cpus))
    config.update(launcher_commands(settings, head_setup=[AZURE_HEAD_SETUP]))
    return config


def _gcp_node(machine_type: str) -> dict[str, Any]:
    boot_disk = {
        "boot": True,
        "autoDelete": True,
        "type": "PERSISTENT",
        "initializeParams": {"diskSizeGb": GCP_DISK_GB, "sourceImage": GCP_SOURCE_IMAGE},
    }
    return {"machineType": machine_type, "disks": [boot_disk]}


def _azure_node(vm_size: str) -> dict[str, Any]:
    return {"azure_arm_parameters": {"vmSize": vm_size, **AZURE_IMAGE}}


def _node_types(
    nodes: NodeTypes,
    head_node: dict[str, Any],
    worker_node: dict[str, Any],
    read_cpus: Callable[[str], int | None],
) -> dict[str, Any]:
    head_cpus = read_cpus(nodes.head_type)
    worker_cpus = nodes.worker_cpus or read_cpus(nodes.worker_type)
    if worker_cpus is None:
        raise DeployError(
            f"cannot tell the CPUs of worker type {nodes.worker_type!r} from its name; the "
            "autoscaler needs them to start workers: pass --worker-cpus N",
            worker_type=nodes.worker_type,
        )
    return {
        "max_workers": nodes.max_workers,
        "idle_timeout_minutes": nodes.idle_timeout_minutes,
        "available_node_types": {
            "head": {
                "node_config": head_node,
                # {}: the head's own Ray reports its CPUs once it runs
                "resources": {"CPU": head_cpus} if head_cpus else {},
            },
            "worker": {
                "node_config": worker_node,
                "resources": {"CPU": worker_cpus},
                "min_workers": nodes.min_workers,
                "max_workers": nodes.max_workers,
            },
        },
        "head_node_type": "head",
    }


def _check_cloud_docker(settings: ClusterSettings, provider: str) -> None:
    if not settings.docker:
        raise DeployError(
            f"{provider} configs run the stock Ray image in Docker: the cloud's default "
            "image has no Python 3.11 for liuray; drop --no-docker",
            provider=provider,
        )
