"""The sbatch script of `liuray ray config slurm`: its text, and a real run on stand-ins.

The run puts small stand-ins for `srun` and `scontrol` (tests/deploy/fake_slurm) on
PATH and SLURM's variables in the environment, so the script's own logic starts real
Ray nodes on this machine, the DIM beside the head, runs a graph submitted with
`liuray submit --wait`, and stops everything on SIGUSR1 as at the end of an allocation.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fake_slurm.srun import alive

from liuray.cli.main import main
from liuray.deploy.slurm import SlurmSettings, slurm_script
from liuray.errors import DeployError

FAKE_SLURM = Path(__file__).parent / "fake_slurm"
BIN = Path(sys.executable).parent


def sbatch_options(script: str) -> list[str]:
    return [line.split(None, 1)[1] for line in script.splitlines() if line.startswith("#SBATCH")]


def test_script_asks_slurm_for_the_allocation() -> None:
    """Nodes, one task per node, CPUs/GPUs, time, the early warning signal and the log
    become #SBATCH lines; unset partition, account and CPUs are left to SLURM."""
    script = slurm_script(
        SlurmSettings(nodes=4, cpus_per_node=16, gpus_per_node=1, time_limit="2-00:00:00")
    )
    assert sbatch_options(script) == [
        "--job-name=liuray",
        "--nodes=4",
        "--exclusive",
        "--ntasks-per-node=1",
        "--cpus-per-task=16",
        "--gpus-per-task=1",
        "--time=2-00:00:00",
        "--signal=B:USR1@90",
        "--output=liuray-%j.log",
    ]
    options = sbatch_options(
        slurm_script(SlurmSettings(partition="short", account="astro", stop_grace_s=120))
    )
    assert "--partition=short" in options and "--account=astro" in options
    assert "--signal=B:USR1@120" in options
    assert not any(option.startswith(("--cpus", "--gpus")) for option in options)


def test_script_is_valid_bash_with_everything_filled_in() -> None:
    """bash parses the script, no placeholder is left, and the setup line comes first."""
    script = slurm_script(SlurmSettings(setup="module load python/3.11"))
    assert re.search(r"@[A-Z_]+@", script) is None
    assert script.index("module load python/3.11") < script.index("scontrol show hostnames")
    result = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert result.returncode == 0, result.stderr


def test_script_follows_rays_slurm_pattern() -> None:
    """Head on the first node of the allocation, a worker per other node through srun,
    the one liuray line on the head, `ray stop` everywhere when stopping."""
    script = slurm_script(SlurmSettings())
    assert 'scontrol show hostnames "$SLURM_JOB_NODELIST"' in script
    assert "head_node=${nodes[0]}" in script
    assert "step=(--nodes=1 --ntasks=1)" in script
    assert 'srun "${step[@]}" -w "$head_node" \\\n    ray start --head --block' in script
    assert 'srun "${step[@]}" -w "$node" \\\n        ray start --block --address=' in script
    (dim,) = [line for line in script.splitlines() if "liuray serve" in line and "#" not in line]
    assert "liuray serve --ray auto" in dim and dim.rstrip().endswith("&")
    assert script.count("ray stop") == 2  # every worker (loop), then the head
    for signal_name in ("USR1", "TERM", "INT"):
        assert f"' {signal_name}\n" in script


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"nodes": 0}, "nodes must be 1 or more"),
        ({"time_limit": "1h"}, "not a SLURM time"),
        ({"stop_grace_s": 30}, "stop grace"),
        ({"ray_port": 8001}, "other than the DIM's"),
        ({"port": 6379}, "Ray takes"),
        ({"partition": "a b"}, "partition"),
    ],
)
def test_unusable_settings_are_refused(settings: dict[str, object], message: str) -> None:
    """Settings SLURM or the script could not use fail before anything is written."""
    with pytest.raises(DeployError, match=message):
        SlurmSettings(**settings)  # type: ignore[arg-type]


