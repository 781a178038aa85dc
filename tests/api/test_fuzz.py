"""Schemathesis against liuray's own OpenAPI document: every route, random requests.

Each operation of ``GET /api/openapi.json`` gets schema-valid and schema-invalid
requests (path, query and body), sent in process to the real ASGI app over a fresh
island manager with two in-process node managers. Every answer must be below 500, be
JSON (the event streams: ``text/event-stream``, read for a moment and cut), carry a
status the document lists and a body its schema allows, and a request the schema
rejects must be refused with a 4xx. Path parameters are sometimes swapped for a session,
drop or node that exists, so the fuzzing reaches past the 404s. Generation is
derandomized and bounded, so a run is the same every time and takes seconds.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from schemathesis import checks  # noqa: E402
from starlette.applications import Starlette  # noqa: E402

from liuray.api import create_app, translator  # noqa: E402
from liuray.api.app import api_routes  # noqa: E402
from liuray.api.openapi import build_document  # noqa: E402
from liuray.managers.island import IslandManager  # noqa: E402
from liuray.transports.inproc import InProcessTransport  # noqa: E402
from live_server import hello_graph  # noqa: E402

#: Examples per operation (schema-valid and invalid together): ~1,400 requests in all.
EXAMPLES = 50
#: Seconds an event stream is read before it is cut (it would never end).
STREAM_READ = 0.3
#: The in-process node managers' names (InProcessTransport numbers them from 8000).
NODES = ["localhost:8000", "localhost:8001"]
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]
#: Operations whose schema-valid requests may still be refused (400): what makes their
#: input valid is beyond a schema (a graph that links up, a drop the session has, a
#: session not deployed yet, a host name and a port in range, a logical graph, a kept
#: template). The others must accept
#: every request their schema allows (or answer 404/409).
LOOSE = ("/graph/append", "/submit", "/deploy", "/graph/drop/", "node", *translator.PATHS)


@pytest.fixture
def island(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[IslandManager]:
    """Two node managers, a session ``ready`` (graph appended) and one ``done`` (run)."""

    def no_lookup(host: str) -> str:
        host.encode("idna")  # the real lookup's first step, which may raise UnicodeError
        raise socket.gaierror(f"fuzzing does no DNS lookups ({host!r})")

    # Random node names must not become DNS queries; they resolve to nothing.
    monkeypatch.setattr(socket, "gethostbyname", no_lookup)
    island = IslandManager(InProcessTransport(tmp_path / "nodes", nodes=2, workers=2))
    island.create_session("ready")
    island.append_graph("ready", hello_graph())
    island.submit(hello_graph(), "done")
    yield island
    island.close()


@pytest.fixture
def app(island: IslandManager) -> Any:
    """The ASGI app over :func:`island`."""
    return create_app(island)


# The document is built from the route table, as the app serves it; the requests go to
# each test's own app (passed to ``case.call``), so each operation starts afresh.
schema = schemathesis.openapi.from_dict(build_document(api_routes()))
schema.app = Starlette()
KNOWN = {"sid": ["ready", "done"], "oid": ["hello", "d1", "copy"], "node": NODES}


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    """Each path parameter as generated, or one that exists."""
    if not path_parameters:
        return st.just(path_parameters)
    return st.fixed_dictionaries(
        {
            name: st.sampled_from([value, *KNOWN.get(name, [])])
            for name, value in path_parameters.items()
        }
    )


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_route_answers_within_its_schema(case: Any, app: Any) -> None:
    """No 5xx, JSON bodies matching the document, schema-invalid requests refused."""
    timeout = STREAM_READ if case.path.endswith("events") else 30
    response = case.call(app=app, timeout=timeout)
    strict = not any(part in case.path for part in LOOSE)
    case.validate_response(
        response, checks=[*CHECKS, checks.positive_data_acceptance] if strict else CHECKS
    )


def test_the_document_is_valid_openapi() -> None:
    """The document passes OpenAPI 3.1's own schema; every 200 answer has a schema."""
    schema.validate()
    document = build_document(api_routes())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            (content,) = operation["responses"]["200"]["content"].values()
            assert content["schema"], f"{method.upper()} {path}: no schema for its 200 answer"
