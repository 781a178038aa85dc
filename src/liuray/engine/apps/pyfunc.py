# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python-function apps (``dlg.apps.pyfunc.PyFuncApp``) and the Python branch app.

The function comes from ``func_name`` (an import path such as ``numpy.mean`` or
``mypkg.module.func``; DALiuGE's ``dlg.apps.simple_functions.*`` map to
:mod:`liuray.engine.apps.simple_functions`) or from ``func_code`` (Python source defining
it; base64 pickles are accepted too). Arguments are bound as DALiuGE 6.6.0 does
(:func:`liuray.engine.params.bind_arguments`; the rules with examples are in
docs/parameter-rules.md): every positional parameter gets a value, its own default or
None, then ``func_defaults``, a top-level spec key, a set application argument and
finally the input port of its name, in rising precedence; arguments the signature does
not name go to ``**kwargs`` (``*args`` if ``positional``). Inputs without a port name fill
the positional parameters still unset, in link order.

Inputs are decoded per port: the port field's ``encoding``, else ``input_parser``
(``pickle``, ``eval``, ``path``, ``utf-8``, ...), else ``eval`` for graphs that say
``pickle: false`` (DALiuGE's pre-2023 switch), else pickle. The result is written to every
output, encoded the same way with ``output_parser`` (``eval`` writes ``repr(result)``);
memory outputs simply keep the object. With a process pool (``liuray run --processes``)
the call runs in a worker process, so CPU-bound Python code runs in parallel.
"""

from __future__ import annotations

import ast
import base64
import binascii
import importlib
import inspect
import json
import pickle
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from typing import Any

from liuray.engine.apps.base import AppContext, AppDrop
from liuray.engine.apps.simple import branch_not_taken
from liuray.engine.apps.simple_functions import DALIUGE_NAMES
from liuray.engine.codec import ENCODINGS
from liuray.engine.drops.base import DataDrop
from liuray.engine.params import as_bool, bind_arguments, field_named, param
from liuray.types import DropSpec, DropUid


def load_function(func_name: str | None, func_code: Any = None) -> Callable[..., Any]:
    """Find the function an app names.

    Raises:
        ValueError: if neither is given, or the function cannot be found.
    """
    if func_code:
        return _from_code(func_code, func_name)
    if not func_name:
        raise ValueError("PyFuncApp needs 'func_name' (an import path) or 'func_code' (source)")
    if func_name in DALIUGE_NAMES:
        return DALIUGE_NAMES[func_name]
    func_name = _constructor(func_name)
    module_name, _, attribute = func_name.rpartition(".")
    if not module_name:
        import builtins

        found = getattr(builtins, attribute, None)
        if callable(found):
            return found  # type: ignore[no-any-return]
        raise ValueError(f"func_name {func_name!r} must be an import path such as 'os.path.join'")
    # Walk down for paths like package.module.Class.method.
    parts = func_name.split(".")
    broken: tuple[str, ImportError] | None = None
    for split in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:split])
        try:
            target: Any = importlib.import_module(module)
        except ImportError as err:
            missing = err.name or ""
            if broken is None and missing and not (module + ".").startswith(missing + "."):
                broken = (module, err)  # the module exists; something it imports does not
            continue
        try:
            for name in parts[split:]:
                target = getattr(target, name)
        except AttributeError:
            break
        if callable(target):
            return target  # type: ignore[no-any-return]
    if broken is not None:
        failed_module, failure = broken
        raise ValueError(
            f"cannot import function {func_name!r}: importing module {failed_module!r} "
            f"failed: {type(failure).__name__}: {failure} (install what it needs where the "
            "graph runs)"
        )
    raise ValueError(f"cannot import function {func_name!r}: no such module or attribute")


def _constructor(func_name: str) -> str:
    """EAGLE's PythonMemberFunction nodes name a constructor as ``Class.__init__`` (or
    ``Class.__class__``): calling it means calling the class, as DALiuGE does.

    >>> _constructor("object.__init__"), _constructor("os.path.join")
    ('object', 'os.path.join')
    """
    for suffix in (".__init__", ".__class__"):
        if func_name.endswith(suffix):
            return func_name[: -len(suffix)]
    return func_name


def _from_code(code: Any, func_name: str | None) -> Callable[..., Any]:
    if isinstance(code, str) and "def " not in code and "lambda" not in code:
        try:
            loaded = pickle.loads(base64.b64decode(code, validate=True))
        except (binascii.Error, pickle.UnpicklingError, EOFError, ValueError, AttributeError):
            loaded = None
        if callable(loaded):
            return loaded  # type: ignore[no-any-return]
    source = code if isinstance(code, str) else bytes(code).decode("utf-8")
    namespace: dict[str, Any] = {}
    try:
        exec(compile(source, f"<func_code {func_name or ''}>", "exec"), namespace)
    except ModuleNotFoundError as err:
        raise ValueError(
            f"func_code of {func_name or 'the function'!r} imports module {err.name!r}, "
            f"which is not installed where the graph runs: install it there (pip install "
            f"{(err.name or '').partition('.')[0]}) or remove the import"
        ) from err
    wanted = (func_name or "").rpartition(".")[2]
    if wanted and callable(namespace.get(wanted)):
        return namespace[wanted]  # type: ignore[no-any-return]
    functions = [
        v for k, v in namespace.items() if inspect.isfunction(v) and not k.startswith("__")
    ]
    if not functions:
        raise ValueError("func_code defines no function")
    return functions[-1]


def _call(func_name: str | None, func_code: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """Module-level so a process pool can pickle the call."""
    return load_function(func_name, func_code)(*args, **kwargs)


class PyFuncApp(AppDrop):
    """Calls a Python function; see the module docstring for argument binding."""

    __slots__ = ("_future",)

    def __init__(self, uid: DropUid, spec: DropSpec, context: AppContext) -> None:
        super().__init__(uid, spec, context)
        self._future: Future[Any] | None = None

    @classmethod
    def check_spec(cls, spec: DropSpec) -> None:
        """Refuse a spec naming no function, with unreadable ``func_defaults``, or with
        an encoding (port field, ``input_parser``, ``output_parser``) liuray lacks."""
        if not param(spec, "func_name") and not param(spec, "func_code"):
            raise ValueError(
                "PyFuncApp names no function: set 'func_name' to an import path (such as "
                "'numpy.mean') or 'func_code' to Python source defining it"
            )
        func_defaults(param(spec, "func_defaults"))
        for name, encoding in _encodings(spec):
            if encoding.lower() not in ENCODINGS:
                raise ValueError(
                    f"PyFuncApp {name} has encoding {encoding!r}; "
                    f"known encodings: {', '.join(ENCODINGS)}"
                )

    def cancel(self) -> None:
        """Stop waiting; a call sent to another process or a Ray task is cancelled too."""
        super().cancel()
        if self._future is not None:
            self._future.cancel()

    def run(self) -> Iterable[DropUid] | None:
        func_name = self.param("func_name")
        func_code = self.param("func_code")
        func = load_function(func_name, func_code)
        args, kwargs = self.bind(func)
        pool = self.context.process_pool
        if pool is not None:
            # An executor that places work by resources (Ray tasks) gets the app's needs.
            placed = getattr(pool, "submit_with_resources", None)
            if placed is not None:
                future = placed(self.resources(), _call, func_name, func_code, args, kwargs)
            else:
                future = pool.submit(_call, func_name, func_code, args, kwargs)
            self._future = future
            if self.cancelled is not None and self.cancelled.is_set():
                future.cancel()
            calling: Callable[[], Any] = future.result
        else:
            calling = lambda: func(*args, **kwargs)  # noqa: E731
        try:
            result = calling()
        except TypeError as err:
            unlinked = self._unlinked_ports()
            if not unlinked:
                raise
            raise TypeError(
                f"{err} (in {type(self).__name__} {self.uid!r}: input port(s) "
                f"{', '.join(map(repr, unlinked))} are linked to no drop and have no value, "
                "so the function got None for them: link them or give them a value)"
            ) from err
        return self.deliver(result)

    def _unlinked_ports(self) -> list[str]:
        """Input port fields that no link feeds and that carry no value of their own."""
        linked = {port for port, _ in self.input_links() if port}
        unlinked = []
        for group in ("applicationArgs", "componentParams"):
            fields = self.spec.get(group)
            if not isinstance(fields, dict):
                continue
            for name, field in fields.items():
                if (
                    isinstance(field, dict)
                    and str(field.get("usage")) in ("InputPort", "InputOutput")
                    and name not in linked
                    and field.get("value") in (None, "")
                ):
                    unlinked.append(name)
        return unlinked

    def resources(self) -> dict[str, float]:
        """What one run needs: ``num_cpus`` (default 1), ``num_gpus``, ``resources``."""
        needs: dict[str, float] = {"CPU": float(self.param("num_cpus", 1) or 1)}
        gpus = self.param("num_gpus")
        if gpus:
            needs["GPU"] = float(gpus)
        extra = self.param("resources")
        if isinstance(extra, dict):
            needs.update({str(k): float(v) for k, v in extra.items()})
        return needs

    def deliver(self, result: Any) -> Iterable[DropUid] | None:
        """Write the function's result to the outputs (except those the function was
        given as paths: it wrote them itself)."""
        given = self._path_outputs()
        for out in self.outputs:
            if out.uid not in given:
                out.set_value(result, self._encoding(out.uid))
        return None

    def _path_outputs(self) -> dict[DropUid, str]:
        """Outputs whose port field has encoding ``path``/``dataurl``: DALiuGE hands the
        function the drop's path (or URL) in the argument of the port's name, and writes
        no result there (a function that writes a file or makes a directory itself)."""
        found: dict[DropUid, str] = {}
        for out in self.outputs:
            port = self.output_ports.get(out.uid)
            encoding = (_port_encoding(self.spec, port) or "").lower()
            if port and encoding in ("path", "dataurl"):
                found[out.uid] = port
        return found

    def _encoding(self, uid: DropUid) -> str | None:
        """How to encode the result for output ``uid``."""
        port = self.output_ports.get(uid)
        return _port_encoding(self.spec, port) or self._parser("output_parser")

    def _decoding(self, port: str | None) -> str | None:
        """How to decode an input read on ``port``."""
        return _port_encoding(self.spec, port) or self._parser("input_parser")

    def _parser(self, name: str) -> str | None:
        parser = self.param(name)
        if parser:
            return str(parser)
        pickled = self.param("pickle")
        return "eval" if pickled is not None and not as_bool(pickled) else None

    def bind(self, func: Callable[..., Any]) -> tuple[list[Any], dict[str, Any]]:
        """Build the call's arguments (see :mod:`liuray.engine.arguments`)."""
        inputs: list[tuple[str | None, Callable[[], Any]]] = [
            (port, _Lazy(drop, self._decoding(port))) for port, drop in self.input_links()
        ]
        given = self._path_outputs()
        if given:
            try:
                names = set(inspect.signature(func).parameters)
            except (TypeError, ValueError):
                names = set()
            for out in self.outputs:
                port = given.get(out.uid)
                if port in names:
                    encoding = _port_encoding(self.spec, port)
                    inputs.append((port, _Lazy(out, encoding)))
        defaults = decoded_defaults(func_defaults(self.param("func_defaults")))
        return bind_arguments(func, self.spec, inputs, defaults)


