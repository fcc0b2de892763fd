"""The bell's live channel in Chromium, the pages served by the ASGI server
(granian, as onepage-live runs it; static files too): the rep's Email page
is open, an open is recorded, and the bell's count changes within 5 s
without a reload, through the stream, and no poll leaves the page while the
stream is live; a browser notification comes the same way, once. Where the
stream answers 204 (no Redis here) the page polls.
(Served by WSGI, the page polls: alerts/tests/test_browser_bell.py.)"""

import time

import pytest
from django.utils import timezone

from alerts.models import AlertSettings, Notification
from alerts.tests.asgi_server import asgi_server, needs_postgresql_and_redis
from alerts.tests.test_browser_bell import spring_order  # noqa: F401
from alerts.tests.test_browser_notification import RECORD_NOTIFICATIONS
from conftest import csp_violations, screenshot, sign_in
from tracking.hits import Open, new_hit_key
from tracking.writer import write_opens

pytestmark = pytest.mark.browser


def record_open(recipient) -> None:
    """As the recorder does: notify (and the live channel) after the commit."""
    write_opens(opens=[Open(recipient_id=recipient.pk, opened_at=timezone.now(), key=new_hit_key())])


@pytest.fixture
def tab(chromium, transactional_db, request):
    """A Chromium tab on the ASGI server; its requests recorded
    (`tab.requests`: when, URL) and its stream's answers (`tab.streams`)."""
    needs_postgresql_and_redis()
    with asgi_server(static=True, redis=request.param) as server:
        context = chromium.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.url_base = server.url
        page.console_messages, page.requests, page.streams = [], [], []
        page.on("console", lambda message: page.console_messages.append(message.text))
        page.on("request", lambda r: page.requests.append((time.monotonic(), r.url)))
        page.on("response", lambda r: "/alerts/stream/" in r.url and page.streams.append(r.status))
        yield page
        context.close()
        assert not csp_violations(page.console_messages), "Content-Security-Policy violations in Chromium's console"


def polls_since(page, since: float) -> int:
    return sum(1 for at, url in page.requests if at >= since and "/alerts/count/" in url)


@pytest.mark.parametrize("tab", [True], indirect=True, ids=["stream"])
def test_the_count_arrives_through_the_stream_and_the_poll_stops(tab, spring_order):  # noqa: F811
    email, recipient = spring_order
    sign_in(tab, "rex")
    tab.goto(f"/email/{email.pk}/")
    deadline = time.monotonic() + 5
    while 200 not in tab.streams and time.monotonic() < deadline:
        tab.wait_for_timeout(100)
    assert set(tab.streams) == {200}  # each page opened its stream (the sign-in's next page, this one)
    tab.wait_for_timeout(500)  # the stream's first event: live from here
    tab.evaluate("window.notReloaded = true")
    live_since = time.monotonic()
    badge = tab.locator(".bell .bell-badge")
    assert badge.count() == 0

    recorded = time.monotonic()
    record_open(recipient)
    badge.wait_for(timeout=5_000)
    assert time.monotonic() - recorded < 5
    assert badge.inner_text() == "1"
    assert tab.evaluate("window.notReloaded") is True
    screenshot(tab, "bell-live-1280")

    tab.wait_for_timeout(6_000)  # longer than the poll's 5 s
    assert polls_since(tab, live_since) == 0


@pytest.mark.parametrize("tab", [False], indirect=True, ids=["no-redis"])
def test_where_the_stream_answers_204_the_page_polls(tab, spring_order):  # noqa: F811
    email, recipient = spring_order
    sign_in(tab, "rex")
    tab.goto(f"/email/{email.pk}/")
    tab.wait_for_timeout(1_000)
    assert tab.streams and set(tab.streams) == {204}
    since = time.monotonic()
    record_open(recipient)
    badge = tab.locator(".bell .bell-badge")
    badge.wait_for(timeout=7_000)  # polled every 5 s
    assert badge.inner_text() == "1"
    assert polls_since(tab, since) >= 1


@pytest.mark.parametrize("tab", [True], indirect=True, ids=["stream"])
def test_a_browser_notification_through_the_stream_once(tab, spring_order, rep_user):  # noqa: F811
    """The stream carries what the poll's ?browser=1 carries, for a user who
    opted in; browser-notify.js shows it once (a reload, whose stream sends
    it again, shows nothing)."""
    email, recipient = spring_order
    AlertSettings.objects.create(user=rep_user, browser=True)
    tab.context.grant_permissions(["notifications"], origin=tab.url_base)
    tab.context.add_init_script(RECORD_NOTIFICATIONS)
    sign_in(tab, "rex")
    tab.goto(f"/email/{email.pk}/")
    tab.wait_for_timeout(1_000)  # the stream's first event
    assert made(tab) == []
    live_since = time.monotonic()

    record_open(recipient)
    deadline = live_since + 5
    while not made(tab):
        assert time.monotonic() < deadline, "no browser notification within 5 s"
        tab.wait_for_timeout(100)
    n = Notification.objects.get(user=rep_user)
    assert made(tab) == [{"title": "Bea Buyer opened", "body": "Spring order", "tag": f"onepage-notification-{n.pk}"}]
    assert polls_since(tab, live_since) == 0

    tab.reload()
    tab.locator(".bell .bell-badge").wait_for()
    tab.wait_for_timeout(1_000)
    assert made(tab) == []


def made(tab) -> list[dict]:
    return tab.evaluate("window.madeNotifications.map(({title, body, tag}) => ({title, body, tag}))")
