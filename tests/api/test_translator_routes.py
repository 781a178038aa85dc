"""DALiuGE's translator web service routes on a live liuray server (api/translator.py).

The logical graphs are eagle-test-graphs' (``daliuge_tests.translator.logical_graphs``),
posted as DALiuGE's forms; the answers must have ``dlg tm``'s shapes (a list of drop
specs then a reprodata object; a GoJS model; a redirect to the session's page), the
same drops as liuray's own translator, and bad input must be a 4xx naming the problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx")
logical_graphs = pytest.importorskip("daliuge_tests.translator.logical_graphs")

from api_helpers import LiveServer, wait_for_end  # noqa: E402

from liuray.errors import GraphError  # noqa: E402
from liuray.graph.logical import load_logical_graph  # noqa: E402
from liuray.translate import unroll  # noqa: E402

HELLO = "HelloWorld_simple.graph"
GRAPHS = sorted(
    path.name for path in resources.files(logical_graphs).iterdir() if path.name.endswith(".graph")
)


def graph_text(name: str) -> str:
    """One of eagle-test-graphs' logical graphs, as JSON text."""
    return (resources.files(logical_graphs) / name).read_text(encoding="utf-8")


def liuray_specs(name: str) -> list[dict[str, Any]] | None:
    """liuray's own unrolling of the graph (None where liuray refuses it)."""
    try:
        return unroll(load_logical_graph(json.loads(graph_text(name))))
    except GraphError:
        return None


