"""Reading the open stream into the database: the recorder, a long-running
consumer run as `manage.py record_opens` under a supervisor
(deploy/systemd/onepage-recorder.service), and `drain_opens`, beat's
fallback beside it. Both read through tracking.stream.Reader and record a
batch the same way: written through tracking.writer, acknowledged only
after the commit, so a batch that failed stays pending and is read again
(its keys keep it from counting twice). `drain_opens` does it in turn
(`record_batch`); the recorder pipelines it: a helper thread reads the next
batch and acknowledges the last while it writes (Recorder.step).

The recorder blocks on the group, takes over the entries of readers that
died (idle for OPEN_RECLAIM_IDLE_MS), and replays the local spool once the
database answers. It depends on neither beat nor a Celery worker, several
may run at once, and it rides out Redis or database outages on its own: one
warning when one starts, one line when it ends, a growing pause in between.
"""

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor

import redis
from django.conf import settings
from django.db import DatabaseError, connections

from onepage import redis_url

from . import spool, stream
from .hits import Open
from .writer import write_opens

logger = logging.getLogger(__name__)

BACKOFF_FIRST = 0.2
BACKOFF_MAX = 5.0
# How often the recorder looks for entries a dead reader left pending.
RECLAIM_EVERY = 1.0
# Each recorder joins the group under a name of its own; the names of those
# long gone, holding nothing, are removed so the group does not grow forever.
FORGET_CONSUMERS_IDLE_MS = 24 * 3600 * 1000


def write_batch(entries: list, opens: list[Open] | None = None) -> int:
    """Write a batch of entries in a transaction of its own; returns how
    many opens were newly recorded. `opens`: the entries' opens, when already
    read from them (the recorder's helper thread does). Acknowledging the
    entries, once this returned, is the caller's."""
    if opens is None:
        opens = stream.opens_from_entries(entries)
    return write_opens(opens=opens, durable=True)


def record_batch(reader: stream.Reader, entries: list) -> int:
    """Write a batch of entries, then acknowledge and delete them. Returns
    how many opens were newly recorded."""
    if not entries:
        return 0
    try:
        recorded = write_batch(entries)
        reader.acknowledge(entries)
    except BaseException:
        reader.failed()
        raise
    return recorded


def drain_opens(*, batch_size: int | None = None, max_batches: int = 20, reclaim_idle_ms: int | None = None) -> int:
    """Move opens from the stream into the database, batch by batch, until
    the stream is empty or `max_batches` were written. Returns how many
    opens were recorded. Entries a dead reader left are taken over once idle
    for `reclaim_idle_ms` (OPEN_RECLAIM_IDLE_MS). Call it outside any
    transaction: the task does."""
    if not settings.REDIS_URL:
        return 0
    client = stream.client(settings.REDIS_URL)
    stream.ensure_group(client)
    reader = stream.Reader(
        client,
        f"{socket.gethostname()}-{os.getpid()}",
        batch_size=batch_size or settings.OPEN_BATCH_SIZE,
        reclaim_idle_ms=reclaim_idle_ms,
    )
    recorded = 0
    for _ in range(max_batches):
        entries = reader.next_batch()
        if not entries:
            break
        recorded += record_batch(reader, entries)
    return recorded


