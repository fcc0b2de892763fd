"""In Chromium: the recipient clicks the link in the footer of the copy they
received and refuses tracking, without an account."""

import re

import pytest

from conftest import screenshot
from contacts.models import ConsentRecord, Contact
from contacts.tests.factories import ContactFactory
from emails.models import Email, EmailConfiguration
from emails.tasks import send_email

pytestmark = pytest.mark.browser


def test_recipient_clicks_the_footer_link_of_the_delivered_copy_and_refuses(
    page, org, sender, client, smtp_server, settings, live_server
):
    settings.SITE_URL = live_server.url
    EmailConfiguration.objects.filter(organization=org).update(preference_link=True)
    ann = ContactFactory(
        organization=org, first_name="Ann", email="ann@brightline.example", country="FR", open_tracking="allowed"
    )
    client.force_login(sender)
    client.post("/email/compose/", {"to": ann.email, "subject": "Offer", "body": "Hello Ann", "track": "on"})
    email = Email.objects.get()
    if email.status != Email.Status.SENT:
        send_email.apply(args=[email.pk])
    html = smtp_server.received[-1].part("text/html")
    assert re.search(r"/o/p/[^\"]+/", html)

    page.set_content(html)
    page.click("text=Choose here")
    page.wait_for_url("**/o/p/**")
    assert page.locator("html").get_attribute("lang") == "fr"
    page.click("button[value=refused]")
    assert "vos ouvertures ne sont plus suivies" in page.locator("#preference-done").inner_text()
    screenshot(page, "s-recipient-refused")
    ann.refresh_from_db()
    assert ann.open_tracking == Contact.OpenTracking.REFUSED
    assert ConsentRecord.objects.get(contact=ann).by_recipient
