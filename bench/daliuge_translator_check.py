"""Post the same translator forms to DALiuGE 6.6.0's ``dlg tm`` and to ``liuray serve``.

A compatibility check, not a benchmark and not a CI test (it needs the peer venv with
DALiuGE, see ``peer_env.py``; its ``dlg tm`` needs ``fastapi==0.115.12``). Run it with
liuray's interpreter; it starts both servers on free ports and stops them at the end::

    .venv/bin/python bench/daliuge_translator_check.py [--peer bench/.peer-venv]

For each of eagle-test-graphs' logical graphs that both translators read, it compares
the *structure* of the answers (not the bytes: DALiuGE computes reproducibility hashes
and the partitions METIS draws may differ):

* ``POST /unroll`` (``oid_prefix=1``): a list of specs then one object without ``oid``;
  the same oids, each with the same ``categoryType``.
* ``POST /unroll_and_partition`` (``metis``, 2 partitions): the same oids, every spec
  labelled ``node = "#<i>"``, ``island = "#0"`` (how many partitions METIS used is
  reported, not compared).
* ``POST /partition`` of DALiuGE's own ``/unroll`` answer: as above.
* ``POST /lg_fill``: the same top-level keys.
* ``POST /gen_pgt`` -> ``GET /pgt_jsonbody`` -> ``GET /gen_pg?tpl_nodes_len=``: an HTML
  page naming a ``pgt_id`` of the same form; a JSON string holding a GoJS model with
  the same keys and drops (partition groups reported); the template as specs then
  reprodata.

Then ``POST /map`` (DALiuGE 6.6.0 indexes the ``nodes`` string character by character,
a known bug: reported, not counted), ``GET /api/submission_method``, deploying with
``GET /gen_pg?dlg_mgr_deploy=on`` (DALiuGE's translator deploying *to* the liuray
server, and liuray's own) and bad input (both must refuse it with a 4xx; DALiuGE's
500s are reported). Prints one line per comparison; exits 0 when every structural
comparison agrees, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
#: Graphs whose structure the comparisons need: a scatter/gather, loops, group-bys.
GRAPHS = [
    "HelloWorld_simple.graph",
    "SuperBasicScatterGather.graph",
    "testLoop.graph",
    "ArrayLoop.graph",
    "test_grpby_gather.graph",
    "eagle_gather_simple_update.graph",
    "chiles_simple.graph",
]


def free_port() -> int:
    """A port nothing listens on (just released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running(command: list[str], url: str, probe: str) -> Iterator[str]:
    """Start ``command``, wait until ``url + probe`` answers, stop it at the end."""
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + probe, timeout=2).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"{command[0]} did not start:\n{log.read().decode()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


class Report:
    """Comparison lines, and whether any structural one disagreed."""

    def __init__(self) -> None:
        self.failures = 0

    def same(self, what: str, ok: bool, detail: str = "") -> None:
        """One structural comparison."""
        self.failures += not ok
        print(f"{'same   ' if ok else 'DIFFERS'} {what}{': ' + detail if detail else ''}")

    def note(self, what: str, detail: str) -> None:
        """A difference that is expected (a DALiuGE bug, liuray's stricter answer)."""
        print(f"note    {what}: {detail}")


def graph_text(name: str) -> str:
    """One of eagle-test-graphs' logical graphs as text."""
    import daliuge_tests.translator.logical_graphs as graphs

    return (resources.files(graphs) / name).read_text(encoding="utf-8")


def split(answer: Any) -> tuple[list[dict[str, Any]], Any]:
    """Specs and the trailing object of a translator answer."""
    if not isinstance(answer, list) or not answer:
        return [], None
    *specs, trailer = answer
    return specs, trailer


def shape(answer: Any) -> dict[str, Any]:
    """What the comparisons look at in a list-of-specs answer."""
    specs, trailer = split(answer)
    return {
        "trailer is an object without oid": isinstance(trailer, dict) and "oid" not in trailer,
        "oids": sorted(spec.get("oid", "") for spec in specs),
        "categoryType by oid": {spec.get("oid"): spec.get("categoryType") for spec in specs},
        "partitions": len({spec.get("node") for spec in specs}),
        "labels": all(
            re.fullmatch(r"#\d+", str(spec.get("node"))) and spec.get("island") == "#0"
            for spec in specs
        ),
    }


def answers(report: Report, what: str, responses: list[httpx.Response]) -> list[Any] | None:
    """Both answers' JSON, or None (noted) when DALiuGE or liuray did not answer 200."""
    codes = [response.status_code for response in responses]
    if codes == [200, 200]:
        return [response.json() for response in responses]
    if codes[1] == 200:
        report.note(what, f"DALiuGE answers {codes[0]}: {responses[0].text[:80]!r}")
    else:
        report.same(what, False, f"liuray answers {codes[1]}: {responses[1].text[:200]}")
    return None


