"""Notifications made by the recording pipeline, after the commit of each
batch (tracking.recorded -> alerts.creation): a person's first open, their
coming back after a quiet period, and one digest line a day for the rest;
never a machine's, an early, repeated or own fetch, a muted email, a
refused or aggregate recipient, another organization; never twice for one
open; the same queries for 20 opens as for 2,000."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from alerts.models import AlertSettings, EmailMute, Notification
from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from onepage.tests.factories import MembershipFactory
from tracking.classify import Signals
from tracking.hits import Open
from tracking.models import OpenEvent, Verdict
from tracking.writer import write_opens

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DESKTOP = Signals(address="198.51.100.23", user_agent="Mozilla/5.0 (X11) Thunderbird/115.6.0")
_keys = iter(range(10**9))


def hit(recipient, at: datetime, **fields) -> Open:
    return Open(recipient_id=recipient.pk, opened_at=at, key=f"k-{next(_keys)}", **fields)


@pytest.fixture
def write(django_capture_on_commit_callbacks):
    """Write a batch as the recorder does and run what its commit runs."""

    def write(opens: list[Open]) -> int:
        with django_capture_on_commit_callbacks(execute=True):
            return write_opens(opens=opens)

    return write


@pytest.fixture
def bea(org, rep_user):
    """Bea Buyer, a contact of Rex's organization, sent one of his emails."""
    email = EmailFactory(organization=org, sender=rep_user, subject="Spring order")
    contact = ContactFactory(organization=org, first_name="Bea", last_name="Buyer", email="bea@buyer.example")
    return EmailRecipientFactory(email=email, contact=contact, delivered_at=T0 - timedelta(hours=2))


def told(user) -> list[tuple[str, int]]:
    return list(user.notifications.order_by("opened_at", "pk").values_list("kind", "count"))


def test_a_first_open_tells_the_sender_once(write, bea, rep_user, org):
    assert write([hit(bea, T0)]) == 1

    n = Notification.objects.get()
    assert (n.user, n.organization, n.email, n.recipient, n.kind) == (rep_user, org, bea.email, bea, Kind.FIRST_OPEN)
    assert n.opened_at == n.last_opened_at == T0 and n.read_at is None
    assert n.recipient.contact.first_name == "Bea" and n.email.subject == "Spring order"
    assert n.open == OpenEvent.objects.get()


@pytest.mark.parametrize("batched", [True, False], ids=["one batch", "one open at a time"])
def test_ten_more_opens_within_the_hour_are_one_digest_line(write, bea, rep_user, batched):
    write([hit(bea, T0)])
    more = [hit(bea, T0 + timedelta(minutes=5 * k)) for k in range(1, 11)]
    if batched:
        write(more)
    else:
        for h in more:
            write([h])

    assert told(rep_user) == [(Kind.FIRST_OPEN, 1), (Kind.DIGEST, 10)]
    line = rep_user.notifications.get(kind=Kind.DIGEST)
    assert (line.opened_at, line.last_opened_at, line.day) == (
        T0 + timedelta(minutes=5),
        T0 + timedelta(minutes=50),
        T0.date(),
    )


def test_the_first_open_and_more_in_one_batch(write, bea, rep_user):
    write([hit(bea, T0 + timedelta(minutes=k)) for k in (3, 0, 1, 2)])
    assert told(rep_user) == [(Kind.FIRST_OPEN, 1), (Kind.DIGEST, 3)]
    assert rep_user.notifications.get(kind=Kind.FIRST_OPEN).opened_at == T0


def test_an_open_two_days_later_came_back(write, bea, rep_user):
    write([hit(bea, T0), hit(bea, T0 + timedelta(minutes=30))])
    write([hit(bea, T0 + timedelta(days=2, minutes=30))])

    assert told(rep_user) == [(Kind.FIRST_OPEN, 1), (Kind.DIGEST, 1), (Kind.CAME_BACK, 1)]
    back = rep_user.notifications.get(kind=Kind.CAME_BACK)
    assert back.previous_opened_at == T0 + timedelta(minutes=30) and back.quiet_for == timedelta(days=2)


def test_the_quiet_period_and_the_kinds_are_the_users_choice(write, bea, rep_user):
    AlertSettings.objects.create(user=rep_user, came_back_after_hours=72, digest=False)
    write([hit(bea, T0), hit(bea, T0 + timedelta(minutes=30))])
    write([hit(bea, T0 + timedelta(days=2))])
    assert told(rep_user) == [(Kind.FIRST_OPEN, 1)]
    write([hit(bea, T0 + timedelta(days=6))])
    assert told(rep_user) == [(Kind.FIRST_OPEN, 1), (Kind.CAME_BACK, 1)]


def test_a_digest_line_is_the_users_day(write, bea, rep_user):
    rep_user.time_zone = "America/New_York"  # UTC-5 in March
    rep_user.save(update_fields=["time_zone"])
    night = datetime(2026, 3, 3, 3, 0, tzinfo=UTC)  # 22:00 on the 2nd in New York
    write([hit(bea, T0)])
    write([hit(bea, night - timedelta(hours=2)), hit(bea, night), hit(bea, night + timedelta(hours=2))])
    lines = rep_user.notifications.filter(kind=Kind.DIGEST).order_by("day")
    assert [(str(n.day), n.count) for n in lines] == [("2026-03-02", 2), ("2026-03-03", 1)]


