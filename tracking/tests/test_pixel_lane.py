"""The pixel's lanes (onepage.lanes): GET and HEAD of /o/<token>.gif are
answered in front of Django's handler, with the same function as the
view: in the web process (tracking.pixel.lane, WSGI) and in the live
process (tracking.pixel.asgi_lane, ASGI, where nginx sends the pixel). The
pixel tests of test_pixel.py and test_pixel_rate_limit.py run every way
(the `mail_client` fixture); here, for both lanes: that the lane never
enters Django's request cycle, that it answers what the view answers for
the same request, and that it hands its database connection back as
Django's request cycle would; and that the ASGI lane sends the appends of
requests it serves at once in one round trip."""

import asyncio
import logging
import shutil

import pytest
import redis
from django.core.signals import request_started
from django.db import connection
from django.test import Client

from emails.tests.factories import EmailRecipientFactory
from onepage.membercookie import COOKIE
from tests.faults import processes
from tracking import intake, pipelined
from tracking.models import OpenEvent
from tracking.tests.test_pixel import assert_is_the_gif, pixel
from tracking.tests.wsgi_client import AsgiClient, WsgiClient, asgi_application, asgi_scope, run_on_the_lane_loop

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[WsgiClient, AsgiClient], ids=["wsgi lane", "asgi lane"])
def lane_client(request):
    """A client of one lane's application (onepage.wsgi, onepage.asgi)."""
    return request.param


AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.5.0"


@pytest.fixture
def handler_entries():
    """The paths Django's handler was entered for (request_started is sent
    before the middleware chain)."""
    entered = []

    def receiver(sender, environ=None, scope=None, **kwargs):
        entered.append(environ["PATH_INFO"] if environ is not None else scope["path"])

    request_started.connect(receiver)
    yield entered
    request_started.disconnect(receiver)


def test_pixel_requests_never_reach_djangos_handler_nor_its_middleware(
    handler_entries, redis_stream, rep_client, lane_client
):
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()
    lane = lane_client(HTTP_USER_AGENT=AGENT)
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
def test_the_lane_answers_and_records_what_the_view_does(
    redis_stream, settings, org, rep_client, verdicts, lane_client
):
    """The same requests, once to the view (test Client) and once to the
    lane: the same status, headers and body, and the same stream entries
    (the limit counted alike: the last request is past it both ways)."""
    redis, stream = redis_stream
    settings.OPEN_VERDICTS = verdicts
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.OPENS_PER_RECIPIENT_PER_MINUTE = 4
    rep_client.get("/settings/")  # the member cookie
    seen = {}
    for way, client in (("view", Client(HTTP_USER_AGENT=AGENT)), ("lane", lane_client(HTTP_USER_AGENT=AGENT))):
        recipient = EmailRecipientFactory()
        redis.delete(stream)
        answers = {}
        for case, (method, path, extra) in _cases(recipient.pk, rep_client.cookies[COOKIE].value).items():
            response = client.generic(method, path, **extra) if way == "view" else client.request(method, path, **extra)
            # Header names in any case (ASGI sends them in lower case).
            headers = sorted((name.lower(), value) for name, value in response.headers.items())
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


def test_past_the_limit_the_lane_serves_the_gif_and_records_nothing(redis_stream, settings, lane_client):
    redis, stream = redis_stream
    settings.OPENS_PER_RECIPIENT_PER_MINUTE = 2
    recipient = EmailRecipientFactory()
    lane = lane_client(HTTP_USER_AGENT=AGENT)

    for _ in range(4):
        assert_is_the_gif(lane.get(pixel(recipient.pk)))

    assert redis.xlen(stream) == 2


def test_a_signed_in_browser_through_the_lane_costs_no_query(
    redis_stream, rep_client, org, django_assert_num_queries, lane_client
):
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()
    rep_client.get("/settings/")
    lane = lane_client(HTTP_USER_AGENT=AGENT)
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


def backends() -> int:
    """The test database's server connections, counted from outside."""
    import psycopg2

    settings_dict = connection.settings_dict
    with psycopg2.connect(
        dbname=settings_dict["NAME"], user=settings_dict["USER"], password=settings_dict["PASSWORD"],
        host=settings_dict["HOST"], port=settings_dict["PORT"] or 5432,
    ) as outside, outside.cursor() as cursor:  # fmt: skip
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_direct_write_through_the_lane_hands_its_connection_back(settings, connections_not_kept, lane_client):
    """Without Redis the lane writes the open to the database. After a
    Django request, request_finished closes a connection past CONN_MAX_AGE:
    the lane does the same, so no worker thread keeps one open."""
    settings.REDIS_URL = ""
    recipient = EmailRecipientFactory()
    assert connection.connection is not None
    before = backends()

    assert_is_the_gif(lane_client(HTTP_USER_AGENT=AGENT).get(pixel(recipient.pk)))

    # The connection the write used (this thread's, or under Playwright's
    # loop in the browser tests' part of the run, one of its own) is closed.
    assert backends() < before + 1
    if lane_client is WsgiClient:
        assert connection.connection is None
    assert OpenEvent.objects.filter(recipient=recipient).count() == 1


def fetched_at_once(paths: list[str]) -> list[int]:
    """GET every path at once from the ASGI lane's event loop (as a granian
    worker serving that many connections): their statuses."""
    client = AsgiClient(HTTP_USER_AGENT=AGENT)
    scopes = [asgi_scope(client.factory.get(path).environ) for path in paths]

    async def fetch(scope) -> int:
        started = {}

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                started["status"] = message["status"]

        await asgi_application(scope, receive, send)
        return started["status"]

    async def all_at_once():
        return await asyncio.gather(*(fetch(scope) for scope in scopes))

    return list(run_on_the_lane_loop(all_at_once()))


