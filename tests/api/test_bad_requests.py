"""Bad input, against a real server: always a 4xx naming the problem, never a 5xx.

Property tests throw what an OpenAPI schema cannot describe at ``graph/append`` (random
JSON that is no graph, bytes that are not UTF-8, gzip streams of garbage, content types
and encodings the route does not read) and check that each gets a 4xx with a JSON
message, that the session keeps what it had, and that a valid graph appended afterwards
still runs. The other tests pin the inputs that once got a 500 (see test_fuzz.py for
the schema-driven half).
"""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

import httpx
from api_helpers import LiveServer, cross_node_graph, wait_for_end
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

APPEND = "/api/sessions/s/graph/append"
_JSON = {"Content-Type": "application/json"}
_ACCEPTED_TYPES = ("application/json", "text/plain")
_SETTINGS = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

#: Any JSON value; integers beyond 64 bits and long strings included.
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
#: A spec whose oid is not a string: invalid however the rest of it looks.
broken_specs = st.builds(
    lambda rest, oid: {**rest, "oid": oid},
    st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    json_values.filter(lambda value: not isinstance(value, str)),
)
#: Scalars that can never be a drop spec nor a graph's name.
non_specs = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)


def _graph_bodies() -> st.SearchStrategy[tuple[bytes, dict[str, str]]]:
    """(body, headers) pairs that are no physical graph, on every layer of the request."""

    def json_body(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return values.map(lambda value: (json.dumps(value).encode(), _JSON))

    not_utf8 = st.binary(max_size=64).map(lambda data: (b"\xff" + data, _JSON))
    gzipped_garbage = st.binary(max_size=64).map(
        lambda data: (gzip.compress(b"\xfe" + data), {**_JSON, "Content-Encoding": "gzip"})
    )
    corrupt_gzip = st.binary(max_size=64).map(
        lambda data: (b"\x1f\x8b\x08\xff" + data, {**_JSON, "Content-Encoding": "gzip"})
    )
    deflated_garbage = st.binary(max_size=64).map(
        lambda data: (zlib.compress(b"{" + data), {**_JSON, "Content-Encoding": "deflate"})
    )
    wrong_types = st.tuples(
        st.just(b'[{"oid": "a", "categoryType": "Data"}]'),
        st.from_regex(r"[a-z]{1,10}/[a-z+.-]{1,12}", fullmatch=True)
        .filter(lambda kind: kind not in _ACCEPTED_TYPES)
        .map(lambda kind: {"Content-Type": kind}),
    )
    wrong_encodings = st.from_regex(r"[a-z0-9-]{1,10}", fullmatch=True).filter(
        lambda encoding: encoding not in ("gzip", "x-gzip", "deflate", "identity")
    )
    return st.one_of(
        json_body(st.lists(broken_specs, min_size=1, max_size=4)),
        json_body(st.lists(json_values, max_size=3).flatmap(_with_a_non_spec)),
        json_body(json_values.filter(lambda value: not isinstance(value, list))),
        not_utf8,
        gzipped_garbage,
        corrupt_gzip,
        deflated_garbage,
        wrong_types,
        wrong_encodings.map(lambda encoding: (b"[]", {**_JSON, "Content-Encoding": encoding})),
    )


def _with_a_non_spec(items: list[Any]) -> st.SearchStrategy[list[Any]]:
    """``items`` with a scalar inserted somewhere: no spec, no graph name."""
    return st.tuples(non_specs, st.integers(0, len(items))).map(
        lambda pair: [*items[: pair[1]], pair[0], *items[pair[1] :]]
    )


def _assert_refused(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] and body["message"], body


@pytest.fixture
def session(client: httpx.Client) -> str:
    """An empty session called ``s``."""
    client.post("/api/sessions", json={"sessionId": "s"}).raise_for_status()
    return "s"


@pytest.mark.usefixtures("session")
def test_garbage_appends_are_refused_and_the_session_still_runs(
    server: LiveServer, client: httpx.Client
) -> None:
    """Hundreds of bad appends, each refused with a 4xx and a message, none of them
    leaving a drop behind; then the graph the session was meant to get runs."""

    @given(request=_graph_bodies())
    @_SETTINGS
    def append_garbage(request: tuple[bytes, dict[str, str]]) -> None:
        body, headers = request
        _assert_refused(client.post(APPEND, content=body, headers=headers))
        assert client.get("/api/sessions/s/graph/size").json() == 0

    append_garbage()
    graph = cross_node_graph("after", server.nodes, server.workspace / "after.txt")
    assert client.post(APPEND, json=graph).status_code == 200
    client.post("/api/sessions/s/deploy").raise_for_status()
    assert wait_for_end(client, "s") == {node: 4 for node in server.nodes}
    assert (server.workspace / "after.txt").read_text() == "HELLO-AFTER\n"


_MEMORY = '{"oid": "m", "categoryType": "Data", "dropclass": "dlg.data.drops.memory.InMemoryDROP"'


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (f"[{_MEMORY}, " + '"x": NaN}]', "NaN is not a JSON number"),
        (f"[{_MEMORY}, " + '"x": -Infinity}]', "-Infinity is not a JSON number"),
        (f"[{_MEMORY}, " + '"x": 1e999}]', "too large for a float"),
        (f"[{_MEMORY}, " + '"x": ' + "9" * 5000 + "}]", "more than 4300 digits"),
        (f"[{_MEMORY}, " + '"x": "\\ud800"}]', "unpaired UTF-16 surrogate"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
    ids=["nan", "infinity", "float-overflow", "long-integer", "lone-surrogate", "deep"],
)
@pytest.mark.usefixtures("session")
def test_json_that_cannot_be_sent_back_is_refused(
    client: httpx.Client, body: str, problem: str
) -> None:
    """JSON that Python reads but no answer could carry back (it once got stored, then
    failed every GET of the graph with a 500) is refused at once, naming why."""
    response = client.post(APPEND, content=body.encode(), headers=_JSON)
    _assert_refused(response)
    assert problem in response.json()["message"]
    assert client.get("/api/sessions/s/graph").json() == {}


@pytest.mark.parametrize("route", ["/api/sessions/s/graph/append", "/api/liuray/submit"])
@pytest.mark.usefixtures("session")
def test_a_spec_without_an_oid_before_reprodata_is_400(client: httpx.Client, route: str) -> None:
    """``[{"": {}}, {"x": 1}]``: the last dict is reprodata and the first a spec with no
    oid; the spec was taken for reprodata a second time, and a later check got a 500."""
    response = client.post(route, json=[{"": {}}, {"x": 1}])
    _assert_refused(response)
    assert "has no valid 'oid'" in response.json()["message"]


@pytest.mark.parametrize("node", ["n\u00e9ud", "\x9e-node", "host name", "node:\u00b2"])
@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("POST", "/api/node/{}"),
        ("DELETE", "/api/node/{}"),
        ("POST", "/api/nodes/{}"),
        ("DELETE", "/api/nodes/{}"),
        ("POST", "/api/liuray/nodes/{}/restart"),
    ],
)
def test_a_node_that_is_no_host_name_is_400(
    client: httpx.Client, method: str, route: str, node: str
) -> None:
    """A node spelled with characters no host name or port has (IDNA could not encode
    them for the lookup: a 500) is refused, saying how to write one."""
    response = client.request(method, route.format(node))
    _assert_refused(response)
    assert response.status_code == 400
    assert "host[:port]" in response.json()["message"]


