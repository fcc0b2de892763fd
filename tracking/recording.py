"""The open-recording pipeline: pixel view -> Redis stream -> batch insert.

The pixel view gives each hit an idempotency key (`new_hit_key`) and appends
it to a stream (one round trip, no database); the recorder
(tracking.recorder, `manage.py record_opens`) moves the stream into OpenEvent
in batches, and beat's `drain_opens` does the same as a fallback. When Redis
does not answer, or the stream's backlog is at its limit, the open is written
directly; when the database fails too, it goes to the local spool
(tracking.spool), which the recorder replays. Every path ends in one writer,
`write_opens`, which skips keys already written and adds what it inserted to
the counters in the same transaction, so a hit counts once and the counters
agree with the OpenEvent table (`manage.py recount_opens` repairs them from
the events if they ever do not).
"""

import contextlib
import functools
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import redis
from django.conf import settings
from django.db import transaction

from emails.models import EmailRecipient, TrackingMode

from . import classify, counters, spool
from .classify import Signals
from .policy import open_mode

logger = logging.getLogger(__name__)

# A dead or overloaded Redis must cost the pixel view little: fail fast, fall
# back to the database, and leave Redis alone for a few seconds so that during
# an outage each pixel does not wait for the timeout again.
REDIS_TIMEOUT = 0.5
REDIS_RETRY_AFTER = 5.0
_redis_down_until: dict[str, float] = {}
# A full stream means no recorder is draining it: say so once a minute per
# process, not once per open.
OVER_LIMIT_WARNING_EVERY = 60.0
_over_limit_warned_at: list[float] = []
# Set while opens go to the spool: one warning when it starts, one line when
# it ends, never a traceback per open.
_spooling: dict[str, int] = {}
_spooling_lock = threading.Lock()


def forget_redis_outages() -> None:
    """Try Redis again at the next open instead of waiting out the pause."""
    _redis_down_until.clear()
    _over_limit_warned_at.clear()
    _spooling.clear()


GROUP = "recorders"


@dataclass(frozen=True)
class Open:
    recipient_id: int
    opened_at: datetime
    # The hit's idempotency key; None only for opens written before keys.
    key: str | None = None
    # What the pixel saw of the client (tracking.classify), for the writer to
    # classify: never stored. None for an open that carries none (written
    # before verdicts, or by the demo): it counts as a person's open.
    signals: Signals | None = None
    # The signals' verdict when classified before (the spool keeps this, not
    # the signals); the member cookie's organization then rides in signals.
    pre_verdict: str | None = None


def stream_fields(signals: Signals | None) -> list:
    """The signals as the stream entry carries them (ip, ua, pf, m); pf is
    "1" or "0" with signals, "" without (verdicts off)."""
    if signals is None:
        return ["", "", "", ""]
    member = signals.member_organization
    return [signals.address, signals.user_agent, "1" if signals.prefetch else "0", "" if member is None else member]


def new_hit_key() -> str:
    """A UUIDv7 (RFC 9562): milliseconds since the epoch, then 74 random
    bits. Unique per hit, and ordered by time, which keeps the index happy."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return str(uuid.UUID(int=value))


@functools.cache
def redis_client(url: str) -> redis.Redis:
    """The client of the open stream's Redis: one (and so one connection
    pool) per process and URL."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=REDIS_TIMEOUT,
        socket_timeout=REDIS_TIMEOUT,
        decode_responses=True,
    )


# The one append to the open stream, in one round trip. KEYS: the stream,
# then (optional) the recipient's counter for this minute. ARGV: the
# stream's limit, recipient, time, hit key, the signals (stream_fields:
# ip, ua, pf, m), then the opens allowed per minute when KEYS[2] is given.
# Returns 'limited' (past the per-minute limit), 'full' (the backlog of
# undrained entries is at the limit) or 'stream'. The stream is never
# trimmed: trimming would drop opens nobody recorded.
_APPEND = """
if KEYS[2] then
  local n = redis.call('INCR', KEYS[2])
  if n == 1 then redis.call('EXPIRE', KEYS[2], 120) end
  if n > tonumber(ARGV[9]) then return 'limited' end
end
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return 'full' end
redis.call('XADD', KEYS[1], '*', 'recipient', ARGV[2], 'at', ARGV[3], 'key', ARGV[4],
    'ip', ARGV[5], 'ua', ARGV[6], 'pf', ARGV[7], 'm', ARGV[8])
return 'stream'
"""


