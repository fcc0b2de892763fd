"""One idempotency key per pixel hit: whichever paths write a hit (stream,
direct write, spool), and however often, it counts once. And the stream's
backlog limit, which sends opens to the direct write instead of trimming."""

import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from emails.pixels import make_token
from emails.tests.factories import EmailRecipientFactory
from tracking import stream as open_stream
from tracking.backlog import stream_health
from tracking.hits import Open, new_hit_key
from tracking.intake import record_open
from tracking.models import OpenEvent
from tracking.recorder import drain_opens
from tracking.writer import write_opens

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_each_pixel_hit_gets_its_own_time_ordered_key(client, settings):
    settings.REDIS_URL = ""
    recipient = EmailRecipientFactory()

    for _ in range(3):
        client.get(reverse("tracking:pixel", args=[make_token(recipient.pk)]))

    keys = list(OpenEvent.objects.order_by("pk").values_list("hit_key", flat=True))
    assert len(set(keys)) == 3
    assert {uuid.UUID(k).version for k in keys} == {7}
    assert keys == sorted(keys)


def test_the_same_hit_written_twice_directly_counts_once():
    recipient = EmailRecipientFactory()
    hit = Open(recipient_id=recipient.pk, opened_at=T0, key=new_hit_key())

    assert write_opens(opens=[hit, hit]) == 1
    assert write_opens(opens=[hit]) == 0

    recipient.refresh_from_db()
    assert recipient.open_count == OpenEvent.objects.count() == 1


def test_a_hit_redis_took_after_timing_out_counts_once(redis_stream):
    # Redis froze: the XADD timed out on our side, the view wrote the open
    # directly, and Redis then executed the XADD it had buffered.
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()
    key = new_hit_key()
    write_opens(opens=[Open(recipient_id=recipient.pk, opened_at=T0, key=key)])
    redis.xadd(stream, {"recipient": recipient.pk, "at": T0.isoformat(), "key": key})

    assert drain_opens() == 0

    recipient.refresh_from_db()
    assert recipient.open_count == OpenEvent.objects.count() == 1
    assert redis.xlen(stream) == 0


def test_entries_from_before_hit_keys_are_keyed_by_their_stream_id(redis_stream):
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()
    entry_id = redis.xadd(stream, {"recipient": recipient.pk, "at": T0.isoformat()})

    assert drain_opens() == 1
    assert OpenEvent.objects.get().hit_key == entry_id


def test_past_the_backlog_limit_opens_are_written_directly_never_trimmed(redis_stream, settings, caplog):
    redis, stream = redis_stream
    settings.OPEN_STREAM_LIMIT = 2
    recipient = EmailRecipientFactory()

    with caplog.at_level(logging.WARNING, logger="tracking"):
        paths = [record_open(recipient_id=recipient.pk, opened_at=T0 + timedelta(seconds=s)) for s in range(5)]

    assert paths == ["stream", "stream", "direct", "direct", "direct"]
    assert redis.xlen(stream) == 2
    assert OpenEvent.objects.count() == 3
    # Said once, not once per open.
    assert sum("holds 2 undrained opens" in r.getMessage() for r in caplog.records) == 1
    assert stream_health()["over_limit"] is True

    assert drain_opens() == 2
    recipient.refresh_from_db()
    assert recipient.open_count == 5
    assert stream_health()["over_limit"] is False


def test_stream_health_reports_the_backlog_and_the_persistence(redis_stream):
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()
    for _ in range(3):
        record_open(recipient_id=recipient.pk, opened_at=T0)
    open_stream.ensure_group(redis)
    redis.xreadgroup(open_stream.GROUP, "a-recorder", {stream: ">"}, count=1)

    health = stream_health()

    assert (health["length"], health["pending"], health["over_limit"], health["error"]) == (3, 1, False, "")
    assert 0 <= health["oldest_pending_age"] < 60
    assert health["redis_aof"] == bool(redis.info("persistence")["aof_enabled"])
    assert health["spooled"] == 0


def test_stream_health_says_when_redis_cannot_be_read(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    health = stream_health()

    assert health["configured"] is True
    assert health["error"].startswith("Redis:")
    assert health["redis_aof"] is None


def test_stream_health_without_redis():
    assert stream_health()["configured"] in {True, False}
