"""Browser notifications (the Notification API): only for a user who turned
"Show browser notifications" on, and only where the browser allows them.
The bell's 5 s poll carries them (?browser=1, asked by browser-notify.js
where the permission is granted); the script shows each once; clicking one
opens its email. In Chromium: the permission granted, the recipient's pixel
loaded from another context, the notification within 5 s; and none without
the opt-in. The settings page's permission button, at 390 px, and axe."""

import datetime as dt
import time
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import AlertSettings, Notification
from conftest import MAIL_CLIENT_AGENT, screenshot, sign_in
from contacts.tests.factories import ContactFactory
from emails import pixels
from emails.tests.factories import EmailConfigurationFactory, EmailFactory, EmailRecipientFactory
from onepage.tests.factories import MembershipFactory
from tracking import recorder
from tracking.hits import Open
from tracking.writer import write_opens

_keys = iter(range(10**9))


@pytest.fixture
def spring_order(org, rep_user):
    EmailConfigurationFactory(organization=org, allow_open_tracking=True)
    contact = ContactFactory(organization=org, first_name="Bea", last_name="Buyer", email="bea@buyer.example")
    email = EmailFactory(organization=org, sender=rep_user, subject="Spring order")
    delivered = timezone.now() - dt.timedelta(hours=1)
    recipient = EmailRecipientFactory(email=email, contact=contact, address=contact.email, delivered_at=delivered)
    return email, recipient


def opted_in(user, on: bool = True) -> None:
    AlertSettings.objects.update_or_create(user=user, defaults={"browser": on})


def opened(recipient, django_capture_on_commit_callbacks, at=None) -> None:
    key = f"bn-{next(_keys)}"
    with django_capture_on_commit_callbacks(execute=True):
        write_opens(opens=[Open(recipient_id=recipient.pk, opened_at=at or timezone.now(), key=key)])


def polled(client, **params) -> str:
    response = client.get(reverse("alerts:count"), params)
    assert response.status_code == 200
    return response.content.decode()


# --- The poll's answer ------------------------------------------------------


@pytest.mark.django_db
def test_the_poll_carries_fresh_notifications_for_a_user_who_opted_in(
    rep_client, rep_user, spring_order, django_capture_on_commit_callbacks
):
    _, recipient = spring_order
    opted_in(rep_user)
    opened(recipient, django_capture_on_commit_callbacks)
    n = Notification.objects.get()
    html = polled(rep_client, browser="1")
    assert f'data-notify-id="{n.pk}"' in html
    assert 'data-title="Bea Buyer opened"' in html and 'data-body="Spring order"' in html
    assert f'data-url="{reverse("alerts:open", args=[n.pk])}"' in html
    assert "data-notify-id" not in polled(rep_client)  # the plain poll: the count only


@pytest.mark.django_db
def test_nothing_for_the_browser_without_the_opt_in(
    rep_client, rep_user, spring_order, django_capture_on_commit_callbacks
):
    opened(spring_order[1], django_capture_on_commit_callbacks)
    assert "data-notify-id" not in polled(rep_client, browser="1")
    opted_in(rep_user, on=False)
    assert "data-notify-id" not in polled(rep_client, browser="1")
    assert "bell-badge" in polled(rep_client, browser="1")


@pytest.mark.django_db
def test_only_fresh_unread_own_notifications(
    rep_client, rep_user, admin_client, admin_user, spring_order, django_capture_on_commit_callbacks
):
    _, recipient = spring_order
    opted_in(rep_user)
    opted_in(admin_user)
    opened(recipient, django_capture_on_commit_callbacks)
    assert "data-notify-id" not in polled(admin_client, browser="1")  # Rex's, not Ada's
    Notification.objects.update(created_at=timezone.now() - dt.timedelta(minutes=11))
    assert "data-notify-id" not in polled(rep_client, browser="1")  # too old to pop up now
    Notification.objects.update(created_at=timezone.now(), read_at=timezone.now())
    assert "data-notify-id" not in polled(rep_client, browser="1")  # read already


