# SPDX-License-Identifier: LGPL-2.1-or-later
"""The public oracle: DALiuGE 6.6.0's final drop states on every public test graph.

Run it with the peer's interpreter (see ``bench/peer_env.py``)::

    bench/.peer-venv/bin/python bench/daliuge_oracle.py [NAME ...] [options]

It writes ``tests/engine/fixtures/daliuge_oracle.json``, which
``tests/engine/test_daliuge_oracle.py`` replays on liuray, drop by drop. With NAMEs
(``engine/ddTest.graph``, ``repro/apps.graph``) only those graphs are rerun and merged
into the existing fixture. Options: ``--timeout S`` (per graph, default 60),
``--output PATH``, ``--package-dir DIR`` (the ``daliuge_tests`` directory, when the
peer's venv lacks ``eagle-test-graphs``).

``--corpus`` runs the real users' graphs of ``tests/translate/fixtures/corpus`` instead
(source ``corpus``, names such as ``corpus/examples__ArrayLoop.graph.gz``, read through
gzip) and writes ``tests/engine/fixtures/daliuge_corpus_oracle.json``, which
``tests/engine/test_corpus_runs.py`` replays; the package fixture is left alone.

To re-make the fixture after a new ``eagle-test-graphs`` or a new peer version::

    make test                           # liuray's .venv, with eagle-test-graphs
    python bench/peer_env.py            # installs the peer venv if needed
    bench/.peer-venv/bin/python bench/daliuge_oracle.py
    .venv/bin/pytest tests/engine/test_daliuge_oracle.py -q

then bring the test's strict xfails (``DIVERGENCES``, whose reasons quote the fixture's
drops and states) up to date with what changed.

Design
------
* The graphs come from the ``daliuge_tests`` package (``eagle-test-graphs``): every
  ``.graph``/``.json`` file in ``engine/graphs`` (source ``engine``) and ``reproGraphs``
  (source ``repro``). The package is only read (the apps in these graphs are all
  ``dlg.*``, nothing of ``daliuge_tests`` is imported), so when the peer venv lacks it
  the copy in liuray's ``.venv`` is used.
* A physical graph (a list of drop specs, or ``["name", [specs]]``, unwrapped as
  ``dlg map`` does) is run as shipped. A logical graph (an EAGLE dict with
  ``nodeDataArray``) is translated in-process by DALiuGE's own translator, the path of
  its web service and of ``dlg fill | dlg unroll-and-partition | dlg map``: the
  reproducibility records at the default level (NOTHING) at each step (without them
  DALiuGE's session fails on ``reprodata['rmode']``), ``pg_generator.unroll`` (which
  applies the active graph configuration; OID prefix ``1``), ``pg_generator.partition``
  (metis, one partition, one island) and ``pg_generator.resource_map`` onto one node.
* Class aliases: graphs made for a later DALiuGE name ``dlg.apps.branch.Branch``, which
  6.6.0 has as ``dlg.apps.simple.Branch``; the child makes the first name resolve to
  the second (as liuray's registry does) and says so in ``note``.
* Each graph runs in its own child process (this script with ``--child``) in a fresh
  scratch ``DLG_ROOT`` that is also its working directory: DALiuGE ``chdir``s, keeps
  module-level state and leaves threads behind. The child builds a real
  ``dlg.manager.node_manager.NodeManager`` in-process (as ``bench/peer_daliuge.py``
  inproc does), calls ``createSession``, ``addGraphSpec`` (with a copy: DALiuGE pops
  keys from the specs) and ``deploySession(completedDrops=dlg.common.get_roots(pg))``
  (the roots DALiuGE's clients trigger: data drops are completed, root apps executed),
  then polls ``getSessionStatus`` until FINISHED, FAILED or CANCELLED, or the per-graph
  timeout. After a short settle (0.3 s, for events still in flight) it reads
  ``getGraphStatus``: data drops by their ``DROPStates`` name, apps by their
  ``AppDROPStates`` (execStatus) name. Two runs give the same fixture.
* The child writes its one JSON line straight to file descriptor 1: DALiuGE's
  PyFuncApp swaps ``sys.stdout`` from worker threads and can leave it swapped. The
  parent kills a child that outlives the timeout by 30 s.
* Whatever happens is recorded, as ``outcome``: ``ran`` (states recorded),
  ``refused`` (``addGraphSpec`` or ``deploySession`` raised; nothing ran),
  ``untranslatable`` (the translator raised), ``hung`` (no final state in time; the
  states of that moment), ``crashed`` (the harness itself failed). ``note`` says why,
  with the root cause of DALiuGE's wrapped exceptions; ``errors`` keeps the first
  ERROR lines DALiuGE logged (memory addresses removed), to explain an ERROR state.
* The fixture is JSON with one line per stored drop spec (1.1 MB, most of it the
  translated graphs' EAGLE fields), so a diff names the drops that changed.

Fixture shape::

    {"daliuge": "6.6.0",
     "graphs": {"engine/ddTest.graph": {
         "source": "engine" | "repro", "kind": "physical" | "named" | "logical",
         "outcome": "ran", "session": "FINISHED", "note": "...", "errors": ["..."],
         "drops": {"<oid>": "COMPLETED" | "FINISHED" | ...},
         "physical_graph": null | [specs]}}}

``physical_graph`` is null for graphs run as shipped (reload them from the package);
for translated logical graphs it is the exact list that was run.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import importlib.util
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from peer_daliuge import PEER_VERSION, STATE_NAMES, free_ports  # noqa: E402

FIXTURE = REPO / "tests" / "engine" / "fixtures" / "daliuge_oracle.json"
CORPUS_FIXTURE = REPO / "tests" / "engine" / "fixtures" / "daliuge_corpus_oracle.json"
#: the real users' graphs (gzipped EAGLE files), source ``corpus``
CORPUS_DIR = REPO / "tests" / "translate" / "fixtures" / "corpus"
CORPUS_SUFFIX = ".graph.gz"
#: fixture source name -> directory inside the daliuge_tests package
SOURCES = {"engine": "engine/graphs", "repro": "reproGraphs"}
GRAPH_SUFFIXES = (".graph", ".json")
OID_PREFIX = "1"
SESSION_ID = "oracle"
SETTLE_S = 0.3
KILL_GRACE_S = 30.0
MAX_ERROR_LINES = 5
MAX_ERROR_CHARS = 300
ADDRESS = re.compile(r" at 0x[0-9a-f]+")
DROP_STATES = (
    "INITIALIZED",
    "WRITING",
    "COMPLETED",
    "ERROR",
    "EXPIRED",
    "DELETED",
    "CANCELLED",
    "SKIPPED",
)
APP_STATES = ("NOT_RUN", "RUNNING", "FINISHED", "ERROR", "CANCELLED", "SKIPPED")
FINAL_SESSION_STATES = ("FINISHED", "CANCELLED", "FAILED")
#: classes that newer graphs name by a path DALiuGE 6.6.0 does not have -> its 6.6.0 name
CLASS_ALIASES = {"dlg.apps.branch.Branch": "dlg.apps.simple.Branch"}


def log(msg: str) -> None:
    """Progress goes to stderr."""
    print(f"[daliuge_oracle] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ graphs


def package_dir(explicit: str | None) -> Path:
    """The ``daliuge_tests`` directory: given, importable, or in liuray's ``.venv``."""
    if explicit:
        return Path(explicit).resolve()
    spec = importlib.util.find_spec("daliuge_tests")
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    for candidate in sorted(REPO.glob(".venv/lib/python*/site-packages/daliuge_tests")):
        return candidate
    raise SystemExit(
        "daliuge_tests (eagle-test-graphs) not found: install it in this venv, "
        "create liuray's .venv (make test), or pass --package-dir"
    )


