"""Deleting a contact erases it: its opens (the counters recounted), its
address on the emails it received and on those synced from it, its activity
and consent history; the sender's own record of the emails stays. The whole
way: composer, send task, a real SMTP server, the pixel, the stream and the
drain (or the direct write)."""

import logging
from datetime import timedelta

import pytest
from django.urls import reverse

from conftest import read_copy, send_from_composer
from contacts.models import ConsentRecord, Contact, ContactActivity, ContactErasure
from contacts.tests.factories import ContactFactory
from emails.models import ERASED_ADDRESS, Email, EmailRecipient, NotTrackedReason
from emails.tasks import send_email
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from onepage.tests.factories import MembershipFactory
from tracking import counters

pytestmark = pytest.mark.django_db


@pytest.fixture
def lead(org):
    return ContactFactory(organization=org, first_name="Lena", email="lena@northwind.example", country="US")


def _send(client, capture, *, to: str, subject: str) -> Email:
    email = send_from_composer(client, capture, to=to, subject=subject)
    assert email.status == Email.Status.SENT and email.track_opens
    return email


def test_deleting_a_contact_erases_its_opens_and_address_and_keeps_the_senders_record(
    org, sender, rep_client, admin_user, lead, smtp_server, settle_opens, django_capture_on_commit_callbacks, caplog
):
    colleague = ContactFactory(organization=org, first_name="Max", email="max@northwind.example", country="US")
    email = _send(
        rep_client, django_capture_on_commit_callbacks, to=f"{lead.email}, {colleague.email}", subject="Our offer"
    )
    copies = {m.rcpt_tos[0]: m.part("text/html") for m in smtp_server.received[-2:]}
    read_copy(copies[lead.email])
    read_copy(copies[lead.email], after=timedelta(hours=1))
    read_copy(copies[colleague.email])
    assert settle_opens() == 3
    # Her address typed by hand on another email (no contact linked), and a
    # reply synced from her mailbox.
    typed = EmailRecipientFactory(email=EmailFactory(organization=org), contact=None, address="LENA@northwind.example")
    reply = EmailFactory(
        organization=org, direction=Email.Direction.INCOMING, source=Email.Source.CLIENT, from_address=lead.email
    )
    EmailRecipientFactory(email=reply, kind=EmailRecipient.Kind.FROM, contact=lead, address=lead.email)
    rep_client.post(
        reverse("contacts:edit", args=[lead.pk]),
        {"first_name": "Lena", "email": lead.email, "country": "US", "open_tracking": "allowed"},
    )
    assert ConsentRecord.objects.filter(contact=lead).exists() and ContactActivity.objects.filter(contact=lead).exists()

    rep_client.force_login(admin_user)  # erasing is for admins
    page = rep_client.get(reverse("privacy:erase", args=[lead.pk])).content.decode()
    assert "Their 2 recorded opens." in page
    assert "Their address on the 3 emails they received or sent" in page
    assert "1 email synced from them" in page

    caplog.set_level(logging.INFO)
    response = rep_client.post(reverse("privacy:erase", args=[lead.pk]))
    assert response.status_code == 302

    assert not Contact.objects.filter(pk=lead.pk).exists()
    assert not ConsentRecord.objects.filter(contact_id=lead.pk).exists()
    assert not ContactActivity.objects.filter(contact_id=lead.pk).exists()
    # Her opens are gone, the counters with them; Max's stay.
    assert settle_opens() == -2
    assert counters.disagreeing() == []
    email.refresh_from_db()
    assert email.open_count == 1
    assert [(r.address, r.contact_id, r.open_count) for r in email.recipients.order_by("pk")] == [
        (ERASED_ADDRESS, None, 0),
        ("max@northwind.example", colleague.pk, 1),
    ]
    erased = email.recipients.get(address=ERASED_ADDRESS)
    assert (erased.track_opens, erased.not_tracked_reason) == (False, NotTrackedReason.ERASED)
    # The sender's own record stays: subject, body, the other recipient.
    assert (email.subject, email.body_text) == ("Our offer", "Hello")
    typed.refresh_from_db()
    reply.refresh_from_db()
    assert typed.address == ERASED_ADDRESS
    assert reply.from_address == ERASED_ADDRESS
    assert reply.recipients.get().address == ERASED_ADDRESS
    assert not EmailRecipient.objects.filter(address__icontains="lena").exists()
    assert not Email.objects.filter(from_address__icontains="lena").exists()

    # Her old copy opened again: nothing is recorded.
    read_copy(copies[lead.email])
    assert settle_opens() == 0
    assert counters.disagreeing() == []

    # The audit line, without her name or address.
    audit = ContactErasure.objects.get()
    assert (audit.organization_id, audit.contact_id, audit.actor.username) == (org.pk, lead.pk, "ada")
    assert (audit.opens_deleted, audit.recipients_erased, audit.emails_erased) == (2, 3, 1)
    ours = ("contacts", "emails", "tracking", "privacy", "onepage")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(ours))
    assert f"Contact {lead.pk} erased" in logged
    assert "lena" not in logged.lower()