@functools.cache
def _append_script(url: str):
    return redis_client(url).register_script(_APPEND)


def append_to_stream(url: str, hit: "Open", *, limit_key: str | None = None) -> str:
    """Run _APPEND for one hit ('limited', 'full' or 'stream'); with
    `limit_key`, the per-recipient limit is counted in the same round trip
    (tracking.hits). Raises redis.RedisError."""
    args = [settings.OPEN_STREAM_LIMIT, hit.recipient_id, hit.opened_at.isoformat(), hit.key]
    args += stream_fields(hit.signals)
    if limit_key is None:
        return _append_script(url)(keys=[settings.OPEN_STREAM], args=args)
    args.append(settings.OPENS_PER_RECIPIENT_PER_MINUTE)
    return _append_script(url)(keys=[settings.OPEN_STREAM, limit_key], args=args)


def redis_paused_until(url: str) -> float:
    """Until when (time.monotonic) Redis is left alone after it failed."""
    return _redis_down_until.get(url, 0)


def pause_redis(url: str, exc: Exception) -> None:
    _redis_down_until[url] = time.monotonic() + REDIS_RETRY_AFTER
    logger.warning("Open stream unavailable (%s): writing opens directly for %gs", exc, REDIS_RETRY_AFTER)


def record_open(
    *, recipient_id: int, opened_at: datetime, key: str | None = None, signals: Signals | None = None
) -> str:
    """Record that a recipient's pixel was fetched, under the hit's key.
    Returns where it went: "stream", "direct", "spool" or "lost". Never
    raises: the pixel must be served whatever happens here."""
    hit = Open(recipient_id=recipient_id, opened_at=opened_at, key=key or new_hit_key(), signals=signals)
    url = settings.REDIS_URL
    if url and time.monotonic() >= _redis_down_until.get(url, 0):
        try:
            if append_to_stream(url, hit) == "stream":
                recording_again()
                return "stream"
            _warn_over_limit()
        except redis.RedisError as exc:
            # A timeout may still be executed later by Redis: the key makes
            # that entry and this direct write one open.
            pause_redis(url, exc)
    return write_directly(hit)


def write_directly(hit: Open, *, warn_over_limit: bool = False) -> str:
    """Write one open to the database now ("direct"), or to the spool when
    the database fails too. Never raises."""
    if warn_over_limit:
        _warn_over_limit()
    try:
        write_opens(opens=[hit])
    except Exception as exc:
        return _spool(hit, exc)
    recording_again()
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
    if hit.signals is not None:
        # A file on local disk keeps the signals' verdict, never the signals.
        record["v"] = hit.pre_verdict or classify.signal_verdict(hit.signals)
        record["m"] = hit.signals.member_organization
    saved = spool.append(record=record)
    with _spooling_lock:
        # Threads of one process (runserver, granian's blocking threads) spool
        # at once when an outage starts: one warning, not one per thread.
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


def recording_again() -> None:
    if _spooling:
        logger.warning(
            "Recording opens again: %d opens spooled (replayed by the recorder), %d lost in the outage",
            _spooling["spooled"],
            _spooling["lost"],
        )
        _spooling.clear()


def write_opens(*, opens: Sequence[Open]) -> int:
    """Insert the opens the policy allows and add them to the counters of
    their recipients and emails, in one transaction: O(1) per open, whatever
    the history. Opens of unknown recipients, and keys already written (by
    any path, or twice in this batch), are skipped. Returns how many opens
    were newly recorded."""
    with transaction.atomic():
        recipients = _lock_recipients({o.recipient_id for o in opens})
        # Each recipient's mode now (the contact's choice as it stands):
        # identified, aggregate (the email's total only), or None: not recorded.
        modes = {pk: _mode(r) for pk, r in recipients.items()}
        allowed = {pk: r for pk, r in recipients.items() if modes[pk] is not None}
        inserted = counters.insert_events(_events(opens, allowed, modes))
        counters.add_to_counters(inserted)
    return len(inserted)


