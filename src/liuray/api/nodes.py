# SPDX-License-Identifier: LGPL-2.1-or-later
"""Node routes: list, register and remove node managers.

A node may be spelled ``host``, ``host:port`` or DALiuGE's ``host:port:events:rpc``;
every spelling of one node manager (``localhost``, ``127.0.0.1``, the host name...) is
reduced to one canonical name (:mod:`liuray.managers.addresses`), so registering a node
again, however spelled, is a no-op: DALiuGE's double-registration bug cannot happen.
Both the current singular ``/api/node/{node}`` and the pre-2022 plural
``/api/nodes/{node}`` paths are served.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from liuray.api import render
from liuray.api.context import call, context, json_response, path_param, success


async def list_nodes(request: Request) -> Response:
    """The registered nodes, by canonical name: ``["localhost:8000", ...]``."""
    return json_response(await call(context(request).island.nodes))


async def add_node(request: Request) -> Response:
    """Register a node manager (idempotent: any spelling of a known node is a no-op)."""
    await call(context(request).island.add_node, path_param(request, "node"))
    return success()


async def remove_node(request: Request) -> Response:
    """Stop using a node; 404 (listing the known nodes) if it is not registered.

    Running sessions that wait on the node fail ("node ... lost") instead of hanging.
    """
    await call(context(request).island.remove_node, path_param(request, "node"))
    return success()


async def node_details(request: Request) -> Response:
    """One object per node (liuray extension): name, state, transport, sessions, load."""
    return json_response(render.nodes(await call(context(request).island.node_details)))


async def restart_node(request: Request) -> Response:
    """Replace a node's manager with a fresh one (liuray extension; ``liuray nodes
    restart``). Sessions with drops on that node fail there, as on a node loss."""
    name = await call(context(request).island.restart_node, path_param(request, "node"))
    return json_response({"Status": "Success", "node": name})
