"""Drive a running ``liuray serve`` with DALiuGE 6.6.0's own REST client.

A compatibility check, not a benchmark: run it with the peer's interpreter (which has
DALiuGE installed, see ``peer_env.py``) against a liuray island manager::

    .venv/bin/liuray serve --nodes 2 --port 8001 &
    bench/.peer-venv/bin/python bench/daliuge_client_check.py --port 8001

It uses ``dlg.clients.DataIslandManagerClient`` exactly as DALiuGE's tools do: nodes,
create, append (its gzip encoding), deploy with the roots as completed, status, graph
status, sessions, node registration, destroy, and the error path (a duplicate and a
missing session, and a graph that could never run - an unknown ``dlg.*`` class, a bash
app without a command - must come back as DALiuGE's own exception classes, and the
refused graph must leave nothing behind). Exits 0 when every
step behaved, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import workloads


def main(argv: list[str] | None = None) -> int:
    """Run every step; print what happened; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args(argv)

    from dlg.clients import DataIslandManagerClient

    client = DataIslandManagerClient(args.host, args.port)
    problems: list[str] = []
    nodes = client.nodes()
    print("nodes:", nodes)
    specs = workloads.build("scatter", 100)
    session = f"dlg-client-{int(time.time())}"
    client.create_session(session)
    client.append_graph(session, specs)
    client.deploy_session(session, completed_uids=workloads.roots(specs))
    status: dict[str, int] = {}
    for _ in range(200):
        status = client.session_status(session)
        if set(status.values()) == {4}:
            break
        time.sleep(0.05)
    print("status:", status)
    if set(status.values()) != {4}:
        problems.append(f"session did not finish: {status}")
    states = {entry["status"] for entry in client.graph_status(session).values()}
    print("drop states:", states)
    if states != {2}:
        problems.append(f"drops not all COMPLETED: {states}")
    if session not in [s["sessionId"] for s in client.sessions()]:
        problems.append("session missing from the session list")
    problems += check_errors(client, session)
    client.add_node(args.host)
    client.add_node(args.host)
    if client.nodes() != nodes:  # the server's own host is already a node: no new entry
        problems.append(f"registering a known node again changed the list: {client.nodes()}")
    client.destroy_session(session)
    for problem in problems:
        print("PROBLEM:", problem)
    print("OK" if not problems else f"{len(problems)} problem(s)")
    return 0 if not problems else 1


def check_errors(client: Any, session: str) -> list[str]:
    """The error path: each call must raise DALiuGE's own exception class, and graphs
    that could never run must be refused at append, leaving the session empty."""
    from dlg import exceptions

    problems: list[str] = []
    refused = f"{session}-refused"
    client.create_session(refused)
    unknown_class = [{"oid": "x", "categoryType": "Data", "dropclass": "dlg.data.drops.NoSuchDROP"}]
    no_command = [
        {
            "oid": "b",
            "categoryType": "Application",
            "dropclass": "dlg.apps.bash_shell_app.BashShellApp",
        }
    ]
    for call, expected in (
        (lambda: client.create_session(session), exceptions.SessionAlreadyExistsException),
        (lambda: client.session_status("no-such-session"), exceptions.NoSessionException),
        (lambda: client.append_graph(refused, unknown_class), exceptions.InvalidGraphException),
        (lambda: client.append_graph(refused, no_command), exceptions.InvalidGraphException),
    ):
        try:
            call()
        except expected as err:
            print(f"{expected.__name__}:", err)
        except Exception as err:
            problems.append(f"expected {expected.__name__}, got {type(err).__name__}: {err}")
        else:
            problems.append(f"expected {expected.__name__}, got no error")
    if client.graph_status(refused):  # refused appends leave the session empty
        problems.append(f"a refused graph was kept: {client.graph_status(refused)}")
    client.destroy_session(refused)
    return problems


if __name__ == "__main__":
    sys.exit(main())
