# SPDX-License-Identifier: LGPL-2.1-or-later
"""Constructs: how many instances each Scatter, Gather, Loop, GroupBy... makes.

State: a :class:`Layout` is built once per unrolling from the :class:`LogicalGraph` and
only memoises construct sizes afterwards; nothing else mutates it.

Each node that becomes drops is an :class:`Item`: the node and its *chain*, the ids of
the constructs around it, outermost first. A node's instances are the product of its
chain's sizes (``dop``), in that order, so an instance is an index tuple and its iid
``"0-<i>-<j>"``. The sizes follow DALiuGE (``lg_node.py``):

* **Scatter**: ``num_of_copies`` (fallbacks ``num_of_splits``, ``"Number of copies"``;
  default 4). Its embedded app runs once, outside the copies.
* **Loop**: ``num_of_iter`` (fallbacks ``"Number of Iterations"``, ``"Number of
  loops"``). It needs a child flagged ``group_start`` and one flagged ``group_end``;
  iteration ``k``'s ends feed iteration ``k + 1``'s starts.
* **Gather** (``num_of_inputs`` = width ``w``): ``ceil(n / w)`` instances where ``n`` is
  how many instances its *first* input has per instance of the gather's own context (a
  GroupBy input counts its own size). Its embedded app lives inside it.
* **GroupBy**: as many instances as the Scatter right around its (first, data) input
  has copies; the GroupBy itself becomes a SleepApp drop writing a ``grpdata`` drop.
* **SubGraph** (without applications) and **Service**: a group of one, as in DALiuGE. A
  Service's embedded app runs at the construct's level; one with nodes inside or inside
  another construct is refused (DALiuGE fails on both).
* **MKN** and a SubGraph with applications never get here: they are rewritten first.

The *group starts* of a Gather or GroupBy receive its output: its children flagged
``group_start`` (a Gather's embedded app always is), or else those no link feeds.
``loop_ctx`` is the indices of the Loops at the end of a chain, dash-joined (a construct
that is no Loop resets it), as DALiuGE computes it.

>>> from liuray.graph.logical import load_logical_graph
>>> graph = load_logical_graph({"nodeDataArray": [
...     {"id": "l", "category": "Loop", "categoryType": "Construct",
...      "fields": [{"id": "n", "name": "num_of_iter", "value": 3}]},
...     {"id": "a", "category": "PythonApp", "categoryType": "Application", "parentId": "l",
...      "fields": [{"id": "s", "name": "group_start", "value": True}]},
...     {"id": "d", "category": "Memory", "categoryType": "Data", "parentId": "l",
...      "fields": [{"id": "e", "name": "group_end", "value": "1"}]}]})
>>> layout = Layout(graph)
>>> layout.dop("l"), layout.items["a"].chain, layout.loop_ctx(("l",), (2,))
(3, ('l',), '2')
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from liuray.errors import GraphError
from liuray.graph.logical import LogicalGraph, LogicalNode

SCATTER, GATHER, LOOP, GROUP_BY = "Scatter", "Gather", "Loop", "GroupBy"
SUBGRAPH, SERVICE, MKN = "SubGraph", "Service", "MKN"
#: MKN and a SubGraph with applications are rewritten before the layout is made
#: (:mod:`~liuray.translate.mkn`, :mod:`~liuray.translate.subgraphs`).
SUPPORTED_CONSTRUCTS = (SCATTER, GATHER, LOOP, GROUP_BY, SUBGRAPH, SERVICE, MKN)
#: DALiuGE's default when a Scatter says nothing (``lg_node.py``).
DEFAULT_SCATTER_COPIES = 4
_SCATTER_KEYS = ("num_of_copies", "num_of_splits", "Number of copies")
_LOOP_KEYS = ("num_of_iter", "Number of Iterations", "Number of loops")
_NO_GROUP_KEY = (None, "", "None", "-1", -1)
#: The categoryTypes whose nodes become application drops (DALiuGE's Branch is "Control").
APPLICATION_TYPES = ("Application", "Control")
#: The categoryTypes whose nodes become drops ("Service": a Plasma store, linked as data).
DROP_TYPES = (*APPLICATION_TYPES, "Data", "Service")


@dataclass(frozen=True, slots=True)
class Item:
    """A node that becomes drops, with the constructs around it (outermost first)."""

    node: LogicalNode
    chain: tuple[str, ...]

    @property
    def is_app(self) -> bool:
        """True if its drops are applications (they write ``outputs``, not ``consumers``)."""
        return self.node.category_type in APPLICATION_TYPES or self.node.category == GROUP_BY


def flag(node: LogicalNode, *names: str) -> bool:
    """DALiuGE's reading of ``group_start``/``group_end``: True, 1, "1" or "true"."""
    for name in names:
        found = node.field(name)
        if found is None:
            continue
        value: Any = found.value
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return value == 1
        return isinstance(value, str) and value.lower() in ("true", "1")
    return False


