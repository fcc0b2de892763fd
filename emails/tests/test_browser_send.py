"""In Chromium: a rep writes to a contact, the development mailbox delivers
it, the rep opens the delivered copy in /dev/outbox/ as its recipient would
see it (the frame loads the pixel), and the open shows on the email's page."""

import pytest
import time_machine
from django.utils import timezone

from conftest import READ_AFTER, screenshot, sign_in
from contacts.models import Contact
from contacts.tests.factories import ContactFactory
from emails.models import Email
from emails.tests.factories import EmailConfigurationFactory, MailboxFactory
from tracking import recorder

pytestmark = pytest.mark.browser


@pytest.fixture
def rep_with_dev_mailbox(org, rep_user, settings, live_server):
    settings.DEBUG = True  # the development outbox exists only in DEBUG
    settings.SITE_URL = live_server.url  # pixels must reach this server
    settings.CELERY_TASK_ALWAYS_EAGER = True  # sent in the request, as in the embedded setup
    rep_user.first_name, rep_user.last_name = "Rex", "Rep"
    rep_user.save(update_fields=["first_name", "last_name"])
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    MailboxFactory(user=rep_user, from_name="Rex Rep", from_address="rex@acme.example")
    return rep_user


def test_send_from_a_contact_then_open_it_in_the_outbox_and_see_the_open(page, org, rep_with_dev_mailbox):
    ann = ContactFactory(
        organization=org,
        first_name="Ann",
        last_name="Lee",
        email="ann.lee@brightline.example",
        company="Brightline",
        open_tracking=Contact.OpenTracking.ALLOWED,
    )
    sign_in(page, "rex")

    page.goto(f"/contacts/{ann.pk}/")
    page.click("text=Send email")
    page.wait_for_url(f"**/email/compose/?contact={ann.pk}")
    assert page.input_value("input[name=to]") == "ann.lee@brightline.example"
    page.fill("input[name=cc]", "not an address")
    page.fill("input[name=subject]", "Spring order: our offer")
    page.fill(
        "textarea[name=body]",
        "Hi Ann,\n\nThanks for the call today. The offer is at https://acme.example/offer\n\nBest,\nRex",
    )
    assert page.locator("input[name=track]").is_checked()
    page.click("button:has-text('Send')")
    # A bad Cc comes back as a field error, with everything typed still there.
    assert page.locator(".field.has-error .error").inner_text() == "Not a valid email address: not an address"
    assert page.input_value("input[name=subject]") == "Spring order: our offer"
    screenshot(page, "s-composer")
    page.fill("input[name=cc]", "")
    page.click("button:has-text('Send')")
    page.wait_for_url("**/email/*/")
    assert "Sent." in page.locator(".messages").inner_text()
    email = Email.objects.get()
    assert email.status == Email.Status.SENT and email.track_opens

    # The email's own page loads no pixel: nothing is recorded by looking at it.
    assert page.locator("img[src*='/o/']").count() == 0
    assert "Not opened yet" in page.locator("section.report-recipient").inner_text()

    # The development mailbox shows what the recipient got; she reads it
    # some minutes later.
    page.goto("/dev/outbox/")
    with (
        time_machine.travel(timezone.now() + READ_AFTER, tick=True),
        page.expect_response(lambda r: "/o/" in r.url and r.status == 200) as pixel,
    ):
        page.click("text=Spring order: our offer")
    assert pixel.value.headers["content-type"] == "image/gif"
    frame = page.frame_locator("iframe.outbox-frame")
    assert "Thanks for the call today." in frame.locator("body").inner_text()
    screenshot(page, "s-outbox-message")
    recorder.drain_opens()  # a no-op without Redis: the open was written directly

    page.goto(f"/email/{email.pk}/")
    row = page.locator("section.report-recipient")
    assert "Opened" in row.inner_text()
    assert row.locator(".report-n").get_attribute("data-open-count") == "1"
    screenshot(page, "s-email-page")
    email.refresh_from_db()
    assert email.open_count == 1


def test_connect_a_mailbox_test_it_and_get_sent_back_to_the_composer(page, org, rep_user, smtp_server, settings):
    settings.DEBUG = True
    contact = ContactFactory(organization=org, first_name="Ann", last_name="Lee")
    sign_in(page, "rex")

    # Without a mailbox, Send email leads to Email sync with the reason.
    page.goto(f"/contacts/{contact.pk}/")
    page.click("text=Send email")
    page.wait_for_url("**/settings/email-sync/?next=*")
    assert "Connect the mailbox you send from first" in page.locator(".messages").inner_text()

    # The development mailbox needs no server: its fields are hidden.
    page.check("input[name=kind][value=development]")
    assert not page.locator("input[name=smtp_host]").is_visible()
    page.check("input[name=kind][value=smtp]")
    assert page.locator("input[name=smtp_host]").is_visible()

    page.fill("input[name=smtp_host]", "127.0.0.1")
    page.fill("input[name=smtp_port]", str(smtp_server.port))
    page.check("input[name=security][value=none]")
    page.fill("input[name=username]", "rex")
    page.fill("input[name=password]", "s3cret-pass")
    page.fill("input[name=from_name]", "Rex Rep")
    page.fill("input[name=from_address]", "rex@acme.example")
    page.click("button:has-text('Test connection')")
    assert "Connection works." in page.locator(".check-result").inner_text()
    screenshot(page, "s-email-sync-tested")

    page.fill("input[name=password]", "s3cret-pass")  # never sent back to the browser
    page.click("button:has-text('Connect')")
    page.wait_for_url(f"**/email/compose/?contact={contact.pk}")
    assert "Mailbox connected" in page.locator(".messages").inner_text()
    assert rep_user.mailbox.smtp_port == smtp_server.port
