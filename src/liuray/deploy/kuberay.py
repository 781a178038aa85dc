# SPDX-License-Identifier: LGPL-2.1-or-later
"""A KubeRay manifest that runs liuray on Kubernetes: pure functions, no Ray.

``kubectl apply -f`` the manifest and KubeRay (1.1 or newer) starts the cluster:

- a ``Secret`` with the DIM's access token (a new random one, or yours), unless you
  name an existing Secret instead;
- a ``RayCluster`` (``ray.io/v1``) on the stock ``rayproject/ray`` image with in-tree
  autoscaling (``enableInTreeAutoscaling``; workers between ``minReplicas`` and
  ``maxReplicas``, idle ones removed after ``idleTimeoutSeconds``);
- a ``Service`` selecting the head pod, exposing the DIM's port (REST API, web page).

Where liuray goes: every pod installs it (``pip install 'liuray[ray]'``, as the
launcher configs' ``setup_commands``: node managers are Ray actors whose code must
import there). The head's container command, and only the head's, has the one liuray
line: once its Ray answers, ``liuray serve --ray auto`` in the background. KubeRay's
``ray.io/overwrite-container-cmd`` annotation (KubeRay >= 1.1) makes it run the
container command as written, with its own ``ray start`` in ``$KUBERAY_GEN_RAY_START_CMD``,
so the command is ``ulimit``, the install, the DIM line, then Ray's start, as KubeRay's
documentation shows; the workers' command is the same without the DIM line.

The DIM listens on every address of the head pod (pod IP included: the Service and
other pods reach it there), so it needs an access token: ``LIURAY_TOKEN`` comes from
the Secret. ``kubectl port-forward`` reaches it without the Service.

The autoscaler's idle timeout must exceed liuray's node-manager release, as for the
launcher configs (:func:`~liuray.deploy.configs.check_idle_timeout`).

Example:
    >>> from liuray.deploy.configs import ClusterSettings
    >>> settings = KubeRaySettings(cluster=ClusterSettings(ray_version="2.60.0"),
    ...                            token="t0ken")
    >>> [document["kind"] for document in kuberay_manifest(settings)]
    ['Secret', 'RayCluster', 'Service']
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from liuray.deploy.configs import (
    ClusterSettings,
    check_idle_timeout,
    check_workers,
    docker_image,
    install_command,
)
from liuray.errors import DeployError, missing_extra

__all__ = [
    "HEAD_CONTAINER",
    "OVERWRITE_COMMAND",
    "TOKEN_KEY",
    "KubeRaySettings",
    "dim_service_name",
    "how_to_reach",
    "is_manifest",
    "kuberay_manifest",
    "manifest_yaml",
    "token_secret_name",
]

OVERWRITE_COMMAND = "ray.io/overwrite-container-cmd"
"""KubeRay's annotation (>= 1.1): run the container command as written."""
HEAD_CONTAINER = "ray-head"
TOKEN_KEY = "token"
"""The key of the DIM's token in its Secret."""
SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")

_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?")  # DNS-1123, room for suffixes
_QUANTITY = re.compile(r"\d+(\.\d+)?(m|[KMGTPE]i?)?")
_RAY_PORTS = {"gcs-server": 6379, "dashboard": 8265, "client": 10001}


@dataclass(frozen=True, slots=True, kw_only=True)
class KubeRaySettings:
    """A liuray RayCluster: one head, one autoscaling worker group.

    Attributes:
        cluster: what every liuray cluster shares (``docker`` does not apply: pods
            always run the stock image); ``cluster_name`` names the RayCluster.
        namespace: the Kubernetes namespace of every object.
        min_workers: workers kept even when idle (also the initial count).
        max_workers: most workers the autoscaler starts.
        head_cpus, head_memory, worker_cpus, worker_memory: each pod's requests and
            limits (Kubernetes quantities); Ray reads its CPUs from them.
        idle_timeout_minutes: the autoscaler removes a worker idle this long.
        token: the DIM's access token to put in the Secret (None: a new random one).
        token_secret: an existing Secret (key ``token``) to use instead of writing one.
        service_type: how the DIM's Service is exposed.
    """

    cluster: ClusterSettings
    namespace: str = "default"
    min_workers: int = 0
    max_workers: int = 4
    head_cpus: str = "2"
    head_memory: str = "4Gi"
    worker_cpus: str = "2"
    worker_memory: str = "4Gi"
    idle_timeout_minutes: float = 5
    token: str | None = field(default=None, repr=False)
    token_secret: str | None = None
    service_type: str = "ClusterIP"

    def __post_init__(self) -> None:
        _check_label("cluster name", self.cluster.cluster_name)
        _check_label("namespace", self.namespace)
        check_workers(self.min_workers, self.max_workers)
        check_idle_timeout(self.idle_timeout_minutes)
        for what in ("head_cpus", "head_memory", "worker_cpus", "worker_memory"):
            value = getattr(self, what)
            if not _QUANTITY.fullmatch(value):
                raise DeployError(
                    f"{what.replace('_', ' ')} {value!r} is not a Kubernetes quantity "
                    "such as '2', '500m' or '4Gi'",
                    **{what: value},
                )
        if self.token is not None and self.token_secret is not None:
            raise DeployError("give a token or an existing Secret's name, not both")
        if self.token is not None and (len(self.token) < 4 or not self.token.isprintable()):
            raise DeployError("the token must be at least 4 printable characters")
        if self.token_secret is not None:
            _check_label("token Secret", self.token_secret)
        if self.service_type not in SERVICE_TYPES:
            raise DeployError(
                f"Service type {self.service_type!r} is not one of {list(SERVICE_TYPES)}",
                service_type=self.service_type,
            )


