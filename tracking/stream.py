"""The Redis stream of opens: its client, the outage guard, the one append,
the layout of an entry (both ways) and the one batch reader.

The pixel appends each hit (and counts the per-recipient limit) in one round
trip; readers of the consumer group GROUP (the recorder, beat's drain) take
batches, and acknowledge and delete entries only after their batch
committed. The stream is never trimmed: trimming would drop opens nobody
recorded.
"""

import functools
import logging
import time
from datetime import datetime

import redis
from django.conf import settings

from onepage import redis_url

from . import kept, pipelined
from .classify import Signals
from .hits import Open, kept_signals, with_kept_signals

logger = logging.getLogger(__name__)

GROUP = "recorders"

# A dead or overloaded Redis must cost the pixel little: fail fast, fall back
# to the database, and leave Redis alone for a few seconds so that during an
# outage each pixel does not wait for the timeout again.
REDIS_TIMEOUT = 0.5
REDIS_RETRY_AFTER = 5.0
_down_until: dict[str, float] = {}


@functools.cache
def client(url: str) -> redis.Redis:
    """The pixel's Redis client (the stream and the rate limit): one, and so
    one connection pool, per process and URL; the master's under Sentinel."""
    return redis_url.client(
        url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT, decode_responses=True
    )


class NotReplicated(redis.RedisError):
    """No replica acknowledged an append in time: a failover could lose it."""


def usable(url: str) -> bool:
    """Whether to try Redis now: configured, and not paused after a failure."""
    return bool(url) and time.monotonic() >= _down_until.get(url, 0)


def pause(url: str, exc: Exception) -> None:
    """Leave Redis alone for REDIS_RETRY_AFTER seconds: one warning per pause
    (not one per hit of the pause: the appends of a batch the ASGI lane sent
    together fail together, and threads of one process at once)."""
    now = time.monotonic()
    if now < _down_until.get(url, 0):
        return
    _down_until[url] = now + REDIS_RETRY_AFTER
    logger.warning("Open stream unavailable (%s): writing opens directly for %gs", exc, REDIS_RETRY_AFTER)


def forget_outages() -> None:
    """Try Redis again at the next open instead of waiting out the pause."""
    _down_until.clear()


# KEYS: the stream, then (optional) the recipient's counter for this minute
# (tracking.ratelimit.limit_key). ARGV: the stream's limit, then the entry's
# fields (entry_fields), then the opens allowed per minute when KEYS[2] is
# given. Returns 'limited' (past the per-minute limit), 'full' (the backlog
# of undrained entries is at OPEN_STREAM_LIMIT) or 'stream'.
_APPEND = """
if KEYS[2] then
  local n = redis.call('INCR', KEYS[2])
  if n == 1 then redis.call('EXPIRE', KEYS[2], 120) end
  if n > tonumber(ARGV[7]) then return 'limited' end
end
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return 'full' end
redis.call('XADD', KEYS[1], '*', 'recipient', ARGV[2], 'at', ARGV[3], 'key', ARGV[4], 'v', ARGV[5], 'm', ARGV[6])
return 'stream'
"""


@functools.cache
def _append_script(url: str):
    return client(url).register_script(_APPEND)


# The names of an entry's fields, in _APPEND's order.
ENTRY_FIELDS = ("recipient", "at", "key", "v", "m")


def entry(hit: Open) -> dict:
    """The entry the pixel appends for `hit`, as a mapping (XADD's)."""
    return dict(zip(ENTRY_FIELDS, entry_fields(hit), strict=True))


def entry_fields(hit: Open) -> list:
    """What an entry carries, in _APPEND's order: recipient, time, key, then
    what the hit keeps of its signals (hits.kept_signals): v, their verdict,
    and m, the member cookie's organization; both "" without signals
    (verdicts off). Never the client's address or user agent: Redis writes
    its entries to disk (AOF)."""
    fields = [hit.recipient_id, hit.opened_at.isoformat(), hit.key]
    kept = kept_signals(hit)
    if kept is None:
        return [*fields, "", ""]
    verdict, member = kept
    return [*fields, verdict, "" if member is None else member]


def append(url: str, hit: Open, *, limit_key: str | None = None) -> str:
    """Append one hit in one round trip ('limited', 'full' or 'stream');
    with `limit_key`, the per-recipient limit is counted in the same script.
    With OPEN_REPLICA_WAIT_MS (under Sentinel), an appended hit is 'stream'
    once a replica has it too: a second round trip, WAIT. Raises
    redis.RedisError; NotReplicated when no replica acknowledged it in time
    (the entry stays: its key makes it and a direct write one open)."""
    keys, args = _append_call(hit, limit_key)
    # On this thread's kept connection, not through the client's pool. One
    # client for both calls: threads that start at once may each make one
    # before the cache keeps one, and WAIT must go to the script's connection.
    redis_client = client(url)
    outcome = kept.run_script(redis_client, _append_script(url), keys, args)
    wait_ms = settings.OPEN_REPLICA_WAIT_MS
    if outcome == "stream" and wait_ms:
        _replicated(kept.wait_for_replicas(redis_client, 1, wait_ms), wait_ms)
    return outcome


