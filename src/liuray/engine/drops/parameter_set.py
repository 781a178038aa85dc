# SPDX-License-Identifier: LGPL-2.1-or-later
"""Parameter-set data drops (``dlg.data.drops.parset_drop.ParameterSetDROP``).

A parameter set is configuration written in the graph itself: the drop's payload is its
*application arguments* (the EAGLE fields of parameter type ``ApplicationArgument``,
ports included) rendered as text when the graph is deployed, in the serialisation its
``mode`` names. The output is byte for byte DALiuGE 6.6.0's:

* ``YANDA`` (EAGLE's default): one ``name=value`` line per argument, no final newline;
* ``json``, ``ini``, ``toml``, ``yaml``, ``pickle``: the mapping ``{name: {"value",
  "description", "type", "default"}}`` in that format (``ini`` and ``toml``: one section
  per argument; ``yaml``: keys sorted; ``pickle``: protocol 2);
* no ``mode``, or one DALiuGE does not know: ``yaml``, as DALiuGE falls back to it.

``yaml`` needs PyYAML and ``toml`` the ``toml`` package; a graph asking for them where
they are missing is refused when validated, saying which package to install.

>>> from pathlib import Path
>>> class Session:
...     session_id, session_dir = "s", Path("/tmp/s")
>>> spec = {"mode": "YANDA", "applicationArgs": {"nchan": {"value": 16}, "ms": {"value": "a.ms"}}}
>>> ParameterSetDrop("p", spec, Session()).read_bytes()
b'nchan=16\\nms=a.ms'
"""

from __future__ import annotations

import configparser
import importlib
import importlib.util
import io
import json
import pickle
from collections.abc import Callable
from typing import Any

from liuray.engine.drops.base import DropContext
from liuray.engine.drops.memory import MemoryDrop
from liuray.engine.params import param
from liuray.types import DropSpec, DropUid

Arguments = dict[str, dict[str, Any]]

#: The optional package each mode needs, and how to get it.
_NEEDS = {"yaml": ("yaml", "pip install pyyaml"), "toml": ("toml", "pip install toml")}
_MODES = ("YANDA", "ini", "yaml", "json", "toml", "pickle")


def parameter_set_mode(spec: DropSpec) -> str:
    """The serialisation DALiuGE would use for ``spec`` (unknown or none: ``yaml``)."""
    mode = param(spec, "mode")
    return mode if mode in _MODES else "yaml"


class ParameterSetDrop(MemoryDrop):
    """A memory drop holding its own rendered parameters; see the module docstring."""

    __slots__ = ()

    def __init__(self, uid: DropUid, spec: DropSpec, context: DropContext) -> None:
        super().__init__(uid, spec, context)
        self._store(render(spec))

    @classmethod
    def check_spec(cls, spec: DropSpec) -> None:
        """Refuse a mode whose serialiser is not installed here."""
        mode = parameter_set_mode(spec)
        if mode in _NEEDS:
            module, install = _NEEDS[mode]
            if importlib.util.find_spec(module) is None:
                raise ValueError(
                    f"a ParameterSetDROP in mode {mode!r} needs the Python package "
                    f"{module!r}, which is not installed: {install}, or choose mode "
                    "'YANDA', 'json', 'ini' or 'pickle'"
                )


def render(spec: DropSpec) -> bytes:
    """The payload of a parameter-set drop with ``spec`` (see the module docstring)."""
    fields = spec.get("applicationArgs")
    arguments = fields if isinstance(fields, dict) else {}
    mode = parameter_set_mode(spec)
    if mode == "YANDA":
        lines = (f"{name}={_value(field)}" for name, field in arguments.items())
        return "\n".join(lines).encode("utf-8")
    described = {name: _described(field) for name, field in arguments.items()}
    return _RENDERERS[mode](described)


def _value(field: Any) -> Any:
    return field.get("value") if isinstance(field, dict) else field


def _described(field: Any) -> dict[str, Any]:
    if not isinstance(field, dict):
        field = {"value": field}
    return {
        "value": field.get("value"),
        "description": field.get("description", ""),
        "type": field.get("type", ""),
        "default": field.get("defaultValue", ""),
    }


def _ini(arguments: Arguments) -> bytes:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep the case
    for name, entries in arguments.items():
        parser[name] = {key: str(value) for key, value in entries.items()}
    text = io.StringIO()
    parser.write(text)
    return text.getvalue().encode("utf-8")


def _yaml(arguments: Arguments) -> bytes:
    yaml = importlib.import_module("yaml")
    return str(yaml.dump(arguments)).encode("utf-8")


def _toml(arguments: Arguments) -> bytes:
    toml = importlib.import_module("toml")
    return str(toml.dumps(arguments)).encode("utf-8")


_RENDERERS: dict[str, Callable[[Arguments], bytes]] = {
    "json": lambda arguments: json.dumps(arguments).encode("utf-8"),
    "ini": _ini,
    "yaml": _yaml,
    "toml": _toml,
    "pickle": lambda arguments: pickle.dumps(arguments, protocol=2),
}
