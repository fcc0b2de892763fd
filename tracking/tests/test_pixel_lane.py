"""The pixel's lane (tracking.pixel.lane, onepage.lanes): in the web process,
GET and HEAD of /o/<token>.gif are answered in front of Django's handler,
with the same function as the view. The pixel tests of test_pixel.py and
test_pixel_rate_limit.py run both ways (the `mail_client` fixture); here:
that the lane never enters Django's request cycle, that it answers what
the view answers for the same request, and that it hands its database
connection back as Django's request cycle would."""

import pytest
from django.core.signals import request_started
from django.db import connection
from django.test import Client

from emails.tests.factories import EmailRecipientFactory
from onepage.membercookie import COOKIE
from tracking.models import OpenEvent
from tracking.tests.test_pixel import assert_is_the_gif, pixel
from tracking.tests.wsgi_client import WsgiClient

pytestmark = pytest.mark.django_db

AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0"


@pytest.fixture
def handler_entries():
    """The paths Django's handler was entered for (request_started is sent
    before the middleware chain)."""
    entered = []

    def receiver(sender, environ, **kwargs):
        entered.append(environ["PATH_INFO"])

    request_started.connect(receiver)
    yield entered
    request_started.disconnect(receiver)


def test_pixel_requests_never_reach_djangos_handler_nor_its_middleware(handler_entries, redis_stream, rep_client):
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()
    lane = WsgiClient(HTTP_USER_AGENT=AGENT)
    # A signed-in browser's session cookie too: nothing would read it.
    lane.cookies.update(rep_client.cookies)

    assert_is_the_gif(lane.get(pixel(recipient.pk)))
    assert_is_the_gif(lane.head(pixel(recipient.pk)), head=True)
    assert_is_the_gif(lane.get("/o/forged:token.gif"))

    assert handler_entries == []
    assert redis.xlen(stream) == 1
    # What the lane leaves to Django goes down the whole stack: another
    # method (refused by the view's require_safe), the recipient's page.
    assert lane.post(pixel(recipient.pk)).status_code == 405
    lane.get("/o/p/not-a-link/")
    assert handler_entries == [pixel(recipient.pk), "/o/p/not-a-link/"]
    assert redis.xlen(stream) == 1


def _cases(recipient_id: int, member_cookie: str) -> dict[str, tuple[str, str, dict]]:
    url = pixel(recipient_id)
    return {
        "valid GET": ("GET", url, {}),
        "HEAD": ("HEAD", url, {}),
        "forged": ("GET", "/o/forged:token.gif", {}),
        "altered": ("GET", url.replace(".gif", "x.gif"), {}),
        "behind our proxy": ("GET", url, {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "17.0.0.7, 10.0.0.9"}),
        "prefetch": ("GET", url, {"HTTP_SEC_PURPOSE": "prefetch;anonymous-client-ip"}),
        "member cookie": ("GET", url, {"HTTP_COOKIE": f"sessionid=abc; {COOKIE}={member_cookie}"}),
        "past the limit": ("GET", url, {}),
    }


@pytest.mark.parametrize("verdicts", [True, False], ids=["verdicts on", "verdicts off"])
def test_the_lane_answers_and_records_what_the_view_does(redis_stream, settings, org, rep_client, verdicts):
    """The same requests, once to the view (test Client) and once to the
    lane: the same status, headers and body, and the same stream entries
    (the limit counted alike: the last request is past it both ways)."""
    redis, stream = redis_stream
    settings.OPEN_VERDICTS = verdicts
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.OPENS_PER_RECIPIENT_PER_MINUTE = 4
    rep_client.get("/settings/")  # the member cookie
    seen = {}
    for way, client in (("view", Client(HTTP_USER_AGENT=AGENT)), ("lane", WsgiClient(HTTP_USER_AGENT=AGENT))):
        recipient = EmailRecipientFactory()
        redis.delete(stream)
        answers = {}
        for case, (method, path, extra) in _cases(recipient.pk, rep_client.cookies[COOKIE].value).items():
            response = client.generic(method, path, **extra) if way == "view" else client.request(method, path, **extra)
            headers = sorted(response.headers.items())
            answers[case] = (response.status_code, headers, response.content)
        entries = [
            {k: v for k, v in fields.items() if k not in ("at", "key", "recipient")}
            for _, fields in redis.xrange(stream)
        ]
        seen[way] = answers, entries

    assert seen["lane"] == seen["view"]
    answers, entries = seen["lane"]
    assert {answer[0] for answer in answers.values()} == {200}
    # HEAD and the forged tokens record nothing; the fifth valid GET is past
    # the limit of 4: served, not recorded.
    assert len(entries) == 4
    # What each entry keeps of the signals: their verdict (the client behind
    # our proxy is in Apple's range), the member cookie's organization.
    if verdicts:
        assert [e["v"] for e in entries] == ["human", "privacy_prefetch", "scanner", "human"]
        assert [e["m"] for e in entries] == ["", "", "", str(org.pk)]
    else:
        assert entries == [{"v": "", "m": ""}] * 4


def test_past_the_limit_the_lane_serves_the_gif_and_records_nothing(redis_stream, settings):
    redis, stream = redis_stream
    settings.OPENS_PER_RECIPIENT_PER_MINUTE = 2
    recipient = EmailRecipientFactory()
    lane = WsgiClient(HTTP_USER_AGENT=AGENT)

    for _ in range(4):
        assert_is_the_gif(lane.get(pixel(recipient.pk)))

    assert redis.xlen(stream) == 2


def test_a_signed_in_browser_through_the_lane_costs_no_query(redis_stream, rep_client, org, django_assert_num_queries):
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()
    rep_client.get("/settings/")
    lane = WsgiClient(HTTP_USER_AGENT=AGENT)
    lane.cookies.update(rep_client.cookies)

    with django_assert_num_queries(0):
        assert_is_the_gif(lane.get(pixel(recipient.pk)))

    ((_, fields),) = redis.xrange(stream)
    assert fields["m"] == str(org.pk)


@pytest.fixture
def connections_not_kept():
    """CONN_MAX_AGE=0 (a connection per request), on a fresh connection."""
    if connection.vendor != "postgresql":
        pytest.skip("Django never closes the tests' in-memory SQLite database")
    kept = connection.settings_dict["CONN_MAX_AGE"]
    connection.settings_dict["CONN_MAX_AGE"] = 0
    connection.close()
    connection.ensure_connection()
    yield
    connection.settings_dict["CONN_MAX_AGE"] = kept


@pytest.mark.django_db(transaction=True)
def test_a_direct_write_through_the_lane_hands_its_connection_back(settings, connections_not_kept):
    """Without Redis the lane writes the open to the database. After a
    Django request, request_finished closes a connection past CONN_MAX_AGE:
    the lane does the same, so no worker thread keeps one open."""
    settings.REDIS_URL = ""
    recipient = EmailRecipientFactory()
    assert connection.connection is not None

    assert_is_the_gif(WsgiClient(HTTP_USER_AGENT=AGENT).get(pixel(recipient.pk)))

    assert connection.connection is None
    assert OpenEvent.objects.filter(recipient=recipient).count() == 1
