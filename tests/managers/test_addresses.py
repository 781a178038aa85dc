"""Node identity: every spelling of one node manager reduces to one canonical name."""

from __future__ import annotations

import socket

import pytest

from liuray.errors import InvalidRequest
from liuray.managers import addresses
from liuray.managers.addresses import canonical_address, split_address


def _host_addresses() -> list[str]:
    """This machine's addresses as its resolver reports them (at least one)."""
    found = {socket.gethostbyname(socket.gethostname())}
    try:
        found |= {str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None)}
    except OSError:
        pass
    return sorted(found)


@pytest.mark.parametrize(
    "spelling",
    [
        "localhost",
        "LOCALHOST",
        "127.0.0.1",
        "127.0.0.1:8000",
        "localhost:8000:5555:6666",
        "127.0.0.1:8000:5555",
        "[::1]:8000",
        "[::1]",
        "::1",
        "0.0.0.0:8000",
        " localhost:8000 ",
        socket.gethostname(),
        f"{socket.gethostname()}:8000:5555:6666",
        socket.getfqdn(),
        *_host_addresses(),
    ],
)
def test_spellings_of_this_machine_are_one_node(spelling: str) -> None:
    """localhost, loopback, the host name, its IPs, with or without extra ports."""
    assert canonical_address(spelling) == "localhost:8000"


def test_different_ports_are_different_nodes() -> None:
    """The NM port is identity; the event and RPC ports are not."""
    assert canonical_address("localhost:8001") == "localhost:8001"
    assert canonical_address("127.0.0.1:8001:1:2") == "localhost:8001"
    assert canonical_address("localhost:8001") != canonical_address("localhost:8002")


def test_remote_addresses_keep_their_ip() -> None:
    """Another machine's IP stays as it is; extra ports are dropped."""
    assert canonical_address("10.1.2.3") == "10.1.2.3:8000"
    assert canonical_address("10.1.2.3:8001:5555:6666") == "10.1.2.3:8001"


def test_remote_names_resolve_to_their_ip(monkeypatch: pytest.MonkeyPatch) -> None:
    """A host name and its IP are one node; a name that does not resolve stays a name."""
    table = {"compute-7.example": "10.9.8.7"}

    def resolve(name: str) -> str:
        if name in table:
            return table[name]
        raise socket.gaierror(name)

    monkeypatch.setattr(socket, "gethostbyname", resolve)
    addresses.canonical_host.cache_clear()
    try:
        assert canonical_address("compute-7.example:8001") == "10.9.8.7:8001"
        assert canonical_address("Compute-7.EXAMPLE:8001") == "10.9.8.7:8001"
        assert canonical_address("ghost-3.example") == "ghost-3.example:8000"
    finally:
        addresses.canonical_host.cache_clear()


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("fe80::1", "[fe80::1]:8000"),
        ("2001:db8::1", "[2001:db8::1]:8000"),
        ("[2001:db8::1]:8001", "[2001:db8::1]:8001"),
        ("[2001:DB8:0::1]:8001:5:6", "[2001:db8::1]:8001"),
    ],
)
def test_ipv6_hosts_are_bracketed(spelling: str, canonical: str) -> None:
    """Bare or bracketed IPv6 hosts come out bracketed, in compressed form."""
    assert canonical_address(spelling) == canonical


@pytest.mark.parametrize(
    "spelling", ["localhost:8001", "[fe80::1]:8003", "10.1.2.3:9000", "localhost:1"]
)
def test_canonical_names_are_fixed_points(spelling: str) -> None:
    """Canonicalising a canonical name changes nothing (transports do it twice)."""
    name = canonical_address(spelling)
    assert canonical_address(name) == name


@pytest.mark.parametrize(
    "spelling", ["localhost:http", "localhost:0", "localhost:65536", "localhost:-1", "[::1]:x"]
)
def test_bad_port_is_an_invalid_request(spelling: str) -> None:
    """A port that is not a number in 1..65535 says how to write a node."""
    with pytest.raises(InvalidRequest, match=r"is not a number in 1\.\.65535; use host\[:port\]"):
        canonical_address(spelling)


@pytest.mark.parametrize("spelling", ["", "   "])
def test_empty_name_is_an_invalid_request(spelling: str) -> None:
    """An empty node name gives an example of a valid one."""
    with pytest.raises(InvalidRequest, match="empty node name"):
        split_address(spelling)


def test_split_address() -> None:
    """(host, port) with the default port filled in and the host lower-cased."""
    assert split_address("Node1") == ("node1", 8000)
    assert split_address("node1:8010:1:2") == ("node1", 8010)
    assert split_address("[::1]:8010") == ("::1", 8010)
