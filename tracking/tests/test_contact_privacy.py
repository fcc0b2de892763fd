"""The contact's open-tracking preference, on the contact page and its edit form."""

import pytest
from django.urls import reverse

from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from emails.tests.factories import EmailConfigurationFactory

pytestmark = pytest.mark.django_db


def _details(client, contact) -> str:
    content = client.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    return content[content.index('id="contact-open-tracking"') :].split("</dd>")[0]


def test_refused_contact_page_says_emails_are_not_tracked(rep_client, org):
    contact = ContactFactory(organization=org, open_tracking=Contact.OpenTracking.REFUSED)
    assert _details(rep_client, contact) == (
        'id="contact-open-tracking">Refused<small class="help">Not tracked. The contact refused open tracking.</small>'
    )


def test_eu_contact_not_asked_is_shown_as_untracked_while_the_eu_rule_is_on(rep_client, org):
    config = EmailConfigurationFactory(organization=org, track_eu_only_with_consent=True)
    contact = ContactFactory(organization=org, country="DE", open_tracking=Contact.OpenTracking.NOT_ASKED)
    assert "Not asked<small" in _details(rep_client, contact)
    assert "tracked only when they have allowed it" in _details(rep_client, contact)

    config.track_eu_only_with_consent = False
    config.save(update_fields=["track_eu_only_with_consent"])
    assert _details(rep_client, contact) == 'id="contact-open-tracking">Not asked'


def test_allowed_contact_shows_just_the_preference(rep_client, org):
    contact = ContactFactory(organization=org, country="FR", open_tracking=Contact.OpenTracking.ALLOWED)
    assert _details(rep_client, contact) == 'id="contact-open-tracking">Allowed'


def test_preference_is_edited_through_the_contact_form(rep_client, org):
    contact = ContactFactory(organization=org, first_name="Aoife", email="aoife@example.org", country="IE")
    response = rep_client.post(
        reverse("contacts:edit", args=[contact.pk]),
        {"first_name": "Aoife", "email": "aoife@example.org", "country": "IE", "open_tracking": "allowed"},
        follow=True,
    )
    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.open_tracking == Contact.OpenTracking.ALLOWED
    assert _details(rep_client, contact) == 'id="contact-open-tracking">Allowed'
