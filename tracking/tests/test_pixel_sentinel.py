"""The pixel under Redis Sentinel (README: Redis under Sentinel): its kept
connection (tracking.kept) finds the promoted replica after a failover, and
it answers only once a replica has the open (WAIT); an open no replica
acknowledged in time is written directly. One Redis never waits."""

import logging
import signal

import pytest
import redis
from django.conf import settings

from emails.pixels import make_token
from emails.tests.factories import EmailRecipientFactory
from tests.faults import sentinel
from tests.faults.processes import Redis
from tracking.models import OpenEvent
from tracking.recorder import drain_opens

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def nodes(tmp_path_factory):
    # Once, in the PostgreSQL + Redis run: a Redis set of its own, started per module.
    if not settings.REDIS_URL:
        pytest.skip("runs in the PostgreSQL + Redis run (REDIS_URL)")
    yield from sentinel.started(tmp_path_factory.mktemp("sentinel"))


@pytest.fixture
def under_sentinel(settings, nodes):
    settings.REDIS_URL = nodes.sentinel_url
    settings.OPEN_REPLICA_WAIT_MS = 100  # the Sentinel form's default
    return nodes


def waits(client) -> int:
    return client.info("commandstats").get("cmdstat_wait", {}).get("calls", 0)


def unavailable(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "unavailable" in r.getMessage()]


def test_the_pixel_follows_a_failover_to_the_promoted_replica(mail_client, under_sentinel, caplog):
    nodes = under_sentinel
    recipient = EmailRecipientFactory()
    url = f"/o/{make_token(recipient.pk)}.gif"
    waited = waits(nodes.master().client())
    assert mail_client.get(url).status_code == 200
    assert nodes.master().client().xlen(settings.OPEN_STREAM) == 1
    assert waits(nodes.master().client()) == waited + 1

    nodes.switch()
    with caplog.at_level(logging.WARNING, logger="tracking"):
        assert mail_client.get(url).status_code == 200

    # The first open was replicated before the pixel answered; the second
    # went to the new master on a new kept connection. (Its replica, the old
    # master just demoted, may still be loading: then the WAIT timed out and
    # the open was written directly too, the same open by its key.)
    assert nodes.master().client().xlen(settings.OPEN_STREAM) == 2
    assert [m for m in unavailable(caplog) if "no replica acknowledged" not in m] == []
    drain_opens()
    assert OpenEvent.objects.filter(recipient=recipient).count() == 2


def test_an_open_no_replica_acknowledged_in_time_is_written_directly_once(mail_client, under_sentinel, caplog):
    nodes = under_sentinel
    recipient = EmailRecipientFactory()
    replica = nodes.replica()
    replica.process.send_signal(signal.SIGSTOP)
    try:
        with caplog.at_level(logging.WARNING, logger="tracking"):
            assert mail_client.get(f"/o/{make_token(recipient.pk)}.gif").status_code == 200
    finally:
        replica.process.send_signal(signal.SIGCONT)

    assert OpenEvent.objects.filter(recipient=recipient).count() == 1
    assert any("no replica acknowledged" in message for message in unavailable(caplog))
    # The master kept its entry too: drained, it is the same open (its key).
    assert nodes.master().client().xlen(settings.OPEN_STREAM) == 1
    drain_opens()
    assert OpenEvent.objects.filter(recipient=recipient).count() == 1


def test_one_redis_never_waits_for_a_replica(mail_client, settings, nodes, tmp_path):
    alone = Redis(tmp_path / "redis")
    alone.start()
    try:
        settings.REDIS_URL = alone.url
        settings.OPEN_REPLICA_WAIT_MS = 0  # what the settings make of a redis:// URL (test_redis_url.py)
        recipient = EmailRecipientFactory()
        for _ in range(3):
            assert mail_client.get(f"/o/{make_token(recipient.pk)}.gif").status_code == 200
        client = redis.Redis(port=alone.port)
        assert client.xlen(settings.OPEN_STREAM) == 3
        assert waits(client) == 0
    finally:
        alone.close()


def test_the_wait_follows_the_append_when_each_call_gets_a_new_client(under_sentinel, monkeypatch):
    """Threads that start at once each make a client before the cache keeps
    one (a web process's first pixels): the WAIT must still go to the
    connection that appended, or it is answered for no write."""
    from django.utils import timezone

    from tracking import intake, stream

    make = stream.client.__wrapped__
    monkeypatch.setattr(stream, "client", lambda url: make(url))
    recipient = EmailRecipientFactory()

    assert intake.record_open(recipient_id=recipient.pk, opened_at=timezone.now(), limited=True) == "stream"
    assert not OpenEvent.objects.filter(recipient=recipient).exists()
