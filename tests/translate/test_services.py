"""Service nodes (a Plasma store) and Service constructs (an embedded service app)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("daliuge_tests")

from translate_helpers import by_oid, eagle_graph, logical, node

from liuray.errors import GraphError
from liuray.graph.logical import load_logical_graph, read_logical_graph
from liuray.translate.unroll import unroll

SERVICE_CONSTRUCT = Path(__file__).parent / "fixtures" / "graphs" / "service_construct.graph"
PLASMA = "1_ba7d20ac-9ae2-4ba2-ad13-fb0512dd928c_0"


def test_plasma_service_node_is_linked_as_data() -> None:
    """Plasma_test: the writer outputs into the Plasma node and the reader takes its
    input from it, as from a data drop; it keeps categoryType Service and no class."""
    specs = by_oid(unroll(load_logical_graph(eagle_graph("Plasma_test")), "1"))

    plasma = specs[PLASMA]
    assert (plasma["categoryType"], plasma.get("dropclass")) == ("Service", None)
    assert plasma["producers"] == [{"1_10b4e22f-0d08-496e-98d2-6be4babfe074_0": "MS-in"}]
    assert plasma["consumers"] == [{"1_592cec22-e25c-4f97-aa00-796d38efbd6b_0": "MS-out"}]


def test_service_construct_is_its_embedded_app() -> None:
    """The Service construct becomes its embedded app, at the construct's level, with
    the construct's id and name and the app's class."""
    specs = by_oid(unroll(read_logical_graph(SERVICE_CONSTRUCT), "1"))

    assert sorted(specs) == ["1_address_0", "1_client_0", "1_service_0"]
    service = specs["1_service_0"]
    assert (service["name"], service["categoryType"], service["dropclass"]) == (
        "database",
        "Application",
        "dlg.apps.simple.SleepApp",
    )
    assert service["outputs"] == [{"1_address_0": "address"}]


def service(**extra: Any) -> dict[str, Any]:
    construct = node("svc", "Construct", "Service")
    construct.update({"inputApplicationType": "PythonApp", **extra})
    return construct


@pytest.mark.parametrize(
    ("nodes", "message"),
    [
        ([service(), node("inside", parent="svc")], "with nodes inside is not supported"),
        ([node("sc", "Construct", "Scatter"), service(parentId="sc")], "inside another construct"),
        ([service(inputApplicationType="None")], "needs an embedded application"),
    ],
)
def test_unsupported_service_constructs_are_refused(
    nodes: list[dict[str, Any]], message: str
) -> None:
    """Children in a Service, a Service in a Scatter (DALiuGE 6.6.0 fails on both) and a
    Service without its app are refused naming the construct."""
    with pytest.raises(GraphError, match=message) as caught:
        unroll(logical(nodes, []))

    assert "'svc' (svc)" in str(caught.value)
