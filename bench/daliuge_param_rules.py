# SPDX-License-Identifier: LGPL-2.1-or-later
"""DALiuGE 6.6.0's parameter rules, observed: what a PyFuncApp / BashShellApp receives.

Run it with the peer's interpreter (see ``bench/peer_env.py``)::

    bench/.peer-venv/bin/python bench/daliuge_param_rules.py [--output PATH] [NAME ...]

It writes ``tests/engine/fixtures/daliuge_param_rules.json``, which
``tests/engine/test_param_rules.py`` replays on liuray case by case. With NAMEs only
those cases are rerun and merged into the existing fixture.

Design
------
* Every case is one application drop with its input and output data drops, written as
  DALiuGE's physical graph JSON (the shape ``dlg unroll`` gives: every EAGLE field copied
  top-level by name and grouped by ``parameterType`` into ``applicationArgs`` /
  ``componentParams``; links as ``{oid: port}``). :func:`case` builds it from a few
  fields, so the table below stays readable, and the fixture keeps the built graph.
* The graph is created by DALiuGE's own loader (``graph_loader.createGraphFromDropSpecList``,
  no node manager: the smallest path that still goes through the real app classes).
  The inputs' bytes are written and the drops completed, which makes DALiuGE run the
  app; apps without inputs are executed directly.
* A Python function reports what it received: every case's function returns
  ``repr(locals())`` (its parameters, in order, with ``*args``/``**kwargs``); the
  output drop's content is decoded as DALiuGE wrote it. A bash app's command line is
  recorded from the ``/bin/bash -c`` call itself (``subprocess.Popen`` is wrapped, not
  changed). Failures record the exception DALiuGE logged.
* Paths are written with ``{dir}`` for the case's scratch directory, in the graph and in
  the outcome, so the fixture does not depend on where it was made.
* A case may carry a ``note`` explaining where liuray deliberately differs (DALiuGE
  crashes, or a rule older DALiuGE versions had and 6.6.0 dropped); the test reads it.

Fixture shape::

    {"daliuge": "6.6.0",
     "cases": {"<name>": {"rule": "...", "graph": [specs], "inputs": {"<oid>": "<b64>"},
               "observed": {"result": "..."} | {"command": "..."} | {"bytes": "<b64>"}
                           | {"error": "..."}, "note": "..."}}}
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import logging
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
FIXTURE = BENCH_DIR.parent / "tests" / "engine" / "fixtures" / "daliuge_param_rules.json"
PYFUNC = "dlg.apps.pyfunc.PyFuncApp"
BASH = "dlg.apps.bash_shell_app.BashShellApp"
MEMORY = "dlg.data.drops.memory.InMemoryDROP"
FILE = "dlg.data.drops.file.FileDROP"
DIR_TOKEN = "{dir}"


# ----------------------------------------------------------------------------- building


def field(
    name: str,
    value: Any = "",
    *,
    type: str = "String",  # EAGLE's key
    usage: str = "NoPort",
    encoding: str = "dill",
    positional: bool = False,
    precious: bool = False,
    default: Any = "",
    group: str = "ApplicationArgument",
) -> dict[str, Any]:
    """An EAGLE field with the keys DALiuGE's apps read (EAGLE adds ``id``,
    ``description``, ``readonly``, ``options``: they change nothing here)."""
    made = {
        "name": name,
        "value": value,
        "type": type,
        "precious": precious,
        "positional": positional,
        "parameterType": group,
        "usage": usage,
        "encoding": encoding,
    }
    if default != "":
        made["defaultValue"] = default
    return made


def port(name: str, encoding: str = "dill", usage: str = "InputPort") -> dict[str, Any]:
    """A port field (an application argument with a port usage)."""
    return field(name, usage=usage, encoding=encoding, type="Object")


def code(source: str) -> list[dict[str, Any]]:
    """The component parameters of a PyFuncApp defined by ``source`` (function ``f``)."""
    return [
        field("func_name", "f", group="ComponentParameter"),
        field("func_code", source, group="ComponentParameter"),
    ]


def case(
    rule: str,
    dropclass: str,
    fields: list[dict[str, Any]],
    inputs: list[tuple[str | None, str, bytes]] = (),  # type: ignore[assignment]
    outputs: list[tuple[str | None, str]] = (),  # type: ignore[assignment]
    note: str = "",
    liuray: dict[str, Any] | None = None,
    **top: Any,
) -> dict[str, Any]:
    """A case: ``inputs`` are (port, "memory" | "file", bytes); ``outputs`` (port, kind).

    The app gets oid ``app``; inputs ``in0``, ``in1``, ...; outputs ``out0``, ...
    ``note`` and ``liuray`` (liuray's outcome) mark a case where liuray deliberately
    differs from what DALiuGE is observed to do.
    """
    app: dict[str, Any] = {
        "oid": "app",
        "name": "app",
        "categoryType": "Application",
        "dropclass": dropclass,
        "applicationArgs": {},
        "componentParams": {},
        "constraintParams": {},
    }
    groups = {
        "ApplicationArgument": "applicationArgs",
        "ComponentParameter": "componentParams",
        "ConstraintParameter": "constraintParams",
    }
    for item in fields:
        app[item["name"]] = item["value"]  # as DALiuGE's translator copies every field
        app[groups[item["parameterType"]]][item["name"]] = item
    app.update(top)
    graph = [app]
    data: dict[str, str] = {}
    app_inputs: list[Any] = []
    for index, (name, kind, content) in enumerate(inputs):
        oid = f"in{index}"
        app_inputs.append({oid: name} if name else oid)
        graph.append(_data(oid, kind, "consumers", name))
        data[oid] = base64.b64encode(content).decode("ascii")
    app_outputs: list[Any] = []
    for index, (name, kind) in enumerate(outputs):
        oid = f"out{index}"
        app_outputs.append({oid: name} if name else oid)
        graph.append(_data(oid, kind, "producers", name))
    if app_inputs:
        app["inputs"] = app_inputs
    if app_outputs:
        app["outputs"] = app_outputs
    made: dict[str, Any] = {"rule": rule, "graph": graph, "inputs": data}
    if note:
        made["note"] = note
        made["liuray"] = liuray
    return made


def _data(oid: str, kind: str, relation: str, port_name: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "oid": oid,
        "name": oid,
        "categoryType": "Data",
        "dropclass": FILE if kind == "file" else MEMORY,
        relation: [{"app": port_name} if port_name else "app"],
    }
    if kind == "file":
        spec["filepath"] = f"{DIR_TOKEN}/{oid}.dat"
    return spec


def pickled(value: Any) -> bytes:
    return pickle.dumps(value)


def npy(value: Any) -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(value), allow_pickle=False)
    return buffer.getvalue()


def dill_b64(value: Any) -> str:
    """A value as DALiuGE serialises func_defaults (base64 of a dill pickle)."""
    import dill

    return base64.b64encode(dill.dumps(value)).decode("ascii")


# ----------------------------------------------------------------------------- the table

ECHO = "def f(a, b=2):\n    return repr(locals())\n"
VARIADIC = "def f(a, *args, **kwargs):\n    return repr(locals())\n"
ONLY_VARIADIC = "def f(*args, **kwargs):\n    return repr(locals())\n"
KEYWORD_ONLY = "def f(a, *, k=1):\n    return repr(locals())\n"
POSITIONAL_ONLY = "def f(a, /, b=2):\n    return repr(locals())\n"
RANGE = "def f(n):\n    return list(range(n))\n"
RESULT = [("result", "memory")]
STDOUT = [("stdout", "memory")]


def _result(text: str) -> dict[str, str]:
    return {"result": repr(text)}


def pyfunc_cases() -> dict[str, dict[str, Any]]:
    """How ports, arguments and defaults reach a Python function."""
    return {
        "pyfunc/port_binds_by_name": case(
            "an input port binds the parameter of its name, whatever the link order",
            PYFUNC,
            [*code(ECHO), port("a"), port("b")],
            [("b", "memory", pickled("B")), ("a", "memory", pickled("A"))],
            RESULT,
        ),
        "pyfunc/port_encoding_pickle": case(
            "a port's encoding says how its drop is read (pickle)",
            PYFUNC,
            [*code(ECHO), port("a", encoding="pickle")],
            [("a", "memory", pickled([1, 2]))],
            RESULT,
        ),
        "pyfunc/port_encoding_eval": case(
            "encoding eval reads a Python literal",
            PYFUNC,
            [*code(ECHO), port("a", encoding="eval")],
            [("a", "memory", b"{'x': 1}")],
            RESULT,
        ),
        "pyfunc/port_encoding_npy": case(
            "encoding npy reads a numpy array",
            PYFUNC,
            [*code(ECHO), port("a", encoding="npy")],
            [("a", "memory", npy([1, 2, 3]))],
            RESULT,
        ),
        "pyfunc/port_encoding_path": case(
            "encoding path hands over a file drop's path",
            PYFUNC,
            [*code(ECHO), port("a", encoding="path")],
            [("a", "file", b"content")],
            RESULT,
        ),
        "pyfunc/port_encoding_utf8": case(
            "encoding utf-8 reads text",
            PYFUNC,
            [*code(ECHO), port("a", encoding="utf-8")],
            [("a", "memory", b"text")],
            RESULT,
            note="DALiuGE bug: a memory drop read as utf-8 gives a memoryview, not text; "
            "liuray gives the text",
            liuray=_result("{'a': 'text', 'b': 2}"),
        ),
        "pyfunc/port_without_field_legacy": case(
            "a graph with no applicationArgs at all reads named ports with dill",
            PYFUNC,
            code(ECHO),
            [("a", "memory", pickled(5))],
            RESULT,
        ),
        "pyfunc/port_without_field": case(
            "a named port with no field of its own, in a graph with other arguments",
            PYFUNC,
            [*code(ECHO), field("b", 7, type="Integer")],
            [("a", "memory", pickled(5))],
            RESULT,
            note="DALiuGE skips a port whose field is missing (no encoding) and passes "
            "None; liuray reads it with the default decoding",
            liuray=_result("{'a': 5, 'b': 7}"),
        ),
        "pyfunc/unnamed_inputs": case(
            "inputs linked without port names",
            PYFUNC,
            code(ECHO),
            [(None, "memory", pickled("x")), (None, "memory", pickled("y"))],
            RESULT,
            note="DALiuGE 6.6.0 no longer binds unnamed inputs (all parameters None); "
            "liuray keeps the older rule: unnamed inputs fill the positional parameters "
            "in link order",
            liuray=_result("{'a': 'x', 'b': 'y'}"),
        ),
        "pyfunc/port_wins_over_argument": case(
            "an input port beats an application argument of the same name",
            PYFUNC,
            [*code(ECHO), port("a"), field("b", "from-arg")],
            [("a", "memory", pickled("from-port"))],
            RESULT,
        ),
        "pyfunc/argument_value_as_given": case(
            "an application argument's value is passed as the graph gives it: no "
            "conversion by type for Integer/Float/Boolean/String",
            PYFUNC,
            [*code(ECHO), field("a", "7", type="Integer"), field("b", 2.5, type="Float")],
            outputs=RESULT,
            note="DALiuGE passes the text of an Integer/Float/Boolean field as it is "
            "('7'), which then fails in range() or indexing; liuray converts text to the "
            "field's type (numbers EAGLE wrote as numbers pass unchanged either way)",
            liuray=_result("{'a': 7, 'b': 2.5}"),
        ),
        "pyfunc/argument_integer_number": case(
            "an Integer field whose value is a number arrives as that int",
            PYFUNC,
            [*code(RANGE), field("n", 3, type="Integer")],
            outputs=RESULT,
        ),
        "pyfunc/argument_json_literal": case(
            "Json and Complex values are read as Python literals",
            PYFUNC,
            [
                *code(ECHO),
                field("a", "[1, 2]", type="Json"),
                field("b", "{'k': (1, 2)}", type="Complex"),
            ],
            outputs=RESULT,
            note="DALiuGE crashes after parsing (it sets .value on a dict); liuray "
            "passes the parsed literal, as DALiuGE means to",
            liuray=_result("{'a': [1, 2], 'b': {'k': (1, 2)}}"),
        ),
        "pyfunc/argument_json_not_literal": case(
            "a Json value that is no Python literal (JSON's true) stays text",
            PYFUNC,
            [*code(ECHO), field("a", '{"k": true}', type="Json")],
            outputs=RESULT,
        ),
        "pyfunc/argument_object_text": case(
            "Object values are not parsed",
            PYFUNC,
            [*code(ECHO), field("a", "[1, 2]", type="Object")],
            outputs=RESULT,
        ),
        "pyfunc/argument_falsy_keeps_default": case(
            "a falsy value (0, False, '') does not replace the function's default",
            PYFUNC,
            [*code(ECHO), field("a", 1), field("b", 0, type="Integer")],
            outputs=RESULT,
            note="DALiuGE tests truthiness, so 0 and False silently become the default "
            "(a channel number 0 turns into None); liuray passes every value but None and ''",
            liuray=_result("{'a': 1, 'b': 0}"),
        ),
        "pyfunc/argument_empty_uses_none": case(
            "an empty value for a parameter without default passes None",
            PYFUNC,
            [*code(ECHO), field("a", "")],
            outputs=RESULT,
        ),
        "pyfunc/argument_default_value_ignored": case(
            "an empty value is not replaced by the field's defaultValue",
            PYFUNC,
            [*code(ECHO), field("a", 1), field("b", "", default="9")],
            outputs=RESULT,
        ),
        "pyfunc/component_parameter": case(
            "a component parameter named like a parameter supplies it (raw value)",
            PYFUNC,
            [*code(ECHO), field("a", "7", type="Integer", group="ComponentParameter")],
            outputs=RESULT,
        ),
        "pyfunc/extra_keyword_arguments": case(
            "arguments the signature does not name go to **kwargs",
            PYFUNC,
            [*code(VARIADIC), field("a", 1), field("x", "kw")],
            outputs=RESULT,
        ),
        "pyfunc/extra_positional_arguments": case(
            "positional arguments the signature does not name go to *args",
            PYFUNC,
            [*code(ONLY_VARIADIC), field("p", "one", positional=True), field("x", "kw")],
            outputs=RESULT,
        ),
        "pyfunc/extra_positional_after_named": case(
            "extra positional arguments follow the named parameters",
            PYFUNC,
            [*code(VARIADIC), field("a", 1), field("p", "pos", positional=True)],
            outputs=RESULT,
            note="DALiuGE crashes (it passes the named parameters by keyword after "
            "*args: 'multiple values'); liuray passes them first, then *args",
            liuray=_result("{'a': 1, 'args': ('pos',), 'kwargs': {}}"),
        ),
        "pyfunc/extra_arguments_dropped": case(
            "arguments the signature does not name are dropped without *args/**kwargs",
            PYFUNC,
            [*code(ECHO), field("a", 1), field("x", "unused")],
            outputs=RESULT,
        ),
        "pyfunc/keyword_only_argument_with_kwargs": case(
            "with **kwargs, an argument named like a keyword-only parameter reaches it",
            PYFUNC,
            [
                *code("def f(a, *, k=1, **kwargs):\n    return repr(locals())\n"),
                field("a", 1),
                field("k", 5, type="Integer"),
            ],
            outputs=RESULT,
        ),
        "pyfunc/keyword_only_argument": case(
            "a keyword-only parameter and an argument of its name",
            PYFUNC,
            [*code(KEYWORD_ONLY), field("a", 1), field("k", 5, type="Integer")],
            outputs=RESULT,
            note="DALiuGE collects keyword-only values and then never passes them "
            "(the function's default is used); liuray passes them",
            liuray=_result("{'a': 1, 'k': 5}"),
        ),
        "pyfunc/keyword_only_port": case(
            "a keyword-only parameter and an input port of its name",
            PYFUNC,
            [*code(KEYWORD_ONLY), field("a", 1), port("k")],
            [("k", "memory", pickled(5))],
            RESULT,
            note="as for arguments: DALiuGE drops the port's value; liuray passes it",
            liuray=_result("{'a': 1, 'k': 5}"),
        ),
        "pyfunc/positional_only": case(
            "a positional-only parameter and an argument of its name",
            PYFUNC,
            [*code(POSITIONAL_ONLY), field("a", 1)],
            outputs=RESULT,
            note="DALiuGE crashes (it passes every parameter by keyword); liuray "
            "passes positional-only ones positionally",
            liuray=_result("{'a': 1, 'b': 2}"),
        ),
        "pyfunc/args_kwargs_named_arguments": case(
            "arguments called 'args' and 'kwargs' are just names for **kwargs",
            PYFUNC,
            [*code(VARIADIC), field("a", 1), field("args", "x"), field("kwargs", "y")],
            outputs=RESULT,
        ),
        "pyfunc/func_defaults_with_code": case(
            "func_defaults (base64 dill values) supply parameters of a func_code function",
            PYFUNC,
            [
                *code(ECHO),
                field("func_defaults", {"a": dill_b64("A"), "b": dill_b64(5)}),
            ],
            outputs=RESULT,
        ),
        "pyfunc/func_defaults_kwargs_form": case(
            "func_defaults in DALiuGE's {'kwargs': {...}} form",
            PYFUNC,
            [*code(ECHO), field("func_defaults", {"kwargs": {"a": dill_b64("A")}})],
            outputs=RESULT,
        ),
        "pyfunc/func_defaults_text": case(
            "func_defaults written as text (a Python literal)",
            PYFUNC,
            [*code(ECHO), field("func_defaults", repr({"b": dill_b64(5)}))],
            outputs=RESULT,
        ),
        "pyfunc/func_defaults_beaten_by_argument": case(
            "an application argument beats func_defaults",
            PYFUNC,
            [*code(ECHO), field("func_defaults", {"a": dill_b64("A")}), field("a", "arg")],
            outputs=RESULT,
        ),
        "pyfunc/func_defaults_plain_values": case(
            "func_defaults with plain (not serialised) values",
            PYFUNC,
            [*code(ECHO), field("func_defaults", {"a": "A"})],
            outputs=RESULT,
            note="DALiuGE crashes (it base64-decodes every value); liuray passes plain "
            "values as they are",
            liuray=_result("{'a': 'A', 'b': 2}"),
        ),
        "pyfunc/func_defaults_ignored_with_name": case(
            "func_defaults are not used for a function found by func_name",
            PYFUNC,
            [
                field("func_name", "posixpath.basename", group="ComponentParameter"),
                field("func_defaults", {"p": dill_b64("/a/b")}),
            ],
            outputs=RESULT,
            note="DALiuGE uses func_defaults only with func_code, so the parameter is "
            "None and the function fails; liuray uses them with func_name too (what "
            "DALiuGE documents: 'Mapping from argname to default value')",
            liuray=_result("b"),
        ),
        "pyfunc/function_by_name": case(
            "func_name imports a function; its own defaults fill what the graph omits",
            PYFUNC,
            [
                field("func_name", "textwrap.indent", group="ComponentParameter"),
                field("text", "x"),
                field("prefix", "> "),
            ],
            outputs=RESULT,
        ),
        "pyfunc/builtin_without_signature": case(
            "a builtin without a signature gets every argument positionally, in field order",
            PYFUNC,
            [
                field("func_name", "max", group="ComponentParameter"),
                field("x", 3, type="Integer"),
                field("y", 5, type="Integer"),
            ],
            outputs=RESULT,
        ),
        "pyfunc/pickle_false_reads_literals": case(
            "the older applicationArgs 'pickle: false' with a port of its own encoding",
            PYFUNC,
            [*code(ECHO), port("a", encoding="eval"), field("pickle", False, type="Boolean")],
            [("a", "memory", b"[1, 2]")],
            RESULT,
        ),
        "pyfunc/output_encoding_utf8": case(
            "an output port's encoding says how the result is written (utf-8: a str as it is)",
            PYFUNC,
            [*code(ECHO), field("a", "x"), port("o", encoding="utf-8", usage="OutputPort")],
            outputs=[("o", "file")],
        ),
        "pyfunc/output_encoding_eval": case(
            "encoding eval writes repr() of a result that is not a str",
            PYFUNC,
            [*code(RANGE), field("n", 2, type="Integer"), port("o", "eval", "OutputPort")],
            outputs=[("o", "file")],
        ),
        "pyfunc/output_encoding_pickle": case(
            "encoding pickle writes a pickle",
            PYFUNC,
            [*code(RANGE), field("n", 2, type="Integer"), port("o", "pickle", "OutputPort")],
            outputs=[("o", "file")],
        ),
        "pyfunc/output_encoding_npy": case(
            "encoding npy writes the result as a numpy array",
            PYFUNC,
            [*code(RANGE), field("n", 3, type="Integer"), port("o", "npy", "OutputPort")],
            outputs=[("o", "file")],
        ),
        "pyfunc/no_function": case(
            "a PyFuncApp without func_name or func_code is refused",
            PYFUNC,
            [field("a", 1)],
            outputs=RESULT,
        ),
    }


def bash_cases() -> dict[str, dict[str, Any]]:
    """How ports and application arguments complete a bash command."""

    def command(text: str) -> dict[str, Any]:
        return field("command", text, group="ComponentParameter")

    return {
        "bash/port_placeholders_are_paths": case(
            "{port} of a file input or output becomes its path",
            BASH,
            [command("cp {src} {dst}"), port("src", "path"), port("dst", "path", "OutputPort")],
            [("src", "file", b"data")],
            [("dst", "file")],
        ),
        "bash/port_placeholders_without_fields": case(
            "{port} of a file drop whose port has no field becomes its path",
            BASH,
            [command("cp {src} {dst}")],
            [("src", "file", b"data")],
            [("dst", "file")],
            note="DALiuGE fills {port} only for ports that have a field, so the "
            "command keeps the braces and fails; liuray fills it from the link",
            liuray={"command": "cp {dir}/in0.dat {dir}/out0.dat"},
        ),
        "bash/uid_placeholders_are_paths": case(
            "{uid} of a linked file drop becomes its path",
            BASH,
            [command("cp {in0} {out0}")],
            [(None, "file", b"data")],
            [(None, "file")],
        ),
        "bash/argument_placeholders": case(
            "{name} of an application argument becomes its value (the dd case)",
            BASH,
            [
                command("dd if=/dev/zero of={of} bs={bs} count={count}"),
                port("of", "path", "OutputPort"),
                field("bs", 512, type="Integer"),
                field("count", "2", type="Integer"),
            ],
            outputs=[("of", "file")],
        ),
        "bash/memory_port_placeholders": case(
            "{port} of a memory input becomes its value, read per the port's encoding "
            "(dd with bs/count from memory drops)",
            BASH,
            [
                command("dd if=/dev/zero of={of} bs={bs} count={count}"),
                port("of", "path", "OutputPort"),
                port("bs", "pickle"),
                port("count", "pickle"),
            ],
            [("bs", "memory", pickled(512)), ("count", "memory", pickled(2))],
            [("of", "file")],
        ),
        "bash/component_parameter_not_substituted": case(
            "a component parameter is not a placeholder value",
            BASH,
            [command("echo {level}"), field("level", "3", group="ComponentParameter")],
            outputs=STDOUT,
        ),
        "bash/unused_arguments_not_appended": case(
            "arguments the command does not name are not appended",
            BASH,
            [
                command("echo hi"),
                field("level", 3, type="Integer"),
                field("p", "x", positional=True),
            ],
            outputs=STDOUT,
        ),
        "bash/older_graph_appends_arguments": case(
            "an older graph (argumentPrefix / paramValueSeparator) with arguments the "
            "command does not name",
            BASH,
            [command("echo"), field("level", 3, type="Integer"), field("p", "x", positional=True)],
            outputs=STDOUT,
            argumentPrefix="--",
            paramValueSeparator="=",
            note="deliberate: older DALiuGE appended such arguments as "
            "<prefix><name><separator><value> (positional ones bare); 6.6.0 ignores "
            "them; liuray appends them only for graphs that carry argumentPrefix or "
            "paramValueSeparator (DALiuGE's own ddTest.graph needs it)",
            liuray={"command": "echo --level=3 x"},
        ),
        "bash/positional_argument_placeholder": case(
            "a positional argument fills {name} too",
            BASH,
            [command("echo {first}"), field("first", "one", positional=True)],
            outputs=STDOUT,
        ),
        "bash/empty_argument_left": case(
            "an empty or None value leaves {name} in place",
            BASH,
            [command("echo {a} {b}"), field("a", ""), field("b", None)],
            outputs=STDOUT,
        ),
        "bash/precious_empty_argument": case(
            "an empty precious value replaces {name} with nothing",
            BASH,
            [command("echo [{a}]"), field("a", "", precious=True)],
            outputs=STDOUT,
        ),
        "bash/boolean_arguments": case(
            "True becomes 'True'; False is dropped, leaving {name}",
            BASH,
            [
                command("echo {yes} {no}"),
                field("yes", True, type="Boolean"),
                field("no", False, type="Boolean"),
            ],
            outputs=STDOUT,
        ),
        "bash/numbers": case(
            "numbers are written with str()",
            BASH,
            [
                command("echo {i} {x}"),
                field("i", 10, type="Integer"),
                field("x", 0.5, type="Float"),
            ],
            outputs=STDOUT,
        ),
        "bash/memory_input_utf8": case(
            "a utf-8 memory input gives its text",
            BASH,
            [command("echo {n}"), port("n", "utf-8")],
            [("n", "memory", b"hello")],
            STDOUT,
            note="DALiuGE bug: the placeholder becomes a memoryview's repr (the command "
            "then fails); liuray gives the text",
            liuray={"command": "echo hello"},
        ),
        "bash/legacy_links_with_positional_argument": case(
            "links written as plain oids, with a positional argument",
            BASH,
            [command("echo {p}"), field("p", "x", positional=True)],
            outputs=[(None, "memory")],
            note="DALiuGE crashes (it takes an output drop for the argument's value); "
            "liuray fills {p}",
            liuray={"command": "echo x"},
        ),
        "bash/percent_placeholders": case(
            "6.6.0 leaves the older %i0 / %o[uid] / %iDataURL0 placeholders as they are",
            BASH,
            [command("echo %i0 %o[out0]")],
            [(None, "file", b"data")],
            [(None, "file")],
            note="deliberate: liuray keeps older DALiuGE's %iN/%oN/%i[uid]/%iDataURLN "
            "placeholders (paths and data URLs), which 6.6.0 no longer replaces",
            liuray={"command": "echo {dir}/in0.dat {dir}/out0.dat"},
        ),
        "bash/arg01_command": case(
            "an older graph's Arg01..Arg10 arguments hold the command",
            BASH,
            [
                field("Arg01", "echo", group="ComponentParameter"),
                field("Arg02", "hello", group="ComponentParameter"),
            ],
            outputs=STDOUT,
            note="deliberate: 6.6.0 dropped Arg01..Arg10 and refuses the drop (no "
            "command); liuray joins them before 'command', as DALiuGE 2 did",
            liuray={"command": "echo hello"},
        ),
        "bash/no_command": case(
            "a bash app with no command is refused",
            BASH,
            [field("level", 3)],
            outputs=STDOUT,
        ),
    }


# ----------------------------------------------------------------------------- running


class _Errors(logging.Handler):
    """Keeps the exceptions DALiuGE logs."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.seen.append(describe(record.exc_info[1]))


def describe(error: BaseException) -> str:
    """``Type: message`` of the error behind DALiuGE's error-manager wrapper."""
    while error.__cause__ is not None and not str(error):
        error = error.__cause__
    return f"{type(error).__name__}: {error}"


def _materialise(value: Any, directory: str) -> Any:
    text = json.dumps(value).replace(DIR_TOKEN, directory)
    return json.loads(text)


def _relative(text: str, directory: str) -> str:
    """``{dir}`` for the scratch directory; object addresses blanked (they vary)."""
    return re.sub(r"0x[0-9a-f]+", "0x...", text.replace(directory, DIR_TOKEN))


def run_case(made: dict[str, Any], commands: list[str], errors: _Errors) -> dict[str, Any]:
    """Run one case through DALiuGE; return what was observed."""
    from dlg import droputils, graph_loader
    from dlg.ddap_protocol import AppDROPStates

    directory = tempfile.mkdtemp(prefix="param-rules-")
    commands.clear()
    errors.seen.clear()
    try:
        graph = _materialise(made["graph"], directory)
        try:
            roots, _ = graph_loader.createGraphFromDropSpecList(graph)
        except Exception as error:  # the outcome is what we record
            return {"error": _relative(describe(error), directory)}
        drops = _all_drops(roots, droputils)
        app = drops["app"]
        if getattr(app, "exception", None) is not None:
            return {"error": describe(app.exception)}
        inputs = [drops[oid] for oid in made["inputs"]]
        for oid, content in made["inputs"].items():
            drops[oid].write(base64.b64decode(content))
            drops[oid].setCompleted()
        if not inputs:
            app.execute()
        deadline = time.monotonic() + 10
        while app.execStatus not in (AppDROPStates.FINISHED, AppDROPStates.ERROR):
            if time.monotonic() > deadline:
                return {"error": "timeout"}
            time.sleep(0.01)
        return _observe(made, drops, app, commands, errors, directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _observe(
    made: dict[str, Any],
    drops: dict[str, Any],
    app: Any,
    commands: list[str],
    errors: _Errors,
    directory: str,
) -> dict[str, Any]:
    import dill
    from dlg import droputils
    from dlg.ddap_protocol import AppDROPStates

    observed: dict[str, Any] = {}
    if commands:
        observed["command"] = _relative(commands[0], directory)
    if app.execStatus == AppDROPStates.ERROR:
        observed["error"] = _relative(errors.seen[0] if errors.seen else "failed", directory)
        return observed
    if made["graph"][0]["dropclass"] == BASH:
        return observed
    output = drops.get("out0")
    if output is not None:
        content = droputils.allDropContents(output)
        if made["graph"][-1]["dropclass"] == FILE:
            observed["bytes"] = base64.b64encode(content).decode("ascii")
        else:
            observed["result"] = _relative(repr(dill.loads(content)), directory)
    return observed


def _all_drops(roots: list[Any], droputils: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    pending = list(roots)
    while pending:
        drop = pending.pop()
        if drop.oid in found:
            continue
        found[drop.oid] = drop
        pending.extend(droputils.getDownstreamObjects(drop))
        pending.extend(droputils.getUpstreamObjects(drop))
    return found


def _record_commands(commands: list[str]) -> None:
    real = subprocess.Popen

    class Recording(real):  # type: ignore[misc, valid-type]
        def __init__(self, args: Any, *rest: Any, **options: Any) -> None:
            if isinstance(args, tuple | list) and list(args[:2]) == ["/bin/bash", "-c"]:
                commands.append(str(args[2]))
            super().__init__(args, *rest, **options)

    subprocess.Popen = Recording  # type: ignore[misc]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="cases to rerun (default: all)")
    parser.add_argument("--output", type=Path, default=FIXTURE)
    options = parser.parse_args(argv)
    root = tempfile.mkdtemp(prefix="param-rules-root-")
    os.environ["DLG_ROOT"] = root  # read by DALiuGE at import
    import dlg

    commands: list[str] = []
    _record_commands(commands)
    errors = _Errors()
    logging.getLogger("dlg").addHandler(errors)
    logging.getLogger("dlg").setLevel(logging.ERROR)
    logging.getLogger("dlg").propagate = False
    table = {**pyfunc_cases(), **bash_cases()}
    unknown = set(options.names) - set(table)
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}; known: {sorted(table)}")
    fixture: dict[str, Any] = {"daliuge": dlg.version.version, "cases": {}}
    if options.names and options.output.exists():
        fixture = json.loads(options.output.read_text())
    for name in options.names or table:
        made = table[name]
        made["observed"] = run_case(made, commands, errors)
        fixture["cases"][name] = made
        print(f"{name}: {made['observed']}", file=sys.stderr)
    fixture["cases"] = dict(sorted(fixture["cases"].items()))
    options.output.parent.mkdir(parents=True, exist_ok=True)
    options.output.write_text(json.dumps(fixture, indent=1) + "\n")
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
