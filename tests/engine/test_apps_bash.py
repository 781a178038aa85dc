"""BashShellApp: completing the command line, running it, reporting failures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import BASH, Context, data
from engine_helpers import app as engine_app

from liuray.engine.apps.bash import BashShellApp
from liuray.engine.drops.base import DataDrop
from liuray.engine.drops.file import FileDrop
from liuray.engine.drops.memory import MemoryDrop
from liuray.engine.local import run_graph
from liuray.errors import DropExecutionError

FILE = "dlg.data.drops.file.FileDROP"


@pytest.fixture
def context(tmp_path: Path) -> Context:
    return Context(tmp_path)


def bash(
    context: Context,
    command: str,
    inputs: Sequence[tuple[DataDrop, str | None]] = (),
    outputs: Sequence[tuple[DataDrop, str | None]] = (),
    **spec: Any,
) -> BashShellApp:
    app = BashShellApp("app", {"oid": "app", "command": command, **spec}, context)
    app.inputs = [drop for drop, _ in inputs]
    app.input_ports = {drop.uid: port for drop, port in inputs if port}
    app.outputs = [drop for drop, _ in outputs]
    app.output_ports = {drop.uid: port for drop, port in outputs if port}
    return app


def test_port_placeholders_become_file_paths_and_memory_contents(context: Context) -> None:
    """``{port}`` names a linked drop: a file drop gives its path, a memory input its
    content as text; braces that name nothing (awk programs) stay as they are."""
    count = MemoryDrop("count", {"pydata": 10}, context)
    out = FileDrop("out", {"filepath": "out.txt"}, context)
    app = bash(
        context,
        "seq {count} | awk '{s+=$1} END {print s}' > {of}",
        [(count, "count")],
        [(out, "of")],
    )

    assert app.command_line() == f"seq 10 | awk '{{s+=$1}} END {{print s}}' > {out.path}"
    app.run()
    assert out.path.read_text() == "55\n"


def test_percent_placeholders_name_inputs_and_outputs_by_position(context: Context) -> None:
    """The older ``%i0``/``%o0`` style gives paths; ``%iDataURL0`` the data URL."""
    source = FileDrop("source", {"filepath": "in.txt"}, context)
    source.write(b"abc")
    copy = FileDrop("copy", {"filepath": "copy.txt"}, context)
    app = bash(context, "cp %i0 %o0 && echo %iDataURL0", [(source, None)], [(copy, None)])

    assert app.command_line() == f"cp {source.path} {copy.path} && echo {source.data_url}"
    app.run()
    assert copy.path.read_bytes() == b"abc"


def test_unused_application_args_are_appended_with_prefix_and_separator(
    context: Context,
) -> None:
    """applicationArgs not used as placeholders are appended, DALiuGE-style:
    ``<argumentPrefix><name><paramValueSeparator><value>``, positional ones bare;
    port arguments and empty values are left out."""
    app = bash(
        context,
        "dd",
        argumentPrefix=" ",
        paramValueSeparator="=",
        applicationArgs={
            "bs": {"value": 1024, "usage": "NoPort"},
            "conv": {"value": "", "usage": "NoPort"},
            "if": {"value": "", "usage": "InputPort"},
            "status": {"value": "progress", "usage": "NoPort", "positional": True},
        },
    )

    assert app.command_line() == "dd  bs=1024 progress"


def test_default_prefix_is_double_dash_and_separator_a_space(context: Context) -> None:
    """In an older graph (it has paramValueSeparator, even empty) the prefix defaults to
    ``--`` and an empty separator means a space."""
    app = bash(
        context,
        "tool {used}",
        paramValueSeparator="",
        applicationArgs={
            "used": {"value": "x", "usage": "NoPort"},
            "level": {"value": 3, "usage": "NoPort"},
            "verbose": {"value": True, "usage": "NoPort"},
        },
    )

    assert app.command_line() == "tool x --level 3 --verbose true"


def test_non_zero_exit_is_an_error_naming_the_status_and_stderr(context: Context) -> None:
    app = bash(context, "echo broken >&2; exit 3")

    with pytest.raises(DropExecutionError, match=r"status 3.*broken"):
        app.run()


def test_stdout_goes_to_memory_outputs(context: Context) -> None:
    """Outputs that are not files receive the command's standard output."""
    out = MemoryDrop("out", {}, context)
    bash(context, "printf hello", outputs=[(out, None)]).run()

    assert out.read_bytes() == b"hello"


