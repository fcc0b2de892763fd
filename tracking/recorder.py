"""The recorder: a long-running consumer of the open stream, run as
`manage.py record_opens` under a supervisor (deploy/systemd/onepage-recorder.service).

It blocks on XREADGROUP, writes each batch through `recording.write_opens`,
acknowledges it after the commit, takes over the entries of recorders that
died (idle for OPEN_RECLAIM_IDLE_MS), and replays the local spool once the
database answers. It does not depend on beat or on a Celery worker, several
may run at once (the consumer group shares the stream out, the hit keys
make any overlap harmless), and it rides out Redis or database outages on
its own: one warning when one starts, one line when it ends, a growing
pause in between.
"""

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import DatabaseError, connections

from . import recording

logger = logging.getLogger(__name__)

BACKOFF_FIRST = 0.2
BACKOFF_MAX = 5.0
# How often to look for entries a dead recorder left pending.
RECLAIM_EVERY = 1.0
# Each recorder joins the group under a name of its own; the names of those
# long gone, holding nothing, are removed so the group does not grow forever.
FORGET_CONSUMERS_IDLE_MS = 24 * 3600 * 1000


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


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
        self.consumer = consumer or consumer_name()
        self.block_ms = block_ms
        self.batch_size = batch_size or settings.OPEN_RECORDER_BATCH_SIZE
        self.reclaim_idle_ms = settings.OPEN_RECLAIM_IDLE_MS
        self.client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=2,
            # Longer than the blocking read, so a quiet stream is no timeout.
            socket_timeout=block_ms / 1000 + 5,
            health_check_interval=30,
            decode_responses=True,
        )
        # Our own pending entries first: those of a batch whose write failed.
        self.own_history = True
        self.reclaimed_at = 0.0
        self.recorded = 0

    def check_durability(self) -> None:
        try:
            aof = recording.redis_aof(self.client)
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
            recording.ensure_group(self.client)
            for consumer in self.client.xinfo_consumers(settings.OPEN_STREAM, recording.GROUP):
                if consumer["pending"] == 0 and consumer["idle"] > FORGET_CONSUMERS_IDLE_MS:
                    self.client.xgroup_delconsumer(settings.OPEN_STREAM, recording.GROUP, consumer["name"])
        except redis.RedisError as exc:
            logger.warning("Recorder: could not tidy the consumer group (%s)", exc)

    def step(self) -> int:
        """Replay the spool if it holds anything, then record one batch from
        the stream (waiting up to block_ms for one). Raises on a store failure."""
        recorded = recording.replay_spool(batch_size=self.batch_size) if recording.spool.size() else 0
        entries = self._next_entries()
        try:
            recorded += recording.record_entries(self.client, entries)
        except BaseException:
            self.own_history = True
            raise
        self.recorded += recorded
        return recorded

    def _next_entries(self) -> list:
        stream = settings.OPEN_STREAM
        try:
            if self.own_history:
                response = self.client.xreadgroup(recording.GROUP, self.consumer, {stream: "0"}, count=self.batch_size)
                entries = response[0][1] if response else []
                if entries:
                    return entries
                self.own_history = False
            if time.monotonic() - self.reclaimed_at >= RECLAIM_EVERY:
                self.reclaimed_at = time.monotonic()
                _, entries, _ = self.client.xautoclaim(
                    stream, recording.GROUP, self.consumer, min_idle_time=self.reclaim_idle_ms, count=self.batch_size
                )
                if entries:
                    return entries
            response = self.client.xreadgroup(
                recording.GROUP, self.consumer, {stream: ">"}, count=self.batch_size, block=self.block_ms
            )
            return response[0][1] if response else []
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            recording.ensure_group(self.client)
            return []
        except redis.RedisError:
            self.own_history = True
            raise

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
        logger.info("Recorder %s stopped: %d opens recorded", self.consumer, self.recorded)
        return self.recorded


def run_until_stopped(stop: threading.Event, **options) -> int:
    return Recorder(**options).run(should_stop=stop.is_set, wait=stop.wait)
