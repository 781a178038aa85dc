# SPDX-License-Identifier: LGPL-2.1-or-later
"""DALiuGE's simple apps (``dlg.apps.simple.*``), the building blocks of test graphs.

Behaviour follows DALiuGE's documentation of each app; numpy is imported only by the
array apps (extra ``liuray[apps]``).
"""

from __future__ import annotations

import pickle
import random
import shutil
from collections.abc import Iterable
from typing import Any

from liuray.engine.apps.base import AppDrop
from liuray.engine.drops.directory import DirectoryDrop
from liuray.engine.drops.memory import MemoryDrop
from liuray.engine.params import as_bool, as_float, as_int, param
from liuray.errors import missing_extra
from liuray.types import DropUid


def _numpy() -> Any:
    try:
        import numpy
    except ImportError as err:
        raise missing_extra("numpy", "apps") from err
    return numpy


def _value(drop: Any) -> Any:
    """An input's content as a Python value (objects as stored, bytes unpickled if pickled)."""
    return drop.get()


class NullBarrierApp(AppDrop):
    """Does nothing; used to join branches of a graph."""

    __slots__ = ()

    def run(self) -> None:
        return None


class HelloWorldApp(AppDrop):
    """Writes ``Hello <greet>`` (default ``World``) to every output.

    With an input (DALiuGE's scatter-then-greet graphs) the greeting is its first element
    when it holds a sequence, else its text.
    """

    __slots__ = ()

    def run(self) -> None:
        if self.inputs:
            if len(self.inputs) != 1:
                raise ValueError(f"HelloWorldApp takes at most one input, got {len(self.inputs)}")
            greet = _first_element(self.inputs[0].get())
        else:
            greet = param(self.spec, "greet", "World")
        message = f"Hello {greet}".encode()
        for out in self.outputs:
            out.set_value(message)


def _first_element(value: Any) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    try:
        return str(value[0])
    except (TypeError, IndexError, KeyError):
        return str(value)


class SleepApp(AppDrop):
    """Sleeps ``sleep_time`` seconds (cancellable).

    The time may also arrive through an input port named ``sleep_time``; as in DALiuGE,
    a value that is not a number means no sleep at all.
    """

    __slots__ = ()

    def run(self) -> None:
        self.sleep(self.sleep_time())

    def sleep_time(self) -> float:
        """Seconds to sleep: from the ``sleep_time`` input if linked, else the parameter."""
        source = self.input_named("sleep_time")
        if source is None:
            return as_float(self.param("sleep_time"), "sleep_time", 0.0)
        try:
            return max(0.0, float(source.get()))
        except (TypeError, ValueError):
            return 0.0


class CopyApp(AppDrop):
    """Copies its inputs, in order, into every output."""

    __slots__ = ()

    def run(self) -> None:
        directories = [drop for drop in self.inputs if isinstance(drop, DirectoryDrop)]
        if directories:
            self._copy_directories(directories)
            return
        if (
            len(self.inputs) == 1
            and isinstance(self.inputs[0], MemoryDrop)
            and self.inputs[0].has_value
        ):
            value = self.inputs[0].get()
            for out in self.outputs:
                out.set_value(value)
            return
        data = b"".join(drop.read_bytes() for drop in self.inputs)
        for out in self.outputs:
            out.write(data)

    def _copy_directories(self, directories: list[DirectoryDrop]) -> None:
        """As DALiuGE's CopyApp: a directory input's tree is copied into every output,
        which must be a directory drop too."""
        if len(directories) != len(self.inputs):
            raise TypeError(
                f"CopyApp {self.uid!r} mixes directory drops with other inputs; copy "
                "directories and data with separate CopyApps"
            )
        for out in self.outputs:
            if not isinstance(out, DirectoryDrop):
                raise TypeError(
                    f"CopyApp {self.uid!r} cannot copy directory "
                    f"{directories[0].uid!r} into {out.uid!r}, which is not a directory "
                    "drop; make the output a DirectoryDROP"
                )
            for source in directories:
                if not source.path.is_dir():
                    raise FileNotFoundError(f"CopyApp {self.uid!r}: {source.missing()}")
                shutil.copytree(source.path, out.path, dirs_exist_ok=True)
            out.set_value(str(out.path))


class SleepAndCopyApp(CopyApp):
    """Sleeps ``sleep_time`` seconds, then copies like :class:`CopyApp`."""

    __slots__ = ()

    def run(self) -> None:
        self.sleep(as_float(self.param("sleep_time"), "sleep_time", 0.0))
        super().run()


class RandomArrayApp(AppDrop):
    """Writes a numpy array of ``size`` uniform numbers in [``low``, ``high``)."""

    requires = ("numpy",)

    __slots__ = ()

    def run(self) -> None:
        np = _numpy()
        size = as_int(self.param("size"), "size", 100)
        low = as_float(self.param("low"), "low", 0.0)
        high = as_float(self.param("high"), "high", 1.0)
        rng = np.random.default_rng()
        if as_bool(self.param("integer"), False):
            array = rng.integers(int(low), int(high), size=size)
        else:
            array = rng.uniform(low, high, size=size)
        self.write_all(array)