@pytest.mark.parametrize("node", ["a" * 64, "a..b"])
def test_a_host_name_idna_cannot_encode_is_just_unknown(client: httpx.Client, node: str) -> None:
    """A label too long or empty made the lookup raise UnicodeError (a 500); such a host
    simply does not resolve, so the node is not registered: 404 listing the known ones."""
    response = client.delete(f"/api/node/{node}")
    _assert_refused(response)
    assert response.status_code == 404
    assert "known nodes" in response.json()["message"]


@pytest.mark.parametrize("session_id", ["a\n", "a\r\n", "a/b", "..", "a..b", ""])
def test_an_invalid_session_id_is_400(client: httpx.Client, session_id: str) -> None:
    """Ids are directory names: a trailing newline (which passed a regex's ``$``) is
    refused like any other character outside the allowed set."""
    for response in (
        client.post("/api/sessions", json={"sessionId": session_id}),
        client.post("/api/liuray/submit", params={"sessionId": session_id or "-"}, json=[]),
    ):
        _assert_refused(response)
        assert "invalid session id" in response.json()["message"]


@pytest.mark.parametrize("body", [b"null", b"5", b'"a"', b"true"])
@pytest.mark.usefixtures("session")
def test_deploy_with_a_json_body_that_is_no_object_is_400(
    client: httpx.Client, body: bytes
) -> None:
    """Deploy reads ``{"completed": [...]}`` or a list of uids; other JSON is refused
    rather than taken for "no drops completed"."""
    response = client.post("/api/sessions/s/deploy", content=body, headers=_JSON)
    _assert_refused(response)
    assert "completed" in response.json()["message"]
    assert set(client.get("/api/sessions/s/status").json().values()) == {0}  # not deployed
