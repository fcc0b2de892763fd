"""The pixel's connection to Redis (tracking.kept; tracking.pipelined for
the ASGI lane): one per thread, or per event loop, kept open across pixels, and replaced without a fallback to the database when
Redis closed it while it sat idle (Redis's `timeout`, a restart)."""

import logging

import pytest

from emails.pixels import make_token
from emails.tests.factories import EmailRecipientFactory
from tracking.models import OpenEvent
from tracking.recorder import drain_opens

pytestmark = pytest.mark.django_db


def pixel_connections(client) -> list[dict]:
    """This test database's connections whose last command was the pixel's
    script (the test's own client never runs one)."""
    db = client.connection_pool.connection_kwargs.get("db", 0)
    return [c for c in client.client_list() if int(c["db"]) == db and c["cmd"] in ("evalsha", "eval")]


def test_pixels_share_one_kept_connection(mail_client, redis_stream):
    client, stream_name = redis_stream
    recipients = EmailRecipientFactory.create_batch(3)
    # Earlier tests' connections (this thread's, the ASGI lane loop's) closed:
    # the pixels below make theirs again.
    for connection in pixel_connections(client):
        client.client_kill_filter(_id=connection["id"])

    for _ in range(5):
        for recipient in recipients:
            assert mail_client.get(f"/o/{make_token(recipient.pk)}.gif").status_code == 200

    assert client.xlen(stream_name) == 15
    assert len(pixel_connections(client)) == 1


def test_a_pixel_after_redis_closed_its_idle_connection_still_goes_to_the_stream(mail_client, redis_stream, caplog):
    client, stream_name = redis_stream
    recipient = EmailRecipientFactory()
    mail_client.get(f"/o/{make_token(recipient.pk)}.gif")
    killed = pixel_connections(client)
    assert killed
    for connection in killed:
        client.client_kill_filter(_id=connection["id"])

    with caplog.at_level(logging.WARNING, logger="tracking"):
        assert mail_client.get(f"/o/{make_token(recipient.pk)}.gif").status_code == 200

    # Through the stream (not written directly after a pause), no warning.
    assert client.xlen(stream_name) == 2
    assert not [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert {c["id"] for c in pixel_connections(client)}.isdisjoint({c["id"] for c in killed})
    drain_opens()
    assert OpenEvent.objects.filter(recipient=recipient).count() == 2
