# SPDX-License-Identifier: LGPL-2.1-or-later
"""Partitioning: label every drop spec with the partition and island it runs in.

State: none kept. :func:`partition` copies the specs it is given (shallowly) and
returns the copies with ``node = "#<partition>"`` and ``island = "#<island>"``, the
"partitioned physical graph template" that DALiuGE's ``dlg partition`` writes and
``dlg map`` reads; :func:`partition_in_place` writes the same two keys into the specs
themselves (the translator's own, freshly unrolled specs: no second copy of a large
graph).

One interface: a *partitioner* is a function from a :class:`DropGraph` (drops as
integers, edges as arrays, DALiuGE's weights; :mod:`~liuray.translate.drop_graph`) and
the :class:`PartitionOptions` to the partition of every drop. They are registered in
:data:`PARTITIONERS`:

* ``none``: every drop in partition 0 (DALiuGE's ``none``).
* ``chains``: chains of drops kept together, parallel branches dealt out balanced
  (:mod:`~liuray.translate.chains`); the default for more than one partition, and
  needs no extra.
* ``metis``: DALiuGE's default, METIS k-way with balanced weights and the fewest data
  cut (:mod:`~liuray.translate.metis`; ``pip install 'liuray[metis]'``).
* ``min_num_parts`` (alias ``mpp``): as few partitions as keep each one's degree of
  parallelism within ``max_dop`` (:mod:`~liuray.translate.min_parts`); it chooses the
  number of partitions itself.

Then, with ``islands > 1``, the partitions are merged into islands
(:mod:`~liuray.translate.islands`).

>>> specs = [{"oid": str(i), "categoryType": "Data"} for i in range(3)]
>>> [spec["node"] for spec in partition(specs, 2)]
['#0', '#1', '#0']
>>> [spec["node"] for spec in partition(specs, algorithm="min_num_parts", max_dop=2)]
['#0', '#0', '#1']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from liuray.errors import GraphError
from liuray.translate.chains import chains_labels
from liuray.translate.drop_graph import DropGraph, drop_graph
from liuray.translate.islands import island_labels
from liuray.translate.metis import DEFAULT_MAX_LOAD_IMBALANCE, metis_labels
from liuray.translate.min_parts import DEFAULT_MAX_DOP, min_parts_labels
from liuray.types import DropSpec


@dataclass(frozen=True, slots=True)
class PartitionOptions:
    """What a partitioner is asked for.

    Attributes:
        partitions: how many partitions (None: the algorithm's choice; 1 unless it
            chooses itself, as ``min_num_parts`` does).
        islands: how many islands to merge the partitions into.
        max_dop: ``min_num_parts``: the largest degree of parallelism of a partition
            (DALiuGE's ``max_cpu``).
        max_load_imbalance: ``metis``: DALiuGE's ``max_load_imb`` (``ufactor = 101 -``
            it; 90, the default, allows 1.1% above the average weight).
    """

    partitions: int | None = None
    islands: int = 1
    max_dop: int = DEFAULT_MAX_DOP
    max_load_imbalance: int = DEFAULT_MAX_LOAD_IMBALANCE

    @property
    def count(self) -> int:
        """The number of partitions asked for (1 when none was given)."""
        return 1 if self.partitions is None else self.partitions


#: A partitioner: the partition (``0..n-1``) of every drop of the graph.
Partitioner = Callable[[DropGraph, PartitionOptions], list[int]]

PARTITIONERS: dict[str, Partitioner] = {
    "none": lambda graph, options: [0] * graph.size,
    "chains": lambda graph, options: chains_labels(graph, options.count),
    "metis": lambda graph, options: metis_labels(
        graph, options.count, max_load_imbalance=options.max_load_imbalance
    ),
    "min_num_parts": lambda graph, options: min_parts_labels(graph, options.max_dop),
}
ALGORITHMS = tuple(PARTITIONERS)
#: Other names accepted for an algorithm.
ALIASES = {"mpp": "min_num_parts"}
#: The algorithms that choose the number of partitions themselves.
CHOOSE_THEIR_COUNT = frozenset({"min_num_parts"})


@dataclass(frozen=True, slots=True)
class Partitioning:
    """Where every drop goes: ``partitions[i]`` and ``islands[i]`` for drop ``i``."""

    algorithm: str
    partitions: list[int]
    islands: list[int]


def partition(
    specs: Sequence[DropSpec],
    partitions: int | None = None,
    algorithm: str | None = None,
    *,
    islands: int = 1,
    max_dop: int = DEFAULT_MAX_DOP,
    max_load_imbalance: int = DEFAULT_MAX_LOAD_IMBALANCE,
) -> list[DropSpec]:
    """Copies of ``specs`` labelled ``node = "#<partition>"``, ``island = "#<island>"``.

    Args:
        specs: drop specs, as :func:`liuray.translate.unroll.unroll` makes them.
        partitions: how many partitions (at least 1; default 1, or the algorithm's
            choice for ``min_num_parts``).
        algorithm: one of :data:`ALGORITHMS` (or an alias); default ``none`` for one
            partition, else ``chains``.
        islands: how many islands to merge the partitions into.
        max_dop: ``min_num_parts``'s bound on a partition's degree of parallelism.
        max_load_imbalance: ``metis``'s balance setting (DALiuGE's ``max_load_imb``).

    Raises:
        GraphError: an unknown algorithm, a bad count, or a link to a missing drop.
        MissingDependency: ``metis`` without ``pymetis`` installed.
    """
    options = PartitionOptions(partitions, islands, max_dop, max_load_imbalance)
    placed = partition_labels(specs, options, algorithm)
    return [
        {**spec, "node": f"#{part}", "island": f"#{island}"}
        for spec, part, island in zip(specs, placed.partitions, placed.islands, strict=True)
    ]


def partition_in_place(
    specs: Sequence[DropSpec],
    options: PartitionOptions,
    algorithm: str | None = None,
    graph: DropGraph | None = None,
) -> Partitioning:
    """As :func:`partition`, but writes ``node`` and ``island`` into ``specs`` themselves.

    ``graph`` is the specs' drop graph when the caller has it already (the unroller
    keeps it as it makes the specs).
    """
    placed = partition_labels(specs, options, algorithm, graph)
    labels = [f"#{part}" for part in range(max(placed.partitions, default=0) + 1)]
    island_names = [f"#{island}" for island in range(options.islands)]
    for spec, part, island in zip(specs, placed.partitions, placed.islands, strict=True):
        spec["node"] = labels[part]
        spec["island"] = island_names[island]
    return placed


def partition_labels(
    specs: Sequence[DropSpec],
    options: PartitionOptions,
    algorithm: str | None = None,
    graph: DropGraph | None = None,
) -> Partitioning:
    """The partition and island of every spec, without touching the specs."""
    chosen = resolve(algorithm, options)
    if chosen == "none" and options.count == 1 and options.islands == 1:
        return Partitioning(chosen, [0] * len(specs), [0] * len(specs))
    if graph is None:
        graph = drop_graph(specs)
    labels = PARTITIONERS[chosen](graph, options)
    islands = island_labels(graph, labels, options.islands, metis=chosen == "metis")
    return Partitioning(chosen, labels, islands)


def resolve(algorithm: str | None, options: PartitionOptions) -> str:
    """The algorithm's registered name, after checking the options against it.

    Raises:
        GraphError: an unknown algorithm, a count below 1, or a partition count given
            to an algorithm that chooses its own.
    """
    chosen = ALIASES.get(algorithm or "", algorithm) or ("none" if options.count == 1 else "chains")
    if chosen not in PARTITIONERS:
        known = ", ".join([*ALGORITHMS, *ALIASES])
        raise GraphError(f"unknown partitioning algorithm {chosen!r} (known: {known})")
    if options.partitions is not None and options.partitions < 1:
        raise GraphError(f"the number of partitions must be at least 1, got {options.partitions}")
    if options.islands < 1:
        raise GraphError(f"the number of islands must be at least 1, got {options.islands}")
    if options.islands > options.count and chosen not in CHOOSE_THEIR_COUNT:
        raise GraphError(
            f"cannot form {options.islands} islands from {options.count} partitions: an "
            "island holds at least one partition; ask for fewer islands or more partitions"
        )
    if chosen in CHOOSE_THEIR_COUNT and options.partitions is not None:
        raise GraphError(
            f"{chosen} chooses the number of partitions itself (as few as keep each "
            f"partition's degree of parallelism within max_dop={options.max_dop}); "
            "give the degree of parallelism instead of a number of partitions"
        )
    if chosen == "none" and options.count > 1:
        raise GraphError(
            f"the 'none' algorithm makes one partition, not {options.count}; choose "
            f"another algorithm ({', '.join(name for name in ALGORITHMS if name != 'none')})"
        )
    return chosen
