"""The open pipeline as /healthz and Settings -> System show it: how many
opens wait in Redis and for how long, whether the pixel had to bypass the
stream, whether Redis persists it, and what waits in this machine's spool.
Opens waiting long mean no recorder is keeping up."""

import contextlib
import time
from typing import Any

import redis
from django.conf import settings

from . import spool, stream

# Past this age the oldest waiting open means no recorder is keeping up.
STALE_AFTER_SECONDS = 120


def stream_health() -> dict:
    """What the health page shows of the stream. Never raises: `error` says
    why Redis could not be read.

    length: opens in the stream not yet recorded; pending: of those, the ones
    a reader holds; oldest_pending_age: seconds since the oldest of them was
    appended; over_limit: the pixel writes directly (OPEN_STREAM_LIMIT);
    redis_aof: Redis persists the stream; spooled: opens waiting in this
    machine's spool for the database."""
    health = {
        "configured": bool(settings.REDIS_URL),
        "length": 0,
        "pending": 0,
        "oldest_pending_age": None,
        "limit": settings.OPEN_STREAM_LIMIT,
        "over_limit": False,
        "redis_aof": None,
        "spooled": spool.count(),
        "error": "",
    }
    if not settings.REDIS_URL:
        return health
    client = stream.client(settings.REDIS_URL)
    try:
        with client.pipeline(transaction=False) as pipe:
            pipe.xlen(settings.OPEN_STREAM)
            pipe.xrange(settings.OPEN_STREAM, count=1)
            pipe.info("persistence")
            length, oldest, persistence = pipe.execute()
        health.update(length=length, over_limit=length >= settings.OPEN_STREAM_LIMIT)
        health["redis_aof"] = bool(persistence.get("aof_enabled"))
        if oldest:
            appended_ms = int(oldest[0][0].split("-")[0])
            health["oldest_pending_age"] = max(0.0, round(time.time() - appended_ms / 1000, 1))
        # No group yet: no reader ever ran, nothing is pending.
        with contextlib.suppress(redis.ResponseError):
            health["pending"] = client.xpending(settings.OPEN_STREAM, stream.GROUP)["pending"]
    except redis.RedisError as exc:
        health["error"] = f"Redis: {exc}"
    return health


def open_backlog() -> dict[str, Any]:
    health = stream_health()
    configured = health.pop("configured")
    error = health.pop("error")
    if error:
        return {"ok": False, "error": error, "spooled": health["spooled"]}
    if not configured:
        return {"ok": None, "detail": "no stream: opens are written directly", "spooled": health["spooled"]}
    age = health["oldest_pending_age"]
    stuck = age is not None and age > STALE_AFTER_SECONDS
    report = {"ok": not (stuck or health["over_limit"] or health["spooled"]), **health}
    if health["redis_aof"] is False:
        report["warning"] = "Redis keeps no append-only file: opens in the stream would be lost if it restarted"
    return report
