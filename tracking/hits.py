"""One pixel hit, in one Redis round trip: the per-recipient rate limit
(tracking.ratelimit's key and rules) and the append to the open stream
(tracking.recording's stream, limit and entry layout) in one Lua script,
recording.append_to_stream. Without Redis, or
while it does not answer, the hit goes the long way: the limit counted in
this process and the open written directly (or spooled)."""

import logging
import time
from datetime import datetime

import redis
from django.conf import settings

from . import ratelimit, recording

logger = logging.getLogger(__name__)


def count_and_record(
    *, recipient_id: int, opened_at: datetime, key: str, signals: recording.Signals | None = None
) -> str:
    """Record the hit unless the recipient is past the rate limit. Returns
    "limited", "stream", "direct", "spool" or "lost". Never raises."""
    url = settings.REDIS_URL
    hit = recording.Open(recipient_id=recipient_id, opened_at=opened_at, key=key, signals=signals)
    if url and time.monotonic() >= recording.redis_paused_until(url):
        try:
            outcome = recording.append_to_stream(
                url, hit, limit_key=ratelimit.limit_key(recipient_id, opened_at.timestamp())
            )
        except redis.RedisError as exc:
            # Both halves fall back: the limit in this process, the open to
            # the database (a timeout may still be run by Redis later: the
            # key makes that entry and the direct write one open).
            recording.pause_redis(url, exc)
            ratelimit.pause_redis(url)
        else:
            if outcome == "stream":
                recording.recording_again()
            if outcome != "full":
                return outcome
            # Counted within the limit; the stream is at its limit.
            return recording.write_directly(hit, warn_over_limit=True)
    if not ratelimit.may_count_open(recipient_id=recipient_id, now=opened_at.timestamp()):
        return "limited"
    return recording.record_open(recipient_id=recipient_id, opened_at=opened_at, key=key, signals=signals)
