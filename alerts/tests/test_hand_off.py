"""The recorder's batches are told of by the Celery worker (issue 23: the
notifications were a third of the recorder's batch): after the commit the
recorder hands the batch's people's opens to alerts.tasks.notify_open_batch and
goes on to its next batch; the worker makes the notifications and the bell
hears of them within about a second. A single open (the direct write: the
pixel when Redis failed) is told of at once, as before. A hand-off that is
lost is the repair's (alerts.repair, tested in test_repair)."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts import live
from alerts.models import Notification
from contacts.tests.factories import ContactFactory
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from tracking.hits import Open, new_hit_key
from tracking.writer import write_opens


@pytest.fixture
def worker(transactional_db, settings):
    """A real Celery worker on the test database and the run's Redis, and
    the recorder's side set to hand off as production does."""
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("runs against PostgreSQL and Redis: the PostgreSQL + Redis run")
    from onepage.celery import app

    db = connection.settings_dict
    queue = f"notify-test-{os.getpid()}-{time.monotonic_ns()}"
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE"}}
    env.update(
        DJANGO_SETTINGS_MODULE="onepage.settings",
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        REDIS_URL=settings.REDIS_URL,
        CELERY_TASK_ALWAYS_EAGER="false",
        LOG_LEVEL="WARNING",
    )
    # A queue of this test's own: no other test's or run's task reaches it.
    command = [Path(sys.executable).parent / "celery", "-A", "onepage", "worker", "--concurrency", "1",
               "--pool", "solo", "--loglevel", "WARNING", "-Q", queue, "--hostname", f"{queue}@%h"]  # fmt: skip
    process = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL)  # fmt: skip
    settings.NOTIFY_IN_WORKER = True
    settings.NOTIFY_QUEUE = queue
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=0.5):
            assert process.poll() is None, f"the worker exited with {process.returncode}"
            assert time.monotonic() < deadline, "the worker did not answer within 60 s"
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        redis.Redis.from_url(settings.REDIS_URL).delete(queue)


def _bea(org, rep_user):
    email = EmailFactory(organization=org, sender=rep_user, subject="Spring order")
    contact = ContactFactory(organization=org, first_name="Bea", last_name="Buyer", email="bea@buyer.example")
    return EmailRecipientFactory(email=email, contact=contact, delivered_at=timezone.now() - timedelta(hours=2))


def test_a_recorded_batch_is_told_by_the_worker_and_the_bell_hears_within_a_second(worker, org, rep_user):
    bea = _bea(org, rep_user)
    channel = redis.Redis.from_url(settings.REDIS_URL).pubsub(ignore_subscribe_messages=True)
    channel.subscribe(live.channel(rep_user.pk))
    now = timezone.now()
    opens = [Open(recipient_id=bea.pk, opened_at=now + timedelta(seconds=k), key=f"h-{now:%s}-{k}") for k in range(3)]

    # As the recorder writes a batch.
    with CaptureQueriesContext(connection) as recorder_queries, transaction.atomic(durable=True):
        assert write_opens(opens=opens) == 3
    committed = time.monotonic()
    assert not [q for q in recorder_queries if "alerts_notification" in q["sql"]], "the recorder told of them itself"
    # The recorder's part is over at the commit: the worker tells.
    message = None
    while message is None and time.monotonic() - committed < 5:
        message = channel.get_message(timeout=0.1)
    heard = time.monotonic() - committed

    assert message is not None, "the bell heard nothing within 5 s"
    assert json.loads(message["data"])["unread"] == 2, "a first open and a digest line of two"
    assert heard < 1.5
    kinds = sorted(Notification.objects.filter(user=rep_user).values_list("kind", "count"))
    assert kinds == [(Notification.Kind.DIGEST, 2), (Notification.Kind.FIRST_OPEN, 1)]
    channel.close()


def test_a_single_open_is_told_at_once_without_the_worker(transactional_db, settings, org, rep_user):
    """The direct write (Redis failed: no broker to hand to) tells in its own
    process, as before."""
    settings.NOTIFY_IN_WORKER = True
    settings.NOTIFY_QUEUE = "no-worker-reads-this"
    bea = _bea(org, rep_user)

    with transaction.atomic(durable=True):
        write_opens(opens=[Open(recipient_id=bea.pk, opened_at=timezone.now(), key="single-open")])

    assert list(Notification.objects.values_list("kind", flat=True)) == [Notification.Kind.FIRST_OPEN]


