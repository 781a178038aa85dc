# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reading the translator routes' forms: DALiuGE's field names, types and defaults.

DALiuGE's ``dlg tm`` (FastAPI) reads its fields from a form (urlencoded or multipart)
or the query string; a field sent empty counts as not sent, integers must be integers,
booleans are ``true/false``, ``1/0``, ``on/off``, ``yes/no``. :class:`Form` reads them
the same way and says which field is wrong and why (400) where FastAPI answers 422 with
a validation dump. :func:`graph_from` reads the graph a form carries (``lg_content``,
``pgt_content``, ``json_data``), :func:`partitioning_from` the partitioning fields.

>>> form = Form({"num_par": ["4"], "algo": ["metis"], "test": ["on"], "x": [""]})
>>> form.integer("num_par", 1), form.text("algo"), form.flag("test"), form.text("x", "-")
(4, 'metis', True, '-')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from liuray.api.body import media_type, parse_json, read_body, read_form
from liuray.api.errors import UnsupportedMediaType
from liuray.errors import InvalidRequest
from liuray.translate.drop_graph import BACKWARD_KEYS, FORWARD_KEYS
from liuray.translate.metis import DEFAULT_MAX_LOAD_IMBALANCE
from liuray.translate.min_parts import DEFAULT_MAX_DOP
from liuray.translate.partition import ALGORITHMS, ALIASES, CHOOSE_THEIR_COUNT
from liuray.types import DropSpec

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_TRUE = frozenset({"1", "true", "on", "yes", "t", "y"})
_FALSE = frozenset({"0", "false", "off", "no", "f", "n"})
#: DALiuGE's algorithms that liuray does not implement, and what they do there.
NOT_IMPLEMENTED = {
    "mysarkar": "Sarkar's edge zeroing bounded by CPUs and memory",
    "pso": "particle swarm optimisation",
}


@dataclass(frozen=True)
class Form:
    """A request's fields by name (every value sent, in order)."""

    fields: Mapping[str, list[str]]

    def text(self, name: str, default: str | None = None) -> str | None:
        """The field's last value; ``default`` when it is missing or empty."""
        values = self.fields.get(name)
        return values[-1] if values and values[-1] != "" else default

    def required(self, name: str, what: str) -> str:
        """The field's value; a 400 naming it when it is missing or empty."""
        value = self.text(name)
        if value is None:
            raise InvalidRequest(f"the form field {name!r} is missing: send {what}", field=name)
        return value

    def integer(self, name: str, default: int) -> int:
        """The field as an integer (``default`` when missing); 400 if it is not one."""
        value = self.text(name)
        if value is None:
            return default
        try:
            return int(value.strip())
        except ValueError:
            raise InvalidRequest(
                f"the form field {name!r} must be an integer, got {value[:40]!r}",
                field=name,
                value=value[:40],
            ) from None

    def flag(self, name: str, default: bool = False) -> bool:
        """The field as a boolean (``true/false``, ``1/0``, ``on/off``, ``yes/no``)."""
        value = self.text(name)
        if value is None:
            return default
        if value.strip().lower() in _TRUE:
            return True
        if value.strip().lower() in _FALSE:
            return False
        raise InvalidRequest(
            f"the form field {name!r} must be true or false, got {value[:40]!r}",
            field=name,
            value=value[:40],
        )


async def read_translator_form(request: Request, max_bytes: int) -> Form:
    """The fields of a posted form (an empty body is an empty form), query fields too.

    Raises:
        UnsupportedMediaType: a body that is not a form (415).
        RequestTooLarge: a body over the server's limit (413).
    """
    fields: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        fields.setdefault(key, []).append(value)
    data = await read_body(request, max_bytes)
    if data.strip():
        if media_type(request) not in FORM_TYPES:
            raise UnsupportedMediaType(
                f"the translator routes read forms, not {media_type(request) or '(none)'!r}; "
                f"send one of {list(FORM_TYPES)}",
                content_type=media_type(request),
                allowed=list(FORM_TYPES),
            )
        for key, values in (await read_form(request, data, max_bytes)).items():
            fields.setdefault(key, []).extend(values)
    return Form(fields)


def query_form(request: Request) -> Form:
    """The query string's fields (the ``GET`` routes)."""
    fields: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        fields.setdefault(key, []).append(value)
    return Form(fields)


def graph_from(form: Form, content_field: str, name_field: str) -> Any:
    """The JSON graph in ``content_field``; DALiuGE's ``name_field`` (a file on its
    server) is refused: liuray's translator keeps no graph files.

    Raises:
        InvalidRequest: both fields, neither, a name only, or content that is not JSON.
    """
    content, name = form.text(content_field), form.text(name_field)
    if content is not None and name is not None:
        raise InvalidRequest(
            f"send either {name_field!r} or {content_field!r}, not both (liuray reads the "
            f"graph from {content_field!r})",
            fields=[name_field, content_field],
        )
    if content is None:
        if name is not None:
            raise InvalidRequest(
                f"liuray's translator keeps no graph files, so {name_field}={name[:100]!r} "
                f"cannot be loaded; send the graph itself as JSON in {content_field!r}",
                field=name_field,
            )
        raise InvalidRequest(
            f"no graph: send it as JSON text in the form field {content_field!r}",
            field=content_field,
        )
    return parse_json(content.encode("utf-8", "surrogatepass"), f"form field {content_field!r}")


