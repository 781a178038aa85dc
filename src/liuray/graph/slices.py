# SPDX-License-Identifier: LGPL-2.1-or-later
"""Parsing a large JSON list of objects a slice at a time.

A physical graph file is one JSON list of drop specs. Parsed whole, a million-drop file
holds every spec's strings at once (each class name, kind and linked oid a separate
object until the loader shares them): ~250 MB that the allocator keeps as holes once
freed, so the process's peak grows by as much. Parsed in slices of a few MB, each
slice's duplicates are freed before the next is parsed, and their memory is reused.

How: after ``size`` bytes, the next ``}``, comma, ``{`` (blanks allowed) is taken as the
end of an element, and the text up to it is parsed as a list by orjson. A boundary
found inside a string or a nested value leaves that slice unbalanced (an unterminated
string, or a bracket more open than closed), so orjson refuses it, never misreads it;
then :class:`NotSliceable` is raised and the caller parses the file whole (also what to
do with a file that is not a list of objects, or not valid JSON: the whole parse says
where).

>>> list(list_slices(b'[{"a": 1}, {"b": 2}, {"c": [3]}]', 1))
[[{'a': 1}], [{'b': 2}], [{'c': [3]}]]
>>> try:  # the first "}, {" is inside a string: that slice cannot parse
...     list(list_slices(b'[{"a": "}, {"}, {"b": 2}]', 1))
... except NotSliceable as err:
...     print(err)
a slice of the list is not valid JSON on its own
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

_FIRST = re.compile(rb"\s*\[\s*\{")
_BOUNDARY = re.compile(rb"\}\s*,\s*\{")


class NotSliceable(ValueError):
    """The text cannot be cut into slices: parse it whole."""


def list_slices(data: bytes, size: int) -> Iterator[list[Any]]:
    """The elements of the JSON list of objects ``data``, in lists of about ``size`` bytes.

    Raises:
        NotSliceable: ``data`` is not a list of objects that can be cut (see the module
            docstring); slices already yielded must then be thrown away.
    """
    first = _FIRST.match(data)
    if first is None:
        raise NotSliceable("the text does not start with a list of objects")
    view = memoryview(data)
    start = first.end() - 1
    while True:
        boundary = _BOUNDARY.search(data, start + size) if start + size < len(data) else None
        if boundary is None:  # the last slice ends with the list's own "]"
            yield _parse(b"".join((b"[", view[start:])))
            return
        yield _parse(b"".join((b"[", view[start : boundary.start() + 1], b"]")))
        start = boundary.end() - 1


def _parse(text: bytes) -> list[Any]:
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise NotSliceable("a slice of the list is not valid JSON on its own") from None
    if not isinstance(parsed, list):  # pragma: no cover - a "[" slice parses to a list
        raise NotSliceable("a slice of the list is not a list")
    return parsed
