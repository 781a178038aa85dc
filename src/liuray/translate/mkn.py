# SPDX-License-Identifier: LGPL-2.1-or-later
"""MKN constructs, rewritten into a Gather, a Scatter, a Gather and a Scatter.

State: none kept; :func:`convert_mkn` is a pure function from a :class:`LogicalGraph` to
another, run before the layout is made.

DALiuGE documents MKN as "generalised scatter/gather: a multiplicity of M externally to
the construct, K internal and N on the output side", whose current implementation "is
limited to what Scatter and Gather constructs are doing". Its ``dm_utils.convert_mkn``
(each MKN instance takes M inputs) is never called by 6.6.0's translator, which fails on
an MKN. liuray implements that intent with the constructs it already unrolls. Per
instance of what is around it, an MKN with ``m``, ``k``, ``n``, an input and an output
application is::

            M inputs                K copies of the children           N outputs
    in_0 --+                    +-> [children 0] --+                 +--> out_0
    in_1 --+--> [input app] ----+-> [children 1] --+--> [output app] +--> out_1
     ...   |   (one per M       +-> ...            |   (one per MKN  +--> ...
    in_M-1 +    inputs)         +-> [children K-1]-+    instance)    +--> out_N-1

* the MKN becomes a **Gather** of width ``m`` (its id, so the input app keeps it; the
  apps are named ``inputApplicationName``/``outputApplicationName`` as in DALiuGE): the
  data linked into the input application's ports are taken ``m`` at a time, and there
  are ``ceil(inputs / m)`` MKN instances;
* its children go into a **Scatter** of ``k`` (id ``<mkn>_k``) inside it: each instance
  copies them ``k`` times, and links from the input app reach every copy;
* the output application is a **Gather** of width ``k`` (id ``<mkn>_output``) inside it,
  whose inputs are the children's data linked to the output app's ports: one per MKN
  instance;
* the data nodes linked from the output app's ports go into a **Scatter** of ``n`` (id
  ``<mkn>_n``) inside it: ``n`` of each per MKN instance.

A port belongs to the input or the output app by its id (``inputAppFields`` or
``outputAppFields``; both apps may name a port alike). An MKN without both apps, ``m``,
``k`` or ``n`` not positive integers, an input-app port fed from inside or an output-app
port feeding inside, an output port feeding anything but a data node beside the MKN,
or an output-app port fed from outside: a :class:`GraphError` naming the MKN.

>>> from liuray.graph.logical import load_logical_graph
>>> graph = load_logical_graph({"nodeDataArray": [
...     {"id": "x", "category": "MKN", "categoryType": "Construct",
...      "inputApplicationType": "PythonApp", "outputApplicationType": "PythonApp",
...      "fields": [{"id": f, "name": f, "value": v} for f, v in zip("mkn", (2, 3, 4))]}]})
>>> [(node.id, node.category) for node in convert_mkn(graph)]
[('x', 'Gather'), ('x_k', 'Scatter'), ('x_output', 'Gather'), ('x_n', 'Scatter')]
"""

from __future__ import annotations

from dataclasses import replace

from liuray.errors import GraphError
from liuray.graph.logical import Field, LogicalGraph, LogicalLink, LogicalNode
from liuray.translate.constructs import GATHER, MKN, SCATTER, positive_int

__all__ = ["convert_mkn"]


def convert_mkn(graph: LogicalGraph) -> LogicalGraph:
    """``graph`` with every MKN construct rewritten (module docstring).

    Raises:
        GraphError: a malformed MKN; the message names it and what to change.
    """
    for node in list(graph):
        if node.category == MKN:
            graph = _convert(graph, node)
    return graph


def _size(node: LogicalNode, name: str) -> int:
    return positive_int(node, (name,), None)


def construct_node(
    node_id: str, category: str, parent: str | None, width: tuple[str, int]
) -> LogicalNode:
    """A construct node the translator makes: ``width`` is its size field (name, value)."""
    name, value = width
    return LogicalNode(
        id=node_id,
        name=node_id,
        category=category,
        category_type="Construct",
        parent_id=parent,
        fields=(Field(id=f"{node_id}.{name}", name=name, value=value),),
        is_group=True,
    )


