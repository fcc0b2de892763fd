"""The open pipeline as /healthz and Settings -> System show it: how many
opens wait in Redis and for how long, whether the pixel had to bypass the
stream, whether Redis persists it, and what waits in this machine's spool.
Opens waiting long mean no recorder is keeping up."""

from typing import Any

from .recording import stream_health

# Past this age the oldest waiting open means no recorder is keeping up.
STALE_AFTER_SECONDS = 120


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
