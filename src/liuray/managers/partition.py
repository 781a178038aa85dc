# SPDX-License-Identifier: LGPL-2.1-or-later
"""Splitting a physical graph by node, with the wiring for cross-node edges.

Every edge of a physical graph joins an app and a data drop, so a cross-node edge always
has a data drop ``D`` (home node ``H``) on one end. The node ``P`` on the other end gets a
*mirror* of ``D``: a copy of its spec linked only to ``P``'s own apps. Then:

* if ``P`` *writes* ``D`` (a producer lives on ``P``), the mirror is **watched**: when it
  settles, ``P`` publishes its state and content to ``H``, where ``D`` counts ``P`` as one
  external producer;
* if ``P`` only *reads* ``D``, ``H``'s ``D`` is watched and publishes to ``P``, where the
  mirror has one external producer.

Each node thus runs an ordinary, self-contained partition; the only cross-node traffic
is one message per (drop, subscriber node) carrying the final state and the content.
Known limit: a mirror that both has local producers and local consumers of a drop that
also has producers elsewhere sees only its local producers' outcome.

>>> from liuray.graph.physical import load_physical_graph
>>> pg = load_physical_graph([
...     {"oid": "a", "categoryType": "app", "dropclass": "x", "outputs": ["d"], "node": "n1"},
...     {"oid": "d", "categoryType": "data", "dropclass": "y", "node": "n2"},
... ])
>>> parts = split_graph(pg, lambda drop: drop.node or "")
>>> parts["n1"].publish_to, parts["n2"].external_producers
({'d': ['n2']}, {'d': 1})
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from liuray.graph.physical import APP_CATEGORIES, DropDescription, PhysicalGraph
from liuray.types import DropSpec, DropUid, NodeName

_DATA_LINK_KEYS = ("consumers", "streamingConsumers", "producers")


@dataclass
class Partition:
    """What one node runs: its drop specs plus the cross-node wiring."""

    node: NodeName
    specs: list[DropSpec] = field(default_factory=list)
    external_producers: dict[DropUid, int] = field(default_factory=dict)
    publish_to: dict[DropUid, list[NodeName]] = field(default_factory=dict)
    mirrors: list[DropUid] = field(default_factory=list)
    #: The validated graph itself when the partition is the whole graph (one node), so
    #: an in-process node manager need not parse and check it again.
    graph: PhysicalGraph | None = None

    @property
    def own_drops(self) -> int:
        """Number of drops homed on this node (mirrors excluded)."""
        return len(self.specs) - len(self.mirrors)


def split_graph(
    graph: PhysicalGraph, node_of: Callable[[DropDescription], NodeName]
) -> dict[NodeName, Partition]:
    """Split ``graph`` into one :class:`Partition` per node (see the module docstring)."""
    home = {drop.oid: node_of(drop) for drop in graph}
    nodes = set(home.values())
    if len(nodes) == 1:  # one node: no cross-node edge, the specs go as they are
        (node,) = nodes
        return {node: Partition(node, graph.specs(), graph=graph)}
    parts: dict[NodeName, Partition] = {}

    def part(node: NodeName) -> Partition:
        if node not in parts:
            parts[node] = Partition(node)
        return parts[node]

    for drop in graph:
        node = home[drop.oid]
        part(node).specs.append(_trimmed(drop.spec, node, home))
        if drop.is_app:
            continue
        _wire_data(drop, node, home, part)
    return parts


def _wire_data(
    drop: DropDescription,
    node: NodeName,
    home: dict[DropUid, NodeName],
    part: Callable[[NodeName], Partition],
) -> None:
    writers = {home[a] for a in drop.producers} - {node}
    readers = {home[a] for a in drop.consumers + drop.streaming_consumers} - {node} - writers
    for remote in sorted(writers | readers):
        mirror = part(remote)
        mirror.specs.append(_trimmed(drop.spec, remote, home))
        mirror.mirrors.append(drop.oid)
    for remote in sorted(writers):
        part(remote).publish_to.setdefault(drop.oid, []).append(node)
        owner = part(node).external_producers
        owner[drop.oid] = owner.get(drop.oid, 0) + 1
    for remote in sorted(readers):
        part(node).publish_to.setdefault(drop.oid, []).append(remote)
        part(remote).external_producers[drop.oid] = 1


def _trimmed(spec: DropSpec, node: NodeName, home: dict[DropUid, NodeName]) -> DropSpec:
    """A shallow copy of ``spec`` placed on ``node``.

    Apps keep all their links (each linked data drop is local or mirrored on the app's
    node); data drops keep only links to apps on ``node``.
    """
    copy = dict(spec)
    if not _is_app(spec):
        for key in _DATA_LINK_KEYS:
            entries = spec.get(key)
            if entries:
                copy[key] = [e for e in entries if home.get(_oid(e)) == node]
    copy["node"] = node
    return copy


def _is_app(spec: DropSpec) -> bool:
    return str(spec.get("categoryType") or spec.get("type") or "").lower() in APP_CATEGORIES


def _oid(entry: object) -> str:
    if isinstance(entry, dict):
        return str(next(iter(entry)))
    return str(entry)