class _Lazy:
    """Reads an input only when the binding needs its value."""

    __slots__ = ("drop", "encoding")

    def __init__(self, drop: DataDrop, encoding: str | None) -> None:
        self.drop = drop
        self.encoding = encoding

    def __call__(self) -> Any:
        return self.drop.get(self.encoding)


def func_defaults(value: Any) -> dict[str, Any]:
    """Parse a ``func_defaults`` parameter (dict, JSON or Python literal) into a dict.

    DALiuGE's ``{"kwargs": {...}, "args": [...]}`` form gives its ``kwargs``.

    Raises:
        ValueError: the text is neither JSON nor a Python literal, or not a mapping.
    """
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError) as err:
                raise ValueError(
                    f"func_defaults {value!r} is neither JSON nor a Python literal; "
                    'write it as {"name": value, ...}'
                ) from err
    if not isinstance(value, dict):
        raise ValueError(f"func_defaults must be a mapping of argument names, got {value!r}")
    if isinstance(value.get("kwargs"), dict) and set(value) <= {"kwargs", "args"}:
        return dict(value["kwargs"])
    return value


def decoded_defaults(defaults: dict[str, Any]) -> dict[str, Any]:
    """func_defaults values as the function gets them.

    DALiuGE serialises them (base64 of a pickle, as ``dlg.utils.serialize_data``
    writes); such a value is decoded, any other is used as it is (DALiuGE would fail).
    """
    return {name: _unserialised(value) for name, value in defaults.items()}


