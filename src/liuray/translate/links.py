# SPDX-License-Identifier: LGPL-2.1-or-later
"""Linking: which instances of a logical link's two ends are joined, in DALiuGE's order.

State: a :class:`Linker` holds the drop specs made by :mod:`~liuray.translate.unroll`
and appends to their link lists; it is used once, by one unrolling, in three phases:

1. :meth:`Linker.link` for every link of the graph, in the file's order;
2. :meth:`Linker.link_constructs` for the links the constructs imply, visiting the
   constructs depth first in file order: each Loop's group_end -> group_start (iteration
   ``k`` feeds ``k + 1``), each GroupBy's ``grpdata`` -> its group starts, and each
   Gather's output (its first group start);
3. :meth:`Linker.finish_gathers`: what was gathered goes to each Gather's output.

That is the order in which DALiuGE fills the lists, so each spec's ``inputs``,
``outputs``, ``producers`` and ``consumers`` come out in DALiuGE's order.

Which instances a link joins (``lg.py``'s rules, in their precedence):

* into a **Gather**: the source's instances, in order, in chunks of the gather's width:
  chunk ``i`` goes to gather instance ``i``;
* into a **GroupBy**: each source instance by its group key (its innermost index, with
  the indices of the GroupBy's own context when it is nested), keys sorted as text
  (DALiuGE's order: "10" before "2"); key ``i`` goes to GroupBy instance ``i``;
* a group_end to a group_start of the same **Loop**: iteration ``k`` to ``k + 1``;
* between two **Loops** that do not contain one another: equal ``loop_ctx``;
* ``loop_aware`` out of a Loop: only its last iteration; into a Loop: only its first;
* otherwise the instances are matched on the constructs the two ends share: one
  instance on a side is a broadcast or a fan-in, equal counts pair one to one.

An application source writes ``outputs`` (its target ``producers``), a data source
``consumers`` (its target ``inputs``); each side names its own port, and an entry
without a port is the bare oid, as DALiuGE writes it. A repeated entry is written once
(DALiuGE repeats a Loop's closing link once per enclosing copy).

>>> from liuray.translate.constructs import Layout
>>> spec = {"oid": "a"}
>>> add_edge(spec, {"oid": "d"}, "out", None, source_is_app=True)
>>> add_edge(spec, {"oid": "d"}, "out", None, source_is_app=True)
>>> spec["outputs"]
[{'d': 'out'}]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import product

from liuray.errors import GraphError
from liuray.graph.logical import LogicalLink, LogicalNode
from liuray.translate.constructs import (
    GATHER,
    GROUP_BY,
    LOOP,
    SCATTER,
    Item,
    Layout,
    is_group_end,
    is_group_start,
)
from liuray.types import DropSpec

Index = tuple[int, ...]
Instances = list[tuple[Index, DropSpec]]
_Gathered = dict[tuple[str, Index], list[tuple[DropSpec, LogicalLink]]]


def add_edge(
    source: DropSpec,
    target: DropSpec,
    source_port: str | None,
    target_port: str | None,
    *,
    source_is_app: bool,
    edges: list[tuple[DropSpec, DropSpec]] | None = None,
) -> None:
    """Record one edge on both specs, each with its own port name."""
    add_edges(
        [(source, target)], source_port, target_port, source_is_app=source_is_app, edges=edges
    )


def add_edges(
    pairs: Iterable[tuple[DropSpec, DropSpec]],
    source_port: str | None,
    target_port: str | None,
    *,
    source_is_app: bool,
    edges: list[tuple[DropSpec, DropSpec]] | None = None,
) -> None:
    """Record many edges of one logical link (the loop of :func:`add_edge`, unrolled).

    Each edge new to the source's list is also appended to ``edges``, if given.
    """
    forward, backward = ("outputs", "producers") if source_is_app else ("consumers", "inputs")
    for source, target in pairs:
        entry: object = {target["oid"]: source_port} if source_port else target["oid"]
        entries = source.get(forward)
        new = True
        if entries is None:
            source[forward] = [entry]
        elif entry not in entries:
            entries.append(entry)
        else:
            new = False
        if new and edges is not None:
            edges.append((source, target))
        entry = {source["oid"]: target_port} if target_port else source["oid"]
        entries = target.get(backward)
        if entries is None:
            target[backward] = [entry]
        elif entry not in entries:
            entries.append(entry)


def last_port(node: LogicalNode, *, output: bool) -> str | None:
    """The last output (or input) port's name: DALiuGE's port for an implied link."""
    ports = [field for field in node.fields if (field.is_output if output else field.is_input)]
    return ports[-1].name if ports else None


class Linker:
    """Joins the instances of linked nodes. Mutates the specs; one unrolling only."""

    def __init__(
        self,
        layout: Layout,
        instances: dict[str, Instances],
        group_data: dict[str, DropSpec],
    ) -> None:
        self.layout = layout
        self.graph = layout.graph
        self.instances = instances
        #: GroupBy drop oid -> the ``grpdata`` drop it writes.
        self.group_data = group_data
        self._gathered: _Gathered = {}
        #: Every edge made, (source spec, target spec), for the partitioners.
        self.edges: list[tuple[DropSpec, DropSpec]] = []
        self._gather_outputs: dict[tuple[str, Index], DropSpec] = {}

    # Phase 1 -------------------------------------------------------------------------

    def link(self, link: LogicalLink) -> None:
        """Join the instances that one logical link connects."""
        source, target = self.graph[link.source], self.graph[link.target]
        if source.category == GROUP_BY:
            if target.category != GATHER:
                raise GraphError(
                    f"the link from {source.label} goes to {target.label}; a GroupBy's output "
                    "must go to a Gather (or put that node inside the GroupBy)"
                )
            grouped = [
                (index, self.group_data[spec["oid"]]) for index, spec in self.instances[source.id]
            ]
            self._gather(grouped, target, link)
            return
        source_item = self._end(source, link, "from")
        if target.category == GATHER:
            self._into_gather(source_item, target, link)
        elif target.category == GROUP_BY:
            self._into_group_by(source_item, target, link)
        else:
            self._between(source_item, self._end(target, link, "to"), link)

    def _end(self, node: LogicalNode, link: LogicalLink, end: str) -> Item:
        item = self.layout.items.get(node.id)
        if item is None:
            what = "an embedded application" if node.category == SCATTER else "drops of its own"
            raise GraphError(
                f"a link {end} {node.label} (link {link.source} -> {link.target}): that "
                f"construct has no {what}; link a node inside it instead"
            )
        return item

    def _into_gather(self, source: Item, gather: LogicalNode, link: LogicalLink) -> None:
        if source.node.category_type != "Data":
            raise GraphError(
                f"{gather.label}: its input {source.node.label} must be a data node or a GroupBy"
            )
        if len(source.chain) < len(self.layout.chain(gather)):
            raise GraphError(f"{gather.label} is nested deeper than its input {source.node.label}")
        self._gather(self.instances[source.node.id], gather, link)

    def _gather(self, sources: Instances, gather: LogicalNode, link: LogicalLink) -> None:
        """Chunk ``i`` of the sources (``width`` of them) goes to gather instance ``i``."""
        width = self.layout.width(gather)
        targets = self.construct_instances(gather.id)
        for position, (_, spec) in enumerate(sources):
            if position // width >= len(targets):
                raise GraphError(
                    f"{gather.label}: {len(sources)} inputs from link {link.source} -> "
                    f"{link.target} need more than its {len(targets)} instances of width {width}"
                )
            self._gathered.setdefault((gather.id, targets[position // width]), []).append(
                (spec, link)
            )

    def construct_instances(self, construct_id: str) -> list[Index]:
        """The instances of a construct itself, in order."""
        node = self.graph[construct_id]
        chain = (*self.layout.chain(node), construct_id)
        return list(product(*(range(self.layout.dop(each)) for each in chain)))

    def _into_group_by(self, source: Item, group_by: LogicalNode, link: LogicalLink) -> None:
        outer = len(self.layout.chain(group_by))
        groups: dict[str, list[DropSpec]] = {}
        for _, spec in self.instances[source.node.id]:
            context = str(spec["iid"]).split("-")
            key = context[-1]
            if outer > 0 and len(source.chain) - 2 == outer:
                key = f"{'-'.join(context[:-2])}-{key}"
            groups.setdefault(key, []).append(spec)
        targets = self.instances[group_by.id]
        if len(groups) != len(targets):
            raise GraphError(
                f"{group_by.label}: its input {source.node.label} has {len(groups)} groups "
                f"but the GroupBy has {len(targets)} instances; regroup the innermost Scatter "
                "around the input"
            )
        for key, (_, target) in zip(sorted(groups), targets, strict=True):
            for spec in groups[key]:
                add_edge(
                    spec,
                    target,
                    link.source_port,
                    link.target_port,
                    source_is_app=False,
                    edges=self.edges,
                )

    def _between(self, source: Item, target: Item, link: LogicalLink) -> None:
        if not source.is_app and not target.is_app:
            raise GraphError(
                f"the link from {source.node.label} to {target.node.label} joins two data "
                "nodes; put an application between them"
            )
        add_edges(
            self.pairs(source, target, link),
            link.source_port,
            link.target_port,
            source_is_app=source.is_app,
            edges=self.edges,
        )

    def pairs(
        self, source: Item, target: Item, link: LogicalLink
    ) -> list[tuple[DropSpec, DropSpec]]:
        """Which instances of ``source`` feed which of ``target`` (module docstring)."""
        sources, targets = self.instances[source.node.id], self.instances[target.node.id]
        parent = source.chain[-1] if source.chain else None
        if (
            parent is not None
            and target.chain[-1:] == (parent,)
            and self.layout.is_a(parent, LOOP)
            and is_group_end(source.node)
            and is_group_start(target.node)
        ):
            return _next_iteration(sources, targets)
        if link.closes_loop:
            raise GraphError(
                f"the link from {source.node.label} to {target.node.label} is marked "
                "closesLoop, but it needs a group_end and a group_start in the same Loop"
            )
        related = _is_prefix(source.chain, target.chain) or _is_prefix(target.chain, source.chain)
        source_loop = bool(source.chain) and self.layout.is_a(source.chain[-1], LOOP)
        target_loop = bool(target.chain) and self.layout.is_a(target.chain[-1], LOOP)
        if source_loop and target_loop and not related:
            return [
                (s, t)
                for (_, s), (_, t) in product(sources, targets)
                if s["loop_ctx"] == t["loop_ctx"]
            ]
        if link.loop_aware and source_loop and len(source.chain) > len(target.chain):
            last = self.layout.dop(source.chain[-1]) - 1
            sources = [(index, spec) for index, spec in sources if index[-1] == last]
        elif link.loop_aware and target_loop and len(target.chain) > len(source.chain):
            targets = [(index, spec) for index, spec in targets if index[-1] == 0]
        return _matched(sources, targets, _shared(source.chain, target.chain), link, self)

    # Phase 2 -------------------------------------------------------------------------

    def link_constructs(self) -> None:
        """The links that Loops, GroupBys and Gathers imply (module docstring)."""
        for node in self.graph.children(None):
            self._visit(node)

    def _visit(self, node: LogicalNode) -> None:
        if node.category == LOOP:
            self._close_loop(node)
        elif node.category in (GATHER, GROUP_BY):
            self._feed_group_starts(node)
        for child in self.graph.children(node.id):
            self._visit(child)

    def _close_loop(self, loop: LogicalNode) -> None:
        ends, starts = self.layout.loop_ends(loop)
        for end in ends:
            for start in starts:
                source, target = self.layout.items[end], self.layout.items[start]
                pairs = _next_iteration(self.instances[end], self.instances[start])
                for source_spec, target_spec in pairs:
                    add_edge(
                        source_spec,
                        target_spec,
                        last_port(source.node, output=True),
                        last_port(target.node, output=False),
                        source_is_app=source.is_app,
                        edges=self.edges,
                    )

    def _feed_group_starts(self, construct: LogicalNode) -> None:
        starts = self.layout.group_starts(construct.id)
        own = self.construct_instances(construct.id)
        for start in starts:
            item = self.layout.items.get(start)
            if item is None or item.chain[-1:] != (construct.id,):
                raise GraphError(
                    f"{construct.label}: its first child {self.graph[start].label} is a "
                    "construct; a Gather or GroupBy must start with an application"
                )
        for start in starts[:1] if construct.category == GATHER else starts:
            targets = self.instances[start]
            if construct.category == GATHER:
                for index, (_, spec) in zip(own, targets, strict=True):
                    self._gather_outputs.setdefault((construct.id, index), spec)
                continue
            port = last_port(construct, output=True)
            for (_, group), (_, spec) in zip(self.instances[construct.id], targets, strict=True):
                add_edge(
                    self.group_data[group["oid"]],
                    spec,
                    port,
                    last_port(self.layout.items[start].node, output=False),
                    source_is_app=False,
                    edges=self.edges,
                )

    # Phase 3 -------------------------------------------------------------------------

    def finish_gathers(self) -> None:
        """Each gathered input goes to its Gather instance's output."""
        for key, inputs in self._gathered.items():
            output = self._gather_outputs.get(key)
            if output is None:
                continue
            for spec, link in inputs:
                add_edge(
                    spec,
                    output,
                    link.source_port,
                    link.target_port,
                    source_is_app=False,
                    edges=self.edges,
                )


