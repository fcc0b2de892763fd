"""Sending under faults: a real Celery worker (with beat) against the suite's
own Redis and PostgreSQL, sending to an SMTP sink in this process that can
be slow to confirm a message. Each recipient gets at most one copy; a copy
that may or may not have arrived is marked uncertain and never resent; no
email waits for a person."""

import asyncio
import signal
import threading
import time
from collections import Counter

import pytest

from .conftest import record_send
from .processes import Services, free_port, wait_for

# What the sweep waits for, shortened so that the suite stays short: a claim
# without progress for 4 s is a dead worker's, a queued email 2 s past due
# lost its task, the sweep runs every second.
FAST_SWEEP = {"EMAIL_CLAIM_TIMEOUT": "4", "EMAIL_QUEUE_GRACE": "2", "EMAIL_SWEEP_INTERVAL": "1"}


class Sink:
    """An SMTP server that keeps every copy and answers the end of DATA
    after `delay` seconds (for the first `slow` copies; all when None)."""

    def __init__(self) -> None:
        self.copies: Counter = Counter()
        self.delay = 0.0
        self.slow: int | None = None
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.lock:
            for address in envelope.rcpt_tos:
                self.copies[address] += 1
            slow = self.slow is None or self.slow > 0
            if self.slow:
                self.slow -= 1
        if slow and self.delay:
            await asyncio.sleep(self.delay)
        return "250 Message accepted for delivery"

    def total(self) -> int:
        return sum(self.copies.values())


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


@pytest.fixture
def world(fault_world: Services, sink):
    sink.copies.clear()
    sink.delay, sink.slow = 0.0, None
    yield fault_world
    for process in fault_world.processes:
        if process.name == "worker":
            process.stop(timeout=20)


def email_state(world: Services, email_id: int) -> tuple[str, list[tuple[str, bool, bool]]]:
    conn = world.postgres.connect()
    with conn.cursor() as cursor:
        cursor.execute("SELECT status FROM emails_email WHERE id = %s", [email_id])
        status = cursor.fetchone()[0]
        cursor.execute(
            "SELECT address, delivered_at IS NOT NULL, delivery_uncertain_at IS NOT NULL "
            "FROM emails_emailrecipient WHERE email_id = %s ORDER BY id",
            [email_id],
        )
        recipients = cursor.fetchall()
    conn.close()
    return status, recipients


def wait_sent(world: Services, email_id: int, *, timeout: float) -> list[tuple[str, bool, bool]]:
    def sent():
        status, recipients = email_state(world, email_id)
        return recipients if status == "sent" else None

    return wait_for(sent, timeout=timeout, what=f"email {email_id} sent", every=0.5)


def assert_once_each(scenario: str, sink: Sink, recipients: list[tuple[str, bool, bool]], *, uncertain_max: int):
    uncertain = [a for a, _, u in recipients if u]
    lost = [a for a, delivered, u in recipients if not delivered and not u]
    doubled = sum(max(0, sink.copies[a] - 1) for a, _, _ in recipients)
    copies = sum(sink.copies[a] for a, _, _ in recipients)
    record_send(scenario, len(recipients), copies, len(uncertain), len(lost), doubled)
    assert doubled == 0, {a: n for a, n in sink.copies.items() if n > 1}
    assert lost == []
    assert len(uncertain) <= uncertain_max
    # Delivered means the server confirmed it: it has exactly one copy.
    assert all(sink.copies[a] == 1 for a, delivered, _ in recipients if delivered)


def test_a_server_slow_to_confirm_gets_each_copy_once(world, sink):
    # 30 s for the first copy's final reply: three times the command timeout.
    sink.delay, sink.slow = 30.0, 1
    world.worker()
    email_id = world.seed_email(sink.port, 3)

    recipients = wait_sent(world, email_id, timeout=90)

    assert_once_each("send: final reply delayed 30 s", sink, recipients, uncertain_max=0)
    assert sink.total() == 3


def test_a_worker_killed_mid_send_leaves_at_most_one_copy_uncertain(world, sink):
    sink.delay = 0.15
    worker = world.worker(beat=True, **FAST_SWEEP)
    email_id = world.seed_email(sink.port, 50)
    wait_for(lambda: sink.total() >= 10, timeout=60, what="ten copies sent")

    worker.kill()  # the worker, its pool and its beat, at once
    successor = world.worker(beat=True, **FAST_SWEEP)  # as its supervisor would
    recipients = wait_sent(world, email_id, timeout=90)

    assert_once_each("send: worker SIGKILL mid-send, 50 recipients", sink, recipients, uncertain_max=1)
    assert "Took over 1 sends whose worker died" in successor.log()


def test_an_email_whose_task_redis_lost_is_sent_once_redis_is_back(world, sink):
    email_id = world.seed_email(sink.port, 5)  # queued in Redis; no worker yet
    world.redis.kill()
    world.redis.forget()
    world.redis.start()
    worker = world.worker(beat=True, **FAST_SWEEP)

    recipients = wait_sent(world, email_id, timeout=60)

    assert_once_each("send: queued task lost with Redis", sink, recipients, uncertain_max=0)
    assert "Queued again 1 emails whose send task was lost" in worker.log()


def test_the_worker_outlives_redis_dying_during_a_task(world, sink):
    sink.delay = 1.0
    worker = world.worker(beat=True, **FAST_SWEEP)
    email_id = world.seed_email(sink.port, 6)
    wait_for(lambda: sink.total() >= 2, timeout=60, what="a send in progress")

    # Down long enough for the send to end (and be acknowledged) meanwhile.
    world.redis.kill()
    time.sleep(8)
    world.redis.start()

    # It reconnects and works: the interrupted send is finished by the
    # sweep, a new one is sent.
    recipients = wait_sent(world, email_id, timeout=90)
    assert_once_each("send: Redis SIGKILL during a send", sink, recipients, uncertain_max=1)
    later = world.seed_email(sink.port, 2)
    wait_sent(world, later, timeout=60)
    assert worker.alive(), worker.log()[-3000:]
    assert "Unrecoverable error" not in worker.log()
    worker.signal(signal.SIGTERM)
