"""Bounded decompression and JSON errors, without a server."""

from __future__ import annotations

import gzip
import zlib

import pytest

pytest.importorskip("starlette")

from liuray.api.body import inflate, parse_json
from liuray.api.errors import RequestTooLarge, status_for
from liuray.errors import GraphError, InvalidRequest, LiurayError, SessionNotFound

GZIP_OR_ZLIB = 32 + zlib.MAX_WBITS


def test_inflate_reads_gzip_zlib_and_concatenated_members() -> None:
    """gzip, zlib and multi-member gzip streams all come out whole."""
    data = b"x" * 5000
    assert inflate(gzip.compress(data), 10_000, (GZIP_OR_ZLIB,)) == data
    assert inflate(zlib.compress(data), 10_000, (GZIP_OR_ZLIB,)) == data
    assert inflate(gzip.compress(data) * 2, 10_000, (GZIP_OR_ZLIB,)) == data * 2


def test_inflate_stops_at_the_limit() -> None:
    """One byte over the limit is refused; exactly the limit is fine."""
    data = bytes(4096)
    assert inflate(gzip.compress(data), 4096, (GZIP_OR_ZLIB,)) == data
    with pytest.raises(RequestTooLarge):
        inflate(gzip.compress(data + b"!"), 4096, (GZIP_OR_ZLIB,))


def test_inflate_rejects_garbage_and_truncation() -> None:
    """Non-compressed or cut-off input is an InvalidRequest, not a crash."""
    with pytest.raises(InvalidRequest, match="corrupt"):
        inflate(b"not compressed", 100, (GZIP_OR_ZLIB,))
    with pytest.raises(InvalidRequest, match="corrupt"):
        inflate(gzip.compress(b"[1, 2, 3]")[:-4], 100, (GZIP_OR_ZLIB,))


def test_json_errors_give_line_and_column() -> None:
    """The message and detail locate the syntax error."""
    with pytest.raises(InvalidRequest) as caught:
        parse_json(b"[\n  1,\n  2,,\n]")
    assert "line 3 column 5" in caught.value.message
    assert (caught.value.detail["line"], caught.value.detail["column"]) == (3, 5)


def test_status_table_follows_the_class_hierarchy() -> None:
    """Subclasses inherit their parent's status; unknown exceptions are 500."""

    class OddGraph(GraphError):
        pass

    assert status_for(SessionNotFound("x")) == 404
    assert status_for(OddGraph("x")) == 400
    assert status_for(RequestTooLarge("x")) == 413
    assert status_for(LiurayError("x")) == 500
    assert status_for(KeyError("x")) == 500
