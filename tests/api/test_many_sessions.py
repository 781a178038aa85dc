"""Many sessions on the same long-lived node managers, in turn and at once.

DALiuGE's second-session bug (daliuge.md 7.2): a second graph on already connected NMs
failed to deploy. Every graph here has only cross-node edges.
"""

from __future__ import annotations

import gzip
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

import httpx
from api_helpers import LiveServer, cross_node_graph, wait_for_end

Outcome = tuple[dict[str, int], dict[str, dict[str, int]], str]


def _run_one(server: LiveServer, tag: str) -> Outcome:
    """Create, append (gzip, as DALiuGE does), deploy and wait for session ``tag``;
    return its node status, drop status and output file's text."""
    out = server.workspace / f"{tag}.txt"
    body = gzip.compress(json.dumps(cross_node_graph(tag, server.nodes, out)).encode())
    with httpx.Client(base_url=server.url, timeout=30) as http:
        http.post("/api/sessions", json={"sessionId": tag}).raise_for_status()
        http.post(
            f"/api/sessions/{tag}/graph/append",
            content=body,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        ).raise_for_status()
        http.post(f"/api/sessions/{tag}/deploy", data={"completed": "hello"}).raise_for_status()
        status = wait_for_end(http, tag)
        drops = http.get(f"/api/sessions/{tag}/graph/status").json()
    return status, drops, out.read_text()


_ALL_DONE = {
    "hello": {"status": 2, "execStatus": 2},
    "text": {"status": 2},
    "upper": {"status": 2, "execStatus": 2},
    "result": {"status": 2},
}


def test_two_then_ten_sessions_one_after_another(server: LiveServer) -> None:
    """Two sessions, then ten more, each deployed after the previous one finished, on
    the same three NMs: every one finishes, with its own output."""
    for count, prefix in ((2, "pair"), (10, "ten")):
        for index in range(count):
            tag = f"{prefix}{index}"
            status, drops, output = _run_one(server, tag)
            assert status == {n: 4 for n in server.nodes}
            assert drops == _ALL_DONE
            assert output == f"HELLO-{tag.upper()}\n"
    with httpx.Client(base_url=server.url) as http:
        listed = http.get("/api/sessions").json()
    assert len(listed) == 12
    assert all(s["status"] == {n: 4 for n in server.nodes} for s in listed)


def test_ten_sessions_at_once(server: LiveServer) -> None:
    """Ten clients create, append, deploy and poll their own sessions concurrently; each
    session finishes with its own output and no state leaks between them."""
    tags = [f"par{index}" for index in range(10)]
    with ThreadPoolExecutor(max_workers=10) as pool:
        futures = {tag: pool.submit(_run_one, server, tag) for tag in tags}
        results = {tag: future.result(timeout=60) for tag, future in futures.items()}
    assert len(results) == 10
    for tag, (status, drops, output) in results.items():
        assert status == {n: 4 for n in server.nodes}
        assert drops == _ALL_DONE
        assert output == f"HELLO-{tag.upper()}\n"
    with httpx.Client(base_url=server.url) as http:
        assert sorted(s["sessionId"] for s in http.get("/api/sessions").json()) == sorted(tags)