def test_cli_writes_an_executable_script(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`liuray ray config slurm -o FILE` writes the script executable and says to sbatch it."""
    target = tmp_path / "liuray.sbatch"
    assert main(["ray", "config", "slurm", "--nodes", "3", "-o", str(target)]) == 0
    assert target.stat().st_mode & 0o111
    assert "--nodes=3" in sbatch_options(target.read_text())
    assert f"sbatch {target}" in capsys.readouterr().err


# ---------------------------------------------------------------- a real run


def fake_slurm_bin(tmp_path: Path) -> Path:
    """A directory with `srun` and `scontrol` running the stand-ins on this Python."""
    directory = tmp_path / "fake-bin"
    directory.mkdir()
    for name in ("srun", "scontrol"):
        program = directory / name
        target = shlex.quote(str(FAKE_SLURM / f"{name}.py"))
        program.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {target} "$@"\n')
        program.chmod(0o755)
    return directory


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        values[name] = value
    return values


def wait_for(check: object, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; script log:\n{log.read_text()[-4000:]}")
        time.sleep(0.2)


@pytest.mark.ray
@pytest.mark.slow
def test_sbatch_script_runs_a_graph_and_stops_cleanly(tmp_path: Path) -> None:
    """Two "nodes" on this machine: the script starts Ray's head and a worker through
    srun, the DIM on the head, and writes where to reach it; a graph submitted with
    `liuray submit --wait` finishes on the two nodes; SIGUSR1 (SLURM's warning before the
    time limit) stops the DIM and Ray on every node, and the script exits 0."""
    pytest.importorskip("ray")
    pytest.importorskip("httpx")
    from liuray.client import Client
    from ray_support import free_port, ray_environment

    if shutil.which("base64") is None:
        pytest.skip("needs coreutils' base64")
    script = tmp_path / "liuray.sbatch"
    port, ray_port = free_port(), free_port()
    argv = ["ray", "config", "slurm", "--nodes", "2", "--cpus-per-node", "1"]
    argv += ["--port", str(port), "--ray-port", str(ray_port), "-o", str(script)]
    assert main(argv) == 0
    home, state, log = tmp_path / "home", tmp_path / "slurm", tmp_path / "job.log"
    state.mkdir()
    with ray_environment():
        env = dict(
            os.environ,
            PATH=f"{fake_slurm_bin(tmp_path)}:{BIN}:{os.environ['PATH']}",
            HOME=str(home),
            LIURAY_HOME=str(home / ".liuray"),
            FAKE_SLURM_STATE=str(state),
            SLURM_JOB_ID="4242",
            SLURM_JOB_NODELIST="fake[1-2]",
            SLURM_JOB_NUM_NODES="2",
            SLURM_CPUS_PER_TASK="1",
        )
        env.pop("LIURAY_TOKEN", None)
        with log.open("wb") as output:
            job = subprocess.Popen(
                ["bash", str(script)],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            env_file = home / ".liuray" / "slurm-4242.env"
            wait_for(env_file.exists, 60, "the DIM's address file", log)
            assert env_file.stat().st_mode & 0o077 == 0
            reach = read_env_file(env_file)
            assert reach["LIURAY_DIM"].endswith(f":{port}") and len(reach["LIURAY_TOKEN"]) >= 30

            def two_nodes() -> bool:
                try:
                    with Client(reach["LIURAY_DIM"], token=reach["LIURAY_TOKEN"]) as client:
                        return len(client.nodes()) == 2
                except Exception:  # not listening yet
                    return False

            wait_for(two_nodes, 60, "the DIM with both nodes", log)
            graph = tmp_path / "graph.json"
            graph.write_text(graph_json())
            submitted = subprocess.run(
                [str(BIN / "liuray"), "submit", str(graph), "--wait", "-q"],
                env={**env, **reach},
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert submitted.returncode == 0, submitted.stdout + submitted.stderr
            os.kill(job.pid, signal.SIGUSR1)
            assert job.wait(timeout=60) == 0, log.read_text()[-4000:]
        finally:
            if job.poll() is None:
                os.killpg(job.pid, signal.SIGKILL)
                job.wait()
    text = log.read_text()
    assert "stopping: received SIGUSR1" in text and "stopped" in text
    starts = [line for line in (state / "calls").read_text().splitlines() if "ray start" in line]
    assert [line.split(" ray start")[0] for line in starts] == [
        "--nodes=1 --ntasks=1 --cpus-per-task=1 -w fake1",
        "--nodes=1 --ntasks=1 --cpus-per-task=1 -w fake2",
    ]
    assert all("--num-cpus 1" in line for line in starts)
    assert not env_file.exists()
    assert list(state.glob("*/*.pgid")) == []  # every srun step ended
    groups = [int(group) for group in (state / "all-pgids").read_text().split()]
    assert [group for group in groups if alive(group)] == []


def graph_json() -> str:
    """Four sleep apps, each writing a memory drop; no node given, so spread."""
    import json

    specs: list[dict[str, object]] = []
    for index in range(4):
        specs.append(
            {
                "oid": f"sleep{index}",
                "categoryType": "Application",
                "dropclass": "dlg.apps.simple.SleepApp",
                "sleep_time": 0.2,
                "outputs": [f"out{index}"],
            }
        )
        specs.append(
            {
                "oid": f"out{index}",
                "categoryType": "Data",
                "dropclass": "dlg.data.drops.memory.InMemoryDROP",
            }
        )
    return json.dumps(specs)


def test_dashboard_explains_a_slurm_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`liuray ray dashboard --cluster-config` on the sbatch script says where the job
    writes the DIM's address and token."""
    script = tmp_path / "liuray.sbatch"
    script.write_text(slurm_script(SlurmSettings()))
    assert main(["ray", "dashboard", "--cluster-config", str(script)]) == 0
    assert "source ~/.liuray/slurm-JOBID.env" in capsys.readouterr().out