def _lock_recipients(recipient_ids: set[int]) -> dict[int, EmailRecipient]:
    """The recipients with their emails and organizations. Locking the emails,
    in id order, serializes writers of one email, so their counter updates
    and conflicting keys never wait on each other in a cycle."""
    return {
        r.pk: r
        for r in EmailRecipient.objects.select_related("email__organization__email_configuration", "contact")
        .select_for_update(of=("email",))
        .filter(pk__in=recipient_ids)
        .order_by("email_id", "pk")
    }


def _mode(recipient: EmailRecipient) -> str | None:
    email = recipient.email
    return open_mode(email=email, organization=email.organization, recipient=recipient)


def _events(opens: Sequence[Open], allowed: dict[int, EmailRecipient], modes: dict) -> list[counters.Event]:
    """The allowed opens as events with their verdicts, each key once (the
    insert skips keys already stored). An aggregate open is linked to no
    recipient: it counts in the email's total only."""
    events, keys = [], set()
    # Each recipient's last counted open: its counter, then this batch's.
    last_counted: dict[int, datetime | None] = {}
    for o in opens:
        if o.recipient_id not in allowed or (o.key is not None and o.key in keys):
            continue
        keys.add(o.key)
        recipient = allowed[o.recipient_id]
        verdict = _verdict(o, recipient, last_counted)
        recipient_id = o.recipient_id if modes[o.recipient_id] == TrackingMode.IDENTIFIED else None
        events.append(counters.Event(recipient_id, recipient.email_id, o.opened_at, o.key, verdict))
    return events


def _verdict(o: Open, recipient: EmailRecipient, last_counted: dict) -> str:
    """tracking.classify's verdict, from facts already loaded: O(1), no query."""
    if o.pre_verdict is None and o.signals is None:
        return classify.Verdict.HUMAN  # no signals: recorded as before verdicts
    pre = o.pre_verdict or classify.signal_verdict(o.signals)
    last = last_counted.get(recipient.pk, recipient.last_opened_at)
    verdict = classify.verdict(
        pre_verdict=pre,
        member_organization=o.signals.member_organization if o.signals else None,
        organization_id=recipient.email.organization_id,
        opened_at=o.opened_at,
        handed_at=recipient.attempted_at,
        delivered_at=recipient.delivered_at,
        last_counted_at=last,
    )
    if verdict in classify.COUNTED:
        last_counted[recipient.pk] = o.opened_at if last is None else max(last, o.opened_at)
    return verdict


