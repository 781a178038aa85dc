# SPDX-License-Identifier: LGPL-2.1-or-later
"""Unrolling: a logical graph becomes a physical graph template (a list of drop specs).

State: none kept; :func:`unroll` is a pure function of the :class:`LogicalGraph`.

Every application and data node becomes one drop spec per *instance*. A node's
instances come from the constructs around it (its ``parentId`` chain, outermost
first): each construct repeats what is inside it ``dop`` times, so a node inside a
Scatter of 4 has 4 instances, one inside a Scatter of 3 inside a Scatter of 4 has 12.
Instances are named as DALiuGE names them: ``iid`` is ``"0"`` at the top level and
gains ``-<index>`` per construct (``"0-2"``, ``"0-1-0"``), the oid is
``{prefix}_{node id}_{iid}`` and ``rank`` is the iid as integers.

Constructs (``daliuge.md`` section 2.1):

* **Scatter** (``num_of_copies``; DALiuGE's fallbacks ``num_of_splits`` and
  ``"Number of copies"``; default 4 as in DALiuGE): its embedded app runs once, *outside*
  the copies (so it feeds every copy), with the construct's id as its node id.
* **Gather** (``num_of_inputs`` = width ``w``): its embedded app lives *inside* the
  gather, which has ``ceil(n / w)`` instances when ``n`` instances feed it; instance
  ``a`` of the source feeds gather instance ``a // w``. Other children of the gather are
  repeated with it.
* Loop, GroupBy, MKN, SubGraph, Service, ... raise a :class:`GraphError` naming the
  node ("not supported yet"). Branch *apps* are ordinary apps with two outputs.

Links: the two ends' instances are matched on the constructs they share (same copy of
an enclosing Scatter). Below that, one instance on either side means broadcast (a
Scatter's app feeds all copies) or fan-in (all copies feed one node); a Gather groups
its sources by ``w``; equal counts pair one to one; anything else is an error. Each end
records the link with *its own* port name, as DALiuGE does: an app's ``outputs`` /
``inputs`` and a data drop's ``producers`` / ``consumers`` are ``{other_oid: port}``.

Specs carry ``oid``, ``name``, ``categoryType``, ``category``, ``dropclass``,
``storage``, ``iid``, ``rank``, ``lg_key``, ``loop_ctx``, every non-port field copied
top-level by name, and the raw fields grouped by ``parameterType`` in
``applicationArgs``, ``componentParams`` and ``constraintParams``.

>>> from liuray.graph.logical import load_logical_graph
>>> graph = load_logical_graph({"nodeDataArray": [
...     {"id": "s", "name": "scatter", "category": "Scatter", "categoryType": "Construct",
...      "fields": [{"id": "n", "name": "num_of_copies", "value": 2}]},
...     {"id": "d", "name": "part", "category": "Memory", "categoryType": "Data",
...      "parentId": "s", "fields": []}], "linkDataArray": []})
>>> [spec["oid"] for spec in unroll(graph, "p")]
['p_d_0-0', 'p_d_0-1']
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import product
from typing import Any

from liuray.errors import GraphError
from liuray.graph.logical import LogicalGraph, LogicalLink, LogicalNode
from liuray.types import DropSpec

SUPPORTED_CONSTRUCTS = ("Scatter", "Gather")
DEFAULT_OID_PREFIX = "1"
#: DALiuGE's default when a Scatter says nothing (``lg_node.py``).
DEFAULT_SCATTER_COPIES = 4
_SCATTER_KEYS = ("num_of_copies", "num_of_splits", "Number of copies")
_FIELD_GROUPS = {
    "ApplicationArgument": "applicationArgs",
    "ComponentParameter": "componentParams",
    "ConstraintParameter": "constraintParams",
}
_RESERVED = frozenset({"oid", "name", "categoryType", "category", "iid", "rank", "lg_key"})

Index = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Item:
    """A node that becomes drops, with the constructs around it (outermost first)."""

    node: LogicalNode
    chain: tuple[str, ...]


def unroll(graph: LogicalGraph, oid_prefix: str = DEFAULT_OID_PREFIX) -> list[DropSpec]:
    """Expand ``graph`` into DALiuGE drop specs (a physical graph template).

    Args:
        graph: a parsed logical graph.
        oid_prefix: the first part of every oid (DALiuGE's ``dlg unroll`` uses ``"1"``).

    Raises:
        GraphError: an unsupported construct or category, a bad construct parameter, or
            a link whose two ends cannot be matched; the message names the node.
    """
    items = _items(graph)
    dops = _Dops(graph, items)
    for node in graph:
        if node.category_type == "Construct":
            dops.of(node.id)  # check every construct's parameters, even an empty one
    instances: dict[str, list[tuple[Index, DropSpec]]] = {}
    specs: list[DropSpec] = []
    for item in items.values():
        counts = [range(dops.of(construct)) for construct in item.chain]
        made = []
        for index in product(*counts):
            spec = _spec(item.node, index, oid_prefix)
            made.append((index, spec))
            specs.append(spec)
        instances[item.node.id] = made
    for link in graph.links:
        _connect(graph, link, items, instances, dops)
    return specs


def _items(graph: LogicalGraph) -> dict[str, _Item]:
    for node in graph:
        if node.category_type == "Construct":
            _check_construct(node)
    items: dict[str, _Item] = {}
    for node in graph:
        chain = _chain(graph, node)
        if node.category_type == "Construct":
            if node.app is not None:
                inside = (node.id,) if node.category == "Gather" else ()
                items[node.id] = _Item(node.app, chain + inside)
        elif node.category_type in ("Application", "Data"):
            if node.category == "GlobalVariable":
                raise GraphError(f"{node.label}: global variables are not supported yet")
            items[node.id] = _Item(node, chain)
        else:
            raise GraphError(
                f"{node.label}: categoryType {node.category_type!r} is not supported yet "
                "(supported: Application, Data, Construct with Scatter or Gather)"
            )
    return items


def _check_construct(node: LogicalNode) -> None:
    if node.category not in SUPPORTED_CONSTRUCTS:
        raise GraphError(
            f"construct {node.category} is not supported yet: {node.label} "
            f"(supported constructs: {', '.join(SUPPORTED_CONSTRUCTS)})"
        )
    if node.output_app_category is not None:
        raise GraphError(
            f"{node.label}: an embedded output application "
            f"({node.output_app_category}) is not supported yet"
        )


def _chain(graph: LogicalGraph, node: LogicalNode) -> tuple[str, ...]:
    chain: list[str] = []
    parent = node.parent_id
    while parent is not None:
        chain.append(parent)
        parent = graph[parent].parent_id
    return tuple(reversed(chain))


class _Dops:
    """How many instances each construct has (memoised; gathers depend on their inputs)."""

    def __init__(self, graph: LogicalGraph, items: Mapping[str, _Item]) -> None:
        self._graph = graph
        self._items = items
        self._known: dict[str, int] = {}
        self._computing: set[str] = set()

    def of(self, construct_id: str) -> int:
        known = self._known.get(construct_id)
        if known is not None:
            return known
        construct = self._graph[construct_id]
        if construct_id in self._computing:
            raise GraphError(f"{construct.label}: its size depends on itself (a link cycle)")
        self._computing.add(construct_id)
        if construct.category == "Scatter":
            dop = self._scatter(construct)
        else:
            dop = self._gather(construct)
        self._computing.discard(construct_id)
        self._known[construct_id] = dop
        return dop

    def width(self, gather: LogicalNode) -> int:
        return _positive_int(gather, ("num_of_inputs",), default=1)

    def _scatter(self, scatter: LogicalNode) -> int:
        return _positive_int(scatter, _SCATTER_KEYS, default=DEFAULT_SCATTER_COPIES)

    def _gather(self, gather: LogicalNode) -> int:
        """``ceil(n / width)`` for the largest number ``n`` of instances feeding it."""
        width = self.width(gather)
        inside = self._items[gather.id].chain if gather.id in self._items else ()
        outer = inside[:-1]
        dop = 1
        for link in self._graph.links:
            source = self._items.get(link.source)
            if link.target != gather.id or source is None or gather.id in source.chain:
                continue
            source_chain = source.chain
            if source_chain[: len(outer)] != outer:
                continue  # fed from outside the gather's context: a broadcast input
            feeding = math.prod(self.of(c) for c in source_chain[len(outer) :])
            dop = max(dop, math.ceil(feeding / width))
        return dop


def _positive_int(node: LogicalNode, keys: Iterable[str], default: int) -> int:
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
    return default


def _spec(node: LogicalNode, index: Index, oid_prefix: str) -> DropSpec:
    iid = "-".join(["0", *map(str, index)])
    spec: DropSpec = {}
    groups: dict[str, dict[str, Any]] = {}
    for field in node.fields:
        if not field.is_port and field.name not in _RESERVED:
            spec.setdefault(field.name, field.value)
        group = _FIELD_GROUPS.get(field.parameter_type)
        if group is not None:
            groups.setdefault(group, {})[field.name] = {**field.raw, "value": field.value}
    spec.update(
        oid=f"{oid_prefix}_{node.id}_{iid}",
        name=node.name,
        categoryType=node.category_type,
        category=node.category,
        storage=node.category,
        iid=iid,
        rank=[0, *index],
        lg_key=node.id,
        loop_ctx=None,
    )
    spec.update(groups)
    return spec


def _connect(
    graph: LogicalGraph,
    link: LogicalLink,
    items: Mapping[str, _Item],
    instances: Mapping[str, list[tuple[Index, DropSpec]]],
    dops: _Dops,
) -> None:
    source, target = _end(graph, items, link.source), _end(graph, items, link.target)
    source_is_app = source.node.category_type == "Application"
    if source_is_app == (target.node.category_type == "Application"):
        kind = "applications" if source_is_app else "data nodes"
        raise GraphError(
            f"the link from {source.node.label} to {target.node.label} joins two {kind}; "
            "every link must join an application and a data node"
        )
    shared = _common_prefix(source.chain, target.chain)
    targets = _grouped(instances[link.target], len(shared))
    gather = _gather_below(graph, target.chain, len(shared))
    for key, group in _grouped(instances[link.source], len(shared)).items():
        pairs = _pairs(group, targets[key], gather, len(shared), dops, link, graph)
        for source_spec, target_spec in pairs:
            _add_edge(source_spec, target_spec, link, source_is_app)


def _end(graph: LogicalGraph, items: Mapping[str, _Item], node_id: str) -> _Item:
    item = items.get(node_id)
    if item is None:
        raise GraphError(
            f"{graph[node_id].label} has links but no embedded application to attach them to"
        )
    return item


def _common_prefix(left: tuple[str, ...], right: tuple[str, ...]) -> tuple[str, ...]:
    size = 0
    while size < min(len(left), len(right)) and left[size] == right[size]:
        size += 1
    return left[:size]


def _grouped(
    made: list[tuple[Index, DropSpec]], depth: int
) -> dict[Index, list[tuple[Index, DropSpec]]]:
    groups: dict[Index, list[tuple[Index, DropSpec]]] = {}
    for index, spec in made:
        groups.setdefault(index[:depth], []).append((index, spec))
    return groups


def _gather_below(graph: LogicalGraph, chain: tuple[str, ...], depth: int) -> LogicalNode | None:
    if len(chain) > depth and graph[chain[depth]].category == "Gather":
        return graph[chain[depth]]
    return None


def _pairs(
    sources: list[tuple[Index, DropSpec]],
    targets: list[tuple[Index, DropSpec]],
    gather: LogicalNode | None,
    depth: int,
    dops: _Dops,
    link: LogicalLink,
    graph: LogicalGraph,
) -> list[tuple[DropSpec, DropSpec]]:
    if gather is not None and len(sources) > 1:
        width = dops.width(gather)
        return [
            (source, target)
            for position, (_, source) in enumerate(sources)
            for index, target in targets
            if index[depth] == position // width
        ]
    if len(sources) == 1 or len(targets) == 1:
        return [(source, target) for _, source in sources for _, target in targets]
    if len(sources) == len(targets):
        return [(source, target) for (_, source), (_, target) in zip(sources, targets, strict=True)]
    raise GraphError(
        f"cannot link {graph[link.source].label} ({len(sources)} instances) to "
        f"{graph[link.target].label} ({len(targets)} instances): the counts differ and "
        "no Gather groups them; put a Gather between them or make the counts equal"
    )


def _add_edge(source: DropSpec, target: DropSpec, link: LogicalLink, source_is_app: bool) -> None:
    forward, backward = ("outputs", "producers") if source_is_app else ("consumers", "inputs")
    source.setdefault(forward, []).append({target["oid"]: link.source_port})
    target.setdefault(backward, []).append({source["oid"]: link.target_port})
