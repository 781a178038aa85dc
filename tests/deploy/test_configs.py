"""Ray cluster-launcher configs: Ray's own validation, liuray's footprint, re-runs."""

from __future__ import annotations

import argparse
import ast
import os
import re
import secrets
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("yaml")

import yaml

from liuray.cli.main import main
from liuray.deploy.clouds import NodeTypes, azure_config, gcp_config
from liuray.deploy.configs import (
    DIM_ENV_FILE,
    RAY_DEFAULT_AMI_REGIONS,
    STOP_GRACE_S,
    ClusterSettings,
    aws_config,
    dim_command,
    dim_port,
    dim_token,
    install_command,
    liuray_requirement,
    local_config,
    to_yaml,
    token_command,
)
from liuray.errors import DeployError

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "deploy" / "ray"
RAY = "2.60.0"
TOKEN = "t0ken-for-the-tests-only"

Validate = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def ray_validate() -> Validate:
    """Ray's own launcher validation, offline: prepare_config fills in the provider's
    defaults (as `ray up` does), validate_config checks ray-schema.json and more."""
    pytest.importorskip("ray")
    from ray.autoscaler._private.util import prepare_config, validate_config

    def check(config: dict[str, Any]) -> dict[str, Any]:
        prepared: dict[str, Any] = prepare_config(config)
        validate_config(prepared)
        return prepared

    return check


def generated_aws(
    spot: bool = False, docker: bool = True, token: str | None = None
) -> dict[str, Any]:
    return aws_config(
        ClusterSettings(ray_version=RAY, docker=docker, token=token),
        region="eu-west-1",
        head_type="m5.large",
        worker_type="c5.2xlarge",
        min_workers=1,
        max_workers=6,
        spot=spot,
    )


def generated_local(
    docker: bool = True, ssh_key: str | None = None, token: str | None = None
) -> dict[str, Any]:
    return local_config(
        ClusterSettings(ray_version=RAY, docker=docker, liuray_version="0.1.0", token=token),
        head_ip="10.0.0.1",
        worker_ips=["10.0.0.2", "node3.example.org"],
        ssh_user="ray",
        ssh_key=ssh_key,
    )


def generated_gcp(spot: bool = False, token: str | None = None) -> dict[str, Any]:
    nodes = NodeTypes(
        head_type="n2-standard-4",
        worker_type="c3-highcpu-22",
        min_workers=1,
        max_workers=6,
        spot=spot,
    )
    return gcp_config(
        ClusterSettings(ray_version=RAY, token=token),
        nodes,
        project_id="my-project",
        region="europe-west4",
    )


def generated_azure(spot: bool = False, token: str | None = None) -> dict[str, Any]:
    nodes = NodeTypes(
        head_type="Standard_D4s_v5", worker_type="Standard_F16s_v2", max_workers=6, spot=spot
    )
    subscription = "00000000-0000-0000-0000-000000000000" if spot else None
    return azure_config(
        ClusterSettings(ray_version=RAY, token=token),
        nodes,
        location="westeurope",
        resource_group="liuray-test",
        subscription_id=subscription,
    )


