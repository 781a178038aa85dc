# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reading parameters out of DALiuGE drop specs.

DALiuGE keeps a drop's parameters in two places: as top-level keys of the spec and as
``{"value": ...}`` entries of ``applicationArgs`` / ``componentParams`` (the EAGLE
fields). :func:`param` looks in that order and treats ``None`` and ``""`` as unset, which
is how EAGLE writes a field nobody filled in.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from liuray.types import DropSpec

_FIELD_GROUPS = ("applicationArgs", "componentParams", "constraintParams")
_MISSING: Any = object()


def param(spec: DropSpec, name: str, default: Any = None) -> Any:
    """The value of parameter ``name`` in ``spec``, or ``default`` if unset."""
    value = spec.get(name, _MISSING)
    if value is not _MISSING and value is not None and value != "":
        return value
    for group in _FIELD_GROUPS:
        fields = spec.get(group)
        if isinstance(fields, dict):
            field = fields.get(name)
            if isinstance(field, dict):
                value = field.get("value")
                if value is not None and value != "":
                    return value
    return default


def as_int(value: Any, name: str, default: int) -> int:
    """Coerce a parameter to int (EAGLE often writes numbers as strings)."""
    if value is None or value == "":
        return default
    try:
        return int(float(value))
    except (TypeError, ValueError):
        raise ValueError(f"parameter {name!r} must be an integer, got {value!r}") from None


def as_float(value: Any, name: str, default: float) -> float:
    """Coerce a parameter to float."""
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"parameter {name!r} must be a number, got {value!r}") from None


def as_bool(value: Any, default: bool = False) -> bool:
    """Coerce a parameter to bool (``"1"``, ``"true"``, ``True``... are true)."""
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


# --------------------------------------------------------------------- function arguments
#
# How DALiuGE 6.6.0 fills a Python function's parameters (observed on the real engine:
# bench/daliuge_param_rules.py, replayed by tests/engine/test_param_rules.py), lowest
# precedence first:
#   1. the function's own default, None for a parameter without one;
#   2. func_defaults;
#   3. a top-level spec key of the parameter's name (component parameters), if set;
#   4. the application argument of that name, if its value is set (None and "" keep
#      what was there; DALiuGE also ignores 0 and False, liuray passes them); Json/Complex
#      text is read as a Python literal;
#   5. the input port of that name.
# Application arguments the signature does not name go to **kwargs (to *args when
# ``positional``); without them they are dropped. liuray departs from 6.6.0 where
# DALiuGE crashes or loses a value (each case is noted in the fixture): keyword-only
# and positional-only parameters are filled like the others, a named port without a
# field of its own is read, inputs without a port name fill the positional parameters
# still unset in link order (older DALiuGE's rule), and text in Integer/Float/Boolean
# fields is converted to the field's type.

#: Spec keys that configure the app and are never function arguments.
NOT_ARGUMENTS = frozenset(
    {
        "func_name",
        "func_code",
        "func_defaults",
        "func_arg_mapping",
        "pickle",
        "input_parser",
        "output_parser",
        "dropclass",
        "execution_time",
        "num_cpus",
        "group_start",
        "n_tries",
        "input_error_threshold",
        "block_skip",
        "oid",
        "uid",
        "name",
        "node",
        "island",
        "inputs",
        "outputs",
        "producers",
        "consumers",
        "streamingInputs",
        "streamingConsumers",
        "categoryType",
        "category",
        "rank",
        "iid",
        "lg_key",
        "loop_ctx",
        "weight",
        "fields",
        "reprodata",
        "humanReadableKey",
        *_FIELD_GROUPS,
    }
)
#: liuray's own app settings (see the session's time limits): as top-level keys they
#: configure the engine and are not passed to a function; an *application argument* of
#: the same name still is (it belongs to the function).
ENGINE_SETTINGS = frozenset({"timeout", "retry_delay"})
_PORT_USAGES = frozenset({"InputPort", "OutputPort", "InputOutput"})
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
_TYPED: dict[str, Callable[[str], Any]] = {
    "integer": lambda text: int(float(text)),
    "float": float,
    "boolean": as_bool,
}


def field_named(spec: DropSpec, name: str) -> dict[str, Any] | None:
    """The EAGLE field ``name`` among the spec's application arguments or component
    parameters (ports are fields too), if there is one."""
    for group in ("applicationArgs", "componentParams"):
        fields = spec.get(group)
        if isinstance(fields, dict) and isinstance(fields.get(name), dict):
            return fields[name]  # type: ignore[no-any-return]
    return None


def is_set(value: Any) -> bool:
    """Whether a value was given: anything but None and "" (how EAGLE writes a field
    nobody filled in).

    DALiuGE 6.6.0 tests truthiness, so an argument of 0 or False silently becomes the
    function's default (or None); liuray passes it (a deliberate difference, noted in
    the parameter-rules fixture): ``channel = 0`` must reach the function as 0.
    """
    return value is not None and not (isinstance(value, str) and value == "")


