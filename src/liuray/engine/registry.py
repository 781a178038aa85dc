# SPDX-License-Identifier: LGPL-2.1-or-later
"""From a spec's ``dropclass`` to the class that implements it.

Every drop class of DALiuGE 6.6.0 is either here (``APPS``, ``DATA``) or refused with a
reason (``UNSUPPORTED``, from engine/unsupported.py); tests/engine/test_components.py
checks it against the list bench/daliuge_components.py makes, and docs/compatibility.md
is the table. Classes older graphs name that DALiuGE itself removed (its Plasma drops and
apps) are refused with a reason too (``REMOVED``).

DALiuGE's built-in class names (``dlg.apps.simple.HelloWorldApp``,
``dlg.data.drops.memory.InMemoryDROP``...) map to liuray's own implementations; the old
``dfms.`` prefix and the pre-2023 ``dlg.drop.*`` paths are accepted too. Any other name
is imported by path and must be a subclass of :class:`AppDrop` or :class:`DataDrop`.
Data drops without a ``dropclass`` fall back to DALiuGE's legacy ``storage``/``category``
names (``Memory``, ``File``, ``null``...).

>>> resolve("dlg.apps.simple.HelloWorldApp", is_app=True).__name__
'HelloWorldApp'
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from functools import lru_cache

from liuray.engine.apps import bash, crc, pyfunc, simple, subgraph
from liuray.engine.apps.base import AppDrop
from liuray.engine.apps.placeholder import PlaceholderApp
from liuray.engine.drops.base import DataDrop
from liuray.engine.drops.directory import DirectoryDrop
from liuray.engine.drops.file import FileDrop
from liuray.engine.drops.memory import MemoryDrop
from liuray.engine.drops.null import EndDrop, NullDrop
from liuray.engine.drops.parameter_set import ParameterSetDrop
from liuray.engine.unsupported import REMOVED, UNSUPPORTED, UNSUPPORTED_CATEGORIES
from liuray.errors import OPTIONAL_MODULES, GraphError
from liuray.types import DropSpec

_SIMPLE_APPS = (
    "NullBarrierApp",
    "HelloWorldApp",
    "SleepApp",
    "CopyApp",
    "SleepAndCopyApp",
    "RandomArrayApp",
    "AverageArraysApp",
    "GenericScatterApp",
    "GenericNpyScatterApp",
    "GenericGatherApp",
    "ArrayGatherApp",
    "GenericNpyGatherApp",
    "DictGatherApp",
    "PickOne",
    "SimpleBranch",
    "ListAppendThrashingApp",
)

#: DALiuGE 6.6.0 app classes with nothing to run (palette templates, a bare base): they
#: fire and fail as there (see apps/placeholder.py).
_PLACEHOLDERS = (
    "dlg.apps.app_base.BarrierAppDROP",
    "dlg.apps.simple.DALiuGEApp",
    "dlg.apps.pyfunc.PyMemberApp",
    *(
        f"dlg.apps.constructs.{name}"
        for name in (
            "ScatterDrop",
            "GatherDrop",
            "LoopDrop",
            "MKNDrop",
            "GroupByDrop",
            "SubGraphDrop",
            "CommentDrop",
            "ExclusiveForceDrop",
            "GlobalVariableDrop",
        )
    ),
)

APPS: dict[str, type[AppDrop]] = {
    **{f"dlg.apps.simple.{name}": getattr(simple, name) for name in _SIMPLE_APPS},
    "dlg.apps.simple.Branch": pyfunc.Branch,
    "dlg.apps.branch.Branch": pyfunc.Branch,
    "dlg.apps.pyfunc.PyFuncApp": pyfunc.PyFuncApp,
    "dlg.apps.bash_shell_app.BashShellApp": bash.BashShellApp,
    "dlg.apps.bash_shell_app.StreamingInputBashApp": bash.BashShellApp,
    "dlg.apps.bash_shell_app.StreamingOutputBashApp": bash.BashShellApp,
    "dlg.apps.bash_shell_app.StreamingInputOutputBashApp": bash.BashShellApp,
    "dlg.apps.bash_shell_app.StreamingInputBashAppBase": bash.BashShellApp,
    "dlg.apps.crc.CRCApp": crc.CRCApp,
    "dlg.apps.crc.CRCStreamApp": crc.CRCStreamApp,
    "dlg.apps.subgraph.SubGraphLocal": subgraph.SubGraphApp,
    **dict.fromkeys(_PLACEHOLDERS, PlaceholderApp),
}

DATA: dict[str, type[DataDrop]] = {
    "dlg.data.drops.memory.InMemoryDROP": MemoryDrop,
    "dlg.data.drops.memory.PythonObjectDROP": MemoryDrop,
    "dlg.data.drops.memory.SharedMemoryDROP": MemoryDrop,
    "dlg.data.drops.file.FileDROP": FileDrop,
    "dlg.data.drops.json_drop.JsonDROP": FileDrop,
    "dlg.data.drops.directory.DirectoryDROP": DirectoryDrop,
    "dlg.data.drops.parset_drop.ParameterSetDROP": ParameterSetDrop,
    "dlg.data.drops.data_base.NullDROP": NullDrop,
    "dlg.data.drops.data_base.EndDROP": EndDrop,
    # DALiuGE re-exports its data drops at package level; translated graphs use those.
    "dlg.data.drops.NullDROP": NullDrop,
    "dlg.data.drops.InMemoryDROP": MemoryDrop,
    "dlg.data.drops.SharedMemoryDROP": MemoryDrop,
    "dlg.data.drops.FileDROP": FileDrop,
    "dlg.data.drops.DirectoryDROP": DirectoryDrop,
    "dlg.data.drops.ParameterSetDROP": ParameterSetDrop,
    # Pre-2023 paths, no longer importable in DALiuGE 6.6.0 but still in old graphs.
    "dlg.drop.InMemoryDROP": MemoryDrop,
    "dlg.drop.FileDROP": FileDrop,
    "dlg.drop.NullDROP": NullDrop,
}

LEGACY_STORAGE: dict[str, type[DataDrop]] = {
    "memory": MemoryDrop,
    "sharedmemory": MemoryDrop,
    "file": FileDrop,
    "null": NullDrop,
    "json": FileDrop,
    "data": MemoryDrop,
    "pythonobject": MemoryDrop,
}


def builtin_data_class(dropclass: str, storage: str = "") -> type[DataDrop] | None:
    """The built-in data class ``dropclass`` names (without one, the legacy ``storage``
    category's), None for any other; nothing is imported.

    >>> builtin_data_class("dlg.data.drops.file.FileDROP").__name__
    'FileDrop'
    >>> builtin_data_class("", "Memory").__name__, builtin_data_class("mypkg.MyDrop")
    ('MemoryDrop', None)
    """
    name = "dlg." + dropclass[5:] if dropclass.startswith("dfms.") else dropclass
    if not name:
        return LEGACY_STORAGE.get(storage.lower())
    return DATA.get(name)


def check_builtin(dropclass: str, *, is_app: bool, spec: DropSpec | None = None) -> None:
    """Refuse a DALiuGE class name (``dlg.``/``dfms.``) that liuray does not implement,
    or a ``spec`` that its class could never run (its ``check_spec``).

    Other names are import paths of the user's code, which may exist only where the
    graph runs: they are resolved there, at deploy.

    Raises:
        GraphError: naming the class and what is wrong (the built-in classes, what an
            unsupported class needs, or the parameter at fault).
    """
    if not dropclass.startswith(("dlg.", "dfms.")):
        return
    cls = _resolve(dropclass, is_app, "")
    check_requirements(cls, dropclass)
    if spec is not None:
        try:
            cls.check_spec(spec)
        except (ValueError, TypeError) as err:
            raise GraphError(f"{dropclass}: {err}", dropclass=dropclass) from None


def check_requirements(cls: type[AppDrop] | type[DataDrop], dropclass: str) -> None:
    """Refuse a class whose optional modules (``requires``) are not installed here,
    naming the module and what to install.

    Raises:
        GraphError: e.g. "dlg.apps.simple.RandomArrayApp needs 'numpy' ...".
    """
    for module in getattr(cls, "requires", ()):
        if module not in _installed and importlib.util.find_spec(module) is None:
            extra = OPTIONAL_MODULES.get(module, (module, ""))[1]
            how = f"pip install 'liuray[{extra}]'" if extra else f"pip install {module}"
            raise GraphError(
                f"{dropclass} needs the Python package {module!r}, which is not installed "
                f"here; install it with: {how}",
                dropclass=dropclass,
                module=module,
            )
        _installed.add(module)


_installed: set[str] = set()


def resolve(dropclass: str, *, is_app: bool, storage: str = "") -> type[AppDrop] | type[DataDrop]:
    """The implementation of ``dropclass``; see the module docstring.

    Raises:
        GraphError: the class is unknown, cannot be imported, or is of the wrong kind.
    """
    return _resolve(dropclass, is_app, storage.lower())


@lru_cache(maxsize=512)
def _resolve(dropclass: str, is_app: bool, storage: str) -> type[AppDrop] | type[DataDrop]:
    table: dict[str, type[AppDrop]] | dict[str, type[DataDrop]] = APPS if is_app else DATA
    name = "dlg." + dropclass[5:] if dropclass.startswith("dfms.") else dropclass
    if name in table:
        return table[name]
    refused = UNSUPPORTED.get(name) or REMOVED.get(name)
    if refused:
        raise GraphError(
            f"dropclass {dropclass!r} is not supported by liuray: {refused}",
            dropclass=dropclass,
        )
    if not name:
        if not is_app and storage in LEGACY_STORAGE:
            return LEGACY_STORAGE[storage]
        if is_app and storage in UNSUPPORTED_CATEGORIES:
            raise GraphError(
                f"an EAGLE {storage!r} app drop (no dropclass) is not supported by liuray: "
                f"{UNSUPPORTED[UNSUPPORTED_CATEGORIES[storage]]}"
            )
        kind = "app" if is_app else "data"
        raise GraphError(
            f"no 'dropclass' given for this {kind} drop; "
            f"use one of {sorted(table)} or an import path"
        )
    kind = "app" if is_app else "data"
    if name.startswith("dlg.") and name in (DATA if is_app else APPS):
        other = "data" if is_app else "app"
        raise GraphError(
            f"dropclass {dropclass!r} is a DALiuGE {other} class, but the drop is declared "
            f"as {kind} (categoryType); make it an {'Application' if other == 'app' else 'Data'}"
            " drop",
            dropclass=dropclass,
        )
    if name.startswith("dlg."):  # DALiuGE's namespace: never the user's own code
        close = difflib.get_close_matches(name, [*table, *UNSUPPORTED], n=2, cutoff=0.75)
        hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
        raise GraphError(
            f"dropclass {dropclass!r} is not a DALiuGE 6.6.0 {kind} class; {hint}"
            f"the built-in {kind} classes are {sorted(table)} (docs/compatibility.md)",
            dropclass=dropclass,
        )
    module_name, _, class_name = name.rpartition(".")
    try:
        found = getattr(importlib.import_module(module_name), class_name) if module_name else None
    except ImportError as err:
        found, problem = None, f"{type(err).__name__}: {err}"
    except AttributeError:
        found, problem = None, f"module {module_name!r} has no {class_name!r}"
    else:
        problem = "not found" if found is None else ""
    base: type[AppDrop] | type[DataDrop] = AppDrop if is_app else DataDrop
    if isinstance(found, type) and issubclass(found, base):
        return found
    if found is not None:
        problem = f"it is not a subclass of liuray's {base.__name__}"
    raise GraphError(
        f"dropclass {dropclass!r} is not a built-in {'app' if is_app else 'data'} class and "
        f"cannot be used ({problem}); built-in classes: {sorted(table)}",
        dropclass=dropclass,
    )