class _Outage:
    """One warning when a store fails, one line when it answers again."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.backoff = BACKOFF_FIRST

    def failed(self, store: str, exc: BaseException) -> float:
        if self.since is None:
            self.since = time.monotonic()
            reason = " ".join(str(exc).split())[:200]
            logger.warning("Recorder: %s unavailable (%s: %s), retrying", store, type(exc).__name__, reason)
        pause, self.backoff = self.backoff, min(self.backoff * 2, BACKOFF_MAX)
        return pause

    def over(self) -> None:
        if self.since is not None:
            logger.warning("Recorder: recording again after %.1fs", time.monotonic() - self.since)
        self.since, self.backoff = None, BACKOFF_FIRST


class Recorder:
    def __init__(self, *, consumer: str | None = None, block_ms: int = 2000, batch_size: int | None = None) -> None:
        self.block_ms = block_ms
        # Its own client: a blocking read needs a longer timeout than the
        # pixel's half second (longer than the read, so a quiet stream is no
        # timeout).
        client = redis_url.client(
            settings.REDIS_URL,
            socket_connect_timeout=2,
            socket_timeout=block_ms / 1000 + 5,
            health_check_interval=30,
            decode_responses=True,
        )
        self.reader = stream.Reader(
            client,
            consumer or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}",
            batch_size=batch_size or settings.OPEN_RECORDER_BATCH_SIZE,
            reclaim_every=RECLAIM_EVERY,
        )
        self.recorded = 0
        # The helper thread (step): the next batch being read, the last
        # one being acknowledged.
        self._helper: ThreadPoolExecutor | None = None
        self._ahead: futures.Future | None = None
        self._behind: futures.Future | None = None

    @property
    def consumer(self) -> str:
        return self.reader.consumer

    @property
    def client(self) -> redis.Redis:
        return self.reader.client

    def check_durability(self) -> None:
        try:
            aof = stream.redis_aof(self.client)
        except redis.RedisError as exc:
            logger.warning("Recorder: cannot read Redis persistence yet (%s)", exc)
            return
        if not aof:
            logger.warning(
                "Redis does not persist the open stream (appendonly no): opens waiting in it are lost "
                "if Redis restarts. Set appendonly yes and appendfsync everysec (README: Running in production)."
            )

    def forget_dead_consumers(self) -> None:
        try:
            stream.ensure_group(self.client)
            for consumer in self.client.xinfo_consumers(settings.OPEN_STREAM, stream.GROUP):
                if consumer["pending"] == 0 and consumer["idle"] > FORGET_CONSUMERS_IDLE_MS:
                    self.client.xgroup_delconsumer(settings.OPEN_STREAM, stream.GROUP, consumer["name"])
        except redis.RedisError as exc:
            logger.warning("Recorder: could not tidy the consumer group (%s)", exc)

    def step(self) -> int:
        """Replay the spool if it holds anything, then record one batch from
        the stream (waiting up to block_ms for one). Raises on a store failure.

        Pipelined (issue 23): while this thread writes a batch, a helper
        thread reads the next one (and the opens its entries carry) and
        acknowledges the last, so their Redis round trips and parsing take
        place during the database's work. A batch is still acknowledged only
        after its commit, and a failure settles the helper first: what it
        read stays pending for this reader to read again, as after any
        failure."""
        recorded = spool.replay(batch_size=self.reader.batch_size) if spool.size() else 0
        entries, opens = self._next_batch()
        if entries:
            recorded += self._write(entries, opens)
        self.recorded += recorded
        return recorded

    def close(self) -> None:
        """Finish what the helper holds: the last batch's acknowledgement,
        and a batch it read ahead, recorded now (left pending, it would wait
        OPEN_RECLAIM_IDLE_MS for another reader). Raises on a store failure;
        what is unacknowledged then stays pending, read again later."""
        try:
            ahead, self._ahead = self._ahead, None
            entries, opens = ahead.result() if ahead is not None else ([], [])
            if entries:
                self.recorded += self._write(entries, opens)
            self._acknowledged()
        finally:
            self._settle()
            if self._helper is not None:
                self._helper.shutdown(wait=True)
                self._helper = None

    def _pool(self) -> ThreadPoolExecutor:
        if self._helper is None:
            self._helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recorder-helper")
        return self._helper

    def _read(self) -> tuple[list, list[Open]]:
        """The next entries, and the opens they carry."""
        entries = self.reader.next_batch(block_ms=self.block_ms)
        return entries, stream.opens_from_entries(entries)

    def _next_batch(self) -> tuple[list, list[Open]]:
        """The batch read ahead, or one read now; and the next one asked for.
        Not while the reader reads its own pending entries again (after a
        failure): until they are acknowledged, it would get the same ones."""
        ahead, self._ahead = self._ahead, None
        entries, opens = ahead.result() if ahead is not None else self._read()
        if entries and not self.reader.own_history:
            self._ahead = self._pool().submit(self._read)
        return entries, opens

    def _write(self, entries: list, opens: list[Open]) -> int:
        """Write a batch; once it committed, have it acknowledged (and
        deleted) by the helper, after the batch before it."""
        try:
            recorded = write_batch(entries, opens)
            self._acknowledged()
        except BaseException:
            self._settle()
            self.reader.failed()
            raise
        self._behind = self._pool().submit(self.reader.acknowledge, entries)
        return recorded

    def _acknowledged(self) -> None:
        """Wait for the last acknowledgement; raises if it failed."""
        behind, self._behind = self._behind, None
        if behind is not None:
            behind.result()

    def _settle(self) -> None:
        """Let the helper finish and forget what it did: entries it read
        stay pending, an acknowledgement it could not make too."""
        for future in (self._ahead, self._behind):
            if future is not None:
                futures.wait([future])
        self._ahead = self._behind = None

    def run(self, *, should_stop: Callable[[], bool], wait: Callable[[float], object]) -> int:
        """Record until should_stop(); `wait(seconds)` pauses after a failure
        (and returns early when asked to stop). Returns how many opens it
        recorded."""
        logger.info("Recorder %s draining %s", self.consumer, settings.OPEN_STREAM)
        self.check_durability()
        self.forget_dead_consumers()
        outage = _Outage()
        while not should_stop():
            try:
                self.step()
            except redis.RedisError as exc:
                wait(outage.failed("Redis", exc))
                continue
            except DatabaseError as exc:
                # The connection may be broken for good: the next try opens
                # a new one.
                connections.close_all()
                wait(outage.failed("the database", exc))
                continue
            outage.over()
        try:
            self.close()
        except (redis.RedisError, DatabaseError) as exc:
            logger.warning("Recorder: could not finish its last batch (%s); it stays pending", exc)
        logger.info("Recorder %s stopped: %d opens recorded", self.consumer, self.recorded)
        return self.recorded


def run_until_stopped(stop: threading.Event, **options) -> int:
    return Recorder(**options).run(should_stop=stop.is_set, wait=stop.wait)
