# SPDX-License-Identifier: LGPL-2.1-or-later
"""What ``POST /gen_pgt`` shows, and which manager ``GET /gen_pg`` is asked for.

DALiuGE's translator answers ``/gen_pgt`` with its viewer page (a GoJS/ECharts
application reading ``/pgt_jsonbody``). liuray answers a small page of its own: what
the template holds (drops, partitions, islands, algorithm), a link to its JSON, and
the deploy form that DALiuGE's page also has: ``GET /gen_pg`` with the ``pgt_id`` and
``dlg_mgr_deploy=on``, which deploys on this server and opens its monitoring page.

A liuray translator deploys only onto the island manager it runs in: a manager named
in ``/gen_pg`` (``dlg_mgr_url``, or ``dlg_mgr_host`` and ``dlg_mgr_port``) must be this
server, which :func:`is_this_server` decides without a DNS lookup (a loopback address,
this machine's name or the host the request came to; the port the request came to).
"""

from __future__ import annotations

import ipaddress
import socket
from html import escape
from urllib.parse import quote, urlparse

from starlette.requests import Request
from starlette.responses import HTMLResponse

from liuray.api.context import ApiContext
from liuray.api.pgt_store import Template
from liuray.api.translator_forms import Form

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · liuray</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:50em}}
dt{{font-weight:bold}}dd{{margin:0 0 .5em 1em}}</style></head>
<body><h1>Physical graph template</h1>
<dl><dt>pgt_id</dt><dd id="pgt-id">{pgt_id}</dd>
<dt>logical graph</dt><dd>{lg_name}</dd>
<dt>drops</dt><dd id="drops">{drops}</dd>
<dt>partitioning</dt><dd id="partition-info">{info}</dd></dl>
<p><a href="{base}/pgt_jsonbody?pgt_name={pgt_url}">the template (JSON)</a> ·
<a href="{base}/gen_pg?pgt_id={pgt_url}&amp;tpl_nodes_len={partitions}">as a physical graph</a></p>
<form action="{base}/gen_pg" method="get" id="pg_form">
<input type="hidden" name="pgt_id" value="{pgt_id}">
<input type="hidden" name="dlg_mgr_deploy" value="on">
<button type="submit">Deploy on this server</button></form>
</body></html>
"""


def template_page(pgt_id: str, template: Template, base: str) -> HTMLResponse:
    """The page ``POST /gen_pgt`` answers with."""
    info = (
        f"algo:{template.algorithm} - num_parts:{template.partitions} - "
        f"num_islands:{template.islands}"
    )
    page = _PAGE.format(
        title=escape(template.lg_name),
        pgt_id=escape(pgt_id),
        pgt_url=escape(quote(pgt_id)),
        lg_name=escape(template.lg_name),
        drops=len(template.specs),
        info=escape(info),
        partitions=template.partitions,
        base=escape(base),
    )
    return HTMLResponse(page)


def manager_address(form: Form) -> tuple[str | None, int | None]:
    """The manager ``/gen_pg`` is asked to use: ``dlg_mgr_url``, else ``dlg_mgr_host`` and
    ``dlg_mgr_port`` (None where not given)."""
    url = form.text("dlg_mgr_url")
    if url is not None:
        parsed = urlparse(url if "//" in url else f"http://{url}")
        try:
            port = parsed.port
        except ValueError:
            port = None
        if port is None and parsed.scheme in ("http", "https"):
            port = 443 if parsed.scheme == "https" else 80
        return parsed.hostname or None, port
    port_text = form.text("dlg_mgr_port")
    return form.text("dlg_mgr_host"), form.integer("dlg_mgr_port", 0) if port_text else None


def is_this_server(request: Request, api: ApiContext, host: str, port: int | None) -> bool:
    """Whether ``host:port`` names the server that ``request`` came to (no DNS lookup)."""
    server = request.scope.get("server") or ("", None)
    base = urlparse(api.url_base(request))
    ports = {
        server[1],
        _port_of(request.url.scheme, request.url.port),
        _port_of(base.scheme, base.port),
    }
    if port is not None and port not in ports:
        return False
    names = {"localhost", str(server[0]).lower(), socket.gethostname().lower()}
    names.update(((request.url.hostname or "").lower(), (base.hostname or "").lower()))
    return host.lower().strip("[]") in names or _is_local_address(host)


def _port_of(scheme: str, port: int | None) -> int:
    return port if port is not None else (443 if scheme == "https" else 80)


def _is_local_address(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified
