# SPDX-License-Identifier: LGPL-2.1-or-later
"""An ``sbatch`` script that runs liuray on a SLURM allocation: pure text, no Ray.

It follows Ray's documented SLURM pattern (Ray docs, "Deploying on Slurm"):

1. ``scontrol show hostnames "$SLURM_JOB_NODELIST"`` lists the allocation; the first
   node is the head (the batch script itself runs there).
2. ``srun --nodes=1 --ntasks=1 -w HEAD ray start --head --block ...`` in the background,
   then ``ray health-check`` until the head answers (instead of a fixed ``sleep``).
3. one ``srun --nodes=1 --ntasks=1 -w NODE ray start --block --address=HEAD:PORT``
   per other node: plain Ray, nothing from liuray.
4. liuray's one line, on the head: ``liuray serve --ray auto`` (``RAY_ADDRESS`` names
   the cluster), on the head's address with an access token (other users share the
   network), written with the URL to ``~/.liuray/slurm-JOBID.env`` (mode 600).
5. clean stop, once, on SIGUSR1 (``#SBATCH --signal=B:USR1@S``: S seconds before the
   time limit, or ``scancel --signal=USR1 --batch``), SIGTERM (``scancel``, the limit
   itself), SIGINT, or the DIM exiting: SIGTERM to the DIM (it records its sessions'
   outcome), ``ray stop`` on every node through ``srun --overlap`` (workers, then the
   head), then the Ray job steps.

liuray is not installed by the script: compute nodes often have no network, and every
node must see the same installation (a shared file system). ``setup`` (e.g. ``module
load`` plus ``source venv/bin/activate``) runs first; ``srun`` steps inherit its
environment.

Example:
    >>> script = slurm_script(SlurmSettings(nodes=4, time_limit="02:00:00"))
    >>> [line for line in script.splitlines() if line.startswith("#SBATCH --signal")]
    ['#SBATCH --signal=B:USR1@90']
    >>> "liuray serve --ray auto" in script
    True
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from importlib import resources

from liuray.deploy.configs import DEFAULT_PORT, GCS_PORT, check_name, check_port
from liuray.errors import DeployError

__all__ = ["DIM_STOP_S", "MIN_STOP_GRACE_S", "SlurmSettings", "slurm_script"]

DIM_STOP_S = 30
"""Seconds the DIM gets to stop after SIGTERM before it is killed."""
MIN_STOP_GRACE_S = 60
"""The least warning before the time limit: the DIM's stop plus ``ray stop`` (16 s)."""

_TIME = re.compile(r"(\d+-)?\d+(:\d+){0,2}")  # SLURM's --time forms


@dataclass(frozen=True, slots=True, kw_only=True)
class SlurmSettings:
    """What the ``sbatch`` script asks SLURM for, and how it runs liuray.

    Attributes:
        nodes: nodes in the allocation (the first is the head).
        cpus_per_node: CPUs Ray uses on each node (None: all of the node's).
        gpus_per_node: GPUs Ray uses on each node.
        time_limit: ``#SBATCH --time`` (``HH:MM:SS``, ``D-HH:MM``, minutes...).
        partition: ``#SBATCH --partition`` (None: the cluster's default).
        account: ``#SBATCH --account`` (None: yours).
        job_name: the job's name; also names its log, ``NAME-JOBID.log``.
        port: the DIM's port (REST API and web page).
        ray_port: Ray's GCS port on the head.
        stop_grace_s: SLURM signals the script this long before the time limit.
        setup: a shell line run first (load modules, activate liuray's venv).
    """

    nodes: int = 2
    cpus_per_node: int | None = None
    gpus_per_node: int = 0
    time_limit: str = "01:00:00"
    partition: str | None = None
    account: str | None = None
    job_name: str = "liuray"
    port: int = DEFAULT_PORT
    ray_port: int = GCS_PORT
    stop_grace_s: int = 90
    setup: str = ""

    def __post_init__(self) -> None:
        _at_least("nodes", self.nodes, 1)
        if self.cpus_per_node is not None:
            _at_least("CPUs per node", self.cpus_per_node, 1)
        _at_least("GPUs per node", self.gpus_per_node, 0)
        _at_least("stop grace (s)", self.stop_grace_s, MIN_STOP_GRACE_S)
        if not _TIME.fullmatch(self.time_limit):
            raise DeployError(
                f"time limit {self.time_limit!r} is not a SLURM time such as '01:30:00', "
                "'90' (minutes) or '1-12:00:00'",
                time_limit=self.time_limit,
            )
        check_name("job name", self.job_name)
        for what, value in (("partition", self.partition), ("account", self.account)):
            if value is not None:
                check_name(what, value)
        check_port(self.port)
        if not 0 < self.ray_port < 65536 or self.ray_port == self.port:
            raise DeployError(
                f"Ray port {self.ray_port} is unusable: give a port other than the DIM's "
                f"({self.port}); Ray's default is {GCS_PORT}",
                ray_port=self.ray_port,
            )


def slurm_script(settings: SlurmSettings) -> str:
    """The ``sbatch`` script for ``settings`` (see the module docstring for its steps)."""
    template = resources.files("liuray.deploy").joinpath("slurm.sbatch").read_text("utf-8")
    setup = settings.setup.strip()
    filled = {
        "@SBATCH_LINES@": "\n".join(_sbatch_lines(settings)),
        "@LIURAY_PORT@": str(settings.port),
        "@RAY_PORT@": str(settings.ray_port),
        "@DIM_STOP_S@": str(DIM_STOP_S),
        "@SETUP@": f"# Set up liuray's environment (srun steps inherit it).\n{setup}"
        if setup
        else "# (no setup line: liuray, ray, srun and scontrol must be on PATH)",
    }
    for placeholder, value in filled.items():
        template = template.replace(placeholder, value)
    return template


def _sbatch_lines(settings: SlurmSettings) -> list[str]:
    options = [
        f"--job-name={settings.job_name}",
        f"--nodes={settings.nodes}",
        "--exclusive",
        "--ntasks-per-node=1",
    ]
    if settings.cpus_per_node is not None:
        options.append(f"--cpus-per-task={settings.cpus_per_node}")
    if settings.gpus_per_node:
        options.append(f"--gpus-per-task={settings.gpus_per_node}")
    options += [
        f"--time={settings.time_limit}",
        f"--signal=B:USR1@{settings.stop_grace_s}",
        f"--output={settings.job_name}-%j.log",
    ]
    if settings.partition:
        options.append(f"--partition={settings.partition}")
    if settings.account:
        options.append(f"--account={settings.account}")
    return [f"#SBATCH {shlex.quote(option)}" for option in options]


def _at_least(what: str, value: int, least: int) -> None:
    if value < least:
        raise DeployError(f"{what} must be {least} or more, got {value}", value=value)
