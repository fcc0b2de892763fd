"""The rep's Send returns at once when the mailbox's IMAP server never
answers: the Sent-folder step (emails.sync.sent_copies) runs after the send,
never inside the request, also with eager tasks (the embedded default)."""

import time

import pytest
from django.urls import reverse

from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from emails.models import Email, Mailbox
from emails.sync import in_process
from emails.tests.factories import connect_imap

pytestmark = pytest.mark.django_db(transaction=True)  # the step's thread must see the email


def send(client, subject: str) -> float:
    started = time.monotonic()
    response = client.post(
        reverse("emails:compose"),
        {"to": "ann@ex.org", "cc": "", "bcc": "", "subject": subject, "body": "Our offer", "track": "on"},
    )
    seconds = time.monotonic() - started
    assert response.status_code == 302
    assert Email.objects.get(subject=subject).status == Email.Status.SENT
    return seconds


def test_a_send_returns_before_the_sent_folder_step_on_a_silent_imap_server_ends(
    sender, org, rep_client, silent_imap_server, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the send itself runs in the request, as under make run
    ContactFactory(organization=org, email="ann@ex.org", open_tracking=Contact.OpenTracking.ALLOWED)
    send(rep_client, "Warm-up")
    reference = send(rep_client, "Without IMAP")
    connect_imap(Mailbox.objects.get(user=sender), silent_imap_server, password="secret")

    blocked = send(rep_client, "With a silent IMAP server")

    # The Sent-folder step did start, and still waited for the server when the page came back.
    assert silent_imap_server.accepted.wait(timeout=10)
    assert not silent_imap_server.client_gave_up.is_set()
    print(f"send: {reference * 1000:.0f} ms without IMAP, {blocked * 1000:.0f} ms with a silent IMAP server")
    assert blocked < 10 * reference
    silent_imap_server.release()
    in_process.wait_idle()
