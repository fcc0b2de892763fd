"""In Chromium: the Email sync form shows what applies (the IMAP login only
when it is not the SMTP one), keeps what was typed through Test connection,
and Sync now says what came in, on a phone as on a desktop."""

import pytest

from conftest import screenshot, sign_in
from contacts.tests.factories import ContactFactory
from emails import crypto
from emails.models import Mailbox
from emails.tests.factories import MailboxFactory, connect_imap
from emails.tests.imap_messages import raw_message

pytestmark = pytest.mark.browser


def test_the_imap_login_shows_only_when_it_differs_and_a_tested_form_saves_as_typed(
    page, rep_user, smtp_server, imap_server
):
    sign_in(page, "rex")
    page.goto("/settings/email-sync/")
    page.fill("input[name=smtp_host]", "127.0.0.1")
    page.fill("input[name=smtp_port]", str(smtp_server.port))
    page.check("input[name=security][value=none]")
    page.fill("input[name=username]", "rex@acme.example")
    page.fill("input[name=password]", "smtp-pass")
    page.fill("input[name=from_address]", "rex@acme.example")
    page.fill("input[name=imap_host]", "127.0.0.1")
    page.fill("input[name=imap_port]", str(imap_server.port))
    page.check("input[name=imap_security][value=none]")

    assert page.locator("input[name=imap_same_login]").is_checked()
    assert page.locator("input[name=imap_username]").is_hidden()
    assert page.locator("input[name=imap_password]").is_hidden()
    page.uncheck("input[name=imap_same_login]")
    assert page.locator("input[name=imap_username]").is_visible()
    page.fill("input[name=imap_username]", "rex")
    page.fill("input[name=imap_password]", "rex-imap-pass")

    page.click("button:has-text('Test connection')")
    assert "IMAP: Connection works." in page.locator(".imap-check").inner_text()
    # Nothing typed was lost, the passwords included: Connect saves as tested.
    assert page.input_value("input[name=imap_password]") == "rex-imap-pass"
    assert page.input_value("input[name=password]") == "smtp-pass"
    screenshot(page, "s-email-sync-own-imap-login-tested")
    page.click("button.btn-primary")
    page.wait_for_url("**/settings/email-sync/")
    assert "Mailbox connected" in page.locator(".messages").inner_text()
    mailbox = Mailbox.objects.get(user=rep_user)
    assert mailbox.imap_username == "rex" and crypto.decrypt(mailbox.imap_password_encrypted) == "rex-imap-pass"
    assert crypto.decrypt(mailbox.password_encrypted) == "smtp-pass"


@pytest.mark.parametrize("width", [390, 1280])
def test_sync_now_on_a_phone_and_a_desktop(page, org, rep_user, imap_server, width):
    ContactFactory(organization=org, first_name="Alice", email="alice@client.example")
    connect_imap(MailboxFactory(user=rep_user, from_address="rex@acme.example"), imap_server)
    with imap_server.client("rex") as client:
        client.append("INBOX", raw_message(sender="alice@client.example", to=["rex@acme.example"], message_id="<a@c>"))
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "rex")
    page.goto("/settings/email-sync/")
    assert "Waiting for the first sync" in page.locator(".sync-status").inner_text()

    page.click("button:has-text('Sync now')")
    page.wait_for_url("**/settings/email-sync/")

    assert page.locator(".messages").inner_text() == "Synced: 1 email came in."
    assert "Last synced" in page.locator(".sync-status").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box = page.locator("button:has-text('Sync now')").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    screenshot(page, f"s-email-sync-now-{width}")
