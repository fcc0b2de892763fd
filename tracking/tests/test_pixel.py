"""The pixel view, GET/HEAD /o/<token>.gif: fetched by recipients' mail
clients, it always answers the same GIF and records only valid opens."""

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from unittest.mock import ANY

import pytest
from django.core import signing
from django.db import connection, transaction
from django.urls import reverse

from emails.models import Email
from emails.pixels import make_token
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from onepage.models import Organization
from tracking import stream as open_stream
from tracking.models import OpenEvent
from tracking.views import PIXEL_GIF

pytestmark = pytest.mark.django_db

NO_CACHE = "no-store, no-cache, must-revalidate, private"


def pixel(recipient_id: int) -> str:
    return reverse("tracking:pixel", args=[make_token(recipient_id)])


def assert_is_the_gif(response, *, head: bool = False) -> None:
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response["Cache-Control"] == NO_CACHE
    assert response["Content-Length"] == "43"
    assert "Set-Cookie" not in response
    assert not response.cookies
    assert response.content == (b"" if head else PIXEL_GIF)


def test_the_pixel_is_a_43_byte_transparent_gif():
    assert len(PIXEL_GIF) == 43
    assert PIXEL_GIF.startswith(b"GIF89a\x01\x00\x01\x00")  # 1x1
    assert b"!\xf9\x04\x01" in PIXEL_GIF  # graphic control block: transparent


def test_valid_token_gets_gif_and_records_an_open(mail_client, settle_opens):
    recipient = EmailRecipientFactory()

    assert_is_the_gif(mail_client.get(pixel(recipient.pk)))
    settle_opens()

    recipient.refresh_from_db()
    assert recipient.open_count == 1
    assert list(OpenEvent.objects.values_list("recipient", flat=True)) == [recipient.pk]


def test_head_gets_the_gif_headers_and_records_nothing(mail_client, settle_opens):
    # A HEAD is a probe (link checkers, proxies): the image was not shown.
    recipient = EmailRecipientFactory()

    assert_is_the_gif(mail_client.head(pixel(recipient.pk)), head=True)
    settle_opens()

    recipient.refresh_from_db()
    assert recipient.open_count == 0
    assert not OpenEvent.objects.exists()


def test_pixel_url_needs_no_sign_in_and_sets_no_cookie_for_a_signed_in_browser(rep_client, settle_opens):
    # A rep viewing a delivered message in the development outbox fetches
    # the pixel with their session cookie.
    recipient = EmailRecipientFactory()

    response = rep_client.get(pixel(recipient.pk))

    assert_is_the_gif(response)
    settle_opens()
    assert OpenEvent.objects.filter(recipient=recipient).count() == 1


def _forged(recipient_id: int) -> dict[str, str]:
    token = make_token(recipient_id)
    value, signature = token.split(":")
    other = make_token(recipient_id + 1)
    return {
        "garbage": "not-a-token",
        "altered signature": f"{value}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        "truncated": token[:-6],
        "no signature": f"{value}:",
        "other recipient's signature": f"{value}:{other.split(':')[1]}",
        "another key": signing.Signer(key="not-our-key", salt="tracking.pixel.v1").sign(value),
        "another salt": signing.Signer(salt="something.else").sign(value),
        "a very long token": "x" * 2000 + ":" + signature,
    }


@pytest.mark.parametrize("kind", list(_forged(1)))
def test_forged_token_gets_gif_records_nothing_and_costs_no_query(
    mail_client, settle_opens, django_assert_num_queries, kind
):
    recipient = EmailRecipientFactory()
    token = _forged(recipient.pk)[kind]

    with django_assert_num_queries(0):
        response = mail_client.get(reverse("tracking:pixel", args=[token]))

    assert_is_the_gif(response)
    assert settle_opens() == 0
    assert not OpenEvent.objects.exists()
    recipient.refresh_from_db()
    assert recipient.open_count == 0


def test_token_of_an_unknown_recipient_gets_gif_and_records_nothing(mail_client, settle_opens):
    recipient = EmailRecipientFactory()
    url = pixel(recipient.pk)
    email = recipient.email
    recipient.delete()

    assert_is_the_gif(mail_client.get(url))
    assert settle_opens() == 0

    assert not OpenEvent.objects.exists()
    email.refresh_from_db()
    assert email.open_count == 0


def test_with_redis_a_valid_open_costs_no_query(mail_client, redis_stream, django_assert_num_queries):
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()
    url = pixel(recipient.pk)

    with django_assert_num_queries(0):
        assert_is_the_gif(mail_client.get(url))

    assert redis.xlen(stream) == 1
    assert not OpenEvent.objects.exists()  # until the drain runs


@pytest.mark.parametrize("verdicts", [False, True], ids=["verdicts off", "verdicts on"])
def test_without_redis_a_valid_open_is_written_in_a_fixed_number_of_queries(
    mail_client, settings, django_assert_num_queries, verdicts
):
    settings.REDIS_URL = ""
    settings.OPEN_VERDICTS = verdicts
    recipient = EmailRecipientFactory()
    url = pixel(recipient.pk)

    # Savepoint, the email locked, its organization with its configuration,
    # the recipient, the insert (skipping the hit key if the stream, Redis
    # having taken it after all, wrote it first), the recipient's and the
    # email's counters, with the email read before and after and the
    # difference added to its sender's week (emails.rollup: Reports), release.
    with django_assert_num_queries(11):
        assert_is_the_gif(mail_client.get(url, HTTP_USER_AGENT="Mozilla/5.0 (X11) Thunderbird/115.6.0"))

    recipient.refresh_from_db()
    assert recipient.open_count == 1


