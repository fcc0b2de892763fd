"""In Chromium: a rep connects IMAP in Email sync, tests the connection
against a real Dovecot, and sees the sync status once the mailbox synced."""

from conftest import screenshot, sign_in
from emails.models import Mailbox
from emails.sync.mailbox_sync import sync_mailbox


def test_connect_imap_test_the_connection_and_see_the_sync_status(page, rep_user, smtp_server, imap_server):
    sign_in(page, "rex")
    page.goto("/settings/email-sync/")
    page.fill("input[name=smtp_host]", "127.0.0.1")
    page.fill("input[name=smtp_port]", str(smtp_server.port))
    page.check("input[name=security][value=none]")
    page.fill("input[name=username]", "rex")
    page.fill("input[name=password]", "rex-imap-pass")
    page.fill("input[name=from_address]", "rex@acme.example")
    page.fill("input[name=imap_host]", "127.0.0.1")
    page.fill("input[name=imap_port]", str(imap_server.port))
    page.check("input[name=imap_security][value=none]")
    assert page.locator("input[name=imap_same_login]").is_checked()

    page.click("button:has-text('Test connection')")
    imap_check = page.locator(".imap-check").inner_text()
    assert "IMAP: Connection works." in imap_check and "Sent: Sent" in imap_check
    screenshot(page, "s-email-sync-imap-tested")

    page.fill("input[name=password]", "rex-imap-pass")  # never sent back to the browser
    page.click("button:has-text('Connect')")
    page.wait_for_url("**/settings/email-sync/")
    assert "Waiting for the first sync" in page.locator(".sync-status").inner_text()

    sync_mailbox(mailbox_id=Mailbox.objects.get(user=rep_user).pk)  # what beat does every minute
    page.reload()
    assert "Last synced" in page.locator(".sync-status").inner_text()
    assert "Inbox: INBOX · Sent: Sent" in page.locator(".mailbox-summary").inner_text()
    screenshot(page, "s-email-sync-status")
