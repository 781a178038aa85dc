"""Fixtures for graph tests: small physical graphs in DALiuGE's JSON shape."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def hello_specs() -> list[dict[str, Any]]:
    """hello -> greeting -> copy -> copied, with links given on the apps only."""
    memory = "dlg.data.drops.memory.InMemoryDROP"
    return [
        {
            "oid": "hello",
            "categoryType": "Application",
            "dropclass": "dlg.apps.simple.HelloWorldApp",
            "outputs": ["greeting"],
        },
        {"oid": "greeting", "categoryType": "Data", "dropclass": memory},
        {
            "oid": "copy",
            "categoryType": "Application",
            "dropclass": "dlg.apps.simple.CopyApp",
            "inputs": ["greeting"],
            "outputs": ["copied"],
        },
        {"oid": "copied", "categoryType": "Data", "dropclass": memory},
    ]
