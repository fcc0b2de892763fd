"""The drain: Redis stream -> OpenEvents, in batches, acknowledged after
commit. All but the first test need Redis (the PostgreSQL + Redis run)."""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.urls import reverse

from conftest import read_in_mail_client
from emails.pixels import make_token
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from onepage.celery import app
from tracking import hits, tasks
from tracking import stream as open_stream
from tracking.intake import record_open
from tracking.models import OpenEvent
from tracking.recorder import drain_opens
from tracking.stream import GROUP
from tracking.writer import write_opens

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def pending(redis, stream: str) -> int:
    return redis.xpending(stream, GROUP)["pending"]


def take_as_a_worker_that_then_dies(redis, stream: str) -> list[hits.Open]:
    """Read the waiting entries as another consumer would, and never
    acknowledge them."""
    redis.xgroup_create(stream, GROUP, id="0")  # as the first drain would
    [(_, entries)] = redis.xreadgroup(GROUP, "worker-that-dies", {stream: ">"})
    return open_stream.opens_from_entries(entries)


def test_without_redis_there_is_nothing_to_drain(settings):
    settings.REDIS_URL = ""
    assert drain_opens() == 0


def test_opens_go_through_the_stream_and_the_drain(redis_stream):
    redis, stream = redis_stream
    email = EmailFactory()
    opener, other = EmailRecipientFactory.create_batch(2, email=email)

    for after in (timedelta(minutes=3), timedelta(hours=1), timedelta(hours=2)):
        read_in_mail_client(reverse("tracking:pixel", args=[make_token(opener.pk)]), after=after)
    assert redis.xlen(stream) == 3
    assert not OpenEvent.objects.exists()

    assert drain_opens() == 3

    opener.refresh_from_db()
    other.refresh_from_db()
    email.refresh_from_db()
    assert (opener.open_count, other.open_count, email.open_count) == (3, 0, 3)
    assert email.last_opened_at == opener.last_opened_at == OpenEvent.objects.latest("opened_at").opened_at
    assert OpenEvent.objects.filter(hit_key__isnull=True).count() == 0
    # Acknowledged and deleted: the stream does not grow with every open.
    assert (redis.xlen(stream), pending(redis, stream)) == (0, 0)
    assert drain_opens() == 0


def test_a_batch_written_but_never_acknowledged_counts_once(redis_stream):
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()
    for minute in range(3):
        record_open(recipient_id=recipient.pk, opened_at=T0 + timedelta(minutes=minute))
    # A worker writes the batch, commits, and dies before acknowledging it.
    assert write_opens(opens=take_as_a_worker_that_then_dies(redis, stream)) == 3

    assert drain_opens(reclaim_idle_ms=0) == 0

    recipient.refresh_from_db()
    assert recipient.open_count == OpenEvent.objects.count() == 3
    assert (redis.xlen(stream), pending(redis, stream)) == (0, 0)


def test_entries_of_a_worker_that_died_are_drained_once_they_are_idle(redis_stream):
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()
    for minute in range(3):
        record_open(recipient_id=recipient.pk, opened_at=T0 + timedelta(minutes=minute))
    take_as_a_worker_that_then_dies(redis, stream)

    # Held only for a moment: the other worker may still be busy with them.
    assert drain_opens() == 0
    assert pending(redis, stream) == 3

    assert drain_opens(reclaim_idle_ms=0) == 3
    recipient.refresh_from_db()
    assert (recipient.open_count, recipient.first_opened_at) == (3, T0)
    assert (redis.xlen(stream), pending(redis, stream)) == (0, 0)


def test_a_drain_is_bounded_and_the_next_one_continues(redis_stream):
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()
    for second in range(5):
        record_open(recipient_id=recipient.pk, opened_at=T0 + timedelta(seconds=second))

    assert drain_opens(batch_size=2, max_batches=2) == 4
    assert redis.xlen(stream) == 1

    assert drain_opens(batch_size=2, max_batches=2) == 1
    recipient.refresh_from_db()
    assert (recipient.open_count, recipient.last_opened_at) == (5, T0 + timedelta(seconds=4))