def template_specs(graph: Any, field: str) -> tuple[list[DropSpec], dict[str, Any]]:
    """A physical graph (template) as sent: its drop specs and its trailing
    reproducibility object (``{}`` when it has none).

    Accepts DALiuGE's shapes: ``[spec, ...]``, ``[spec, ..., reprodata]`` and
    ``[name, [spec, ...]]``.

    Raises:
        InvalidRequest: not a list of drop specs (each an object with a string ``oid``).
    """
    if isinstance(graph, list) and len(graph) == 2 and isinstance(graph[0], str):
        graph = graph[1]
    if not isinstance(graph, list):
        raise InvalidRequest(
            f"{field!r} must be a physical graph template: a JSON list of drop specs, "
            f"got {type(graph).__name__}",
            field=field,
        )
    reprodata: dict[str, Any] = {}
    if graph and isinstance(graph[-1], dict) and "oid" not in graph[-1]:
        reprodata, graph = graph[-1], graph[:-1]
    for index, spec in enumerate(graph):
        if not isinstance(spec, dict) or not isinstance(spec.get("oid"), str) or not spec["oid"]:
            raise InvalidRequest(
                f"{field!r}: item {index} is not a drop spec (an object with a string 'oid')",
                field=field,
                index=index,
            )
        _check_spec(spec, field)
    if not graph:
        raise InvalidRequest(f"{field!r} holds no drop specs", field=field)
    return graph, reprodata


def _check_spec(spec: DropSpec, field: str) -> None:
    """Link lists are lists, partition labels strings: what partitioning reads."""
    for key in (*FORWARD_KEYS, *BACKWARD_KEYS):
        if spec.get(key) is not None and not isinstance(spec[key], list):
            raise InvalidRequest(
                f"{field!r}: drop {spec['oid'][:100]!r} has {key} of type "
                f"{type(spec[key]).__name__}; links are a list of oids or {{oid: port}}",
                field=field,
                oid=spec["oid"][:100],
            )
    for key in ("node", "island"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise InvalidRequest(
                f"{field!r}: drop {spec['oid'][:100]!r} has a {key} that is not a string "
                "(a partition label like '#0', or a node name)",
                field=field,
                oid=spec["oid"][:100],
            )


@dataclass(frozen=True)
class Partitioning:
    """What a form asks the partitioner for (the options of ``liuray.translate``)."""

    algorithm: str
    partitions: int | None
    islands: int
    max_dop: int
    max_load_imbalance: int

    def options(self) -> dict[str, Any]:
        """Keyword arguments for :func:`liuray.translate.partition.partition`."""
        return {
            "partitions": self.partitions,
            "algorithm": self.algorithm,
            "islands": self.islands,
            "max_dop": self.max_dop,
            "max_load_imbalance": self.max_load_imbalance,
        }


def partitioning_from(
    form: Form, algorithm_field: str, partitions_field: str, default_islands: int
) -> Partitioning:
    """The partitioning fields: the algorithm (default ``metis``, as DALiuGE's), the
    number of partitions and islands, ``max_cpu`` and ``max_load_imb``.

    ``min_num_parts`` chooses its number of partitions, so the count sent (DALiuGE's
    forms always send one) is not passed on; islands ``0`` (``gen_pgt``'s default)
    means one.

    Raises:
        InvalidRequest: an algorithm liuray does not have, or a field that is no integer.
    """
    algorithm = form.text(algorithm_field, "metis") or "metis"
    known = [*ALGORITHMS, *ALIASES]
    if algorithm in NOT_IMPLEMENTED:
        raise InvalidRequest(
            f"liuray does not implement DALiuGE's {algorithm!r} partitioning "
            f"({NOT_IMPLEMENTED[algorithm]}); choose one of {', '.join(known)}",
            field=algorithm_field,
            supported=known,
        )
    if algorithm not in known:
        raise InvalidRequest(
            f"unknown partitioning algorithm {algorithm[:40]!r} in {algorithm_field!r}; "
            f"choose one of {', '.join(known)}",
            field=algorithm_field,
            supported=known,
        )
    partitions: int | None = form.integer(partitions_field, 1)
    if ALIASES.get(algorithm, algorithm) in CHOOSE_THEIR_COUNT:
        partitions = None
    islands = form.integer("num_islands", default_islands)
    if islands < 0:
        raise InvalidRequest(
            f"the form field 'num_islands' must be 0 or more, got {islands}", field="num_islands"
        )
    return Partitioning(
        algorithm=algorithm,
        partitions=partitions,
        islands=max(1, islands),
        max_dop=form.integer("max_cpu", DEFAULT_MAX_DOP),
        max_load_imbalance=form.integer("max_load_imb", DEFAULT_MAX_LOAD_IMBALANCE),
    )
