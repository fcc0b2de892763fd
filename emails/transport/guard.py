"""Outbound connections to hosts that users type (a mailbox's SMTP server
and its IMAP server): the one way OnePage opens them.

Without this, "Test connection" and the send task would connect wherever a
user points them: 127.0.0.1, the database, Redis, an internal bastion. So the
host is resolved once, every address it resolves to is checked (a public
unicast address on a mail port), and the socket goes to a checked address:
never a second resolution that DNS could answer differently. Spellings such
as `127.1`, `2130706433`, `0x7f000001` or `::ffff:127.0.0.1` are what the
resolver turns into addresses, so they are judged by the address they reach.

The operator opens exceptions with MAILBOX_ALLOWED_HOSTS: host names,
addresses or networks reached on any port, private or not (the development
and test settings allow loopback).
"""

import ipaddress
import socket
from collections.abc import Iterable

from django.conf import settings

# Submission (587), SMTPS (465), relay (25) and the common alternative (2525);
# IMAP (143) and IMAPS (993) for the mailbox sync.
MAIL_PORTS = frozenset({25, 465, 587, 2525, 143, 993})

PRIVATE_ADDRESS = (
    "This server's address is on a private, local or reserved network, which OnePage does not connect to. "
    "Enter your mail provider's public host name."
)
INVALID_HOST = "Enter a valid host name, such as smtp.example.com: each part between dots is at most 63 characters."

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedDestination(OSError):
    """The host or port may not be connected to; the message says what to change.

    An OSError, like every other way a connection can fail, so callers that
    handle network failures handle this one too."""


def host_problem(host: str) -> str | None:
    """What is wrong with a host name as typed, before any lookup (None: nothing)."""
    name = host.strip().removeprefix("[").removesuffix("]").rstrip(".")
    if not name or len(name) > 253:
        return INVALID_HOST
    try:
        # The lookup encodes the name this way; a label over 63 characters
        # (or one it cannot encode) would fail there with a UnicodeError.
        name.encode("idna")
    except UnicodeError:
        return INVALID_HOST
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in ipaddress.IPv6Network("64:ff9b::/96"):  # NAT64
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """A global unicast address, whatever IPv4 address an IPv6 one wraps."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


def _allowed_entries() -> list[str]:
    return [entry.strip().lower().rstrip(".") for entry in settings.MAILBOX_ALLOWED_HOSTS if entry.strip()]


def _allowed_by_name(host: str) -> bool:
    return host.lower().rstrip(".") in _allowed_entries()


def _allowed_by_address(address: IPAddress) -> bool:
    for entry in _allowed_entries():
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            continue  # a host name
        if address.version == network.version and address in network:
            return True
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped in network:
            return True
    return False


def checked_addresses(host: str, port: int) -> list[tuple[int, tuple]]:
    """Resolve `host` once and return the (family, sockaddr) pairs that may be
    connected to. Raises RefusedDestination (with words for the user), or
    socket.gaierror when the name does not exist."""
    problem = host_problem(host)
    if problem:
        raise RefusedDestination(problem)
    name = host.strip().removeprefix("[").removesuffix("]")
    by_name = _allowed_by_name(name)
    infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    results = []
    for family, _, _, _, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        allowed = by_name or _allowed_by_address(address)
        if not allowed and not is_public(address):
            raise RefusedDestination(PRIVATE_ADDRESS)
        if not allowed and port not in MAIL_PORTS:
            raise RefusedDestination(
                f"OnePage connects to mail servers on ports {_ports(sorted(MAIL_PORTS))} only: "
                "587 (STARTTLS) or 465 (SSL/TLS) is what most providers use for SMTP, 993 (SSL/TLS) for IMAP."
            )
        results.append((family, sockaddr))
    if not results:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return results


def _ports(ports: Iterable[int]) -> str:
    *first, last = [str(p) for p in ports]
    return f"{', '.join(first)} and {last}"


def connect(host: str, port: int, *, timeout: float | None, source_address=None) -> socket.socket:
    """A TCP connection to `host`, made to an address checked above; each
    checked address is tried in turn, like socket.create_connection."""
    error: OSError | None = None
    for family, sockaddr in checked_addresses(host, port):
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            if timeout is not None:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    assert error is not None
    raise error
