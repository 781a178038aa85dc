# SPDX-License-Identifier: LGPL-2.1-or-later
"""Ray cluster-launcher configs (``ray up``) that run liuray: pure functions, no Ray.

What a liuray cluster needs beyond plain Ray, and where it goes:

- every node: ``pip install 'liuray[ray]'`` in ``setup_commands`` (node managers are
  Ray actors whose code must import on every node). liuray and its dependencies are
  pure-Python wheels, so the stock ``rayproject/ray`` image (or the host's Python)
  needs no compiler and no custom image. Ray itself is pinned in the same line to the
  version of the ``ray`` that runs ``ray up`` (the launcher refuses a mismatch; inside
  the stock image the pin is a no-op).
- the head: exactly one liuray line in ``head_start_ray_commands``, after
  ``ray start --head``: the DIM (``liuray serve --ray auto``) started in the background.
  The line first stops any DIM left by an earlier ``ray up`` (every process named
  ``liuray`` on the head: SIGTERM, a short grace, then SIGKILL), so re-running
  ``ray up`` leaves one DIM. Node managers are detached Ray actors named after their
  Ray node id, created only by the DIM's membership reconciler: a new DIM adopts the
  ones still alive and starts the missing ones, so there is still one per node.
- workers: nothing. Plain ``ray start --address=$RAY_HEAD_IP:6379``.
- the DIM's access token (unless the config is written without one): one line in
  ``head_setup_commands`` writes it to :data:`DIM_ENV_FILE` on the head (mode 600, the
  shell's builtin ``printf``), and the DIM line sources that file, so ``liuray serve``
  gets ``LIURAY_TOKEN`` from its environment and the token never appears on a long-lived
  process's command line (``ps``). The DIM listens on the head's loopback only, but
  every user and process on the head can reach loopback: the token keeps them out.
  The YAML holds the token (the setup line), so the file is a secret; :func:`dim_token`
  reads it back for ``liuray ray dashboard``.

Only one port matters to users: the DIM's (REST API + web page, default 8001);
:func:`dim_port` finds it in a config for ``liuray ray dashboard``.

AWS configs carry no ``ImageId``: Ray fills in its per-region default image (see
:data:`RAY_DEFAULT_AMI_REGIONS`). Spot applies to workers only; the head, which holds
the DIM and Ray's GCS, is always on-demand. Ray's ``idle_timeout_minutes`` must exceed
liuray's node-manager release time (:data:`NM_IDLE_RELEASE_S`): a node that still hosts
an actor never scales down, so the DIM releases idle nodes' NM actors first.

The functions return plain dicts in the launcher's schema; :func:`to_yaml` writes one
(needs PyYAML, part of ``liuray[ray]``).

Example:
    >>> settings = ClusterSettings(ray_version="2.60.0")
    >>> config = local_config(settings, head_ip="10.0.0.1", worker_ips=["10.0.0.2"],
    ...                       ssh_user="ray")
    >>> config["docker"]["image"]
    'rayproject/ray:2.60.0-py311'
    >>> [line for line in config["head_start_ray_commands"] if "liuray" in line][0][:30]
    'pkill -x liuray && sleep 3; pk'
    >>> config["worker_start_ray_commands"]
    ['ray stop', 'ray start --address=$RAY_HEAD_IP:6379']
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from liuray.errors import DeployError, missing_extra

__all__ = [
    "DEFAULT_PORT",
    "DIM_ENV_FILE",
    "NM_IDLE_RELEASE_S",
    "RAY_DASHBOARD_PORT",
    "RAY_DEFAULT_AMI_REGIONS",
    "ClusterSettings",
    "aws_config",
    "dim_command",
    "dim_port",
    "dim_token",
    "docker_image",
    "install_command",
    "liuray_requirement",
    "local_config",
    "region_warning",
    "to_yaml",
    "token_command",
]

DEFAULT_PORT = 8001
"""The DIM's port (REST API and web page); DALiuGE's DIM uses the same."""
RAY_DASHBOARD_PORT = 8265
GCS_PORT = 6379
NM_IDLE_RELEASE_S = 60
"""liuray's default: an idle worker node's NM actor is released after this long."""
STOP_GRACE_S = 3
"""Seconds a previous DIM gets to exit after SIGTERM before it is killed."""
CONTAINER_NAME = "ray_container"
SERVE_LOG = "~/liuray-serve.log"
DIM_ENV_FILE = "~/.liuray/dim.env"
"""On the head: ``export LIURAY_TOKEN=...`` for the DIM, readable by its user only."""
TOKEN_VARIABLE = "LIURAY_TOKEN"
"""The environment variable ``liuray serve`` (and the client, the CLI) read the token from."""

# The regions Ray 2.60's launcher has a default AMI for (its aws/config.py DEFAULT_AMI);
# elsewhere `ray up` stops and asks for an ImageId. Newer Ray versions may add regions.
RAY_DEFAULT_AMI_REGIONS = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ca-central-1",
        "eu-central-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "sa-east-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
    }
)

# Ports Ray itself takes on the head (GCS, client server, dashboard, dashboard agent)
# and its default worker port range: the DIM must not collide with them.
_RAY_PORTS = frozenset({GCS_PORT, 10001, RAY_DASHBOARD_PORT, 52365})
_RAY_WORKER_PORTS = range(10002, 20000)
_MAX_COMM = 15  # Linux truncates process names to 15 characters; pkill -x sees those
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")  # names, IPv4 and IPv6 addresses
_RAY_VERSION = re.compile(r"\d+\.\d+\.\d+")
_PYTHON_VERSION = re.compile(r"3\.(\d+)")
_SERVE_PORT = re.compile(r"\bliuray serve\b.*--port[= ](\d+)")


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterSettings:
    """What every liuray cluster config shares, whatever the provider.

    Attributes:
        ray_version: Ray on the nodes; must equal the ``ray`` that runs ``ray up``.
        cluster_name: the launcher's cluster name (tags, key names).
        liuray_version: a version (``0.1.0``), a specifier (``>=0.1``), a URL, or None
            for the newest release.
        docker: run in the stock ``rayproject/ray`` image (else on the host's Python).
        python_version: the image's Python (``3.11`` or newer; liuray needs 3.11).
        port: the DIM's port (REST API and web page).
        token: the DIM's access token (None: the DIM runs without one).
    """

    ray_version: str
    cluster_name: str = "liuray"
    liuray_version: str | None = None
    docker: bool = True
    python_version: str = "3.11"
    port: int = DEFAULT_PORT
    token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        check_name("cluster name", self.cluster_name)
        if not _RAY_VERSION.fullmatch(self.ray_version):
            raise DeployError(
                f"Ray version {self.ray_version!r} is not a release such as '2.60.0'; "
                "pass the version of the ray that will run `ray up`",
                ray_version=self.ray_version,
            )
        python = _PYTHON_VERSION.fullmatch(self.python_version)
        if python is None or int(python.group(1)) < 11:
            raise DeployError(
                f"Python {self.python_version!r} is not supported; liuray needs 3.11 or "
                "newer (e.g. '3.11', '3.12')",
                python_version=self.python_version,
            )
        check_port(self.port)
        liuray_requirement(self.liuray_version)  # fails early on an unusable spec
        if self.token is not None:
            check_token(self.token)


def liuray_requirement(version: str | None) -> str:
    """The pip requirement for liuray with its Ray extra.

    Examples:
        >>> liuray_requirement(None)
        'liuray[ray]'
        >>> liuray_requirement("0.1.0"), liuray_requirement(">=0.1,<0.3")
        ('liuray[ray]==0.1.0', 'liuray[ray]>=0.1,<0.3')
    """
    if version is None:
        return "liuray[ray]"
    spec = version.strip()
    if not spec or any(char.isspace() or char == "'" for char in spec):
        raise DeployError(
            f"liuray version {version!r} is unusable; give a version ('0.1.0'), "
            "a specifier ('>=0.1') or a URL, without spaces or quotes",
            liuray_version=version,
        )
    if "://" in spec:
        return f"liuray[ray] @ {spec}"
    if spec[0] in "=<>!~":
        return f"liuray[ray]{spec}"
    return f"liuray[ray]=={spec}"


def install_command(settings: ClusterSettings) -> str:
    """The one ``setup_commands`` line, run on every node: liuray plus the pinned Ray.

    Examples:
        >>> install_command(ClusterSettings(ray_version="2.60.0"))
        "pip install 'liuray[ray]' 'ray[default]==2.60.0'"
    """
    requirements = [liuray_requirement(settings.liuray_version)]
    requirements.append(f"ray[default]=={settings.ray_version}")
    return "pip install " + " ".join(shlex.quote(item) for item in requirements)


def docker_image(ray_version: str, python_version: str = "3.11") -> str:
    """The stock Ray image for a Ray and Python version (no custom image).

    Examples:
        >>> docker_image("2.60.0", "3.12")
        'rayproject/ray:2.60.0-py312'
    """
    return f"rayproject/ray:{ray_version}-py{python_version.replace('.', '')}"


def dim_command(port: int = DEFAULT_PORT, program: str = "liuray", *, token: bool = False) -> str:
    """The single liuray line on the head: replace any running DIM by a new one.

    Safe to re-run (each ``ray up`` does): SIGTERM to every process named ``program``
    on the head (the previous DIM), ``STOP_GRACE_S`` seconds to exit, SIGKILL for any
    that did not, then the new DIM, detached from the launcher's shell (``nohup``,
    stdin from /dev/null, output appended to ``~/liuray-serve.log``) so that the
    ssh or ``docker exec`` session returns at once. The DIM listens on the head's
    loopback only (reached through ``liuray ray dashboard``'s ssh tunnel). With
    ``token``, the line first sources :data:`DIM_ENV_FILE` (written by
    :func:`token_command`), so the DIM reads ``LIURAY_TOKEN`` from its environment;
    without that file the line stops there (exit 1) rather than start an open DIM.

    Matching the process *name* (``pkill -x``), not its command line (``pkill -f``),
    matters: the shell running this very line has "liuray serve" in its command line,
    so ``pkill -f 'liuray serve'`` would kill that shell and never start the DIM.

    Args:
        port: the DIM's port.
        program: the console script to run (tests use a uniquely named stand-in).
    """
    check_port(port)
    check_name("program", program)
    if len(program) > _MAX_COMM:
        raise DeployError(
            f"program name {program!r} is longer than {_MAX_COMM} characters, which "
            "pkill -x cannot match",
            program=program,
        )
    environment = f". {DIM_ENV_FILE} || exit 1; " if token else ""
    return (
        f"pkill -x {program} && sleep {STOP_GRACE_S}; pkill -9 -x {program}; "
        f"{environment}nohup {program} serve --ray auto --host 127.0.0.1 --port {port} "
        f">> {SERVE_LOG} 2>&1 < /dev/null &"
    )


def token_command(token: str) -> str:
    """The ``head_setup_commands`` line that writes the DIM's token to the head.

    It writes ``export LIURAY_TOKEN=TOKEN`` to :data:`DIM_ENV_FILE` under ``umask
    077`` (folder 700, file 600; an older file is removed first, so a looser mode does
    not survive), with the shell's builtin ``printf``: no program runs with the token
    in its arguments. The launcher's own shell does see the line while it runs (as
    every setup command), and ``ray up`` prints only its first 30 characters.

    Example:
        >>> print(token_command("s3cret-token").replace(" && ", "\\n"))
        (umask 077
        mkdir -p ~/.liuray
        rm -f ~/.liuray/dim.env
        printf '%s\\n' 'export LIURAY_TOKEN=s3cret-token' > ~/.liuray/dim.env)
    """
    check_token(token)
    line = f"export {TOKEN_VARIABLE}={shlex.quote(token)}"
    folder = DIM_ENV_FILE.rsplit("/", 1)[0]
    return (
        f"(umask 077 && mkdir -p {folder} && rm -f {DIM_ENV_FILE} && "
        f"printf '%s\\n' {shlex.quote(line)} > {DIM_ENV_FILE})"
    )


def head_start_commands(port: int = DEFAULT_PORT, *, token: bool = False) -> list[str]:
    """``head_start_ray_commands``: Ray's usual head start, then the one DIM line."""
    return [
        "ray stop",
        f"ray start --head --port={GCS_PORT} "
        "--autoscaling-config=~/ray_bootstrap_config.yaml --dashboard-host=0.0.0.0",
        dim_command(port, token=token),
    ]