def graph_names(package: Path, corpus: bool = False) -> list[str]:
    """Every graph file of the covered package directories (or of the corpus), as
    ``source/file``."""
    if corpus:
        return [f"corpus/{path.name}" for path in sorted(CORPUS_DIR.glob(f"*{CORPUS_SUFFIX}"))]
    names = []
    for source, folder in SOURCES.items():
        for path in sorted((package / folder).iterdir()):
            if path.is_file() and path.suffix in GRAPH_SUFFIXES:
                names.append(f"{source}/{path.name}")
    return names


def graph_path(package: Path, name: str) -> Path:
    """The file of ``source/file``."""
    source, _, filename = name.partition("/")
    if source == "corpus":
        return CORPUS_DIR / filename
    return package / SOURCES[source] / filename


def read_graph(path: Path) -> Any:
    """A graph file's JSON (the corpus's files are gzipped)."""
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return json.loads(data)


def is_logical(graph: Any) -> bool:
    """An EAGLE logical graph (a dict with nodes) rather than a list of drop specs."""
    return isinstance(graph, dict) and "nodeDataArray" in graph


def translate(logical: dict[str, Any]) -> list[dict[str, Any]]:
    """DALiuGE's lg -> pgt -> pg path, with its reproducibility records at each step.

    As the translator's web service and ``dlg fill | dlg unroll-and-partition | dlg map``
    do: default reproducibility mode (NOTHING), unroll, metis with one partition and one
    island, map onto one node. The list ends with the graph's reproducibility record.
    """
    from dlg.common.reproducibility.constants import REPRO_DEFAULT
    from dlg.common.reproducibility.reproducibility import (
        init_lg_repro_data,
        init_lgt_repro_data,
        init_pg_repro_data,
        init_pgt_partition_repro_data,
        init_pgt_unroll_repro_data,
    )
    from dlg.dropmake import pg_generator

    filled = init_lg_repro_data(init_lgt_repro_data(logical, str(REPRO_DEFAULT.value)))
    template = init_pgt_unroll_repro_data(pg_generator.unroll(filled, oid_prefix=OID_PREFIX))
    reprodata = template.pop()
    template = pg_generator.partition(template, algo="metis", num_partitions=1, num_islands=1)
    template.append(reprodata)
    template = init_pgt_partition_repro_data(template)
    reprodata = template.pop()
    physical = pg_generator.resource_map(template, ["localhost", "localhost"], 1)
    physical.append(reprodata)
    return list(init_pg_repro_data(physical))


