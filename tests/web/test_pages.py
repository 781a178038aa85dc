"""The monitoring page in a real headless Chromium, against a real liuray server.

Each test tells what a user does: submit a graph, watch it on the sessions page, follow
it to its page, see the bar reach 100% and the graph turn green; see why a graph failed;
cancel; look at the nodes. Fixtures are in ``conftest.py`` (one browser per module).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("playwright")

import time

import httpx
from playwright.sync_api import Page, Route, expect
from web_helpers import LivePage, app, data, scatter_graph, wide_graph

from liuray.api import create_app
from live_server import serve


def test_a_session_is_followed_to_100_percent(server: LivePage, page: Page) -> None:
    """The user submits a graph and opens the sessions page: the session is listed; its
    link leads to its page, whose bar reaches 100% and whose graph view shows every
    drop finished; the sessions page says finished too."""
    server.submit("watched", scatter_graph(4))
    page.goto(server.url + "/")
    row = page.locator('tr[data-session="watched"]')
    expect(row).to_be_visible()
    row.get_by_role("link", name="watched").click()
    expect(page).to_have_url(server.url + "/session?sessionId=watched&view=progress-bar")
    expect(page.locator("#progress")).to_have_attribute("data-percent", "100")
    expect(page.locator("#session-state")).to_have_text("finished")
    expect(page.locator("#legend")).to_contain_text("finished 10")
    page.get_by_role("tab", name="Graph").click()
    summary = page.locator("#graph-summary")
    expect(summary).to_have_attribute("data-finished", "10")
    expect(summary).to_have_text("10 drops: finished 10")
    page.get_by_role("link", name="Sessions").click()
    expect(row.locator(".state")).to_have_text("finished")
    expect(row).to_contain_text("100%")


def test_the_graph_fills_in_live(server: LivePage, page: Page) -> None:
    """Opened while the graph runs, the page follows it to the end without a reload."""
    server.submit("live", scatter_graph(3, "sleep 1.5; echo part"))
    page.goto(server.url + "/session?sessionId=live&view=graph")
    expect(page.get_by_role("tab", name="Graph")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#session-state")).to_have_text("running")
    expect(page.locator("#graph-summary")).to_contain_text("running 3")
    expect(page.locator("#graph-summary")).to_have_text("8 drops: finished 8")
    expect(page.locator("#progress")).to_have_attribute("data-percent", "100")


def test_a_failure_shows_its_error_and_output(server: LivePage, page: Page) -> None:
    """A failing app is in the failed-drops table with its error and what it printed."""
    graph = [app("broken", "echo stage-two-output; exit 3", ["lost"]), data("lost")]
    server.submit("failing", graph)
    page.goto(server.url + "/session?sessionId=failing")
    expect(page.locator("#session-state")).to_have_text("failed")
    row = page.locator('#failures tr[data-oid="broken"]')
    expect(row).to_contain_text("exited with status 3")
    expect(row.locator("pre.logs")).to_contain_text("stage-two-output")
    expect(page.locator('#failures tr[data-oid="lost"]')).to_contain_text("broken")


def test_cancel_from_the_session_page(server: LivePage, page: Page) -> None:
    """Cancel asks for a confirmation, then stops the session."""
    server.submit("to-cancel", [app("long", "sleep 60", ["never"]), data("never")])
    page.goto(server.url + "/session?sessionId=to-cancel")
    expect(page.locator("#session-state")).to_have_text("running")
    cancel = page.locator("#cancel-slot button")
    cancel.click()
    expect(cancel).to_have_text("Confirm cancel?")
    cancel.click()
    expect(page.locator("#session-state")).to_have_text("cancelled")
    expect(page.locator("#cancel-slot button")).to_have_count(0)


def test_cancel_from_the_sessions_page(server: LivePage, page: Page) -> None:
    """The sessions page has a cancel button for each running session."""
    server.submit("listed-cancel", [app("long", "sleep 60", ["never"]), data("never")])
    page.goto(server.url + "/")
    row = page.locator('tr[data-session="listed-cancel"]')
    expect(row.locator(".state")).to_have_text("running")
    row.get_by_role("button").click()
    row.get_by_role("button").click()
    expect(row.locator(".state")).to_have_text("cancelled")


def test_the_nodes_page_lists_the_nodes(server: LivePage, page: Page) -> None:
    """Every node manager is listed, alive, with the sessions that used it."""
    page.goto(server.url + "/nodes")
    for name in server.island.nodes():
        expect(page.locator(f'tr[data-node="{name}"]')).to_contain_text("alive")
    expect(page.locator("#nodes-summary")).to_have_text("2 nodes, 2 alive (inproc)")


def _ray_node(index: int, head: bool = False) -> dict[str, Any]:
    """A node as ``GET /api/liuray/nodes`` describes it on Ray."""
    return {
        "name": f"{index:02x}" * 28,
        "node_id": f"{index:02x}" * 28,
        "ip": f"10.0.0.{index}",
        "resources": {"CPU": 8.0, "GPU": 1.0, "memory": 32 * 2**30, f"node:10.0.0.{index}": 1},
        "head": head,
        "state": "ready",
        "alive_since": 1795800000.0,
        "ready_at": 1795800001.0,
        "transport": "ray",
        "session_ids": ["on-ray"] if head else [],
    }


def test_the_nodes_page_follows_ray_nodes_as_they_come_and_go(server: LivePage, page: Page) -> None:
    """On Ray each node shows its id, IP and resources with a link to Ray's dashboard;
    a node the autoscaler adds appears, and one it removes goes, without a reload.
    (The API's answer is replaced here by what a Ray island answers.)"""
    one, two = [_ray_node(1, head=True)], [_ray_node(1, head=True), _ray_node(2)]
    answers = [one, two, one]  # one read every 2 s: a node comes, then goes

    def answer(route: Route) -> None:
        route.fulfill(json=answers.pop(0) if len(answers) > 1 else answers[0])

    page.route("**/api/liuray/nodes", answer)
    page.goto(server.url + "/nodes")
    head = page.locator(f'tr[data-node="{"01" * 28}"]')
    expect(head).to_contain_text("10.0.0.1")
    expect(head).to_contain_text("CPU 8, GPU 1, memory 32.0 GiB")
    expect(head).to_contain_text("alive (ready)")
    expect(head.get_by_role("link", name="01" * 28)).to_have_attribute(
        "href", f"http://10.0.0.1:8265/#/cluster/nodes/{'01' * 28}"
    )
    expect(page.get_by_role("link", name="Ray dashboard")).to_be_visible()
    expect(page.locator("#nodes-summary")).to_have_text("2 nodes, 2 alive (ray)", timeout=10_000)
    expect(page.locator("#nodes-summary")).to_have_text("1 node, 1 alive (ray)", timeout=10_000)


def test_the_daliuge_url_opens_the_session_page(server: LivePage, page: Page) -> None:
    """DALiuGE's translator sends browsers to ``/session?sessionId=<id>&view=...``: the
    same page, on the view asked for; the drop list offers the file drop's download."""
    server.submit("translated", scatter_graph(2, "echo part"))
    page.goto(server.url + "/session?sessionId=translated&view=list")
    expect(page.locator("#session-state")).to_have_text("finished")
    expect(page.get_by_role("tab", name="Drops")).to_have_attribute("aria-selected", "true")
    result = page.locator('#drops tr[data-oid="result"]')
    expect(result).to_contain_text("finished")
    with page.expect_download() as download:
        result.get_by_role("link", name="Download").click()
    assert download.value.path().read_bytes() == b"gathered\n"


def test_the_timeline_shows_where_each_app_ran(server: LivePage, page: Page) -> None:
    """The timeline view lists the apps that ran, lane by node; a bar opens its detail."""
    server.submit("timed", scatter_graph(3, "sleep 0.2; echo part"))
    page.goto(server.url + "/session?sessionId=timed&view=timeline")
    expect(page.locator("#session-state")).to_have_text("finished")
    expect(page.locator("#timeline-summary")).to_contain_text("4 apps ran on")
    canvas = page.locator("#timeline-canvas")
    box = canvas.bounding_box()
    assert box is not None and box["height"] > 40
    # The first lane's bars start where its first app started (later than the axis's
    # origin when another node ran first): find one along the lane's row.
    panel = page.locator("#timeline-panel")
    for x in range(152, int(box["width"]), 6):
        canvas.click(position={"x": x, "y": 29})
        if "finished" in panel.inner_text():
            break
    expect(panel).to_contain_text("finished")


def test_an_unknown_session_says_so(server: LivePage, page: Page) -> None:
    """A wrong id in the URL is said plainly, not shown as an empty session."""
    page.goto(server.url + "/session?sessionId=no-such-session")
    expect(page.locator("#not-found")).to_contain_text("No session no-such-session")


@pytest.mark.parametrize(("allowed", "reaches"), [(True, True), (False, False)])
def test_a_page_of_another_origin_calls_the_api_as_configured(
    server: LivePage,
    start_server: Callable[..., LivePage],
    page: Page,
    allowed: bool,
    reaches: bool,
) -> None:
    """DALiuGE's translator submits from its own origin: the browser's preflight is
    answered for the configured origins only (``liuray serve --cors-origin``)."""
    origin = server.url  # the page's origin: another server than the one called
    other = start_server(cors_origins=[origin] if allowed else ["http://elsewhere.example"])
    page.goto(server.url + "/nodes")
    result = page.evaluate(
        """async (url) => {
            try {
                const r = await fetch(url + "/api/sessions", {method: "POST",
                    headers: {"Content-Type": "application/json", "Authorization": "Bearer x"},
                    body: JSON.stringify({sessionId: "from-" + location.port})});
                return r.status;
            } catch (err) { return String(err); }
        }""",
        other.url.replace("127.0.0.1", "localhost"),
    )
    assert (result == 200) is reaches, result


def test_the_page_asks_for_the_token_once(
    start_server: Callable[..., LivePage], page: Page
) -> None:
    """With a token set on the server, the page asks for it, keeps it for the tab, and
    follows the live stream with it: a session submitted afterwards appears."""
    guarded = start_server(token="s3cret-token")
    page.goto(guarded.url + "/")
    dialog = page.locator("#token-dialog")
    expect(dialog).to_be_visible()
    page.fill("#token-input", "wrong")
    page.click("#token-submit")
    expect(page.locator("#token-help")).to_contain_text("not accepted")
    page.fill("#token-input", "s3cret-token")
    page.click("#token-submit")
    expect(page.locator("#sessions-summary")).to_have_text("0 sessions, 0 running")
    guarded.submit("behind-token", scatter_graph(1, "echo part"))
    expect(page.locator('tr[data-session="behind-token"] .state')).to_have_text("finished")
    page.get_by_role("link", name="behind-token").click()
    expect(page.locator("#progress")).to_have_attribute("data-percent", "100")
    expect(dialog).to_have_count(0)


def test_a_token_in_the_address_fragment_is_used_and_taken_out(
    start_server: Callable[..., LivePage], page: Page
) -> None:
    """``/#token=...`` (what ``liuray ray dashboard`` prints): no dialog, the page reads
    the guarded API with it, and the token leaves the address bar at once."""
    guarded = start_server(token="fragment-token")
    guarded.submit("via-fragment", scatter_graph(1, "echo part"))
    page.goto(guarded.url + "/#token=fragment-token")
    expect(page.locator('tr[data-session="via-fragment"] .state')).to_have_text("finished")
    expect(page.locator("#token-dialog")).to_have_count(0)
    assert "token" not in page.url


def test_a_large_graph_is_grouped_by_logical_node(server: LivePage, page: Page) -> None:
    """Past 2,000 drops the graph view shows one box per logical-graph node with its
    drops' states; a group opens into its drops on demand (here by keyboard)."""
    server.submit("wide", wide_graph(1100))
    page.goto(server.url + "/session?sessionId=wide&view=graph")
    expect(page.locator("#graph-summary")).to_have_text("2202 drops: finished 2202")
    group = page.get_by_role("button", name="work (-1): 1100 drops")
    expect(group).to_have_attribute("aria-pressed", "false")
    group.focus()
    page.keyboard.press("Enter")
    expect(group).to_have_attribute("aria-pressed", "true")


def test_a_busy_session_does_not_make_the_page_flood_the_server(
    server: LivePage, page: Page
) -> None:
    """While 1,000 apps finish (thousands of state changes), the page lives on the
    event stream: it reads ``progress`` and ``graph/status`` at most about once a second,
    and the graph is read once."""
    reads: list[str] = []
    page.on("request", lambda request: reads.append(request.url))
    server.submit("busy", wide_graph(1000, sleep=0.02))
    started = time.monotonic()
    page.goto(server.url + "/session?sessionId=busy&view=graph")
    expect(page.locator("#graph-summary")).to_have_text("2002 drops: finished 2002")
    seconds = time.monotonic() - started
    for route in ("/progress", "/graph/status"):
        count = sum(url.endswith(route) for url in reads)
        assert count <= seconds + 3, (route, count, seconds)
    assert sum(url.endswith("/busy/graph") for url in reads) == 1


def test_an_unreachable_server_is_said_and_the_page_resumes(
    tmp_path_factory: pytest.TempPathFactory, page: Page
) -> None:
    """When the server goes away the page says so; when it is back (same address) the
    banner goes and the page is live again: a session submitted then appears."""
    from liuray.managers.island import IslandManager
    from liuray.transports.inproc import InProcessTransport

    island = IslandManager(InProcessTransport(tmp_path_factory.mktemp("flaky"), nodes=1))
    try:
        with serve(create_app(island)) as url:
            page.goto(url + "/")
            expect(page.locator("#sessions-summary")).to_have_text("0 sessions, 0 running")
        expect(page.locator("#offline")).to_be_visible()
        port = int(url.rsplit(":", 1)[1])
        with serve(create_app(island), port=port):
            expect(page.locator("#offline")).to_be_hidden(timeout=20_000)
            httpx.post(
                f"{url}/api/liuray/submit",
                params={"sessionId": "after-outage"},
                json=scatter_graph(1, "echo part"),
            ).raise_for_status()
            row = page.locator('tr[data-session="after-outage"] .state')
            expect(row).to_have_text("finished", timeout=20_000)
    finally:
        island.close()
