"""The open reports in Chromium, through the real flow: the rep writes two
emails in the composer, they go out through a real SMTP server, and the
recipient's mail client fetches the pixels from the live server."""

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
import time_machine
from django.utils import timezone

from conftest import MAIL_CLIENT_AGENT, screenshot, sign_in
from contacts.models import ContactActivity
from contacts.tests.factories import ContactFactory
from emails.models import Email, NotTrackedReason
from onepage.tests.factories import MembershipFactory
from tracking import recorder
from tracking.tests.open_helpers import email_with_opens

pytestmark = pytest.mark.browser

PIXEL_RE = re.compile(r'<img src="([^"]*/o/[^"/]+\.gif)"')


@pytest.fixture
def rep_with_mailbox(sender, settings):
    # The send task runs in the web request, as in the embedded setup.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    sender.first_name, sender.last_name = "Rex", "Rep"
    sender.save(update_fields=["first_name", "last_name"])
    return sender


def _send(page, contact, subject: str, body: str) -> None:
    page.goto(f"/contacts/{contact.pk}/")
    page.click("text=Send email")
    page.fill("input[name=subject]", subject)
    page.fill("textarea[name=body]", body)
    assert page.locator("input[name=track]").is_checked()  # Track is on by default
    page.click("button:has-text('Send')")
    page.wait_for_url("**/email/*/")


def _open_in_mail_client(page, smtp_server, subject: str, *, after: dt.timedelta) -> None:
    """The recipient reads the delivered copy `after` it arrived: their mail
    client (a browser context of its own, without the rep's cookies) fetches
    the pixel from the live server, then the recording pipeline catches up."""
    (received,) = [r for r in smtp_server.received if r.message["Subject"] == subject]
    (url,) = PIXEL_RE.findall(received.part("text/html"))
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(page.url))
    mail_client = page.context.browser.new_context(user_agent=MAIL_CLIENT_AGENT)
    try:
        with time_machine.travel(timezone.now() + after, tick=True):
            response = mail_client.request.get(origin + urlsplit(url).path)
    finally:
        mail_client.close()
    assert response.status == 200 and response.headers["content-type"] == "image/gif"
    recorder.drain_opens()  # a no-op without Redis: the open was written directly


def _earlier_history(org, rep, aoife) -> None:
    """What the rep sent in the past days, opened hours ago at the latest."""
    now = timezone.now()
    teammate = MembershipFactory(organization=org, user__first_name="Ada", user__last_name="Admin").user
    people = [("Bruno", "Rossi", "Northwind"), ("Chloé", "Dubois", "Bluepeak"), ("Greta", "Larsen", "Kestrel Labs")]
    for n, (first, last, company) in enumerate(people):
        contact = ContactFactory(organization=org, first_name=first, last_name=last, company=company)
        sent = now - dt.timedelta(days=n + 2, hours=3)
        opens = [sent + dt.timedelta(hours=h * 5 + 1) for h in range(4 - n)]
        email = email_with_opens(
            organization=org, sender=rep, contact=contact, subject=f"{company}: next steps", opens=opens
        )
        Email.objects.filter(pk=email.pk).update(created_at=sent, sent_at=sent)
    # Crossed eyes on Aoife's timeline: a teammate's email sent with Track off.
    untracked = email_with_opens(
        organization=org,
        sender=teammate,
        contact=aoife,
        subject="Welcome to Acme Widgets",
        track_opens=False,
        not_tracked_reason=NotTrackedReason.TOGGLE_OFF,
    )
    nine_days_ago = now - dt.timedelta(days=9)
    Email.objects.filter(pk=untracked.pk).update(created_at=nine_days_ago, sent_at=nine_days_ago)


