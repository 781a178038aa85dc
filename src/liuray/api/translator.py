# SPDX-License-Identifier: LGPL-2.1-or-later
"""DALiuGE's translator web service (``dlg tm``) on liuray's server.

EAGLE can use a liuray server as its translator and deploy to it in one step. The
routes, form fields and answers are those of DALiuGE 6.6.0's ``translator_rest.py``:

* ``POST /lg_fill``: ``lg_content`` with ``~{name}`` placeholders filled from
  ``parameters`` (JSON); the graph comes back with ``reprodata``.
* ``POST /unroll``: ``lg_content`` -> the drop specs, then a reprodata object;
  ``oid_prefix``, ``zero_run``, ``default_app``.
* ``POST /partition``: ``pgt_content`` -> the specs labelled ``node = "#<i>"``,
  ``island = "#<j>"``; ``algorithm``, ``num_partitions``, ``num_islands``,
  ``max_cpu``, ``max_load_imb``.
* ``POST /unroll_and_partition``: both at once.
* ``POST /map``: ``pgt_content`` onto ``nodes`` (``"dim, nm1, nm2"``: the first
  ``num_islands`` are island managers), or onto this server's own nodes.
* ``POST /gen_pgt``: EAGLE's "translate": ``json_data`` unrolled and partitioned
  (``algo``, ``num_par``, ``num_islands``, ...), kept under a ``pgt_id``
  (:mod:`~liuray.api.pgt_store`), answered with a page to view and deploy it.
* ``GET /pgt_jsonbody?pgt_name=``: the kept template as the viewer reads it.
* ``GET /gen_pg?pgt_id=``: the template mapped onto this server's nodes; with
  ``dlg_mgr_deploy`` set it is deployed here and the browser redirected to
  ``/session?sessionId=<id>``.

What differs, on purpose: liuray keeps no graph files, so ``lg_name``/``pgt_name``
alone are refused (send the content); DALiuGE's ``mysarkar`` and ``pso`` algorithms
are refused naming the supported ones; ``gen_pg`` deploys only to the island manager it
runs in (``dlg_mgr_host``/``dlg_mgr_port`` must name this server, or be left out); bad
input is a 400 naming the field, where DALiuGE answers 422 or 500; no reproducibility
signatures are computed (``reprodata`` carries the ``rmode`` asked for).
``GET /gen_pg_helm`` (Helm) and ``POST /gen_pg_spec`` (a browser deploying by itself)
are refused with a 400 naming ``/gen_pg``. ``GET /api/submission_method`` is the
manager's (:mod:`~liuray.api.sessions`).
"""

from __future__ import annotations

import json
import re
import string
from datetime import datetime
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from liuray.api.body import parse_json
from liuray.api.context import ApiContext, call, context, json_response
from liuray.api.errors import TemplateNotFound
from liuray.api.pgt_store import Template, TemplateStore, graph_view
from liuray.api.translator_forms import (
    Form,
    Partitioning,
    graph_from,
    partitioning_from,
    query_form,
    read_translator_form,
    template_specs,
)
from liuray.api.translator_page import is_this_server, manager_address, template_page
from liuray.errors import InvalidRequest, MissingDependency
from liuray.graph.logical import load_logical_graph
from liuray.translate.map import map_partitions
from liuray.translate.partition import partition
from liuray.translate.pipeline import translation
from liuray.translate.unroll import DEFAULT_OID_PREFIX, unroll
from liuray.types import DropSpec

#: The translator's paths (the token guard covers them as it covers ``/api``).
PATHS = frozenset(
    {
        "/lg_fill",
        "/unroll",
        "/partition",
        "/unroll_and_partition",
        "/map",
        "/gen_pgt",
        "/gen_pg",
        "/pgt_jsonbody",
        "/gen_pg_helm",
        "/gen_pg_spec",
    }
)
#: What DALiuGE runs instead of every app when ``test`` is on.
SLEEP_APP = "dlg.apps.simple.SleepApp"
_SESSION_UNSAFE = re.compile(r"[^A-Za-z0-9_:@+-]+")


def templates(request: Request) -> TemplateStore:
    """The app's :class:`TemplateStore` (made by :func:`liuray.api.app.create_app`)."""
    store: TemplateStore = request.app.state.templates
    return store


#: The most drops a graph posted here may unroll to: a request cannot make the server
#: build a 10**7-way Scatter in memory (``liuray translate`` has no such limit).
MAX_UNROLLED_DROPS = 2_000_000


