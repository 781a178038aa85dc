"""Re-make the screenshots of the monitoring page in docs/screenshots/.

    .venv/bin/python tests/web/screenshots.py [OUTPUT_DIR]

Starts a liuray server over three in-process node managers, submits a few graphs (one
finished, one failed, one running, one of 5,000 drops), and photographs each page in
the same headless Chromium the browser tests use. Takes about 15 s.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: live_server

from playwright.sync_api import Page, sync_playwright
from web_helpers import CHROMIUM_ARGS, LivePage, app, chromium_or_skip, data, wide_graph

from liuray.api import create_app
from liuray.managers.island import IslandManager
from liuray.transports.inproc import InProcessTransport
from live_server import serve

ROOT = Path(__file__).resolve().parents[2]


def pipeline(stages: int, seconds: list[float], fail: int | None = None) -> list[dict[str, Any]]:
    """Per channel: ``stages`` bash steps in a chain (``seconds[c]`` each), then a
    gather; channel ``fail`` fails at its second step."""
    graph: list[dict[str, Any]] = []
    for c, sleep in enumerate(seconds):
        previous = None
        for s in range(stages):
            command = f"sleep {sleep}; echo channel {c} step {s}"
            if c == fail and s == 1:
                command = f"echo 'calibration of channel {c} diverged' >&2; exit 2"
            step = app(f"ch{c}-step{s}", command, [f"ch{c}-out{s}"], name=f"step {s}")
            if previous:
                step["inputs"] = [previous]
            graph += [step, {**data(f"ch{c}-out{s}"), "name": f"result {s}"}]
            previous = f"ch{c}-out{s}"
    gather = app("image", "echo imaged > %o0", ["cube"], name="image")
    gather["inputs"] = [f"ch{c}-out{stages - 1}" for c in range(len(seconds))]
    cube = {**data("cube", "dlg.data.drops.file.FileDROP"), "name": "cube"}
    return [*graph, gather, cube]


def shoot(page: Page, url: str, out: Path, wait_for: str | None = None) -> None:
    page.goto(url)
    if wait_for:
        page.wait_for_selector(wait_for)
    page.wait_for_timeout(700)
    page.screenshot(path=str(out))
    print(f"wrote {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as root:
        island = IslandManager(InProcessTransport(Path(root), nodes=3, workers=4))
        try:
            with serve(create_app(island)) as url:
                live = LivePage(url, island)
                live.submit("wide-5002", wide_graph(2500))
                live.submit("calibrate-failed", pipeline(3, [0.1, 0.1, 0.1, 0.1], fail=2))
                live.submit("imaging-done", pipeline(2, [0.1, 0.2, 0.1]))
                time.sleep(1.5)
                live.submit("imaging-running", pipeline(4, [0.6, 0.9, 1.2, 1.5, 2.0, 2.5]))
                time.sleep(2.5)
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(
                        executable_path=chromium_or_skip(), args=CHROMIUM_ARGS
                    )
                    page = browser.new_page(viewport={"width": 1400, "height": 860})
                    session = url + "/session?sessionId="
                    shoot(page, url + "/", out / "sessions.png", "tr[data-session]")
                    shoot(page, session + "imaging-running&view=graph", out / "graph.png")
                    shoot(page, session + "calibrate-failed", out / "session-failed.png")
                    shoot(page, session + "wide-5002&view=graph", out / "graph-grouped.png")
                    shoot(page, session + "imaging-done&view=timeline", out / "timeline.png")
                    shoot(page, url + "/nodes", out / "nodes.png", "tr[data-node]")
                    browser.close()
                live.http.close()
        finally:
            island.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")