@pytest.mark.django_db
def test_the_words_are_escaped(rep_client, rep_user, spring_order, django_capture_on_commit_callbacks):
    email, recipient = spring_order
    email.subject = '"><script>alert(1)</script>'
    email.save(update_fields=["subject"])
    opted_in(rep_user)
    opened(recipient, django_capture_on_commit_callbacks)
    html = polled(rep_client, browser="1")
    assert "<script>" not in html and 'data-body="&quot;&gt;&lt;script&gt;' in html


@pytest.mark.django_db
def test_the_opted_in_poll_costs_one_query_more(
    rep_client, rep_user, spring_order, django_capture_on_commit_callbacks, django_assert_num_queries
):
    opted_in(rep_user)
    opened(spring_order[1], django_capture_on_commit_callbacks)
    polled(rep_client)  # the session, warmed
    # The session, the user, the membership, the count (the plain poll's 4),
    # and the fresh notifications, the opt-in a condition of that query.
    with django_assert_num_queries(5):
        assert "data-notify-id" in polled(rep_client, browser="1")
    with django_assert_num_queries(4):
        assert "data-notify-id" not in polled(rep_client)


# --- In Chromium --------------------------------------------------------------

# Wraps the Notification API: each notification made is recorded (title,
# body, tag, and the object itself, for its onclick), whatever the real one
# does in a headless browser.
RECORD_NOTIFICATIONS = """(() => {
  const Real = window.Notification;
  const made = [];
  function Recording(title, options = {}) {
    let real = null;
    try { real = new Real(title, options); } catch (error) { real = {close() {}}; }
    made.push({title, body: options.body, tag: options.tag, n: real});
    return real;
  }
  Object.defineProperty(Recording, "permission", {get: () => Real.permission});
  Recording.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Recording;
  window.madeNotifications = made;
})();"""


@pytest.fixture
def notifying_page(chromium, live_server, transactional_db):
    """A tab whose browser granted OnePage the notifications permission."""
    context = chromium.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    context.grant_permissions(["notifications"], origin=live_server.url)
    context.add_init_script(RECORD_NOTIFICATIONS)
    page = context.new_page()
    yield page
    context.close()


def _read_in_mail_client(page, recipient) -> None:
    mail_client = page.context.browser.new_context(user_agent=MAIL_CLIENT_AGENT)
    try:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.url))
        response = mail_client.request.get(origin + urlsplit(pixels.pixel_url(recipient.pk)).path)
    finally:
        mail_client.close()
    assert response.status == 200
    recorder.drain_opens()


