"""liuray.client: requests on the wire (httpx.MockTransport), error mapping, and the
whole DALiuGE flow against a real server."""

from __future__ import annotations

import gzip
import json
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

import httpx

from liuray.client import GZIP_THRESHOLD, Client, SubmitResult
from liuray.errors import (
    GraphError,
    InvalidRequest,
    InvalidSessionState,
    LiurayError,
    NodeNotFound,
    SessionExists,
    SessionNotFound,
    TransportError,
)
from live_server import MEMORY, LiveIsland, bash_graph, closed_port_url, hello_graph, island_server

Handler = Callable[[httpx.Request], httpx.Response]


def mock_client(handler: Handler, seen: list[httpx.Request] | None = None) -> Client:
    """A client whose requests go to ``handler`` (and are recorded in ``seen``)."""

    def record(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            request.read()
            seen.append(request)
        return handler(request)

    return Client("http://dim.test:8001", transport=httpx.MockTransport(record))


def error_response(status: int, name: str, message: str, **detail: Any) -> httpx.Response:
    """The server's JSON error body (see api/errors.py)."""
    body = {"error": name, "message": message, "detail": detail, "type": name, "args": [message]}
    return httpx.Response(status, json=body)


def success(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"Status": "Success"})


# ---------------------------------------------------------------- requests on the wire


def test_create_session_posts_the_id_as_json() -> None:
    """create_session sends DALiuGE's {"sessionId": id} and returns the id echoed."""
    seen: list[httpx.Request] = []
    with mock_client(lambda r: httpx.Response(200, json={"sessionId": "s1"}), seen) as client:
        assert client.create_session("s1") == "s1"
    assert seen[0].method == "POST"
    assert seen[0].url == "http://dim.test:8001/api/sessions"
    assert json.loads(seen[0].content) == {"sessionId": "s1"}


def test_small_graph_is_sent_as_plain_json() -> None:
    """A small append body is JSON without Content-Encoding."""
    seen: list[httpx.Request] = []
    with mock_client(success, seen) as client:
        client.append_graph("s1", hello_graph())
    request = seen[0]
    assert request.url.path == "/api/sessions/s1/graph/append"
    assert request.headers["content-type"] == "application/json"
    assert "content-encoding" not in request.headers
    assert json.loads(request.content) == hello_graph()


def test_large_graph_is_gzip_compressed() -> None:
    """Above 64 KiB the body is gzip-compressed, flagged, and decompresses to the graph."""
    graph = [
        {"oid": f"d{i}", "categoryType": "Data", "dropclass": "x", "pad": "p" * 100}
        for i in range(1000)
    ]
    assert len(json.dumps(graph)) > GZIP_THRESHOLD
    seen: list[httpx.Request] = []
    with mock_client(success, seen) as client:
        client.append_graph("s1", graph)
    request = seen[0]
    assert request.headers["content-encoding"] == "gzip"
    assert len(request.content) < GZIP_THRESHOLD
    assert json.loads(gzip.decompress(request.content)) == graph


def test_deploy_sends_completed_as_a_form_field() -> None:
    """deploy_session(completed=[...]) sends DALiuGE's form field completed=a,b."""
    seen: list[httpx.Request] = []
    with mock_client(success, seen) as client:
        client.deploy_session("s1", completed=["a", "b"])
        client.deploy_session("s2")
    with_uids, plain = seen
    assert with_uids.url.path == "/api/sessions/s1/deploy"
    assert with_uids.headers["content-type"] == "application/x-www-form-urlencoded"
    assert with_uids.content == b"completed=a%2Cb"
    assert plain.content == b""


def test_submit_passes_session_id_and_completed_in_the_query() -> None:
    """submit posts the graph to /api/liuray/submit and returns id and monitoring URL."""
    seen: list[httpx.Request] = []
    answer = {"sessionId": "mine", "url": "http://dim.test:8001/session?sessionId=mine"}
    with mock_client(lambda r: httpx.Response(200, json=answer), seen) as client:
        result = client.submit(hello_graph(), session_id="mine", completed=["hello"])
    assert result == SubmitResult("mine", "http://dim.test:8001/session?sessionId=mine")
    assert seen[0].url.path == "/api/liuray/submit"
    assert dict(seen[0].url.params) == {"sessionId": "mine", "completed": "hello"}
    assert json.loads(seen[0].content) == hello_graph()


def test_node_names_keep_their_colons_in_the_path() -> None:
    """Node routes put the node name in the path; DALiuGE's host:port:evt:rpc survives."""
    seen: list[httpx.Request] = []
    with mock_client(success, seen) as client:
        client.add_node("host-1:8000:5555:6666")
        client.remove_node("host-1:8000")
    assert [(r.method, r.url.path) for r in seen] == [
        ("POST", "/api/node/host-1:8000:5555:6666"),
        ("DELETE", "/api/node/host-1:8000"),
    ]


def test_base_url_without_scheme_gets_http() -> None:
    """``host:port`` and a trailing slash are accepted as the server address."""
    assert Client("127.0.0.1:8001/").base_url == "http://127.0.0.1:8001"


