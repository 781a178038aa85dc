# SPDX-License-Identifier: LGPL-2.1-or-later
"""Graph model and formats: pure data, JSON in and out, no execution."""

from liuray.graph.physical import (
    DropDescription,
    PhysicalGraph,
    load_physical_graph,
    read_physical_graph,
)

__all__ = ["DropDescription", "PhysicalGraph", "load_physical_graph", "read_physical_graph"]
