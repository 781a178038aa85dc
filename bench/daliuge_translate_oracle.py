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
  ``translator/graph_config`` in the ``daliuge_tests`` package; the logical graphs of its
  ``reproGraphs`` and ``engine/*`` folders (named ``package/<folder>/<file>``; the
  ``*PG.graph``/``*PGT.graph`` files and JSON lists there are physical graphs, skipped);
  liuray's own small graphs in ``tests/translate/fixtures/graphs`` (named
  ``liuray/<file>``: nested constructs, a Service construct, an MKN, which DALiuGE fails
  on); and real users' graphs from DALiuGE's corpus, gzipped in
  ``tests/translate/fixtures/corpus`` (named ``corpus/<file>`` without ``.gz``; see the
  README there). Each is unrolled
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
* A graph DALiuGE refuses is stored with ``error``: the exception's class and message
  (its first ``ERROR_CHARS`` characters).

Fixture shape::

    {"daliuge": "6.6.0", "oid_prefix": "1",
     "graphs": {"logical_graphs/testLoop.graph": {"drops": 11, "specs": [{...}, ...]},
                "logical_graphs/X.graph": {"error": "KeyError: 'fromPort'"},
                "logical_graphs/Big.graph": {"drops": 5000, "sha256": "..."}}}
"""

from __future__ import annotations

import argparse
import gzip
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
ERROR_CHARS = 300  # DALiuGE's GInvalidLink prints the whole node; its start says why
FOLDERS = ("logical_graphs", "graph_config")
OWN_GRAPHS = ROOT / "tests" / "translate" / "fixtures" / "graphs"
CORPUS = ROOT / "tests" / "translate" / "fixtures" / "corpus"
PACKAGE_FOLDERS = ("reproGraphs", "engine/graphs", "engine/topoGraphs")
PACKAGE_FOLDERS += ("engine/simple_functions", "engine/test_filedrops")
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

    graph = json.loads(read_text(path))
    try:
        with counted_uuids():
            specs = unroll(graph, OID_PREFIX)
    except Exception as err:  # any refusal is a fact worth recording
        message = f"{type(err).__name__}: {err}"
        return {"error": message if len(message) <= ERROR_CHARS else message[:ERROR_CHARS] + "..."}
    records = [record(spec) for spec in specs if isinstance(spec, dict) and "oid" in spec]
    if len(records) > DIGEST_ABOVE:
        return {"drops": len(records), "sha256": digest(records)}
    return {"drops": len(records), "specs": records}


def read_text(path: Path) -> str:
    """The text of a graph file, gunzipped when its name ends in ``.gz``."""
    if path.suffix == ".gz":
        return gzip.decompress(path.read_bytes()).decode("utf-8")
    return path.read_text(encoding="utf-8")


def is_logical_graph(path: Path) -> bool:
    """True for an EAGLE logical graph: not a ``PG``/``PGT`` file, a JSON object."""
    if path.stem.endswith(("PG", "PGT")):
        return False
    return isinstance(json.loads(read_text(path)), dict)


def sources(package: Path) -> Iterator[tuple[str, Path]]:
    """Every graph of the oracle, as (name, path), in a stable order."""
    translator = package / "translator"
    for folder in FOLDERS:
        for path in sorted((translator / folder).glob("*.graph")):
            yield f"{folder}/{path.name}", path
    for folder in PACKAGE_FOLDERS:
        for path in sorted((package / folder).glob("*.graph")):
            if is_logical_graph(path):
                yield f"package/{folder}/{path.name}", path
    for path in sorted(OWN_GRAPHS.glob("*.graph")):
        yield f"liuray/{path.name}", path
    for path in sorted(CORPUS.glob("*.graph.gz")):
        yield f"corpus/{path.name.removesuffix('.gz')}", path


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
    graphs: dict[str, Any] = {}
    for name, path in sources(package_dir(args.package_dir)):
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