def test_wait_polls_a_server_without_event_stream_until_the_session_ends() -> None:
    """Against a server without the event stream (DALiuGE), wait() polls progress,
    reports every poll to on_progress and returns the final state."""
    states = iter(["running", "running", "finished"])

    def progress(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            return httpx.Response(404, json={"error": "NotFound", "message": "no route"})
        return httpx.Response(200, json={"state": next(states), "counts": {}, "total": 1})

    reported: list[str] = []
    with mock_client(progress) as client:
        final = client.wait("s1", interval=0.001, on_progress=lambda p: reported.append(p["state"]))
    assert final["state"] == "finished"
    assert reported == ["running", "running", "finished"]


def test_wait_returns_the_running_state_at_the_timeout() -> None:
    """A session that does not end within the timeout comes back still running."""

    def progress(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"state": "running", "counts": {}, "total": 1})

    with mock_client(progress) as client:
        final = client.wait("s1", timeout=0.05, interval=0.01)
    assert final["state"] == "running"


# ---------------------------------------------------------------- errors


def test_error_body_becomes_the_same_exception_class() -> None:
    """A 404 SessionNotFound body is raised as SessionNotFound, message and detail kept."""
    body = error_response(404, "SessionNotFound", "no session 'x'", session_id="x")
    with mock_client(lambda r: body) as client, pytest.raises(SessionNotFound) as caught:
        client.session_status("x")
    assert caught.value.message == "no session 'x'"
    assert caught.value.detail == {"session_id": "x"}
    restored = pickle.loads(pickle.dumps(caught.value))
    assert isinstance(restored, SessionNotFound)
    assert restored.detail == {"session_id": "x"}


@pytest.mark.parametrize(
    ("status", "name", "expected"),
    [
        (409, "SessionExists", SessionExists),
        (400, "GraphError", GraphError),
        (400, "InvalidSessionState", InvalidSessionState),
        (404, "NodeNotFound", NodeNotFound),
        (502, "TransportError", TransportError),
        (413, "RequestTooLarge", InvalidRequest),
        (415, "UnsupportedMediaType", InvalidRequest),
    ],
)
def test_every_error_name_maps_to_its_class(
    status: int, name: str, expected: type[LiurayError]
) -> None:
    """Each name of the server's status table comes back as its liuray.errors class."""
    with mock_client(lambda r: error_response(status, name, "refused")) as client:
        with pytest.raises(expected) as caught:
            client.sessions()
    assert type(caught.value) is expected


def test_detail_named_message_does_not_break_the_rebuild() -> None:
    """A detail key that clashes with the constructor's own argument is still kept."""
    detail = {"message": "inner", "uid": "a"}
    body = httpx.Response(400, json={"error": "GraphError", "message": "bad", "detail": detail})
    with mock_client(lambda r: body) as client, pytest.raises(GraphError) as caught:
        client.sessions()
    assert caught.value.detail == {"message": "inner", "uid": "a"}


def test_unknown_error_name_is_a_plain_liuray_error() -> None:
    """A name liuray does not know (e.g. the 404 of an unknown route) is LiurayError."""
    body = error_response(404, "NotFound", "no route GET /api/nope")
    with mock_client(lambda r: body) as client, pytest.raises(LiurayError) as caught:
        client.sessions()
    assert type(caught.value) is LiurayError
    assert caught.value.message == "no route GET /api/nope"


def test_daliuge_error_body_is_understood() -> None:
    """DALiuGE's {"type": "NoSessionException", "args": [...]} is SessionNotFound."""
    body = httpx.Response(404, json={"type": "NoSessionException", "args": ["no session s9"]})
    with mock_client(lambda r: body) as client, pytest.raises(SessionNotFound) as caught:
        client.session("s9")
    assert caught.value.message == "no session s9"


def test_non_json_error_reply_names_the_status() -> None:
    """An HTML error page (a proxy's 502) is a LiurayError quoting status and text."""
    page = httpx.Response(502, text="<html>Bad Gateway</html>")
    with mock_client(lambda r: page) as client, pytest.raises(LiurayError) as caught:
        client.nodes()
    assert "HTTP 502" in caught.value.message
    assert "Bad Gateway" in caught.value.message
    assert caught.value.detail == {"status": 502}


def test_non_json_success_is_a_transport_error() -> None:
    """A 200 that is not JSON means the URL is not a liuray server."""
    page = httpx.Response(200, text="<html>welcome</html>")
    with mock_client(lambda r: page) as client, pytest.raises(TransportError) as caught:
        client.nodes()
    assert "not JSON" in caught.value.message


def test_unreachable_server_is_a_transport_error_naming_the_url() -> None:
    """Nothing listens: TransportError says which URL and to start `liuray serve`."""
    url = closed_port_url()
    with Client(url, timeout=5) as client, pytest.raises(TransportError) as caught:
        client.sessions()
    assert url in caught.value.message
    assert "liuray serve" in caught.value.message
    assert caught.value.detail["url"] == url


def test_timeout_is_a_transport_error() -> None:
    """A server that does not answer in time gives TransportError, not an httpx error."""

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with mock_client(slow) as client, pytest.raises(TransportError) as caught:
        client.graph_size("s1")
    assert "no answer within" in caught.value.message