def _convert(graph: LogicalGraph, mkn: LogicalNode) -> LogicalGraph:
    if mkn.app is None or mkn.output_app_category is None:
        raise GraphError(
            f"{mkn.label} needs an input application (inputApplicationType: takes the M "
            "inputs) and an output application (outputApplicationType: writes the N "
            "outputs)",
            node=mkn.id,
        )
    m, k, n = (_size(mkn, name) for name in "mkn")
    ids = {suffix: f"{mkn.id}_{suffix}" for suffix in ("k", "output", "n")}
    for new in ids.values():
        if new in graph.nodes:
            raise GraphError(f"{mkn.label}: the id {new!r} it needs is taken; rename that node")
    input_name, output_name = (
        str(mkn.raw.get(f"{side}ApplicationName") or f"{mkn.name}_{suffix}")
        for side, suffix in (("input", "InApp"), ("output", "OutApp"))
    )
    outer = replace(
        mkn,
        app=replace(mkn.app, name=input_name),
        category=GATHER,
        fields=(*mkn.fields, Field(id=f"{mkn.id}.num_of_inputs", name="num_of_inputs", value=m)),
        output_app_category=None,
        output_app_fields=(),
    )
    copies = construct_node(ids["k"], SCATTER, mkn.id, ("num_of_copies", k))
    output = replace(
        construct_node(ids["output"], GATHER, mkn.id, ("num_of_inputs", k)),
        name=output_name,
        app=LogicalNode(
            id=ids["output"],
            name=output_name,
            category=mkn.output_app_category,
            category_type="Application",
            parent_id=mkn.id,
            fields=mkn.output_app_fields,
        ),
    )
    products = construct_node(ids["n"], SCATTER, mkn.id, ("num_of_copies", n))
    links, outputs = _rewired(graph, mkn, ids["output"])
    nodes: dict[str, LogicalNode] = {}
    for node in graph:
        if node.id == mkn.id:
            nodes.update({made.id: made for made in (outer, copies, output, products)})
        elif node.parent_id == mkn.id:
            nodes[node.id] = replace(node, parent_id=copies.id)
        elif node.id in outputs:
            nodes[node.id] = replace(node, parent_id=products.id)
        else:
            nodes[node.id] = node
    return LogicalGraph(nodes, links, graph.model_data)


def _rewired(
    graph: LogicalGraph, mkn: LogicalNode, output_id: str
) -> tuple[tuple[LogicalLink, ...], set[str]]:
    """The links with the output app's ends moved to its Gather, and the data nodes the
    output app writes (they go into the Scatter of N)."""
    output_ports = {item.id for item in mkn.output_app_fields}
    inside = {node.id for node in graph.descendants(mkn.id)}
    links: list[LogicalLink] = []
    outputs: set[str] = set()
    for link in graph.links:
        if link.source == mkn.id:
            other, port = graph[link.target], str(link.raw.get("fromPort", ""))
        elif link.target == mkn.id:
            other, port = graph[link.source], str(link.raw.get("toPort", ""))
        else:
            links.append(link)
            continue
        is_output, is_inside = port in output_ports, other.id in inside
        where = f"{mkn.label}: the link {link.source} -> {link.target}"
        if link.target == mkn.id and is_inside != is_output:
            app = "output" if is_output else "input"
            side = "from outside" if is_output else "from inside it"
            raise GraphError(
                f"{where} feeds its {app} application {side}; the input application takes "
                "the M inputs from outside, the output application the K copies' data "
                "from inside",
                node=mkn.id,
            )
        if link.source == mkn.id and is_output:
            if is_inside or other.category_type != "Data" or other.parent_id != mkn.parent_id:
                raise GraphError(
                    f"{where} leaves its output application for {other.label}; the output "
                    "application writes data nodes beside the MKN (N of each per instance)",
                    node=mkn.id,
                )
            outputs.add(other.id)
        if is_output and link.source == mkn.id:
            link = replace(link, source=output_id)
        elif is_output:
            link = replace(link, target=output_id)
        links.append(link)
    return tuple(links), outputs
