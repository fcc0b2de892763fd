"""A PostgreSQL switchover under load: a primary and a streaming standby,
the app's processes given both in one multi-host DATABASE_URL
(target_session_attrs=read-write, README: PostgreSQL standby). During pixel
hits, then during a send, the primary is stopped and the standby promoted;
the processes find the new primary on their next connection, no restart.
Every hit answered 200 is recorded once, every recipient gets one copy."""

import pytest
from django.conf import settings
from django.test import override_settings

from .processes import Services, StandbyPair, available, free_port, wait_for
from .test_open_faults import assert_counted_once, at, send_hits
from .test_send_faults import FAST_SWEEP, Sink, assert_once_each, wait_sent

KEY = "faults-" + "k" * 43 + "-not-secret"


@pytest.fixture(scope="module")
def pair_world(tmp_path_factory):
    """Its own Redis and PostgreSQL pair: the other fault tests keep their
    single cluster."""
    if not settings.REDIS_URL or settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("the fault suite runs in the PostgreSQL + Redis run")
    if reason := available():
        pytest.skip(reason)
    services = Services(tmp_path_factory.mktemp("switchover"), secret_key=KEY)
    services.postgres = StandbyPair(services.postgres)
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


def test_a_switchover_during_hits_loses_and_doubles_no_open(pair_world):
    world = pair_world
    pair: StandbyPair = world.postgres
    world.web()
    recorder = world.recorder()
    recipients = world.seed(10, 10)
    first = pair.primary.port
    took = []

    answered = send_hits(world, recipients, seconds=8, fault=at(2, lambda: took.append(pair.switchover())))

    assert pair.primary.port != first
    assert_counted_once(world, f"PostgreSQL switchover (no primary {took[0]:.1f} s)", recipients, answered)
    log = recorder.log()
    assert recorder.alive(), log[-3000:]
    assert "Recorder: the database unavailable" in log and "Recorder: recording again" in log
    assert "Traceback" not in log
    for process in world.processes:
        process.stop()


def test_a_switchover_during_a_send_sends_each_copy_once(pair_world, sink):
    world = pair_world
    pair: StandbyPair = world.postgres
    if not pair.standby.started:
        pair.rebuild_standby()  # the old primary, now following the new one
    sink.delay = 0.25
    worker = world.worker(beat=True, **FAST_SWEEP)
    email_id = world.seed_email(sink.port, 20)
    wait_for(lambda: sink.total() >= 5, timeout=60, what="five copies sent")

    took = pair.switchover()

    recipients = wait_sent(world, email_id, timeout=60)
    # The copy in flight was delivered: recorded as such, not "uncertain".
    assert_once_each(f"send: PostgreSQL switchover (no primary {took:.1f} s)", sink, recipients, uncertain_max=0)
    # The switch cut the task's connection mid-send; the write was made again.
    assert "trying again on a new one" in worker.log()
    assert "failed unexpectedly" not in worker.log()
    # The worker carries on with the new primary: a later email goes out.
    later = world.seed_email(sink.port, 2)
    wait_sent(world, later, timeout=30)
    assert worker.alive(), worker.log()[-3000:]
