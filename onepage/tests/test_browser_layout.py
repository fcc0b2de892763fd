"""Every page of the app on a 390 px phone and a 1280 px window: nothing wider
than the screen, with the data that stretches layouts (a 100-character name
without spaces, an email opened 15 times, a failed email). Screenshots go to
var/screenshots/layout-<width>-<page>.png."""

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from conftest import screenshot, sign_in
from contacts import links
from contacts.tests.factories import ContactFactory
from emails.models import ERASED_ADDRESS, Email
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory, MailboxFactory
from tracking.hits import Open
from tracking.models import Verdict
from tracking.tests.open_helpers import add_opens
from tracking.writer import write_opens

pytestmark = pytest.mark.browser

LONG_NAME = "Maximilian" + "x" * 90


@pytest.fixture
def a_busy_day(org, admin_user, rep_user, settings):
    settings.DEBUG = True  # the development outbox pages exist in DEBUG only
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    # Synced over IMAP: Email sync shows both halves and the sync status.
    MailboxFactory(user=rep_user, imap_host="imap.example.com", imap_username="r" * 80 + "@example.com")
    long = ContactFactory(
        organization=org, first_name=LONG_NAME, last_name="Y" * 40, company="C" * 80, email=f"{'l' * 60}@example.com"
    )
    email = EmailFactory(organization=org, sender=rep_user, subject="S" * 150)
    recipient = EmailRecipientFactory(email=email, contact=long, address=long.email)
    # A recipient whose contact was deleted (privacy.erasure).
    EmailRecipientFactory(email=email, contact=None, address=ERASED_ADDRESS, track_opens=False)
    now = timezone.now()
    add_opens(recipient, [now - dt.timedelta(minutes=m) for m in range(15)])
    # Automatic fetches: "+2 automatic fetches" and their kinds in the report.
    automatic = [(Verdict.PRIVACY_PREFETCH, 2), (Verdict.SCANNER, 4)]
    write_opens(
        opens=[
            Open(recipient_id=recipient.pk, opened_at=now - dt.timedelta(minutes=m, seconds=30), key=v, pre_verdict=v)
            for v, m in automatic
        ]
    )
    failed = EmailFactory(
        organization=org, sender=rep_user, status=Email.Status.FAILED, sent_at=None, error="550 " + "e" * 200
    )
    EmailRecipientFactory(email=failed, contact=long, address=long.email)
    return {"contact": long, "email": email, "failed": failed}


def _pages(data) -> dict[str, str]:
    contact, email, failed = data["contact"].pk, data["email"].pk, data["failed"].pk
    return {
        "contacts": "/contacts/",
        "contact-new": "/contacts/new/",
        "contact": f"/contacts/{contact}/",
        "contact-email-tab": f"/contacts/{contact}/?tab=email",
        "contact-edit": f"/contacts/{contact}/edit/",
        "contact-delete": f"/contacts/{contact}/delete/",
        "contact-ask-consent": f"/email/ask-consent/{contact}/",
        "sent": "/email/",
        "open-tracking": "/email/open-tracking/",
        "failed": "/email/failed/",
        "compose": f"/email/compose/?contact={contact}",
        "email": f"/email/{email}/",
        "failed-email": f"/email/{failed}/",
        "settings": "/settings/",
        "profile": "/settings/profile/",
        "password": "/accounts/password_change/",
        "plan": "/settings/plan/",
        "email-configuration": "/settings/email-configuration/",
        "email-sync": "/settings/email-sync/",
        "outbox": "/dev/outbox/",
        # The recipient's own page (no login needed; the long name stretches it).
        "preference": reverse("privacy_public:preference", args=[links.make_token(contact)]),
        "not-found": "/no/such/page/",
    }


@pytest.mark.parametrize("width", [390, 1280])
def test_no_page_is_wider_than_the_screen(page, a_busy_day, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "rex")
    too_wide = {}
    for name, url in _pages(a_busy_day).items():
        page.goto(url)
        scroll_width = page.evaluate("document.scrollingElement.scrollWidth")
        screenshot(page, f"layout-{width}-{name}")
        if scroll_width > width:
            too_wide[name] = scroll_width
    assert too_wide == {}


def test_sign_in_page_fits_a_phone(page, db):
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/accounts/login/")
    screenshot(page, "layout-390-login")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390


AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ")}`);
}"""


def test_no_page_has_a_serious_accessibility_violation(chromium, live_server, a_busy_day):
    if not AXE.exists():
        pytest.fail("axe-core is missing: make test installs it (npm ci)")
    # The checker is injected as a script of its own: past the pages' CSP.
    context = chromium.new_context(base_url=live_server.url, bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, "rex")
        found = {}
        for name, url in {**_pages(a_busy_day), "sign-in": "/accounts/login/"}.items():
            if name == "sign-in":
                context.clear_cookies()
            page.goto(url)
            page.add_script_tag(path=str(AXE))
            violations = page.evaluate(SERIOUS)
            if violations:
                found[name] = violations
        assert found == {}
    finally:
        context.close()


def test_the_open_report_opens_from_the_keyboard(page, a_busy_day):
    sign_in(page, "rex")
    page.goto("/email/open-tracking/")
    for _ in range(40):  # Tab through the page until the report's summary has the focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.tagName") == "SUMMARY":
            break
    else:
        pytest.fail("the open report cannot be reached with Tab")
    assert "Opened 15 times" in page.evaluate("document.activeElement.textContent + document.activeElement.innerHTML")
    page.keyboard.press("Enter")
    assert page.locator(".report-pop .report-body").first.is_visible()
    page.locator(".report-pop .report-body .open-report").first.wait_for()  # loaded on opening (htmx)
