"""Taking in one hit: the one fallback chain that the pixel and every other
caller use. The stream first (with the per-recipient limit, one Redis round
trip); when Redis does not answer, or the stream's backlog is at its limit,
the open is written directly; when the database fails too, it goes to the
local spool, which the recorder replays. The hit's key makes any overlap
(an append that timed out but ran, then a direct write) one open."""

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
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
    full), the rest of the chain runs in a thread, with the loop's other
    opens of the moment that must go there too (_DirectWrites), then
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
    loop = asyncio.get_running_loop()
    writes = _direct_writes.get(loop)
    if writes is None:
        writes = _direct_writes[loop] = _DirectWrites()
    return await writes.add(_Pending(url, hit, appended, limited, after_database, loop.create_future()))


@dataclass
class _Pending:
    url: str
    hit: Open
    appended: "str | redis.RedisError | None"
    limited: bool
    after_database: Callable[[], object] | None
    future: asyncio.Future = field(repr=False)


class _DirectWrites:
    """The opens an event loop must write to the database (Redis failed or
    paused, the stream full), written together: the pixels of the moment in
    one transaction (write_directly_together), as the recorder writes a
    batch, instead of a transaction and a thread each, which queued on the
    email's lock one by one. One batch at a time per loop: while it is
    written, the next gathers (on one email, batches side by side only
    split the batch and wait on its lock: 1 at a time wrote 345-377 opens/s
    on 2 workers, 2 at a time 234-247, 4 at a time 136, one per pixel
    62-96; bench/README.md, "The ASGI lane, second pass"). The
    batch runs in a thread of its own, as Django's ASGI handler gives each
    view (under a caller's async_to_sync, the tests', the caller's thread,
    asgiref's rule)."""

    def __init__(self) -> None:
        self.pending: list[_Pending] = []
        self.writing: asyncio.Task | None = None

    def add(self, pending: _Pending) -> asyncio.Future:
        self.pending.append(pending)
        if self.writing is None:
            # Kept: the loop holds its tasks weakly.
            self.writing = asyncio.get_running_loop().create_task(self._write())
        return pending.future

    async def _write(self) -> None:
        try:
            while self.pending:
                # Taken when the task runs: the other opens of this turn too.
                batch, self.pending = self.pending, []
                try:
                    async with ThreadSensitiveContext():
                        outcomes = await sync_to_async(_after_appends)(batch)
                except BaseException as exc:
                    # Each request answers as it would have: logged, a 500.
                    for pending in batch:
                        if not pending.future.done():
                            pending.future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        # The task itself was cancelled (the loop ends):
                        # nothing waits forever.
                        for pending in self.pending:
                            pending.future.cancel()
                        raise
                    continue
                for pending, outcome in zip(batch, outcomes, strict=True):
                    if not pending.future.done():  # its request was cancelled
                        pending.future.set_result(outcome)
        finally:
            self.writing = None


# Each event loop's direct writes.
_direct_writes: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _DirectWrites]" = weakref.WeakKeyDictionary()


def _after_appends(batch: list[_Pending]) -> list[str]:
    """after_append for each of a batch, the opens to be written written
    together; then each distinct `after_database()`, once."""
    try:
        outcomes = [_without_writing(p.url, p.hit, p.appended, limited=p.limited) for p in batch]
        to_write = [p.hit for p, outcome in zip(batch, outcomes, strict=True) if outcome is None]
        written = iter(write_directly_together(to_write))
        return [next(written) if outcome is None else outcome for outcome in outcomes]
    finally:
        for after_database in {p.after_database for p in batch if p.after_database is not None}:
            after_database()


# The outcomes that leave nothing for the database to do (the stream's);
# every other ("direct", "spool", "lost") went to the database.
NO_DATABASE = frozenset({"stream", "limited"})


def _limit_key(hit: Open, limited: bool) -> str | None:
    return ratelimit.limit_key(hit.recipient_id, hit.opened_at.timestamp()) if limited else None


def after_append(url: str, hit: Open, appended: "str | redis.RedisError | None", *, limited: bool) -> str:
    """The rest of the chain, after the stream append's outcome (`appended`:
    its reply, the Redis error it raised, or None when Redis was not tried).
    Never raises."""
    outcome = _without_writing(url, hit, appended, limited=limited)
    return write_directly(hit) if outcome is None else outcome


def _without_writing(url: str, hit: Open, appended: "str | redis.RedisError | None", *, limited: bool) -> str | None:
    """after_append's outcome when the open needs no direct write, or None
    when it must be written directly."""
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
        return None
    if limited and not ratelimit.may_count_open(recipient_id=hit.recipient_id, now=hit.opened_at.timestamp()):
        return "limited"
    return None


def write_directly(hit: Open) -> str:
    """Write one open to the database now ("direct"), or to the spool when
    the database fails too. Never raises."""
    return write_directly_together([hit])[0]


def write_directly_together(hits: list[Open]) -> list[str]:
    """write_directly for several opens, in one transaction: each "direct",
    or, when the database fails, each spooled ("spool", or "lost" when the
    spool cannot take it). Never raises."""
    if not hits:
        return []
    try:
        write_opens(opens=hits)
    except Exception as exc:
        return [_spool(hit, exc) for hit in hits]
    _recording_again()
    return ["direct"] * len(hits)


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
