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
    url = settings.REDIS_URL
    if stream.usable(url):
        limit_key = ratelimit.limit_key(recipient_id, opened_at.timestamp()) if limited else None
        try:
            outcome = stream.append(url, hit, limit_key=limit_key)
        except redis.RedisError as exc:
            # A timeout may still be run by Redis later: the key makes that
            # entry and the direct write one open.
            stream.pause(url, exc)
        else:
            if outcome == "stream":
                _recording_again()
            if outcome != "full":
                return outcome
            # Within the limit (counted by the script); the stream is full.
            _warn_over_limit()
            return write_directly(hit)
    if limited and not ratelimit.may_count_open(recipient_id=recipient_id, now=opened_at.timestamp()):
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
