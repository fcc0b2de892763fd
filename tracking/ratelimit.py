"""How many opens of one recipient are counted: at most
OPENS_PER_RECIPIENT_PER_MINUTE in a minute. Anyone holding one pixel URL
could otherwise write open rows without end; past the limit the pixel is
still served, and the open is not recorded.

The check costs no database query: in stream mode it is counted by the
append's own script (tracking.stream, one round trip); otherwise here, on a
counter per recipient and minute in Redis (the stream's client and outage
guard), or, while Redis does not answer, in this process (each process then
allows the limit on its own: a looser cap, never a lost pixel)."""

import logging
import threading
import time

import redis
from django.conf import settings

from . import stream

logger = logging.getLogger(__name__)

_local_lock = threading.Lock()
_local_minute = -1
_local_counts: dict[str, int] = {}


def limit_key(recipient_id: int, now: float) -> str:
    """The recipient's counter for the minute of `now`: beside the stream the
    opens go to, one namespace per deployment."""
    return f"{settings.OPEN_STREAM}:limit:{recipient_id}:{int(now // 60)}"


def may_count_open(*, recipient_id: int, now: float | None = None) -> bool:
    """Whether this open of the recipient is within the limit (and counts it)."""
    limit = settings.OPENS_PER_RECIPIENT_PER_MINUTE
    now = time.time() if now is None else now
    key = limit_key(recipient_id, now)
    url = settings.REDIS_URL
    if stream.usable(url):
        try:
            pipe = stream.client(url).pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = pipe.execute()
            return count <= limit
        except redis.RedisError as exc:
            stream.pause(url, exc)
    return _count_locally(key, int(now // 60)) <= limit


def _count_locally(key: str, minute: int) -> int:
    global _local_minute
    with _local_lock:
        if minute != _local_minute:
            # A new minute: last minute's counters are of no more use.
            _local_counts.clear()
            _local_minute = minute
        _local_counts[key] = _local_counts.get(key, 0) + 1
        return _local_counts[key]