def is_group_start(node: LogicalNode) -> bool:
    """Flagged ``group_start`` (and inside a construct)."""
    return node.parent_id is not None and flag(node, "group_start", "Group start")


def is_group_end(node: LogicalNode) -> bool:
    """Flagged ``group_end`` (and inside a construct)."""
    return node.parent_id is not None and flag(node, "group_end", "Group end")


class Layout:
    """The graph's constructs: which nodes make drops, inside what, how many times."""

    def __init__(self, graph: LogicalGraph) -> None:
        self.graph = graph
        for node in graph:
            if node.category_type == "Construct":
                _check_construct(node)
                if node.category == SERVICE and (graph.children(node.id) or node.parent_id):
                    raise GraphError(
                        f"{node.label}: a Service construct inside another construct or "
                        "with nodes inside is not supported (DALiuGE 6.6.0 fails on both); "
                        "keep it at the top level and empty"
                    )
        self.items: dict[str, Item] = {}
        for node in graph:
            item = self._item(node)
            if item is not None:
                self.items[node.id] = item
        self.fed = {link.target for link in graph.links}
        self._dops: dict[str, int] = {}
        self._computing: set[str] = set()

    def _item(self, node: LogicalNode) -> Item | None:
        chain = self.chain(node)
        if node.category == GROUP_BY:
            return Item(node, (*chain, node.id))
        if node.category_type == "Construct":
            if node.app is None or node.category not in (SCATTER, GATHER, SERVICE):
                return None  # DALiuGE embeds apps in Scatter, Gather and Service only
            inside = (node.id,) if node.category == GATHER else ()
            return Item(node.app, chain + inside)
        if node.category_type == "Control" and node.category != "Branch":
            raise GraphError(
                f"{node.label}: categoryType 'Control' is only supported for Branch nodes"
            )
        if node.category_type not in DROP_TYPES:
            raise GraphError(
                f"{node.label}: categoryType {node.category_type!r} is not supported yet "
                "(supported: Application, Data, Service, Construct, Control for a Branch)"
            )
        return Item(node, chain)

    def chain(self, node: LogicalNode) -> tuple[str, ...]:
        """The ids of the constructs around ``node``, outermost first."""
        chain: list[str] = []
        parent = node.parent_id
        while parent is not None:
            chain.append(parent)
            parent = self.graph[parent].parent_id
        return tuple(reversed(chain))

    def is_a(self, node_id: str | None, category: str) -> bool:
        """True if ``node_id`` names a construct of ``category``."""
        return node_id is not None and self.graph[node_id].category == category

    def children(self, construct_id: str) -> list[str]:
        """Ids of what is inside ``construct_id``, in file order, its embedded app last."""
        inside = [node.id for node in self.graph.children(construct_id)]
        construct = self.graph[construct_id]
        if construct.category == GATHER and construct.app is not None:
            inside.append(construct_id)
        return inside

    def group_starts(self, construct_id: str) -> list[str]:
        """Where a Gather's or GroupBy's output goes (see the module docstring)."""
        flagged = []
        unfed = []
        for child in self.children(construct_id):
            node = self.items[child].node if child in self.items else self.graph[child]
            if child == construct_id or is_group_start(node):
                flagged.append(child)
            elif child not in self.fed:
                unfed.append(child)
        return flagged or unfed

    def loop_ends(self, loop: LogicalNode) -> tuple[list[str], list[str]]:
        """A Loop's group_end and group_start children; an error if either is missing."""
        children = self.graph.children(loop.id)
        ends = [child.id for child in children if is_group_end(child)]
        starts = [child.id for child in children if is_group_start(child)]
        if not ends or not starts:
            raise GraphError(
                f"{loop.label} needs at least one child flagged group_start (where each "
                "iteration begins) and one flagged group_end (what it hands to the next); "
                f"it has {len(starts)} and {len(ends)}"
            )
        return ends, starts

    def loop_ctx(self, chain: tuple[str, ...], index: tuple[int, ...]) -> str | None:
        """DALiuGE's ``loop_ctx``: the indices of the Loops that end ``chain``."""
        context: str | None = None
        for construct, position in zip(chain, index, strict=True):
            if self.is_a(construct, LOOP):
                context = str(position) if context is None else f"{context}-{position}"
            else:
                context = None
        return context

    def dop(self, construct_id: str) -> int:
        """How many instances ``construct_id`` has per instance of its own context."""
        known = self._dops.get(construct_id)
        if known is not None:
            return known
        construct = self.graph[construct_id]
        if construct_id in self._computing:
            raise GraphError(f"{construct.label}: its size depends on itself (a link cycle)")
        self._computing.add(construct_id)
        if construct.category == SCATTER:
            dop = positive_int(construct, _SCATTER_KEYS, DEFAULT_SCATTER_COPIES)
        elif construct.category == LOOP:
            dop = positive_int(construct, _LOOP_KEYS, None)
        elif construct.category == GROUP_BY:
            dop = self.dop(self.grouped_scatter(construct))
        elif construct.category in (SUBGRAPH, SERVICE):
            dop = 1  # as DALiuGE: a group of one
        else:
            dop = self._gather(construct)
        self._computing.discard(construct_id)
        self._dops[construct_id] = dop
        return dop

    def width(self, gather: LogicalNode) -> int:
        """A Gather's ``num_of_inputs``."""
        return positive_int(gather, ("num_of_inputs",), 1)

    def first_input(self, construct: LogicalNode) -> str | None:
        """The source of the first link into ``construct`` (DALiuGE sizes by it)."""
        return next((link.source for link in self.graph.links if link.target == construct.id), None)

    def _gather(self, gather: LogicalNode) -> int:
        source = self.first_input(gather)
        if source is None:
            return 1
        source_node = self.graph[source]
        if source_node.category == GROUP_BY:
            feeding = self.dop(source)
        else:
            feeding = self.dop_diff(self.chain(gather), self.items[source].chain)
        return math.ceil(feeding / self.width(gather))

    def dop_diff(self, chain: tuple[str, ...], other: tuple[str, ...]) -> int:
        """Instances of the deeper chain per instance of the shallower one (DALiuGE's
        ``dop_diff``: the deeper chain's constructs below the shallower one's innermost)."""
        deep, shallow = (chain, other) if len(chain) > len(other) else (other, chain)
        if len(deep) == len(shallow):
            return 1
        innermost = shallow[-1] if shallow else None
        below = len(deep)
        while below > 0 and deep[below - 1] != innermost:
            below -= 1
        return math.prod(self.dop(construct) for construct in deep[below:])

    def grouped_scatter(self, group_by: LogicalNode) -> str:
        """The construct whose copies a GroupBy regroups: the one right around its input."""
        source = self.first_input(group_by)
        if source is None:
            raise GraphError(f"{group_by.label} has no input; link a data node inside a Scatter")
        node = self.graph[source]
        if node.category_type != "Data":
            raise GraphError(
                f"{group_by.label}: its input {node.label} must be a data node inside a Scatter"
            )
        chain = self.items[source].chain
        if not chain:
            raise GraphError(
                f"{group_by.label} requires at least one Scatter around its input {node.label}"
            )
        if self.is_a(chain[-1], GROUP_BY):
            raise GraphError(
                f"{group_by.label}: a GroupBy fed from another GroupBy needs a multi-key "
                "group_key, which is not supported (DALiuGE 6.6.0 fails on it too)"
            )
        key = group_by.value("group_key")
        if key not in _NO_GROUP_KEY and str(key) != chain[-1]:
            raise GraphError(
                f"{group_by.label}: group_key {key!r} is not supported; leave it empty (or "
                f"-1) to regroup by the construct around its input ({chain[-1]})"
            )
        return chain[-1]