def test_self_machine_early_and_repeat_opens_tell_nobody(write, bea, rep_user, org):
    own = Signals(address=DESKTOP.address, user_agent=DESKTOP.user_agent, member_organization=org.pk)
    fresh = EmailRecipientFactory(email=bea.email, delivered_at=T0)
    opens = [
        hit(bea, T0, signals=own),
        hit(bea, T0 + timedelta(minutes=1), pre_verdict=Verdict.SCANNER, signals=Signals()),
        hit(bea, T0 + timedelta(minutes=2), pre_verdict=Verdict.PRIVACY_PREFETCH, signals=Signals()),
        hit(fresh, T0 + timedelta(seconds=1), signals=DESKTOP),
    ]
    assert write(opens) == 4
    assert sorted(OpenEvent.objects.values_list("verdict", flat=True)) == sorted(
        [Verdict.SELF, Verdict.SCANNER, Verdict.PRIVACY_PREFETCH, Verdict.EARLY]
    )
    assert not Notification.objects.exists()

    write([hit(bea, T0 + timedelta(hours=1), signals=DESKTOP)])
    write([hit(bea, T0 + timedelta(hours=1, seconds=3), signals=DESKTOP)])
    assert OpenEvent.objects.filter(verdict=Verdict.REPEAT).count() == 1
    assert told(rep_user) == [(Kind.FIRST_OPEN, 1)]


def test_a_muted_email_tells_nobody(write, bea, rep_user):
    EmailMute.objects.create(user=rep_user, email=bea.email)
    other = EmailRecipientFactory(email=EmailFactory(organization=bea.email.organization, sender=rep_user))
    assert write([hit(bea, T0), hit(bea, T0 + timedelta(minutes=5)), hit(other, T0)]) == 3
    assert list(Notification.objects.values_list("recipient", flat=True)) == [other.pk]


def test_a_refused_contact_records_no_open_and_tells_nobody(write, bea, rep_user):
    Contact.objects.filter(pk=bea.contact_id).update(open_tracking=Contact.OpenTracking.REFUSED)
    assert write([hit(bea, T0)]) == 0
    assert not OpenEvent.objects.exists() and not Notification.objects.exists()


def test_an_aggregate_open_names_nobody_and_tells_nobody(write, bea):
    total_only = EmailRecipientFactory(email=bea.email, contact=None, aggregate_only=True, delivered_at=T0)
    assert write([hit(total_only, T0 + timedelta(minutes=5))]) == 1
    assert OpenEvent.objects.get().recipient is None
    assert not Notification.objects.exists()


def test_never_across_organizations(write, bea, rep_user, org, other_org):
    rival = MembershipFactory(organization=other_org).user
    theirs = EmailRecipientFactory(email=EmailFactory(organization=other_org, sender=rival))
    write([hit(bea, T0), hit(theirs, T0)])
    assert {(n.user_id, n.organization_id) for n in Notification.objects.all()} == {
        (rep_user.pk, org.pk),
        (rival.pk, other_org.pk),
    }
    # A sender who moved to another organization hears no more of the old one's emails.
    rep_user.membership.organization = other_org
    rep_user.membership.save()
    write([hit(bea, T0 + timedelta(days=3))])
    assert rep_user.notifications.count() == 1 and rival.notifications.count() == 1


def test_a_replayed_batch_makes_no_duplicate(write, bea, rep_user):
    batch = [hit(bea, T0 + timedelta(minutes=k)) for k in range(5)]
    assert write(batch) == 5
    # The recorder died before acknowledging: the same entries come again.
    assert write(batch) == 0
    assert write([*batch, hit(bea, T0 + timedelta(minutes=9))]) == 1
    assert told(rep_user) == [(Kind.FIRST_OPEN, 1), (Kind.DIGEST, 5)]


def test_one_open_never_makes_two_notifications(bea, rep_user):
    from alerts.creation import notify
    from tracking.recorded import Recorded

    write_opens(opens=[hit(bea, T0)])  # recorded; its notification not made yet
    key = OpenEvent.objects.get().hit_key
    fact = Recorded(key, bea.pk, bea.email_id, bea.email.organization_id, rep_user.pk, T0, Verdict.HUMAN, None)
    notify([fact])
    notify([fact])
    assert told(rep_user) == [(Kind.FIRST_OPEN, 1)]


def test_an_open_deleted_before_its_notification_tells_nobody(bea, rep_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        write_opens(opens=[hit(bea, T0)])
    OpenEvent.objects.all().delete()
    for callback in callbacks:
        callback()
    assert not Notification.objects.exists()


@pytest.mark.parametrize("size", [20, 2000])
def test_a_batchs_notifications_cost_the_same_queries_whatever_its_size(
    org, rep_user, size, settings, django_capture_on_commit_callbacks, django_assert_num_queries
):
    emails = EmailFactory.create_batch(2, organization=org, sender=rep_user)
    recipients = [EmailRecipientFactory(email=e) for e in emails for _ in range(5)]
    # Each recipient: its first open, then more the same day.
    opens = [
        Open(recipient_id=recipients[n % 10].pk, opened_at=T0 + timedelta(seconds=n), key=f"q-{size}-{n}")
        for n in range(size)
    ]
    with django_capture_on_commit_callbacks() as callbacks:
        assert write_opens(opens=opens) == size
    # The senders and their followers (with settings and organizations), the
    # mutes, the savepoint, the first opens' insert, the digest lines'
    # upsert, the release; with Redis, the live channel's counts of the users
    # told (alerts.live: one grouped query, none of them opted in to browser
    # notifications).
    # The digest lines a first open may have been counted in, counted again
    # (one statement); on PostgreSQL, the emails' lock against another
    # worker telling at the same moment (one statement).
    locked = connection.vendor == "postgresql"
    with django_assert_num_queries(8 + locked + bool(settings.REDIS_URL)):
        for callback in callbacks:
            callback()
    assert told(rep_user).count((Kind.FIRST_OPEN, 1)) == 10
    digests = rep_user.notifications.filter(kind=Kind.DIGEST)
    assert digests.count() == 10
    assert sum(digests.values_list("count", flat=True)) == size - 10
