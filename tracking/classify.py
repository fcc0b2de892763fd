"""Who fetched a pixel: the rules that tell a person's open from a machine's,
in one place. A pure function of the fetch's signals and timing facts to a
verdict (tracking.models.Verdict); nothing here reads the database, and the
signals (client address, user agent, prefetch headers) are never stored: the
writer (tracking.writer.write_opens) keeps the verdict only.

Signal rules, first match wins, and their sources:

- `self`: the fetching browser carries a valid member cookie
  (onepage.membercookie) of the email's organization: the sender or a
  colleague reading it, not the prospect.
- `scanner`: a `Sec-Purpose: prefetch` or `Purpose: prefetch` header (the
  Fetch spec's speculative loads, https://wicg.github.io/nav-speculation/prefetch.html);
  no user agent at all (no mail client sends none); an address in a
  security gateway's published ranges (Microsoft Exchange Online Protection,
  Barracuda Email Security Service; see tracking/data/open_ranges.txt).
- `proxy`: a mail provider's image proxy fetching for a person, who opened
  the message: Gmail's "... (via ggpht.com GoogleImageProxy)"
  (https://gmail.googleblog.com/2013/12/images-now-showing.html) and Yahoo's
  "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html".
  These are real opens.
- `privacy_prefetch`: Apple Mail Privacy Protection, which downloads every
  message's remote content through Apple's relays whether or not it is read
  (https://support.apple.com/guide/mail/use-mail-privacy-protection-mlhl03be2866/mac):
  an address in Apple's published ranges with a generic "Mozilla/..." user
  agent.

Timing rules, for what the signals left human (or proxy: Gmail's proxy too
may fetch a message's images on delivery, and a reload through it is still
a reload; the proxy verdict stays when neither rule applies):

- `early`: fetched less than EARLY_SECONDS after our SMTP server accepted the
  copy (EmailRecipient.delivered_at), or while the server held it (from
  attempted_at). Why 2 seconds: a gateway scanner or a prefetcher fetches
  while or as soon as the message is received. Measured in
  tracking/tests/test_verdicts_e2e.py (a real SMTP server that fetches the
  pixel on receipt, as a gateway does): its fetch lands 0.011 s *before*
  delivered_at (it holds the reply to DATA), and a client fetching the
  instant the send returns 0.008 s after. A person needs the receiving
  server to file the message, their client to be told of it (IMAP IDLE or
  push: about a second at best), then to notice the notification, open the
  message and render it: a visual reaction alone takes some 0.25 s, a tap
  and a render more, so a person's read within 2 s of acceptance is not
  plausible; and a window of 2 s loses no person who reads at once. Apple's
  prefetch can come minutes later (when the device syncs): the address
  rule, not this window, catches it.
- `repeat`: less than REPEAT_SECONDS after the recipient's last counted
  open: one reading, several fetches (a reload, a client rendering twice,
  a preview then the message). Counted opens only: 13 reloads in 10 s are one
  open, a reading a minute later is another. An aggregate recipient's last
  counted open is on no row: the writer remembers it for this window in
  tracking.recent.
"""

import functools
import ipaddress
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings

from .models import COUNTED, Verdict

EARLY_SECONDS = 2.0
REPEAT_SECONDS = 10.0
EARLY = timedelta(seconds=EARLY_SECONDS)
REPEAT = timedelta(seconds=REPEAT_SECONDS)

# What signal_verdict may return.
SIGNAL_VERDICTS = frozenset({Verdict.HUMAN, Verdict.PROXY, Verdict.PRIVACY_PREFETCH, Verdict.SCANNER})
# The kinds a ranges file may name.
RANGE_KINDS = (Verdict.PRIVACY_PREFETCH, Verdict.SCANNER)
PROXY_AGENTS = ("GoogleImageProxy", "YahooMailProxy")


@dataclass(frozen=True)
class Signals:
    """What the pixel view passes along with an open; never stored."""

    address: str = ""
    user_agent: str = ""
    # A Sec-Purpose or Purpose header saying prefetch.
    prefetch: bool = False
    # The organization id of a valid member cookie (onepage.membercookie).
    member_organization: int | None = None


class RangesError(ValueError):
    """A ranges file that cannot be used; the message says which line."""