def worker_start_commands() -> list[str]:
    """``worker_start_ray_commands``: plain Ray, nothing from liuray."""
    return ["ray stop", f"ray start --address=$RAY_HEAD_IP:{GCS_PORT}"]


def aws_config(
    settings: ClusterSettings,
    *,
    region: str,
    head_type: str,
    worker_type: str,
    min_workers: int,
    max_workers: int,
    spot: bool,
    idle_timeout_minutes: float = 5,
) -> dict[str, Any]:
    """An autoscaling AWS cluster: one head type, one worker type, Ray's default AMI.

    Raises:
        DeployError: a setting is out of range (the message says which and why).
    """
    check_name("region", region)
    check_name("head instance type", head_type)
    check_name("worker instance type", worker_type)
    check_workers(min_workers, max_workers)
    check_idle_timeout(idle_timeout_minutes)
    worker_node: dict[str, Any] = {"InstanceType": worker_type}
    if spot:
        worker_node["InstanceMarketOptions"] = {"MarketType": "spot"}
    config: dict[str, Any] = {
        "cluster_name": settings.cluster_name,
        "provider": {"type": "aws", "region": region},
        "auth": {"ssh_user": "ubuntu"},  # the user of Ray's default (Ubuntu) AMIs
    }
    config.update(docker_section(settings))
    config.update(
        {
            "max_workers": max_workers,
            "idle_timeout_minutes": idle_timeout_minutes,
            "available_node_types": {
                "head": {"node_config": {"InstanceType": head_type}, "resources": {}},
                "worker": {
                    "node_config": worker_node,
                    "resources": {},  # {}: Ray reads CPUs/GPUs from the instance type
                    "min_workers": min_workers,
                    "max_workers": max_workers,
                },
            },
            "head_node_type": "head",
        }
    )
    # boto3 on the head is Ray's own default there: its autoscaler calls EC2.
    config.update(launcher_commands(settings, head_setup=["pip install 'boto3>=1.4.8'"]))
    return config


