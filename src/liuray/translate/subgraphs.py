# SPDX-License-Identifier: LGPL-2.1-or-later
"""SubGraph constructs with applications become one SubGraph app drop.

State: none kept; :func:`convert_subgraphs` is a pure function from a
:class:`LogicalGraph` to another, run before the layout is made.

EAGLE's SubGraph construct holds a graph of its own. Without applications
(``inputApplicationType`` and ``outputApplicationType`` both unset) it is a group of one:
what it holds becomes ordinary drops, with one more ``-0`` in their iids, as DALiuGE
6.6.0 unrolls it (that is :mod:`~liuray.translate.constructs`, not this module). With
both applications, DALiuGE's ``convert_subgraphs`` cuts the inner nodes out into the
``subgraph`` attribute of a ``dlg.apps.subgraph.SubGraphLocal`` app (6.6.0 then fails on
its own port-less links). liuray makes **one** application node instead, which a node
manager runs as a nested session:

* its id is the construct's (so its oid is the one DALiuGE gives the SubGraph's input
  app), its name the construct's; it sits inside the construct, which stays as a group
  of one (iid ``"0-0"``, as DALiuGE's input app);
* ``dropclass`` is ``dlg.apps.subgraph.SubGraphLocal``; its other fields are the
  construct's and its input application's;
* ``subgraph`` is the inner logical graph in EAGLE JSON: the construct's descendants
  (nested constructs included; the direct children lose their ``parentId``) and the
  links between them, field values as configured, and the graph's ``modelData``;
* its ``inputs``/``outputs`` are the outer data nodes linked to the construct's ports;
* ``subgraph_ports`` maps each such port name to the inner node it stands for:
  ``{"inputs": {port: inner id}, "outputs": {port: inner id}}``. An input port links to
  one inner data node that nothing inside writes (the nested session's input); an output
  port is linked from one inner data node directly inside the construct (one drop).

A SubGraph inside another construct (a Scatter, a Loop...) is refused, as DALiuGE 6.6.0
refuses it ("only Scatters, Loops and GroupBys can be nested"); one inside a SubGraph
with applications is part of that one's inner graph. Any other wiring is a
:class:`GraphError` naming the construct and the port: a port used
outside and not inside (or the reverse direction), an application on either end of a
port, a link that crosses the construct's edge without going through a port, or a
SubGraph with only one of its two applications.

>>> from liuray.graph.logical import load_logical_graph
>>> port = {"id": "p", "name": "x", "usage": "InputOutput"}
>>> graph = load_logical_graph({"nodeDataArray": [
...     {"id": "s", "name": "sub", "category": "SubGraph", "categoryType": "Construct",
...      "inputApplicationType": "PythonApp", "outputApplicationType": "PythonApp",
...      "inputAppFields": [port]},
...     {"id": "i", "category": "Memory", "categoryType": "Data", "parentId": "s",
...      "fields": [{"id": "q", "name": "x", "usage": "InputOutput"}]},
...     {"id": "d", "category": "Memory", "categoryType": "Data",
...      "fields": [{"id": "r", "name": "x", "usage": "InputOutput"}]}],
...     "linkDataArray": [{"from": "d", "fromPort": "r", "to": "s", "toPort": "p"},
...                       {"from": "s", "fromPort": "p", "to": "i", "toPort": "q"}]})
>>> app = convert_subgraphs(graph)["s"]
>>> app.spec_extras["subgraph_ports"], len(app.spec_extras["subgraph"]["nodeDataArray"])
({'inputs': {'x': 'i'}, 'outputs': {}}, 1)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from liuray.errors import GraphError
from liuray.graph.logical import LogicalGraph, LogicalLink, LogicalNode

__all__ = ["SUBGRAPH_APP", "convert_subgraphs"]

SUBGRAPH = "SubGraph"
SUBGRAPH_APP = "dlg.apps.subgraph.SubGraphLocal"
#: The remaining group's id: the construct's, with this suffix (never in an oid).
_GROUP_SUFFIX = "/subgraph"


def convert_subgraphs(graph: LogicalGraph) -> LogicalGraph:
    """``graph`` with every outermost SubGraph that has applications made one app.

    Raises:
        GraphError: a SubGraph with one application only, or wired wrongly (the
            message names the construct, the port and what to do).
    """
    for node in graph:
        if node.category == SUBGRAPH and (node.app is None) != (node.output_app_category is None):
            given = "an input" if node.app is not None else "an output"
            raise GraphError(
                f"{node.label} has {given} application but not the other; a SubGraph "
                "needs both (inputApplicationType and outputApplicationType) or neither",
                node=node.id,
            )
    outermost = [
        node for node in graph if node.category == SUBGRAPH and not _inside_one(graph, node)
    ]
    for construct in outermost:
        if construct.parent_id is not None:
            raise GraphError(
                f"{construct.label} is inside {graph[construct.parent_id].label}; a SubGraph "
                "cannot be nested in another construct (DALiuGE 6.6.0 refuses it too: only "
                "Scatters, Loops and GroupBys nest); put it at the top level",
                node=construct.id,
            )
    for construct in filter(_has_apps, outermost):
        graph = _convert(graph, construct)
    return graph


def _has_apps(node: LogicalNode) -> bool:
    return node.category == SUBGRAPH and node.app is not None


def _inside_one(graph: LogicalGraph, node: LogicalNode) -> bool:
    parent = node.parent_id
    while parent is not None:
        if _has_apps(graph[parent]):
            return True
        parent = graph[parent].parent_id
    return False


@dataclass
class _Wiring:
    """The links around one SubGraph, sorted by what they do."""

    inner: list[LogicalLink] = field(default_factory=list)
    #: port -> inner nodes the port feeds / inner nodes feeding the port
    inward: dict[str, list[str]] = field(default_factory=dict)
    outward: dict[str, list[str]] = field(default_factory=dict)
    #: port -> outer links into / out of the port
    inputs: dict[str, list[LogicalLink]] = field(default_factory=dict)
    outputs: dict[str, list[LogicalLink]] = field(default_factory=dict)


def _wiring(construct: LogicalNode, inside: set[str], links: Iterable[LogicalLink]) -> _Wiring:
    wiring = _Wiring()
    for link in links:
        source_in, target_in = link.source in inside, link.target in inside
        if link.source == construct.id and link.target == construct.id:
            raise GraphError(
                f"{construct.label}: a link goes from its port {link.source_port!r} back "
                f"to its port {link.target_port!r}; remove it",
                node=construct.id,
            )
        if link.source == construct.id:
            if target_in:
                wiring.inward.setdefault(link.source_port, []).append(link.target)
            else:
                wiring.outputs.setdefault(link.source_port, []).append(link)
        elif link.target == construct.id:
            if source_in:
                wiring.outward.setdefault(link.target_port, []).append(link.source)
            else:
                wiring.inputs.setdefault(link.target_port, []).append(link)
        elif source_in and target_in:
            wiring.inner.append(link)
        elif source_in or target_in:
            inner, outer = (link.source, link.target) if source_in else (link.target, link.source)
            raise GraphError(
                f"{construct.label}: the link {link.source} -> {link.target} joins {inner} "
                f"inside it to {outer} outside it directly; link the outer node to one of "
                "the SubGraph's ports and the port to the inner node",
                node=construct.id,
            )
    return wiring


def _convert(graph: LogicalGraph, construct: LogicalNode) -> LogicalGraph:
    inner_nodes = graph.descendants(construct.id)
    inside = {node.id for node in inner_nodes}
    wiring = _wiring(construct, inside, graph.links)
    ports = {
        "inputs": _input_ports(graph, construct, wiring),
        "outputs": _output_ports(graph, construct, wiring),
    }
    group = replace(
        construct,
        id=construct.id + _GROUP_SUFFIX,
        app=None,
        output_app_category=None,
        output_app_fields=(),
        input_app_fields=(),
    )
    embedded = construct.app or construct  # always its app: only those are converted
    app = LogicalNode(
        id=construct.id,
        name=construct.name,
        category=embedded.category,
        category_type="Application",
        parent_id=group.id,
        fields=tuple(item for item in embedded.fields if item.name != "dropclass"),
        spec_extras={
            "dropclass": SUBGRAPH_APP,
            "subgraph": _inner_graph(graph, construct.id, inner_nodes, wiring.inner),
            "subgraph_ports": ports,
        },
    )
    nodes: dict[str, LogicalNode] = {}
    for node in graph:
        if node.id == construct.id:
            nodes[group.id] = group
            nodes[app.id] = app
        elif node.id not in inside:
            nodes[node.id] = node
    kept = tuple(
        link for link in graph.links if link.source not in inside and link.target not in inside
    )
    return LogicalGraph(nodes, kept, graph.model_data)


def _input_ports(graph: LogicalGraph, construct: LogicalNode, wiring: _Wiring) -> dict[str, str]:
    ports: dict[str, str] = {}
    fed = {link.target for link in wiring.inner}
    for port, links in wiring.inputs.items():
        where = f"{construct.label}: input port {port!r}"
        _one_outer_data(graph, where, [link.source for link in links], "from")
        inner = _one_inner_data(graph, where, wiring.inward.get(port, []), "to")
        if inner.id in fed:
            raise GraphError(
                f"{where} goes to {inner.label}, which a node inside also writes; link "
                "the port to a data node that only the port feeds",
                node=construct.id,
            )
        ports[port] = inner.id
    return ports


def _output_ports(graph: LogicalGraph, construct: LogicalNode, wiring: _Wiring) -> dict[str, str]:
    ports: dict[str, str] = {}
    for port, links in wiring.outputs.items():
        where = f"{construct.label}: output port {port!r}"
        _one_outer_data(graph, where, [link.target for link in links], "to")
        inner = _one_inner_data(graph, where, wiring.outward.get(port, []), "from")
        if inner.parent_id != construct.id:
            raise GraphError(
                f"{where} comes from {inner.label}, which is inside another construct "
                "(more than one drop); link it from a data node directly inside the SubGraph",
                node=construct.id,
            )
        ports[port] = inner.id
    return ports


def _one_outer_data(graph: LogicalGraph, where: str, ids: list[str], end: str) -> None:
    if len(ids) > 1:
        raise GraphError(f"{where} has {len(ids)} links {end} outside; give each its own port")
    node = graph[ids[0]]
    if node.category_type != "Data":
        raise GraphError(
            f"{where} is linked {end} {node.label} outside; a SubGraph's ports take data "
            "nodes: put a data node between them"
        )


def _one_inner_data(graph: LogicalGraph, where: str, ids: list[str], end: str) -> LogicalNode:
    if not ids:
        raise GraphError(
            f"{where} is linked outside but {end} nothing inside the SubGraph; link it "
            f"{end} the inner data node it stands for"
        )
    if len(ids) > 1:
        raise GraphError(
            f"{where} is linked {end} {len(ids)} nodes inside; link it {end} one data node "
            "(which may feed several applications)"
        )
    node = graph[ids[0]]
    if node.category_type != "Data":
        raise GraphError(
            f"{where} is linked {end} {node.label} inside; a SubGraph's ports stand for "
            "data nodes: put a data node between the port and it"
        )
    return node


def _inner_graph(
    graph: LogicalGraph,
    construct_id: str,
    nodes: list[LogicalNode],
    links: list[LogicalLink],
) -> dict[str, Any]:
    """The inner logical graph in EAGLE JSON (what the nested session translates)."""
    return {
        "nodeDataArray": [_node_json(node, construct_id) for node in nodes],
        "linkDataArray": [dict(link.raw) for link in links],
        "modelData": dict(graph.model_data),
    }


def _node_json(node: LogicalNode, construct_id: str) -> dict[str, Any]:
    raw: dict[str, Any] = dict(node.raw) if node.raw else _minimal_json(node)
    raw.pop("group", None)
    if node.parent_id == construct_id or node.parent_id is None:
        raw.pop("parentId", None)
    else:
        raw["parentId"] = node.parent_id  # an ExclusiveForceNode may have moved it
    return raw


def _minimal_json(node: LogicalNode) -> dict[str, Any]:
    """A node the translator made itself (no JSON of its own): its fields."""
    fields: list[Mapping[str, Any]] = [{**item.raw, "value": item.value} for item in node.fields]
    return {
        "id": node.id,
        "name": node.name,
        "category": node.category,
        "categoryType": node.category_type,
        "fields": fields,
    }
