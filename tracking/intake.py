"""Taking in one hit: the one fallback chain that the pixel and every other
caller use. The stream first (with the per-recipient limit, one Redis round
trip); when Redis does not answer, or the stream's backlog is at its limit,
the open is written directly; when the database fails too, it goes to the
local spool, which the recorder replays. The hit's key makes any overlap
(an append that timed out but ran, then a direct write) one open."""

import logging
import threading
import time
from datetime import datetime

import redis
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings

from . import ratelimit, recent, spool, stream
from .classify import Signals
from .hits import Open, kept_signals, new_hit_key
from .writer import write_opens

logger = logging.getLogger(__name__)

# A full stream means no recorder is draining it: say so once a minute per
# process, not once per open.
OVER_LIMIT_WARNING_EVERY = 60.0
_over_limit_warned_at: list[float] = []
# Set while opens go to the spool: one warning when it starts, one line when
# it ends, never a traceback per open.
_spooling: dict[str, int] = {}
_spooling_lock = threading.Lock()


def forget_outages() -> None:
    """A clean slate: Redis tried again at once, no outage in progress."""
    stream.forget_outages()
    recent.forget_outages()
    _over_limit_warned_at.clear()
    _spooling.clear()


def record_open(
    *,
    recipient_id: int,
    opened_at: datetime,
    key: str | None = None,
    signals: Signals | None = None,
    limited: bool = False,
) -> str:
    """Record that a recipient's pixel was fetched, under the hit's key.
    With `limited` (the pixel), past OPENS_PER_RECIPIENT_PER_MINUTE nothing
    is recorded. Returns "limited", "stream", "direct", "spool" or "lost".
    Never raises: the pixel must be served whatever happens here."""
    hit = Open(recipient_id=recipient_id, opened_at=opened_at, key=key or new_hit_key(), signals=signals)
    return record_hit(hit, limited=limited)


def record_hit(hit: Open, *, limited: bool = False) -> str:
    """record_open's chain for a hit already made (the pixel's)."""
    url = settings.REDIS_URL
    appended: str | redis.RedisError | None = None
    if stream.usable(url):
        try:
            appended = stream.append(url, hit, limit_key=_limit_key(hit, limited))
        except redis.RedisError as exc:
            appended = exc
    return after_append(url, hit, appended, limited=limited)


async def record_hit_async(hit: Open, *, limited: bool = False, after_database=None) -> str:
    """record_hit in an event loop (the ASGI lane): the append awaited, sent
    with the loop's other appends of the moment (stream.append_async); when
    the open must go to the database (Redis failed or paused, the stream
    full), the rest of the chain runs in a thread of its own, then
    `after_database()` in that thread (the lane hands its connection back)."""
    url = settings.REDIS_URL
    appended: str | redis.RedisError | None = None
    if stream.usable(url):
        try:
            appended = await stream.append_async(url, hit, limit_key=_limit_key(hit, limited))
        except redis.RedisError as exc:
            appended = exc
    if appended in NO_DATABASE:
        return after_append(url, hit, appended, limited=limited)

    def in_a_thread() -> str:
        try:
            return after_append(url, hit, appended, limited=limited)
        finally:
            if after_database is not None:
                after_database()

    # A thread of this request's own, as Django's ASGI handler gives each
    # view: a Redis outage must not queue every pixel behind one database
    # thread. Entered here, not per request: a pixel the stream took pays
    # nothing for it (3-4 us). Under a caller's async_to_sync (the tests'),
    # the caller's thread, asgiref's rule.
    async with ThreadSensitiveContext():
        return await sync_to_async(in_a_thread)()


# The outcomes that leave nothing for the database to do (the stream's);
# every other ("direct", "spool", "lost") went to the database.
NO_DATABASE = frozenset({"stream", "limited"})


def _limit_key(hit: Open, limited: bool) -> str | None:
    return ratelimit.limit_key(hit.recipient_id, hit.opened_at.timestamp()) if limited else None


def after_append(url: str, hit: Open, appended: "str | redis.RedisError | None", *, limited: bool) -> str:
    """The rest of the chain, after the stream append's outcome (`appended`:
    its reply, the Redis error it raised, or None when Redis was not tried).
    Never raises."""
    if isinstance(appended, redis.RedisError):
        # A timeout may still be run by Redis later: the key makes that
        # entry and the direct write one open.
        stream.pause(url, appended)
    elif appended is not None:
        if appended == "stream":
            _recording_again()
        if appended != "full":
            return appended
        # Within the limit (counted by the script); the stream is full.
        _warn_over_limit()
        return write_directly(hit)
    if limited and not ratelimit.may_count_open(recipient_id=hit.recipient_id, now=hit.opened_at.timestamp()):
        return "limited"
    return write_directly(hit)


def write_directly(hit: Open) -> str:
    """Write one open to the database now ("direct"), or to the spool when
    the database fails too. Never raises."""
    try:
        write_opens(opens=[hit])
    except Exception as exc:
        return _spool(hit, exc)
    _recording_again()
    return "direct"


def _warn_over_limit() -> None:
    now = time.monotonic()
    if _over_limit_warned_at and now - _over_limit_warned_at[0] < OVER_LIMIT_WARNING_EVERY:
        return
    _over_limit_warned_at[:] = [now]
    logger.warning(
        "Open stream %s holds %d undrained opens (OPEN_STREAM_LIMIT): writing opens directly. "
        "Is the recorder (manage.py record_opens) running?",
        settings.OPEN_STREAM,
        settings.OPEN_STREAM_LIMIT,
    )


def _spool(hit: Open, exc: Exception) -> str:
    record = {"key": hit.key, "recipient": hit.recipient_id, "at": hit.opened_at.isoformat()}
    kept = kept_signals(hit)
    if kept is not None:
        # A file on local disk keeps the signals' verdict, never the signals.
        record["v"], record["m"] = kept
    saved = spool.append(record=record)
    with _spooling_lock:
        # Threads of one process (runserver, granian's blocking threads)
        # spool at once when an outage starts: one warning, not one each.
        starting = not _spooling
        if starting:
            _spooling.update(spooled=0, lost=0)
    if starting:
        reason = " ".join(str(exc).split())[:200]
        logger.warning(
            "Neither Redis nor the database can record opens (%s: %s): keeping them in the spool %s "
            "until the recorder can replay them",
            type(exc).__name__,
            reason,
            spool.spool_dir(),
        )
    if saved:
        _spooling["spooled"] += 1
        return "spool"
    if not _spooling["lost"]:
        logger.error("The open spool is full or unwritable: opens are lost from %s on", hit.opened_at.isoformat())
    _spooling["lost"] += 1
    return "lost"


def _recording_again() -> None:
    if _spooling:
        logger.warning(
            "Recording opens again: %d opens spooled (replayed by the recorder), %d lost in the outage",
            _spooling["spooled"],
            _spooling["lost"],
        )
        _spooling.clear()
