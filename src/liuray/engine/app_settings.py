# SPDX-License-Identifier: LGPL-2.1-or-later
"""What an app's spec sets for the engine rather than for the app itself.

Firing and release rules (``input_error_threshold``, ``n_tries``, ``block_skip``,
``persist``, ``expireAfterUse``) and time limits (``timeout``, ``retry_delay``) may sit at
the top level of a spec or in its EAGLE component/constraint parameter groups. A spec
with none of :data:`TUNING_KEYS` takes every default, which is how the session builds a
million plain drops without reading any of them (:mod:`liuray.engine.session`).

>>> setting({"componentParams": {"timeout": {"value": 5}}}, "timeout")
5
>>> firing_parameters("a", {"n_tries": "3"})
(0, 3)
"""

from __future__ import annotations

from liuray.engine.params import as_int, param
from liuray.errors import GraphError
from liuray.types import DropSpec, DropUid

#: The longest wait between two attempts of an app, however many it has (seconds).
MAX_RETRY_DELAY = 600.0

#: Spec keys that can change firing or release rules; specs without any take the defaults.
TUNING_KEYS = frozenset(
    {
        "input_error_threshold",
        "n_tries",
        "timeout",
        "retry_delay",
        "block_skip",
        "persist",
        "expireAfterUse",
        "applicationArgs",
        "componentParams",
        "constraintParams",
    }
)


def setting(spec: DropSpec, name: str) -> object:
    """An engine setting of an app: a top-level key or a component/constraint parameter,
    never an application argument (those belong to the app: a function may well have
    its own ``timeout`` argument)."""
    value = spec.get(name)
    if value is not None and value != "":
        return value
    for group in ("componentParams", "constraintParams"):
        fields = spec.get(group)
        field = fields.get(name) if isinstance(fields, dict) else None
        if isinstance(field, dict) and field.get("value") not in (None, ""):
            return field["value"]
    return None


def firing_parameters(oid: DropUid, spec: DropSpec) -> tuple[int, int]:
    """An app's ``input_error_threshold`` (0-100) and ``n_tries`` (>= 1), validated."""
    try:
        threshold = as_int(param(spec, "input_error_threshold"), "input_error_threshold", 0)
        tries = as_int(param(spec, "n_tries"), "n_tries", 1)
    except ValueError as err:
        raise GraphError(f"drop {oid!r}: {err}", uid=oid) from None
    if not 0 <= threshold <= 100:
        raise GraphError(
            f"drop {oid!r}: parameter 'input_error_threshold' must be a percentage "
            f"between 0 and 100, got {threshold}",
            uid=oid,
        )
    if tries < 1:
        raise GraphError(
            f"drop {oid!r}: parameter 'n_tries' must be at least 1 (the number of "
            f"attempts), got {tries}",
            uid=oid,
        )
    return threshold, tries
