from collections.abc import Sequence
from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from kombu.exceptions import KombuError
from redis import RedisError

from tracking.recorded import Recorded

from . import creation, daily, repair


@shared_task(ignore_result=True)
def send_daily_emails() -> int:
    """Run by beat every 15 minutes; see alerts.daily."""
    return daily.send_due(now=timezone.now())


@shared_task(ignore_result=True)
def repair_notifications() -> int:
    """Run by beat every NOTIFICATION_REPAIR_INTERVAL; see alerts.repair."""
    return repair.repair_notifications()


@shared_task(ignore_result=True)
def notify_opens(rows: list[list]) -> int:
    """A recorded batch's people's opens, told of in the worker (hand_off)."""
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
            notify_opens.apply_async([[_row(r) for r in opens]], queue=settings.NOTIFY_QUEUE, retry=False)
            return
        except (KombuError, RedisError, OSError):
            pass
    creation.notify(opens)


def _row(r: Recorded) -> list:
    previous = r.previous_counted_at.isoformat() if r.previous_counted_at else None
    return [r.key, r.recipient_id, r.email_id, r.organization_id, r.sender_id, r.opened_at.isoformat(), r.verdict,
            previous]  # fmt: skip


def _recorded(row: list) -> Recorded:
    key, recipient_id, email_id, organization_id, sender_id, opened_at, verdict, previous = row
    return Recorded(key, recipient_id, email_id, organization_id, sender_id, datetime.fromisoformat(opened_at),
                    verdict, datetime.fromisoformat(previous) if previous else None)  # fmt: skip
