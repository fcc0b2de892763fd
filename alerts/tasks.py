from celery import shared_task
from django.utils import timezone

from . import daily, repair


@shared_task(ignore_result=True)
def send_daily_emails() -> int:
    """Run by beat every 15 minutes; see alerts.daily."""
    return daily.send_due(now=timezone.now())


@shared_task(ignore_result=True)
def repair_notifications() -> int:
    """Run by beat every NOTIFICATION_REPAIR_INTERVAL; see alerts.repair."""
    return repair.repair_notifications()