def field_value(field: Mapping[str, Any]) -> Any:
    """The value of an EAGLE field as a function receives it.

    Json and Complex text is read as a Python literal (kept as text if it is none);
    text in Integer, Float and Boolean fields becomes a number or a bool; anything else
    is passed as the graph gives it.

    >>> field_value({"type": "Json", "value": "[1, (2, 3)]"})
    [1, (2, 3)]
    >>> field_value({"type": "Integer", "value": "7"}), field_value({"value": "7"})
    (7, '7')
    """
    value = field.get("value")
    kind = str(field.get("type") or "").lower()
    if not isinstance(value, str):
        return value
    if kind in ("json", "complex"):
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            return value
    convert = _TYPED.get(kind)
    if convert is not None and value.strip():
        try:
            return convert(value)
        except ValueError:
            return value
    return value


def application_arguments(spec: DropSpec) -> dict[str, Mapping[str, Any]]:
    """The spec's application arguments that are neither ports nor app settings."""
    fields = spec.get("applicationArgs")
    if not isinstance(fields, dict):
        return {}
    return {
        name: field
        for name, field in fields.items()
        if isinstance(field, Mapping)
        and str(field.get("usage") or "NoPort") not in _PORT_USAGES
        and name not in NOT_ARGUMENTS
    }


def bind_arguments(
    func: Callable[..., Any],
    spec: DropSpec,
    inputs: Sequence[tuple[str | None, Callable[[], Any]]],
    defaults: Mapping[str, Any],
) -> tuple[list[Any], dict[str, Any]]:
    """The ``(args, kwargs)`` to call ``func`` with (see the rules above).

    Args:
        func: the function.
        spec: the app's drop spec.
        inputs: (port name or None, reader of the decoded value), in link order.
        defaults: the app's func_defaults, already decoded.
    """
    try:
        parameters = dict(inspect.signature(func).parameters)
    except (TypeError, ValueError):  # a builtin without a signature: all positional
        arguments = [read() for _, read in inputs]
        arguments += [field_value(f) for f in application_arguments(spec).values()]
        return arguments, {}
    named = {n: p for n, p in parameters.items() if p.kind not in _VARIADIC}
    values, given = _starting_values(named, spec, defaults)
    extra_args: list[Any] = []
    extra_kwargs: dict[str, Any] = {}
    for name, field in application_arguments(spec).items():
        raw = field.get("value")
        if name in named and is_set(raw):
            values[name] = field_value(field)
            given.add(name)
        elif name not in named and as_bool(field.get("positional")):
            extra_args.append(field_value(field))
        elif name not in named:
            extra_kwargs[name] = field_value(field)
    unnamed = []
    for port, read in inputs:
        if port in named:
            values[port] = read()
            given.add(port)
        else:
            unnamed.append(read)
    for name, parameter in named.items():
        if unnamed and parameter.kind in _POSITIONAL and name not in given:
            values[name] = unnamed.pop(0)()
    extra_args += [read() for read in unnamed]
    return _arrange(parameters, values, extra_args, extra_kwargs)


def _starting_values(
    named: Mapping[str, inspect.Parameter], spec: DropSpec, defaults: Mapping[str, Any]
) -> tuple[dict[str, Any], set[str]]:
    """Rules 1-3: own defaults (or None), func_defaults, top-level spec keys."""
    values: dict[str, Any] = {}
    given: set[str] = set()
    for name, parameter in named.items():
        own = None if parameter.default is parameter.empty else parameter.default
        values[name] = defaults.get(name, own)
        if name in defaults:
            given.add(name)
        if name not in NOT_ARGUMENTS and name not in ENGINE_SETTINGS and is_set(spec.get(name)):
            values[name] = spec[name]
            given.add(name)
    return values, given


def _arrange(
    parameters: Mapping[str, inspect.Parameter],
    values: dict[str, Any],
    extra_args: list[Any],
    extra_kwargs: dict[str, Any],
) -> tuple[list[Any], dict[str, Any]]:
    """Split the values into a call: extras only where *args / **kwargs take them."""
    kinds = {p.kind for p in parameters.values()}
    if inspect.Parameter.VAR_POSITIONAL not in kinds:
        extra_args = []
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for name, parameter in parameters.items():
        if name not in values:
            continue
        positional = parameter.kind is parameter.POSITIONAL_ONLY or (
            parameter.kind is parameter.POSITIONAL_OR_KEYWORD and extra_args
        )
        if positional:
            args.append(values[name])
        else:
            kwargs[name] = values[name]
    if inspect.Parameter.VAR_KEYWORD in kinds:
        kwargs.update({k: v for k, v in extra_kwargs.items() if k not in kwargs})
    return args + extra_args, kwargs
