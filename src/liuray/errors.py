# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every error liuray raises on purpose.

The tree (each message says what failed, on which object, what was expected and what
to do next)::

    LiurayError
    ├── GraphError            a graph is malformed (unknown class, dangling link, cycle...)
    ├── InvalidTransition     a drop/app/session was asked to make an illegal state change
    ├── DropExecutionError    an app raised, or a bash command exited non-zero
    ├── SessionNotFound       no session with that id
    ├── SessionExists         a session with that id already exists
    ├── InvalidSessionState   the session is not in a state that allows the request
    ├── InvalidRequest        a request is malformed (bad session id, bad parameter...)
    ├── NodeNotFound          a graph or request names a node that is not registered
    ├── TransportError        a node manager could not be reached / answered badly
    ├── DeployError           a cluster could not be brought up or scaled
    └── MissingDependency     an optional extra is not installed (also an ImportError)

Structured fields (uid, session id, state...) are passed to ``__init__`` and kept in
``args`` so that errors survive pickling across processes and Ray.
"""

from __future__ import annotations

from typing import Any


class LiurayError(Exception):
    """Root of liuray's errors; ``detail`` carries structured, JSON-able context."""

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message, detail)
        self.message = message
        self.detail = detail

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.detail))

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type[LiurayError], message: str, detail: dict[str, Any]) -> LiurayError:
    return cls(message, **detail)


class GraphError(LiurayError):
    """A graph (physical or logical) is malformed; the message names the drop."""


class InvalidTransition(LiurayError):
    """An illegal state change was requested; the message lists the legal ones."""


class DropExecutionError(LiurayError):
    """An application failed while running."""


class SessionNotFound(LiurayError):
    """No session with the given id exists."""


class DropNotFound(LiurayError):
    """A session has no drop by that oid (REST: 404, DALiuGE's NoDropException)."""


class SessionExists(LiurayError):
    """A session with the given id already exists."""


class InvalidSessionState(LiurayError):
    """The session's state does not allow the request (e.g. appending after deploy)."""


class InvalidRequest(LiurayError):
    """A request is malformed; the message says what would be valid."""


class NodeNotFound(LiurayError):
    """A node named by a graph or a request is not registered."""


class TransportError(LiurayError):
    """A node manager could not be reached, or answered with an error."""


class DeployError(LiurayError):
    """A cluster could not be brought up, scaled or reached."""


class MissingDependency(LiurayError, ImportError):
    """An optional dependency is missing; the message says which extra to install.

    It is also an :class:`ImportError`, so ``except ImportError`` around an optional
    import catches it; like any ``ImportError`` its ``name`` is the missing ``module``.
    """

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message, **detail)
        module = detail.get("module")
        self.name = module if isinstance(module, str) else None


#: The extra that brings each optional top-level module: module -> (distribution, extra).
OPTIONAL_MODULES: dict[str, tuple[str, str]] = {
    "starlette": ("starlette", "server"),
    "uvicorn": ("uvicorn", "server"),
    "multipart": ("python-multipart", "server"),
    "python_multipart": ("python-multipart", "server"),
    "httpx": ("httpx", "client"),
    "ray": ("ray", "ray"),
    "yaml": ("pyyaml", "ray"),
    "numpy": ("numpy", "apps"),
}


def missing_extra(module: str, extra: str) -> MissingDependency:
    """Build the error for an optional module that failed to import."""
    return MissingDependency(
        f"{module!r} is not installed; install it with: pip install 'liuray[{extra}]'",
        module=module,
        extra=extra,
    )


def as_missing_dependency(error: ImportError) -> MissingDependency | None:
    """``error`` as the :class:`MissingDependency` it stands for, or None.

    A :class:`MissingDependency` is returned as it is; a plain ``ImportError`` of an
    optional module (one of :data:`OPTIONAL_MODULES`, or a submodule) becomes the error
    naming its extra; any other ``ImportError`` (a bug, a graph's own code) gives None.

    >>> print(as_missing_dependency(ModuleNotFoundError(name="starlette.routing")))
    'starlette' is not installed; install it with: pip install 'liuray[server]'
    >>> as_missing_dependency(ModuleNotFoundError(name="my_pipeline")) is None
    True
    """
    if isinstance(error, MissingDependency):
        return error
    known = OPTIONAL_MODULES.get((error.name or "").partition(".")[0])
    if known is None:
        return None
    distribution, extra = known
    missing = missing_extra(distribution, extra)
    missing.__cause__ = error
    return missing
