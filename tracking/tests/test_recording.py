"""Recording opens: record_open (tracking.intake: stream or direct) and the
writer (tracking.writer) that turns opens into OpenEvents and counters."""

import threading
import time
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, Max, Min

from contacts.tests.factories import ContactFactory
from emails.models import Email, EmailRecipient
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory
from tracking import counters
from tracking.hits import Open
from tracking.intake import record_open
from tracking.models import OpenEvent
from tracking.tests.factories import OpenEventFactory
from tracking.writer import write_opens

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def assert_counters_agree_with_open_events(email: Email) -> None:
    """Every counter of the email and its recipients is what its OpenEvents say."""
    rows = [(email, OpenEvent.objects.filter(email=email))]
    rows += [(r, OpenEvent.objects.filter(recipient=r)) for r in EmailRecipient.objects.filter(email=email)]
    for row, events in rows:
        row.refresh_from_db()
        expected = events.order_by().aggregate(n=Count("pk"), first=Min("opened_at"), last=Max("opened_at"))
        assert (row.open_count, row.first_opened_at, row.last_opened_at) == (
            expected["n"],
            expected["first"],
            expected["last"],
        ), row


def test_three_opens_of_one_recipient_count_for_that_recipient_only(settle_opens):
    email = EmailFactory()
    opener, other = EmailRecipientFactory.create_batch(2, email=email)

    for minutes in (5, 0, 60):  # a slow proxy may deliver an earlier open last
        record_open(recipient_id=opener.pk, opened_at=T0 + timedelta(minutes=minutes))
    settle_opens()

    opener.refresh_from_db()
    other.refresh_from_db()
    email.refresh_from_db()
    assert (opener.open_count, opener.first_opened_at, opener.last_opened_at) == (3, T0, T0 + timedelta(minutes=60))
    assert (other.open_count, other.first_opened_at, other.last_opened_at) == (0, None, None)
    assert (email.open_count, email.first_opened_at, email.last_opened_at) == (3, T0, T0 + timedelta(minutes=60))
    assert_counters_agree_with_open_events(email)


def test_opens_of_two_recipients_add_up_on_the_email(settle_opens):
    email = EmailFactory()
    first, second = EmailRecipientFactory.create_batch(2, email=email)

    record_open(recipient_id=second.pk, opened_at=T0)
    record_open(recipient_id=first.pk, opened_at=T0 + timedelta(hours=2))
    settle_opens()

    email.refresh_from_db()
    assert (email.open_count, email.first_opened_at, email.last_opened_at) == (2, T0, T0 + timedelta(hours=2))
    assert_counters_agree_with_open_events(email)


