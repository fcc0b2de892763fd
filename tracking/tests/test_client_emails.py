"""Emails that reached the CRM from the user's own mail client (source=client)
never carry or record tracking, and say so."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from emails.models import Email, NotTrackedReason
from emails.pixels import make_token
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from onepage.models import User
from tracking.models import OpenEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _development(settings):
    settings.DEBUG = True  # seed_demo runs in development only


def test_seed_demo_brings_untracked_client_emails_and_is_idempotent():
    call_command("seed_demo")
    call_command("seed_demo")
    client_emails = Email.objects.filter(source=Email.Source.CLIENT)
    assert client_emails.count() == 4
    assert set(client_emails.values_list("organization__name", flat=True)) == {"Acme Widgets", "Pro Plumbing"}
    for email in client_emails.prefetch_related("recipients"):
        assert (email.track_opens, email.not_tracked_reason, email.status) == (False, NotTrackedReason.CLIENT, "sent")
        assert [(r.track_opens, r.contact.organization_id) for r in email.recipients.all()] == [
            (False, email.organization_id)
        ]


def test_email_page_shows_the_crossed_eye_with_the_client_reason(client):
    call_command("seed_demo")
    client.force_login(User.objects.get(username="rex"))
    response = client.get(reverse("emails:index"))
    content = response.content.decode()
    assert "Re: pricing for the spring order" in content
    assert 'class="eye eye-off" role="img" title="Sent from your email client: not tracked"' in content


def test_pixel_of_a_client_email_records_nothing(client, org, settle_opens):
    # Even a row that claims to be tracked: the source alone rules it out.
    recipient = EmailRecipientFactory(
        email=EmailFactory(organization=org, source=Email.Source.CLIENT, track_opens=True), track_opens=True
    )
    response = client.get(reverse("tracking:pixel", args=[make_token(recipient.pk)]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert settle_opens() == 0
    assert not OpenEvent.objects.exists()
    recipient.refresh_from_db()
    assert recipient.open_count == 0
