"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _liuray_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every test's sessions under its own temporary directory."""
    home = tmp_path / "liuray-home"
    monkeypatch.setenv("LIURAY_HOME", str(home))
    return home
