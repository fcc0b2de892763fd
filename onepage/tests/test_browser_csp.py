"""In Chromium: the pages work under the Content-Security-Policy, and the
policy is really enforced (the console check of the `page` fixture catches
what it blocks)."""

import pytest

from conftest import csp_violations, sign_in
from contacts.tests.factories import ContactFactory
from emails.tests.factories import EmailFactory, EmailRecipientFactory

pytestmark = pytest.mark.browser


def test_an_admin_walks_the_pages_and_the_browser_blocks_nothing(page, org, admin_user, rep_user):
    contact = ContactFactory(organization=org, first_name="Aoife")
    email = EmailFactory(organization=org, sender=rep_user, subject="Proposal")
    EmailRecipientFactory(email=email, contact=contact)

    sign_in(page, "ada")
    for path in ["/contacts/", f"/contacts/{contact.pk}/", "/email/", "/email/open-tracking/", "/settings/"]:
        response = page.goto(path)
        assert "script-src 'self'" in response.headers["content-security-policy"]

    # The "Showing" picker submits itself (static/js/onepage.js, no inline handler).
    page.goto("/email/")
    page.select_option("#sender", "all")
    page.wait_for_url("**/email/?sender=all")
    assert "Proposal" in page.inner_text("main")
    assert csp_violations(page.console_messages) == []


def test_the_policy_is_enforced_and_a_violation_is_seen(page, rep_user):
    sign_in(page, "rex")
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1';"
        " document.body.appendChild(s); }"
    )

    assert page.evaluate("() => window.injected") is None
    page.wait_for_timeout(100)  # console events arrive asynchronously
    assert csp_violations(page.console_messages)
    page.console_messages.clear()  # seen on purpose: not a failure of this test