def committed(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((COMMITTED / name).read_text())
    return loaded


ALL_CONFIGS: dict[str, Callable[[], dict[str, Any]]] = {
    "aws": generated_aws,
    "aws-spot": lambda: generated_aws(spot=True),
    "aws-no-docker": lambda: generated_aws(docker=False),
    "local": generated_local,
    "local-no-docker-key": lambda: generated_local(docker=False, ssh_key="~/.ssh/id_rsa"),
    "gcp": generated_gcp,
    "gcp-spot": lambda: generated_gcp(spot=True),
    "azure": generated_azure,
    "azure-spot": lambda: generated_azure(spot=True),
    "aws-token": lambda: generated_aws(spot=True, token=TOKEN),
    "gcp-token": lambda: generated_gcp(token=TOKEN),
    "azure-token": lambda: generated_azure(token=TOKEN),
    "local-token": lambda: generated_local(token=TOKEN),
    "committed-aws": lambda: committed("aws.yaml"),
    "committed-local": lambda: committed("local.yaml"),
    "committed-gcp": lambda: committed("gcp.yaml"),
    "committed-azure": lambda: committed("azure.yaml"),
}


@pytest.mark.parametrize("name", sorted(ALL_CONFIGS))
def test_config_passes_ray_validation(name: str, ray_validate: Validate) -> None:
    """Each config, generated or committed, is what `ray up` would accept: Ray fills in
    the provider defaults and its validation raises nothing."""
    prepared = ray_validate(ALL_CONFIGS[name]())
    assert prepared["head_node_type"] in prepared["available_node_types"]


def test_ray_validation_rejects_a_broken_config(ray_validate: Validate) -> None:
    """The validation really bites: a misspelt node-type key is refused."""
    config = generated_aws()
    config["available_node_types"]["worker"]["min_worker"] = 1
    with pytest.raises(Exception, match="Additional properties are not allowed"):
        ray_validate(config)


def test_validation_needs_no_cloud(ray_validate: Validate) -> None:
    """Validating an AWS config loads neither boto3 nor Ray's AWS provider module."""
    ray_validate(generated_aws(spot=True))
    assert "boto3" not in sys.modules
    assert "ray.autoscaler._private.aws.config" not in sys.modules


def liuray_lines(commands: list[str] | None) -> list[str]:
    return [line for line in commands or [] if "liuray" in line]


@pytest.mark.parametrize("name", sorted(ALL_CONFIGS))
def test_liuray_footprint(name: str) -> None:
    """liuray adds one install line for every node, exactly one line on the head (the
    DIM, in the background), its token's line in the head's setup if it has one, and
    nothing to workers."""
    config = ALL_CONFIGS[name]()
    (install,) = config["setup_commands"]
    assert install.startswith("pip install 'liuray[ray]")
    assert f"'ray[default]=={RAY}'" in install
    token = dim_token(config)
    assert (token is not None) == name.endswith("-token")
    (head_line,) = liuray_lines(config["head_start_ray_commands"])
    assert head_line == dim_command(8001, token=token is not None)
    assert "liuray serve --ray auto" in head_line and head_line.endswith("&")
    expected_setup = [token_command(token)] if token else []
    assert liuray_lines(config["head_setup_commands"]) == expected_setup
    for key in ("worker_setup_commands", "initialization_commands"):
        assert liuray_lines(config[key]) == [], key
    assert config["worker_start_ray_commands"] == [
        "ray stop",
        "ray start --address=$RAY_HEAD_IP:6379",
    ]
    assert "liuray" not in yaml.safe_dump(config.get("available_node_types", {}))


@pytest.mark.parametrize("name", sorted(ALL_CONFIGS))
def test_stock_image_and_no_ami(name: str) -> None:
    """Docker configs use the stock Ray image of the pinned version; no config names an
    AMI (Ray picks its per-region default)."""
    config = ALL_CONFIGS[name]()
    if "docker" in config:
        assert config["docker"]["image"] == f"rayproject/ray:{RAY}-py311"
    else:
        assert "no-docker" in name
    assert "ImageId" not in yaml.safe_dump(config)


def test_head_starts_ray_before_the_dim() -> None:
    """The head runs Ray's usual start (with the autoscaler config) and then the DIM."""
    stop, start, dim = generated_aws()["head_start_ray_commands"]
    assert stop == "ray stop"
    assert start.startswith("ray start --head --port=6379 ")
    assert "--autoscaling-config=~/ray_bootstrap_config.yaml" in start
    assert "--dashboard-host=0.0.0.0" in start
    assert dim.startswith("pkill -x liuray")


def test_aws_settings_land_in_place() -> None:
    """Region, instance types and worker counts are plain settings in the config."""
    config = generated_aws()
    assert config["provider"] == {"type": "aws", "region": "eu-west-1"}
    head, worker = config["available_node_types"]["head"], config["available_node_types"]["worker"]
    assert head["node_config"] == {"InstanceType": "m5.large"}
    assert worker["node_config"] == {"InstanceType": "c5.2xlarge"}
    assert (worker["min_workers"], worker["max_workers"], config["max_workers"]) == (1, 6, 6)
    assert config["idle_timeout_minutes"] == 5


def test_spot_applies_to_workers_only() -> None:
    """--spot puts workers on Spot instances; the head (GCS + DIM) stays on-demand."""
    types = generated_aws(spot=True)["available_node_types"]
    assert types["worker"]["node_config"]["InstanceMarketOptions"] == {"MarketType": "spot"}
    assert "InstanceMarketOptions" not in types["head"]["node_config"]
    assert "InstanceMarketOptions" not in yaml.safe_dump(generated_aws(spot=False))


def test_local_config_lists_hosts_and_ssh() -> None:
    """The on-prem config names the hosts and the ssh identity, and no node types
    (Ray's local provider derives them from the host list)."""
    config = generated_local(ssh_key="~/.ssh/id_ed25519")
    assert config["provider"] == {
        "type": "local",
        "head_ip": "10.0.0.1",
        "worker_ips": ["10.0.0.2", "node3.example.org"],
    }
    assert config["auth"] == {"ssh_user": "ray", "ssh_private_key": "~/.ssh/id_ed25519"}
    assert "available_node_types" not in config
    assert generated_local()["auth"] == {"ssh_user": "ray"}


@pytest.mark.parametrize(
    ("version", "requirement"),
    [
        (None, "liuray[ray]"),
        ("0.2.0", "liuray[ray]==0.2.0"),
        (">=0.1,<0.3", "liuray[ray]>=0.1,<0.3"),
        ("git+https://example.org/liuray.git", "liuray[ray] @ git+https://example.org/liuray.git"),
    ],
)
def test_liuray_version_pins_the_install(version: str | None, requirement: str) -> None:
    """--liuray-version becomes a pip requirement, quoted for the shell."""
    assert liuray_requirement(version) == requirement
    line = install_command(ClusterSettings(ray_version=RAY, liuray_version=version))
    assert shlex.split(line) == ["pip", "install", requirement, f"ray[default]=={RAY}"]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ClusterSettings(ray_version="latest"), "not a release"),
        (lambda: ClusterSettings(ray_version=RAY, python_version="3.10"), "3.11 or newer"),
        (lambda: ClusterSettings(ray_version=RAY, port=6379), "Ray takes"),
        (lambda: ClusterSettings(ray_version=RAY, port=15000), "10002-19999"),
        (lambda: ClusterSettings(ray_version=RAY, cluster_name="my cluster"), "cluster name"),
        (lambda: ClusterSettings(ray_version=RAY, liuray_version="0.1 beta"), "without spaces"),
        (lambda: aws_config_with(min_workers=3, max_workers=2), r"min \(3\) <= max \(2\)"),
        (lambda: aws_config_with(idle_timeout_minutes=1), "too short"),
        (lambda: local_with(head_ip="h1", worker_ips=["h1", "h2"]), "distinct"),
        (lambda: local_with(head_ip="h0", worker_ips=["h2", "h2"]), r"repeated: \['h2'\]"),
        (lambda: dim_command(8001, program="a-very-long-program"), "15 characters"),
        (lambda: ClusterSettings(ray_version=RAY, token="short"), "at least 8 printable"),
        (lambda: ClusterSettings(ray_version=RAY, token=" padded-token "), "trailing spaces"),
        (lambda: ClusterSettings(ray_version=RAY, token="two\nlines-token"), "printable"),
        (lambda: token_command("short"), "at least 8"),
    ],
)
def test_unusable_settings_are_refused(build: Callable[[], object], message: str) -> None:
    """Settings that would break `ray up` (or liuray on the head) fail before any file
    is written, with a message saying what would work."""
    with pytest.raises(DeployError, match=message):
        build()


