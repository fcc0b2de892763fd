"""Acceptance, end to end: a tracked email to two recipients goes out through
the real SMTP server, the test plays the provider by filing the two
per-recipient copies in Sent (Dovecot), and the sync leaves one pixel-free,
read copy there; a message written in a mail client and a reply appear on
the contacts' timelines, the reply marking the email Replied."""

import pytest
from django.urls import reverse
from imapclient.imapclient import SEEN

from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from emails.models import Email, Mailbox
from emails.sending import email_send
from emails.services import email_create
from emails.sync import in_process
from emails.sync.mailbox_sync import sync_mailbox
from emails.tasks import fix_sent_folder
from emails.tests.factories import connect_imap
from emails.tests.imap_messages import raw_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def rex(sender, imap_server, settings):
    settings.SENT_COPY_WAIT = 1
    return connect_imap(Mailbox.objects.get(user=sender), imap_server)


@pytest.fixture
def contacts(org):
    return [
        ContactFactory(
            organization=org,
            first_name=name,
            email=f"{name.lower()}@ex.org",
            open_tracking=Contact.OpenTracking.ALLOWED,
        )
        for name in ("Ann", "Bob")
    ]


def send_tracked(rex: Mailbox, django_capture_on_commit_callbacks) -> Email:
    with django_capture_on_commit_callbacks(execute=False):  # sent below, not by the queue
        email = email_create(
            organization=rex.organization,
            sender=rex.user,
            subject="Proposal",
            body_text="Our offer",
            to=["ann@ex.org", "bob@ex.org"],
        )
    email_send(email=email)
    assert email.status == Email.Status.SENT and email.track_opens
    return email


def sent_folder(imap_server) -> list[tuple[bytes, tuple]]:
    with imap_server.client("rex") as client:
        client.select_folder("Sent", readonly=True)
        found = client.fetch(client.search(["ALL"]), ["BODY.PEEK[]", "FLAGS"])
    return [(data[b"BODY[]"], data[b"FLAGS"]) for data in found.values()]


def test_tracked_email_client_mail_and_a_reply_end_to_end(
    rex, contacts, smtp_server, imap_server, rep_client, django_capture_on_commit_callbacks
):
    email = send_tracked(rex, django_capture_on_commit_callbacks)
    assert len(smtp_server.received) == 2
    assert all(b"/o/" in r.content for r in smtp_server.received)  # each copy carries its pixel
    with imap_server.client("rex") as client:  # the provider files what it was handed
        for received in smtp_server.received:
            client.append("Sent", received.content)

    fix_sent_folder(email.pk)

    ((content, flags),) = sent_folder(imap_server)
    assert SEEN in flags
    assert b"/o/" not in content and b"<img" not in content
    assert email.message_id.encode() in content

    with imap_server.client("rex") as client:
        client.append(
            "Sent",
            raw_message(
                sender="Rex Rep <rex@acme.example>",
                to=["ann@ex.org"],
                subject="Lunch?",
                message_id="<client@acme.example>",
            ),
        )
        client.append(
            "INBOX",
            raw_message(
                sender="Bob <bob@ex.org>",
                to=["rex@acme.example"],
                subject="Re: Proposal",
                body="Yes please.",
                message_id="<reply@ex.org>",
                in_reply_to=email.message_id,
            ),
        )
    assert sync_mailbox(mailbox_id=rex.pk).imported == 2

    assert Email.objects.filter(message_id=email.message_id).count() == 1  # its Sent copy is the CRM email
    email.refresh_from_db()
    assert email.replied_at is not None
    assert email.recipients.get(address="bob@ex.org").replied_at is not None
    assert email.recipients.get(address="ann@ex.org").replied_at is None

    ann, bob = contacts
    page = rep_client.get(reverse("contacts:detail", args=[ann.pk]), {"tab": "email"}).content.decode()
    assert "Lunch?" in page and "Sent from your email client" in page
    page = rep_client.get(reverse("contacts:detail", args=[bob.pk]), {"tab": "all"}).content.decode()
    assert "Re: Proposal" in page and "reply from bob@ex.org" in page and "Replied" in page
    folder = rep_client.get(reverse("emails:index")).content.decode()
    assert "Replied" in folder and "Re: Proposal" not in folder


def test_a_server_that_files_no_copy_gets_one_when_the_mailbox_saves_sent_copies(
    rex, contacts, imap_server, django_capture_on_commit_callbacks
):
    email = send_tracked(rex, django_capture_on_commit_callbacks)

    fix_sent_folder(email.pk)

    ((content, flags),) = sent_folder(imap_server)
    assert SEEN in flags and b"/o/" not in content


def test_no_copy_is_saved_when_the_mailbox_does_not_save_sent_copies(
    rex, contacts, imap_server, django_capture_on_commit_callbacks
):
    Mailbox.objects.filter(pk=rex.pk).update(save_sent_copies=False)
    email = send_tracked(rex, django_capture_on_commit_callbacks)

    fix_sent_folder(email.pk)

    assert sent_folder(imap_server) == []


@pytest.mark.django_db(transaction=True)  # the Sent-folder step's thread reads the email
def test_the_send_task_puts_the_pixel_free_copy_in_sent(rex, contacts, imap_server, rep_client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the embedded default: the step runs after the request
    response = rep_client.post(
        reverse("emails:compose"),
        {"to": "ann@ex.org", "cc": "", "bcc": "", "subject": "Proposal", "body": "Our offer", "track": "on"},
    )
    assert response.status_code == 302
    in_process.wait_idle()

    ((content, flags),) = sent_folder(imap_server)
    assert SEEN in flags and b"/o/" not in content and b"Our offer" in content
