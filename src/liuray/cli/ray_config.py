# SPDX-License-Identifier: LGPL-2.1-or-later
"""``liuray ray config PROVIDER``: write what starts a liuray cluster on each platform.

One sub-command per platform Ray runs on, each writing one file to standard output or
``-o FILE``; starting the cluster from it is then one command of the platform's own:

| provider | writes | then |
|---|---|---|
| ``aws``, ``gcp``, ``azure``, ``local`` | a cluster-launcher YAML | ``ray up FILE -y`` |
| ``kuberay`` | a RayCluster, its token Secret and a Service | ``kubectl apply -f FILE`` |
| ``slurm`` | an ``sbatch`` script | ``sbatch FILE`` |

The configs themselves are built by :mod:`liuray.deploy` (pure functions); this module
only maps options onto them. Exit status: 0 written, 2 unusable option (nothing written).

The launcher configs give the DIM an access token: ``--token TOKEN``, else
``$LIURAY_TOKEN``, else a new random one (``secrets.token_urlsafe``); ``--no-token``
leaves it open to every user of the head. A file that holds a token (these, and a
KubeRay manifest with its Secret) is written with mode 600, and the command says it is
a secret.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from liuray.deploy.clouds import NodeTypes, azure_config, gcp_config
from liuray.deploy.configs import (
    DEFAULT_PORT,
    TOKEN_VARIABLE,
    ClusterSettings,
    aws_config,
    dim_token,
    local_config,
    region_warning,
    to_yaml,
)
from liuray.deploy.kuberay import KubeRaySettings, kuberay_manifest, manifest_yaml
from liuray.deploy.slurm import SlurmSettings, slurm_script
from liuray.errors import LiurayError, MissingDependency

_HEADER = """\
Ray cluster-launcher config for liuray, written by `liuray ray config {provider}`.
  start or update:  ray up {file} -y   (re-running keeps one DIM and one NM per node)
  liuray web page:  liuray ray dashboard --cluster-config {file}
  tear down:        ray down {file} -y
Every node installs liuray (setup_commands). The head runs Ray plus ONE liuray line,
the DIM (`liuray serve --ray`); workers run only Ray: the DIM places a node manager,
a Ray actor, on each node. See deploy/README.md in liuray's sources."""

_HOLDS_TOKEN = """SECRET: this file holds the DIM's access token (in head_setup_commands): keep it
private. Ray caches the config, token included, in $TMPDIR/ray-config-*: on a shared machine,
run `ray` commands with TMPDIR set to a folder of your own."""

_NO_TOKEN = """The DIM runs WITHOUT an access token (--no-token): every user and process on the head
can use it through its loopback port."""

_NEXT_STEP = {
    "kuberay": "kubectl apply -f {file}",
    "slurm": "sbatch {file}",
}