async def lg_fill(request: Request) -> Response:
    """Fill a logical graph's ``~{name}`` placeholders (DALiuGE's ``/lg_fill``).

    Form: ``lg_content`` (the graph, JSON), ``parameters`` (JSON object; nested keys are
    also reachable as ``a.b``), ``rmode``. Answers the filled graph with ``reprodata``.
    """
    form = await read_translator_form(request, context(request).max_bytes)
    graph = graph_from(form, "lg_content", "lg_name")
    parameters = _json_field(form, "parameters", "{}")
    if not isinstance(parameters, dict):
        raise InvalidRequest(
            "'parameters' must be a JSON object of name: value", field="parameters"
        )
    filled = await call(_fill, graph, parameters)
    if not isinstance(filled, dict):
        raise InvalidRequest("'lg_content' must be a logical graph (a JSON object)")
    filled["reprodata"] = _reprodata(form.text("rmode", "0") or "0")
    return json_response(filled)


async def lg_unroll(request: Request) -> Response:
    """Unroll a logical graph into a physical graph template (DALiuGE's ``/unroll``).

    Form: ``lg_content``, ``oid_prefix`` (default ``1``), ``zero_run`` (sleep times 0),
    ``default_app`` (every app's dropclass). Answers the drop specs, then a reprodata
    object.
    """
    form = await read_translator_form(request, context(request).max_bytes)
    graph = graph_from(form, "lg_content", "lg_name")
    specs = await call(_unroll, graph, form)
    return json_response([*specs, _trailing(graph)])


async def pgt_partition(request: Request) -> Response:
    """Partition a physical graph template (DALiuGE's ``/partition``).

    Form: ``pgt_content``, ``algorithm`` (``metis``, ``min_num_parts``, ``none``,
    ``chains``), ``num_partitions``, ``num_islands``, ``max_cpu``, ``max_load_imb``.
    Answers the specs labelled ``node = "#<i>"``, ``island = "#<j>"``, then reprodata.
    """
    form = await read_translator_form(request, context(request).max_bytes)
    specs, reprodata = template_specs(graph_from(form, "pgt_content", "pgt_name"), "pgt_content")
    asked = partitioning_from(form, "algorithm", "num_partitions", 1)
    parted = await call(_partition, specs, asked.options())
    return json_response([*parted, reprodata])


async def lg_unroll_and_partition(request: Request) -> Response:
    """Unroll and partition a logical graph (DALiuGE's ``/unroll_and_partition``).

    The fields of ``/unroll`` and ``/partition`` together.
    """
    form = await read_translator_form(request, context(request).max_bytes)
    graph = graph_from(form, "lg_content", "lg_name")
    asked = partitioning_from(form, "algorithm", "num_partitions", 1)
    specs = await call(_unroll, graph, form)
    parted = await call(_partition, specs, asked.options())
    return json_response([*parted, _trailing(graph)])


async def pgt_map(request: Request) -> Response:
    """Map a partitioned template onto nodes (DALiuGE's ``/map``).

    Form: ``pgt_content``, ``nodes`` (``"dim, nm1, nm2"``: the first ``num_islands``
    names are island managers, the rest node managers; default: this server and its
    nodes), ``num_islands`` (default 1). Partition ``i`` goes to node manager ``i``
    (wrapping around when there are fewer).
    """
    api = context(request)
    form = await read_translator_form(request, api.max_bytes)
    specs, reprodata = template_specs(graph_from(form, "pgt_content", "pgt_name"), "pgt_content")
    islands = form.integer("num_islands", 1)
    names = [name.strip() for name in (form.text("nodes") or "").split(",") if name.strip()]
    if not names:
        _check_this_server(request, api, form.text("host"), _port(form, "port"))
        names = [_own_name(request), *await call(api.island.nodes)]
    if islands < 1 or len(names) <= islands:
        raise InvalidRequest(
            f"{len(names)} node name(s) cannot serve {islands} island(s): the first "
            "num_islands names are island managers and at least one node manager must "
            "follow",
            nodes=names,
            num_islands=islands,
        )
    island_names, node_names = names[:islands], names[islands:]
    mapped = await call(_map, specs, node_names, island_names)
    return json_response([*mapped, reprodata])


