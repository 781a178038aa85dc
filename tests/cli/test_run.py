"""``liuray run``: exit statuses, the summary, the options, and the real console script."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from liuray.cli import run as run_command
from liuray.cli.main import main

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def hello_graph(filename: str = "hello.txt") -> list[dict[str, Any]]:
    """HelloWorldApp -> a FileDROP with a relative path (so it lands in the session dir)."""
    return [
        {
            "oid": "hello",
            "categoryType": "Application",
            "dropclass": "dlg.apps.simple.HelloWorldApp",
            "greet": "liuray",
            "outputs": [{"greeting": "greeting"}],
        },
        {
            "oid": "greeting",
            "categoryType": "Data",
            "dropclass": "dlg.data.drops.file.FileDROP",
            "filepath": filename,
        },
    ]


def bash_graph(command: str) -> list[dict[str, Any]]:
    """One bash app writing a memory drop, followed by a copy app (to see the cascade)."""
    return [
        {
            "oid": "shell",
            "categoryType": "Application",
            "dropclass": "dlg.apps.bash_shell_app.BashShellApp",
            "command": command,
            "outputs": ["shell_out"],
        },
        {
            "oid": "shell_out",
            "categoryType": "Data",
            "dropclass": "dlg.data.drops.memory.InMemoryDROP",
            "consumers": ["copy"],
        },
        {
            "oid": "copy",
            "categoryType": "Application",
            "dropclass": "dlg.apps.simple.CopyApp",
            "outputs": ["copied"],
        },
        {
            "oid": "copied",
            "categoryType": "Data",
            "dropclass": "dlg.data.drops.memory.InMemoryDROP",
        },
    ]


def pyfunc_graph(func_name: str) -> list[dict[str, Any]]:
    """One PyFuncApp calling ``func_name`` with no arguments into a UTF-8 FileDROP."""
    return [
        {
            "oid": "call",
            "categoryType": "Application",
            "dropclass": "dlg.apps.pyfunc.PyFuncApp",
            "func_name": func_name,
            "applicationArgs": {
                "answer": {"value": "", "usage": "OutputPort", "encoding": "utf-8"}
            },
            "outputs": [{"answer": "answer"}],
        },
        {
            "oid": "answer",
            "categoryType": "Data",
            "dropclass": "dlg.data.drops.file.FileDROP",
            "filepath": "answer.txt",
        },
    ]


def write_graph(path: Path, graph: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(graph), encoding="utf-8")
    return path


def test_finished_run_exits_0_and_names_session_dir_and_output_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hello-world graph runs into --session-dir; the summary says FINISHED, names that
    directory and the file the graph produced, which holds the greeting."""
    graph = write_graph(tmp_path / "hello.json", hello_graph())
    session_dir = tmp_path / "session"

    status = main(["run", str(graph), "--session-dir", str(session_dir), "--quiet"])

    out = capsys.readouterr().out
    assert status == 0
    assert (session_dir / "hello.txt").read_text() == "Hello liuray"
    assert out.startswith("FINISHED session hello-")
    assert f"session directory: {session_dir}" in out
    assert f"{session_dir / 'hello.txt'} (12 bytes)" in out


def test_default_session_dir_is_under_liuray_home(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --session-dir the session lives in $LIURAY_HOME/sessions/<session id>."""
    graph = write_graph(tmp_path / "hello.json", hello_graph())

    status = main(["run", str(graph), "--session-id", "my-session", "-q"])

    assert status == 0
    expected = Path(os.environ["LIURAY_HOME"]) / "sessions" / "my-session"
    assert (expected / "hello.txt").read_text() == "Hello liuray"
    assert f"session directory: {expected}" in capsys.readouterr().out


def test_failing_bash_app_exits_1_and_names_the_drop_and_its_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`echo boom >&2; exit 3` fails: exit status 1, and the failure line names the bash
    app with its exit status and stderr; the copy app downstream is only counted."""
    graph = write_graph(tmp_path / "fail.json", bash_graph("echo boom >&2; exit 3"))

    status = main(["run", str(graph), "-d", str(tmp_path / "s"), "-q"])

    out = capsys.readouterr().out
    assert status == 1
    assert out.startswith("FAILED session fail-")
    failed = [line for line in out.splitlines() if line.startswith("  failed:")]
    assert len(failed) == 1
    assert failed[0].startswith("  failed: shell: DropExecutionError: command exited with status 3")
    assert "stderr: boom" in failed[0]
    assert "... and 3 more drops in error (in error because of the above)" in out


def test_failures_are_a_table_in_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the output is a terminal (forced here) the failures are drawn as a table."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    graph = write_graph(tmp_path / "fail.json", bash_graph("exit 3"))

    status = main(["run", str(graph), "-d", str(tmp_path / "s"), "-q"])

    out = ANSI.sub("", capsys.readouterr().out)
    assert status == 1
    assert "Failures" in out
    row = next(line for line in out.splitlines() if "shell" in line and "status 3" in line)
    assert row.startswith("│ shell")


def test_malformed_graph_exits_2_with_the_loader_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A spec without categoryType is rejected before anything runs: exit 2, and the
    message on stderr names the file and the offending drop."""
    graph = write_graph(tmp_path / "bad.json", [{"oid": "lonely"}])

    status = main(["run", str(graph), "-q"])

    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert f"error: bad graph {graph}:" in captured.err
    assert "lonely" in captured.err


def test_invalid_json_exits_2_with_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A truncated JSON file gives exit 2 and says where the JSON broke."""
    graph = tmp_path / "broken.json"
    graph.write_text('[{"oid": "a",\n', encoding="utf-8")

    assert main(["run", str(graph)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_unknown_dropclass_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A dropclass the registry cannot find is a bad graph too (found while building)."""
    spec = {"oid": "x", "categoryType": "Application", "dropclass": "no.such.App"}
    graph = write_graph(tmp_path / "unknown.json", [spec])

    assert main(["run", str(graph), "-q"]) == 2
    err = capsys.readouterr().err
    assert "'no.such.App'" in err
    assert "built-in classes" in err


def test_missing_graph_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A graph path that does not exist is reported, not a traceback."""
    assert main(["run", str(tmp_path / "nope.json")]) == 2
    assert "cannot read graph file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--workers", "0"], "--workers must be at least 1"),
        (["--processes", "-1"], "--processes must be 0"),
        (["--timeout", "0"], "--timeout must be a positive"),
        (["--code-path", "no/such/dir"], "is not a directory"),
    ],
)
def test_bad_option_values_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: list[str], message: str
) -> None:
    """Option values that cannot work are refused before the graph runs."""
    graph = write_graph(tmp_path / "hello.json", hello_graph())

    assert main(["run", str(graph), *option]) == 2
    assert message in capsys.readouterr().err


