"""``liuray ray config`` and ``liuray ray dashboard``, through the CLI entry point."""

from __future__ import annotations

import re
import shlex
import stat
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("yaml")

import yaml

from liuray.cli.main import main
from liuray.deploy.configs import dim_token

RAY = "2.60.0"
SECRET_NOTE = "note: this config holds the DIM's access token: keep it secret\n"


@pytest.fixture(autouse=True)
def no_token_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The launcher configs take $LIURAY_TOKEN: none unless a test sets it."""
    monkeypatch.delenv("LIURAY_TOKEN", raising=False)


def config_from(out: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(out)
    return loaded


def test_config_aws_writes_yaml_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    """`liuray ray config aws ... --spot` prints a commented YAML config with the
    settings in place, and on standard error only that it holds a token (a known
    region)."""
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
    assert (status, err) == (0, SECRET_NOTE)
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


# The DIM's access token in the launcher configs (AWS, GCP, Azure, on-prem).

CLOUD_ARGS = {
    "aws": ["--region", "eu-west-1"],
    "gcp": ["--project", "my-project"],
    "azure": ["--location", "westeurope"],
    "local": ["--head", "10.0.0.1", "--ssh-user", "ray"],
}


def write_cloud(provider: str, path: Path, *extra: str) -> int:
    argv = ["ray", "config", provider, *CLOUD_ARGS[provider], "--ray-version", RAY]
    return main([*argv, *extra, "-o", str(path)])


def written_token(path: Path) -> str | None:
    return dim_token(config_from(path.read_text()))


@pytest.mark.parametrize("provider", sorted(CLOUD_ARGS))
def test_each_config_gets_a_new_random_token(
    provider: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """By default every config written holds a new random token (a different one each
    time), in a file only its owner can read, and the command says it is a secret."""
    first, second = tmp_path / "one.yaml", tmp_path / "two.yaml"
    assert write_cloud(provider, first) == 0
    err = capsys.readouterr().err
    assert write_cloud(provider, second) == 0
    tokens = [written_token(first), written_token(second)]
    assert all(token is not None and len(token) >= 40 for token in tokens)
    assert tokens[0] != tokens[1]
    for path in (first, second):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert "# SECRET: this file holds the DIM's access token" in path.read_text()
    assert f"{first} holds the DIM's access token: it is a secret now (mode 600)" in err


def test_an_existing_file_becomes_private(tmp_path: Path) -> None:
    """Writing a token over a file that others could read first makes it private."""
    path = tmp_path / "cluster.yaml"
    path.write_text("old")
    path.chmod(0o644)
    assert write_cloud("aws", path) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("provider", sorted(CLOUD_ARGS))
def test_a_given_token_is_used(provider: str, tmp_path: Path) -> None:
    """--token puts that token in the config."""
    path = tmp_path / "cluster.yaml"
    assert write_cloud(provider, path, "--token", "my own token 123") == 0
    assert written_token(path) == "my own token 123"


def test_the_environment_token_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --token, $LIURAY_TOKEN (what `liuray serve` and the client read) is
    used, and the command says so; --token wins over it."""
    monkeypatch.setenv("LIURAY_TOKEN", "from-the-environment")
    path = tmp_path / "cluster.yaml"
    assert write_cloud("gcp", path) == 0
    assert written_token(path) == "from-the-environment"
    assert "$LIURAY_TOKEN (from your environment)" in capsys.readouterr().err
    assert write_cloud("gcp", path, "--token", "given-on-the-line") == 0
    assert written_token(path) == "given-on-the-line"


@pytest.mark.parametrize("provider", sorted(CLOUD_ARGS))
def test_no_token_gives_none(
    provider: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--no-token writes a config without a token (even with $LIURAY_TOKEN set): no
    env file line, a DIM line that sources nothing, and a header that says so."""
    monkeypatch.setenv("LIURAY_TOKEN", "ignored-token")
    path = tmp_path / "cluster.yaml"
    assert write_cloud(provider, path, "--no-token") == 0
    text = path.read_text()
    assert written_token(path) is None
    assert "LIURAY_TOKEN" not in text and "dim.env" not in text
    assert "# The DIM runs WITHOUT an access token (--no-token)" in text


def test_an_unusable_token_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A token too short to be one is refused with exit status 2."""
    path = tmp_path / "cluster.yaml"
    assert write_cloud("azure", path, "--token", "abc") == 2
    assert "at least 8 printable characters" in capsys.readouterr().err
    assert not path.exists()


@pytest.mark.parametrize("provider", sorted(CLOUD_ARGS))
def test_dashboard_passes_the_token_on(
    provider: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`liuray ray dashboard` finds the token in each launcher config and prints it for
    the web page and as LIURAY_TOKEN for the CLI through the tunnel."""
    path = tmp_path / "cluster.yaml"
    assert write_cloud(provider, path, "--token", "it's a token") == 0
    capsys.readouterr()
    assert main(["ray", "dashboard", "--cluster-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "paste it when the page asks, once per browser tab): it's a token" in out
    assert "open http://localhost:8001/#token=it%27s%20a%20token" in out
    assert "export LIURAY_TOKEN=" + shlex.quote("it's a token") in out
    assert "export LIURAY_DIM=http://localhost:8001" in out


def test_dashboard_warns_of_a_config_without_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --no-token config's hint says the DIM is open to everyone on the head."""
    path = tmp_path / "cluster.yaml"
    assert write_cloud("aws", path, "--no-token") == 0
    capsys.readouterr()
    assert main(["ray", "dashboard", "--cluster-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "without an access token (--no-token)" in out
    assert "LIURAY_TOKEN" not in out


def test_dashboard_reads_the_token_of_a_kuberay_manifest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A KubeRay manifest that carries its Secret gives its token directly; the
    manifest file is private like the launcher configs."""
    path = tmp_path / "liuray.yaml"
    argv = ["ray", "config", "kuberay", "--token", "kube-token-1", "--ray-version", RAY]
    assert main([*argv, "-o", str(path)]) == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    capsys.readouterr()
    assert main(["ray", "dashboard", "--cluster-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "export LIURAY_TOKEN=kube-token-1" in out
    assert "once per browser tab): kube-token-1" in out
    assert "/#token=kube-token-1" in out
