"""Appending graphs: encodings, content types, size limits and malformed graphs."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

import httpx
from api_helpers import MEMORY, LiveServer, cross_node_graph, wait_for_end

APPEND = "/api/sessions/s/graph/append"
_JSON = {"Content-Type": "application/json"}


@pytest.fixture
def session(client: httpx.Client) -> str:
    """An empty session called ``s``."""
    client.post("/api/sessions", json={"sessionId": "s"}).raise_for_status()
    return "s"


def _post(client: httpx.Client, body: bytes, **headers: str) -> httpx.Response:
    return client.post(APPEND, content=body, headers={**_JSON, **headers})


@pytest.mark.usefixtures("session")
def test_compressed_and_text_bodies_are_accepted(server: LiveServer, client: httpx.Client) -> None:
    """A graph arrives in four parts: gzip-compressed (DALiuGE's client),
    zlib-compressed as ``deflate``, raw-deflated, and as text/plain; they add up to one
    graph that runs."""
    hello, text, upper, result = cross_node_graph("zip", server.nodes, server.workspace / "zip.txt")
    # Each part may only link to drops already appended (as in DALiuGE).
    graph = [text, hello, result, upper]
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    bodies = [
        (gzip.compress(json.dumps(graph[:1]).encode()), {"Content-Encoding": "gzip"}),
        (zlib.compress(json.dumps(graph[1:2]).encode()), {"Content-Encoding": "deflate"}),
        (
            raw_deflate.compress(json.dumps(graph[2:3]).encode()) + raw_deflate.flush(),
            {"Content-Encoding": "deflate"},
        ),
        (json.dumps(graph[3:]).encode(), {"Content-Type": "text/plain; charset=utf-8"}),
    ]
    for body, headers in bodies:
        response = _post(client, body, **headers)
        assert response.json() == {"Status": "Success"}, response.text
    assert client.get("/api/sessions/s/graph/size").json() == 4
    client.post("/api/sessions/s/deploy").raise_for_status()
    assert wait_for_end(client, "s") == {n: 4 for n in server.nodes}
    assert (server.workspace / "zip.txt").read_text() == "HELLO-ZIP\n"


@pytest.mark.usefixtures("session")
def test_every_daliuge_graph_shape_is_accepted(client: httpx.Client) -> None:
    """A bare list, a list ending with a reprodata dict, and ``[name, [specs]]``."""
    spec = {"oid": "m", "categoryType": "Data", "dropclass": MEMORY}
    for index, graph in enumerate(
        (
            [{**spec, "oid": "m1"}],
            [{**spec, "oid": "m2"}, {"rmode": "1", "meta_data": {}}],
            ["named.graph", [{**spec, "oid": "m3"}]],
        )
    ):
        response = client.post(APPEND, json=graph)
        assert response.status_code == 200, response.text
        assert client.get("/api/sessions/s/graph/size").json() == index + 1


@pytest.mark.usefixtures("session")
def test_wrong_content_type_is_415(client: httpx.Client) -> None:
    """Form data, XML or no content type at all: 415, naming what is accepted."""
    body = json.dumps([{"oid": "a", "categoryType": "Data"}]).encode()
    for content_type in ("application/x-www-form-urlencoded", "application/xml", None):
        headers = {"Content-Type": content_type} if content_type else {}
        response = client.post(APPEND, content=body, headers=headers)
        assert response.status_code == 415, content_type
        assert response.json()["error"] == "UnsupportedMediaType"
        assert "application/json" in response.json()["message"]
    response = _post(client, body, **{"Content-Encoding": "br"})
    assert response.status_code == 415
    assert client.get("/api/sessions/s/graph/size").json() == 0


def test_oversized_bodies_are_413(make_server: Callable[..., LiveServer]) -> None:
    """With a 64 kB limit: a 100 kB body is refused (declared length, and streamed in
    chunks without one), and so is a 100 kB gzip body that is only a few hundred bytes
    on the wire; a body just under the limit is fine."""
    live = make_server(nodes=1, max_request_bytes=64 * 1024)
    big = json.dumps([{"oid": "a", "categoryType": "Data", "pad": "x" * 100_000}]).encode()
    with httpx.Client(base_url=live.url) as http:
        http.post("/api/sessions", json={"sessionId": "s"}).raise_for_status()
        for body in (big, iter([big[:50_000], big[50_000:]])):
            response = http.post(APPEND, content=body, headers=_JSON)
            assert response.status_code == 413
            assert response.json()["error"] == "RequestTooLarge"
            assert "65536 bytes" in response.json()["message"]
        squeezed = gzip.compress(big)
        assert len(squeezed) < 1000
        response = http.post(
            APPEND, content=squeezed, headers={**_JSON, "Content-Encoding": "gzip"}
        )
        assert response.status_code == 413
        fits = json.dumps([{"oid": "a", "categoryType": "Data", "pad": "x" * 60_000}])
        assert http.post(APPEND, content=fits, headers=_JSON).status_code == 200


def test_a_gzip_bomb_is_refused_without_inflating_it(
    make_server: Callable[..., LiveServer],
) -> None:
    """Under the default 10 MB limit, 128 MB of zeros gzipped to 125 kB, and 1 GB of
    zeros as 1024 concatenated 1 kB gzip members, are refused with 413 (they are never
    inflated past the limit) and the server stays up."""
    live = make_server(nodes=1)
    zeros = bytes(2**20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    one_member = b"".join(compressor.compress(zeros) for _ in range(128)) + compressor.flush()
    many_members = gzip.compress(zeros) * 1024
    with httpx.Client(base_url=live.url, timeout=30) as http:
        http.post("/api/sessions", json={"sessionId": "s"}).raise_for_status()
        for bomb in (one_member, many_members):
            assert len(bomb) < 2 * 2**20  # far below the limit on the wire
            response = http.post(
                APPEND, content=bomb, headers={**_JSON, "Content-Encoding": "gzip"}
            )
            assert response.status_code == 413
            assert "decompressed body" in response.json()["message"]
        assert http.get("/api/sessions/s/graph/size").json() == 0


@pytest.mark.usefixtures("session")
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'[{"oid": "a",, }]', "line 1 column 14"),
        (b'[\n  {"oid": "a"}\n  {"oid": "b"}\n]', "line 3 column 3"),
        (b"", "empty"),
        (b'{"oid": "a"}', "must be a JSON list"),
        (b'[{"categoryType": "Data"}]', "oid"),
        (b'[{"oid": "x", "categoryType": "Data", "node": "faraway:9"}]', "faraway:9"),
        (
            b'[{"oid": "p", "categoryType": "Application", "dropclass": "dlg.apps.simple.'
            b'CopyApp", "inputs": ["q"], "outputs": ["q"]},'
            b'{"oid": "q", "categoryType": "Data"}]',
            "cycle",
        ),
        (gzip.compress(b"[]")[:-5], "corrupt"),
    ],
    ids=[
        "invalid-json",
        "json-line-3",
        "empty",
        "not-a-list",
        "no-oid",
        "unknown-node",
        "cycle",
        "truncated-gzip",
    ],
)
def test_malformed_graph_is_400_and_loses_nothing(
    server: LiveServer, client: httpx.Client, body: bytes, expected: str
) -> None:
    """A good first append, then a malformed one: 400 with a message naming the
    problem; the first part is kept and a good append is still accepted after it."""
    graph = cross_node_graph("ok", server.nodes, server.workspace / "ok.txt")
    assert client.post(APPEND, json=graph[:2]).status_code == 200
    headers = {"Content-Encoding": "gzip"} if body[:2] == b"\x1f\x8b" else {}
    response = _post(client, body, **headers)
    assert response.status_code == 400, response.text
    assert expected in response.json()["message"]
    assert client.get("/api/sessions/s/graph/size").json() == 2
    assert client.post(APPEND, json=graph[2:]).status_code == 200
    client.post("/api/sessions/s/deploy").raise_for_status()
    assert wait_for_end(client, "s") == {n: 4 for n in server.nodes}


def test_appending_after_deploy_is_400(server: LiveServer, client: httpx.Client) -> None:
    """Once deployed, a session takes no more drops (InvalidSessionState)."""
    graph = cross_node_graph("late", server.nodes, server.workspace / "late.txt")
    sid = client.post("/api/liuray/submit", json=graph).json()["sessionId"]
    response = client.post(
        f"/api/sessions/{sid}/graph/append",
        json=[{"oid": "extra", "categoryType": "Data", "dropclass": MEMORY}],
    )
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidSessionState"
