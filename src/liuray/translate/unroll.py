# SPDX-License-Identifier: LGPL-2.1-or-later
"""Unrolling: a logical graph becomes a physical graph template (a list of drop specs).

State: none kept; :func:`unroll` is a pure function of the :class:`LogicalGraph`.

Every application and data node becomes one drop spec per *instance*. A node's
instances come from the constructs around it (its ``parentId`` chain, outermost
first): each construct repeats what is inside it ``dop`` times, so a node inside a
Scatter of 4 has 4 instances, one inside a Loop of 3 inside a Scatter of 4 has 12.
Instances are named as DALiuGE names them: ``iid`` is ``"0"`` at the top level and
gains ``-<index>`` per construct (``"0-2"``, ``"0-1-0"``), the oid is
``{prefix}_{node id}_{iid}``, ``rank`` is the iid as integers and ``loop_ctx`` the
indices of the Loops right around the node (``"2"``, ``"1-0"``; None outside a Loop).

Constructs and their sizes are :mod:`~liuray.translate.constructs` (Scatter, Gather,
Loop, GroupBy; ``daliuge.md`` section 2.1); which instances a link joins, and in which
order the link lists are written, is :mod:`~liuray.translate.links`. A GroupBy becomes,
per instance, DALiuGE's barrier: a ``SleepApp`` drop (category ``GroupBy``) writing a
``<oid>-grp-data`` memory drop that its group starts read. Before the layout is made, a
SubGraph with applications becomes one SubGraph app (:mod:`~liuray.translate.subgraphs`)
and an MKN a Gather, Scatter, Gather and Scatter (:mod:`~liuray.translate.mkn`). An
unknown construct or categoryType raises a :class:`GraphError` naming the node.

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

from array import array
from collections.abc import Iterator
from itertools import product
from math import prod
from typing import Any

from liuray import _gc
from liuray.errors import GraphError
from liuray.graph.logical import LogicalGraph, LogicalNode
from liuray.translate.constructs import (
    DEFAULT_SCATTER_COPIES,
    GROUP_BY,
    LOOP,
    SUPPORTED_CONSTRUCTS,
    Item,
    Layout,
)
from liuray.translate.drop_graph import (
    BACKWARD_KEYS,
    FORWARD_KEYS,
    DropGraph,
    drop_graph,
    drop_weights,
    linked_graph,
)
from liuray.translate.links import Index, Instances, Linker
from liuray.translate.mkn import convert_mkn
from liuray.translate.mpi import MPI, convert_mpi
from liuray.translate.subgraphs import convert_subgraphs
from liuray.types import DropSpec

__all__ = ["DEFAULT_OID_PREFIX", "DEFAULT_SCATTER_COPIES", "SUPPORTED_CONSTRUCTS", "unroll"]

DEFAULT_OID_PREFIX = "1"
#: What DALiuGE makes of a GroupBy: a barrier app and the memory drop it fills.
GROUP_BY_APP = "dlg.apps.simple.SleepApp"
GROUP_DATA = "dlg.data.drops.memory.InMemoryDROP"
_FIELD_GROUPS = {
    "ApplicationArgument": "applicationArgs",
    "ComponentParameter": "componentParams",
    "ConstraintParameter": "constraintParams",
}
#: DALiuGE's dropclass for a node that names none (``lg_node.py``), by category.
_DEFAULT_DATA_CLASSES = {
    "File": "dlg.data.drops.file.FileDROP",
    "Memory": "dlg.data.drops.memory.InMemoryDROP",
    "SharedMemory": "dlg.data.drops.memory.SharedMemoryDROP",
    "S3": "dlg.data.drops.s3_drop.S3DROP",
    "NGAS": "dlg.data.drops.ngas.NgasDROP",
}
_DEFAULT_APP_CLASSES = {
    "BashShellApp": "dlg.apps.bash_shell_app.BashShellApp",
    "Docker": "dlg.apps.dockerapp.DockerApp",
    GROUP_BY: GROUP_BY_APP,
}
_RESERVED = frozenset({"oid", "name", "categoryType", "category", "iid", "rank", "lg_key"})
#: Link lists: every instance needs its own (the linker appends to them).
_LINK_KEYS = (*BACKWARD_KEYS, *FORWARD_KEYS)


def _check_size(layout: Layout, max_drops: int) -> None:
    """Refuse a graph that would unroll to more than ``max_drops`` drops (counted from
    the construct sizes, before anything is made)."""
    total = 0
    for item in layout.items.values():
        count = prod(layout.dop(each) for each in item.chain)
        total += count * (2 if item.node.category == GROUP_BY else 1)
        if total > max_drops:
            raise GraphError(
                f"the graph unrolls to more than {max_drops:,} drops (node "
                f"{item.node.name!r} alone makes {count:,}); this server translates at "
                f"most {max_drops:,}: use liuray translate locally, or smaller constructs",
                node=item.node.id,
            )


def unroll(
    graph: LogicalGraph, oid_prefix: str = DEFAULT_OID_PREFIX, max_drops: int | None = None
) -> list[DropSpec]:
    """Expand ``graph`` into DALiuGE drop specs (a physical graph template).

    Args:
        graph: a parsed logical graph.
        oid_prefix: the first part of every oid (DALiuGE's ``dlg unroll`` uses ``"1"``).
        max_drops: refuse, before making anything, a graph that would unroll to more
            drops (a server's guard against a 10**7-way Scatter; None: no limit).

    Raises:
        GraphError: an unsupported construct or category, a bad construct parameter, a
            link whose two ends cannot be matched, or more than ``max_drops`` drops;
            the message names the node.
    """
    return unroll_with_graph(graph, oid_prefix, max_drops)[0]


def unroll_with_graph(
    graph: LogicalGraph, oid_prefix: str = DEFAULT_OID_PREFIX, max_drops: int | None = None
) -> tuple[list[DropSpec], DropGraph]:
    """:func:`unroll`, and the :class:`DropGraph` of the result for the partitioners.

    The drop graph is kept while the specs are made (weights per logical node, edges as
    the linker writes them), which costs a fraction of reading it back from a million
    specs scattered over a gigabyte of memory.
    """
    if not graph.nodes:
        raise GraphError(
            "the logical graph has no nodes (once its Comment and Description nodes are "
            "dropped), so it unrolls to nothing; DALiuGE refuses it too: add the graph's "
            "applications and data in EAGLE"
        )
    layout = Layout(convert_mpi(convert_mkn(convert_subgraphs(graph))))
    graph = layout.graph
    for node in graph:
        if node.category_type == "Construct":
            layout.dop(node.id)  # check every construct's parameters, even an empty one
    if max_drops is not None:
        _check_size(layout, max_drops)
    instances: dict[str, Instances] = {}
    group_data: dict[str, DropSpec] = {}
    specs: list[DropSpec] = []
    is_app = bytearray()
    weights: array[int] = array("q")
    volumes: array[int] = array("q")
    group_edges: list[tuple[DropSpec, DropSpec]] = []
    listed = False  # a node with link lists of its own (a field named "outputs", ...)
    with _gc.paused():
        for item in layout.items.values():
            made = []
            instance = _Instance(item, oid_prefix, layout)
            app, weight, volume = drop_weights(instance.template)
            listed = listed or bool(instance.own_lists)
            for index, spec in instance.instances():
                made.append((index, spec))
                specs.append(spec)
                is_app.append(app)
                weights.append(weight)
                volumes.append(volume)
                if item.node.category == GROUP_BY:
                    group_data[spec["oid"]] = _group_data(spec)
                    specs.append(group_data[spec["oid"]])
                    group_edges.append((spec, group_data[spec["oid"]]))
                    is_app.append(0)
                    weights.append(1)
                    volumes.append(1)
            instances[item.node.id] = made
        linker = Linker(layout, instances, group_data)
        for link in graph.links:
            linker.link(link)
        linker.link_constructs()
        linker.finish_gathers()
        if listed:
            drops = drop_graph(specs)
        else:
            edges = group_edges + linker.edges
            drops = linked_graph(specs, is_app, weights, volumes, edges)
    return specs, drops


class _Instance:
    """Makes a node's drop specs: one template per node, copied per instance.

    Everything but ``oid``, ``iid``, ``rank`` and ``loop_ctx`` is the same for every
    instance, so the template is built once and each instance is a shallow copy with
    those four set (keys keep the template's order). Field values and the parameter
    groups are shared between the instances, not copied: specs are data to write out,
    and nothing mutates them except the link lists, which each instance gets its own of.
    """

    def __init__(self, item: Item, oid_prefix: str, layout: Layout) -> None:
        self.template = _template(item)
        self.prefix = f"{oid_prefix}_{item.node.id}_0"
        self.chain = item.chain
        self.layout = layout
        self.has_loop = any(layout.is_a(each, LOOP) for each in item.chain)
        self.own_lists = [key for key in _LINK_KEYS if key in self.template]

    def instances(self) -> Iterator[tuple[Index, DropSpec]]:
        """Every instance's index and spec, in DALiuGE's order (the product of the
        chain's sizes, outermost first)."""
        sizes = [self.layout.dop(each) for each in self.chain]
        suffixes = product(*([f"-{position}" for position in range(size)] for size in sizes))
        for index, parts in zip(product(*map(range, sizes)), suffixes, strict=True):
            yield index, self.spec(index, "".join(parts))

    def spec(self, index: Index, suffix: str) -> DropSpec:
        """The spec of instance ``index`` (one position per construct of the chain),
        whose iid ends with ``suffix`` (``"-2-0"``)."""
        spec = self.template.copy()
        spec["oid"] = self.prefix + suffix
        spec["iid"] = "0" + suffix
        spec["rank"] = [0, *index]
        if self.has_loop:
            spec["loop_ctx"] = self.layout.loop_ctx(self.chain, index)
        for key in self.own_lists:
            spec[key] = list(spec[key])
        return spec


def _template(item: Item) -> DropSpec:
    """A node's spec with ``oid``, ``iid``, ``rank`` and ``loop_ctx`` left to fill."""
    node = item.node
    spec: DropSpec = {}
    groups: dict[str, dict[str, Any]] = {}
    for field in node.fields:
        if not field.is_port and field.name not in _RESERVED:
            spec.setdefault(field.name, field.value)
        group = _FIELD_GROUPS.get(field.parameter_type)
        if group is not None:
            groups.setdefault(group, {})[field.name] = {**field.raw, "value": field.value}
    spec.update(
        oid=None,
        name=node.name,
        categoryType=_category_type(node),
        category=node.category,
        storage=node.category,
        iid=None,
        rank=None,
        lg_key=node.id,
        loop_ctx=None,
    )
    spec.update(node.spec_extras)
    if not spec.get("dropclass"):
        default = _default_class(node, spec["categoryType"])
        if default is not None:
            spec["dropclass"] = default
    if node.category == GROUP_BY:
        spec.update(weight=1, sleep_time=1)
    spec.update(groups)
    return spec


def _default_class(node: LogicalNode, category_type: str) -> str | None:
    if category_type == "Data":
        return _DEFAULT_DATA_CLASSES.get(node.category)
    if category_type == "Service":
        return None  # DALiuGE writes no class for a Plasma store (categoryType Service)
    if node.category == MPI:
        return None  # as DALiuGE: never a SleepApp in place of an MPI job (mpi.py)
    return _DEFAULT_APP_CLASSES.get(node.category, GROUP_BY_APP)


def _category_type(node: LogicalNode) -> str:
    """Branches (DALiuGE's "Control") and GroupBy barriers run as applications."""
    if node.category_type == "Control" or node.category == GROUP_BY:
        return "Application"
    return node.category_type


def _group_data(group_by: DropSpec) -> DropSpec:
    """The memory drop a GroupBy instance writes (DALiuGE's ``<oid>-grp-data``)."""
    data: DropSpec = {
        "oid": f"{group_by['oid']}-grp-data",
        "categoryType": "Data",
        "dropclass": GROUP_DATA,
        "name": "grpdata",
        "rank": list(group_by["rank"]),
        "producers": [{group_by["oid"]: "grpdata"}],
    }
    group_by["outputs"] = [{data["oid"]: "grpdata"}]
    return data
