"""PyFuncApp: finding the function and binding its arguments as DALiuGE does."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from engine_helpers import PYFUNC, Context, data
from engine_helpers import app as engine_app

from liuray.engine.apps.pyfunc import PyFuncApp, func_defaults, load_function
from liuray.engine.apps.simple_functions import get_max, string2json
from liuray.engine.drops.base import DataDrop
from liuray.engine.drops.file import FileDrop
from liuray.engine.drops.memory import MemoryDrop
from liuray.engine.local import run_graph
from liuray.graph.physical import load_physical_graph
from liuray.types import DropSpec


@pytest.fixture
def context(tmp_path: Path) -> Context:
    return Context(tmp_path)


def memory(context: Context, uid: str, value: Any) -> MemoryDrop:
    drop = MemoryDrop(uid, {"oid": uid}, context)
    drop.set_value(value)
    return drop


def app(
    context: Context,
    spec: DropSpec,
    inputs: Sequence[tuple[DataDrop, str | None]] = (),
    outputs: Sequence[DataDrop] = (),
) -> PyFuncApp:
    """A PyFuncApp wired to ``inputs`` (drop, port name) and ``outputs``."""
    func = PyFuncApp("f", {"oid": "f", **spec}, context)
    func.inputs = [drop for drop, _ in inputs]
    func.input_ports = {drop.uid: port for drop, port in inputs if port}
    func.outputs = list(outputs)
    return func


PAIR = "def pair(a, b=2, *, c=3):\n    return (a, b, c)\n"


def test_inputs_bind_to_parameters_by_port_name(context: Context) -> None:
    """Ports named like the parameters bind by name, whatever the link order."""
    out = MemoryDrop("out", {}, context)
    func = app(
        context,
        {"func_code": PAIR},
        [(memory(context, "x", "for-b"), "b"), (memory(context, "y", "for-a"), "a")],
        [out],
    )

    func.run()

    assert out.get() == ("for-a", "for-b", 3)


def test_unnamed_inputs_fill_positional_parameters_in_link_order(context: Context) -> None:
    """Inputs without a matching port name go, in order, to the positional parameters."""
    out = MemoryDrop("out", {}, context)
    func = app(
        context,
        {"func_code": PAIR},
        [(memory(context, "x", 10), None), (memory(context, "y", 20), "other")],
        [out],
    )

    func.run()

    assert out.get() == (10, 20, 3)


def test_application_args_fill_the_rest_and_are_converted_by_type(context: Context) -> None:
    """applicationArgs named like parameters supply them; "Integer" text becomes an int."""
    func = app(
        context,
        {
            "func_code": PAIR,
            "applicationArgs": {
                "b": {"value": "7", "type": "Integer", "usage": "NoPort"},
                "c": {"value": "[1, 2]", "type": "Json", "usage": "NoPort"},
            },
        },
        [(memory(context, "x", "A"), "a")],
    )

    assert func.bind(load_function(None, PAIR)) == ([], {"a": "A", "b": 7, "c": [1, 2]})


def test_port_wins_over_application_arg_and_func_defaults(context: Context) -> None:
    """An input port beats an applicationArg and func_defaults of the same name; every
    positional parameter is passed, with its own default if nothing else gives one."""
    func = app(
        context,
        {
            "func_code": PAIR,
            "applicationArgs": {"a": {"value": "from-arg", "usage": "NoPort"}},
            "func_defaults": '{"a": "from-defaults", "c": 30}',
        },
        [(memory(context, "x", "from-port"), "a")],
    )

    args, kwargs = func.bind(load_function(None, PAIR))

    assert (args, kwargs) == ([], {"a": "from-port", "b": 2, "c": 30})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"pathname": "**"}', {"pathname": "**"}),
        ('{"pathname":"**", "recursive":False}', {"pathname": "**", "recursive": False}),
        ({"kwargs": {"x": 1}, "args": []}, {"x": 1}),
        ("", {}),
    ],
)
def test_func_defaults_accept_json_python_literals_and_the_kwargs_form(
    text: Any, expected: dict[str, Any]
) -> None:
    """func_defaults may be JSON, a Python literal (DALiuGE evaluates it) or a dict."""
    assert func_defaults(text) == expected


def test_func_defaults_that_are_not_a_mapping_are_rejected() -> None:
    with pytest.raises(ValueError, match="neither JSON nor a Python literal"):
        func_defaults("{not: valid")
    with pytest.raises(ValueError, match="mapping"):
        func_defaults("[1, 2]")


def test_positional_only_parameters_are_passed_positionally(context: Context) -> None:
    """Values found by name for a positional-only parameter go into *args."""
    code = "def only(x, /, y):\n    return x - y\n"
    out = MemoryDrop("out", {}, context)
    func = app(
        context,
        {"func_code": code, "func_defaults": {"x": 10}},
        [(memory(context, "y", 3), "y")],
        [out],
    )

    func.run()

    assert out.get() == 7


def test_result_goes_to_every_output_encoded_per_output_parser(context: Context) -> None:
    """The result is written to every output: memory keeps the object, a file gets
    ``repr`` with output_parser ``eval``."""
    kept = MemoryDrop("kept", {}, context)
    written = FileDrop("written", {"filepath": "result.txt"}, context)
    func = app(
        context,
        {"func_name": "os.path.join", "output_parser": "eval"},
        [(memory(context, "x", "a"), None), (memory(context, "y", "b"), None)],
        [kept, written],
    )

    func.run()

    assert kept.get() == "a/b"
    assert written.path.read_text() == "'a/b'"


def test_pickle_false_reads_and_writes_python_literals(context: Context) -> None:
    """DALiuGE's older ``pickle: false`` switch means literal_eval in, repr out."""
    source = FileDrop("source", {"filepath": "in.txt"}, context)
    source.write(b"[1, 2, 3]\n")
    result = FileDrop("result", {"filepath": "out.txt"}, context)
    func = app(
        context,
        {"func_name": "builtins.sum", "applicationArgs": {"pickle": {"value": False}}},
        [(source, None)],
        [result],
    )

    func.run()

    assert result.path.read_text() == "6"


