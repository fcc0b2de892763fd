"""Relative times in Chromium (static/js/reltime.js): the script says what the
server says ({% reltime %}, naturaltime's words) for a table of ages, and a
page's "a minute ago" becomes "6 minutes ago" without a reload, on the page
and in the bell's panel (loaded by htmx), every 30 seconds and when the tab
is shown again. Playwright's clock moves the page's time: no test waits
minutes."""

import datetime as dt
import re

import pytest
import time_machine
from django.template import Context, Template
from django.utils import timezone

from conftest import sign_in
from contacts.tests.factories import ContactFactory
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from tracking.hits import Open
from tracking.writer import write_opens

pytestmark = pytest.mark.browser

TAG = Template("{% load times %}{% reltime at %}")
RELATIVE = re.compile(r'<time datetime="([^"]+)" data-relative title="[^"]+">([^<]+)</time>')

NOWS = [
    dt.datetime(2026, 3, 5, 9, 20, 30, 250_000, tzinfo=dt.UTC),
    dt.datetime(2027, 3, 1, 0, 0, 0, 500_000, tzinfo=dt.UTC),  # after a February of 28 days
    dt.datetime(2028, 3, 1, 12, 0, tzinfo=dt.UTC),  # after a February of 29
    dt.datetime(2026, 12, 31, 23, 59, 59, 999_000, tzinfo=dt.UTC),
    dt.datetime(2029, 1, 31, 10, 0, 0, 1_000, tzinfo=dt.UTC),
]
_S = dt.timedelta(seconds=1)
_MS = dt.timedelta(milliseconds=1)
_M = dt.timedelta(minutes=1)
_H = dt.timedelta(hours=1)
_D = dt.timedelta(days=1)
AGES = [
    *[0 * _S, _MS, 999 * _MS, _S, 1500 * _MS, 2 * _S, 59 * _S + 999 * _MS, 60 * _S, 61 * _S, 2 * _M - _MS, 2 * _M],
    *[_H - _MS, _H, _H + _MS, 2 * _H, _D - _MS, _D, _D + _MS, 25.5 * _H, 2 * _D - _S, 2 * _D, 7 * _D - _M],
    *[7 * _D, 8 * _D, 14 * _D - _H, 14 * _D, 20 * _D + 5 * _H, 27 * _D, 28 * _D, 29 * _D, 30 * _D, 31 * _D],
    *[32 * _D, 45 * _D, 59 * _D, 60 * _D, 61 * _D, 89 * _D, 180 * _D, 364 * _D, 365 * _D, 366 * _D, 367 * _D],
    *[400 * _D, 730 * _D, 731 * _D, 1000 * _D, 3653 * _D],
    # In the future (more than a minute: see below).
    *[-_M, -61 * _M, -_D, -(3 * _D + 5 * _H), -40 * _D, -400 * _D],
]
# Month ends and a 29 February, against each "now" above.
DATES = [
    dt.datetime(2025, 1, 31, 23, 0, tzinfo=dt.UTC),
    dt.datetime(2025, 12, 31, 12, 0, 0, 500_000, tzinfo=dt.UTC),
    dt.datetime(2026, 2, 28, 9, 20, 30, 250_000, tzinfo=dt.UTC),
    dt.datetime(2026, 1, 30, 9, 20, 30, 251_000, tzinfo=dt.UTC),
    dt.datetime(2028, 2, 29, 13, 0, tzinfo=dt.UTC),
    dt.datetime(2028, 1, 31, 11, 59, 59, 999_000, tzinfo=dt.UTC),
]

FILL = """([times, now]) => {
  const box = document.createElement("div");
  for (const at of times) {
    const time = document.createElement("time");
    time.setAttribute("datetime", at);
    time.setAttribute("data-relative", "");
    time.textContent = "?";
    box.append(time);
  }
  document.body.append(box);
  box.dispatchEvent(new CustomEvent("htmx:load", {bubbles: true}));  // what htmx says of new content
  const words = [...box.children].map((time) => time.textContent);
  box.remove();
  return words;
}"""


def _server(now: dt.datetime, ats: list[dt.datetime]) -> list[tuple[str, str]]:
    with time_machine.travel(now, tick=False):
        return [RELATIVE.fullmatch(TAG.render(Context({"at": at}))).groups() for at in ats]


def test_the_script_says_what_the_server_says_for_each_age(page):
    page.goto("/accounts/login/")
    compared = 0
    for now in NOWS:
        ats = [now - age for age in AGES] + [at for at in DATES if at <= now or at - now >= _M]
        server = _server(now, ats)
        page.clock.set_fixed_time(now)
        script = page.evaluate(FILL, [[instant for instant, _ in server], now.isoformat()])
        mismatches = [
            (at, said, wrote) for at, (_, said), wrote in zip(ats, server, script, strict=True) if said != wrote
        ]
        assert mismatches == [], f"now={now}"
        compared += len(ats)
    assert compared > 250

    # The one difference, on purpose: a time less than a minute ahead of the
    # browser's clock is a clock a little behind the server's.
    now = NOWS[0]
    [(instant, said)] = _server(now, [now + 5 * _S])
    assert said == "5\xa0seconds from now"
    page.clock.set_fixed_time(now)
    assert page.evaluate(FILL, [[instant], now.isoformat()]) == ["now"]


@pytest.fixture
def opened_90_seconds_ago(org, rep_user):
    """Bea opened the rep's email 90 seconds ago: on the Email page and in the
    bell's panel (the notification is made after the writer's commit)."""
    bea = ContactFactory(organization=org, first_name="Bea", last_name="Buyer", email="bea@buyer.example")
    email = EmailFactory(organization=org, sender=rep_user, subject="Spring order")
    delivered = timezone.now() - dt.timedelta(hours=1)
    recipient = EmailRecipientFactory(email=email, contact=bea, address=bea.email, delivered_at=delivered)
    opened = timezone.now() - dt.timedelta(seconds=90)
    write_opens(opens=[Open(recipient_id=recipient.pk, opened_at=opened, key="reltime-browser")])
    return email


def test_a_minute_ago_becomes_six_minutes_ago_without_a_reload(page, opened_90_seconds_ago):
    sign_in(page, "rex")
    page.clock.install()
    page.goto("/email/")
    on_page = page.locator("main time[data-relative]")
    assert on_page.inner_text() == "a minute ago"
    page.click(".bell > summary")
    in_panel = page.locator(".bell-panel time[data-relative]")
    in_panel.wait_for()
    assert in_panel.inner_text() == "a minute ago"
    page.evaluate("window.notReloaded = true")

    page.clock.fast_forward("05:00")  # the 30-second timer fires

    assert on_page.inner_text() == "6\xa0minutes ago"
    assert in_panel.inner_text() == "6\xa0minutes ago"
    assert page.evaluate("window.notReloaded") is True


def test_a_tab_shown_again_says_the_time_at_once(page, opened_90_seconds_ago):
    sign_in(page, "rex")
    page.clock.install()
    page.goto("/email/")
    on_page = page.locator("main time[data-relative]")
    assert on_page.inner_text() == "a minute ago"

    # Two hours later, no timer has fired (a background tab's are held back);
    # the tab is shown again.
    page.clock.set_system_time(timezone.now() + dt.timedelta(hours=2))
    assert on_page.inner_text() == "a minute ago"
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")

    assert on_page.inner_text() == "2\xa0hours ago"
