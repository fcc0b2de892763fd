"""The recorder (manage.py record_opens): drains the stream and the spool
without beat or a Celery worker, and rides out store failures."""

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
import redis as redis_lib
from django.core.management import CommandError, call_command

from emails.tests.factories import EmailRecipientFactory
from tracking import spool, writer
from tracking import stream as open_stream
from tracking.hits import new_hit_key
from tracking.intake import record_open
from tracking.models import OpenEvent
from tracking.recorder import Recorder
from tracking.stream import GROUP

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_the_command_needs_redis(settings):
    settings.REDIS_URL = ""
    with pytest.raises(CommandError, match="REDIS_URL"):
        call_command("record_opens")


def test_the_recorder_records_the_stream_and_the_spool_until_stopped(redis_stream):
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()
    for second in range(7):
        record_open(recipient_id=recipient.pk, opened_at=T0 + timedelta(seconds=second))
    spool.append(record={"key": new_hit_key(), "recipient": recipient.pk, "at": T0.isoformat()})
    stop = threading.Event()
    recorder = Recorder(block_ms=50, batch_size=3)

    def stop_when_recorded() -> bool:
        if recorder.recorded >= 8:
            stop.set()
        return stop.is_set()

    assert recorder.run(should_stop=stop_when_recorded, wait=stop.wait) == 8

    recipient.refresh_from_db()
    assert recipient.open_count == OpenEvent.objects.count() == 8
    assert (redis.xlen(stream), spool.count()) == (0, 0)


def test_a_batch_whose_write_failed_is_read_again_by_the_same_recorder(redis_stream, monkeypatch):
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()
    record_open(recipient_id=recipient.pk, opened_at=T0)
    open_stream.ensure_group(redis)
    recorder = Recorder(block_ms=50)
    real_write = writer.write_opens

    def database_gone(**kwargs):
        from django.db import OperationalError

        raise OperationalError("the database went away")

    monkeypatch.setattr("tracking.recorder.write_opens", database_gone)
    with pytest.raises(Exception, match="went away"):
        recorder.step()
    assert redis.xpending(stream, GROUP)["pending"] == 1

    monkeypatch.setattr("tracking.recorder.write_opens", real_write)
    assert recorder.step() == 1
    recorder.close()  # the helper thread acknowledges after the commit
    assert redis.xpending(stream, GROUP)["pending"] == 0
    assert OpenEvent.objects.count() == 1


def opens_on_the_stream(redis, n: int):
    """`n` opens of one recipient on the stream, a second apart, and a
    recorder reading them two at a time."""
    recipient = EmailRecipientFactory()
    for second in range(n):
        record_open(recipient_id=recipient.pk, opened_at=T0 + timedelta(seconds=second))
    open_stream.ensure_group(redis)
    return recipient, Recorder(block_ms=50, batch_size=2)


def test_a_recorder_that_stops_records_the_batch_it_read_ahead(redis_stream):
    # While it writes a batch, the recorder reads the next one: when it
    # stops, that one is recorded too, not left pending for a minute
    # (OPEN_RECLAIM_IDLE_MS) until another reader takes it over.
    redis, stream = redis_stream
    _, recorder = opens_on_the_stream(redis, 5)

    assert recorder.step() == 2
    recorder.close()

    assert (recorder.recorded, OpenEvent.objects.count()) == (4, 4)
    # Both batches acknowledged and deleted; the fifth open never read.
    assert (redis.xpending(stream, GROUP)["pending"], redis.xlen(stream)) == (0, 1)


def test_an_acknowledgement_that_failed_has_its_batch_read_again_and_counted_once(redis_stream, monkeypatch):
    redis, stream = redis_stream
    recipient, recorder = opens_on_the_stream(redis, 6)
    real_acknowledge = recorder.reader.acknowledge
    calls = []

    def acknowledge_once_refused(entries):
        calls.append(len(entries))
        if len(calls) == 1:
            raise redis_lib.ConnectionError("Redis went away")
        real_acknowledge(entries)

    monkeypatch.setattr(recorder.reader, "acknowledge", acknowledge_once_refused)
    assert recorder.step() == 2  # written; its acknowledgement fails in the helper
    with pytest.raises(redis_lib.ConnectionError, match="went away"):
        recorder.step()  # the second batch is written, then the failure is told
    # Everything read is pending again, for this reader to read first.
    assert redis.xpending(stream, GROUP)["pending"] == 6

    for _ in range(8):  # the pending batches (counted already: 0), then the rest
        recorder.step()
    recorder.close()

    recipient.refresh_from_db()
    assert recipient.open_count == OpenEvent.objects.count() == 6
    assert (redis.xpending(stream, GROUP)["pending"], redis.xlen(stream)) == (0, 0)


def test_the_recorder_recreates_a_group_redis_lost(redis_stream):
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()
    recorder = Recorder(block_ms=50)
    open_stream.ensure_group(redis)
    redis.delete(stream)  # a Redis restarted without its data

    assert recorder.step() == 0
    record_open(recipient_id=recipient.pk, opened_at=T0)
    assert recorder.step() == 1


def test_the_recorder_warns_when_redis_does_not_persist_the_stream(redis_stream, caplog):
    redis, _ = redis_stream
    with caplog.at_level(logging.WARNING, logger="tracking.recorder"):
        Recorder().check_durability()
    warned = "does not persist the open stream" in caplog.text
    assert warned == (not redis.info("persistence")["aof_enabled"])


def test_recorders_long_gone_and_holding_nothing_leave_the_group(redis_stream, monkeypatch):
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()
    record_open(recipient_id=recipient.pk, opened_at=T0)
    open_stream.ensure_group(redis)
    redis.xreadgroup(GROUP, "holds-an-open", {stream: ">"}, count=1)
    redis.xgroup_createconsumer(stream, GROUP, "gone")
    monkeypatch.setattr("tracking.recorder.FORGET_CONSUMERS_IDLE_MS", -1)

    Recorder().forget_dead_consumers()

    assert [c["name"] for c in redis.xinfo_consumers(stream, GROUP)] == ["holds-an-open"]