def specs_and_trailer(answer: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """DALiuGE's answer shape: drop specs, then one object without ``oid``."""
    assert isinstance(answer, list)
    *specs, trailer = answer
    assert isinstance(trailer, dict)
    assert "oid" not in trailer
    assert all(isinstance(spec, dict) and spec["oid"] for spec in specs)
    return specs, trailer


def pgt_id_of(page: str) -> str:
    """The ``pgt_id`` on the page ``POST /gen_pgt`` answers with."""
    found = re.search(r'name="pgt_id" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def gen_pgt(http: httpx.Client, name: str, **fields: str) -> str:
    """EAGLE's "translate" of corpus graph ``name``; returns the ``pgt_id``."""
    page = http.post("/gen_pgt", data={"lg_name": name, "json_data": graph_text(name), **fields})
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    return pgt_id_of(page.text)


@pytest.mark.parametrize("name", GRAPHS)
def test_unroll_answers_liurays_drops_or_names_the_problem(client: httpx.Client, name: str) -> None:
    """Every graph of the corpus: the drops liuray's translator makes, then reprodata;
    a graph liuray refuses is a 400 saying why."""
    response = client.post("/unroll", data={"lg_content": graph_text(name)})
    expected = liuray_specs(name)
    if expected is None:
        assert response.status_code == 400
        assert response.json()["error"] == "GraphError"
        return
    assert response.status_code == 200, response.text
    specs, trailer = specs_and_trailer(response.json())
    assert trailer == {}
    assert [spec["oid"] for spec in specs] == [spec["oid"] for spec in expected]


@pytest.mark.parametrize("name", GRAPHS)
def test_unroll_and_partition_labels_every_drop(client: httpx.Client, name: str) -> None:
    """METIS into 2 partitions (1 where the graph has one drop): ``#<i>`` labels, island
    ``#0``, as DALiuGE's ``/unroll_and_partition`` writes them."""
    expected = liuray_specs(name)
    if expected is None:
        pytest.skip(f"liuray does not translate {name} yet")
    form = {"lg_content": graph_text(name), "algorithm": "metis"}
    form["num_partitions"] = str(min(2, len(expected)))
    response = client.post("/unroll_and_partition", data=form)
    assert response.status_code == 200, response.text
    specs, _ = specs_and_trailer(response.json())
    assert len(specs) == len(expected)
    assert {spec["node"] for spec in specs} == {f"#{i}" for i in range(int(form["num_partitions"]))}
    assert {spec["island"] for spec in specs} == {"#0"}


def test_partition_then_map_onto_named_nodes(client: httpx.Client) -> None:
    """``/unroll`` -> ``/partition`` (min_num_parts, max_cpu 1) -> ``/map``: the first
    name is the island manager, partitions go to the others in turn."""
    unrolled = client.post(
        "/unroll", data={"lg_content": graph_text("SuperBasicScatterGather.graph")}
    )
    parted = client.post(
        "/partition",
        data={"pgt_content": unrolled.text, "algorithm": "min_num_parts", "max_cpu": "1"},
    )
    assert parted.status_code == 200, parted.text
    specs, _ = specs_and_trailer(parted.json())
    assert len({spec["node"] for spec in specs}) > 1  # four parallel branches, DoP 1
    mapped = client.post("/map", data={"pgt_content": parted.text, "nodes": "dim0, nm0, nm1"})
    assert mapped.status_code == 200, mapped.text
    specs, _ = specs_and_trailer(mapped.json())
    assert {spec["node"] for spec in specs} == {"nm0", "nm1"}
    assert {spec["island"] for spec in specs} == {"dim0"}


def test_map_without_nodes_uses_this_servers(client: httpx.Client, server: LiveServer) -> None:
    """No ``nodes``: DALiuGE asks the manager; liuray maps onto its own node managers."""
    parted = client.post(
        "/unroll_and_partition",
        data={"lg_content": graph_text("SuperBasicScatterGather.graph"), "num_partitions": "3"},
    )
    mapped = client.post("/map", data={"pgt_content": parted.text})
    assert mapped.status_code == 200, mapped.text
    specs, _ = specs_and_trailer(mapped.json())
    assert {spec["node"] for spec in specs} == set(server.nodes)


def test_lg_fill_replaces_placeholders(client: httpx.Client) -> None:
    """``~{name}`` and nested ``~{a.b}`` filled from ``parameters``; reprodata added."""
    graph = json.loads(graph_text("HelloWorld_simple.graph"))
    graph["modelData"]["detailedDescription"] = "greets ~{who} ~{deep.level}"
    response = client.post(
        "/lg_fill",
        data={
            "lg_content": json.dumps(graph),
            "parameters": json.dumps({"who": "you", "deep": {"level": 2}}),
        },
    )
    assert response.status_code == 200, response.text
    filled = response.json()
    assert filled["modelData"]["detailedDescription"] == "greets you 2"
    assert filled["reprodata"] == {"rmode": "0"}
    assert filled["nodeDataArray"] == graph["nodeDataArray"]


def test_gen_pgt_keeps_the_template_for_pgt_jsonbody(client: httpx.Client) -> None:
    """EAGLE's "translate": a page naming the pgt_id; the viewer's JSON is a GoJS model
    (as a JSON string, as DALiuGE sends it) with one group per partition."""
    pgt_id = gen_pgt(client, "SuperBasicScatterGather.graph", algo="metis", num_par="2")
    assert pgt_id == "SuperBasicScatterGather1_pgt.graph"
    view = client.get("/pgt_jsonbody", params={"pgt_name": pgt_id})
    assert view.status_code == 200
    model = json.loads(view.json())
    assert model["class"] == "go.GraphLinksModel"
    groups = [node for node in model["nodeDataArray"] if node.get("isGroup")]
    drops = [node for node in model["nodeDataArray"] if "oid" in node]
    assert sorted(group["name"] for group in groups) == ["Partition_1", "Partition_2"]
    assert len(drops) == len(liuray_specs("SuperBasicScatterGather.graph") or [])
    assert model["linkDataArray"]


def test_gen_pg_deploys_and_redirects_to_the_session(
    client: httpx.Client, server: LiveServer
) -> None:
    """gen_pgt -> gen_pg?dlg_mgr_deploy=on: the graph is deployed on this server, runs
    to FINISHED, and the browser is sent to its monitoring page."""
    pgt_id = gen_pgt(client, HELLO, num_par="1")
    port = httpx.URL(server.url).port
    deployed = client.get(
        "/gen_pg",
        params={
            "pgt_id": pgt_id,
            "dlg_mgr_deploy": "on",
            "dlg_mgr_host": "127.0.0.1",
            "dlg_mgr_port": str(port),
        },
    )
    assert deployed.status_code == 303
    location = httpx.URL(deployed.headers["location"])
    assert location.path == "/session"
    session_id = location.params["sessionId"]
    assert session_id.startswith("HelloWorld_simple1_")
    assert set(wait_for_end(client, session_id).values()) == {4}  # FINISHED
    assert client.get(str(location)).status_code == 200


def test_gen_pg_without_deploy_maps_onto_this_servers_nodes(
    client: httpx.Client, server: LiveServer
) -> None:
    """Without ``dlg_mgr_deploy``: the physical graph, mapped, then reprodata; with only
    ``tpl_nodes_len``: the template's ``#<i>`` labels (DALiuGE's answer)."""
    pgt_id = gen_pgt(client, HELLO)
    mapped = client.get("/gen_pg", params={"pgt_id": pgt_id, "dlg_mgr_host": "localhost"})
    specs, trailer = specs_and_trailer(mapped.json())
    assert {spec["node"] for spec in specs} <= set(server.nodes)
    assert trailer == {"rmode": "0"}
    template = client.get("/gen_pg", params={"pgt_id": pgt_id, "tpl_nodes_len": "1"})
    specs, _ = specs_and_trailer(template.json())
    assert {spec["node"] for spec in specs} == {"#0"}


def test_gen_pg_refuses_another_manager(client: httpx.Client) -> None:
    """liuray deploys only to itself: another manager is a 400 saying what to do."""
    response = client.get(
        "/gen_pg",
        params={
            "pgt_id": gen_pgt(client, HELLO),
            "dlg_mgr_deploy": "on",
            "dlg_mgr_url": "http://dlg-dim.example.org:8001",
        },
    )
    assert response.status_code == 400
    assert "dlg-dim.example.org" in response.json()["message"]


def test_unknown_template_is_404(client: httpx.Client) -> None:
    """A pgt_id never made (or evicted): 404 saying to translate again."""
    for path, field in (("/gen_pg", "pgt_id"), ("/pgt_jsonbody", "pgt_name")):
        response = client.get(path, params={field: "nope_pgt.graph"})
        assert response.status_code == 404
        assert "POST /gen_pgt" in response.json()["message"]


@pytest.mark.parametrize(
    ("path", "form", "words"),
    [
        ("/unroll", lambda: {"lg_content": "{not json"}, "not valid JSON"),
        ("/unroll", lambda: {"lg_content": '{"a": 1}'}, "not an EAGLE logical graph"),
        ("/unroll", lambda: {"lg_content": "[]"}, "not an EAGLE logical graph"),
        ("/unroll", lambda: {"lg_name": HELLO}, "keeps no graph files"),
        ("/unroll", lambda: {"lg_name": HELLO, "lg_content": "{}"}, "not both"),
        ("/unroll", dict, "no graph"),
        (
            "/unroll_and_partition",
            lambda: {"lg_content": graph_text(HELLO), "algorithm": "fastest"},
            "unknown partitioning algorithm 'fastest'",
        ),
        (
            "/unroll_and_partition",
            lambda: {"lg_content": graph_text(HELLO), "algorithm": "pso"},
            "does not implement DALiuGE's 'pso'",
        ),
        (
            "/unroll_and_partition",
            lambda: {"lg_content": graph_text(HELLO), "num_partitions": "two"},
            "'num_partitions' must be an integer",
        ),
        (
            "/gen_pgt",
            lambda: {"lg_name": HELLO, "json_data": graph_text(HELLO), "num_par": "x"},
            "'num_par' must be an integer",
        ),
        ("/gen_pgt", lambda: {"json_data": graph_text(HELLO)}, "'lg_name' is missing"),
        ("/gen_pgt", lambda: {"lg_name": HELLO, "json_data": "nope"}, "not valid JSON"),
        (
            "/partition",
            lambda: {"pgt_content": '[{"oid": "a", "outputs": 5}]'},
            "links are a list",
        ),
        ("/map", lambda: {"pgt_content": '[{"oid": "a", "node": "#0"}]', "nodes": "dim"}, "1 node"),
        (
            "/lg_fill",
            lambda: {"lg_content": '{"nodeDataArray": [], "x": "~{missing}"}'},
            "~{missing}",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_problem(
    client: httpx.Client, path: str, form: Callable[[], dict[str, str]], words: str
) -> None:
    """What a form gets wrong is named in the answer (DALiuGE: 422 or 500)."""
    response = client.post(path, data=form())
    assert response.status_code == 400, response.text
    assert words in response.json()["message"]


def test_helm_and_browser_direct_deployment_are_refused(client: httpx.Client) -> None:
    """DALiuGE's Helm and pg_spec routes: a 400 naming what liuray offers instead."""
    for response in (
        client.get("/gen_pg_helm", params={"pgt_id": "x"}),
        client.post("/gen_pg_spec", json={"pgt_id": "x", "manager_host": "localhost"}),
    ):
        assert response.status_code == 400
        assert "/gen_pg?pgt_id=" in response.json()["message"]
    assert "Helm" in client.get("/gen_pg_helm").json()["message"]


@pytest.mark.parametrize("multipart", [False, True])
def test_a_graph_field_over_a_megabyte_is_read(client: httpx.Client, multipart: bool) -> None:
    """A form field holding a large graph is bounded by the body's limit (10 MB), not
    by Starlette's 1 MB per field."""
    graph = json.loads(graph_text(HELLO))
    graph["modelData"]["detailedDescription"] = "x" * 1_500_000
    content = json.dumps(graph)
    if multipart:
        response = client.post("/unroll", files={"lg_content": (None, content)})
    else:
        response = client.post("/unroll", data={"lg_content": content})
    assert response.status_code == 200, response.text[:300]


def test_a_json_body_is_415(client: httpx.Client) -> None:
    """The routes read forms, as DALiuGE's do."""
    response = client.post("/unroll", json={"lg_content": graph_text(HELLO)})
    assert response.status_code == 415


def test_token_guards_the_translator_routes(make_server: Callable[..., LiveServer]) -> None:
    """With a token, translating and deploying need it as the /api routes do."""
    live = make_server(nodes=1, token="s3cret")
    with httpx.Client(base_url=live.url) as http:
        form = {"lg_content": graph_text(HELLO)}
        assert http.post("/unroll", data=form).status_code == 401
        assert http.get("/gen_pg", params={"pgt_id": "x"}).status_code == 401
        allowed = http.post("/unroll", data=form, params={"access_token": "s3cret"})
        assert allowed.status_code == 200


def _huge_scatter() -> str:
    """A Scatter of 10**7 copies around one app: 10,000,000 drops if unrolled."""
    scatter = {
        "id": "s",
        "name": "huge",
        "category": "Scatter",
        "categoryType": "Construct",
        "fields": [{"name": "num_of_copies", "value": 10**7, "usage": "NoPort"}],
    }
    hello = "dlg.apps.simple.HelloWorldApp"
    app = {
        "id": "a", "name": "work", "category": "PythonApp", "categoryType": "Application",
        "parentId": "s", "fields": [{"name": "dropclass", "value": hello, "usage": "NoPort"}],
    }  # fmt: skip
    return json.dumps({"nodeDataArray": [scatter, app], "linkDataArray": []})


@pytest.mark.parametrize("route", ["/unroll", "/unroll_and_partition", "/gen_pgt"])
def test_a_graph_too_big_to_unroll_here_is_refused_at_once(
    client: httpx.Client, route: str
) -> None:
    """A 10**7-way Scatter would take the server's memory: it is a 400 naming the node
    and the limit, answered before anything is unrolled."""
    if route == "/gen_pgt":
        form = {"json_data": _huge_scatter(), "lg_name": "huge.graph"}
    else:
        form = {"lg_content": _huge_scatter()}
    response = client.post(route, data=form)
    assert response.status_code == 400, response.text[:300]
    assert "unrolls to more than 2,000,000 drops" in response.json()["message"]
    assert "node 'work' alone makes 10,000,000" in response.json()["message"]
