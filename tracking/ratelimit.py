"""How many opens of one recipient are counted: at most
OPENS_PER_RECIPIENT_PER_MINUTE in a minute. Anyone holding one pixel URL
could otherwise write open rows without end; past the limit the pixel is
still served, and the open is not recorded.

The pixel view asks before recording, so the check must cost no database
query: with REDIS_URL it is one round trip (INCR and EXPIRE in a pipeline)
on a counter per recipient and minute; without Redis, or while Redis does
not answer, the counters are kept in this process (each process then
allows the limit on its own: a looser cap, never a lost pixel)."""

import functools
import logging
import threading
import time

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# Like the open stream: a dead Redis costs the pixel half a second once,
# then is left alone for a few seconds.
REDIS_TIMEOUT = 0.5
REDIS_RETRY_AFTER = 5.0
_redis_down_until: dict[str, float] = {}

_local_lock = threading.Lock()
_local_minute = -1
_local_counts: dict[str, int] = {}


def forget_redis_outages() -> None:
    _redis_down_until.clear()


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT)


def limit_key(recipient_id: int, now: float) -> str:
    """The recipient's counter for the minute of `now` (also counted by
    tracking.hits' script): beside the stream the opens go to, one namespace
    per deployment."""
    return f"{settings.OPEN_STREAM}:limit:{recipient_id}:{int(now // 60)}"


def pause_redis(url: str) -> None:
    _redis_down_until[url] = time.monotonic() + REDIS_RETRY_AFTER


def may_count_open(*, recipient_id: int, now: float | None = None) -> bool:
    """Whether this open of the recipient is within the limit (and counts it)."""
    limit = settings.OPENS_PER_RECIPIENT_PER_MINUTE
    now = time.time() if now is None else now
    minute = int(now // 60)
    key = limit_key(recipient_id, now)
    url = settings.REDIS_URL
    if url and time.monotonic() >= _redis_down_until.get(url, 0):
        try:
            pipe = _client(url).pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = pipe.execute()
            return count <= limit
        except redis.RedisError as exc:
            pause_redis(url)
            logger.warning("Open rate limit without Redis (%s): counting in this process", exc)
    return _count_locally(key, minute) <= limit


def _count_locally(key: str, minute: int) -> int:
    global _local_minute
    with _local_lock:
        if minute != _local_minute:
            # A new minute: last minute's counters are of no more use.
            _local_counts.clear()
            _local_minute = minute
        _local_counts[key] = _local_counts.get(key, 0) + 1
        return _local_counts[key]