def _next_iteration(sources: Instances, targets: Instances) -> list[tuple[DropSpec, DropSpec]]:
    """Iteration ``k``'s source feeds iteration ``k + 1``'s target (same outer copy)."""
    by_index = {index: spec for index, spec in targets}
    return [
        (spec, by_index[(*index[:-1], index[-1] + 1)])
        for index, spec in sources
        if (*index[:-1], index[-1] + 1) in by_index
    ]


def _is_prefix(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    return long[: len(short)] == short


def _shared(left: tuple[str, ...], right: tuple[str, ...]) -> int:
    size = 0
    while size < min(len(left), len(right)) and left[size] == right[size]:
        size += 1
    return size


def _matched(
    sources: Instances, targets: Instances, depth: int, link: LogicalLink, linker: Linker
) -> list[tuple[DropSpec, DropSpec]]:
    """Pairs within each copy of the shared constructs: broadcast, fan-in or one to one."""
    if len(sources) == len(targets) and all(
        len(index) == depth for made in (sources[:1], targets[:1]) for index, _ in made
    ):
        # Both ends inside exactly the shared constructs (a Scatter's app and its
        # output): instance i pairs with instance i, both made in the same order.
        return [(source, target) for (_, source), (_, target) in zip(sources, targets, strict=True)]
    grouped: dict[Index, tuple[list[DropSpec], list[DropSpec]]] = {}
    for side, made in enumerate((sources, targets)):
        for index, spec in made:
            grouped.setdefault(index[:depth], ([], []))[side].append(spec)
    pairs: list[tuple[DropSpec, DropSpec]] = []
    for left, right in grouped.values():
        pairs += _pair_up(left, right, link, linker)
    return pairs


def _pair_up(
    sources: Sequence[DropSpec], targets: Sequence[DropSpec], link: LogicalLink, linker: Linker
) -> list[tuple[DropSpec, DropSpec]]:
    if not sources or not targets:
        return []
    if len(sources) == 1 or len(targets) == 1 or len(sources) == len(targets):
        if len(sources) == len(targets):
            return list(zip(sources, targets, strict=True))
        return [(source, target) for source in sources for target in targets]
    graph = linker.graph
    raise GraphError(
        f"cannot link {graph[link.source].label} ({len(sources)} instances) to "
        f"{graph[link.target].label} ({len(targets)} instances): the counts differ and "
        "no Gather groups them; put a Gather between them or make the counts equal"
    )
