# SPDX-License-Identifier: LGPL-2.1-or-later
"""EAGLE logical graphs (``.graph`` JSON): parsing into a typed, validated model.

A logical graph (``daliuge.md`` section 2.1) is a JSON object with ``modelData``,
``nodeDataArray`` and ``linkDataArray``. Each node carries ``fields``: parameters and
ports alike, told apart by ``usage`` (``NoPort``, ``InputPort``, ``OutputPort``,
``InputOutput``); links name the field ids of their ports. :func:`load_logical_graph`
turns that into a :class:`LogicalGraph`:

* the active graph configuration (``activeGraphConfigId`` in ``graphConfigurations``),
  if any, overrides field values first;
* a physical graph (a JSON list of drop specs) is refused with a pointer to ``liuray
  run`` / ``liuray submit``: it needs no translation;
* ``Comment`` and ``Description`` nodes are dropped unread (as DALiuGE ignores them), and
  so is an old EAGLE Description node (category and categoryType ``Unknown``, no port),
  of which DALiuGE makes an unrunnable drop;
* ``GlobalVariable`` nodes are dropped after their fields replaced every ``{name}`` in the
  other nodes' field values (DALiuGE's ``extract_globals``, types converted alike);
* an ``ExclusiveForceNode`` is transparent: its children move to its parent (it only
  asks that they share a node, which liuray's partitioner does not use yet);
* fields without a name that are no port are skipped, as DALiuGE skips them;
* a construct with an embedded application (``inputApplicationType``, as Scatter and
  Gather have) gets it as :attr:`LogicalNode.app`: a node with the construct's id, the
  construct's own parameters and the ``inputAppFields``; links that name the construct
  mean that app;
* links resolve their port ids to port *names* (the field's ``name``) and keep
  ``loop_aware`` (``"1"``) and ``closesLoop``.

Everything is checked on the way in, and a :class:`~liuray.errors.GraphError` names the
node (id and name) and what would be valid: duplicate ids, a ``parentId`` that is not a
construct, a group cycle, a link to a missing node or a missing port, or a link that
leaves through an input-only port.

>>> graph = load_logical_graph({"nodeDataArray": [
...     {"id": "a", "name": "hello", "categoryType": "Application", "fields": [
...         {"id": "p", "name": "out", "usage": "OutputPort"}]},
...     {"id": "d", "name": "file", "categoryType": "Data", "fields": [
...         {"id": "q", "name": "out", "usage": "InputOutput"}]}],
...     "linkDataArray": [{"from": "a", "fromPort": "p", "to": "d", "toPort": "q"}]})
>>> [(link.source, link.source_port, link.target) for link in graph.links]
[('a', 'out', 'd')]
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from liuray.errors import GraphError

IGNORED_CATEGORIES = frozenset({"Comment", "Description"})
GLOBAL_VARIABLES = "GlobalVariable"
EXCLUSIVE_FORCE = "ExclusiveForceNode"
CATEGORY_TYPES = frozenset({"Application", "Data", "Construct", "Other"})
_INPUT_USAGES = frozenset({"InputPort", "InputOutput"})
_OUTPUT_USAGES = frozenset({"OutputPort", "InputOutput"})
_USAGES = frozenset({"NoPort"}) | _INPUT_USAGES | _OUTPUT_USAGES
#: What DALiuGE takes for "no embedded application" (``dm_utils._has_app_keywords``).
_NO_APP = (None, "", "None", "none", "UnknownApplication")


@dataclass(frozen=True, slots=True)
class Field:
    """One EAGLE field: a parameter (``usage == "NoPort"``) or a port."""

    id: str
    name: str
    value: Any
    usage: str = "NoPort"
    parameter_type: str = "ComponentParameter"
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_port(self) -> bool:
        """True for input, output and input-output ports."""
        return self.usage != "NoPort"

    @property
    def is_input(self) -> bool:
        """True if a link may arrive on this port."""
        return self.usage in _INPUT_USAGES

    @property
    def is_output(self) -> bool:
        """True if a link may leave through this port."""
        return self.usage in _OUTPUT_USAGES


@dataclass(frozen=True, slots=True)
class LogicalNode:
    """A node of the logical graph: an application, a data item or a construct."""

    id: str
    name: str
    category: str
    category_type: str
    parent_id: str | None
    fields: tuple[Field, ...]
    is_group: bool = False
    #: For constructs with an embedded application (Scatter, Gather...): that app.
    app: LogicalNode | None = None
    #: For constructs: the category of an embedded *output* application, if any.
    output_app_category: str | None = None
    #: For constructs: the fields of that embedded output application.
    output_app_fields: tuple[Field, ...] = ()
    #: For constructs without an embedded app (``UnknownApplication``): its fields, whose
    #: ports links may still name.
    input_app_fields: tuple[Field, ...] = ()
    #: Keys the translator writes into every drop spec of this node as they are (set on
    #: the nodes it makes itself, such as a SubGraph's app; empty for parsed nodes).
    spec_extras: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    #: The node's EAGLE JSON, with the active configuration and global variables applied
    #: to its field values (a SubGraph hands its inner nodes on in this form).
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def field(self, name: str) -> Field | None:
        """The first field called ``name``, or None."""
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        return None

    def value(self, name: str, default: Any = None) -> Any:
        """The value of field ``name``; ``default`` when missing, None or ``""``."""
        found = self.field(name)
        if found is None or found.value is None or found.value == "":
            return default
        return found.value

    def port(self, field_id: str) -> Field | None:
        """The port field with id ``field_id``, or None."""
        for candidate in self.fields:
            if candidate.id == field_id and candidate.is_port:
                return candidate
        return None

    @property
    def label(self) -> str:
        """How error messages name this node."""
        return f"{self.category or self.category_type} node {self.name!r} ({self.id})"


@dataclass(frozen=True, slots=True)
class LogicalLink:
    """A link between two nodes, ports resolved to names."""

    source: str
    source_port: str
    target: str
    target_port: str
    #: EAGLE's ``loop_aware``: a link across a Loop's boundary touches only its first
    #: (into the loop) or last (out of it) iteration.
    loop_aware: bool = False
    #: EAGLE's ``closesLoop``: the link goes from a Loop's group_end to its group_start.
    closes_loop: bool = False
    #: The link's EAGLE JSON (a SubGraph hands its inner links on in this form).
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class LogicalGraph:
    """A parsed, validated EAGLE logical graph; nodes keep the file's order."""

    nodes: Mapping[str, LogicalNode]
    links: tuple[LogicalLink, ...]
    model_data: Mapping[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[LogicalNode]:
        return iter(self.nodes.values())

    def __len__(self) -> int:
        return len(self.nodes)

    def __getitem__(self, node_id: str) -> LogicalNode:
        return self.nodes[node_id]

    def children(self, node_id: str | None) -> list[LogicalNode]:
        """The nodes whose ``parentId`` is ``node_id`` (None: the top level)."""
        return [node for node in self.nodes.values() if node.parent_id == node_id]

    def descendants(self, node_id: str) -> list[LogicalNode]:
        """The nodes inside construct ``node_id`` at any depth, in file order."""
        inside = {node_id}
        grown = True
        while grown:  # a parent may come after its child in the file
            grown = False
            for node in self.nodes.values():
                if node.id not in inside and node.parent_id in inside:
                    inside.add(node.id)
                    grown = True
        return [node for node in self.nodes.values() if node.id in inside and node.id != node_id]

    @property
    def name(self) -> str:
        """The graph's file name without suffix, or ``"graph"``."""
        path = str(self.model_data.get("filePath") or "graph")
        return Path(path).stem or "graph"


def _is_physical_graph(obj: Any) -> bool:
    """A list of drop specs, possibly DALiuGE's ``["name", [specs]]`` form."""
    if not isinstance(obj, list):
        return False
    if len(obj) == 2 and isinstance(obj[0], str) and isinstance(obj[1], list):
        obj = obj[1]
    return any(isinstance(item, dict) and "oid" in item for item in obj)


def is_logical_graph(obj: Any) -> bool:
    """True if ``obj`` looks like an EAGLE logical graph (a dict with ``nodeDataArray``)."""
    return isinstance(obj, dict) and "nodeDataArray" in obj


def read_logical_graph(path: str | Path) -> LogicalGraph:
    """Read and parse an EAGLE ``.graph`` file.

    Raises:
        GraphError: the file cannot be read, is not JSON, or is not a valid logical graph.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise GraphError(f"cannot read logical graph {str(path)!r}: {err.strerror}") from err
    except UnicodeDecodeError as err:
        raise GraphError(f"logical graph {str(path)!r} is not UTF-8 JSON text") from err
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        raise GraphError(
            f"logical graph {str(path)!r} is not valid JSON: {err.msg} "
            f"(line {err.lineno}, column {err.colno})"
        ) from err
    return load_logical_graph(obj)


def load_logical_graph(obj: Any) -> LogicalGraph:
    """Parse and validate an EAGLE logical graph already loaded from JSON.

    Raises:
        GraphError: naming the offending node or link and what would be valid.
    """
    if _is_physical_graph(obj):
        raise GraphError(
            "this is already a physical graph (a list of drop specs), not an EAGLE "
            "logical graph: it needs no translation; run it with `liuray run FILE` or "
            "send it to a cluster with `liuray submit FILE`"
        )
    if not is_logical_graph(obj):
        raise GraphError(_not_a_logical_graph(obj))
    raw_nodes = obj["nodeDataArray"]
    raw_links = obj.get("linkDataArray") or []
    if not isinstance(raw_nodes, list) or not isinstance(raw_links, list):
        raise GraphError("'nodeDataArray' and 'linkDataArray' must be JSON lists")
    overrides = _active_configuration(obj)
    raw_nodes, overrides = _substitute_globals(raw_nodes, overrides)
    nodes: dict[str, LogicalNode] = {}
    ignored: set[str] = set()
    for position, raw in enumerate(raw_nodes):
        if isinstance(raw, dict) and _is_ignored(raw):
            node_id = str(raw.get("id", raw.get("key", "")))
            if node_id in nodes or node_id in ignored:
                raise GraphError(f"two nodes have the id {node_id!r}; node ids must be unique")
            ignored.add(node_id)
            continue
        node = _parse_node(raw, position, overrides)
        if node.id in nodes or node.id in ignored:
            raise GraphError(f"two nodes have the id {node.id!r}; node ids must be unique")
        nodes[node.id] = node
    nodes = _without_exclusive_force(nodes)
    _check_groups(nodes)
    links = tuple(_parse_link(raw, index, nodes, ignored) for index, raw in enumerate(raw_links))
    model_data = obj.get("modelData")
    return LogicalGraph(nodes, links, model_data if isinstance(model_data, dict) else {})


def _is_ignored(raw: dict[str, Any]) -> bool:
    """A Comment or Description node; or an old EAGLE Description node (category and
    categoryType 'Unknown') without ports, which DALiuGE turns into an unrunnable drop."""
    if raw.get("category") in IGNORED_CATEGORIES:
        return True
    if raw.get("category") != "Unknown" or raw.get("categoryType") != "Unknown":
        return False
    fields = raw.get("fields") or []
    return isinstance(fields, list) and not any(
        isinstance(item, dict) and item.get("usage", "NoPort") != "NoPort" for item in fields
    )


_JSON_TYPES = {bool: "a JSON boolean", int: "a JSON number", float: "a JSON number"}
_JSON_TYPES |= {str: "a JSON string", list: "a JSON list", type(None): "JSON null"}


def _not_a_logical_graph(obj: Any) -> str:
    """Why ``obj`` is not an EAGLE logical graph: what it is, what was expected, what to do."""
    expected = (
        "liuray (like DALiuGE 6.6.0) reads EAGLE's OJS format: a JSON object with "
        "'nodeDataArray' and 'linkDataArray' lists"
    )
    if not isinstance(obj, dict):
        found = _JSON_TYPES.get(type(obj), "a JSON value")
        return f"not an EAGLE logical graph: got {found}; {expected}"
    model = obj.get("modelData")
    version = model.get("schemaVersion") if isinstance(model, dict) else None
    keys = ", ".join(repr(key) for key in sorted(obj)[:8])
    if "nodes" in obj or (version and version != "OJS"):
        return (
            f"EAGLE schema {version or 'with top-level nodes/edges'!r} is not supported (top-level "
            f"keys seen: {keys}); {expected}: re-save the graph in the OJS format (with an "
            "EAGLE version that writes it) and translate that"
        )
    found = f"a JSON object with the keys {keys}" if obj else "an empty JSON object"
    return f"not an EAGLE logical graph: got {found}; {expected}"


# Overrides: node id -> field id -> value, from the active graph configuration.
_Overrides = dict[str, dict[str, Any]]


def _active_configuration(obj: dict[str, Any]) -> _Overrides:
    active = obj.get("activeGraphConfigId")
    configurations = obj.get("graphConfigurations")
    if not active or not isinstance(configurations, dict):
        return {}
    configuration = configurations.get(active)
    if not isinstance(configuration, dict):
        raise GraphError(
            f"activeGraphConfigId {active!r} names no entry of graphConfigurations "
            f"(known: {sorted(configurations)})"
        )
    overrides: _Overrides = {}
    for node_id, node in (configuration.get("nodes") or {}).items():
        for field_id, setting in ((node or {}).get("fields") or {}).items():
            if isinstance(setting, dict) and "value" in setting:
                overrides.setdefault(node_id, {})[field_id] = setting["value"]
    return overrides


_GLOBAL_TYPES: dict[str, Any] = {
    "Integer": int,
    "Float": float,
    "String": str,
    "Boolean": lambda text: text.lower() in ("true", "1"),
}


def _substitute_globals(
    raw_nodes: list[Any], overrides: _Overrides
) -> tuple[list[Any], _Overrides]:
    """Drop the GlobalVariable nodes; put their values into every ``{name}`` of a field.

    As DALiuGE's ``extract_globals``: only the nodes' own ``fields`` are searched, and a
    field whose text names a global takes that global's type (its text converted).
    """
    globals_: dict[str, tuple[Any, str]] = {}
    kept = []
    for raw in raw_nodes:
        if not (isinstance(raw, dict) and raw.get("category") == GLOBAL_VARIABLES):
            kept.append(raw)
            continue
        mine = overrides.get(str(raw.get("id")), {})
        for item in raw.get("fields") or []:
            if isinstance(item, dict) and item.get("name"):
                value = mine.get(str(item.get("id", "")), item.get("value"))
                globals_[str(item["name"])] = (value, str(item.get("type", "String")))
    if not globals_:
        return kept, overrides
    substituted: _Overrides = {node: dict(fields) for node, fields in overrides.items()}
    for raw in kept:
        if not isinstance(raw, dict):
            continue
        node_id = str(raw.get("id", raw.get("key", "")))
        for item in raw.get("fields") or []:
            if not isinstance(item, dict):
                continue
            field_id = str(item.get("id", ""))
            value = substituted.get(node_id, {}).get(field_id, item.get("value"))
            new = _with_globals(value, globals_, f"{raw.get('name')!r} ({node_id})", item)
            if new is not value:
                substituted.setdefault(node_id, {})[field_id] = new
    return kept, substituted


def _with_globals(
    value: Any, globals_: Mapping[str, tuple[Any, str]], where: str, item: Mapping[str, Any]
) -> Any:
    for name, (global_value, type_name) in globals_.items():
        if not (isinstance(value, str) and f"{{{name}}}" in value):
            continue
        convert = _GLOBAL_TYPES.get(type_name)
        if convert is None:
            raise GraphError(
                f"global variable {name!r} has type {type_name!r}; "
                f"expected one of {sorted(_GLOBAL_TYPES)}"
            )
        text = value.replace(f"{{{name}}}", str(global_value))
        try:
            value = convert(text)
        except ValueError:
            raise GraphError(
                f"node {where}: field {item.get('name')!r} becomes {text!r} with global "
                f"variable {name!r}, which is no {type_name}"
            ) from None
    return value


def _without_exclusive_force(nodes: dict[str, LogicalNode]) -> dict[str, LogicalNode]:
    """Remove ExclusiveForceNodes; their children take the removed node's parent."""
    removed = {
        node.id: node.parent_id for node in nodes.values() if node.category == EXCLUSIVE_FORCE
    }
    if not removed:
        return nodes

    def parent_of(parent: str | None) -> str | None:
        seen = set()
        while parent in removed and parent not in seen:
            seen.add(parent)
            parent = removed[parent]
        return parent

    return {
        node.id: replace(node, parent_id=parent_of(node.parent_id))
        for node in nodes.values()
        if node.id not in removed
    }


def _parse_node(raw: Any, position: int, overrides: _Overrides) -> LogicalNode:
    if not isinstance(raw, dict):
        raise GraphError(f"nodeDataArray[{position}] is a {type(raw).__name__}, not an object")
    node_id = raw.get("id", raw.get("key"))
    if not isinstance(node_id, str | int) or node_id == "":
        raise GraphError(f"nodeDataArray[{position}] ({raw.get('name')!r}) has no 'id'")
    node_id = str(node_id)
    name = str(raw.get("name") or raw.get("text") or "")
    category = str(raw.get("category") or "")
    category_type = str(raw.get("categoryType") or "")
    where = f"{category or category_type or 'node'} {name!r} ({node_id})"
    mine = overrides.get(node_id, {})
    fields = _parse_fields(raw.get("fields"), where, mine)
    parent = raw.get("parentId", raw.get("group"))
    parent_id = None if parent in (None, "") else str(parent)
    app: LogicalNode | None = None
    output_category: str | None = None
    output_fields: tuple[Field, ...] = ()
    input_fields: tuple[Field, ...] = ()
    if category_type == "Construct":
        app = _embedded_app(raw, node_id, name, parent_id, fields, mine)
        if app is None:
            input_fields = _parse_fields(raw.get("inputAppFields"), where, mine)
        if raw.get("outputApplicationType") not in _NO_APP:
            output_category = str(raw["outputApplicationType"])
        output_fields = _parse_fields(raw.get("outputAppFields"), where, mine)
    return LogicalNode(
        id=node_id,
        name=name,
        category=category,
        category_type=category_type,
        parent_id=parent_id,
        fields=fields,
        is_group=bool(raw.get("isGroup", False)),
        app=app,
        output_app_category=output_category,
        output_app_fields=output_fields,
        input_app_fields=input_fields,
        raw=_with_values(raw, mine) if mine else raw,
    )


_FIELD_LISTS = ("fields", "inputAppFields", "outputAppFields")


def _with_values(raw: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a node's JSON whose fields carry the overriding values."""
    copy = dict(raw)
    for key in _FIELD_LISTS:
        items = raw.get(key)
        if isinstance(items, list):
            copy[key] = [
                {**item, "value": overrides[str(item.get("id", ""))]}
                if isinstance(item, dict) and str(item.get("id", "")) in overrides
                else item
                for item in items
            ]
    return copy


def _embedded_app(
    raw: dict[str, Any],
    node_id: str,
    name: str,
    parent_id: str | None,
    construct_fields: tuple[Field, ...],
    overrides: Mapping[str, Any],
) -> LogicalNode | None:
    """A construct's ``inputApplication*``: an app node that keeps the construct's id."""
    category = raw.get("inputApplicationType")
    if category in _NO_APP:
        return None
    where = f"{raw.get('category')} {name!r} ({node_id}) (embedded app)"
    app_fields = _parse_fields(raw.get("inputAppFields"), where, overrides)
    # The app sees the construct's own parameters too, and (as in DALiuGE) where both
    # name a parameter the construct's value wins.
    construct_names = {item.name for item in construct_fields}
    own = tuple(item for item in app_fields if item.name not in construct_names)
    return LogicalNode(
        id=node_id,
        name=name,
        category=str(category),
        category_type="Application",
        parent_id=parent_id,
        fields=construct_fields + own,
    )


def _parse_fields(raw: Any, where: str, overrides: Mapping[str, Any]) -> tuple[Field, ...]:
    if raw in (None, ""):
        return ()
    if not isinstance(raw, list):
        raise GraphError(f"{where}: 'fields' must be a list, got {type(raw).__name__}")
    fields = []
    for item in raw:
        if not isinstance(item, dict):
            raise GraphError(f"{where}: every field must be an object, got {item!r}")
        usage = str(item.get("usage") or "NoPort")
        if not item.get("name"):
            if usage == "NoPort":
                continue  # DALiuGE skips a nameless parameter too
            raise GraphError(f"{where}: port {item.get('id')!r} ({usage}) has no 'name'")
        if usage not in _USAGES:
            raise GraphError(
                f"{where}: field {item['name']!r} has usage {usage!r}; "
                f"expected one of {sorted(_USAGES)}"
            )
        field_id = str(item.get("id", ""))
        value = overrides.get(field_id, item.get("value"))
        if value is None or value == "":
            value = item.get("defaultValue", value)
        fields.append(
            Field(
                id=field_id,
                name=str(item["name"]),
                value=value,
                usage=usage,
                parameter_type=str(item.get("parameterType") or "ComponentParameter"),
                raw=item,
            )
        )
    return tuple(fields)


def _check_groups(nodes: Mapping[str, LogicalNode]) -> None:
    for node in nodes.values():
        if node.parent_id is None:
            continue
        parent = nodes.get(node.parent_id)
        if parent is None:
            raise GraphError(
                f"{node.label} has parentId {node.parent_id!r}, which is no node of the graph"
            )
        if parent.category_type != "Construct":
            raise GraphError(
                f"{node.label} has parentId {node.parent_id!r}, which is {parent.label}, "
                "not a construct (Scatter, Gather, ...)"
            )
        seen = {node.id}
        ancestor: LogicalNode | None = parent
        while ancestor is not None:
            if ancestor.id in seen:
                raise GraphError(f"{node.label} is inside itself (a parentId cycle)")
            seen.add(ancestor.id)
            ancestor = nodes.get(ancestor.parent_id) if ancestor.parent_id else None


def _parse_link(
    raw: Any, index: int, nodes: Mapping[str, LogicalNode], ignored: set[str]
) -> LogicalLink:
    if not isinstance(raw, dict):
        raise GraphError(f"linkDataArray[{index}] is a {type(raw).__name__}, not an object")
    ends = []
    for end, port_key, want in (("from", "fromPort", "output"), ("to", "toPort", "input")):
        node_id = str(raw.get(end, ""))
        if node_id in ignored:
            raise GraphError(
                f"link {index} has its {end!r} end on a Comment or Description node "
                f"({node_id}), which carries no data; remove that link"
            )
        node = nodes.get(node_id)
        if node is None:
            raise GraphError(f"link {index}: its {end!r} end {node_id!r} is no node of the graph")
        ends.append(_port_name(node, str(raw.get(port_key, "")), want, index))
    (source, source_port), (target, target_port) = ends
    return LogicalLink(
        source,
        source_port,
        target,
        target_port,
        loop_aware=raw.get("loop_aware") in ("1", 1, True),
        closes_loop=raw.get("closesLoop") in (True, "1", "true", 1),
        raw=raw,
    )


def _port_name(node: LogicalNode, port_id: str, want: str, index: int) -> tuple[str, str]:
    """A construct's ports are its own, its embedded app's and its output app's."""
    embedded = node.app.fields if node.app else node.input_app_fields
    candidates = embedded + node.fields + node.output_app_fields
    port = next((item for item in candidates if item.id == port_id and item.is_port), None)
    if port is None:
        ports = [f"{item.name} ({item.id}, {item.usage})" for item in candidates if item.is_port]
        raise GraphError(
            f"link {index}: {node.label} has no port with id {port_id!r} "
            f"(its ports: {ports or 'none'})"
        )
    if (want == "output" and not port.is_output) or (want == "input" and not port.is_input):
        raise GraphError(
            f"link {index}: port {port.name!r} of {node.label} is an {port.usage}; "
            f"a link cannot use it as an {want}"
        )
    return node.id, port.name