def local_config(
    settings: ClusterSettings,
    *,
    head_ip: str,
    worker_ips: Sequence[str],
    ssh_user: str,
    ssh_key: str | None = None,
) -> dict[str, Any]:
    """An on-prem cluster of fixed hosts (Ray's ``local`` provider, over ssh).

    Ray sizes it from the host list (one worker per entry), so no node types appear.

    Raises:
        DeployError: a host is empty, repeated, or both head and worker.
    """
    check_name("head host", head_ip, _HOST)
    for host in worker_ips:
        check_name("worker host", host, _HOST)
    repeated = sorted({host for host in worker_ips if list(worker_ips).count(host) > 1})
    if repeated or head_ip in worker_ips:
        raise DeployError(
            f"hosts must be distinct: head {head_ip!r}, workers {list(worker_ips)} "
            f"(repeated: {repeated or [head_ip]})",
            head_ip=head_ip,
            worker_ips=list(worker_ips),
        )
    check_name("ssh user", ssh_user)
    auth = {"ssh_user": ssh_user}
    if ssh_key:
        auth["ssh_private_key"] = ssh_key
    config: dict[str, Any] = {
        "cluster_name": settings.cluster_name,
        "provider": {"type": "local", "head_ip": head_ip, "worker_ips": list(worker_ips)},
        "auth": auth,
    }
    config.update(docker_section(settings))
    config.update(launcher_commands(settings, head_setup=[]))
    return config


