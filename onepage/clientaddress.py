"""The address of the client behind our reverse proxies.

REMOTE_ADDR is the peer that connected to us. When that peer is one of our
own proxies (settings.TRUSTED_PROXIES, a list of CIDRs), X-Forwarded-For is
walked from the right, skipping the trusted proxies that appended to it; the
first address that is not one of them is the client. From a peer that is not
trusted, X-Forwarded-For is ignored: anyone can write one. Used by the pixel
(tracking.classify reads the address) and by the sign-in lockout (axes).
"""

import functools
import ipaddress
from collections.abc import Mapping

from django.conf import settings
from django.http import HttpRequest


@functools.cache
def _trusted(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in proxies)


def _parse(value: str):
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def _is_trusted(address, networks: tuple) -> bool:
    return any(address.version == n.version and address in n for n in networks)


def client_address(request: HttpRequest) -> str:
    """The client's address as text ("" when none can be read)."""
    return client_address_of(request.META)


def client_address_of(meta: Mapping[str, str]) -> str:
    """The same from a request's META or a raw WSGI environ (the pixel's
    lane, onepage.lanes, answers before Django makes a request)."""
    peer = _parse(meta.get("REMOTE_ADDR", ""))
    if peer is None:
        return ""
    networks = _trusted(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _is_trusted(peer, networks):
        return str(peer)
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed(forwarded.split(",")):
        address = _parse(hop)
        if address is None:
            # A hop we cannot read: stop at the last address we trust to be true.
            break
        if not _is_trusted(address, networks):
            return str(address)
        peer = address
    # Every hop is one of ours (a request from the proxy machine itself).
    return str(peer)


def from_trusted_proxy(meta: Mapping[str, str]) -> bool:
    """Whether the peer is one of our proxies, whose own headers (not only
    X-Forwarded-For) may be believed: the pixel's balancer request id."""
    return _peer_trusted(meta.get("REMOTE_ADDR", ""), tuple(settings.TRUSTED_PROXIES))


@functools.lru_cache(maxsize=256)
def _peer_trusted(remote_addr: str, proxies: tuple[str, ...]) -> bool:
    peer, networks = _parse(remote_addr), _trusted(proxies)
    return peer is not None and bool(networks) and _is_trusted(peer, networks)


def axes_client_address(request: HttpRequest) -> str | None:
    """For AXES_CLIENT_IP_CALLABLE: the sign-in lockout counts by the real client."""
    return client_address(request) or None