def aws_config_with(**overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "region": "us-west-2",
        "head_type": "m5.large",
        "worker_type": "m5.large",
        "min_workers": 0,
        "max_workers": 2,
        "spot": False,
    }
    return aws_config(ClusterSettings(ray_version=RAY), **(settings | overrides))


def local_with(**overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {"head_ip": "h0", "worker_ips": ["h1"], "ssh_user": "ray"}
    return local_config(ClusterSettings(ray_version=RAY), **(settings | overrides))


def test_yaml_round_trips_below_the_header() -> None:
    """to_yaml writes comment lines then YAML that loads back to the same config."""
    config = generated_aws(spot=True)
    text = to_yaml(config, "first line\n  indented")
    assert text.startswith("# first line\n#   indented\ncluster_name: liuray\n")
    assert yaml.safe_load(text) == config


def test_dim_port_is_read_back_from_a_config() -> None:
    """The DIM's port is found in the head commands; a plain Ray config has none."""
    config = local_config(
        ClusterSettings(ray_version=RAY, port=8100), head_ip="h", worker_ips=[], ssh_user="u"
    )
    assert dim_port(config) == 8100
    assert dim_port({"head_start_ray_commands": ["ray stop", "ray start --head"]}) is None


def test_default_ami_regions_match_ray() -> None:
    """The regions we promise need no ImageId are the ones Ray's launcher has a default
    AMI for (read from its source, since importing it needs boto3)."""
    ray = pytest.importorskip("ray")
    source = Path(ray.__file__).parent / "autoscaler" / "_private" / "aws" / "config.py"
    tree = ast.parse(source.read_text())
    (table,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "DEFAULT_AMI" for t in node.targets)
    ]
    assert isinstance(table, ast.Dict)
    regions = {key.value for key in table.keys if isinstance(key, ast.Constant)}
    assert regions == RAY_DEFAULT_AMI_REGIONS, "update RAY_DEFAULT_AMI_REGIONS for this Ray"


