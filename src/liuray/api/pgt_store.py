# SPDX-License-Identifier: LGPL-2.1-or-later
"""The translator routes' memory: partitioned templates by ``pgt_id``, least recently
used first out.

DALiuGE's translator (``PGManager``) keeps every template that ``POST /gen_pgt`` makes,
in memory and on disk, until it restarts; the page it answers with names the template
by its ``pgt_id``, and ``GET /pgt_jsonbody`` and ``GET /gen_pg`` read it back. liuray
keeps them in memory only, in a :class:`TemplateStore` bounded twice: at most
``max_templates`` templates and ``max_drops`` drops in all. Adding one evicts the least
recently used until both bounds hold (the newest is always kept, whatever its size);
reading one makes it the most recently used. A template asked for after its eviction
is a 404 saying so, and the graph is translated again by posting it again.

Thread-safe: handlers run in the thread pool; a lock guards the dictionary and nothing
else is done under it.

>>> store = TemplateStore(max_templates=2)
>>> first = store.add(Template("HelloWorld.graph", [{"oid": "a", "node": "#0"}], 1, 1, "none"))
>>> first
'HelloWorld1_pgt.graph'
>>> second = store.add(Template("x.graph", [], 1, 1, "none"))
>>> store.get(first) is not None  # now the most recently used
True
>>> third = store.add(Template("y.graph", [], 1, 1, "none"))
>>> store.get(second) is None, len(store)
(True, 2)
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from liuray.types import DropSpec

#: DALiuGE's translator keeps 300 names before it reuses them; liuray keeps as many
#: templates at most, and fewer when they are large (:data:`MAX_DROPS`).
MAX_TEMPLATES = 300
#: Drops kept in all templates together (about 1-2 GB of specs at most).
MAX_DROPS = 1_000_000

_NOT_IN_ID = re.compile(r"[^A-Za-z0-9._@+-]+")


@dataclass(frozen=True)
class Template:
    """A partitioned physical graph template, as ``/gen_pgt`` made it.

    Attributes:
        lg_name: the logical graph's name as the form gave it (``lg_name``).
        specs: the drop specs, labelled ``node = "#<partition>"``, ``island = "#<j>"``.
        partitions: how many partitions the algorithm made.
        islands: how many islands they were merged into.
        algorithm: the partitioning algorithm's name.
        partition_label: the name given to each partition in the template's view.
        reprodata: the trailing reproducibility object DALiuGE appends to graphs.
    """

    lg_name: str
    specs: list[DropSpec]
    partitions: int
    islands: int
    algorithm: str
    partition_label: str = "Partition"
    reprodata: dict[str, Any] = field(default_factory=dict)


class TemplateStore:
    """Templates by id, least recently used evicted first (see the module docstring)."""

    def __init__(self, max_templates: int = MAX_TEMPLATES, max_drops: int = MAX_DROPS) -> None:
        if max_templates < 1 or max_drops < 1:
            raise ValueError("a template store holds at least one template and one drop")
        self.max_templates = max_templates
        self.max_drops = max_drops
        self._templates: OrderedDict[str, Template] = OrderedDict()
        self._drops = 0
        self._added = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._templates)

    def add(self, template: Template) -> str:
        """Keep ``template``; returns its new id, DALiuGE-style ``<name><n>_pgt.graph``."""
        stem = template.lg_name.rsplit("/", 1)[-1].removesuffix(".graph")
        stem = _NOT_IN_ID.sub("_", stem).strip("._-+@")[:100] or "graph"
        with self._lock:
            self._added += 1
            pgt_id = f"{stem}{self._added}_pgt.graph"
            self._templates[pgt_id] = template
            self._drops += len(template.specs)
            while len(self._templates) > 1 and (
                len(self._templates) > self.max_templates or self._drops > self.max_drops
            ):
                _, evicted = self._templates.popitem(last=False)
                self._drops -= len(evicted.specs)
        return pgt_id

    def get(self, pgt_id: str) -> Template | None:
        """The template ``pgt_id`` (now the most recently used), or None."""
        with self._lock:
            template = self._templates.get(pgt_id)
            if template is not None:
                self._templates.move_to_end(pgt_id)
            return template


def graph_view(template: Template) -> dict[str, Any]:
    """The template as DALiuGE's viewer reads it (``GET /pgt_jsonbody``): a GoJS model.

    One node per drop (``key`` from 1, ``oid``, ``category``, ``name``, ``iid``, and
    ``group``: the key of its partition), one group node per partition (``isGroup``,
    ``"<label>_<n>"``) and, with several islands, one per island holding its partitions;
    one link per producer -> output and data -> consumer pair.
    """
    keys = {spec["oid"]: key for key, spec in enumerate(template.specs, start=1)}
    next_key = len(keys) + 1
    partition_keys: dict[str, int] = {}
    island_keys: dict[str, int] = {}
    groups: list[dict[str, Any]] = []
    nodes: list[dict[str, Any]] = []
    links: list[dict[str, int]] = []
    for spec in template.specs:
        label = str(spec.get("node", "#0"))
        if label not in partition_keys:
            partition_keys[label] = next_key
            group: dict[str, Any] = {"key": next_key, "isGroup": True}
            group["name"] = f"{template.partition_label}_{len(partition_keys)}"
            next_key += 1
            if template.islands > 1:
                island = str(spec.get("island", "#0"))
                if island not in island_keys:
                    island_keys[island] = next_key
                    groups.append(
                        {"key": next_key, "isGroup": True, "name": f"Island_{len(island_keys)}"}
                    )
                    next_key += 1
                group["group"] = island_keys[island]
            groups.append(group)
        nodes.append(
            {
                "key": keys[spec["oid"]],
                "oid": spec["oid"],
                "category": spec.get("categoryType", ""),
                "name": spec.get("name", ""),
                "iid": spec.get("iid", ""),
                "group": partition_keys[label],
            }
        )
        source = keys[spec["oid"]]
        for forward in ("outputs", "consumers"):
            for link in spec.get(forward) or ():
                target = keys.get(_linked_oid(link))
                if target is not None:
                    links.append({"from": source, "to": target})
    return {
        "class": "go.GraphLinksModel",
        "nodeDataArray": nodes + groups,
        "linkDataArray": links,
        "reprodata": template.reprodata,
    }


def _linked_oid(link: Any) -> str:
    """The oid a link entry names: ``"oid"`` or ``{"oid": "port"}``."""
    if isinstance(link, dict):
        return str(next(iter(link), ""))
    return str(link)
