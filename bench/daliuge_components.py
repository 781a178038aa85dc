# SPDX-License-Identifier: LGPL-2.1-or-later
"""List every drop class of the installed DALiuGE, for liuray's compatibility test.

Run it with the peer's interpreter (see ``bench/peer_env.py``)::

    bench/.peer-venv/bin/python bench/daliuge_components.py [--output PATH]

It writes ``tests/engine/fixtures/daliuge_components.json``, which
``tests/engine/test_components.py`` reads: every name in it must be implemented by
liuray's registry (``APPS``/``DATA``) or refused with a reason (``UNSUPPORTED``).

What counts as a name a graph may use:

* every subclass of ``AppDROP`` or ``DataDROP`` *defined* in a module of ``dlg.apps`` or
  ``dlg.data.drops`` (abstract ones included: a graph may still name them);
* the package-level re-exports (``dlg.data.drops.DirectoryDROP``...), which DALiuGE's
  own translator writes;
* the ``dropclass`` values that EAGLE palettes take from the ``@param dropclass`` lines
  of the same sources, where they name no class (``palette_only``).

Names a module merely imports from another (``dlg.apps.scp.NgasDROP``) are left out.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import pkgutil
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

DEFAULT_OUTPUT = (
    Path(__file__).resolve().parent.parent / "tests/engine/fixtures/daliuge_components.json"
)
PACKAGES = ("dlg.apps", "dlg.data.drops")
_PALETTE_CLASS = re.compile(r"@param dropclass ([\w.]+)/")


def _modules(package: ModuleType) -> list[ModuleType]:
    found = [package]
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        found.append(importlib.import_module(info.name))
    return found


def _summary(cls: type) -> str:
    doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "")
    for line in doc.splitlines():
        if line.strip():
            return line.strip()
    return ""


def collect() -> dict[str, dict[str, Any]]:
    """Every drop class name (see the module docstring) -> what the fixture records."""
    from dlg.apps.app_base import AppDROP
    from dlg.data.drops.data_base import DataDROP

    def entry(cls: type, **extra: Any) -> dict[str, Any]:
        kind = "app" if issubclass(cls, AppDROP) else "data"
        return {"kind": kind, "abstract": inspect.isabstract(cls), "doc": _summary(cls), **extra}

    classes: dict[str, dict[str, Any]] = {}
    sources: list[tuple[str, Path]] = []
    for package_name in PACKAGES:
        package = importlib.import_module(package_name)
        for module in _modules(package):
            if module.__file__:
                sources.append((package_name, Path(module.__file__)))
            for name, value in vars(module).items():
                if not (inspect.isclass(value) and issubclass(value, DataDROP)):
                    continue
                canonical = f"{value.__module__}.{value.__qualname__}"
                if value.__module__ == module.__name__:
                    classes[canonical] = entry(value)
                elif module is package:
                    classes[f"{module.__name__}.{name}"] = entry(value, alias_of=canonical)
    for package_name, path in sources:
        for name in _PALETTE_CLASS.findall(path.read_text()):
            if name not in classes:
                kind = "app" if package_name == "dlg.apps" else "data"
                classes[name] = {"kind": kind, "palette_only": True, "doc": f"named in {path.name}"}
    return dict(sorted(classes.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    from importlib.metadata import version

    fixture = {"daliuge_version": version("daliuge-engine"), "classes": collect()}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(fixture, indent=1) + "\n")
    counts = {kind: 0 for kind in ("app", "data")}
    for item in fixture["classes"].values():
        counts[item["kind"]] += 1
    print(f"{args.output}: {len(fixture['classes'])} names ({counts})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
