"""Load: 50 concurrent sessions of 2,000 drops over REST, from eight client threads.

Every session must finish with every drop done, and destroying them must leave nothing
behind on the island or its node managers. The memory and time figures of the same load
(and of 100 sessions in a row) are measured by ``bench/load_bench.py``, not asserted
here (docs/reliability.md, "Load").
"""

from __future__ import annotations

import gc
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

from liuray.client import Client
from liuray.engine.session import GraphRun
from live_server import island_server

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import workloads

SESSIONS = 50
DROPS = 2000


def _graph() -> list[dict[str, Any]]:
    specs = workloads.scatter(DROPS // 2)
    for index, spec in enumerate(specs):
        spec["node"] = f"localhost:{8000 + (index // 2) % 2}"
    return specs


@pytest.mark.slow
def test_fifty_concurrent_sessions_all_finish_and_leave_nothing_behind(tmp_path: Path) -> None:
    with island_server(tmp_path) as live, Client(live.url) as client:

        def run(session_id: str) -> dict[str, Any]:
            client.submit(_graph(), session_id=session_id)
            return client.wait(session_id, timeout=240)

        ids = [f"load-{i}" for i in range(SESSIONS)]
        with ThreadPoolExecutor(8) as pool:
            finals = list(pool.map(run, ids))

        for final in finals:
            assert final["state"] == "finished", final
            counts = final["counts"]
            done = counts.get("finished", 0) + counts.get("completed", 0)
            assert done + counts.get("expired", 0) == DROPS, counts
        listed = {s["sessionId"] for s in client.sessions()}
        assert set(ids) <= listed

        for session_id in ids:
            client.destroy_session(session_id)
        assert not {s["sessionId"] for s in client.sessions()} & set(ids)
        for node in live.island.nodes():
            assert live.island.transport.client(node).session_ids() == []
        gc.collect()
        alive = [o for o in gc.get_objects() if isinstance(o, GraphRun)]
        assert not [run for run in alive if run.session_id.startswith("load-")]
