"""Ray cluster-launcher configs: Ray's own validation, liuray's footprint, re-runs."""

from __future__ import annotations

import argparse
import ast
import os
import re
import shlex
import shutil
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
    RAY_DEFAULT_AMI_REGIONS,
    STOP_GRACE_S,
    ClusterSettings,
    aws_config,
    dim_command,
    dim_port,
    install_command,
    liuray_requirement,
    local_config,
    to_yaml,
)
from liuray.errors import DeployError

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "deploy" / "ray"
RAY = "2.60.0"

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


def generated_aws(spot: bool = False, docker: bool = True) -> dict[str, Any]:
    return aws_config(
        ClusterSettings(ray_version=RAY, docker=docker),
        region="eu-west-1",
        head_type="m5.large",
        worker_type="c5.2xlarge",
        min_workers=1,
        max_workers=6,
        spot=spot,
    )


def generated_local(docker: bool = True, ssh_key: str | None = None) -> dict[str, Any]:
    return local_config(
        ClusterSettings(ray_version=RAY, docker=docker, liuray_version="0.1.0"),
        head_ip="10.0.0.1",
        worker_ips=["10.0.0.2", "node3.example.org"],
        ssh_user="ray",
        ssh_key=ssh_key,
    )


def generated_gcp(spot: bool = False) -> dict[str, Any]:
    nodes = NodeTypes(
        head_type="n2-standard-4",
        worker_type="c3-highcpu-22",
        min_workers=1,
        max_workers=6,
        spot=spot,
    )
    return gcp_config(
        ClusterSettings(ray_version=RAY), nodes, project_id="my-project", region="europe-west4"
    )


def generated_azure(spot: bool = False) -> dict[str, Any]:
    nodes = NodeTypes(
        head_type="Standard_D4s_v5", worker_type="Standard_F16s_v2", max_workers=6, spot=spot
    )
    subscription = "00000000-0000-0000-0000-000000000000" if spot else None
    return azure_config(
        ClusterSettings(ray_version=RAY),
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
    DIM, in the background), and nothing to workers."""
    config = ALL_CONFIGS[name]()
    (install,) = config["setup_commands"]
    assert install.startswith("pip install 'liuray[ray]")
    assert f"'ray[default]=={RAY}'" in install
    (head_line,) = liuray_lines(config["head_start_ray_commands"])
    assert head_line == dim_command(8001)
    assert "liuray serve --ray auto" in head_line and head_line.endswith("&")
    for key in ("head_setup_commands", "worker_setup_commands", "initialization_commands"):
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


def test_dim_line_is_a_valid_serve_command() -> None:
    """The command the head runs parses with `liuray serve`'s own options, and passes
    its checks: loopback only (reached through the ssh tunnel), so no token is needed."""
    serve = pytest.importorskip("liuray.cli.serve")
    parser = argparse.ArgumentParser()
    serve.add_parser(parser.add_subparsers())
    started = dim_command(8001).split("; nohup ", 1)[1].split(" >>", 1)[0]
    program, *argv = shlex.split(started)
    args = parser.parse_args(argv)
    assert (program, args.ray, args.host, args.port) == ("liuray", "auto", "127.0.0.1", 8001)
    assert serve._check_options(args) == ""
