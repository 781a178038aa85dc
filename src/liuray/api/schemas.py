# SPDX-License-Identifier: LGPL-2.1-or-later
"""JSON Schemas of what each route reads and answers, by handler name.

:mod:`liuray.api.openapi` puts them into the OpenAPI document; ``tests/api/test_fuzz.py``
holds the app to them (every answer must match its schema, every request the schema
refuses must get a 4xx). The shapes are the ones :mod:`liuray.api.render` writes:
DALiuGE's, with its integer state codes, plus liuray's additions. Every error answers
with :data:`ERROR` (:func:`liuray.api.errors.error_body`).

>>> sorted(RESPONSES["create_session"]["properties"])
['sessionId']
"""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]

#: A session id as the node managers accept it (``managers.node.check_session_id``):
#: 1-200 of letters, digits and ``. _ : @ + -``, starting with a letter or digit, no "..".
SESSION_ID: JSON = {
    "type": "string",
    "minLength": 1,
    "maxLength": 200,
    "pattern": r"^[A-Za-z0-9](\.?[A-Za-z0-9_:@+-])*\.?$",
}
_STRINGS: JSON = {"type": "array", "items": {"type": "string"}}
_CODE: JSON = {"type": "integer", "description": "DALiuGE's integer state code"}
_CODES_BY_NODE: JSON = {"type": "object", "additionalProperties": _CODE}
_TIME: JSON = {"type": ["number", "null"], "description": "epoch seconds"}
_TEXT_OR_NULL: JSON = {"type": ["string", "null"]}


def _object(required: list[str], **properties: JSON) -> JSON:
    return {"type": "object", "required": required, "properties": properties}


#: ``{"Status": "Success"}``: DALiuGE's answer to calls that return nothing.
SUCCESS = _object(["Status"], Status={"const": "Success"})

ERROR = _object(
    ["error", "message"],
    error={"type": "string", "description": "exception class name"},
    message={"type": "string", "description": "what failed and what to do instead"},
    detail={"type": "object"},
    type={"type": "string", "description": "DALiuGE: the dlg.exceptions class"},
    args={"type": "array", "description": "DALiuGE: the exception's arguments"},
)

#: A physical graph in any shape DALiuGE writes: ``[spec, ...]``, ``[spec, ...,
#: reprodata]`` or ``[name, [spec, ...]]``.
PHYSICAL_GRAPH: JSON = {
    "type": "array",
    "description": "[spec, ...], [spec, ..., reprodata] or [name, [spec, ...]]",
    "items": {"type": ["object", "string", "array"]},
}

_DROP_DETAIL = _object(
    ["oid", "session", "status", "logs"],
    oid={"type": "string"},
    session={"type": "string"},
    status=_CODE,
    logs=_STRINGS,
    state={"type": "string"},
    execStatus=_CODE,
    execState={"type": "string"},
    error=_TEXT_OR_NULL,
    node=_TEXT_OR_NULL,
    started_at=_TIME,
    finished_at=_TIME,
    size={"type": ["integer", "null"]},
    data_url=_TEXT_OR_NULL,
    note=_TEXT_OR_NULL,
)

_PROGRESS = _object(
    ["sessionId", "state", "status", "total", "counts", "failures", "nodes", "created"],
    sessionId={"type": "string"},
    state={"type": "string"},
    status=_CODE,
    total={"type": "integer", "minimum": 0},
    counts={"type": "object", "additionalProperties": {"type": "integer"}},
    failures={
        "type": "array",
        "items": _object(
            ["oid", "node", "error"],
            oid={"type": "string"},
            node={"type": "string"},
            error={"type": "string"},
        ),
    },
    nodes=_STRINGS,
    created={"type": "number"},
    ended=_TIME,
    dirs={"type": "object", "additionalProperties": {"type": "string"}},
    error=_TEXT_OR_NULL,
)

_NODE_DETAILS = _object(
    ["name", "state", "transport"],
    name={"type": "string"},
    state={"type": "string"},
    transport={"type": "string"},
    session_ids=_STRINGS,
)

#: What DALiuGE's translator routes answer: drop specs, then one reprodata object.
_TEMPLATE: JSON = {
    "type": "array",
    "description": "drop specs ({oid, node, island, ...}), then a reprodata object",
    "items": {"type": "object"},
}

