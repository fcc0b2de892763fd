"""In Chromium: a rep asks a contact for consent from the contact's page,
the request goes through the rep's mailbox to a real SMTP server, and the
recipient clicks the link in the delivered copy and refuses."""

import pytest

from conftest import screenshot, sign_in
from contacts.models import ConsentRecord, Contact, ContactActivity
from contacts.tests.factories import ContactFactory
from emails.models import Email, NotTrackedReason

pytestmark = pytest.mark.browser


def test_rep_asks_and_the_recipient_refuses_through_the_link(page, org, sender, smtp_server, settings, live_server):
    settings.SITE_URL = live_server.url
    settings.CELERY_TASK_ALWAYS_EAGER = True  # sent in the request, as in the embedded setup
    ann = ContactFactory(organization=org, first_name="Ann", email="ann@brightline.example", country="FR")

    sign_in(page, "rex")
    page.goto(f"/contacts/{ann.pk}/")
    page.click("text=Ask for consent")
    assert page.input_value("#id_subject") == "Pouvons-nous savoir quand vous ouvrez nos e-mails ?"
    screenshot(page, "consent-request")
    page.click("button:has-text('Send request')")
    page.wait_for_url(f"**/contacts/{ann.pk}/")
    assert "Sent." in page.inner_text("body")
    assert "Asked for consent to open tracking" in page.inner_text("#timeline")

    email = Email.objects.get()
    assert (email.status, email.track_opens, email.not_tracked_reason) == (
        Email.Status.SENT,
        False,
        NotTrackedReason.CONSENT_REQUEST,
    )
    (copy,) = smtp_server.received
    html = copy.part("text/html")
    assert "<img" not in html
    assert not ConsentRecord.objects.exists()
    assert ContactActivity.objects.filter(contact=ann, kind=ContactActivity.Kind.CONSENT_ASKED).count() == 1

    # The recipient, signed in nowhere, reads the copy in a blank tab (the
    # email's own styles are not the app's pages) and clicks the link.
    page.context.clear_cookies()
    reader = page.context.new_page()
    reader.on("console", lambda message: page.console_messages.append(message.text))
    reader.set_content(html)
    reader.click("a[href*='/o/p/']")
    reader.wait_for_url("**/o/p/**")
    assert reader.locator("html").get_attribute("lang") == "fr"
    reader.click("button[value=refused]")
    assert "vos ouvertures ne sont plus suivies" in reader.locator("#preference-done").inner_text()
    ann.refresh_from_db()
    assert ann.open_tracking == Contact.OpenTracking.REFUSED
    record = ConsentRecord.objects.get()
    assert (record.contact, record.by_recipient, record.method) == (ann, True, ConsentRecord.Method.LINK)
