"""Allow open tracking off governs sending: emails sent from then on carry no
pixel, and emails already sent keep counting their opens. The setting, its
confirmation page and the message after it say exactly that."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from emails.models import EmailConfiguration
from emails.tests.factories import EmailConfigurationFactory
from tracking.tests.open_helpers import add_opens, email_with_opens

pytestmark = pytest.mark.django_db

PAGE = reverse("email_configuration")
CHANGE = reverse("email_configuration_change")
SWITCHED_OFF = {"track_eu_only_with_consent": "on", "delete_opens_on_withdrawal": "on"}
ALREADY_SENT_WORDS = "Emails already sent keep counting their opens."


@pytest.fixture
def config(org):
    return EmailConfigurationFactory(organization=org, allow_open_tracking=True, track_eu_only_with_consent=True)


def test_the_setting_says_emails_already_sent_keep_counting_their_opens(admin_client, config):
    text = admin_client.get(PAGE).content.decode()
    assert "When this is off, no email is tracked" not in text
    assert "Off: emails sent from then on carry no pixel." in text
    assert ALREADY_SENT_WORDS in text


def test_the_confirmation_page_says_what_happens_to_emails_already_sent(admin_client, config):
    text = admin_client.post(CHANGE, SWITCHED_OFF).content.decode()
    assert "Switch off open tracking?" in text
    assert "Emails sent from now on are <strong>not tracked</strong>: they are sent without a pixel." in text
    assert ALREADY_SENT_WORDS in text
    assert "when someone opens one, the open is recorded and counted as before" in text


def test_the_words_hold_opens_of_an_email_sent_before_still_count(admin_client, org, rep_user, config, settings):
    sent_before = email_with_opens(organization=org, sender=rep_user)
    response = admin_client.post(CHANGE, {**SWITCHED_OFF, "confirm": "yes"}, follow=True)
    assert f"Allow open tracking is off. Emails sent from now on are not tracked. {ALREADY_SENT_WORDS}" in (
        response.content.decode()
    )
    assert EmailConfiguration.objects.get(organization=org).allow_open_tracking is False

    add_opens(sent_before.recipients.get(), [timezone.now() - dt.timedelta(minutes=1)])
    sent_before.refresh_from_db()
    assert sent_before.open_count == 1


def test_colleagues_who_cannot_change_it_read_the_same_words_while_it_is_off(rep_client, org, config):
    EmailConfiguration.objects.filter(organization=org).update(allow_open_tracking=False)
    text = rep_client.get(PAGE).content.decode()
    assert ALREADY_SENT_WORDS in text