async def append_async(url: str, hit: Open, *, limit_key: str | None = None) -> str:
    """`append` in an event loop (the ASGI lane): the same script and the
    same outcomes, sent with the loop's other appends of the moment in one
    round trip (tracking.pipelined), WAIT included. Raises redis.RedisError."""
    keys, args = _append_call(hit, limit_key)
    wait_ms = settings.OPEN_REPLICA_WAIT_MS
    outcome, replicas = await pipelined.run_script(url, _APPEND, keys, args, timeout=REDIS_TIMEOUT, wait_ms=wait_ms)
    if outcome == "stream" and wait_ms:
        _replicated(replicas, wait_ms)
    return outcome


def _append_call(hit: Open, limit_key: str | None) -> tuple[list, list]:
    """_APPEND's keys and arguments for `hit`."""
    args = [settings.OPEN_STREAM_LIMIT, *entry_fields(hit)]
    keys = [settings.OPEN_STREAM]
    if limit_key is not None:
        keys.append(limit_key)
        args.append(settings.OPENS_PER_RECIPIENT_PER_MINUTE)
    return keys, args


def _replicated(replicas: int, wait_ms: int) -> None:
    if replicas < 1:
        raise NotReplicated(f"no replica acknowledged the open within {wait_ms} ms")


def opens_from_entries(entries: list[tuple[str, dict[str, str] | None]]) -> list[Open]:
    """The opens that entries carry; unreadable entries are logged and
    skipped (acknowledged with their batch, or they would come back forever).
    An entry from before hit keys is keyed by its stream id."""
    opens = []
    for entry_id, fields in entries:
        try:
            opens.append(_open_of(entry_id, fields))
        except (TypeError, KeyError, ValueError, AttributeError):
            # Its field names only: the values may hold a client's address
            # or user agent (an entry of an earlier version), never logged.
            names = sorted(str(name)[:20] for name in fields) if isinstance(fields, dict) else type(fields).__name__
            logger.warning("Dropping unreadable open stream entry %s (fields: %s)", entry_id, names)
    return opens


def _open_of(entry_id: str, fields: dict[str, str]) -> Open:
    recipient_id, opened_at = int(fields["recipient"]), datetime.fromisoformat(fields["at"])
    key = fields.get("key") or entry_id
    member = fields.get("m") or ""
    member = int(member) if member else None
    if fields.get("pf"):
        # Appended by a pixel of an earlier version, which carried the
        # signals themselves: classified here, by the writer.
        signals = Signals(
            address=fields.get("ip") or "",
            user_agent=fields.get("ua") or "",
            prefetch=fields["pf"] == "1",
            member_organization=member,
        )
        return Open(recipient_id=recipient_id, opened_at=opened_at, key=key, signals=signals)
    return with_kept_signals(
        recipient_id=recipient_id, opened_at=opened_at, key=key, verdict=fields.get("v"), member=member
    )


def ensure_group(redis_client: redis.Redis) -> None:
    """The consumer group, and the stream with it (a Redis that restarted
    without its data has neither)."""
    try:
        redis_client.xgroup_create(settings.OPEN_STREAM, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


class Reader:
    """One consumer of the group: its own pending entries first (those of a
    batch whose write failed), then entries a dead reader left pending for
    OPEN_RECLAIM_IDLE_MS (looked for every `reclaim_every` seconds), then
    new ones."""

    def __init__(
        self,
        redis_client: redis.Redis,
        consumer: str,
        *,
        batch_size: int,
        reclaim_every: float = 0.0,
        reclaim_idle_ms: int | None = None,
    ) -> None:
        self.client = redis_client
        self.consumer = consumer
        self.batch_size = batch_size
        self.reclaim_every = reclaim_every
        self.reclaim_idle_ms = settings.OPEN_RECLAIM_IDLE_MS if reclaim_idle_ms is None else reclaim_idle_ms
        self.own_history = True
        self.reclaimed_at = float("-inf")

    def next_batch(self, *, block_ms: int | None = None) -> list:
        """The next entries to record ([] when none came within block_ms)."""
        stream = settings.OPEN_STREAM
        try:
            if self.own_history:
                entries = self._read("0")
                if entries:
                    return entries
                self.own_history = False
            if time.monotonic() - self.reclaimed_at >= self.reclaim_every:
                self.reclaimed_at = time.monotonic()
                _, entries, _ = self.client.xautoclaim(
                    stream, GROUP, self.consumer, min_idle_time=self.reclaim_idle_ms, count=self.batch_size
                )
                if entries:
                    return entries
            return self._read(">", block_ms)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            ensure_group(self.client)
            return []
        except redis.RedisError:
            self.own_history = True
            raise

    def _read(self, start: str, block_ms: int | None = None) -> list:
        response = self.client.xreadgroup(
            GROUP, self.consumer, {settings.OPEN_STREAM: start}, count=self.batch_size, block=block_ms
        )
        return response[0][1] if response else []

    def failed(self) -> None:
        """A batch was not written: read our pending entries again first."""
        self.own_history = True

    def acknowledge(self, entries: list) -> None:
        """Acknowledge and delete entries whose batch committed."""
        ids = [entry_id for entry_id, _ in entries]
        with self.client.pipeline(transaction=False) as pipe:
            pipe.xack(settings.OPEN_STREAM, GROUP, *ids)
            pipe.xdel(settings.OPEN_STREAM, *ids)
            pipe.execute()


def redis_aof(redis_client: redis.Redis) -> bool:
    """Whether Redis logs every write to its append-only file, without which
    opens waiting in the stream are lost when it restarts."""
    return bool(redis_client.info("persistence").get("aof_enabled"))
