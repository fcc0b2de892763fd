"""One pixel hit, in one Redis round trip: the per-recipient rate limit
(tracking.ratelimit's key and rules) and the append to the open stream
(tracking.recording's stream and limit) in one Lua script. Without Redis, or
while it does not answer, the hit goes the long way: the limit counted in
this process and the open written directly (or spooled)."""

import functools
import logging
import time
from datetime import datetime

import redis
from django.conf import settings

from . import ratelimit, recording

logger = logging.getLogger(__name__)

# KEYS: the stream, the recipient's counter for this minute. ARGV: the
# stream's limit, recipient, time, hit key, opens allowed per minute, then
# the signals the writer classifies (client address, user agent, prefetch,
# member cookie's organization: recording.stream_fields), deleted from
# Redis with the entry once drained.
_HIT = """
local n = redis.call('INCR', KEYS[2])
if n == 1 then redis.call('EXPIRE', KEYS[2], 120) end
if n > tonumber(ARGV[5]) then return 'limited' end
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return 'full' end
redis.call('XADD', KEYS[1], '*', 'recipient', ARGV[2], 'at', ARGV[3], 'key', ARGV[4],
    'ip', ARGV[6], 'ua', ARGV[7], 'pf', ARGV[8], 'm', ARGV[9])
return 'stream'
"""


@functools.cache
def _hit_script(url: str):
    return recording.redis_client(url).register_script(_HIT)


def count_and_record(
    *, recipient_id: int, opened_at: datetime, key: str, signals: recording.Signals | None = None
) -> str:
    """Record the hit unless the recipient is past the rate limit. Returns
    "limited", "stream", "direct", "spool" or "lost". Never raises."""
    url = settings.REDIS_URL
    if url and time.monotonic() >= recording.redis_paused_until(url):
        try:
            outcome = _hit_script(url)(
                keys=[settings.OPEN_STREAM, ratelimit.limit_key(recipient_id, opened_at.timestamp())],
                args=[
                    settings.OPEN_STREAM_LIMIT,
                    recipient_id,
                    opened_at.isoformat(),
                    key,
                    settings.OPENS_PER_RECIPIENT_PER_MINUTE,
                    *recording.stream_fields(signals),
                ],
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
            return recording.write_directly(
                recording.Open(recipient_id=recipient_id, opened_at=opened_at, key=key, signals=signals),
                warn_over_limit=True,
            )
    if not ratelimit.may_count_open(recipient_id=recipient_id, now=opened_at.timestamp()):
        return "limited"
    return recording.record_open(recipient_id=recipient_id, opened_at=opened_at, key=key, signals=signals)
