# SPDX-License-Identifier: LGPL-2.1-or-later
"""``liuray ray ...``: Ray cluster-launcher configs, and how to reach the web page.

- ``liuray ray config aws|local ...`` writes a ``ray up`` config (YAML) to standard
  output or ``-o FILE``: the stock Ray image, ``pip install 'liuray[ray]'`` on every
  node, one liuray line on the head (the DIM), nothing liuray-specific on workers.
  See :mod:`liuray.deploy.configs` for what goes where and why.
- ``liuray ray dashboard [--cluster-config FILE]`` prints the commands that forward
  the one liuray port (the DIM's REST API and web page) next to Ray's dashboard.

Exit status: 0 done, 2 unusable option or config file (nothing written).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from liuray.deploy.configs import (
    DEFAULT_PORT,
    RAY_DASHBOARD_PORT,
    ClusterSettings,
    aws_config,
    dim_port,
    local_config,
    region_warning,
    to_yaml,
)
from liuray.errors import DeployError, LiurayError, MissingDependency, missing_extra

_EXAMPLES = """\
examples:
  liuray ray config aws --region us-west-2 --worker-type m5.2xlarge --max-workers 8 \\
      --spot -o aws.yaml
      autoscaling AWS cluster, 0-8 Spot workers, stock image; then: ray up aws.yaml -y
  liuray ray config local --head 10.0.0.1 --workers 10.0.0.2,10.0.0.3 --ssh-user ray \\
      --ssh-key ~/.ssh/id_ed25519 --no-docker -o onprem.yaml
      three fixed hosts over ssh, using their own Python (3.11+)
  liuray ray dashboard --cluster-config aws.yaml
      how to open the liuray web page (and Ray's dashboard) from this machine
"""
_HEADER = """\
Ray cluster-launcher config for liuray, written by `liuray ray config {provider}`.
  start or update:  ray up {file} -y   (re-running keeps one DIM and one NM per node)
  liuray web page:  liuray ray dashboard --cluster-config {file}
  tear down:        ray down {file} -y
Every node installs liuray (setup_commands). The head runs Ray plus ONE liuray line,
the DIM (`liuray serve --ray`); workers run only Ray: the DIM places a node manager,
a Ray actor, on each node. See deploy/ray/README.md in liuray's sources."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``liuray ray`` and its sub-commands."""
    parser = commands.add_parser(
        "ray",
        help="Ray cluster configs (ray up) and the port to forward for the web page",
        description="Deploy liuray on a Ray cluster with Ray's own launcher (`ray up`).",
        epilog=_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=_usage(parser))
    actions = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_config(actions)
    _add_dashboard(actions)


def _add_config(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = actions.add_parser(
        "config",
        help="write a `ray up` cluster config for AWS or on-prem hosts",
        description="Write a Ray cluster-launcher config (YAML) that runs liuray.",
    )
    parser.set_defaults(handler=_usage(parser))
    providers = parser.add_subparsers(title="providers", metavar="PROVIDER")

    aws = providers.add_parser(
        "aws",
        help="autoscaling AWS cluster (Ray's default AMI, optional Spot workers)",
        description="An autoscaling AWS cluster: one head and one worker instance type, "
        "Ray's default image per region (no AMI id to find), Spot workers on request.",
    )
    aws.add_argument("--region", default="us-west-2", help="AWS region (default: %(default)s)")
    aws.add_argument(
        "--head-type",
        default="m5.large",
        metavar="TYPE",
        help="head instance type; it runs Ray's GCS and the DIM (default: %(default)s)",
    )
    aws.add_argument(
        "--worker-type",
        default="m5.large",
        metavar="TYPE",
        help="worker instance type (default: %(default)s)",
    )
    aws.add_argument(
        "--min-workers",
        type=int,
        default=0,
        metavar="N",
        help="workers kept even when idle (default: %(default)s)",
    )
    aws.add_argument(
        "--max-workers",
        type=int,
        default=2,
        metavar="N",
        help="most workers the autoscaler starts (default: %(default)s)",
    )
    aws.add_argument(
        "--spot",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="run workers on Spot instances; the head stays on-demand (default: off)",
    )
    aws.add_argument(
        "--idle-timeout-minutes",
        type=float,
        default=5,
        metavar="MIN",
        help="Ray removes a worker idle this long; liuray releases an idle "
        "node's manager after 60 s, so it must be longer (default: %(default)s)",
    )
    _add_common(aws)
    aws.set_defaults(handler=_write_config, provider="aws")

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
    _add_common(local)
    local.set_defaults(handler=_write_config, provider="local")


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cluster-name",
        default="liuray",
        metavar="NAME",
        help="the launcher's cluster name (default: %(default)s)",
    )
    parser.add_argument(
        "--docker",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run in the stock rayproject/ray image; --no-docker uses the "
        "hosts' own Python 3.11+ (default: docker)",
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
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help="the DIM's port: REST API and web page (default: %(default)s)",
    )
    parser.add_argument(
        "-o", "--output", type=Path, metavar="FILE", help="write here instead of standard output"
    )


def _add_dashboard(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = actions.add_parser(
        "dashboard",
        help="print how to forward the liuray web page's port (and Ray's dashboard)",
        description="Print the commands that forward the DIM's port (liuray's REST API "
        "and web page: the only liuray port) and Ray's dashboard to this machine.",
    )
    parser.add_argument(
        "--port",
        type=int,
        metavar="PORT",
        help=f"the DIM's port (default: read from --cluster-config, else {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--cluster-config",
        type=Path,
        metavar="FILE",
        help="the `ray up` config, to fill in its file name, port and hosts",
    )
    parser.set_defaults(handler=_print_dashboard)


def _usage(parser: argparse.ArgumentParser) -> Callable[[argparse.Namespace], int]:
    def show(args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return 2

    return show


def _write_config(args: argparse.Namespace) -> int:
    """Build the config for ``args.provider`` and write it; return the exit status."""
    try:
        settings = ClusterSettings(
            ray_version=args.ray_version or _installed_ray(),
            cluster_name=args.cluster_name,
            liuray_version=args.liuray_version,
            docker=args.docker,
            python_version=args.python,
            port=args.port,
        )
        if args.provider == "aws":
            config = aws_config(
                settings,
                region=args.region,
                head_type=args.head_type,
                worker_type=args.worker_type,
                min_workers=args.min_workers,
                max_workers=args.max_workers,
                spot=args.spot,
                idle_timeout_minutes=args.idle_timeout_minutes,
            )
        else:
            workers = [host.strip() for host in args.workers.split(",") if host.strip()]
            config = local_config(
                settings,
                head_ip=args.head,
                worker_ips=workers,
                ssh_user=args.ssh_user,
                ssh_key=args.ssh_key,
            )
        file = str(args.output) if args.output else "cluster.yaml"
        text = to_yaml(config, _HEADER.format(provider=args.provider, file=file))
    except LiurayError as err:
        print(f"error: {err.message}", file=sys.stderr)
        return 2
    if args.provider == "aws" and (warning := region_warning(args.region)):
        print(f"warning: {warning}", file=sys.stderr)
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as err:
        print(f"error: cannot write {args.output}: {err.strerror}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}; start the cluster with: ray up {args.output} -y", file=sys.stderr)
    return 0


def _installed_ray() -> str:
    try:
        return metadata.version("ray")
    except metadata.PackageNotFoundError:
        raise MissingDependency(
            "Ray is not installed here; pass --ray-version (the version of the ray that "
            "will run `ray up`) or install it with: pip install 'liuray[ray]'",
            module="ray",
            extra="ray",
        ) from None


def _print_dashboard(args: argparse.Namespace) -> int:
    """Print the port-forwarding commands; return the exit status."""
    config: dict[str, Any] = {}
    if args.cluster_config is not None:
        try:
            config = _read_config(args.cluster_config)
        except LiurayError as err:
            print(f"error: {err.message}", file=sys.stderr)
            return 2
    port = args.port or dim_port(config) or DEFAULT_PORT
    sys.stdout.write(dashboard_text(config, port, args.cluster_config))
    return 0


def dashboard_text(config: dict[str, Any], port: int, path: Path | None) -> str:
    """What ``liuray ray dashboard`` prints, for a config (possibly empty) and a port."""
    file = str(path) if path else "CONFIG.yaml"
    ray_port = RAY_DASHBOARD_PORT
    lines = [
        f"liuray's web page and REST API are served by the DIM on the head node, port {port}:",
        "the only liuray port to forward. Node managers are Ray actors that talk through",
        "Ray, so they open no ports of their own.",
        "",
        "Forward it with Ray's launcher (each command keeps running; Ctrl-C stops it):",
        f"  ray dashboard {file} --port {port} --remote-port {port}",
        f"      then open http://localhost:{port}/ (liuray)",
        f"  ray dashboard {file}",
        f"      then open http://localhost:{ray_port}/ (Ray's dashboard)",
        "or both at once, in a shell on the head:",
        f"  ray attach {file} -p {port} -p {ray_port}",
        "or with plain ssh:",
        f"  {_ssh_line(config, file, port)}",
        "",
        f"REST clients (DALiuGE's included) then use http://localhost:{port}/api",
    ]
    return "\n".join(lines) + "\n"


def _ssh_line(config: dict[str, Any], file: str, port: int) -> str:
    provider = config.get("provider") or {}
    auth = config.get("auth") or {}
    user = auth.get("ssh_user", "USER")
    if provider.get("type") == "local" and provider.get("head_ip"):
        head = str(provider["head_ip"])
    else:
        head = f"$(ray get-head-ip {file})"
    key = auth.get("ssh_private_key")
    if key is None and provider.get("type") == "aws" and provider.get("region"):
        key = f"~/.ssh/ray-autoscaler_{provider['region']}.pem"  # the key Ray creates
    identity = f"-i {key} " if key else ""
    forwards = f"-L {port}:localhost:{port} -L {RAY_DASHBOARD_PORT}:localhost:{RAY_DASHBOARD_PORT}"
    return f"ssh {identity}{forwards} {user}@{head}"


def _read_config(path: Path) -> dict[str, Any]:
    try:
        import yaml  # optional: part of the `ray` extra
    except ImportError as err:
        raise missing_extra("pyyaml", "ray") from err
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise DeployError(
            f"cannot read cluster config {str(path)!r}: {err.strerror}", path=str(path)
        ) from err
    except yaml.YAMLError as err:
        raise DeployError(
            f"cluster config {str(path)!r} is not YAML: {err}", path=str(path)
        ) from err
    if not isinstance(loaded, dict):
        raise DeployError(
            f"cluster config {str(path)!r} is not a mapping of settings", path=str(path)
        )
    return loaded
