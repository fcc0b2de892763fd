"""The open stream's backlog, for /healthz and Settings -> System: how many
opens wait in Redis, how many a recorder holds unacknowledged, and how old
the oldest one is. Opens waiting long mean nothing is draining the stream."""

import time
from typing import Any

import redis
from django.conf import settings

from .recording import GROUP, redis_client

# Past this age the oldest waiting open means no drain is keeping up.
STALE_AFTER_SECONDS = 120


def stream_health() -> dict[str, Any]:
    if not settings.REDIS_URL:
        return {"ok": None, "detail": "no stream: opens are written directly"}
    client = redis_client(settings.REDIS_URL)
    stream = settings.OPEN_STREAM
    try:
        with client.pipeline(transaction=False) as pipe:
            pipe.xlen(stream)
            pipe.xrange(stream, count=1)
            pipe.exists(stream)
            length, first, exists = pipe.execute()
        pending = client.xpending(stream, GROUP)["pending"] if exists and _has_group(client, stream) else 0
    except redis.RedisError as exc:
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    oldest = _age_seconds(first[0][0]) if first else None
    return {
        "ok": oldest is None or oldest <= STALE_AFTER_SECONDS,
        "length": length,
        "pending": pending,
        "oldest_age_seconds": oldest,
        "cap": settings.OPEN_STREAM_MAXLEN,
    }


def _has_group(client: redis.Redis, stream: str) -> bool:
    return any(group["name"] == GROUP for group in client.xinfo_groups(stream))


def _age_seconds(entry_id: str) -> int:
    # A stream entry id starts with the Redis server's time in milliseconds.
    milliseconds = int(entry_id.split("-")[0])
    return max(0, round(time.time() - milliseconds / 1000))
