"""Acceptance: a rep sends through the composer, a real SMTP server receives
one copy per recipient, and fetching a recipient's pixel records its opens.

Runs on both setups: on SQLite opens are written directly; on PostgreSQL +
Redis they go through the Redis stream and the drain."""

import re
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.urls import reverse

from conftest import READ_AFTER, read_in_mail_client
from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from emails.models import Email
from tracking import recorder
from tracking.models import AUTOMATIC_BITS, OpenEvent, Verdict

pytestmark = pytest.mark.django_db

PIXEL_IMG = re.compile(r'<img src="([^"]+)" width="1" height="1" alt="">')


@pytest.fixture
def sender(sender, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    return sender


def compose(rep_client, django_capture_on_commit_callbacks, **data) -> Email:
    fields = {"to": "", "cc": "", "bcc": "", "subject": "Proposal", "body": "Hi,\n\nour offer: https://acme.example"}
    fields.update(data)
    with django_capture_on_commit_callbacks(execute=True):
        response = rep_client.post(reverse("emails:compose"), fields)
    assert response.status_code == 302
    return Email.objects.latest("pk")


def test_tracked_email_to_two_recipients_records_each_recipients_opens(
    rep_client, sender, org, smtp_server, django_capture_on_commit_callbacks, settings
):
    ContactFactory(organization=org, email="ann@ex.org", open_tracking=Contact.OpenTracking.ALLOWED)
    ContactFactory(organization=org, email="bob@ex.org", open_tracking=Contact.OpenTracking.ALLOWED)

    email = compose(rep_client, django_capture_on_commit_callbacks, to="ann@ex.org, bob@ex.org", track="on")

    assert len(smtp_server.received) == 2
    pixel_of = {}
    for received in smtp_server.received:
        (address,) = received.rcpt_tos
        html, text = received.part("text/html"), received.part("text/plain")
        found = PIXEL_IMG.findall(html)
        assert len(found) == 1, html
        assert html.index(found[0]) < html.index("</body>")
        assert "/o/" not in text and "<img" not in text
        pixel_of[address] = urlparse(found[0]).path
    assert set(pixel_of) == {"ann@ex.org", "bob@ex.org"}
    assert pixel_of["ann@ex.org"] != pixel_of["bob@ex.org"]

    # Ann reads it three times (minutes, an hour and a day after it
    # arrived), and her client loads the pixel twice on the first reading.
    for after in (READ_AFTER, READ_AFTER + timedelta(seconds=1), timedelta(hours=1), timedelta(days=1)):
        response = read_in_mail_client(pixel_of["ann@ex.org"], after=after)
        assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    if settings.REDIS_URL:
        # Buffered in the Redis stream until the drain writes them.
        assert not OpenEvent.objects.exists()
    recorder.drain_opens()

    email.refresh_from_db()
    ann = email.recipients.get(address="ann@ex.org")
    bob = email.recipients.get(address="bob@ex.org")
    assert (ann.open_count, bob.open_count) == (3, 0)
    assert (ann.automatic_count, ann.automatic_kinds) == (1, AUTOMATIC_BITS[Verdict.REPEAT])
    assert OpenEvent.objects.filter(recipient=ann).count() == 4
    assert not OpenEvent.objects.filter(recipient=bob).exists()
    assert email.open_count == 3
    assert email.first_opened_at == ann.first_opened_at
    assert email.last_opened_at == ann.last_opened_at
    assert bob.last_opened_at is None

    # The rep sees it on the email's page, which itself loads no pixel.
    page = rep_client.get(reverse("emails:detail", args=[email.pk])).content.decode()
    row = re.search(r'<section class="report-recipient" data-address="ann@ex.org">.*?</section>', page, re.S).group(0)
    assert 'data-open-count="3"' in row
    assert "/o/" not in page
    assert OpenEvent.objects.count() == 4


def test_an_untracked_email_arrives_once_without_pixel(
    rep_client, sender, smtp_server, django_capture_on_commit_callbacks
):
    email = compose(rep_client, django_capture_on_commit_callbacks, to="ann@ex.org", cc="bob@ex.org")  # no track

    assert len(smtp_server.received) == 1
    received = smtp_server.received[0]
    assert received.rcpt_tos == ["ann@ex.org", "bob@ex.org"]
    assert "<img" not in received.part("text/html") and "/o/" not in received.part("text/html")
    assert email.track_opens is False
    assert not email.recipients.filter(track_opens=True).exists()
