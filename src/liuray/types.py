# SPDX-License-Identifier: LGPL-2.1-or-later
"""Type aliases shared across layers (as ``starlette.types``)."""

from __future__ import annotations

from typing import Any, TypeAlias

DropUid: TypeAlias = str
"""A drop's uid, unique within a session (DALiuGE: ``uid``, defaulting to ``oid``)."""

SessionId: TypeAlias = str
"""A session's id, unique within a manager."""

NodeName: TypeAlias = str
"""A node's canonical name (``host:port`` for REST nodes, the Ray node id on Ray)."""

DropSpec: TypeAlias = dict[str, Any]
"""One drop of a DALiuGE physical graph, as parsed from JSON."""