@pytest.mark.parametrize(
    "email_kwargs",
    [
        pytest.param({"track_opens": False}, id="untracked email"),
        pytest.param({"track_opens": True, "source": Email.Source.CLIENT}, id="sent from the email mail_client"),
    ],
)
def test_opens_of_an_email_that_is_not_tracked_are_not_recorded(mail_client, settle_opens, email_kwargs):
    recipient = EmailRecipientFactory(email=EmailFactory(**email_kwargs))

    assert_is_the_gif(mail_client.get(pixel(recipient.pk)))
    settle_opens()

    assert not OpenEvent.objects.exists()
    recipient.refresh_from_db()
    assert recipient.open_count == 0


def test_opens_of_a_recipient_whose_copy_was_not_tracked_are_not_recorded(mail_client, settle_opens):
    # The contact refused tracking: the email is tracked for the others only.
    email = EmailFactory()
    EmailRecipientFactory(email=email)
    recipient = EmailRecipientFactory(email=email, track_opens=False)

    assert_is_the_gif(mail_client.get(pixel(recipient.pk)))
    settle_opens()

    assert not OpenEvent.objects.exists()
    recipient.refresh_from_db()
    assert recipient.open_count == 0


def test_after_a_downgrade_new_opens_are_not_recorded_and_earlier_ones_stay(mail_client, settle_opens):
    recipient = EmailRecipientFactory()
    mail_client.get(pixel(recipient.pk))
    settle_opens()
    organization = recipient.email.organization
    organization.plan = Organization.Plan.PROFESSIONAL
    organization.save(update_fields=["plan"])

    assert_is_the_gif(mail_client.get(pixel(recipient.pk)))
    settle_opens()

    recipient.refresh_from_db()
    recipient.email.refresh_from_db()
    assert recipient.open_count == 1
    assert recipient.email.open_count == 1
    assert OpenEvent.objects.count() == 1


@contextmanager
def database_refusing_writes() -> Iterator[None]:
    """The database refuses writes, as a standby does after a failover."""
    if connection.vendor == "postgresql":
        # In a savepoint, so that rolling it back makes the test's
        # transaction writable again for the teardown.
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION READ ONLY")
            yield
            transaction.set_rollback(True)
    else:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA query_only = ON")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA query_only = OFF")


def test_gif_is_served_when_neither_redis_nor_the_database_can_record(mail_client, settings, caplog):
    recipient = EmailRecipientFactory()
    url = pixel(recipient.pk)
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there

    with database_refusing_writes(), caplog.at_level(logging.WARNING, logger="tracking"):
        response = mail_client.get(url)

    assert_is_the_gif(response)
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("Open stream unavailable") for m in messages)
    assert any(m.startswith("Neither Redis nor the database can record opens") for m in messages)
    assert not any(r.exc_info for r in caplog.records)
    assert not OpenEvent.objects.exists()
    # Kept, with what it takes to replay it, in the spool: the signals'
    # verdict (a person's mail client), never the signals.
    [line] = (settings.OPEN_SPOOL_DIR / "opens.jsonl").read_text().splitlines()
    assert json.loads(line) == {"key": ANY, "recipient": recipient.pk, "at": ANY, "v": "human", "m": None}


def test_nothing_about_the_client_is_stored(mail_client, settle_opens, settings):
    recipient = EmailRecipientFactory()
    client_details = ["SecretMailClient/9.9", "203.0.113.77", "https://referrer.example/inbox", "fr-CA"]

    mail_client.get(
        pixel(recipient.pk),
        HTTP_USER_AGENT=client_details[0],
        REMOTE_ADDR=client_details[1],
        HTTP_X_FORWARDED_FOR=client_details[1],
        HTTP_REFERER=client_details[2],
        HTTP_ACCEPT_LANGUAGE=client_details[3],
    )
    if settings.REDIS_URL:
        # The stream carries the signals' verdict, never the signals: Redis
        # writes its entries to disk (AOF)...
        [(_, fields)] = open_stream.client(settings.REDIS_URL).xrange(settings.OPEN_STREAM)
        assert set(fields) == {"recipient", "at", "key", "v", "m"}
        assert not any(detail in value for value in fields.values() for detail in client_details)
    settle_opens()
    if settings.REDIS_URL:
        # ...and the entry leaves Redis once it is drained.
        assert open_stream.client(settings.REDIS_URL).xrange(settings.OPEN_STREAM) == []

    fields = {"id", "recipient", "email", "opened_at", "hit_key", "verdict"}
    assert {f.name for f in OpenEvent._meta.get_fields()} == fields
    rows = [
        *OpenEvent.objects.values(),
        *Email.objects.filter(pk=recipient.email_id).values(),
        *type(recipient).objects.filter(pk=recipient.pk).values(),
    ]
    stored = " ".join(str(value) for row in rows for value in row.values())
    for detail in client_details:
        assert detail not in stored
    assert OpenEvent.objects.count() == 1
