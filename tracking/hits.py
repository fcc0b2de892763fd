"""One hit of a pixel, as it travels from the pixel to the writer: which
recipient, when, under which idempotency key, and what the pixel saw of the
client (for the writer to classify; never stored)."""

import os
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

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


def new_hit_key() -> str:
    """A UUIDv7 (RFC 9562): milliseconds since the epoch, then 74 random
    bits. Unique per hit, and ordered by time, which keeps the index happy."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))
