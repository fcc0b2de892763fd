"""The counters are added to, never recomputed (tracking.counters): after
every write path, and any mix of them with duplicates, they equal what a
recount from the events (manage.py recount_opens) gives."""

import random
import threading
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from emails.models import Email
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from tracking import counters, spool
from tracking.hits import Open, new_hit_key
from tracking.intake import record_open
from tracking.models import OpenEvent
from tracking.recorder import Recorder, drain_opens
from tracking.spool import replay as replay_spool
from tracking.writer import write_opens

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def recount_finds_nothing() -> bool:
    out = StringIO()
    call_command("recount_opens", "--check", stdout=out)
    return counters.disagreeing() == [] and out.getvalue().startswith("0 counters differ")


def shuffled_opens(recipients, n: int, seed: int = 7) -> list[Open]:
    rng = random.Random(seed)
    return [
        Open(recipient_id=rng.choice(recipients).pk, opened_at=T0 + timedelta(minutes=rng.randint(-600, 600)),
             key=new_hit_key())
        for _ in range(n)
    ]  # fmt: skip


def two_emails():
    return [EmailRecipientFactory(email=email) for email in EmailFactory.create_batch(2) for _ in range(3)]


def test_batches_in_any_order_with_duplicates_leave_counters_equal_to_the_events():
    opens = shuffled_opens(two_emails(), 120)

    assert write_opens(opens=opens[:50]) == 50
    assert write_opens(opens=opens[30:] + opens[:10]) == 70  # overlaps count once

    assert OpenEvent.objects.count() == 120
    assert recount_finds_nothing()


def test_the_direct_write_and_the_spool_replay_keep_counters_equal_to_the_events(settings):
    settings.REDIS_URL = ""
    recipients = two_emails()
    opens = shuffled_opens(recipients, 30)
    for o in opens[:20]:
        assert record_open(recipient_id=o.recipient_id, opened_at=o.opened_at, key=o.key) == "direct"
    for o in opens[10:]:  # ten already written: the replay skips them
        spool.append(record={"key": o.key, "recipient": o.recipient_id, "at": o.opened_at.isoformat()})

    assert replay_spool(batch_size=7) == 10

    assert OpenEvent.objects.count() == 30
    assert recount_finds_nothing()


def test_the_recorder_and_the_drain_keep_counters_equal_to_the_events(redis_stream):
    recipients = two_emails()
    opens = shuffled_opens(recipients, 40)
    for o in opens:
        record_open(recipient_id=o.recipient_id, opened_at=o.opened_at, key=o.key)
    write_opens(opens=opens[:5])  # also written directly (Redis timed out after taking them)
    drain_opens(batch_size=9, max_batches=2)
    stop = threading.Event()
    recorder = Recorder(block_ms=50, batch_size=6)

    def stop_when_drained() -> bool:
        if OpenEvent.objects.count() == 40:
            stop.set()
        return stop.is_set()

    recorder.run(should_stop=stop_when_drained, wait=stop.wait)

    assert OpenEvent.objects.count() == 40
    assert recount_finds_nothing()


def test_recount_opens_repairs_counters_changed_by_hand():
    recipients = two_emails()
    write_opens(opens=shuffled_opens(recipients, 20))
    Email.objects.filter(pk=recipients[0].email_id).update(open_count=999, last_opened_at=T0)

    out = StringIO()
    call_command("recount_opens", stdout=out)

    assert out.getvalue().startswith("1 counters were repaired")
    assert recount_finds_nothing()