def test_the_hand_off_carries_every_open_as_recorded_in_two_thirds_of_the_old_size():
    """What the worker gets is what the writer recorded, field for field:
    aggregate opens (nobody named), a first open (no earlier counted open),
    microseconds and the zone of every time; grouped by email, the message
    is two thirds of one row per open with its email's ids and ISO times."""
    from alerts.tasks import _from_message, _message
    from tracking.recorded import Recorded

    now = timezone.now().replace(microsecond=123456)
    opens = [
        Recorded(new_hit_key(), 100 + n % 50 if n % 7 else None, 10 + n % 3, 1, 5, now + timedelta(seconds=n),
                 "human" if n % 2 else "proxy", None if n % 5 == 0 else now - timedelta(days=n, microseconds=n))
        for n in range(2000)
    ]  # fmt: skip
    message = _message(opens)

    assert sorted(_from_message(json.loads(json.dumps(message))), key=lambda r: r.key) == sorted(
        opens, key=lambda r: r.key
    )
    assert len(json.dumps(message)) * 1.4 < len(json.dumps([_earlier_row(r) for r in opens]))


def test_a_hand_off_queued_by_the_earlier_release_is_still_told(db, org, rep_user):
    """Tasks a recorder of the release before queued (one row per open)
    are told of by an upgraded worker."""
    from alerts.tasks import notify_opens
    from tracking.recorded import Recorded

    bea = _bea(org, rep_user)
    with transaction.atomic(durable=True):
        write_opens(opens=[Open(recipient_id=bea.pk, opened_at=timezone.now(), key="queued-before")])
    Notification.objects.all().delete()
    email = bea.email
    row = _earlier_row(Recorded("queued-before", bea.pk, email.pk, org.pk, rep_user.pk, timezone.now(), "human", None))

    notify_opens(json.loads(json.dumps([row])))

    assert list(Notification.objects.values_list("kind", flat=True)) == [Notification.Kind.FIRST_OPEN]


def _earlier_row(r) -> list:
    """An open as the earlier release's recorder handed it off."""
    previous = r.previous_counted_at.isoformat() if r.previous_counted_at else None
    return [r.key, r.recipient_id, r.email_id, r.organization_id, r.sender_id, r.opened_at.isoformat(), r.verdict,
            previous]  # fmt: skip


@pytest.mark.parametrize("told_first", ["the first open", "the later open"])
def test_two_workers_telling_one_recipients_opens_at_once_count_the_digest_exactly(
    transactional_db, settings, org, rep_user, told_first
):
    """With a worker of concurrency 2, a batch's first open and the next
    batch's open of the same recipient can be told at the same moment, in
    either order. The digest line counts the day's opens that no first open
    tells of: counted while the other worker's notifications were not
    committed, it took the first open in too (one too many) and kept it."""
    import threading

    from alerts import creation
    from tracking.recorded import Recorded

    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        pytest.skip("two workers at once: the PostgreSQL + Redis run")
    settings.NOTIFY_IN_WORKER, settings.NOTIFY_QUEUE = True, "no-worker-reads-this"
    bea = _bea(org, rep_user)
    first_at = timezone.now() - timedelta(minutes=30)
    first, later = (
        Open(recipient_id=bea.pk, opened_at=first_at + timedelta(minutes=m), key=f"race-{m}") for m in (0, 10)
    )
    with transaction.atomic(durable=True):
        assert write_opens(opens=[first, later]) == 2  # handed to a queue nobody reads
    redis.Redis.from_url(settings.REDIS_URL).delete("no-worker-reads-this")
    email = bea.email
    batches = {
        "the first open": Recorded(first.key, bea.pk, email.pk, org.pk, rep_user.pk, first.opened_at, "human", None),
        "the later open": Recorded(
            later.key, bea.pk, email.pk, org.pk, rep_user.pk, later.opened_at, "human", first.opened_at
        ),
    }
    held, release = threading.Event(), threading.Event()
    upsert = creation._upsert_digests

    def upsert_then_hold(rows):
        # The last statement of notify's transaction: the worker told first
        # stops before its commit.
        upsert(rows)
        if threading.current_thread().name == "told first":
            held.set()
            assert release.wait(20)

    def tell(recorded):
        try:
            creation.notify([recorded])
        finally:
            connection.close()

    told_second = next(name for name in batches if name != told_first)
    creation._upsert_digests = upsert_then_hold
    try:
        a = threading.Thread(target=tell, args=(batches[told_first],), name="told first")
        a.start()
        assert held.wait(20)
        b = threading.Thread(target=tell, args=(batches[told_second],), name="told second")
        b.start()
        b.join(2)  # done at once, or waiting for the first to commit
        release.set()
        a.join(20)
        b.join(20)
    finally:
        creation._upsert_digests = upsert
        release.set()

    rows = sorted(Notification.objects.filter(user=rep_user).values_list("kind", "count"))
    assert rows == [(Notification.Kind.DIGEST, 1), (Notification.Kind.FIRST_OPEN, 1)]
