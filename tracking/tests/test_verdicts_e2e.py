"""Verdicts end to end: the composer, the send task through a real SMTP
server, the pixel fetched by an Apple-like prefetcher and a desktop client,
the Redis stream drained into PostgreSQL; then the report, the counters, and
no trace of the client's address or user agent in any table or log line."""

import datetime as dt
import logging
import re
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from contacts.tests.factories import ContactFactory
from emails.models import Email, EmailRecipient, NotTrackedReason
from emails.tasks import send_email
from tracking import counters, hits, intake, recorder, spool
from tracking.models import OpenEvent, Verdict

pytestmark = pytest.mark.django_db

PIXEL = re.compile(r'<img src="(https?://[^"]+/o/[^"]+\.gif)"')
APPLE_ADDRESS, APPLE_AGENT = "17.58.63.74", "Mozilla/5.0"
DESKTOP_ADDRESS = "198.51.100.23"
DESKTOP_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Thunderbird/115.6.0"
HOUR = dt.timedelta(hours=1)


def _fetch(path: str, *, address: str, agent: str) -> None:
    response = Client().get(path, REMOTE_ADDR=address, HTTP_USER_AGENT=agent)
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"


def _an_hour_passes(email: Email) -> None:
    """Instead of waiting: delivery, opens and counters all an hour earlier."""
    EmailRecipient.objects.filter(email=email).update(
        delivered_at=_minus("delivered_at"),
        attempted_at=_minus("attempted_at"),
        first_opened_at=_minus("first_opened_at"),
        last_opened_at=_minus("last_opened_at"),
    )
    Email.objects.filter(pk=email.pk).update(
        first_opened_at=_minus("first_opened_at"), last_opened_at=_minus("last_opened_at")
    )
    OpenEvent.objects.filter(email=email).update(opened_at=_minus("opened_at"))


def _minus(field: str):
    from django.db.models import F

    return F(field) - HOUR


def _every_stored_value() -> str:
    """Every value of every row of every table of the test database, as text."""
    quote = connection.ops.quote_name
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {quote(table)}")
            values += [str(value) for row in cursor.fetchall() for value in row]
    return "\n".join(values)


def test_prefetch_repeat_and_two_readings(
    org, sender, rep_client, smtp_server, redis_stream, django_capture_on_commit_callbacks, caplog
):
    caplog.set_level(logging.DEBUG)
    lead = ContactFactory(organization=org, first_name="Lena", email="lena@northwind.example", country="US")
    with django_capture_on_commit_callbacks(execute=False):
        response = rep_client.post(
            reverse("emails:compose"),
            {"to": lead.email, "bcc": "rex@acme.example", "subject": "Quote", "body": "Hello", "track": "on"},
        )
    assert response.status_code == 302
    email = Email.objects.get(subject="Quote")
    send_email.apply(args=[email.pk])
    email.refresh_from_db()
    assert email.status == Email.Status.SENT and email.track_opens

    # The rep's own Bcc copy carries no pixel; the lead's does.
    copies = {tuple(r.rcpt_tos): r.part("text/html") for r in smtp_server.received}
    assert not PIXEL.search(copies[("rex@acme.example",)])
    self_copy = email.recipients.get(address="rex@acme.example")
    assert not self_copy.track_opens and self_copy.not_tracked_reason == NotTrackedReason.INTERNAL
    (url,) = PIXEL.findall(copies[(lead.email,)])
    path = urlsplit(url).path
    recipient = email.recipients.get(address=lead.email)

    # Apple Mail Privacy Protection fetches it as soon as it is delivered.
    _fetch(path, address=APPLE_ADDRESS, agent=APPLE_AGENT)
    recorder.drain_opens()
    _an_hour_passes(email)
    # An hour later the lead reads it: the client fetches the pixel twice within 3 s.
    _fetch(path, address=DESKTOP_ADDRESS, agent=DESKTOP_AGENT)
    _fetch(path, address=DESKTOP_ADDRESS, agent=DESKTOP_AGENT)
    recorder.drain_opens()
    _an_hour_passes(email)
    # And reads it again an hour after that.
    _fetch(path, address=DESKTOP_ADDRESS, agent=DESKTOP_AGENT)
    recorder.drain_opens()

    verdicts = list(
        OpenEvent.objects.filter(recipient=recipient).order_by("opened_at").values_list("verdict", flat=True)
    )
    assert verdicts == [Verdict.PRIVACY_PREFETCH, Verdict.HUMAN, Verdict.REPEAT, Verdict.HUMAN]
    recipient.refresh_from_db()
    email.refresh_from_db()
    assert (recipient.open_count, recipient.automatic_count) == (2, 2)
    assert (email.open_count, email.automatic_count) == (2, 2)
    assert counters.disagreeing() == []

    page = rep_client.get(reverse("emails:detail", args=[email.pk])).content.decode()
    lena = page[page.index(f'data-address="{lead.email}"') :]
    lena = lena[: lena.index("</section>")]
    assert 'data-open-count="2"' in lena and "Opened 2 times" in lena
    assert 'data-automatic-count="2"' in lena and "+2 automatic fetches" in lena
    assert 'title="Not counted as opens: Apple Mail privacy protection, loaded again within seconds"' in lena
    assert lena.count('data-verdict="privacy_prefetch"') == 1 and lena.count('data-verdict="repeat"') == 1

    # The signals left Redis with the drained entries, and never reached a
    # table or a log line.
    assert redis_stream[0].xlen(redis_stream[1]) == 0
    stored = _every_stored_value()
    logged = caplog.text
    for signal in (APPLE_ADDRESS, DESKTOP_ADDRESS, DESKTOP_AGENT, "Thunderbird"):
        assert signal not in stored
        assert signal not in logged
    assert lead.email in stored  # the search does see the data