def test_options_reach_the_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--workers, --processes, --session-id, --session-dir and --timeout are passed to
    run_graph unchanged (the real run still happens)."""
    seen: dict[str, Any] = {}
    real_run_graph = run_command.run_graph

    def spy(graph: Any, **options: Any) -> Any:
        seen.update(options)
        return real_run_graph(graph, **options)

    monkeypatch.setattr(run_command, "run_graph", spy)
    graph = write_graph(tmp_path / "hello.json", hello_graph())
    argv = ["run", str(graph), "-w", "3", "--session-id", "s1", "-d", str(tmp_path / "s")]

    assert main([*argv, "--timeout", "30", "-q"]) == 0
    assert seen["workers"] == 3
    assert seen["processes"] == 0
    assert seen["session_id"] == "s1"
    assert seen["session_dir"] == tmp_path / "s"
    assert seen["timeout"] == 30.0


def test_timeout_cancels_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bash app sleeping 30 s under --timeout 0.3 is cancelled; the run is not a success."""
    graph = write_graph(tmp_path / "slow.json", bash_graph("sleep 30"))

    status = main(["run", str(graph), "--timeout", "0.3", "-q"])

    assert status == 1
    assert capsys.readouterr().out.startswith("CANCELLED session slow-")


def test_code_path_makes_graph_code_importable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The graph names `answers_cp.forty_two`, kept in a separate lib/ folder: without
    --code-path the import fails (exit 1, with a hint); with it the run finishes, and
    sys.path is left as it was."""
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "answers_cp.py").write_text("def forty_two():\n    return '42'\n", encoding="utf-8")
    graph = write_graph(tmp_path / "graphs" / "answer.json", pyfunc_graph("answers_cp.forty_two"))
    before = list(sys.path)

    assert main(["run", str(graph), "-d", str(tmp_path / "s1"), "-q"]) == 1
    assert "hint: PyFuncApp imports func_name from sys.path" in capsys.readouterr().out
    assert main(["run", str(graph), "-d", str(tmp_path / "s2"), "-c", str(lib), "-q"]) == 0
    assert (tmp_path / "s2" / "answer.txt").read_text() == "42"
    assert sys.path == before


def test_code_path_defaults_to_the_graph_folder(tmp_path: Path) -> None:
    """A module sitting next to the graph file is importable with no option at all."""
    (tmp_path / "answers_here.py").write_text("def seven():\n    return '7'\n", encoding="utf-8")
    graph = write_graph(tmp_path / "answer.json", pyfunc_graph("answers_here.seven"))

    assert main(["run", str(graph), "-d", str(tmp_path / "s"), "-q"]) == 0
    assert (tmp_path / "s" / "answer.txt").read_text() == "7"


def test_help_lists_examples_and_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    """`liuray run --help` shows worked examples and what the exit statuses mean."""
    with pytest.raises(SystemExit) as stopped:
        main(["run", "--help"])

    out = capsys.readouterr().out
    assert stopped.value.code == 0
    assert "liuray run examples/channel_average/graph.json" in out
    assert "--code-path" in out
    assert "exit status: 0 finished, 1 a drop failed" in out


def test_console_script_runs_in_a_real_process_without_terminal_noise(tmp_path: Path) -> None:
    """`python -m liuray.cli.main run` in a subprocess (stderr not a terminal, as in CI):
    exit 0, the summary on stdout with no escape codes, and no progress bar on stderr."""
    graph = write_graph(tmp_path / "hello.json", hello_graph())
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}

    done = subprocess.run(
        [sys.executable, "-m", "liuray.cli.main", "run", str(graph), "-d", str(tmp_path / "s")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("FINISHED session hello-")
    assert "\x1b" not in done.stdout
    assert done.stderr == ""
    assert (tmp_path / "s" / "hello.txt").read_text() == "Hello liuray"


def test_run_translates_a_logical_graph_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``liuray run`` given an EAGLE logical graph (DALiuGE's HelloWorld_simple test
    graph) translates it, says so, and runs it: hello.txt holds the greeting."""
    from importlib.resources import files

    pytest.importorskip("daliuge_tests")  # eagle-test-graphs, a test-only package
    logical = files("daliuge_tests.translator") / "logical_graphs" / "HelloWorld_simple.graph"
    path = tmp_path / "HelloWorld_simple.graph"
    path.write_text(logical.read_text())
    status = main(["run", str(path), "--session-dir", str(tmp_path / "s"), "--quiet"])
    assert status == 0
    assert "translated logical graph HelloWorld_simple.graph: 2 drops" in capsys.readouterr().err
    assert (tmp_path / "s" / "hello.txt").read_text() == "Hello Everybody"


