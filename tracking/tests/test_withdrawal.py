"""A contact who refuses tracking: decided again at every open, the whole
way (composer, send task, a real SMTP server, the recipient's pixel, the
stream and the drain), and what was recorded before deleted or kept as the
organization says."""

from datetime import timedelta

import pytest
from django.urls import reverse

from conftest import read_copy, send_from_composer
from contacts.models import ConsentRecord, Contact
from contacts.tests.factories import ContactFactory
from emails.models import Email, EmailConfiguration
from tracking.models import OpenEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(org):
    return ContactFactory(organization=org, first_name="Lena", email="lena@northwind.example", country="US")


def _send(client, capture, smtp_server, *, to: str, subject: str) -> tuple[Email, str]:
    email = send_from_composer(client, capture, to=to, subject=subject)
    assert email.status == Email.Status.SENT and email.track_opens
    return email, smtp_server.received[-1].part("text/html")


def _refuse(client, contact: Contact) -> None:
    data = {"first_name": contact.first_name, "email": contact.email, "country": "US", "open_tracking": "refused"}
    assert client.post(reverse("contacts:edit", args=[contact.pk]), data).status_code == 302


def _counters_agree(email: Email) -> None:
    email.refresh_from_db()
    events = OpenEvent.objects.filter(email=email)
    assert email.open_count == events.count()
    for recipient in email.recipients.all():
        assert recipient.open_count == events.filter(recipient=recipient).count()
        if recipient.open_count == 0:
            assert recipient.first_opened_at is None and recipient.last_opened_at is None


def test_refusal_stops_recording_of_copies_already_sent_and_deletes_earlier_opens(
    org, sender, rep_client, lead, smtp_server, settle_opens, django_capture_on_commit_callbacks
):
    first, first_html = _send(rep_client, django_capture_on_commit_callbacks, smtp_server, to=lead.email, subject="A")
    second, second_html = _send(rep_client, django_capture_on_commit_callbacks, smtp_server, to=lead.email, subject="B")
    read_copy(first_html)
    read_copy(first_html, after=timedelta(hours=1))
    read_copy(second_html)
    assert settle_opens() == 3

    _refuse(rep_client, lead)

    # Deleted at once (the default), the counters with them.
    assert not OpenEvent.objects.exists()
    assert settle_opens() == -3
    _counters_agree(first)
    _counters_agree(second)
    assert first.open_count == 0 and first.last_opened_at is None

    # The same copies opened again: nothing recorded, whichever way it goes.
    read_copy(first_html)
    read_copy(second_html)
    assert settle_opens() == 0
    _counters_agree(first)
    record = ConsentRecord.objects.get(contact=lead)
    assert (record.old_value, record.new_value, record.method, record.opens_deleted) == (
        "not_asked",
        "refused",
        ConsentRecord.Method.FORM,
        3,
    )
    assert record.actor.username == "rex"


def test_with_keep_on_withdrawal_earlier_opens_stay_and_new_ones_are_not_recorded(
    org, sender, rep_client, lead, smtp_server, settle_opens, django_capture_on_commit_callbacks
):
    EmailConfiguration.objects.filter(organization=org).update(delete_opens_on_withdrawal=False)
    email, html = _send(rep_client, django_capture_on_commit_callbacks, smtp_server, to=lead.email, subject="A")
    read_copy(html)
    assert settle_opens() == 1

    _refuse(rep_client, lead)
    read_copy(html)
    assert settle_opens() == 0

    _counters_agree(email)
    assert email.open_count == 1
    assert ConsentRecord.objects.get(contact=lead).opens_deleted is None


def test_other_recipients_of_the_same_email_keep_their_opens(
    org, sender, rep_client, lead, smtp_server, settle_opens, django_capture_on_commit_callbacks
):
    colleague = ContactFactory(organization=org, email="max@northwind.example")
    to = f"{lead.email}, {colleague.email}"
    email, _ = _send(rep_client, django_capture_on_commit_callbacks, smtp_server, to=to, subject="Both")
    copies = {m.rcpt_tos[0]: m.part("text/html") for m in smtp_server.received[-2:]}
    read_copy(copies[lead.email])
    read_copy(copies[colleague.email])
    assert settle_opens() == 2

    _refuse(rep_client, lead)
    assert settle_opens() == -1  # Lena's, deleted
    read_copy(copies[colleague.email], after=timedelta(hours=1))
    read_copy(copies[lead.email])
    assert settle_opens() == 1

    _counters_agree(email)
    assert email.open_count == 2
    assert not OpenEvent.objects.filter(recipient__contact=lead).exists()
