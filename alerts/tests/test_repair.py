"""The repair of notifications lost between a batch's commit and its
after-commit listener (alerts.repair): it makes what the listener would
have made, exactly once, and changes nothing where nothing was lost."""

from datetime import UTC, datetime, timedelta

import pytest

from alerts.models import Notification
from alerts.repair import repair_notifications
from contacts.tests.factories import ContactFactory
from emails.tests.factories import EmailFactory, EmailRecipientFactory
from tracking.hits import Open
from tracking.models import Verdict
from tracking.writer import write_opens

pytestmark = pytest.mark.django_db

Kind = Notification.Kind
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
_keys = iter(range(10**9))


@pytest.fixture
def bea(org, rep_user):
    email = EmailFactory(organization=org, sender=rep_user, subject="Spring order")
    contact = ContactFactory(organization=org, first_name="Bea", last_name="Buyer", email="bea@buyer.example")
    return EmailRecipientFactory(email=email, contact=contact, delivered_at=T0 - timedelta(hours=2))


@pytest.fixture
def record(django_capture_on_commit_callbacks):
    """Write a batch as the recorder does; lost=True: the recorder dies
    after the commit, before its listeners run."""

    def record(recipient, *ats, lost=False, **fields) -> None:
        opens = [Open(recipient_id=recipient.pk, opened_at=at, key=f"r-{next(_keys)}", **fields) for at in ats]
        with django_capture_on_commit_callbacks(execute=not lost):
            write_opens(opens=opens)

    return record


def told(user) -> list[tuple[str, int]]:
    return list(user.notifications.order_by("opened_at", "pk").values_list("kind", "count"))


def snapshot() -> list[tuple]:
    return list(Notification.objects.order_by("pk").values_list("kind", "open_id", "count", "last_opened_at", "day"))


# Bea reads it, reads it three more times that morning, and comes back two
# days later, reading it twice.
MORNING = [T0, T0 + timedelta(minutes=5), T0 + timedelta(minutes=20), T0 + timedelta(minutes=40)]
LATER = [T0 + timedelta(days=2), T0 + timedelta(days=2, minutes=3)]
EXPECTED = [(Kind.FIRST_OPEN, 1), (Kind.DIGEST, 3), (Kind.CAME_BACK, 1), (Kind.DIGEST, 1)]


def test_lost_notifications_are_made_as_the_listener_would_have(record, bea, rep_user):
    record(bea, *MORNING, lost=True)
    record(bea, *LATER, lost=True)
    assert told(rep_user) == []

    assert repair_notifications(now=LATER[-1] + timedelta(minutes=1), window=timedelta(days=3)) == 6

    assert told(rep_user) == EXPECTED
    came_back = rep_user.notifications.get(kind=Kind.CAME_BACK)
    assert came_back.previous_opened_at == MORNING[-1]


def test_a_repair_where_nothing_was_lost_changes_nothing(record, bea, rep_user):
    record(bea, *MORNING)
    record(bea, *LATER)
    assert told(rep_user) == EXPECTED
    before = snapshot()

    now = LATER[-1] + timedelta(minutes=1)
    repair_notifications(now=now, window=timedelta(days=3))
    repair_notifications(now=now, window=timedelta(days=3))

    assert snapshot() == before


def test_a_batch_lost_after_one_told_completes_its_digest_line(record, bea, rep_user):
    record(bea, *MORNING[:2])  # told: the first open, a digest line of 1
    record(bea, *MORNING[2:], lost=True)  # two more, their listener lost
    assert told(rep_user) == [(Kind.FIRST_OPEN, 1), (Kind.DIGEST, 1)]

    repair_notifications(now=MORNING[-1] + timedelta(minutes=1))

    assert told(rep_user) == [(Kind.FIRST_OPEN, 1), (Kind.DIGEST, 3)]
    line = rep_user.notifications.get(kind=Kind.DIGEST)
    assert line.last_opened_at == MORNING[-1]


def test_machines_stay_untold_and_the_window_bounds_the_repair(record, bea, rep_user):
    record(bea, T0, lost=True, pre_verdict=Verdict.SCANNER)
    record(bea, T0 + timedelta(hours=1), lost=True)
    # Seven hours later the open is outside the default window (6 h).
    assert repair_notifications(now=T0 + timedelta(hours=8)) == 0
    assert told(rep_user) == []

    assert repair_notifications(now=T0 + timedelta(hours=2)) == 1
    assert told(rep_user) == [(Kind.FIRST_OPEN, 1)]


def test_beat_runs_the_repair_every_10_minutes(record, bea, rep_user, settings):
    from django.utils import timezone

    from alerts import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["repair-notifications"]
    assert entry["task"] == tasks.repair_notifications.name and entry["schedule"] == 600
    record(bea, timezone.now() - timedelta(minutes=3), lost=True)
    assert tasks.repair_notifications.apply().result == 1
    assert told(rep_user) == [(Kind.FIRST_OPEN, 1)]
