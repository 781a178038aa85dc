"""The KubeRay manifest: valid against the RayCluster CRD schema, stock images only,
the DIM on the head with its token from a Secret, a Service in front of it."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("yaml")

import yaml

from liuray.cli.main import main
from liuray.deploy.configs import ClusterSettings, install_command
from liuray.deploy.kuberay import (
    OVERWRITE_COMMAND,
    KubeRaySettings,
    dim_line,
    kuberay_manifest,
    manifest_yaml,
)
from liuray.errors import DeployError

RAY = "2.60.0"
CRD = Path(__file__).parent / "data" / "kuberay-raycluster-crd.yaml"
COMMITTED = Path(__file__).resolve().parents[2] / "deploy" / "kuberay" / "liuray.yaml"
STOCK_IMAGE = re.compile(r"rayproject/ray:\d+\.\d+\.\d+(-py3\d+)?")


def settings(**overrides: Any) -> KubeRaySettings:
    cluster = overrides.pop("cluster", ClusterSettings(ray_version=RAY))
    return KubeRaySettings(cluster=cluster, **overrides)


def manifest(**overrides: Any) -> list[dict[str, Any]]:
    return kuberay_manifest(settings(**overrides), new_token=lambda: "generated-token")


def by_kind(documents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {document["kind"]: document for document in documents}


def committed() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(COMMITTED.read_text()) if doc]


ALL_MANIFESTS: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "default": manifest,
    "scaled": lambda: manifest(min_workers=2, max_workers=10, worker_cpus="8"),
    "own-secret": lambda: manifest(token_secret="my-token", namespace="science"),
    "committed": committed,
}


@pytest.fixture(scope="module")
def ray_cluster_schema() -> Callable[[dict[str, Any]], None]:
    """The vendored RayCluster CRD's openAPIV3Schema, as a validator that also checks
    the object's apiVersion and kind against the CRD's group, version and kind."""
    jsonschema = pytest.importorskip("jsonschema")
    crd = yaml.safe_load(CRD.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["served"]]
    schema = version["schema"]["openAPIV3Schema"]
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)

    def validate(document: dict[str, Any]) -> None:
        assert document["apiVersion"] == f"{crd['spec']['group']}/{version['name']}"
        assert document["kind"] == crd["spec"]["names"]["kind"]
        validator.validate(document)

    return validate


@pytest.mark.parametrize("name", sorted(ALL_MANIFESTS))
def test_ray_cluster_passes_the_crd_schema(
    name: str, ray_cluster_schema: Callable[[dict[str, Any]], None]
) -> None:
    """Each RayCluster, generated or committed, validates against the CRD's schema."""
    ray_cluster_schema(by_kind(ALL_MANIFESTS[name]())["RayCluster"])


def test_crd_schema_really_bites(ray_cluster_schema: Callable[[dict[str, Any]], None]) -> None:
    """A misspelt field (which Kubernetes would silently drop) and a bad value fail."""
    jsonschema = pytest.importorskip("jsonschema")
    cluster = by_kind(manifest())["RayCluster"]
    cluster["spec"]["enableInTreeAutoScaling"] = True
    with pytest.raises(jsonschema.ValidationError, match="enableInTreeAutoScaling"):
        ray_cluster_schema(cluster)
    cluster = by_kind(manifest())["RayCluster"]
    cluster["spec"]["autoscalerOptions"]["upscalingMode"] = "Fast"
    with pytest.raises(jsonschema.ValidationError, match="Fast"):
        ray_cluster_schema(cluster)


@pytest.mark.parametrize("name", sorted(ALL_MANIFESTS))
def test_only_stock_images(name: str) -> None:
    """Every container of every object runs the stock Ray image (no custom image), and
    the autoscaler sidecar is left to KubeRay (it reuses the head's image)."""
    text = yaml.safe_dump_all(ALL_MANIFESTS[name]())
    images = re.findall(r"\bimage: (\S+)", text)
    assert images and all(STOCK_IMAGE.fullmatch(image) for image in images), images
    cluster = by_kind(ALL_MANIFESTS[name]())["RayCluster"]
    assert "image" not in cluster["spec"]["autoscalerOptions"]


