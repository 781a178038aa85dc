# SPDX-License-Identifier: LGPL-2.1-or-later
"""The drop graph that partitioners read: drops as integers, edges as flat arrays.

State: a :class:`DropGraph` is built once from a list of drop specs
(:func:`drop_graph`) and never mutated. Drop ``i`` is ``specs[i]``; each directed
edge ``sources[k] -> targets[k]`` is a link as DALiuGE follows it (an app to the data
it writes, data to the app that reads it). Partitioners need no more than that plus a
weight per drop and per edge, so the specs (dicts of dozens of keys) are read once and
the algorithms run on ``array('q')`` columns; for a million drops that is tens of
megabytes instead of a second copy of the graph.

Weights follow DALiuGE's translator (``pgtp.py``, ``lg_node.py``):

* a drop's weight (what METIS balances) is an application's ``weight`` (else its
  ``execution_time``), or 1; a data drop weighs 1;
* an edge's weight (what METIS avoids cutting) is its data drop's ``weight`` (else
  ``data_volume``), or 1.

Edges come from the forward link lists (``outputs``, ``consumers``,
``streamingConsumers``); a link written only on its target's side (``inputs``,
``producers``, ``streamingInputs``), as hand-written physical graphs sometimes have it,
is taken from there, each link once.

>>> graph = drop_graph([
...     {"oid": "a", "categoryType": "Application", "execution_time": 5,
...      "outputs": [{"d": "x"}]},
...     {"oid": "d", "categoryType": "Data", "producers": [{"a": "x"}]}])
>>> list(graph.sources), list(graph.targets), list(graph.weights), list(graph.edge_weights)
([0], [1], [5, 1], [1])
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from liuray.errors import GraphError
from liuray.types import DropSpec

FORWARD_KEYS = ("outputs", "consumers", "streamingConsumers")
BACKWARD_KEYS = ("inputs", "producers", "streamingInputs")
_APP_TYPES = frozenset({"application", "app", "socket", "service", "serviceapp"})
_APP_NAMES = frozenset({"Application", "Service", *_APP_TYPES})


@dataclass(frozen=True, slots=True)
class DropGraph:
    """Drops ``0..size-1`` and their directed edges, with DALiuGE's weights."""

    #: How many drops.
    size: int
    #: 1 for an application drop, 0 for a data drop.
    is_app: bytearray
    #: What each drop weighs (an app's execution time, 1 for data).
    weights: array[int]
    #: Each data drop's volume (1 for apps): the weight of the edges it is on.
    volumes: array[int]
    sources: array[int]
    targets: array[int]

    @property
    def edge_weights(self) -> array[int]:
        """Each edge's weight: the volume of its data drop (its target's if both are apps)."""
        is_app, volumes = self.is_app, self.volumes
        return array(
            "q",
            (
                volumes[target] if is_app[source] else volumes[source]
                for source, target in zip(self.sources, self.targets, strict=True)
            ),
        )


def drop_graph(specs: Sequence[DropSpec]) -> DropGraph:
    """Read the drops, their weights and their links out of ``specs``.

    Raises:
        GraphError: a spec has no ``oid``, two share one, or a link names a drop that is
            not in the graph.
    """
    index = _index(specs)
    is_app = bytearray(len(specs))
    weights: array[int] = array("q", bytes(8 * len(specs)))
    volumes: array[int] = array("q", bytes(8 * len(specs)))
    sources: array[int] = array("q")
    targets: array[int] = array("q")
    add_source, add_target = sources.append, targets.append
    backward = 0
    find = index.get
    # One pass, the hot loop of partitioning a large graph: a few dict reads per drop.
    for position, spec in enumerate(specs):
        is_app[position], weights[position], volumes[position] = drop_weights(spec)
        get = spec.get
        for key in FORWARD_KEYS:
            entries = get(key)
            if not entries:
                continue
            for entry in entries:
                for other in entry if entry.__class__ is dict else (str(entry),):
                    found = find(other)
                    if found is None:
                        _find(index, other, spec, key)  # raises, naming the drop
                    add_source(position)
                    add_target(found)  # type: ignore[arg-type]
        for key in BACKWARD_KEYS:
            entries = get(key)
            if entries:
                backward += len(entries)
    if backward and backward != len(sources):
        more_targets, more_sources = _edges(specs, index, BACKWARD_KEYS)
        sources, targets = _union(sources, targets, more_sources, more_targets)
    return DropGraph(len(specs), is_app, weights, volumes, sources, targets)


def drop_weights(spec: DropSpec) -> tuple[int, int, int]:
    """One drop's ``(is_app, weight, volume)`` as :func:`drop_graph` reads them."""
    get = spec.get
    kind = get("categoryType") or get("type")
    if kind in _APP_NAMES or (kind.__class__ is str and kind.lower() in _APP_TYPES):
        weight = get("weight")
        return 1, _positive(get("execution_time") if weight is None else weight), 1
    volume = get("weight")
    return 0, 1, _positive(get("data_volume") if volume is None else volume)


def linked_graph(
    specs: Sequence[DropSpec],
    is_app: bytearray,
    weights: array[int],
    volumes: array[int],
    edges: Sequence[tuple[DropSpec, DropSpec]],
) -> DropGraph:
    """The graph of specs whose weights and edges their maker kept as it made them (the
    unroller does: it never reads a spec back). ``edges`` holds the spec objects."""
    position = {id(spec): number for number, spec in enumerate(specs)}
    sources = array("q", [position[id(source)] for source, _ in edges])
    targets = array("q", [position[id(target)] for _, target in edges])
    return DropGraph(len(specs), is_app, weights, volumes, sources, targets)


def _index(specs: Sequence[DropSpec]) -> dict[str, int]:
    index: dict[str, int] = {}
    for position, spec in enumerate(specs):
        oid = spec.get("oid")
        if oid is None:
            raise GraphError(f"drop spec {position} has no 'oid'; every drop needs one")
        index[oid if oid.__class__ is str else str(oid)] = position
    if len(index) != len(specs):
        raise GraphError("two drop specs share an oid; oids must be unique")
    return index


def _find(index: dict[str, int], oid: str, spec: DropSpec, key: str) -> int:
    found = index.get(oid)
    if found is None:
        raise GraphError(
            f"drop {spec['oid']!r} lists {oid!r} in {key!r}, but no drop of the graph has that oid"
        )
    return found


def _edges(
    specs: Sequence[DropSpec], index: dict[str, int], keys: Sequence[str]
) -> tuple[array[int], array[int]]:
    here: array[int] = array("q")
    there: array[int] = array("q")
    for position, spec in enumerate(specs):
        for key in keys:
            for other in _linked(spec.get(key) or ()):
                here.append(position)
                there.append(_find(index, other, spec, key))
    return here, there


def _linked(entries: Iterable[Any]) -> Iterable[str]:
    for entry in entries:
        if entry.__class__ is dict:
            yield from entry
        else:
            yield str(entry)


def _union(
    sources: array[int], targets: array[int], more_sources: array[int], more_targets: array[int]
) -> tuple[array[int], array[int]]:
    """Each edge once, forward ones first, in the order they were found."""
    unique = dict.fromkeys(zip(sources, targets, strict=True))
    unique.update(dict.fromkeys(zip(more_sources, more_targets, strict=True)))
    return array("q", (edge[0] for edge in unique)), array("q", (edge[1] for edge in unique))


def _positive(value: Any) -> int:
    """DALiuGE's reading of a weight: an integer, 1 when missing, bad or below 1."""
    if value.__class__ is int:
        return value if value > 1 else 1
    if value is None:
        return 1
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return max(number, 1)