@dataclass(frozen=True)
class Ranges:
    # Per IP version: the prefix lengths present, longest first, and per
    # length the networks (as integers) with their kind. A lookup tries each
    # length once, so the narrowest range that holds the address decides.
    lengths: dict
    networks: dict

    def kind_of(self, address: str) -> str | None:
        found = _address_value(address)
        if found is None:
            return None
        version, value = found
        networks, bits = self.networks[version], _BITS[version]
        for length in self.lengths.get(version, ()):
            kind = networks.get((value >> (bits - length) << (bits - length), length))
            if kind is not None:
                return kind
        return None


_BITS = {4: 32, 6: 128}


def _address_value(address: str) -> tuple[int, int] | None:
    """(IP version, the address as an integer), or None for what is not an
    address. The C parser first (inet_pton: a tenth of ipaddress's cost,
    which the pixel pays on every hit, issue 23; it refuses what ipaddress
    refuses), ipaddress for the forms it alone reads (an IPv6 zone)."""
    try:
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, address), "big")
    except (OSError, TypeError):
        pass
    try:
        return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, address), "big")
    except (OSError, TypeError):
        pass
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return ip.version, int(ip)


def parse_ranges(text: str) -> Ranges:
    """Read a ranges file ("CIDR KIND" lines); RangesError says what is wrong."""
    networks: dict[int, dict] = {4: {}, 6: {}}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2:
            raise RangesError(f"line {number}: expected 'CIDR KIND', got {line[:80]!r}")
        cidr, kind = parts
        if kind not in RANGE_KINDS:
            raise RangesError(f"line {number}: unknown kind {kind[:40]!r} (expected {' or '.join(RANGE_KINDS)})")
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise RangesError(f"line {number}: {cidr[:60]!r} is not an address range") from None
        networks[network.version][(int(network.network_address), network.prefixlen)] = str(kind)
    if not networks[4] and not networks[6]:
        raise RangesError("no address range in the file")
    lengths = {v: sorted({length for _, length in networks[v]}, reverse=True) for v in networks}
    return Ranges(lengths=lengths, networks=networks)


@functools.cache
def _ranges(path: str) -> Ranges:
    return parse_ranges(Path(path).read_text(encoding="utf-8"))


def ranges() -> Ranges:
    """The ranges of settings.OPEN_RANGES_FILE, read once per process."""
    return _ranges(str(settings.OPEN_RANGES_FILE))


def forget_ranges() -> None:
    _ranges.cache_clear()


def signal_verdict(signals: Signals) -> str:
    """The verdict the signals alone give, the organization aside: scanner,
    privacy_prefetch, proxy or human. (`self` needs the email's organization:
    see `verdict`.)"""
    agent = signals.user_agent.strip()
    if signals.prefetch or not agent:
        return Verdict.SCANNER
    if any(token in agent for token in PROXY_AGENTS):
        return Verdict.PROXY
    kind = ranges().kind_of(signals.address) if signals.address else None
    if kind == Verdict.SCANNER:
        return Verdict.SCANNER
    if kind == Verdict.PRIVACY_PREFETCH and agent.startswith("Mozilla/"):
        return Verdict.PRIVACY_PREFETCH
    return Verdict.HUMAN


def verdict(
    *,
    pre_verdict: str,
    member_organization: int | None,
    organization_id: int,
    opened_at: datetime,
    delivered_at: datetime | None,
    last_counted_at: datetime | None,
    handed_at: datetime | None = None,
) -> str:
    """The open's verdict: `pre_verdict` is signal_verdict's (computed by the
    writer, or before spooling); then self, then the timing rules for what
    still counts."""
    if member_organization is not None and member_organization == organization_id:
        return Verdict.SELF
    if pre_verdict not in COUNTED:
        return pre_verdict
    if delivered_at is not None:
        # From when the copy was handed to the server (a gateway may fetch
        # while it holds the reply to DATA) to EARLY after it accepted it.
        since = min(handed_at or delivered_at, delivered_at - EARLY)
        if since <= opened_at < delivered_at + EARLY:
            return Verdict.EARLY
    if last_counted_at is not None and abs(opened_at - last_counted_at) < REPEAT:
        return Verdict.REPEAT
    return pre_verdict


def prefetch_header(meta: dict) -> bool:
    """Whether a request's headers mark it a speculative prefetch."""
    purpose = meta.get("HTTP_SEC_PURPOSE") or meta.get("HTTP_PURPOSE") or meta.get("HTTP_X_PURPOSE") or ""
    return "prefetch" in purpose.lower() or "preview" in purpose.lower()