def containers(cluster: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = cluster["spec"]
    (head,) = spec["headGroupSpec"]["template"]["spec"]["containers"]
    (group,) = spec["workerGroupSpecs"]
    (worker,) = group["template"]["spec"]["containers"]
    return head, worker


def test_dim_runs_on_the_head_only() -> None:
    """Both containers install liuray and then start Ray with KubeRay's generated
    command; the head alone runs the one liuray line in between (in the background)."""
    cluster = by_kind(manifest())["RayCluster"]
    assert cluster["metadata"]["annotations"] == {OVERWRITE_COMMAND: "true"}
    head, worker = containers(cluster)
    install = install_command(ClusterSettings(ray_version=RAY))
    assert head["command"] == worker["command"] == ["/bin/bash", "-lc", "--"]
    assert head["args"] == [
        f"ulimit -n 65536; {install}; {dim_line(8001)} $KUBERAY_GEN_RAY_START_CMD"
    ]
    assert worker["args"] == [f"ulimit -n 65536; {install}; $KUBERAY_GEN_RAY_START_CMD"]
    assert "liuray serve --ray auto --host 0.0.0.0 --port 8001" in dim_line(8001)


def test_container_commands_are_valid_bash(tmp_path: Path) -> None:
    """bash parses both container commands as written."""
    import subprocess

    for container in containers(by_kind(manifest())["RayCluster"]):
        (command,) = container["args"]
        result = subprocess.run(["bash", "-n", "-c", command], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_dim_token_comes_from_a_secret() -> None:
    """The DIM listens on the pod's addresses, so it has a token: LIURAY_TOKEN from the
    Secret written beside the cluster (a new token, or the one given), or from an
    existing Secret when one is named (then none is written)."""
    documents = by_kind(manifest())
    head, _ = containers(documents["RayCluster"])
    (variable,) = head["env"]
    assert variable == {
        "name": "LIURAY_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "liuray-dim-token", "key": "token"}},
    }
    assert documents["Secret"]["stringData"] == {"token": "generated-token"}
    assert by_kind(manifest(token="mine!"))["Secret"]["stringData"] == {"token": "mine!"}
    own = by_kind(manifest(token_secret="my-token"))
    assert "Secret" not in own
    (variable,) = containers(own["RayCluster"])[0]["env"]
    assert variable["valueFrom"]["secretKeyRef"]["name"] == "my-token"


def test_new_tokens_are_random() -> None:
    """Without a token given, each manifest gets its own strong random token."""
    tokens = {
        by_kind(kuberay_manifest(settings()))["Secret"]["stringData"]["token"] for _ in range(3)
    }
    assert len(tokens) == 3 and all(len(token) >= 40 for token in tokens)


def test_service_exposes_the_dim_port_of_the_head_pod() -> None:
    """The Service selects the head pod by KubeRay's labels and forwards the DIM's port,
    which the head container declares."""
    documents = by_kind(manifest(service_type="LoadBalancer"))
    service = documents["Service"]
    assert service["spec"] == {
        "type": "LoadBalancer",
        "selector": {"ray.io/cluster": "liuray", "ray.io/node-type": "head"},
        "ports": [{"name": "liuray", "port": 8001, "targetPort": 8001, "protocol": "TCP"}],
    }
    head, _ = containers(documents["RayCluster"])
    assert {"name": "liuray", "containerPort": 8001} in head["ports"]


def test_autoscaling_settings() -> None:
    """In-tree autoscaling on; workers between min and max, starting at min; the idle
    timeout in seconds, as for the launcher configs."""
    cluster = by_kind(manifest(min_workers=1, max_workers=7, idle_timeout_minutes=4))
    spec = cluster["RayCluster"]["spec"]
    assert spec["enableInTreeAutoscaling"] is True
    assert spec["autoscalerOptions"] == {"upscalingMode": "Default", "idleTimeoutSeconds": 240}
    (group,) = spec["workerGroupSpecs"]
    assert (group["replicas"], group["minReplicas"], group["maxReplicas"]) == (1, 1, 7)
    _, worker = containers(cluster["RayCluster"])
    assert worker["resources"]["limits"] == {"cpu": "2", "memory": "4Gi"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cluster": ClusterSettings(ray_version=RAY, cluster_name="My_Cluster")}, "Kubernetes"),
        ({"namespace": "Science"}, "namespace"),
        ({"worker_memory": "4 GB"}, "Kubernetes quantity"),
        ({"idle_timeout_minutes": 1}, "too short"),
        ({"min_workers": 3, "max_workers": 1}, r"min \(3\)"),
        ({"token": "a", "token_secret": "b"}, "not both"),
        ({"service_type": "Ingress"}, "Service type"),
    ],
)
def test_unusable_settings_are_refused(overrides: dict[str, Any], message: str) -> None:
    """Settings Kubernetes or KubeRay would refuse fail before anything is written."""
    with pytest.raises(DeployError, match=message):
        settings(**overrides)


def test_yaml_says_how_to_use_it_and_round_trips() -> None:
    """The file starts with the commands to apply it, reach the page and get the token,
    then holds the documents; a manifest without its Secret says how to create one."""
    documents = manifest()
    text = manifest_yaml(documents, "liuray.yaml")
    assert "kubectl apply -f liuray.yaml" in text
    assert "port-forward service/liuray-dim 8001:8001" in text
    assert [doc for doc in yaml.safe_load_all(text) if doc] == documents
    assert "create secret generic my-token" in manifest_yaml(
        manifest(token_secret="my-token"), "x.yaml"
    )


def test_cli_writes_a_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`liuray ray config kuberay -o FILE` writes it and says to kubectl apply it."""
    target = tmp_path / "liuray.yaml"
    argv = ["ray", "config", "kuberay", "--ray-version", RAY, "--max-workers", "3"]
    assert main([*argv, "--token", "from-cli", "-o", str(target)]) == 0
    documents = by_kind([doc for doc in yaml.safe_load_all(target.read_text()) if doc])
    assert documents["Secret"]["stringData"]["token"] == "from-cli"
    assert f"kubectl apply -f {shlex.quote(str(target))}" in capsys.readouterr().err


def test_dashboard_reads_a_manifest(capsys: pytest.CaptureFixture[str]) -> None:
    """`liuray ray dashboard --cluster-config` on a KubeRay manifest prints the
    port-forward to the DIM's Service and how to get its token."""
    assert main(["ray", "dashboard", "--cluster-config", str(COMMITTED)]) == 0
    out = capsys.readouterr().out
    assert "kubectl -n default port-forward service/liuray-dim 8001:8001" in out
    assert "get secret liuray-dim-token -o jsonpath='{.data.token}' | base64 -d" in out