def test_the_erased_recipients_email_page_shows_the_placeholder(org, admin_client, lead):
    email = EmailFactory(organization=org, track_opens=False)
    EmailRecipientFactory(email=email, contact=lead, address=lead.email)
    admin_client.post(reverse("privacy:erase", args=[lead.pk]))
    page = admin_client.get(reverse("emails:detail", args=[email.pk])).content.decode()
    assert ERASED_ADDRESS in page
    assert lead.email not in page


def test_a_queued_email_is_not_sent_to_an_erased_recipient(org, sender, admin_client, lead, smtp_server):
    colleague = ContactFactory(organization=org, email="max@northwind.example")
    with_both = EmailFactory(organization=org, sender=sender, status=Email.Status.QUEUED, sent_at=None)
    EmailRecipientFactory(email=with_both, contact=lead, address=lead.email)
    EmailRecipientFactory(email=with_both, contact=colleague, address=colleague.email)
    admin_client.post(reverse("privacy:erase", args=[lead.pk]))
    send_email.apply(args=[with_both.pk])
    with_both.refresh_from_db()
    assert with_both.status == Email.Status.SENT
    assert [m.rcpt_tos for m in smtp_server.received] == [[colleague.email]]
    assert lead.email not in smtp_server.received[0].content.decode()


def test_another_organizations_user_cannot_delete_the_contact(client, org, other_org, lead):
    client.force_login(MembershipFactory(organization=other_org, role="admin").user)
    assert client.get(reverse("privacy:erase", args=[lead.pk])).status_code == 404
    assert client.post(reverse("privacy:erase", args=[lead.pk])).status_code == 404
    assert Contact.objects.filter(pk=lead.pk).exists()
    assert not ContactErasure.objects.exists()


def test_deleting_from_the_django_admin_erases_too(client, org, lead):
    from onepage.models import User

    staff = User.objects.create_superuser("root", "root@example.net", "secret-pass-123")
    email = EmailFactory(organization=org, track_opens=False)
    EmailRecipientFactory(email=email, contact=lead, address=lead.email)
    client.force_login(staff)
    url = reverse("admin:contacts_contact_delete", args=[lead.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Contact.objects.filter(pk=lead.pk).exists()
    assert email.recipients.get().address == ERASED_ADDRESS
    assert ContactErasure.objects.get().actor == staff


def test_a_failure_naming_the_address_loses_it_too(org, admin_client, lead):
    failed = EmailFactory(
        organization=org, status=Email.Status.FAILED, sent_at=None, error="lena@northwind.example: 552 Mailbox full"
    )
    EmailRecipientFactory(email=failed, contact=lead, address=lead.email)
    admin_client.post(reverse("privacy:erase", args=[lead.pk]))
    failed.refresh_from_db()
    assert failed.error == f"{ERASED_ADDRESS}: 552 Mailbox full"


def test_a_contact_without_an_address_is_erased_by_its_links(org, admin_client):
    nameless = ContactFactory(organization=org, email="")
    email = EmailFactory(organization=org, track_opens=False)
    EmailRecipientFactory(email=email, contact=nameless, address="typed@northwind.example")
    EmailRecipientFactory(email=email, contact=None, address="someone@else.example")
    assert admin_client.post(reverse("privacy:erase", args=[nameless.pk])).status_code == 302
    assert list(email.recipients.order_by("pk").values_list("address", flat=True)) == [
        ERASED_ADDRESS,
        "someone@else.example",
    ]
