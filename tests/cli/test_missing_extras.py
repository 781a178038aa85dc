"""Commands that need an optional extra which is not installed say what to install.

Each case runs ``liuray`` in a fresh interpreter with the extra's modules hidden
(``sys.modules[name] = None`` makes importing them fail, as when they are absent), and
expects exit status 2 with ONE line on standard error naming the ``pip install`` to run,
and no traceback. These run with or without the extras installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from liuray.cli import run as run_command
from liuray.cli.main import main

SERVER = ("starlette", "uvicorn", "multipart", "python_multipart")
CLIENT = ("httpx",)
RAY = ("ray", "yaml")

_SHIM = """\
import sys
for name in {hidden!r}:
    sys.modules[name] = None
from liuray.cli.main import main
sys.exit(main({argv!r}))
"""


def liuray_without(
    hidden: tuple[str, ...], argv: list[str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """Run ``liuray ARGV`` in a new interpreter in which ``hidden`` cannot be imported."""
    code = _SHIM.format(hidden=hidden, argv=argv)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def assert_one_line_naming(result: subprocess.CompletedProcess[str], extra: str) -> None:
    """Exit 2, nothing on stdout, one stderr line with the pip command, no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"pip install 'liuray[{extra}]'" in lines[0]
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("module", ["starlette", "uvicorn", "python_multipart"])
def test_serve_without_the_server_extra(tmp_path: Path, module: str) -> None:
    """``liuray serve`` without starlette, uvicorn or python-multipart asks for
    ``liuray[server]`` instead of starting (or failing on the first form post)."""
    hidden = ("multipart", "python_multipart") if module == "python_multipart" else (module,)
    result = liuray_without(
        hidden, ["serve", "--port", "0", "--state-dir", str(tmp_path / "state")], tmp_path
    )
    assert_one_line_naming(result, "server")


@pytest.mark.skipif(
    any(find_spec(name) is None for name in ("starlette", "uvicorn")),
    reason="needs the server extra: without it `serve` stops at that first",
)
def test_serve_ray_without_ray(tmp_path: Path) -> None:
    """``liuray serve --ray`` without Ray asks for ``liuray[ray]`` (it was a traceback)."""
    result = liuray_without(
        RAY, ["serve", "--ray", "--port", "0", "--state-dir", str(tmp_path / "state")], tmp_path
    )
    assert_one_line_naming(result, "ray")


def test_serve_without_anything_optional_names_an_extra(tmp_path: Path) -> None:
    """With no extra at all, ``serve --ray`` still stops on one line."""
    result = liuray_without(
        SERVER + CLIENT + RAY,
        ["serve", "--ray", "--port", "0", "--state-dir", str(tmp_path / "state")],
        tmp_path,
    )
    assert_one_line_naming(result, "server")


@pytest.mark.parametrize(
    "argv",
    [
        ["sessions"],
        ["status", "some-session"],
        ["cancel", "some-session"],
        ["nodes"],
        ["submit", "graph.json"],
    ],
)
def test_client_commands_without_the_client_extra(tmp_path: Path, argv: list[str]) -> None:
    """The commands that talk to a server need httpx: ``liuray[client]``."""
    (tmp_path / "graph.json").write_text(
        json.dumps([{"oid": "d", "categoryType": "Data", "dropclass": "Memory"}]),
        encoding="utf-8",
    )
    result = liuray_without(CLIENT, [*argv, "--dim", "http://127.0.0.1:9"], tmp_path)
    assert_one_line_naming(result, "client")


@pytest.mark.parametrize(
    "argv",
    [
        ["ray", "dashboard", "--cluster-config", "cluster.yaml"],
        ["ray", "config", "local", "--head", "h", "--ssh-user", "u", "--ray-version", "2.40.0"],
        ["ray", "config", "local", "--head", "h", "--ssh-user", "u"],
    ],
)
def test_ray_commands_without_the_ray_extra(tmp_path: Path, argv: list[str]) -> None:
    """``liuray ray ...`` reads and writes YAML (PyYAML) and asks Ray for its version:
    without them, ``liuray[ray]``."""
    (tmp_path / "cluster.yaml").write_text("cluster_name: liuray\n", encoding="utf-8")
    result = liuray_without(RAY, argv, tmp_path)
    assert_one_line_naming(result, "ray")


def test_an_optional_module_missing_inside_a_command_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """liuray's main catches a plain ImportError of a known optional module (here numpy,
    the apps extra) from any command and names its extra."""

    def needs_numpy(args: object) -> int:
        raise ModuleNotFoundError("No module named 'numpy'", name="numpy")

    monkeypatch.setattr(run_command, "main", needs_numpy)
    assert main(["run", "graph.json"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "liuray: error: 'numpy' is not installed; install it with: pip install 'liuray[apps]'\n"
    )


def test_other_import_errors_keep_their_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """An ImportError that is not an optional extra (a bug, a graph's own module) is not
    disguised as one."""

    def broken(args: object) -> int:
        raise ModuleNotFoundError("No module named 'my_pipeline'", name="my_pipeline")

    monkeypatch.setattr(run_command, "main", broken)
    with pytest.raises(ModuleNotFoundError, match="my_pipeline"):
        main(["run", "graph.json"])