def ensure_group(client: redis.Redis) -> None:
    """The recorders' consumer group, and the stream with it (a Redis that
    restarted without its data has neither)."""
    try:
        client.xgroup_create(settings.OPEN_STREAM, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def record_entries(client: redis.Redis, entries: list[tuple[str, dict[str, str] | None]]) -> int:
    """Write a batch of stream entries, then acknowledge and delete them:
    only after the commit, so a batch that failed stays pending and is read
    again; its keys keep it from counting twice."""
    if not entries:
        return 0
    with transaction.atomic(durable=True):
        recorded = write_opens(opens=opens_from_entries(entries))
    ids = [entry_id for entry_id, _ in entries]
    with client.pipeline(transaction=False) as pipe:
        pipe.xack(settings.OPEN_STREAM, GROUP, *ids)
        pipe.xdel(settings.OPEN_STREAM, *ids)
        pipe.execute()
    return recorded


def drain_opens(
    *,
    batch_size: int | None = None,
    max_batches: int = 20,
    reclaim_idle_ms: int | None = None,
) -> int:
    """Move opens from the Redis stream into the database, batch by batch,
    until the stream is empty or `max_batches` were written: beat's fallback
    beside the recorder. Returns how many opens were recorded.

    Entries of a batch that failed, or of a recorder that died, stay pending
    and are claimed again once idle for `reclaim_idle_ms`. Call it outside
    any transaction: the Celery task does."""
    if not settings.REDIS_URL:
        return 0
    client = redis_client(settings.REDIS_URL)
    stream = settings.OPEN_STREAM
    batch_size = batch_size or settings.OPEN_BATCH_SIZE
    reclaim_idle_ms = settings.OPEN_RECLAIM_IDLE_MS if reclaim_idle_ms is None else reclaim_idle_ms
    consumer = f"{socket.gethostname()}-{os.getpid()}"
    ensure_group(client)

    recorded = 0
    for _ in range(max_batches):
        _, entries, _ = client.xautoclaim(stream, GROUP, consumer, min_idle_time=reclaim_idle_ms, count=batch_size)
        if not entries:
            response = client.xreadgroup(GROUP, consumer, {stream: ">"}, count=batch_size)
            entries = response[0][1] if response else []
        if not entries:
            break
        recorded += record_entries(client, entries)
    return recorded


def opens_from_entries(entries: list[tuple[str, dict[str, str] | None]]) -> list[Open]:
    """The opens that stream entries carry; unreadable entries are logged and
    skipped. An entry from before hit keys is keyed by its stream id."""
    opens = []
    for entry_id, fields in entries:
        try:
            opens.append(
                Open(
                    recipient_id=int(fields["recipient"]),
                    opened_at=datetime.fromisoformat(fields["at"]),
                    key=fields.get("key") or entry_id,
                    signals=_signals_of(fields),
                )
            )
        except (TypeError, KeyError, ValueError, AttributeError):
            # Acknowledged with its batch: an entry we cannot read would
            # otherwise come back forever. Its field names only: the values
            # may hold a client's address or user agent, never logged.
            names = sorted(str(name)[:20] for name in fields) if isinstance(fields, dict) else type(fields).__name__
            logger.warning("Dropping unreadable open stream entry %s (fields: %s)", entry_id, names)
    return opens


def _signals_of(fields: dict) -> Signals | None:
    """The signals of a stream entry; None for an entry without (from before
    verdicts, or written with OPEN_VERDICTS off)."""
    if not fields.get("pf"):
        return None
    member = fields.get("m") or ""
    return Signals(
        address=fields.get("ip") or "",
        user_agent=fields.get("ua") or "",
        prefetch=fields.get("pf") == "1",
        member_organization=int(member) if member else None,
    )


def replay_spool(*, batch_size: int | None = None) -> int:
    """Write the opens spooled while both stores were down. Returns how many
    were newly recorded; raises (leaving the spool in place) when the
    database still fails."""
    batch_size = batch_size or settings.OPEN_BATCH_SIZE
    recorded = 0
    for records in spool.batches(batch_size=batch_size, on_unreadable=_log_unreadable_spool_line):
        opens = [
            Open(
                recipient_id=int(r["recipient"]),
                opened_at=datetime.fromisoformat(r["at"]),
                key=r["key"],
                pre_verdict=r.get("v") or None,
                signals=Signals(member_organization=r.get("m")) if r.get("v") else None,
            )
            for r in records
        ]
        with transaction.atomic(durable=True):
            recorded += write_opens(opens=opens)
    return recorded


def _log_unreadable_spool_line(line: str) -> None:
    logger.warning("Dropping unreadable open spool line: %r", line[:200])


def redis_aof(client: redis.Redis) -> bool:
    """Whether Redis logs every write to its append-only file, without which
    opens waiting in the stream are lost when it restarts."""
    return bool(client.info("persistence").get("aof_enabled"))


def stream_health() -> dict:
    """What the health page shows of the recording pipeline. Never raises:
    `error` says why Redis could not be read.

    length: opens in the stream not yet recorded; pending: of those, the ones
    a recorder holds; oldest_pending_age: seconds since the oldest of them was
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
    client = redis_client(settings.REDIS_URL)
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
        # No group yet: no recorder ever ran, nothing is pending.
        with contextlib.suppress(redis.ResponseError):
            health["pending"] = client.xpending(settings.OPEN_STREAM, GROUP)["pending"]
    except redis.RedisError as exc:
        health["error"] = f"Redis: {exc}"
    return health