def add_providers(providers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register one sub-command per platform under ``liuray ray config``."""
    _add_aws(providers)
    _add_gcp(providers)
    _add_azure(providers)
    _add_local(providers)
    _add_kuberay(providers)
    _add_slurm(providers)


def write_config(args: argparse.Namespace) -> int:
    """Build the file for ``args.provider`` and write it; return the exit status."""
    file = str(args.output) if args.output else _DEFAULT_FILE[args.provider]
    try:
        text = _BUILDERS[args.provider](args, file)
    except LiurayError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 2
    if args.provider == "aws" and (warning := region_warning(args.region)):
        print(f"warning: {warning}", file=sys.stderr)
    secret = _holds_token(args)
    if args.output is None:
        sys.stdout.write(text)
        if secret:
            print("note: this config holds the DIM's access token: keep it secret", file=sys.stderr)
        return 0
    try:
        if secret:  # private before the token is written into it
            args.output.touch(mode=0o600)
            args.output.chmod(0o600)
        args.output.write_text(text, encoding="utf-8")
        if args.provider == "slurm":
            args.output.chmod(0o755)
    except OSError as err:
        print(f"error: cannot write {args.output}: {err.strerror}", file=sys.stderr)
        return 2
    step = _NEXT_STEP.get(args.provider, "ray up {file} -y").format(file=args.output)
    print(f"wrote {args.output}; start the cluster with: {step}", file=sys.stderr)
    if secret:
        print(
            f"{args.output} holds the DIM's access token: it is a secret now (mode 600); "
            f"`liuray ray dashboard --cluster-config {args.output}` prints the token",
            file=sys.stderr,
        )
    return 0


def _holds_token(args: argparse.Namespace) -> bool:
    """Whether the file written for ``args`` carries the DIM's access token."""
    if args.provider == "kuberay":
        return args.token_secret is None  # else the token stays in that Secret
    return getattr(args, "dim_token", None) is not None


def resolve_token(args: argparse.Namespace) -> str | None:
    """The launcher config's token: ``--token``, ``$LIURAY_TOKEN``, a new one, or None
    with ``--no-token``; says on standard error where it came from."""
    if args.no_token:
        return None
    if args.token is not None:
        return str(args.token)
    given = os.environ.get(TOKEN_VARIABLE)
    if given:
        print(f"the DIM's access token: ${TOKEN_VARIABLE} (from your environment)", file=sys.stderr)
        return given
    return secrets.token_urlsafe(32)


# ---------------------------------------------------------------- builders


def _settings(args: argparse.Namespace) -> ClusterSettings:
    return ClusterSettings(
        ray_version=args.ray_version or installed_ray(),
        cluster_name=args.cluster_name,
        liuray_version=args.liuray_version,
        docker=getattr(args, "docker", True),
        python_version=args.python,
        port=args.port,
        token=getattr(args, "dim_token", None),
    )


def _launcher_settings(args: argparse.Namespace) -> ClusterSettings:
    """The settings of a launcher config, with its token chosen (see resolve_token)."""
    args.dim_token = resolve_token(args)
    return _settings(args)


def _launcher_yaml(config: dict[str, Any], provider: str, file: str) -> str:
    access = _HOLDS_TOKEN if dim_token(config) else _NO_TOKEN
    return to_yaml(config, _HEADER.format(provider=provider, file=file) + "\n" + access)


def _scaling(args: argparse.Namespace) -> dict[str, Any]:
    """The node-type options every autoscaling cloud shares."""
    return {
        "head_type": args.head_type,
        "worker_type": args.worker_type,
        "min_workers": args.min_workers,
        "max_workers": args.max_workers,
        "spot": args.spot,
        "idle_timeout_minutes": args.idle_timeout_minutes,
    }


def _build_aws(args: argparse.Namespace, file: str) -> str:
    config = aws_config(_launcher_settings(args), region=args.region, **_scaling(args))
    return _launcher_yaml(config, "aws", file)


def _build_gcp(args: argparse.Namespace, file: str) -> str:
    nodes = NodeTypes(**_scaling(args), worker_cpus=args.worker_cpus)
    config = gcp_config(
        _launcher_settings(args), nodes, project_id=args.project, region=args.region, zone=args.zone
    )
    return _launcher_yaml(config, "gcp", file)


def _build_azure(args: argparse.Namespace, file: str) -> str:
    nodes = NodeTypes(**_scaling(args), worker_cpus=args.worker_cpus)
    config = azure_config(
        _launcher_settings(args),
        nodes,
        location=args.location,
        resource_group=args.resource_group,
        subscription_id=args.subscription_id,
    )
    return _launcher_yaml(config, "azure", file)


def _build_local(args: argparse.Namespace, file: str) -> str:
    workers = [host.strip() for host in args.workers.split(",") if host.strip()]
    config = local_config(
        _launcher_settings(args),
        head_ip=args.head,
        worker_ips=workers,
        ssh_user=args.ssh_user,
        ssh_key=args.ssh_key,
    )
    return _launcher_yaml(config, "local", file)


def _build_kuberay(args: argparse.Namespace, file: str) -> str:
    settings = KubeRaySettings(
        cluster=_settings(args),
        namespace=args.namespace,
        min_workers=args.min_workers,
        max_workers=args.max_workers,
        head_cpus=args.head_cpus,
        head_memory=args.head_memory,
        worker_cpus=args.worker_cpus,
        worker_memory=args.worker_memory,
        idle_timeout_minutes=args.idle_timeout_minutes,
        token=args.token,
        token_secret=args.token_secret,
        service_type=args.service_type,
    )
    return manifest_yaml(kuberay_manifest(settings), file)


def _build_slurm(args: argparse.Namespace, file: str) -> str:
    settings = SlurmSettings(
        nodes=args.nodes,
        cpus_per_node=args.cpus_per_node,
        gpus_per_node=args.gpus_per_node,
        time_limit=args.time,
        partition=args.partition,
        account=args.account,
        job_name=args.cluster_name,
        port=args.port,
        ray_port=args.ray_port,
        stop_grace_s=args.stop_grace,
        setup=args.setup,
    )
    return slurm_script(settings)


_BUILDERS: dict[str, Callable[[argparse.Namespace, str], str]] = {
    "aws": _build_aws,
    "gcp": _build_gcp,
    "azure": _build_azure,
    "local": _build_local,
    "kuberay": _build_kuberay,
    "slurm": _build_slurm,
}
_DEFAULT_FILE = {
    "aws": "cluster.yaml",
    "gcp": "cluster.yaml",
    "azure": "cluster.yaml",
    "local": "cluster.yaml",
    "kuberay": "liuray-kuberay.yaml",
    "slurm": "liuray.sbatch",
}


def installed_ray() -> str:
    """The version of the ``ray`` installed here (what will run ``ray up``)."""
    try:
        return metadata.version("ray")
    except metadata.PackageNotFoundError:
        raise MissingDependency(
            "Ray is not installed here; pass --ray-version (the version of the ray that "
            "will run `ray up`) or install it with: pip install 'liuray[ray]'",
            module="ray",
            extra="ray",
        ) from None


# ---------------------------------------------------------------- options


def _add_aws(providers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    aws = providers.add_parser(
        "aws",
        help="autoscaling AWS cluster (Ray's default AMI, optional Spot workers)",
        description="An autoscaling AWS cluster: one head and one worker instance type, "
        "Ray's default image per region (no AMI id to find), Spot workers on request.",
    )
    aws.add_argument("--region", default="us-west-2", help="AWS region (default: %(default)s)")
    _add_machine_types(aws, "m5.large", "instance type")
    _add_scaling(aws, spot="run workers on Spot instances")
    _add_launcher_common(aws)
    aws.set_defaults(handler=write_config, provider="aws")


def _add_gcp(providers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gcp = providers.add_parser(
        "gcp",
        help="autoscaling Google Cloud cluster (Ray's default image family, Spot workers)",
        description="An autoscaling Google Cloud cluster: one head and one worker machine "
        "type, Ray's default boot image family (no image id to find), Spot workers on "
        "request, the stock Ray image in Docker.",
    )
    gcp.add_argument("--project", required=True, metavar="ID", help="GCP project id")
    gcp.add_argument("--region", default="us-west1", help="GCP region (default: %(default)s)")
    gcp.add_argument("--zone", metavar="ZONE", help="availability zone (default: REGION-a)")
    _add_machine_types(gcp, "n2-standard-2", "machine type")
    _add_scaling(gcp, spot="run workers on Spot VMs (deleted when taken back)")
    _add_worker_cpus(gcp)
    _add_launcher_common(gcp, docker=False)
    gcp.set_defaults(handler=write_config, provider="gcp")


def _add_azure(providers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    azure = providers.add_parser(
        "azure",
        help="autoscaling Azure cluster (Ray's default marketplace image, Spot workers)",
        description="An autoscaling Azure cluster: one head and one worker VM size, Ray's "
        "default marketplace image (no image id to find), Spot workers on request, the "
        "stock Ray image in Docker.",
    )
    azure.add_argument(
        "--location", default="westus2", help="Azure location (default: %(default)s)"
    )
    azure.add_argument(
        "--resource-group",
        default="liuray",
        metavar="NAME",
        help="resource group; Ray creates it if missing (default: %(default)s)",
    )
    azure.add_argument(
        "--subscription-id", metavar="ID", help="subscription (default: the Azure CLI's)"
    )
    _add_machine_types(azure, "Standard_D2s_v5", "VM size")
    _add_scaling(azure, spot="run workers as Azure Spot VMs")
    _add_worker_cpus(azure)
    _add_launcher_common(azure, docker=False)
    azure.set_defaults(handler=write_config, provider="azure")


def _add_local(providers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    local = providers.add_parser(
        "local",
        help="fixed on-prem hosts reached over ssh (Ray's local provider)",
        description="An on-prem cluster of fixed hosts, started over ssh by `ray up`.",
    )
    local.add_argument("--head", required=True, metavar="HOST", help="head host or IP")
    local.add_argument(
        "--workers",
        default="",
        metavar="H1,H2",
        help="comma-separated worker hosts or IPs (default: none)",
    )
    local.add_argument("--ssh-user", required=True, metavar="USER", help="ssh user on every host")
    local.add_argument("--ssh-key", metavar="PATH", help="ssh private key (default: ssh's own)")
    _add_launcher_common(local)
    local.set_defaults(handler=write_config, provider="local")


def _add_kuberay(providers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kuberay = providers.add_parser(
        "kuberay",
        help="Kubernetes: a KubeRay RayCluster with the DIM on its head, and a Service",
        description="A KubeRay RayCluster (stock Ray image, in-tree autoscaling) whose "
        "head pod runs the DIM beside Ray, the Secret holding the DIM's access token, and "
        "a Service for its port. Needs KubeRay 1.1 or newer in the Kubernetes cluster.",
    )
    kuberay.add_argument(
        "--namespace", default="default", help="Kubernetes namespace (default: %(default)s)"
    )
    kuberay.add_argument("--min-workers", type=int, default=0, metavar="N", help="(default: 0)")
    kuberay.add_argument("--max-workers", type=int, default=4, metavar="N", help="(default: 4)")
    kuberay.add_argument("--head-cpus", default="2", metavar="CPU", help="(default: 2)")
    kuberay.add_argument("--head-memory", default="4Gi", metavar="MEM", help="(default: 4Gi)")
    kuberay.add_argument("--worker-cpus", default="2", metavar="CPU", help="(default: 2)")
    kuberay.add_argument("--worker-memory", default="4Gi", metavar="MEM", help="(default: 4Gi)")
    _add_idle_timeout(kuberay)
    token = kuberay.add_mutually_exclusive_group()
    token.add_argument(
        "--token",
        metavar="TOKEN",
        help="the DIM's access token to put in the Secret (default: a new random one)",
    )
    token.add_argument(
        "--token-secret",
        metavar="NAME",
        help="use this existing Secret (key 'token') instead of writing one",
    )
    kuberay.add_argument(
        "--service-type",
        default="ClusterIP",
        choices=["ClusterIP", "NodePort", "LoadBalancer"],
        help="how the DIM's Service is exposed (default: %(default)s)",
    )
    _add_versions(kuberay, "the RayCluster's name; also names its Secret and Service")
    kuberay.set_defaults(handler=write_config, provider="kuberay")


def _add_slurm(providers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    slurm = providers.add_parser(
        "slurm",
        help="an sbatch script: Ray on every node of the allocation, the DIM on the first",
        description="An sbatch script following Ray's SLURM pattern: the Ray head and the "
        "DIM on the allocation's first node, a Ray worker on each other node (srun), all "
        "stopped cleanly before the time limit.",
    )
    slurm.add_argument("--nodes", type=int, default=2, metavar="N", help="(default: 2)")
    slurm.add_argument(
        "--cpus-per-node", type=int, default=None, metavar="N", help="(default: all)"
    )
    slurm.add_argument("--gpus-per-node", type=int, default=0, metavar="N", help="(default: 0)")
    slurm.add_argument(
        "--time", default="01:00:00", metavar="HH:MM:SS", help="time limit (default: %(default)s)"
    )
    slurm.add_argument("--partition", metavar="NAME", help="(default: the cluster's)")
    slurm.add_argument("--account", metavar="NAME", help="(default: yours)")
    slurm.add_argument(
        "--ray-port", type=int, default=6379, metavar="PORT", help="Ray's GCS port (default: 6379)"
    )
    slurm.add_argument(
        "--stop-grace",
        type=int,
        default=90,
        metavar="S",
        help="SLURM warns the job this long before the time limit, to stop cleanly "
        "(default: %(default)s)",
    )
    slurm.add_argument(
        "--setup",
        default="",
        metavar="SHELL",
        help="shell line run first on every node, e.g. 'module load python/3.11; "
        "source ~/venv/bin/activate' (default: none)",
    )
    slurm.add_argument(
        "--cluster-name",
        default="liuray",
        metavar="NAME",
        help="the job name (default: %(default)s)",
    )
    _add_port_and_output(slurm)
    slurm.set_defaults(handler=write_config, provider="slurm")


def _add_machine_types(parser: argparse.ArgumentParser, default: str, kind: str) -> None:
    parser.add_argument(
        "--head-type",
        default=default,
        metavar="TYPE",
        help=f"head {kind}; it runs Ray's GCS and the DIM (default: %(default)s)",
    )
    parser.add_argument(
        "--worker-type",
        default=default,
        metavar="TYPE",
        help=f"worker {kind} (default: %(default)s)",
    )


def _add_scaling(parser: argparse.ArgumentParser, *, spot: str) -> None:
    parser.add_argument(
        "--min-workers",
        type=int,
        default=0,
        metavar="N",
        help="workers kept even when idle (default: %(default)s)",
    )
    parser.add_argument(
        "--max-workers",
        type=int,
        default=2,
        metavar="N",
        help="most workers the autoscaler starts (default: %(default)s)",
    )
    parser.add_argument(
        "--spot",
        action=argparse.BooleanOptionalAction,
        default=False,
        help=f"{spot}; the head stays on-demand (default: off)",
    )
    _add_idle_timeout(parser)


def _add_idle_timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--idle-timeout-minutes",
        type=float,
        default=5,
        metavar="MIN",
        help="Ray removes a worker idle this long; liuray releases an idle "
        "node's manager after 60 s, so it must be longer (default: %(default)s)",
    )


def _add_worker_cpus(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--worker-cpus",
        type=int,
        metavar="N",
        help="CPUs of a worker (default: read from the worker type's name)",
    )


def _add_launcher_common(parser: argparse.ArgumentParser, *, docker: bool = True) -> None:
    _add_versions(parser, "the launcher's cluster name")
    token = parser.add_mutually_exclusive_group()
    token.add_argument(
        "--token",
        metavar="TOKEN",
        help="the DIM's access token, written into the config (which is then a secret) "
        f"and onto the head (~/.liuray/dim.env, mode 600); default: ${TOKEN_VARIABLE} "
        "if set, else a new random one",
    )
    token.add_argument(
        "--no-token",
        action="store_true",
        help="start the DIM without an access token: every user and process on the head "
        "can use it through its loopback port",
    )
    if docker:
        parser.add_argument(
            "--docker",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="run in the stock rayproject/ray image; --no-docker uses the "
            "hosts' own Python 3.11+ (default: docker)",
        )


def _add_versions(parser: argparse.ArgumentParser, name: str) -> None:
    """The cluster's name, the Python, Ray and liuray versions, the port and the output."""
    parser.add_argument(
        "--cluster-name", default="liuray", metavar="NAME", help=f"{name} (default: %(default)s)"
    )
    parser.add_argument(
        "--python",
        default="3.11",
        metavar="X.Y",
        help="Python of the stock image (default: %(default)s)",
    )
    parser.add_argument(
        "--ray-version",
        metavar="X.Y.Z",
        help="Ray on the nodes; must match the ray that runs `ray up` (default: the installed ray)",
    )
    parser.add_argument(
        "--liuray-version",
        metavar="SPEC",
        help="liuray to install: a version, a specifier or a URL (default: the newest release)",
    )
    _add_port_and_output(parser)


def _add_port_and_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="the DIM's port: REST API and web page (default: %(default)s)",
    )
    parser.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write here instead of standard output"
    )
