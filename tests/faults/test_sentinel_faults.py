"""Redis under Sentinel (README: Redis under Sentinel): a master, its replica
and three Sentinels (tests/faults/sentinel.py); the web node (granian) with
its recorder and the Celery worker with beat are given the Sentinels'
address, redis+sentinel://.../onepage/0. The master is SIGKILLed during
2,000 pixel hits (through a web node's WSGI lane, then again through a live
process's ASGI lane), then during a send of 20 recipients; Sentinel promotes
the replica and every process carries on with it, no restart. Every hit answered
with the GIF is recorded once (the pixel answered only once the replica had
it: WAIT), every recipient gets one copy."""

import time
from urllib.request import urlopen

import pytest
import redis
from django.conf import settings
from django.test import override_settings

from emails.pixels import make_token

from .nodes import GRANIAN, Node
from .processes import available, free_port, wait_for
from .sentinel import SentinelServices, SentinelSet
from .test_open_faults import LANES, STREAM, SUFFIX, assert_counted_once, at, send_hits
from .test_send_faults import FAST_SWEEP, Sink, assert_once_each, wait_sent

KEY = "faults-" + "k" * 43 + "-not-secret"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Its own Redis set and PostgreSQL: the other fault tests keep their single Redis."""
    if not settings.REDIS_URL or settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the fault suite runs in the PostgreSQL + Redis run")
    if reason := available():
        pytest.skip(reason)
    if not GRANIAN.exists():
        pytest.skip("granian is not installed in the virtualenv")
    services = SentinelServices(tmp_path_factory.mktemp("sentinel"), secret_key=KEY)
    try:
        with override_settings(SECRET_KEY=KEY):
            services.start()
            yield services
    finally:
        services.close()


@pytest.fixture(scope="module")
def sink():
    from aiosmtpd.controller import Controller

    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        controller.stop()


@pytest.mark.parametrize("lane", LANES)
def test_the_master_sigkilled_during_hits_loses_and_doubles_no_open(world, lane):
    """Run once per lane, each its own node: the second kills the master the
    first one's failover promoted (its old master back as its replica)."""
    began = time.monotonic()
    nodes: SentinelSet = world.redis
    node = Node(world, "a", interface="wsgi") if lane == "web" else Node(world, "b", interface="asgi")
    # The suite's helpers hit world.web_port and watch world.spool: this node's.
    world.web_port, world.spool = node.port, node.spool
    recipients = world.seed(10, 10)
    failover = {}

    def kill_the_master() -> None:
        killed_at = time.monotonic()
        old = nodes.kill_master()
        nodes.wait_failover(old.port)
        failover.update(old=old, took=time.monotonic() - killed_at)

    answered = send_hits(world, recipients, seconds=8, fault=at(2, kill_the_master))

    scenario = f"Redis master SIGKILL, Sentinel ({failover['took']:.1f} s)" + SUFFIX[lane]
    assert_counted_once(world, scenario, recipients, answered)
    web, recorder = node.web.log(), node.recorder.log()
    assert "Open stream unavailable" in web, "the fault reached the pixel"
    assert "Traceback" not in web
    assert node.recorder.alive(), recorder[-3000:]
    assert "Recorder: Redis unavailable" in recorder and "Recorder: recording again" in recorder
    assert "Traceback" not in recorder

    # The old master back, a replica of the new one: once the pixel's pause
    # (stream.REDIS_RETRY_AFTER) is over it appends to the new master again.
    nodes.restart(failover["old"])
    master = redis.Redis.from_url(nodes.url, decode_responses=True)
    rejoined_ms = int(time.time() * 1000)
    pixel = f"{node.url}/o/{make_token(recipients[0])}.gif"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with urlopen(pixel, timeout=5) as response:
            assert response.status == 200
        last = master.xinfo_stream(STREAM)["last-generated-id"]
        if int(last.split("-")[0]) >= rejoined_ms:
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the pixel did not append to the new master")
    print(f"\nfailover {failover['took']:.1f} s; {time.monotonic() - began:.1f} s")
    node.web.stop()
    node.recorder.stop()


def test_the_master_sigkilled_during_a_send_sends_each_copy_once(world, sink):
    began = time.monotonic()
    nodes: SentinelSet = world.redis
    sink.delay = 0.25
    worker = world.worker(beat=True, **FAST_SWEEP)
    email_id = world.seed_email(sink.port, 20)
    wait_for(lambda: sink.total() >= 5, timeout=60, what="five copies sent")

    killed_at = time.monotonic()
    old = nodes.kill_master()
    nodes.wait_failover(old.port)
    took = time.monotonic() - killed_at

    recipients = wait_sent(world, email_id, timeout=60)
    assert_once_each(f"send: Redis master SIGKILL, Sentinel ({took:.1f} s)", sink, recipients, uncertain_max=1)
    # The worker carries on with the promoted replica: a later email (queued
    # through the Sentinels too) goes out.
    later = world.seed_email(sink.port, 2)
    wait_sent(world, later, timeout=30)
    assert worker.alive(), worker.log()[-3000:]
    assert "Unrecoverable error" not in worker.log()
    print(f"\nfailover {took:.1f} s; {time.monotonic() - began:.1f} s")
