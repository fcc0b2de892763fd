"""Tracking modes per recipient: identified, aggregate, off. Under the EU
rule, an address that is no contact (kunde@firma.de in Cc) is tracked in
aggregate by default: its open counts in the email's total, and no
recipient row shows it. Through a real SMTP server and the drain."""

from datetime import timedelta

import pytest
from django.urls import reverse

from conftest import read_copy, send_from_composer
from contacts.tests.factories import ContactFactory
from emails.models import Email, EmailConfiguration, EmailRecipient, NotTrackedReason, TrackingMode
from tracking.models import OpenEvent

pytestmark = pytest.mark.django_db

KUNDE = "kunde@firma.de"


@pytest.fixture
def lena(org):
    return ContactFactory(organization=org, first_name="Lena", email="lena@northwind.example", country="US")


def _send(client, capture, smtp_server) -> tuple[Email, dict[str, str]]:
    email = send_from_composer(client, capture, to="lena@northwind.example", cc=KUNDE, subject="Offer")
    return email, {m.rcpt_tos[0]: m.part("text/html") for m in smtp_server.received}


def test_non_contact_under_the_eu_rule_is_counted_in_the_total_only(
    org, sender, rep_client, lena, smtp_server, settle_opens, django_capture_on_commit_callbacks
):
    email, copies = _send(rep_client, django_capture_on_commit_callbacks, smtp_server)
    kunde = email.recipients.get(address=KUNDE)
    assert kunde.tracking_mode == TrackingMode.AGGREGATE
    assert email.recipients.get(address=lena.email).tracking_mode == TrackingMode.IDENTIFIED

    read_copy(copies[KUNDE])
    read_copy(copies[KUNDE], after=timedelta(hours=1))
    assert settle_opens() == 2

    email.refresh_from_db()
    kunde.refresh_from_db()
    assert email.open_count == 2 and email.last_opened_at is not None
    assert (kunde.open_count, kunde.first_opened_at, kunde.last_opened_at) == (0, None, None)
    assert not OpenEvent.objects.filter(recipient__isnull=False).exists()

    page = rep_client.get(reverse("emails:detail", args=[email.pk])).content.decode()
    section = page[page.index(f'data-address="{KUNDE}"') :].split("</section>")[0]
    assert "Opens counted in the email&#x27;s total only" in section
    assert "Opened" not in section and "<time" not in section
    assert "Opened 2 times" in page


def test_the_organization_may_switch_unknown_recipients_off_or_to_identified(
    org, sender, rep_client, lena, smtp_server, django_capture_on_commit_callbacks
):
    EmailConfiguration.objects.filter(organization=org).update(unknown_recipients=TrackingMode.OFF)
    email, copies = _send(rep_client, django_capture_on_commit_callbacks, smtp_server)
    kunde = email.recipients.get(address=KUNDE)
    assert (kunde.tracking_mode, kunde.not_tracked_reason) == (TrackingMode.OFF, NotTrackedReason.UNKNOWN_RECIPIENT)
    assert "/o/" not in copies[KUNDE]


def test_without_the_eu_rule_a_non_contact_is_identified(
    org, sender, rep_client, lena, smtp_server, settle_opens, django_capture_on_commit_callbacks
):
    EmailConfiguration.objects.filter(organization=org).update(track_eu_only_with_consent=False)
    _, copies = _send(rep_client, django_capture_on_commit_callbacks, smtp_server)
    read_copy(copies[KUNDE])
    settle_opens()
    assert EmailRecipient.objects.get(address=KUNDE).open_count == 1


def test_a_contact_of_unknown_country_becomes_aggregate_at_open_time_when_the_rule_is_switched_on(
    org, sender, rep_client, lena, smtp_server, settle_opens, django_capture_on_commit_callbacks
):
    EmailConfiguration.objects.filter(organization=org).update(track_eu_only_with_consent=False)
    lena.country = ""
    lena.save()
    email, copies = _send(rep_client, django_capture_on_commit_callbacks, smtp_server)
    EmailConfiguration.objects.filter(organization=org).update(track_eu_only_with_consent=True)
    read_copy(copies[lena.email])
    settle_opens()
    email.refresh_from_db()
    assert email.open_count == 1
    assert email.recipients.get(address=lena.email).open_count == 0