def scatter_graph(n: int) -> list[dict[str, Any]]:
    """``n`` HelloWorldApp -> InMemoryDROP pairs: ``n`` leaf data drops."""
    graph: list[dict[str, Any]] = []
    for i in range(n):
        graph.append(
            {
                "oid": f"app-{i}",
                "categoryType": "Application",
                "dropclass": "dlg.apps.simple.HelloWorldApp",
                "outputs": [f"mem-{i}"],
            }
        )
        graph.append(
            {
                "oid": f"mem-{i}",
                "categoryType": "Data",
                "dropclass": "dlg.data.drops.memory.InMemoryDROP",
                "producers": [f"app-{i}"],
            }
        )
    return graph


def run_command_line(graph: Path, session_dir: Path) -> subprocess.CompletedProcess[str]:
    """``liuray run GRAPH -d SESSION_DIR`` as a command, in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "liuray.cli.main", "run", str(graph), "-d", str(session_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_summary_lists_the_first_outputs_in_graph_order_and_counts_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """25 leaf drops: the first 20 are listed, in graph order, then one line counts the
    other 5; the apps (which are not outputs) are never listed."""
    graph = write_graph(tmp_path / "scatter.json", scatter_graph(25))
    assert main(["run", str(graph), "-d", str(tmp_path / "s"), "-q"]) == 0
    out = capsys.readouterr().out
    listed = [line.split()[0] for line in out.splitlines() if "(MemoryDrop," in line]
    assert listed == [f"mem-{i}" for i in range(20)]
    assert "    ... and 5 more" in out
    assert "app-" not in out


def test_the_command_ends_at_once_after_a_complete_summary_with_its_exit_status(
    tmp_path: Path,
) -> None:
    """As a command, ``liuray run`` ends its process straight after the summary (the
    session is not freed object by object): the summary still arrives whole through a
    pipe, and the exit status is the run's (1: a drop failed). Code that calls ``main``
    itself gets the status back instead (every other test here)."""
    graph = write_graph(tmp_path / "fails.json", bash_graph("exit 3"))
    done = run_command_line(graph, tmp_path / "s")
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("FAILED session fails-")
    assert done.stdout.rstrip().endswith("(in error because of the above)")
    assert run_command._is_command_line() is False


def test_exit_handlers_the_graph_code_adds_still_run(tmp_path: Path) -> None:
    """The command ends at once only when nothing is left to end: a function that adds
    an exit handler (or leaves a thread running) gets a normal exit, handler called."""
    (tmp_path / "leaves_a_handler.py").write_text(
        "import atexit, pathlib\n"
        "def seven():\n"
        "    marker = pathlib.Path(__file__).with_name('exited')\n"
        "    atexit.register(marker.write_text, 'yes')\n"
        "    return '7'\n",
        encoding="utf-8",
    )
    graph = write_graph(tmp_path / "answer.json", pyfunc_graph("leaves_a_handler.seven"))
    done = run_command_line(graph, tmp_path / "s")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "s" / "answer.txt").read_text() == "7"
    assert (tmp_path / "exited").read_text() == "yes"


def test_a_logical_graph_with_a_subgraph_app_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``liuray run X.graph`` of DALiuGE's ExampleSubgraphSimple: translated into a
    SubGraph app whose inner graph runs as a nested session under the run's directory."""
    pytest.importorskip("daliuge_tests")
    from importlib.resources import files

    graph = files("daliuge_tests") / "translator/logical_graphs/ExampleSubgraphSimple.graph"

    status = main(["run", str(graph), "-d", str(tmp_path / "run"), "--quiet"])

    assert status == 0, capsys.readouterr().out
    inner = list((tmp_path / "run" / "subgraphs").rglob("*"))
    assert any(path.is_file() and path.read_bytes().startswith(b"Hello") for path in inner)
