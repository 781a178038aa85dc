# SPDX-License-Identifier: LGPL-2.1-or-later
"""Logical graph -> physical graph, one stage per module, pure functions.

``unroll`` (constructs -> drop specs), ``partition`` (``"#<i>"`` labels, islands),
``map`` (labels -> node names); :func:`translate` runs them all.
"""

from liuray.translate.map import map_partitions
from liuray.translate.partition import ALGORITHMS, ALIASES, PARTITIONERS, partition
from liuray.translate.pipeline import translate
from liuray.translate.unroll import unroll

__all__ = [
    "ALGORITHMS",
    "ALIASES",
    "PARTITIONERS",
    "map_partitions",
    "partition",
    "translate",
    "unroll",
]
