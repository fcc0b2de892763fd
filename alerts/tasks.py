from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from kombu.exceptions import KombuError
from redis import RedisError

from tracking.recorded import Recorded

from . import creation, daily, repair

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


@shared_task(ignore_result=True)
def send_daily_emails() -> int:
    """Run by beat every 15 minutes; see alerts.daily."""
    return daily.send_due(now=timezone.now())


@shared_task(ignore_result=True)
def repair_notifications() -> int:
    """Run by beat every NOTIFICATION_REPAIR_INTERVAL; see alerts.repair."""
    return repair.repair_notifications()


@shared_task(ignore_result=True)
def notify_open_batch(groups: list[list]) -> int:
    """A recorded batch's people's opens, told of in the worker (hand_off):
    by email, in the compact form `_message` makes."""
    return creation.notify(_from_message(groups))


@shared_task(ignore_result=True)
def notify_opens(rows: list[list]) -> int:
    """The form of the hand-off before notify_open_batch (one row per open,
    times as text): kept so that tasks queued by a recorder of the earlier
    release are still told of after an upgrade."""
    return creation.notify([_recorded(row) for row in rows])


def hand_off(recorded: Sequence[Recorded]) -> None:
    """tracking.recorded's listener, after a batch's commit: a batch is told
    of by the worker (NOTIFY_IN_WORKER), so the recorder goes on to its next
    one; a single open (the direct write, when Redis failed: no broker to
    hand to) and a hand-off the broker refused are told of here, at once.
    A hand-off lost after that (a worker killed) is the repair's."""
    opens = creation.tellable(recorded)
    if len(opens) > 1 and settings.NOTIFY_IN_WORKER:
        try:
            notify_open_batch.apply_async([_message(opens)], queue=settings.NOTIFY_QUEUE, retry=False)
            return
        except (KombuError, RedisError, OSError):
            pass
    creation.notify(opens)


def _message(opens: Sequence[Recorded]) -> list[list]:
    """The opens grouped by email, each as [key, recipient, opened_at,
    verdict, previous counted open], times in microseconds since the epoch:
    for a batch of 2,000 opens 190 KB of JSON, against 290 KB as one row per
    open with its email's ids and ISO times, and the recorder's hand-off
    12.5 -> 7.6 ms (issue 23)."""
    groups: dict[tuple[int, int, int], list[list]] = {}
    for r in opens:
        previous = _micros(r.previous_counted_at) if r.previous_counted_at else None
        row = [r.key, r.recipient_id, _micros(r.opened_at), r.verdict, previous]
        groups.setdefault((r.email_id, r.organization_id, r.sender_id), []).append(row)
    return [[*ids, rows] for ids, rows in groups.items()]


def _from_message(groups: list[list]) -> list[Recorded]:
    return [
        Recorded(key, recipient_id, email_id, organization_id, sender_id, _time(opened_at), verdict, _time(previous))
        for email_id, organization_id, sender_id, rows in groups
        for key, recipient_id, opened_at, verdict, previous in rows
    ]


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // MICROSECOND


def _time(micros: int | None) -> datetime | None:
    return None if micros is None else EPOCH + timedelta(microseconds=micros)


def _recorded(row: list) -> Recorded:
    key, recipient_id, email_id, organization_id, sender_id, opened_at, verdict, previous = row
    return Recorded(key, recipient_id, email_id, organization_id, sender_id, datetime.fromisoformat(opened_at),
                    verdict, datetime.fromisoformat(previous) if previous else None)  # fmt: skip
