"""Notifications go with the opens they came from: the retention purge, a
contact's withdrawal, a contact erased; and they are in the contact's
export. Then the whole way: the rep sends from the composer to a real SMTP
server, the recipient's mail client loads the pixel, the open is recorded
(directly, or through the Redis stream and the drain) and the rep is told."""

from datetime import timedelta

import pytest
from django.utils import timezone

from alerts.models import Notification
from conftest import read_copy, send_from_composer
from contacts.consent import consent_change
from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from emails.models import EmailConfiguration
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from privacy.erasure import contact_erase
from privacy.export import contact_export
from tracking.hits import Open
from tracking.models import OpenEvent
from tracking.retention import purge_old_opens
from tracking.writer import write_opens

pytestmark = pytest.mark.django_db

Kind = Notification.Kind


@pytest.fixture
def write(django_capture_on_commit_callbacks):
    def write(recipient, times, prefix="k") -> None:
        opens = [
            Open(recipient_id=recipient.pk, opened_at=at, key=f"{prefix}-{recipient.pk}-{n}")
            for n, at in enumerate(times)
        ]
        with django_capture_on_commit_callbacks(execute=True):
            write_opens(opens=opens)

    return write


@pytest.fixture
def bea(org, rep_user):
    email = EmailFactory(organization=org, sender=rep_user, subject="Spring order")
    contact = ContactFactory(organization=org, first_name="Bea", email="bea@buyer.example", country="US")
    return EmailRecipientFactory(email=email, contact=contact)


@pytest.fixture
def carl(org, rep_user):
    """Another contact of the same email: what happens to Bea leaves his alone."""
    return lambda bea: EmailRecipientFactory(email=bea.email, contact=ContactFactory(organization=org))


def test_the_retention_purge_takes_the_notifications_of_the_opens_it_deletes(write, bea, org, rep_user):
    now = timezone.now()
    EmailConfiguration.objects.filter(organization=org).update(open_retention_months=12)
    EmailConfiguration.objects.get_or_create(organization=org, defaults={"open_retention_months": 12})
    old = now - timedelta(days=500)
    write(bea, [old, old + timedelta(minutes=5)], prefix="old")
    write(bea, [now - timedelta(days=3), now - timedelta(days=3, minutes=-5)], prefix="new")
    assert list(rep_user.notifications.order_by("opened_at").values_list("kind", flat=True)) == [
        Kind.FIRST_OPEN,
        Kind.DIGEST,
        Kind.CAME_BACK,
        Kind.DIGEST,
    ]

    assert purge_old_opens() == 2
    assert list(rep_user.notifications.order_by("opened_at").values_list("kind", flat=True)) == [
        Kind.CAME_BACK,
        Kind.DIGEST,
    ]


def test_a_withdrawal_takes_the_contacts_notifications(write, bea, carl, rep_user):
    other = carl(bea)
    write(bea, [timezone.now() - timedelta(hours=1)])
    write(other, [timezone.now() - timedelta(hours=1)])
    assert rep_user.notifications.count() == 2

    consent_change(contact_id=bea.contact_id, new=Contact.OpenTracking.REFUSED, method="form", wording="No")

    assert not OpenEvent.objects.filter(recipient=bea).exists()
    assert list(rep_user.notifications.values_list("recipient", flat=True)) == [other.pk]


def test_an_erased_contact_takes_its_notifications(write, bea, carl, rep_user, admin_user):
    other = carl(bea)
    write(bea, [timezone.now() - timedelta(hours=2), timezone.now() - timedelta(hours=1)])
    write(other, [timezone.now() - timedelta(hours=1)])
    assert rep_user.notifications.count() == 3

    erasure = contact_erase(contact=bea.contact, actor=admin_user)

    assert erasure.opens_deleted == 2  # the opens, not the notifications that went with them

    assert list(rep_user.notifications.values_list("recipient", flat=True)) == [other.pk]


def test_the_contacts_export_holds_its_notifications(write, bea, rep_user):
    at = timezone.now() - timedelta(hours=1)
    write(bea, [at, at + timedelta(minutes=2)])
    (received,) = contact_export(bea.contact)["emails_received"]
    assert [(n["kind"], n["count"], n["user"]) for n in received["notifications"]] == [
        (Kind.DIGEST, 1, rep_user.display_name),
        (Kind.FIRST_OPEN, 1, rep_user.display_name),
    ]


def test_the_rep_is_told_of_a_real_read_the_whole_way(
    org,
    sender,
    rep_client,
    smtp_server,
    settle_opens,
    settings,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
):
    lead = ContactFactory(organization=org, first_name="Bea", email="bea@buyer.example", country="US")
    email = send_from_composer(rep_client, django_capture_on_commit_callbacks, to=lead.email, subject="Spring order")
    html = smtp_server.received[-1].part("text/html")

    with django_capture_on_commit_callbacks(execute=True):
        if settings.REDIS_URL:
            # Through the stream the pixel itself still runs no query.
            with django_assert_num_queries(0):
                read_copy(html)
        else:
            read_copy(html)
        read_copy(html, after=timedelta(minutes=40))
        assert settle_opens() == 2
    with django_capture_on_commit_callbacks(execute=True):
        read_copy(html, after=timedelta(days=2))
        assert settle_opens() == 1

    told = list(sender.notifications.order_by("opened_at").values_list("kind", "count", "email", "recipient__contact"))
    assert told == [
        (Kind.FIRST_OPEN, 1, email.pk, lead.pk),
        (Kind.DIGEST, 1, email.pk, lead.pk),
        (Kind.CAME_BACK, 1, email.pk, lead.pk),
    ]