def _unserialised(value: Any) -> Any:
    if not isinstance(value, str) or len(value) < 8:
        return value
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value
    if data[:1] != b"\x80":
        return value
    try:
        return pickle.loads(data)
    except Exception:  # not a pickle after all: the text is the value
        return value


def _encodings(spec: DropSpec) -> Iterable[tuple[str, str]]:
    """(what, encoding) for every port field and parser the spec sets."""
    for parser in ("input_parser", "output_parser"):
        value = param(spec, parser)
        if value:
            yield parser, str(value)
    for group in ("applicationArgs", "componentParams"):
        fields = spec.get(group)
        if not isinstance(fields, dict):
            continue
        for name, field in fields.items():
            if (
                isinstance(field, dict)
                and str(field.get("usage") or "NoPort") != "NoPort"
                and field.get("encoding")
            ):
                yield f"port {name!r}", str(field["encoding"])


def _port_encoding(spec: dict[str, Any], port: str | None) -> str | None:
    if not port:
        return None
    field = field_named(spec, port)
    if field is not None and field.get("encoding"):
        return str(field["encoding"])
    return None


class Branch(PyFuncApp):
    """Evaluates a condition function on its input and skips the branch not taken.

    The input value is copied to the output on port ``true`` or ``false`` (or output 0 /
    output 1); the other output is SKIPPED, and the skip cascades downstream.
    """

    __slots__ = ()

    def deliver(self, result: Any) -> Iterable[DropUid] | None:
        skip = branch_not_taken(self, bool(result))
        value = self.inputs[0].get() if self.inputs else result
        for out in self.outputs:
            if out.uid not in skip:
                out.set_value(value, self._encoding(out.uid))
        return skip