def token_secret_name(settings: KubeRaySettings) -> str:
    """The Secret holding the DIM's token: the given one, else ``<cluster>-dim-token``."""
    return settings.token_secret or f"{settings.cluster.cluster_name}-dim-token"


def dim_service_name(settings: KubeRaySettings) -> str:
    """The Service in front of the DIM: ``<cluster>-dim``."""
    return f"{settings.cluster.cluster_name}-dim"


def kuberay_manifest(
    settings: KubeRaySettings, new_token: Callable[[], str] = lambda: secrets.token_urlsafe(32)
) -> list[dict[str, Any]]:
    """The objects to ``kubectl apply``: [Secret,] RayCluster, Service."""
    documents: list[dict[str, Any]] = []
    if settings.token_secret is None:
        documents.append(_secret(settings, settings.token or new_token()))
    documents.append(_ray_cluster(settings))
    documents.append(_service(settings))
    return documents


def manifest_yaml(documents: Sequence[Mapping[str, Any]], file: str) -> str:
    """The manifest as multi-document YAML, below a comment saying how to use it.

    Raises:
        MissingDependency: PyYAML is not installed.
    """
    try:
        import yaml  # optional: part of the `ray` extra
    except ImportError as err:
        raise missing_extra("pyyaml", "ray") from err
    namespace, _, _, secret = _names(documents)
    header = ["liuray on Kubernetes (KubeRay >= 1.1), written by `liuray ray config kuberay`."]
    if not any(doc["kind"] == "Secret" for doc in documents):
        header += [
            f"  first:     kubectl -n {namespace} create secret generic {secret} "
            f"--from-literal={TOKEN_KEY}=$(python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')",
        ]
    forward, token = how_to_reach(documents)
    header += [
        f"  start:     kubectl apply -f {file}",
        f"  web page:  {forward}   then http://localhost:{_dim_port(documents)}/",
        "  token:     the DIM needs it (Authorization: Bearer TOKEN, or LIURAY_TOKEN=...):",
        f"             {token}",
        f"  tear down: kubectl delete -f {file}",
        "Every pod installs liuray; the head runs Ray plus ONE liuray line, the DIM",
        "(`liuray serve --ray auto`); workers run only Ray. This file holds the DIM's",
        "access token if liuray generated one: keep it private.",
    ]
    body = yaml.safe_dump_all(
        [dict(doc) for doc in documents], sort_keys=False, default_flow_style=False, width=4096
    )
    return "".join(f"# {line}\n" for line in header) + body


def how_to_reach(documents: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """The commands that forward the DIM's port to this machine, and print its token."""
    namespace, service, port, secret = _names(documents)
    forward = f"kubectl -n {namespace} port-forward service/{service} {port}:{port}"
    token = (
        f"kubectl -n {namespace} get secret {secret} "
        f"-o jsonpath='{{.data.{TOKEN_KEY}}}' | base64 -d"
    )
    return forward, token


def is_manifest(documents: Sequence[Mapping[str, Any]]) -> bool:
    """Whether these YAML documents are a liuray KubeRay manifest (cluster + Service)."""
    kinds = {document.get("kind") for document in documents}
    return {"RayCluster", "Service"} <= kinds


# ---------------------------------------------------------------- the objects


def _metadata(settings: KubeRaySettings, name: str) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": "liuray", "app.kubernetes.io/instance": name}
    return {"name": name, "namespace": settings.namespace, "labels": labels}


def _secret(settings: KubeRaySettings, token: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(settings, token_secret_name(settings)),
        "type": "Opaque",
        "stringData": {TOKEN_KEY: token},
    }


def _service(settings: KubeRaySettings) -> dict[str, Any]:
    port = settings.cluster.port
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(settings, dim_service_name(settings)),
        "spec": {
            "type": settings.service_type,
            # the labels KubeRay puts on a cluster's head pod
            "selector": {
                "ray.io/cluster": settings.cluster.cluster_name,
                "ray.io/node-type": "head",
            },
            "ports": [{"name": "liuray", "port": port, "targetPort": port, "protocol": "TCP"}],
        },
    }