#: The JSON body of each handler's 200 answer.
RESPONSES: dict[str, JSON] = {
    "manager_info": _object(
        ["hosts", "sessionIds", "liuray"],
        hosts=_STRINGS,
        sessionIds=_STRINGS,
        liuray=_object(
            ["version", "transport"], version={"type": "string"}, transport={"type": "string"}
        ),
    ),
    "submission_method": _object(["methods"], methods=_STRINGS),
    "list_sessions": {
        "type": "array",
        "items": _object(
            ["sessionId", "status", "size"],
            sessionId={"type": "string"},
            status=_CODES_BY_NODE,
            size={"type": "integer", "minimum": 0},
        ),
    },
    "create_session": _object(["sessionId"], sessionId=SESSION_ID),
    "get_session": _object(
        ["status", "graph", "dir"],
        status=_CODES_BY_NODE,
        graph={"type": "object", "additionalProperties": {"type": "object"}},
        dir={"type": "string"},
    ),
    "delete_session": SUCCESS,
    "session_status": _CODES_BY_NODE,
    "deploy_session": SUCCESS,
    "cancel_session": SUCCESS,
    "get_graph": {"type": "object", "additionalProperties": {"type": "object"}},
    "append_graph": SUCCESS,
    "graph_size": {"type": "integer", "minimum": 0},
    "graph_status": {
        "type": "object",
        "additionalProperties": _object(["status"], status=_CODE, execStatus=_CODE),
    },
    "drop_detail": _DROP_DETAIL,
    "list_nodes": _STRINGS,
    "add_node": SUCCESS,
    "remove_node": SUCCESS,
    "submit": _object(["sessionId", "url"], sessionId=SESSION_ID, url={"type": "string"}),
    "progress": _PROGRESS,
    "node_details": {"type": "array", "items": _NODE_DETAILS},
    "restart_node": _object(
        ["Status", "node"], Status={"const": "Success"}, node={"type": "string"}
    ),
    "session_overview": {"type": "array", "items": _PROGRESS},
    "session_timeline": _object(
        ["apps", "truncated"],
        apps={
            "type": "array",
            "items": _object(
                ["oid", "node", "state", "started_at"],
                oid={"type": "string"},
                name=_TEXT_OR_NULL,
                node={"type": ["string", "null"]},
                state={"type": "string"},
                started_at={"type": "number"},
                finished_at=_TIME,
            ),
        },
        truncated={"type": "boolean"},
    ),
    "lg_fill": _object(
        ["nodeDataArray", "reprodata"],
        nodeDataArray={"type": "array"},
        linkDataArray={"type": "array"},
        reprodata=_object(["rmode"], rmode={"type": "string"}),
    ),
    "lg_unroll": _TEMPLATE,
    "pgt_partition": _TEMPLATE,
    "lg_unroll_and_partition": _TEMPLATE,
    "pgt_map": _TEMPLATE,
    "pgt_jsonbody": {
        "type": "string",
        "contentMediaType": "application/json",
        "description": "a JSON text (as DALiuGE sends it): {class, nodeDataArray, "
        "linkDataArray, reprodata}, GoJS's model of the template",
    },
    "openapi_document": _object(
        ["openapi", "info", "paths"],
        openapi={"type": "string"},
        info={"type": "object"},
        paths={"type": "object"},
    ),
}

#: One server-sent event of :mod:`liuray.api.events`: ``progress`` or ``end``, its data a
#: JSON object (comments and keep-alives are not events).
EVENT: JSON = _object(
    ["event", "data"],
    event={"enum": ["progress", "end"]},
    data={
        "type": "string",
        "contentMediaType": "application/json",
        "contentSchema": _object(
            ["sessionId", "state", "status"],
            sessionId={"type": "string"},
            state={"type": "string"},
            status=_CODE,
            total={"type": "integer", "minimum": 0},
            counts={"type": "object", "additionalProperties": {"type": "integer"}},
            changes={"type": "array", "items": {"type": "array", "minItems": 3, "maxItems": 3}},
            truncated={"type": "boolean"},
            error=_TEXT_OR_NULL,
        ),
    },
)

#: Handlers that answer with server-sent events (each matching :data:`EVENT`), not JSON.
EVENT_STREAMS = frozenset({"session_events", "all_events"})

_COMPLETED_FORM: JSON = {
    "schema": _object([], completed={"type": "string", "description": "uid1,uid2,..."})
}
_GRAPH_CONTENT: JSON = {
    "application/json": {"schema": PHYSICAL_GRAPH},
    "text/plain": {"schema": {"type": "string", "description": "a physical graph as JSON"}},
}

