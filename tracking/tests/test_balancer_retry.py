"""A pixel hit that a load balancer retried on another web node counts once.

nginx retries a GET on the next node when the first one dies under it
(`proxy_next_upstream error`): if that node had appended the hit to the
stream before it died, both nodes record it. The balancer names each request
(`X-Request-ID: $request_id`, `X-Request-Start: t=$msec`, the same on every
retry: deploy/nginx.conf.example), and the pixel keys the hit by them when the
peer is one of TRUSTED_PROXIES, so both writes are one open. Shown under
SIGKILL in tests/faults/test_nodes_faults.py."""

import uuid

import pytest
from django.urls import reverse

from emails.pixels import make_token
from emails.tests.factories import EmailRecipientFactory
from tracking.models import OpenEvent

pytestmark = pytest.mark.django_db

REQUEST_ID = "acf2ce0bd1ef539acb9be836c0870e5f"
START = "t=1796344457.281"


def fetch(mail_client, recipient, **headers):
    response = mail_client.get(reverse("tracking:pixel", args=[make_token(recipient.pk)]), **headers)
    assert response.status_code == 200


def test_a_hit_the_balancer_retried_on_another_node_counts_once(mail_client, settle_opens, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    recipient = EmailRecipientFactory()

    for _ in range(2):  # the node that died after recording it, then the next one
        fetch(mail_client, recipient, HTTP_X_REQUEST_ID=REQUEST_ID, HTTP_X_REQUEST_START=START)

    assert settle_opens() == 1
    recipient.refresh_from_db()
    assert recipient.open_count + recipient.automatic_count == 1
    key = uuid.UUID(OpenEvent.objects.get().hit_key)
    # Still a UUIDv7 ordered by time: the balancer's millisecond.
    assert (key.version, key.int >> 80) == (7, 1796344457281)


def test_requests_the_balancer_numbered_apart_are_opens_apart(mail_client, settle_opens, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    recipient = EmailRecipientFactory()

    fetch(mail_client, recipient, HTTP_X_REQUEST_ID=REQUEST_ID, HTTP_X_REQUEST_START=START)
    fetch(mail_client, recipient, HTTP_X_REQUEST_ID="0" * 31 + "1", HTTP_X_REQUEST_START=START)

    assert settle_opens() == 2


@pytest.mark.parametrize(
    ("proxies", "request_id", "start"),
    [
        ([], REQUEST_ID, START),  # not from our proxy: anyone can send these headers
        (["127.0.0.1/32"], "not-hex", START),
        (["127.0.0.1/32"], REQUEST_ID, "t=soon"),
        (["127.0.0.1/32"], REQUEST_ID, None),
    ],
)
def test_a_client_cannot_choose_its_hit_key(mail_client, settle_opens, settings, proxies, request_id, start):
    settings.TRUSTED_PROXIES = proxies
    recipient = EmailRecipientFactory()
    headers = {"HTTP_X_REQUEST_ID": request_id} | ({"HTTP_X_REQUEST_START": start} if start else {})

    for _ in range(2):
        fetch(mail_client, recipient, **headers)

    assert settle_opens() == 2
