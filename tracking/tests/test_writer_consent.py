"""The contact's choice, asked again when an open is written (tracking.writer
reads recipients and contacts as plain values, the country as its code):
under the EU rule, an EU contact who has not allowed tracking is not
recorded, whatever the copy carried when it was sent."""

from datetime import UTC, datetime

import pytest

from contacts.models import Contact
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory
from tracking.hits import Open, new_hit_key
from tracking.models import OpenEvent
from tracking.writer import write_opens

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
ALLOWED, NOT_ASKED = Contact.OpenTracking.ALLOWED, Contact.OpenTracking.NOT_ASKED


@pytest.mark.parametrize(
    ("country", "choice", "eu_rule", "recorded"),
    [
        ("DE", NOT_ASKED, True, None),  # EU, not allowed: not recorded
        ("GB", NOT_ASKED, True, None),  # the UK GDPR too
        ("DE", ALLOWED, True, "identified"),
        ("US", NOT_ASKED, True, "identified"),  # outside the rule
        ("", NOT_ASKED, True, "aggregate"),  # country unknown: the organization's default
        ("DE", NOT_ASKED, False, "identified"),  # the rule off
    ],
)
def test_an_open_is_recorded_as_the_contacts_choice_stands_when_it_arrives(country, choice, eu_rule, recorded):
    email = EmailFactory()
    EmailConfigurationFactory(organization=email.organization, track_eu_only_with_consent=eu_rule)
    recipient = EmailRecipientFactory(email=email, contact__country=country, contact__open_tracking=choice)

    written = write_opens(opens=[Open(recipient_id=recipient.pk, opened_at=T0, key=new_hit_key())])

    events = list(OpenEvent.objects.filter(email=email).values_list("recipient_id", flat=True))
    expected = {None: [], "identified": [recipient.pk], "aggregate": [None]}[recorded]
    assert (written, events) == (len(expected), expected)
