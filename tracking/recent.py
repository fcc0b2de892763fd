"""The last counted open of each aggregate recipient, for the `repeat` rule
(tracking.classify), held outside the database for the repeat window only.

An identified recipient's last counted open is on its row (last_opened_at).
An aggregate recipient's opens are linked to no recipient, and its row keeps
no time, so that nothing stored says who opened: the writer remembers the
time here instead, for REPEAT_SECONDS, under a marker named by a keyed hash
of the recipient id (HMAC-SHA256 with SECRET_KEY: not reversible by trying
every id without the key), beside the open stream (one namespace per deployment).

- With REDIS_URL (and Redis answering): in Redis, with an expiry of
  REPEAT_SECONDS; every writer (the recorder, beat's drain, a direct write)
  reads the same markers. One MGET and one script call setting them per
  batch, and only for batches with aggregate opens.
- Without (the embedded default), or while Redis fails: in this process's
  memory, expired the same way. A deployment without Redis that serves the
  pixel from several processes sees a repeat landing in another process as
  an open: the database cannot hold who opened, so this is the price.

A marker holds the time and hit key of the last counted open, and the time
it replaced: a batch whose transaction failed after its marker was written
is read again with the same hits, and finding one of its own keys in the
marker it uses the time before it (it would otherwise take its own first
render for an earlier one).
"""

import functools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import redis
from django.conf import settings
from django.utils.crypto import salted_hmac

from . import stream
from .classify import REPEAT_SECONDS

logger = logging.getLogger(__name__)

_SALT = "tracking.recent"


@dataclass(frozen=True)
class Marker:
    opened_at: datetime
    key: str | None
    # The time this marker replaced: what held before the batch that wrote it.
    before: datetime | None = None

    def last_counted(self, batch_keys: set) -> datetime | None:
        """The last counted open before a batch holding `batch_keys`."""
        return self.before if self.key is not None and self.key in batch_keys else self.opened_at

    def dumps(self) -> str:
        before = self.before.isoformat() if self.before else ""
        return f"{self.opened_at.isoformat()} {self.key or ''} {before}"

    @classmethod
    def loads(cls, value: str | None) -> "Marker | None":
        try:
            at, key, before = value.split(" ")
            return cls(datetime.fromisoformat(at), key or None, datetime.fromisoformat(before) if before else None)
        except (AttributeError, ValueError):
            return None


@functools.lru_cache(maxsize=65536)
def marker_name(recipient_id: int) -> str:
    """The marker's name: a keyed hash, never the recipient's id or address."""
    return salted_hmac(_SALT, str(recipient_id), algorithm="sha256").hexdigest()[:32]


def _key(recipient_id: int) -> str:
    return f"{settings.OPEN_STREAM}:recent:{marker_name(recipient_id)}"


def markers(recipient_ids: Iterable[int]) -> dict[int, Marker]:
    """The live markers of these recipients."""
    ids = list(recipient_ids)
    if not ids:
        return {}
    keys = [_key(pk) for pk in ids]
    values = _redis(lambda client: client.mget(keys))
    if values is None:
        values = _memory.get_many(keys)
    found = {pk: Marker.loads(value) for pk, value in zip(ids, values, strict=True)}
    return {pk: marker for pk, marker in found.items() if marker is not None}


def remember(new: dict[int, Marker]) -> None:
    """Set these recipients' markers, each for the repeat window."""
    if not new:
        return
    values = {_key(pk): marker.dumps() for pk, marker in new.items()}

    def set_all(client: redis.Redis) -> bool:
        _set_script(client)(keys=list(values), args=[*values.values(), int(REPEAT_SECONDS * 1000)])
        return True

    if _redis(set_all) is None:
        _memory.set_many(values)


# KEYS: the markers; ARGV: their values, then the expiry in milliseconds.
# One call for a batch's markers (a pipeline costs the client per command).
_SET = """
local px = ARGV[#KEYS + 1]
for i, key in ipairs(KEYS) do redis.call('SET', key, ARGV[i], 'PX', px) end
"""


@functools.cache
def _set_script(client: redis.Redis):
    return client.register_script(_SET)


# After a failure Redis is left alone for stream.REDIS_RETRY_AFTER seconds
# (the pixel's guard, stream.pause, does the same for its own calls).
_down_until: dict[str, float] = {}


def _redis(call):
    """call(client) on the pixel's Redis client, or None without Redis (or
    when it fails: the memory of this process then stands in)."""
    url = settings.REDIS_URL
    if not stream.usable(url) or time.monotonic() < _down_until.get(url, 0):
        return None
    try:
        return call(stream.client(url))
    except redis.RedisError as exc:
        _down_until[url] = time.monotonic() + stream.REDIS_RETRY_AFTER
        logger.warning(
            "Repeat markers unavailable in Redis (%s): kept in this process for %gs",
            type(exc).__name__,
            stream.REDIS_RETRY_AFTER,
        )
        return None


def forget_outages() -> None:
    """Try Redis again at once (tracking.intake.forget_outages)."""
    _down_until.clear()


class _Memory:
    """Markers in this process, each dropped REPEAT_SECONDS after it was set."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        # key -> (value, expires at), in the order set: the oldest expire first.
        self.values: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def get_many(self, keys: list[str]) -> list[str | None]:
        now = time.monotonic()
        with self.lock:
            self._expire(now)
            return [self.values[key][0] if key in self.values else None for key in keys]

    def set_many(self, values: dict[str, str]) -> None:
        now = time.monotonic()
        with self.lock:
            self._expire(now)
            for key, value in values.items():
                self.values[key] = (value, now + REPEAT_SECONDS)
                self.values.move_to_end(key)

    def _expire(self, now: float) -> None:
        while self.values:
            key, (_, expires) = next(iter(self.values.items()))
            if expires > now:
                break
            del self.values[key]


_memory = _Memory()
