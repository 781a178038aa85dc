"""The public surface and the layering rules."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import liuray


def test_public_surface_is_exactly_all() -> None:
    """Everything in __all__ exists, and nothing public is left out of it."""
    public = {name for name in dir(liuray) if not name.startswith("_")}  # lazy names too
    # Subpackages appear as attributes once any test imports them: not API names.
    modules = {name for name in public if isinstance(getattr(liuray, name), ModuleType)}
    assert set(liuray.__all__) - {"__version__"} == public - modules


def test_core_imports_without_optional_dependencies() -> None:
    """graph/ and engine/ must import with ray, starlette, uvicorn and httpx absent."""
    code = (
        "import sys\n"
        "for name in ('ray', 'starlette', 'uvicorn', 'httpx'):\n"
        "    sys.modules[name] = None\n"
        "import liuray, liuray.engine, liuray.graph\n"
        "print(sorted(m for m in ('ray', 'starlette', 'uvicorn', 'httpx') if sys.modules.get(m)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