_INTEGER: JSON = {"type": "integer"}
_FLAG: JSON = {"type": "boolean"}
_ALGORITHM: JSON = {
    "enum": ["metis", "min_num_parts", "mpp", "chains", "none"],
    "description": "DALiuGE's mysarkar and pso are refused (400)",
}
_LG_CONTENT: JSON = {"type": "string", "description": "the logical graph (EAGLE JSON)"}
_PGT_CONTENT: JSON = {"type": "string", "description": "a physical graph template (JSON)"}
_UNROLL_FIELDS: JSON = {
    "lg_content": _LG_CONTENT,
    "oid_prefix": {"type": "string"},
    "zero_run": _FLAG,
    "default_app": {"type": "string", "description": "every app's dropclass"},
}
_PARTITION_FIELDS: JSON = {
    "algorithm": _ALGORITHM,
    "num_partitions": _INTEGER,
    "num_islands": _INTEGER,
    "max_cpu": _INTEGER,
    "max_load_imb": _INTEGER,
}


def _form(required: list[str], **fields: JSON) -> JSON:
    """A DALiuGE translator form, urlencoded or multipart."""
    schema = {"schema": _object(required, **fields)}
    return {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": schema,
            "multipart/form-data": schema,
        },
    }


#: Request bodies by handler name.
REQUEST_BODIES: dict[str, JSON] = {
    "lg_fill": _form(
        ["lg_content"],
        lg_content=_LG_CONTENT,
        parameters={"type": "string", "description": "JSON object: name -> value"},
        rmode={"type": "string"},
    ),
    "lg_unroll": _form(["lg_content"], **_UNROLL_FIELDS),
    "pgt_partition": _form(["pgt_content"], pgt_content=_PGT_CONTENT, **_PARTITION_FIELDS),
    "lg_unroll_and_partition": _form(["lg_content"], **_UNROLL_FIELDS, **_PARTITION_FIELDS),
    "pgt_map": _form(
        ["pgt_content"],
        pgt_content=_PGT_CONTENT,
        nodes={"type": "string", "description": "dim, nm1, nm2, ... (default: this server's)"},
        num_islands=_INTEGER,
        co_host_dim=_FLAG,
        host={"type": "string"},
        port=_INTEGER,
    ),
    "create_session": {
        "required": True,
        "content": {
            "application/json": {"schema": _object(["sessionId"], sessionId=SESSION_ID)},
            "application/x-www-form-urlencoded": {
                "schema": _object(["sessionId"], sessionId=SESSION_ID)
            },
        },
    },
    "append_graph": {
        "required": True,
        "description": "a physical graph; may be sent with Content-Encoding gzip or deflate",
        "content": _GRAPH_CONTENT,
    },
    "submit": {
        "required": True,
        "description": "a physical graph, as for graph/append",
        "content": _GRAPH_CONTENT,
    },
    "deploy_session": {
        "required": False,
        "content": {
            "application/x-www-form-urlencoded": _COMPLETED_FORM,
            "multipart/form-data": _COMPLETED_FORM,
            "application/json": {
                "schema": {
                    "description": '{"completed": [uid, ...]} or the list of uids itself',
                    "anyOf": [
                        _object([], completed={"anyOf": [_STRINGS, {"type": ["string", "null"]}]}),
                        _STRINGS,
                    ],
                }
            },
        },
    },
}


def _query(name: str, schema: JSON, description: str) -> JSON:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_COMPLETED_QUERY = _query(
    "completed", {"type": "string"}, "drops to mark completed at start: uid1,uid2,..."
)

#: Query parameters by handler name.
QUERY: dict[str, list[JSON]] = {
    "submit": [
        _query(
            "sessionId",
            {"anyOf": [SESSION_ID, {"const": ""}]},
            "the new session's id (default: generated)",
        ),
        _COMPLETED_QUERY,
    ],
    "deploy_session": [_COMPLETED_QUERY],
    "pgt_jsonbody": [
        {
            "name": "pgt_name",
            "in": "query",
            "required": True,
            "schema": {"type": "string", "minLength": 1},
            "description": "the pgt_id that POST /gen_pgt answered with",
        }
    ],
}

#: Path parameters' schemas by name (any other: a non-empty string).
PATH_PARAMETERS: dict[str, JSON] = {
    "sid": SESSION_ID,
    "oid": {"type": "string", "minLength": 1, "description": "a drop's uid"},
    "node": {
        "type": "string",
        "minLength": 1,
        "description": "host, host:port or DALiuGE's host:port:events:rpc",
    },
}