def _check_construct(node: LogicalNode) -> None:
    if node.category not in SUPPORTED_CONSTRUCTS:
        raise GraphError(
            f"construct {node.category} is not supported yet: {node.label} "
            f"(supported constructs: {', '.join(SUPPORTED_CONSTRUCTS)})"
        )
    if node.output_app_category is not None and node.category in (SCATTER, GATHER, SERVICE):
        raise GraphError(
            f"{node.label}: an embedded output application "
            f"({node.output_app_category}) is not supported yet"
        )
    if node.category == SERVICE and node.app is None:
        raise GraphError(
            f"{node.label}: a Service construct needs an embedded application "
            "(inputApplicationType): the service it starts"
        )
    has_apps = node.app is not None or node.output_app_category is not None
    if node.category == MKN or (node.category == SUBGRAPH and has_apps):
        raise GraphError(f"{node.label}: this construct must be rewritten before unrolling")


def positive_int(node: LogicalNode, keys: Iterable[str], default: int | None) -> int:
    """The first of ``keys`` that ``node`` sets, as a positive integer (else ``default``)."""
    for key in keys:
        value = node.value(key)
        if value is None:
            continue
        try:
            number = int(float(value))
        except (TypeError, ValueError):
            raise GraphError(
                f"{node.label}: {key} must be a positive integer, got {value!r}"
            ) from None
        if number < 1 or number != float(value):
            raise GraphError(f"{node.label}: {key} must be a positive integer, got {value!r}")
        return number
    if default is None:
        raise GraphError(f"{node.label}: {' or '.join(keys)} is missing; set how many to make")
    return default