def test_a_privacy_prefetch_alone_is_not_an_open(org, sender, redis_stream, rep_client):
    from emails.pixels import make_token
    from tracking.tests.open_helpers import email_with_opens

    email = email_with_opens(organization=org, sender=sender, subject="Hello")
    recipient = email.recipients.get()
    _fetch(reverse("tracking:pixel", args=[make_token(recipient.pk)]), address=APPLE_ADDRESS, agent=APPLE_AGENT)
    recorder.drain_opens()

    recipient.refresh_from_db()
    assert (recipient.open_count, recipient.automatic_count) == (0, 1)
    page = rep_client.get(reverse("emails:detail", args=[email.pk])).content.decode()
    assert "Apple Mail privacy protection: opens cannot be known" in page
    assert "Opened once" not in page


def test_an_unreadable_entry_is_logged_without_its_signals(redis_stream, caplog, db):
    client, stream = redis_stream
    client.xadd(stream, {"recipient": "not-a-number", "at": "x", "ip": APPLE_ADDRESS, "ua": DESKTOP_AGENT})
    with caplog.at_level(logging.WARNING):
        recorder.drain_opens()
    assert "Dropping unreadable open stream entry" in caplog.text
    assert APPLE_ADDRESS not in caplog.text and DESKTOP_AGENT not in caplog.text


def test_a_gateway_that_fetches_on_receipt_is_early(
    org, sender, rep_client, smtp_server, redis_stream, django_capture_on_commit_callbacks
):
    """The receiving server fetches every image while it holds the message
    (as a security gateway does), from an address in no published range and
    with a browser's agent: its fetch comes before the server's reply, so
    before delivered_at; a client fetching as soon as the send returns lands
    within milliseconds after it. Both are `early` (the window's measure:
    see tracking/classify.py)."""
    fetched_at = []
    received = smtp_server.handle_DATA

    async def scanning_gateway(server, session, envelope):
        (url,) = PIXEL.findall(envelope.original_content.decode())
        _fetch(urlsplit(url.replace("=\r\n", "")).path, address="192.0.2.44", agent="Mozilla/5.0 (Windows NT 10.0)")
        fetched_at.append(dt.datetime.now(dt.UTC))
        return await received(server, session, envelope)

    smtp_server.handle_DATA = scanning_gateway
    lead = ContactFactory(organization=org, email="lena@northwind.example", country="US")
    with django_capture_on_commit_callbacks(execute=False):
        rep_client.post(reverse("emails:compose"), {"to": lead.email, "subject": "Hi", "body": "Hello", "track": "on"})
    email = Email.objects.get(subject="Hi")
    send_email.apply(args=[email.pk])
    recipient = email.recipients.get()
    (url,) = PIXEL.findall(smtp_server.received[-1].part("text/html"))
    _fetch(urlsplit(url).path, address="192.0.2.45", agent=DESKTOP_AGENT)
    recorder.drain_opens()

    recipient.refresh_from_db()
    events = list(OpenEvent.objects.filter(recipient=recipient).order_by("opened_at"))
    assert [e.verdict for e in events] == [Verdict.EARLY, Verdict.EARLY]
    gateway, client = (e.opened_at - recipient.delivered_at for e in events)
    print(
        f"\ngateway fetch: {gateway.total_seconds():+.3f}s, client right after the send: {client.total_seconds():+.3f}s"
    )
    assert gateway < dt.timedelta(0) < client < dt.timedelta(seconds=1)
    assert recipient.open_count == 0 and recipient.automatic_count == 2


def test_the_spool_keeps_the_verdict_not_the_signals(settings, org, rep_user):
    from tracking.classify import Signals
    from tracking.tests.open_helpers import email_with_opens

    email = email_with_opens(organization=org, sender=rep_user, subject="Spooled")
    recipient = email.recipients.get()
    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    apple = Signals(address=APPLE_ADDRESS, user_agent=APPLE_AGENT)
    desktop = Signals(address=DESKTOP_ADDRESS, user_agent=DESKTOP_AGENT, member_organization=org.pk)
    for n, signals in enumerate((apple, desktop)):
        hit = hits.Open(recipient_id=recipient.pk, opened_at=at + n * HOUR, key=f"k{n}", signals=signals)
        assert intake._spool(hit, RuntimeError("both stores down")) == "spool"

    line = (spool.spool_dir() / spool.LIVE).read_text()
    for signal in (APPLE_ADDRESS, APPLE_AGENT, DESKTOP_ADDRESS, DESKTOP_AGENT):
        assert signal not in line
    assert spool.replay() == 2
    verdicts = dict(OpenEvent.objects.values_list("hit_key", "verdict"))
    assert verdicts == {"k0": Verdict.PRIVACY_PREFETCH, "k1": Verdict.SELF}
