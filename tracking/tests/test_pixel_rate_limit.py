"""The pixel's per-recipient rate limit (tracking.ratelimit): past
OPENS_PER_RECIPIENT_PER_MINUTE opens in a minute the GIF is served and the
open not recorded, at no database cost."""

import time

import pytest
from django.urls import reverse

from emails.pixels import make_token
from emails.tests.factories import EmailRecipientFactory
from tracking.models import OpenEvent
from tracking.ratelimit import may_count_open
from tracking.views import PIXEL_GIF

pytestmark = pytest.mark.django_db


def pixel(recipient_id: int) -> str:
    return reverse("tracking:pixel", args=[make_token(recipient_id)])


@pytest.fixture
def limit(settings) -> int:
    settings.OPENS_PER_RECIPIENT_PER_MINUTE = 3
    # The limit counts per calendar minute: a test's hits must not straddle
    # two (a run at hh:mm:59.998 counted a fourth open in the next minute).
    # With under 5 s of this minute left, start in the next one.
    left = 60 - time.time() % 60
    if left < 5:
        time.sleep(left + 0.05)
    return 3


def test_opens_past_the_limit_are_served_but_not_recorded(mail_client, settle_opens, limit):
    recipient = EmailRecipientFactory()
    other = EmailRecipientFactory(email=recipient.email)

    for _ in range(limit + 4):
        response = mail_client.get(pixel(recipient.pk))
        assert response.status_code == 200 and response.content == PIXEL_GIF
    mail_client.get(pixel(other.pk))

    assert settle_opens() == limit + 1
    recipient.refresh_from_db()
    other.refresh_from_db()
    # One reading and its reloads: a person's open, the rest kept apart.
    assert (recipient.open_count, recipient.automatic_count, other.open_count) == (1, limit - 1, 1)


def test_an_open_past_the_limit_costs_no_query_without_redis(mail_client, settings, limit, django_assert_num_queries):
    settings.REDIS_URL = ""
    recipient = EmailRecipientFactory()
    for _ in range(limit):
        mail_client.get(pixel(recipient.pk))

    with django_assert_num_queries(0):
        assert mail_client.get(pixel(recipient.pk)).content == PIXEL_GIF

    assert OpenEvent.objects.filter(recipient=recipient).count() == limit


def test_with_redis_the_count_is_one_key_per_recipient_and_minute_that_expires(
    mail_client, redis_stream, limit, django_assert_num_queries
):
    redis, stream = redis_stream
    recipient = EmailRecipientFactory()

    with django_assert_num_queries(0):
        for _ in range(limit + 2):
            mail_client.get(pixel(recipient.pk))

    assert redis.xlen(stream) == limit
    [key] = redis.keys(f"{stream}:limit:{recipient.pk}:*")
    assert int(redis.get(key)) == limit + 2
    assert 0 < redis.ttl(key) <= 120
    redis.delete(key)


def test_the_next_minute_counts_again(settings, limit):
    settings.REDIS_URL = ""
    start = (time.time() // 60 + 1) * 60  # the start of the next minute
    assert [may_count_open(recipient_id=7, now=start) for _ in range(limit + 1)] == [True] * limit + [False]
    assert may_count_open(recipient_id=7, now=start + 60)


def test_redis_down_the_limit_still_holds_in_the_process(mail_client, settings, limit):
    # Nothing listens on port 1: refused at once. The opens go to the
    # database, and the limit is counted in this process.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    recipient = EmailRecipientFactory()

    for _ in range(limit + 2):
        assert mail_client.get(pixel(recipient.pk)).content == PIXEL_GIF

    assert OpenEvent.objects.filter(recipient=recipient).count() == limit