def test_the_asgi_lane_sends_the_appends_of_requests_served_at_once_in_one_round_trip(redis_stream, monkeypatch):
    """40 pixels fetched at once from one worker's event loop: each is
    appended once, under its own key, in a handful of round trips (one
    write and one read each) rather than 40."""
    redis, stream = redis_stream
    recipients = EmailRecipientFactory.create_batch(40)
    round_trips = []
    real_round_trip = pipelined.Pipeline._round_trip

    async def counted(self, batch):
        round_trips.append(len(batch))
        return await real_round_trip(self, batch)

    monkeypatch.setattr(pipelined.Pipeline, "_round_trip", counted)

    assert fetched_at_once([pixel(r.pk) for r in recipients]) == [200] * 40
    entries = [fields for _, fields in redis.xrange(stream)]
    assert sorted(int(e["recipient"]) for e in entries) == sorted(r.pk for r in recipients)
    assert len({e["key"] for e in entries}) == 40
    assert sum(round_trips) == 40
    assert len(round_trips) <= 3


def test_a_script_redis_lost_is_loaded_again_and_the_open_still_goes_to_the_stream(redis_stream, lane_client, caplog):
    """After SCRIPT FLUSH (a Redis restarted without its data, a replica
    just promoted), the lane loads its script again: the open goes to the
    stream, with no warning and no direct write."""
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()
    lane = lane_client(HTTP_USER_AGENT=AGENT)
    assert_is_the_gif(lane.get(pixel(recipient.pk)))
    redis.script_flush()

    with caplog.at_level(logging.WARNING, logger="tracking"):
        assert_is_the_gif(lane.get(pixel(recipient.pk)))

    assert redis.xlen(stream) == 2
    assert not [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert not OpenEvent.objects.filter(recipient=recipient).exists()


def test_when_redis_fails_a_batch_the_asgi_lane_writes_each_of_its_opens_directly_once(settings, caplog):
    """The appends of 10 pixels sent together to a Redis that does not
    answer fail together: each open is written directly, once, and the
    outage is told once, not once per pixel."""
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    recipients = EmailRecipientFactory.create_batch(10)

    with caplog.at_level(logging.WARNING, logger="tracking"):
        assert fetched_at_once([pixel(r.pk) for r in recipients]) == [200] * 10

    assert sorted(OpenEvent.objects.values_list("recipient_id", flat=True)) == sorted(r.pk for r in recipients)
    assert caplog.text.count("Open stream unavailable") == 1


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of this test's own (it is turned into a replica)."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    server = processes.Redis(tmp_path)
    server.start()
    yield server, redis.Redis(port=server.port, decode_responses=True)
    server.close()


def test_a_master_turned_replica_sends_the_asgi_lanes_opens_to_the_database_once_each(own_redis, settings, caplog):
    """The Redis the lane appends to becomes a replica (a failover without
    Sentinel in front, or before the lane asked it): its appends meet
    READONLY. The lane closes its connection, tries once more on a new one,
    then writes each open directly, once; the outage is told once. When the
    Redis is a master again, the lane appends to it again."""
    server, client = own_redis
    settings.REDIS_URL = server.url
    first, *others = EmailRecipientFactory.create_batch(4)
    assert fetched_at_once([pixel(first.pk)]) == [200]
    assert client.xlen(settings.OPEN_STREAM) == 1

    client.replicaof("127.0.0.1", processes.free_port())  # a master nobody runs
    with caplog.at_level(logging.WARNING, logger="tracking"):
        assert fetched_at_once([pixel(r.pk) for r in others]) == [200] * 3

    assert sorted(OpenEvent.objects.values_list("recipient_id", flat=True)) == sorted(r.pk for r in others)
    assert caplog.text.count("Open stream unavailable") == 1
    assert "now a replica" in caplog.text
    pixel_clients = [c for c in client.client_list() if c["cmd"] in ("evalsha", "script|load")]
    assert len(pixel_clients) <= 1, "the connection that met READONLY is closed"

    client.replicaof("NO", "ONE")
    intake.forget_outages()
    assert fetched_at_once([pixel(first.pk)]) == [200]
    assert client.xlen(settings.OPEN_STREAM) == 2
    assert OpenEvent.objects.filter(recipient=first).count() == 0


def test_with_redis_down_the_asgi_lane_writes_the_opens_of_the_moment_together(settings, monkeypatch):
    """40 pixels at once while Redis does not answer: each open is written
    once, in a few transactions (the loop's direct writes of the moment go
    together), not one transaction each queued on the email's lock."""
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    recipients = EmailRecipientFactory.create_batch(40, email=EmailRecipientFactory().email)
    transactions = []
    real_write_opens = intake.write_opens

    def counted(*, opens, **options):
        transactions.append(len(opens))
        return real_write_opens(opens=opens, **options)

    monkeypatch.setattr(intake, "write_opens", counted)

    assert fetched_at_once([pixel(r.pk) for r in recipients]) == [200] * 40

    assert sorted(OpenEvent.objects.values_list("recipient_id", flat=True)) == sorted(r.pk for r in recipients)
    assert sum(transactions) == 40
    assert len(transactions) <= 2, transactions
    email = recipients[0].email
    email.refresh_from_db()
    assert email.open_count == 40