async def gen_pgt(request: Request) -> Response:
    """EAGLE's "translate": unroll and partition ``json_data``, keep it, show it.

    Form (DALiuGE's ``POST /gen_pgt``): ``lg_name``, ``json_data``, ``algo`` (default
    ``metis``), ``num_par``, ``num_islands``, ``par_label``, ``test``, ``rmode``,
    ``max_cpu``, ``max_load_imb``. Answers an HTML page naming the ``pgt_id``.
    """
    api = context(request)
    form = await read_translator_form(request, api.max_bytes)
    lg_name = form.required("lg_name", "the logical graph's name")
    graph = _gen_pgt_graph(form)
    asked = partitioning_from(form, "algo", "num_par", 0)
    template = await call(_template, graph, form, asked, lg_name)
    pgt_id = templates(request).add(template)
    return template_page(pgt_id, template, api.url_base(request))


async def pgt_jsonbody(request: Request) -> Response:
    """A kept template as DALiuGE's viewer reads it: a GoJS model, as a JSON string."""
    template, _ = _kept(request, query_form(request), "pgt_name")
    return JSONResponse(json.dumps(graph_view(template)))


async def gen_pg(request: Request) -> Response:
    """A kept template mapped onto this server's nodes; deployed with ``dlg_mgr_deploy``.

    Query: ``pgt_id``, ``dlg_mgr_deploy`` (present: deploy), ``dlg_mgr_host``/
    ``dlg_mgr_port`` or ``dlg_mgr_url`` (this server, or left out), ``tpl_nodes_len``
    (with no manager named: the template as it is). Deploying answers a redirect to
    ``/session?sessionId=<lg name>_<time>``.
    """
    api = context(request)
    form = query_form(request)
    template, pgt_id = _kept(request, form, "pgt_id")
    host, port = manager_address(form)
    deploy = "dlg_mgr_deploy" in form.fields
    if host is None and not deploy and form.integer("tpl_nodes_len", 0) > 0:
        return json_response([*template.specs, template.reprodata])
    _check_this_server(request, api, host, port)
    nodes = await call(api.island.nodes)
    mapped = await call(_map, template.specs, nodes, [_own_name(request)])
    if not deploy:
        return json_response([*mapped, template.reprodata])
    session_id = _session_id(pgt_id)
    await call(api.island.submit, mapped, session_id)
    return RedirectResponse(
        f"{api.url_base(request)}/session?sessionId={quote(session_id)}", status_code=303
    )


async def not_served(request: Request) -> Response:
    """DALiuGE's Helm deployment and browser-direct ``pg_spec``: refused, saying what
    this server offers instead."""
    raise InvalidRequest(
        f"liuray's translator does not serve {request.url.path} (DALiuGE's "
        f"{_NOT_SERVED.get(request.url.path, 'route')}); deploy with GET /gen_pg?pgt_id="
        "<id>&dlg_mgr_deploy=on, which deploys on this server, or POST the physical graph "
        "to /api/liuray/submit",
        path=request.url.path,
        supported=["/gen_pg", "/api/liuray/submit"],
    )


_NOT_SERVED = {
    "/gen_pg_helm": "Helm deployment to Kubernetes",
    "/gen_pg_spec": "mapping for a browser that deploys by itself",
}


def _gen_pgt_graph(form: Form) -> Any:
    """``gen_pgt``'s ``json_data`` (required there; it has no name-only form)."""
    form.required("json_data", "the logical graph as JSON")
    return graph_from(form, "json_data", name_field="")


def _json_field(form: Form, name: str, default: str) -> Any:
    return parse_json((form.text(name, default) or default).encode("utf-8", "surrogatepass"), name)


class _Placeholders(string.Template):
    delimiter = "~"
    idpattern = r"[_a-z][_a-z0-9\.]*"


def _fill(graph: Any, parameters: dict[str, Any]) -> Any:
    """``~{name}`` (and ``~name``) in the graph's JSON text replaced, DALiuGE's ``fill``."""
    flat = _flatten(parameters)
    try:
        text = _Placeholders(json.dumps(graph)).substitute(flat)
    except KeyError as err:
        raise InvalidRequest(
            f"the graph uses the parameter ~{{{err.args[0]}}} that 'parameters' does not "
            f"give (given: {sorted(flat)[:20]})",
            parameter=str(err.args[0]),
        ) from None
    except ValueError as err:
        raise InvalidRequest(f"the graph has a malformed placeholder: {err}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidRequest(
            f"filling the parameters made the graph invalid JSON ({err.msg}); a value put "
            "inside a JSON string must not contain quotes or backslashes"
        ) from None