def physical_graph(graph: Any) -> tuple[list[dict[str, Any]], str]:
    """The drop spec list to run, and the graph's kind (physical, named, logical)."""
    if is_logical(graph):
        return translate(graph), "logical"
    if isinstance(graph, list) and len(graph) == 2 and isinstance(graph[0], str):
        return list(graph[1]), "named"  # ["name", [specs]], unwrapped as `dlg map` does
    if isinstance(graph, list):
        return graph, "physical"
    raise ValueError(f"not a graph: a {type(graph).__name__}")


# ------------------------------------------------------------------------------- child


class ErrorLines(logging.Handler):
    """Keeps the first few ERROR records DALiuGE logs, trimmed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.lines) >= MAX_ERROR_LINES:
            return
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text = f"{text}: {describe(record.exc_info[1])}"
        self.lines.append(one_line(text))


def describe(exc: BaseException) -> str:
    """The exception and its root cause (DALiuGE wraps errors in empty ones)."""
    text = f"{type(exc).__name__}: {exc}"
    cause = exc
    while cause.__cause__ is not None:
        cause = cause.__cause__
    if cause is not exc:
        text += f" (caused by {type(cause).__name__}: {cause})"
    return one_line(text)


def one_line(text: str) -> str:
    """``text`` on one trimmed line, without memory addresses (a stable fixture)."""
    return ADDRESS.sub("", " ".join(text.split()))[:MAX_ERROR_CHARS]


def drop_states(node_manager: Any, session_id: str) -> dict[str, str]:
    """Final state name of every drop: execStatus for apps, status for data."""
    states: dict[str, str] = {}
    for oid, status in node_manager.getGraphStatus(session_id).items():
        if "execStatus" in status:
            states[oid] = APP_STATES[status["execStatus"]]
        else:
            states[oid] = DROP_STATES[status["status"]]
    return dict(sorted(states.items()))


def copy_of(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A deep copy: DALiuGE pops keys (``input_parser``...) from the specs it is given."""
    copied: list[dict[str, Any]] = json.loads(json.dumps(specs))
    return copied


def session_state(node_manager: Any) -> str:
    """The session's SessionStates name."""
    return STATE_NAMES[node_manager.getSessionStatus(SESSION_ID)]


def wait_for_end(node_manager: Any, timeout: float) -> tuple[str, bool]:
    """Poll the session until a final state; return (state name, timed out)."""
    deadline = time.monotonic() + timeout
    while True:
        status = session_state(node_manager)
        if status in FINAL_SESSION_STATES:
            return status, False
        if time.monotonic() > deadline:
            return status, True
        time.sleep(0.01)


