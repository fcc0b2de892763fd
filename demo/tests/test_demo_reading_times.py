"""The demo gives the contact page's reading times something true to show,
whichever day it is seeded: a contact read often enough for "Usually
reads", one fetched only by Apple's privacy protection, one not tracked."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from demo.management.commands.seed_demo import REFUSED_CONTACT
from onepage.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=None)


def _card(client, org, index: int) -> str:
    """The reading times of the organization's contact `index` (as seed_demo counts them)."""
    contact = org.contacts.order_by("pk")[index]
    html = client.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    return html[html.index('id="reading-times"') :]


def test_the_demo_contacts_show_a_pattern_automatic_fetches_and_a_reason(client, seeded):
    rex = User.objects.get(username="rex")
    client.force_login(rex)
    org = rex.membership.organization
    dmitri = _card(client, org, 3)  # the spring order, opened 14 times over six days
    assert "Usually reads" in dmitri and "Median time to first open: 1\N{EN DASH}2 hours." in dmitri
    assert "Only automatic fetches so far: Apple Mail privacy protection" in _card(client, org, 9)  # Jonas
    assert "Not tracked: the contact refused open tracking." in _card(client, org, REFUSED_CONTACT)
