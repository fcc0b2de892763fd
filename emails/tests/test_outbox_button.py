"""The email page offers "Development outbox" only for an email the
development mailbox delivered: never for one sent through an SMTP server,
even once the rep's mailbox is the development one."""

import pytest
from django.urls import reverse

from emails.models import Email, Mailbox

pytestmark = pytest.mark.django_db


def send(client, subject: str, capture) -> Email:
    with capture(execute=True):
        response = client.post(
            reverse("emails:compose"),
            {"to": "ann@ex.org", "cc": "", "bcc": "", "subject": subject, "body": "Our offer", "track": "on"},
        )
    assert response.status_code == 302
    email = Email.objects.get(subject=subject)
    assert email.status == Email.Status.SENT
    return email


def offers_outbox(client, email: Email) -> bool:
    return "Development outbox" in client.get(reverse("emails:detail", args=[email.pk])).content.decode()


def test_only_an_email_the_development_mailbox_delivered_offers_the_outbox(
    sender, rep_client, smtp_server, settings, django_capture_on_commit_callbacks
):
    settings.DEBUG = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    through_smtp = send(rep_client, "Through SMTP", django_capture_on_commit_callbacks)
    assert len(smtp_server.received) == 1
    assert not offers_outbox(rep_client, through_smtp)

    Mailbox.objects.filter(user=sender).update(kind=Mailbox.Kind.DEVELOPMENT)
    to_the_outbox = send(rep_client, "To the outbox", django_capture_on_commit_callbacks)

    assert offers_outbox(rep_client, to_the_outbox)
    assert not offers_outbox(rep_client, through_smtp)
    settings.DEBUG = False
    assert not offers_outbox(rep_client, to_the_outbox)