def run_on_node_manager(specs: list[dict[str, Any]], timeout: float) -> dict[str, Any]:
    """Run one physical graph on an in-process NodeManager; the record of what happened."""
    from dlg.common import get_roots
    from dlg.manager.node_manager import NodeManager

    events_port, rpc_port = free_ports(2)
    node_manager = NodeManager(
        host="127.0.0.1",
        rpc_port=rpc_port,
        events_port=events_port,
        logdir=str(Path(os.environ["DLG_ROOT"]) / "logs"),
    )
    record: dict[str, Any] = {"session": None, "drops": {}}
    try:
        node_manager.createSession(SESSION_ID)
        calls = (
            ("addGraphSpec", lambda: node_manager.addGraphSpec(SESSION_ID, copy_of(specs))),
            (
                "deploySession",
                lambda: node_manager.deploySession(
                    SESSION_ID, completedDrops=sorted(get_roots(specs))
                ),
            ),
        )
        for call, invoke in calls:
            try:
                invoke()
            except Exception as exc:
                record["session"] = session_state(node_manager)
                record["outcome"] = "refused"
                record["note"] = f"{call} raised {describe(exc)}"
                return record
        session, timed_out = wait_for_end(node_manager, timeout)
        record["outcome"] = "hung" if timed_out else "ran"
        if timed_out:
            record["note"] = f"no final session state after {timeout:g} s (hangs)"
        time.sleep(SETTLE_S)
        record["session"] = session_state(node_manager)
        if record["session"] != session:
            record["note"] = f"session {session} then {record['session']} after settling"
        record["drops"] = drop_states(node_manager, SESSION_ID)
    finally:
        with contextlib.suppress(Exception):
            node_manager.shutdown()
    return record


def install_aliases(specs: list[dict[str, Any]]) -> str | None:
    """Make the newer class names the graphs use resolve to their 6.6.0 homes.

    Returns a note naming the aliases a graph needed, or None.
    """
    import importlib

    used = {spec.get("dropclass") for spec in specs} & set(CLASS_ALIASES)
    for alias in sorted(used):
        module_name, _, class_name = alias.rpartition(".")
        target_module, _, target_class = CLASS_ALIASES[alias].rpartition(".")
        target = getattr(importlib.import_module(target_module), target_class)
        setattr(importlib.import_module(module_name), class_name, target)
    if not used:
        return None
    return "; ".join(f"{alias} run as {CLASS_ALIASES[alias]}" for alias in sorted(used))


def child(package: Path, name: str, timeout: float) -> dict[str, Any]:
    """Translate (if logical) and run one graph; runs inside the per-graph process."""
    errors = ErrorLines()
    logging.getLogger().addHandler(errors)
    logging.getLogger().setLevel(logging.ERROR)
    graph = read_graph(graph_path(package, name))
    record: dict[str, Any] = {"source": name.partition("/")[0]}
    try:
        specs, kind = physical_graph(graph)
    except Exception as exc:
        record.update(kind="logical", physical_graph=None, session=None, drops={})
        record["outcome"] = "untranslatable"
        record["note"] = f"DALiuGE's translator failed: {describe(exc)}"
        record["errors"] = errors.lines
        return record
    record["kind"] = kind
    record["physical_graph"] = specs if kind == "logical" else None
    aliases = install_aliases(specs)
    try:
        record.update(run_on_node_manager(specs, timeout))
    except Exception as exc:
        record.update(outcome="crashed", session=None, drops={})
        record["note"] = f"DALiuGE failed to run it: {describe(exc)}"
    if aliases:
        record["note"] = "; ".join(filter(None, (aliases, record.get("note"))))
    record["errors"] = errors.lines
    return record


def child_main(package: Path, name: str, timeout: float) -> int:
    """``--child``: one graph in a scratch DLG_ROOT; one JSON line on stdout."""
    root = Path(os.environ["DLG_ROOT"])
    os.chdir(root)
    record = child(package, name, timeout)
    # Straight to file descriptor 1: DALiuGE's PyFuncApp swaps sys.stdout from its worker
    # threads (contextlib.redirect_stdout), and two overlapping swaps can leave it pointing
    # at an app's capture buffer for good.
    data = (json.dumps(record) + "\n").encode()
    while data:
        data = data[os.write(1, data) :]
    return 0


