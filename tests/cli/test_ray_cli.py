"""``liuray ray config`` and ``liuray ray dashboard``, through the CLI entry point."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("yaml")

import yaml

from liuray.cli.main import main

RAY = "2.60.0"


def config_from(out: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(out)
    return loaded


def test_config_aws_writes_yaml_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    """`liuray ray config aws ... --spot` prints a commented YAML config with the
    settings in place and nothing on standard error (a known region)."""
    status = main(
        [
            "ray",
            "config",
            "aws",
            "--region",
            "eu-west-1",
            "--head-type",
            "m5.large",
            "--worker-type",
            "c5.xlarge",
            "--min-workers",
            "1",
            "--max-workers",
            "5",
            "--spot",
            "--cluster-name",
            "survey",
            "--ray-version",
            RAY,
        ]
    )
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    assert out.startswith("# Ray cluster-launcher config for liuray")
    config = config_from(out)
    assert config["cluster_name"] == "survey"
    assert config["provider"] == {"type": "aws", "region": "eu-west-1"}
    worker = config["available_node_types"]["worker"]
    assert worker["node_config"] == {
        "InstanceType": "c5.xlarge",
        "InstanceMarketOptions": {"MarketType": "spot"},
    }
    assert (worker["min_workers"], worker["max_workers"]) == (1, 5)
    assert config["docker"]["image"] == f"rayproject/ray:{RAY}-py311"


def test_config_local_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With -o the YAML goes to the file, and standard error says how to start it."""
    target = tmp_path / "onprem.yaml"
    status = main(
        [
            "ray",
            "config",
            "local",
            "--head",
            "10.0.0.1",
            "--workers",
            "10.0.0.2, 10.0.0.3",
            "--ssh-user",
            "ray",
            "--ssh-key",
            "~/.ssh/k",
            "--no-docker",
            "--liuray-version",
            "0.1.0",
            "--port",
            "8100",
            "--ray-version",
            RAY,
            "-o",
            str(target),
        ]
    )
    out, err = capsys.readouterr()
    assert (status, out) == (0, "")
    assert f"ray up {target} -y" in err
    config = config_from(target.read_text())
    assert config["provider"]["worker_ips"] == ["10.0.0.2", "10.0.0.3"]
    assert config["auth"] == {"ssh_user": "ray", "ssh_private_key": "~/.ssh/k"}
    assert "docker" not in config
    assert config["setup_commands"] == [f"pip install 'liuray[ray]==0.1.0' 'ray[default]=={RAY}'"]
    assert "--port 8100" in config["head_start_ray_commands"][-1]
    assert f"ray up {target} -y" in target.read_text()  # the header names the file


def test_config_defaults_to_the_installed_ray(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --ray-version the nodes get the Ray that will run `ray up` here."""
    pytest.importorskip("ray")
    installed = metadata.version("ray")
    assert main(["ray", "config", "aws"]) == 0
    config = config_from(capsys.readouterr().out)
    assert config["docker"]["image"] == f"rayproject/ray:{installed}-py311"
    assert f"'ray[default]=={installed}'" in config["setup_commands"][0]


def test_config_without_ray_asks_for_the_version(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where Ray is not installed the generator cannot guess the version: exit 2 and
    say to pass --ray-version."""

    def missing(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", missing)
    assert main(["ray", "config", "local", "--head", "h", "--ssh-user", "u"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "pass --ray-version" in err


def test_bad_settings_exit_2_and_write_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """min > max workers is refused before anything is written."""
    target = tmp_path / "aws.yaml"
    status = main(
        [
            "ray",
            "config",
            "aws",
            "--min-workers",
            "3",
            "--max-workers",
            "1",
            "--ray-version",
            RAY,
            "-o",
            str(target),
        ]
    )
    assert status == 2
    assert not target.exists()
    assert capsys.readouterr().err.startswith("error: workers: need 0 <= min (3) <= max (1)")


def test_region_without_default_image_warns(capsys: pytest.CaptureFixture[str]) -> None:
    """A region Ray has no default AMI for still gets a config, with a warning that
    `ray up` will ask for an ImageId."""
    assert main(["ray", "config", "aws", "--region", "ap-south-1", "--ray-version", RAY]) == 0
    out, err = capsys.readouterr()
    assert config_from(out)["provider"]["region"] == "ap-south-1"
    assert err.startswith("warning: ") and "ImageId" in err


def test_ray_without_a_command_shows_help(capsys: pytest.CaptureFixture[str]) -> None:
    """`liuray ray` and `liuray ray config` alone print their help and exit 2."""
    assert main(["ray"]) == 2
    assert "dashboard" in capsys.readouterr().err
    assert main(["ray", "config"]) == 2
    assert "local" in capsys.readouterr().err


def forwarded_ports(text: str) -> set[int]:
    return {int(port) for port in re.findall(r"localhost:(\d+)", text)}


def test_dashboard_without_config_names_one_liuray_port(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With no config the hint uses placeholders and forwards exactly two ports: the
    DIM's (8001, liuray's only one) and Ray's dashboard (8265)."""
    assert main(["ray", "dashboard"]) == 0
    out = capsys.readouterr().out
    assert forwarded_ports(out) == {8001, 8265}
    assert "ray dashboard CONFIG.yaml --port 8001 --remote-port 8001" in out
    assert "ray attach CONFIG.yaml -p 8001 -p 8265" in out
    assert "USER@$(ray get-head-ip CONFIG.yaml)" in out


def test_dashboard_reads_port_and_head_from_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given the on-prem config, the hint uses its DIM port, head host and ssh key."""
    path = tmp_path / "onprem.yaml"
    assert (
        main(
            [
                "ray",
                "config",
                "local",
                "--head",
                "10.0.0.1",
                "--ssh-user",
                "ray",
                "--ssh-key",
                "~/.ssh/k",
                "--port",
                "8100",
                "--ray-version",
                RAY,
                "-o",
                str(path),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["ray", "dashboard", "--cluster-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert forwarded_ports(out) == {8100, 8265}
    assert f"ray dashboard {path} --port 8100 --remote-port 8100" in out
    assert "ssh -i ~/.ssh/k -L 8100:localhost:8100 -L 8265:localhost:8265 ray@10.0.0.1" in out


def test_dashboard_port_option_wins(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--port overrides the port found in the config; AWS hints at Ray's key file."""
    path = tmp_path / "aws.yaml"
    assert (
        main(
            ["ray", "config", "aws", "--region", "eu-west-2", "--ray-version", RAY, "-o", str(path)]
        )
        == 0
    )
    assert main(["ray", "dashboard", "--cluster-config", str(path), "--port", "9000"]) == 0
    out = capsys.readouterr().out
    assert forwarded_ports(out) == {9000, 8265}
    assert "-i ~/.ssh/ray-autoscaler_eu-west-2.pem" in out
    assert f"ubuntu@$(ray get-head-ip {path})" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), ("[unclosed", "is not YAML"), ("- a list", "not a mapping")],
)
def test_dashboard_with_an_unusable_config_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    """A missing, broken or non-mapping config file is reported, not traced back."""
    path = tmp_path / "cluster.yaml"
    if content is not None:
        path.write_text(content)
    assert main(["ray", "dashboard", "--cluster-config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("error: ") and message in err