def _flatten(parameters: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in parameters.items():
        flat[f"{prefix}{key}"] = value
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
    return flat


def _reprodata(rmode: str) -> dict[str, Any]:
    return {"rmode": rmode[:40]}


def _trailing(graph: Any) -> dict[str, Any]:
    """The object DALiuGE appends after the specs: the graph's reprodata, or ``{}``."""
    reprodata = graph.get("reprodata") if isinstance(graph, dict) else None
    return reprodata if isinstance(reprodata, dict) else {}


def _unroll(graph: Any, form: Form) -> list[DropSpec]:
    specs = unroll(
        load_logical_graph(graph),
        form.text("oid_prefix") or DEFAULT_OID_PREFIX,
        max_drops=MAX_UNROLLED_DROPS,
    )
    _run_options(specs, form.flag("zero_run"), form.text("default_app"))
    return specs


def _run_options(specs: list[DropSpec], zero_run: bool, default_app: str | None) -> None:
    """DALiuGE's ``zero_run`` (sleep times 0) and ``default_app`` (every app replaced,
    sleeping its ``execution_time``, else 2 s)."""
    for spec in specs:
        if zero_run and "sleep_time" in spec:
            spec["sleep_time"] = 0
        if default_app and spec.get("categoryType") == "Application" and "dropclass" in spec:
            spec["dropclass"] = default_app
            spec["sleep_time"] = spec.get("execution_time", 2)


def _partition(specs: list[DropSpec], options: dict[str, Any]) -> list[DropSpec]:
    try:
        return partition(specs, **options)
    except MissingDependency as err:
        raise InvalidRequest(
            f"this server cannot partition with {options['algorithm']!r}: {err.message}; "
            "or choose min_num_parts, chains or none"
        ) from err


def _map(specs: list[DropSpec], nodes: list[str], islands: list[str]) -> list[DropSpec]:
    return map_partitions(specs, nodes, islands[0], islands=islands if len(islands) > 1 else None)


def _template(graph: Any, form: Form, asked: Partitioning, lg_name: str) -> Template:
    try:
        translated = translation(
            load_logical_graph(graph),
            partitions=asked.partitions,
            algorithm=asked.algorithm,
            islands=asked.islands,
            max_dop=asked.max_dop,
            max_load_imbalance=asked.max_load_imbalance,
            max_drops=MAX_UNROLLED_DROPS,
        )
    except MissingDependency as err:
        raise InvalidRequest(
            f"this server cannot partition with {asked.algorithm!r}: {err.message}; "
            "or choose min_num_parts, chains or none"
        ) from err
    if form.flag("test"):
        _run_options(translated.specs, False, SLEEP_APP)
    return Template(
        lg_name=lg_name,
        specs=translated.specs,
        partitions=max(translated.placement.partitions, default=0) + 1,
        islands=asked.islands,
        algorithm=translated.placement.algorithm,
        partition_label=form.text("par_label", "Partition") or "Partition",
        reprodata=_reprodata(form.text("rmode", "0") or "0"),
    )


def _kept(request: Request, form: Form, field: str) -> tuple[Template, str]:
    pgt_id = form.required(field, "the pgt_id that POST /gen_pgt answered with")
    template = templates(request).get(pgt_id)
    if template is None:
        raise TemplateNotFound(
            f"no physical graph template {pgt_id[:200]!r}: this server keeps the "
            f"{templates(request).max_templates} most recently used (in memory, not across "
            "restarts); translate the graph again with POST /gen_pgt",
            pgt_id=pgt_id[:200],
        )
    return template, pgt_id


def _session_id(pgt_id: str) -> str:
    """DALiuGE's ``<lg name>_<time>`` session id, in the characters a session id allows."""
    stem = pgt_id.split(".graph")[0].split("_pgt")[0].split("/")[-1]
    stem = _SESSION_UNSAFE.sub("_", stem).strip("_:@+-")[:120] or "graph"
    return f"{stem}_{datetime.now():%Y-%m-%dT%H-%M-%S.%f}"


def _port(form: Form, field: str) -> int | None:
    return form.integer(field, 0) or None


def _own_name(request: Request) -> str:
    """``host:port`` this server was reached at (DALiuGE puts the manager first)."""
    return request.url.netloc or "localhost"


def _check_this_server(
    request: Request, api: ApiContext, host: str | None, port: int | None
) -> None:
    if host is None or is_this_server(request, api, host, port):
        return
    raise InvalidRequest(
        f"this translator maps and deploys onto the island manager it runs in "
        f"({api.url_base(request)}), not {host[:100]}:{port}; leave dlg_mgr_host/port out "
        "or name this server, or translate here and send the graph there "
        "(liuray submit / POST /api/liuray/submit)",
        host=host[:100],
        port=port,
    )