def _wait_until(page, expression: str, timeout: float = 7.0) -> None:
    """Polls from here: wait_for_function evaluates its string in the page,
    which the CSP refuses (no unsafe-eval)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"not within {timeout} s: {expression}"
        page.wait_for_timeout(100)


def _made(page) -> list[dict]:
    return page.evaluate("window.madeNotifications.map(({title, body, tag}) => ({title, body, tag}))")


@pytest.mark.browser
def test_a_browser_notification_within_5_seconds_and_clicking_it_opens_the_email(
    notifying_page, spring_order, rep_user
):
    page = notifying_page
    email, recipient = spring_order
    opted_in(rep_user)
    sign_in(page, "rex")
    page.goto(f"/email/{email.pk}/")
    page.wait_for_timeout(500)  # the count's first load
    assert _made(page) == []

    _read_in_mail_client(page, recipient)
    _read_at = time.monotonic()
    _wait_until(page, "window.madeNotifications.length > 0")  # polled every 5 s
    waited = time.monotonic() - _read_at
    n = Notification.objects.get(user=rep_user)
    assert _made(page) == [{"title": "Bea Buyer opened", "body": "Spring order", "tag": f"onepage-notification-{n.pk}"}]
    assert waited <= 5.5, waited

    # A reload (or another tab) does not show it again.
    page.reload()
    page.locator(".bell .bell-badge").wait_for()
    page.wait_for_timeout(5_500)
    assert _made(page) == []

    # The one shown before the reload: its click opens the email, read now.
    page.goto(f"/email/{email.pk}/")
    page.evaluate("localStorage.clear()")
    _wait_until(page, "window.madeNotifications.length > 0")
    page.evaluate("window.madeNotifications[0].n.onclick()")
    page.wait_for_url(f"**/email/{email.pk}/")
    page.wait_for_timeout(500)
    n.refresh_from_db()
    assert n.read_at is not None
    assert page.locator(".bell .bell-badge").count() == 0


@pytest.mark.browser
def test_no_browser_notification_without_the_opt_in_even_with_the_permission(notifying_page, spring_order):
    page = notifying_page
    email, recipient = spring_order
    sign_in(page, "rex")
    page.goto(f"/email/{email.pk}/")
    _read_in_mail_client(page, recipient)
    page.locator(".bell .bell-badge").wait_for(timeout=7_000)  # the poll has seen it
    page.wait_for_timeout(5_500)  # and once more
    assert _made(page) == []


@pytest.mark.browser
def test_the_settings_page_asks_the_browser_and_says_what_it_answered(page, rep_user, notifying_page):
    # Not asked yet: the button asks; headless Chromium, unasked, refuses.
    sign_in(page, "rex")
    page.goto(reverse("alerts:settings"))
    state = page.locator("[data-permission-state]")
    assert "not been asked" in state.inner_text()
    page.click("[data-ask-permission] button")
    _wait_until(page, "!document.querySelector('[data-permission-state]').textContent.includes('not been')")
    assert "blocked" in state.inner_text() or "allows" in state.inner_text()
    # Granted: says so, no button.
    sign_in(notifying_page, "rex")
    notifying_page.goto(reverse("alerts:settings"))
    assert "allows OnePage" in notifying_page.locator("[data-permission-state]").inner_text()
    assert notifying_page.locator("[data-ask-permission]").is_hidden()


@pytest.mark.browser
def test_the_settings_page_fits_a_phone_and_saves(page, org, admin_user, rep_user):
    for first, last in [("Otto", "Ottoson"), ("Maximilian" + "x" * 40, "Long")]:
        MembershipFactory(organization=org, user__first_name=first, user__last_name=last)
    page.set_viewport_size({"width": 390, "height": 800})
    sign_in(page, "ada")
    page.goto("/settings/")
    page.click(".tile:has-text('Notifications')")
    page.wait_for_url("**/alerts/settings/")
    screenshot(page, "notifications-settings-390")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    page.fill("#id_came_back_after_hours", "0")
    page.click(".alert-settings button[type=submit]")
    assert "at least 1 hour" in page.locator(".has-error").inner_text()
    page.fill("#id_came_back_after_hours", "48")
    page.check("text=Otto Ottoson")
    page.click(".alert-settings button[type=submit]")
    assert "settings were saved" in page.locator(".messages").inner_text()
    chosen = AlertSettings.objects.get(user=admin_user)
    assert chosen.came_back_after_hours == 48 and [u.first_name for u in chosen.follows.all()] == ["Otto"]
    screenshot(page, "notifications-settings-390-saved")


@pytest.mark.browser
def test_the_admins_settings_page_has_no_serious_accessibility_violation(chromium, live_server, admin_user, rep_user):
    from onepage.tests.test_browser_layout import AXE, SERIOUS

    if not AXE.exists():
        pytest.fail("axe-core is missing: make test installs it (npm ci)")
    context = chromium.new_context(base_url=live_server.url, bypass_csp=True)
    page = context.new_page()
    try:
        sign_in(page, "ada")
        page.goto(reverse("alerts:settings"))
        page.click(".alert-settings button[type=submit]")  # with its errors shown too
        page.fill("#id_came_back_after_hours", "")
        page.click(".alert-settings button[type=submit]")
        page.add_script_tag(path=str(AXE))
        assert page.evaluate(SERIOUS) == []
    finally:
        context.close()
