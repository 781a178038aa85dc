# SPDX-License-Identifier: LGPL-2.1-or-later
"""Reading request bodies: size limit, content type, compression, JSON.

The size limit (``max_bytes``, DALiuGE's ``-m`` megabytes) holds for the bytes on the
wire *and* for the decompressed body, and both are enforced while reading: the raw body
is streamed and counted, and a compressed body is inflated in bounded steps
(``decompressobj.decompress(data, max_length)``), so neither a huge upload nor a small
gzip bomb can make the server allocate more than about ``max_bytes``.

Accepted encodings (``Content-Encoding``): none/``identity``, ``gzip``/``x-gzip``
(DALiuGE's client sends a gzip stream) and ``deflate`` (a zlib stream, or raw deflate).
"""

from __future__ import annotations

import json
import math
import re
import sys
import zlib
from typing import Any

from starlette.requests import Request
from starlette.types import Message

from liuray.api.errors import RequestTooLarge, UnsupportedMediaType
from liuray.errors import InvalidRequest

#: Content types a graph body may have (DALiuGE accepts exactly these two).
GRAPH_TYPES = ("application/json", "text/plain")
_CHUNK = 64 * 1024
# wbits for zlib: 16+ = gzip only, 32+ = gzip or zlib (auto-detected), 15 = zlib, -15 = raw.
_GZIP_OR_ZLIB = 32 + zlib.MAX_WBITS


def media_type(request: Request) -> str:
    """The request's media type, lower case, without parameters ("" if none)."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def require_media_type(request: Request, allowed: tuple[str, ...]) -> None:
    """Raise :class:`UnsupportedMediaType` (415) unless the content type is allowed."""
    found = media_type(request)
    if found not in allowed:
        raise UnsupportedMediaType(
            f"Content-Type {found or '(none)'!r} is not accepted here; send one of {list(allowed)}",
            content_type=found,
            allowed=list(allowed),
        )


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, decompressed, at most ``max_bytes`` long either way.

    Raises:
        RequestTooLarge: the body, on the wire or decompressed, exceeds ``max_bytes``.
        UnsupportedMediaType: the ``Content-Encoding`` is not one we decode.
        InvalidRequest: the compressed stream is corrupt.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes, "Content-Length")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > max_bytes:
            raise _too_large(max_bytes, "body")
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return bytes(raw)
    if encoding in ("gzip", "x-gzip"):
        return inflate(bytes(raw), max_bytes, (_GZIP_OR_ZLIB,))
    if encoding == "deflate":
        return inflate(bytes(raw), max_bytes, (zlib.MAX_WBITS, -zlib.MAX_WBITS))
    raise UnsupportedMediaType(
        f"Content-Encoding {encoding!r} is not supported; send gzip, deflate or none",
        content_encoding=encoding,
    )


def inflate(data: bytes, max_bytes: int, formats: tuple[int, ...]) -> bytes:
    """Decompress ``data`` (trying each zlib ``wbits`` format in turn), bounded.

    Raises:
        RequestTooLarge: more than ``max_bytes`` would come out.
        InvalidRequest: no format decodes the data.
    """
    problem = ""
    for wbits in formats:
        try:
            return _inflate_bounded(data, max_bytes, wbits)
        except zlib.error as err:
            problem = str(err)
    raise InvalidRequest(f"the compressed body is corrupt ({problem})", reason=problem)


def _inflate_bounded(data: bytes, max_bytes: int, wbits: int) -> bytes:
    # Inflate at most `room` bytes per call and feed back `unconsumed_tail`, so memory use
    # stays within max_bytes however high the compression ratio is. Concatenated gzip
    # members (allowed by RFC 1952) continue from `unused_data`.
    out = bytearray()
    pending = data
    while pending:
        inflater = zlib.decompressobj(wbits)
        while pending:
            room = max_bytes - len(out) + 1
            out += inflater.decompress(pending, room)
            if len(out) > max_bytes:
                raise _too_large(max_bytes, "decompressed body")
            pending = inflater.unconsumed_tail
        if not inflater.eof:
            raise zlib.error("the stream ends early (truncated body?)")
        pending = inflater.unused_data
    return bytes(out)


def parse_json(data: bytes, what: str = "body") -> Any:
    """Parse JSON, turning syntax errors into a 400 that gives the line and column.

    Only JSON that can be sent back is accepted: no ``NaN``/``Infinity`` or numbers
    that overflow a float, no string with half a UTF-16 surrogate pair (``"\\ud800"``),
    no integer longer than Python converts (4300 digits), no nesting deeper than
    Python's recursion allows. Anything else would be stored, then fail every answer
    that shows it.

    Raises:
        InvalidRequest: ``data`` is not UTF-8 JSON, or not JSON liuray can send back.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InvalidRequest(
            f"the {what} is not UTF-8 text (byte {err.start}); send UTF-8 encoded JSON",
            position=err.start,
        ) from None
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as err:
        raise InvalidRequest(
            f"the {what} is not valid JSON: {err.msg} at line {err.lineno} column {err.colno} "
            f"(char {err.pos})",
            line=err.lineno,
            column=err.colno,
            position=err.pos,
        ) from None
    except RecursionError:
        raise InvalidRequest(f"the {what} is nested too deeply to be read") from None
    except ValueError:  # the only other one json.loads raises: an integer too long
        limit = sys.get_int_max_str_digits()
        raise InvalidRequest(
            f"the {what} has an integer of more than {limit} digits; send it as a string",
            limit=limit,
        ) from None
    if _SURROGATE_ESCAPE.search(text) and not _encodable(value):
        raise InvalidRequest(
            f"the {what} has a string with an unpaired UTF-16 surrogate (\\ud800-\\udfff); "
            "escape characters outside the BMP as a pair, or send them as UTF-8"
        )
    return value