def compare(report: Report, what: str, both: list[Any] | None, keys: list[str]) -> None:
    """Compare the chosen parts of two answers' shapes; partition counts are noted
    (METIS builds differ), everything else must agree."""
    if both is None:
        return
    theirs, mine = shape(both[0]), shape(both[1])
    differing = [key for key in keys if theirs[key] != mine[key] and key != "partitions"]
    detail = f"{len(mine['oids'])} drops" if not differing else f"differ in {differing}"
    if "oids" in differing:
        only_peer = sorted(set(theirs["oids"]) - set(mine["oids"]))[:3]
        only_ours = sorted(set(mine["oids"]) - set(theirs["oids"]))[:3]
        detail += f" (DALiuGE only: {only_peer}, liuray only: {only_ours})"
    if "partitions" in keys:
        detail += f"; partitions DALiuGE {theirs['partitions']}, liuray {mine['partitions']}"
    report.same(what, not differing, detail)


def check_graph(report: Report, peer: httpx.Client, ours: httpx.Client, name: str) -> None:
    """Every route that takes a logical graph, for graph ``name``."""
    text = graph_text(name)
    form = {"lg_content": text, "oid_prefix": "1"}
    unrolled = [client.post("/unroll", data=form) for client in (peer, ours)]
    if unrolled[1].status_code != 200:
        report.note(f"{name}", f"liuray refuses it ({unrolled[1].json()['message'][:100]})")
        return
    keys = ["trailer is an object without oid", "oids", "categoryType by oid"]
    compare(report, f"{name} /unroll", answers(report, f"{name} /unroll", unrolled), keys)
    if unrolled[0].status_code != 200:
        return
    parted = {**form, "algorithm": "metis", "num_partitions": "2"}
    what = f"{name} /unroll_and_partition metis 2"
    both = [client.post("/unroll_and_partition", data=parted) for client in (peer, ours)]
    keys = ["trailer is an object without oid", "oids", "labels", "partitions"]
    compare(report, what, answers(report, what, both), keys)
    template = {"pgt_content": unrolled[0].text, "algorithm": "metis", "num_partitions": "2"}
    what = f"{name} /partition metis 2 (of DALiuGE's /unroll)"
    both = [client.post("/partition", data=template) for client in (peer, ours)]
    compare(report, what, answers(report, what, both), keys)
    fills = [client.post("/lg_fill", data={"lg_content": text}) for client in (peer, ours)]
    top = [sorted(fill.json()) if fill.status_code == 200 else fill.status_code for fill in fills]
    report.same(f"{name} /lg_fill keys", top[0] == top[1], str(top[1]))
    check_gen_pgt(report, peer, ours, name, text)


def check_gen_pgt(
    report: Report, peer: httpx.Client, ours: httpx.Client, name: str, text: str
) -> None:
    """EAGLE's translate: gen_pgt's page, pgt_jsonbody's model, gen_pg's template."""
    form = {"lg_name": name, "json_data": text, "algo": "metis", "num_par": "2"}
    views, templates = [], []
    for client in (peer, ours):
        page = client.post("/gen_pgt", data=form)
        found = re.search(r'name="pgt_id" value="([^"]+)"', page.text)
        pgt_id = found.group(1) if found else ""
        report.same(
            f"{name} /gen_pgt page ({client.base_url.port})",
            page.status_code == 200 and re.fullmatch(r".+\d+_pgt\.graph", pgt_id) is not None,
            pgt_id,
        )
        views.append(json.loads(client.get("/pgt_jsonbody", params={"pgt_name": pgt_id}).json()))
        templates.append(client.get("/gen_pg", params={"pgt_id": pgt_id, "tpl_nodes_len": "2"}))
    model = [(sorted(view), sum("oid" in node for node in view["nodeDataArray"])) for view in views]
    groups = [sum(bool(node.get("isGroup")) for node in view["nodeDataArray"]) for view in views]
    report.same(
        f"{name} /pgt_jsonbody (keys, drops)",
        model[0] == model[1],
        f"{model[1]}; partition groups DALiuGE {groups[0]}, liuray {groups[1]}",
    )
    keys = ["trailer is an object without oid", "labels", "partitions"]
    what = f"{name} /gen_pg tpl_nodes_len=2"
    compare(report, what, answers(report, what, templates), keys)


