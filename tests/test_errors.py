"""liuray's errors: MissingDependency is both a LiurayError and an ImportError."""

from __future__ import annotations

import pickle

import pytest

from liuray.errors import (
    OPTIONAL_MODULES,
    LiurayError,
    MissingDependency,
    as_missing_dependency,
    missing_extra,
)


def test_missing_dependency_is_a_liuray_error_and_an_import_error() -> None:
    """``except ImportError`` around an optional import catches it, and so does
    ``except LiurayError``; LiurayError comes first, so its pickling and ``str`` apply."""
    error = missing_extra("ray", "ray")
    assert isinstance(error, LiurayError)
    assert isinstance(error, ImportError)
    assert MissingDependency.__bases__[0] is LiurayError
    with pytest.raises(ImportError):
        raise error


def test_missing_dependency_names_the_pip_install_command() -> None:
    """The message says what to run; the structured fields say which module and extra."""
    error = missing_extra("starlette", "server")
    assert str(error) == (
        "'starlette' is not installed; install it with: pip install 'liuray[server]'"
    )
    assert error.detail == {"module": "starlette", "extra": "server"}
    assert error.name == "starlette"


def test_missing_dependency_pickles_round_trip() -> None:
    """It crosses processes (and Ray) with its class, message and fields intact."""
    error = missing_extra("httpx", "client")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is MissingDependency
    assert isinstance(copy, ImportError)
    assert copy.message == error.message
    assert "pip install 'liuray[client]'" in str(copy)
    assert copy.detail == error.detail
    assert copy.name == "httpx"


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("starlette.routing", "pip install 'liuray[server]'"),
        ("uvicorn", "pip install 'liuray[server]'"),
        ("httpx", "pip install 'liuray[client]'"),
        ("ray.util", "pip install 'liuray[ray]'"),
        ("yaml", "pip install 'liuray[ray]'"),
        ("numpy", "pip install 'liuray[apps]'"),
    ],
)
def test_import_error_of_an_optional_module_names_its_extra(module: str, expected: str) -> None:
    """A plain ImportError of an optional module (or a submodule) maps to its extra."""
    missing = as_missing_dependency(ModuleNotFoundError(f"No module named {module!r}", name=module))
    assert missing is not None
    assert expected in missing.message
    assert module.partition(".")[0] in OPTIONAL_MODULES


def test_other_import_errors_are_not_missing_extras() -> None:
    """An ImportError of anything else (a bug, a graph's own code) is not disguised."""
    assert as_missing_dependency(ModuleNotFoundError("no", name="my_pipeline")) is None
    assert as_missing_dependency(ImportError("cannot import name 'x'")) is None
    error = missing_extra("numpy", "apps")
    assert as_missing_dependency(error) is error
