# SPDX-License-Identifier: LGPL-2.1-or-later
"""``liuray ray ...``: Ray cluster-launcher configs, and how to reach the web page.

- ``liuray ray config aws|gcp|azure|local|kuberay|slurm ...`` writes what starts a
  liuray cluster on that platform (a ``ray up`` config, a KubeRay manifest, an
  ``sbatch`` script) to standard output or ``-o FILE``: the stock Ray image (or the
  nodes' own Python), one liuray line on the head (the DIM), nothing liuray-specific
  on workers. See :mod:`liuray.cli.ray_config` and :mod:`liuray.deploy`.
- ``liuray ray dashboard [--cluster-config FILE]`` prints the commands that forward
  the one liuray port (the DIM's REST API and web page) next to Ray's dashboard, and
  the DIM's access token when the file holds it (a launcher config's head setup line, a
  KubeRay manifest's Secret) or where to find it (a KubeRay Secret of your own, the
  SLURM job's env file). The token is printed in the page's address, as a fragment
  (``/#token=...``: the page keeps it for the tab and takes it out of the address;
  fragments never reach the server), to paste when the page asks, and as
  ``export LIURAY_TOKEN=...`` for ``liuray submit`` / ``sessions`` / ``nodes``.

Exit status: 0 done, 2 unusable option or config file (nothing written).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from liuray.cli.ray_config import add_providers
from liuray.deploy.configs import DEFAULT_PORT, RAY_DASHBOARD_PORT, dim_port, dim_token
from liuray.deploy.kuberay import TOKEN_KEY, how_to_reach, is_manifest
from liuray.errors import DeployError, LiurayError, missing_extra

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
  liuray ray config gcp --project my-project --worker-type n2-standard-8 --spot -o gcp.yaml
  liuray ray config azure --location westeurope --max-workers 8 -o azure.yaml
  liuray ray config kuberay --max-workers 8 -o liuray.yaml; kubectl apply -f liuray.yaml
  liuray ray config slurm --nodes 4 --time 02:00:00 -o liuray.sbatch; sbatch liuray.sbatch
"""


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
        help="write a cluster config: AWS, GCP, Azure, on-prem, Kubernetes or SLURM",
        description="Write what starts a Ray cluster that runs liuray: a `ray up` config "
        "(aws, gcp, azure, local), a KubeRay manifest (kuberay) or an sbatch script (slurm).",
    )
    parser.set_defaults(handler=_usage(parser))
    providers = parser.add_subparsers(title="providers", metavar="PROVIDER")
    add_providers(providers)


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


def _print_dashboard(args: argparse.Namespace) -> int:
    """Print the port-forwarding commands; return the exit status."""
    config: dict[str, Any] = {}
    if args.cluster_config is not None:
        if _is_sbatch_script(args.cluster_config):
            sys.stdout.write(_SLURM_TEXT)
            return 0
        try:
            documents = _read_documents(args.cluster_config)
        except LiurayError as err:
            print(f"error: {err.message}", file=sys.stderr)
            return 2
        if is_manifest(documents):
            sys.stdout.write(_kuberay_text(documents))
            return 0
        if len(documents) != 1:
            print(
                f"error: cluster config {str(args.cluster_config)!r} is neither a `ray up` "
                "config nor a manifest of `liuray ray config kuberay`",
                file=sys.stderr,
            )
            return 2
        config = documents[0]
    port = args.port or dim_port(config) or DEFAULT_PORT
    sys.stdout.write(dashboard_text(config, port, args.cluster_config))
    sys.stdout.write(_access_text(config, port))
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


def _access_text(config: dict[str, Any], port: int) -> str:
    """The lines about the DIM's access token, for a launcher config with a DIM."""
    if dim_port(config) is None:
        return ""  # no config, or not one of liuray's: nothing known about a token
    token = dim_token(config)
    if token is None:
        return (
            "\nThis config starts the DIM without an access token (--no-token): every user\n"
            "and process on the head can use it through its loopback port.\n"
        )
    return _token_lines(port, f"export LIURAY_TOKEN={shlex.quote(token)}", token)


def _token_lines(port: int, export: str, token: str | None) -> str:
    """How to pass the DIM's token on: to the web page, the CLI and REST clients."""
    page = (
        [
            f"  open http://localhost:{port}/#token={urllib.parse.quote(token, safe='')}",
            f"  (or paste it when the page asks, once per browser tab): {token}",
        ]
        if token
        else ["  paste it when the page asks (once per browser tab)"]
    )
    lines = [
        "",
        "Every request needs the DIM's access token (Authorization: Bearer TOKEN).",
        f"Web page, http://localhost:{port}/:",
        *page,
        "liuray submit / sessions / nodes through the tunnel read $LIURAY_TOKEN:",
        f"  {export}",
        f"  export LIURAY_DIM=http://localhost:{port}",
        "  liuray submit graph.json --wait",
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


_SLURM_TEXT = """\
A SLURM job of `liuray ray config slurm` serves liuray's web page and REST API from
the DIM on the first node of its allocation, with an access token. Once the job runs,
it writes both to ~/.liuray/slurm-JOBID.env (readable by you only):
  source ~/.liuray/slurm-JOBID.env          # sets LIURAY_DIM and LIURAY_TOKEN
  liuray submit graph.json --wait
For a browser outside the cluster, forward the port through the login node:
  ssh -L PORT:HEAD_ADDRESS:PORT LOGIN_NODE   (both are in LIURAY_DIM)
  then open http://localhost:PORT/
"""


def _is_sbatch_script(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8", errors="replace") as file:
            return any(line.startswith("#SBATCH") for line in file)
    except OSError:
        return False  # reported when read as YAML


def _kuberay_text(documents: list[dict[str, Any]]) -> str:
    forward, read_secret = how_to_reach(documents)
    port = int(forward.rsplit(":", 1)[1])
    token = _secret_token(documents)
    export = f"export LIURAY_TOKEN={shlex.quote(token) if token else f'$({read_secret})'}"
    lines = [
        f"liuray's web page and REST API are served by the DIM on the head pod, port {port},",
        "behind its Service. Forward it to this machine (keeps running; Ctrl-C stops it):",
        f"  {forward}",
        f"      then open http://localhost:{port}/",
        f"REST clients (DALiuGE's included) then use http://localhost:{port}/api",
    ]
    return "\n".join(lines) + "\n" + _token_lines(port, export, token)


def _secret_token(documents: list[dict[str, Any]]) -> str | None:
    """The token in the manifest's own Secret, or None (a Secret made apart)."""
    for document in documents:
        if document.get("kind") == "Secret":
            value = (document.get("stringData") or {}).get(TOKEN_KEY)
            if isinstance(value, str) and value:
                return value
    return None


def _read_documents(path: Path) -> list[dict[str, Any]]:
    try:
        import yaml  # optional: part of the `ray` extra
    except ImportError as err:
        raise missing_extra("pyyaml", "ray") from err
    try:
        loaded = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    except OSError as err:
        raise DeployError(
            f"cannot read cluster config {str(path)!r}: {err.strerror}", path=str(path)
        ) from err
    except yaml.YAMLError as err:
        raise DeployError(
            f"cluster config {str(path)!r} is not YAML: {err}", path=str(path)
        ) from err
    if not loaded or not all(isinstance(doc, dict) for doc in loaded):
        raise DeployError(
            f"cluster config {str(path)!r} is not a mapping of settings", path=str(path)
        )
    return loaded
