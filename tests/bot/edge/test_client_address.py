"""Who sent a request: behind a trusted load balancer, the address it forwards; otherwise the
peer, whatever the request claims."""

from __future__ import annotations

from aiohttp.test_utils import make_mocked_request

from bot.edge.http import client_address


def request(peer: str, forwarded: str | None = None):  # type: ignore[no-untyped-def]
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    made = make_mocked_request("GET", "/", headers=headers)
    made._transport_peername = (peer, 12345)  # noqa: SLF001 - the peer of a mocked request
    return made


def test_without_trusted_proxies_the_peer_counts_whatever_the_header_says():
    assert client_address(request("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_behind_a_trusted_balancer_the_forwarded_address_counts():
    assert client_address(request("127.0.0.1", "198.51.100.1"), ("127.0.0.1",)) == "198.51.100.1"


def test_only_the_address_the_balancer_wrote_counts_not_what_the_client_prepended():
    spoofed = request("127.0.0.1", "10.0.0.1, 198.51.100.1")

    assert client_address(spoofed, ("127.0.0.1",)) == "198.51.100.1"
    assert client_address(request("127.0.0.1"), ("127.0.0.1",)) == "127.0.0.1"