def test_command_runs_in_the_session_directory(context: Context, tmp_path: Path) -> None:
    out = MemoryDrop("out", {}, context)
    bash(context, "pwd", outputs=[(out, None)]).run()

    assert out.read_bytes().decode().strip() == str(tmp_path)


def test_missing_command_is_reported(context: Context) -> None:
    with pytest.raises(ValueError, match="has no 'command'"):
        bash(context, "  ").command_line()


def test_check_spec_refuses_a_bash_app_without_any_command() -> None:
    """No ``command`` and no ``Arg01``..``Arg10``: refused, saying where it belongs."""
    with pytest.raises(ValueError, match=r"no command: set its 'command' parameter"):
        BashShellApp.check_spec({"command": " ", "applicationArgs": {"n": {"value": 3}}})


def test_older_graphs_keep_the_command_in_arg01_to_arg10(context: Context) -> None:
    """Arg01..Arg10 are joined in order, before ``command`` (DALiuGE 2's rule)."""
    app = bash(context, "", Arg02="hello", componentParams={"Arg01": {"value": "echo"}})

    BashShellApp.check_spec(app.spec)
    assert app.command_line() == "echo hello"


def test_percent_placeholders_may_name_drops_by_uid(context: Context) -> None:
    """``%i[uid]`` names an input by uid; an unknown one says what exists."""
    source = FileDrop("source", {"filepath": "in.txt"}, context)
    app = bash(context, "cat %i[source]", [(source, None)])

    assert app.command_line() == f"cat {source.path}"
    with pytest.raises(ValueError, match=r"names no input.*\['source'\]"):
        bash(context, "cat %i[other]", [(source, None)]).command_line()


def test_values_from_data_are_shell_quoted_so_they_never_run(
    context: Context, tmp_path: Path
) -> None:
    """An input whose *content* is shell syntax (``x; touch PWNED``) reaches the command
    as one literal word, and a path with a space stays one path; the graph author's
    own application arguments still go in as written."""
    hostile = MemoryDrop("hostile", {"pydata": "x; touch PWNED $(touch PWNED2)"}, context)
    spaced = FileDrop("spaced", {"filepath": "my results.txt"}, context)
    app = bash(
        context,
        "printf '%s\\n' {text} > {out}; echo {greeting} >> {out}",
        [(hostile, "text")],
        [(spaced, "out")],
        applicationArgs={"greeting": {"value": "hi there", "usage": "NoPort"}},
    )
    app.run()

    assert spaced.path.read_text() == "x; touch PWNED $(touch PWNED2)\nhi there\n"
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "PWNED2").exists()
    assert f"> '{spaced.path}';" in app.command_line()


def test_one_input_read_on_two_ports_fills_both_placeholders(tmp_path: Path) -> None:
    """One file feeds a bash app on its ports ``first`` and ``second`` (as in LEAP's
    graphs): ``{first}``, ``{second}`` and ``%i[second]`` all name its path."""
    specs = [
        data("words", FILE, filepath="words.txt", consumers=[{"cat": "first"}]),
        engine_app(
            "cat",
            BASH,
            command="cat {first} {second} %i[second] > {joined}",
            inputs=[{"words": "first"}, {"words": "second"}],
            outputs=[{"joined": "joined"}],
        ),
        data("joined", FILE, filepath="joined.txt"),
    ]
    (tmp_path / "words.txt").write_text("ab\n")

    result = run_graph(specs, session_dir=tmp_path, roots=["words"])

    assert result.ok, result.failures
    assert (tmp_path / "joined.txt").read_text() == "ab\n" * 3