class AverageArraysApp(AppDrop):
    """Averages its input arrays element-wise (``method``: mean, median, sum...)."""

    requires = ("numpy",)

    __slots__ = ()

    def run(self) -> None:
        np = _numpy()
        method = str(self.param("method", "mean"))
        reducer = getattr(np, method, None)
        if reducer is None:
            raise ValueError(
                f"unknown method {method!r}; use a numpy reduction such as "
                "'mean', 'median', 'sum', 'min' or 'max'"
            )
        arrays = [np.asarray(_value(drop), dtype=float) for drop in self.inputs]
        if not arrays:
            raise ValueError(
                f"AverageArraysApp {self.uid!r} has no input to average: link one or more "
                "drops holding arrays (of the same shape) to its 'array' port"
            )
        self.write_all(reducer(np.stack(arrays), axis=0))


class GenericScatterApp(AppDrop):
    """Splits its input (anything with a length) into one part per output."""

    requires = ("numpy",)

    __slots__ = ()

    def run(self) -> None:
        np = _numpy()
        if len(self.inputs) != 1:
            raise ValueError(f"GenericScatterApp needs exactly one input, got {len(self.inputs)}")
        value = _value(self.inputs[0])
        if value is None or np.ndim(value) == 0:
            raise ValueError(
                f"{type(self).__name__} {self.uid!r} cannot split the value of its input "
                f"{self.inputs[0].uid!r}: it is {value!r}, not an array (or list); link "
                "its 'array' port to a drop that holds the array to scatter"
            )
        parts = np.array_split(np.asarray(value), max(1, len(self.outputs)))
        element = as_bool(self.param("element"), False)
        for out, part in zip(self.outputs, parts, strict=False):
            # element (DALiuGE 6.6.0): each output gets the first item of its part
            out.set_value(part[0] if element and len(part) else part)


class GenericNpyScatterApp(GenericScatterApp):
    """Same as :class:`GenericScatterApp` (values travel as numpy arrays)."""

    __slots__ = ()


class GenericGatherApp(AppDrop):
    """Concatenates the bytes of its inputs into every output."""

    __slots__ = ()

    def run(self) -> None:
        data = b"".join(drop.read_bytes() for drop in self.inputs)
        for out in self.outputs:
            out.write(data)


class ArrayGatherApp(AppDrop):
    """Gathers its inputs into one numpy array (concatenated)."""

    requires = ("numpy",)

    __slots__ = ()

    def run(self) -> None:
        np = _numpy()
        parts = [np.atleast_1d(np.asarray(_value(drop))) for drop in self.inputs]
        self.write_all(np.concatenate(parts) if parts else np.array([]))


class GenericNpyGatherApp(ArrayGatherApp):
    """Same as :class:`ArrayGatherApp`."""

    __slots__ = ()


class DictGatherApp(AppDrop):
    """Gathers inputs into a dict keyed by input port name (or uid)."""

    __slots__ = ()

    def run(self) -> None:
        gathered = {port or d.uid: _value(d) for port, d in self.input_links()}
        self.write_all(gathered)


class PickOne(AppDrop):
    """Loop helper: writes the rest of its input array (all but the first element) to the
    output on port ``rest_array`` (or named so), and the first element to every other.

    Without such a name, output 0 gets the element and the others the rest.
    """

    requires = ("numpy",)

    __slots__ = ()

    def run(self) -> None:
        np = _numpy()
        if not self.inputs:
            raise ValueError(
                f"PickOne {self.uid!r} has no input: link the array to pick from to its "
                "'rest_array' input port"
            )
        # Several inputs (DALiuGE's unrolling links a loop inside a Scatter to the
        # Scatter's output in every iteration): the first is read, as in DALiuGE 6.6.0.
        array = np.atleast_1d(np.asarray(_value(self.inputs[0])))
        element = array[0] if len(array) else None
        rest = array[1:]
        named = [out.uid for out in self.outputs if _is_rest_array(self, out)]
        for index, out in enumerate(self.outputs):
            takes_rest = out.uid in named if named else index > 0
            out.set_value(rest if takes_rest else element)


def _is_rest_array(app: AppDrop, out: Any) -> bool:
    return bool(
        app.output_ports.get(out.uid) == "rest_array" or out.spec.get("name") == "rest_array"
    )


class ListAppendThrashingApp(AppDrop):
    """Benchmark app: builds a list of ``size`` random floats the slow way (``size``
    times over, an N-squared loop) and writes it, pickled, to every output."""

    __slots__ = ()

    def run(self) -> None:
        if not self.outputs:
            raise ValueError("ListAppendThrashingApp needs at least one output")
        size = as_int(self.param("size"), "size", 100)
        numbers: list[float] = []
        for _ in range(size):
            numbers = [random.random() for _ in range(size)]
        data = pickle.dumps(numbers)
        for out in self.outputs:
            out.write(data)


class SimpleBranch(AppDrop):
    """Branch with a fixed ``result``: true keeps the first output, false the second."""

    __slots__ = ()

    def run(self) -> Iterable[DropUid]:
        return branch_not_taken(self, as_bool(self.param("result"), True))


def branch_not_taken(app: AppDrop, condition: bool) -> list[DropUid]:
    """The output uids a branch app must skip given its ``condition``.

    Outputs on ports named ``true``/``false`` are chosen by name; otherwise (DALiuGE's
    ``BranchAppDrop``) output 0 is the true branch and output 1 the false branch.
    """
    named = {app.output_ports.get(o.uid, "").lower(): o.uid for o in app.outputs}
    if "true" in named or "false" in named:
        skip = named.get("false" if condition else "true")
        return [skip] if skip else []
    if len(app.outputs) < 2:
        return []
    return [app.outputs[1 if condition else 0].uid]
