"""The examples in module docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import liuray
from liuray.errors import as_missing_dependency

MODULES = sorted(info.name for info in pkgutil.walk_packages(liuray.__path__, prefix="liuray."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str, tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every example in the module's docstrings passes (modules without any pass too)."""
    monkeypatch.chdir(str(tmp_path))
    try:
        module = importlib.import_module(name)
    except ImportError as err:  # only an optional extra's absence is a reason to skip
        missing = as_missing_dependency(err)
        if missing is None:
            raise
        pytest.skip(f"{name}: {missing.message}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"


def test_the_design_notes_carry_examples() -> None:
    """The engine, graph and manager modules document themselves with runnable examples
    (so the parametrised test above is not vacuous)."""
    attempted = {
        name: doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS).attempted
        for name in (
            "liuray.engine.machine",
            "liuray.engine.states",
            "liuray.graph.physical",
            "liuray.managers.partition",
            "liuray.managers.placement",
        )
    }
    assert all(count > 0 for count in attempted.values()), attempted
