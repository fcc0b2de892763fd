"""Is the service healthy? The checks behind GET /healthz and Settings -> System.

The project's own dependencies (database, Redis, the Celery worker and beat)
are checked here; an app adds what only it knows (the open backlog, email
counts) with `register_check` or `register_panel` from its AppConfig.ready(),
so this module imports no app.

Each check answers a dict with "ok": True, False, or None when it does not
apply (no Redis in the embedded setup). Anyone sees `summary()` of the report;
the details are for admins and monitors with the token (onepage.views.healthz).
"""

import time
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from onepage import redis_url

# Beat sends the heartbeat task this often; a heartbeat older than
# HEARTBEAT_STALE means the process (or, for the worker, the queue) is stuck.
HEARTBEAT_INTERVAL = 30
HEARTBEAT_STALE = 3 * HEARTBEAT_INTERVAL
WORKER_KEY = "onepage:heartbeat:worker"
BEAT_KEY = "onepage:heartbeat:beat"

Check = Callable[[], dict[str, Any]]
Panel = Callable[[Any], list[tuple[str, Any]]]
_checks: dict[str, Check] = {}
_panels: dict[str, Panel] = {}


def register_check(name: str, check: Check) -> None:
    """A dependency to report on /healthz and the System page."""
    _checks[name] = check


def register_panel(name: str, panel: Panel) -> None:
    """Figures of one organization (label, value) for the System page only."""
    _panels[name] = panel


def database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return {"ok": False, "error": _short(exc)}
    return {"ok": True}


def redis_server() -> dict[str, Any]:
    if not settings.REDIS_URL:
        return {"ok": None, "detail": "not configured: tasks run in the web process"}
    try:
        client = redis_url.client(settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
        client.ping()
    except redis.RedisError as exc:
        return {"ok": False, "error": _short(exc)}
    return {"ok": True}


def heartbeats() -> dict[str, dict[str, Any]]:
    """When the worker last ran the heartbeat task, and when beat last sent it."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        embedded = {"ok": None, "detail": "not used: tasks run in the web process"}
        return {"worker": embedded, "beat": embedded}
    try:
        seen = cache.get_many([WORKER_KEY, BEAT_KEY])
    except Exception as exc:
        unknown = {"ok": False, "error": f"cannot read heartbeats: {_short(exc)}"}
        return {"worker": unknown, "beat": unknown}
    return {"worker": _age(seen.get(WORKER_KEY)), "beat": _age(seen.get(BEAT_KEY))}


def _age(at: float | None) -> dict[str, Any]:
    if at is None:
        return {"ok": False, "error": "never seen"}
    age = round(time.time() - at)
    return {"ok": age <= HEARTBEAT_STALE, "last_seen_seconds_ago": age}


def report() -> dict[str, Any]:
    """Every check, with its details: for admins (Settings -> System) and
    monitors that send HEALTHZ_TOKEN. The service is up while its database
    answers: without Redis or a worker it still serves pages and records opens
    directly, "degraded"."""
    checks = {"database": database(), "redis": redis_server(), **heartbeats()}
    for name, check in _checks.items():
        try:
            checks[name] = check()
        except Exception as exc:
            checks[name] = {"ok": False, "error": _short(exc)}
    failing = [name for name, check in checks.items() if check["ok"] is False]
    status = "unavailable" if "database" in failing else "degraded" if failing else "ok"
    return {"status": status, "failing": failing, "checks": checks}


def summary(full: dict[str, Any]) -> dict[str, Any]:
    """What anyone may see: the status and which parts are down. No ages,
    counts or messages (they name internal hosts and show the load)."""
    return {"status": full["status"], "failing": full["failing"]}


def panels(organization: Any) -> dict[str, list[tuple[str, Any]]]:
    return {name: panel(organization) for name, panel in _panels.items()}


def _short(exc: Exception) -> str:
    # "Kind: first line", no traceback.
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]
