from celery import shared_task

from . import recording


@shared_task(ignore_result=True)
def drain_opens() -> int:
    """Run by beat every OPEN_DRAIN_INTERVAL seconds; see tracking.recording."""
    return recording.drain_opens()