def test_input_parser_path_hands_over_the_file_path(context: Context) -> None:
    """With input_parser ``path`` a file input arrives as its path, not its content."""
    source = FileDrop("source", {"filepath": "data.bin"}, context)
    out = MemoryDrop("out", {}, context)
    func = app(context, {"func_name": "os.path.basename", "input_parser": "path"})
    func.inputs, func.outputs = [source], [out]

    func.run()

    assert out.get() == "data.bin"


def test_daliuge_simple_functions_resolve_to_liuray_ones() -> None:
    """Graphs name DALiuGE's helper module; liuray provides the same functions."""
    assert load_function("dlg.apps.simple_functions.getMax") is get_max
    assert load_function("dlg.apps.simple_functions.string2json") is string2json
    assert string2json('["a"]') == ["a"]


def test_unknown_function_names_the_problem() -> None:
    with pytest.raises(ValueError, match=r"cannot import function 'nosuch\.module\.f'"):
        load_function("nosuch.module.f")


def test_a_module_whose_own_import_fails_says_what_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pipeline module that exists but imports a package that is not installed is
    reported with that package ("No module named ..."), not as a missing module."""
    (tmp_path / "needs_extra.py").write_text(
        "import liuray_not_installed_anywhere\n\ndef f():\n    return 1\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    with pytest.raises(ValueError) as caught:
        load_function("needs_extra.f")

    message = str(caught.value)
    assert "importing module 'needs_extra' failed" in message
    assert "No module named 'liuray_not_installed_anywhere'" in message


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"applicationArgs": {"a": {"value": 1}}}, "names no function"),
        ({"func_name": "os.getcwd", "func_defaults": "{not: valid"}, "func_defaults"),
        (
            {
                "func_name": "os.getcwd",
                "applicationArgs": {"x": {"usage": "InputPort", "encoding": "base85"}},
            },
            r"port 'x' has encoding 'base85'; known encodings: pickle",
        ),
        ({"func_name": "os.getcwd", "output_parser": "yaml"}, "output_parser"),
    ],
)
def test_check_spec_refuses_what_could_never_run(spec: DropSpec, message: str) -> None:
    """A PyFuncApp without a function, with unreadable func_defaults or an unknown
    encoding is refused before anything is deployed, saying what would be valid."""
    with pytest.raises(ValueError, match=message):
        PyFuncApp.check_spec(spec)


def test_check_spec_accepts_a_function_from_code_or_an_older_graph_field() -> None:
    PyFuncApp.check_spec({"func_code": PAIR})
    PyFuncApp.check_spec({"componentParams": {"func_name": {"value": "os.getcwd"}}})


def test_one_input_read_on_two_ports_binds_both_parameters(tmp_path: Path) -> None:
    """One memory drop feeds a function on its ports ``a`` and ``b`` (links written on
    both ends, as DALiuGE's translator writes them; LEAP's graphs read one file on three
    ports): both parameters get its value, as with two producers."""
    specs = [
        data("m", pydata="[1, 2]", consumers=[{"f": "a"}, {"f": "b"}]),
        engine_app(
            "f",
            PYFUNC,
            func_name="pair",
            func_code="def pair(a, b):\n    return [a, b]\n",
            inputs=[{"m": "a"}, {"m": "b"}],
            outputs=["out"],
        ),
        data("out"),
    ]

    result = run_graph(specs, session_dir=tmp_path)

    assert result.ok, result.failures
    assert result.value("out") == ["[1, 2]", "[1, 2]"]


def test_one_input_on_two_ports_decodes_each_port_its_own_way(context: Context) -> None:
    """Each port of a drop read twice keeps its own encoding (``b`` reads the text as it
    is, ``a`` evaluates it) and ``input_named`` finds the drop under either name."""
    text = MemoryDrop("t", {"oid": "t"}, context)
    text.write(b"[3]")
    out = MemoryDrop("out", {}, context)
    spec: DropSpec = {
        "func_code": "def pair(a, b):\n    return (a, b)\n",
        "applicationArgs": {
            "a": {"name": "a", "usage": "InputPort", "encoding": "eval"},
            "b": {"name": "b", "usage": "InputPort", "encoding": "utf-8"},
        },
    }
    graph = load_physical_graph(
        [
            {"oid": "t", "categoryType": "Data", "consumers": [{"f": "a"}, {"f": "b"}]},
            {"oid": "f", "categoryType": "Application", **spec},
        ]
    )
    func = app(context, spec, [(text, None)], [out])
    func.input_ports = graph["f"].input_ports

    func.run()

    assert out.get() == ([3], "[3]")
    assert func.input_named("a") is text
    assert func.input_named("b") is text