def test_entries_that_cannot_count_are_dropped_not_retried(redis_stream, caplog):
    redis, stream = redis_stream
    recorded = EmailRecipientFactory()
    untracked = EmailRecipientFactory(email=EmailFactory(track_opens=False))
    deleted = EmailRecipientFactory()
    redis.xadd(stream, {"recipient": "not-a-number", "at": T0.isoformat()})
    redis.xadd(stream, {"something": "else"})
    for recipient in (recorded, untracked, deleted):
        record_open(recipient_id=recipient.pk, opened_at=T0)
    deleted.delete()

    with caplog.at_level(logging.WARNING, logger="tracking"):
        assert drain_opens() == 1

    assert list(OpenEvent.objects.values_list("recipient", flat=True)) == [recorded.pk]
    assert len([r for r in caplog.records if "Dropping unreadable open stream entry" in r.getMessage()]) == 2
    assert (redis.xlen(stream), pending(redis, stream)) == (0, 0)


def test_entries_of_the_earlier_pixel_with_the_signals_themselves_are_classified(redis_stream, caplog):
    # Until 2026-12 the pixel appended the client's address and user agent
    # and the writer classified them; such entries still waiting in the
    # stream after an upgrade are read and classified as before.
    redis, stream = redis_stream
    apple, gmail, forged = EmailRecipientFactory.create_batch(3)
    redis.xadd(stream, {"recipient": apple.pk, "at": T0.isoformat(), "key": hits.new_hit_key(),
                        "ip": "17.0.0.7", "ua": "Mozilla/5.0", "pf": "0", "m": ""})  # fmt: skip
    redis.xadd(stream, {"recipient": gmail.pk, "at": T0.isoformat(), "key": hits.new_hit_key(),
                        "ip": "66.249.84.1", "ua": "Mozilla/5.0 (via ggpht.com GoogleImageProxy)", "pf": "0", "m": ""})  # fmt: skip
    # A verdict the signals cannot give (written by no pixel): dropped, said.
    redis.xadd(stream, {"recipient": forged.pk, "at": T0.isoformat(), "key": hits.new_hit_key(), "v": "bogus"})

    with caplog.at_level(logging.WARNING, logger="tracking"):
        assert drain_opens() == 2

    assert dict(OpenEvent.objects.values_list("recipient", "verdict")) == {
        apple.pk: "privacy_prefetch",
        gmail.pk: "proxy",
    }
    assert caplog.text.count("Dropping unreadable open stream entry") == 1
    assert (redis.xlen(stream), pending(redis, stream)) == (0, 0)


def test_a_drain_inside_a_transaction_is_refused_and_loses_nothing(redis_stream):
    # It acknowledges after its batch commits, which an enclosing
    # transaction would postpone: so it refuses to run in one.
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()
    record_open(recipient_id=recipient.pk, opened_at=T0)

    with pytest.raises(RuntimeError), transaction.atomic():
        drain_opens()

    assert pending(redis, stream) == 1
    assert drain_opens(reclaim_idle_ms=0) == 1


def test_the_celery_task_drains_the_stream(redis_stream):
    recipient = EmailRecipientFactory()
    record_open(recipient_id=recipient.pk, opened_at=T0)
    record_open(recipient_id=recipient.pk, opened_at=T0 + timedelta(minutes=1))

    result = tasks.drain_opens.apply()

    assert result.successful()
    assert result.result == 2
    recipient.refresh_from_db()
    assert recipient.open_count == 2


def test_beat_runs_the_drain_every_few_seconds():
    entry = django_settings.CELERY_BEAT_SCHEDULE["drain-opens"]
    assert entry["task"] == tasks.drain_opens.name
    assert entry["task"] in app.tasks
    assert 1 <= entry["schedule"] <= 60
