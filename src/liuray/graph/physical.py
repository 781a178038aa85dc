# SPDX-License-Identifier: LGPL-2.1-or-later
"""DALiuGE physical graphs: parsing, normalising and validating drop specs.

A physical graph is what DALiuGE's translator writes (``daliuge.md`` section 2.3): a JSON
list of drop specs, each with ``oid``, ``categoryType``, ``dropclass``, links and free
parameters. Accepted shapes:

* a plain list of specs;
* a list ending with a reprodata dict (one with no ``oid``, ``categoryType`` or
  ``dropclass``, such as ``{}``), kept as ``reprodata``;
* the wrapped ``["name", [specs...]]`` form (SLURM graphs).

Links may be given from either end (``outputs`` on the app, ``producers`` on the data, or
both) and as plain oids or ``{oid: port_name}`` dicts; :func:`load_physical_graph` makes
them symmetric and keeps port names (where both ends name a link, the app's name wins).
One drop may be linked to one app on several ports (``[{"m": "a"}, {"m": "b"}]``): it is
one link, and every port keeps its name (:class:`PortNames`, read by :func:`port_names`).
Drops are keyed by ``oid`` (DALiuGE's ``uid`` defaults to it).

Validation happens here, before anything runs: a spec that is not an object, a missing
``oid``, an unknown ``categoryType``, a duplicate oid, a link to a missing oid or between
two drops of the same kind, and cycles each raise :class:`~liuray.errors.GraphError`
naming the drop and what would be valid. Whether a ``dropclass`` exists is checked by
the engine's registry (``liuray.engine.registry``), which knows the implementations.

>>> pg = load_physical_graph([
...     {"oid": "a", "categoryType": "Application", "dropclass": "dlg.apps.simple.HelloWorldApp",
...      "outputs": [{"b": "hello"}]},
...     {"oid": "b", "categoryType": "Data", "dropclass": "dlg.data.drops.memory.InMemoryDROP"},
... ])
>>> pg["b"].producers, pg["a"].output_ports
(['a'], {'b': 'hello'})
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any, NoReturn, cast

import orjson

from liuray import _gc
from liuray.errors import GraphError
from liuray.graph.slices import NotSliceable, list_slices
from liuray.types import DropSpec, DropUid

APP_CATEGORIES = frozenset({"application", "app", "socket", "pythonapp", "component"})
DATA_CATEGORIES = frozenset({"data", "plain", "container"})
# A trailing dict with none of these keys is reprodata; one with them is a (bad) drop spec.
_SPEC_KEYS = frozenset({"oid", "categoryType", "type", "dropclass"})

# spec key -> (attribute on the drop holding the key, attribute on the other end, other kind)
_APP_LINKS = {
    "inputs": ("inputs", "consumers"),
    "streamingInputs": ("streaming_inputs", "streaming_consumers"),
    "outputs": ("outputs", "producers"),
}
_DATA_LINKS = {
    "consumers": ("consumers", "inputs"),
    "streamingConsumers": ("streaming_consumers", "streaming_inputs"),
    "producers": ("producers", "outputs"),
}


_NO_LINKS: list[DropUid] = cast(list[DropUid], ())
_NO_PORTS: dict[DropUid, str] = cast(dict[DropUid, str], MappingProxyType({}))
#: The empty link list of a drop's own kind, shared until its first link of that kind
#: (:func:`_link_list`): a list, so that ``inputs + streaming_inputs`` works; nothing
#: outside this module appends to it. A million drops hold ~a million empty lists less.
_UNLINKED: list[DropUid] = []


class DropDescription:
    """One drop of a physical graph, links normalised to symmetric oid lists.

    ``spec`` is the drop's original dict (parameters are read from it, never copied);
    ``*_ports`` map a linked oid to the port name the graph gave the link, if any.
    Made by :func:`load_physical_graph`: an app or a data drop (two classes, so each
    holds only its own kind of links; the other kind's read as empty).
    """

    __slots__ = ("oid", "spec")

    is_app: bool
    inputs: list[DropUid]
    streaming_inputs: list[DropUid]
    outputs: list[DropUid]
    consumers: list[DropUid]
    streaming_consumers: list[DropUid]
    producers: list[DropUid]
    input_ports: dict[DropUid, str]
    output_ports: dict[DropUid, str]

    def __init__(self, oid: DropUid, spec: DropSpec) -> None:
        self.oid = oid
        self.spec = spec

    @property
    def dropclass(self) -> str:
        """The implementation's import path (DALiuGE ``dropclass``; legacy fallbacks)."""
        spec = self.spec
        value = spec.get("dropclass") or spec.get("app") or spec.get("Application") or ""
        return str(value)

    @property
    def storage(self) -> str:
        """The legacy storage category (``storage``, else ``category``) that names a data
        drop's class when it has no ``dropclass``."""
        return str(self.spec.get("storage") or self.spec.get("category") or "")

    @property
    def node(self) -> str | None:
        """The node this drop is mapped to, if any."""
        node = self.spec.get("node")
        return None if node is None else str(node)

    @property
    def name(self) -> str:
        """Human-readable name (falls back to the oid)."""
        return str(self.spec.get("name") or self.oid)

    def __repr__(self) -> str:
        return f"DropDescription({self.oid!r}, {'app' if self.is_app else 'data'})"


class _AppDescription(DropDescription):
    """An application: inputs, outputs, streaming inputs and their port names."""

    __slots__ = ("input_ports", "inputs", "output_ports", "outputs", "streaming_inputs")
    is_app = True
    consumers = streaming_consumers = producers = _NO_LINKS

    def __init__(self, oid: DropUid, spec: DropSpec) -> None:
        self.oid = oid
        self.spec = spec
        self.inputs = self.outputs = self.streaming_inputs = _UNLINKED
        self.input_ports = self.output_ports = _NO_PORTS


class _DataDescription(DropDescription):
    """A data drop: producers, consumers and streaming consumers."""

    __slots__ = ("consumers", "producers", "streaming_consumers")
    is_app = False
    inputs = streaming_inputs = outputs = _NO_LINKS
    input_ports = output_ports = _NO_PORTS

    def __init__(self, oid: DropUid, spec: DropSpec) -> None:
        self.oid = oid
        self.spec = spec
        self.consumers = self.producers = self.streaming_consumers = _UNLINKED


class PhysicalGraph:
    """A validated physical graph: drops by oid, in the order given, plus reprodata."""

    def __init__(self, drops: dict[DropUid, DropDescription], reprodata: dict[str, Any]) -> None:
        self.drops = drops
        self.reprodata = reprodata

    def __getitem__(self, oid: DropUid) -> DropDescription:
        return self.drops[oid]

    def __iter__(self) -> Iterator[DropDescription]:
        return iter(self.drops.values())

    def __len__(self) -> int:
        return len(self.drops)

    def __contains__(self, oid: object) -> bool:
        return oid in self.drops

    def roots(self) -> list[DropUid]:
        """Drops with no inputs and no producers (what DALiuGE clients deploy as completed)."""
        return [
            d.oid
            for d in self.drops.values()
            if not (d.inputs or d.streaming_inputs or d.producers)
        ]

    def specs(self) -> list[DropSpec]:
        """The original drop specs, in order."""
        return [d.spec for d in self.drops.values()]


def unwrap_specs(obj: Any) -> tuple[list[Any], dict[str, Any]]:
    """Split a parsed physical-graph JSON value into (specs, reprodata).

    Raises:
        GraphError: if ``obj`` is not one of the accepted shapes.
    """
    if (
        isinstance(obj, list)
        and len(obj) == 2
        and isinstance(obj[0], str)
        and isinstance(obj[1], list)
    ):
        obj = obj[1]
    if isinstance(obj, dict) and "nodeDataArray" in obj:
        raise GraphError(
            "this is a logical graph (EAGLE .graph with nodeDataArray), not a physical graph; "
            "translate it first (liuray translate) or submit it with `liuray submit`",
            shape="logical",
        )
    if not isinstance(obj, list):
        raise GraphError(
            f"a physical graph must be a JSON list of drop specs, got {type(obj).__name__}; "
            'valid shapes: [spec, ...], [spec, ..., reprodata], ["name", [spec, ...]]',
            shape=type(obj).__name__,
        )
    reprodata: dict[str, Any] = {}
    if obj and isinstance(obj[-1], dict) and not _SPEC_KEYS.intersection(obj[-1]):
        reprodata = obj[-1]
        obj = obj[:-1]
    return obj, reprodata


def load_physical_graph(obj: Any) -> PhysicalGraph:
    """Parse, normalise and validate a physical graph given as parsed JSON.

    Raises:
        GraphError: for any malformed spec, link or cycle (the message names the drop).
    """
    with _gc.paused():
        return _load(obj)


def _load(obj: Any) -> PhysicalGraph:
    raw_specs, reprodata = unwrap_specs(obj)
    describer = _Describer()
    describer.add(raw_specs)
    return _linked(describer.drops, reprodata)


def _linked(drops: dict[DropUid, DropDescription], reprodata: dict[str, Any]) -> PhysicalGraph:
    """Link the described drops on both ends and check the graph has no cycle."""
    crowded: list[DropDescription] = []
    named: list[_Named] = []
    for drop in drops.values():
        _link(drop, drops, crowded, named)
    for drop in crowded:
        _deduplicate(drop)
    _name_ports(named)
    _check_acyclic(drops, _share_link_lists(drops))
    return PhysicalGraph(drops, reprodata)


def _share_link_lists(drops: dict[DropUid, DropDescription]) -> dict[DropUid, DropDescription]:
    """A spec's link list equal to the drop's own (plain oids, each once: how DALiuGE's
    translator writes them) becomes that list, one list instead of two (~64 MB less on
    a million drops). Nothing changes a loaded graph's lists, nor its specs' links.

    Returns the drops with both upstream and downstream links, in graph order (the
    only ones that can be on a cycle: :func:`_check_acyclic`), found in the same pass.
    """
    inner: dict[DropUid, DropDescription] = {}
    for oid, d in drops.items():
        spec = d.spec
        is_app = d.is_app
        for key in _SHARED_LINKS[is_app]:  # these spec keys are the attributes' names
            entries = spec.get(key)
            if entries:
                own = getattr(d, key)
                if entries == own:
                    spec[key] = own
        if is_app:
            if (d.inputs or d.streaming_inputs) and d.outputs:
                inner[oid] = d
        elif d.producers and (d.consumers or d.streaming_consumers):
            inner[oid] = d
    return inner


#: The links a spec may hold as a list equal to the drop's own, by ``is_app``.
_SHARED_LINKS = {True: ("inputs", "outputs"), False: ("producers", "consumers")}


#: Keys whose values repeat across drops (class names, kinds, nodes): one string each.
_REPEATED = ("categoryType", "dropclass", "node")


class _Describer:
    """Describes specs in order, as they come (a large file is parsed a slice at a time),
    sharing equal strings.

    The common case is inline: a million specs parsed from JSON hold a million copies of
    each class name; here each becomes one object (the first seen), and DALiuGE's
    ``uid`` (equal to the ``oid``) the oid itself (linked oids become the drops' own
    when linked: :func:`_link`). The kind of each
    ``categoryType`` string is worked out once; anything unusual goes through
    :func:`_describe`, which explains it.
    """

    def __init__(self) -> None:
        self.drops: dict[DropUid, DropDescription] = {}
        self._strings: dict[str, str] = {}
        self._kinds: dict[str, bool] = {}  # categoryType as written -> is an app

    def add(self, specs: list[Any]) -> None:
        """Describe ``specs``, the next ones of the graph."""
        drops, strings, kinds = self.drops, self._strings, self._kinds
        for index, spec in enumerate(specs, len(drops)):
            oid = spec.get("oid") if spec.__class__ is dict else None
            category = spec.get("categoryType") if oid.__class__ is str else None
            is_app = kinds.get(category) if category.__class__ is str else None
            if is_app is None or not oid:
                drop = _describe(index, spec)
                oid, is_app = drop.oid, drop.is_app
                if category.__class__ is str:
                    kinds[category] = is_app
            if oid in drops:
                raise GraphError(
                    f"duplicate drop oid {oid!r} (spec #{index}); oids must be unique", uid=oid
                )
            drops[oid] = _AppDescription(oid, spec) if is_app else _DataDescription(oid, spec)
            # The keys of _REPEATED, unrolled (categoryType is read already).
            if category.__class__ is str:
                spec["categoryType"] = strings.setdefault(category, category)
            value = spec.get("dropclass")
            if value.__class__ is str:
                spec["dropclass"] = strings.setdefault(value, value)
            value = spec.get("node")
            if value.__class__ is str:
                spec["node"] = strings.setdefault(value, value)
            if spec.get("uid") == oid:
                spec["uid"] = oid


def read_physical_graph(path: str | Path) -> PhysicalGraph:
    """Read and load a physical graph JSON file.

    Raises:
        GraphError: if the file is not valid JSON or not a valid physical graph.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise GraphError(
            f"cannot read graph file {str(path)!r}: {err.strerror}", path=str(path)
        ) from err
    with _gc.paused():  # parsing makes millions of acyclic objects on a large graph
        if len(data) > _SLICE_BYTES:
            try:
                return _read_in_slices(data)
            except NotSliceable:
                pass  # not a plain list of specs, or not valid JSON: parsed whole below
        try:
            # orjson: ~2x json's speed, and one string object per distinct key. What it
            # refuses (NaN, huge integers, bad text) goes to json, which accepts the
            # same as before or says where the text is wrong.
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            parsed = _parse_fallback(data, path)
        del data
        return load_physical_graph(parsed)


#: A graph file larger than this is parsed this many bytes at a time (see slices.py).
_SLICE_BYTES = 4 << 20


def _read_in_slices(data: bytes) -> PhysicalGraph:
    """Describe the specs of a large file slice by slice, so each slice's duplicate
    strings are freed (and their memory reused) before the next is parsed.

    Raises:
        NotSliceable: the file must be parsed whole.
    """
    describer = _Describer()
    last: list[Any] = []  # the last element so far: perhaps reprodata
    for specs in list_slices(data, _SLICE_BYTES):
        describer.add(last)
        last = specs[-1:]
        del specs[-1:]
        describer.add(specs)
    reprodata: dict[str, Any] = {}
    if isinstance(last[0], dict) and not _SPEC_KEYS.intersection(last[0]):
        reprodata = last[0]
    else:
        describer.add(last)
    return _linked(describer.drops, reprodata)


def _parse_fallback(data: bytes, path: str | Path) -> Any:
    """``json``'s reading of what orjson refused, or a GraphError saying where it is bad."""
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        pass
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise GraphError(
            f"graph file {str(path)!r} is not UTF-8 text (byte {err.start}); "
            "a physical graph is a JSON file",
            path=str(path),
        ) from err
    return parse_json(text, str(path))  # raises, with line and column


def parse_json(text: str | bytes, where: str = "graph") -> Any:
    """Parse JSON, turning syntax errors into a GraphError with line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise GraphError(
            f"{where}: not valid JSON: {err.msg} at line {err.lineno} column {err.colno}",
            line=err.lineno,
            column=err.colno,
        ) from err
    except UnicodeDecodeError as err:
        raise GraphError(f"{where}: not valid JSON: not UTF-8 text (byte {err.start})") from err


def _describe(index: int, spec: Any) -> DropDescription:
    if not isinstance(spec, dict):
        raise GraphError(
            f"spec #{index} is a {type(spec).__name__}, not a JSON object with an "
            "'oid' and a 'categoryType'",
            index=index,
        )
    oid = spec.get("oid")
    if not isinstance(oid, str) or not oid:
        got = "none" if oid is None else repr(oid)
        raise GraphError(
            f"spec #{index} ({spec.get('name') or 'unnamed'}) has no valid 'oid' (got {got}); "
            "every drop needs a unique non-empty string oid",
            index=index,
        )
    raw = spec.get("categoryType") or spec.get("type") or ""
    category = str(raw).lower()
    if category in APP_CATEGORIES:
        return _AppDescription(oid, spec)
    if category in DATA_CATEGORIES:
        return _DataDescription(oid, spec)
    if category == "service":
        raise GraphError(
            f"drop {oid!r} ({spec.get('name') or 'unnamed'}, category "
            f"{spec.get('category') or '?'!r}) is an EAGLE Service node: a server that "
            "DALiuGE's older graphs expect running beside the graph (a Plasma object "
            "store), which neither liuray nor DALiuGE 6.6.0 runs; Plasma (pyarrow.plasma) "
            "was removed in pyarrow 12. Remove the node and pass its data through memory "
            "or file drops, or a streaming link between the apps",
            uid=oid,
            category=str(raw),
        )
    raise GraphError(
        f"drop {oid!r}: categoryType {raw!r} is not known; valid (any case): "
        f"{sorted(APP_CATEGORIES)} for apps, {sorted(DATA_CATEGORIES)} for data; "
        "logical-graph categories such as 'Construct' must be translated first",
        uid=oid,
        category=str(raw),
    )


#: A link list this long is not searched for the link given from the other end (DALiuGE
#: writes both): it may get it twice, and is de-duplicated once at the end.
_SEARCHED = 8


def _link(
    drop: DropDescription,
    drops: dict[DropUid, DropDescription],
    crowded: list[DropDescription],
    named: list[_Named],
) -> None:
    """Record ``drop``'s links on both ends (``crowded`` collects the drops whose lists
    may hold a link twice, ``named`` the port names links are given)."""
    spec = drop.spec
    is_app = drop.is_app
    for key, mine, theirs in _APP_KEYS if is_app else _DATA_KEYS:
        entries = spec.get(key)
        if not entries:
            continue
        own = getattr(drop, mine)
        if entries == own:
            # Every link here was given from the other end already (and checked there):
            # half the links of a graph written on both ends, as DALiuGE writes them. The
            # spec takes the drops' own oid objects (its parsed copies are freed now).
            entries[:] = own
            continue
        own = _link_list(drop, mine) if entries.__class__ is list else _not_a_list(drop, key)
        for position, entry in enumerate(entries):
            if entry.__class__ is str:
                other_oid, port = entry, None
            else:
                other_oid, port = _link_entry(drop.oid, key, entry)
            other = drops.get(other_oid)
            if other is None or other.is_app is is_app:
                raise _bad_link(drop, key, other_oid, drops)
            # The lists hold the drops' own oid objects, and so does the spec from now
            # on: no second copy of every linked oid stays alive. A link the other end
            # gave already is in a short list (appends go in pairs); a long one is
            # de-duplicated at the end.
            if len(own) >= _SEARCHED:
                crowded.append(drop)
                crowded.append(other)
                own.append(other.oid)
                _link_list(other, theirs).append(drop.oid)
            elif other.oid not in own:
                own.append(other.oid)
                back = getattr(other, theirs)  # _link_list, inline: once per link
                if back is _UNLINKED:
                    back = []
                    setattr(other, theirs, back)
                back.append(drop.oid)
            if port is None:
                entries[position] = other.oid
            else:  # named by the app or by the data drop: see _name_ports
                named.append(
                    (drop, mine == "outputs", other.oid, port, True)  # type: ignore[arg-type]
                    if is_app
                    else (other, mine == "producers", drop.oid, port, False)
                )


#: (spec key, attribute holding it, attribute on the other end), by kind of drop.
_APP_KEYS = tuple((key, mine, theirs) for key, (mine, theirs) in _APP_LINKS.items())
_DATA_KEYS = tuple((key, mine, theirs) for key, (mine, theirs) in _DATA_LINKS.items())


def _not_a_list(drop: DropDescription, key: str) -> NoReturn:
    raise GraphError(
        f"drop {drop.oid!r}: {key!r} must be a list of oids or {{oid: port}} objects",
        uid=drop.oid,
    )


def _bad_link(
    drop: DropDescription, key: str, other_oid: DropUid, drops: dict[DropUid, DropDescription]
) -> GraphError:
    """The error for a link to a drop that is not in the graph or of the same kind."""
    if other_oid not in drops:
        return _dangling(drop, key, other_oid, drops)
    kind = "apps" if drop.is_app else "data drops"
    return GraphError(
        f"drop {drop.oid!r}: {key!r} links it to {other_oid!r}, but both are {kind}; apps "
        "link only to data drops and data drops only to apps",
        uid=drop.oid,
        link=other_oid,
    )


class PortNames(dict[DropUid, str]):
    """An app's port names by linked drop oid, for an app that reads (or writes) one drop
    on several ports: each oid maps to its first port, as in a plain dict, and
    :attr:`several` holds every port of the drops linked more than once (DALiuGE's
    ``_generateNamedPorts`` names each port; LEAP's graphs read one file on three
    ports). Read it through :func:`port_names`."""

    __slots__ = ("several",)

    def __init__(self) -> None:
        super().__init__()
        self.several: dict[DropUid, tuple[str, ...]] = {}


def port_names(ports: dict[DropUid, str], oid: DropUid) -> tuple[str, ...]:
    """Every port name an app's ``ports`` give the link to ``oid``, in graph order.

    >>> port_names({"x": "a"}, "x"), port_names({"x": "a"}, "y")
    (('a',), ())
    """
    if isinstance(ports, PortNames):
        several = ports.several.get(oid)
        if several is not None:
            return several
    port = ports.get(oid)
    return () if port is None else (port,)


#: One port name given by a link: (app, outgoing, data oid, port, given by the app).
_Named = tuple["_AppDescription", bool, DropUid, str, bool]


def _name_ports(named: list[_Named]) -> None:
    """Give each app the port names its links were given. Where both ends name a link,
    the app's own names win (apps bind arguments by them), whichever spec comes first; a
    drop named on several ports keeps each, once, in the order given."""
    apps: dict[tuple[int, bool, DropUid], _AppDescription] = {}
    by_app: dict[tuple[int, bool, DropUid], list[str]] = {}
    by_data: dict[tuple[int, bool, DropUid], list[str]] = {}
    for app, outgoing, oid, port, given_by_app in named:
        key = (id(app), outgoing, oid)
        apps[key] = app
        (by_app if given_by_app else by_data).setdefault(key, []).append(port)
    for key, app in apps.items():
        _, outgoing, oid = key
        names = tuple(dict.fromkeys(by_app.get(key) or by_data[key]))
        attribute = "output_ports" if outgoing else "input_ports"
        ports: dict[DropUid, str] = getattr(app, attribute)
        if len(names) > 1 and not isinstance(ports, PortNames):
            several = PortNames()
            several.update(ports)
            ports = several
            setattr(app, attribute, ports)
        elif ports is _NO_PORTS:
            ports = {}
            setattr(app, attribute, ports)
        ports[oid] = names[0]
        if isinstance(ports, PortNames) and len(names) > 1:
            ports.several[oid] = names


def _link_list(drop: DropDescription, attribute: str) -> list[DropUid]:
    found: list[DropUid] = getattr(drop, attribute)
    if found is _UNLINKED:  # the first link of this kind
        found = []
        setattr(drop, attribute, found)
    return found


def _dangling(
    drop: DropDescription, key: str, missing: DropUid, drops: dict[DropUid, DropDescription]
) -> GraphError:
    kind = not drop.is_app  # the other end must be of the other kind
    candidates = [oid for oid, d in drops.items() if d.is_app == kind]
    close = difflib.get_close_matches(missing, candidates, n=3)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    return GraphError(
        f"drop {drop.oid!r}: {key!r} names {missing!r}, which is not in the graph{hint}",
        uid=drop.oid,
        link=missing,
    )


def _deduplicate(drop: DropDescription) -> None:
    # Only the drop's own kind of links can hold anything (see DropDescription).
    if isinstance(drop, _AppDescription):
        drop.inputs = _unique(drop.inputs)
        drop.outputs = _unique(drop.outputs)
        drop.streaming_inputs = _unique(drop.streaming_inputs)
    elif isinstance(drop, _DataDescription):
        drop.consumers = _unique(drop.consumers)
        drop.producers = _unique(drop.producers)
        drop.streaming_consumers = _unique(drop.streaming_consumers)


def _unique(values: list[DropUid]) -> list[DropUid]:
    return list(dict.fromkeys(values)) if len(values) > 1 else values


def _link_entry(oid: DropUid, key: str, entry: Any) -> tuple[DropUid, str | None]:
    if isinstance(entry, str):
        return entry, None
    if isinstance(entry, dict) and len(entry) == 1:
        ((other, port),) = entry.items()
        return str(other), None if port is None else str(port)
    raise GraphError(
        f"drop {oid!r}: entry {entry!r} in {key!r} is neither an oid string nor a one-key "
        "{oid: port_name} object",
        uid=oid,
    )


def _check_acyclic(
    drops: dict[DropUid, DropDescription], inner: dict[DropUid, DropDescription]
) -> None:
    # Only a drop with links on both sides (``inner``) can be on a cycle: Kahn's
    # algorithm runs over those (an integer count each), with the edges between them.
    # The many sources and leaves of a wide graph (a scatter's apps and outputs) cost
    # one look each.
    if not inner:
        return
    indegree: dict[DropUid, int] = {}
    ready: list[DropDescription] = []
    for oid, d in inner.items():
        count = 0
        for before in _upstream(d):
            count += before in inner
        if count:
            indegree[oid] = count
        else:
            ready.append(d)
    seen = 0
    while ready:
        d = ready.pop()
        seen += 1
        for after in (d.outputs,) if d.is_app else (d.consumers, d.streaming_consumers):
            for nxt in after:
                left = indegree.get(nxt)
                if left is None:  # not inner, or inner and ready from the start
                    continue
                indegree[nxt] = left - 1
                if left == 1:
                    ready.append(inner[nxt])
    if seen == len(inner):
        return
    cycle = _find_cycle(drops, {oid for oid, n in indegree.items() if n > 0})
    raise GraphError(
        f"drop {cycle[0]!r} is on a cycle: {' -> '.join(cycle)}; a physical graph must be "
        "acyclic (loops are unrolled by the translator)",
        uid=cycle[0],
        cycle=cycle,
    )


def _upstream(drop: DropDescription) -> list[DropUid]:
    return drop.inputs + drop.streaming_inputs if drop.is_app else drop.producers


def _find_cycle(drops: dict[DropUid, DropDescription], candidates: set[DropUid]) -> list[DropUid]:
    # Every drop Kahn's algorithm left behind has an unresolved *upstream* drop (drops
    # downstream of a cycle may have no unresolved successor), so walk upstream until a
    # drop repeats, then report the loop in dataflow order.
    path: list[DropUid] = []
    position: dict[DropUid, int] = {}
    oid = min(candidates)
    while oid not in position:
        position[oid] = len(path)
        path.append(oid)
        oid = next(n for n in _upstream(drops[oid]) if n in candidates)
    loop = path[position[oid] :][::-1]
    first = loop.index(min(loop))
    loop = loop[first:] + loop[:first]
    return [*loop, loop[0]]