def region_warning(region: str) -> str | None:
    """Why ``ray up`` may stop in ``region`` (no default AMI there), or None."""
    if region in RAY_DEFAULT_AMI_REGIONS:
        return None
    return (
        f"Ray 2.60 has no default image for region {region!r} (it has "
        f"one for {', '.join(sorted(RAY_DEFAULT_AMI_REGIONS))}): `ray up` will ask for "
        "an ImageId unless your Ray version knows this region"
    )


def dim_port(config: Mapping[str, Any]) -> int | None:
    """The DIM's port in a cluster config's head commands, or None if it has no DIM."""
    for line in config.get("head_start_ray_commands") or []:
        found = _SERVE_PORT.search(str(line))
        if found:
            return int(found.group(1))
    return None


def dim_token(config: Mapping[str, Any]) -> str | None:
    """The DIM's access token in a config's head setup commands, or None if it has none.

    Reads back what :func:`token_command` wrote (``liuray ray dashboard`` uses it).
    """
    prefix = f"export {TOKEN_VARIABLE}="
    for line in config.get("head_setup_commands") or []:
        if DIM_ENV_FILE not in str(line):
            continue
        try:
            words = shlex.split(str(line))
        except ValueError:
            continue
        for word in words:
            if word.startswith(prefix):
                value = shlex.split(word)[1].split("=", 1)[1]
                return value or None
    return None