def test_open_tracking_folder_and_contact_email_tab(page, org, rep_with_mailbox, smtp_server, settings):
    aoife = ContactFactory(
        organization=org, first_name="Aoife", last_name="Murphy", email="aoife@brightline.example", company="Brightline"
    )
    ContactActivity.objects.create(
        contact=aoife, kind="created", actor=rep_with_mailbox, at=timezone.now() - dt.timedelta(days=10)
    )
    _earlier_history(org, rep_with_mailbox, aoife)
    sign_in(page, "rex")

    _send(page, aoife, "Brightline proposal", "Hello Aoife,\n\nPlease find our proposal below.\n\nRex")
    _send(page, aoife, "Pricing for 50 seats", "Hello Aoife,\n\nHere is the pricing we discussed.\n\nRex")
    assert len(smtp_server.received) == 2

    # The newer email is opened twice, then the older one once, later.
    _open_in_mail_client(page, smtp_server, "Pricing for 50 seats", after=dt.timedelta(minutes=3))
    _open_in_mail_client(page, smtp_server, "Pricing for 50 seats", after=dt.timedelta(hours=1))
    _open_in_mail_client(page, smtp_server, "Brightline proposal", after=dt.timedelta(hours=2))

    page.goto("/email/")
    page.click("nav.folders >> text=Open tracking")
    page.wait_for_url("**/email/open-tracking/")
    rows = page.locator("table.mail-table tbody tr")
    assert rows.count() == 5
    assert "Brightline proposal" in rows.nth(0).inner_text()  # opened most recently
    assert "Pricing for 50 seats" in rows.nth(1).inner_text()
    assert rows.nth(0).locator("summary .eye").get_attribute("title") == "Opened once"
    assert rows.nth(1).locator("summary .eye").get_attribute("title") == "Opened 2 times"
    assert "Aoife Murphy" in rows.nth(0).inner_text()
    # The eye opens the report of the 2 opens.
    rows.nth(1).locator("summary").click()
    report = rows.nth(1).locator(".report-body")
    assert report.is_visible()
    report.locator(".open-times li").nth(1).wait_for()  # loaded on opening (htmx)
    assert report.locator(".open-times li").count() == 2
    screenshot(page, "open_tracking_folder")

    page.goto(f"/contacts/{aoife.pk}/")
    page.click("nav.tabs >> text=Email")
    events = page.locator("#timeline .mail-event")
    assert events.count() == 3
    assert "Pricing for 50 seats" in events.nth(0).inner_text()  # newest first
    assert events.nth(0).locator(".event-side .eye-count").inner_text() == "2"
    assert events.nth(1).locator(".event-side .eye-count").inner_text() == "1"
    crossed = events.nth(2).locator(".event-side .eye")
    assert "eye-off" in crossed.get_attribute("class")
    assert crossed.get_attribute("title") == "Not tracked: track was switched off for this email"
    events.nth(0).locator("summary").click()
    events.nth(0).locator(".open-times li").nth(1).wait_for()  # loaded on opening (htmx)
    assert events.nth(0).locator(".open-times li").count() == 2
    assert "Opened 2 times" in events.nth(0).locator(".open-report").inner_text()
    screenshot(page, "contact_email_tab")

    page.click("nav.tabs >> text=All")
    assert "Contact created" in page.locator("#timeline").inner_text()
    assert page.locator("#timeline .mail-event").count() == 3


def test_show_more_extends_the_timeline_in_place(page, org, rep_user):
    contact = ContactFactory(organization=org, first_name="Hiro", last_name="Tanaka")
    for n in range(23):
        email_with_opens(organization=org, sender=rep_user, contact=contact, subject=f"Note {n:02d}")
    sign_in(page, "rex")
    page.goto(f"/contacts/{contact.pk}/?tab=email")
    assert page.locator("#timeline .mail-event").count() == 20
    page.evaluate("window.stillThisPage = true")
    page.click("#timeline >> text=Show more")
    page.wait_for_url("**shown=40**")
    assert page.locator("#timeline .mail-event").count() == 23
    assert page.evaluate("window.stillThisPage") is True  # swapped in by htmx, no reload
    assert page.locator("#timeline >> text=Show more").count() == 0
    assert "Note 00" in page.locator("#timeline .mail-event").last.inner_text()  # the oldest, last
