# SPDX-License-Identifier: LGPL-2.1-or-later
"""The translator oracle: DALiuGE 6.6.0's unrolled structure of every translator test graph.

Run it with the peer's interpreter (see ``bench/peer_env.py``)::

    bench/.peer-venv/bin/python bench/daliuge_translate_oracle.py [options]

It writes ``tests/translate/fixtures/daliuge_unrolled.json``, which
``tests/translate/test_daliuge_structure.py`` compares with liuray's own unrolling, drop
by drop. Options: ``--output PATH``, ``--package-dir DIR`` (the ``daliuge_tests``
directory, when the peer's venv lacks ``eagle-test-graphs``; by default liuray's
``.venv`` copy is used then).

A new ``eagle-test-graphs`` or DALiuGE version means re-making it: create the peer venv
(``python bench/peer_env.py``), run this script with its python, then rerun
``.venv/bin/pytest tests/translate/test_daliuge_structure.py`` (docs/translator.md).

Design
------
* The graphs are every ``.graph`` file of ``translator/logical_graphs`` and
  ``translator/graph_config`` in the ``daliuge_tests`` package, and liuray's own small
  graphs in ``tests/translate/fixtures/graphs`` (named ``liuray/<file>``: nested
  constructs, a Service construct, an MKN, which DALiuGE fails on). Each is unrolled
  in-process by ``dlg.dropmake.pg_generator.unroll`` with the OID prefix ``"1"`` (what
  ``dlg unroll`` uses), which also applies the graph's active configuration.
* DALiuGE gives the constructs it rewrites (Scatter, Gather, Service) fresh
  ``uuid.uuid4()`` ids. So that the fixture is reproducible, ``uuid.uuid4`` is replaced
  while a graph unrolls by a counter (``00000000-0000-4000-8000-00000000000<n>``), reset
  per graph; a drop whose ``lg_key`` is such an id is one DALiuGE invented.
* Per drop only the structure is kept: ``oid``, ``name``, ``categoryType``,
  ``category``, ``dropclass``, ``iid``, ``rank``, ``loop_ctx``, ``lg_key`` (each only
  when DALiuGE wrote it), and the link lists ``inputs``, ``outputs``, ``producers``,
  ``consumers``, ``streamingInputs``, ``streamingConsumers`` exactly as DALiuGE wrote
  them (``{oid: port}`` entries, or a bare oid when the port has no name), in order.
* A graph of more than ``DIGEST_ABOVE`` drops is stored as a digest (its drop count and
  the SHA-256 of its records, sorted by oid, as canonical JSON) to keep the fixture small.
* A graph DALiuGE refuses is stored with ``error``: the exception's class and message.

Fixture shape::

    {"daliuge": "6.6.0", "oid_prefix": "1",
     "graphs": {"logical_graphs/testLoop.graph": {"drops": 11, "specs": [{...}, ...]},
                "logical_graphs/X.graph": {"error": "KeyError: 'fromPort'"},
                "logical_graphs/Big.graph": {"drops": 5000, "sha256": "..."}}}
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "tests" / "translate" / "fixtures" / "daliuge_unrolled.json"
FALLBACK_PACKAGE = ROOT / ".venv" / "lib" / "python3.11" / "site-packages" / "daliuge_tests"
OID_PREFIX = "1"
DIGEST_ABOVE = 2000
FOLDERS = ("logical_graphs", "graph_config")
OWN_GRAPHS = ROOT / "tests" / "translate" / "fixtures" / "graphs"
IDENTITY_KEYS = ("oid", "name", "categoryType", "category", "dropclass", "iid", "rank")
IDENTITY_KEYS += ("loop_ctx", "lg_key")
LINK_KEYS = ("inputs", "outputs", "producers", "consumers")
LINK_KEYS += ("streamingInputs", "streamingConsumers")


def package_dir(given: Path | None) -> Path:
    """The ``daliuge_tests`` directory: given, installed in this venv, or liuray's."""
    if given is not None:
        return given
    found = importlib.util.find_spec("daliuge_tests")
    if found is not None and found.submodule_search_locations:
        return Path(next(iter(found.submodule_search_locations)))
    if FALLBACK_PACKAGE.is_dir():
        return FALLBACK_PACKAGE
    sys.exit("cannot find daliuge_tests: install eagle-test-graphs or pass --package-dir")


@contextmanager
def counted_uuids() -> Iterator[None]:
    """Make ``uuid.uuid4`` return 00000000-0000-4000-8000-<n> while inside."""
    original: Callable[[], uuid.UUID] = uuid.uuid4
    counter = iter(range(1, 1 << 40))

    def counted() -> uuid.UUID:
        return uuid.UUID(f"00000000-0000-4000-8000-{next(counter):012x}")

    uuid.uuid4 = counted
    try:
        yield
    finally:
        uuid.uuid4 = original


def record(spec: dict[str, Any]) -> dict[str, Any]:
    """The structure of one drop spec, as DALiuGE wrote it."""
    kept = {key: spec[key] for key in IDENTITY_KEYS if key in spec}
    kept.update({key: spec[key] for key in LINK_KEYS if spec.get(key)})
    return kept


def unroll_one(path: Path) -> dict[str, Any]:
    """DALiuGE's unrolling of the graph at ``path``, reduced to its structure."""
    from dlg.dropmake.pg_generator import unroll

    graph = json.loads(path.read_text(encoding="utf-8"))
    try:
        with counted_uuids():
            specs = unroll(graph, OID_PREFIX)
    except Exception as err:  # any refusal is a fact worth recording
        return {"error": f"{type(err).__name__}: {err}"}
    records = [record(spec) for spec in specs if isinstance(spec, dict) and "oid" in spec]
    if len(records) > DIGEST_ABOVE:
        return {"drops": len(records), "sha256": digest(records)}
    return {"drops": len(records), "specs": records}


def digest(records: list[dict[str, Any]]) -> str:
    """SHA-256 of the records sorted by oid, as canonical JSON (liuray's test recomputes it)."""
    ordered = sorted(records, key=lambda item: str(item["oid"]))
    text = json.dumps(ordered, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--package-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)  # DALiuGE logs every drop at INFO and worse
    translator = package_dir(args.package_dir) / "translator"
    graphs: dict[str, Any] = {}
    sources = [(folder, translator / folder) for folder in FOLDERS]
    for folder, directory in [*sources, ("liuray", OWN_GRAPHS)]:
        for path in sorted(directory.glob("*.graph")):
            name = f"{folder}/{path.name}"
            graphs[name] = unroll_one(path)
            outcome = graphs[name].get("error") or f"{graphs[name]['drops']} drops"
            print(f"{name}: {outcome}", file=sys.stderr)
    fixture = {
        "daliuge": importlib.metadata.version("daliuge-translator"),
        "oid_prefix": OID_PREFIX,
        "graphs": graphs,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(fixture, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