def readme_commands() -> list[list[str]]:
    text = (ROOT / "deploy" / "README.md").read_text()
    block = text.split("## Regenerating the examples", 1)[1]
    lines = [line for line in block.splitlines() if line.startswith("liuray ray config ")]
    return [shlex.split(line)[1:] for line in lines]


EXAMPLES = [
    "deploy/ray/aws.yaml",
    "deploy/ray/gcp.yaml",
    "deploy/ray/azure.yaml",
    "deploy/ray/local.yaml",
    "deploy/kuberay/liuray.yaml",
    "deploy/slurm/liuray.sbatch",
]


def test_committed_examples_are_the_generator_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """deploy/README.md's regeneration commands reproduce every example under deploy/
    byte for byte, so the examples cannot drift from what `liuray ray config` writes."""
    monkeypatch.chdir(tmp_path)
    for folder in ("ray", "kuberay", "slurm"):
        (tmp_path / "deploy" / folder).mkdir(parents=True)
    commands = readme_commands()
    assert sorted(argv[argv.index("-o") + 1] for argv in commands) == sorted(EXAMPLES)
    for argv in commands:
        assert main(argv) == 0, argv
    for name in EXAMPLES:
        assert (tmp_path / name).read_text() == (ROOT / name).read_text(), name


# The DIM line, run for real in bash with a harmless stand-in for `liuray`: a Python
# script under a unique name (so pkill -x touches no other process on this machine).


