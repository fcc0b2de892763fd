"""One hit of a pixel, as it travels from the pixel to the writer: which
recipient, when, under which idempotency key, and what the pixel saw of the
client (for the writer to classify; never stored)."""

import os
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from onepage.clientaddress import from_trusted_proxy

from . import classify
from .classify import Signals


@dataclass(frozen=True)
class Open:
    recipient_id: int
    opened_at: datetime
    # The hit's idempotency key; None only for opens written before keys.
    key: str | None = None
    # What the pixel saw of the client (tracking.classify). None for an open
    # that carries none (written before verdicts, or by the demo): it counts
    # as a person's open.
    signals: Signals | None = None
    # The signals' verdict when classified before (the spool keeps this, not
    # the signals); the member cookie's organization then rides in signals.
    pre_verdict: str | None = None


def kept_signals(hit: Open) -> tuple[str, int | None] | None:
    """What a hit keeps of its signals once it leaves the request, in the
    stream entry and the spool line alike: their verdict
    (classify.signal_verdict) and the member cookie's organization; never
    the client's address or user agent, which Redis's append-only file and
    the spool would put on disk. The writer reads its verdicts through it
    too. None for a hit without signals (nor a verdict made before)."""
    member = hit.signals.member_organization if hit.signals is not None else None
    if hit.pre_verdict is not None:
        return hit.pre_verdict, member
    if hit.signals is None:
        return None
    return classify.signal_verdict(hit.signals), member


def with_kept_signals(
    *, recipient_id: int, opened_at: datetime, key: str | None, verdict: str | None, member: int | None
) -> Open:
    """A hit read back from the stream or the spool: `verdict` and `member`
    as kept_signals gave them, `verdict` empty for a hit without signals.
    Raises ValueError for a verdict the signals cannot give."""
    if not verdict:
        return Open(recipient_id=recipient_id, opened_at=opened_at, key=key)
    if verdict not in classify.SIGNAL_VERDICTS:
        raise ValueError(f"not a signals' verdict: {verdict[:20]!r}")
    return Open(
        recipient_id=recipient_id,
        opened_at=opened_at,
        key=key,
        pre_verdict=verdict,
        signals=Signals(member_organization=member),
    )


def new_hit_key() -> str:
    """A UUIDv7 (RFC 9562): milliseconds since the epoch, then 74 random
    bits. Unique per hit, and ordered by time, which keeps the index happy."""
    return _uuid7(time.time_ns() // 1_000_000, int.from_bytes(os.urandom(10), "big"))


def balancer_hit_key(meta: Mapping[str, str]) -> str | None:
    """The key of a hit the load balancer numbered: its request id (nginx's
    $request_id, 128 random bits) and the millisecond it took the request
    (t=$msec), sent as X-Request-ID and X-Request-Start (deploy/nginx.conf.example).
    nginx sends the same two when it retries the request on another node, so
    a hit recorded by a node that died before answering and by the next one
    counts once (docs/scaling.md). None, for a key of our own, unless both are
    well formed and come from one of TRUSTED_PROXIES: a client must not
    choose its key."""
    request_id, start = meta.get("HTTP_X_REQUEST_ID"), meta.get("HTTP_X_REQUEST_START")
    if not request_id or not start:
        return None
    started = _REQUEST_START.fullmatch(start)
    if started is None or _REQUEST_ID.fullmatch(request_id) is None or not from_trusted_proxy(meta):
        return None
    return _uuid7(int(started[1]) * 1000 + int(started[2]), int(request_id, 16))


# nginx's $request_id (32 hex digits) and "t=" $msec (seconds, 3 decimals).
_REQUEST_ID = re.compile(r"[0-9a-f]{32}")
_REQUEST_START = re.compile(r"t=(\d{1,12})\.(\d{3})")


def _uuid7(millis: int, rand: int) -> str:
    """`millis`, the version, then 74 of `rand`'s bits, the variant between."""
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))