def check_deploy(report: Report, peer: httpx.Client, ours: httpx.Client, port: int) -> None:
    """gen_pg with dlg_mgr_deploy: DALiuGE's translator deploying to liuray, and liuray's
    own; both redirect to the session's page and the session finishes."""
    text = graph_text("HelloWorld_simple.graph")
    for client in (peer, ours):
        page = client.post(
            "/gen_pgt", data={"lg_name": "HelloWorld_simple.graph", "json_data": text}
        )
        found = re.search(r'name="pgt_id" value="([^"]+)"', page.text)
        query = {
            "pgt_id": found.group(1) if found else "",
            "dlg_mgr_deploy": "on",
            "dlg_mgr_host": "127.0.0.1",
            "dlg_mgr_port": str(port),
        }
        answer = client.get("/gen_pg", params=query)
        location = answer.headers.get("location", "")
        session = httpx.URL(location).params.get("sessionId", "") if location else ""
        finished = session and wait_finished(port, session)
        report.same(
            f"/gen_pg deploy from {'DALiuGE' if client is peer else 'liuray'}",
            answer.is_redirect and "/session?sessionId=" in location and bool(finished),
            f"{answer.status_code} -> {location}",
        )


def wait_finished(port: int, session: str) -> bool:
    """Whether the liuray server's session ends FINISHED within 30 s."""
    for _ in range(300):
        status = httpx.get(f"http://127.0.0.1:{port}/api/sessions/{session}/status").json()
        if status and all(code >= 4 for code in status.values()):
            return set(status.values()) == {4}
        time.sleep(0.1)
    return False


def check_map_and_errors(report: Report, peer: httpx.Client, ours: httpx.Client) -> None:
    """/map (DALiuGE's bug noted), submission_method, and bad input."""
    text = graph_text("SuperBasicScatterGather.graph")
    template = peer.post("/unroll_and_partition", data={"lg_content": text, "num_partitions": "2"})
    form = {"pgt_content": template.text, "nodes": "10.0.0.1, 10.0.0.2, 10.0.0.3"}
    placed = []
    for client in (peer, ours):
        specs, _ = split(client.post("/map", data=form).json())
        placed.append(sorted({(spec.get("island"), spec.get("node")) for spec in specs}))
    report.note(
        "/map nodes='10.0.0.1, 10.0.0.2, 10.0.0.3' (DALiuGE indexes the string)",
        f"DALiuGE {placed[0]}, liuray {placed[1]}",
    )
    methods = [client.get("/api/submission_method").json() for client in (peer, ours)]
    report.same(
        "/api/submission_method shape", all(list(m) == ["methods"] for m in methods), str(methods)
    )
    bad = {
        "not JSON": ("/unroll", {"lg_content": "{nope"}),
        "not a logical graph": ("/unroll", {"lg_content": '{"a": 1}'}),
        "unknown algorithm": ("/unroll_and_partition", {"lg_content": text, "algorithm": "x"}),
        "non-numeric num_partitions": (
            "/unroll_and_partition",
            {"lg_content": text, "num_partitions": "two"},
        ),
        "name only": ("/unroll", {"lg_name": "nope.graph"}),
    }
    for what, (path, data) in bad.items():
        codes = [status_of(client, path, data) for client in (peer, ours)]
        report.same(f"bad input, {what}: liuray 4xx", 400 <= codes[1] < 500, f"liuray {codes[1]}")
        if not 400 <= codes[0] < 500:
            report.note(f"bad input, {what}", f"DALiuGE answers {codes[0]}")


def status_of(client: httpx.Client, path: str, data: dict[str, str]) -> int:
    """The status a form post gets (0: the server dropped the connection)."""
    try:
        return client.post(path, data=data).status_code
    except httpx.TransportError:
        return 0


def main(argv: list[str] | None = None) -> int:
    """Start both servers, compare, stop them; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", type=Path, default=ROOT / "bench" / ".peer-venv")
    args = parser.parse_args(argv)
    peer_port, our_port = free_port(), free_port()
    work = Path(tempfile.mkdtemp(prefix="translator-check-"))
    (work / "lg").mkdir()
    dlg_tm = [str(args.peer / "bin" / "dlg"), "tm", "-H", "127.0.0.1", "-p", str(peer_port)]
    dlg_tm += ["-d", str(work / "lg"), "-t", str(work / "pgt")]
    liuray = [str(ROOT / ".venv" / "bin" / "liuray"), "serve", "--port", str(our_port)]
    liuray += ["--nodes", "2", "--state-dir", str(work / "state"), "--log-level", "error"]
    report = Report()
    with (
        running(dlg_tm, f"http://127.0.0.1:{peer_port}", "/api/submission_method") as peer_url,
        running(liuray, f"http://127.0.0.1:{our_port}", "/api") as our_url,
        httpx.Client(base_url=peer_url, timeout=120) as peer,
        httpx.Client(base_url=our_url, timeout=120) as ours,
    ):
        for name in GRAPHS:
            check_graph(report, peer, ours, name)
        check_deploy(report, peer, ours, our_port)
        check_map_and_errors(report, peer, ours)
    print("OK" if not report.failures else f"{report.failures} difference(s)")
    return 0 if not report.failures else 1


if __name__ == "__main__":
    sys.exit(main())
