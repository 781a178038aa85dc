"""The monitoring page on a 50,000-drop session: load time, update rate, server CPU.

    python bench/web_bench.py [--drops 50000] [--nodes 2] [--sleep 0.005] [--window 4]

Starts ``liuray serve`` (a child process, so its CPU time is its own), submits a
session of ``--drops`` drops (``drops/2 - 1`` SleepApps, each writing a memory drop,
gathered by one app; every app and data drop carries an ``lg_key``, as a translated
graph does), and while it runs:

1. measures the server's CPU over a window with no page open (the session's own cost);
2. opens the session page in headless Chromium (Debian's, as in tests/web) and takes
   the time until its progress bar shows a number (``load_s``), then, on the same
   page, the time until the graph view has drawn every drop (``graph_s``: reads the
   50,000 specs, lays out the groups);
3. measures the server's CPU over an equal window with the page open, and counts the
   progress bar's updates (``updates_per_s``), then again with the graph view open
   (``server_cpu_graph_view``; it applies every changed drop to the drawing), and
   with only the sessions page open (``server_cpu_sessions_page``);

so ``page_cpu_percent`` (with the page minus without, in % of one core) is what the
page costs the server. Targets (issue 9): load < 2 s, >= 1 update a second, page
< 5% of a core. One JSON line on stdout; a summary on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("LIURAY_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TICKS = os.sysconf("SC_CLK_TCK")


def graph(drops: int, sleep: float) -> list[dict[str, Any]]:
    width = drops // 2 - 1
    specs: list[dict[str, Any]] = []
    for i in range(width):
        specs.append(
            {
                "oid": f"work{i}",
                "categoryType": "Application",
                "dropclass": "dlg.apps.simple.SleepApp",
                "sleep_time": sleep,
                "outputs": [f"part{i}"],
                "lg_key": -1,
                "name": "work",
            }
        )
        specs.append(
            {
                "oid": f"part{i}",
                "categoryType": "Data",
                "dropclass": "dlg.data.drops.memory.InMemoryDROP",
                "lg_key": -2,
                "name": "part",
            }
        )
    specs.append(
        {
            "oid": "gather",
            "categoryType": "Application",
            "dropclass": "dlg.apps.simple.SleepApp",
            "sleep_time": 0,
            "inputs": [f"part{i}" for i in range(width)],
            "outputs": ["final"],
            "lg_key": -3,
            "name": "gather",
        }
    )
    specs.append(
        {
            "oid": "final",
            "categoryType": "Data",
            "dropclass": "dlg.data.drops.memory.InMemoryDROP",
            "lg_key": -4,
        }
    )
    return specs


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def cpu_percent(pid: int, seconds: float) -> float:
    start, begun = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - start) / (time.monotonic() - begun)


def start_server(state: Path, nodes: int) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "liuray.cli.main", "serve", "--port", "0"]
    command += ["--nodes", str(nodes), "--state-dir", str(state), "--log-level", "warning"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"REST API:\s+(http://\S+)/api", line)
        if found:
            return process, found.group(1)
    raise RuntimeError("liuray serve did not start")


def watch_updates(page: Page) -> None:
    page.evaluate(
        """() => {
            window.__updates = 0;
            new MutationObserver(() => { window.__updates += 1; })
                .observe(document.getElementById("legend"), {childList: true, subtree: true});
        }"""
    )


def measure(browser: Browser, http: httpx.Client, pid: int, window: float) -> dict[str, Any]:
    """The page's measurements while session ``big`` runs (see the module docstring)."""
    result: dict[str, Any] = {}

    def server_cpu(key: str) -> None:
        result[key] = round(cpu_percent(pid, window), 1)
        state = http.get("/api/liuray/sessions/big/progress").json()["state"]
        result[f"running_after_{key}"] = state == "running"

    page = browser.new_page(viewport={"width": 1400, "height": 900})
    begun = time.monotonic()
    page.goto(f"{http.base_url}/session?sessionId=big")
    page.wait_for_function("document.getElementById('progress').dataset.percent !== undefined")
    result["load_s"] = round(time.monotonic() - begun, 2)
    watch_updates(page)
    begun = time.monotonic()
    server_cpu("server_cpu_with_page")
    updates = page.evaluate("window.__updates")
    result["updates_per_s"] = round(updates / (time.monotonic() - begun), 1)
    begun = time.monotonic()
    page.get_by_role("tab", name="Graph").click()
    page.wait_for_function(
        "document.getElementById('graph-summary').dataset.total !== undefined", timeout=60_000
    )
    result["graph_s"] = round(time.monotonic() - begun, 2)
    server_cpu("server_cpu_graph_view")
    page.close()
    sessions = browser.new_page(viewport={"width": 1400, "height": 900})
    sessions.goto(f"{http.base_url}/")
    sessions.wait_for_selector('tr[data-session="big"]')
    server_cpu("server_cpu_sessions_page")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drops", type=int, default=50_000)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--sleep", type=float, default=0.005, help="seconds per app")
    parser.add_argument("--window", type=float, default=4.0, help="CPU window, seconds")
    args = parser.parse_args()
    result: dict[str, Any] = {"bench": "web", "drops": args.drops, "nodes": args.nodes}
    with tempfile.TemporaryDirectory() as state:
        server, url = start_server(Path(state), args.nodes)
        try:
            with httpx.Client(base_url=url, timeout=300) as http:
                started = time.monotonic()
                http.post(
                    "/api/liuray/submit",
                    params={"sessionId": "big"},
                    json=graph(args.drops, args.sleep),
                ).raise_for_status()
                result["submit_s"] = round(time.monotonic() - started, 2)
                result["server_cpu_no_page"] = round(cpu_percent(server.pid, args.window), 1)
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                    result |= measure(browser, http, server.pid, args.window)
                    browser.close()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    result["page_cpu_percent"] = round(
        result["server_cpu_with_page"] - result["server_cpu_no_page"], 1
    )
    print(json.dumps(result))
    print(
        f"{args.drops} drops: page loads in {result['load_s']} s, graph view in "
        f"{result['graph_s']} s, {result['updates_per_s']} updates/s; server CPU "
        f"{result['server_cpu_no_page']}% without the page, "
        f"{result['server_cpu_with_page']}% with it, "
        f"{result['server_cpu_sessions_page']}% with the sessions page",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
