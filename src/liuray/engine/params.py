# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reading parameters out of DALiuGE drop specs.

DALiuGE keeps a drop's parameters in two places: as top-level keys of the spec and as
``{"value": ...}`` entries of ``applicationArgs`` / ``componentParams`` (the EAGLE
fields). :func:`param` looks in that order and treats ``None`` and ``""`` as unset, which
is how EAGLE writes a field nobody filled in.
"""

from __future__ import annotations

from typing import Any

from liuray.types import DropSpec

_FIELD_GROUPS = ("applicationArgs", "componentParams", "constraintParams")
_MISSING: Any = object()


def param(spec: DropSpec, name: str, default: Any = None) -> Any:
    """The value of parameter ``name`` in ``spec``, or ``default`` if unset."""
    value = spec.get(name, _MISSING)
    if value is not _MISSING and value is not None and value != "":
        return value
    for group in _FIELD_GROUPS:
        fields = spec.get(group)
        if isinstance(fields, dict):
            field = fields.get(name)
            if isinstance(field, dict):
                value = field.get("value")
                if value is not None and value != "":
                    return value
    return default


def as_int(value: Any, name: str, default: int) -> int:
    """Coerce a parameter to int (EAGLE often writes numbers as strings)."""
    if value is None or value == "":
        return default
    try:
        return int(float(value))
    except (TypeError, ValueError):
        raise ValueError(f"parameter {name!r} must be an integer, got {value!r}") from None


def as_float(value: Any, name: str, default: float) -> float:
    """Coerce a parameter to float."""
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"parameter {name!r} must be a number, got {value!r}") from None


def as_bool(value: Any, default: bool = False) -> bool:
    """Coerce a parameter to bool (``"1"``, ``"true"``, ``True``... are true)."""
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)