def test_with_redis_unreachable_the_open_is_written_directly(settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    recipient = EmailRecipientFactory()

    record_open(recipient_id=recipient.pk, opened_at=T0)

    recipient.refresh_from_db()
    assert (recipient.open_count, recipient.last_opened_at) == (1, T0)
    assert OpenEvent.objects.get().hit_key is not None
    assert "Open stream unavailable" in caplog.text


def test_during_a_redis_outage_each_open_does_not_wait_for_redis_again(settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    recipient = EmailRecipientFactory()

    for minute in range(3):
        record_open(recipient_id=recipient.pk, opened_at=T0 + timedelta(minutes=minute))

    recipient.refresh_from_db()
    assert recipient.open_count == 3
    assert caplog.text.count("Open stream unavailable") == 1


def test_with_redis_an_open_only_appends_to_the_stream(redis_stream):
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()

    record_open(recipient_id=recipient.pk, opened_at=T0)

    [(_, fields)] = redis.xrange(stream)
    # No signals given (verdicts off): their fields are empty.
    empty = {"v": "", "m": ""}
    assert fields == {"recipient": str(recipient.pk), "at": T0.isoformat(), "key": fields["key"], **empty}
    assert not OpenEvent.objects.exists()


def test_counters_are_incremented_by_each_write_and_recount_opens_repairs_them(settle_opens):
    # An event the counters never saw (written behind the writer's back)
    # stays uncounted by the next write, which only adds what it inserted;
    # recount_opens brings the counters back to the table.
    recipient = EmailRecipientFactory()
    OpenEventFactory(recipient=recipient, opened_at=T0 - timedelta(days=1))

    record_open(recipient_id=recipient.pk, opened_at=T0)
    settle_opens()

    recipient.refresh_from_db()
    assert (recipient.open_count, recipient.first_opened_at) == (1, T0)
    assert counters.disagreeing() == [("email", recipient.email_id), ("recipient", recipient.pk)]

    out = StringIO()
    call_command("recount_opens", stdout=out)

    assert "2 counters were repaired" in out.getvalue()
    assert counters.disagreeing() == []
    assert_counters_agree_with_open_events(recipient.email)


def test_an_earlier_open_arriving_last_moves_first_opened_at_back_only():
    recipient = EmailRecipientFactory()

    write_opens(opens=[Open(recipient_id=recipient.pk, opened_at=T0, key="a")])
    write_opens(opens=[Open(recipient_id=recipient.pk, opened_at=T0 - timedelta(hours=1), key="b")])
    write_opens(opens=[Open(recipient_id=recipient.pk, opened_at=T0 - timedelta(minutes=5), key="c")])

    recipient.refresh_from_db()
    assert (recipient.open_count, recipient.first_opened_at, recipient.last_opened_at) == (
        3,
        T0 - timedelta(hours=1),
        T0,
    )
    assert_counters_agree_with_open_events(recipient.email)


def test_a_batch_writes_the_allowed_opens_and_skips_the_rest():
    recorded = EmailRecipientFactory()
    untracked = EmailRecipientFactory(email=EmailFactory(track_opens=False))
    from_client = EmailRecipientFactory(email=EmailFactory(source=Email.Source.CLIENT))
    unknown_id = EmailRecipient.objects.order_by("pk").last().pk + 1000

    count = write_opens(
        opens=[
            Open(recipient_id=recorded.pk, opened_at=T0, key="1-0"),
            Open(recipient_id=untracked.pk, opened_at=T0, key="1-1"),
            Open(recipient_id=from_client.pk, opened_at=T0, key="1-2"),
            Open(recipient_id=unknown_id, opened_at=T0, key="1-3"),
        ]
    )

    assert count == 1
    assert list(OpenEvent.objects.values_list("recipient", "hit_key")) == [(recorded.pk, "1-0")]
    for recipient in (untracked, from_client):
        recipient.refresh_from_db()
        assert recipient.open_count == 0


def test_stream_entries_already_written_count_once():
    recipient = EmailRecipientFactory()
    batch = [Open(recipient_id=recipient.pk, opened_at=T0, key=f"1700000000000-{n}") for n in range(3)]

    assert write_opens(opens=batch) == 3
    assert write_opens(opens=batch) == 0
    assert write_opens(opens=[*batch, Open(recipient_id=recipient.pk, opened_at=T0, key="1800000000000-0")]) == 1

    recipient.refresh_from_db()
    assert recipient.open_count == OpenEvent.objects.count() == 4


@pytest.mark.parametrize("size", [1, 60])
def test_a_batch_costs_the_same_queries_whatever_its_size(django_assert_num_queries, size):
    # Four emails of four organizations, two with a configuration; a
    # recipient with a contact, whose choice the policy reads.
    emails = EmailFactory.create_batch(4)
    for email in emails[:2]:
        EmailConfigurationFactory(organization=email.organization)
    recipients = [EmailRecipientFactory(email=email) for email in emails for _ in range(3)]
    recipients[0].contact = ContactFactory(organization=emails[0].organization, country="US")
    recipients[0].save()
    batch = [
        Open(recipient_id=recipients[n % len(recipients)].pk, opened_at=T0 + timedelta(seconds=n), key=f"1-{n}")
        for n in range(size)
    ]

    # Savepoint, the emails locked (the fields the writer reads: one more read
    # would cost a query per email), their organizations with their
    # configurations, the recipients with their contacts, the insert (keys
    # already written skipped), the recipients' and the emails' counters, the
    # emails read before and after them and the differences added to their
    # senders' weeks (emails.rollup: Reports), release.
    with django_assert_num_queries(11):
        assert write_opens(opens=batch) == size

    assert sum(EmailRecipient.objects.values_list("open_count", flat=True)) == size
    assert sum(Email.objects.values_list("open_count", flat=True)) == size


@pytest.mark.django_db(transaction=True)
def test_two_batches_on_one_email_at_once_lose_no_open():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite admits one writer at a time; the race needs PostgreSQL")
    email = EmailFactory()
    first, second = EmailRecipientFactory.create_batch(2, email=email)
    first_is_written = threading.Event()

    def first_batch() -> None:
        try:
            with transaction.atomic():
                write_opens(opens=[Open(recipient_id=first.pk, opened_at=T0)])
                first_is_written.set()
                time.sleep(0.5)  # the second batch starts before this commits
        finally:
            connection.close()

    def second_batch() -> None:
        first_is_written.wait(5)
        try:
            write_opens(opens=[Open(recipient_id=second.pk, opened_at=T0 + timedelta(minutes=1))])
        finally:
            connection.close()

    threads = [threading.Thread(target=first_batch), threading.Thread(target=second_batch)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    email.refresh_from_db()
    assert email.open_count == 2
    assert_counters_agree_with_open_events(email)
