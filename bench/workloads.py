"""Benchmark workloads as DALiuGE-format physical graphs (lists of drop-spec dicts).

Design
------
Both engines in the benchmark (liuray and the peer, DALiuGE 6.6.0) must run exactly the
same graphs, so the graphs are built here, once, by pure functions with no dependencies
beyond the standard library. This module is imported by the peer's driver
(``bench/peer_daliuge.py``, run with the peer's own interpreter) and by the liuray side of
the harness alike, so it must stay importable on any Python >= 3.11 without liuray or
DALiuGE installed.

The specs are deliberately minimal, the smallest form DALiuGE's ``graph_loader`` accepts:
``oid``, ``uid`` (equal to ``oid``), ``categoryType`` (``"Application"`` or ``"Data"``),
``dropclass`` and the links, as plain OID lists, plus ``node`` when one is given. Links
are written in both directions (app ``outputs``/``inputs`` and data
``producers``/``consumers``), as the DALiuGE translator itself does; the loader
de-duplicates them. A translator-made graph carries ~3.6 KB of extra fields per drop;
leaving them out keeps the benchmark about the engines, not about JSON.

Workloads (``python bench/workloads.py scatter 500000 > pg.json`` writes one):

* ``scatter(n)``: ``n`` independent ``HelloWorldApp -> InMemoryDROP`` pairs, ``2n`` drops,
  ``n`` roots. Measures raw drop throughput (creation + execution + completion events).
* ``chain(n)``: ``HelloWorldApp -> mem -> CopyApp -> mem -> ... -> CopyApp -> mem``, ``n``
  apps each followed by one memory drop, ``2n`` drops, one root. Every hop waits for the
  previous one, so ``seconds / n`` is the per-hop latency of the engine's event path.
"""

from __future__ import annotations

from typing import Any

DropSpec = dict[str, Any]

HELLO_APP = "dlg.apps.simple.HelloWorldApp"
COPY_APP = "dlg.apps.simple.CopyApp"
MEMORY_DATA = "dlg.data.drops.memory.InMemoryDROP"

#: Spec keys that name upstream drops (their presence means "not a root").
UPSTREAM_KEYS: tuple[str, ...] = ("inputs", "streamingInputs", "producers")
#: Spec keys that name downstream drops.
DOWNSTREAM_KEYS: tuple[str, ...] = ("outputs", "consumers", "streamingConsumers")

WORKLOADS: tuple[str, ...] = ("scatter", "chain")


def _app(oid: str, dropclass: str, node: str | None) -> DropSpec:
    spec: DropSpec = {
        "oid": oid,
        "uid": oid,
        "categoryType": "Application",
        "dropclass": dropclass,
        "outputs": [],
    }
    if node is not None:
        spec["node"] = node
    return spec


def _data(oid: str, node: str | None) -> DropSpec:
    spec: DropSpec = {
        "oid": oid,
        "uid": oid,
        "categoryType": "Data",
        "dropclass": MEMORY_DATA,
        "producers": [],
    }
    if node is not None:
        spec["node"] = node
    return spec


def _link(app: DropSpec, data: DropSpec) -> None:
    """Record ``app -> data`` (the app writes the data) on both specs."""
    app["outputs"].append(data["oid"])
    data["producers"].append(app["oid"])


def _consume(data: DropSpec, app: DropSpec) -> None:
    """Record ``data -> app`` (the app reads the data) on both specs."""
    data.setdefault("consumers", []).append(app["oid"])
    app.setdefault("inputs", []).append(data["oid"])


def scatter(n: int, node: str | None = None) -> list[DropSpec]:
    """Return ``n`` independent ``HelloWorldApp -> InMemoryDROP`` pairs (``2n`` specs).

    OIDs are ``s-app-<i>`` and ``s-mem-<i>``; every app is a root. ``node``, when given,
    is stored in every spec (needed when the graph goes through a DALiuGE DIM).
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    specs: list[DropSpec] = []
    for i in range(n):
        app = _app(f"s-app-{i}", HELLO_APP, node)
        mem = _data(f"s-mem-{i}", node)
        _link(app, mem)
        specs.append(app)
        specs.append(mem)
    return specs


def chain(n: int, node: str | None = None) -> list[DropSpec]:
    """Return a linear chain of ``n`` apps, each followed by a memory drop (``2n`` specs).

    The first app is a ``HelloWorldApp`` (the only root), the others are ``CopyApp``s that
    copy the previous memory drop into the next. OIDs are ``c-app-<i>`` / ``c-mem-<i>``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    specs: list[DropSpec] = []
    prev: DropSpec | None = None
    for i in range(n):
        app = _app(f"c-app-{i}", HELLO_APP if i == 0 else COPY_APP, node)
        if prev is not None:
            _consume(prev, app)
        mem = _data(f"c-mem-{i}", node)
        _link(app, mem)
        specs.append(app)
        specs.append(mem)
        prev = mem
    return specs


def build(workload: str, n: int, node: str | None = None) -> list[DropSpec]:
    """Build a workload by name (one of ``WORKLOADS``)."""
    if workload == "scatter":
        return scatter(n, node)
    if workload == "chain":
        return chain(n, node)
    raise ValueError(f"unknown workload {workload!r}; expected one of {WORKLOADS}")


def roots(specs: list[DropSpec]) -> list[str]:
    """Return the OIDs of the drops with no upstream drop, in graph order.

    A drop is a root when its own spec names no inputs/producers *and* no other spec
    names it as an output/consumer (links may be written on one side only). Link entries
    may be plain OIDs or ``{oid: port}`` dicts, as in DALiuGE.
    """
    has_upstream: set[str] = set()
    for spec in specs:
        if any(spec.get(key) for key in UPSTREAM_KEYS):
            has_upstream.add(spec["oid"])
        for key in DOWNSTREAM_KEYS:
            for ref in spec.get(key) or ():
                has_upstream.add(_ref_oid(ref))
    return [spec["oid"] for spec in specs if spec["oid"] not in has_upstream]


def _ref_oid(ref: str | dict[str, Any]) -> str:
    if isinstance(ref, dict):
        return str(next(iter(ref)))
    return ref


def main(argv: list[str]) -> int:
    """``python bench/workloads.py WORKLOAD N > graph.json``: write a workload's graph."""
    import json
    import sys

    if len(argv) != 2 or argv[0] not in WORKLOADS or not argv[1].isdigit():
        print(f"usage: workloads.py {{{','.join(WORKLOADS)}}} N > graph.json", file=sys.stderr)
        return 2
    json.dump(build(argv[0], int(argv[1])), sys.stdout)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
