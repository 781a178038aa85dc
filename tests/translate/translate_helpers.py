"""Helpers for translator tests: DALiuGE's test graphs and small hand-made ones."""

from __future__ import annotations

import importlib.resources
import json
from typing import Any

import pytest

pytest.importorskip("daliuge_tests")

from liuray.graph.logical import LogicalGraph, load_logical_graph
from liuray.types import DropSpec

TRANSLATOR = importlib.resources.files("daliuge_tests.translator")
LOGICAL_GRAPHS = TRANSLATOR / "logical_graphs"
DROP_SPECS = importlib.resources.files("daliuge_tests.translator.drop_spec")


def eagle_graph(name: str) -> dict[str, Any]:
    """A logical graph of the eagle-test-graphs package, as parsed JSON."""
    raw: dict[str, Any] = json.loads((LOGICAL_GRAPHS / f"{name}.graph").read_text("utf-8"))
    return raw


def reference_specs(name: str) -> list[DropSpec]:
    """DALiuGE's own translation of that graph (``drop_spec/<name>.spec``)."""
    specs = json.loads((DROP_SPECS / f"{name}.spec").read_text("utf-8"))
    return [spec for spec in specs if "oid" in spec]


def edges(specs: list[DropSpec]) -> set[tuple[str, str]]:
    """Every (upstream oid, downstream oid) pair, read from the upstream ends."""
    found = set()
    for spec in specs:
        for key in ("outputs", "consumers"):
            for entry in spec.get(key, []):
                other = next(iter(entry)) if isinstance(entry, dict) else entry
                found.add((spec["oid"], other))
    return found


def by_oid(specs: list[DropSpec]) -> dict[str, DropSpec]:
    return {spec["oid"]: spec for spec in specs}


def node(
    node_id: str,
    category_type: str = "Data",
    category: str = "Memory",
    parent: str | None = None,
    ports: tuple[tuple[str, str], ...] = (),
    **params: Any,
) -> dict[str, Any]:
    """A logical-graph node; ports are (name, usage) with id ``<node>.<name>``."""
    fields: list[dict[str, Any]] = [
        {"id": f"{node_id}.{name}", "name": name, "value": value, "usage": "NoPort"}
        for name, value in params.items()
    ]
    fields += [{"id": f"{node_id}.{name}", "name": name, "usage": usage} for name, usage in ports]
    return {
        "id": node_id,
        "name": node_id,
        "category": category,
        "categoryType": category_type,
        "parentId": parent,
        "fields": fields,
    }


def link(source: str, source_port: str, target: str, target_port: str) -> dict[str, str]:
    return {
        "from": source,
        "fromPort": f"{source}.{source_port}",
        "to": target,
        "toPort": f"{target}.{target_port}",
    }


def logical(nodes: list[dict[str, Any]], links: list[dict[str, str]]) -> LogicalGraph:
    return load_logical_graph({"nodeDataArray": nodes, "linkDataArray": links})