@pytest.fixture
def stand_in(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A PATH with a `liuray`-like program that just sleeps; killed by pid at the end."""
    if shutil.which("pkill") is None or shutil.which("pgrep") is None:
        pytest.skip("needs pkill and pgrep (procps)")
    name = "lr" + uuid.uuid4().hex[:12]
    program = tmp_path / "bin" / name
    program.parent.mkdir()
    program.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(120)\n")
    program.chmod(0o755)
    env = dict(os.environ, HOME=str(tmp_path), PATH=f"{program.parent}:{os.environ['PATH']}")
    yield name, env
    for pid in running(name):
        os.kill(pid, 9)


def running(name: str) -> list[int]:
    found = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True, check=False)
    return [int(pid) for pid in found.stdout.split()]


def run_line(line: str, env: dict[str, str]) -> float:
    """Run the line as the launcher does (a shell that must return), time it."""
    start = time.monotonic()
    subprocess.run(["bash", "-c", line], env=env, capture_output=True, timeout=30, check=True)
    return time.monotonic() - start


def wait_for_one(name: str) -> list[int]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        pids = running(name)
        if len(pids) == 1:
            return pids
        time.sleep(0.05)
    return running(name)


def test_rerunning_the_dim_line_leaves_one_dim(stand_in: tuple[str, dict[str, str]]) -> None:
    """`ray up` twice: the first run starts a DIM and returns at once (detached, so the
    ssh session does not hang); the second stops that DIM and starts one new one."""
    name, env = stand_in
    line = dim_command(8001, program=name)
    assert run_line(line, env) < STOP_GRACE_S  # nothing to stop: no grace period
    (first,) = wait_for_one(name)
    run_line(line, env)
    (second,) = wait_for_one(name)
    assert second != first
    assert (Path(env["HOME"]) / "liuray-serve.log").exists()


def test_dim_line_does_not_kill_its_own_shell(stand_in: tuple[str, dict[str, str]]) -> None:
    """The shell running the line has "<program> serve" in its command line; matching on
    the process name (not the command line) keeps that shell alive to start the DIM."""
    name, env = stand_in
    line = dim_command(8001, program=name)
    assert re.search(rf"\b{name} serve\b", line)
    result = subprocess.run(
        ["bash", "-c", line + " echo started"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (0, "started")
    assert len(wait_for_one(name)) == 1


def test_configs_import_without_ray_or_yaml() -> None:
    """The generator module and the CLI load with neither Ray nor PyYAML; only writing
    YAML needs PyYAML, and says which extra to install."""
    code = (
        "import sys\n"
        "sys.modules['ray'] = sys.modules['yaml'] = None\n"
        "from liuray.cli.main import build_parser\n"
        "from liuray.deploy.configs import ClusterSettings, local_config, to_yaml\n"
        "from liuray.errors import MissingDependency\n"
        "build_parser()\n"
        "config = local_config(ClusterSettings(ray_version='2.60.0'), head_ip='h',\n"
        "                      worker_ips=[], ssh_user='u')\n"
        "try:\n"
        "    to_yaml(config)\n"
        "except MissingDependency as err:\n"
        "    print(err)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == (
        "'pyyaml' is not installed; install it with: pip install 'liuray[ray]'"
    )


@pytest.mark.parametrize("token", [False, True])
def test_dim_line_is_a_valid_serve_command(token: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command the head runs parses with `liuray serve`'s own options, and passes
    its checks: loopback only (reached through the ssh tunnel); the token, if any,
    comes from the environment, never from the command line."""
    serve = pytest.importorskip("liuray.cli.serve")
    monkeypatch.delenv("LIURAY_TOKEN", raising=False)
    parser = argparse.ArgumentParser()
    serve.add_parser(parser.add_subparsers())
    line = dim_command(8001, token=token)
    assert (f". {DIM_ENV_FILE} || exit 1; " in line) == token
    started = line.split("; nohup ", 1)[1].split(" >>", 1)[0]
    program, *argv = shlex.split(started)
    args = parser.parse_args(argv)
    assert (program, args.ray, args.host, args.port) == ("liuray", "auto", "127.0.0.1", 8001)
    assert args.token is None
    assert serve._check_options(args) == ""


# The token's way from the config to the DIM, run for real in bash, HOME in tmp_path.

AWKWARD_TOKEN = 'it\'s $(touch pwned) "quoted" `touch pwned` \\ end'


def run_bash(line: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", line],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize("token", [TOKEN, AWKWARD_TOKEN])
def test_token_line_writes_a_private_env_file(tmp_path: Path, token: str) -> None:
    """The head's setup line writes the token to ~/.liuray/dim.env for its owner only
    (folder 700, file 600), also over an older file with a looser mode; sourcing the
    file, as the DIM line does, gives the token back unchanged whatever shell
    characters it holds, and runs none of them; the config's reader finds it too."""
    env = dict(os.environ, HOME=str(tmp_path))
    line = token_command(token)
    assert run_bash(line, env, tmp_path).returncode == 0
    env_file = tmp_path / ".liuray" / "dim.env"
    assert stat.S_IMODE(env_file.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    env_file.chmod(0o644)
    assert run_bash(line, env, tmp_path).returncode == 0
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    sourced = run_bash(f'. {DIM_ENV_FILE} && printf %s "$LIURAY_TOKEN"', env, tmp_path)
    assert sourced.stdout == token
    assert not (tmp_path / "pwned").exists()
    assert dim_token(generated_aws(token=token)) == token


def test_dim_line_without_its_env_file_starts_no_open_dim(
    stand_in: tuple[str, dict[str, str]],
) -> None:
    """A config with a token whose env file is missing on the head fails its DIM line
    (`ray up` reports it) instead of starting a DIM that anyone on the head could use."""
    name, env = stand_in
    result = run_bash(dim_command(8001, program=name, token=True), env, Path(env["HOME"]))
    assert result.returncode == 1
    assert running(name) == []


@pytest.fixture
def serve_stand_in(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A PATH whose `liuray`-like program (unique name) runs the real `liuray serve`,
    in-process instead of on Ray (`--ray auto` dropped); killed by pid at the end."""
    pytest.importorskip("uvicorn")
    pytest.importorskip("httpx")
    if shutil.which("pkill") is None or shutil.which("pgrep") is None:
        pytest.skip("needs pkill and pgrep (procps)")
    name = "lr" + uuid.uuid4().hex[:12]
    program = tmp_path / "bin" / name
    program.parent.mkdir()
    program.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "from liuray.cli.main import main\n"
        "argv = sys.argv[1:]\n"
        "del argv[argv.index('--ray') : argv.index('--ray') + 2]\n"
        "sys.exit(main(argv))\n"
    )
    program.chmod(0o755)
    env = dict(os.environ, HOME=str(tmp_path), PATH=f"{program.parent}:{os.environ['PATH']}")
    env.pop("LIURAY_TOKEN", None)
    env.pop("LIURAY_HOME", None)
    yield name, env
    for pid in running(name):
        os.kill(pid, 9)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def first_answer(url: str) -> Any:
    """The server's first answer to GET url (it may still be starting)."""
    import httpx

    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.get(url, timeout=10)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_dim_started_from_the_env_file_requires_its_token(
    serve_stand_in: tuple[str, dict[str, str]],
) -> None:
    """The head's two lines, run in order as `ray up` does: the setup line writes the
    token, the DIM line starts a real `liuray serve` that refuses requests without it
    and accepts them with it. The token is in the DIM's environment (readable by its
    user only), on no process's command line."""
    import httpx

    name, env = serve_stand_in
    home = Path(env["HOME"])
    token = secrets.token_urlsafe(32)
    port = free_port()
    assert run_bash(token_command(token), env, home).returncode == 0
    run_line(dim_command(port, program=name, token=True), env)
    (pid,) = wait_for_one(name)
    url = f"http://127.0.0.1:{port}/api/sessions"
    assert first_answer(url).status_code == 401
    allowed = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert allowed.status_code == 200
    assert httpx.get(url, headers={"Authorization": "Bearer wrong"}, timeout=10).status_code == 401
    assert token.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()
    environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert f"LIURAY_TOKEN={token}".encode() in environment
    every_command_line = subprocess.run(
        ["ps", "-eo", "args"], capture_output=True, text=True, check=True
    ).stdout
    assert token not in every_command_line