# ---------------------------------------------------------------- against a real server


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveIsland]:
    """liuray's REST API over two in-process node managers."""
    with island_server(tmp_path / "nodes", nodes=2) as server:
        yield server


@pytest.fixture
def client(live: LiveIsland) -> Iterator[Client]:
    with Client(live.url, timeout=30) as connected:
        yield connected


def test_daliuge_flow_runs_a_graph_to_the_end(client: Client) -> None:
    """create_session, append_graph, deploy_session, wait: the graph finishes and every
    read route reports it (sizes, integer codes, per-drop detail)."""
    client.create_session("flow")
    client.append_graph("flow", hello_graph())
    assert client.graph_size("flow") == 4
    client.deploy_session("flow")
    final = client.wait("flow", timeout=20, interval=0.02)

    assert final["state"] == "finished"
    assert final["total"] == 4
    assert set(client.session_status("flow").values()) == {4}
    assert client.graph_status("flow")["copy"] == {"status": 2, "execStatus": 2}
    assert set(client.graph("flow")) == {"hello", "d1", "copy", "d2"}
    assert client.drop_detail("flow", "hello")["oid"] == "hello"
    assert client.session("flow")["graph"]["d2"]["oid"] == "d2"
    assert [s["sessionId"] for s in client.sessions()] == ["flow"]


def test_submit_returns_id_and_url_of_the_monitoring_page(client: Client) -> None:
    """submit creates, appends and deploys; the URL points at this server's page."""
    result = client.submit(hello_graph(), session_id="one-call")
    assert result.session_id == "one-call"
    assert result.url == f"{client.base_url}/session?sessionId=one-call"
    assert client.wait("one-call", timeout=20, interval=0.02)["state"] == "finished"


def test_large_gzip_graph_is_accepted_by_the_server(client: Client) -> None:
    """A graph bigger than 64 KiB travels compressed and the server reads all of it."""
    graph = [
        {"oid": f"d{i}", "categoryType": "Data", "dropclass": MEMORY, "note": "n" * 80}
        for i in range(800)
    ]
    client.create_session("big")
    client.append_graph("big", graph)
    assert client.graph_size("big") == 800


def test_failed_session_reports_the_failing_app(client: Client) -> None:
    """A bash app exiting 3 fails the session; progress names it with its error."""
    client.submit(bash_graph("exit 3"), session_id="broken")
    final = client.wait("broken", timeout=20, interval=0.02)
    assert final["state"] == "failed"
    errors = {failure["oid"]: failure["error"] for failure in final["failures"]}
    assert "status 3" in errors["shell"]


def test_server_errors_come_back_as_liuray_errors(client: Client) -> None:
    """Real refusals map to the same classes: unknown session, duplicate id, bad graph,
    appending after deploy, removing an unknown node."""
    with pytest.raises(SessionNotFound):
        client.session_status("nope")
    client.create_session("dup")
    with pytest.raises(SessionExists) as exists:
        client.create_session("dup")
    assert exists.value.detail["session_id"] == "dup"
    with pytest.raises(GraphError):
        client.append_graph("dup", [{"oid": "a", "categoryType": "Data", "consumers": ["zz"]}])
    client.submit(hello_graph(), session_id="done")
    with pytest.raises(InvalidSessionState):
        client.append_graph("done", hello_graph())
    with pytest.raises(NodeNotFound) as missing:
        client.remove_node("nowhere:9999")
    assert "localhost:8000" in missing.value.message


def test_nodes_and_node_details(client: Client, live: LiveIsland) -> None:
    """nodes() lists canonical names; add_node is idempotent across spellings."""
    assert client.nodes() == ["localhost:8000", "localhost:8001"]
    assert [node["name"] for node in client.node_details()] == client.nodes()
    client.add_node("localhost:8000:5555:6666")
    assert client.nodes() == ["localhost:8000", "localhost:8001"]
    client.remove_node("localhost:8001")
    assert client.nodes() == ["localhost:8000"]


def test_cancel_and_destroy(client: Client) -> None:
    """A sleeping session is cancelled, then destroyed and forgotten."""
    client.submit(bash_graph("sleep 20"), session_id="long")
    client.cancel_session("long")
    assert client.wait("long", timeout=20, interval=0.02)["state"] == "cancelled"
    client.destroy_session("long")
    with pytest.raises(SessionNotFound):
        client.session_status("long")


def test_wait_polls_when_the_event_stream_closes_before_the_end() -> None:
    """A stream cut short (a proxy, a server restart) is not taken for the end: wait()
    polls progress for the rest and returns the real final state."""
    states = iter(["running", "finished"])
    stream = 'event: progress\ndata: {"state": "running", "counts": {}, "total": 1}\n\n'

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/events"):
            return httpx.Response(200, text=stream, headers={"content-type": "text/event-stream"})
        return httpx.Response(200, json={"state": next(states), "counts": {}, "total": 1})

    with mock_client(answer) as client:
        final = client.wait("s1", interval=0.001)

    assert final["state"] == "finished"
