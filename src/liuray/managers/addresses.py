# SPDX-License-Identifier: LGPL-2.1-or-later
"""Node identity: one canonical name per node manager, however it is spelled.

DALiuGE names nodes ``host[:rest_port[:events_port[:rpc_port]]]`` and compares the
strings, so ``localhost``, ``127.0.0.1``, the host name and its IP were four nodes (and a
repeated registration two). Here a spelling is reduced to ``host:port``:

* the event and RPC ports are dropped (they are transport details, not identity);
* an IPv6 host is written in brackets (``[fe80::1]:8000``), so a canonical name parses
  back to itself; a bare IPv6 address (``fe80::1``) is a host without a port;
* a missing port is the default NM port, 8000;
* any address of *this* machine (``localhost``, ``127.x``, ``::1``, ``0.0.0.0``, the host
  name, its addresses) becomes ``localhost``; other names are resolved to their IP
  address when they resolve, so a host's name and its IP are one node.

>>> canonical_address("127.0.0.1:8000:5555:6666") == canonical_address("localhost")
True
>>> canonical_address("localhost:8010")
'localhost:8010'
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket

from liuray.errors import InvalidRequest

DEFAULT_NM_PORT = 8000
#: A host name (RFC 1123 letters, digits, dots and hyphens; underscores too, as some
#: clusters use them) or an IPv4 address, lower case; IPv6 is left to ``ipaddress``.
_HOST_NAME = re.compile(r"[a-z0-9_][a-z0-9_.-]{0,252}")


def split_address(spelling: str) -> tuple[str, int]:
    """``host[:port[:evt[:rpc]]]`` (or ``[v6]:port``) -> (host, port).

    Raises:
        InvalidRequest: the spelling is empty, its host is not a host name or an IP
            address, or its port is not a number.
    """
    text = spelling.strip()
    if not text:
        raise InvalidRequest("empty node name; use host[:port], e.g. 'localhost:8000'")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        parts = rest.lstrip(":").split(":") if rest else []
    elif _is_ipv6(text) or text.count(":") > 3:  # a bare IPv6 address ("::1", "fe80::1")
        host, parts = text, []
    else:
        host, *parts = text.split(":")
    host = host.lower()
    if not _HOST_NAME.fullmatch(host) and not _is_ipv6(host):
        raise InvalidRequest(
            f"node {spelling!r}: {host!r} is not a host name or an IP address; use "
            "host[:port] with letters, digits, '.', '-' and '_', e.g. 'node1:8000'",
            node=spelling,
        )
    port = DEFAULT_NM_PORT
    if parts and parts[0]:
        if not (parts[0].isascii() and parts[0].isdigit()) or not 0 < int(parts[0]) < 65536:
            raise InvalidRequest(
                f"node {spelling!r}: port {parts[0]!r} is not a number in "
                "1..65535; use host[:port]",
                node=spelling,
            )
        port = int(parts[0])
    return host, port


def canonical_address(spelling: str) -> str:
    """The canonical ``host:port`` of a node spelling (see the module docstring)."""
    host, port = split_address(spelling)
    name = canonical_host(host)
    # Bracket IPv6 hosts so that the canonical name parses back to itself.
    return f"[{name}]:{port}" if _is_ipv6(name) else f"{name}:{port}"


@functools.lru_cache(maxsize=256)
def canonical_host(host: str) -> str:
    """``localhost`` for any address of this machine, else the host's IP if it resolves."""
    if host in _local_names():
        return "localhost"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:
            resolved = socket.gethostbyname(host)
        except (OSError, UnicodeError):  # UnicodeError: a label IDNA cannot encode
            return host
        return "localhost" if resolved in _local_names() or _is_local(resolved) else resolved
    return "localhost" if _is_local(str(address)) else str(address)


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _is_local(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified or address in _local_names()


@functools.lru_cache(maxsize=1)
def _local_names() -> frozenset[str]:
    names = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::", "localhost.localdomain"}
    for name in {socket.gethostname(), socket.getfqdn()}:
        names.add(name.lower())
        try:
            for info in socket.getaddrinfo(name, None):
                names.add(str(info[4][0]))
        except OSError:
            pass
    return frozenset(names)
