"""Confinement of file and directory drops (what ``liuray serve`` does by default)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from engine_helpers import BASH, PYFUNC, app, data

from liuray.engine.local import WorkerPool, run_graph
from liuray.engine.session import GraphRun
from liuray.engine.states import SessionState
from liuray.errors import GraphError
from liuray.graph.physical import load_physical_graph

FILE = "dlg.data.drops.file.FileDROP"
DIRECTORY = "dlg.data.drops.directory.DirectoryDROP"


_POOL: list[WorkerPool] = []


@pytest.fixture(autouse=True)
def pool() -> Iterator[None]:
    _POOL.append(WorkerPool(1))
    yield
    _POOL.pop().shutdown(wait=False)


def _confined(tmp_path: Path, specs: list[dict[str, object]], allowed: list[Path]) -> GraphRun:
    """A run confined to its session directory (under ``tmp_path``) and ``allowed``."""
    return GraphRun(
        load_physical_graph(specs),
        session_id="s",
        session_dir=tmp_path / "session",
        pool=_POOL[-1],
        allowed_paths=allowed,
    )


def test_a_symlink_inside_the_session_directory_does_not_lead_out(tmp_path: Path) -> None:
    """The check is on the real path: ``link/secret`` under the session directory, where
    ``link`` points outside, is refused."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "session").mkdir()
    (tmp_path / "session" / "link").symlink_to(outside)
    specs = [data("d", FILE, filepath="link/secret")]
    with pytest.raises(GraphError, match="outside the session directory"):
        _confined(tmp_path, specs, [])
    _confined(tmp_path, specs, [outside])  # allowed explicitly: accepted


@pytest.mark.parametrize(
    "fields",
    [{"filepath": "/etc/passwd"}, {"dirname": "/etc", "filepath": "x"}, {"filepath": "../x"}],
)
def test_file_drops_outside_are_refused_before_anything_runs(
    tmp_path: Path, fields: dict[str, str]
) -> None:
    specs = [data("d", FILE, **fields)]
    with pytest.raises(GraphError, match=r"drop 'd': path .* is outside"):
        _confined(tmp_path, specs, [])


def test_a_directory_drop_cannot_be_pointed_outside_by_its_producer(tmp_path: Path) -> None:
    """A DirectoryDROP's producer names the directory at run time: a path outside fails
    that write (and so the app), and nothing is created there."""
    target = tmp_path / "elsewhere"
    specs = [
        app("make", PYFUNC, func_code=f"def f():\n    return {str(target)!r}\n", outputs=["dir"]),
        data("dir", DIRECTORY, dirname=""),
    ]
    run = _confined(tmp_path, specs, [])
    run.start()
    assert run.wait(10)
    assert run.state is SessionState.FAILED
    assert "outside the session directory" in dict(run.failures())["make"]
    assert not target.exists()


def test_the_python_api_is_not_confined(tmp_path: Path) -> None:
    """``liuray.run`` runs the user's own graph: an absolute path anywhere is fine."""
    out = tmp_path / "anywhere.txt"
    specs = [
        app("w", BASH, command="echo hi > %o0", outputs=["f"]),
        data("f", FILE, filepath=str(out)),
    ]
    assert run_graph(specs, session_dir=tmp_path / "s").ok
    assert out.read_text() == "hi\n"