#: A \uXXXX escape of a UTF-16 surrogate: the only way JSON text can hold half a pair.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _no_constant(name: str) -> Any:
    raise InvalidRequest(f"{name} is not a JSON number; send finite numbers only", constant=name)


def _finite_float(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise InvalidRequest(
            f"the number {literal[:40]} is too large for a float; send finite numbers only",
            number=literal[:40],
        )
    return number


#: The one decoder with liuray's checks. ``json.loads`` with hooks makes a decoder per
#: call, which looks its options up by names made for the occasion, and CPython 3.11's
#: type attribute cache keeps such names: a few hundred survived a burst of requests
#: scattered over the heap, each keeping a 1 MB arena of it resident
#: (docs/reliability.md, "Load"). Sharing it between threads is safe (its scanner's key
#: cache is only an optimisation).
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite_float)


def _encodable(value: Any) -> bool:
    """Whether every string (keys too) in ``value`` can be written as UTF-8."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and not item.isascii():
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return False
    return True


async def read_json(request: Request, max_bytes: int, allowed: tuple[str, ...]) -> Any:
    """Check the content type, read the body within the limit, and parse it as JSON."""
    require_media_type(request, allowed)
    data = await read_body(request, max_bytes)
    if not data.strip():
        raise InvalidRequest(f"the body is empty; send JSON ({' or '.join(allowed)})")
    return parse_json(data)


async def read_form(
    request: Request, data: bytes, max_field_bytes: int = 2**20
) -> dict[str, list[str]]:
    """Form fields (urlencoded or multipart) from an already read, bounded body.

    ``max_field_bytes`` bounds one field (Starlette's default: 1 MB); a field that is
    a whole graph may need the body's limit.
    """
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": data, "more_body": False}

    fields: dict[str, list[str]] = {}
    async with Request(request.scope, replay).form(
        max_files=0, max_part_size=max_field_bytes
    ) as form:
        for key, value in form.multi_items():
            if isinstance(value, str):
                fields.setdefault(key, []).append(value)
    return fields


def _too_large(max_bytes: int, what: str) -> RequestTooLarge:
    return RequestTooLarge(
        f"request {what} is larger than the server's limit of {max_bytes} bytes "
        f"({max_bytes / 2**20:g} MB); raise it with `liuray serve --max-request-size MB` "
        "or send a smaller graph",
        limit=max_bytes,
    )
