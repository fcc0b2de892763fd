"""The contact form says, at entry, what a missing country means for the
tracking of emails to the contact while the EU rule is on; the contact's page
says it of a contact saved that way; "Add as a contact" from the composer
brings the address typed there."""

import pytest
from django.urls import reverse

from contacts.tests.factories import ContactFactory
from emails.models import EmailConfiguration, TrackingMode
from emails.tests.factories import EmailConfigurationFactory

pytestmark = pytest.mark.django_db


def _country_help(page: str) -> str:
    start = page.index('id="id_country"')
    return page[start : page.index("</div>", start)]


@pytest.mark.parametrize(
    ("unknown", "words"),
    [
        (TrackingMode.AGGREGATE, "without a country, their opens are counted in the email&#x27;s total only"),
        (TrackingMode.OFF, "without a country, emails to them are not tracked"),
        (TrackingMode.IDENTIFIED, "without a country, their opens are tracked by name"),
    ],
)
def test_the_contact_form_says_what_a_missing_country_means(org, rep_client, unknown, words):
    EmailConfigurationFactory(organization=org, unknown_recipients=unknown)
    page = rep_client.get(reverse("contacts:create")).content.decode()
    assert words in _country_help(page)
    assert "In the EU/EEA or the UK, they are tracked only once they allow it." in _country_help(page)


def test_without_the_eu_rule_the_form_says_nothing_of_it(org, rep_client):
    EmailConfigurationFactory(organization=org, track_eu_only_with_consent=False)
    page = rep_client.get(reverse("contacts:create")).content.decode()
    assert "EU/EEA" not in _country_help(page)


def test_a_contact_saved_without_a_country_says_so_on_its_page(org, rep_client):
    response = rep_client.post(
        reverse("contacts:create"),
        {"first_name": "Nina", "last_name": "Newlead", "email": "nina@newlead.example", "open_tracking": "not_asked"},
    )
    assert response.status_code == 302
    page = rep_client.get(response["Location"]).content.decode()
    line = page[page.index('id="contact-open-tracking"') :].split("</dd>")[0]
    assert "Opens counted in the email's total only: no country is set" in line
    assert EmailConfiguration.objects.get(organization=org).unknown_recipients == TrackingMode.AGGREGATE


def test_add_as_a_contact_brings_the_typed_address(org, rep_client, other_org):
    page = rep_client.get(reverse("contacts:create") + "?email=new%40prospect.example").content.decode()
    assert 'value="new@prospect.example"' in page
    # Escaped like any value: a crafted link cannot write markup.
    page = rep_client.get(reverse("contacts:create") + '?email="><script>x</script>').content.decode()
    assert "<script>x</script>" not in page
    ContactFactory(organization=other_org, email="new@prospect.example")
    assert rep_client.get(reverse("contacts:create") + "?email=new%40prospect.example").status_code == 200