# ------------------------------------------------------------------------------ parent


def run_child(package: Path, name: str, timeout: float) -> dict[str, Any]:
    """Run one graph in a child process with a fresh DLG_ROOT; its record."""
    root = Path(tempfile.mkdtemp(prefix="liuray-oracle-")).resolve()
    command = [sys.executable, str(Path(__file__).resolve()), "--child", name]
    command += ["--package-dir", str(package), "--timeout", str(timeout)]
    env = dict(os.environ, DLG_ROOT=str(root))
    try:
        done = subprocess.run(
            command,
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=timeout + KILL_GRACE_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        note = "the child process hung and was killed"
        return {"outcome": "hung", "session": None, "drops": {}, "note": note}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    lines = done.stdout.strip().splitlines()
    if not lines:
        tail = " ".join(done.stderr.strip().splitlines()[-3:])[:MAX_ERROR_CHARS]
        note = f"child died ({done.returncode}): {tail}"
        return {"outcome": "crashed", "session": None, "drops": {}, "note": note}
    record: dict[str, Any] = json.loads(lines[-1])
    return record


def ordered(record: dict[str, Any]) -> dict[str, Any]:
    """The record's keys in the documented order (a readable, stable fixture)."""
    keys = ("source", "kind", "outcome", "session", "note", "errors", "drops", "physical_graph")
    return {key: record[key] for key in keys if key in record}


def render(fixture: dict[str, Any]) -> str:
    """The fixture as JSON text: one line per drop spec of a stored graph, so that the
    file stays compact and a diff names the drops that changed."""
    graphs = []
    for name, record in fixture["graphs"].items():
        fields = []
        for key, value in record.items():
            if key == "physical_graph" and value is not None:
                text = "[\n" + ",\n".join(f"    {json.dumps(spec)}" for spec in value) + "\n   ]"
            else:
                text = json.dumps(value, indent=1).replace("\n", "\n   ")
            fields.append(f"   {json.dumps(key)}: {text}")
        graphs.append(f"  {json.dumps(name)}: {{\n" + ",\n".join(fields) + "\n  }")
    head = f'{{\n "daliuge": {json.dumps(fixture["daliuge"])},\n "graphs": {{\n'
    text = head + ",\n".join(graphs) + "\n }\n}\n"
    if json.loads(text) != fixture:
        raise AssertionError("render() changed the fixture's content")
    return text


def parent_main(args: argparse.Namespace) -> int:
    """Run the requested graphs, one child each, and write the fixture."""
    package = package_dir(args.package_dir)
    available = graph_names(package, corpus=args.corpus)
    names = args.names or available
    unknown = sorted(set(names) - set(available))
    if unknown:
        raise SystemExit(f"unknown graphs {unknown}; known: {available}")
    output = Path(args.output or (CORPUS_FIXTURE if args.corpus else FIXTURE))
    fixture: dict[str, Any] = {"daliuge": PEER_VERSION, "graphs": {}}
    if args.names and output.exists():
        fixture = json.loads(output.read_text())
    for name in names:
        started = time.monotonic()
        record = run_child(package, name, args.timeout)
        record.setdefault("source", name.partition("/")[0])
        fixture["graphs"][name] = ordered(record)
        log(
            f"{name}: session {record.get('session')}, {len(record.get('drops', {}))} drops, "
            f"{time.monotonic() - started:.1f} s {record.get('note', '')}"
        )
    fixture["graphs"] = dict(sorted(fixture["graphs"].items()))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(fixture))
    log(f"wrote {output}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description="Record DALiuGE's final drop states.")
    parser.add_argument("names", nargs="*", help="graphs to rerun (default: all)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per graph")
    parser.add_argument("--output", help="the fixture to write (default: by source)")
    parser.add_argument("--corpus", action="store_true", help="the real users' graphs")
    parser.add_argument("--package-dir", help="the daliuge_tests directory")
    parser.add_argument("--child", metavar="NAME", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Entry point: the parent, or (``--child``) one graph's run."""
    args = parse_args(argv)
    if args.child:
        return child_main(Path(args.package_dir), args.child, args.timeout)
    return parent_main(args)


if __name__ == "__main__":
    # os._exit: DALiuGE leaves non-daemon threads behind; the record is already printed.
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
