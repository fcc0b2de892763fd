"""The team's rollup (emails.models.OutreachWeek, Reports' numbers) stays
equal to the emails through an email's whole life: sent by the send task,
fetched and opened through the open writer, replied, sent again in another
week, its opens erased or purged, its counters repaired; two writers of one
week at once lose nothing; a row that drifted never stops an open from
being recorded, and recount_opens finds and repairs it."""

import datetime as dt
import threading
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, connections

from contacts.tests.factories import ContactFactory
from emails import rollup
from emails.models import Email, EmailRecipient, OutreachWeek
from emails.services import email_create, recipient_resend
from emails.sync.importing import mark_replied
from emails.tasks import send_email
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory, MailboxFactory
from onepage.durations import band_of
from onepage.tests.factories import MembershipFactory
from privacy.erasure import contact_erase
from tracking import counters
from tracking.hits import Open, new_hit_key
from tracking.models import Verdict
from tracking.tests.open_helpers import add_opens
from tracking.writer import write_opens

# Thursday 3 December 2026, 10:00 in Paris; its week starts on Monday 30 November.
THURSDAY = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
MONDAY = dt.date(2026, 11, 30)


def row(sender, week: dt.date = MONDAY) -> dict:
    found = OutreachWeek.objects.filter(sender=sender, week=week).values().first() or {}
    return {k: v for k, v in found.items() if k in rollup.COLUMNS and v}


def first_open(wait: dt.timedelta) -> str:
    return rollup.FIRST_OPEN[band_of(wait)]


@pytest.fixture
def rep(org):
    org.time_zone = "Europe/Paris"
    org.save(update_fields=["time_zone"])
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    user = MembershipFactory(organization=org, user__first_name="Rita").user
    MailboxFactory(user=user)
    return user


@pytest.mark.django_db
def test_an_emails_life_keeps_its_week_equal_to_the_emails(rep, org, django_capture_on_commit_callbacks):
    contact = ContactFactory(organization=org, email="bea@buyer.example")
    with time_machine.travel(THURSDAY, tick=False):
        with django_capture_on_commit_callbacks(execute=False):
            email = email_create(organization=org, sender=rep, subject="Offer", body_text="Hi", to=[contact.email])
        assert row(rep) == {}  # queued: not sent yet
        send_email.apply(args=[email.pk])
    email.refresh_from_db()
    assert email.status == Email.Status.SENT and email.track_opens
    assert row(rep) == {"sent": 1}

    recipient = email.recipients.get()
    add_opens(recipient, [THURSDAY + dt.timedelta(seconds=5)], verdict=Verdict.PRIVACY_PREFETCH)
    assert row(rep) == {"sent": 1, "fetched": 1, "fetches": 1, "automatic": 1, "machines_only_1": 1}
    add_opens(recipient, [THURSDAY + dt.timedelta(hours=3), THURSDAY + dt.timedelta(hours=30)])
    people = {"sent": 1, "fetched": 1, "opened": 1, "fetches": 3, "automatic": 1}
    assert row(rep) == people | {first_open(dt.timedelta(hours=3)): 1}
    # An open replayed late from the spool, earlier than the first: the band moves.
    write_opens(opens=[Open(recipient_id=recipient.pk, opened_at=THURSDAY + dt.timedelta(minutes=20))])
    assert row(rep) == people | {"fetches": 4, first_open(dt.timedelta(minutes=20)): 1}

    mark_replied(email=email, address=contact.email, at=THURSDAY + dt.timedelta(days=1))
    mark_replied(email=email, address=contact.email, at=THURSDAY + dt.timedelta(days=2))  # the first reply counts
    assert row(rep)["replied"] == 1
    assert counters.disagreeing() == []

    contact_erase(contact=contact, actor=None)  # the opens go; the email stays sent and replied
    assert row(rep) == {"sent": 1, "replied": 1}
    assert counters.disagreeing() == []


@pytest.mark.django_db
def test_an_email_sent_again_leaves_its_week_and_counts_in_the_new_one(rep, org):
    with time_machine.travel(THURSDAY, tick=False):
        email = EmailFactory(organization=org, sender=rep, sent_at=THURSDAY)
    recipient = EmailRecipientFactory(email=email, address="ann@ex.org", delivered_at=None)
    add_opens(recipient, [THURSDAY + dt.timedelta(minutes=3)])
    EmailRecipient.objects.filter(pk=recipient.pk).update(delivery_uncertain_at=THURSDAY)
    assert row(rep)["sent"] == 1

    next_week = THURSDAY + dt.timedelta(days=7)
    with time_machine.travel(next_week, tick=False):
        assert recipient_resend(email=email, recipient_id=recipient.pk)
        assert row(rep) == {}  # queued again: in no week
        send_email.apply(args=[email.pk])
    email.refresh_from_db()
    assert email.status == Email.Status.SENT and email.sent_at == next_week
    assert row(rep) == {}
    # Its opens came before this send: a first open "before" it is under a minute.
    assert row(rep, MONDAY + dt.timedelta(weeks=1)) == {
        "sent": 1, "fetched": 1, "opened": 1, "fetches": 1, rollup.FIRST_OPEN[0]: 1,
    }  # fmt: skip
    assert counters.disagreeing() == []


@pytest.mark.django_db
def test_a_drifted_row_never_stops_an_open_and_recount_opens_repairs_it(rep, org):
    email = EmailFactory(organization=org, sender=rep, sent_at=THURSDAY)
    recipient = EmailRecipientFactory(email=email, address="ann@ex.org")
    OutreachWeek.objects.filter(sender=rep).delete()  # lost, say by a restore of an old backup

    add_opens(recipient, [THURSDAY + dt.timedelta(hours=1)])  # takes away the sent email's 0 opens: negative
    assert OutreachWeek.objects.get(sender=rep).sent == 0
    out = StringIO()
    call_command("recount_opens", "--check", stdout=out)
    assert "1 outreach weeks differ." in out.getvalue()
    assert counters.disagreeing() == [("outreach week", (org.pk, rep.pk, MONDAY))]

    call_command("recount_opens", stdout=out)
    assert "1 outreach weeks were repaired." in out.getvalue()
    assert row(rep) == {"sent": 1, "fetched": 1, "opened": 1, "fetches": 1, first_open(dt.timedelta(hours=1)): 1}
    assert counters.disagreeing() == []


@pytest.mark.django_db(transaction=True)
def test_two_writers_of_one_week_at_once_lose_nothing(rep, org):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite writes one transaction at a time")
    emails = [EmailFactory(organization=org, sender=rep, sent_at=THURSDAY + dt.timedelta(minutes=n)) for n in range(4)]
    recipients = [EmailRecipientFactory(email=e, address=f"r{n}@ex.org") for n, e in enumerate(emails)]
    start, failures = threading.Barrier(4), []

    def write(recipient) -> None:
        try:
            start.wait()
            for n in range(15):
                at = THURSDAY + dt.timedelta(minutes=40 + n)
                write_opens(opens=[Open(recipient_id=recipient.pk, opened_at=at, key=new_hit_key())])
        except Exception as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(r,)) for r in recipients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == []
    assert row(rep) == {"sent": 4, "fetched": 4, "opened": 4, "fetches": 60, first_open(dt.timedelta(minutes=40)): 4}
    assert counters.disagreeing() == []