def _ray_cluster(settings: KubeRaySettings) -> dict[str, Any]:
    cluster = settings.cluster
    metadata = _metadata(settings, cluster.cluster_name)
    metadata["annotations"] = {OVERWRITE_COMMAND: "true"}
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayCluster",
        "metadata": metadata,
        "spec": {
            "rayVersion": cluster.ray_version,
            "enableInTreeAutoscaling": True,
            "autoscalerOptions": {
                "upscalingMode": "Default",
                "idleTimeoutSeconds": round(settings.idle_timeout_minutes * 60),
            },
            "headGroupSpec": {
                "rayStartParams": {},
                "template": {"spec": {"containers": [_head_container(settings)]}},
            },
            "workerGroupSpecs": [
                {
                    "groupName": "workers",
                    "replicas": settings.min_workers,
                    "minReplicas": settings.min_workers,
                    "maxReplicas": settings.max_workers,
                    "rayStartParams": {},
                    "template": {"spec": {"containers": [_worker_container(settings)]}},
                }
            ],
        },
    }


def _head_container(settings: KubeRaySettings) -> dict[str, Any]:
    port = settings.cluster.port
    ports = [{"name": name, "containerPort": number} for name, number in _RAY_PORTS.items()]
    ports.append({"name": "liuray", "containerPort": port})
    container = _container(settings, HEAD_CONTAINER, dim_line(port))
    container["env"] = [
        {
            "name": "LIURAY_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": token_secret_name(settings), "key": TOKEN_KEY}},
        }
    ]
    container["ports"] = ports
    container["resources"] = _resources(settings.head_cpus, settings.head_memory)
    return container


def _worker_container(settings: KubeRaySettings) -> dict[str, Any]:
    container = _container(settings, "ray-worker", None)
    container["resources"] = _resources(settings.worker_cpus, settings.worker_memory)
    return container


def _container(settings: KubeRaySettings, name: str, dim: str | None) -> dict[str, Any]:
    cluster = settings.cluster
    # `ulimit` as KubeRay's own command has it; the DIM line ends in `&`, so no `;`
    command = f"ulimit -n 65536; {install_command(cluster)}; "
    if dim is not None:
        command += f"{dim} "
    command += "$KUBERAY_GEN_RAY_START_CMD"
    return {
        "name": name,
        "image": docker_image(cluster.ray_version, cluster.python_version),
        "command": ["/bin/bash", "-lc", "--"],
        "args": [command],
    }


def dim_line(port: int) -> str:
    """The head's one liuray line: the DIM, in the background once the local Ray answers.

    Its output goes to the container's (``kubectl logs``); ``LIURAY_TOKEN`` is set from
    the Secret, which ``--host 0.0.0.0`` requires.
    """
    return (
        "(until ray health-check >/dev/null 2>&1; do sleep 1; done; "
        f"exec liuray serve --ray auto --host 0.0.0.0 --port {port}) &"
    )


def _resources(cpus: str, memory: str) -> dict[str, Any]:
    amounts = {"cpu": cpus, "memory": memory}
    return {"requests": dict(amounts), "limits": dict(amounts)}


def _dim_port(documents: Sequence[Mapping[str, Any]]) -> int:
    return _names(documents)[2]


def _names(documents: Sequence[Mapping[str, Any]]) -> tuple[str, str, int, str]:
    """(namespace, the DIM's Service, its port, the token's Secret) of a manifest."""
    cluster = next(doc for doc in documents if doc["kind"] == "RayCluster")
    service = next(doc for doc in documents if doc["kind"] == "Service")
    head = cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]
    secret = head["env"][0]["valueFrom"]["secretKeyRef"]["name"]
    port = service["spec"]["ports"][0]["port"]
    namespace = cluster["metadata"].get("namespace", "default")
    return str(namespace), str(service["metadata"]["name"]), int(port), str(secret)


def _check_label(what: str, value: str) -> None:
    if not _LABEL.fullmatch(value):
        raise DeployError(
            f"{what} {value!r} is not usable in Kubernetes: use at most 40 lowercase "
            "letters, digits and '-', starting and ending with a letter or digit",
            what=what,
            value=value,
        )
