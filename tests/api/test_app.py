"""The app as a whole: the OpenAPI document, unknown routes, CORS, the home page."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

import httpx
from api_helpers import LiveServer
from starlette.routing import Route

from liuray.api import api_routes
from liuray.errors import TransportError

#: Every route of the contract (method, OpenAPI path).
CONTRACT = [
    ("get", "/api"),
    ("get", "/api/submission_method"),
    ("get", "/api/sessions"),
    ("post", "/api/sessions"),
    ("get", "/api/sessions/{sid}"),
    ("delete", "/api/sessions/{sid}"),
    ("get", "/api/sessions/{sid}/status"),
    ("post", "/api/sessions/{sid}/graph/append"),
    ("post", "/api/sessions/{sid}/deploy"),
    ("post", "/api/sessions/{sid}/cancel"),
    ("get", "/api/sessions/{sid}/graph"),
    ("get", "/api/sessions/{sid}/graph/size"),
    ("get", "/api/sessions/{sid}/graph/status"),
    ("get", "/api/sessions/{sid}/graph/drop/{oid}"),
    ("post", "/api/sessions/{sid}/graph/drop/{oid}"),
    ("get", "/api/nodes"),
    ("post", "/api/node/{node}"),
    ("delete", "/api/node/{node}"),
    ("post", "/api/nodes/{node}"),
    ("delete", "/api/nodes/{node}"),
    ("post", "/api/liuray/submit"),
    ("get", "/api/liuray/sessions/{sid}/progress"),
    ("get", "/api/liuray/sessions/{sid}/events"),
    ("get", "/api/liuray/events"),
    ("get", "/api/liuray/nodes"),
    ("post", "/api/liuray/nodes/{node}/restart"),
    ("get", "/api/openapi.json"),
    # DALiuGE's translator web service (api/translator.py).
    ("post", "/lg_fill"),
    ("post", "/unroll"),
    ("post", "/partition"),
    ("post", "/unroll_and_partition"),
    ("post", "/map"),
    ("get", "/pgt_jsonbody"),
]
#: Served but not in the OpenAPI document: a page, a redirect, two refusals.
UNDOCUMENTED = [
    ("post", "/gen_pgt"),
    ("get", "/gen_pg"),
    ("get", "/gen_pg_helm"),
    ("post", "/gen_pg_spec"),
]
#: The monitoring page's JSON reads (api/web.py's routes, documented too).
WEB = [("get", "/api/liuray/sessions"), ("get", "/api/liuray/sessions/{sid}/timeline")]


def test_openapi_document_lists_every_route(client: httpx.Client) -> None:
    """The OpenAPI document has an operation, with a summary, for each contract route
    and for nothing else; path parameters and request bodies are described."""
    document = client.get("/api/openapi.json").json()
    assert document["openapi"].startswith("3.")
    listed = sorted(
        (method, path) for path, operations in document["paths"].items() for method in operations
    )
    assert listed == sorted(CONTRACT + WEB)
    drop = document["paths"]["/api/sessions/{sid}/graph/drop/{oid}"]["get"]
    assert [p["name"] for p in drop["parameters"]] == ["sid", "oid"]
    assert drop["summary"].startswith("One drop")
    append = document["paths"]["/api/sessions/{sid}/graph/append"]["post"]
    assert set(append["requestBody"]["content"]) == {"application/json", "text/plain"}
    operation_ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids))


def test_route_table_matches_the_contract() -> None:
    """The route table itself (not just the document) serves each contract route."""
    routes = [route for route in api_routes() if isinstance(route, Route)]
    assert len(routes) == len(api_routes())
    served = sorted(
        (method.lower(), route.path.replace(":path", ""))
        for route in routes
        for method in route.methods or ()
        if method != "HEAD"
    )
    assert served == sorted(CONTRACT + UNDOCUMENTED)


def test_unknown_routes_and_methods_answer_json(client: httpx.Client) -> None:
    """An unknown path is a JSON 404 and a wrong method a JSON 405 with ``Allow``."""
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"] == "NotFound"
    assert "/api/nothing-here" in missing.json()["message"]
    wrong = client.put("/api/sessions")
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "MethodNotAllowed"
    assert "POST" in wrong.headers["allow"]


def test_manager_info_and_submission_method(server: LiveServer, client: httpx.Client) -> None:
    """``GET /api`` has DALiuGE's fields plus liuray's version and transport."""
    info = client.get("/api").json()
    assert info["hosts"] == server.nodes
    assert info["sessionIds"] == []
    assert info["liuray"]["transport"] == "inproc"
    assert info["liuray"]["version"]
    assert client.get("/api/submission_method").json() == {"methods": ["BROWSER", "SERVER"]}


def test_cors_preflight_lets_a_browser_submit(client: httpx.Client) -> None:
    """EAGLE's BROWSER submission posts from another origin; the preflight allows it."""
    response = client.options(
        "/api/sessions/s/graph/append",
        headers={
            "Origin": "https://eagle.icrar.org",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,content-encoding",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "https://eagle.icrar.org")


def test_home_page_links_the_api(client: httpx.Client) -> None:
    """``GET /`` is the monitoring page's sessions page, linking the nodes page and the
    OpenAPI document."""
    page = client.get("/")
    assert page.headers["content-type"].startswith("text/html")
    assert 'href="/nodes"' in page.text
    assert 'href="/api/openapi.json"' in page.text


def test_unexpected_errors_are_json_500_and_transport_errors_502(
    server: LiveServer, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug behind a route is a JSON 500 naming the exception class, and the client's
    keep-alive connection stays usable; a node manager that cannot be reached is a 502
    (TransportError), per the status table."""

    def broken() -> list[str]:
        raise RuntimeError("boom")

    def unreachable() -> list[dict[str, Any]]:
        raise TransportError("node localhost:8000 did not answer", node="localhost:8000")

    monkeypatch.setattr(server.island, "nodes", broken)
    monkeypatch.setattr(server.island, "node_details", unreachable)
    response = client.get("/api/nodes")
    assert response.status_code == 500
    assert response.json()["error"] == "RuntimeError"
    assert "boom" in response.json()["message"]
    response = client.get("/api/liuray/nodes")
    assert response.status_code == 502
    assert response.json()["detail"] == {"node": "localhost:8000"}
