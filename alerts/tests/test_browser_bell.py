"""The bell in Chromium: the rep's Email page is open; the recipient's mail
client loads the pixel from the live server (a browser context of its own);
the bell's count changes without a reload, the panel names the email and
the recipient, and its link opens the email. At 390 px the panel fits."""

import datetime as dt
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from conftest import MAIL_CLIENT_AGENT, screenshot, sign_in
from contacts.tests.factories import ContactFactory
from emails import pixels
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory
from tracking import recorder

pytestmark = pytest.mark.browser


@pytest.fixture
def spring_order(org, rep_user):
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    contact = ContactFactory(organization=org, first_name="Bea", last_name="Buyer", email="bea@buyer.example")
    email = EmailFactory(organization=org, sender=rep_user, subject="Spring order")
    delivered = timezone.now() - dt.timedelta(hours=1)
    recipient = EmailRecipientFactory(email=email, contact=contact, address=contact.email, delivered_at=delivered)
    return email, recipient


def _read_in_mail_client(page, recipient) -> None:
    """Bea's mail client (no cookie of the rep's) loads the pixel, then the
    recording pipeline catches up (a no-op without Redis: written directly)."""
    mail_client = page.context.browser.new_context(user_agent=MAIL_CLIENT_AGENT)
    try:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.url))
        response = mail_client.request.get(origin + urlsplit(pixels.pixel_url(recipient.pk)).path)
    finally:
        mail_client.close()
    assert response.status == 200 and response.headers["content-type"] == "image/gif"
    recorder.drain_opens()


def test_the_bell_counts_a_new_open_without_a_reload(page, spring_order):
    email, recipient = spring_order
    sign_in(page, "rex")
    page.goto(f"/email/{email.pk}/")
    badge = page.locator(".bell .bell-badge")
    page.wait_for_timeout(500)  # the count's first load
    assert badge.count() == 0
    page.evaluate("window.notReloaded = true")

    _read_in_mail_client(page, recipient)
    badge.wait_for(timeout=7_000)  # polled every 5 s
    assert badge.inner_text() == "1"
    assert page.evaluate("window.notReloaded") is True

    page.click(".bell > summary")
    item = page.locator(".bell-panel .bell-item")
    item.wait_for()
    assert "Bea Buyer opened Spring order" in " ".join(item.inner_text().split())
    assert "New" in item.inner_text()
    screenshot(page, "bell-1280-panel")

    page.click(".bell-panel .bell-link")
    page.wait_for_url(f"**/email/{email.pk}/")
    page.wait_for_timeout(500)
    assert page.locator(".bell .bell-badge").count() == 0  # read now


def test_the_panel_fits_a_phone(page, spring_order):
    email, recipient = spring_order
    page.set_viewport_size({"width": 390, "height": 800})
    sign_in(page, "rex")
    page.goto(f"/email/{email.pk}/")
    _read_in_mail_client(page, recipient)
    page.locator(".bell .bell-badge").wait_for(timeout=7_000)
    page.click(".bell > summary")
    page.locator(".bell-panel .bell-item").wait_for()
    screenshot(page, "bell-390-panel")
    box = page.locator(".bell .bell-panel").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390


def test_the_open_panel_has_no_serious_accessibility_violation(chromium, live_server, spring_order, rep_user):
    from onepage.tests.test_browser_layout import AXE, SERIOUS

    if not AXE.exists():
        pytest.fail("axe-core is missing: make test installs it (npm ci)")
    email, recipient = spring_order
    # The checker is injected as a script of its own: past the pages' CSP.
    context = chromium.new_context(base_url=live_server.url, bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, "rex")
        page.goto(f"/email/{email.pk}/")
        _read_in_mail_client(page, recipient)
        page.locator(".bell .bell-badge").wait_for(timeout=7_000)
        page.click(".bell > summary")
        page.locator(".bell-panel .bell-item").wait_for()
        page.add_script_tag(path=str(AXE))
        assert page.evaluate(SERIOUS) == []
    finally:
        context.close()
