"""The activity feed in Chromium, as an admin on a 390 px phone: Activity in
the top bar, their own emails' opens first; picking Everyone in the select
shows the team's (the page reloads by itself), each line saying who sent
it; the name opens the contact. Nothing is wider than the screen."""

import datetime as dt

import pytest
from django.utils import timezone

from conftest import screenshot, sign_in
from contacts.tests.factories import ContactFactory
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory
from tracking.tests.open_helpers import add_opens

pytestmark = pytest.mark.browser


@pytest.fixture
def two_senders(org, admin_user, rep_user):
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    now = timezone.now()
    made = {}
    for sender, first, subject, minutes in [(admin_user, "Bea", "Spring order", 30), (rep_user, "Carl", "Renewal", 3)]:
        contact = ContactFactory(organization=org, first_name=first, last_name="Buyer", email=f"{first}@x.example")
        email = EmailFactory(organization=org, sender=sender, subject=subject)
        recipient = EmailRecipientFactory(email=email, contact=contact, address=contact.email)
        add_opens(recipient, [now - dt.timedelta(minutes=minutes + m) for m in (0, 10)])
        made[first] = contact
    return made


def test_an_admin_picks_everyone_on_a_phone(page, two_senders, rep_user):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, "ada")
    page.click("nav.mainnav >> text=Activity")
    page.wait_for_url("**/activity/")
    (own,) = page.locator(".feed-line").all_inner_texts()
    assert own.startswith("Bea Buyer opened Spring order 2 times, last ")

    page.select_option("#feed-who", "everyone")
    page.wait_for_url("**/activity/?who=everyone*")
    lines = page.locator(".feed-line").all_inner_texts()
    assert [line.split(" opened ")[0] for line in lines] == ["Carl Buyer", "Bea Buyer"]
    meta = page.locator(".feed-meta").all_inner_texts()
    assert meta[0].endswith(f"sent by {rep_user.display_name}") and meta[1].endswith("sent by you")
    screenshot(page, "feed-390-everyone")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390

    page.click(".feed-line >> text=Carl Buyer")
    page.wait_for_url(f"**/contacts/{two_senders['Carl'].pk}/")