def to_yaml(config: Mapping[str, Any], header: str = "") -> str:
    """The config as YAML in the launcher's key order, below ``header`` comment lines.

    Raises:
        MissingDependency: PyYAML is not installed.
    """
    try:
        import yaml  # optional: part of the `ray` extra
    except ImportError as err:
        raise missing_extra("pyyaml", "ray") from err
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    body = yaml.safe_dump(dict(config), sort_keys=False, default_flow_style=False, width=4096)
    return comment + body


def check_workers(min_workers: int, max_workers: int) -> None:
    """Refuse worker counts the autoscaler cannot honour (0 <= min <= max)."""
    if not 0 <= min_workers <= max_workers:
        raise DeployError(
            f"workers: need 0 <= min ({min_workers}) <= max ({max_workers})",
            min_workers=min_workers,
            max_workers=max_workers,
        )


def check_idle_timeout(idle_timeout_minutes: float) -> None:
    """Refuse an autoscaler idle timeout that liuray's NM release cannot beat.

    A node hosting an actor never counts as idle, so the DIM releases an idle node's NM
    after :data:`NM_IDLE_RELEASE_S`; Ray's timeout must be longer, or no node scales down.
    """
    if idle_timeout_minutes * 60 <= NM_IDLE_RELEASE_S:
        raise DeployError(
            f"idle timeout {idle_timeout_minutes} min is too short: liuray releases an "
            f"idle node's manager after {NM_IDLE_RELEASE_S} s, and Ray only removes a node "
            "idle for the whole timeout; use more than 1 minute (Ray's default is 5)",
            idle_timeout_minutes=idle_timeout_minutes,
        )


def docker_section(settings: ClusterSettings) -> dict[str, Any]:
    """The launcher's ``docker`` section (the stock image), or nothing with no Docker."""
    if not settings.docker:
        return {}
    image = docker_image(settings.ray_version, settings.python_version)
    return {"docker": {"image": image, "container_name": CONTAINER_NAME, "pull_before_run": True}}


def launcher_commands(settings: ClusterSettings, *, head_setup: list[str]) -> dict[str, Any]:
    """Every command list of a launcher config: liuray's install line and the DIM."""
    # Every list is written out, so the launcher runs exactly what the file shows
    # rather than a provider default (AWS's default setup_commands install a Ray wheel).
    token = settings.token
    return {
        "file_mounts": {},
        "initialization_commands": [],
        "setup_commands": [install_command(settings)],
        "head_setup_commands": [*head_setup, *([token_command(token)] if token else [])],
        "worker_setup_commands": [],
        "head_start_ray_commands": head_start_commands(settings.port, token=token is not None),
        "worker_start_ray_commands": worker_start_commands(),
    }


def check_name(what: str, value: str, pattern: re.Pattern[str] = _NAME) -> None:
    """Refuse a name that would break YAML, shell lines or the provider's naming."""
    if not pattern.fullmatch(value):
        raise DeployError(
            f"{what} {value!r} is not usable: use letters, digits, '.', '_' or '-'",
            what=what,
            value=value,
        )


def check_token(token: str) -> None:
    """Refuse a token that cannot travel in a shell line, an env file and a header."""
    if len(token) < 8 or not token.isprintable() or token != token.strip():
        raise DeployError(
            "the access token must be at least 8 printable characters, without "
            "leading or trailing spaces (default: a new random one)",
        )


def check_port(port: int) -> None:
    """Refuse a DIM port that Ray itself takes on the head."""
    if not 0 < port < 65536 or port in _RAY_PORTS or port in _RAY_WORKER_PORTS:
        raise DeployError(
            f"port {port} is unusable for the DIM: Ray takes {sorted(_RAY_PORTS)} and "
            f"{_RAY_WORKER_PORTS.start}-{_RAY_WORKER_PORTS.stop - 1} on the head; "
            f"the default is {DEFAULT_PORT}",
            port=port,
        )
